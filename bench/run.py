#!/usr/bin/env python3
"""`make bench`: measures dpc-notify against nginx and Alertmanager on
loopback and prints one table plus a JSON file (bench/results/latest.json).

Sections (see BENCHMARKS.md for what each one means and its targets):
  intake     wrk, 2 threads x 64 keep-alive connections: authenticated
             POST /webhook (durable commit before 202) vs nginx `return 202`
             vs Alertmanager POST /api/v2/alerts, one alert a request.
  e2e        bench/e2e.c offers webhooks at a fixed rate, plays the Matillion
             API and is the Slack sink; latency = chat message received -
             webhook scheduled. dpc-notify vs Alertmanager (group_wait 0).
  growth     bench/bench_summary.c: one run of 1,000 / 10,000 / 100,000 steps
             with 1 / 10 / 50 child pipelines, one process per cell.
  footprint  idle RSS, time from exec to ready, binary and image size.
  counts     bench/bench_counts.c: store_counts() (what every /metrics
             scrape calls) with 1,000,000 jobs in the store, against the
             COUNT(*) GROUP BY state query it ran before; 100 calls each.
  storm      40 pipelines fail within 10 s: dpc-notify (storm grouping at
             its defaults, one Slack destination, tests/mock/mock_server.py
             as API and Slack) and Alertmanager (group_wait =
             group_interval = 30 s, webhook to a sink here) get the same
             runs at the same moments; messages, first message, every run
             named. One round (it takes a minute by nature).

Every comparison runs its competitors in the same invocation, alternating
their order round by round, and reports medians over the rounds.

usage: python3 bench/run.py [--smoke] [--out FILE] [--only SECTION,...]
       [--no-install] [--no-build]
--smoke runs every section for a fraction of a second (make check keeps the
harness working that way; its numbers mean nothing)."""

import argparse
import glob
import http.client
import http.server
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO, "bench")
TOKEN = "bench-webhook-token-7d1e0c"
PROJECT = "3f1c9a52-7d4e-4b8a-9c61-0e2f5a7b8c90"  # last digit 0..PROJECTS-1 in e2e.c
PROJECTS = 4
TOOLS = {  # command -> Debian package
    "wrk": "wrk",
    "nginx": "nginx",
    "prometheus-alertmanager": "prometheus-alertmanager",
}
CFLAGS = ["-std=c11", "-D_POSIX_C_SOURCE=200809L", "-D_DEFAULT_SOURCE", "-O2", "-g",
          "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wformat=2", "-fno-strict-aliasing"]

FULL = {
    "rounds": 3,
    "intake_s": 10, "wrk_threads": 2, "wrk_conns": 64,
    "e2e_rates": [100, 1000], "e2e_s": 10, "e2e_drain_s": 20, "e2e_conns": 32,
    "growth_steps": [1000, 10000, 100000], "growth_children": [1, 10, 50],
    "ready_rounds": 10, "idle_s": 1.0,
    "counts_jobs": 1000000, "counts_calls": 100,
    "storm_runs": 40, "storm_spread_s": 10, "storm_window_s": 30, "storm_count_s": 60,
    "storm_wait_s": 90, "storm_rounds": 1,
}
SMOKE = {
    "rounds": 1,
    "intake_s": 1, "wrk_threads": 2, "wrk_conns": 8,
    "e2e_rates": [100, 1000], "e2e_s": 0.3, "e2e_drain_s": 5, "e2e_conns": 8,
    "growth_steps": [1000, 10000], "growth_children": [1, 10],
    "counts_jobs": 10000, "counts_calls": 10,
    "ready_rounds": 2, "idle_s": 0.2,
    "storm_runs": 6, "storm_spread_s": 0.5, "storm_window_s": 1, "storm_count_s": 2,
    "storm_wait_s": 10, "storm_rounds": 1,
}

# Every section, in the order they run; --only picks some.
SECTIONS = ("intake", "e2e", "growth", "counts", "footprint", "storm")

_live = []  # Popen objects still to stop


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


# ---- processes and probes ----------------------------------------------

def spawn(argv, logfile, **kw):
    out = open(logfile, "ab")
    try:
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                             stdin=kw.pop("stdin", subprocess.DEVNULL), **kw)
    finally:
        out.close()
    _live.append(p)
    return p


def stop(p, grace=10.0):
    """SIGTERM, SIGKILL after grace seconds; always reaps."""
    if p is None:
        return
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)
    if p in _live:
        _live.remove(p)


