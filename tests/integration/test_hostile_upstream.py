"""A hostile Matillion side, end to end against the real $BUILD/dpc-notify
and tests/mock/mock_server.py: a token endpoint that hands out an access
token built to inject headers and smuggle a second request, and an API
whose steps name child runs with ids that would leave the executions path.
Neither may reach the wire; the notification still goes out, degraded or
with a note saying what was skipped."""

import json
import os
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import accepted, case, run_all, strings  # noqa: E402

PROJECT = "40571e00-0000-4000-8000-000000000b0b"
RUN = "40571e00-0000-4000-8000-000000000001"
CHILD = "40571e00-0000-4000-8000-0000000000c1"
EXEC_PREFIX = "/dpc/v1/projects/%s/pipeline-executions/" % PROJECT
SETTLE = 1.0  # seconds to wait for something that must NOT happen
BAD_TOKEN = "token response: access_token has characters not allowed in a bearer token"


def step(sid, name, status, message=None, child=None):
    s = {"id": sid, "name": name,
         "result": {"status": status, "startedAt": "2024-05-01T02:00:00.000Z",
                    "finishedAt": "2024-05-01T02:00:01.000Z"}}
    if message:
        s["result"]["message"] = message
    if child:
        s["childPipeline"] = {"id": child, "name": "%s.orch.yaml" % name}
    return s


def scenario(root_steps, extra=()):
    """One failed run with root_steps, plus extra executions."""
    ex = [{"projectId": PROJECT, "id": RUN, "steps": root_steps,
           "execution": {"pipelineName": "Hostile/root.orch.yaml", "environmentName": "prod",
                         "status": "FAILED", "trigger": "SCHEDULE",
                         "startedAt": "2024-05-01T02:00:00.000Z",
                         "finishedAt": "2024-05-01T02:01:00.000Z"}}]
    return {"executions": ex + list(extra)}


WEBHOOK = {"projectId": PROJECT, "pipelineExecutionId": RUN,
           "pipelineName": "Hostile/root.orch.yaml", "environmentName": "prod",
           "status": "FAILED"}


class Env(harness.Env):
    """A mock with the given scenario and a service against it that gives
    up after two attempts (max_attempts 2)."""

    def __init__(self, sc):
        super().__init__(None, scenario=sc, sections={"delivery": {"max_attempts": "2"}})

    def send(self):
        return accepted(*self.svc.post_webhook(WEBHOOK)[::2])

    def api_calls(self):
        return [c for c in self.mock.calls() if c["path"].startswith("/dpc/")]


def text_of(post):
    """Every string of a post, Markdown escapes (Teams) removed."""
    return "\n".join(strings(post["body"])).replace("\\", "")


def injected(call):
    return any(k.lower() == "x-injected" for k in call.get("headers", {}))


@case
def token_with_crlf_never_reaches_a_request():
    # CRLF to add a header, then a blank line and a second request that a
    # keep-alive connection would read as the next one.
    tok = ("mock-token-1\r\nX-Injected: yes\r\nContent-Length: 0\r\n\r\n"
           "GET /dpc/smuggled HTTP/1.1\r\nHost: x\r\nX-Injected: yes\r\nX-Pad: ")
    body = json.dumps({"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
    with Env(scenario([step("s1", "Load", "FAILED", "boom")])) as env:
        env.fault("^/oauth/dpc/token$", times=100, method="POST", status=200,
                  content_type="application/json", body=body)
        env.send()
        s, t = env.wait_posts(1, 1)
        time.sleep(SETTLE)
        calls = env.mock.calls()
        assert not [c for c in calls if injected(c)], \
            "injected header reached the mock: %s" % [c["path"] for c in calls if injected(c)]
        assert not [c for c in calls if "smuggled" in c["path"]], "a smuggled request arrived"
        assert not env.api_calls(), "API called with a refused token: %s" % env.api_calls()
        # Retried like any token failure: one token request per attempt.
        tokens = [c for c in calls if c["path"] == "/oauth/dpc/token"]
        assert len(tokens) == 2, "token requests: %d" % len(tokens)
        for p in s + t:
            text = text_of(p)
            # The reader gets the plain reason; the technical one stays
            # in the log and the job's error.
            assert "answered something dpc-notify could not read" in text, text[:800]
            assert BAD_TOKEN not in text and "details will follow" not in text, text[:800]
            assert "X-Injected" not in text and "mock-token-1" not in text, text[:800]
        failed = env.wait_log(lambda ln: 'msg="dpc: token request failed"' in ln and
                              BAD_TOKEN in ln, "token failure logged")
        assert len(failed) >= 2, failed
        log = env.log().decode("utf-8", "replace")
        assert "X-Injected" not in log and "mock-token-1" not in log, "token text logged"


@case
def child_with_dot_id_is_skipped_with_a_note():
    root = [step("s1", "Start", "SUCCESS"),
            step("s2", "Run Evil", "FAILED", "child failed", child=".."),
            step("s3", "Run Dot", "FAILED", "child failed", child="."),
            step("s4", "Run Good", "FAILED", "child failed", child=CHILD)]
    good = {"projectId": PROJECT, "id": CHILD,
            "steps": [step("c1", "Child Load", "FAILED", "child boom")],
            "execution": {"pipelineName": "Hostile/child.orch.yaml", "status": "FAILED"}}
    allowed = {EXEC_PREFIX + RUN, EXEC_PREFIX + RUN + "/steps", EXEC_PREFIX + CHILD + "/steps"}
    with Env(scenario(root, [good])) as env:
        env.send()
        s, t = env.wait_posts(1, 1)
        time.sleep(SETTLE)
        paths = [c["path"] for c in env.api_calls()]
        assert set(paths) <= allowed, "requests outside the run's paths: %s" % \
            sorted(set(paths) - allowed)
        assert EXEC_PREFIX + CHILD + "/steps" in paths, "the valid child was not fetched"
        assert len(s) == 1 and len(t) == 1, "posts: %d slack, %d teams" % (len(s), len(t))
        for p in s + t:
            text = text_of(p)
            assert "2 child runs with an invalid id skipped" in text, text[:1200]
            assert "child boom" in text, "valid child's failure missing: " + text[:1200]
            assert "Matillion's API" not in text, text[:800]
        env.wait_log(lambda ln: 'msg="dpc: child run with an invalid id skipped"' in ln,
                     "skip logged")


if __name__ == "__main__":
    run_all()
