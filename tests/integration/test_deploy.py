"""Deployment traps an operator hit (issue 14): the listen address is logged
at start and a loopback address inside a container is warned about once;
placeholder or short webhook tokens and HMAC secrets are refused with
file:line whether written inline, through ${ENV} or through KEY_file; a
SIGHUP that finds the file unchanged (what a single-file bind mount shows
after `sed -i` on the host) says so; and the shipped systemd story (the
unit's LoadCredential= names, the example config's _file keys under
$CREDENTIALS_DIRECTORY) fits together. The container detection is forced
with DPC_NOTIFY_CONTAINER=1/0, since this test itself may run in one."""

import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import REPO, case, run_all, run_cli, tmpdir, write_config  # noqa: E402

GOOD_TOKEN = "deploy-test-0a9f8e7d6c5b4a39"


class Env(harness.Env):
    def __init__(self, container, **cfg):
        super().__init__("failed_with_children", start=False, **cfg)
        self.container = container

    def __enter__(self):
        super().__enter__()
        old = os.environ.get("DPC_NOTIFY_CONTAINER")
        os.environ["DPC_NOTIFY_CONTAINER"] = self.container
        try:
            self.start_service()
        except BaseException:
            self.__exit__()
            raise
        finally:
            if old is None:
                del os.environ["DPC_NOTIFY_CONTAINER"]
            else:
                os.environ["DPC_NOTIFY_CONTAINER"] = old
        return self


def container_warnings(env):
    return [ln for ln in env.log_lines() if "container" in ln and "level=warn" in ln]


# --- listen address ---------------------------------------------------------

@case
def listen_address_is_logged_in_full():
    with Env("0") as env:
        want = "127.0.0.1:%d" % env.cfg.port
        lines = env.wait_log(lambda ln: "dpc-notify started" in ln, "start line")
        assert want in lines[0], "start line lacks the listen address %s: %s" % (want, lines[0])
        assert not container_warnings(env), "warned outside a container:\n" + env.svc.log_tail()


@case
def loopback_in_container_warns_once():
    with Env("1") as env:
        env.wait_log(lambda ln: "dpc-notify started" in ln, "start line")
        got = container_warnings(env)
        assert len(got) == 1, "want one container warning, got %d:\n%s" % (
            len(got), env.svc.log_tail())
        assert "0.0.0.0:8080" in got[0] and "127.0.0.1" in got[0], got[0]
        # A reload does not repeat it (the listener is not re-bound).
        env.svc.proc.send_signal(signal.SIGHUP)
        env.wait_log(lambda ln: "config reloaded" in ln, "config reloaded")
        assert len(container_warnings(env)) == 1, env.svc.log_tail()


@case
def all_interfaces_in_container_no_warning():
    port = harness.free_port()
    with Env("1", port=port, server={"listen": "0.0.0.0:%d" % port}) as env:
        lines = env.wait_log(lambda ln: "dpc-notify started" in ln, "start line")
        assert "0.0.0.0:%d" % port in lines[0], lines[0]
        assert not container_warnings(env), env.svc.log_tail()


# --- placeholder secrets ----------------------------------------------------

