#!/usr/bin/env python3
"""A stand-in for everything dpc-notify talks to, in one loopback HTTP/1.1
server: Matillion's OAuth token endpoint and pipeline-execution API, plus
Slack and Teams incoming webhooks, and a receiver of the signed JSON
events (/json/...). It behaves like the real services where
the tests care (status codes, paging, 429 + Retry-After, body checks) and
records every call so tests can assert on what the service sent.
Google Chat space webhooks live under /gchat/<space>, PagerDuty's Events
API v2 at /pagerduty/v2/enqueue (see gchat_pd_post()), Slack's Web API for
a Slack app under /slack-api/<method> (see slack_api()).

Usage: mock_server.py --port-file F [--scenario S.json] [--record LOG.jsonl]
                      [--steps-upstream http://127.0.0.1:PRISMPORT] [--verbose]

Scenario JSON (every key optional):
  credentials      {"client_id": "test-client", "client_secret": "test-secret"}
  token_expires_in seconds reported and enforced for issued tokens (1800)
  wrap_execution   default for executions: reply {"result": {...}}
  rate_limit       {"per_minute": N, "burst": B} applied to /dpc/ calls
  faults           list of {"method", "path_regex", "times", "action"}
  chat_names       {"slack": [..], "teams": [..]}: only these names exist
                   (also "discord", "mattermost": see platform_chat)
  discord          {"forums": [..]}: webhooks whose channel is a forum (see
                   discord_post())
  executions       list of {"projectId", "id", "wrap", "execution": {...},
                   "steps": [step | {"generate": {...}}]}
  schedules        {"<projectId>": [{"scheduleId", "name", ...}, ...]} served
                   page/size-paged by GET /dpc/v1/projects/{id}/schedules; a
                   project not listed has none (an empty page)
  webhook          a sample webhook body for tests (not used by the server)
Control endpoints: GET /_health, /_recorded, /_calls, /_started,
/_slack_messages; POST /_reset, /_faults, /_revoke (forget issued tokens),
/_scenario (replace scenario), /_finish (end a started run), /_runs (add or
replace runs without a webhook; see add_runs()).
GET /dpc/v1/pipeline-executions lists every execution that has a
startedAt (see exec_list()).
"""

import argparse
import base64
import json
import math
import os
import re
import socket
import struct
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLACK_MAX_BLOCKS = 50
SLACK_MAX_SECTION = 3000
SLACK_MAX_HEADER = 150
TEAMS_MAX_BYTES = 28000
ADAPTIVE = "application/vnd.microsoft.card.adaptive"
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
STEPS_RE = re.compile(r"^/dpc/v1/projects/([^/]+)/pipeline-executions/([^/]+)/steps$")
EXEC_RE = re.compile(r"^/dpc/v1/projects/([^/]+)/pipeline-executions/([^/]+)$")
SCHED_RE = re.compile(r"^/dpc/v1/projects/([^/]+)/schedules$")
STATUS_RE = re.compile(r"^/dpc/v1/projects/([^/]+)/pipeline-executions/([^/]+)/status$")


class StepList:
    """Steps of one execution: literal step objects and generated runs,
    concatenated. Generated steps are built on demand so a 100,000-step
    scenario costs nothing until a page of it is asked for."""

    def __init__(self, exec_id, entries):
        self.exec_id = exec_id
        self.segments = []  # (length, literal list | generator spec)
        for e in entries or []:
            if isinstance(e, dict) and "generate" in e:
                g = e["generate"]
                n = int(g.get("success", 0)) + int(g.get("failed", 0)) + \
                    int(g.get("cancelled", 0))
                self.segments.append((n, g))
            else:
                self.segments.append((1, [e]))
        self.total = sum(n for n, _ in self.segments)

    def slice(self, start, stop):
        out = []
        base = 0
        for n, seg in self.segments:
            lo, hi = max(start, base), min(stop, base + n)
            if lo < hi:
                if isinstance(seg, list):
                    out.extend(seg[lo - base:hi - base])
                else:
                    out.extend(self._generated(seg, i, base)
                               for i in range(lo - base, hi - base))
            base += n
            if base >= stop:
                break
        return out

    def all(self):
        return self.slice(0, self.total)

    def _generated(self, g, i, base):
        ok = int(g.get("success", 0))
        bad = int(g.get("failed", 0))
        if i < ok:
            status, msg = "SUCCESS", g.get("success_message", "Success")
        elif i < ok + bad:
            status, msg = "FAILED", g.get("message", "Step {i} failed")
        else:
            status, msg = "CANCELLED", g.get("cancelled_message", "Cancelled")
        t0 = int(g.get("start_epoch", 1714557600)) + i  # 2024-05-01T10:00:00Z
        n = base + i
        h = zlib.crc32(self.exec_id.encode())
        return {
            "id": "%08x-0000-4000-8000-%012x" % (n, h),
            "name": g.get("name", "Step {i}").replace("{i}", str(i)),
            "result": {
                "status": status,
                "message": msg.replace("{i}", str(i)),
                "startedAt": iso(t0),
                "finishedAt": iso(t0 + 1),
            },
        }


def iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch))


class TokenBucket:
    """Matillion-style limit: per_minute average with a burst allowance."""

    def __init__(self, per_minute, burst):
        self.rate = max(float(per_minute), 0.001) / 60.0
        self.cap = max(float(burst), 1.0)
        self.tokens = self.cap
        self.last = time.monotonic()

    def take(self):
        """Returns 0 when allowed, else the whole seconds to wait."""
        now = time.monotonic()
        self.tokens = min(self.cap, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - self.tokens) / self.rate))


