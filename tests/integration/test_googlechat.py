"""type = googlechat through the real serve path and the mock's space
webhook: a failure posts a card with a text fallback; every message of
one incident (first, compact repeat, recovery) lands in one thread and the
next incident in another; a huge run stays under 32,000 bytes; hostile
names stay inert; 429 is retried after the hinted delay; 400 goes to dead
letters without a retry; preview and check-config know the type. The URL
is configured as Google gives it; threading works because dpc-notify adds
messageReplyOption when it posts (the mock only threads when asked)."""

import json
import os
import re
import sqlite3
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, case, run_all, scenario, wait_jobs_done, wait_until  # noqa: E402
from incidents import PROJECT, run_id, series  # noqa: E402


# As Google gives it: dpc-notify adds messageReplyOption at post time.
QUERY = "?key=k-123&token=t-456"
MENTION = "<users/112233>"


def sections(query=QUERY, **project):
    def make(mock):
        keys = {"destinations": "gchat-main", "notify_on": "FAILED", "on_repeat": None,
                "recovery": None}
        keys.update(project)
        return {"destination slack-main": None, "destination teams-main": None,
                "destination gchat-main": {"type": "googlechat", "mention": MENTION,
                                           "url": mock + "/gchat/AAAA" + query},
                "default": keys}
    return make


def wait_chat(env, n, ok=True):
    def got():
        p = env.posts("googlechat")
        return p if len(p) >= n else None
    try:
        return wait_until(got, 20.0, 0.05, "%d googlechat posts" % n)
    except AssertionError as e:
        raise AssertionError("%s; log:\n%s" % (e, env.svc.log_tail()))


def job_state(env, jid):
    db = sqlite3.connect("file:%s?mode=ro" % env.store, uri=True, timeout=5)
    try:
        return db.execute("SELECT state FROM jobs WHERE id = ?", (jid,)).fetchone()
    finally:
        db.close()


def card_texts(body):
    out = []

    def walk(o):
        if isinstance(o, dict):
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
        elif isinstance(o, str):
            out.append(o)
    walk(body.get("cardsV2"))
    return out


@case
def incident_in_one_thread_recovery_included():
    sc, hooks = series("FFSF")
    with Env(scenario=sc, sections=sections()) as env:
        for i, h in enumerate(hooks):
            st, _, body = env.svc.post_webhook(h)
            assert st in (200, 202), (st, body)
            if i < 3:
                wait_chat(env, i + 1)
            wait_jobs_done(env, i + 1)
        posts = wait_chat(env, 4)
        time.sleep(1.0)
        posts = env.posts("googlechat")
        assert len(posts) == 4, [p["body"].get("text") for p in posts]
        assert all(p["status"] == 200 for p in posts), [p["error"] for p in posts]
        texts = [p["body"]["text"] for p in posts]
        assert texts[0].startswith(MENTION + " "), texts[0]
        assert "failed again" in texts[1] and MENTION not in texts[1], texts[1]
        assert "recovered after 2 failed runs" in texts[2], texts[2]
        keys = [p["body"]["thread"]["threadKey"] for p in posts]
        threads = [p["thread"] for p in posts]
        assert keys[0] == keys[1] == keys[2] != keys[3], keys
        assert threads[0] == threads[1] == threads[2] != threads[3], threads
        for p in posts:
            assert p["headers"].get("Content-Type", "").startswith("application/json"), p
            assert p["body"]["cardsV2"][0]["card"]["sections"], p["body"]


@case
def an_operators_own_reply_option_is_kept_and_warned_about():
    """The URL's own messageReplyOption wins over the one dpc-notify adds:
    with MESSAGE_REPLY_OPTION_UNSPECIFIED each message starts a thread,
    and check-config says why."""
    sc, hooks = series("FF")
    query = "?key=k&token=t&messageReplyOption=MESSAGE_REPLY_OPTION_UNSPECIFIED"
    with Env(scenario=sc, sections=sections(query=query)) as env:
        env.svc.post_webhook(hooks[0])
        wait_chat(env, 1)
        wait_jobs_done(env, 1)
        env.svc.post_webhook(hooks[1])
        posts = wait_chat(env, 2)
        assert posts[0]["body"]["thread"] == posts[1]["body"]["thread"], posts
        assert posts[0]["thread"] != posts[1]["thread"]
        assert all(p["query"].count("messageReplyOption") == 1 for p in posts
                   if isinstance(p.get("query"), str)), posts
        rc, out, err = env.cli("check-config")
        assert "not a Google Chat space webhook URL" in out + err, out + err


@case
def huge_run_within_limits_and_hostile_text_inert():
    for name in ("large", "hostile_big", "hostile"):
        sc = scenario(name)
        with Env(name, sections=sections()) as env:
            st, _, _ = env.svc.post_webhook(sc["webhook"])
            assert st == 202
            p = wait_chat(env, 1)[0]
            assert p["status"] == 200, "%s: %s" % (name, p["error"])
            assert p["size"] <= 32000, p["size"]
            text = p["body"]["text"]
            assert not re.search(r"[<>&*_~`]", text.replace(MENTION, "")), text
            for t in card_texts(p["body"]):
                for m in re.finditer(r"<[^>]*>?", t):
                    assert m.group(0) in ("<b>", "</b>", "<i>", "</i>", "<br>"), (name, t)
                assert not re.search(r"&(?!amp;|lt;|gt;)", t), (name, t)
            if name == "hostile":
                assert "&lt;!channel&gt; *pwn*" in json.dumps(p["body"]), p["body"]


@case
def rate_limited_429_retried_after_hint():
    sc, hooks = series("F")
    with Env(scenario=sc, sections=sections()) as env:
        env.fault("^/gchat/", status=429, headers={"Retry-After": "3"},
                  content_type="application/json",
                  body=json.dumps({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                                             "message": "Quota exceeded"}}))
        t0 = time.time()
        env.svc.post_webhook(hooks[0])
        p = wait_chat(env, 1)[0]
        assert p["status"] == 200
        assert p["t"] >= t0 + 2.9, "re-posted %.2fs after the webhook" % (p["t"] - t0)
        assert env.pending_faults() == 0


@case
def invalid_argument_400_goes_to_dead_letters():
    sc, hooks = series("F")
    with Env(scenario=sc, sections=sections()) as env:
        env.fault("^/gchat/", times=2, status=400, content_type="application/json",
                  body=json.dumps({"error": {"code": 400, "status": "INVALID_ARGUMENT",
                                             "message": "Invalid JSON payload"}}))
        st, _, body = env.svc.post_webhook(hooks[0])
        jid = body["id"]
        wait_until(lambda: (job_state(env, int(jid)) or [None])[0] == "dead", 20.0, 0.1,
                   "job dead")
        time.sleep(2.0)
        assert env.pending_faults() == 1, "a permanent failure was retried"
        rc, out, _ = env.cli("dead", "list")
        assert rc == 0 and "gchat-main: HTTP 400" in out, out


@case
def preview_formats_googlechat():
    sc, hooks = series("F")
    with Env(scenario=sc, sections=sections()) as env:
        rc, out, err = env.cli("preview", PROJECT, run_id(0), "--format", "googlechat")
        assert rc == 0, err
        body = json.loads(out)
        assert body["cardsV2"] and body["thread"]["threadKey"].startswith("dpc-notify-"), body


if __name__ == "__main__":
    run_all()
