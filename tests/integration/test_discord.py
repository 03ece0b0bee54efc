"""Discord destinations end to end: the real dpc-notify against the mock's
Discord sink (204, or 200 with the message under ?wait=true; 400 code
50035 for an over-limit body). A failure posts an embed with only the
configured mention allowed; a huge run stays within Discord's limits (the
mock refuses anything over them); hostile text stays inert; a 429 is
retried after the wait its JSON body asks for; a 400 goes to dead letters;
preview --format discord renders the same body. Helpers are shared with
test_mattermost.py."""

import os
import re
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import accepted, case, strings, wait_until  # noqa: E402

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


if __name__ == "__main__":
    harness.run_all()
