"""The generic JSON webhook (type = json) end to end: the real dpc-notify
posts signed events to the mock's /json/ receiver. Each posted body and its
headers are checked with the Python example of docs/webhook-schema.md (run
as written, standard library only) and against the JSON Schema
(docs/dpc-notify-event.schema.json, Ajv from tests/contract); the golden
bodies are checked against the schema too. Retries keep the webhook-id,
429 waits Retry-After, 400 goes to dead letters, a json destination without
a secret is refused."""

import base64
import json
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import REPO, case, run_all, scenario, wait_until  # noqa: E402

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SCHEMA = os.path.join(REPO, "docs", "dpc-notify-event.schema.json")
DOC = os.path.join(REPO, "docs", "webhook-schema.md")
CONTRACT_DIR = os.path.join(REPO, "tests", "contract")
VALIDATOR = os.path.join(CONTRACT_DIR, "validate-event.js")
MAX_BYTES = 262144


def sections(mp, secret=SECRET, **dest):
    d = {"type": "json", "url": mp + "/json/hook", "secret": secret}
    d.update(dest)
    return {"destination json-main": d,
            "destination slack-main": None, "destination teams-main": None,
            "default": {"destinations": "json-main", "notify_on": "FAILED",
                        "on_repeat": "full"}}


class Env(harness.Env):
    WAIT_POSTS_S = 25.0

    def __init__(self, scenario_name="failed_with_children", sc=None, secret=SECRET,
                 start=True, **dest):
        super().__init__(scenario_name if sc is None else None, scenario=sc,
                         sections=lambda mp: sections(mp, secret, **dest), start=start)
        self.sc_name = scenario_name

    def send(self, body=None):
        body = body or scenario(self.sc_name)["webhook"]
        st, _, _ = self.svc.post_webhook(body)
        assert st == 202, st

    def wait_json(self, n=1, timeout=None):
        try:
            return wait_until(lambda: (lambda p: p if len(p) >= n else None)(
                self.posts("json")), timeout or self.WAIT_POSTS_S, 0.05,
                "%d json posts" % n)
        except AssertionError as e:
            raise AssertionError("%s; log:\n%s" % (e, self.svc.log_tail()))


