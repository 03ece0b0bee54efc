"""Slack buttons (interactivity) through the real binary and the mocks,
on the real path: a failure reaches a slack-app destination, the service
posts it as the incident's parent (the mock's Slack Web API gives its ts),
and the test clicks on THAT message (channel and ts from the mock's record
of chat.postMessage), signed with the app's signing secret.

A signed Re-run click by an allowed user starts exactly one Matillion run
even when clicked twice (and Slack's retry of one delivery is stored
once); the re-run's own outcome threads under the incident (its failure a
reply, its success the recovery reply and the parent resolved);
unsigned, stale, tampered, wrongly signed and disallowed clicks change
nothing (no run, no silence, no acknowledgement; the disallowed user gets
an ephemeral reply); a user group member may re-run; Mute silences the
next failure and offers Unmute; Acknowledge records the user, shows it on
the parent and turns the next reminder into a plain repeat; every rewrite
of the parent keeps the lines of the clicks before it (ten at most,
Slack's bound, the first kept), and the resolved parent keeps
"Acknowledged by"; a click on the URL button "Open run" is answered 200
and does nothing; a service killed (SIGKILL) between the click's answer
and its action carries it out after its restart, once."""

import copy
import hashlib
import hmac
import json
import os
import sqlite3
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Env, case, request, run_all, scenario, wait_until  # noqa: E402

sys.path.insert(0, os.path.join(harness.REPO, "tests", "mock"))
from mock_server import SLACK_APP_TOKEN  # noqa: E402

SECRET = "3b8f0c1e9a7d4f62b5c8e1d0a9f7c6b4"
CHANNEL = "C0ALERTS01"
PATH = "/slack/actions"
MEM_R_REPEAT = 4

FWC = scenario("failed_with_children")
ROOT = FWC["webhook"]["pipelineExecutionId"]
OK_STEPS = [{"id": "b0000000-0000-4000-8000-000000000001", "name": "Start",
             "result": {"status": "SUCCESS", "startedAt": "2024-05-01T02:00:00.000Z",
                        "finishedAt": "2024-05-01T02:00:01.000Z"}}]


def series(kinds):
    """FWC plus one run of its root pipeline per letter of kinds (F failed,
    S succeeded), an hour apart, and the Slack workspace's user group."""
    sc = copy.deepcopy(FWC)
    sc["slack_app"] = {"usergroups": {"S0ONCALL": ["U0GROUPMEMBER"]}}
    root = next(e for e in sc["executions"] if e["id"] == ROOT)
    hooks = []
    for i, k in enumerate(kinds):
        e = copy.deepcopy(root)
        e["id"] = ROOT[:-2] + "%02d" % (10 + i)
        ex = e["execution"]
        ex["pipelineExecutionId"] = e["id"]
        ex["startedAt"] = "2024-05-01T%02d:00:00.000Z" % (2 + i)
        ex["finishedAt"] = "2024-05-01T%02d:14:07.000Z" % (2 + i)
        if k == "S":
            ex["status"], ex["message"] = "SUCCESS", ""
            e["steps"] = copy.deepcopy(OK_STEPS)
        sc["executions"].append(e)
        hooks.append(dict(FWC["webhook"], pipelineExecutionId=e["id"], status=ex["status"]))
    return sc, hooks


def sections(mock, **route):
    keys = {"destinations": "app", "notify_on": "FAILED", "on_repeat": None,
            "allow_rerun": "true", "rerun_users": "U0ALLOWED", "rerun_usergroups": "S0ONCALL"}
    keys.update(route)
    return {
        "slack": {"signing_secret": SECRET, "response_url_any_host": "true"},
        "destination app": {"type": "slack-app", "url": mock + "/slack-api/",
                            "channel": CHANNEL, "secret": SLACK_APP_TOKEN,
                            "allow_any_host": "true", "rate": "20", "group_threshold": "0"},
        "default": keys,
    }


