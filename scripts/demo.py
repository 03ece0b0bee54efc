"""make demo: start the bundled mock Matillion API and mock chat sink, run
dpc-notify against them, send one failed-run webhook, and print the run as
text, then the Slack and Teams messages it posted (JSON). Everything runs on 127.0.0.1 and is stopped
by PID before exit."""

import json
import os
import shutil
import sys

sys.dont_write_bytecode = True
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import harness  # noqa: E402
from harness import (Mock, Service, run_cli, scenario, tmpdir, wait_until,  # noqa: E402
                     write_config)


def harness_dirs():
    return list(harness._dirs)


def main():
    work = tmpdir()
    sc = scenario("failed_with_children")
    hook = sc["webhook"]
    with Mock("failed_with_children", tmpdir=work) as mock:
        project = {"project " + hook["projectId"]: {
            "name": "Finance DWH", "destinations": "slack-main, teams-main",
            "notify_on": "FAILED, CANCELLED", "environments": "prod*"}}
        cfg = write_config(work, mock.port, sections=dict(project, server={"log_level": "info"}))
        print("== config (%s)" % cfg.path)
        with Service(cfg) as svc:
            print("== dpc-notify listening on 127.0.0.1:%d, mock API and chat sink on 127.0.0.1:%d"
                  % (svc.port, mock.port))
            print("== POST /webhook " + json.dumps(hook))
            st, _, body = svc.post_webhook(hook)
            print("<- HTTP %d %s" % (st, json.dumps(body)))
            if st != 202:
                return 1
            posts = wait_until(lambda: (lambda p: p if len(p) >= 2 else None)(mock.recorded()),
                               20, 0.1, "one Slack and one Teams post")
            # The same run as text first: the JSON bodies below are long.
            rc, out, err = run_cli(["-c", cfg.path, "preview", hook["projectId"],
                                    hook["pipelineExecutionId"], "--format", "text"], timeout=60)
            print("\n== text rendering (dpc-notify preview --format text)")
            sys.stdout.write(out if rc == 0 else err)
            for line in err.splitlines():
                if line.startswith("preview: route"):
                    print(line)
            for p in posts:
                print("\n== %s message received by the mock (%s webhook, HTTP %d)"
                      % (p["target"].capitalize(), p["target"], p["status"]))
                print(json.dumps(p["body"], indent=2, ensure_ascii=False))
            st, _, text = svc.get("/metrics")
            print("\n== /metrics (excerpt)")
            for line in text.decode().splitlines():
                if line.startswith(("dpc_notify_webhooks_total", "dpc_notify_deliveries_total")):
                    print(line)
        print("\n== service log")
        with open(os.path.join(work, "service.log"), encoding="utf-8") as f:
            sys.stdout.write(f.read())
    return 0


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        if not os.environ.get("DPC_KEEP_TMP"):
            for d in harness_dirs():
                shutil.rmtree(d, ignore_errors=True)
    sys.exit(rc)
