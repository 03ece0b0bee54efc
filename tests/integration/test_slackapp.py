"""Slack app destinations (type = slack-app) end to end: the real
dpc-notify against the mock's Slack Web API (/slack-api/<method>). A
pipeline that fails twice and recovers posts one parent with buttons, two
replies in its thread and rewrites the parent as resolved; with
broadcast_recovery the recovery reply is also shown in the channel; a
SIGKILL after the parent was posted still threads the next failure under
it; a revoked token (invalid_auth) is given up at once with a clear log
line, not retried; a 429 waits for Retry-After; check-config --online
catches a channel the app cannot post to, and calls nothing without
--online."""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Env, case, run_all, wait_until  # noqa: E402
from test_run_memory import series  # noqa: E402

# Importing test_run_memory registered its cases too: only ours run here.
del harness._cases[:]

sys.path.insert(0, os.path.join(harness.REPO, "tests", "mock"))
from mock_server import SLACK_APP_TOKEN  # noqa: E402

CHANNEL = "C0ALERTS01"


def sections(mock_url, **dest):
    keys = {"type": "slack-app", "url": mock_url + "/slack-api/", "channel": CHANNEL,
            "secret": SLACK_APP_TOKEN, "allow_any_host": "true", "rate": "20"}
    keys.update(dest)
    return {"destination app": keys,
            "default": {"destinations": "app", "notify_on": "FAILED", "on_repeat": None,
                        "recovery": None, "allow_rerun": "true"}}


def calls(env, method=None):
    return [p for p in env.posts("slack-app", ok_only=False)
            if method is None or p["name"] == method]


def wait_calls(env, method, n, timeout=20.0):
    try:
        return wait_until(lambda: calls(env, method) if len(calls(env, method)) >= n else None,
                          timeout, 0.05, "%d %s calls" % (n, method))
    except AssertionError as e:
        raise AssertionError("%s; calls=%s; log:\n%s" % (
            e, [(p["name"], p["status"], p.get("error")) for p in calls(env)],
            env.svc.log_tail()))


def post_run(env, hook, want=202):
    st, _, body = env.svc.post_webhook(hook)
    assert st == want, "webhook answered %d %s" % (st, body)


def action_ids(body):
    return [e.get("action_id") for b in body.get("blocks", []) if b.get("block_id") ==
            "dpc_actions" for e in b.get("elements", [])]


@case
def fail_fail_succeed_one_parent_two_replies_one_update():
    sc, hooks = series("FFS")
    with Env(scenario=sc, sections=sections) as env:
        post_run(env, hooks[0])
        parent = wait_calls(env, "chat.postMessage", 1)[0]
        assert parent["status"] == 200 and parent["reply"]["ok"], parent
        ts = parent["reply"]["ts"]
        assert parent["headers"]["Authorization"] == "Bearer " + SLACK_APP_TOKEN
        assert parent["headers"]["Content-Type"].startswith("application/json")
        assert parent["body"]["channel"] == CHANNEL
        assert "thread_ts" not in parent["body"] and "dpc_thread" not in parent["body"]
        assert action_ids(parent["body"]) == ["dpc_ack", "dpc_mute", "dpc_rerun"], parent["body"]
        post_run(env, hooks[1])
        posts = wait_calls(env, "chat.postMessage", 2)
        assert posts[1]["body"].get("thread_ts") == ts, posts[1]["body"]
        assert action_ids(posts[1]["body"]) == [], posts[1]["body"]
        assert "failed again" in posts[1]["body"]["text"], posts[1]["body"]["text"]
        post_run(env, hooks[2], want=200)
        posts = wait_calls(env, "chat.postMessage", 3)
        rec = posts[2]["body"]
        assert rec.get("thread_ts") == ts and "reply_broadcast" not in rec, rec
        assert "recovered after 2 failed runs" in rec["text"], rec["text"]
        upd = wait_calls(env, "chat.update", 1)
        time.sleep(1.0)
        assert len(calls(env, "chat.update")) == 1 and len(calls(env, "chat.postMessage")) == 3
        u = upd[0]
        assert u["status"] == 200 and u["reply"]["ok"], u
        assert u["body"]["ts"] == ts and u["body"]["channel"] == CHANNEL, u["body"]
        first = u["body"]["blocks"][0]["text"]["text"]
        assert first.startswith("\u2705 Resolved after 2h 00m"), first
        assert action_ids(u["body"]) == [], u["body"]
        # The details stay: the parent's blocks after the first, but the
        # buttons, are all there.
        kept = [b for b in parent["body"]["blocks"][1:] if b.get("block_id") != "dpc_actions"]
        assert u["body"]["blocks"][1:] == kept
        # The update is posted before the reply it goes with.
        assert u["t"] <= posts[2]["t"], (u["t"], posts[2]["t"])
        metrics = env.svc.get("/metrics")[2].decode()
        assert 'dpc_notify_slack_updates_total{result="ok"} 1\n' in metrics, metrics
        assert 'dpc_notify_message_updates_total{destination="app",result="ok"} 1\n' \
            in metrics, metrics


