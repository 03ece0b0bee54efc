"""Runs of one pipeline for the incident cases of test_googlechat.py and
test_pagerduty.py: the failed_with_children scenario plus one run of its
root pipeline per letter (F failed, S succeeded). Not a test file itself,
so its helpers can be shared without sharing cases."""

import copy
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import scenario  # noqa: E402

FWC = scenario("failed_with_children")
PROJECT = FWC["webhook"]["projectId"]
ROOT = FWC["webhook"]["pipelineExecutionId"]


def run_id(i):
    return ROOT[:-2] + "%02d" % (40 + i)


def series(kinds):
    """The failed_with_children scenario plus one run of its root pipeline
    per letter of kinds (F failed, S succeeded, one step), an hour apart;
    returns the scenario and the webhooks, in that order."""
    sc = copy.deepcopy(FWC)
    root = next(e for e in sc["executions"] if e["id"] == ROOT)
    hooks = []
    for i, k in enumerate(kinds):
        e = copy.deepcopy(root)
        e["id"] = run_id(i)
        ex = e["execution"]
        ex.update(pipelineExecutionId=e["id"], startedAt="2024-05-01T%02d:00:00.000Z" % (2 + i),
                  finishedAt="2024-05-01T%02d:10:00.000Z" % (2 + i))
        if k == "S":
            ex.update(status="SUCCESS", message="")
            e["steps"] = [{"id": "b0000000-0000-4000-8000-0000000000%02d" % i, "name": "Start",
                           "result": {"status": "SUCCESS"}}]
        sc["executions"].append(e)
        hooks.append(dict(FWC["webhook"], pipelineExecutionId=e["id"], status=ex["status"]))
    return sc, hooks