def env(kinds="FFFFFF", **route):
    sc, hooks = series(kinds)
    e = Env(scenario=sc, sections=lambda m: sections(m, **route))
    e.hooks = hooks
    return e


def rows(e, sql, args=()):
    c = sqlite3.connect(e.store, timeout=10)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def calls(e, method=None):
    """The Slack Web API calls the service made, in order."""
    return [p for p in e.posts("slack-app") if method is None or p["name"] == method]


def rendered(e):
    """The service's own messages (Block Kit), parents and replies."""
    return [p for p in calls(e, "chat.postMessage") if "blocks" in p["body"]]


def parents(e):
    return [p for p in rendered(e) if "thread_ts" not in p["body"]]


def updates(e):
    return calls(e, "chat.update")


def wait_n(e, fn, n, what, timeout=20.0):
    try:
        return wait_until(lambda: fn(e) if len(fn(e)) >= n else None, timeout, 0.05, what)
    except AssertionError as x:
        raise AssertionError("%s; calls=%s; log:\n%s" % (
            x, [(p["name"], p["status"], p.get("error")) for p in calls(e)], e.svc.log_tail()))


def post_run(e, hook, want=(202,)):
    st, _, body = e.svc.post_webhook(hook)
    assert st in want, "webhook answered %d %s" % (st, body)


def open_incident(e, i=0):
    """Posts failure i and waits for the parent the service posted; returns
    the incident (project, environment, pipeline, since_ms) and its ts."""
    post_run(e, e.hooks[i])
    p = wait_n(e, parents, 1, "the parent")[0]
    assert p["status"] == 200 and p["reply"]["ok"], p
    assert p["reply"]["channel"] == CHANNEL, p["reply"]
    inc = wait_until(lambda: rows(e, "SELECT project_id, environment, pipeline, since_ms"
                                     " FROM incidents WHERE open = 1"),
                     what="an open incident")[0]
    return inc, p["reply"]["ts"]


def form(action_id, ts, user="U0ALLOWED", value=None, action_ts=None, mock=None, act=None):
    if act is None:
        act = {"action_id": action_id, "block_id": "dpc_actions", "type": "button"}
        if action_id == "dpc_mute":
            act["selected_option"] = {"value": value or "24h"}
            act["type"] = "static_select"
        elif value is not None:
            act["value"] = value
    act["action_ts"] = action_ts or "%.6f" % time.time()
    payload = {"type": "block_actions", "user": {"id": user, "username": "jane"},
               "container": {"type": "message", "channel_id": CHANNEL, "message_ts": ts},
               "response_url": mock + "/respond/" + user, "actions": [act]}
    return ("payload=" + urllib.parse.quote(json.dumps(payload), safe="")).encode()


def sign(body, ts=None, secret=SECRET):
    ts = str(int(time.time())) if ts is None else ts
    mac = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + mac.hexdigest(),
            "Content-Type": "application/x-www-form-urlencoded"}


def click(e, body, headers=None):
    st, _, data = e.post(body, headers=headers if headers is not None else sign(body),
                         path=PATH)
    return st, data


def started(e):
    st, _, data = request("GET", e.mock.port, "/_started")
    assert st == 200
    return json.loads(data)


def finish(e, run, status, steps=None):
    """Ends a started run in the Matillion mock; returns its webhook."""
    body = {"pipelineExecutionId": run["pipelineExecutionId"], "status": status}
    if steps is not None:
        body["steps"] = steps
    st, _, data = request("POST", e.mock.port, "/_finish", body)
    assert st == 200, data
    return json.loads(data)


def results(e):
    return rows(e, "SELECT kind, user_id, result FROM actions ORDER BY id")


def wait_results(e, n):
    return wait_until(lambda: [r for r in results(e) if r[2]] if
                      len([r for r in results(e) if r[2]]) >= n else None,
                      timeout=20, what="%d clicks carried out" % n)


