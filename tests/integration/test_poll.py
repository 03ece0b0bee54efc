"""Reconciliation by polling through the real serve path and the mock's
execution list: a run whose webhook never came is notified within two
intervals and counted as source=poll; a run seen by webhook and by poll
is posted once, whichever comes first (also a webhook without a status);
a 429 storm on the list delays but loses no run; a restart resumes from
the durable watermark (runs finished while down are notified, old ones
not again); a run still running holds the watermark until it finishes; a
webhook whose body names no run gets 202 and starts a poll (422 as before
when polling is off)."""

import os
import re
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, case, request, run_all  # noqa: E402

PROJECT = "e0000000-0000-4000-8000-0000000000a1"
INTERVAL = 2
LIST_RE = r"^/dpc/v1/pipeline-executions\?"
STEPS = [{"id": "c0000000-0000-4000-8000-000000000001", "name": "Load orders",
          "result": {"status": "FAILED", "message": "table ORDERS is locked",
                     "startedAt": "2024-05-01T02:00:00.000Z",
                     "finishedAt": "2024-05-01T02:00:01.000Z"}}]


def run_id(n):
    return "d0000000-0000-4000-8000-%012d" % n


def sections(interval=INTERVAL, overlap=600, **poll):
    keys = dict({"interval": str(interval), "overlap": str(overlap)}, **poll)
    return {"default": None, "poll": keys,
            "project " + PROJECT: {"destinations": "slack-main", "notify_on": "FAILED",
                                   "on_repeat": "full"}}


class PollEnv(Env):
    OK_ONLY = True

    def add_run(self, n, status="FAILED", started_ago=30.0, finished_ago=10.0):
        run = {"projectId": PROJECT, "id": run_id(n), "status": status,
               "pipelineName": "poll/p%d.orch.yaml" % n, "started_ago": started_ago,
               "finished_ago": finished_ago, "steps": STEPS}
        st, _, _ = request("POST", self.mock.port, "/_runs", run)
        assert st == 200, "mock refused the run: %d" % st

    def webhook(self, n, status="FAILED", **extra):
        body = dict({"projectId": PROJECT, "pipelineExecutionId": run_id(n),
                     "pipelineName": "poll/p%d.orch.yaml" % n}, **extra)
        if status is not None:
            body["status"] = status
        return self.svc.post_webhook(body)

    def list_calls(self, status=None):
        return [c for c in self.mock.calls()
                if c["path"] == "/dpc/v1/pipeline-executions"
                and (status is None or c["status"] == status)]

    def slack_for(self, n):
        rid = run_id(n)
        return [p for p in self.posts("slack") if rid in repr(p["body"])]

    def wait_run_posted(self, n, timeout):
        try:
            from harness import wait_until
            return wait_until(lambda: self.slack_for(n), timeout, 0.1,
                              "a post for run %d" % n)
        except AssertionError as e:
            raise AssertionError("%s; list calls=%s; log:\n%s" % (
                e, [(c["status"], c["raw_query"][:90]) for c in self.list_calls()][-6:],
                self.svc.log_tail(30)))

    def metric(self, line_re):
        st, _, data = self.svc.get("/metrics")
        assert st == 200
        m = re.search(line_re + r" (\d+)", data.decode())
        return int(m.group(1)) if m else None

    def wait_cycles(self, k, after_t):
        """Waits for k more list calls after time after_t (mock clock)."""
        from harness import wait_until
        wait_until(lambda: len([c for c in self.list_calls() if c["t"] > after_t]) >= k,
                   k * INTERVAL + 10, 0.1, "%d poll cycles" % k)


@case
def lost_webhook_notified_by_poll():
    with PollEnv(sections=sections()) as env:
        env.add_run(1)
        env.wait_run_posted(1, 2 * INTERVAL + 8)
        found = [ln for ln in env.log_lines() if "run found by polling" in ln]
        assert found and run_id(1) in found[0], found
        assert env.metric(r'dpc_notify_runs_total\{source="poll"\}') == 1
        assert env.metric(r'dpc_notify_runs_total\{source="webhook"\}') == 0
        assert env.metric("dpc_notify_poll_api_calls_total") >= 1
        q = env.list_calls()[0]["query"]
        assert q["projectId"] == PROJECT and q["limit"] == "100" and "startedAfter" in q, q


