"""Self-test of tests/mock/mock_server.py: the other integration tests are
only as good as the mock's fidelity, so its paging, auth, rate limiting,
fault injection and chat checks are pinned here. Needs no dpc-notify."""

import http.client
import json
import os
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CLIENT_ID, CLIENT_SECRET, Mock, as_json, case, request,  # noqa: E402
                     run_all, scenario, tmpdir)

FWC = scenario("failed_with_children")
PROJECT = FWC["executions"][0]["projectId"]
ROOT = FWC["executions"][0]["id"]


def token(m, cid=CLIENT_ID, secret=CLIENT_SECRET, grant="client_credentials"):
    form = urllib.parse.urlencode({"grant_type": grant, "client_id": cid,
                                   "client_secret": secret,
                                   "audience": "https://api.matillion.com"})
    return request("POST", m.port, "/oauth/dpc/token", form,
                   {"Content-Type": "application/x-www-form-urlencoded"})


def bearer(m):
    st, _, data = token(m)
    assert st == 200, st
    return {"Authorization": "Bearer " + json.loads(data)["access_token"]}


def api(m, path, headers=None):
    return request("GET", m.port, "/dpc/v1/projects/%s/pipeline-executions/%s" % (PROJECT, path),
                   headers=headers)


def steps_page(m, h, exec_id, page, size):
    st, hd, data = api(m, "%s/steps?page=%d&size=%d" % (exec_id, page, size), h)
    return st, hd, as_json(data)


@case
def token_issued_and_rejected():
    with Mock("failed_with_children") as m:
        st, hd, data = token(m)
        body = as_json(data)
        assert st == 200 and hd["content-type"].startswith("application/json"), (st, hd)
        assert body["token_type"] == "Bearer" and body["expires_in"] == 1800, body
        assert body["access_token"] == "mock-token-1", body
        assert as_json(token(m)[2])["access_token"] == "mock-token-2"
        st, _, data = token(m, secret="wrong")
        assert st == 401 and as_json(data) == {"error": "invalid_client"}, (st, data)
        st, _, data = token(m, grant="password")
        assert st == 400 and as_json(data)["error"] == "unsupported_grant_type"
        st, _, _ = request("POST", m.port, "/oauth/dpc/token",
                           {"grant_type": "client_credentials"})
        assert st == 400, "JSON token body must be refused, got %d" % st


@case
def api_requires_issued_bearer():
    with Mock("failed_with_children") as m:
        st, hd, data = api(m, ROOT)
        assert st == 401 and hd["content-type"] == "application/problem+json", (st, hd)
        assert as_json(data)["status"] == 401
        st, _, _ = api(m, ROOT, {"Authorization": "Bearer forged"})
        assert st == 401, st
        h = bearer(m)
        st, _, data = api(m, ROOT, h)
        assert st == 200, st
        body = as_json(data)
        assert set(body) == {"result"}, "failed_with_children wraps the execution"
        assert body["result"]["pipelineName"] == "Finance/load_dwh.orch.yaml"
        assert body["result"]["environmentName"] == "prod"
        m.revoke_tokens()
        assert api(m, ROOT, h)[0] == 401, "revoked token still accepted"


@case
def flat_execution_and_404():
    with Mock("success") as m:
        h = bearer(m)
        ex = scenario("success")["executions"][0]
        st, _, data = api(m, ex["id"], h)
        body = as_json(data)
        assert st == 200 and body["status"] == "SUCCESS" and "result" not in body, body
        st, hd, data = api(m, "00000000-0000-4000-8000-000000000000", h)
        assert st == 404 and hd["content-type"] == "application/problem+json", (st, hd)
        st, _, _ = request("GET", m.port, "/dpc/v1/projects/other/pipeline-executions/%s"
                           % ex["id"], headers=h)
        assert st == 404, "execution must not be found under another project"


