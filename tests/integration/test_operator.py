"""What a new operator meets around the core (issue 14): `make try`
(scripts/try.sh) and the commands it prints, preview's route decision,
send-test naming the host it could not reach, the key names of an
unrecognised webhook in the log, check-config's warnings for likely
mistakes, reload metrics and POST /-/reload, and the store commands
working without the service's secrets."""

import json
import os
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (AUTH_TOKEN, REPO, Env, Mock, accepted, case, crashed,  # noqa: E402
                     free_port, request, run_all, run_cli, scenario, tmpdir, wait_until,
                     write_config)

FWC = scenario("failed_with_children")
WEBHOOK = FWC["webhook"]
PROJECT = WEBHOOK["projectId"]
ROOT = WEBHOOK["pipelineExecutionId"]
RELOAD_TOKEN = "reload-token-0123456789abcdef"


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours is as good as gone.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[-1][0] != "Z"
    except OSError:
        return False


# --- item 6: make try -----------------------------------------------------------

@case
def try_script_prints_commands_that_work():
    """scripts/try.sh, not on a TTY and with a timeout, starts the mock and
    the service, and the webhook command it prints gets a message to the
    sink; preview and send-test as printed work too; SIGTERM stops all."""
    work = tmpdir()
    env = dict(os.environ, TRY_SECONDS="120", TRY_DIR=work,
               BUILD=os.environ.get("BUILD", "build"))
    p = subprocess.Popen(["sh", "scripts/try.sh"], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    lines = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ln = p.stdout.readline().decode("utf-8", "replace")
            if not ln:
                break
            lines.append(ln.rstrip("\n"))
            if ln.startswith("== ready"):
                break
        text = "\n".join(lines)
        assert any(ln.startswith("== ready") for ln in lines), "try.sh never got ready:\n" + text
        cmds = [ln.strip() for ln in lines if ln.strip().startswith(("curl ", "./", "build"))
                or "dpc-notify -c" in ln]
        hook = [c for c in cmds if c.startswith("curl ") and "/webhook" in c]
        prev = [c for c in cmds if " preview " in c]
        test = [c for c in cmds if " send-test " in c]
        sink = [c for c in cmds if c.startswith("curl ") and "/_recorded" in c]
        pids = [int(x) for x in re.findall(r"\b(\d+)\b", next(
            (ln for ln in lines if ln.lower().startswith("stop:")), ""))]
        assert hook and prev and test and sink and pids, "commands missing:\n" + text
        r = subprocess.run(hook[0], shell=True, cwd=REPO, capture_output=True, timeout=30)
        assert r.returncode == 0 and b"queued" in r.stdout, (r.returncode, r.stdout, r.stderr)

        def got():
            out = subprocess.run(sink[0], shell=True, cwd=REPO, capture_output=True,
                                 timeout=30).stdout
            rec = json.loads(out or b"[]")
            return rec if rec else None
        rec = wait_until(got, 30, 0.2, "a message at the sink")
        assert rec[0]["status"] == 200, rec[0]
        r = subprocess.run(prev[0], shell=True, cwd=REPO, capture_output=True, timeout=60)
        assert r.returncode == 0 and b"FAILED" in r.stdout, (r.returncode, r.stdout, r.stderr)
        r = subprocess.run(test[0], shell=True, cwd=REPO, capture_output=True, timeout=60)
        assert r.returncode == 0 and b"ok" in r.stdout, (r.returncode, r.stdout, r.stderr)
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            raise AssertionError("try.sh did not stop on SIGTERM")
    wait_until(lambda: not any(pid_alive(x) for x in pids), 10, 0.1,
               "the processes try.sh started to stop")


# --- item 7: preview's route decision and send-test's host ------------------------

def preview_route(**project):
    d = tmpdir()
    with Mock("failed_with_children", tmpdir=d) as m:
        keys = {"destinations": "slack-main", "notify_on": "FAILED"}
        keys.update(project)
        cfg = write_config(d, m.port, sections={
            "destination slack-main": {"mention": "<@U0ALICE>"},
            "project " + PROJECT: keys})
        rc, out, err = run_cli(["-c", cfg.path, "preview", PROJECT, ROOT], timeout=60)
    assert rc == 0, "preview exit %d:\n%s" % (rc, err)
    return [ln for ln in err.splitlines() if ln.startswith("preview: route")]


@case
def preview_says_where_a_run_would_go():
    lines = preview_route()
    text = "\n".join(lines)
    assert "notify" in text and "slack-main" in text and "<@U0ALICE>" in text, text
    assert "[project %s]" % PROJECT in text, text


@case
def preview_says_why_a_run_is_ignored():
    text = "\n".join(preview_route(notify_on="SUCCESS"))
    assert "ignore" in text and "notify_on" in text and "FAILED" in text, text
    text = "\n".join(preview_route(environments="dev*"))
    assert "ignore" in text and "environments" in text and "prod" in text, text


@case
def send_test_names_the_host_it_could_not_reach():
    d = tmpdir()
    port = free_port()
    cfg = write_config(d, sections={"destination closed": {
        "type": "slack", "url": "http://127.0.0.1:%d/services/T0/B0/SeCrEtPaTh?x=QuErY" % port}})
    rc, out, err = run_cli(["-c", cfg.path, "send-test", "closed"], timeout=60)
    both = out + err
    assert rc == 1 and not crashed(rc), "exit %d:\n%s" % (rc, both)
    assert "127.0.0.1:%d" % port in both, "host not named:\n" + both
    assert "SeCrEtPaTh" not in both and "QuErY" not in both, "URL secret printed:\n" + both


# --- item 8: unknown webhook shapes ---------------------------------------------

@case
def unknown_shape_logs_key_names_only():
    # Polling off: with it on, such a body is a nudge answered 202 (test_poll.py).
    with Env(server={"log_level": "info"}, poll={"enabled": "false"}) as env:
        body = {"foo": {"projectId": "x"}, "secretValueKey": "TOPSECRETVALUE",
                "bad\u0001key\u202e": 1, "k" * 300: 2}
        for i in range(30):
            body["extra%02d" % i] = "VALUE%02d" % i
        for _ in range(7):
            st, _, _ = env.post(body, {"Authorization": "Bearer " + AUTH_TOKEN})
            assert st == 422, st
        env.wait_log(lambda ln: "keys=" in ln, "a line with the key names")
        time.sleep(0.5)
        lines = [ln for ln in env.log_lines() if "unrecognised webhook" in ln]
        assert len(lines) == 5, "expected 5 info lines, got %d:\n%s" % (
            len(lines), "\n".join(lines))
        ln = lines[0]
        assert "level=info" in ln and "foo" in ln and "secretValueKey" in ln, ln
        assert "TOPSECRETVALUE" not in ln and "VALUE0" not in ln, ln
        assert "\u202e" not in ln and "\x01" not in ln, ln
        keys = re.search(r'keys="?([^" ]*)', ln).group(1).split(",")
        assert len(keys) <= 20 and all(len(k) <= 64 for k in keys), keys
        assert "k" * 65 not in ln, ln


# --- item 10: check-config warnings ---------------------------------------------

def check_config(sections, chmod=0o600):
    d = tmpdir()
    cfg = write_config(d, sections=sections)
    os.chmod(cfg.path, chmod)
    rc, out, err = run_cli(["-c", cfg.path, "check-config"])
    return cfg, rc, out + err


@case
def check_config_warns_on_likely_mistakes():
    cfg, rc, out = check_config({
        "project finance-dwh": {"destinations": "slack-main"},
        "destination teams-main": {"mention": "@alice"},
        "destination real-slack": {"type": "slack",
                                   "url": "https://hooks.example.com/services/T/B/x"},
    })
    assert rc == 0, out
    assert re.search(r"warning: .*finance-dwh.*UUID", out), "no UUID warning:\n" + out
    assert re.search(r"warning: .*teams-main.*user principal name", out), out
    assert re.search(r"warning: .*real-slack.*hooks\.slack\.com", out), out
    assert "allow_any_host" in out, "the override is not named:\n" + out


@case
def check_config_allow_any_host_silences_the_host_warning():
    cfg, rc, out = check_config({
        "destination real-slack": {"type": "slack", "allow_any_host": "true",
                                   "url": "https://hooks.example.com/services/T/B/x"},
        "destination slack-main": {"allow_any_host": "true"},
    })
    assert rc == 0, out
    assert "hooks.slack.com" not in out, out


@case
def check_config_typo_hints_and_known_destinations():
    cfg, rc, out = check_config({"default": {"notfy_on": "FAILED",
                                             "destinations": "slack-main, slak-mian"}})
    assert rc == 1, out
    assert 'did you mean notify_on?' in out, out
    assert "slak-mian" in out and re.search(r"defined: .*slack-main.*teams-main", out), out


@case
def check_config_file_level_problems_have_no_line_zero():
    cfg, rc, out = check_config({}, chmod=0o644)
    assert "readable by other users" in out, out
    assert ":0:" not in out, out
    d = tmpdir()
    rc, out, err = run_cli(["-c", os.path.join(d, "nope.ini"), "check-config"])
    assert ":0:" not in out + err and "nope.ini" in out + err, out + err


# --- item 11: reload metrics and POST /-/reload -----------------------------------

def metric(text, name):
    m = re.search(r"^%s(\{[^}]*\})? (\S+)$" % re.escape(name), text, re.M)
    return (m.group(1), float(m.group(2))) if m else (None, None)


def scrape(env):
    st, _, body = env.svc.get("/metrics")
    assert st == 200
    return body.decode()


def reload_post(env, token):
    hdrs = {"Authorization": "Bearer " + token} if token else {}
    return request("POST", env.cfg.port, "/-/reload", b"", hdrs)[0]


@case
def reload_metrics_and_endpoint():
    srv = {"reload_endpoint": "true", "reload_token": RELOAD_TOKEN}
    with Env(server=srv) as env:
        text = scrape(env)
        assert metric(text, "dpc_notify_config_last_reload_success")[1] == 1, text
        assert metric(text, "dpc_notify_config_last_reload_timestamp_seconds")[1] > 1e9, text
        lab, v = metric(text, "dpc_notify_config_info")
        assert v == 1 and re.fullmatch(r'\{hash="[0-9a-f]{12,64}"\}', lab or ""), lab
        assert reload_post(env, None) == 401
        assert reload_post(env, AUTH_TOKEN) == 401, "the webhook token must not reload"
        env.rewrite(server=dict(srv, log_level="info"))
        assert reload_post(env, RELOAD_TOKEN) == 200
        lab2, _ = metric(scrape(env), "dpc_notify_config_info")
        assert lab2 != lab, "hash unchanged after a changed file"
        path = env.rewrite(server=dict(srv, colour="blue"))
        assert reload_post(env, RELOAD_TOKEN) == 500
        text = scrape(env)
        assert metric(text, "dpc_notify_config_last_reload_success")[1] == 0, text
        assert metric(text, "dpc_notify_config_info")[0] == lab2, "hash of a rejected file"
        assert env.svc.alive()
        st, _, _ = request("GET", env.cfg.port, "/-/reload")
        assert st == 405, st
        del path


@case
def reload_endpoint_is_off_by_default():
    with Env() as env:
        assert reload_post(env, AUTH_TOKEN) == 404
        env.rewrite(server={"log_level": "info"})
        env.svc.proc.send_signal(signal.SIGHUP)
        env.wait_log(lambda ln: "config reloaded" in ln, "config reloaded")
        text = scrape(env)
        assert metric(text, "dpc_notify_config_last_reload_success")[1] == 1, text


@case
def reload_endpoint_needs_a_token():
    d = tmpdir()
    cfg = write_config(d, server={"reload_endpoint": "true"})
    rc, out, err = run_cli(["-c", cfg.path, "check-config"])
    assert rc == 1 and "reload_token" in out + err, out + err


# --- item 12: CLI polish -------------------------------------------------------

@case
def store_commands_need_no_secrets():
    d = tmpdir()
    for v in ("DPC_T_TOKEN", "DPC_T_SECRET", "DPC_T_URL"):
        os.environ.pop(v, None)
    cfg = write_config(d, sections={
        "server": {"auth_token": "${DPC_T_TOKEN}"},
        "matillion": {"client_secret": "${DPC_T_SECRET}", "client_id": None},
        "destination slack-main": {"url": "${DPC_T_URL}"},
    })
    for args in (["jobs"], ["dead", "list"], ["incidents"], ["silence", "list"],
                 ["history", PROJECT, "load_dwh"]):
        rc, out, err = run_cli(["-c", cfg.path] + args)
        assert rc == 0, "%s: exit %d:\n%s%s" % (args, rc, out, err)
        assert "DPC_T_" not in err, "%s complained about a secret:\n%s" % (args, err)
    rc, out, err = run_cli(["-c", cfg.path, "check-config"])
    assert rc == 1 and "DPC_T_TOKEN" in out + err, "check-config must still insist"


@case
def cli_prints_no_store_info_line():
    with Env() as env:
        rc, out, err = env.cli("jobs")
        assert rc == 0, err
        assert "store:" not in out + err, "store line on a CLI command:\n" + out + err


@case
def dead_retry_of_a_missing_id_says_so():
    d = tmpdir()
    cfg = write_config(d)
    rc, out, err = run_cli(["-c", cfg.path, "dead", "retry", "99"])
    assert rc == 1 and "no dead letter 99" in out + err, (rc, out, err)


@case
def jobs_state_bogus_lists_the_states():
    d = tmpdir()
    cfg = write_config(d)
    rc, out, err = run_cli(["-c", cfg.path, "jobs", "--state", "bogus"])
    assert rc == 2, rc
    for s in ("queued", "running", "delivered", "dead", "ignored"):
        assert s in err, "state %s not listed:\n%s" % (s, err)
    assert "bogus" in err, err


@case
def make_demo_leaves_the_binary_and_shows_text_first():
    r = subprocess.run(["make", "-nB", "demo"], cwd=REPO, capture_output=True, timeout=60)
    assert re.search(rb"cp \S*dpc-notify dpc-notify", r.stdout), r.stdout[-2000:]
    r = subprocess.run([sys.executable, "scripts/demo.py"], cwd=REPO, capture_output=True,
                       timeout=120, env=dict(os.environ, BUILD=os.environ.get("BUILD", "build")))
    out = r.stdout.decode()
    assert r.returncode == 0, out + r.stderr.decode()
    text_at = out.find("== text")
    json_at = out.find("message received by the mock")
    assert 0 <= text_at < json_at, "no text rendering before the JSON:\n" + out[:3000]
    assert "FAILED" in out[text_at:json_at], out[text_at:json_at]


if __name__ == "__main__":
    run_all()
