"""Delivery under failure: the real dpc-notify against the mock with faults
injected into the Matillion API and the Slack / Teams webhooks. Each case
checks the final state in the store, the attempts made, what the sink
received (exactly one message per destination unless a test says why
not) and, where a remote asked for it, that Retry-After was waited.

Backoff runs with the real defaults (first retry within 0.25..2 s), so
every case keeps to one or two retries."""

import email.utils
import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import UI_BASE, accepted, case, request, strings, wait_until  # noqa: E402
from test_crash import crash_scenario, nodelay_main, query, run_id, webhook  # noqa: E402

SETTLE = 1.5        # seconds to wait for a post that must NOT arrive
RUNS = 8            # runs in the mock scenario


class Env(harness.Env):
    """A mock holding RUNS failed runs and a service configured against
    it; sections override the harness defaults (max_attempts 3). Only
    posts the sink accepted count."""

    OK_ONLY = True
    WAIT_POSTS_S = 25.0

    def __init__(self, sections=None, scenario=None, start=True):
        super().__init__(None, scenario=scenario or crash_scenario(RUNS), sections=sections,
                         record=False, start=start)

    def send(self, i):
        return int(accepted(*self.svc.post_webhook(webhook(i))[::2]))

    def context(self):
        return "; jobs=%s" % (self.jobs(),)

    def rows(self, sql, *args):
        return query(self.store, sql, *args)

    def jobs(self):
        return self.rows("SELECT id, state, attempts, last_error FROM jobs ORDER BY id")

    def job(self, jid):
        r = self.rows("SELECT state, attempts, last_error FROM jobs WHERE id = ?", jid)
        return r[0] if r else None

    def deliveries(self, jid):
        """dest -> (state, attempts, last_error)."""
        return {d: (s, a, e) for d, s, a, e in self.rows(
            "SELECT dest, state, attempts, last_error FROM deliveries WHERE job_id = ?", jid)}

    def wait_job(self, jid, states=("delivered",), timeout=25.0):
        try:
            return wait_until(lambda: (self.job(jid) or (None,))[0] in states and self.job(jid),
                              timeout, 0.05, "job %d in %s" % (jid, states))
        except AssertionError as e:
            raise AssertionError("%s; job=%s deliveries=%s; log:\n%s" % (
                e, self.job(jid), self.deliveries(jid),
                self.svc.log_tail() if self.svc else ""))

    def api_calls(self, i, suffix=""):
        """(status, t) of the API calls for run i's execution (suffix
        "/steps" for its steps)."""
        path = "/pipeline-executions/%s%s" % (run_id(i), suffix)
        return [(c["status"], c["t"]) for c in self.mock.calls() if c["path"].endswith(path)]

    def log_times(self, msg, dest=None):
        """Wall-clock times of the service log lines with msg=<msg>."""
        out = []
        with open(self.svc.log, encoding="utf-8", errors="replace") as f:
            for line in f:
                if ('msg="%s"' % msg not in line and "msg=%s " % msg not in line) or \
                        (dest and "destination=%s" % dest not in line):
                    continue
                m = re.match(r"ts=(\S+)Z ", line)
                if m:
                    out.append(time.mktime(time.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S"))
                               - time.timezone + float("0" + m.group(1)[19:]))
        return out


def text_of(post):
    """Every string of a post, with Markdown escapes (Teams: "run\\_0")
    removed so tests can look for plain words."""
    return "\n".join(strings(post["body"])).replace("\\", "")


def exec_path(i):
    return "pipeline-executions/%s$" % run_id(i)


def one_each(env, i=0):
    """Exactly one accepted Slack and one Teams post for run i."""
    s, t = env.one_each(SETTLE)
    for p in (s, t):
        assert run_id(i) in json.dumps(p["body"]), "post is for another run"
    return s, t


def full_message(post, i=0):
    text = text_of(post)
    assert "boom %d" % i in text, "step error missing (degraded?): %s" % text[:600]
    assert "step details unavailable" not in text, text[:600]


# --- Matillion API faults ---------------------------------------------------

@case
def api_500_then_504_retried_with_backoff():
    with Env({"delivery": {"max_attempts": "4"}}) as env:
        env.fault(exec_path(0), status=500, body="oops")
        env.fault(exec_path(0), status=504, body="gateway timeout")
        jid = env.send(0)
        s, t = one_each(env)
        full_message(s)
        full_message(t)
        calls = env.api_calls(0)
        assert [c[0] for c in calls] == [500, 504, 200], calls
        # Backoff is never immediate: retry.h draws from the upper half of
        # an exponential window, 2-4 s after the first try, 4-8 s after the
        # second.
        assert calls[1][1] - calls[0][1] >= 1.9 and calls[2][1] - calls[1][1] >= 3.9, calls
        state, attempts, err = env.wait_job(jid)
        assert attempts == 3, "attempts %d" % attempts
        dl = env.deliveries(jid)
        assert dl["slack-main"][:2] == ("delivered", 1) and dl["teams-main"][:2] == \
            ("delivered", 1), dl


@case
def api_timeout_and_reset_retried():
    with Env({"delivery": {"timeout": "1", "max_attempts": "4"}}) as env:
        env.fault(exec_path(0), hang_s=2.5)          # longer than timeout
        env.fault(exec_path(0) + "|/steps", reset=True)
        jid = env.send(0)
        s, t = one_each(env)
        full_message(s)
        full_message(t)
        state, attempts, _ = env.wait_job(jid)
        assert attempts == 3, "attempts %d (timeout, reset, ok expected)" % attempts


@case
def api_429_retry_after_waited():
    with Env() as env:
        env.fault(exec_path(0), status=429, body='{"title":"Too Many Requests"}',
                  content_type="application/problem+json", headers={"Retry-After": "2"})
        jid = env.send(0)
        s, _ = one_each(env)
        full_message(s)
        calls = env.api_calls(0)
        assert [c[0] for c in calls] == [429, 200], calls
        waited = calls[1][1] - calls[0][1]
        assert waited >= 1.95, "Retry-After: 2 but repeated after %.2fs" % waited
        # A short Retry-After is sat out inside the attempt.
        assert env.wait_job(jid)[1] == 1


@case
def api_503_retry_after_http_date_waited():
    with Env() as env:
        when = time.time() + 3
        env.fault(exec_path(0), status=503, body="maintenance",
                  headers={"Retry-After": email.utils.formatdate(when, usegmt=True)})
        env.send(0)
        s, _ = one_each(env)
        full_message(s)
        calls = env.api_calls(0)
        assert [c[0] for c in calls] == [503, 200], calls
        assert calls[1][1] >= int(when) - 0.05, \
            "Retry-After date not honoured: repeated %.2fs early" % (int(when) - calls[1][1])


@case
def api_down_sends_degraded_notice():
    with Env({"delivery": {"max_attempts": "2"}}) as env:
        env.fault("^/dpc/", times=100, status=500, body="down")
        jid = env.send(0)
        s, t = one_each(env)
        assert len(env.api_calls(0)) == 2, "one retry expected: %s" % env.api_calls(0)
        link = UI_BASE + "/observability-dashboard/pipeline/" + run_id(0)
        for p in (s, t):
            text = text_of(p)
            assert "step details unavailable: " in text, text[:800]
            assert "HTTP 500" in text, "reason missing: " + text[:800]
            assert "run_0" in text and "FAILED" in text.upper(), text[:800]
            assert link in json.dumps(p["body"]), "no link to the run"
            assert "boom 0" not in text
        assert env.wait_job(jid)[:2] == ("delivered", 2)


@case
def bad_credentials_degraded_without_retry():
    sc = dict(crash_scenario(RUNS), credentials={"client_id": "test-client",
                                                  "client_secret": "rotated"})
    with Env(scenario=sc) as env:
        jid = env.send(0)
        s, t = one_each(env)
        for p in (s, t):
            text = text_of(p)
            assert "step details unavailable: token request rejected (HTTP 401)" in text, \
                text[:800]
        # Bad credentials are permanent: no second attempt.
        assert env.wait_job(jid)[:2] == ("delivered", 1)
        assert not env.api_calls(0)


@case
def no_degraded_notice_dead_letter_then_cli_retry_and_purge():
    bad = dict(crash_scenario(RUNS), credentials={"client_id": "test-client",
                                                   "client_secret": "rotated"})
    with Env({"delivery": {"degraded_notice": "false"}}, scenario=bad) as env:
        a, b = env.send(0), env.send(1)
        env.wait_job(a, ("dead",))
        env.wait_job(b, ("dead",))
        time.sleep(SETTLE)
        assert env.posts(ok_only=False) == [], "nothing may be posted"
        rc, out, err = env.cli("dead", "list")
        assert rc == 0, err
        lines = [ln for ln in out.splitlines()[1:] if ln.strip()]
        assert len(lines) == 2 and all("token request rejected" in ln for ln in lines), out
        rc, out, _ = env.cli("jobs", "--state", "dead")
        assert rc == 0 and run_id(0) in out and run_id(1) in out, out
        # Credentials fixed; one job retried by hand, the other purged.
        st, _, _ = request("POST", env.mock.port, "/_scenario", crash_scenario(RUNS))
        assert st == 200
        rc, out, err = env.cli("dead", "retry", str(a))
        assert rc == 0 and "re-queued 1" in out, (rc, out, err)
        s, t = one_each(env, 0)
        full_message(s)
        assert env.wait_job(a)[0] == "delivered"
        rc, out, _ = env.cli("dead", "purge")            # default: older than 7 days
        assert rc == 0 and "purged 0" in out, out
        rc, out, _ = env.cli("dead", "purge", "--older-than", "0s")
        assert rc == 0 and "purged 1" in out, out
        assert env.job(b) is None and env.job(a)[0] == "delivered"
        rc, out, _ = env.cli("dead", "list")
        assert rc == 0 and len([x for x in out.splitlines()[1:] if x.strip()]) == 0, out


# --- chat faults ------------------------------------------------------------

@case
def slack_429_and_teams_502_retry_only_the_failed_one():
    with Env({"delivery": {"max_attempts": "4"}}) as env:
        env.fault("^/slack/", status=429, body="rate_limited", headers={"Retry-After": "2"})
        env.fault("^/teams/", times=2, status=502, body="Bad Gateway")
        jid = env.send(0)
        state, _, _ = env.wait_job(jid)
        s, t = one_each(env)
        full_message(s)
        full_message(t)
        dl = env.deliveries(jid)
        # Slack: 429 then ok. Teams: 502, 502, ok. Passes after Slack's
        # success posted only to Teams (one Slack post above).
        assert dl["slack-main"][:2] == ("delivered", 2), dl
        assert dl["teams-main"][:2] == ("delivered", 3), dl
        t429 = env.log_times("delivery failed, will retry", "slack-main")
        assert len(t429) == 1, t429
        assert s["t"] >= t429[0] + 1.95, \
            "Slack said Retry-After: 2, re-posted after %.2fs" % (s["t"] - t429[0])
        assert env.api_calls(0, "/steps") and len(env.api_calls(0)) == 1, \
            "a retry must reuse the saved payload, not ask the API again"


@case
def slack_retry_after_http_date_waited():
    with Env() as env:
        when = time.time() + 3
        env.fault("^/slack/", status=503, body="busy",
                  headers={"Retry-After": email.utils.formatdate(when, usegmt=True)})
        jid = env.send(0)
        env.wait_job(jid)
        s, _ = one_each(env)
        assert s["t"] >= int(when) - 0.05, "posted %.2fs before the Retry-After date" % (
            int(when) - s["t"])
        assert env.deliveries(jid)["slack-main"][:2] == ("delivered", 2)


@case
def slack_reset_slow_and_500_then_delivered():
    with Env({"delivery": {"max_attempts": "4", "timeout": "5"}}) as env:
        env.fault("^/slack/", reset=True)
        env.fault("^/slack/", status=500, body="internal_error")
        env.fault("^/teams/", delay_s=1.5)            # slow but within timeout
        jid = env.send(0)
        env.wait_job(jid)
        one_each(env)
        dl = env.deliveries(jid)
        # libcurl itself repeats a request once when a reused connection
        # is reset before any answer, so the reset costs 0 or 1 attempt.
        assert dl["slack-main"][0] == "delivered" and dl["slack-main"][1] in (2, 3), dl
        assert dl["teams-main"][:2] == ("delivered", 1), dl
        assert env.pending_faults() == 0


@case
def permanent_failures_are_not_retried():
    with Env() as env:
        # times=2: a retry would use up the fault and the mock would drop it.
        env.fault("^/slack/", times=2, status=400, body="invalid_payload")
        env.fault("^/teams/", times=2, status=410, body="Gone")
        jid = env.send(0)
        state, attempts, err = env.wait_job(jid, ("dead",))
        time.sleep(3.0)  # longer than the first backoff ceiling
        assert env.pending_faults() == 2, "a permanent failure was retried"
        dl = env.deliveries(jid)
        assert dl["slack-main"][:2] == ("dead", 1) and "HTTP 400 invalid_payload" in \
            dl["slack-main"][2], dl
        assert dl["teams-main"][:2] == ("dead", 1) and "HTTP 410" in dl["teams-main"][2], dl
        assert env.job(jid)[0] == "dead"
        rc, out, _ = env.cli("dead", "list")
        assert rc == 0 and run_id(0) in out, out
        assert "slack-main: HTTP 400 invalid_payload" in out and "teams-main: HTTP 410" in out, \
            "dead list should say why: " + out
        log = open(env.svc.log, encoding="utf-8").read()
        assert log.count('msg="delivery failed permanently"') == 2, "not logged"
        st, _, m = request("GET", env.svc.port, "/metrics")
        assert st == 200 and re.search(rb"(?m)^dpc_notify_dead_letters_total 2$", m), \
            "dead letters not counted in /metrics"


@case
def max_attempts_exhausted_goes_dead():
    with Env({"delivery": {"max_attempts": "2"}}) as env:
        env.fault("^/slack/", times=3, status=500, body="internal_error")
        jid = env.send(0)
        env.wait_job(jid, ("delivered", "dead"))
        assert len(env.posts("teams")) == 1
        dl = env.deliveries(jid)
        assert dl["slack-main"][:2] == ("dead", 2), dl
        assert dl["teams-main"][:2] == ("delivered", 1), dl
        time.sleep(3.0)  # longer than the next backoff would be
        assert env.pending_faults() == 1, "more than two Slack attempts"
        state, _, err = env.job(jid)
        # Teams got it, so the job is delivered; the dead destination is
        # named in the job's last error (shown by `jobs`).
        assert state == "delivered" and "slack-main: HTTP 500" in (err or ""), env.job(jid)


# --- pacing, dedup, shutdown ------------------------------------------------

def gaps(posts):
    ts = sorted(p["t"] for p in posts)
    return [b - a for a, b in zip(ts, ts[1:])]


@case
def pacing_per_destination_defaults():
    n = 4
    with Env() as env:
        for i in range(n):
            env.send(i)
        env.wait_posts(n, n, timeout=30)
        s, t = gaps(env.posts("slack")), gaps(env.posts("teams"))
        # Defaults: 1 message/s to one Slack webhook, 4/s to one Teams.
        assert min(s) >= 0.9, "Slack posts closer than 1/s: %s" % s
        assert min(t) >= 0.22, "Teams posts closer than 4/s: %s" % t


@case
def dedup_window_expires():
    with Env({"delivery": {"dedup_window": "3s"}}) as env:
        env.send(0)
        st, _, body = env.svc.post_webhook(webhook(0))
        assert st == 200 and body["status"] == "duplicate", (st, body)
        env.wait_posts(1, 1)
        time.sleep(3.2)
        env.send(0)  # the key is older than the window: a new run
        env.wait_posts(2, 2)


@case
def sigterm_drains_and_restart_resumes():
    with Env({"server": {"workers": "1", "shutdown_grace": "10"},
              "destination slack-main": {"rate": "100"},
              "destination teams-main": {"rate": "100"}}) as env:
        env.fault("^/slack/", delay_s=2.0)
        ids = [env.send(i) for i in range(3)]
        wait_until(lambda: env.job(ids[0])[0] == "running", 5, 0.02, "job 1 running")
        time.sleep(0.3)
        proc = env.svc.proc
        proc.terminate()
        time.sleep(0.3)
        st, hd, _ = env.svc.post_webhook(webhook(5))
        assert st == 503 and hd.get("retry-after"), "intake during drain: %d" % st
        assert proc.wait(timeout=15) == 0, "exit code %s" % proc.returncode
        env.svc.proc = None
        # The running job finished within the grace; the rest wait.
        assert env.job(ids[0])[0] == "delivered", env.jobs()
        assert [env.job(j)[0] for j in ids[1:]] == ["queued", "queued"], env.jobs()
        assert len(env.posts()) == 2
        env.start_service()
        for j in ids:
            env.wait_job(j)
        time.sleep(SETTLE)
        for i in range(3):
            got = [p["target"] for p in env.posts() if run_id(i) in json.dumps(p["body"])]
            assert sorted(got) == ["slack", "teams"], "run %d: %s" % (i, got)


@case
def grace_expiry_leaves_job_for_restart():
    with Env({"server": {"workers": "1", "shutdown_grace": "1"}}) as env:
        env.fault("^/slack/", delay_s=8.0)
        jid = env.send(0)
        wait_until(lambda: env.job(jid)[0] == "running", 5, 0.02, "job running")
        time.sleep(0.3)
        proc = env.svc.proc
        t0 = time.monotonic()
        proc.terminate()
        rc = proc.wait(timeout=15)
        took = time.monotonic() - t0
        env.svc.proc = None
        assert rc == 0, "exit code %d after grace expiry; log:\n%s" % (rc, env.svc.log_tail())
        assert took < 6.0, "waited for the 8 s post, not shutdown_grace (%.1fs)" % took
        assert env.job(jid)[0] == "running"
        env.start_service()
        env.wait_job(jid)
        time.sleep(SETTLE)
        # The interrupted Slack post reached the sink after the process
        # left, so it is posted again: at-least-once, as documented.
        assert len(env.posts("teams")) == 1
        assert 1 <= len(env.posts("slack")) <= 2


if __name__ == "__main__":
    nodelay_main(__file__)
