"""Silences and mute windows through the real binary and the mocks: a
silence on the pipeline holds two failures back (webhooks still 202, the
incident counts them), `silence remove` posts one summary of them ("2
failures held back while silenced") to each destination, and the next
failure is a repeat of what the summary told; a silence that runs out
(--until) does the same; an incident that closed while silenced gets no
summary; a service killed (SIGKILL) while the silence runs out posts the
summary once after its restart; a silence on another pipeline holds
nothing; a mute window covering now holds a failure; the CLI's exit codes
and --json listing."""

import copy
import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, case, run_all, scenario, strings, wait_jobs_done  # noqa: E402

# The service looks for ended silences every 5 s; a summary is due by then.
SUMMARY_S = 20.0
HELD = "held back while silenced"

FWC = scenario("failed_with_children")
PROJECT = FWC["webhook"]["projectId"]
ROOT = FWC["webhook"]["pipelineExecutionId"]


def run_id(i):
    return ROOT[:-2] + "%02d" % (10 + i)


def series(n, hour0=2):
    """FWC plus n failed runs of its root pipeline (Finance/load_dwh), an
    hour apart; returns the scenario and their webhooks."""
    sc = copy.deepcopy(FWC)
    root = next(e for e in sc["executions"] if e["id"] == ROOT)
    hooks = []
    for i in range(n):
        e = copy.deepcopy(root)
        e["id"] = run_id(i)
        ex = e["execution"]
        ex["pipelineExecutionId"] = e["id"]
        ex["startedAt"] = "2024-05-01T%02d:00:00.000Z" % (hour0 + i)
        ex["finishedAt"] = "2024-05-01T%02d:14:07.000Z" % (hour0 + i)
        sc["executions"].append(e)
        hooks.append(dict(FWC["webhook"], pipelineExecutionId=e["id"], status=ex["status"]))
    return sc, hooks


def sections(**project):
    """Both destinations, failures only, and run memory's own defaults
    (the harness's on_repeat = full removed)."""
    keys = {"destinations": "slack-main, teams-main", "notify_on": "FAILED",
            "on_repeat": None, "recovery": None}
    keys.update(project)
    return {"default": keys}


def post(env, hook, what):
    st, _, body = env.svc.post_webhook(hook)
    assert st == 202, "%s: webhook answered %d %s" % (what, st, body)


def settle(env, seconds=1.5):
    time.sleep(seconds)
    return env.posts("slack"), env.posts("teams")


def add(env, *args):
    rc, out, err = env.cli("silence", "add", *args)
    assert rc == 0, "silence add %s: rc %d %s %s" % (args, rc, out, err)
    assert re.fullmatch(r"[1-9][0-9]*\n", out), out
    return out.strip()


def incident(env):
    rc, out, err = env.cli("incidents", "--json")
    assert rc == 0, out + err
    inc = json.loads(out)
    assert len(inc) == 1, inc
    return inc[0]


def summary_checks(env, n, reason):
    """Exactly one summary per destination naming n held runs, the reason,
    the incident and the last failed run, with no mention; still one a
    while later. Returns the Slack and Teams posts."""
    s, t = env.wait_posts(1, 1, timeout=SUMMARY_S)
    s, t = settle(env, 6.0)  # past the next look for ended silences
    assert len(s) == 1 and len(t) == 1, "posts: %d slack, %d teams" % (len(s), len(t))
    text = s[0]["body"]["text"]
    want = "%d failure%s %s" % (n, "s" if n > 1 else "", HELD)
    assert want in text and reason in text, text
    assert text.startswith("\U0001f515 "), text
    slack = strings(s[0]["body"]["blocks"])
    assert any("Still failing since" in x for x in slack), slack
    assert any("Last error: " in x for x in slack), slack
    raw = json.dumps(s[0]["body"]) + json.dumps(t[0]["body"])
    assert run_id(n - 1) in raw, "the link is not the last held run's"
    assert "<!" not in raw and "<at>" not in raw, "a summary mentions no one"
    assert any(want in x for x in strings(t[0]["body"])), t[0]["body"]
    return s, t


