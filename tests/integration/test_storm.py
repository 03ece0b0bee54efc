"""Storm grouping through the real serve path and the mocks: 40 pipelines
failing within ten seconds (the warehouse is down) reach each destination
as at most group_threshold messages in the first minute: the first at
once, then one grouped message naming every run, grouped by their common
error; a grouped message carries one mention at most; held runs survive
SIGKILL and are named after the restart; group_threshold = 0 turns it
off."""

import copy
import os
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, case, run_all, scenario, wait_jobs_done  # noqa: E402

FWC = scenario("failed_with_children")
ROOT = FWC["webhook"]["pipelineExecutionId"]
QUOTA = "Resource monitor DWH_MONITOR quota exceeded at %02d:%02d for warehouse WH_%d"
OTHER = "Table STAGE.ORDERS_%d does not exist or not authorized."
MENTION = "<!subteam^S1>"


def run_id(i):
    return ROOT[:-3] + "%03d" % (100 + i)


def pipeline(i):
    return "Finance/load_%02d.orch.yaml" % i


def display(i):
    return "load_%02d" % i


def storm(n, odd=()):
    """n failed runs of n pipelines, each with one failed step whose error
    is the quota error (numbers differ, so only masking groups them),
    except the runs in odd, which fail with another error."""
    sc = copy.deepcopy(FWC)
    root = next(e for e in sc["executions"] if e["id"] == ROOT)
    hooks = []
    for i in range(n):
        e = copy.deepcopy(root)
        e["id"] = run_id(i)
        ex = e["execution"]
        ex.update(pipelineExecutionId=e["id"], pipelineName=pipeline(i),
                  startedAt="2024-05-01T02:%02d:00.000Z" % (i % 60),
                  finishedAt="2024-05-01T02:%02d:30.000Z" % (i % 60))
        msg = OTHER % i if i in odd else QUOTA % (2, i % 60, i)
        e["steps"] = [{"id": "c0000000-0000-4000-8000-%012d" % i, "name": "Load table %d" % i,
                       "result": {"status": "FAILED", "message": msg,
                                  "startedAt": "2024-05-01T02:00:00.000Z",
                                  "finishedAt": "2024-05-01T02:00:30.000Z"}}]
        sc["executions"].append(e)
        hooks.append(dict(FWC["webhook"], pipelineExecutionId=e["id"], pipelineName=pipeline(i)))
    return sc, hooks


def with_dest(**keys):
    """The harness's two destinations with grouping's defaults (the
    harness turns it off) and keys added (it merges a section's keys into
    its own; None removes one)."""
    keys = dict({"group_threshold": None}, **keys)
    return {"destination slack-main": keys, "destination teams-main": keys}


def slack_text(post):
    """Everything a Slack post says, as one string."""
    return repr(post["body"])


def named(posts, n):
    """Which of the n runs some post names (by pipeline display name)."""
    return {i for i in range(n) for p in posts if display(i) in slack_text(p)}


def send_spread(env, hooks, seconds):
    """Sends hooks evenly over seconds; returns when the first was sent
    (wall clock, as the mock records posts)."""
    t0, w0 = time.monotonic(), time.time()
    for k, h in enumerate(hooks):
        due = t0 + seconds * k / len(hooks)
        time.sleep(max(0.0, due - time.monotonic()))
        st, _, body = env.svc.post_webhook(h)
        assert st == 202, "webhook %d answered %d %s" % (k, st, body)
    return w0


@case
def forty_failures_in_ten_seconds_three_messages_per_destination():
    sc, hooks = storm(40, odd=(7, 23))
    base = dict(with_dest(), default={"destinations": "slack-main, teams-main",
                                      "notify_on": "FAILED", "mentions": "* : " + MENTION})
    with Env(scenario=sc, sections=base) as env:
        t0 = send_spread(env, hooks, 9.0)
        env.wait_posts(1, 1, timeout=5)
        first = min(p["t"] for p in env.posts())
        wait_jobs_done(env, 40, timeout=60)
        elapsed = time.time() - t0
        assert elapsed < 60, "storm took %.0fs to name every run" % elapsed
        slack, teams = env.posts("slack"), env.posts("teams")
        for target, posts in (("slack", slack), ("teams", teams)):
            assert 2 <= len(posts) <= 3, "%s got %d messages: %s" % (
                target, len(posts), [slack_text(p)[:120] for p in posts])
            assert named(posts, 40) == set(range(40)), "%s does not name runs %s" % (
                target, sorted(set(range(40)) - named(posts, 40)))
        grouped = slack[-1]["body"]
        head = grouped["text"]
        assert "pipeline runs failed" in head and "with: Resource monitor" in head, head
        # 38 share the masked quota error; the two odd ones are listed apart.
        body = slack_text(slack[-1])
        assert "of %d with: Resource monitor" % (40 - len(slack) + 1) in body, body[:600]
        assert body.count("open run") >= 40 - len(slack) + 1, "every run links to its run"
        assert sum(slack_text(p).count(MENTION) for p in slack) <= len(slack), "one mention each"
        assert slack_text(slack[-1]).count(MENTION) <= 1
        tt = repr(teams[-1]["body"])
        assert tt.count("<at>%s</at>" % MENTION) <= 1
        # The grouped message is counted.
        _, _, m = env.svc.get("/metrics")
        assert b'dpc_notify_grouped_total{event="sent"} 2' in m, m[-800:]
        assert first - t0 < 2.0, "first message %.1fs after the first webhook" % (first - t0)


