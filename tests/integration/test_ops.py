"""Operating dpc-notify: the probes (/healthz, /readyz, with no auth, and
readiness going to 503 when the store cannot be written or the process is
draining), /metrics after a delivered run (every family, plausible values,
`promtool check metrics` clean, no secrets), the log (logfmt and JSON, one
event a line, job and execution ids on every job line, the level honoured),
SIGHUP reloads (a valid file takes effect, an invalid one is rejected with
file:line and the old one kept), `send-test`, scripts/install.sh (PREFIX,
DESTDIR) and mandoc lint of the man pages."""

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (AUTH_TOKEN, CLIENT_SECRET, REPO, accepted, binary, case,  # noqa: E402
                     free_port, request, run_all, run_cli, scenario, strings, tmpdir,
                     wait_until, write_config)

FWC = scenario("failed_with_children")
WEBHOOK = FWC["webhook"]
PROJECT = WEBHOOK["projectId"]
ROOT = WEBHOOK["pipelineExecutionId"]
# Another FAILED execution the mock knows, so a second webhook is not a
# duplicate of the first.
OTHER = [e["id"] for e in FWC["executions"]
         if e["id"] != ROOT and e["execution"].get("status") == "FAILED"][0]
SETTLE = 1.5  # seconds to wait for posts that must NOT arrive
TEST_MARK = "\U0001f9ea TEST"  # what view.c puts first on send-test messages
# Parts of the configured secrets that must never show up in output.
SECRET_BITS = (AUTH_TOKEN, CLIENT_SECRET, "B0BBB", "main-hook", "main-flow")


class Env(harness.Env):
    """The harness frame on the scenario these cases share."""

    def __init__(self, scenario_name="failed_with_children", **cfg):
        super().__init__(scenario_name, **cfg)


def webhook_for(exec_id):
    return dict(WEBHOOK, pipelineExecutionId=exec_id)


# --- log parsing ------------------------------------------------------------

LOGFMT_PAIR = re.compile(r'([^\s="]+)=("(?:[^"\\]|\\.)*"|[^\s"]+)')


def logfmt(line):
    """Parses one logfmt line into a dict; None unless the whole line is
    key=value pairs separated by single spaces."""
    out, pos = {}, 0
    while pos < len(line):
        m = LOGFMT_PAIR.match(line, pos)
        if m is None:
            return None
        v = m.group(2)
        if v.startswith('"'):
            v = re.sub(r'\\(.)', lambda x: {"n": "\n", "t": "\t", "r": "\r"}.get(
                x.group(1), x.group(1)), v[1:-1])
        out[m.group(1)] = v
        pos = m.end()
        if pos < len(line):
            if line[pos] != " ":
                return None
            pos += 1
    return out if line else None


def check_job_lines(events, job_id, exec_id):
    """Every event that mentions the job or its execution carries both ids;
    returns those events."""
    mine = [e for e in events if exec_id in e.values() or e.get("job") == job_id]
    for e in mine:
        assert e.get("job") == job_id and e.get("execution") == exec_id, \
            "a line about job %s lacks job/execution: %r" % (job_id, e)
    return mine


# --- probes -------------------------------------------------------------------

@case
def probes_answer_without_auth():
    with Env() as env:
        for path, want in (("/healthz", {"status": "ok"}), ("/readyz", {"status": "ready"})):
            st, hd, body = env.svc.get(path)  # no Authorization header
            assert st == 200, "%s -> %d %r" % (path, st, body)
            assert hd.get("content-type", "").startswith("application/json"), hd
            assert json.loads(body) == want, "%s body %r" % (path, body)
        st, hd, body = env.svc.get("/metrics")
        assert st == 200, "/metrics -> %d" % st
        assert hd.get("content-type", "").startswith("text/plain; version=0.0.4"), hd
        st, hd, _ = request("POST", env.svc.port, "/healthz", b"")
        assert st == 405 and "GET" in hd.get("allow", ""), (st, hd)