def action_ids(body):
    return [el.get("action_id") for b in body.get("blocks", [])
            if b.get("block_id") == "dpc_actions" for el in b.get("elements", [])]


def ok_update(e, n):
    """The n-th chat.update (1-based), after checking Slack took it."""
    u = wait_n(e, updates, n, "%d chat.update calls" % n)[n - 1]
    assert u["status"] == 200 and u["reply"].get("ok"), (u["reply"], u["body"])
    return u


@case
def rerun_twice_starts_one_run():
    with env() as e:
        inc, ts = open_incident(e)
        m = e.mock.url()
        body = form("dpc_rerun", ts, mock=m, action_ts="1700000100.000001")
        st, data = click(e, body)
        assert st == 200 and data == b"", (st, data)
        # Slack's retry of the same delivery: stored once.
        st, _ = click(e, body)
        assert st == 200, st
        body2 = form("dpc_rerun", ts, mock=m, action_ts="1700000101.000002")
        st, _ = click(e, body2)
        assert st == 200, st
        done = wait_results(e, 2)
        assert len(results(e)) == 2, results(e)
        runs = started(e)
        assert len(runs) == 1, runs
        assert runs[0]["pipelineName"] == inc[2] and runs[0]["environmentName"] == inc[1], runs
        assert runs[0]["executionTag"].startswith("dpc-notify-"), runs
        assert sorted(r[2] for r in done) == ["done", "refused"], done
        # Refused by dpc-notify's own record of the tag, before Matillion
        # (whose 409 would also stop it) is asked again.
        detail = rows(e, "SELECT detail FROM actions WHERE result = 'refused'")[0][0]
        assert "already started" in detail, detail
        wait_until(lambda: any(p["body"].get("thread_ts") == ts and "Re-run started by <@U0ALLOWED>"
                               in p["body"].get("text", "") and p["reply"].get("ok")
                               for p in calls(e, "chat.postMessage")),
                   what="the re-run's reply in the thread")
        rc, out, _ = e.cli("incidents")
        assert rc == 0 and "U0ALLOWED" in out and "rerun" in out, out


@case
def rerun_outcome_threads_under_the_incident():
    with env("F") as e:
        _, ts = open_incident(e)
        m = e.mock.url()
        b = form("dpc_rerun", ts, mock=m)
        assert click(e, b)[0] == 200
        wait_results(e, 1)
        run = started(e)[0]
        # The started run is Matillion's like any other: the service reads
        # its execution and steps when its webhook arrives.
        post_run(e, finish(e, run, "FAILED"))
        reply = wait_n(e, rendered, 2, "the re-run's failure")[1]
        assert reply["body"].get("thread_ts") == ts, reply["body"]
        assert reply["reply"]["ok"] and action_ids(reply["body"]) == [], reply
        assert run["pipelineExecutionId"] in json.dumps(reply["body"]), reply["body"]
        assert len(parents(e)) == 1, [p["body"].get("text") for p in parents(e)]
        # Re-run again: the incident counts one more failure, so this is a
        # new start (another executionTag), not a repeat of the first.
        b = form("dpc_rerun", ts, mock=m)
        assert click(e, b)[0] == 200
        wait_results(e, 2)
        runs = started(e)
        assert len(runs) == 2 and runs[0]["executionTag"] != runs[1]["executionTag"], runs
        post_run(e, finish(e, runs[1], "SUCCESS", OK_STEPS), want=(200, 202))
        rec = wait_n(e, rendered, 3, "the recovery")[2]
        assert rec["body"].get("thread_ts") == ts and "recovered" in rec["body"]["text"], rec
        assert len(parents(e)) == 1
        resolved = [u for u in updates(e) if "Resolved" in json.dumps(u["body"])]
        assert len(resolved) == 1 and resolved[0]["reply"]["ok"], updates(e)
        body = resolved[0]["body"]
        assert body["ts"] == ts and action_ids(body) == [], body
        assert "Re-run started by <@U0ALLOWED>" in json.dumps(body), body


