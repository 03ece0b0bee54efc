"""Poll-only mode and the admin listener (issue 17, item 2), and a route's
triggers (item 4), through the real binary.

With listen = off nothing listens on the webhook port, and /healthz,
/readyz, /metrics (and /-/reload when enabled) answer on admin_listen,
whose /webhook is a 404; `healthcheck` finds the admin listener; no webhook
credentials are needed. Both listeners may run at once. check-config
refuses a config where nothing would serve the probes or both listeners
want one socket. A loopback admin listener in a container is warned
about. A route with triggers = SCHEDULE posts a failed SCHEDULE run and
only remembers a failed DESIGNER run (the trigger comes from the API's
execution details, as the worker reads it)."""

import copy
import errno
import json
import os
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (Env, accepted, case, free_port, request, run_all, run_cli,  # noqa: E402
                     scenario, tmpdir, wait_jobs_done, write_config)

RELOAD_TOKEN = "reload-token-0123456789abcdef"


def refused(port):
    """True when nothing accepts a TCP connection on 127.0.0.1:port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2.0)
    try:
        return s.connect_ex(("127.0.0.1", port)) == errno.ECONNREFUSED
    finally:
        s.close()


class PollOnly(Env):
    """The service with listen = off and an admin listener on a free
    loopback port (the harness waits for /readyz there). webhook_port is
    the port listen would have used: nothing may be bound to it."""

    def __init__(self, container="0", server=None, **kw):
        self.admin_port = free_port()
        self.webhook_port = free_port()
        srv = {"listen": "off", "admin_listen": "127.0.0.1:%d" % self.admin_port,
               "auth_token": None}
        srv.update(server or {})
        super().__init__("failed_with_children", start=False, port=self.admin_port,
                         server=srv, **kw)
        self.container = container

    def __enter__(self):
        super().__enter__()
        old = os.environ.get("DPC_NOTIFY_CONTAINER")
        os.environ["DPC_NOTIFY_CONTAINER"] = self.container
        try:
            self.start_service()
        except BaseException:
            self.__exit__()
            raise
        finally:
            if old is None:
                del os.environ["DPC_NOTIFY_CONTAINER"]
            else:
                os.environ["DPC_NOTIFY_CONTAINER"] = old
        return self


def get(port, path):
    st, hd, body = request("GET", port, path)
    return st, hd, body.decode("utf-8", "replace")


# --- poll-only mode ---------------------------------------------------------

@case
def listen_off_serves_probes_only_on_admin():
    with PollOnly() as env:
        assert refused(env.webhook_port), "something listens on the webhook port"
        st, _, body = get(env.admin_port, "/healthz")
        assert st == 200 and '"ok"' in body, (st, body)
        st, _, body = get(env.admin_port, "/readyz")
        assert st == 200 and '"ready"' in body, (st, body)
        st, hd, body = get(env.admin_port, "/metrics")
        assert st == 200 and "dpc_notify_webhooks_total" in body, (st, body[:300])
        assert hd["content-type"].startswith("text/plain"), hd
        line = env.wait_log(lambda ln: "dpc-notify started" in ln, "start line")[0]
        assert "listen=off" in line and "admin_listen=127.0.0.1:%d" % env.admin_port in line, \
            line


@case
def admin_listener_has_no_webhook():
    with PollOnly() as env:
        hook = scenario("failed_with_children")["webhook"]
        for method in ("POST", "GET"):
            st, _, body = request(method, env.admin_port, "/webhook", hook,
                                  {"Authorization": "Bearer " + harness.AUTH_TOKEN})
            assert st == 404, (method, st, body)
        assert env.posts() == [] and env.mock.calls() == [], env.mock.calls()
        st, _, body = get(env.admin_port, "/metrics")
        assert 'dpc_notify_webhooks_total{outcome="accepted"} 0' in body, body[:2000]


@case
def healthcheck_finds_the_admin_listener():
    with PollOnly() as env:
        rc, out, err = env.cli("healthcheck")
        assert rc == 0 and "healthz: ok" in out, (rc, out, err)
    # The service stopped: the same check now fails.
    rc, out, err = env.cli("healthcheck")
    assert rc == 1, (rc, out, err)


@case
def reload_endpoint_on_the_admin_listener():
    with PollOnly(server={"reload_endpoint": "true", "reload_token": RELOAD_TOKEN}) as env:
        st, _, _ = request("POST", env.admin_port, "/-/reload", b"")
        assert st == 401, st
        st, _, body = request("POST", env.admin_port, "/-/reload", b"",
                              {"Authorization": "Bearer " + RELOAD_TOKEN})
        assert st == 200 and b"reloaded" in body, (st, body)


@case
def poll_only_stops_cleanly_on_sigterm():
    with PollOnly() as env:
        env.svc.proc.send_signal(signal.SIGTERM)
        rc = env.svc.proc.wait(timeout=15)
        assert rc == 0, (rc, env.svc.log_tail())
        env.svc.proc = None


@case
def loopback_admin_in_container_warns():
    with PollOnly(container="1") as env:
        env.wait_log(lambda ln: "dpc-notify started" in ln, "start line")
        warn = [ln for ln in env.log_lines() if "level=warn" in ln and "container" in ln]
        assert len(warn) == 1 and "admin_listen" in warn[0], env.svc.log_tail()
        assert "0.0.0.0:9091" in warn[0], warn[0]
    with PollOnly(container="0") as env:
        env.wait_log(lambda ln: "dpc-notify started" in ln, "start line")
        warn = [ln for ln in env.log_lines() if "level=warn" in ln and "container" in ln]
        assert warn == [], warn


# --- both listeners ---------------------------------------------------------

@case
def admin_alongside_the_webhook_listener():
    admin = free_port()
    with Env("failed_with_children", server={"admin_listen": "127.0.0.1:%d" % admin}) as env:
        for port in (env.cfg.port, admin):
            st, _, body = get(port, "/readyz")
            assert st == 200, (port, st, body)
            st, _, body = get(port, "/metrics")
            assert st == 200 and "dpc_notify_" in body, (port, st)
        hook = scenario("failed_with_children")["webhook"]
        st, _, body = request("POST", admin, "/webhook", hook,
                              {"Authorization": "Bearer " + harness.AUTH_TOKEN})
        assert st == 404, (st, body)
        accepted(*env.svc.post_webhook(hook)[::2])
        env.wait_posts(1, 1)
        rc, out, err = env.cli("healthcheck")
        assert rc == 0, (rc, out, err)


# --- check-config -----------------------------------------------------------

def check_config(poll=None, **server):
    d = tmpdir()
    cfg = write_config(d, server=server, **({"poll": poll} if poll else {}))
    rc, out, err = run_cli(["-c", cfg.path, "check-config"])
    return rc, out + err, cfg.path


@case
def check_config_refuses_no_probe_listener_and_one_socket():
    rc, out, _ = check_config(listen="off", admin_listen="none")
    assert rc != 0 and "listen = off and admin_listen = off" in out, (rc, out)
    rc, out, _ = check_config(listen="127.0.0.1:18080", admin_listen="127.0.0.1:18080")
    assert rc != 0 and "admin_listen: same address and port as listen" in out, (rc, out)
    rc, out, _ = check_config(listen="OFF", auth_token=None)
    assert rc == 0, out
    assert "listen:       off (no webhook listener)" in out, out
    assert "admin:        127.0.0.1:9091 (probes, metrics; no webhooks)" in out, out
    # Only [default]: a new store has no project to poll.
    assert "polling lists only projects the store has already seen" in out, out
    # With neither a listener nor polling no run could arrive.
    rc, out, _ = check_config(listen="off", auth_token=None, poll={"enabled": "false"})
    assert rc != 0 and "listen = off and [poll] enabled = false" in out, (rc, out)


POLL_PROJECT = "e0000000-0000-4000-8000-0000000000b2"
POLL_RUN = "d0000000-0000-4000-8000-0000000000b2"


@case
def poll_only_mode_notifies_by_polling():
    """listen = off: nothing listens for webhooks, yet a failed run the API
    lists is posted, found by polling; no project warning once a project
    is named."""
    with PollOnly(sections={"poll": {"interval": "1"},
                            "project " + POLL_PROJECT: {"destinations": "slack-main",
                                                        "notify_on": "FAILED"}}) as env:
        run = {"projectId": POLL_PROJECT, "id": POLL_RUN, "status": "FAILED",
               "pipelineName": "poll/only.orch.yaml", "started_ago": 30, "finished_ago": 10,
               "steps": [{"id": "c0000000-0000-4000-8000-0000000000b2", "name": "Load",
                          "result": {"status": "FAILED", "message": "table LOCKED",
                                     "startedAt": "2024-05-01T02:00:00.000Z",
                                     "finishedAt": "2024-05-01T02:00:01.000Z"}}]}
        st, _, _ = request("POST", env.mock.port, "/_runs", run)
        assert st == 200, st
        harness.wait_until(lambda: [p for p in env.posts("slack")
                                    if POLL_RUN in repr(p["body"])],
                           15, 0.1, "the polled run's post")
        assert refused(env.webhook_port), "something listens on the webhook port"
        assert any("run found by polling" in ln for ln in env.log_lines())
        assert not any("polling lists only projects" in ln for ln in env.log_lines())


# --- triggers ---------------------------------------------------------------

FWC = scenario("failed_with_children")
PROJECT = FWC["webhook"]["projectId"]
ROOT = FWC["webhook"]["pipelineExecutionId"]
DESIGNER_RUN = ROOT[:-2] + "e1"


def with_designer_run():
    """FWC plus a failed run of the same pipeline started in the Designer
    (the API's execution details say trigger DESIGNER)."""
    sc = copy.deepcopy(FWC)
    root = next(e for e in sc["executions"] if e["id"] == ROOT)
    run = copy.deepcopy(root)
    run["id"] = DESIGNER_RUN
    run["execution"]["pipelineExecutionId"] = DESIGNER_RUN
    run["execution"]["trigger"] = "DESIGNER"
    run["execution"]["user"] = "someone@example.com"
    assert root["execution"]["trigger"] == "SCHEDULE"
    sc["executions"].append(run)
    return sc


def schedule_only(base):
    return {"destination teams-main": None,
            "default": {"destinations": "slack-main", "on_repeat": "full",
                        "triggers": "SCHEDULE"}}


@case
def triggers_schedule_posts_schedule_runs_only():
    with Env(scenario=with_designer_run(), sections=schedule_only) as env:
        st, _, body = env.svc.post_webhook(dict(FWC["webhook"],
                                                pipelineExecutionId=DESIGNER_RUN))
        accepted(st, body)
        wait_jobs_done(env, 1)
        line = env.wait_log(lambda ln: "not notified: trigger DESIGNER excluded by route"
                            " [default]" in ln, "exclusion logged")[0]
        assert "level=info" in line, line
        accepted(*env.svc.post_webhook(FWC["webhook"])[::2])
        env.wait_posts(1, 0)
        wait_jobs_done(env, 2)
        time.sleep(1.0)
        posts = env.posts("slack")
        assert len(posts) == 1, [str(p["body"])[:200] for p in posts]
        assert ROOT in str(posts[0]["body"]) and DESIGNER_RUN not in str(posts[0]["body"])
        st, _, metrics = get(env.cfg.port, "/metrics")
        assert 'dpc_notify_run_memory_total{outcome="trigger_excluded"} 1\n' in metrics, \
            metrics
        # Run memory has the Designer run.
        rc, out, err = env.cli("history", PROJECT, "Finance/load_dwh", "--json")
        assert rc == 0 and DESIGNER_RUN in out and "DESIGNER" in out, (rc, out, err)
        # The Designer failure opened no incident: the Schedule run's
        # message opened it, with one failure.
        rc, out, err = env.cli("incidents", "--open", "--json")
        assert rc == 0, err
        inc = json.loads(out)
        assert len(inc) == 1 and inc[0]["failures"] == 1, inc
        rc, out, err = env.cli("preview", PROJECT, DESIGNER_RUN)
        assert rc == 0, err
        assert "not notified via [default]: trigger DESIGNER excluded by triggers (SCHEDULE)" \
            in err, err


@case
def triggers_default_posts_designer_runs():
    def sections(base):
        return {"destination teams-main": None,
                "default": {"destinations": "slack-main", "on_repeat": "full"}}
    with Env(scenario=with_designer_run(), sections=sections) as env:
        accepted(*env.svc.post_webhook(dict(FWC["webhook"],
                                            pipelineExecutionId=DESIGNER_RUN))[::2])
        env.wait_posts(1, 0)
        assert DESIGNER_RUN in str(env.posts("slack")[0]["body"])


if __name__ == "__main__":
    run_all()
