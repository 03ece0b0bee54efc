#!/bin/sh
# Regenerates the README screenshots docs/images/teams-card.png and
# docs/images/slack-message.png: builds dpc-notify, runs `dpc-notify preview`
# against our mock (scenario failed_with_children) for Teams and Slack, then
# renders both bodies in Debian's headless Chromium (tests/render/
# screenshots.js). Needs node/npm and /usr/bin/chromium; as root it installs
# chromium and the emoji font with apt-get when they are missing. No browser
# is ever downloaded by npm.
set -eu

cd "$(dirname "$0")/.."
REPO=$(pwd)
BUILD=${BUILD:-build}
OUT=${OUT:-docs/images}
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

if [ ! -x /usr/bin/chromium ] || [ ! -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "screenshots: install chromium and fonts-noto-color-emoji (apt-get) first" >&2
		exit 1
	fi
	apt-get install -y -q chromium fonts-noto-color-emoji >/dev/null
fi

make -s
if [ ! -d tests/render/node_modules/adaptivecards ] || [ ! -d tests/render/node_modules/playwright-core ]; then
	npm ci --prefix tests/render --no-audit --no-fund
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# The harness starts the mock on a free loopback port, writes a config for
# it and stops the mock by its PID when done.
BUILD=$BUILD python3 - "$tmp" <<'EOF'
import os, sys
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "integration"))
from harness import Mock, run_cli, scenario, write_config

out = sys.argv[1]
sc = scenario("failed_with_children")
with Mock("failed_with_children", tmpdir=out) as m:
    project = {"project " + sc["webhook"]["projectId"]: {
        "name": "Finance DWH", "destinations": "slack-main, teams-main"}}
    cfg = write_config(out, m.port, sections=project)
    for fmt in ("teams", "slack"):
        rc, body, err = run_cli(["-c", cfg.path, "preview", sc["webhook"]["projectId"],
                                 sc["webhook"]["pipelineExecutionId"], "--format", fmt],
                                timeout=60)
        if rc != 0:
            sys.exit("preview --format %s failed (%d): %s" % (fmt, rc, err[-2000:]))
        with open(os.path.join(out, fmt + ".json"), "w", encoding="utf-8") as f:
            f.write(body)
EOF

node tests/render/validate-card.js "$tmp/teams.json"
mkdir -p "$OUT"
node tests/render/screenshots.js --teams "$tmp/teams.json" --slack "$tmp/slack.json" --out "$REPO/$OUT"