@case
def held_runs_survive_sigkill_and_are_named_after_restart():
    sc, hooks = storm(8)
    with Env(scenario=sc, sections=with_dest(group_window="6")) as env:
        for h in hooks:
            st, _, body = env.svc.post_webhook(h)
            assert st == 202, body
        env.wait_posts(2, 2, timeout=10)
        # Wait until the rest are held (deferred in the store), then kill.
        env.wait_log(lambda ln: ln.count("held for a grouped message") >= 1,
                     "a held message", timeout=10)
        time.sleep(1.0)
        before = len(env.posts("slack"))
        env.svc.kill9()
        assert before == 2, "only the first two went out at once: %d" % before
        env.start_service()
        wait_jobs_done(env, 8, timeout=40)
        slack = env.posts("slack")
        assert len(slack) == 3, [slack_text(p)[:100] for p in slack]
        assert named(slack, 8) == set(range(8)), named(slack, 8)


@case
def grouping_off_posts_every_run():
    sc, hooks = storm(5)
    with Env(scenario=sc, sections=with_dest(group_threshold="0")) as env:  # noqa
        for h in hooks:
            st, _, body = env.svc.post_webhook(h)
            assert st == 202, body
        s, t = env.wait_posts(5, 5, timeout=20)
        wait_jobs_done(env, 5)
        time.sleep(1.0)
        assert len(env.posts("slack")) == 5 and len(env.posts("teams")) == 5
        assert not any("pipeline runs failed" in p["body"]["text"] for p in env.posts("slack"))


@case
def destination_mute_window_holds_until_it_ends_then_one_grouped_message():
    """Teams is in its quiet hours (a window ending at the next minute or
    the one after): Slack gets each failure at once, Teams nothing until
    the window ends, then one message naming all three."""
    now = time.gmtime()
    start = now.tm_hour * 60 + now.tm_min
    end = start + (1 if now.tm_sec < 40 else 2)
    spec = "daily %02d:%02d-%02d:%02d" % (start // 60, start % 60, end // 60 % 24, end % 60)
    if end >= 24 * 60:
        spec = "daily %02d:%02d-24:00" % (start // 60, start % 60)
    sc, hooks = storm(3)
    with Env(scenario=sc, sections={"destination teams-main": {"mute_windows": spec}}) as env:
        for h in hooks:
            st, _, body = env.svc.post_webhook(h)
            assert st == 202, body
        env.wait_posts(3, 0, timeout=15)
        time.sleep(1.0)
        assert env.posts("teams") == [], "Teams posted inside its mute window"
        env.wait_posts(3, 1, timeout=150)
        wait_jobs_done(env, 3, timeout=30)
        teams = env.posts("teams")
        assert len(teams) == 1, len(teams)
        t = repr(teams[0]["body"])
        assert all(display(i) in t for i in range(3)), t[:400]
        assert "3 pipeline runs failed" in teams[0]["body"]["summary"], teams[0]["body"]["summary"]


@case
def a_few_failures_are_not_grouped():
    """Two failures within the window both go out at once."""
    sc, hooks = storm(2)
    with Env(scenario=sc, sections=with_dest()) as env:
        for h in hooks:
            st, _, body = env.svc.post_webhook(h)
            assert st == 202, body
        env.wait_posts(2, 2, timeout=10)
        wait_jobs_done(env, 2)
        assert all("pipeline runs" not in p["body"]["text"] for p in env.posts("slack"))


if __name__ == "__main__":
    run_all()
