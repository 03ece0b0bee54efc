"""Slack buttons (interactivity) through the real binary and the mocks: a
signed Re-run click by an allowed user starts exactly one Matillion run
even when clicked twice (and Slack's retry of one delivery is stored
once); unsigned, stale, tampered, wrongly signed and disallowed clicks
change nothing (no run, no silence, no acknowledgement; the disallowed
user gets an ephemeral reply); a user group member may re-run; Mute
silences the next failure and offers Unmute; Acknowledge records the user,
rewrites the parent's buttons and turns the next reminder into a plain
repeat; a service killed (SIGKILL) between the click's answer and its
action carries it out after its restart, once.

The incident's Slack thread is written into the store here, as the
slack-app destination records it after posting the parent."""

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
from harness import Env, case, request, run_all, scenario, wait_until  # noqa: E402

SECRET = "3b8f0c1e9a7d4f62b5c8e1d0a9f7c6b4"
CHANNEL = "C0ALERTS"
PARENT_TS = "1700000000.000100"
PATH = "/slack/actions"
MEM_R_REPEAT, MEM_R_REMINDER = 4, 5

FWC = scenario("failed_with_children")
ROOT = FWC["webhook"]["pipelineExecutionId"]


def series(n):
    """FWC plus n failed runs of its root pipeline, an hour apart."""
    sc = copy.deepcopy(FWC)
    root = next(e for e in sc["executions"] if e["id"] == ROOT)
    hooks = []
    for i in range(n):
        e = copy.deepcopy(root)
        e["id"] = ROOT[:-2] + "%02d" % (10 + i)
        ex = e["execution"]
        ex["pipelineExecutionId"] = e["id"]
        ex["startedAt"] = "2024-05-01T%02d:00:00.000Z" % (2 + i)
        ex["finishedAt"] = "2024-05-01T%02d:14:07.000Z" % (2 + i)
        sc["executions"].append(e)
        hooks.append(dict(FWC["webhook"], pipelineExecutionId=e["id"], status=ex["status"]))
    return sc, hooks


def sections(mock):
    return {
        "slack": {"signing_secret": SECRET, "response_url_any_host": "true"},
        # The thread's destination: its token and Web API base (the mock).
        "destination app": {"type": "slack", "url": mock + "/slackapi/",
                            "secret": "xoxb-itest-0123456789-abcdef", "group_threshold": "0"},
        "default": {"destinations": "slack-main", "notify_on": "FAILED", "on_repeat": None,
                    "allow_rerun": "true", "rerun_users": "U0ALLOWED",
                    "rerun_usergroups": "S0ONCALL"},
    }


def env(n=6, **kw):
    sc, hooks = series(n)
    e = Env(scenario=sc, sections=sections, **kw)
    e.hooks = hooks
    return e


def db(e):
    c = sqlite3.connect(e.store, timeout=10)
    return c


def rows(e, sql, args=()):
    c = db(e)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def open_incident(e, i=0):
    """Posts failure i, waits for its incident and writes its thread."""
    st, _, body = e.svc.post_webhook(e.hooks[i])
    assert st == 202, body
    inc = wait_until(lambda: rows(e, "SELECT project_id, environment, pipeline, since_ms"
                                     " FROM incidents WHERE open = 1"),
                     what="an open incident")[0]
    parent = {"channel": CHANNEL, "text": "failed", "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "failed"}},
        {"type": "actions", "block_id": "dpc_actions", "elements": []}]}
    c = db(e)
    try:
        c.execute("INSERT INTO threads (dest, project_id, environment, pipeline, since_ms,"
                  " channel, ts, parent, created_ms) VALUES ('app', ?, ?, ?, ?, ?, ?, ?, 0)",
                  inc + (CHANNEL, PARENT_TS, json.dumps(parent)))
        c.commit()
    finally:
        c.close()
    return inc