@case
def bad_clicks_change_nothing():
    with env() as e:
        _, ts = open_incident(e)
        m = e.mock.url()
        body = form("dpc_rerun", ts, mock=m)
        # A few seconds past the window: the unit tests hold the exact
        # edge; here time(2) may read a coarse clock a tick behind ours.
        now = int(time.time())
        tries = [
            ("unsigned", body, {"Content-Type": "application/x-www-form-urlencoded"}),
            ("stale", body, sign(body, ts=str(now - 305))),
            ("future", body, sign(body, ts=str(now + 305))),
            ("non-numeric ts", body, sign(body, ts="12a")),
            ("wrong secret", body, sign(body, secret="another-secret-of-enough-length")),
            ("tampered", body.replace(b"U0ALLOWED", b"U0ALLOWEE"), sign(body)),
            ("v1 scheme", body, dict(sign(body), **{"X-Slack-Signature": "v1=" + "0" * 64})),
        ]
        for what, b, h in tries:
            st, _ = click(e, b, h)
            assert st == 401, "%s: %d" % (what, st)
        for kind in ("dpc_rerun", "dpc_ack", "dpc_mute"):
            b = form(kind, ts, mock=m)
            h = dict(sign(b), **{"X-Slack-Signature": sign(b)["X-Slack-Signature"][:-1] + "0"})
            if h["X-Slack-Signature"] == sign(b)["X-Slack-Signature"]:
                continue
            assert click(e, b, h)[0] == 401, kind
        # Signed, but by a user the route does not list (nor its group).
        b = form("dpc_rerun", ts, user="U0NOBODY", mock=m)
        assert click(e, b)[0] == 200
        wait_results(e, 1)
        time.sleep(0.5)
        assert started(e) == [], started(e)
        assert rows(e, "SELECT count(*) FROM silences")[0][0] == 0
        assert rows(e, "SELECT count(*) FROM incident_acks")[0][0] == 0
        assert results(e) == [("rerun", "U0NOBODY", "refused")], results(e)
        assert updates(e) == [], updates(e)
        eph = e.posts("respond")
        assert len(eph) == 1 and eph[0]["body"]["response_type"] == "ephemeral" and \
            eph[0]["body"]["replace_original"] is False and \
            "not allowed" in eph[0]["body"]["text"], eph
        ug = calls(e, "usergroups.users.list")
        assert len(ug) == 1 and ug[0]["reply"] == {"ok": True, "users": ["U0GROUPMEMBER"]}, ug
        st, _, metrics = request("GET", e.cfg.port, "/metrics")
        text = metrics.decode()
        assert 'dpc_notify_interactions_total{result="stale"} 3' in text, text
        assert 'dpc_notify_interactions_total{result="missing_signature"} 1' in text, text
        assert 'dpc_notify_interactions_total{result="accepted"} 1' in text, text
        log = open(e.svc.log, encoding="utf-8").read()
        assert SECRET not in log and SLACK_APP_TOKEN not in log


@case
def open_run_url_button_is_answered_and_ignored():
    with env("FS") as e:
        _, ts = open_incident(e)
        m = e.mock.url()
        link = {"type": "button", "block_id": "r1", "text": {"type": "plain_text",
                                                            "text": "Open run"},
                "url": "https://example.matillion.com/run"}
        # Slack names a button without an action_id by a made-up one; a
        # request with none at all is taken the same way.
        for act in (dict(link), dict(link, action_id="Wq+9z")):
            b = form(None, ts, mock=m, act=act)
            st, data = click(e, b)
            assert st == 200 and data == b"", (st, data)
        # Unsigned, it is still refused.
        assert click(e, b, {"Content-Type": "application/x-www-form-urlencoded"})[0] == 401
        time.sleep(1.0)
        assert results(e) == [], results(e)
        assert rows(e, "SELECT count(*) FROM jobs WHERE kind = 3")[0][0] == 0
        assert started(e) == [] and updates(e) == [] and e.posts("respond") == []
        metrics = request("GET", e.cfg.port, "/metrics")[2].decode()
        assert 'dpc_notify_interactions_total{result="ignored"} 2' in metrics, metrics
        assert 'dpc_notify_interactions_total{result="bad_request"} 0' in metrics, metrics


