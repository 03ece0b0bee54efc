"""Hostile input and secrets, end to end against the real $BUILD/dpc-notify
and tests/mock/mock_server.py: every rejection is an RFC 9457 problem that
echoes nothing it was sent; Standard Webhooks and GitHub signatures (known
vectors, rotation, replay, clock skew); refusal to start without
authentication; slow clients (slowloris), connection caps and oversized
headers; secrets kept out of the log, /metrics, check-config and replies;
hostile text rendered inert in Slack and Teams; outbound http:// refused,
TLS verified, redirects not followed."""

import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import select
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (AUTH_TOKEN, CLIENT_ID, UI_BASE, binary, case,  # noqa: E402
                     request, run_all, run_cli, scenario, strings, tail, tmpdir, wait_until, walk,
                     write_config)

FWC = scenario("failed_with_children")
WEBHOOK = FWC["webhook"]
PROJECT = WEBHOOK["projectId"]
MARK = "MARK3R-9d1e"  # planted in bodies, headers and URLs; never echoed or logged
PROBLEM = "application/problem+json"
SETTLE = 1.0  # seconds to wait for something that must NOT happen

# Standard Webhooks' published test vector (secret, id, timestamp, body, signature).
SW_VECTOR = ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
             1614265330, b'{"test": 2432232314}',
             "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
# GitHub's documented X-Hub-Signature-256 example.
GH_VECTOR = ("It's a Secret to Everybody", b"Hello, World!",
             "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")


# --- signing, written from the two specs -----------------------------------

def sw_key(secret):
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[6:])
    return secret.encode()


