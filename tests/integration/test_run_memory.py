"""Run memory through the real serve path and the mocks: a pipeline that
fails three times and then succeeds posts one full message, two compact
"failed again" lines and one recovery (no mention after the first); a
success the routes do not notify is stored and answered 200 "ignored";
memory survives SIGKILL between runs; silent repeats are held back and
counted in the recovery; notify_after holds the first failures; a late
webhook for an older run neither opens nor closes the incident; the CLI
lists the open incident and the pipeline's history."""

import copy
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, case, run_all, scenario, strings, wait_jobs_done  # noqa: E402

FWC = scenario("failed_with_children")
PROJECT = FWC["webhook"]["projectId"]
ROOT = FWC["webhook"]["pipelineExecutionId"]
MENTION = "<!subteam^S1>"
OK_STEPS = [{"id": "b0000000-0000-4000-8000-000000000001", "name": "Start",
             "result": {"status": "SUCCESS", "startedAt": "2024-05-01T02:00:00.000Z",
                        "finishedAt": "2024-05-01T02:00:01.000Z"}}]


def run_id(i):
    return ROOT[:-2] + "%02d" % (10 + i)


def series(kinds, hour0=2):
    """FWC plus one run of its root pipeline per letter of kinds (F failed,
    S succeeded), an hour apart; returns the scenario and the webhooks."""
    sc = copy.deepcopy(FWC)
    root = next(e for e in sc["executions"] if e["id"] == ROOT)
    hooks = []
    for i, k in enumerate(kinds):
        e = copy.deepcopy(root)
        e["id"] = run_id(i)
        ex = e["execution"]
        ex["pipelineExecutionId"] = e["id"]
        ex["startedAt"] = "2024-05-01T%02d:00:00.000Z" % (hour0 + i)
        ex["finishedAt"] = "2024-05-01T%02d:14:07.000Z" % (hour0 + i)
        if k == "S":
            ex["status"] = "SUCCESS"
            ex["message"] = ""
            e["steps"] = copy.deepcopy(OK_STEPS)
        sc["executions"].append(e)
        hooks.append(dict(FWC["webhook"], pipelineExecutionId=e["id"], status=ex["status"]))
    return sc, hooks


def sections(**project):
    keys = {"destinations": "slack-main, teams-main", "notify_on": "FAILED",
            "mentions": "* : " + MENTION, "on_repeat": None, "recovery": None}
    keys.update(project)
    return {"default": keys}


def headline(post):
    return post["body"]["text"]


def post_and_wait(env, hook, n_slack, what, want_status=202):
    st, _, body = env.svc.post_webhook(hook)
    assert st == want_status, "%s: webhook answered %d %s" % (what, st, body)
    if n_slack:
        env.wait_posts(n_slack, n_slack)
    return body


def settle(env, seconds=1.5):
    time.sleep(seconds)
    return env.posts("slack"), env.posts("teams")