def form(action_id, user="U0ALLOWED", value=None, action_ts=None, mock=None):
    act = {"action_id": action_id, "block_id": "dpc_actions",
           "action_ts": action_ts or "%.6f" % time.time()}
    if action_id == "dpc_mute":
        act["selected_option"] = {"value": value or "24h"}
    elif value is not None:
        act["value"] = value
    payload = {"type": "block_actions", "user": {"id": user, "username": "jane"},
               "container": {"type": "message", "channel_id": CHANNEL,
                             "message_ts": PARENT_TS},
               "response_url": mock + "/respond/" + user, "actions": [act]}
    return ("payload=" + urllib.parse.quote(json.dumps(payload), safe="")).encode()


def sign(body, ts=None, secret=SECRET):
    ts = str(int(time.time())) if ts is None else ts
    mac = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + mac.hexdigest(),
            "Content-Type": "application/x-www-form-urlencoded"}


def click(e, body, headers):
    st, _, data = e.post(body, headers=headers, path=PATH)
    return st, data


def started(e):
    st, _, data = request("GET", e.mock.port, "/_started")
    assert st == 200
    return json.loads(data)


def results(e):
    return rows(e, "SELECT kind, user_id, result FROM actions ORDER BY id")


def wait_results(e, n):
    return wait_until(lambda: [r for r in results(e) if r[2]] if
                      len([r for r in results(e) if r[2]]) >= n else None,
                      timeout=20, what="%d clicks carried out" % n)


@case
def rerun_twice_starts_one_run():
    with env() as e:
        inc = open_incident(e)
        body = form("dpc_rerun", mock=e.mock.url(), action_ts="1700000100.000001")
        st, data = click(e, body, sign(body))
        assert st == 200 and data == b"", (st, data)
        # Slack's retry of the same delivery: stored once.
        st, _ = click(e, body, sign(body))
        assert st == 200, st
        body2 = form("dpc_rerun", mock=e.mock.url(), action_ts="1700000101.000002")
        st, _ = click(e, body2, sign(body2))
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
        replies = [p for p in e.posts("slackapi") if p["name"] == "chat.postMessage"]
        assert any(p["body"].get("thread_ts") == PARENT_TS and "Re-run started by <@U0ALLOWED>"
                   in p["body"].get("text", "") for p in replies), replies
        rc, out, _ = e.cli("incidents")
        assert rc == 0 and "U0ALLOWED" in out and "rerun" in out, out


@case
def bad_clicks_change_nothing():
    with env() as e:
        open_incident(e)
        m = e.mock.url()
        body = form("dpc_rerun", mock=m)
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
            b = form(kind, mock=m)
            h = dict(sign(b), **{"X-Slack-Signature": sign(b)["X-Slack-Signature"][:-1] + "0"})
            if h["X-Slack-Signature"] == sign(b)["X-Slack-Signature"]:
                continue
            assert click(e, b, h)[0] == 401, kind
        # Signed, but by a user the route does not list.
        b = form("dpc_rerun", user="U0NOBODY", mock=m)
        assert click(e, b, sign(b))[0] == 200
        wait_results(e, 1)
        time.sleep(0.5)
        assert started(e) == [], started(e)
        assert rows(e, "SELECT count(*) FROM silences")[0][0] == 0
        assert rows(e, "SELECT count(*) FROM incident_acks")[0][0] == 0
        assert results(e) == [("rerun", "U0NOBODY", "refused")], results(e)
        eph = e.posts("respond")
        assert len(eph) == 1 and eph[0]["body"]["response_type"] == "ephemeral" and \
            eph[0]["body"]["replace_original"] is False and \
            "not allowed" in eph[0]["body"]["text"], eph
        st, _, metrics = request("GET", e.cfg.port, "/metrics")
        text = metrics.decode()
        assert 'dpc_notify_interactions_total{result="stale"} 3' in text, text
        assert 'dpc_notify_interactions_total{result="missing_signature"} 1' in text, text
        assert 'dpc_notify_interactions_total{result="accepted"} 1' in text, text
        assert SECRET not in open(e.svc.log, encoding="utf-8").read()


