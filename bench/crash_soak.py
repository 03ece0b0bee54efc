#!/usr/bin/env python3
"""Crash soak, the long version of tests/integration/test_crash.py: N >= 1000
webhooks while dpc-notify is killed with SIGKILL at random moments and
restarted, then a count of what the mock chat sink received per accepted
run and destination. Prints losses and duplicates, and for each duplicate
how long after the first post the kill came (the post-to-commit window in
which at-least-once delivery repeats a message). Exit status 1 on any loss
or on a duplicate that no kill explains.

usage: BUILD=build python3 bench/crash_soak.py [--runs N] [--kills K]
                                              [--seed S] [--rounds R] [--json FILE]
"""

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))
import test_crash  # noqa: E402


def main():
    if "--port-file" in sys.argv:  # this script doubles as the TCP_NODELAY mock
        test_crash.nodelay_mock(sys.argv[1:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--rounds", type=int, default=1, help="repeat with seeds seed, seed+1, ...")
    ap.add_argument("--json", help="also write the reports to this file")
    a = ap.parse_args()
    if a.runs < 1000:
        ap.error("--runs must be at least 1000 (the short version is make check's)")
    test_crash.use_nodelay_mock(__file__)
    reports, bad = [], 0
    for k in range(a.rounds):
        seed = None if a.seed is None else a.seed + k
        r = test_crash.soak(a.runs, a.kills, seed=seed, verbose=True, timeout_s=600.0)
        reports.append(r)
        print(test_crash.summary_line(r), flush=True)
        for i, target, extra in r["duplicate_pairs"]:
            print("  duplicate: run %d %s +%d" % (i, target, extra))
        if r["lost"]:
            print("  LOST: %s" % r["lost"][:50])
        bad += bool(r["lost"] or r["unexplained_duplicates"] or r["never_accepted"])
    tot = {k: sum(len(r[k]) if isinstance(r[k], list) else r[k] for r in reports)
           for k in ("runs", "kills", "expected_messages", "lost", "duplicates",
                     "unexplained_duplicates")}
    print("total: runs=%(runs)d kills=%(kills)d messages=%(expected_messages)d "
          "lost=%(lost)d duplicates=%(duplicates)d unexplained=%(unexplained_duplicates)d" % tot)
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump({"total": tot, "rounds": reports}, f, indent=1)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
