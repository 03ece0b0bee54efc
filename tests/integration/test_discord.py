"""Discord destinations end to end: the real dpc-notify against the mock's
Discord sink (204, or 200 with the message under ?wait=true; 400 code
50035 for an over-limit body). A failure posts an embed with only the
configured mention allowed; a huge run stays within Discord's limits (the
mock refuses anything over them); hostile text stays inert; a 429 is
retried after the wait its JSON body asks for; a 400 goes to dead letters;
preview --format discord renders the same body. An incident (fail, fail,
succeed) on a forum destination opens one forum post whose thread the
later messages go into, on a text channel stays in the channel, and in
both the recovery edits the first message as resolved; a SIGKILL between
the failures still threads; reply ids that are not Discord ids are never
recorded or put into a URL; forum is refused on other types. Helpers are
shared with test_mattermost.py."""

import os
import re
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import accepted, case, strings, wait_until  # noqa: E402
from test_run_memory import series  # noqa: E402

# Importing test_run_memory registered its cases too: only ours run here.
del harness._cases[:]

PROJECT = "7c0de1a5-0000-4000-8000-0000000d15c0"
EXEC_FMT = "d15c0000-0000-4000-8000-%012d"
HOSTILE = ("@everyone @here <@1234> <@&5678> <#42> <t:1:R> ||spoiler|| **bold** "
           "[x](https://evil.example) ``` `code` # h > q @channel @all")


def run_id(i):
    return EXEC_FMT % i


def scenario():
    """Run 0: one failed step. Run 1: huge (600 failed steps, each a
    distinct 3 KB error, a 2,000-character pipeline name). Run 2: hostile
    text in every name and message."""
    def ex(i, name, steps, message=""):
        return {"projectId": PROJECT, "id": run_id(i),
                "execution": {"pipelineName": name, "environmentName": "prod",
                              "status": "FAILED", "trigger": "SCHEDULE", "message": message,
                              "startedAt": "2024-05-01T02:00:00.000Z",
                              "finishedAt": "2024-05-01T02:14:00.000Z"},
                "steps": steps}
    return {"executions": [
        ex(0, "dwh/load_orders.orch.yaml", [
            {"id": "e0000000-0000-4000-8000-000000000001", "name": "Load orders",
             "result": {"status": "FAILED", "message": "Table 'ORDERS' does not exist",
                        "startedAt": "2024-05-01T02:00:00.000Z",
                        "finishedAt": "2024-05-01T02:14:00.000Z"}}]),
        ex(1, "dwh/" + "\U0001F4A5" * 2000 + ".orch.yaml", [
            {"generate": {"failed": 600, "name": "Replicate " + "t" * 300 + " {i}",
                          "message": "E{i} " + "x" * 3000}}]),
        ex(2, HOSTILE, [
            {"id": "e0000000-0000-4000-8000-000000000002", "name": HOSTILE,
             "result": {"status": "FAILED", "message": HOSTILE + "\n" + HOSTILE,
                        "startedAt": "2024-05-01T02:00:00.000Z",
                        "finishedAt": "2024-05-01T02:14:00.000Z"}}], HOSTILE),
    ]}


def webhook(i):
    return {"projectId": PROJECT, "pipelineExecutionId": run_id(i),
            "pipelineName": "dwh/run_%d.orch.yaml" % i, "environmentName": "prod",
            "status": "FAILED"}


