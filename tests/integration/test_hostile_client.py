"""A hostile network client against the real $BUILD/dpc-notify: a flood of
rejected requests costs a bounded number of log lines while /metrics still
counts every one, and requests whose framing a front proxy could read
differently (Content-Length with Transfer-Encoding, two Content-Lengths, a
space before the colon, odd Transfer-Encoding or Content-Length values) get
a 400, a closed connection and no smuggled second request stored. Requests
go over raw sockets, so the bytes on the wire are exactly the ones
written here."""

import json
import os
import re
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import AUTH_TOKEN, accepted, case, run_all, scenario  # noqa: E402

WEBHOOK = scenario("failed_with_children")["webhook"]
BURST = 10           # rejection lines logged per outcome and minute
FLOOD = 3000         # bad-token requests in the flood case
REJECTED = "intake: webhook rejected"
SUMMARY = "intake: rejections not logged in the last 60 s"
SETTLE = 1.0         # seconds to wait for something that must NOT happen


class Env(harness.Env):
    def __init__(self, **kw):
        super().__init__("failed_with_children", **kw)


def body_for(exec_id):
    return json.dumps(dict(WEBHOOK, pipelineExecutionId=exec_id)).encode()


def metric(env, outcome):
    """dpc_notify_webhooks_total for one outcome."""
    st, _, text = env.svc.get("/metrics")
    assert st == 200, "/metrics -> %d" % st
    m = re.search(r'^dpc_notify_webhooks_total\{outcome="%s"\} (\d+)$' % outcome,
                  text.decode(), re.M)
    assert m, "no webhooks_total{outcome=%s} in /metrics" % outcome
    return int(m.group(1))


def head(path, *headers, method="POST", version="1.1"):
    """A request head: the request line, Host and the given header lines."""
    lines = ["%s %s HTTP/%s" % (method, path, version), "Host: 127.0.0.1"] + list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def webhook_head(*framing, token=AUTH_TOKEN):
    return head("/webhook", "Authorization: Bearer " + token,
                "Content-Type: application/json", *framing)


def chunked(data):
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)


def exchange(port, data, timeout=5.0):
    """Sends data on one connection and reads until the server closes it
    or timeout seconds pass without it. Returns (bytes read, closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    got = b""
    closed = False
    try:
        s.sendall(data)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            s.settimeout(max(0.05, end - time.monotonic()))
            try:
                piece = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not piece:
                closed = True
                break
            got += piece
    finally:
        s.close()
    return got, closed


def statuses(raw):
    """The status codes of every response head in raw, in order (a body
    holding a status line would count too, which errs on the safe side)."""
    return [int(m) for m in re.findall(rb"HTTP/1\.[01] (\d{3}) ", raw)]


def smuggle(name, first, smuggled_id):
    """Sends first (a request with ambiguous framing) on a kept-alive
    connection; expects one 400, the connection closed and no job stored,
    in particular none for smuggled_id, the request hidden in its body."""
    with Env() as env:
        before = metric(env, "accepted")
        raw, closed = exchange(env.cfg.port, first)
        codes = statuses(raw)
        time.sleep(SETTLE)
        after = metric(env, "accepted")
        assert codes and codes[0] == 400, "%s: expected a 400 first, got %s: %r" % (
            name, codes, raw[:300])
        # MHD's own 400 for a malformed Content-Length repeats its head;
        # what matters is that nothing but 400s came back.
        assert set(codes) == {400}, "%s: a second request was answered: %s: %r" % (
            name, codes, raw[:600])
        assert closed, "%s: connection left open after the 400" % name
        assert after == before, "%s: %d webhooks accepted" % (name, after - before)
        log = env.log()
        assert smuggled_id.encode() not in log, "%s: smuggled request processed" % name
        # The service still works afterwards.
        st, _, out = env.svc.post_webhook(dict(WEBHOOK, pipelineExecutionId=re.sub(r"[^A-Za-z0-9]", "-", name) + "-after"))
        accepted(st, out)


def smuggled_request(exec_id):
    """A complete, valid webhook request, hidden inside another's body."""
    body = body_for(exec_id)
    return webhook_head("Content-Length: %d" % len(body)) + body


