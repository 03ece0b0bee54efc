"""Routing by environment and pipeline, through the real serve path: one
project's prod run goes to one destination and its dev run to another
([route NAME] sections); a webhook that does not name the environment is
stored for every route still open and the worker posts only to the route
the API's environment picks; when the API cannot say (degraded notice) the
notice goes to every open route rather than to none; check-config prints
the routing table."""

import copy
import os
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, accepted, case, run_all, scenario, wait_jobs_done  # noqa: E402

FWC = scenario("failed_with_children")
PROJECT = FWC["webhook"]["projectId"]
ROOT = FWC["webhook"]["pipelineExecutionId"]
DEV_RUN = ROOT[:-2] + "d1"
SETTLE = 1.5


def two_envs():
    """FWC with a second failed root run of the same pipeline in dev."""
    sc = copy.deepcopy(FWC)
    root = next(e for e in sc["executions"] if e["id"] == ROOT)
    dev = copy.deepcopy(root)
    dev["id"] = DEV_RUN
    dev["execution"]["pipelineExecutionId"] = DEV_RUN
    dev["execution"]["environmentName"] = "dev-eu"
    sc["executions"].append(dev)
    return sc


def sections(base):
    """Two Slack destinations on the mock; a fallback [project] section and
    a route per environment; no [default] and no Teams."""
    return {
        "destination teams-main": None,
        "destination slack-main": None,
        "default": None,
        "destination slack-prod": {"type": "slack", "url": base + "/slack/T0AAA/B0BBB/prod-hook"},
        "destination slack-dev": {"type": "slack", "url": base + "/slack/T0AAA/B0BBB/dev-hook"},
        "project " + PROJECT: {"destinations": "slack-prod", "on_repeat": "full"},
        "route dev": {"project": PROJECT, "environments": "dev*", "destinations": "slack-dev"},
        "route prod": {"project": PROJECT, "environments": "prod*",
                       "destinations": "slack-prod"},
    }


def by_hook(env):
    """Posts per destination, by the hook's last path segment."""
    out = {}
    for p in env.posts("slack"):
        out.setdefault(p["name"].rsplit("/", 1)[-1], []).append(p)
    return out


def hook_for(run, env_name=None):
    h = dict(FWC["webhook"], pipelineExecutionId=run)
    if env_name is None:
        h.pop("environmentName", None)
    else:
        h["environmentName"] = env_name
    return h


def names_run(post, run):
    return run in str(post["body"])


@case
def preview_names_the_route_a_run_takes():
    with Env(scenario=two_envs(), sections=sections, start=False) as env:
        rc, _, err = env.cli("preview", PROJECT, DEV_RUN, "--format", "text")
        assert rc == 0, err
        assert "notify via [route dev]" in err and "-> slack-dev" in err, err
        assert "-> slack-prod" not in err, err
        rc, _, err = env.cli("preview", PROJECT, ROOT, "--format", "text")
        assert rc == 0, err
        assert "notify via [route prod]" in err and "-> slack-prod" in err, err


@case
def prod_and_dev_runs_go_to_their_own_destinations():
    with Env(scenario=two_envs(), sections=sections) as env:
        accepted(*env.svc.post_webhook(hook_for(ROOT, "prod"))[::2])
        accepted(*env.svc.post_webhook(hook_for(DEV_RUN, "dev-eu"))[::2])
        env.wait_posts(2, 0)
        wait_jobs_done(env, 2)
        time.sleep(SETTLE)
        got = by_hook(env)
        assert sorted(got) == ["dev-hook", "prod-hook"], got.keys()
        assert len(got["prod-hook"]) == 1 and len(got["dev-hook"]) == 1, \
            {k: len(v) for k, v in got.items()}
        assert names_run(got["prod-hook"][0], ROOT), got["prod-hook"][0]["body"]
        assert names_run(got["dev-hook"][0], DEV_RUN), got["dev-hook"][0]["body"]
        rc, out, err = env.cli("check-config")
        assert rc == 0, out + err
        assert "routing:" in out, out
        rows = [ln.split() for ln in out.splitlines()]
        assert ["1", "dev", PROJECT, "dev*", "(all)", "slack-dev", "FAILED", "(all)",
                "(none)"] in rows, out
        assert ["2", "prod", PROJECT, "prod*", "(all)", "slack-prod", "FAILED", "(all)",
                "(none)"] in rows, out


@case
def webhook_without_environment_routed_by_the_api():
    """The dev run's webhook names no environment: intake keeps it for
    every open route, the API says dev-eu, only the dev hook is posted and
    the job ends delivered."""
    with Env(scenario=two_envs(), sections=sections) as env:
        accepted(*env.svc.post_webhook(hook_for(DEV_RUN))[::2])
        env.wait_posts(1, 0)
        wait_jobs_done(env, 1)
        time.sleep(SETTLE)
        got = by_hook(env)
        assert list(got) == ["dev-hook"], {k: len(v) for k, v in got.items()}
        assert len(got["dev-hook"]) == 1
        rc, out, err = env.cli("jobs")
        assert rc == 0, out + err
        assert "delivered" in out and "dead" not in out, out


@case
def degraded_notice_without_environment_goes_to_every_open_route():
    """The API refuses the run and the webhook names no environment: the
    notice cannot be routed by environment, so both routes (and the
    project's own destination) hear of it; none is dropped."""
    with Env(scenario=two_envs(), sections=sections) as env:
        env.fault(r"/pipeline-executions/" + DEV_RUN, times=100, status=404,
                  body={"status": 404, "title": "Not Found"})
        accepted(*env.svc.post_webhook(hook_for(DEV_RUN))[::2])
        env.wait_posts(2, 0)
        wait_jobs_done(env, 1)
        time.sleep(SETTLE)
        got = by_hook(env)
        assert sorted(got) == ["dev-hook", "prod-hook"], {k: len(v) for k, v in got.items()}
        assert all(len(v) == 1 for v in got.values()), {k: len(v) for k, v in got.items()}


@case
def check_config_names_a_bad_route_with_its_line():
    def bad(base):
        s = sections(base)
        s["route dev"]["destinations"] = "slack-dev, nowhere"
        return s
    with Env(start=False, scenario=two_envs(), sections=bad) as env:
        rc, out, err = env.cli("check-config")
        assert rc != 0, out + err
        with open(env.cfg.path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        line = next(i for i, ln in enumerate(lines, 1) if "nowhere" in ln)
        want = '%s:%d: route dev: unknown destination "nowhere"' % (env.cfg.path, line)
        assert want in out + err, out + err


if __name__ == "__main__":
    run_all()