class Env(harness.Env):
    """The mock with scenario() and a service posting to one destination
    of type kind (discord or mattermost) with mention."""

    WAIT_POSTS_S = 25.0

    def __init__(self, kind, path, mention, delivery=None, rate=None):
        def sections(mp):
            d = {"type": kind, "url": mp + path, "mention": mention or None,
                 "group_threshold": "0", "allow_any_host": "true", "rate": rate}
            return {"destination slack-main": None, "destination teams-main": None,
                    "destination %s-main" % kind: d,
                    "delivery": dict({"allow_http": "true", "max_attempts": "3",
                                      "max_age": "600", "degraded_notice": "true"},
                                     **(delivery or {})),
                    "default": {"destinations": "%s-main" % kind, "notify_on": "FAILED",
                                "on_repeat": "full"}}
        super().__init__(None, scenario=scenario(), sections=sections, record=False)
        self.kind = kind

    def send(self, i):
        return int(accepted(*self.svc.post_webhook(webhook(i))[::2]))

    def wait_ok(self, n=1):
        return wait_until(lambda: (lambda p: p if len(p) >= n else None)(
            self.posts(self.kind, ok_only=True)), self.WAIT_POSTS_S, 0.05,
            "%d ok %s posts" % (n, self.kind))

    def rows(self, sql, *args):
        import sqlite3
        db = sqlite3.connect("file:%s?mode=ro" % self.store, uri=True, timeout=5)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def delivery(self, jid):
        r = self.rows("SELECT state, attempts, last_error FROM deliveries WHERE job_id = ?", jid)
        return r[0] if r else None

    def wait_delivery(self, jid, state):
        return wait_until(lambda: (self.delivery(jid) or (None,))[0] == state and
                          self.delivery(jid), 25.0, 0.1, "delivery %s" % state)

    def log_times(self, msg):
        """Wall-clock times of the service log lines with msg=<msg>."""
        out = []
        for line in self.log_lines():
            if 'msg="%s"' % msg not in line and "msg=%s " % msg not in line:
                continue
            m = re.match(r"ts=(\S+)Z ", line)
            if m:
                out.append(time.mktime(time.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S"))
                           - time.timezone + float("0" + m.group(1)[19:]))
        return out


DISCORD_PATH = "/discord/api/webhooks/1234567/SECRETtoken"


def embed_strings(body):
    """What a reader sees of a Discord body, but our own Links field."""
    out = []
    for e in body["embeds"]:
        out += [e.get("title", ""), e.get("description", "")]
        for f in e.get("fields", []):
            out.append(f["name"])
            if f["name"] != "Links":
                out.append(f["value"])
    return out


def discord_inert(text):
    """Outside code blocks every special has its backslash; our own
    timestamps aside. Inside, no fence."""
    outside = re.sub(r"```\n.*?\n```", "", text, flags=re.S)
    outside = re.sub(r"<t:\d+:[ft]>", "", outside)
    outside = re.sub(r"\\.", "", outside)
    bad = [c for c in "*_~`|<>#[]()@" if c in outside]
    assert not bad, "unescaped %s in %r" % (bad, text[:300])
    for block in re.findall(r"```\n(.*?)\n```", text, flags=re.S):
        assert "``" not in block, block[:200]


@case
def discord_failure_posts_with_wait_and_mention():
    with Env("discord", DISCORD_PATH, "<@1234567890>") as env:
        env.send(0)
        (p,) = env.wait_ok()
        assert p["status"] == 200 and p["query"].get("wait") == "true", p
        b = p["body"]
        assert b["content"] == "<@1234567890>", b
        assert b["allowed_mentions"] == {"parse": [], "users": ["1234567890"]}, b
        e = b["embeds"][0]
        assert "load\\_orders" in e["title"] and "ORDERS" in e["fields"][0]["value"], e
        assert e["url"].endswith(run_id(0)), e
        (line,) = env.wait_log(lambda ln: "chat message created" in ln and "message_id=1" in ln,
                               "message id logged")
        # The id is kept with the delivery, for later follow-ups.
        mid = re.search(r"message_id=(\d+)", line).group(1)
        wait_until(lambda: env.rows("SELECT message_id FROM deliveries WHERE state ="
                                    " 'delivered'") == [(mid,)], 10.0, 0.1, "message id kept")


@case
def discord_huge_and_hostile_runs_stay_within_limits_and_inert():
    with Env("discord", DISCORD_PATH, "<@&42>") as env:
        env.send(1)
        env.send(2)
        posts = env.wait_ok(2)
        assert all(p["status"] == 200 for p in env.posts("discord")), \
            [(p["status"], p["error"]) for p in env.posts("discord")]
        for p in posts:
            b = p["body"]
            assert b["allowed_mentions"] == {"parse": [], "roles": ["42"]}, b
            assert b["content"] == "<@&42>"
            for t in embed_strings(b):
                discord_inert(t)
        huge = [p for p in posts if run_id(1) in p["body"]["embeds"][0]["url"]][0]
        text = "\n".join(strings(huge["body"]))
        assert "more problem steps" in text, text[:500]


@case
def discord_429_waits_for_json_retry_after():
    # A fast pace, so only the hint can hold the retry back (the first
    # backoff is at most 2 s).
    with Env("discord", DISCORD_PATH, "", rate="50") as env:
        # Only the body says how long: 3.5 s, so the retry waits 4 s.
        env.fault("^/discord/", status=429, content_type="application/json",
                  body='{"message": "You are being rate limited.", "retry_after": 3.5, '
                       '"global": false}')
        env.send(0)
        (p,) = env.wait_ok()
        (t429,) = env.log_times("delivery failed, will retry")
        assert p["t"] >= t429 + 3.95, "retry_after 3.5 but re-posted after %.2fs" % (
            p["t"] - t429)


@case
def discord_400_goes_to_dead_letters():
    with Env("discord", DISCORD_PATH, "") as env:
        env.fault("^/discord/", times=2, status=400, content_type="application/json",
                  body='{"code": 50035, "message": "Invalid Form Body"}')
        jid = env.send(0)
        state, attempts, err = env.wait_delivery(jid, "dead")
        assert attempts == 1 and "HTTP 400" in err and "50035" in err, (attempts, err)
        time.sleep(2.5)
        assert env.pending_faults() == 1, "a permanent failure was retried"


@case
def discord_preview_format():
    with Env("discord", DISCORD_PATH, "<@1>") as env:
        rc, out, err = env.cli("preview", PROJECT, run_id(0), "--format", "discord")
        assert rc == 0, err
        body = __import__("json").loads(out[out.index("{"):])
        assert body["embeds"][0]["title"].startswith("\u274c"), body


# ---- incident threads: follow-ups in a forum post, recovery edits ----

FORUM_PATH = "/discord/api/webhooks/7654321/FORUMtoken"


def incident_env(forum, **kw):
    """harness.Env for a series: one Discord destination "chat" (a forum
    channel's webhook with forum = true, else a text channel's)."""
    def sections(mp):
        keys = {"type": "discord", "url": mp + (FORUM_PATH if forum else DISCORD_PATH),
                "allow_any_host": "true", "rate": "20", "forum": "true" if forum else None}
        return {"destination chat": keys,
                "default": {"destinations": "chat", "notify_on": "FAILED", "on_repeat": None,
                            "recovery": None}}
    sc, hooks = series(kw.pop("kinds"))
    if forum:
        sc["discord"] = {"forums": [FORUM_PATH[len("/discord/"):]]}
    return harness.Env(scenario=sc, sections=sections, **kw), hooks


def dcalls(env, method=None):
    return [p for p in env.posts("discord", ok_only=False)
            if method is None or p.get("method") == method]


def wait_dcalls(env, method, n, timeout=20.0):
    try:
        return wait_until(lambda: dcalls(env, method) if len(dcalls(env, method)) >= n
                          else None, timeout, 0.05, "%d discord %s" % (n, method))
    except AssertionError as e:
        raise AssertionError("%s; calls=%s; log:\n%s" % (
            e, [(p.get("method"), p["status"], p.get("error")) for p in dcalls(env)],
            env.svc.log_tail()))


def post_run(env, hook, want=202):
    st, _, body = env.svc.post_webhook(hook)
    assert st == want, "webhook answered %d %s" % (st, body)


def check_resolved_edit(env, first, edit, thread):
    """edit is the one PATCH of first (a post), in thread (None: none)."""
    assert edit["status"] == 200, edit
    assert edit["name"] == first["name"] and edit["message_id"] == first["message_id"], edit
    assert edit["query"].get("thread_id") == thread, edit["query"]
    e, old = edit["body"]["embeds"][0], first["body"]["embeds"][0]
    assert e["title"].startswith("\u2705 Resolved after 2h 00m"), e["title"]
    assert old["title"] in e["title"], (e["title"], old["title"])
    # The details stay: description and every field.
    assert e["description"] == old["description"] and e["fields"] == old["fields"], e
    assert e["url"].startswith("https://") and e["url"] != old["url"], e
    assert "content" not in edit["body"] and "dpc_thread" not in edit["body"], edit["body"]
    metrics = env.svc.get("/metrics")[2].decode()
    assert 'dpc_notify_message_updates_total{destination="chat",result="ok"} 1\n' \
        in metrics, metrics


@case
def discord_forum_fail_fail_succeed_threads_and_edits_the_first():
    env, hooks = incident_env(True, kinds="FFS")
    with env:
        post_run(env, hooks[0])
        (first,) = wait_dcalls(env, "POST", 1)
        assert first["status"] == 200, first
        b = first["body"]
        assert b.get("thread_name") == "prod \u00b7 Finance/load_dwh", b.get("thread_name")
        assert "thread_id" not in first["query"] and "dpc_thread" not in b, first
        thread = first["channel_id"]
        post_run(env, hooks[1])
        second = wait_dcalls(env, "POST", 2)[1]
        assert second["status"] == 200 and second["query"].get("thread_id") == thread, second
        assert "thread_name" not in second["body"], second["body"]
        post_run(env, hooks[2], want=200)
        rec = wait_dcalls(env, "POST", 3)[2]
        assert rec["status"] == 200 and rec["query"].get("thread_id") == thread, rec
        assert "recovered" in rec["body"]["embeds"][0]["title"], rec["body"]
        (edit,) = wait_dcalls(env, "PATCH", 1)
        time.sleep(1.0)
        assert len(dcalls(env, "PATCH")) == 1 and len(dcalls(env, "POST")) == 3
        check_resolved_edit(env, first, edit, thread)
        # The edit comes before the recovery it goes with.
        assert edit["t"] <= rec["t"], (edit["t"], rec["t"])


@case
def discord_text_channel_posts_three_and_edits_the_first():
    env, hooks = incident_env(False, kinds="FFS")
    with env:
        for i, want in enumerate((202, 202, 200)):
            post_run(env, hooks[i], want=want)
            wait_dcalls(env, "POST", i + 1)
        posts = dcalls(env, "POST")
        assert all(p["status"] == 200 for p in posts), posts
        assert not any("thread_id" in p["query"] or "thread_name" in p["body"]
                       for p in posts), posts
        (edit,) = wait_dcalls(env, "PATCH", 1)
        time.sleep(1.0)
        assert len(dcalls(env, "PATCH")) == 1 and len(dcalls(env, "POST")) == 3
        check_resolved_edit(env, posts[0], edit, None)


@case
def discord_forum_restart_after_the_first_still_threads():
    env, hooks = incident_env(True, kinds="FF")
    with env:
        post_run(env, hooks[0])
        thread = wait_dcalls(env, "POST", 1)[0]["channel_id"]
        harness.wait_jobs_done(env, 1)
        env.svc.kill9()
        env.start_service()
        post_run(env, hooks[1])
        second = wait_dcalls(env, "POST", 2)[1]
        assert second["status"] == 200 and second["query"].get("thread_id") == thread, second


@case
def discord_hostile_reply_ids_record_nothing():
    # The first failure's reply (a fault: the mock answers it, records
    # nothing) names unusable ids; nothing may be recorded or spliced.
    for reply in ('{"id": "123456789012345678901", "channel_id": "1"}',
                  '{"id": "1/../../x?", "channel_id": "2"}',
                  '{"id": "123", "channel_id": "9/messages/1?thread_id=1"}',
                  '{"id": "123", "channel_id": "123456789012345678901"}',
                  '{"channel_id": "123"}', '{"id": 123, "channel_id": 456}'):
        env, hooks = incident_env(True, kinds="FFS")
        with env:
            env.fault("^/discord/", status=200, content_type="application/json", body=reply)
            post_run(env, hooks[0])
            env.wait_log(lambda ln: "reply named no usable message id" in ln,
                         "no record for %s" % reply)
            assert env.pending_faults() == 0
            post_run(env, hooks[1])
            wait_dcalls(env, "POST", 1)
            post_run(env, hooks[2], want=200)
            posts = wait_dcalls(env, "POST", 2)
            (edit,) = wait_dcalls(env, "PATCH", 1)
            # Not recorded, the first leaves the second failure to open
            # the incident's forum post; the recovery follows that one.
            first = posts[0]
            assert "thread_id" not in first["query"] and first["body"].get("thread_name"), \
                (reply, first)
            assert posts[1]["query"].get("thread_id") == first["channel_id"], (reply, posts)
            assert edit["message_id"] == first["message_id"], (reply, edit)
            assert edit["query"].get("thread_id") == first["channel_id"], (reply, edit)
            assert [p["status"] for p in dcalls(env)] == [200, 200, 200], (reply, dcalls(env))
            rows = env_rows(env, "SELECT ts, channel FROM threads")
            assert rows == [(first["message_id"], first["channel_id"])], (reply, rows)


def env_rows(env, sql):
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % env.store, uri=True, timeout=5)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


@case
def discord_forum_key_only_for_discord():
    def sections(mp):
        return {"destination chat": {"type": "mattermost", "url": mp + "/mattermost/x",
                                     "allow_any_host": "true", "forum": "true"},
                "default": {"destinations": "chat"}}
    with harness.Env(scenario={}, sections=sections, start=False) as env:
        rc, out, err = env.cli("check-config")
        assert rc != 0 and "forum" in out + err and "discord" in out + err, out + err


if __name__ == "__main__":
    harness.run_all()
