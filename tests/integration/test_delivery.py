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
    assert "Matillion's API" not in text, "degraded: " + text[:600]


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
            assert "dpc-notify couldn't reach Matillion's API; details will follow" in text, \
                text[:800]
            assert "HTTP 500" not in text, "internals: " + text[:800]
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
            assert "Matillion's API refused dpc-notify's credentials; details will follow" \
                " once access is fixed" in text, text[:800]
            assert "HTTP 401" not in text and "client_secret" not in text, text[:800]
        # Bad credentials are permanent: no second attempt, but a follow-up
        # that asks again later; the technical reason is the job's error.
        state, attempts, err = env.wait_job(jid)
        assert (state, attempts) == ("delivered", 1)
        assert "token request rejected (HTTP 401)" in err, err
        assert not env.api_calls(0)
        assert env.rows("SELECT state FROM jobs WHERE followup_of = ?", jid) == [("queued",)]


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


# --- hostile Retry-After (issue 10) -----------------------------------------

def now_ms():
    return int(time.time() * 1000)


def paused_metric(env, dest):
    st, _, body = request("GET", env.svc.port, "/metrics")
    assert st == 200
    m = re.search(r'^dpc_notify_destination_paused_seconds\{destination="%s"\} (\d+)$' % dest,
                  body.decode(), re.M)
    return int(m.group(1)) if m else None


@case
def chat_429_huge_retry_after_holds_no_worker():
    """Slack answers 429 with Retry-After: 999999999 (year 2058). Teams
    deliveries of that run and of every later run still go out at once;
    Slack's are rescheduled within the 300 s ceiling (attempts not counted
    for runs never posted), and the pause shows in /metrics and /readyz."""
    with Env({"delivery": {"max_attempts": "4"}}) as env:
        env.fault("^/slack/", status=429, body="rate_limited",
                  headers={"Retry-After": "999999999"})
        jids = [env.send(0)]
        wait_until(lambda: env.log_times("delivery failed, will retry", "slack-main"), 10,
                   0.05, "the Slack 429")
        t0 = now_ms()
        jids += [env.send(i) for i in range(1, 5)]
        wait_until(lambda: len(env.posts("teams")) >= 5, 15, 0.1,
                   "Teams posts of 5 runs while Slack is paused (got %d)" % len(env.posts("teams")))
        assert env.posts("slack") == [], "Slack was posted to during its pause"
        for k, jid in enumerate(jids):
            d = wait_until(lambda: (env.deliveries(jid).get("slack-main", (None,))[0] == "pending"
                                    and env.deliveries(jid)), 10, 0.05, "slack pending")
            state, attempts, _ = d["slack-main"]
            nb = env.rows("SELECT not_before_ms FROM deliveries WHERE job_id = ? AND dest = ?",
                          jid, "slack-main")[0][0]
            assert t0 - 5000 + 250 * 1000 <= nb <= now_ms() + 301 * 1000, \
                "run %d: Slack rescheduled %.0fs ahead, outside the 300 s ceiling" % (
                    k, (nb - now_ms()) / 1000)
            assert attempts == (1 if k == 0 else 0), "run %d: attempts %d" % (k, attempts)
            assert env.deliveries(jid)["teams-main"][0] == "delivered"
        left = paused_metric(env, "slack-main")
        assert left is not None and 250 <= left <= 300, "paused gauge %s" % left
        assert paused_metric(env, "teams-main") == 0
        st, _, body = request("GET", env.svc.port, "/readyz")
        ready = json.loads(body)
        assert st == 200 and ready["status"] == "ready", (st, body)
        assert 250 <= ready["paused"]["slack-main"] <= 300, ready
        assert "teams-main" not in ready["paused"], ready
        assert env.svc.alive()


@case
def chat_retry_after_ceiling_is_configurable_and_deferred_posts_follow():
    """With retry_after_max = 2s the same far-future Retry-After pauses
    Slack for 2 s; then every run's Slack message goes out exactly once."""
    with Env({"server": {"workers": "1"},
              "delivery": {"max_attempts": "4", "retry_after_max": "2s"}}) as env:
        env.fault("^/slack/", status=429, body="rate_limited",
                  headers={"Retry-After": "999999999999999999"})
        jids = [env.send(i) for i in range(3)]
        for jid in jids:
            env.wait_job(jid, timeout=20)
        time.sleep(SETTLE)
        slack = env.posts("slack")
        runs = sorted(i for p in slack for i in range(3) if run_id(i) in json.dumps(p["body"]))
        assert runs == [0, 1, 2], "each run once on Slack, got runs %s" % runs
        t429 = env.log_times("delivery failed, will retry", "slack-main")
        assert len(t429) == 1 and min(p["t"] for p in slack) >= t429[0] + 1.9, \
            "posted before the 2 s ceiling ended"
        attempts = sorted(env.deliveries(j)["slack-main"][1] for j in jids)
        assert attempts == [1, 1, 2], "a deferral must not count as an attempt: %s" % attempts


@case
def api_huge_retry_after_clamped_and_degraded_notice_on_time():
    """The API answers 429 with Retry-After 999999999999999999 (which
    overflowed a signed multiply) and 503 with an HTTP date in year 9999:
    the job is retried within retry_after_max, never scheduled into the
    far future, and the degraded notice goes out once attempts run out."""
    with Env({"delivery": {"max_attempts": "2", "retry_after_max": "2s"}}) as env:
        env.fault(exec_path(0), status=429, body="{}", content_type="application/problem+json",
                  headers={"Retry-After": "999999999999999999"})
        env.fault(exec_path(0), status=503, body="{}", content_type="application/problem+json",
                  headers={"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"})
        t0 = time.time()
        jid = env.send(0)
        s, t = one_each(env)
        text = text_of(s)
        assert "couldn't reach Matillion's API" in text, text[:400]
        assert s["t"] - t0 < 15, "degraded notice %.1fs late" % (s["t"] - t0)
        calls = env.api_calls(0)
        assert [c[0] for c in calls] == [429, 503], calls
        assert calls[1][1] - calls[0][1] >= 1.9, "retried before the 2 s ceiling"
        assert env.svc.alive()
        assert env.job(jid)[0] == "delivered"


@case
def api_far_future_retry_after_never_past_max_age():
    """With the default ceiling (5 min) the job's next attempt lands within
    300 s, and with a max_age shorter than that, at the deadline."""
    with Env({"delivery": {"max_attempts": "4", "max_age": "120"}}) as env:
        env.fault(exec_path(0), times=10, status=429, body="{}",
                  content_type="application/problem+json",
                  headers={"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"})
        jid = env.send(0)
        received = env.rows("SELECT received_ms FROM jobs WHERE id = ?", jid)[0][0]
        sql = "SELECT not_before_ms FROM jobs WHERE id = ? AND state = 'queued' AND attempts = 1"
        nb = wait_until(lambda: env.rows(sql, jid), 10, 0.05, "job re-queued")[0][0]
        assert nb == received + 120 * 1000, "not_before %+.0fs from the 120 s deadline" % (
            (nb - received) / 1000 - 120)
        assert env.svc.alive()


if __name__ == "__main__":
    nodelay_main(__file__)