@case
def fail_fail_fail_succeed_full_compact_compact_recovery():
    sc, hooks = series("FFFS")
    with Env(scenario=sc, sections=sections()) as env:
        post_and_wait(env, hooks[0], 1, "1st failure")
        assert "dpc_notify_open_incidents 1\n" in env.svc.get("/metrics")[2].decode()
        post_and_wait(env, hooks[1], 2, "2nd failure")
        post_and_wait(env, hooks[2], 3, "3rd failure")
        reply = post_and_wait(env, hooks[3], 4, "success", want_status=200)
        assert reply.get("status") == "ignored" and reply.get("recorded") is True, reply
        s, t = settle(env)
        assert len(s) == 4 and len(t) == 4, "posts: %d slack, %d teams" % (len(s), len(t))
        h = [headline(p) for p in s]
        assert "failed at" in h[0], h[0]
        assert "failed again" in h[1] and "2nd in a row" in h[1], h[1]
        assert "failed again" in h[2] and "3rd in a row" in h[2], h[2]
        assert "recovered after 3 failed runs" in h[3], h[3]
        assert h[3].startswith("\u2705"), h[3]
        # Only the first message pings; compact lines and the recovery never.
        pinged = [any(MENTION in x for x in strings(p["body"]["blocks"])) for p in s]
        assert pinged == [True, False, False, False], pinged
        assert "failed again" in t[1]["body"]["summary"], t[1]["body"]["summary"]
        assert "recovered" in t[3]["body"]["summary"], t[3]["body"]["summary"]
        # The recovery links the successful run.
        assert any(run_id(3) in x for x in strings(s[3]["body"]["blocks"])), s[3]["body"]
        metrics = env.svc.get("/metrics")[2].decode()
        assert "dpc_notify_open_incidents 0\n" in metrics, metrics
        assert 'dpc_notify_run_memory_total{outcome="compact"} 2\n' in metrics, metrics
        assert 'dpc_notify_run_memory_total{outcome="recovery"} 1\n' in metrics, metrics
        # The CLI: no open incident now, and the history has the four runs.
        rc, out, err = env.cli("incidents", "--open", "--json")
        assert rc == 0 and json.loads(out) == [], out + err
        rc, out, err = env.cli("history", PROJECT, "Finance/load_dwh", "--json")
        assert rc == 0, out + err
        runs = json.loads(out)
        assert [r["execution_id"] for r in runs][:4] == [run_id(i) for i in (3, 2, 1, 0)], runs


@case
def preview_shows_what_would_be_sent_now():
    """After one failure, `preview` of the next failed run shows the
    compact line the service would post, and remembers nothing; with the
    store unreadable it previews without memory and says so."""
    sc, hooks = series("FF")
    with Env(scenario=sc, sections=sections()) as env:
        post_and_wait(env, hooks[0], 1, "1st failure")
        settle(env, 0.5)
        for _ in range(2):
            rc, out, err = env.cli("preview", PROJECT, run_id(1), "--format", "slack")
            assert rc == 0, err
            body = json.loads(out)
            assert "failed again" in body["text"] and "2nd in a row" in body["text"], body["text"]
        post_and_wait(env, hooks[1], 2, "2nd failure")
        s, _ = settle(env)
        assert "2nd in a row" in headline(s[1]), headline(s[1])


@case
def memory_survives_sigkill_between_runs():
    sc, hooks = series("FF")
    with Env(scenario=sc, sections=sections()) as env:
        post_and_wait(env, hooks[0], 1, "1st failure")
        settle(env, 0.5)
        env.svc.kill9()
        env.start_service()
        post_and_wait(env, hooks[1], 2, "2nd failure")
        s, _ = settle(env)
        assert "2nd in a row" in headline(s[1]), headline(s[1])
        rc, out, err = env.cli("incidents", "--json")
        assert rc == 0, out + err
        inc = json.loads(out)
        assert len(inc) == 1 and inc[0]["failures"] == 2, inc


@case
def silent_repeats_are_held_and_counted():
    sc, hooks = series("FFFS")
    with Env(scenario=sc, sections=sections(on_repeat="silent")) as env:
        post_and_wait(env, hooks[0], 1, "1st failure")
        post_and_wait(env, hooks[1], 0, "2nd failure")
        wait_jobs_done(env, 2)
        post_and_wait(env, hooks[2], 0, "3rd failure")
        wait_jobs_done(env, 3)
        post_and_wait(env, hooks[3], 2, "success", want_status=200)
        s, t = settle(env)
        assert len(s) == 2 and len(t) == 2, "posts: %d slack, %d teams" % (len(s), len(t))
        assert "recovered after 3 failed runs" in headline(s[1]), headline(s[1])
        assert any("2 failures held back" in x for x in strings(s[1]["body"]["blocks"])), \
            s[1]["body"]
        metrics = env.svc.get("/metrics")[2].decode()
        assert 'dpc_notify_run_memory_total{outcome="held_repeat"} 2' in metrics, metrics


