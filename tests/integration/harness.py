"""Shared pieces of the integration tests: the mock server, a config writer,
the dpc-notify service under test, Env (all three as one case's frame,
with its post, fault and log helpers), polling, and a tiny PASS/FAIL runner
whose output tests/run.sh counts. Every process started here is stopped by
its PID in a finally block (and once more at exit, in case a test leaked
one). Python 3 standard library only."""

import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOCK = os.path.join(REPO, "tests", "mock", "mock_server.py")
SCENARIOS = os.path.join(REPO, "tests", "mock", "scenarios")
AUTH_TOKEN = "itest-webhook-token-5f2b9c"
CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret"
UI_BASE = "https://app.matillion.com"
ARROW = " \u203a "

_live = []  # Popen objects not yet stopped
_dirs = []  # scratch dirs of the running case; kept when it fails


def binary():
    build = os.environ.get("BUILD", "build")
    if not os.path.isabs(build):
        build = os.path.join(REPO, build)
    return os.path.join(build, "dpc-notify")


def scenario(name):
    with open(os.path.join(SCENARIOS, name + ".json"), encoding="utf-8") as f:
        return json.load(f)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout=10.0, interval=0.05, what="condition"):
    """Polls pred() until it returns something truthy, which is returned.
    Raises AssertionError naming what after timeout seconds."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= end:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def stop_process(p, grace=5.0):
    """SIGTERM, then SIGKILL after grace seconds; returns the exit code."""
    if p is None:
        return None
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)
        except ProcessLookupError:
            pass
    if p in _live:
        _live.remove(p)
    return p.returncode


@atexit.register
def _reap():
    for p in list(_live):
        if p.poll() is None:
            p.kill()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        _live.remove(p)


def spawn(argv, log_path=None, **kw):
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    try:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, **kw)
    finally:
        if log_path:
            out.close()
    _live.append(p)
    return p


def request(method, port, path, body=None, headers=None, timeout=10.0):
    """One request on a fresh connection; returns (status, headers, bytes).
    Header names are lower-cased."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = dict({"Content-Type": "application/json"}, **(headers or {}))
        elif isinstance(body, str):
            body = body.encode()
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def as_json(data):
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


def tail(path, n=40):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError:
        return "(no log)"


class Mock:
    """tests/mock/mock_server.py in a subprocess, on its own port."""

    def __init__(self, scenario_name=None, tmpdir=None, upstream=None, record=True):
        self.tmp = tmpdir or globals()["tmpdir"]()
        self.scenario_name = scenario_name
        self.upstream = upstream
        self.record = os.path.join(self.tmp, "mock-record.jsonl") if record else None
        self.log = os.path.join(self.tmp, "mock.log")
        self.proc = None
        self.port = None

    def start(self, timeout=10.0):
        pf = os.path.join(self.tmp, "mock.port")
        if os.path.exists(pf):
            os.unlink(pf)
        argv = [sys.executable, MOCK, "--port-file", pf]
        if self.scenario_name:
            argv += ["--scenario", os.path.join(SCENARIOS, self.scenario_name + ".json")]
        if self.record:
            argv += ["--record", self.record]
        if self.upstream:
            argv += ["--steps-upstream", self.upstream]
        self.proc = spawn(argv, self.log)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("mock exited %s:\n%s" % (self.proc.returncode,
                                                               tail(self.log)))
            try:
                with open(pf) as f:
                    return int(f.read().strip() or 0)
            except (OSError, ValueError):
                return 0
        self.port = wait_until(ready, timeout, what="mock port file")
        return self

    def url(self, path=""):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def _get(self, path):
        st, _, data = request("GET", self.port, path)
        assert st == 200, "mock %s -> %d" % (path, st)
        return json.loads(data)

    def recorded(self, target=None, ok_only=False):
        posts = self._get("/_recorded")
        if target:
            posts = [p for p in posts if p["target"] == target]
        if ok_only:
            posts = [p for p in posts if p["status"] < 300]
        return posts

    def calls(self):
        return self._get("/_calls")

    def add_fault(self, fault):
        st, _, _ = request("POST", self.port, "/_faults", fault)
        assert st == 200

    def reset(self):
        request("POST", self.port, "/_reset", b"")

    def revoke_tokens(self):
        request("POST", self.port, "/_revoke", b"")

    def stop(self):
        stop_process(self.proc, grace=3.0)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Config:
    """What write_config() produced."""

    def __init__(self, path, sections, port):
        self.path = path
        self.sections = sections
        self.port = port
        self.auth_token = AUTH_TOKEN