@case
def readyz_503_while_store_unwritable():
    with Env() as env:
        db = env.cfg.sections["server"]["store"]
        aside = db + ".aside"
        os.rename(db, aside)  # the store path no longer leads to a writable file
        try:
            st, _, body = env.svc.get("/readyz")
            assert st == 503, "readyz with the store gone -> %d %r" % (st, body)
            doc = json.loads(body)
            assert doc.get("status") == "not ready" and "store" in doc.get("reason", ""), doc
            st, _, _ = env.svc.get("/healthz")
            assert st == 200, "healthz must stay 200 (alive), got %d" % st
        finally:
            os.rename(aside, db)
        st, _, body = env.svc.get("/readyz")
        assert st == 200, "readyz after the store came back -> %d %r" % (st, body)


@case
def sigterm_drains_with_503():
    # The chat post is held for a few seconds so a job is still running when
    # SIGTERM arrives; while workers finish, the listener must say "draining".
    with Env(server={"shutdown_grace": "15"},
             default={"destinations": "slack-main"}) as env:
        env.mock.add_fault({"method": "POST", "path_regex": "^/slack/", "times": 1,
                            "action": {"delay_s": 4}})
        accepted(*env.svc.post_webhook(WEBHOOK)[::2])

        def running():
            text = env.svc.get("/metrics")[2].decode()
            return re.search(r'^dpc_notify_jobs\{state="running"\} 1$', text, re.M)
        wait_until(running, 10, 0.05, "the job to be running")
        env.svc.proc.send_signal(signal.SIGTERM)

        def draining():
            try:
                st, _, body = env.svc.get("/readyz")
            except OSError:
                return None
            return (st, body) if st == 503 else None
        st, body = wait_until(draining, 3, 0.02, "readyz 503 while draining")
        assert json.loads(body).get("reason") == "shutting down", body
        assert env.svc.get("/healthz")[0] == 200, "healthz must stay 200 while draining"
        st, hd, _ = env.svc.post_webhook(webhook_for(OTHER))
        assert st == 503 and hd.get("retry-after"), "webhook while draining -> %d %r" % (st, hd)
        rc = env.svc.proc.wait(timeout=20)
        env.svc.proc = None
        assert rc == 0, "exit %d after SIGTERM" % rc
        assert len(env.posts("slack")) == 1, "the running job did not finish its post"