@case
def silence_holds_then_remove_posts_one_summary():
    sc, hooks = series(3)
    with Env(scenario=sc, sections=sections()) as env:
        sid = add(env, "--pipeline", "load_dwh", "--for", "2h", "--reason", "warehouse upgrade")
        post(env, hooks[0], "1st failure")
        wait_jobs_done(env, 1)
        post(env, hooks[1], "2nd failure")
        wait_jobs_done(env, 2)
        s, t = settle(env, 6.0)
        assert s == [] and t == [], "posted under a silence: %d slack, %d teams" % (len(s), len(t))
        inc = incident(env)
        assert inc["failures"] == 2 and inc["held"] == 2 and not inc["posted"], inc
        metrics = env.svc.get("/metrics")[2].decode()
        assert 'dpc_notify_run_memory_total{outcome="held_silence"} 2\n' in metrics, metrics
        rc, out, err = env.cli("silence", "remove", sid)
        assert rc == 0, out + err
        summary_checks(env, 2, "warehouse upgrade")
        inc = incident(env)
        assert inc["held"] == 0 and inc["posted"], inc
        # The next failure, same error: a repeat of what the summary told.
        post(env, hooks[2], "3rd failure")
        s, t = env.wait_posts(2, 2)
        s, t = settle(env, 1.0)
        assert len(s) == 2 and len(t) == 2, "posts: %d slack, %d teams" % (len(s), len(t))
        assert "failed again" in s[1]["body"]["text"], s[1]["body"]["text"]
        assert not any("held back" in x for x in strings(s[1]["body"]["blocks"]))