@case
def webhook_first_then_poll_posts_once():
    with PollEnv(sections=sections()) as env:
        env.add_run(2)
        st, _, body = env.webhook(2)
        assert st == 202, (st, body)
        env.wait_run_posted(2, 10)
        env.wait_cycles(2, time.time())
        assert len(env.slack_for(2)) == 1, len(env.slack_for(2))
        assert env.metric(r'dpc_notify_runs_total\{source="poll"\}') == 0
        assert env.metric(r'dpc_notify_runs_total\{source="webhook"\}') == 1


@case
def poll_first_then_webhook_posts_once():
    with PollEnv(sections=sections()) as env:
        env.add_run(3)
        env.add_run(4)
        env.wait_run_posted(3, 2 * INTERVAL + 8)
        env.wait_run_posted(4, 5)
        st, _, body = env.webhook(3)
        assert st == 200 and body["status"] == "duplicate", (st, body)
        # A webhook that names no status is the same run too.
        st, _, body = env.webhook(4, status=None)
        assert st == 200 and body["status"] == "duplicate", (st, body)
        time.sleep(1.5)
        assert len(env.slack_for(3)) == 1 and len(env.slack_for(4)) == 1


@case
def storm_of_429_delays_but_loses_nothing():
    # A small overlap: a cycle cut off by a 429 that moved the watermark
    # anyway would leave these runs below the next window.
    with PollEnv(sections=sections(overlap=1)) as env:
        env.wait_cycles(1, 0)
        env.fault(LIST_RE, times=8, status=429, headers={"Retry-After": "1"},
                  body='{"status":429}', content_type="application/json")
        for n in (5, 6, 7):
            env.add_run(n, started_ago=0.3 - n * 0.01, finished_ago=0.2)
        for n in (5, 6, 7):
            env.wait_run_posted(n, 60)
        assert len(env.list_calls(429)) >= 2, len(env.list_calls(429))
        assert env.pending_faults() == 0
        for n in (5, 6, 7):
            assert len(env.slack_for(n)) == 1, n
        assert env.metric(r'dpc_notify_poll_cycles_total\{result="partial"\}') >= 1


@case
def paging_lists_every_run():
    """More runs than one page holds: the cursor is followed to the end."""
    with PollEnv(sections=sections(interval=3)) as env:
        runs = [{"projectId": PROJECT, "id": run_id(1000 + i), "status": "SUCCESS",
                 "started_ago": 100 - i * 0.1, "finished_ago": 50} for i in range(230)]
        runs.append({"projectId": PROJECT, "id": run_id(8), "status": "FAILED",
                     "pipelineName": "poll/p8.orch.yaml", "started_ago": 120,
                     "finished_ago": 5, "steps": STEPS})
        st, _, _ = request("POST", env.mock.port, "/_runs", runs)
        assert st == 200
        env.wait_run_posted(8, 20)
        tokens = [c for c in env.list_calls() if "paginationToken" in c["query"]]
        assert len(tokens) >= 2, len(tokens)


@case
def restart_resumes_from_watermark():
    with PollEnv(sections=sections(overlap=1)) as env:
        env.wait_cycles(1, 0)
        env.add_run(9, started_ago=0.2, finished_ago=0.1)
        env.wait_run_posted(9, 2 * INTERVAL + 8)
        env.wait_cycles(1, time.time())
        env.svc.stop()
        # Started and finished while the service was down, longer ago
        # than the overlap when it is back: only the stored watermark
        # finds it (a fresh start would look back 1 s).
        time.sleep(2.5)
        env.add_run(10, started_ago=2, finished_ago=1.5)
        env.start_service()
        env.wait_run_posted(10, 2 * INTERVAL + 8)
        env.wait_cycles(1, time.time())
        assert len(env.slack_for(9)) == 1 and len(env.slack_for(10)) == 1