@case
def rerun_needs_allow_rerun():
    with env("FF", allow_rerun=None) as e:
        _, ts = open_incident(e)
        # Without allow_rerun the parent offers no Re-run button ...
        assert action_ids(parents(e)[0]["body"]) == ["dpc_ack", "dpc_mute"], parents(e)
        # ... and a forged click on one is refused.
        b = form("dpc_rerun", ts, mock=e.mock.url())
        assert click(e, b)[0] == 200
        wait_results(e, 1)
        assert results(e) == [("rerun", "U0ALLOWED", "refused")], results(e)
        assert started(e) == []
        assert len(e.posts("respond")) == 1


@case
def usergroup_member_may_rerun():
    with env() as e:
        _, ts = open_incident(e)
        b = form("dpc_rerun", ts, user="U0GROUPMEMBER", mock=e.mock.url())
        assert click(e, b)[0] == 200
        wait_results(e, 1)
        assert results(e) == [("rerun", "U0GROUPMEMBER", "done")], results(e)
        assert len(started(e)) == 1
        ug = calls(e, "usergroups.users.list")
        assert ug and ug[0]["reply"]["ok"] and \
            ug[0]["headers"]["Authorization"] == "Bearer " + SLACK_APP_TOKEN, ug


@case
def mute_silences_next_failure():
    with env() as e:
        _, ts = open_incident(e)
        b = form("dpc_mute", ts, value="24h", mock=e.mock.url())
        assert click(e, b)[0] == 200
        wait_results(e, 1)
        sil = rows(e, "SELECT id, reason, end_ms - start_ms FROM silences")
        assert len(sil) == 1 and "U0ALLOWED" in sil[0][1] and sil[0][2] == 86400000, sil
        u = ok_update(e, 1)
        assert "dpc_unmute" in action_ids(u["body"]), u["body"]
        assert any(el.get("action_id") == "dpc_unmute" and el.get("value") == str(sil[0][0])
                   for blk in u["body"]["blocks"] for el in blk.get("elements", [])), u
        post_run(e, e.hooks[1])
        time.sleep(2.0)
        assert len(rendered(e)) == 1, "the muted failure was posted"
        b = form("dpc_unmute", ts, value=str(sil[0][0]), mock=e.mock.url())
        assert click(e, b)[0] == 200
        wait_results(e, 2)
        assert rows(e, "SELECT removed_ms > 0 FROM silences")[0][0] == 1
        u = ok_update(e, 2)
        assert "dpc_unmute" not in action_ids(u["body"]), u["body"]
        assert "Unmuted by <@U0ALLOWED>" in json.dumps(u["body"]), u["body"]


@case
def ack_records_user_and_stops_reminders():
    with env() as e:
        inc, ts = open_incident(e)
        b = form("dpc_ack", ts, mock=e.mock.url())
        assert click(e, b)[0] == 200
        wait_results(e, 1)
        acks = rows(e, "SELECT user_id, since_ms FROM incident_acks")
        assert acks == [("U0ALLOWED", inc[3])], acks
        u = ok_update(e, 1)
        assert u["body"]["ts"] == ts and u["body"]["channel"] == CHANNEL, u["body"]
        assert "Acknowledged by <@U0ALLOWED> at" in json.dumps(u["body"]), u
        # Five hours later (repeat_interval 4h): a plain repeat, no reminder.
        post_run(e, e.hooks[5])
        reason = wait_until(lambda: rows(e, "SELECT d.reason FROM decisions d JOIN jobs j"
                                            " ON j.id = d.job_id WHERE j.execution_id = ?",
                                         (e.hooks[5]["pipelineExecutionId"],)),
                            what="the repeat's decision")[0][0]
        assert reason == MEM_R_REPEAT, reason