class State:
    """Everything the handlers share, behind one lock."""

    def __init__(self, scenario, record_path, upstream):
        self.lock = threading.RLock()  # reply() logs while a handler may hold it
        self.record_path = record_path
        self.upstream = upstream.rstrip("/") if upstream else None
        self.recorded = []
        self.calls = []
        self.tokens = {}  # token -> expiry epoch
        self.n_tokens = 0
        self.load(scenario)

    def load(self, scenario):
        self.scenario = scenario
        cred = scenario.get("credentials", {})
        self.client_id = cred.get("client_id", "test-client")
        self.client_secret = cred.get("client_secret", "test-secret")
        self.expires_in = int(scenario.get("token_expires_in", 1800))
        rl = scenario.get("rate_limit")
        self.bucket = TokenBucket(rl.get("per_minute", 60), rl.get("burst", 5)) if rl else None
        self.faults = [dict(f) for f in scenario.get("faults", [])]
        self.chat_names = scenario.get("chat_names")
        self.schedules = {str(k): list(v) for k, v in scenario.get("schedules", {}).items()}
        self.executions = {}
        wrap = bool(scenario.get("wrap_execution", False))
        for e in scenario.get("executions", []):
            key = (str(e.get("projectId", "")), str(e["id"]))
            self.executions[key] = {
                "wrap": bool(e.get("wrap", wrap)),
                "execution": e.get("execution", {}),
                "steps": StepList(key[1], e.get("steps", [])),
            }

    def log(self, kind, entry):
        entry = dict(entry, kind=kind)
        if kind == "chat":
            self.recorded.append(entry)
        else:
            self.calls.append(entry)
        if self.record_path:
            with open(self.record_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")

    def take_fault(self, method, path):
        for f in self.faults:
            if f.get("method") and f["method"].upper() != method:
                continue
            if not re.search(f.get("path_regex", ".*"), path):
                continue
            f["times"] = int(f.get("times", 1)) - 1
            if f["times"] <= 0:
                self.faults.remove(f)
            return f.get("action", {})
        return None


class Handler(BaseHTTPRequestHandler):
    # Small replies must not wait for delayed ACKs (Nagle + delayed ACK adds
    # ~40 ms per reply, which would distort latency and crash windows).
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server_version = "dpc-mock/1.0"

    # --- plumbing -------------------------------------------------------

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("mock: " + (fmt % args) + "\n")

    @property
    def st(self):
        return self.server.state

    def reply(self, status, body=b"", ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self._status = status
        self.log_call()  # before the reply, so a client never outruns the log
        self.send_response(status)
        if body or ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def problem(self, status, title, detail):
        self.reply(status, {"type": "about:blank", "title": title, "status": status,
                            "detail": detail}, "application/problem+json")

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def drop(self):
        """Closes the connection with a TCP reset and no reply."""
        self.close_connection = True
        self._status = 0
        self.log_call()
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def log_call(self):
        """Records an API call once, with the status being sent."""
        e = self._pending
        if e is None:
            return
        self._pending = None
        e["status"] = self._status
        e.update(self._extra)
        with self.st.lock:
            self.st.log("api", e)

    def apply_fault(self, path):
        """Returns True when a fault produced the whole response."""
        with self.st.lock:
            action = self.st.take_fault(self.command, path)
        if action is None:
            return False
        if "delay_s" in action:
            time.sleep(float(action["delay_s"]))
            return False
        if action.get("reset"):
            self.read_body()
            self.drop()
            return True
        if "hang_s" in action:
            time.sleep(float(action["hang_s"]))
            self.drop()
            return True
        self.read_body()
        self.reply(int(action.get("status", 500)), action.get("body", ""),
                   action.get("content_type", "text/plain"), action.get("headers"))
        return True

    def dispatch(self):
        self._status = 0
        self._pending = None
        self._extra = {}
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path, url.query
        if path.startswith("/_"):
            return self.control(path)
        if path.startswith("/dpc/") or path.startswith("/oauth/"):
            self._pending = {
                "method": self.command, "path": path,
                "query": dict(urllib.parse.parse_qsl(query, keep_blank_values=True)),
                "raw_query": query, "status": 0, "t": time.time(),
                "authorization": self.headers.get("Authorization", ""),
                "headers": dict(self.headers.items())}
        if path.startswith("/json/"):
            return self.json_sink(path)
        if path.startswith("/slack-api/"):
            return slack_api(self, path, query)
        try:
            if not self.apply_fault(self.path):
                if path == "/oauth/dpc/token":
                    self.token()
                elif interact_route(self, path, query):
                    pass
                elif path.startswith("/dpc/"):
                    self.api(path, query)
                elif path.startswith("/slack/") or path.startswith("/teams/"):
                    self.chat(path)
                elif path.startswith("/discord/") or path.startswith("/mattermost/"):
                    platform_chat(self, path, query)
                elif path.startswith("/gchat/") or path.startswith("/pagerduty/"):
                    gchat_pd_post(self, path, query)
                else:
                    self.read_body()
                    self.reply(404, "not found", "text/plain")
        finally:
            self.log_call()  # e.g. when the handler raised before replying

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = \
        lambda self: self.dispatch()

    # --- OAuth ----------------------------------------------------------

    def token(self):
        raw = self.read_body()
        if self.command != "POST":
            return self.reply(405, {"error": "invalid_request"})
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("application/x-www-form-urlencoded"):
            return self.reply(400, {"error": "invalid_request",
                                    "error_description": "form body required"})
        form = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace")))
        cid, secret = form.get("client_id"), form.get("client_secret")
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):  # client_secret_basic is also legal OAuth2
            try:
                cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                cid, secret = urllib.parse.unquote(cid), urllib.parse.unquote(secret)
            except (ValueError, UnicodeDecodeError):
                cid = secret = None
        if form.get("grant_type") != "client_credentials":
            return self.reply(400, {"error": "unsupported_grant_type"})
        with self.st.lock:
            if cid != self.st.client_id or secret != self.st.client_secret:
                return self.reply(401, {"error": "invalid_client"})
            self.st.n_tokens += 1
            tok = "mock-token-%d" % self.st.n_tokens
            self.st.tokens[tok] = time.time() + self.st.expires_in
            exp = self.st.expires_in
        self.reply(200, {"access_token": tok, "token_type": "Bearer", "expires_in": exp},
                   headers={"Cache-Control": "no-store"})

    # --- Matillion API --------------------------------------------------

    def authorised(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return False
        with self.st.lock:
            exp = self.st.tokens.get(auth[7:].strip())
        return exp is not None and exp > time.time()

    def api(self, path, query):
        self.read_body()
        m_steps, m_exec = STEPS_RE.match(path), EXEC_RE.match(path)
        if m_steps and self.st.upstream and UUID_RE.match(m_steps.group(2)):
            return self.forward(path, query)
        with self.st.lock:
            wait = self.st.bucket.take() if self.st.bucket else 0
        if wait:
            return self.reply(429, {"type": "about:blank", "title": "Too Many Requests",
                                    "status": 429, "detail": "rate limit exceeded"},
                              "application/problem+json", {"Retry-After": wait})
        if not self.authorised():
            return self.problem(401, "Unauthorized", "a valid bearer token is required")
        if self.command != "GET":
            return self.problem(405, "Method Not Allowed", "only GET is mocked")
        if path == LIST_PATH:
            return exec_list(self, query)
        m_sched = SCHED_RE.match(path)
        if m_sched:
            with self.st.lock:
                items = self.st.schedules.get(urllib.parse.unquote(m_sched.group(1)), [])
            return self.paged(items, query)
        m_status = STATUS_RE.match(path)
        m = m_steps or m_exec or m_status
        if not m:
            return self.problem(404, "Not Found", "no such endpoint")
        key = (urllib.parse.unquote(m.group(1)), urllib.parse.unquote(m.group(2)))
        ex = self.st.executions.get(key)
        if ex is None and self.st.upstream:
            ex = synthesized(key)
        if ex is None:
            return self.problem(404, "Pipeline Execution not Found",
                                "no execution %s in project %s" % (key[1], key[0]))
        if m_steps:
            return self.steps(ex, query)
        if m_status:
            return self.reply(200, {"status": ex["execution"].get("status", "UNKNOWN")})
        body = ex["execution"]
        self.reply(200, {"result": body} if ex["wrap"] else body)

    def steps(self, ex, query):
        sl = ex["steps"]
        return self.paged(sl, query)

    def paged(self, items, query):
        """One page of a StepList or a plain list, Matillion's page/size way."""
        q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        try:
            page = int(q.get("page", "0"))
            size = int(q.get("size", "25"))
        except ValueError:
            return self.problem(400, "Bad Request", "page and size must be integers")
        if page < 0 or not 1 <= size <= 100:
            return self.problem(400, "Bad Request", "size must be from 1 to 100, page >= 0")
        start = page * size
        if isinstance(items, StepList):
            total, results = items.total, items.slice(start, start + size)
        else:
            total, results = len(items), items[start:start + size]
        self.reply(200, {"page": page, "size": size, "total": total, "results": results})

    def forward(self, path, query):
        """Relays a steps call to the upstream (Prism) untouched, so the
        upstream judges exactly what dpc-notify sent."""
        url = self.st.upstream + path[len("/dpc"):] + ("?" + query if query else "")
        hdrs = {k: v for k, v in self.headers.items()
                if k.lower() in ("authorization", "accept", "user-agent")}
        req = urllib.request.Request(url, headers=hdrs, method="GET")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, body, h = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, body, h = e.code, e.read(), e.headers
        except OSError as e:
            return self.problem(502, "Bad Gateway", "upstream: %s" % e)
        viol = h.get("sl-violations")
        self._extra = {"upstream": True, "violations": json.loads(viol) if viol else []}
        self.reply(status, body, h.get("Content-Type", "application/json"))

    # --- chat -----------------------------------------------------------

    def chat(self, path):
        raw = self.read_body()
        target, _, name = path[1:].partition("/")
        entry = {"target": target, "name": name, "headers": dict(self.headers.items()),
                 "t": time.time(), "size": len(raw)}
        try:
            entry["body"] = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            entry["body"] = raw.decode("utf-8", "replace")
        if self.command != "POST":
            status, text = 405, "invalid_method"
        elif self.chat_names is not None and name not in self.chat_names.get(target, []):
            status, text = 404, "no_service"
        elif target == "slack":
            status, text = slack_check(self.headers.get("Content-Type", ""), entry["body"])
        else:
            status, text = teams_check(raw, entry["body"])
        entry["status"] = status
        entry["error"] = None if status < 300 else text
        with self.st.lock:
            self.st.log("chat", entry)
        if target == "teams" and status == 202:
            return self.reply(202, b"", None)
        self.reply(status, text, "text/plain")

    @property
    def chat_names(self):
        return self.st.chat_names

    # --- generic JSON webhook --------------------------------------------

    def json_sink(self, path):
        """A receiver of dpc-notify's signed JSON events: every post is
        recorded with its headers and exact bytes (raw_b64, for checking
        the signature), faults included, so a test sees each retry. A
        fault's action (status, body, headers) answers instead of the
        check; delay_s waits first."""
        raw = self.read_body()
        entry = {"target": "json", "name": path[len("/json/"):],
                 "headers": dict(self.headers.items()), "t": time.time(),
                 "size": len(raw), "raw_b64": base64.b64encode(raw).decode()}
        try:
            entry["body"] = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            entry["body"] = raw.decode("utf-8", "replace")
        with self.st.lock:
            action = self.st.take_fault(self.command, self.path)
        if action and "delay_s" in action:
            time.sleep(float(action["delay_s"]))
            action = None
        if action:
            status, text = int(action.get("status", 500)), action.get("body", "")
            ctype, headers = action.get("content_type", "application/json"), \
                action.get("headers")
        else:
            status, text = json_check(self.command, self.headers, raw, entry["body"])
            ctype, headers = "application/json", None
        entry["status"] = status
        entry["error"] = None if status < 300 else text
        with self.st.lock:
            self.st.log("chat", entry)
        self.reply(status, text, ctype, headers)

    # --- control --------------------------------------------------------

    def control(self, path):
        raw = self.read_body()
        with self.st.lock:
            if path == "/_health":
                return self.reply(200, {"ok": True, "port": self.server.server_port})
            if path == "/_recorded":
                return self.reply(200, self.st.recorded)
            if path == "/_calls":
                return self.reply(200, self.st.calls)
            if path == "/_started":
                return self.reply(200, interact_state(self.st)["started"])
            if path == "/_slack_messages":
                return self.reply(200, getattr(self.st, "slack_messages", {}))
            if self.command != "POST":
                return self.reply(405, {"error": "POST required"})
            if path == "/_reset":
                self.st.recorded, self.st.calls = [], []
                return self.reply(200, {"ok": True})
            if path == "/_revoke":
                self.st.tokens.clear()
                return self.reply(200, {"ok": True})
            try:
                data = json.loads(raw or b"null")
            except ValueError:
                return self.reply(400, {"error": "bad JSON"})
            if path == "/_faults":
                items = data if isinstance(data, list) else [data]
                self.st.faults.extend(dict(f) for f in items)
                return self.reply(200, {"ok": True, "pending": len(self.st.faults)})
            if path == "/_scenario":
                self.st.load(data)
                return self.reply(200, {"ok": True})
            if path == "/_runs":
                return add_runs(self, data)
            if path == "/_finish":
                return self.reply(*interact_finish(self.st, data))
        self.reply(404, {"error": "unknown control path"})


def synthesized(key):
    """In upstream mode an execution the scenario lacks (e.g. a child id
    Prism invented) still exists, so the client can go on walking."""
    return {"wrap": False, "steps": StepList(key[1], []), "execution": {
        "pipelineExecutionId": key[1], "projectId": key[0],
        "pipelineName": "generated/%s.orch.yaml" % key[1][:8],
        "environmentName": "contract", "status": "FAILED", "trigger": "SCHEDULE",
        "startedAt": "2024-05-01T10:00:00Z", "finishedAt": "2024-05-01T10:05:00Z"}}


def slack_check(ctype, body):
    if not ctype.startswith("application/json") or not isinstance(body, dict):
        return 400, "invalid_payload"
    blocks = body.get("blocks")
    if not body.get("text") and not blocks:
        return 400, "no_text"
    if blocks is None:
        return 200, "ok"
    if not isinstance(blocks, list) or len(blocks) > SLACK_MAX_BLOCKS:
        return 400, "invalid_blocks"
    for b in blocks:
        if not isinstance(b, dict) or not isinstance(b.get("type"), str):
            return 400, "invalid_blocks_format"
        if b["type"] == "header":
            t = b.get("text") or {}
            if t.get("type") != "plain_text" or not 1 <= len(t.get("text", "")) <= SLACK_MAX_HEADER:
                return 400, "invalid_blocks"
        if b["type"] == "section":
            t = b.get("text")
            fields = b.get("fields")
            if t is None and not fields:
                return 400, "invalid_blocks"
            if t is not None and not 1 <= len(t.get("text", "")) <= SLACK_MAX_SECTION:
                return 400, "invalid_blocks"
            if fields and (len(fields) > 10 or
                           any(len(f.get("text", "")) > 2000 for f in fields)):
                return 400, "invalid_blocks"
    return 200, "ok"


def teams_check(raw, body):
    if len(raw) > TEAMS_MAX_BYTES:
        return 413, "Request Entity too large"
    if not isinstance(body, dict) or body.get("type") != "message":
        return 400, "Bad Request: body must be a message"
    att = body.get("attachments")
    if not isinstance(att, list) or not att or not isinstance(att[0], dict) or \
            att[0].get("contentType") != ADAPTIVE or not isinstance(att[0].get("content"), dict):
        return 400, "Bad Request: attachments[0] must be an adaptive card"
    return 202, ""


JSON_MAX_BYTES = 262144


def json_check(method, headers, raw, body):
    """What a careful receiver of the JSON target answers: 413 past the
    documented body bound, 400 for a body that is not a signed event of a
    known schema version, else 200 {"ok": true}."""
    if method != "POST":
        return 405, '{"error":"POST required"}'
    if len(raw) > JSON_MAX_BYTES:
        return 413, '{"error":"body too large"}'
    if not headers.get("Content-Type", "").startswith("application/json"):
        return 415, '{"error":"JSON required"}'
    if not all(headers.get(h) for h in ("webhook-id", "webhook-timestamp",
                                        "webhook-signature")):
        return 401, '{"error":"unsigned"}'
    if not isinstance(body, dict) or body.get("schema_version") != 1 or \
            not isinstance(body.get("data"), dict):
        return 400, '{"error":"not a schema_version 1 event"}'
    return 200, '{"ok":true}'


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--scenario")
    ap.add_argument("--record")
    ap.add_argument("--steps-upstream")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    scenario = {}
    if a.scenario:
        with open(a.scenario, encoding="utf-8") as f:
            scenario = json.load(f)
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.state = State(scenario, a.record, a.steps_upstream)
    srv.verbose = a.verbose
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_port)
    os.replace(tmp, a.port_file)  # readers never see a half-written port
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


# --- Discord and Mattermost incoming webhooks --------------------------
# POST /discord/NAME[?wait=true] and /mattermost/NAME, recorded like the
# Slack and Teams posts (with the query). 429s come from faults, shaped as
# the platforms send them, e.g. Discord: status 429, body {"retry_after":
# 1.5, "global": false}, Retry-After and X-RateLimit-Reset-After headers;
# Mattermost: Retry-After and X-Ratelimit-Limit/-Remaining/-Reset.

# Discord's embed limits, counted in characters (code points).
DISCORD_LIMITS = {"title": 256, "description": 4096, "field_name": 256, "field_value": 1024,
                  "fields": 25, "embeds": 10, "total": 6000, "content": 2000}
MM_MAX_RUNES = 16383  # Mattermost's default message limit


def discord_invalid(where, why):
    """Discord's 400 for a body it refuses."""
    return 400, {"code": 50035, "message": "Invalid Form Body",
                 "errors": {where: {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                                 "message": why}]}}}