@case
def running_run_holds_watermark():
    with PollEnv(sections=sections(overlap=1)) as env:
        env.wait_cycles(1, 0)
        env.add_run(11, status="RUNNING", started_ago=0.2, finished_ago=None)
        env.wait_cycles(3, time.time())
        env.add_run(11, status="FAILED", started_ago=3 * INTERVAL + 1, finished_ago=0)
        env.wait_run_posted(11, 2 * INTERVAL + 8)


@case
def nudge_webhook_starts_a_poll():
    with PollEnv(sections=sections(interval=3600)) as env:
        env.add_run(12)
        st, _, body = env.svc.post_webhook({"event": "pipeline.done", "when": "now"})
        assert st == 202 and body["status"] == "reconciling", (st, body)
        env.wait_run_posted(12, 10)
        env.wait_log(lambda ln: "event,when" in ln, "the body's key names logged")
        env.add_run(13)
        st, _, body = env.svc.post_webhook({"projectId": PROJECT, "kind": "done"})
        assert st == 202, (st, body)
        env.wait_run_posted(13, 10)
        assert env.metric(r'dpc_notify_webhooks_total\{outcome="nudge"\}') == 2


@case
def nudge_is_422_when_polling_is_off():
    with PollEnv(sections=sections(enabled="false")) as env:
        env.add_run(14)
        st, _, body = env.svc.post_webhook({"event": "pipeline.done"})
        assert st == 422, (st, body)
        time.sleep(2 * INTERVAL + 1)
        assert env.list_calls() == [] and env.slack_for(14) == []


def still_running_posts(env, n):
    return [p for p in env.slack_for(n) if "still running" in repr(p["body"])]


@case
def long_running_told_once_then_its_outcome():
    """A run listed as RUNNING on a route with max_duration = 3s gets one
    "still running" message once it passes the limit (the listing keeps a
    running run in every window), not again in later cycles nor after a
    restart (the record is durable), and its failure is posted as usual
    when it finishes."""
    sec = sections()
    sec["project " + PROJECT]["max_duration"] = "3s"
    with PollEnv(sections=sec) as env:
        env.add_run(20, status="RUNNING", started_ago=1, finished_ago=None)
        from harness import wait_until
        wait_until(lambda: still_running_posts(env, 20), 3 * INTERVAL + 8, 0.1,
                   "a still-running post for run 20")
        text = repr(still_running_posts(env, 20)[0]["body"])
        assert "limit 3s" in text, text
        env.wait_cycles(2, time.time())
        env.svc.stop()
        env.start_service()
        env.wait_cycles(2, time.time())
        assert len(still_running_posts(env, 20)) == 1, len(still_running_posts(env, 20))
        env.add_run(20, status="FAILED", started_ago=60, finished_ago=1)
        wait_until(lambda: len(env.slack_for(20)) == 2, 2 * INTERVAL + 8, 0.1,
                   "the failure after the still-running notice")
        assert len(still_running_posts(env, 20)) == 1


@case
def long_running_needs_a_limit():
    """Without max_duration or slow_factor a listed run running for 5 min
    is not told (both are off by default), nor is one under its limit."""
    sec = sections()
    with PollEnv(sections=sec) as env:
        env.add_run(21, status="RUNNING", started_ago=300, finished_ago=None)
        env.wait_cycles(3, time.time())
        assert env.slack_for(21) == [], env.slack_for(21)
    sec["project " + PROJECT]["max_duration"] = "1h"
    with PollEnv(sections=sec) as env:
        env.add_run(22, status="RUNNING", started_ago=300, finished_ago=None)
        env.wait_cycles(3, time.time())
        assert env.slack_for(22) == [], env.slack_for(22)


if __name__ == "__main__":
    run_all()
