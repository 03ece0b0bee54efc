"""Mattermost destinations end to end: the real dpc-notify against the
mock's Mattermost sink (200 "ok"; 400 for a message over the 16,383
default). A failure posts one attachment with the configured mention as
the post's text; a huge run stays within the size bound; hostile text
cannot notify anyone (every '@' has a zero-width space after it) and
forms no Markdown; a 429 with Mattermost's X-Ratelimit headers and
Retry-After is waited; a 400 goes to dead letters."""

import os
import re
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import case, strings  # noqa: E402
from test_discord import Env, run_id  # noqa: E402

del harness._cases[:]  # test_discord's own cases run from their file

MM_PATH = "/mattermost/hooks/SECRETkey123"
ZWSP = "\u200b"


def mm_inert(att):
    """No mention the server would find, no Markdown outside code."""
    for t in [att["fallback"], att["title"], att["text"]] + \
            [f["value"] for f in att.get("fields", [])]:
        assert not re.search("@(?!" + ZWSP + ")", t), "bare @ in %r" % t[:300]
    text = att["text"].split("\n\n[Open ")[0]  # our own links line ends it
    outside = re.sub(r"```\n.*?\n```", "", text, flags=re.S).replace("**", "")
    outside = re.sub(r"\\.", "", outside)
    bad = [c for c in "*_~`|<>#[]()" if c in outside]
    assert not bad, "unescaped %s in %r" % (bad, text[:300])


@case
def mattermost_failure_posts_attachment_with_mention():
    with Env("mattermost", MM_PATH, "@oncall") as env:
        env.send(0)
        (p,) = env.wait_ok()
        b = p["body"]
        assert p["status"] == 200 and b["text"] == "@oncall", p
        att = b["attachments"][0]
        assert att["color"] == "#D93F0B" and att["title_link"].endswith(run_id(0)), att
        assert "ORDERS" in att["text"] and att["fields"], att


@case
def mattermost_huge_and_hostile_runs_fit_and_stay_inert():
    with Env("mattermost", MM_PATH, "@oncall") as env:
        env.send(1)
        env.send(2)
        posts = env.wait_ok(2)
        assert all(p["status"] == 200 for p in env.posts("mattermost")), \
            [(p["status"], p["error"]) for p in env.posts("mattermost")]
        for p in posts:
            assert sum(len(s) for s in strings(p["body"])) <= 16000
            mm_inert(p["body"]["attachments"][0])
            assert p["body"]["text"] == "@oncall"


@case
def mattermost_429_waits_for_retry_after():
    with Env("mattermost", MM_PATH, "", rate="50") as env:
        env.fault("^/mattermost/", status=429, body="limit exceeded",
                  headers={"Retry-After": "4", "X-Ratelimit-Limit": "10",
                           "X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "4"})
        env.send(0)
        (p,) = env.wait_ok()
        (t429,) = env.log_times("delivery failed, will retry")
        assert p["t"] >= t429 + 3.95, "Retry-After 4 but re-posted after %.2fs" % (
            p["t"] - t429)


@case
def mattermost_400_goes_to_dead_letters():
    with Env("mattermost", MM_PATH, "") as env:
        env.fault("^/mattermost/", times=2, status=400, content_type="application/json",
                  body='{"id": "model.post.is_valid.msg.app_error", "message": '
                       '"Invalid message", "status_code": 400}')
        jid = env.send(0)
        state, attempts, err = env.wait_delivery(jid, "dead")
        assert attempts == 1 and "HTTP 400" in err, (attempts, err)
        time.sleep(2.5)
        assert env.pending_faults() == 1, "a permanent failure was retried"


@case
def mattermost_send_test():
    with Env("mattermost", MM_PATH, "@oncall") as env:
        rc, out, err = env.cli("send-test", "mattermost-main")
        assert rc == 0, (out, err)
        (p,) = env.wait_ok()
        assert "send\\-test" in p["body"]["attachments"][0]["text"], p


if __name__ == "__main__":
    harness.run_all()