def discord_check(body, query):
    """(status, reply) as Discord's execute-webhook answers body."""
    lim = DISCORD_LIMITS
    if not isinstance(body, dict):
        return 400, {"code": 50109, "message": "The request body contains invalid JSON."}
    content, embeds = body.get("content"), body.get("embeds") or []
    if not content and not embeds:
        return 400, {"code": 50006, "message": "Cannot send an empty message"}
    if content is not None and (not isinstance(content, str) or len(content) > lim["content"]):
        return discord_invalid("content", "Must be 2000 or fewer in length.")
    if not isinstance(embeds, list) or len(embeds) > lim["embeds"]:
        return discord_invalid("embeds", "Must be 10 or fewer in length.")
    total = 0
    for i, e in enumerate(embeds):
        if not isinstance(e, dict):
            return discord_invalid("embeds.%d" % i, "Must be an object.")
        for key in ("title", "description"):
            v = e.get(key) or ""
            if len(v) > lim[key]:
                return discord_invalid("embeds.%d.%s" % (i, key), "Too long.")
            total += len(v)
        fields = e.get("fields") or []
        if len(fields) > lim["fields"]:
            return discord_invalid("embeds.%d.fields" % i, "Must be 25 or fewer in length.")
        for k, f in enumerate(fields):
            name, value = f.get("name") or "", f.get("value") or ""
            if not name or not value:
                return discord_invalid("embeds.%d.fields.%d" % (i, k), "Required.")
            if len(name) > lim["field_name"] or len(value) > lim["field_value"]:
                return discord_invalid("embeds.%d.fields.%d.value" % (i, k),
                                       "Must be 1024 or fewer in length.")
            total += len(name) + len(value)
        total += len((e.get("footer") or {}).get("text") or "")
    if total > lim["total"]:
        return discord_invalid("embeds", "Embed size exceeds maximum size of 6000")
    am = body.get("allowed_mentions")
    if am is not None and isinstance(am, dict) and "users" in (am.get("parse") or []) and \
            am.get("users"):
        return 400, {"code": 50035, "message": "Invalid Form Body"}
    if query.get("wait") == "true":
        return 200, {"id": "1%018d" % int(time.time() * 1000 % 1e15), "type": 0,
                     "channel_id": "1000000000000000001", "content": content or "",
                     "embeds": embeds}
    return 204, b""