def stop_all():
    for p in list(_live):
        stop(p, grace=3.0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(port, path, timeout=1.0):
    """Status of GET path on a fresh connection, or 0 when nothing answers."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                       % path).encode())
            head = s.recv(64)
        m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
        return int(m.group(1)) if m else 0
    except OSError:
        return 0


def wait_ready(p, port, path, timeout=20.0, poll=0.0005):
    """Polls until GET path answers 200; returns seconds waited. Raises if
    the process exits or the timeout passes."""
    t0 = time.monotonic()
    while True:
        if http_status(port, path) == 200:
            return time.monotonic() - t0
        if p.poll() is not None:
            raise RuntimeError("%s exited with %s before ready" % (p.args[0], p.returncode))
        if time.monotonic() - t0 > timeout:
            raise RuntimeError("%s not ready after %.0fs" % (p.args[0], timeout))
        time.sleep(poll)


def proc_status(pid):
    """VmRSS, VmHWM, RssAnon, RssFile (from status) and Pss (smaps_rollup)
    of pid in kB. RssFile is mostly shared-library pages, which other
    processes share; Pss splits them among their users."""
    out = {}
    for path, keys in (("/proc/%d/status" % pid, ("VmRSS", "VmHWM", "RssAnon", "RssFile")),
                       ("/proc/%d/smaps_rollup" % pid, ("Pss",))):
        try:
            with open(path) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in keys:
                        out[k] = int(v.split()[0])
        except OSError:
            pass
    return out


def tree_cpu(pid):
    """User+system CPU seconds of pid and its direct children (nginx workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                f_ = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(d) == pid or int(f_[1]) == pid:
            total += int(f_[11]) + int(f_[12])
    return total / tick


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def median_late(xs):
    """Median of latencies where None means "never arrived" (infinitely
    late); None when the median itself never arrived."""
    if not xs:
        return None
    m = statistics.median([float("inf") if x is None else x for x in xs])
    return None if m == float("inf") else m


# ---- the competitors ---------------------------------------------------

class DpcNotify:
    name = "dpc-notify"
    ready_path = "/readyz"

    def __init__(self, work, api_port, binary, workers=4):
        self.dir = tempfile.mkdtemp(prefix="dpc-", dir=work)
        self.port = free_port()
        self.proc = None
        mp = "http://127.0.0.1:%d" % api_port
        ini = """# written by bench/run.py
[server]
listen = 127.0.0.1:{port}
auth_token = {token}
store = {dir}/dpc-notify.db
workers = {workers}
max_connections = 256
max_connections_per_ip = 128
log_level = info

[matillion]
api_base = {mp}/dpc
token_url = {mp}/oauth/dpc/token
client_id = bench-client
client_secret = bench-secret
requests_per_minute = 0

[delivery]
allow_http = true

[default]
destinations = bench-slack-0
notify_on = FAILED
""".format(port=self.port, token=TOKEN, dir=self.dir, mp=mp, workers=workers)
        # One Slack destination per project: each is paced at 1000 msg/s at
        # most (the highest rate the config accepts; it cannot be switched
        # off), and e2e.c spreads runs over the projects, so pacing never
        # caps the offered 1000 runs/s. Each run still makes one message.
        for i in range(PROJECTS):
            ini += ("\n[destination bench-slack-{i}]\ntype = slack\n"
                    "url = {mp}/slack/T0BENCH/B0BENCH/hook{i}\nrate = 1000\n"
                    "group_threshold = 0\n"
                    "\n[project {p}{i}]\ndestinations = bench-slack-{i}\n"
                    "notify_on = FAILED\n").format(i=i, mp=mp, p=PROJECT[:-1])
        self.cfg = os.path.join(self.dir, "dpc-notify.ini")
        with open(os.open(self.cfg, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(ini)
        self.argv = [binary, "-c", self.cfg, "serve"]

    def start(self):
        self.proc = spawn(self.argv, os.path.join(self.dir, "service.log"), cwd=self.dir)
        return wait_ready(self.proc, self.port, self.ready_path)

    def stop(self):
        stop(self.proc, grace=30.0)


class Nginx:
    name = "nginx"
    ready_path = "/"

    def __init__(self, work):
        self.dir = tempfile.mkdtemp(prefix="nginx-", dir=work)
        self.port = free_port()
        self.proc = None
        with open(os.path.join(BENCH, "nginx.conf.in")) as f:
            conf = f.read().replace("@PREFIX@", self.dir).replace("@PORT@", str(self.port))
        self.cfg = os.path.join(self.dir, "nginx.conf")
        with open(self.cfg, "w") as f:
            f.write(conf)
        self.argv = [shutil.which("nginx") or "nginx", "-p", self.dir, "-c", self.cfg,
                     "-e", os.path.join(self.dir, "error.log")]

    def start(self):
        self.proc = spawn(self.argv, os.path.join(self.dir, "nginx.out"))
        # nginx answers 202 on every path; any answer means ready.
        t0 = time.monotonic()
        while http_status(self.port, "/") != 202:
            if self.proc.poll() is not None or time.monotonic() - t0 > 20:
                raise RuntimeError("nginx did not start; see %s" % self.dir)
            time.sleep(0.001)
        return time.monotonic() - t0

    def stop(self):
        stop(self.proc, grace=10.0)


class Alertmanager:
    name = "alertmanager"
    ready_path = "/-/ready"

    def __init__(self, work, slack_port=None, template="alertmanager.yml.in", subs=None):
        """subs: the @NAME@ placeholders of template and their values; by
        default those of alertmanager.yml.in for slack_port."""
        self.dir = tempfile.mkdtemp(prefix="am-", dir=work)
        self.port = free_port()
        self.proc = None
        with open(os.path.join(BENCH, template)) as f:
            conf = f.read()
        if subs is None:
            subs = {"@RECEIVER@": "bench-slack" if slack_port else '"null"',
                    "@SLACK_URL@": "http://127.0.0.1:%d/slack/T0BENCH/B0BENCH/am"
                                   % (slack_port or 9)}
        for k, v in subs.items():
            conf = conf.replace(k, v)
        self.cfg = os.path.join(self.dir, "alertmanager.yml")
        with open(self.cfg, "w") as f:
            f.write(conf)
        self.argv = [shutil.which("prometheus-alertmanager") or "prometheus-alertmanager",
                     "--config.file=" + self.cfg,
                     "--storage.path=" + os.path.join(self.dir, "data"),
                     "--web.listen-address=127.0.0.1:%d" % self.port,
                     "--cluster.listen-address="]

    def start(self):
        self.proc = spawn(self.argv, os.path.join(self.dir, "alertmanager.log"))
        return wait_ready(self.proc, self.port, self.ready_path)

    def stop(self):
        stop(self.proc, grace=10.0)


class BlackHole:
    """A listening socket that never accepts: dpc-notify's workers connect
    to it as the Matillion API and wait, so the intake test measures the
    front door alone (Alertmanager gets a receiver with no integrations)."""

    def __enter__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        return self

    def __exit__(self, *exc):
        self.sock.close()


def rotate(items, r):
    """Order of competitors in round r: rotated so none always goes first."""
    r %= len(items)
    return items[r:] + items[:r]


# ---- setup -------------------------------------------------------------

def ensure_tools(install):
    """Installs missing Debian packages (when allowed); returns what exists."""
    missing = [pkg for cmd, pkg in TOOLS.items() if not shutil.which(cmd)]
    if missing and install:
        log("installing %s" % " ".join(missing))
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for argv in (["apt-get", "update", "-qq"],
                     ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing):
            subprocess.run(argv, env=env, check=False, stdout=subprocess.DEVNULL)
    return {cmd: shutil.which(cmd) for cmd in TOOLS}


def module_source(name):
    """src/<subsystem>/<name>.c (or src/<name>.c) of a module."""
    found = glob.glob(os.path.join(REPO, "src", "**", name + ".c"), recursive=True)
    if len(found) != 1:
        raise SystemExit("bench: no single source for module %s: %s" % (name, found))
    return os.path.relpath(found[0], REPO)


def build(build_dir, do_make):
    """Builds dpc-notify (make, -O2) unless told not to, then the three bench
    programs into BUILD/bench. Returns their paths."""
    if do_make:
        subprocess.run(["make", "-s"], cwd=REPO, check=True)
    out = os.path.join(build_dir, "bench")
    os.makedirs(out, exist_ok=True)
    pc = subprocess.run(["pkg-config", "--cflags", "--libs", "libcjson", "libcrypto"],
                        capture_output=True, text=True, check=True).stdout.split()
    # Every file of src/render/, so a new target's row links without a
    # change here (the JSON target signs with core/sign.c and libcrypto).
    render = sorted(os.path.relpath(f, REPO)
                    for f in glob.glob(os.path.join(REPO, "src", "render", "*.c")))
    srcs = ["bench/bench_summary.c"] + render + [module_source(m) for m in
                                                 ("summary", "text", "status", "errors",
                                                  "signature", "sign")]
    sq = subprocess.run(["pkg-config", "--cflags", "--libs", "sqlite3"], capture_output=True,
                        text=True, check=True).stdout.split()
    # Every file of src/store/, so a new part of the store links without
    # a change here.
    store = sorted(os.path.relpath(f, REPO)
                   for f in glob.glob(os.path.join(REPO, "src", "store", "*.c")))
    csrcs = ["bench/bench_counts.c"] + store + [module_source(m) for m in
                                                ("decide", "silence", "signature", "log",
                                                 "parse", "metrics", "errors", "status",
                                                 "clock", "text")]
    progs = ((os.path.join(out, "e2e"), ["bench/e2e.c"]),
             (os.path.join(out, "bench_summary"), ["-Iinclude"] + srcs + pc + ["-lm"]),
             (os.path.join(out, "bench_counts"),
              ["-Iinclude"] + csrcs + sq + ["-lpthread", "-lm"]))
    for exe, args in progs:
        # Built under a private name and renamed, so a concurrent run never
        # executes a half-written file.
        tmp = "%s.%d.tmp" % (exe, os.getpid())
        subprocess.run(["cc"] + CFLAGS + ["-o", tmp] + args, cwd=REPO, check=True)
        os.replace(tmp, exe)
    return progs[0][0], progs[1][0], progs[2][0]


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / 2 ** 30, 1),
            "kernel": platform.release(), "os": os_name(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def os_name():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def versions(tools):
    out = {}
    for cmd, argv in (("wrk", ["wrk", "--version"]), ("nginx", ["nginx", "-v"]),
                      ("prometheus-alertmanager", ["prometheus-alertmanager", "--version"])):
        if tools.get(cmd):
            p = subprocess.run(argv, capture_output=True, text=True)
            text = (p.stdout + p.stderr).strip().splitlines()
            out[cmd] = text[0] if text else "?"
    return out


# ---- 1. intake ---------------------------------------------------------

def run_wrk(port, script, args, cfg):
    argv = ["wrk", "-t%d" % cfg["wrk_threads"], "-c%d" % cfg["wrk_conns"],
            "-d%ds" % cfg["intake_s"], "--timeout", "10s", "-s", script,
            "http://127.0.0.1:%d" % port, "--"] + [str(a) for a in args]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=cfg["intake_s"] + 60)
    m = re.search(r"^WRKJSON (.*)$", p.stdout, re.M)
    if not m:
        raise RuntimeError("wrk printed no result: %s %s" % (p.stdout[-500:], p.stderr[-500:]))
    r = json.loads(m.group(1))
    secs = r["duration_us"] / 1e6
    r["rps"] = r["ok"] / secs if secs else 0.0  # only 2xx replies count
    return r


def bench_intake(cfg, ctx):
    tools = ctx["tools"]
    comps = ["dpc-notify"] + [n for n, c in (("nginx", "nginx"),
                                            ("alertmanager", "prometheus-alertmanager"))
                              if tools.get(c)]
    skipped = [n for n in ("nginx", "alertmanager") if n not in comps]
    runs = {c: [] for c in comps}
    if not tools.get("wrk"):
        return {"skipped": "wrk not installed", "competitors": {}}
    for r in range(cfg["rounds"]):
        for name in rotate(comps, r):
            run_id = r * 3 + comps.index(name)
            hole = None
            if name == "dpc-notify":
                hole = BlackHole().__enter__()
                svc = DpcNotify(ctx["work"], hole.port, ctx["binary"])
                script, args = os.path.join(BENCH, "webhook.lua"), [TOKEN, run_id]
            elif name == "nginx":
                svc = Nginx(ctx["work"])
                script, args = os.path.join(BENCH, "webhook.lua"), [TOKEN, run_id]
            else:
                svc = Alertmanager(ctx["work"])
                script, args = os.path.join(BENCH, "alerts.lua"), [run_id]
            try:
                svc.start()
                cpu0 = tree_cpu(svc.proc.pid)
                res = run_wrk(svc.port, script, args, cfg)
                res["server_cpu_s"] = tree_cpu(svc.proc.pid) - cpu0
                res.update({k.lower() + "_kb": v
                            for k, v in proc_status(svc.proc.pid).items()})
            finally:
                if hole:  # resets the parked API calls, so shutdown is quick
                    hole.__exit__()
                svc.stop()
            log("intake round %d %-12s %8.0f req/s  p99 %.2f ms  (%d non-2xx)"
                % (r + 1, name, res["rps"], res["lat_p99_us"] / 1000, res["bad"]))
            runs[name].append(res)
    out = {"competitors": {}, "skipped": skipped or None,
           "setup": "wrk -t%d -c%d -d%ds, keep-alive; dpc-notify workers parked on a "
                    "silent API so only the front door is measured"
                    % (cfg["wrk_threads"], cfg["wrk_conns"], cfg["intake_s"])}
    for name, rs in runs.items():
        out["competitors"][name] = {
            "rps": median([x["rps"] for x in rs]),
            "p50_ms": median([x["lat_p50_us"] / 1000 for x in rs]),
            "p99_ms": median([x["lat_p99_us"] / 1000 for x in rs]),
            "non_2xx": sum(x["bad"] for x in rs),
            "socket_errors": sum(x["err_connect"] + x["err_read"] + x["err_write"] +
                                 x["err_timeout"] for x in rs),
            "cpu_us_per_req": median([x["server_cpu_s"] * 1e6 / x["ok"] if x["ok"] else None
                                      for x in rs]),
            "rss_end_kb": median([x.get("vmrss_kb") for x in rs]),
            "peak_rss_kb": median([x.get("vmhwm_kb") for x in rs]),
            "rounds": rs,
        }
    c = out["competitors"]
    d = c["dpc-notify"]["rps"]
    out["ratio_vs_nginx"] = d / c["nginx"]["rps"] if "nginx" in c and c["nginx"]["rps"] else None
    out["ratio_vs_alertmanager"] = (d / c["alertmanager"]["rps"]
                                    if "alertmanager" in c and c["alertmanager"]["rps"] else None)
    return out


# ---- 2. end to end -----------------------------------------------------

def run_e2e(ctx, cfg, name, rate):
    """One e2e run: the e2e tool serves the API and sink, the competitor is
    started against it, then the tool is told to offer the load."""
    work = tempfile.mkdtemp(prefix="e2e-", dir=ctx["work"])
    pf = os.path.join(work, "e2e.port")
    svc = tool = None
    try:
        mode = "dpc" if name == "dpc-notify" else "am"
        # The competitor needs the tool's port in its config and the tool
        # needs the competitor's: pick the competitor's port first.
        target = free_port()
        argv = [ctx["e2e"], "--port-file", pf, "--target", "127.0.0.1:%d" % target,
                "--mode", mode, "--rate", str(rate), "--duration", str(cfg["e2e_s"]),
                "--drain", str(cfg["e2e_drain_s"]), "--conns", str(cfg["e2e_conns"]),
                "--token", TOKEN]
        tool = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=open(os.path.join(work, "e2e.err"), "wb"))
        _live.append(tool)
        t0 = time.monotonic()
        while not os.path.exists(pf):
            if tool.poll() is not None or time.monotonic() - t0 > 10:
                raise RuntimeError("e2e tool did not start")
            time.sleep(0.01)
        with open(pf) as f:
            sink = int(f.read())
        if mode == "dpc":
            svc = DpcNotify(work, sink, ctx["binary"])
        else:
            svc = Alertmanager(work, sink)
        retarget(svc, target)
        svc.start()
        cpu0 = tree_cpu(svc.proc.pid)
        out, _ = tool.communicate(b"go\n", timeout=cfg["e2e_s"] + cfg["e2e_drain_s"] + 60)
        res = json.loads(out.decode().strip().splitlines()[-1])
        res["server_cpu_s"] = tree_cpu(svc.proc.pid) - cpu0
        res["peak_rss_kb"] = proc_status(svc.proc.pid).get("VmHWM")
        return res
    finally:
        if svc:
            svc.stop()
        stop(tool, grace=3.0)


def retarget(svc, port):
    """Moves a not-yet-started competitor to listen on port."""
    if isinstance(svc, DpcNotify):
        with open(svc.cfg) as f:
            text = f.read()
        text = re.sub(r"^listen = .*$", "listen = 127.0.0.1:%d" % port, text, flags=re.M)
        with open(svc.cfg, "w") as f:
            f.write(text)
    else:
        svc.argv = [("--web.listen-address=127.0.0.1:%d" % port)
                    if a.startswith("--web.listen-address=") else a for a in svc.argv]
    svc.port = port


def bench_e2e(cfg, ctx):
    comps = ["dpc-notify"] + (["alertmanager"] if ctx["tools"].get("prometheus-alertmanager")
                              else [])
    out = {"rates": {}, "setup": "%gs of load per run, drain up to %gs, %d connections; "
                                 "50-step failed run, 2 failed child pipelines (10 steps each)"
                                 % (cfg["e2e_s"], cfg["e2e_drain_s"], cfg["e2e_conns"]),
           "skipped": None if len(comps) == 2 else ["alertmanager"]}
    for rate in cfg["e2e_rates"]:
        runs = {c: [] for c in comps}
        for r in range(cfg["rounds"]):
            for name in rotate(comps, r):
                res = run_e2e(ctx, cfg, name, rate)
                log("e2e %5d/s round %d %-12s p50 %8s ms  p99 %8s ms  %7.1f msg/s  "
                    "delivered %d/%d" % (rate, r + 1, name, fmt(res["p50_ms"], "%.1f"),
                                         fmt(res["p99_ms"], "%.1f"), res["delivered_per_s"],
                                         res["delivered"], res["offered"]))
                runs[name].append(res)
        rr = {}
        for name, rs in runs.items():
            rr[name] = {
                "p50_ms": median_late([x["p50_ms"] for x in rs]),
                "p99_ms": median_late([x["p99_ms"] for x in rs]),
                "msgs_per_s": median([x["delivered_per_s"] for x in rs]),
                "delivered": sum(x["delivered"] for x in rs),
                "offered": sum(x["offered"] for x in rs),
                "duplicates": sum(x["duplicates"] for x in rs),
                "cpu_ms_per_msg": median([x["server_cpu_s"] * 1e3 / x["delivered"]
                                          if x["delivered"] else None for x in rs]),
                "peak_rss_kb": median([x["peak_rss_kb"] for x in rs]),
                "rounds": rs,
            }
        out["rates"][str(rate)] = rr
    return out


# ---- 3. growth ---------------------------------------------------------

def bench_growth(cfg, ctx):
    """Each cell runs `rounds` times, each in a fresh process (peak RSS is a
    high-water mark); CPU is the median, peak RSS the largest seen."""
    cells = []
    for steps in cfg["growth_steps"]:
        for ch in cfg["growth_children"]:
            runs = []
            for _ in range(cfg["rounds"]):
                p = subprocess.run([ctx["summary"], str(steps), str(ch)], capture_output=True,
                                   text=True, timeout=300)
                if p.returncode != 0:
                    raise RuntimeError("bench_summary %d %d: %s" % (steps, ch, p.stderr))
                runs.append(json.loads(p.stdout))
            cell = dict(runs[0])
            for k in ("cpu_ms", "cpu_us_per_step", "render_ms"):
                cell[k] = median([x[k] for x in runs])
            cell["peak_rss_kb"] = max(x["peak_rss_kb"] for x in runs)
            cell["base_rss_kb"] = max(x["base_rss_kb"] for x in runs)
            cells.append(cell)
    lo, hi = min(cfg["growth_steps"]), max(cfg["growth_steps"])
    growth = {}
    for ch in cfg["growth_children"]:
        a = [c for c in cells if c["steps"] == lo and c["children"] == ch][0]
        b = [c for c in cells if c["steps"] == hi and c["children"] == ch][0]
        growth[str(ch)] = b["peak_rss_kb"] - a["peak_rss_kb"]
    ten = [c["cpu_ms"] for c in cells if c["steps"] == 10000]
    per = [c["cpu_us_per_step"] for c in cells]
    # Flat: per child count, CPU per step of the largest run over the smallest.
    slope = {}
    for ch in cfg["growth_children"]:
        a = [c for c in cells if c["steps"] == lo and c["children"] == ch][0]
        b = [c for c in cells if c["steps"] == hi and c["children"] == ch][0]
        slope[str(ch)] = b["cpu_us_per_step"] / a["cpu_us_per_step"]
    return {"cells": cells, "rss_growth_kb": growth, "steps_lo": lo, "steps_hi": hi,
            "cpu_ms_10k_max": max(ten) if ten else None, "cpu_per_step_ratio": slope,
            "cpu_us_per_step_min": min(per), "cpu_us_per_step_max": max(per)}


# ---- 4. job counts -----------------------------------------------------

def bench_counts(cfg, ctx):
    """One process: fills a store, then times store_counts() and the old
    COUNT query alternately round by round; medians of the per-call means."""
    runs = []
    for _ in range(cfg["rounds"]):
        p = subprocess.run([ctx["counts"], str(cfg["counts_jobs"]), str(cfg["counts_calls"])],
                           capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise RuntimeError("bench_counts: %s" % p.stderr)
        runs.append(json.loads(p.stdout))
    return {"jobs": cfg["counts_jobs"], "calls": cfg["counts_calls"],
            "count_query_ms": median([r["count_query_ms"] for r in runs]),
            "store_counts_ms": median([r["store_counts_ms"] for r in runs])}


# ---- 5. footprint ------------------------------------------------------

def bench_footprint(cfg, ctx):
    comps = ["dpc-notify"] + (["alertmanager"] if ctx["tools"].get("prometheus-alertmanager")
                              else [])
    runs = {c: [] for c in comps}
    for r in range(cfg["ready_rounds"]):
        for name in rotate(comps, r):
            svc = (DpcNotify(ctx["work"], 9, ctx["binary"]) if name == "dpc-notify"
                   else Alertmanager(ctx["work"]))
            try:
                ready = svc.start()
                time.sleep(cfg["idle_s"])
                st = proc_status(svc.proc.pid)
            finally:
                svc.stop()
            runs[name].append({"ready_ms": ready * 1000, "idle_rss_kb": st.get("VmRSS"),
                               "idle_anon_kb": st.get("RssAnon"),
                               "idle_file_kb": st.get("RssFile"),
                               "idle_pss_kb": st.get("Pss")})
    out = {"competitors": {}}
    for name, rs in runs.items():
        out["competitors"][name] = {
            "ready_ms": median([x["ready_ms"] for x in rs]),
            "ready_ms_max": max(x["ready_ms"] for x in rs),
            "idle_rss_kb": median([x["idle_rss_kb"] for x in rs]),
            "idle_anon_kb": median([x["idle_anon_kb"] for x in rs]),
            "idle_file_kb": median([x["idle_file_kb"] for x in rs]),
            "idle_pss_kb": median([x["idle_pss_kb"] for x in rs]),
            "rounds": rs,
        }
    out.update(binary_sizes(ctx["binary"]))
    return out


def binary_sizes(binary):
    out = {"binary_bytes": os.path.getsize(binary)}
    with tempfile.TemporaryDirectory() as d:
        s = os.path.join(d, "stripped")
        shutil.copy(binary, s)
        if subprocess.run(["strip", "--strip-all", s]).returncode == 0:
            out["binary_stripped_bytes"] = os.path.getsize(s)
    # The image is FROM scratch: binary + the libraries ldd lists + CA
    # certificates. Measure the real image when a Docker daemon has it,
    # else add those files up.
    out["image_bytes"], out["image_source"] = None, None
    if shutil.which("docker"):
        p = subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}",
                            "dpc-notify:latest"], capture_output=True, text=True, timeout=20)
        if p.returncode == 0 and p.stdout.strip().isdigit():
            out["image_bytes"], out["image_source"] = int(p.stdout), "docker image inspect"
    if out["image_bytes"] is None:
        p = subprocess.run(["ldd", binary], capture_output=True, text=True)
        libs = set(re.findall(r"(/\S+)", p.stdout))
        files = [out.get("binary_stripped_bytes", out["binary_bytes"])]
        files += [os.path.getsize(os.path.realpath(x)) for x in libs if os.path.exists(x)]
        ca = "/etc/ssl/certs/ca-certificates.crt"
        if os.path.exists(ca):
            files.append(os.path.getsize(ca))
        out["image_bytes"] = sum(files)
        out["image_source"] = "estimate: stripped binary + %d shared libraries + CA bundle " \
                              "(no Docker image available)" % len(libs)
        out["shared_libraries"] = len(libs)
    return out