@case
def broadcast_recovery_shows_the_recovery_in_the_channel():
    sc, hooks = series("FS")
    with Env(scenario=sc, sections=lambda u: sections(u, broadcast_recovery="true")) as env:
        post_run(env, hooks[0])
        ts = wait_calls(env, "chat.postMessage", 1)[0]["reply"]["ts"]
        post_run(env, hooks[1], want=200)
        rec = wait_calls(env, "chat.postMessage", 2)[1]["body"]
        assert rec.get("thread_ts") == ts and rec.get("reply_broadcast") is True, rec
        wait_calls(env, "chat.update", 1)


@case
def restart_after_the_parent_threads_the_next_failure_under_it():
    sc, hooks = series("FF")
    with Env(scenario=sc, sections=sections) as env:
        post_run(env, hooks[0])
        ts = wait_calls(env, "chat.postMessage", 1)[0]["reply"]["ts"]
        harness.wait_jobs_done(env, 1)
        env.svc.kill9()
        env.start_service()
        post_run(env, hooks[1])
        second = wait_calls(env, "chat.postMessage", 2)[1]
        assert second["body"].get("thread_ts") == ts, second["body"]
        assert second["status"] == 200 and second["reply"]["ok"], second


@case
def revoked_token_is_permanent_with_a_clear_line():
    sc, hooks = series("F")
    sc["slack_app"] = {"token": "xoxb-9999999999-8888888888-TheOnlyValidTokenHere"}
    with Env(scenario=sc, sections=sections) as env:
        post_run(env, hooks[0])
        wait_calls(env, "chat.postMessage", 1)
        env.wait_log(lambda line: "delivery failed permanently" in line and
                     "invalid_auth" in line, "a permanent invalid_auth line")
        time.sleep(2.0)
        got = calls(env)
        assert len(got) == 1, [(p["name"], p["status"]) for p in got]
        assert got[0]["reply"] == {"ok": False, "error": "invalid_auth"}, got[0]
        log = env.log().decode("utf-8", "replace")
        assert "bot token is not valid" in log, log[-2000:]
        assert SLACK_APP_TOKEN not in log and "MockBotToken" not in log
        rc, out, err = env.cli("dead", "list")
        assert rc == 0 and "invalid_auth" in out, out + err


@case
def ratelimited_waits_for_retry_after():
    sc, hooks = series("F")
    with Env(scenario=sc, sections=sections) as env:
        env.fault(r"^/slack-api/chat\.postMessage", status=429, headers={"Retry-After": "2"},
                  body='{"ok":false,"error":"ratelimited"}')
        post_run(env, hooks[0])
        got = wait_calls(env, "chat.postMessage", 2)
        assert got[0]["status"] == 429 and got[1]["status"] == 200, got
        assert got[1]["t"] - got[0]["t"] >= 1.9, got[1]["t"] - got[0]["t"]


@case
def check_config_online_catches_the_channel():
    for state, word in (("channel_not_found", "channel_not_found"),
                        ("not_in_channel", "not_in_channel"),
                        ("is_archived", "is_archived")):
        sc = {"slack_app": {"channels": {CHANNEL: state}}}
        with Env(scenario=sc, sections=sections, start=False) as env:
            rc, out, err = env.cli("check-config")
            assert rc == 0, out + err
            assert calls(env) == [], "nothing is called without --online"
            rc, out, err = env.cli("check-config", "--online")
            assert rc != 0, out + err
            assert word in out + err and "[destination app]" in out + err, out + err
            assert SLACK_APP_TOKEN not in out + err
            names = [p["name"] for p in calls(env)]
            assert names == ["auth.test", "conversations.info"], names
    with Env(scenario={}, sections=sections, start=False) as env:
        rc, out, err = env.cli("check-config", "--online")
        assert rc == 0, out + err
    with Env(scenario={"slack_app": {"token": "xoxb-1-2-another"}}, sections=sections,
             start=False) as env:
        rc, out, err = env.cli("check-config", "--online")
        assert rc != 0 and "invalid_auth" in out + err, out + err


if __name__ == "__main__":
    run_all()