def mattermost_check(ctype, body):
    """(status, reply) as a Mattermost incoming webhook answers body."""
    if not ctype.startswith("application/json") or not isinstance(body, dict):
        return 400, {"id": "web.incoming_webhook.parse.app_error",
                     "message": "Unable to parse incoming data", "status_code": 400}
    text, atts = body.get("text") or "", body.get("attachments") or []
    if not text and not atts:
        return 400, {"id": "web.incoming_webhook.text.app_error",
                     "message": "No text specified", "status_code": 400}
    # The post's message, and (stricter than the server, which keeps
    # attachments in props) each attachment's text, within the default.
    long_att = any(len((a or {}).get("text") or "") > MM_MAX_RUNES for a in atts)
    if len(text) > MM_MAX_RUNES or long_att:
        return 400, {"id": "model.post.is_valid.msg.app_error", "message": "Invalid message",
                     "status_code": 400}
    return 200, "ok"


def platform_chat(h, path, query):
    """A Discord or Mattermost webhook post (see above)."""
    raw = h.read_body()
    target, _, name = path[1:].partition("/")
    q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    entry = {"target": target, "name": name, "query": q, "headers": dict(h.headers.items()),
             "t": time.time(), "size": len(raw)}
    try:
        entry["body"] = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        entry["body"] = raw.decode("utf-8", "replace")
    if target == "discord" and "/messages/" in name:
        status, reply = discord_edit(h, name, entry, q)
    elif h.command != "POST":
        status, reply = 405, {"message": "405: Method Not Allowed", "code": 0}
    elif h.chat_names is not None and name not in h.chat_names.get(target, []):
        status, reply = (404, {"message": "Unknown Webhook", "code": 10015}) \
            if target == "discord" else (400, {"id": "web.incoming_webhook.invalid.app_error",
                                                "message": "Invalid webhook",
                                                "status_code": 400})
    elif target == "discord":
        status, reply = discord_check(entry["body"], q)
        if status < 300:
            status, reply = discord_post(h, name, entry, q, status, reply)
    else:
        status, reply = mattermost_check(h.headers.get("Content-Type", ""), entry["body"])
    entry["status"] = status
    entry["method"] = h.command
    entry["error"] = None if status < 300 else reply
    with h.st.lock:
        h.st.log("chat", entry)
    if status == 204:
        return h.reply(204, b"", None)
    h.reply(status, reply, "text/plain" if isinstance(reply, str) else "application/json")


