"""`make bench` keeps working: runs bench/run.py in its seconds-long smoke
mode against the built $BUILD/dpc-notify and checks that it printed the
table and wrote a JSON result with every section. No performance
assertions: smoke numbers are meaningless, only the plumbing is tested
(every webhook offered end to end reached the sink once, every summary
counted every step, every run of the storm was named)."""

import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REPO, case, run_all, tmpdir  # noqa: E402

RUN = os.path.join(REPO, "bench", "run.py")


def smoke(*extra):
    out = os.path.join(tmpdir(), "latest.json")
    p = subprocess.run([sys.executable, RUN, "--smoke", "--out", out] + list(extra),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=300, cwd=REPO)
    assert p.returncode == 0, "run.py exited %d:\n%s\n%s" % (p.returncode, p.stdout[-2000:],
                                                             p.stderr[-3000:])
    with open(out, encoding="utf-8") as f:
        return p.stdout, json.load(f)


@case
def smoke_run_prints_table_and_json():
    text, res = smoke()
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["section", "metric", "value", "target"], lines[:2]
    for section in ("intake", "e2e 100/s", "e2e 1000/s", "growth", "footprint", "storm"):
        assert any(l.startswith(section) for l in lines), "no %r rows:\n%s" % (section, text)
    assert "results:" in text and "machine:" in text, text[-500:]
    for key in ("intake", "e2e", "growth", "footprint", "storm", "targets", "machine",
                "table"):
        assert key in res, "JSON lacks %r: %s" % (key, sorted(res))
    # The storm's plumbing (a one-second window in smoke mode): dpc-notify
    # got every webhook, the mock accepted every message, and together
    # they name every run; Alertmanager, when installed, was heard from.
    st = res["storm"]
    d = st["competitors"]["dpc-notify"]
    for r in d["rounds"]:
        assert r["rejected"] == 0 and r["messages_total"] >= 1, r
        assert r["named"] == r["runs"] == st["runs"], "runs not named: %s" % r
    am = st["competitors"].get("alertmanager")
    assert am or st["skipped"], st
    if am:
        assert all(r["messages_total"] >= 1 and r["named"] > 0 for r in am["rounds"]), am
    assert res["mode"] == "smoke" and res["table"] == "\n".join(lines[:len(res["table"].splitlines())])


@case
def smoke_sections_hold_real_measurements():
    _, res = smoke("--only", "e2e,growth,footprint")
    assert "intake" not in res, "--only ignored"
    for rate in ("100", "1000"):
        d = res["e2e"]["rates"][rate]["dpc-notify"]
        assert d["offered"] > 0 and 0 < d["delivered"] <= d["offered"], d
        assert d["duplicates"] == 0, "a run was posted twice: %s" % d
        # None: that percentile of runs had not arrived when the drain ended
        assert d["p50_ms"] is None or d["p50_ms"] > 0, d
        if d["p50_ms"] is not None and d["p99_ms"] is not None:
            assert d["p99_ms"] >= d["p50_ms"], d
        for r in d["rounds"]:
            assert r["accepted"] == r["offered"] and r["unmatched"] == 0, r
    cells = res["growth"]["cells"]
    assert len(cells) == 4, cells
    for c in cells:
        assert c["counted"] == c["steps"], "summary lost steps: %s" % c
        assert c["children_kept"] == c["children"], c
        assert c["cpu_ms"] > 0 and c["peak_rss_kb"] > 0, c
    f = res["footprint"]
    me = f["competitors"]["dpc-notify"]
    assert me["ready_ms"] > 0 and me["idle_rss_kb"] > 0, me
    assert f["binary_bytes"] > 0 and f["image_bytes"] >= f["binary_stripped_bytes"], f



@case
def unknown_section_is_refused_and_storm_is_listed():
    p = subprocess.run([sys.executable, RUN, "--smoke", "--only", "storm,bogus"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=60, cwd=REPO)
    assert p.returncode != 0, "an unknown section was accepted:\n%s" % p.stderr[-1000:]
    assert "bogus" in p.stderr and "storm" in p.stderr, p.stderr[-1000:]


run_all()