# --- finding 11: request smuggling -----------------------------------------------

@case
def content_length_with_chunked():
    """CL says the body runs on to the end of the smuggled request; chunked
    says it ends at the 0 chunk. A proxy that trusts CL forwards both as
    one request."""
    inner = smuggled_request("smug-cl-te")
    body = chunked(body_for("cl-te-outer")) + inner
    first = webhook_head("Content-Length: %d" % len(body), "Transfer-Encoding: chunked") + body
    smuggle("cl-te", first, "smug-cl-te")


@case
def chunked_then_content_length():
    """The same with the headers in the other order."""
    inner = smuggled_request("smug-te-cl")
    body = chunked(body_for("te-cl-outer")) + inner
    first = webhook_head("Transfer-Encoding: chunked", "Content-Length: %d" % len(body)) + body
    smuggle("te-cl", first, "smug-te-cl")


@case
def two_content_lengths():
    """Two different lengths: one reader stops after the first body, the
    other takes the smuggled request as part of it."""
    outer = body_for("two-cl-outer")
    inner = smuggled_request("smug-two-cl")
    first = webhook_head("Content-Length: %d" % len(outer),
                         "Content-Length: %d" % (len(outer) + len(inner))) + outer + inner
    smuggle("two-cl", first, "smug-two-cl")


@case
def space_before_colon():
    """"Transfer-Encoding : chunked" is chunked to a lenient proxy but not a
    header MHD knows, so MHD reads by Content-Length."""
    outer = body_for("space-outer")
    inner = smuggled_request("smug-space")
    first = webhook_head("Content-Length: %d" % len(outer),
                         "Transfer-Encoding : chunked") + outer + inner
    smuggle("space", first, "smug-space")


@case
def folded_transfer_encoding():
    """An obsolete line folding: a proxy that unfolds sees chunked; MHD
    0.9.75 appends the continuation to the name and reads by length."""
    outer = body_for("fold-outer")
    inner = smuggled_request("smug-fold")
    first = webhook_head("Content-Length: %d" % len(outer), "Transfer-Encoding:",
                         " chunked") + outer + inner
    smuggle("fold", first, "smug-fold")


@case
def transfer_encoding_not_just_chunked():
    """Codings other than a single "chunked" are read differently by
    different servers (gzip, chunked is chunked to some, unknown to
    others)."""
    for i, te in enumerate(["gzip, chunked", "chunked, chunked", "identity", "chunked ;x=1",
                            "xchunked"]):
        outer = body_for("te-%d-outer" % i)
        inner = smuggled_request("smug-te-%d" % i)
        first = webhook_head("Content-Length: %d" % len(outer),
                             "Transfer-Encoding: " + te) + outer + inner
        smuggle("te %r" % te, first, "smug-te-%d" % i)


@case
def content_length_not_digits():
    """A sign, a list or inner spaces in Content-Length."""
    for i, fmt in enumerate(["+%d", "%d, %d", "%d %d", "0x%x", "-0%d"]):
        outer = body_for("cl-%d-outer" % i)
        inner = smuggled_request("smug-cl-%d" % i)
        n = len(outer)
        value = fmt % ((n, n) if fmt.count("%") == 2 else n)
        first = webhook_head("Content-Length: " + value) + outer + inner
        smuggle("cl %r" % value, first, "smug-cl-%d" % i)


@case
def chunked_in_http_1_0():
    """HTTP/1.0 has no chunked coding (RFC 9112 6.1: faulty framing); a
    keep-alive 1.0 request must not carry one either."""
    inner = smuggled_request("smug-http10")
    first = head("/webhook", "Authorization: Bearer " + AUTH_TOKEN,
                 "Content-Type: application/json", "Connection: keep-alive",
                 "Transfer-Encoding: chunked", version="1.0") + chunked(
                     body_for("http10-outer")) + inner
    smuggle("http10", first, "smug-http10")