# --- Discord messages, threads and edits ---------------------------------
# What ?wait=true, thread_name, ?thread_id= and PATCH .../messages/{id} do
# on a Discord webhook, as Discord's "Execute Webhook" and "Edit Webhook
# Message" describe them. Scenario key "discord" (optional):
#   forums  names of the webhooks (the path after /discord/) whose channel
#           is a forum: a post there needs thread_name (a new post, whose
#           thread's id comes back as channel_id) or ?thread_id= (220001;
#           both is 220002); elsewhere thread_name is refused (220003).
# A message is kept with its webhook and channel (the webhook's own, or
# the thread's); ?thread_id= must name a thread made here (else 404
# Unknown Channel, 10003). PATCH /discord/NAME/messages/ID[?thread_id=]
# edits a message of that webhook in that channel, replacing the members
# sent; any other id is 404 Unknown Message (10008), as Discord answers.
# Entries carry "method" and, when a message was made or edited,
# "message_id" and "channel_id".

DISCORD_THREAD_NAME_MAX = 100


def discord_state(st):
    """The Discord messages and threads made so far (under st.lock)."""
    if not hasattr(st, "discord_messages"):
        st.discord_messages, st.discord_threads, st.discord_seq = {}, {}, 0
    return st


def discord_new_id(st):
    st.discord_seq += 1
    return "%d" % (1300000000000000000 + st.discord_seq)


def discord_channel_of(name):
    """A webhook's own channel id: stable per webhook name."""
    return "%d" % (1100000000000000000 + zlib.crc32(name.encode()) % 10 ** 9)


def discord_post(h, name, entry, q, status, reply):
    """A post discord_check() let through: threads, then the message."""
    body = entry["body"]
    forum = name in h.st.scenario.get("discord", {}).get("forums", [])
    tname, tid = body.get("thread_name"), q.get("thread_id")
    with h.st.lock:
        st = discord_state(h.st)
        if tname is not None and tid is not None:
            return 400, {"code": 220002, "message": "Webhooks posted to forum channels"
                         " cannot have both a thread_name and thread_id"}
        if tname is not None and not forum:
            return 400, {"code": 220003,
                         "message": "Webhooks can only create threads in forum channels"}
        if forum and tname is None and tid is None:
            return 400, {"code": 220001, "message": "Webhooks posted to forum channels"
                         " must have a thread_name or thread_id"}
        if tname is not None and (not isinstance(tname, str) or not tname.strip() or
                                  len(tname) > DISCORD_THREAD_NAME_MAX):
            return discord_invalid("thread_name", "Must be between 1 and 100 in length.")
        if tid is not None and st.discord_threads.get(tid, {}).get("webhook") != name:
            return 404, {"message": "Unknown Channel", "code": 10003}
        if tname is not None:
            tid = discord_new_id(st)
            st.discord_threads[tid] = {"webhook": name, "name": tname}
        mid = discord_new_id(st)
        channel = tid if tid is not None else discord_channel_of(name)
        st.discord_messages[mid] = {"webhook": name, "channel_id": channel,
                                    "content": body.get("content") or "",
                                    "embeds": body.get("embeds") or []}
        entry["message_id"], entry["channel_id"] = mid, channel
    if q.get("wait") != "true":
        return 204, b""
    return 200, dict(reply, id=mid, channel_id=channel)


def discord_edit(h, name, entry, q):
    """PATCH /discord/NAME/messages/ID[?thread_id=] (see above)."""
    hook, _, mid = name.partition("/messages/")
    entry["name"] = hook
    if h.command != "PATCH":
        return 405, {"message": "405: Method Not Allowed", "code": 0}
    body = entry["body"]
    if not isinstance(body, dict):
        return 400, {"code": 50109, "message": "The request body contains invalid JSON."}
    if body.get("embeds") is not None:
        status, reply = discord_check({"embeds": body["embeds"]}, {})
        if status >= 300:
            return status, reply
    with h.st.lock:
        st = discord_state(h.st)
        m = st.discord_messages.get(mid)
        want = q.get("thread_id") or discord_channel_of(hook)
        if m is None or m["webhook"] != hook or m["channel_id"] != want:
            return 404, {"message": "Unknown Message", "code": 10008}
        for key in ("content", "embeds"):
            if key in body:
                m[key] = body[key]
        entry["message_id"], entry["channel_id"] = mid, m["channel_id"]
        return 200, {"id": mid, "type": 0, "channel_id": m["channel_id"],
                     "content": m["content"], "embeds": m["embeds"]}


# --- Google Chat and PagerDuty ------------------------------------------

GCHAT_MAX_BYTES = 32000
PD_MAX_BYTES = 512 * 1024


def gchat_error(code, status, message):
    return code, {"error": {"code": code, "message": message, "status": status}}


def gchat_check(raw, body):
    """Google Chat's space webhook: 400 INVALID_ARGUMENT for a body over
    32,000 bytes or without text or cards."""
    if len(raw) > GCHAT_MAX_BYTES:
        return gchat_error(400, "INVALID_ARGUMENT",
                           "Message too large: %d bytes (limit %d)" % (len(raw), GCHAT_MAX_BYTES))
    if not isinstance(body, dict) or not (body.get("text") or body.get("cardsV2")):
        return gchat_error(400, "INVALID_ARGUMENT", "Message must have text or cards")
    cards = body.get("cardsV2", [])
    if not isinstance(cards, list) or any(not isinstance(c, dict) or
                                          not isinstance(c.get("card"), dict) for c in cards):
        return gchat_error(400, "INVALID_ARGUMENT", "Invalid JSON payload: cardsV2")
    return 200, None


def gchat_reply(space, query, body, seq):
    """The created message, as Chat returns it: a thread of its own unless
    the URL asks for replies and the body names a threadKey."""
    q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    key = (body.get("thread") or {}).get("threadKey")
    reply = q.get("messageReplyOption") in ("REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD",
                                             "REPLY_MESSAGE_OR_FAIL")
    thread = "k-" + key if key and reply else "t-%d" % seq
    msg = {"name": "spaces/%s/messages/m%d" % (space, seq), "sender": {"type": "BOT"},
           "createTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "text": body.get("text", ""), "cardsV2": body.get("cardsV2", []),
           "thread": {"name": "spaces/%s/threads/%s" % (space, thread)},
           "space": {"name": "spaces/" + space, "type": "ROOM"}}
    if key and reply:
        msg["thread"]["threadKey"] = key
    return msg


def pd_check(raw, body):
    """PagerDuty's Events API v2: 400 "invalid event" with its errors."""
    errs = []
    if len(raw) > PD_MAX_BYTES:
        errs.append("Event is too large")
    if not isinstance(body, dict):
        return 400, ["Event object is invalid"]
    if not isinstance(body.get("routing_key"), str) or len(body["routing_key"]) != 32:
        errs.append("'routing_key' must be a 32 character integration key")
    action = body.get("event_action")
    if action not in ("trigger", "acknowledge", "resolve"):
        errs.append("'event_action' is invalid")
    key = body.get("dedup_key")
    if key is not None and (not isinstance(key, str) or len(key) > 255):
        errs.append("'dedup_key' must be at most 255 characters")
    if action != "trigger" and not key:
        errs.append("'dedup_key' is required for %s" % action)
    if action == "trigger":
        p = body.get("payload")
        if not isinstance(p, dict):
            errs.append("'payload' is missing")
        else:
            if not isinstance(p.get("summary"), str) or not 1 <= len(p["summary"]) <= 1024:
                errs.append("'payload.summary' must be 1 to 1024 characters")
            if not isinstance(p.get("source"), str) or not p["source"]:
                errs.append("'payload.source' is missing")
            if p.get("severity") not in ("critical", "error", "warning", "info"):
                errs.append("'payload.severity' is invalid")
    return (400, errs) if errs else (202, None)


