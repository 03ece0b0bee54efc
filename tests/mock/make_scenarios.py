#!/usr/bin/env python3
"""Writes the mock's scenario files (tests/mock/scenarios/*.json). The JSON
files are committed; rerun this after changing a scenario here so the two
never drift. Ids are fixed so tests and docs can name them."""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = "3f1c9a52-7d4e-4b8a-9c61-0e2f5a7b8c90"


def t(minute, second=0):
    return "2024-05-01T02:%02d:%02d.000Z" % (minute, second)


def step(sid, name, status, message="", start=None, end=None, child=None):
    res = {"status": status}
    if message:
        res["message"] = message
    if start is not None:
        res["startedAt"] = start
    if end is not None:
        res["finishedAt"] = end
    s = {"id": sid, "name": name, "result": res}
    if child:
        s["childPipeline"] = {"id": child[0], "name": child[1]}
    return s


def webhook(exec_id, name, status, env="prod"):
    return {"projectId": PROJECT, "pipelineExecutionId": exec_id, "pipelineName": name,
            "environmentName": env, "status": status}


def execution(exec_id, name, status, env="prod", message="", with_project=True):
    e = {"pipelineExecutionId": exec_id, "pipelineName": name, "pipelineType": "ORCHESTRATION",
         "environmentName": env, "status": status, "trigger": "SCHEDULE",
         "scheduleId": "5d0c7e21-9f3a-4b6e-8d12-6a7b8c9d0e1f",
         "startedAt": t(0), "finishedAt": t(14, 7)}
    if message:
        e["message"] = message
    if with_project:
        e["projectId"] = PROJECT
    return e


SQL_ERROR = ("SQL compilation error: Object 'DWH.STAGING.ORDERS_RAW' does not exist "
             "or not authorized.")


def failed_with_children():
    root = "9b2f6c1e-3a4d-4e5f-8a7b-1c2d3e4f5a60"
    bad = "c4d5e6f7-1a2b-4c3d-9e8f-0a1b2c3d4e51"
    good = "c4d5e6f7-1a2b-4c3d-9e8f-0a1b2c3d4e52"
    # 100 steps (2 literal, 98 generated), then the children, then 18 more, so
    # the failing child is only found on page 2 at size=100.
    head = [step("a0000000-0000-4000-8000-000000000001", "Start", "SUCCESS", "",
                 t(0), t(0, 1)),
            step("a0000000-0000-4000-8000-000000000002", "Check source freshness",
                 "SUCCESS", "Query returned 1 row", t(0, 1), t(0, 9))]
    gen1 = {"generate": {"success": 98, "name": "Refresh dimension {i}",
                         "success_message": "\"Rewrite Table\": Success"}}
    children = [
        step("a0000000-0000-4000-8000-000000000101", "Run stage_customers", "SUCCESS",
             "Child pipeline completed", t(3), t(6), (good, "Finance/stage_customers.orch.yaml")),
        step("a0000000-0000-4000-8000-000000000102", "Run stage_orders", "FAILED",
             "Child pipeline Finance/stage_orders.orch.yaml failed", t(6), t(11),
             (bad, "Finance/stage_orders.orch.yaml")),
    ]
    gen2 = {"generate": {"success": 17, "name": "Publish mart {i}",
                         "success_message": "\"Rewrite Table\": Success"}}
    tail = [step("a0000000-0000-4000-8000-000000000199", "End Failure", "SUCCESS",
                 "Pipeline marked as failed", t(14), t(14, 7))]
    bad_steps = [
        step("b0000000-0000-4000-8000-000000000001", "Start", "SUCCESS", "", t(6), t(6, 1)),
        step("b0000000-0000-4000-8000-000000000002", "Create staging table", "SUCCESS",
             "\"Create Table\": Success", t(6, 1), t(6, 30)),
        # Matillion sometimes leaves timestamps off a finished step.
        step("b0000000-0000-4000-8000-000000000003", "Load orders raw", "FAILED", SQL_ERROR),
        step("b0000000-0000-4000-8000-000000000004", "Merge orders", "SKIPPED",
             "Not run: an earlier step failed"),
    ]
    good_steps = [step("c0000000-0000-4000-8000-00000000000%d" % i, n, "SUCCESS",
                       "\"Rewrite Table\": Success", t(3, i), t(3, i + 5))
                  for i, n in enumerate(["Start", "Extract customers", "Load customers",
                                         "Dedupe customers", "End Success"], 1)]
    return {
        "description": "Failed Finance/load_dwh (prod) with 120 steps over two pages "
                       "of 100; child stage_orders failed with a SQL error (its failed "
                       "step has no timestamps); child stage_customers succeeded.",
        "wrap_execution": True,
        "executions": [
            {"projectId": PROJECT, "id": root, "steps": head + [gen1] + children + [gen2] + tail,
             "execution": execution(root, "Finance/load_dwh.orch.yaml", "FAILED",
                                    message="Pipeline failed", with_project=False)},
            {"projectId": PROJECT, "id": bad, "steps": bad_steps,
             "execution": execution(bad, "Finance/stage_orders.orch.yaml", "FAILED",
                                    with_project=False)},
            {"projectId": PROJECT, "id": good, "steps": good_steps,
             "execution": execution(good, "Finance/stage_customers.orch.yaml", "SUCCESS",
                                    with_project=False)},
        ],
        "expect": {"display_name": "load_dwh", "failed_step": "Load orders raw",
                   "failed_path": "stage_orders \u203a Load orders raw",
                   "error": SQL_ERROR, "child_failed": bad, "child_ok": good},
        "webhook": webhook(root, "Finance/load_dwh.orch.yaml", "FAILED"),
    }