# --- metrics ------------------------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def parse_metrics(text):
    """{(name, frozenset(labels)): value} from the exposition text."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "unparsable metrics line: %r" % line
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def val(samples, name, **labels):
    key = (name, frozenset(labels.items()))
    assert key in samples, "no sample %s%r" % (name, labels)
    return samples[key]


def check_histogram(samples, name, min_count):
    buckets = sorted(((float(dict(lb)["le"]), v) for (n, lb), v in samples.items()
                      if n == name + "_bucket"), key=lambda b: b[0])
    assert len(buckets) >= 2 and buckets[-1][0] == float("inf"), "%s buckets: %r" % (name, buckets)
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), "%s buckets not cumulative: %r" % (name, buckets)
    count = val(samples, name + "_count")
    assert count == counts[-1] >= min_count, "%s count %r, +Inf %r" % (name, count, counts[-1])
    total = val(samples, name + "_sum")
    assert total >= 0 and (count == 0 or total > 0 or name.endswith("commit_duration_seconds")), \
        "%s_sum %r" % (name, total)


def promtool_check(text):
    exe = shutil.which("promtool")
    assert exe, "promtool not found: install the Debian package prometheus " \
                "(apt-get install --no-install-recommends prometheus)"
    p = subprocess.run([exe, "check", "metrics"], input=text.encode(), capture_output=True,
                       timeout=30)
    out = (p.stdout + p.stderr).decode("utf-8", "replace").strip()
    assert p.returncode == 0 and not out, "promtool check metrics exit %d:\n%s" % (
        p.returncode, out)


@case
def metrics_after_a_delivered_run():
    with Env() as env:
        st, _, _ = env.svc.post_webhook(WEBHOOK, token="not-the-token")
        assert st == 401, "bad token -> %d" % st
        job = accepted(*env.svc.post_webhook(WEBHOOK)[::2])
        env.wait_posts(1, 1)

        def settled():
            text = env.svc.get("/metrics")[2].decode()
            return text if re.search(r'^dpc_notify_jobs\{state="delivered"\} 1$', text,
                                     re.M) else None
        text = wait_until(settled, 10, 0.1, "job %s delivered in /metrics" % job)
        s = parse_metrics(text)
        assert val(s, "dpc_notify_webhooks_total", outcome="accepted") == 1
        assert val(s, "dpc_notify_webhooks_total", outcome="unauthorized") == 1
        assert val(s, "dpc_notify_webhooks_total", outcome="duplicate") == 0
        for state, n in (("queued", 0), ("running", 0), ("delivered", 1), ("dead", 0)):
            assert val(s, "dpc_notify_jobs", state=state) == n, "jobs{%s}" % state
        for dest in ("slack-main", "teams-main"):
            assert val(s, "dpc_notify_deliveries_total", destination=dest, result="ok") == 1
            assert val(s, "dpc_notify_deliveries_total", destination=dest, result="dead") == 0
        assert val(s, "dpc_notify_retries_total") == 0
        assert val(s, "dpc_notify_dead_letters_total") == 0
        # The run has a root and two children: at least one call for each.
        assert val(s, "dpc_notify_matillion_requests_total", code="2xx") >= 3
        assert val(s, "dpc_notify_matillion_requests_total", code="5xx") == 0
        check_histogram(s, "dpc_notify_matillion_request_duration_seconds", 3)
        check_histogram(s, "dpc_notify_chat_post_duration_seconds", 2)
        assert val(s, "dpc_notify_chat_post_duration_seconds_count") == 2
        check_histogram(s, "dpc_notify_store_commit_duration_seconds", 1)
        version = run_cli(["--version"])[1].split()[-1]
        assert val(s, "dpc_notify_build_info", version=version) == 1
        for bit in SECRET_BITS + ("127.0.0.1:%d" % env.mock.port, "/slack/", "/teams/"):
            assert bit not in text, "/metrics shows a secret or URL (%s...)" % bit[:4]
        promtool_check(text)


@case
def promtool_rejects_bad_exposition():
    # Guards the check above: the tool must really lint, not just parse.
    exe = shutil.which("promtool")
    assert exe, "promtool not found: install the Debian package prometheus"
    bad = "# HELP x_seconds x\n# TYPE x_seconds counter\nx_seconds 1\n"
    p = subprocess.run([exe, "check", "metrics"], input=bad.encode(), capture_output=True,
                       timeout=30)
    assert p.returncode != 0, "promtool accepted a counter without _total"


# --- logs ---------------------------------------------------------------------

def delivered_run(env):
    """Posts the webhook, waits for both messages and for the job's log
    lines; returns the job id."""
    job = accepted(*env.svc.post_webhook(WEBHOOK)[::2])
    env.wait_posts(1, 1)
    for dest in ("slack-main", "teams-main"):
        env.wait_log(lambda ln, d=dest: "delivered" in ln and d in ln, "%s delivered line" % dest)
    return job


@case
def logs_logfmt_by_default():
    with Env() as env:  # the harness config sets no log_format
        job = delivered_run(env)
        env.svc.stop()
        lines = env.log_lines()
        assert lines, "no log output"
        events = []
        for ln in lines:
            ev = logfmt(ln)
            assert ev is not None, "not a logfmt line: %r" % ln
            assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$', ev.get("ts", "")), ln
            assert ev.get("level") in ("debug", "info", "warn", "error"), ln
            assert ev.get("msg"), ln
            events.append(ev)
        mine = check_job_lines(events, job, ROOT)
        dests = sorted(e.get("destination") for e in mine if e["msg"] == "delivered")
        assert dests == ["slack-main", "teams-main"], "delivered lines: %r" % mine
        assert any(e["msg"].startswith("intake") for e in mine), "no intake line for the job"
        both = "\n".join(lines)
        for bit in SECRET_BITS:
            assert bit not in both, "the log shows a secret (%s...)" % bit[:4]


@case
def logs_carry_ids_when_the_api_fails():
    # A failing Matillion call is logged by the API client as well as by the
    # worker; both lines are about the job and need its ids.
    with Env() as env:
        env.mock.add_fault({"method": "GET", "path_regex": "/steps", "times": 1,
                            "action": {"status": 500, "body": "boom"}})
        job = accepted(*env.svc.post_webhook(WEBHOOK)[::2])
        env.wait_posts(1, 1, timeout=30)
        env.wait_log(lambda ln: "delivered" in ln and "teams-main" in ln, "delivered line")
        env.svc.stop()
        events = [logfmt(ln) for ln in env.log_lines()]
        assert all(events), "non-logfmt line in %r" % env.log_lines()
        mine = check_job_lines(events, job, ROOT)
        assert any(e["level"] == "warn" and "retry" in e["msg"] for e in mine), \
            "no retry line for the job: %r" % mine


@case
def logs_json_when_configured():
    with Env(server={"log_format": "json"}) as env:
        job = delivered_run(env)
        env.svc.stop()
        events = []
        for ln in env.log_lines():
            try:
                ev = json.loads(ln)
            except ValueError:
                raise AssertionError("not a JSON line: %r" % ln)
            assert isinstance(ev, dict), ln
            for k in ("ts", "level", "msg"):
                assert isinstance(ev.get(k), str) and ev[k], "%s missing: %r" % (k, ln)
            events.append({k: v for k, v in ev.items() if isinstance(v, str)})
        mine = check_job_lines(events, job, ROOT)
        assert len([e for e in mine if e["msg"] == "delivered"]) == 2, mine


@case
def log_level_warn_hides_info():
    with Env(server={"log_level": "warn"}) as env:
        st, _, _ = env.svc.post_webhook(WEBHOOK, token="not-the-token")  # a warn event
        assert st == 401
        accepted(*env.svc.post_webhook(WEBHOOK)[::2])
        env.wait_posts(1, 1)
        time.sleep(0.5)  # let the worker log its delivered lines, if it (wrongly) would
        env.svc.stop()
        events = [logfmt(ln) for ln in env.log_lines()]
        assert all(events), "non-logfmt line in %r" % env.log_lines()
        levels = {e["level"] for e in events}
        assert levels <= {"warn", "error"}, "levels logged at warn: %r" % sorted(levels)
        assert any(e["msg"] == "intake: webhook rejected" for e in events), events


@case
def serve_logs_an_invalid_config_and_exits():
    d = tmpdir()
    cfg = write_config(d, server={"log_format": "json"})
    with open(cfg.path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    at = lines.index("[server]") + 1
    lines.insert(at, "colour = blue")
    with open(cfg.path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    rc, out, err = run_cli(["-c", cfg.path, "serve"], timeout=15)
    assert rc == 1, "serve with an invalid config exited %d" % rc
    events = [logfmt(ln) for ln in err.splitlines()]
    assert events and all(events), "serve's output is not one logfmt event a line:\n" + err
    where = "%s:%d" % (cfg.path, at + 1)
    assert any(e["level"] == "error" and where in e["msg"] and "colour" in e["msg"]
               for e in events), "no error naming %s:\n%s" % (where, err)


# --- SIGHUP -------------------------------------------------------------------

@case
def sighup_applies_a_valid_config():
    with Env(default={"destinations": "slack-main"}) as env:
        accepted(*env.svc.post_webhook(WEBHOOK)[::2])
        env.wait_posts(1, 0)
        # workers is read once at start: the reload must say it needs a restart.
        env.rewrite(default={"destinations": "teams-main"}, server={"workers": "3"})
        env.svc.proc.send_signal(signal.SIGHUP)
        env.wait_log(lambda ln: "config reloaded" in ln, "config reloaded log line")
        notes = [logfmt(ln) for ln in env.log_lines() if "restart" in ln]
        assert len(notes) == 1 and notes[0]["level"] == "warn" and \
            notes[0].get("keys") == "workers", "restart note: %r" % notes
        accepted(*env.svc.post_webhook(webhook_for(OTHER))[::2])
        env.wait_posts(1, 1)
        time.sleep(SETTLE)
        assert len(env.posts("slack")) == 1, "the new run still went to slack-main"
        assert len(env.posts("teams")) == 1
        assert env.svc.alive() and env.svc.get("/readyz")[0] == 200
        rc = env.svc.stop()
        assert rc == 0, "exit %s after a reload" % rc


@case
def sighup_rejects_an_invalid_config():
    with Env(default={"destinations": "slack-main"}) as env:
        path = env.rewrite(default={"destinations": "teams-main"})
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        at = lines.index("[server]") + 1
        lines.insert(at, "colour = blue")  # unknown key, on line at + 1
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
        env.svc.proc.send_signal(signal.SIGHUP)
        env.wait_log(lambda ln: "reload rejected" in ln, "reload rejected log line")
        where = "%s:%d" % (path, at + 1)
        diag = [ln for ln in env.log_lines() if where in ln]
        assert diag and "colour" in diag[0] and "level=error" in diag[0], \
            "no error naming %s and the key:\n%s" % (where, env.svc.log_tail())
        assert not any("config reloaded" in ln for ln in env.log_lines())
        assert env.svc.alive() and env.svc.get("/readyz")[0] == 200
        accepted(*env.svc.post_webhook(WEBHOOK)[::2])
        env.wait_posts(1, 0)
        time.sleep(SETTLE)
        assert len(env.posts("teams")) == 0, "the rejected config was applied"
        rc = env.svc.stop()
        assert rc == 0, "exit %s after a rejected reload" % rc


# --- send-test ----------------------------------------------------------------

def send_test_env():
    """A mock and a config with two more Slack destinations, one answered
    by the mock and one on a closed port; no service."""
    return Env(None, start=False, sections=lambda mp: {
        "destination slack-gone": {"type": "slack", "url": mp + "/slack/T0AAA/B0BBB/gone-hook"},
        "destination slack-closed": {"type": "slack", "url": "http://127.0.0.1:%d/slack/T0AAA/"
                                                            "B0BBB/closed-hook" % free_port()},
    })


def marked_as_test(post):
    return any(TEST_MARK in t for t in strings(post["body"]))


@case
def send_test_slack_and_teams():
    with send_test_env() as env:
        for dest, target, code in (("slack-main", "slack", 200), ("teams-main", "teams", 202)):
            rc, out, err = env.cli("send-test", dest)
            assert rc == 0, "send-test %s exit %d:\n%s%s" % (dest, rc, out, err)
            assert "HTTP %d" % code in out, "send-test %s output: %r" % (dest, out)
            for bit in SECRET_BITS:
                assert bit not in out + err, "send-test printed a secret (%s...)" % bit[:4]
            posts = env.mock.recorded(target)
            assert len(posts) == 1 and posts[0]["status"] == code, posts
            assert marked_as_test(posts[0]), "the %s message is not marked as a test" % target
        # A send-test touches no store and no Matillion API.
        assert env.mock.calls() == [], "send-test called the Matillion API: %r" % env.mock.calls()


@case
def send_test_notification_text_marked():
    # Slack shows the top-level "text" in push notifications and Teams the
    # card's first text: a test must not read like a real failure there.
    with send_test_env() as env:
        for dest, target in (("slack-main", "slack"), ("teams-main", "teams")):
            rc, out, err = env.cli("send-test", dest)
            assert rc == 0, "send-test %s exit %d: %s%s" % (dest, rc, out, err)
            body = env.mock.recorded(target)[-1]["body"]
            if target == "slack":
                first = body["text"]
            else:
                # The notification shows "summary"; the card opens with its title.
                card = body["attachments"][0]["content"]
                title = card["body"][0]["inlines"][0]["text"]
                assert title.startswith(TEST_MARK), "teams title not marked: %r" % title[:200]
                first = body["summary"]
            assert first.startswith(TEST_MARK), "%s notification text not marked as a test: %r" % (
                target, first[:200])


@case
def send_test_reports_http_failure():
    with send_test_env() as env:
        env.fault("/gone-hook", method="POST", status=404, body="no_service")
        rc, out, err = env.cli("send-test", "slack-gone")
        assert rc != 0, "send-test to a 404 hook exited 0:\n%s" % out
        assert "404" in out + err, "output does not give the HTTP status: %r" % (out + err)
        assert "gone-hook" not in out + err, "send-test printed the webhook URL"
        rc, out, err = env.cli("send-test", "slack-closed")
        assert rc != 0, "send-test to a closed port exited 0:\n%s" % out
        assert "no HTTP response" in out, "output: %r" % out
        assert "closed-hook" not in out + err, "send-test printed the webhook URL"


@case
def send_test_unknown_destination():
    with send_test_env() as env:
        rc, out, err = env.cli("send-test", "no-such-dest")
        assert rc != 0, "unknown destination exited 0"
        assert "no-such-dest" in err, "stderr does not name the destination: %r" % err
        assert env.mock.recorded() == [], "something was posted"


# --- install and man pages --------------------------------------------------

def run_install(destdir, prefix, build=None):
    env = dict(os.environ, DESTDIR=destdir, PREFIX=prefix,
               BUILD=build or os.path.dirname(binary()))
    for k in ("BINDIR", "MANDIR", "DOCDIR", "UNITDIR"):
        env.pop(k, None)
    p = subprocess.run(["sh", os.path.join(REPO, "scripts", "install.sh")], env=env,
                       capture_output=True, timeout=60, cwd=tmpdir())
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@case
def install_honours_prefix_and_destdir():
    for prefix in ("/usr", "/opt/dpc-notify"):
        dest = tmpdir()
        rc, out = run_install(dest, prefix)
        assert rc == 0, "install.sh PREFIX=%s exit %d:\n%s" % (prefix, rc, out)
        root = dest + prefix
        exe = root + "/bin/dpc-notify"
        assert mode(exe) == 0o755, oct(mode(exe))
        p = subprocess.run([exe, "--version"], capture_output=True, timeout=10)
        assert p.returncode == 0 and p.stdout.startswith(b"dpc-notify "), p
        for page in ("/share/man/man8/dpc-notify.8", "/share/man/man5/dpc-notify.ini.5"):
            assert mode(root + page) == 0o644, page
        example = root + "/share/doc/dpc-notify/dpc-notify.ini.example"
        with open(example, "rb") as a, open(os.path.join(REPO, "etc", "dpc-notify.ini.example"),
                                            "rb") as b:
            assert a.read() == b.read(), "example config differs from etc/"
        unit_src = os.path.join(REPO, "etc", "dpc-notify.service")
        if os.path.exists(unit_src):
            with open(root + "/lib/systemd/system/dpc-notify.service", encoding="utf-8") as f:
                unit = f.read()
            execs = re.findall(r'^ExecStart=(\S+)', unit, re.M)
            assert execs == [prefix + "/bin/dpc-notify"], "ExecStart: %r" % execs
        top = os.listdir(dest)
        assert top == [prefix.strip("/").split("/")[0]], "installed outside PREFIX: %r" % top


@case
def install_refuses_bad_input():
    dest = tmpdir()
    rc, out = run_install(dest, "/usr", build=tmpdir())  # no binary there
    assert rc != 0, "install.sh succeeded without a binary"
    assert "dpc-notify" in out and not os.path.exists(dest + "/usr/bin/dpc-notify"), out
    rc, out = run_install(dest, "usr")
    assert rc != 0 and "PREFIX" in out, "relative PREFIX accepted: %s" % out


@case
def man_pages_lint_clean():
    exe = shutil.which("mandoc")
    assert exe, "mandoc not found: install the Debian package mandoc"
    for page in ("dpc-notify.8", "dpc-notify.ini.5"):
        path = os.path.join(REPO, "man", page)
        assert os.path.isfile(path), "man/%s is missing" % page
        p = subprocess.run([exe, "-Tlint", "-Wwarning", path], capture_output=True, timeout=30)
        out = (p.stdout + p.stderr).decode("utf-8", "replace").strip()
        assert p.returncode == 0 and not out, "mandoc -Tlint %s exit %d:\n%s" % (
            page, p.returncode, out)
    with open(os.path.join(REPO, "man", "dpc-notify.8"), encoding="utf-8") as f:
        text = f.read()
    for word in ("SIGHUP", "healthz", "readyz", "metrics", "send-test"):
        assert word in text, "dpc-notify(8) does not document %s" % word


if __name__ == "__main__":
    run_all()