def gchat_pd_post(h, path, query):
    """POST /gchat/<space> (a space webhook) or /pagerduty/v2/enqueue;
    recorded like the other chat posts (target "googlechat" or
    "pagerduty")."""
    raw = h.read_body()
    kind, _, name = path[1:].partition("/")
    target = "googlechat" if kind == "gchat" else "pagerduty"
    entry = {"target": target, "name": name, "headers": dict(h.headers.items()),
             "query": query, "t": time.time(), "size": len(raw)}
    try:
        entry["body"] = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        entry["body"] = raw.decode("utf-8", "replace")
    ctype = h.headers.get("Content-Type", "")
    if h.command != "POST":
        status, reply = 405, {"error": "method not allowed"}
    elif not ctype.startswith("application/json"):
        status, reply = 400, {"error": "Content-Type must be application/json"}
    elif target == "googlechat":
        status, reply = gchat_check(raw, entry["body"])
        if status == 200:
            with h.st.lock:
                seq = len(h.st.recorded) + 1
            reply = gchat_reply(name, query, entry["body"], seq)
            entry["thread"] = reply["thread"]["name"]
    elif name != "v2/enqueue":
        status, reply = 404, {"status": "not found"}
    else:
        status, errs = pd_check(raw, entry["body"])
        reply = {"status": "success", "message": "Event processed",
                 "dedup_key": entry["body"].get("dedup_key")} if status == 202 else \
            {"status": "invalid event", "message": "Event object is invalid", "errors": errs}
    entry["status"] = status
    entry["error"] = None if status < 300 else json.dumps(reply)
    with h.st.lock:
        h.st.log("chat", entry)
    h.reply(status, reply)


# --- Slack Web API (a Slack app's bot token) ----------------------------
# POST /slack-api/<method>, as https://slack.com/api/<method>: the
# service's url is http://127.0.0.1:PORT/slack-api/. Every call is
# recorded like a chat post (target "slack-app", name the method, the
# reply it got). Scenario key "slack_app" (all optional):
#   token     the bot token Slack accepts (default SLACK_APP_TOKEN);
#             another one gets ok:false invalid_auth, none not_authed
#   channels  {"C…": "ok" | "channel_not_found" | "not_in_channel" |
#             "is_archived"}; a channel not listed is "ok"
#   usergroups {"S…": ["U…", ...]}: the members usergroups.users.list
#             names (GET with ?usergroup=, or POST); another id gets
#             ok:false no_such_subteam
# chat.postMessage and chat.update check the Block Kit they get as Slack
# does where a mistake is easy to make (invalid_blocks, with the reason in
# "errors"): 50 blocks at most, block_ids unique, an actions block holds
# 1-25 interactive elements (no text), a context block 1-10 text or image
# elements. A reply in a thread needs the parent's ts (thread_not_found),
# chat.update a message it posted (message_not_found). Every call of a
# message method is answered as Slack answers it, and the messages as they
# now stand are served by GET /_slack_messages ({ts: body}).
# Faults (path_regex on the path) answer instead, and are recorded too:
# e.g. status 429, headers {"Retry-After": "2"}, body
# '{"ok":false,"error":"ratelimited"}'.

SLACK_APP_TOKEN = "xoxb-1111111111-2222222222-MockBotTokenForTests0"
SLACK_TS_BASE = 1700000000


SLACK_INTERACTIVE = {"button", "static_select", "multi_static_select", "overflow",
                     "datepicker", "timepicker", "users_select", "conversations_select",
                     "channels_select", "external_select", "checkboxes", "radio_buttons"}


def slack_blocks_error(blocks):
    """Why Slack would refuse blocks (a message's), or None."""
    if not isinstance(blocks, list) or len(blocks) > SLACK_MAX_BLOCKS:
        return "blocks must be a list of at most %d" % SLACK_MAX_BLOCKS
    ids = set()
    for i, b in enumerate(blocks):
        if not isinstance(b, dict) or not isinstance(b.get("type"), str):
            return "block %d has no type" % i
        bid = b.get("block_id")
        if bid is not None:
            if not isinstance(bid, str) or not 1 <= len(bid) <= 255 or bid in ids:
                return "block %d: block_id missing, too long or not unique" % i
            ids.add(bid)
        els = b.get("elements")
        if b["type"] == "actions" and (
                not isinstance(els, list) or not 1 <= len(els) <= 25 or
                any(not isinstance(e, dict) or e.get("type") not in SLACK_INTERACTIVE
                    for e in els)):
            return "block %d: an actions block holds 1-25 interactive elements" % i
        if b["type"] == "context" and (
                not isinstance(els, list) or not 1 <= len(els) <= 10 or
                any(not isinstance(e, dict) or
                    e.get("type") not in ("mrkdwn", "plain_text", "image") for e in els)):
            return "block %d: a context block holds 1-10 text or image elements" % i
    return None


def slack_usergroup(conf, args):
    """usergroups.users.list of args (the query or the body)."""
    group = args.get("usergroup") if isinstance(args, dict) else None
    members = conf.get("usergroups", {}).get(group)
    if members is None:
        return 200, {"ok": False, "error": "no_such_subteam"}
    return 200, {"ok": True, "users": list(members)}