def simple(exec_id, name, status, steps, wrap=False, **extra):
    d = {"wrap_execution": wrap,
         "executions": [{"projectId": PROJECT, "id": exec_id, "steps": steps,
                         "execution": execution(exec_id, name, status)}],
         "webhook": webhook(exec_id, name, status.title() if status != "FAILED" else status)}
    d.update(extra)
    return d


def success():
    e = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c01"
    steps = [step("d0000000-0000-4000-8000-00000000000%d" % i, n, "SUCCESS", "Success",
                  t(1, i), t(1, i + 2))
             for i, n in enumerate(["Start", "Extract", "Transform", "Load", "End Success"], 1)]
    return simple(e, "Sales/daily_refresh.orch.yaml", "SUCCESS", steps,
                  description="A successful run: nothing to notify with notify_on=FAILED.")


def cancelled():
    e = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c02"
    steps = [step("e0000000-0000-4000-8000-000000000001", "Start", "SUCCESS", "", t(1), t(1, 1)),
             step("e0000000-0000-4000-8000-000000000002", "Long extract", "CANCELLED",
                  "Cancelled by user jane.doe@example.com", t(1, 1), t(9))]
    return simple(e, "Sales/backfill.orch.yaml", "CANCELLED", steps,
                  description="A run cancelled by a user; webhook says 'Cancelled'.")


def hostile():
    e = "6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d01"
    child = "6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d02"
    bad = ["<!channel> ping everyone", "<@U123> look", "<https://evil.example/|click here>",
           "<at>CEO</at> approve", "[x](javascript:alert(1))", "<!here> & <#C999>"]
    steps = [step("f0000000-0000-4000-8000-00000000000%d" % i, "<@U123> step %d" % i, "FAILED",
                  msg, t(2, i), t(2, i + 1)) for i, msg in enumerate(bad, 1)]
    steps.append(step("f0000000-0000-4000-8000-000000000010", "Run <!channel> child", "FAILED",
                      "<https://evil.example|click>", t(3), t(4), (child, "<!channel>.orch.yaml")))
    child_steps = [step("f1000000-0000-4000-8000-000000000001", "<at>CEO</at>", "FAILED",
                        "**bold** <at>CEO</at> [x](javascript:alert(1)) <!everyone>", t(3), t(4))]
    d = {"description": "Untrusted text everywhere: mentions, links, markup injection.",
         "executions": [
             {"projectId": PROJECT, "id": e, "steps": steps,
              "execution": execution(e, "<!channel> *pwn*", "FAILED",
                                     message="<@U123> <https://evil|click>")},
             {"projectId": PROJECT, "id": child, "steps": child_steps,
              "execution": execution(child, "<!channel>.orch.yaml", "FAILED")}],
         "webhook": webhook(e, "<!channel> *pwn*", "FAILED"),
         "forbidden_slack": ["<!channel>", "<@U123>", "<https://evil", "<!here>", "<!everyone>"],
         "forbidden_teams": ["<at>CEO</at>"]}
    return d