def until_in(seconds):
    """An RFC 3339 --until that many seconds from now."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))


@case
def silence_running_out_posts_one_summary():
    sc, hooks = series(1)
    with Env(scenario=sc, sections=sections()) as env:
        add(env, "--pipeline", "load_dwh", "--until", until_in(6), "--reason", "nightly load")
        post(env, hooks[0], "failure")
        wait_jobs_done(env, 1)
        s, t = settle(env, 0.5)
        assert s == [] and t == [], "posted under a silence"
        summary_checks(env, 1, "nightly load")


@case
def incident_closed_while_silenced_posts_nothing():
    sc, hooks = series(2)
    ok = next(e for e in sc["executions"] if e["id"] == run_id(1))
    ok["execution"]["status"] = "SUCCESS"
    hooks[1]["status"] = "SUCCESS"
    with Env(scenario=sc, sections=sections()) as env:
        sid = add(env, "--pipeline", "load_dwh", "--for", "1h", "--reason", "r")
        post(env, hooks[0], "failure")
        wait_jobs_done(env, 1)
        st, _, body = env.svc.post_webhook(hooks[1])
        assert st in (200, 202), "success: %d %s" % (st, body)
        wait_jobs_done(env, 2)
        rc, out, _ = env.cli("incidents", "--json")
        assert rc == 0 and json.loads(out) == [], out
        assert env.cli("silence", "remove", sid)[0] == 0
        s, t = settle(env, 12.0)
        assert s == [] and t == [], "posted for a closed incident: %d, %d" % (len(s), len(t))
        rc, out, _ = env.cli("jobs")
        assert rc == 0 and out.count("\n") >= 2, out


@case
def restart_while_silence_runs_out_posts_once():
    sc, hooks = series(2)
    with Env(scenario=sc, sections=sections()) as env:
        add(env, "--pipeline", "load_dwh", "--until", until_in(10), "--reason", "upgrade")
        post(env, hooks[0], "1st failure")
        wait_jobs_done(env, 1)
        post(env, hooks[1], "2nd failure")
        wait_jobs_done(env, 2)
        env.svc.kill9()
        time.sleep(max(0.0, 11.0))
        env.start_service()
        summary_checks(env, 2, "upgrade")
        # Killed again once it posted: the next start posts nothing more.
        env.svc.kill9()
        env.start_service()
        s, t = settle(env, 7.0)
        assert len(s) == 1 and len(t) == 1, "posts: %d slack, %d teams" % (len(s), len(t))


@case
def silence_on_another_pipeline_or_environment_holds_nothing():
    sc, hooks = series(1)
    with Env(scenario=sc, sections=sections()) as env:
        add(env, "--pipeline", "extract_*", "--for", "1h", "--reason", "other pipeline")
        add(env, "--project", PROJECT, "--environment", "dev*", "--for", "1h", "--reason", "dev")
        post(env, hooks[0], "failure")
        env.wait_posts(1, 1)


@case
def mute_window_covering_now_holds_a_failure():
    sc, hooks = series(1)
    with Env(scenario=sc, sections=sections(mute_windows="daily 00:00-24:00")) as env:
        post(env, hooks[0], "failure")
        s, t = settle(env)
        assert s == [] and t == [], "posted in a mute window"
        inc = incident(env)
        assert inc["held"] == 1, inc


@case
def bad_mute_window_fails_check_config_with_its_line():
    with Env(sections=sections(mute_windows="Sun 25:00-26:00"), start=False) as env:
        rc, out, err = env.cli("check-config")
        assert rc == 1, out + err
        assert re.search(r"dpc-notify\.ini:\d+: mute_windows: mute window 1: ", out), out


@case
def cli_exit_codes_and_json():
    with Env(sections=sections()) as env:
        bad = [
            ("--pipeline", "x", "--for", "999999999d", "--reason", "r"),
            ("--pipeline", "x", "--for", "2h", "--reason", "r" * 201),
            ("--pipeline", "x", "--for", "2h", "--reason", " \n "),
            ("--pipeline", "x\x1b[2J", "--for", "2h", "--reason", "r"),
            ("--pipeline", "x", "--until", "2000-01-01 00:00", "--reason", "r"),
            ("--pipeline", "x", "--until", "tomorrow", "--reason", "r"),
            ("--pipeline", "x", "--for", "2h", "--until", "2099-01-01 00:00", "--reason", "r"),
            ("--pipeline", "x", "--for", "2h"),
            ("--environment", "prod", "--for", "2h", "--reason", "r"),
            ("--pipeline", "x", "--pipeline", "y", "--for", "2h", "--reason", "r"),
            ("--pipeline", "x", "--for", "2h", "--reason", "r", "--bogus"),
        ]
        for args in bad:
            rc, out, err = env.cli("silence", "add", *args)
            assert rc == 2 and out == "", "accepted %r: rc %d %s %s" % (args, rc, out, err)
        a = add(env, "--project", PROJECT, "--pipeline", "Finance/*", "--environment", "prod",
                "--for", "90d", "--reason", "  quarter\nend \x07 ")
        soon = time.strftime("%Y-%m-%d %H:%M", time.gmtime(time.time() + 30 * 86400))
        b = add(env, "--pipeline", "load_*", "--until", soon, "--reason", "r")
        assert b == "2", b
        rc, out, err = env.cli("silence", "list", "--json")
        assert rc == 0, out + err
        rows = json.loads(out)
        assert [r["id"] for r in rows] == [int(a), 2], rows
        r = rows[0]
        assert r["state"] == "active" and r["project_id"] == PROJECT, r
        assert r["pipeline"] == "Finance/*" and r["environment"] == "prod", r
        assert r["reason"] == "quarter end \ufffd", r
        assert r["end_ms"] - r["start_ms"] == 90 * 86400 * 1000, r
        assert r["removed"] is None, r
        assert env.cli("silence", "remove", a)[0] == 0
        assert env.cli("silence", "remove", a)[0] == 1
        assert env.cli("silence", "remove", "999")[0] == 1
        assert env.cli("silence", "remove", "-1")[0] == 2
        assert env.cli("silence", "remove", "x")[0] == 2
        assert env.cli("silence", "frobnicate")[0] == 2
        rc, out, _ = env.cli("silence", "list", "--json")
        assert [r["id"] for r in json.loads(out)] == [2], out
        rc, out, _ = env.cli("silence", "list", "--all", "--json")
        states = {r["id"]: r["state"] for r in json.loads(out)}
        assert states == {int(a): "removed", 2: "active"}, states
        rc, out, _ = env.cli("silence", "list")
        assert rc == 0 and out.startswith("ID ") and "load_*" in out, out


if __name__ == "__main__":
    run_all()