def slack_api_reply(h, method, body):
    """What Slack answers to one call: (status, reply dict)."""
    conf = h.st.scenario.get("slack_app", {})
    token = conf.get("token", SLACK_APP_TOKEN)
    auth = h.headers.get("Authorization", "")
    if not auth:
        return 200, {"ok": False, "error": "not_authed"}
    if auth != "Bearer " + token:
        return 200, {"ok": False, "error": "invalid_auth"}
    if method == "usergroups.users.list":
        return slack_usergroup(conf, body)
    if method == "auth.test":
        return 200, {"ok": True, "url": "https://mock.slack.com/", "team": "Mock",
                     "user": "dpc_notify", "team_id": "T0MOCK", "user_id": "U0BOT",
                     "bot_id": "B0BOT"}
    if not isinstance(body, dict):
        return 200, {"ok": False, "error": "invalid_json"}
    channel = body.get("channel")
    if not channel:
        return 200, {"ok": False, "error": "channel_not_found"}
    state = conf.get("channels", {}).get(channel, "ok")
    if state != "ok" and not (method == "conversations.info" and state == "not_in_channel"):
        return 200, {"ok": False, "error": state}
    if method == "conversations.info":
        return 200, {"ok": True, "channel": {"id": channel, "name": "alerts",
                                             "is_channel": True, "is_archived": False,
                                             "is_member": state == "ok"}}
    why = slack_blocks_error(body.get("blocks", []))
    if why is not None and method in ("chat.postMessage", "chat.update"):
        return 200, {"ok": False, "error": "invalid_blocks", "errors": [why]}
    if method == "chat.postMessage":
        blocks = body.get("blocks", [])
        if "thread_ts" in body and body["thread_ts"] not in h.st.slack_messages:
            return 200, {"ok": False, "error": "thread_not_found"}
        h.st.slack_seq += 1
        ts = "%d.%06d" % (SLACK_TS_BASE + h.st.slack_seq, h.st.slack_seq)
        h.st.slack_messages[ts] = body
        msg = {"type": "message", "text": body.get("text", ""), "ts": ts,
               "bot_id": "B0BOT", "blocks": blocks}
        if "thread_ts" in body:
            msg["thread_ts"] = body["thread_ts"]
        return 200, {"ok": True, "channel": channel, "ts": ts, "message": msg}
    if method == "chat.update":
        ts = body.get("ts")
        if ts not in h.st.slack_messages:
            return 200, {"ok": False, "error": "message_not_found"}
        h.st.slack_messages[ts] = dict(h.st.slack_messages[ts], **body)
        return 200, {"ok": True, "channel": channel, "ts": ts,
                     "text": body.get("text", ""), "message": {"text": body.get("text", "")}}
    return 200, {"ok": False, "error": "unknown_method"}


def slack_api(h, path, query=""):
    """POST /slack-api/<method> (see above); GET for usergroups.users.list,
    whose arguments may also come in the query or a form body."""
    raw = h.read_body()
    method = path[len("/slack-api/"):]
    entry = {"target": "slack-app", "name": method, "headers": dict(h.headers.items()),
             "t": time.time(), "size": len(raw)}
    ctype = h.headers.get("Content-Type", "")
    try:
        entry["body"] = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        entry["body"] = raw.decode("utf-8", "replace")
    reader = method == "usergroups.users.list"
    if reader and (h.command == "GET" or ctype.startswith("application/x-www-form-urlencoded")):
        entry["body"] = dict(urllib.parse.parse_qsl(
            query if h.command == "GET" else raw.decode("utf-8", "replace")))
    with h.st.lock:
        if not hasattr(h.st, "slack_messages"):
            h.st.slack_messages, h.st.slack_seq = {}, 0
        action = h.st.take_fault(h.command, h.path)
        if action and "delay_s" in action:
            time.sleep(float(action["delay_s"]))
            action = None
        headers = None
        if action:
            status, reply = int(action.get("status", 500)), action.get("body", "")
            headers = action.get("headers")
        elif h.command != "POST" and not (reader and h.command == "GET"):
            status, reply = 405, {"ok": False, "error": "invalid_method"}
        elif h.command == "POST" and not ctype.startswith("application/json") and \
                not (reader and ctype.startswith("application/x-www-form-urlencoded")):
            status, reply = 200, {"ok": False, "error": "invalid_arguments"}
        else:
            status, reply = slack_api_reply(h, method, entry["body"])
        entry["status"] = status
        entry["reply"] = reply
        entry["error"] = None if status < 300 and isinstance(reply, dict) and \
            reply.get("ok") else (reply.get("error") if isinstance(reply, dict) else reply)
        h.st.log("chat", entry)
    h.reply(status, reply, "application/json", headers)
# --- Slack buttons (interactivity): Matillion's execute endpoint and a
# click's response_url (the Web API methods the buttons use are the Slack
# app's, /slack-api/ above) ----------------------------------------------
#
# POST /dpc/v1/projects/{p}/pipeline-executions starts a run, as Matillion
# does: 201 {"pipelineExecutionId"}. The run is listed by GET /_started
# ({projectId, pipelineName, environmentName, executionTag,
# pipelineExecutionId, status}) and can be read like any execution (GET
# .../pipeline-executions/{id} and .../steps): RUNNING, with the steps of
# the newest scenario execution of the same pipeline and environment. It
# runs until POST /_finish {"pipelineExecutionId", "status": "FAILED" |
# "SUCCESS", "steps": [...] (optional)} ends it; that answers the webhook
# body Matillion would send for the run, for the test to deliver. A second
# start with the executionTag of a run still going gets 409, as Matillion
# answers; a pipeline named "disabled" gets 410. POST /respond/{anything}
# records a response_url reply (target "respond").

START_RE = re.compile(r"^/dpc/v1/projects/([^/]+)/pipeline-executions$")
RERUN_ID = "e0000000-0000-4000-8000-%012d"


def interact_state(st):
    if not hasattr(st, "interact"):
        st.interact = {"started": [], "seq": 0}
    return st.interact


def interact_record(h, target, name, body):
    entry = {"target": target, "name": name, "headers": dict(h.headers.items()),
             "t": time.time(), "body": body, "status": 200, "error": None}
    with h.st.lock:
        h.st.log("chat", entry)


def rerun_execution(st, project, body, run_id):
    """The execution of a started run, its steps those of the newest
    scenario run of the pipeline (none when there is no such run)."""
    like = [e for (p, _), e in st.executions.items() if p == project and
            e["execution"].get("pipelineName") == body["pipelineName"] and
            e["execution"].get("environmentName") == body["environmentName"]]
    like.sort(key=lambda e: e["execution"].get("startedAt", ""))
    ex = {"pipelineExecutionId": run_id, "projectId": project,
          "pipelineName": body["pipelineName"], "environmentName": body["environmentName"],
          "status": "RUNNING", "trigger": "API", "startedAt": iso(time.time())}
    if body.get("executionTag"):
        ex["executionTag"] = body["executionTag"]
    steps = like[-1]["steps"] if like else StepList(run_id, [])
    return {"wrap": like[-1]["wrap"] if like else False, "execution": ex, "steps": steps}


def interact_start(h, m):
    raw = h.read_body()
    if not h.authorised():
        return h.problem(401, "Unauthorized", "a valid bearer token is required")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return h.problem(400, "Bad Request", "body is not JSON")
    if not isinstance(body, dict) or not body.get("pipelineName") or \
            not body.get("environmentName"):
        return h.problem(400, "Bad Request", "pipelineName and environmentName are required")
    if body.get("pipelineName") == "disabled":
        return h.problem(410, "Gone", "the pipeline is disabled")
    project = urllib.parse.unquote(m.group(1))
    with h.st.lock:
        state = interact_state(h.st)
        tag = body.get("executionTag")
        if tag and any(r["executionTag"] == tag and r["status"] == "RUNNING"
                       for r in state["started"]):
            return h.problem(409, "Conflict", "a run with this executionTag is still running")
        state["seq"] += 1
        run = {"projectId": project, "pipelineName": body["pipelineName"],
               "environmentName": body["environmentName"], "executionTag": tag,
               "pipelineExecutionId": RERUN_ID % state["seq"], "status": "RUNNING"}
        state["started"].append(run)
        h.st.executions[(project, run["pipelineExecutionId"])] = \
            rerun_execution(h.st, project, body, run["pipelineExecutionId"])
    h.reply(201, {"pipelineExecutionId": run["pipelineExecutionId"]})


