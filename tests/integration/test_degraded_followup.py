"""The degraded notice and its follow-up, through the real serve path: the
Matillion API of the mock is made unreachable (every connection dropped),
the notice reaches Slack and Teams with a plain-language reason and none
of the technical one, and once the API answers again the full summary
follows as a second message, also across a restart of the service. A
follow-up that runs out of max_age ends without a third message; a run the
API does not know (404) promises nothing and gets no follow-up.

Payload wording belongs to the renderers and changes; these cases look for
what must hold whatever the wording: the failed step's error text ("boom
0") in the follow-up and not in the notice, the store's follow-up row and
the /metrics counter. The follow-up remembers the run (run memory): the
degraded notice's job could not."""

import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import request, wait_until  # noqa: E402
from test_crash import crash_scenario, nodelay_main, run_id  # noqa: E402
import test_delivery  # noqa: E402
from test_delivery import RUNS, SETTLE, exec_path, text_of  # noqa: E402

# Importing test_delivery registered its cases; this file runs only its own.
del harness._cases[:]
case = harness.case

UNREACHABLE = "couldn't reach Matillion's API"
# What the technical reason of a dropped connection, and the service's
# internals, look like; none may reach a chat message.
INTERNALS = ("Couldn't connect", "Empty reply", "Connection reset", "Recv failure",
             "Failure when receiving",
             "token request", "127.0.0.1", "localhost", "HTTP 5", "access_token",
             "step details unavailable", "/dpc/", "/oauth/", harness.CLIENT_SECRET)


def _api_down(env):
    """Every call to the API and the token endpoint loses its connection."""
    env.fault("^/(dpc|oauth)/", times=100000, reset=True)


def _api_up(env):
    """Clears the faults (a new scenario replaces them)."""
    st, _, _ = request("POST", env.mock.port, "/_scenario", crash_scenario(RUNS))
    assert st == 200


class Env(test_delivery.Env):
    def followups(self, jid=None):
        """(id, state, followup_of, last_error) of follow-up jobs."""
        sql = "SELECT id, state, followup_of, last_error FROM jobs WHERE followup_of IS NOT NULL"
        if jid is None:
            return self.rows(sql + " ORDER BY id")
        return self.rows(sql + " AND followup_of = ? ORDER BY id", jid)

    def wait_followup(self, jid, states, timeout=40.0):
        def got():
            f = self.followups(jid)
            return f[0] if f and f[0][1] in states else None
        try:
            return wait_until(got, timeout, 0.1, "follow-up of job %d in %s" % (jid, states))
        except AssertionError as e:
            raise AssertionError("%s; jobs=%s; log:\n%s" % (e, self.jobs(),
                                                             self.svc.log_tail(60)))

    def metric(self, name):
        text = self.svc.get("/metrics")[2].decode()
        m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
        return int(m.group(1)) if m else None


def _sections(max_age):
    return {"delivery": {"max_attempts": "1", "max_age": str(max_age)}}


def _notice_checks(env, jid):
    """The degraded notice at both targets: plain language, no internals."""
    s, t = env.wait_posts(1, 1)
    for p in (s[0], t[0]):
        text = text_of(p)
        raw = json.dumps(p["body"])
        assert UNREACHABLE in text, "no plain-language reason: " + text[:800]
        assert "details will follow" in text, text[:800]
        for bad in INTERNALS:
            assert bad not in raw and bad not in text, "%r in the notice: %s" % (bad, text[:800])
        assert "boom 0" not in text, "the notice cannot know the step error"
        assert run_id(0) in raw, "notice is for another run"
    state, _, err = env.wait_job(jid)
    assert (err or "").startswith("token request: "), \
        "the technical reason belongs in the job's error: %r" % err
    return s[0], t[0]