@case
def every_rewrite_keeps_the_lines_before_it():
    with env("FS") as e:
        _, ts = open_incident(e)
        m = e.mock.url()
        assert click(e, form("dpc_ack", ts, mock=m))[0] == 200
        wait_results(e, 1)
        first = ok_update(e, 1)["body"]
        # The buttons stay after an acknowledgement: a re-run is still
        # what the on-call may want next.
        assert action_ids(first) == ["dpc_ack", "dpc_mute", "dpc_rerun"], first
        assert click(e, form("dpc_mute", ts, value="1h", mock=m))[0] == 200
        wait_results(e, 2)
        second = json.dumps(ok_update(e, 2)["body"])
        assert "Acknowledged by <@U0ALLOWED>" in second and "Muted for 1h" in second, second
        sil = rows(e, "SELECT id FROM silences")[0][0]
        assert click(e, form("dpc_unmute", ts, value=str(sil), mock=m))[0] == 200
        wait_results(e, 3)
        ok_update(e, 3)
        post_run(e, e.hooks[1], want=(200, 202))
        u = ok_update(e, 4)
        body = json.dumps(u["body"])
        assert "Resolved" in body and "Acknowledged by <@U0ALLOWED>" in body, body
        assert action_ids(u["body"]) == [], u["body"]
        # What Slack now shows is that last rewrite.
        msgs = json.loads(request("GET", e.mock.port, "/_slack_messages")[2])
        assert "Acknowledged by" in json.dumps(msgs[ts]) and "Resolved" in json.dumps(msgs[ts])


@case
def status_lines_are_bounded():
    with env("F") as e:
        _, ts = open_incident(e)
        m = e.mock.url()
        assert click(e, form("dpc_ack", ts, mock=m))[0] == 200
        wait_results(e, 1)
        # Ten mutes after it: Slack takes ten elements in a context block;
        # the acknowledgement stays, the oldest mute after it goes.
        for i in range(10):
            assert click(e, form("dpc_mute", ts, value="1h", mock=m))[0] == 200
            wait_results(e, 2 + i)
        u = ok_update(e, 11)["body"]
        status = [b for b in u["blocks"] if b.get("block_id") == "dpc_status"]
        assert len(status) == 1, u["blocks"]
        lines = [el["text"] for el in status[0]["elements"]]
        assert len(lines) == 10 and lines[0].startswith("Acknowledged by"), lines
        assert "(silence 1)" not in json.dumps(lines) and lines[-1].endswith("(silence 10)"), lines
        ids = action_ids(u)
        assert ids.count("dpc_unmute") == 1 and ids[:3] == ["dpc_ack", "dpc_mute", "dpc_rerun"], ids
        assert [el.get("value") for b in u["blocks"] for el in b.get("elements", [])
                if el.get("action_id") == "dpc_unmute"] == ["10"], u["blocks"]


@case
def sigkill_between_click_and_action_loses_nothing():
    with env() as e:
        _, ts = open_incident(e)
        # Matillion is slow to answer the start: the click is stored and
        # answered, the action still in flight when the service dies.
        e.fault(r"/pipeline-executions$", method="POST", delay_s=3)
        b = form("dpc_rerun", ts, mock=e.mock.url())
        assert click(e, b)[0] == 200
        time.sleep(0.3)
        e.svc.kill9()
        e.start_service()
        wait_results(e, 1)
        time.sleep(3.5)  # the delayed first request lands, or not
        runs = started(e)
        assert len(runs) == 1, runs
        assert [r[2] for r in results(e)] == ["done"], results(e)


if __name__ == "__main__":
    run_all()