# ---- 6. storm ----------------------------------------------------------

MOCK = os.path.join(REPO, "tests", "mock", "mock_server.py")
STORM_BASE = os.path.join(REPO, "tests", "mock", "scenarios", "failed_with_children.json")
STORM_ERROR = "Resource monitor DWH_MONITOR quota exceeded at 02:%02d for warehouse WH_%d"


def storm_pipeline(i):
    return "Finance/load_%02d.orch.yaml" % i


def storm_display(i):
    """How both competitors' messages name run i's pipeline."""
    return "load_%02d" % i


def storm_scenario(n):
    """The mock's scenario for n failed runs of n pipelines (the warehouse
    is down: one failed step each, the same error with other numbers), and
    the n webhooks. Built from the integration tests' failed_with_children
    scenario, whose root execution gives the shape."""
    with open(STORM_BASE, encoding="utf-8") as f:
        base = json.load(f)
    hook = base["webhook"]
    root = next(e for e in base["executions"] if e["id"] == hook["pipelineExecutionId"])
    now = time.time()
    started = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now - 600))
    finished = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now))
    sc = {"credentials": {"client_id": "bench-client", "client_secret": "bench-secret"},
          "wrap_execution": base.get("wrap_execution", False), "executions": []}
    hooks = []
    for i in range(n):
        e = json.loads(json.dumps(root))
        e["id"] = hook["pipelineExecutionId"][:-4] + "%04d" % (1000 + i)
        e["execution"].update(pipelineExecutionId=e["id"], pipelineName=storm_pipeline(i),
                              startedAt=started, finishedAt=finished)
        e["steps"] = [{"id": "d0000000-0000-4000-8000-%012d" % i,
                       "name": "Load table %d" % i,
                       "result": {"status": "FAILED", "message": STORM_ERROR % (i % 60, i),
                                  "startedAt": started, "finishedAt": finished}}]
        sc["executions"].append(e)
        hooks.append(dict(hook, pipelineExecutionId=e["id"], pipelineName=storm_pipeline(i)))
    return sc, hooks


