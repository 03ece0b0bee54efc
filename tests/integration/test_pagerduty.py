"""type = pagerduty through the real serve path and the mock's Events API
v2: a failure triggers (routing key from secret =, only in the post, never
in the store), a repeat triggers with the same dedup_key, the success
after them resolves it; a huge run and hostile names make a valid event;
429 is retried (PagerDuty sends no Retry-After: backoff); 400 goes to
dead letters; a destination without a secret is refused at load; a
severity map sets the posted severity; send-test works."""

import json
import os
import sqlite3
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, case, run_all, scenario, wait_jobs_done, wait_until  # noqa: E402
from incidents import series  # noqa: E402

KEY = "R0123456789abcdef0123456789ABCDE"  # 32 characters, like PagerDuty's


def sections(secret=KEY, severity=None, **project):
    def make(mock):
        dest = {"type": "pagerduty", "url": mock + "/pagerduty/v2/enqueue",
                "mention": "<users/all>"}
        if secret is not None:
            dest["secret"] = secret
        if severity is not None:
            dest["severity"] = severity
        keys = {"destinations": "pd-main", "notify_on": "FAILED, CANCELLED", "on_repeat": None,
                "recovery": None}
        keys.update(project)
        return {"destination slack-main": None, "destination teams-main": None,
                "destination pd-main": dest, "default": keys}
    return make


def events(env, n):
    def got():
        p = env.posts("pagerduty")
        return p if len(p) >= n else None
    try:
        return wait_until(got, 20.0, 0.05, "%d pagerduty events" % n)
    except AssertionError as e:
        raise AssertionError("%s; log:\n%s" % (e, env.svc.log_tail()))


def db_rows(env, sql, *args):
    db = sqlite3.connect("file:%s?mode=ro" % env.store, uri=True, timeout=5)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def job_state(env, jid):
    r = db_rows(env, "SELECT state FROM jobs WHERE id = ?", jid)
    return r[0][0] if r else None


@case
def trigger_repeat_then_resolve_with_one_dedup_key():
    sc, hooks = series("FFS")
    with Env(scenario=sc, sections=sections()) as env:
        for i, h in enumerate(hooks):
            st, _, body = env.svc.post_webhook(h)
            assert st in (200, 202), (st, body)
            events(env, i + 1)
            wait_jobs_done(env, i + 1)
        time.sleep(1.0)
        ev = env.posts("pagerduty")
        assert len(ev) == 3, [e["body"] for e in ev]
        assert all(e["status"] == 202 for e in ev), [e["error"] for e in ev]
        b = [e["body"] for e in ev]
        assert [x["event_action"] for x in b] == ["trigger", "trigger", "resolve"], b
        assert b[0]["dedup_key"] == b[1]["dedup_key"] == b[2]["dedup_key"], b
        assert b[0]["dedup_key"].endswith("/prod/Finance%2Fload_dwh"), b[0]["dedup_key"]
        assert all(x["routing_key"] == KEY for x in b), b
        p = b[0]["payload"]
        assert p["severity"] == "critical" and "load_dwh" in p["summary"], p
        assert p["custom_details"]["failed_steps"], p["custom_details"]
        assert b[0]["links"][0]["href"].startswith("https://"), b[0]
        assert "users/all" not in json.dumps(b), "the mention does not apply to PagerDuty"
        # The routing key is added at post time: no stored payload has it.
        stored = db_rows(env, "SELECT payload FROM deliveries")
        assert stored and all(KEY not in (r[0] or "") for r in stored), stored


@case
def huge_and_hostile_runs_make_valid_events():
    for name in ("large", "hostile_big", "hostile"):
        sc = scenario(name)
        with Env(name, sections=sections()) as env:
            st, _, _ = env.svc.post_webhook(sc["webhook"])
            assert st == 202
            e = events(env, 1)[0]
            assert e["status"] == 202, "%s: %s" % (name, e["error"])
            assert len(e["body"]["dedup_key"]) <= 255
            assert len(e["body"]["payload"]["summary"]) <= 1024


@case
def rate_limited_429_retried_with_backoff():
    sc, hooks = series("F")
    with Env(scenario=sc, sections=sections()) as env:
        env.fault("^/pagerduty/", status=429, body="Too Many Requests")
        env.svc.post_webhook(hooks[0])
        e = events(env, 1)[0]
        assert e["status"] == 202 and e["body"]["event_action"] == "trigger"
        assert env.pending_faults() == 0


@case
def invalid_event_400_goes_to_dead_letters_and_missing_secret_is_refused():
    sc, hooks = series("F")
    with Env(scenario=sc, sections=sections()) as env:
        env.fault("^/pagerduty/", times=2, status=400, content_type="application/json",
                  body=json.dumps({"status": "invalid event", "message": "Event object is invalid",
                                   "errors": ["'payload.summary' is missing"]}))
        _, _, body = env.svc.post_webhook(hooks[0])
        jid = int(body["id"])
        wait_until(lambda: job_state(env, jid) == "dead", 20.0, 0.1, "job dead")
        time.sleep(2.0)
        assert env.pending_faults() == 1, "a permanent failure was retried"
        rc, out, _ = env.cli("dead", "list")
        assert rc == 0 and "pd-main: HTTP 400" in out, out
    # Without a routing key nothing could ever be sent: refused at load
    # (check-config and serve), not left to dead letters.
    with Env(scenario=sc, sections=sections(secret=None), start=False) as env:
        rc, out, err = env.cli("check-config")
        assert rc == 1 and "type = pagerduty needs secret" in out + err, (rc, out, err)


@case
def severity_map_sets_the_posted_severity():
    sc, hooks = series("F")
    with Env(scenario=sc, sections=sections(severity="FAILED:error, *:info")) as env:
        rc, out, err = env.cli("check-config")
        assert rc == 0 and "uses severity" not in out + err, (rc, out, err)
        env.svc.post_webhook(hooks[0])
        e = events(env, 1)[0]
        assert e["status"] == 202, e["error"]
        assert e["body"]["event_action"] == "trigger", e["body"]
        assert e["body"]["payload"]["severity"] == "error", e["body"]["payload"]
    # A bad level is refused at load with the key's line.
    with Env(scenario=sc, sections=sections(severity="FAILED:fatal"), start=False) as env:
        rc, out, err = env.cli("check-config")
        assert rc == 1 and 'severity: unknown level "fatal"' in out + err, (rc, out, err)


@case
def send_test_triggers_its_own_alert():
    with Env(scenario=scenario("failed_with_children"), sections=sections()) as env:
        rc, out, err = env.cli("send-test", "pd-main")
        assert rc == 0, out + err
        e = events(env, 1)[0]
        assert e["status"] == 202, e["error"]
        assert e["body"]["dedup_key"] == "dpc-notify/send-test", e["body"]
        assert e["body"]["routing_key"] == KEY


if __name__ == "__main__":
    run_all()
