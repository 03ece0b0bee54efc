"""Contract test against Matillion's published OpenAPI for the steps
endpoint: Stoplight Prism (pinned in tests/contract/package.json) mocks it
from the spec and validates every request dpc-notify makes. The mock server
serves the token and the execution itself and relays /steps to Prism.
Static mode replays the spec's examples (which are themselves off-schema in
places); dynamic mode (-d) invents data, so dpc-notify must survive any
schema-shaped response without crashing."""

import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (REPO, Mock, case, crashed, free_port, run_all, run_cli, scenario,  # noqa: E402
                     spawn, stop_process, tail, tmpdir, wait_until, write_config)

CONTRACT_DIR = os.path.join(REPO, "tests", "contract")
PRISM = os.path.join(CONTRACT_DIR, "node_modules", ".bin", "prism")
SPEC = os.environ.get("DPC_STEPS_SPEC") or os.path.join(
    os.path.dirname(REPO), "shared", "spec", "maia-pipeline-steps.openapi.yaml")
SC = scenario("contract")
PROJECT = SC["webhook"]["projectId"]
EXEC = SC["webhook"]["pipelineExecutionId"]
DYNAMIC_RUNS = 20
STATIC_RUNS = 3


def ensure_prism():
    if os.access(PRISM, os.X_OK):
        return
    p = subprocess.run(["npm", "ci", "--prefix", CONTRACT_DIR, "--no-audit", "--no-fund"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=600,
                       env=dict(os.environ, SCARF_ANALYTICS="false"))
    if p.returncode != 0 or not os.access(PRISM, os.X_OK):
        raise AssertionError("npm ci failed (%d): %s" % (
            p.returncode, p.stderr.decode("utf-8", "replace")[-1500:]))


class Prism:
    def __init__(self, d, dynamic, spec=None):
        self.port = free_port()
        self.log = os.path.join(d, "prism-%s.log" % ("dynamic" if dynamic else "static"))
        self.argv = [PRISM, "mock", "-h", "127.0.0.1", "-p", str(self.port), spec or SPEC]
        if dynamic:
            self.argv.append("-d")
        self.proc = None

    def __enter__(self):
        env = dict(os.environ, SCARF_ANALYTICS="false", NO_COLOR="1", FORCE_COLOR="0")
        self.proc = spawn(self.argv, self.log, env=env, cwd=CONTRACT_DIR)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("prism exited %s:\n%s" % (self.proc.returncode,
                                                               tail(self.log)))
            return "Prism is listening" in tail(self.log, 200)
        try:
            wait_until(up, 90, 0.2, "prism to listen")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        stop_process(self.proc, grace=5)

    def request_violations(self):
        """Log lines where Prism says one of OUR requests broke the spec.
        Response violations are Prism's own invented data, not ours."""
        text = tail(self.log, 100000)
        return [ln for ln in text.splitlines()
                if re.search(r"Violation: request", ln)
                or re.search(r"Request did not pass the validation rules", ln)]


def run_previews(dynamic, runs):
    ensure_prism()
    assert os.path.exists(SPEC), "spec not found: %s" % SPEC
    d = tmpdir()
    with Prism(d, dynamic) as prism:
        with Mock("contract", tmpdir=d, upstream="http://127.0.0.1:%d" % prism.port) as m:
            cfg = write_config(d, m.port, sections={"matillion": {
                "max_api_calls": "20", "max_child_depth": "3"}})
            fmts = ("text", "slack", "teams")
            for i in range(runs):
                rc, out, err = run_cli(["-c", cfg.path, "preview", PROJECT, EXEC,
                                        "--format", fmts[i % 3]], timeout=120)
                assert not crashed(rc), "run %d crashed (rc %d):\n%s" % (i, rc, err[-2000:])
                assert rc == 0 or err.strip(), "run %d: exit %d without a message" % (i, rc)
            calls = m.calls()
            assert m.recorded() == [], "preview posted to chat"
        relayed = [c for c in calls if c.get("upstream")]
        assert relayed, "no steps call reached Prism: %s" % [c["path"] for c in calls]
        ours = [(c["path"], c["raw_query"], v) for c in relayed for v in c["violations"]
                if v.get("location", [""])[0] == "request"]
        assert not ours, "Prism flagged our requests: %s" % ours[:5]
        logged = prism.request_violations()
        assert not logged, "Prism log shows request violations:\n%s" % "\n".join(logged[:10])
        sizes = {c["query"].get("size") for c in relayed}
        assert sizes == {"100"}, "steps size must be 100: %s" % sizes


@case
def prism_static_examples():
    run_previews(False, STATIC_RUNS)


@case
def prism_dynamic_fuzz():
    run_previews(True, DYNAMIC_RUNS)


# --- the execution list (the poller) ------------------------------------
# The list endpoint's spec is ours (tests/contract/, from Matillion's public
# reference page). The service polls one project every second; the mock
# relays each list call to Prism, which checks it. Dynamic mode invents
# pages (with "more" tokens to follow) the poller must survive.

LIST_SPEC = os.path.join(CONTRACT_DIR, "maia-pipeline-executions.openapi.yaml")
LIST_PROJECT = "0e6a1c52-2b7d-4c3f-8a9e-1f2d3c4b5a69"


def run_poller(dynamic, calls):
    from harness import Service
    ensure_prism()
    d = tmpdir()
    with Prism(d, dynamic, spec=LIST_SPEC) as prism:
        with Mock("contract", tmpdir=d, upstream="http://127.0.0.1:%d" % prism.port) as m:
            cfg = write_config(d, m.port, sections={
                "poll": {"interval": "1"}, "default": None,
                "project " + LIST_PROJECT: {"destinations": "slack-main"}})
            with Service(cfg) as svc:
                def relayed():
                    return [c for c in m.calls() if c.get("upstream")
                            and c["path"] == "/dpc/v1/pipeline-executions"]
                wait_until(lambda: len(relayed()) >= calls, 60, 0.2,
                           "%d list calls relayed" % calls)
                assert svc.alive(), "service died:\n%s" % svc.log_tail()
                got = relayed()
    ours = [(c["raw_query"], v) for c in got for v in c["violations"]
            if v.get("location", [""])[0] == "request"]
    assert not ours, "Prism flagged our list requests: %s" % ours[:5]
    logged = prism.request_violations()
    assert not logged, "Prism log shows request violations:\n%s" % "\n".join(logged[:10])
    for c in got:
        q = c["query"]
        assert q.get("projectId") == LIST_PROJECT and q.get("limit") == "100", q
    if dynamic:
        assert any("paginationToken" in c["query"] for c in got), "no token followed"


@case
def prism_list_static_examples():
    run_poller(False, 3)


@case
def prism_list_dynamic_fuzz():
    run_poller(True, 20)


if __name__ == "__main__":
    run_all()