class StormDpcNotify(DpcNotify):
    """dpc-notify as an operator would run it for the storm: one Slack
    destination with storm grouping at its defaults (group_threshold 3,
    group_window 30 s; smoke mode shortens the window), against the mock
    Matillion API with no API rate limit, as in e2e."""

    def __init__(self, work, mock_port, binary, window_s=None):
        self.dir = tempfile.mkdtemp(prefix="dpc-storm-", dir=work)
        self.port = free_port()
        self.proc = None
        mp = "http://127.0.0.1:%d" % mock_port
        ini = """# written by bench/run.py (storm)
[server]
listen = 127.0.0.1:{port}
auth_token = {token}
store = {dir}/dpc-notify.db
log_level = info

[matillion]
api_base = {mp}/dpc
token_url = {mp}/oauth/dpc/token
client_id = bench-client
client_secret = bench-secret
requests_per_minute = 0

[delivery]
allow_http = true

[destination storm-slack]
type = slack
url = {mp}/slack/T0BENCH/B0BENCH/storm
{window}
[default]
destinations = storm-slack
notify_on = FAILED
""".format(port=self.port, token=TOKEN, dir=self.dir, mp=mp,
           window="group_window = %d\n" % window_s if window_s else "")
        self.cfg = os.path.join(self.dir, "dpc-notify.ini")
        with open(os.open(self.cfg, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(ini)
        self.argv = [binary, "-c", self.cfg, "serve"]


class MockApi:
    """tests/mock/mock_server.py as the Matillion API and the Slack
    webhook; it timestamps every chat post it receives (GET /_recorded)."""

    def __init__(self, work, scenario):
        self.dir = tempfile.mkdtemp(prefix="mock-", dir=work)
        self.scenario = os.path.join(self.dir, "scenario.json")
        with open(self.scenario, "w", encoding="utf-8") as f:
            json.dump(scenario, f)
        self.port = None
        self.proc = None

    def start(self):
        pf = os.path.join(self.dir, "mock.port")
        self.proc = spawn([sys.executable, MOCK, "--port-file", pf, "--scenario",
                           self.scenario], os.path.join(self.dir, "mock.log"))
        t0 = time.monotonic()
        while not self.port:
            try:
                with open(pf) as f:
                    self.port = int(f.read().strip() or 0)
            except (OSError, ValueError):
                pass
            if self.proc.poll() is not None or time.monotonic() - t0 > 20:
                raise RuntimeError("mock server did not start; see %s" % self.dir)
            time.sleep(0.02)
        wait_ready(self.proc, self.port, "/_health")

    def posts(self):
        """Chat posts received so far: (wall time, status, body as text)."""
        code, data = http_call("GET", self.port, "/_recorded")
        if code != 200:
            raise RuntimeError("mock /_recorded answered %d" % code)
        return [(p["t"], p["status"], json.dumps(p.get("body"), ensure_ascii=False))
                for p in json.loads(data) if p.get("target") == "slack"]

    def stop(self):
        stop(self.proc, grace=3.0)


class Sink:
    """Alertmanager's webhook receiver: an HTTP server on a thread of this
    process that records each POST's arrival (wall time) and the pipeline
    label of every alert it names."""

    def __init__(self):
        posts = self.posts = []
        lock = self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                t = time.time()
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(min(max(n, 0), 64 << 20))
                try:
                    alerts = json.loads(raw.decode("utf-8")).get("alerts") or []
                    named = [str((a.get("labels") or {}).get("pipeline")) for a in alerts]
                except (ValueError, AttributeError, UnicodeDecodeError):
                    named = []
                with lock:
                    posts.append((t, named))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def received(self):
        with self.lock:
            return list(self.posts)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def http_call(method, port, path, body=None, headers=None, timeout=10.0):
    """(status, body bytes) of one request on a fresh connection."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def storm_alert(i, hook):
    """Run i as the alert an exporter would send: alertname, pipeline and
    environment as labels, the error as an annotation."""
    return [{"labels": {"alertname": "PipelineFailed", "pipeline": storm_pipeline(i),
                        "environment": hook.get("environmentName", "prod")},
             "annotations": {"description": STORM_ERROR % (i % 60, i),
                             "execution": hook["pipelineExecutionId"]},
             "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}]


def storm_measure(posts, t0, n, count_s):
    """Figures of one competitor from its messages [(wall time, set of run
    indexes named)], t0 being when its first webhook or alert was sent."""
    posts = sorted(posts)
    named, all_at, until = set(), None, None
    for k, (t, runs) in enumerate(posts):
        named |= runs
        if all_at is None and len(named) == n:
            all_at, until = t - t0, k + 1
    return {"messages_first": sum(1 for t, _ in posts if t - t0 <= count_s),
            "messages_until_named": until, "messages_total": len(posts),
            "first_s": posts[0][0] - t0 if posts else None, "all_named_s": all_at,
            "named": len(named), "runs": n,
            "posts": [[round(t - t0, 3), len(r)] for t, r in posts]}


def storm_round(cfg, ctx, with_am):
    """One storm, sent to dpc-notify and (with_am) to Alertmanager at the
    same moments; both are watched until every run is named by each and
    count_s has passed, or wait_s at most."""
    n, window = cfg["storm_runs"], cfg["storm_window_s"]
    sc, hooks = storm_scenario(n)
    mock = svc = am = sink = None
    try:
        mock = MockApi(ctx["work"], sc)
        mock.start()
        svc = StormDpcNotify(ctx["work"], mock.port, ctx["binary"],
                             window_s=window if window != 30 else None)
        svc.start()
        if with_am:
            sink = Sink()
            am = Alertmanager(ctx["work"], template="alertmanager_storm.yml.in",
                              subs={"@WINDOW@": "%ds" % window,
                                    "@SINK_URL@": "http://127.0.0.1:%d/storm" % sink.port})
            am.start()
        names = [storm_display(i) for i in range(n)]
        by_pipeline = {storm_pipeline(i): i for i in range(n)}
        auth = {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"}
        t0 = {}
        start = time.monotonic()
        for k, h in enumerate(hooks):
            time.sleep(max(0.0, start + cfg["storm_spread_s"] * k / n - time.monotonic()))
            t0.setdefault("dpc-notify", time.time())
            code, body = http_call("POST", svc.port, "/webhook", json.dumps(h).encode(), auth)
            if code != 202:
                raise RuntimeError("storm webhook %d answered %d %r" % (k, code, body[:200]))
            if am:
                t0.setdefault("alertmanager", time.time())
                code, body = http_call("POST", am.port, "/api/v2/alerts",
                                       json.dumps(storm_alert(k, h)).encode(),
                                       {"Content-Type": "application/json"})
                if code != 200:
                    raise RuntimeError("storm alert %d answered %d %r" % (k, code, body[:200]))

        def collect():
            dpc = [(t, {i for i, nm in enumerate(names) if nm in text})
                   for t, st, text in mock.posts() if st < 300]
            out = {"dpc-notify": dpc}
            if sink:
                out["alertmanager"] = [(t, {by_pipeline[p] for p in ps if p in by_pipeline})
                                       for t, ps in sink.received()]
            return out

        while True:
            seen = collect()
            waited = time.time() - min(t0.values())
            done = all(len(set().union(*[r for _, r in ps])) == n if ps else False
                       for ps in seen.values())
            if (done and waited >= cfg["storm_count_s"]) or waited >= cfg["storm_wait_s"]:
                break
            time.sleep(0.25)
        rejected = sum(1 for _, st, _ in mock.posts() if st >= 300)
        res = {name: storm_measure(ps, t0[name], n, cfg["storm_count_s"])
               for name, ps in seen.items()}
        res["dpc-notify"]["rejected"] = rejected
        return res
    finally:
        for p in (am, svc, mock):
            if p:
                p.stop()
        if sink:
            sink.close()


def bench_storm(cfg, ctx):
    with_am = bool(ctx["tools"].get("prometheus-alertmanager"))
    out = {"setup": "%d failed runs of %d pipelines, webhooks (and alerts) spread evenly over "
                    "%gs; dpc-notify: one Slack destination, group_threshold 3, group_window "
                    "%ds; Alertmanager: group_by [alertname], group_wait = group_interval = "
                    "%ds, webhook receiver; watched %gs at least, %gs at most"
                    % (cfg["storm_runs"], cfg["storm_runs"], cfg["storm_spread_s"],
                       cfg["storm_window_s"], cfg["storm_window_s"], cfg["storm_count_s"],
                       cfg["storm_wait_s"]),
           "runs": cfg["storm_runs"], "count_s": cfg["storm_count_s"],
           "wait_s": cfg["storm_wait_s"], "window_s": cfg["storm_window_s"],
           "skipped": None if with_am else "alertmanager: prometheus-alertmanager not installed",
           "competitors": {}}
    if not with_am:
        log("storm: %s" % out["skipped"])
    rounds = {}
    for r in range(cfg["storm_rounds"]):
        res = storm_round(cfg, ctx, with_am)
        for name, x in res.items():
            log("storm round %d %-12s %d messages in %gs, first after %ss, %d/%d runs named "
                "after %ss" % (r + 1, name, x["messages_first"], cfg["storm_count_s"],
                               fmt(x["first_s"], "%.1f"), x["named"], x["runs"],
                               fmt(x["all_named_s"], "%.1f")))
            rounds.setdefault(name, []).append(x)
    for name, rs in rounds.items():
        out["competitors"][name] = {
            "messages_first": median([x["messages_first"] for x in rs]),
            "messages_until_named": median_late([x["messages_until_named"] for x in rs]),
            "first_s": median_late([x["first_s"] for x in rs]),
            "all_named_s": median_late([x["all_named_s"] for x in rs]),
            "named_min": min(x["named"] for x in rs),
            "rounds": rs,
        }
    return out


# ---- report ------------------------------------------------------------

def fmt(v, spec="%.0f", none="-"):
    return none if v is None else spec % v


def mb(kb):
    return None if kb is None else kb / 1024.0


def ordered(d):
    """Items of a per-competitor dict, dpc-notify first (JSON sorts keys)."""
    rank = {"dpc-notify": 0, "nginx": 1, "alertmanager": 2}
    return sorted(d.items(), key=lambda kv: rank.get(kv[0], 9))


def table(res):
    rows = []
    t = res["targets"]

    def row(section, metric, value, target="", status=""):
        rows.append((section, metric, value, target, status))

    def ok(key):
        v = t.get(key)
        return "" if v is None else ("met" if v else "MISSED")

    i = res.get("intake", {})
    c = i.get("competitors", {})
    for name in ("dpc-notify", "nginx", "alertmanager"):
        if name in c:
            x = c[name]
            row("intake", "%s req/s (p50 / p99 ms)" % name,
                "%s (%s / %s)" % (fmt(x["rps"]), fmt(x["p50_ms"], "%.2f"),
                                  fmt(x["p99_ms"], "%.2f")))
    if i:
        row("intake", "dpc-notify / nginx", fmt(i.get("ratio_vs_nginx"), "%.2f x"), ">= 0.5 x",
            ok("intake_vs_nginx"))
        row("intake", "dpc-notify / alertmanager", fmt(i.get("ratio_vs_alertmanager"),
                                                       "%.2f x"),
            ">= 3 x", ok("intake_vs_alertmanager"))
    if "dpc-notify" in c:
        row("intake", "dpc-notify CPU per request", fmt(c["dpc-notify"]["cpu_us_per_req"],
                                                         "%.0f us"))
    late = "not within %gs" % res["config"]["e2e_drain_s"]
    rates = res.get("e2e", {}).get("rates", {})
    for rate in sorted(rates, key=float):
        for name, x in ordered(rates[rate]):
            row("e2e %s/s" % rate, "%s p50 / p99 latency" % name,
                "%s / %s ms" % (fmt(x["p50_ms"], "%.1f", late), fmt(x["p99_ms"], "%.1f", late)))
            row("e2e %s/s" % rate, "%s CPU per msg / peak RSS" % name,
                "%s ms / %s MB" % (fmt(x["cpu_ms_per_msg"], "%.2f"),
                                   fmt(mb(x["peak_rss_kb"]), "%.1f")))
            row("e2e %s/s" % rate, "%s sustained msg/s" % name,
                "%s (%d/%d delivered)" % (fmt(x["msgs_per_s"], "%.0f"), x["delivered"],
                                          x["offered"]),
                "%s" % rate if name == "dpc-notify" else "",
                ok("e2e_%s_sustained" % rate) if name == "dpc-notify" else "")
    g = res.get("growth", {})
    for cell in g.get("cells", []):
        row("growth", "%d steps, %d children" % (cell["steps"], cell["children"]),
            "%.1f ms CPU (%.2f us/step), peak RSS %.2f MB" % (cell["cpu_ms"],
                                                              cell["cpu_us_per_step"],
                                                              cell["peak_rss_kb"] / 1024.0))
    if g:
        row("growth", "10,000 steps CPU (worst)", fmt(g["cpu_ms_10k_max"], "%.1f ms"),
            "<= 50 ms", ok("growth_cpu_10k"))
        kids = sorted(g["rss_growth_kb"], key=int)
        row("growth", "peak RSS growth %d -> %d steps" % (g["steps_lo"], g["steps_hi"]),
            "%s KB (%s children)" % (" / ".join("%+d" % g["rss_growth_kb"][k] for k in kids),
                                     " / ".join(kids)),
            "<= 2048 KB", ok("growth_rss"))
        row("growth", "CPU per step, %d vs %d steps" % (g["steps_hi"], g["steps_lo"]),
            "%s x (%.2f..%.2f us)" % (" / ".join("%.2f" % g["cpu_per_step_ratio"][k]
                                                 for k in kids),
                                      g["cpu_us_per_step_min"], g["cpu_us_per_step_max"]),
            "flat: <= 1.5 x", ok("growth_cpu_flat"))
    k = res.get("counts", {})
    if k:
        row("counts", "/metrics job counts, %d jobs: COUNT query (before)" % k["jobs"],
            fmt(k["count_query_ms"], "%.3f ms"))
        row("counts", "/metrics job counts, %d jobs: store_counts() (now)" % k["jobs"],
            fmt(k["store_counts_ms"] * 1000, "%.1f us"))
    f = res.get("footprint", {})
    fc = f.get("competitors", {})
    for name, x in ordered(fc):
        row("footprint", "%s idle RSS (anon / libs / PSS)" % name,
            "%s (%s / %s / %s)" % (fmt(mb(x["idle_rss_kb"]), "%.1f MB"),
                                   fmt(mb(x["idle_anon_kb"]), "%.1f"),
                                   fmt(mb(x["idle_file_kb"]), "%.1f"),
                                   fmt(mb(x["idle_pss_kb"]), "%.1f")),
            "<= 8 MB" if name == "dpc-notify" else "",
            ok("idle_rss") if name == "dpc-notify" else "")
        row("footprint", "%s start -> ready" % name, fmt(x["ready_ms"], "%.1f ms"),
            "<= 50 ms" if name == "dpc-notify" else "",
            ok("ready_ms") if name == "dpc-notify" else "")
    if "dpc-notify" in c:
        row("footprint", "dpc-notify RSS after intake test",
            fmt(mb(c["dpc-notify"]["rss_end_kb"]), "%.1f MB"))
    if f:
        row("footprint", "binary (stripped)", "%.0f KB (%s KB)" % (
            f["binary_bytes"] / 1024, fmt(f.get("binary_stripped_bytes", 0) / 1024)))
        row("footprint", "image", fmt(f["image_bytes"] / 2 ** 20, "%.1f MB")
            + (" (estimate)" if f.get("image_source", "").startswith("estimate") else ""))
    st = res.get("storm", {})
    sc = st.get("competitors", {})
    if sc:
        # One row per measure, the two competitors side by side.
        names = [n for n, _ in ordered(sc)]
        pair = " / ".join(names)

        def both(key, spec, none):
            return " / ".join(fmt(sc[n][key], spec, none) for n in names)
        never = "never within %gs" % st["wait_s"]
        row("storm", "%d runs: messages in first %gs (%s)" % (st["runs"], st["count_s"], pair),
            both("messages_first", "%.0f", "-"), "<= 3", ok("storm_messages"))
        row("storm", "%d runs: messages until every run named (%s)" % (st["runs"], pair),
            both("messages_until_named", "%.0f", never))
        row("storm", "%d runs: first message after first webhook/alert (%s)" % (st["runs"], pair),
            both("first_s", "%.2f s", "none"), "<= 2 s", ok("storm_first"))
        row("storm", "%d runs: every run named after (%s)" % (st["runs"], pair),
            both("all_named_s", "%.1f s", never), "every run", ok("storm_named"))
    if st.get("skipped"):
        row("storm", "skipped", st["skipped"])
    widths = [max(len(r[k]) for r in rows + [("section", "metric", "value", "target",
                                                "")]) for k in range(5)]
    lines = []
    for r in [("section", "metric", "value", "target", "")] + rows:
        lines.append("  ".join(r[k].ljust(widths[k]) for k in range(5)).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths).rstrip())
    return "\n".join(lines)


def judge(res):
    t = {}
    i = res.get("intake", {})
    if i.get("ratio_vs_nginx") is not None:
        t["intake_vs_nginx"] = i["ratio_vs_nginx"] >= 0.5
    if i.get("ratio_vs_alertmanager") is not None:
        t["intake_vs_alertmanager"] = i["ratio_vs_alertmanager"] >= 3.0
    for rate, rr in res.get("e2e", {}).get("rates", {}).items():
        d = rr.get("dpc-notify")
        if d and d["msgs_per_s"] is not None:
            # "sustained": every run delivered, at >= 95% of the offered rate
            t["e2e_%s_sustained" % rate] = (d["delivered"] == d["offered"] and
                                            d["msgs_per_s"] >= 0.95 * float(rate))
    g = res.get("growth", {})
    if g:
        t["growth_cpu_10k"] = g["cpu_ms_10k_max"] is not None and g["cpu_ms_10k_max"] <= 50
        t["growth_rss"] = max(g["rss_growth_kb"].values()) <= 2048
        t["growth_cpu_flat"] = max(g["cpu_per_step_ratio"].values()) <= 1.5
    sd = res.get("storm", {}).get("competitors", {}).get("dpc-notify")
    if sd:
        # Issue 13: at most group_threshold (3) messages per destination in
        # the first minute, the first within 2 s, every run named.
        t["storm_messages"] = sd["messages_first"] <= 3
        t["storm_first"] = sd["first_s"] is not None and sd["first_s"] <= 2.0
        t["storm_named"] = sd["named_min"] == res["storm"]["runs"]
    fc = res.get("footprint", {}).get("competitors", {}).get("dpc-notify")
    if fc:
        t["idle_rss"] = fc["idle_rss_kb"] is not None and fc["idle_rss_kb"] <= 8 * 1024
        t["ready_ms"] = fc["ready_ms"] <= 50
    return t


DOC_BEGIN = "<!-- bench:begin (written by bench/run.py) -->"
DOC_END = "<!-- bench:end -->"


def update_doc(res):
    """Puts the latest table, machine and command between the markers in
    BENCHMARKS.md, so the document always shows the last full run."""
    path = os.path.join(REPO, "BENCHMARKS.md")
    try:
        with open(path, encoding="utf-8") as f:
            doc = f.read()
    except OSError:
        return
    if DOC_BEGIN not in doc or DOC_END not in doc:
        return
    m = res["machine"]
    block = "\n".join([
        DOC_BEGIN,
        "Run %s with `%s` (%.0f s) on: %s, %d cores, %.0f GiB RAM, %s, kernel %s; "
        "load average %.2f at start, %.2f at end." % (
            m["date"], res["command"], res["elapsed_s"], m["cpu"], m["cores"],
            m["memory_gib"], m["os"], m["kernel"], m["loadavg_start"][0],
            m["loadavg_end"][0]),
        "Competitors: %s." % "; ".join("%s" % v for v in res["versions"].values()),
        "",
        "```",
        res["table"],
        "```",
        DOC_END])
    head, rest = doc.split(DOC_BEGIN, 1)
    tail = rest.split(DOC_END, 1)[1]
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(head + block + tail)
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="seconds-long run, numbers meaningless")
    ap.add_argument("--out", help="JSON result file (default bench/results/latest.json; "
                                  "with --smoke a temporary file)")
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help="comma-separated sections (default all: %(default)s)")
    ap.add_argument("--no-install", action="store_true", help="never apt-get install")
    ap.add_argument("--no-build", action="store_true", help="do not run make first")
    ap.add_argument("--rounds", type=int, help="override the number of rounds")
    ap.add_argument("--table", metavar="JSON", help="only print the table of a saved result")
    a = ap.parse_args()
    if a.table:
        with open(a.table, encoding="utf-8") as f:
            print(table(json.load(f)))
        return
    sections = [s.strip() for s in a.only.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        sys.exit("bench: unknown section %s (known: %s)" % (", ".join(unknown),
                                                            ", ".join(SECTIONS)))
    cfg = dict(SMOKE if a.smoke else FULL)
    if a.rounds:
        cfg["rounds"] = cfg["storm_rounds"] = a.rounds
    build_dir = os.environ.get("BUILD", "build")
    if not os.path.isabs(build_dir):
        build_dir = os.path.join(REPO, build_dir)
    binary = os.path.join(build_dir, "dpc-notify")
    tools = ensure_tools(install=not (a.no_install or a.smoke) and os.geteuid() == 0)
    e2e, summ, counts = build(build_dir, do_make=not (a.no_build or a.smoke))
    if not os.access(binary, os.X_OK):
        sys.exit("bench: %s not built (run make)" % binary)
    work = tempfile.mkdtemp(prefix="dpc-bench-")
    ctx = {"tools": tools, "binary": binary, "e2e": e2e, "summary": summ, "counts": counts,
           "work": work}
    res = {"mode": "smoke" if a.smoke else "full", "machine": machine(),
           "command": ("python3 bench/run.py %s" % " ".join(sys.argv[1:])).strip()
                      if sys.argv[1:] else "make bench",
           "config": cfg, "versions": versions(tools)}
    t0 = time.monotonic()
    load0 = [round(x, 2) for x in os.getloadavg()]
    try:
        fns = {"intake": bench_intake, "e2e": bench_e2e, "growth": bench_growth,
               "counts": bench_counts, "footprint": bench_footprint, "storm": bench_storm}
        for name in SECTIONS:
            fn = fns[name]
            if name in sections:
                log("%s ..." % name)
                ts = time.monotonic()
                res[name] = fn(cfg, ctx)
                res[name]["elapsed_s"] = round(time.monotonic() - ts, 1)
    finally:
        stop_all()
        shutil.rmtree(work, ignore_errors=True)
    res["elapsed_s"] = round(time.monotonic() - t0, 1)
    # Other work on the machine skews every number: say how busy it was.
    res["machine"]["loadavg_start"] = load0
    res["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    res["targets"] = judge(res)
    text = table(res)
    res["table"] = text
    out = a.out or (os.path.join(tempfile.gettempdir(), "dpc-bench-smoke.json") if a.smoke
                    else os.path.join(BENCH, "results", "latest.json"))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out + ".tmp", "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(out + ".tmp", out)
    if not a.smoke and not a.out:
        update_doc(res)
    print(text)
    m = res["machine"]
    print("\nmachine: %s, %d cores, %.0f GiB, %s; load average %s at start, %s at end"
          % (m["cpu"], m["cores"], m["memory_gib"], m["os"], m["loadavg_start"][0],
             m["loadavg_end"][0]))
    print("results: %s (%.0fs)" % (os.path.relpath(out, REPO) if out.startswith(REPO) else out,
                                     res["elapsed_s"]))


if __name__ == "__main__":
    main()