def default_sections(tmpdir, mock_port, port):
    mp = "http://127.0.0.1:%d" % mock_port
    return {
        "server": {"listen": "127.0.0.1:%d" % port, "auth_token": AUTH_TOKEN,
                   "store": os.path.join(tmpdir, "dpc-notify.db"), "workers": "2",
                   "log_level": "debug"},
        "matillion": {"api_base": mp + "/dpc", "token_url": mp + "/oauth/dpc/token",
                      "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                      "ui_base": UI_BASE, "requests_per_minute": "0", "burst": "5",
                      "max_child_depth": "5", "max_api_calls": "50"},
        "delivery": {"allow_http": "true", "max_attempts": "3", "max_age": "600",
                     "degraded_notice": "true"},
        # Storm grouping is off here, so cases that post several runs at
        # once read each message; test_storm.py removes the key.
        "destination slack-main": {"type": "slack", "url": mp + "/slack/T0AAA/B0BBB/main-hook",
                                   "group_threshold": "0"},
        "destination teams-main": {"type": "teams", "url": mp + "/teams/wf/main-flow",
                                   "group_threshold": "0"},
        # Most cases post several failures of one pipeline and read each
        # message in full; run memory's own cases (test_run_memory.py)
        # remove this to test the default (compact repeats).
        "default": {"destinations": "slack-main, teams-main", "notify_on": "FAILED",
                    "on_repeat": "full"},
    }


def write_config(tmpdir, mock_port=1, port=None, sections=None, **overrides):
    """Writes tmpdir/dpc-notify.ini and returns a Config. sections (and
    keyword overrides, for names without spaces) map a section name to a
    dict of keys; a value of None removes that key, a section of None
    removes the section; new sections are appended in order."""
    port = port or free_port()
    secs = default_sections(tmpdir, mock_port, port)
    for name, keys in dict(sections or {}, **overrides).items():
        if keys is None:
            secs.pop(name, None)
            continue
        cur = secs.setdefault(name, {})
        for k, v in keys.items():
            if v is None:
                cur.pop(k, None)
            else:
                cur[k] = str(v)
    lines = ["# written by tests/integration/harness.py"]
    for name, keys in secs.items():
        lines.append("[%s]" % name)
        lines += ["%s = %s" % kv for kv in keys.items()]
        lines.append("")
    path = os.path.join(tmpdir, "dpc-notify.ini")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return Config(path, secs, port)


class Service:
    """`dpc-notify -c CFG serve`, ready once GET /readyz answers 200."""

    def __init__(self, cfg, log=None):
        self.cfg = cfg
        self.port = cfg.port
        self.log = log or os.path.join(os.path.dirname(cfg.path), "service.log")
        self.proc = None

    def spawn(self, exe):
        """Starts `exe -c CFG serve` logging to self.log; subclasses that
        need another way of starting the process override this alone."""
        return spawn([exe, "-c", self.cfg.path, "serve"], self.log, cwd=REPO)

    def start(self, timeout=10.0):
        exe = binary()
        if not os.access(exe, os.X_OK):
            raise AssertionError("binary not built: %s" % exe)
        self.proc = self.spawn(exe)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("dpc-notify exited %s at start:\n%s"
                                     % (self.proc.returncode, tail(self.log)))
            try:
                return request("GET", self.port, "/readyz", timeout=1.0)[0] == 200
            except OSError:
                return False
        wait_until(ready, timeout, what="GET /readyz == 200")
        return self

    def get(self, path):
        return request("GET", self.port, path)

    def post_webhook(self, body=None, token=AUTH_TOKEN, headers=None, raw=None,
                     query=None, path="/webhook", method="POST"):
        """Returns (status, headers, parsed JSON or None). raw (bytes/str)
        is sent as is with the given headers instead of a JSON body."""
        h = {}
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if raw is None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        else:
            data = raw.encode() if isinstance(raw, str) else raw
        h.update(headers or {})
        if query:
            path += "?" + urllib.parse.urlencode(query)
        st, hd, out = request(method, self.port, path, data, h)
        return st, hd, as_json(out)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15.0):
        rc = stop_process(self.proc, grace=timeout)
        self.proc = None
        return rc

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        if self.proc in _live:
            _live.remove(self.proc)
        self.proc = None

    def log_tail(self, n=40):
        return tail(self.log, n)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()