@case
def rerun_needs_allow_rerun():
    def secs(mock):
        s = sections(mock)
        s["default"]["allow_rerun"] = None
        return s
    sc, hooks = series(2)
    with Env(scenario=sc, sections=secs) as e:
        e.hooks = hooks
        open_incident(e)
        b = form("dpc_rerun", mock=e.mock.url())
        assert click(e, b, sign(b))[0] == 200
        wait_results(e, 1)
        assert results(e) == [("rerun", "U0ALLOWED", "refused")], results(e)
        assert started(e) == []
        assert len(e.posts("respond")) == 1


@case
def usergroup_member_may_rerun():
    with env() as e:
        open_incident(e)
        b = form("dpc_rerun", user="U0GROUPMEMBER", mock=e.mock.url())
        assert click(e, b, sign(b))[0] == 200
        wait_results(e, 1)
        assert results(e) == [("rerun", "U0GROUPMEMBER", "done")], results(e)
        assert len(started(e)) == 1


@case
def mute_silences_next_failure():
    with env() as e:
        open_incident(e)
        wait_until(lambda: len(e.posts("slack")) >= 1, what="the first post")
        b = form("dpc_mute", value="24h", mock=e.mock.url())
        assert click(e, b, sign(b))[0] == 200
        wait_results(e, 1)
        sil = rows(e, "SELECT id, reason, end_ms - start_ms FROM silences")
        assert len(sil) == 1 and "U0ALLOWED" in sil[0][1] and sil[0][2] == 86400000, sil
        st, _, _ = e.svc.post_webhook(e.hooks[1])
        assert st == 202
        time.sleep(2.0)
        assert len(e.posts("slack")) == 1, "the muted failure was posted"
        ups = [p for p in e.posts("slackapi") if p["name"] == "chat.update"]
        assert ups and any(el.get("action_id") == "dpc_unmute" and el.get("value") == str(sil[0][0])
                           for blk in ups[-1]["body"]["blocks"]
                           for el in blk.get("elements", [])), ups
        b = form("dpc_unmute", value=str(sil[0][0]), mock=e.mock.url())
        assert click(e, b, sign(b))[0] == 200
        wait_results(e, 2)
        assert rows(e, "SELECT removed_ms > 0 FROM silences")[0][0] == 1


@case
def ack_records_user_and_stops_reminders():
    with env() as e:
        inc = open_incident(e)
        wait_until(lambda: len(e.posts("slack")) >= 1, what="the first post")
        b = form("dpc_ack", mock=e.mock.url())
        assert click(e, b, sign(b))[0] == 200
        wait_results(e, 1)
        acks = rows(e, "SELECT user_id, since_ms FROM incident_acks")
        assert acks == [("U0ALLOWED", inc[3])], acks
        ups = [p for p in e.posts("slackapi") if p["name"] == "chat.update"]
        assert ups and "Acknowledged by <@U0ALLOWED> at" in json.dumps(ups[-1]["body"]), ups
        # Five hours later (repeat_interval 4h): a plain repeat, no reminder.
        st, _, _ = e.svc.post_webhook(e.hooks[5])
        assert st == 202
        reason = wait_until(lambda: rows(e, "SELECT d.reason FROM decisions d JOIN jobs j"
                                            " ON j.id = d.job_id WHERE j.execution_id = ?",
                                         (e.hooks[5]["pipelineExecutionId"],)),
                            what="the repeat's decision")[0][0]
        assert reason == MEM_R_REPEAT, reason


@case
def sigkill_between_click_and_action_loses_nothing():
    with env() as e:
        open_incident(e)
        # Matillion is slow to answer the start: the click is stored and
        # answered, the action still in flight when the service dies.
        e.fault(r"/pipeline-executions$", method="POST", delay_s=3)
        b = form("dpc_rerun", mock=e.mock.url())
        assert click(e, b, sign(b))[0] == 200
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