@case
def framing_on_probes_too():
    """A probe request carries a body too if the framing says so; the
    smuggled webhook behind it must not be processed either."""
    inner = smuggled_request("smug-probe")
    body = chunked(b"") + inner
    first = head("/healthz", "Content-Length: %d" % len(body), "Transfer-Encoding: chunked",
                 method="GET") + body
    smuggle("probe", first, "smug-probe")


@case
def keep_alive_still_works():
    """Two well-framed webhooks on one connection are both accepted (the
    checks do not break keep-alive or plain chunked bodies)."""
    with Env() as env:
        one = body_for("ka-one")
        two = body_for("ka-two")
        data = (webhook_head("Content-Length: %d" % len(one)) + one +
                webhook_head("Transfer-Encoding: chunked") + chunked(two))
        s = socket.create_connection(("127.0.0.1", env.cfg.port), timeout=10)
        try:
            s.sendall(data)
            raw = b""
            while len(statuses(raw)) < 2 or not raw.rstrip().endswith(b"}"):
                piece = s.recv(65536)
                if not piece:
                    break
                raw += piece
        finally:
            s.close()
        assert statuses(raw) == [202, 202], "keep-alive: %r" % raw[:600]


# --- finding 8: log flooding --------------------------------------------------------

def rejection_lines(env, outcome):
    return [ln for ln in env.log_lines()
            if REJECTED in ln and "outcome=%s " % outcome in ln + " "]


@case
def bad_token_flood_is_logged_briefly():
    """3,000 bad-token requests in a row: at most BURST rejection lines
    (plus a few), /metrics counts all 3,000, and a good webhook still gets
    its 202."""
    with Env() as env:
        body = body_for("flood")
        data = webhook_head("Content-Length: %d" % len(body), token="wrong-token") + body
        s = socket.create_connection(("127.0.0.1", env.cfg.port), timeout=10)
        codes = []
        try:
            # One connection, one request in flight at a time: bounded.
            buf = b""
            for _ in range(FLOOD):
                s.sendall(data)
                while not re.search(rb"\r\n\r\n\{[^}]*\}", buf):
                    piece = s.recv(65536)
                    assert piece, "connection closed after %d replies" % len(codes)
                    buf += piece
                m = re.search(rb"\r\n\r\n\{[^}]*\}", buf)
                codes += statuses(buf[:m.end()])
                buf = buf[m.end():]
        finally:
            s.close()
        assert codes == [401] * FLOOD, "statuses: %s" % sorted(set(codes))
        assert metric(env, "unauthorized") == FLOOD, metric(env, "unauthorized")
        lines = rejection_lines(env, "unauthorized")
        assert 1 <= len(lines) <= BURST + 2, "%d rejection lines logged" % len(lines)
        st, _, out = env.svc.post_webhook(dict(WEBHOOK, pipelineExecutionId="after-flood"))
        accepted(st, out)
        assert metric(env, "accepted") == 1
        # The minute has not ended, so the rest is summed up at shutdown.
        assert not [ln for ln in env.log_lines() if SUMMARY in ln]
        env.svc.stop()
        summary = [ln for ln in env.log_lines() if SUMMARY in ln]
        assert summary == [summary[0]] and "reason=unauthorized count=%d" % (
            FLOOD - len(lines)) in summary[0], "summary: %s" % summary


@case
def flood_budgets_are_per_outcome():
    """A flood of one outcome does not use up another's lines."""
    with Env() as env:
        for _ in range(3 * BURST):
            st, _, _ = env.post(b"{}", {"Authorization": "Bearer wrong-token",
                                        "Content-Type": "application/json"})
            assert st == 401
        for _ in range(3 * BURST):
            st, _, _ = env.post(b"{}", {"Authorization": "Bearer " + AUTH_TOKEN,
                                        "Content-Type": "text/plain"})
            assert st == 415
        for outcome in ("unauthorized", "unsupported"):
            n = len(rejection_lines(env, outcome))
            assert n == BURST, "%d lines for %s" % (n, outcome)
            n = metric(env, outcome)
            assert n == 3 * BURST, "metrics count %d %s" % (n, outcome)


if __name__ == "__main__":
    run_all()
