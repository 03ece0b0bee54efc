"""Who and what, through the real serve path: the per-pipeline `mentions`
list picks the mention each destination's message carries (Slack markup
for Slack, a UPN for Teams, else the destination's own), check-config
refuses a malformed list with file:line, and a scheduled run's schedule
name is looked up once per project however many runs arrive, without ever
holding up or failing the message when the lookup fails."""

import copy
import os
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, accepted, case, run_all, scenario, strings, walk  # noqa: E402

FWC = scenario("failed_with_children")
PROJECT = FWC["webhook"]["projectId"]
ROOT = FWC["webhook"]["pipelineExecutionId"]
SCHED_ID = "5d0c7e21-9f3a-4b6e-8d12-6a7b8c9d0e1f"
SETTLE = 1.5
DESTS = {"destination slack-main": {"mention": "<!channel>"},
         "destination teams-main": {"mention": "oncall@example.com"}}


def mentions_of(slack, teams):
    """The mention markup in a Slack body and the UPNs a Teams card
    mentions."""
    s = [m for m in ("<@U2>", "<!subteam^S1>", "<!here>", "<!channel>")
         if any(m in t for t in strings(slack["body"]))]
    t = [v["mentioned"]["id"] for _, v in walk(teams["body"])
         if isinstance(v, dict) and v.get("type") == "mention"]
    return s, t


def run_once(env):
    accepted(*env.svc.post_webhook(FWC["webhook"])[::2])
    s, t = env.one_each(SETTLE)
    assert s["status"] == 200 and t["status"] == 202, (s["error"], t["error"])
    return s, t


@case
def pipeline_mention_wins_per_target():
    """load_dwh fails: Slack gets the Slack pair for it, Teams skips the
    Slack pairs and takes the first UPN pair that matches."""
    pairs = ("stage_* : <!subteam^S1>, load_dwh : <@U2>, load_dwh : dwh-owner@example.com,"
             " * : <!here>")
    secs = dict(DESTS, default={"mentions": pairs})
    with Env("failed_with_children", sections=secs) as env:
        s, t = run_once(env)
        ms, mt = mentions_of(s, t)
        assert ms == ["<@U2>"], "slack mentions: %s" % ms
        assert mt == ["dwh-owner@example.com"], "teams mentions: %s" % mt
        assert "oncall@example.com" not in "".join(strings(t["body"]))


@case
def no_pair_matches_destination_mention_applies():
    secs = dict(DESTS, default={"mentions": "stage_* : <!subteam^S1>, Other/* : x@example.com"})
    with Env("failed_with_children", sections=secs) as env:
        s, t = run_once(env)
        ms, mt = mentions_of(s, t)
        assert ms == ["<!channel>"], "slack mentions: %s" % ms
        assert mt == ["oncall@example.com"], "teams mentions: %s" % mt


@case
def check_config_refuses_bad_mentions_and_shows_good_ones():
    with Env(start=False, default={"mentions": "load_dwh : <@U2>, * : ops@example.com"}) as env:
        rc, out, err = env.cli("check-config")
        assert rc == 0, out + err
        assert "mentions load_dwh : <@U2>, * : ops@example.com" in out, out
        env.rewrite(default={"mentions": "load_dwh : <@u2>,"})
        rc, out, err = env.cli("check-config")
        assert rc != 0, "a malformed mentions list was accepted:\n" + out + err
        with open(env.cfg.path, encoding="utf-8") as f:
            line = next(i for i, ln in enumerate(f.read().splitlines(), 1)
                        if ln.startswith("mentions"))
        want = "%s:%d: mentions: pair 1: \"<@u2>\" is neither Slack markup" % (env.cfg.path, line)
        assert want in out + err, out + err


def scheduled(n_runs, schedules):
    """FWC with n_runs copies of its root run (distinct ids) and the
    project's schedule list."""
    sc = copy.deepcopy(FWC)
    root = next(e for e in sc["executions"] if e["id"] == ROOT)
    for i in range(1, n_runs):
        e = copy.deepcopy(root)
        e["id"] = ROOT[:-2] + "%02d" % i
        e["execution"]["pipelineExecutionId"] = e["id"]
        sc["executions"].append(e)
    if schedules is not None:
        sc["schedules"] = {PROJECT: schedules}
    return sc


def sched_calls(env):
    return [c for c in env.mock.calls() if c["path"].endswith("/schedules")]


def post_runs(env, n):
    for i in range(n):
        hook = dict(FWC["webhook"])
        if i:
            hook["pipelineExecutionId"] = ROOT[:-2] + "%02d" % i
        accepted(*env.svc.post_webhook(hook)[::2])
    s, t = env.wait_posts(n, n)
    time.sleep(SETTLE)
    return s, t


@case
def schedule_name_looked_up_once_for_many_runs():
    lst = [{"scheduleId": "other-%d" % i, "name": "other %d" % i} for i in range(5)] + \
          [{"scheduleId": SCHED_ID, "name": "nightly_dwh", "pipelineName": "load_dwh",
            "cronExpression": "0 2 * * *", "scheduleEnabled": True}]
    with Env(scenario=scheduled(4, lst)) as env:
        s, t = post_runs(env, 4)
        assert len(s) == 4 and len(t) == 4, "posts: %d slack, %d teams" % (len(s), len(t))
        calls = sched_calls(env)
        assert len(calls) == 1, "schedule lookups: %s" % [c["query"] for c in calls]
        assert calls[0]["query"] == {"page": "0", "size": "100"}, calls[0]["query"]
        assert calls[0]["status"] == 200
        log = env.log().decode("utf-8", "replace")
        assert "schedule name unknown" not in log and "schedule lookup failed" not in log, \
            env.svc.log_tail()


@case
def schedule_lookup_failure_is_silent():
    with Env(scenario=scheduled(1, [])) as env:
        env.fault("/schedules", times=5, status=500, body="boom")
        s, t = run_once(env)
        assert len(sched_calls(env)) == 1, "the lookup was retried"
        for p in (s, t):
            text = "\n".join(strings(p["body"]))
            assert "Object 'DWH.STAGING.ORDERS_RAW' does not exist" in text, text[:800]
            assert "unavailable" not in text and "schedules" not in text, text[:800]
        lines = env.log_lines()
        failed = [ln for ln in lines if "schedule lookup failed" in ln]
        assert failed and all("level=debug" in ln for ln in failed), failed
        loud = [ln for ln in lines if "schedules" in ln and "level=debug" not in ln]
        assert not loud, loud


@case
def schedule_absent_from_list_still_delivers():
    with Env(scenario=scheduled(1, [{"scheduleId": "other", "name": "weekly"}])) as env:
        run_once(env)
        assert len(sched_calls(env)) == 1
        env.wait_log(lambda ln: "schedule name unknown" in ln and "level=debug" in ln,
                     "debug line for an unknown schedule")


if __name__ == "__main__":
    run_all()