@case
def steps_paging_totals():
    with Mock("failed_with_children") as m:
        h = bearer(m)
        st, _, p0 = steps_page(m, h, ROOT, 0, 100)
        assert st == 200 and p0["total"] == 120 and p0["page"] == 0 and p0["size"] == 100
        assert len(p0["results"]) == 100
        st, _, p1 = steps_page(m, h, ROOT, 1, 100)
        assert len(p1["results"]) == 20 and p1["total"] == 120
        assert steps_page(m, h, ROOT, 2, 100)[2]["results"] == []
        big = [s["id"] for s in p0["results"] + p1["results"]]
        small = []
        for page in range(0, 18):
            small += [s["id"] for s in steps_page(m, h, ROOT, page, 7)[2]["results"]]
        assert big == small, "pages of 7 and of 100 disagree"
        assert len(set(big)) == 120, "step ids repeat"
        names = [s["name"] for s in p1["results"]]
        assert "Run stage_orders" in names, "failing child must sit on page 2"
        assert steps_page(m, h, ROOT, 0, 1)[2]["results"][0]["name"] == "Start"


@case
def steps_size_bounds():
    with Mock("failed_with_children") as m:
        h = bearer(m)
        for q in ("page=0&size=0", "page=0&size=101", "page=-1&size=10", "page=0&size=x"):
            st, hd, data = api(m, ROOT + "/steps?" + q, h)
            assert st == 400, "%s -> %d" % (q, st)
            assert hd["content-type"] == "application/problem+json"
        assert api(m, ROOT + "/steps?page=0&size=100", h)[0] == 200


@case
def child_failed_step_has_no_timestamps():
    with Mock("failed_with_children") as m:
        h = bearer(m)
        child = FWC["expect"]["child_failed"]
        _, _, p = steps_page(m, h, child, 0, 100)
        bad = [s for s in p["results"] if s["result"]["status"] == "FAILED"]
        assert len(bad) == 1 and bad[0]["name"] == "Load orders raw"
        assert "startedAt" not in bad[0]["result"] and "finishedAt" not in bad[0]["result"]
        assert bad[0]["result"]["message"] == FWC["expect"]["error"]


@case
def large_generated_steps():
    with Mock("large") as m:
        h = bearer(m)
        e = scenario("large")["executions"][0]["id"]
        _, _, first = steps_page(m, h, e, 0, 100)
        assert first["total"] == 10003
        _, _, last = steps_page(m, h, e, 100, 100)
        res = last["results"]
        assert len(res) == 3 and all(s["result"]["status"] == "FAILED" for s in res), res
        assert res[0]["result"]["message"] == \
            "Partition 10000: Numeric value 'n/a' is not recognized"
        assert res[0]["result"]["startedAt"].endswith("Z")


@case
def rate_limit_429_retry_after():
    with Mock("failed_with_children") as m:
        h = bearer(m)
        sc = dict(FWC, rate_limit={"per_minute": 6, "burst": 2})
        assert request("POST", m.port, "/_scenario", sc)[0] == 200
        codes = [api(m, ROOT, h) for _ in range(3)]
        assert [c[0] for c in codes[:2]] == [200, 200], [c[0] for c in codes]
        st, hd, _ = codes[-1]
        assert st == 429, [c[0] for c in codes]
        assert int(hd["retry-after"]) >= 1, hd


@case
def fault_injection():
    with Mock("failed_with_children") as m:
        h = bearer(m)
        m.add_fault({"method": "GET", "path_regex": "/steps", "times": 2,
                     "action": {"status": 503, "body": "busy", "headers": {"Retry-After": "1"}}})
        st, hd, data = api(m, ROOT + "/steps?page=0&size=10", h)
        assert st == 503 and hd["retry-after"] == "1" and data == b"busy", (st, data)
        assert api(m, ROOT + "/steps?page=0&size=10", h)[0] == 503
        assert api(m, ROOT + "/steps?page=0&size=10", h)[0] == 200, "fault outlived times"
        m.add_fault({"path_regex": "/slack/", "action": {"reset": True}})
        try:
            request("POST", m.port, "/slack/x", {"text": "hi"})
            raise AssertionError("reset fault answered")
        except (ConnectionError, http.client.HTTPException, socket.error):
            pass
        assert request("POST", m.port, "/slack/x", {"text": "hi"})[0] == 200
        m.add_fault({"path_regex": "/teams/", "action": {"delay_s": 0.3}})
        st, _, _ = request("POST", m.port, "/teams/x", teams_body())
        assert st == 202
        calls = [c for c in m.calls() if c["path"].endswith("/steps")]
        assert [c["status"] for c in calls] == [503, 503, 200], calls