@case
def notify_after_holds_the_first_failures():
    sc, hooks = series("FFF")
    with Env(scenario=sc, sections=sections(notify_after="3")) as env:
        post_and_wait(env, hooks[0], 0, "1st failure")
        wait_jobs_done(env, 1)
        post_and_wait(env, hooks[1], 0, "2nd failure")
        wait_jobs_done(env, 2)
        s, _ = settle(env)
        assert s == [], "posted before notify_after: %s" % [headline(p) for p in s]
        post_and_wait(env, hooks[2], 1, "3rd failure")
        s, _ = settle(env)
        assert len(s) == 1 and "failed at" in headline(s[0]), [headline(p) for p in s]
        texts = strings(s[0]["body"]["blocks"])
        assert any("3rd failure in a row" in x for x in texts), texts
        assert any("2 failures held back" in x for x in texts), texts


@case
def late_success_does_not_close_the_incident():
    """Runs 0 (S, 02:14) .. 2 (F, 04:14): the failure opens an incident;
    then the success of 02:14 arrives late and closes nothing."""
    sc, hooks = series("SFF")
    with Env(scenario=sc, sections=sections()) as env:
        post_and_wait(env, hooks[1], 1, "failure at 03:14")
        post_and_wait(env, hooks[0], 0, "late success at 02:14", want_status=200)
        wait_jobs_done(env, 2)
        s, _ = settle(env)
        assert len(s) == 1, "a late success posted: %s" % [headline(p) for p in s]
        post_and_wait(env, hooks[2], 2, "failure at 04:14")
        s, _ = settle(env)
        assert "failed again" in headline(s[1]) and "2nd in a row" in headline(s[1]), \
            headline(s[1])


@case
def slow_success_is_posted_with_slow_in_notify_on():
    """Five successes of 14 minutes are only remembered; a sixth that
    takes 2h 14m is posted, its first line saying it was slow."""
    sc, hooks = series("SSSSSS", hour0=1)
    last = next(e for e in sc["executions"] if e["id"] == run_id(5))["execution"]
    last["finishedAt"] = "2024-05-01T08:14:07.000Z"
    with Env(scenario=sc, sections=sections(notify_on="FAILED, SLOW")) as env:
        for i in range(5):
            post_and_wait(env, hooks[i], 0, "success %d" % i, want_status=200)
            wait_jobs_done(env, i + 1)
        s, _ = settle(env, 0.5)
        assert s == [], "a usual success was posted: %s" % [headline(p) for p in s]
        post_and_wait(env, hooks[5], 1, "slow success", want_status=200)
        s, t = settle(env)
        assert len(s) == 1, [headline(p) for p in s]
        h = headline(s[0])
        assert h.startswith("\u2705") and "succeeded" in h and "(slow: usually 14m)" in h, h
        assert "slow" in t[0]["body"]["summary"], t[0]["body"]["summary"]


@case
def absurd_finish_time_falls_back_to_arrival():
    """A failure that claims to finish in 9999 would make every later run
    look older ("late") and keep its incident open for ever; its arrival
    time stands in, so the next success still recovers it."""
    sc, hooks = series("FS")
    soon = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 120))
    ex = [e["execution"] for e in sc["executions"] if e["id"] in (run_id(0), run_id(1))]
    ex[0]["finishedAt"] = "9999-12-31T23:59:59.000Z"
    ex[1]["startedAt"] = ex[1]["finishedAt"] = soon
    with Env(scenario=sc, sections=sections()) as env:
        post_and_wait(env, hooks[0], 1, "failure finishing in 9999")
        post_and_wait(env, hooks[1], 2, "success", want_status=200)
        s, _ = settle(env)
        assert "recovered after 1 failed run" in headline(s[1]), headline(s[1])
        assert env.wait_log(lambda ln: "finish time is absurd" in ln, "absurd time logged")


if __name__ == "__main__":
    run_all()
