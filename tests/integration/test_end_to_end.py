"""End to end: webhook in, Matillion API (mock) consulted, one Slack and one
Teams message out, with the content a person needs. Runs the real
$BUILD/dpc-notify against tests/mock/mock_server.py."""

import json
import os
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (ARROW, UI_BASE, Env, accepted, block_texts, case, run_all,  # noqa: E402
                     scenario, strings, walk)

FWC = scenario("failed_with_children")
EXPECT = FWC["expect"]
ROOT = FWC["webhook"]["pipelineExecutionId"]
PROJECT = FWC["webhook"]["projectId"]
LINK = UI_BASE + "/observability-dashboard/pipeline/" + ROOT
CHILD_LINK = UI_BASE + "/observability-dashboard/pipeline/" + EXPECT["child_failed"]
ADAPTIVE = "application/vnd.microsoft.card.adaptive"
SETTLE = 1.5  # seconds to wait for posts that must NOT arrive


def one_each(env):
    """Waits for the run's messages and checks that exactly one Slack and one
    Teams post arrived, both accepted by the mock."""
    s, t = env.one_each(SETTLE)
    assert s["status"] == 200, "slack rejected the body: %s" % s["error"]
    assert t["status"] == 202, "teams rejected the body: %s" % t["error"]
    return s, t


def urls(obj):
    return [v for k, v in walk(obj) if k == "url" and isinstance(v, str)]


def check_slack(post):
    body = post["body"]
    assert post["headers"].get("Content-Type", "").startswith("application/json")
    assert isinstance(body.get("text"), str) and body["text"], "fallback text missing"
    blocks = body.get("blocks")
    assert isinstance(blocks, list) and 1 <= len(blocks) <= 50, "blocks: %r" % blocks
    headers = [b for b in blocks if b.get("type") == "header"]
    assert headers, "no header block"
    htext = headers[0]["text"]["text"]
    # The triage line: the run, that it failed, where; the notification
    # text also carries the database's error.
    assert htext.startswith("\u274c "), htext
    assert EXPECT["display_name"] + " failed at " + EXPECT["failed_path"] + ": " in htext, htext
    assert EXPECT["error"] in body["text"], "error not in the notification text: " + body["text"]
    assert ".orch.yaml" not in htext, "header should show the display name: " + htext
    texts = [t for b in blocks for t in block_texts(b)]
    assert any(EXPECT["failed_path"] in t for t in texts), \
        "no block names %r: %s" % (EXPECT["failed_path"], texts)
    assert any(EXPECT["error"] in t for t in texts), "SQL error text missing: %s" % texts
    link_ok = LINK in urls(blocks) or any("<%s|" % LINK in t or "<%s>" % LINK in t
                                         for t in texts)
    assert link_ok, "no button/link to %s: %s" % (LINK, urls(blocks))
    # The first button opens the failing child's own run.
    assert urls(blocks)[0] == CHILD_LINK, "first button: %s" % urls(blocks)
    for b in blocks:  # untrusted text must not be auto-linked or parsed
        for k, v in walk(b):
            if isinstance(v, dict) and v.get("type") == "mrkdwn":
                assert v.get("verbatim") is True, "mrkdwn without verbatim: %r" % v