def doc_verifier():
    """The Python block of docs/webhook-schema.md, the one that defines
    verify()."""
    text = open(DOC, encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    code = [b for b in blocks if "def verify(" in b]
    assert len(code) == 1, "docs/webhook-schema.md must hold one verify() block"
    lines = code[0].strip("\n").splitlines()
    assert len(lines) <= 25, "the example grew to %d lines" % len(lines)
    return code[0]


def doc_verify(post, secret=SECRET, tamper=False):
    """Runs the doc's verify() in a fresh python3 -I (stdlib only) on what
    the mock received; returns its answer."""
    raw = base64.b64decode(post["raw_b64"])
    if tamper:
        raw = raw.replace(b'"schema_version":1', b'"schema_version":1 ', 1)
    headers = {k.lower(): v for k, v in post["headers"].items()}
    driver = doc_verifier() + (
        "\nimport json, sys\nd = json.load(sys.stdin)\n"
        "print(verify(d['secret'], d['headers'], d['body'].encode('latin-1')))\n")
    p = subprocess.run([sys.executable, "-I", "-c", driver], capture_output=True, timeout=30,
                       input=json.dumps({"secret": secret, "headers": headers,
                                         "body": raw.decode("latin-1")}).encode())
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout.decode().strip() == "True"


def ensure_ajv():
    if os.path.isdir(os.path.join(CONTRACT_DIR, "node_modules", "ajv-formats")):
        return
    p = subprocess.run(["npm", "ci", "--prefix", CONTRACT_DIR, "--no-audit", "--no-fund"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=600,
                       env=dict(os.environ, SCARF_ANALYTICS="false"))
    assert p.returncode == 0, p.stderr.decode("utf-8", "replace")[-1500:]


def schema_check(files=None, body=None):
    """Validates files (paths) or one body (bytes) against the schema."""
    ensure_ajv()
    argv = ["node", VALIDATOR, SCHEMA] + (files or ["-"])
    p = subprocess.run(argv, input=body, capture_output=True, timeout=120)
    assert p.returncode == 0, (p.stdout + p.stderr).decode("utf-8", "replace")[-3000:]


def signed_and_valid(post):
    h = {k.lower(): v for k, v in post["headers"].items()}
    assert h["content-type"].startswith("application/json"), h
    assert re.fullmatch(r"[!-~]{1,255}", h["webhook-id"]), h
    assert abs(int(h["webhook-timestamp"]) - time.time()) < 120, h
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]{43}=", h["webhook-signature"]), h
    assert doc_verify(post), "the documented check refused a genuine post"
    assert not doc_verify(post, tamper=True), "the documented check took a changed body"
    assert not doc_verify(post, secret="whsec_" + base64.b64encode(b"x" * 24).decode())
    assert post["size"] <= MAX_BYTES, post["size"]
    schema_check(body=base64.b64decode(post["raw_b64"]))
    return h


@case
def goldens_match_the_schema():
    gold = os.path.join(REPO, "tests", "golden")
    files = sorted(os.path.join(gold, f) for f in os.listdir(gold)
                   if f.startswith("json-") and f.endswith(".json"))
    assert len(files) >= 10, files
    schema_check(files)


@case
def failure_posts_a_signed_event():
    with Env() as env:
        env.send()
        p = env.wait_json(1)[0]
        assert p["status"] == 200, p
        h = signed_and_valid(p)
        assert h["webhook-id"].endswith("-json-main"), h
        b = p["body"]
        wh = scenario("failed_with_children")["webhook"]
        assert b["type"] == "run.failed" and b["test"] is False, b["type"]
        assert b["data"]["run"]["execution_id"] == wh["pipelineExecutionId"]
        assert b["data"]["run"]["project_id"] == wh["projectId"]
        assert b["data"]["failed_steps"] and b["data"]["links"]["run"], b["data"]
        assert "mention" not in json.dumps(b)


@case
def huge_run_stays_within_the_bound():
    sc = scenario("large")
    ex = sc["executions"][0]
    ex["steps"] = [{"generate": {"success": 50, "failed": 400, "name": "Load partition {i} "
                                 + "\U0001F600" * 300,
                                 "message": "Partition {i}: " + "\u20ac\"\\<!channel>" * 300}}]
    with Env(sc=sc) as env:
        env.send(sc["webhook"])
        p = env.wait_json(1)[0]
        assert p["status"] == 200, p
        signed_and_valid(p)
        d = p["body"]["data"]
        assert len(d["failed_steps"]) + d["failed_steps_omitted"] >= 400, \
            (len(d["failed_steps"]), d["failed_steps_omitted"])
        # The summary kept 100; the bound left some of them out.
        assert len(d["failed_steps"]) < 100, len(d["failed_steps"])
        assert all(len(f["error"]) <= 2000 for f in d["failed_steps"])


@case
def hostile_text_stays_data():
    with Env("hostile") as env:
        env.send(scenario("hostile")["webhook"])
        p = env.wait_json(1)[0]
        assert p["status"] == 200, p
        signed_and_valid(p)
        raw = base64.b64decode(p["raw_b64"])
        assert not re.search(rb"[\x00-\x1f\x7f]", raw), "raw control byte in the body"
        d = p["body"]["data"]
        assert d["run"]["pipeline"] == "<!channel> *pwn*", d["run"]["pipeline"]
        errors = [f["error"] for f in d["failed_steps"]]
        assert "<!channel> ping everyone" in errors and "[x](javascript:alert(1))" in errors, \
            errors


@case
def rate_limited_post_waits_retry_after_and_keeps_its_id():
    with Env() as env:
        env.fault("^/json/", status=429, body='{"error":"slow down"}',
                  headers={"Retry-After": "2"})
        env.send()
        first, second = env.wait_json(2)[:2]
        assert (first["status"], second["status"]) == (429, 200), \
            (first["status"], second["status"])
        assert second["t"] >= first["t"] + 1.95, \
            "Retry-After: 2, re-posted after %.2fs" % (second["t"] - first["t"])
        h1, h2 = signed_and_valid(first), signed_and_valid(second)
        assert h1["webhook-id"] == h2["webhook-id"], (h1, h2)
        assert first["raw_b64"] == second["raw_b64"], "a retry must repeat the body"


@case
def rejected_post_goes_to_dead_letters():
    with Env() as env:
        env.fault("^/json/", times=2, status=400, body='{"error":"bad"}')
        env.send()
        env.wait_json(1)
        wait_until(lambda: "json-main: HTTP 400" in env.cli("dead", "list")[1], 20, 0.1,
                   "a dead letter for json-main")
        time.sleep(2.5)  # past the first backoff: a retry would show here
        assert len(env.posts("json")) == 1, "a permanent failure was retried"


@case
def destination_without_a_usable_secret_is_refused():
    for secret, want in ((None, "needs secret"), ("whsec_abc", "secret cannot be used")):
        with Env(secret=secret, start=False) as env:
            rc, out, err = env.cli("check-config")
            assert rc != 0 and want in out + err, (rc, out, err)
            assert "whsec_abc" not in out + err, "the secret was printed"


@case
def preview_and_send_test():
    with Env() as env:
        rc, out, err = env.cli("send-test", "json-main")
        assert rc == 0, (rc, out, err)
        p = env.wait_json(1)[0]
        signed_and_valid(p)
        assert p["body"]["test"] is True, p["body"]
        rc, out, err = env.cli("send-test", "json-main")
        ids = [q["headers"]["webhook-id"] for q in env.wait_json(2)]
        assert rc == 0 and ids[0] != ids[1], "two tests, one webhook-id: %s" % ids
        wh = scenario("failed_with_children")["webhook"]
        rc, out, err = env.cli("preview", wh["projectId"], wh["pipelineExecutionId"],
                               "--format", "json")
        assert rc == 0, (rc, out, err)
        schema_check(body=out.encode() if isinstance(out, str) else out)


if __name__ == "__main__":
    run_all()