class Env:
    """The usual frame of a case: a mock, a config written against it and
    the service, all stopped on exit. scenario_name names a file of
    tests/mock/scenarios; scenario (a dict) is then loaded over POST
    /_scenario. sections and keyword sections override write_config's
    defaults; sections may also be a function of the mock's base URL, for
    destinations on the mock. start=False leaves starting the service to
    the case (start_service()). posts() counts every recorded post unless
    the class sets OK_ONLY."""

    OK_ONLY = False
    WAIT_POSTS_S = 20.0

    def __init__(self, scenario_name=None, scenario=None, sections=None, upstream=None,
                 record=True, start=True, **cfg):
        self.dir = tmpdir()
        self.mock = Mock(scenario_name, tmpdir=self.dir, upstream=upstream, record=record)
        self.scenario = scenario
        self.sections = sections
        self.cfg_over = cfg
        self.start_svc = start
        self.cfg = None
        self.svc = None

    def __enter__(self):
        try:
            self.mock.start()
            if self.scenario is not None:
                st, _, _ = request("POST", self.mock.port, "/_scenario", self.scenario)
                assert st == 200, "mock refused the scenario: %d" % st
            secs = self.sections(self.mock.url()) if callable(self.sections) else self.sections
            self.cfg = write_config(self.dir, self.mock.port, sections=secs, **self.cfg_over)
            if self.start_svc:
                self.start_service()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        try:
            if self.svc:
                self.svc.stop()
        finally:
            self.mock.stop()

    def start_service(self, **kw):
        self.svc = Service(self.cfg).start(**kw)
        return self.svc

    @property
    def store(self):
        return self.cfg.sections["server"]["store"]

    def rewrite(self, **cfg):
        """Rewrites the config file (same listen port) and returns its path."""
        return write_config(self.dir, self.mock.port, port=self.cfg.port, **cfg).path

    def cli(self, *args, **kw):
        """dpc-notify -c CFG ARGS; (returncode, stdout, stderr)."""
        return run_cli(["-c", self.cfg.path] + list(args), **kw)

    def post(self, body, headers=None, path="/webhook", method="POST", timeout=10.0):
        """Raw POST; returns (status, lower-cased headers, raw bytes)."""
        return request(method, self.cfg.port, path, body, headers or {}, timeout=timeout)

    def fault(self, path_regex, times=1, method=None, **action):
        f = {"path_regex": path_regex, "times": times, "action": action}
        if method:
            f["method"] = method
        self.mock.add_fault(f)

    def pending_faults(self):
        st, _, data = request("POST", self.mock.port, "/_faults", [])
        assert st == 200
        return json.loads(data)["pending"]

    def posts(self, target=None, ok_only=None):
        return self.mock.recorded(target, ok_only=self.OK_ONLY if ok_only is None else ok_only)

    def context(self):
        """More to say when a wait fails; subclasses add their state."""
        return ""

    def wait_posts(self, n_slack, n_teams, timeout=None):
        """Waits for at least n_slack Slack and n_teams Teams posts and
        returns both lists."""
        def got():
            p = self.posts()
            s = [x for x in p if x["target"] == "slack"]
            t = [x for x in p if x["target"] == "teams"]
            return (s, t) if len(s) >= n_slack and len(t) >= n_teams else None
        timeout = self.WAIT_POSTS_S if timeout is None else timeout
        try:
            return wait_until(got, timeout, 0.05, "%d slack + %d teams posts"
                              % (n_slack, n_teams))
        except AssertionError as e:
            raise AssertionError("%s; posts=%s%s; log:\n%s" % (
                e, [(p["target"], p["status"]) for p in self.posts(ok_only=False)],
                self.context(), self.svc.log_tail() if self.svc else ""))

    def one_each(self, settle):
        """Exactly one Slack and one Teams post, still so after settle
        seconds (a duplicate would have arrived by then)."""
        self.wait_posts(1, 1)
        time.sleep(settle)
        s, t = self.posts("slack"), self.posts("teams")
        assert len(s) == 1 and len(t) == 1, "posts: %d slack, %d teams" % (len(s), len(t))
        return s[0], t[0]

    def log(self):
        with open(self.svc.log, "rb") as f:
            return f.read()

    def log_lines(self):
        return self.log().decode("utf-8").splitlines()

    def wait_log(self, pred, what, timeout=10.0):
        """Waits for service log lines matching pred; returns them."""
        def hit():
            return [ln for ln in self.log_lines() if pred(ln)]
        try:
            return wait_until(hit, timeout, 0.05, what)
        except AssertionError as e:
            raise AssertionError("%s; log:\n%s" % (e, self.svc.log_tail()))