def interact_finish(st, data):
    """POST /_finish (see above): (status, reply)."""
    state = interact_state(st)
    run = next((r for r in state["started"] if isinstance(data, dict) and
                r["pipelineExecutionId"] == data.get("pipelineExecutionId")), None)
    if run is None or data.get("status") not in ("FAILED", "SUCCESS"):
        return 400, {"error": "name a started run and FAILED or SUCCESS"}
    ex = st.executions[(run["projectId"], run["pipelineExecutionId"])]
    run["status"] = data["status"]
    ex["execution"] = dict(ex["execution"], status=data["status"],
                           finishedAt=iso(time.time()))
    if "steps" in data:
        ex["steps"] = StepList(run["pipelineExecutionId"], data["steps"])
    return 200, {"projectId": run["projectId"],
                 "pipelineExecutionId": run["pipelineExecutionId"],
                 "pipelineName": run["pipelineName"],
                 "environmentName": run["environmentName"], "status": data["status"]}


def interact_route(h, path, query):
    """Handles the paths above; False for any other."""
    m = START_RE.match(path)
    if m and h.command == "POST":
        interact_start(h, m)
        return True
    if path.startswith("/respond/"):
        raw = h.read_body()
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            body = raw.decode("utf-8", "replace")
        interact_record(h, "respond", path[len("/respond/"):], body)
        h.reply(200, "ok", "text/plain")
        return True
    return False


# --- Execution list: GET /dpc/v1/pipeline-executions ---------------------
# Matillion's cursor-paged list of a project's runs, newest first: query
# projectId, startedAfter / startedBefore (RFC 3339, both inclusive), status
# (repeated or comma-separated), pipelineName (case-insensitive part),
# environmentName, limit (1..100, default 25), paginationToken. The reply
# is {"results": [...], "more": "<token>"} with "more" left out on the last
# page. A token is opaque and random; it stands for the query and the last
# run returned, so runs added meanwhile (newer ones) never shift a page.
# An unknown token is a 400. Runs come from the scenario's executions and
# from POST /_runs.

import calendar  # noqa: E402 (this section's own import)

LIST_PATH = "/dpc/v1/pipeline-executions"
LIST_TOKENS = {}  # token -> (query key, (startedAt, id) of the last run sent)


def rfc3339_epoch(s):
    """Unix seconds (float) of an RFC 3339 time, or None."""
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?"
                 r"([Zz]|[+-]\d\d:\d\d)?$", s or "")
    if not m:
        return None
    y, mo, d, h, mi, se = (int(x) for x in m.groups()[:6])
    t = float(calendar.timegm((y, mo, d, h, mi, se, 0, 0, 0)))
    if m.group(7):
        t += float(m.group(7))
    tz = m.group(8)
    if tz and tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        t -= sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    return t


def iso_ms(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + \
        ".%03dZ" % int(round((epoch - math.floor(epoch)) * 1000) % 1000)


def list_item(project, ex):
    item = dict(ex["execution"])
    item.setdefault("projectId", project)
    return item


def exec_list(h, query):
    if h.st.upstream:  # the contract test: Prism judges the request
        return h.forward(LIST_PATH, query)
    q = urllib.parse.parse_qs(query, keep_blank_values=True)
    one = {k: v[-1] for k, v in q.items()}
    project = one.get("projectId", "")
    try:
        limit = int(one.get("limit", "25"))
    except ValueError:
        return h.problem(400, "Bad Request", "limit must be an integer")
    if not 1 <= limit <= 100:
        return h.problem(400, "Bad Request", "limit must be from 1 to 100")
    after = rfc3339_epoch(one["startedAfter"]) if "startedAfter" in one else None
    before = rfc3339_epoch(one["startedBefore"]) if "startedBefore" in one else None
    if ("startedAfter" in one and after is None) or ("startedBefore" in one and before is None):
        return h.problem(400, "Bad Request", "startedAfter/startedBefore must be date-times")
    statuses = {s.upper() for v in q.get("status", []) for s in v.split(",") if s}
    name = one.get("pipelineName", "").lower()
    env = one.get("environmentName")
    key = json.dumps([project, one.get("startedAfter"), one.get("startedBefore"),
                      sorted(statuses), name, env, limit])
    with h.st.lock:
        runs = []
        for (proj, _), ex in h.st.executions.items():
            e = ex["execution"]
            t = rfc3339_epoch(e.get("startedAt"))
            if proj != project or t is None:
                continue
            if (after is not None and t < after) or (before is not None and t > before):
                continue
            if statuses and str(e.get("status", "")).upper() not in statuses:
                continue
            if name and name not in str(e.get("pipelineName", "")).lower():
                continue
            if env is not None and e.get("environmentName") != env:
                continue
            runs.append(((t, str(e.get("pipelineExecutionId", ""))), list_item(proj, ex)))
        runs.sort(key=lambda r: r[0], reverse=True)
        tok = one.get("paginationToken")
        if tok:
            if tok not in LIST_TOKENS or LIST_TOKENS[tok][0] != key:
                return h.problem(400, "Bad Request", "invalid paginationToken")
            last = LIST_TOKENS[tok][1]
            runs = [r for r in runs if r[0] < last]
        page, rest = runs[:limit], runs[limit:]
        body = {"results": [r[1] for r in page]}
        if rest:
            nxt = base64.urlsafe_b64encode(os.urandom(18)).decode()
            LIST_TOKENS[nxt] = (key, page[-1][0])
            body["more"] = nxt
    h.reply(200, body)


def add_runs(h, data):
    """POST /_runs: a run or a list of them, each {"projectId", "id",
    "pipelineName", "environmentName", "status", "trigger",
    "started_ago"/"finished_ago" (seconds before now; finished_ago absent
    or null: still running) or "startedAt"/"finishedAt", "steps"}. A run
    with an id already known replaces it (e.g. to finish it), keeping its
    steps unless new ones are given. Called with the state's lock held."""
    items = data if isinstance(data, list) else [data]
    now = time.time()
    for r in items:
        key = (str(r["projectId"]), str(r["id"]))
        e = {"pipelineExecutionId": key[1],
             "pipelineName": r.get("pipelineName", "poll/pipeline.orch.yaml"),
             "environmentName": r.get("environmentName", "prod"),
             "status": r.get("status", "FAILED"), "trigger": r.get("trigger", "SCHEDULE")}
        if r.get("started_ago") is not None:
            e["startedAt"] = iso_ms(now - float(r["started_ago"]))
        elif r.get("startedAt"):
            e["startedAt"] = r["startedAt"]
        if r.get("finished_ago") is not None:
            e["finishedAt"] = iso_ms(now - float(r["finished_ago"]))
        elif r.get("finishedAt"):
            e["finishedAt"] = r["finishedAt"]
        old = h.st.executions.get(key)
        steps = StepList(key[1], r["steps"]) if "steps" in r else \
            (old["steps"] if old else StepList(key[1], []))
        h.st.executions[key] = {"wrap": False, "execution": e, "steps": steps}
    return h.reply(200, {"ok": True, "runs": len(h.st.executions)})


if __name__ == "__main__":
    main()