def sw_sign(secret, msg_id, ts, body):
    mac = hmac.new(sw_key(secret), b"%s.%d.%s" % (msg_id.encode(), ts, body), hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def gh_sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sw_headers(secret, body, msg_id="msg_1", ts=None, sig=None):
    ts = int(time.time()) if ts is None else ts
    return {"Content-Type": "application/json", "webhook-id": msg_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": sig or sw_sign(secret, msg_id, ts, body)}


def body_for(exec_id, **extra):
    return json.dumps(dict(WEBHOOK, pipelineExecutionId=exec_id, **extra)).encode()


# --- plumbing ---------------------------------------------------------------

class Env(harness.Env):
    """The harness frame on the scenario most cases use; keyword
    arguments are config sections."""

    def __init__(self, scenario_name="failed_with_children", upstream=None, **sections):
        super().__init__(scenario_name, upstream=upstream, sections=sections)


def no_auth(**server):
    """[server] overrides without the harness's default auth_token."""
    return dict({"auth_token": None}, **server)


def check_problem(what, reply, want, planted=(MARK, AUTH_TOKEN)):
    """Asserts an RFC 9457 reply with status want that echoes none of planted."""
    st, hd, data = reply
    assert st == want, "%s: HTTP %d, want %d: %r" % (what, st, want, data[:200])
    assert hd.get("content-type", "").startswith(PROBLEM), "%s: %s" % (what, hd)
    doc = json.loads(data.decode("utf-8"))
    assert doc.get("status") == want and doc.get("title") and doc.get("detail"), (what, doc)
    assert doc.get("type") == "about:blank", (what, doc)
    everything = data.decode("utf-8", "replace") + json.dumps(hd)
    for p in planted:
        assert p not in everything, "%s: the reply echoes %r: %s" % (what, p[:12], everything)
    return doc


def read_reply(s, timeout):
    """Reads one HTTP response (or nothing) from socket s. Returns (status
    or None if the server closed without replying, raw bytes)."""
    s.settimeout(timeout)
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
        want = int(m.group(1)) if m else 0
        while len(rest) < want:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        buf = head + b"\r\n\r\n" + rest if head else buf
    except (ConnectionResetError, BrokenPipeError):
        pass
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", buf)
    return (int(m.group(1)) if m else None), buf


def raw_exchange(port, data, timeout=5.0):
    """Sends raw bytes on a new connection; returns read_reply()'s result."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (ConnectionResetError, BrokenPipeError):
            pass
        return read_reply(s, timeout)


def served(port, timeout=1.5):
    """True when GET /healthz on a new connection answers 200 in time."""
    try:
        st, _ = raw_exchange(port, b"GET /healthz HTTP/1.1\r\nHost: t\r\n"
                             b"Connection: close\r\n\r\n", timeout)
        return st == 200
    except OSError:
        return False


def metric(port, name):
    """Sum of every sample of metric name on /metrics."""
    st, _, data = request("GET", port, "/metrics")
    assert st == 200, st
    total = 0.0
    for line in data.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


# --- 1. rejections ---------------------------------------------------------

@case
def rejections_are_problem_json_without_echo():
    # Polling off: with it on, a body naming no run is a nudge (test_poll.py).
    with Env(poll={"enabled": "false"}) as env:
        ok = {"Content-Type": "application/json", "Authorization": "Bearer " + AUTH_TOKEN,
              "X-Planted": MARK}
        good = body_for("rej-1")
        planted = body_for("rej-" + MARK, note=MARK)
        deep = b'{"projectId":"p","id":"x","a":' + b"[" * 40 + b"1" + b"]" * 40 + b"}"
        cases = [
            ("no credentials", env.post(planted, {"Content-Type": "application/json"}), 401),
            ("wrong bearer", env.post(planted, dict(ok, Authorization="Bearer " + MARK)), 401),
            ("not a bearer", env.post(planted, dict(
                ok, Authorization="Basic " + base64.b64encode(MARK.encode()).decode())), 401),
            ("wrong ?token=", env.post(planted, {"Content-Type": "application/json"},
                                       path="/webhook?token=" + MARK), 401),
            ("bad signature", env.post(planted, dict(
                sw_headers("whsec_" + base64.b64encode(b"k" * 24).decode(), planted),
                **{"X-Planted": MARK})), 401),
            ("bad GitHub signature", env.post(planted, {
                "Content-Type": "application/json",
                "X-Hub-Signature-256": "sha256=" + MARK}), 401),
            ("GET /webhook", env.post(None, ok, method="GET"), 405),
            ("PUT /webhook", env.post(good, ok, method="PUT"), 405),
            ("DELETE /webhook", env.post(None, ok, method="DELETE"), 405),
            ("POST /healthz", env.post(good, ok, path="/healthz"), 405),
            ("POST /metrics", env.post(good, ok, path="/metrics"), 405),
            ("unknown path", env.post(None, ok, path="/" + MARK, method="GET"), 404),
            ("path below /webhook", env.post(good, ok, path="/webhook/" + MARK), 404),
            ("dot-dot path", env.post(None, ok, path="/../etc/passwd", method="GET"), 404),
            ("text/plain", env.post(good, dict(ok, **{"Content-Type": "text/plain"})), 415),
            ("no content type", env.post(good, {"Authorization": ok["Authorization"]}), 415),
            ("look-alike type", env.post(good, dict(
                ok, **{"Content-Type": "application/json-" + MARK})), 415),
            ("form type", env.post(b"a=" + MARK.encode(), dict(
                ok, **{"Content-Type": "application/x-www-form-urlencoded"})), 415),
            ("invalid JSON", env.post(b'{"x": "' + MARK.encode() + b'", ', ok), 400),
            ("not an object", env.post(b'["' + MARK.encode() + b'"]', ok), 400),
            ("trailing garbage", env.post(good + MARK.encode(), ok), 400),
            ("nested too deep", env.post(deep, ok), 400),
            ("empty body", env.post(b"", ok), 400),
            ("no execution id", env.post(json.dumps({"projectId": PROJECT,
                                                     "note": MARK}).encode(), ok), 422),
            ("id with markup", env.post(body_for("<b>" + MARK + "</b>"), ok), 422),
            ("id too long", env.post(body_for("x" * 200 + MARK), ok), 422),
            ("too large", env.post(b'{"p":"' + b"x" * 70000 + MARK.encode() + b'"}', ok),
             413),
        ]
        for what, reply, want in cases:
            doc = check_problem(what, reply, want)
            hd = reply[1]
            if want == 401:
                assert hd.get("www-authenticate") == "Bearer", (what, hd)
            if want == 405:
                assert hd.get("allow") in ("POST", "GET, HEAD"), (what, hd)
            if what == "nested too deep":
                assert "deep" in doc["detail"], doc
        time.sleep(SETTLE)
        assert env.mock.recorded() == [] and env.mock.calls() == [], "a rejection became a job"
        log = env.log()
        assert MARK.encode() not in log, "the log shows planted input:\n" + tail(env.svc.log)
        # Every rejected POST /webhook (all but the 404s and 405s) is logged.
        assert log.count(b"webhook rejected") >= 19, tail(env.svc.log)


@case
def body_limit_answers_before_the_body_is_read():
    """A declared Content-Length over max_body gets 413 while the body is
    still unsent; an endless chunked body is cut off with 413 or a close."""
    with Env(server={"max_body": "4096"}) as env:
        head = ("POST /webhook HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                "Authorization: Bearer %s\r\nContent-Length: 100000000\r\n\r\n" % AUTH_TOKEN)
        st, raw = raw_exchange(env.cfg.port, head.encode(), timeout=5.0)
        assert st == 413, "declared 100 MB: %r" % raw[:300]
        assert PROBLEM.encode() in raw, raw[:300]
        # Chunked, no length: 4 KiB pieces until the server stops us (bounded).
        with socket.create_connection(("127.0.0.1", env.cfg.port), timeout=5) as s:
            s.sendall(head.replace("Content-Length: 100000000",
                                   "Transfer-Encoding: chunked").encode())
            piece = b"1000\r\n" + b"x" * 4096 + b"\r\n"
            sent = 0
            try:
                while sent < 8 * 1024 * 1024:
                    s.sendall(piece)
                    sent += len(piece)
                    r, _, _ = select.select([s], [], [], 0)
                    if r:
                        break
            except (BrokenPipeError, ConnectionResetError):
                pass
            st, raw = read_reply(s, 5.0)
        assert st in (413, None), "chunked overflow: %s %r" % (st, raw[:200])
        assert sent < 8 * 1024 * 1024, "the server kept reading an endless body"
        assert served(env.cfg.port)


@case
def oversized_headers_rejected():
    with Env() as env:
        port = env.cfg.port
        big = ("POST /webhook HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
               "X-Big: %s%s\r\nContent-Length: 2\r\n\r\n{}" % ("a" * 40000, MARK))
        many = "GET /healthz HTTP/1.1\r\nHost: t\r\n" + "".join(
            "X-H%d: %s\r\n" % (i, "b" * 100) for i in range(600)) + "\r\n"
        long_url = "GET /healthz?%s%s HTTP/1.1\r\nHost: t\r\n\r\n" % ("c" * 40000, MARK)
        for what, data in (("one 40 KB header", big), ("600 headers", many),
                           ("40 KB request line", long_url)):
            st, raw = raw_exchange(port, data.encode(), timeout=5.0)
            assert st in (None, 414, 431), "%s: %s %r" % (what, st, raw[:200])
            assert MARK.encode() not in raw, "%s echoed" % what
        assert served(port), "the service stopped answering"
        assert MARK.encode() not in env.log()


# --- 2. signatures -----------------------------------------------------------

@case
def standard_webhooks_signatures():
    secret, vid, vts, vbody, vsig = SW_VECTOR
    assert sw_sign(secret, vid, vts, vbody) == vsig, "the test's signer is wrong"
    with Env(server=no_auth(hmac_secret=secret)) as env:
        def post(body, **kw):
            return env.post(body, sw_headers(secret, body, **kw))

        # The published vector verifies, but its 2021 timestamp is stale; a
        # one-character change is a forgery instead. The detail tells them apart.
        doc = check_problem("vector", env.post(vbody, sw_headers(secret, vbody, vid, vts, vsig)),
                            401)
        assert doc["detail"] == "signature timestamp outside tolerance", doc
        forged = vsig[:-2] + ("A" if vsig[-2] != "A" else "B") + "="
        doc = check_problem("forged vector", env.post(vbody, sw_headers(
            secret, vbody, vid, vts, forged)), 401)
        assert doc["detail"] == "invalid signature", doc

        b1 = body_for("sw-ok-1")
        st, _, out = post(b1)
        assert st == 202, (st, out)
        b2 = body_for("sw-ok-2")
        now = int(time.time())
        several = "v1,%s %s v2,zzzz" % (base64.b64encode(b"\0" * 32).decode(),
                                         sw_sign(secret, "msg_2", now, b2))
        st, _, out = env.post(b2, sw_headers(secret, b2, "msg_2", now, several))
        assert st == 202, ("one good signature among several", st, out)

        b3 = body_for("sw-bad-3")
        good3 = sw_sign(secret, "msg_3", now, b3)
        bad = [
            ("tampered body", env.post(body_for("sw-bad-X"),
                                       sw_headers(secret, b3, "msg_3", now, good3))),
            ("other webhook-id", env.post(b3, sw_headers(secret, b3, "msg_OTHER", now, good3))),
            ("other timestamp", env.post(b3, sw_headers(secret, b3, "msg_3", now + 1, good3))),
            ("v2 scheme only", env.post(b3, sw_headers(secret, b3, "msg_3", now,
                                                       "v2," + good3[3:]))),
            ("raw key, not base64-decoded", env.post(b3, sw_headers(
                secret, b3, "msg_3", now, "v1," + base64.b64encode(hmac.new(
                    secret.encode(), b"msg_3.%d.%s" % (now, b3),
                    hashlib.sha256).digest()).decode()))),
            ("truncated signature", env.post(b3, sw_headers(secret, b3, "msg_3", now,
                                                            good3[:-4]))),
            ("no webhook-id", env.post(b3, {"Content-Type": "application/json",
                                            "webhook-timestamp": str(now),
                                            "webhook-signature": good3})),
            ("non-numeric timestamp", env.post(b3, {
                "Content-Type": "application/json", "webhook-id": "msg_3",
                "webhook-timestamp": "%dx" % now, "webhook-signature": good3})),
        ]
        for what, reply in bad:
            doc = check_problem(what, reply, 401)
            assert doc["detail"] == "invalid signature", (what, doc)


@case
def github_signatures():
    secret, vbody, vsig = GH_VECTOR
    assert gh_sign(secret, vbody) == vsig, "the test's signer is wrong"
    with Env(server=no_auth(hmac_secret=secret)) as env:
        h = {"Content-Type": "application/json"}
        # The documented vector authenticates; "Hello, World!" then fails as JSON.
        check_problem("vector", env.post(vbody, dict(h, **{"X-Hub-Signature-256": vsig})), 400)
        upper = "sha256=" + vsig[7:].upper()
        check_problem("upper-case hex", env.post(vbody, dict(
            h, **{"X-Hub-Signature-256": upper})), 400)
        body = body_for("gh-ok-1")
        st, _, out = env.post(body, dict(h, **{"X-Hub-Signature-256": gh_sign(secret, body)}))
        assert st == 202, (st, out)
        sha1 = "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
        for what, sig in (("flipped digit", vsig[:-1] + ("0" if vsig[-1] != "0" else "1")),
                          ("other body", gh_sign(secret, b"{}")),
                          ("other secret", gh_sign(secret + "x", vbody)),
                          ("sha1 scheme", sha1), ("no prefix", vsig[7:]),
                          ("short", vsig[:40])):
            doc = check_problem(what, env.post(vbody, dict(h, **{"X-Hub-Signature-256": sig})),
                                401)
            assert doc["detail"] == "invalid signature", (what, doc)


@case
def rotation_accepts_every_configured_credential():
    old_sw = "whsec_" + base64.b64encode(b"old-standard-webhooks-key-0001").decode()
    new_gh = "new-github-secret-0002"
    with Env(server={"auth_token": "tok-old-1111-rotation,tok-new-2222-rotation",
                     "hmac_secret": old_sw + "," + new_gh}) as env:
        n = [0]

        def fresh():
            n[0] += 1
            return body_for("rot-%d" % n[0])
        ct = {"Content-Type": "application/json"}
        accepted = []
        for what, make in (
                ("old token", lambda b: (b, dict(ct, Authorization="Bearer tok-old-1111-rotation"), "")),
                ("new token", lambda b: (b, dict(ct, Authorization="Bearer tok-new-2222-rotation"), "")),
                ("new token in ?token=", lambda b: (b, ct, "?token=tok-new-2222-rotation")),
                ("old secret, Standard Webhooks", lambda b: (b, sw_headers(old_sw, b), "")),
                ("new secret, Standard Webhooks", lambda b: (b, sw_headers(new_gh, b), "")),
                ("new secret, GitHub", lambda b: (b, dict(ct, **{
                    "X-Hub-Signature-256": gh_sign(new_gh, b)}), ""))):
            b, hd, q = make(fresh())
            st, _, out = env.post(b, hd, path="/webhook" + q)
            accepted.append((what, st))
            assert st == 202, "%s: %d %s" % (what, st, out)
        b = fresh()
        retired = "whsec_" + base64.b64encode(b"retired-key-never-configured").decode()
        for what, hd in (("unknown token", dict(ct, Authorization="Bearer tok-old-111")),
                         ("token prefix", dict(ct, Authorization="Bearer tok-old-1111-rotationx")),
                         ("retired secret", sw_headers(retired, b)),
                         ("retired GitHub secret", dict(ct, **{
                             "X-Hub-Signature-256": gh_sign("old-github-secret", b)}))):
            check_problem(what, env.post(b, hd), 401)


@case
def replay_and_clock_skew():
    secret = "whsec_" + base64.b64encode(b"replay-test-key-with-32-bytes!!!").decode()
    with Env(server=no_auth(hmac_secret=secret)) as env:
        now = int(time.time())
        for what, skew in (("10 minutes old", -600), ("10 minutes ahead", 600),
                           ("just past tolerance", -330), ("just ahead", 330)):
            b = body_for("skew%d" % skew)
            doc = check_problem(what, env.post(b, sw_headers(secret, b, "m%d" % skew,
                                                             now + skew)), 401)
            assert doc["detail"] == "signature timestamp outside tolerance", (what, doc)
        for what, skew in (("4 minutes old", -240), ("4 minutes ahead", 240)):
            b = body_for("skewok%d" % skew)
            st, _, out = env.post(b, sw_headers(secret, b, "ok%d" % skew, now + skew))
            assert st == 202, "%s: %d %s" % (what, st, out)
        # Replaying a genuine request inside the window makes no second job.
        b = body_for("replayed")
        hd = sw_headers(secret, b, "msg_replay", now)
        st1, _, out1 = env.post(b, hd)
        st2, _, out2 = env.post(b, hd)
        assert st1 == 202, (st1, out1)
        assert st2 == 200 and json.loads(out2).get("status") == "duplicate", (st2, out2)


@case
def refuses_to_start_without_authentication():
    d = tmpdir()
    cfg = write_config(d, 1, server=no_auth())
    rc, out, err = run_cli(["-c", cfg.path, "serve"], timeout=15)
    assert rc != 0, "serve started with no authentication"
    assert "no webhook authentication configured" in out + err, out + err
    rc, out, err = run_cli(["-c", cfg.path, "check-config"], timeout=15)
    assert rc != 0 and "allow_unauthenticated" in out + err, (rc, out + err)
    # hmac_secret alone is authentication enough.
    cfg = write_config(d, 1, server=no_auth(hmac_secret="only-a-signing-secret"))
    rc, out, err = run_cli(["-c", cfg.path, "check-config"], timeout=15)
    assert rc == 0, out + err
    # Opting out starts, warns once at start, and takes unsigned webhooks.
    with Env(server=no_auth(allow_unauthenticated="true")) as env:
        log = env.log().decode("utf-8", "replace")
        warn = [ln for ln in log.splitlines() if "authentication is OFF" in ln]
        assert len(warn) == 1 and re.search(r"(?i)warn", warn[0]), log
        st, _, out = env.post(body_for("unauth-1"), {"Content-Type": "application/json"})
        assert st == 202, (st, out)
        rc, out, err = run_cli(["-c", env.cfg.path, "check-config"])
        assert rc == 0 and "UNAUTHENTICATED" in out, out + err


# --- 3. connections ----------------------------------------------------------

class Dribbler:
    """Slow clients: each socket sends one more byte per tick and never
    finishes its request. Records when the server closed each one."""

    def __init__(self, port, n_headers, n_bodies, tick=1.0):
        self.tick = tick
        self.socks = []  # [socket, bytes to send, bytes sent, opened_at, closed_at]
        hdr = b"POST /webhook HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 100000
        body = ("POST /webhook HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                "Authorization: Bearer %s\r\nContent-Length: 5000\r\n\r\n" % AUTH_TOKEN
                ).encode() + b" " * 5000
        for i in range(n_headers + n_bodies):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            data = hdr if i < n_headers else body
            # Body sockets send their headers at once, then dribble the body.
            first = 1 if i < n_headers else data.index(b"\r\n\r\n") + 4
            s.sendall(data[:first])
            s.setblocking(False)
            self.socks.append([s, data, first, time.monotonic(), None])
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.wait(self.tick):
            for e in self.socks:
                if e[4] is not None:
                    continue
                self._check_closed(e)
                if e[4] is None:
                    try:
                        e[0].send(e[1][e[2]:e[2] + 1])
                        e[2] += 1
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        e[4] = time.monotonic()

    def _check_closed(self, e):
        try:
            if e[0].recv(4096, socket.MSG_PEEK) == b"":
                e[4] = time.monotonic()
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            e[4] = time.monotonic()

    def open_count(self):
        return sum(1 for e in self.socks if e[4] is None)

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        for e in self.socks:
            e[0].close()


@case
def slowloris_does_not_block_webhooks():
    timeout_s = 3
    with Env(server={"connection_timeout": str(timeout_s), "max_connections": "300",
                     "max_connections_per_ip": "200"}) as env:
        slow = Dribbler(env.cfg.port, n_headers=90, n_bodies=10)
        try:
            time.sleep(1.5)  # all 100 are in, each has sent a byte or two more
            assert slow.open_count() == 100, "slow clients refused early: %d open" % \
                slow.open_count()
            st, _, out = env.post(body_for("while-slowloris"),
                                  {"Content-Type": "application/json",
                                   "Authorization": "Bearer " + AUTH_TOKEN}, timeout=5.0)
            assert st == 202, "webhook during slowloris: %d %s" % (st, out)
            # They keep sending (so an idle timeout alone would never fire) and
            # are still cut off by the request deadline.
            wait_until(lambda: slow.open_count() == 0, 20.0, 0.2,
                       "every slow connection closed by the server")
            lived = [e[4] - e[3] for e in slow.socks]
            assert min(lived) >= timeout_s - 0.5, \
                "closed before connection_timeout: %.2fs" % min(lived)
            assert min(e[2] for e in slow.socks[:90]) >= 3, "the dribbler did not dribble"
        finally:
            slow.close()
        assert served(env.cfg.port)
        log = env.log().decode("utf-8", "replace")
        assert "closed slow connections" in log, tail(env.svc.log)


def still_open(s):
    """True while the server has neither closed s nor answered on it."""
    s.setblocking(False)
    try:
        s.recv(1, socket.MSG_PEEK)
    except (BlockingIOError, InterruptedError):
        return True
    except OSError:
        return False
    finally:
        s.setblocking(True)
    return False


def knock(port, timeout):
    """A GET /healthz on a new connection. Returns (outcome, socket), the
    outcome "served", "refused" (closed without an answer), "waiting" (no
    answer in time; the socket stays open for the caller) or "answered N"."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        st, _ = read_reply(s, timeout)
    except socket.timeout:
        return "waiting", s
    except (ConnectionResetError, BrokenPipeError):
        st = None
    if st is None:
        return "refused", s
    return ("served" if st == 200 else "answered %d" % st), s


def hold_three_and_knock(port, what, turned_away, wait):
    """Opens three connections that each send half a request, then a
    fourth (knock()). Returns (held sockets, the fourth's outcome, its
    socket) once the server kept all three open. An attempt where the
    server closed one of the three is repeated: that one was refused
    because a connection the server had answered but not yet finished
    closing (the readiness probe, say) still took a slot, so three were
    never held. Each try waits a little longer first, so that the server
    can finish closing what came before (it answers, then closes and frees
    the slot, and a loaded server can take a while between the two).
    Accepts are in arrival order, so once the fourth has an outcome the
    three were dealt with before it. wait: knock()'s timeout."""
    for attempt in range(6):
        time.sleep(0.1 * 2 ** attempt)
        held, fourth, kept = [], None, False
        try:
            for _ in range(3):
                held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
                held[-1].sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")  # never finished
            how, fourth = knock(port, wait)
            if how != turned_away:
                time.sleep(SETTLE)  # a held one closed at the same moment shows by now
            kept = all(still_open(s) for s in held)
            if kept:
                return held, how, fourth
        finally:
            if not kept:
                for s in held + [fourth]:
                    if s is not None:
                        s.close()
        wait_until(lambda: served(port), 10.0, 0.1, "%s: served before another try" % what)
    raise AssertionError("%s: the server never kept three connections open" % what)


@case
def connection_caps_refuse_extra_clients():
    # The fourth connection must be kept out by the cap, not by a slow or
    # dead server: past the per-IP cap it is closed unanswered (however
    # long the server takes to get to it); past the total cap
    # libmicrohttpd leaves it in the listen backlog, and it is answered as
    # soon as a slot frees.
    for what, server, turned_away, wait in (
            ("per-IP cap", {"max_connections_per_ip": "3"}, "refused", 10.0),
            ("total cap", {"max_connections": "3", "max_connections_per_ip": "32"}, "waiting",
             3.0)):
        with Env(server=dict(server, connection_timeout="30")) as env:
            port = env.cfg.port
            held, how, fourth = hold_three_and_knock(port, what, turned_away, wait)
            try:
                assert how == turned_away, "%s: with three held, a 4th connection was %s" % \
                    (what, how)
                if turned_away == "waiting":
                    # The server is alive: it answers a held request
                    # (closing that connection), then the waiting fourth.
                    held[0].sendall(b"\r\n")
                    assert read_reply(held[0], 10.0)[0] == 200, "%s: a held request" % what
                    st, _ = read_reply(fourth, 10.0)
                    assert st == 200, "%s: the waiting 4th not served once freed" % what
                else:
                    held[0].close()
                    wait_until(lambda: served(port), 10.0, 0.1,
                               "%s: served again once freed" % what)
            finally:
                for s in held + [fourth]:
                    s.close()


@case
def clients_that_left_early_free_their_slot():
    # libmicrohttpd 0.9.75 in epoll mode misses the end of a connection
    # whose request bytes and FIN were both queued when it first read it:
    # the per-IP slot stayed taken until connection_timeout. Stopping the
    # service while three clients connect, send half a request and close
    # queues exactly that. The log shows that all three were let in (not
    # refused for a slot the readiness probe still held) and seen to leave.
    ended = b"Connection was closed by remote side with incomplete request"
    with Env(server={"max_connections_per_ip": "3", "connection_timeout": "60"}) as env:
        port = env.cfg.port
        time.sleep(SETTLE)  # the readiness probe's connection is gone
        os.kill(env.svc.proc.pid, signal.SIGSTOP)
        try:
            for _ in range(3):
                with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                    s.sendall(b"POST /webhook HTTP/1.1\r\nHost: t\r\n")
        finally:
            os.kill(env.svc.proc.pid, signal.SIGCONT)
        wait_until(lambda: served(port), 10.0, 0.1,
                   "a new client served once the three that left are gone")
        wait_until(lambda: env.log().count(ended) == 3, 5.0, 0.1,
                   "three clients seen to leave: " + tail(env.svc.log))


# --- 4. secrets ----------------------------------------------------------------

@case
def secrets_never_in_log_metrics_or_output():
    client_secret = "cs-9f8e7d-SECRET-client"
    sw_secret_raw = b"hmac-secret-bytes-SECRET-77"
    sw_secret = "whsec_" + base64.b64encode(sw_secret_raw).decode()
    slack_path = "/slack/T0SECRET1/B0SECRET2/XyZsecretHookPath123"
    teams_path = "/teams/workflows/wfSECRET9/triggers/manual/paths/invoke?api-version=1&sig=" \
                 "SIGsecretSignature456"
    sc = dict(FWC, credentials={"client_id": CLIENT_ID, "client_secret": client_secret})
    with harness.Env("failed_with_children", scenario=sc, start=False, sections=lambda mp: {
            "server": {"hmac_secret": sw_secret, "log_level": "debug"},
            "matillion": {"client_secret": client_secret},
            "delivery": {"max_attempts": "2"},
            "destination slack-main": {"url": mp + slack_path},
            "destination teams-main": {"url": mp + teams_path}}) as env:
        mock, cfg = env.mock, env.cfg
        os.chmod(cfg.path, 0o600)
        # The API needs a token refresh once; Slack fails twice, Teams for good.
        mock.add_fault([
            {"method": "GET", "path_regex": "/steps", "times": 1,
             "action": {"status": 401, "body": "{}"}},
            {"method": "POST", "path_regex": "^/slack/", "times": 5,
             "action": {"status": 500, "body": "internal_error"}},
            {"method": "POST", "path_regex": "^/teams/", "times": 5,
             "action": {"status": 400, "body": "Bad Request \u001b[31mred\u0007 \u009b"}}])
        svc = env.start_service()
        port = cfg.port
        replies = []
        body = body_for(WEBHOOK["pipelineExecutionId"])
        st, _, out = request("POST", port, "/webhook?token=" + AUTH_TOKEN, body,
                             {"Content-Type": "application/json"})
        assert st == 202, (st, out)
        replies.append(request("POST", port, "/webhook", body, {
            "Content-Type": "application/json", "Authorization": "Bearer " + MARK}))
        replies.append(request("POST", port, "/webhook", body, sw_headers(
            sw_secret, body + b" ")))
        replies.append(request("POST", port, "/webhook?token=" + AUTH_TOKEN[:-1], body,
                               {"Content-Type": "application/json"}))
        wait_until(lambda: metric(port, "dpc_notify_dead_letters_total") >= 2, 60.0, 0.25,
                   "both destinations dead-lettered")
        st, _, metrics = request("GET", port, "/metrics")
        calls = mock.calls()
        tokens = {c["authorization"][7:] for c in calls if c["authorization"]}
        assert any(t.startswith("mock-token-") for t in tokens), tokens
        assert len([c for c in calls if c["path"] == "/oauth/dpc/token"]) >= 2, \
            "the 401 did not lead to a new token"
    rc, out, err = run_cli(["-c", cfg.path, "check-config"])
    assert rc == 0, out + err
    with open(svc.log, "rb") as f:
        log = f.read().decode("utf-8", "replace")
    assert "debug" in log.lower(), "log_level=debug did not log at debug"
    secrets = [AUTH_TOKEN, sw_secret, sw_secret[6:], sw_secret_raw.decode(), client_secret,
               "mock-token", "T0SECRET1", "B0SECRET2", "XyZsecretHookPath123", "wfSECRET9",
               "SIGsecretSignature456", MARK] + sorted(tokens)
    places = [("service log", log), ("/metrics", metrics.decode()),
              ("check-config", out + err)] + [
        ("error reply %d" % i, r[2].decode("utf-8", "replace") + json.dumps(r[1]))
        for i, r in enumerate(replies)]
    for where, text in places:
        for s in secrets:
            assert s not in text, "%s contains a secret (%s...)" % (where, s[:6])
    for i, r in enumerate(replies):
        check_problem("reply %d" % i, r, 401)
    assert "redacted" in out.lower(), out
    # The chat endpoint's error text is logged, but with its control bytes defused.
    assert "Bad Request" in log and not CONTROL.search(log.replace("\n", "")), \
        "control characters from a remote reply reached the log"


@case
def world_readable_config_with_secrets_warns():
    d = tmpdir()
    cfg = write_config(d, 1)
    os.chmod(cfg.path, 0o644)
    rc, out, err = run_cli(["-c", cfg.path, "check-config"])
    assert rc == 0 and "readable by other users" in out + err, out + err
    assert AUTH_TOKEN not in out + err
    os.chmod(cfg.path, 0o600)
    rc, out, err = run_cli(["-c", cfg.path, "check-config"])
    assert rc == 0 and "readable by other users" not in out + err, out + err
    # Secrets kept out of the file (KEY_file) are no reason to warn; one
    # inline secret is.
    files = {}
    for key, value in (("token", AUTH_TOKEN), ("cid", CLIENT_ID), ("cs", "test-secret"),
                       ("slack", "http://127.0.0.1:1/slack/T0/B0/fromfile"),
                       ("teams", "http://127.0.0.1:1/teams/fromfile")):
        files[key] = os.path.join(d, key)
        with open(files[key], "w") as f:
            f.write(value + "\n")
    sections = {
        "server": {"auth_token": None, "auth_token_file": files["token"]},
        "matillion": {"client_id": None, "client_id_file": files["cid"],
                      "client_secret": None, "client_secret_file": files["cs"]},
        "destination slack-main": {"url": None, "url_file": files["slack"]},
        "destination teams-main": {"url": None, "url_file": files["teams"]}}
    cfg = write_config(d, 1, sections=sections)
    os.chmod(cfg.path, 0o644)
    rc, out, err = run_cli(["-c", cfg.path, "check-config"])
    assert rc == 0 and "readable by other users" not in out + err, out + err
    assert "fromfile" not in out + err, "a URL read from a file was printed"
    sections["destination teams-main"] = {"url_file": None,
                                          "url": "http://127.0.0.1:1/teams/inline"}
    cfg = write_config(d, 1, sections=sections)
    os.chmod(cfg.path, 0o644)
    rc, out, err = run_cli(["-c", cfg.path, "check-config"])
    assert "readable by other users" in out + err, "inline Teams URL, no warning: " + out + err


# --- 5. hostile text -------------------------------------------------------------

SLACK_LIVE = re.compile(r"<[!@#]|<(?:https?|mailto|tel|slack):", re.I)
# The context line's times, in the reader's time zone: our own digits in a
# mrkdwn object, the only markup allowed besides the configured mention.
SLACK_DATE = re.compile(r"<!date\^\d+\^\{(?:date_short_pretty\} \{time|time)\}\|[0-9: -]+(?: UTC)?>")


def slack_texts(body):
    """(kind, text) for every text in a Slack body: "mrkdwn" objects,
    "plain_text" objects, rich_text elements and the top-level fallback."""
    out = [("top", body.get("text", ""))]
    for k, v in walk(body.get("blocks", [])):
        if isinstance(v, dict) and isinstance(v.get("text"), str):
            out.append((v.get("type", "?"), v["text"]))
    return out


def assert_slack_inert(body, forbidden=()):
    for kind, text in slack_texts(body):
        if kind == "mrkdwn":
            text = SLACK_DATE.sub("", text)
        assert not SLACK_LIVE.search(text.replace("<" + UI_BASE, "")), \
            "live Slack markup in %s text: %r" % (kind, text[:300])
        for bad in forbidden:
            assert bad not in text, "%r in %s text: %r" % (bad, kind, text[:300])
        if kind in ("mrkdwn", "top"):
            bare = re.sub(r"<%s[^<>|]*\|[^<>]*>" % re.escape(UI_BASE), "", text)
            bare = re.sub(r"<%s[^<>]*>" % re.escape(UI_BASE), "", bare)
            assert "<" not in bare and ">" not in bare, "unescaped < or > in %r" % text[:300]
            assert not re.search(r"&(?!amp;|lt;|gt;)", bare), "bare & in %r" % text[:300]
    for k, v in walk(body):
        if isinstance(v, dict) and v.get("type") == "mrkdwn":
            assert v.get("verbatim") is True, "mrkdwn without verbatim: %r" % v
        if k in ("url", "image_url") and isinstance(v, str):
            assert v.startswith(UI_BASE + "/"), "foreign URL %r" % v


TEAMS_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\s*\(")


def teams_texts(card):
    """(kind, text) for the card's visible texts: "markdown" where Teams
    renders markdown (TextBlock, FactSet), "literal" for TextRun."""
    out = []
    for _, v in walk(card):
        if not isinstance(v, dict):
            continue
        if v.get("type") == "TextRun" and isinstance(v.get("text"), str):
            out.append(("literal", v["text"]))
        elif v.get("type") == "TextBlock" and isinstance(v.get("text"), str):
            out.append(("markdown", v["text"]))
        elif v.get("type") == "FactSet":
            for f in v.get("facts", []):
                out += [("markdown", f.get("title", "")), ("markdown", f.get("value", ""))]
    return out


def assert_teams_inert(body):
    content = body["attachments"][0]["content"]
    ents = (content.get("msteams") or {}).get("entities") or []
    assert ents == [], "mention entities without a configured mention: %r" % ents
    for k, v in walk(body):
        if not isinstance(v, str):
            continue
        if k in ("url", "iconUrl"):
            assert v.startswith(UI_BASE + "/"), "foreign URL %r" % v
            continue
        low = v.lower()
        assert "<at>" not in low and "</at>" not in low, "mention tag in %r" % v[:300]
        assert "<" not in v and ">" not in v or k == "$schema", "tag-like text %r" % v[:300]
        assert not re.search(r"&(lt|gt|amp|#\d+|#x[0-9a-f]+);", low), "entity in %r" % v[:300]
    texts = teams_texts(content)
    assert texts, "no texts found in the card"
    for kind, v in texts:
        if kind != "markdown":
            continue  # TextRun shows its text as is
        assert not TEAMS_LINK.search(v), "markdown link in %r" % v[:300]
        assert "**" not in v, "bold markup in %r" % v[:300]
        assert not re.search(r"(?<!\\)\*[^*\s\\][^*]*(?<![\\\s])\*", v), "emphasis in %r" % v[:300]
        assert not re.search(r"(?<![\w\\])_[^_\s\\][^_]*(?<![\\\s])_(?!\w)", v), \
            "emphasis in %r" % v[:300]


def both_posts(env, timeout=30.0):
    s, t = env.wait_posts(1, 1, timeout)
    assert s[0]["status"] == 200, "Slack refused the body: %s" % s[0]["error"]
    assert t[0]["status"] == 202, "Teams refused the body: %s" % t[0]["error"]
    return s[0]["body"], t[0]["body"]


@case
def hostile_names_and_messages_are_inert():
    sc = scenario("hostile")
    with Env("hostile") as env:
        st, _, out = env.post(json.dumps(sc["webhook"]).encode(),
                              {"Content-Type": "application/json",
                               "Authorization": "Bearer " + AUTH_TOKEN})
        assert st == 202, (st, out)
        slack, teams = both_posts(env)
        assert_slack_inert(slack, sc["forbidden_slack"])
        assert_teams_inert(teams)
        text = json.dumps(slack, ensure_ascii=False)
        assert "&lt;!channel&gt;" in text and "pwn" in text, "hostile name not shown escaped"
        tt = json.dumps(teams, ensure_ascii=False)
        assert "CEO" in tt and "javascript" in tt, "hostile text dropped instead of escaped"


class QuietHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass


class Served:
    """A loopback HTTP server answered from a thread until close()."""

    def serve(self, handler, wrap=None):
        """Starts serving with handler (the listening socket passed through
        wrap, e.g. for TLS); returns the port."""
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        if wrap:
            self.srv.socket = wrap(self.srv.socket)
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()
        return self.srv.server_address[1]

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class Upstream(Served):
    """Serves raw step pages for --steps-upstream: bytes JSON files cannot
    hold (invalid UTF-8) and a 1 MB message."""

    def __init__(self, pages):
        self.pages = pages
        outer = self

        class H(QuietHandler):
            def do_GET(self):
                page = int(re.search(r"page=(\d+)", self.path).group(1)) \
                    if "page=" in self.path else 0
                data = outer.pages[page] if page < len(outer.pages) else \
                    b'{"results":[],"total":0}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
        self.url = "http://127.0.0.1:%d" % self.serve(H)


def raw_step(n, name, message):
    """One step as JSON bytes; name and message are inserted raw."""
    return (b'{"id":"e0000000-0000-4000-8000-%012d","name":"%s","result":{"status":"FAILED",'
            b'"message":"%s","startedAt":"2024-05-01T02:01:00.000Z",'
            b'"finishedAt":"2024-05-01T02:02:00.000Z"}}' % (n, name, message))


CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@case
def hostile_bytes_and_huge_message_are_inert():
    sc = scenario("hostile_big")
    huge = b"<!channel> " + b"A" * (1024 * 1024) + b" <@U123> tail"
    steps = [
        raw_step(1, b"Huge message", huge),
        raw_step(2, b"bad \xff\xfe utf8 \xc0\xaf overlong \xed\xa0\x80 surrogate <at>CEO</at>",
                 b"cut \xe2\x82 seq \xf4\x90\x80\x80 big \x7f del \\u0007 bel \\u001b[31m red "
                 b"\\u009b c1 *bold* [x](javascript:alert(1)) <!here>"),
        raw_step(3, b"NUL \\u0000 hidden", b"before NUL\\u0000after NUL <!channel>"),
    ]
    page = b'{"page":0,"size":100,"total":3,"results":[' + b",".join(steps) + b"]}"
    up = Upstream([page])
    try:
        with Env("hostile_big", upstream=up.url) as env:
            raw_hook = (b'{"projectId":"%s","pipelineExecutionId":"%s","status":"FAILED",'
                        b'"pipelineName":"hook \xff\xfe\x1b[2J <!channel>",'
                        b'"environmentName":"prod\xc0"}'
                        % (PROJECT.encode(), sc["webhook"]["pipelineExecutionId"].encode()))
            st, _, out = env.post(raw_hook, {"Content-Type": "application/json",
                                             "Authorization": "Bearer " + AUTH_TOKEN})
            assert st == 202, (st, out)
            slack, teams = both_posts(env, timeout=60.0)
            assert_slack_inert(slack, ["<!channel>", "<@U123>", "<!here>"])
            assert_teams_inert(teams)
            for target, body in (("slack", slack), ("teams", teams)):
                for v in strings(body):
                    assert not CONTROL.search(v), "%s: control character in %r" % (
                        target, v[:200])
                    # The summary keeps 4000 bytes of an error; Teams shows them
                    # whole behind "Show full error", Slack an excerpt.
                    cap = 4001 if target == "teams" else 1201
                    assert "A" * cap not in v, "%s: 1 MB message not truncated" % target
                assert "AAAA" in json.dumps(body), "%s: the huge message vanished" % target
            log = env.log()
            log.decode("utf-8")  # raises if the log holds invalid UTF-8
            for b in (b"\x00", b"\x07", b"\x1b", b"\xc2\x9b", b"\x7f"):
                assert b not in log, "raw %r in the service log" % b
            assert b"A" * 1001 not in log, "the 1 MB message was logged"
            assert env.svc.alive()
    finally:
        up.close()


# --- 6. outbound ------------------------------------------------------------------

@case
def http_destinations_refused_without_allow_http():
    d = tmpdir()

    def config(slack_scheme):
        """allow_http unset, everything https:// but the Slack URL."""
        return write_config(d, 1, sections={
            "delivery": {"allow_http": None},
            "matillion": {"api_base": "https://eu1.api.matillion.com/dpc",
                          "token_url": "https://id.core.matillion.com/oauth/dpc/token"},
            "destination slack-main": {
                "url": slack_scheme + "://hooks.slack.com/services/T0SECRET1/B0SECRET2/pathSECRET"},
            "destination teams-main": {"url": "https://example.webhook.office.com/x/teamsSECRET"}})
    cfg = config("http")
    rc, out, err = run_cli(["-c", cfg.path, "check-config"])
    both = out + err
    assert rc != 0, "http:// destination accepted:\n" + both
    assert "allow_http" in both and "invalid" in both, both
    for s in ("pathSECRET", "B0SECRET2", "teamsSECRET"):
        assert s not in both, "check-config printed a URL secret:\n" + both
    rc, out, err = run_cli(["-c", cfg.path, "serve"], timeout=15)
    assert rc != 0, "serve started with an http:// destination"
    # The same file with an https:// URL is fine.
    cfg = config("https")
    rc, out, err = run_cli(["-c", cfg.path, "check-config"])
    assert rc == 0, out + err


class TLSChat(Served):
    """A loopback HTTPS chat endpoint with a self-signed certificate for
    127.0.0.1; counts the requests that got through the handshake."""

    def __init__(self, d):
        self.cert = os.path.join(d, "cert.pem")
        key = os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-keyout", key, "-out", self.cert, "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
        self.hits = []
        outer = self

        class H(QuietHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                outer.hits.append((self.path, self.rfile.read(n)))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, key)
        port = self.serve(H, lambda sock: ctx.wrap_socket(sock, server_side=True))
        self.url = "https://127.0.0.1:%d/slack/T0/B0/tls" % port


@case
def tls_is_verified_and_ca_file_is_honoured():
    d = tmpdir()
    tls = TLSChat(d)
    try:
        cfg = write_config(d, 1, sections={"destination slack-main": {"url": tls.url},
                                           "delivery": {"timeout": "5"}})
        rc, out, err = run_cli(["-c", cfg.path, "send-test", "slack-main"], timeout=30)
        assert rc != 0 and tls.hits == [], "self-signed certificate accepted: %s" % (out + err)
        assert "certificate" in (out + err).lower(), out + err
        cfg = write_config(d, 1, sections={"destination slack-main": {"url": tls.url},
                                           "delivery": {"timeout": "5", "ca_file": tls.cert}})
        rc, out, err = run_cli(["-c", cfg.path, "send-test", "slack-main"], timeout=30)
        assert rc == 0 and len(tls.hits) == 1, "with ca_file: rc %d %s" % (rc, out + err)
        assert "T0/B0/tls" not in out + err, "send-test printed the webhook URL"
    finally:
        tls.close()


class Proxy:
    """A loopback forward proxy that records each request line and refuses
    to forward anything (403)."""

    def __init__(self):
        self.seen = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            with c:
                c.settimeout(5)
                head = b""
                try:
                    while b"\r\n\r\n" not in head and len(head) < 65536:
                        chunk = c.recv(4096)
                        if not chunk:
                            break
                        head += chunk
                    self.seen.append(head.decode("latin-1"))
                    c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n"
                              b"Connection: close\r\n\r\n")
                except OSError:
                    pass

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


def send_test(cfg, env_over):
    """dpc-notify send-test slack-main with a proxy environment of our own."""
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env.update(env_over)
    p = subprocess.run([binary(), "-c", cfg.path, "send-test", "slack-main"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30, env=env)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


@case
def proxy_key_and_proxy_environment_are_used():
    d = tmpdir()
    tls = TLSChat(d)
    proxy = Proxy()
    try:
        target = tls.url.split("/")[2]  # 127.0.0.1:PORT
        base = {"destination slack-main": {"url": tls.url},
                "delivery": {"timeout": "5", "ca_file": tls.cert}}
        cfg = write_config(d, 1, sections=base)
        rc, out = send_test(cfg, {"HTTPS_PROXY": proxy.url})
        assert rc != 0 and tls.hits == [], "bypassed HTTPS_PROXY: " + out
        assert proxy.seen and proxy.seen[-1].startswith("CONNECT %s " % target), proxy.seen
        n = len(proxy.seen)
        rc, out = send_test(cfg, {"HTTPS_PROXY": proxy.url, "NO_PROXY": "127.0.0.1"})
        assert rc == 0 and len(tls.hits) == 1 and len(proxy.seen) == n, \
            "NO_PROXY not honoured: rc %d, %s" % (rc, out)
        cfg = write_config(d, 1, sections=dict(base, delivery=dict(base["delivery"],
                                                                    proxy=proxy.url)))
        rc, out = send_test(cfg, {})
        assert rc != 0 and len(tls.hits) == 1, "the proxy key was ignored: " + out
        assert len(proxy.seen) == n + 1 and proxy.seen[-1].startswith("CONNECT " + target), \
            proxy.seen
        # Through a tunnel the proxy learns the host, never the secret path.
        assert not any("/slack/" in x for x in proxy.seen), proxy.seen
    finally:
        proxy.close()
        tls.close()


@case
def redirects_are_not_followed():
    with Env() as env:
        elsewhere = env.mock.url("/slack/T0AAA/B0BBB/redirected")
        env.mock.add_fault({"method": "POST", "path_regex": "^/slack/T0AAA/B0BBB/main-hook",
                            "times": 1, "action": {"status": 302, "body": "",
                                                   "headers": {"Location": elsewhere}}})
        st, _, out = env.post(body_for(WEBHOOK["pipelineExecutionId"]),
                              {"Content-Type": "application/json",
                               "Authorization": "Bearer " + AUTH_TOKEN})
        assert st == 202, (st, out)
        port = env.cfg.port
        wait_until(lambda: metric(port, "dpc_notify_dead_letters_total") >= 1, 30.0, 0.2,
                   "the redirected Slack delivery dead-lettered")
        wait_until(lambda: env.mock.recorded("teams"), 30.0, 0.1, "the Teams post")
        time.sleep(SETTLE)
        slack = env.mock.recorded("slack")
        assert slack == [], "the redirect was followed: %s" % [p["name"] for p in slack]
        assert env.pending_faults() == 0, "the 302 was never served"
        assert metric(port, "dpc_notify_retries_total") == 0, "a 302 is not worth a retry"
        assert "/redirected" not in env.log().decode("utf-8", "replace")


if __name__ == "__main__":
    run_all()