def wait_jobs_done(env, n, timeout=20.0):
    """Waits until n jobs of env's store have finished (not queued or
    running): a run that posts nothing still has to be remembered before
    the next one of the same pipeline is sent, or two workers could take
    the two runs in the other order (the older is then only remembered,
    as late)."""
    def done():
        db = sqlite3.connect("file:%s?mode=ro" % env.store, uri=True, timeout=5)
        try:
            (k,) = db.execute("SELECT count(*) FROM jobs WHERE state NOT IN "
                              "('queued', 'running')").fetchone()
        finally:
            db.close()
        return k >= n or None
    wait_until(done, timeout, 0.1, "%d jobs finished" % n)


def accepted(st, body):
    """Asserts a 202 "queued" intake reply; returns the job id."""
    assert st == 202, "expected 202, got %d %s" % (st, body)
    assert body and body.get("status") == "queued" and body.get("id"), body
    return body["id"]


def crashed(rc):
    """True for an exit by signal (or a shell's 128+SIGABRT/SIGSEGV)."""
    return rc < 0 or rc in (134, 139)


def run_cli(args, timeout=30.0, cwd=REPO):
    """Runs dpc-notify ARGS; returns (returncode, stdout, stderr) as text."""
    exe = binary()
    if not os.access(exe, os.X_OK):
        raise AssertionError("binary not built: %s" % exe)
    p = subprocess.run([exe] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout, cwd=cwd)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


# --- a tiny test registry -------------------------------------------------

_cases = []


def case(fn):
    """Registers fn as a test case named after the function."""
    _cases.append(fn)
    return fn


def run_all():
    """Runs every registered case (or those named in argv), prints PASS/FAIL
    lines and exits 1 when anything failed."""
    only = set(sys.argv[1:])
    failed = 0
    for fn in _cases:
        if only and fn.__name__ not in only:
            continue
        t0 = time.monotonic()
        try:
            fn()
        except Exception as e:  # a failing case must not stop the others
            failed += 1
            why = ("%s: %s" % (type(e).__name__, e)).replace("\n", " | ")
            print("FAIL %s: %s" % (fn.__name__, why[:2000]), flush=True)
            sys.stderr.write(traceback.format_exc())
            if _dirs:
                sys.stderr.write("kept for inspection: %s\n" % " ".join(_dirs))
            del _dirs[:]
        else:
            print("PASS %s (%.1fs)" % (fn.__name__, time.monotonic() - t0), flush=True)
        finally:
            _reap()
            if not os.environ.get("DPC_KEEP_TMP"):
                for d in _dirs:
                    shutil.rmtree(d, ignore_errors=True)
            del _dirs[:]
    sys.exit(1 if failed else 0)


def tmpdir():
    """A scratch dir, removed after the case unless it failed (or
    DPC_KEEP_TMP is set)."""
    d = tempfile.mkdtemp(prefix="dpc-itest-")
    _dirs.append(d)
    return d


# --- helpers for inspecting chat bodies -----------------------------------

def walk(obj, key=None):
    """Yields (key, value) for every value nested in obj."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k, v
            yield from walk(v, k)
    elif isinstance(obj, list):
        for v in obj:
            yield key, v
            yield from walk(v, key)


def strings(obj):
    """Every string anywhere in obj."""
    if isinstance(obj, str):
        return [obj]
    return [v for _, v in walk(obj) if isinstance(v, str)]


def block_texts(block):
    """All human-visible text strings inside one Slack block."""
    return [v for k, v in walk(block) if k == "text" and isinstance(v, str)]