def _followup_checks(env, notice_s, notice_t):
    s, t = env.wait_posts(2, 2, timeout=40.0)
    assert len(s) == 2 and len(t) == 2, "posts: %d slack, %d teams" % (len(s), len(t))
    for first, second in ((notice_s, s[1]), (notice_t, t[1])):
        text = text_of(second)
        assert "boom 0" in text, "the follow-up lacks the step error: " + text[:800]
        assert second["body"] != first["body"], "the follow-up repeats the notice"
        assert run_id(0) in json.dumps(second["body"])
        assert UNREACHABLE not in text, "the follow-up is no degraded notice: " + text[:800]


@case
def notice_then_followup_when_api_returns():
    with Env(_sections(60)) as env:
        _api_down(env)
        jid = env.send(0)
        s, t = _notice_checks(env, jid)
        fu = env.wait_followup(jid, ("queued", "running"))
        assert fu[2] == jid
        _api_up(env)
        _followup_checks(env, s, t)
        env.wait_followup(jid, ("delivered",))
        time.sleep(SETTLE)
        assert len(env.posts("slack")) == 2 and len(env.posts("teams")) == 2
        assert env.metric('dpc_notify_followups_total{result="sent"}') == 2
        assert env.metric('dpc_notify_followups_total{result="gave_up"}') == 0
        # The follow-up remembered the run, once, under its own job.
        fid = env.followups(jid)[0][0]
        assert env.rows("SELECT execution_id FROM runs") == [(run_id(0),)], \
            env.rows("SELECT execution_id, status FROM runs")
        assert env.rows("SELECT job_id FROM decisions") == [(fid,)], \
            env.rows("SELECT job_id, action FROM decisions")
        # The follow-up counts for nothing at intake: the run's webhook
        # again is still a duplicate, and no new job appears.
        st, _, _ = env.svc.post_webhook(test_delivery.webhook(0))
        assert st == 200, "resent webhook -> %d" % st
        assert len(env.jobs()) == 2, env.jobs()


@case
def followup_survives_restart():
    with Env(_sections(90)) as env:
        _api_down(env)
        jid = env.send(0)
        s, t = _notice_checks(env, jid)
        env.wait_followup(jid, ("queued", "running"))
        env.svc.kill9()
        _api_up(env)
        env.start_service()
        _followup_checks(env, s, t)
        env.wait_followup(jid, ("delivered",))


@case
def followup_gives_up_at_max_age():
    """max_age at its floor (60 s): the follow-up asks every few seconds
    and gives up at the deadline."""
    with Env(_sections(60)) as env:
        _api_down(env)
        jid = env.send(0)
        _notice_checks(env, jid)
        fu = env.wait_followup(jid, ("ignored",), timeout=90.0)
        assert "follow-up gave up" in (fu[3] or ""), fu
        time.sleep(SETTLE)
        assert len(env.posts("slack")) == 1 and len(env.posts("teams")) == 1, \
            "a follow-up that gives up posts nothing"
        assert env.metric('dpc_notify_followups_total{result="gave_up"}') == 1
        assert env.metric('dpc_notify_followups_total{result="sent"}') == 0
        assert env.svc.log_tail(200).count("follow-up gave up") >= 1
        rc, out, err = env.cli("jobs")
        assert rc == 0 and "[follow-up of %d] follow-up gave up: token request: " % jid in out, out


@case
def unknown_run_gets_no_followup():
    with Env(_sections(60)) as env:
        env.fault(exec_path(0), times=100, status=404, body="{}",
                  content_type="application/problem+json")
        jid = env.send(0)
        s, t = env.one_each(SETTLE)
        for p in (s, t):
            text = text_of(p)
            assert "does not know this run" in text, text[:800]
            assert "details will follow" not in text, text[:800]
            assert "not found" not in text and "region" not in text, text[:800]
        env.wait_job(jid)
        assert env.followups() == [], env.followups()


@case
def no_followup_without_degraded_notice():
    with Env({"delivery": {"max_attempts": "1", "max_age": "60",
                           "degraded_notice": "false"}}) as env:
        _api_down(env)
        jid = env.send(0)
        env.wait_job(jid, ("dead",))
        time.sleep(SETTLE)
        assert env.posts(ok_only=False) == []
        assert env.followups() == [], env.followups()


if __name__ == "__main__":
    nodelay_main(__file__)