def teams_body(card=None):
    return {"type": "message", "attachments": [{
        "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
        "content": card or {"type": "AdaptiveCard", "version": "1.5", "body": []}}]}


@case
def slack_checks():
    with Mock() as m:
        st, hd, data = request("POST", m.port, "/slack/T/B/x", {"text": "hello"})
        assert st == 200 and data == b"ok" and hd["content-type"] == "text/plain", (st, data)
        assert hd["content-length"] == "2"
        st, _, data = request("POST", m.port, "/slack/x", b'{"text":"a"}',
                              {"Content-Type": "text/plain"})
        assert (st, data) == (400, b"invalid_payload"), (st, data)
        st, _, data = request("POST", m.port, "/slack/x", {"username": "a"})
        assert (st, data) == (400, b"no_text")
        blocks = [{"type": "divider"}] * 51
        st, _, data = request("POST", m.port, "/slack/x", {"text": "a", "blocks": blocks})
        assert (st, data) == (400, b"invalid_blocks")
        hdr = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
        st, _, data = request("POST", m.port, "/slack/x", {"text": "a", "blocks": [hdr]})
        assert (st, data) == (400, b"invalid_blocks")
        sec = {"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3000}}
        assert request("POST", m.port, "/slack/x", {"text": "a", "blocks": [sec] * 50})[0] == 200
        posts = m.recorded("slack")
        assert len(posts) == 6 and posts[0]["name"] == "T/B/x" and posts[0]["body"]["text"] == \
            "hello", posts[0]
        assert [p["status"] for p in posts] == [200, 400, 400, 400, 400, 200]
        assert len(m.recorded("slack", ok_only=True)) == 2


@case
def teams_checks():
    with Mock() as m:
        st, hd, data = request("POST", m.port, "/teams/wf", teams_body())
        assert st == 202 and data == b"" and hd["content-length"] == "0", (st, hd, data)
        st, _, _ = request("POST", m.port, "/teams/wf", {"text": "slack style"})
        assert st == 400
        st, _, _ = request("POST", m.port, "/teams/wf", {"type": "AdaptiveCard"})
        assert st == 400, "a bare card is not a Workflows envelope"
        big = teams_body({"type": "AdaptiveCard", "version": "1.5",
                          "body": [{"type": "TextBlock", "text": "x" * 28000}]})
        assert request("POST", m.port, "/teams/wf", big)[0] == 413
        assert [p["status"] for p in m.recorded("teams")] == [202, 400, 400, 413]


@case
def unknown_chat_name_404():
    with Mock() as m:
        request("POST", m.port, "/_scenario", {"chat_names": {"slack": ["known"]}})
        assert request("POST", m.port, "/slack/known", {"text": "a"})[0] == 200
        st, _, data = request("POST", m.port, "/slack/gone", {"text": "a"})
        assert (st, data) == (404, b"no_service")
        assert request("POST", m.port, "/teams/any", teams_body())[0] == 404


@case
def control_reset_and_record_file():
    d = tmpdir()
    with Mock("failed_with_children", tmpdir=d) as m:
        h = bearer(m)
        api(m, ROOT + "/steps?page=0&size=100", h)
        request("POST", m.port, "/slack/a", {"text": "x"})
        calls = m.calls()
        assert [c["path"] for c in calls] == [
            "/oauth/dpc/token",
            "/dpc/v1/projects/%s/pipeline-executions/%s/steps" % (PROJECT, ROOT)], calls
        assert calls[1]["query"] == {"page": "0", "size": "100"}
        assert calls[1]["authorization"] == h["Authorization"]
        assert calls[1]["status"] == 200
        assert len(m.recorded()) == 1
        m.reset()
        assert m.calls() == [] and m.recorded() == []
        with open(m.record) as f:
            lines = [json.loads(x) for x in f]
        assert [x["kind"] for x in lines] == ["api", "api", "chat"], lines
        assert request("GET", m.port, "/_health")[0] == 200


@case
def keep_alive():
    with Mock("failed_with_children") as m:
        c = http.client.HTTPConnection("127.0.0.1", m.port, timeout=5)
        try:
            for _ in range(3):
                c.request("POST", "/slack/k", body=b'{"text":"a"}',
                          headers={"Content-Type": "application/json"})
                r = c.getresponse()
                assert r.status == 200 and r.read() == b"ok"
                assert r.getheader("Connection", "") != "close"
            c.request("GET", "/dpc/v1/projects/p/pipeline-executions/e")
            r = c.getresponse()
            assert r.status == 401 and r.getheader("Content-Length") == str(len(r.read()))
        finally:
            c.close()


@case
def scenarios_consistent():
    for name in ("failed_with_children", "success", "cancelled", "hostile",
                 "deep_children", "large", "contract"):
        sc = scenario(name)
        wh = sc["webhook"]
        known = {(e["projectId"], e["id"]) for e in sc["executions"]}
        assert (wh["projectId"], wh["pipelineExecutionId"]) in known, name
        for e in sc["executions"]:
            for s in e["steps"]:
                ch = s.get("childPipeline") if isinstance(s, dict) else None
                if ch:
                    assert (e["projectId"], ch["id"]) in known, (name, ch)
    deep = scenario("deep_children")
    assert len(deep["chain"]) - 1 > 5, "chain must be deeper than max_child_depth 5"
    hostile = json.dumps(scenario("hostile"), ensure_ascii=False)
    for s in ("<!channel> *pwn*", "<@U123>", "<https://evil|click>", "<at>CEO</at>",
              "[x](javascript:alert(1))"):
        assert s in hostile, s
    assert scenario("cancelled")["webhook"]["status"] == "Cancelled"


class _Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen = []

    def log_message(self, *a):
        pass

    def do_GET(self):
        _Upstream.seen.append((self.path, self.headers.get("Authorization")))
        body = json.dumps({"page": 0, "size": 100, "total": 0, "results": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("sl-violations", json.dumps(
            [{"location": ["request", "query", "size"], "severity": "Error"}]))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@case
def steps_upstream_forwarding():
    up = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    th = threading.Thread(target=up.serve_forever, daemon=True)
    th.start()
    try:
        with Mock("contract", upstream="http://127.0.0.1:%d" % up.server_port) as m:
            h = bearer(m)
            ex = scenario("contract")["executions"][0]["id"]
            st, _, data = api(m, ex + "/steps?page=0&size=100", h)
            assert st == 200 and as_json(data)["total"] == 0, (st, data)
            assert _Upstream.seen == [("/v1/projects/%s/pipeline-executions/%s/steps?page=0"
                                       "&size=100" % (PROJECT, ex), h["Authorization"])]
            call = m.calls()[-1]
            assert call["upstream"] is True and call["violations"][0]["location"][0] == "request"
            st, _, data = api(m, "not-a-uuid", h)
            assert st == 200 and as_json(data)["pipelineExecutionId"] == "not-a-uuid"
            st, _, data = api(m, "not-a-uuid/steps?page=0&size=100", h)
            assert st == 200 and as_json(data)["results"] == [] and len(_Upstream.seen) == 1
    finally:
        up.shutdown()
        up.server_close()


if __name__ == "__main__":
    run_all()