def deep_children():
    # root -> d1 -> ... -> d8 (depth 8) and root -> y1 -> y2 -> y1 (cycle).
    ids = ["7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e%02d" % i for i in range(0, 9)]
    cyc = ["7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9f%02d" % i for i in (1, 2)]
    ex = []
    for lvl, eid in enumerate(ids):
        steps = [step("%08d-0000-4000-8000-0000000000%02d" % (lvl, 1), "Start", "SUCCESS", "",
                      t(lvl), t(lvl, 1))]
        if lvl + 1 < len(ids):
            steps.append(step("%08d-0000-4000-8000-0000000000%02d" % (lvl, 2),
                              "Run level %d" % (lvl + 1), "FAILED", "Child pipeline failed",
                              t(lvl, 1), t(lvl, 50),
                              (ids[lvl + 1], "Deep/level_%d.orch.yaml" % (lvl + 1))))
        else:
            steps.append(step("%08d-0000-4000-8000-0000000000%02d" % (lvl, 2), "Fail at bottom",
                              "FAILED", "Deep failure at level 8", t(lvl, 1), t(lvl, 2)))
        if lvl == 0:
            steps.append(step("00000000-0000-4000-8000-000000000003", "Run loop a", "FAILED",
                              "Child pipeline failed", t(0, 2), t(0, 3),
                              (cyc[0], "Deep/loop_a.orch.yaml")))
        name = "Deep/root.orch.yaml" if lvl == 0 else "Deep/level_%d.orch.yaml" % lvl
        ex.append({"projectId": PROJECT, "id": eid, "steps": steps,
                   "execution": execution(eid, name, "FAILED")})
    for i, eid in enumerate(cyc):
        other = cyc[1 - i]
        ex.append({"projectId": PROJECT, "id": eid, "execution": execution(
            eid, "Deep/loop_%s.orch.yaml" % "ab"[i], "FAILED"), "steps": [
            step("99999999-0000-4000-8000-0000000000%02d" % i, "Run loop %s" % "ba"[i], "FAILED",
                 "Child pipeline failed", t(1), t(2),
                 (other, "Deep/loop_%s.orch.yaml" % "ba"[i]))]})
    return {"description": "A chain of failing children 8 deep plus a two-node cycle.",
            "executions": ex, "webhook": webhook(ids[0], "Deep/root.orch.yaml", "FAILED"),
            "chain": ids, "cycle": cyc}


def large():
    e = "8d9e0f1a-2b3c-4d5e-8f6a-7b8c9d0e1f01"
    gen = {"generate": {"success": 10000, "failed": 3, "name": "Load partition {i}",
                        "message": "Partition {i}: Numeric value 'n/a' is not recognized"}}
    return {"description": "10,003 steps: 10,000 successes then 3 failures (101 pages).",
            "executions": [{"projectId": PROJECT, "id": e, "steps": [gen],
                            "execution": execution(e, "Bulk/load_partitions.orch.yaml",
                                                   "FAILED")}],
            "webhook": webhook(e, "Bulk/load_partitions.orch.yaml", "FAILED")}


def contract():
    e = "0e1f2a3b-4c5d-4e6f-8a7b-8c9d0e1f2a01"
    return {"description": "Only the execution is served here; steps come from Prism "
                           "(--steps-upstream) so the spec judges our requests.",
            "executions": [{"projectId": PROJECT, "id": e, "steps": [],
                            "execution": execution(e, "Contract/run.orch.yaml", "FAILED")}],
            "webhook": webhook(e, "Contract/run.orch.yaml", "FAILED")}


def main():
    out = os.path.join(HERE, "scenarios")
    os.makedirs(out, exist_ok=True)
    for name, fn in [("failed_with_children", failed_with_children), ("success", success),
                     ("cancelled", cancelled), ("hostile", hostile),
                     ("deep_children", deep_children), ("large", large),
                     ("contract", contract)]:
        with open(os.path.join(out, name + ".json"), "w", encoding="utf-8") as f:
            json.dump(fn(), f, indent=1, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main()
