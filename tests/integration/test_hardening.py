"""Process hardening and the config and webhook checks of issue 10: the
service is not dumpable and has a soft core limit of 0 unless
allow_core_dumps = true; check-config refuses a whsec_ secret that is not
base64 and a URL with backslashes, without printing either; a webhook whose
id is a JSON number beyond 2^53 or holds NUL gets 422.

The dumpable flag has no line in /proc/PID/status; what shows it is the
owner of /proc/PID/*: root for a non-dumpable process, the process's own
user otherwise. So the service runs as nobody here, started with a soft
core limit the test sets (this machine's default is 0, which would prove
nothing)."""

import json
import os
import resource
import sys

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import case, run_all, run_cli, tmpdir, write_config  # noqa: E402

NOBODY = 65534
CORE_SOFT = 4 << 20  # what the service is started with, below any hard limit


def core_soft_limit():
    """The soft core limit to start the service with (within our hard one)."""
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    return CORE_SOFT if hard == resource.RLIM_INFINITY else min(CORE_SOFT, hard)


class NobodyService(harness.Service):
    """The service as user nobody with a known nonzero soft core limit."""

    def spawn(self, exe):
        soft = core_soft_limit()

        def drop():
            _, hard = resource.getrlimit(resource.RLIMIT_CORE)
            resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)

        # AddressSanitizer zeroes the core limit itself unless told not to.
        asan = os.environ.get("ASAN_OPTIONS", "")
        env = dict(os.environ, ASAN_OPTIONS=(asan + ":" if asan else "") + "disable_coredump=0")
        return harness.spawn([exe, "-c", self.cfg.path, "serve"], self.log, cwd="/",
                             preexec_fn=drop, env=env)


def start_as_nobody(**server):
    """Config and store in a dir nobody can use; returns the started service."""
    d = tmpdir()
    os.chmod(d, 0o777)
    cfg = write_config(d, server=server)
    os.chmod(cfg.path, 0o644)
    return NobodyService(cfg).start()


def core_limit(pid):
    """(soft, hard) of "Max core file size" in /proc/PID/limits, as text."""
    with open("/proc/%d/limits" % pid, encoding="ascii") as f:
        for line in f:
            if line.startswith("Max core file size"):
                return tuple(line[len("Max core file size"):].split()[:2])
    raise AssertionError("no core line in /proc/%d/limits" % pid)


@case
def core_dumps_off_by_default():
    svc = start_as_nobody()
    try:
        pid = svc.proc.pid
        soft, _ = core_limit(pid)
        assert soft == "0", "soft core limit %s, want 0" % soft
        owner = os.stat("/proc/%d/status" % pid).st_uid
        assert owner == 0, "/proc/%d owned by uid %d: the process is dumpable" % (pid, owner)
        assert svc.get("/healthz")[0] == 200
    finally:
        svc.stop()


@case
def allow_core_dumps_keeps_the_limits():
    svc = start_as_nobody(allow_core_dumps="true")
    try:
        pid = svc.proc.pid
        soft, _ = core_limit(pid)
        assert soft == str(core_soft_limit()), "soft core limit %s, want %d" % (
            soft, core_soft_limit())
        owner = os.stat("/proc/%d/status" % pid).st_uid
        assert owner == NOBODY, "/proc/%d owned by uid %d, want nobody" % (pid, owner)
    finally:
        svc.stop()


@case
def check_config_refuses_bad_whsec_and_backslash_urls():
    d = tmpdir()
    bad_sw = "whsec_sEcReT*not+base64"
    url = "https://hooks.slack.com\\services\\T0AAA\\B0BBB\\hookSECRET"
    cfg = write_config(d, server={"hmac_secret": bad_sw},
                       sections={"destination slack-main": {"url": url}})
    rc, out, err = run_cli(["-c", cfg.path, "check-config"])
    text = out + err
    assert rc == 1, "check-config exited %d:\n%s" % (rc, text)
    lines = open(cfg.path, encoding="utf-8").read().split("\n")
    sw_line = [i + 1 for i, l in enumerate(lines) if l.startswith("hmac_secret")][0]
    url_line = [i + 1 for i, l in enumerate(lines) if "hookSECRET" in l][0]
    assert "%s:%d: hmac_secret: a whsec_ secret must be" % (cfg.path, sw_line) in text, text
    assert "%s:%d: url contains a backslash" % (cfg.path, url_line) in text, text
    for secret in ("sEcReT", "hookSECRET", "B0BBB", "\\"):
        assert secret not in text, "%r in check-config output:\n%s" % (secret, text)


@case
def webhook_ids_beyond_2_53_or_with_nul_get_422():
    with harness.Env() as env:
        for raw in (b'{"pipelineExecutionId": 9007199254740993, "projectId": "p1"}',
                    b'{"pipelineExecutionId": -1, "projectId": "p1"}',
                    b'{"pipelineExecutionId": 1e300, "projectId": "p1"}',
                    b'{"pipelineExecutionId": "abc\\u0000def", "projectId": "p1"}'):
            st, _, body = env.post(raw, {"Authorization": "Bearer " + env.cfg.auth_token,
                                         "Content-Type": "application/json"})
            assert st == 422, "%s -> %d %r" % (raw, st, body)
        detail = json.dumps(json.loads(body))
        assert "execution id" in detail, detail


if __name__ == "__main__":
    run_all()