def check_teams(post):
    body = post["body"]
    assert body["type"] == "message", body
    att = body["attachments"]
    assert len(att) == 1 and att[0]["contentType"] == ADAPTIVE, att
    card = att[0]["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5", card.get("version")
    opens = [v for k, v in walk(card) if isinstance(v, dict) and v.get("type") == "Action.OpenUrl"]
    assert any(a.get("url") == LINK for a in opens), "no Action.OpenUrl to %s: %s" % (LINK, opens)
    assert opens[0].get("url") == CHILD_LINK, "first action: %s" % opens
    assert EXPECT["error"] in body.get("summary", ""), "summary: %r" % body.get("summary")
    bad = [v for k, v in walk(card) if isinstance(v, dict) and v.get("type") == "Action.Submit"]
    assert not bad, "webhook cards cannot use Action.Submit"
    text = "\n".join(strings(card))
    assert EXPECT["display_name"] in text and EXPECT["error"] in text, text[:2000]
    assert EXPECT["failed_step"] in text, "failed step missing"
    assert post["size"] < 28000


@case
def failed_run_posts_slack_and_teams():
    with Env("failed_with_children") as env:
        st, hd, body = env.svc.post_webhook(FWC["webhook"])
        accepted(st, body)
        assert hd.get("content-type", "").startswith("application/json"), hd
        s, t = one_each(env)
        check_slack(s)
        check_teams(t)


@case
def duplicate_webhook_posts_once():
    with Env("failed_with_children") as env:
        accepted(*env.svc.post_webhook(FWC["webhook"])[::2])
        st, _, body = env.svc.post_webhook(FWC["webhook"])
        assert (st, body.get("status") if body else None) == (200, "duplicate"), (st, body)
        env.wait_posts(1, 1)
        st, _, body = env.svc.post_webhook(dict(FWC["webhook"], status="Failure"))
        assert st == 200 and body["status"] == "duplicate", (st, body)
        one_each(env)


@case
def success_is_ignored():
    sc = scenario("success")
    with Env("success") as env:
        st, _, body = env.svc.post_webhook(sc["webhook"])
        assert st == 200 and body == {"status": "ignored"} or \
            (st == 200 and body.get("status") == "ignored"), (st, body)
        time.sleep(SETTLE)
        assert env.posts() == [], env.posts()


@case
def status_failure_is_normalised():
    with Env("failed_with_children") as env:
        accepted(*env.svc.post_webhook(dict(FWC["webhook"], status="Failure"))[::2])
        s, _ = one_each(env)
        header = [b for b in s["body"]["blocks"] if b["type"] == "header"][0]
        assert header["text"]["text"].startswith("\u274c "), header
        assert EXPECT["display_name"] + " failed at " in header["text"]["text"], header


@case
def cancelled_run_with_notify_on():
    sc = scenario("cancelled")
    with Env("cancelled", sections={"default": {"notify_on": "FAILED,CANCELLED"}}) as env:
        accepted(*env.svc.post_webhook(sc["webhook"])[::2])  # status "Cancelled"
        s, t = one_each(env)
        # Cancelled has its own look: the stop emoji and "was cancelled".
        assert s["body"]["text"].startswith("\u23f9 "), s["body"]["text"]
        assert " was cancelled" in s["body"]["text"], s["body"]["text"]
        assert "Long extract" in "\n".join(strings(t["body"]))


@case
def nested_body_shapes():
    # Polling off: with it on, a body naming no run is a nudge (test_poll.py).
    with Env("failed_with_children", poll={"enabled": "false"}) as env:
        wh = FWC["webhook"]
        accepted(*env.svc.post_webhook({"event": "pipeline.finished", "data": wh})[::2])
        st, _, body = env.svc.post_webhook({"payload": wh})
        assert st == 200 and body["status"] == "duplicate", \
            "payload-nested body not decoded to the same run: %d %s" % (st, body)
        st, hd, body = env.svc.post_webhook({"deep": {"deeper": wh}})
        assert st == 422 and hd["content-type"].startswith("application/problem+json"), (st, hd)
        one_each(env)


@case
def project_id_from_query():
    with Env("failed_with_children") as env:
        wh = {k: v for k, v in FWC["webhook"].items() if k != "projectId"}
        accepted(*env.svc.post_webhook(wh, query={"projectId": PROJECT})[::2])
        s, _ = one_each(env)
        check_slack(s)


@case
def unauthenticated_is_401():
    with Env("failed_with_children") as env:
        for tok in (None, "wrong-token", ""):
            st, hd, body = env.svc.post_webhook(FWC["webhook"], token=tok)
            assert st == 401, "token %r -> %d" % (tok, st)
            assert hd["content-type"].startswith("application/problem+json"), hd
            assert body and body.get("status") == 401, body
            assert env.svc.cfg.auth_token not in json.dumps(body)
        time.sleep(0.5)
        assert env.posts() == [] and env.mock.calls() == []


@case
def http_errors_are_problem_json():
    # Polling off: with it on, a body naming no run is a nudge (test_poll.py).
    with Env("failed_with_children", poll={"enabled": "false"}) as env:
        svc = env.svc
        checks = [
            ("GET on /webhook", svc.post_webhook(FWC["webhook"], method="GET"), 405),
            ("text/plain", svc.post_webhook(raw=json.dumps(FWC["webhook"]),
                                            headers={"Content-Type": "text/plain"}), 415),
            ("bad JSON", svc.post_webhook(raw="{not json",
                                          headers={"Content-Type": "application/json"}), 400),
            ("no execution id", svc.post_webhook({"projectId": PROJECT, "status": "FAILED"}),
             422),
            ("too large", svc.post_webhook(raw=b'{"pad":"' + b"x" * 70000 + b'"}',
                                           headers={"Content-Type": "application/json"}), 413),
        ]
        for what, (st, hd, body), want in checks:
            assert st == want, "%s: %d, want %d" % (what, st, want)
            assert hd.get("content-type", "").startswith("application/problem+json"), (what, hd)
        for path in ("/healthz", "/readyz"):
            assert svc.get(path)[0] == 200, path
        st, hd, data = svc.get("/metrics")
        assert st == 200 and hd.get("content-type", "").startswith("text/plain"), (st, hd)
        assert b"# TYPE" in data, data[:200]
        assert env.posts() == []


@case
def api_calls_use_bearer_and_size_100():
    with Env("failed_with_children") as env:
        accepted(*env.svc.post_webhook(FWC["webhook"])[::2])
        one_each(env)
        calls = env.mock.calls()
        tok = [c for c in calls if c["path"] == "/oauth/dpc/token"]
        assert tok and all(c["status"] == 200 for c in tok), tok
        assert len(tok) == 1, "token should be cached, fetched %d times" % len(tok)
        api = [c for c in calls if c["path"].startswith("/dpc/")]
        assert api and all(c["authorization"].startswith("Bearer mock-token-") for c in api), api
        assert all(c["status"] == 200 for c in api), [(c["path"], c["status"]) for c in api]
        steps = [c for c in api if c["path"].endswith("/steps")]
        assert steps and all(c["query"].get("size") == "100" for c in steps), steps
        root = "/dpc/v1/projects/%s/pipeline-executions/%s" % (PROJECT, ROOT)
        pages = sorted(c["query"].get("page") for c in steps if c["path"] == root + "/steps")
        assert pages == ["0", "1"], "root pages fetched: %s" % pages
        child = "/dpc/v1/projects/%s/pipeline-executions/%s/steps" % (PROJECT,
                                                                      EXPECT["child_failed"])
        assert any(c["path"] == child for c in steps), "failed child's steps not fetched"
        ok_child = "/pipeline-executions/%s/steps" % EXPECT["child_ok"]
        assert not any(c["path"].endswith(ok_child) for c in steps), \
            "the successful child's steps need not be fetched"


@case
def transient_api_errors_are_retried():
    with Env("failed_with_children") as env:
        env.mock.add_fault({"method": "GET", "path_regex": "/steps", "times": 1,
                            "action": {"status": 503, "body": "{}",
                                       "headers": {"Retry-After": "1"}}})
        accepted(*env.svc.post_webhook(FWC["webhook"])[::2])
        env.wait_posts(1, 1, timeout=60)
        s, t = one_each(env)
        steps = [c for c in env.mock.calls() if c["path"].endswith("/steps")]
        assert steps[0]["status"] == 503, steps[0]
        if any(c["status"] == 200 for c in steps):  # retried, not degraded
            check_slack(s)
        else:
            assert "Matillion's API" in json.dumps(s["body"]), "neither retried nor degraded"


@case
def hostile_text_is_neutralised():
    sc = scenario("hostile")
    with Env("hostile") as env:
        accepted(*env.svc.post_webhook(sc["webhook"])[::2])
        s, t = one_each(env)
        texts = [v for k, v in walk(s["body"]) if k == "text" and isinstance(v, str)]
        for bad in sc["forbidden_slack"]:
            hits = [x for x in texts if bad in x]
            assert not hits, "Slack text contains %r: %s" % (bad, hits[:3])
        for bad in sc["forbidden_teams"]:
            hits = [x for x in strings(t["body"]) if bad in x]
            assert not hits, "Teams body contains %r: %s" % (bad, hits[:3])
        for u in urls(s["body"]) + urls(t["body"]):
            assert u.startswith("https://app.matillion.com/"), "foreign url %r" % u
        assert "pwn" in "\n".join(texts), "the hostile name should still be shown, escaped"


@case
def deep_and_cyclic_children_terminate():
    sc = scenario("deep_children")
    with Env("deep_children") as env:
        accepted(*env.svc.post_webhook(sc["webhook"])[::2])
        s, t = one_each(env)
        steps = [c for c in env.mock.calls() if c["path"].endswith("/steps")]
        assert len(steps) <= 50, "max_api_calls=50 exceeded: %d" % len(steps)
        fetched = {c["path"].split("/")[-2] for c in steps}
        assert sc["chain"][7] not in fetched and sc["chain"][8] not in fetched, \
            "children beyond max_child_depth=5 were fetched"
        per = {}
        for c in steps:
            per[c["path"]] = per.get(c["path"], 0) + 1
        assert max(per.values()) == 1, "an execution's steps fetched twice (cycle?): %s" % per
        assert s["body"]["text"].startswith("\u274c ") and " failed" in s["body"]["text"], \
            s["body"]["text"]


if __name__ == "__main__":
    run_all()