def check(server, env=None, files=None):
    """check-config on the harness config with [server] overrides; returns
    (rc, output, path, line of the first overridden key)."""
    d = tmpdir()
    for name, text in (files or {}).items():
        with open(os.path.join(d, name), "w", encoding="utf-8") as f:
            f.write(text)
    server = {k: (v.replace("@DIR@", d) if isinstance(v, str) else v)
              for k, v in server.items()}
    cfg = write_config(d, server=dict({"auth_token": None}, **server))
    with open(cfg.path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    key = [k for k, v in server.items() if v is not None][0]
    line = 1 + [i for i, ln in enumerate(lines) if ln.startswith(key + " = ")][0]
    old = dict(os.environ)
    os.environ.update(env or {})
    try:
        rc, out, err = run_cli(["-c", cfg.path, "check-config"])
    finally:
        os.environ.clear()
        os.environ.update(old)
    return rc, out + err, cfg.path, line


REFUSED = [
    ("inline placeholder", {"auth_token": "replace-with-a-long-random-token"}, None, None),
    ("inline short", {"auth_token": "abc123"}, None, None),
    ("second of a list", {"auth_token": GOOD_TOKEN + ", changeme-changeme-1234"}, None, None),
    ("env placeholder", {"auth_token": "${T_DEPLOY_TOKEN}"},
     {"T_DEPLOY_TOKEN": "your-token-goes-here-please"}, None),
    ("file placeholder", {"auth_token_file": "@DIR@/token"}, None,
     {"token": "XXXXXXXXXXXXXXXXXXXXXXXX\n"}),
    ("hmac short", {"hmac_secret": "only-a-secret"}, None, None),
    ("hmac whsec short", {"hmac_secret": "whsec_c2hvcnQ="}, None, None),
    ("hmac example", {"hmac_secret": "example-signing-secret-value"}, None, None),
]


@case
def placeholder_and_short_secrets_refused():
    for what, server, env, files in REFUSED:
        rc, out, path, line = check(server, env, files)
        key = [k for k in server if server[k] is not None][0].replace("_file", "")
        where = "%s:%d: " % (path, line)
        hit = [ln for ln in out.splitlines() if ln.startswith(where) and key in ln]
        assert rc != 0 and hit, "%s: want a refusal at %s naming %s, got exit %d:\n%s" % (
            what, where, key, rc, out)
        assert "warning" not in hit[0], "%s: only a warning: %s" % (what, hit[0])
        secret = (env or {}).get("T_DEPLOY_TOKEN") or list(server.values())[0]
        if "@DIR@" not in secret and "whsec_" not in secret:
            for part in secret.split(", "):
                assert part not in out or part == GOOD_TOKEN, \
                    "%s: the secret was echoed:\n%s" % (what, out)


@case
def real_looking_secrets_accepted():
    rc, out, _, _ = check({"auth_token": GOOD_TOKEN,
                           "hmac_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
    assert rc == 0, "a 16+ byte random token was refused:\n" + out


@case
def serve_refuses_a_placeholder_token():
    d = tmpdir()
    cfg = write_config(d, server={"auth_token": "replace-with-a-long-random-token"})
    rc, out, err = run_cli(["-c", cfg.path, "serve"], timeout=20)
    assert rc != 0 and "auth_token" in out + err, "serve started (exit %d):\n%s" % (
        rc, out + err)


# --- SIGHUP on a file that did not change -----------------------------------

def unchanged_warnings(env):
    return [ln for ln in env.log_lines() if "did not change" in ln]


@case
def reload_of_an_unchanged_file_says_so():
    with Env("0") as env:
        env.svc.proc.send_signal(signal.SIGHUP)
        got = env.wait_log(lambda ln: "did not change" in ln, "unchanged-file warning")
        assert "level=warn" in got[0] and "bind mount" in got[0] and "directory" in got[0], got[0]
        # An edit in place (same inode) is a change: no second warning.
        time.sleep(0.05)
        env.rewrite(server={"workers": "3"})
        env.svc.proc.send_signal(signal.SIGHUP)
        env.wait_log(lambda ln: "restart" in ln, "restart note of the edited reload")
        # So is `sed -i`-style replacement by rename (a new inode).
        path = env.cfg.path
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(path + ".new", "w", encoding="utf-8") as f:
            f.write(text.replace("workers = 3", "workers = 4"))
        os.rename(path + ".new", path)
        env.svc.proc.send_signal(signal.SIGHUP)
        harness.wait_until(lambda: sum("config reloaded" in ln for ln in env.log_lines()) >= 3,
                           10, what="third reload")
        assert len(unchanged_warnings(env)) == 1, env.svc.log_tail()


# --- systemd: one story for secrets ------------------------------------------

def unit_credentials():
    with open(os.path.join(REPO, "etc", "dpc-notify.service"), encoding="utf-8") as f:
        unit = f.read()
    return unit, re.findall(r"^LoadCredential=([A-Za-z0-9_.-]+):", unit, re.M)


@case
def systemd_credentials_match_the_example_config():
    unit, creds = unit_credentials()
    assert creds, "the unit loads no credentials"
    with open(os.path.join(REPO, "etc", "dpc-notify.ini.example"), encoding="utf-8") as f:
        example = f.read()
    used = re.findall(r"^\w+_file = \$\{CREDENTIALS_DIRECTORY\}/([A-Za-z0-9_.-]+)$", example,
                      re.M)
    assert sorted(used) == sorted(creds), "example reads %s, unit loads %s" % (used, creds)
    # One story for file modes: no inline secrets, so the unit's 0644 is fine.
    assert "chmod 600" not in example, "the example still asks for chmod 600"
    assert "EnvironmentFile" not in unit or "optional" in unit.lower(), "EnvironmentFile is not marked optional"
    # The example loads with the credentials systemd would provide, and
    # check-config does not warn about secrets in a world-readable file.
    d = tmpdir()
    values = {"auth_token": GOOD_TOKEN, "client_id": "deploy-client",
              "client_secret": "deploy-client-secret",
              "slack_url": "https://hooks.slack.com/services/T0/B0/abc",
              "teams_url": "https://prod-01.westeurope.logic.azure.com/workflows/w/x?sig=s"}
    for name in creds:
        with open(os.path.join(d, name), "w", encoding="utf-8") as f:
            f.write(values.get(name, GOOD_TOKEN) + "\n")
    ini = os.path.join(d, "dpc-notify.ini")
    with open(ini, "w", encoding="utf-8") as f:
        f.write(example)
    os.chmod(ini, 0o644)
    old = dict(os.environ)
    os.environ["CREDENTIALS_DIRECTORY"] = d
    try:
        rc, out, err = run_cli(["-c", ini, "check-config"])
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert rc == 0, "the example does not load from credentials:\n" + out + err
    assert "readable by other users" not in out + err, out + err


if __name__ == "__main__":
    run_all()
