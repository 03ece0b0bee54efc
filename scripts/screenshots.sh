#!/bin/sh
# Renders every golden chat payload (tests/golden/<target>-<scenario>.json,
# the exact bodies the Slack and Teams renderers produce) to
# docs/images/messages/<target>-<scenario>-<theme>-<width>.png: Teams cards
# with Microsoft's adaptivecards library in the light and dark Teams host
# configs, Slack with our HTML approximation (light), each 390 and 720 px
# wide; a card with an Action.ShowCard also gets ...-expanded.png with the
# first one opened. The README's docs/images/teams-card.png and slack-message.png are the
# light 720 px images of the child-deep scenario (failed when there is none).
# Every Teams golden is first checked with validate-card.js (a problem stops
# the run) and contrast.js (its findings are printed; `make check` is where
# they fail).
#
# Needs node/npm and Debian's /usr/bin/chromium; as root it installs chromium
# and the emoji font with apt-get when they are missing. No browser is ever
# downloaded by npm, and nothing is fetched from the network while rendering.
# Environment: OUT (default docs/images/messages), README_OUT (docs/images),
# SLACK_THEMES (light; "light,dark" adds our guess at Slack's dark theme).
set -eu

cd "$(dirname "$0")/.."
OUT=${OUT:-docs/images/messages}
README_OUT=${README_OUT:-docs/images}
SLACK_THEMES=${SLACK_THEMES:-light}
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

if [ ! -x /usr/bin/chromium ] || [ ! -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "screenshots: install chromium and fonts-noto-color-emoji (apt-get) first" >&2
		exit 1
	fi
	apt-get install -y -q chromium fonts-noto-color-emoji >/dev/null
fi

if [ ! -d tests/render/node_modules/adaptivecards ] || [ ! -d tests/render/node_modules/playwright-core ]; then
	npm ci --prefix tests/render --no-audit --no-fund
fi

for f in tests/golden/teams-*.json; do
	[ -f "$f" ] || continue
	printf '%s: ' "$f"
	node tests/render/validate-card.js "$f"
done
node tests/render/contrast.js || echo "screenshots: some text is below 4.5:1 (above); rendering anyway" >&2

mkdir -p "$OUT"
# Images of scenarios that no longer exist must not linger.
rm -f "$OUT"/slack-*.png "$OUT"/teams-*.png
node tests/render/screenshots.js --golden tests/golden --out "$OUT" --readme "$README_OUT" \
	--readme-scenario child-deep,failed --slack-themes "$SLACK_THEMES"

# A Slack app's incident thread (the slack-app goldens) for the README.
node tests/render/slack-thread.js --golden tests/golden --out "$README_OUT"

# The repository keeps only the pictures docs/messages.md shows (both widths,
# both Teams themes among them); KEEP_ALL=1 keeps every rendering for review.
if [ "${KEEP_ALL:-0}" != 1 ] && [ "$OUT" = docs/images/messages ]; then
	for png in "$OUT"/*.png; do
		grep -q "images/messages/$(basename "$png")" docs/messages.md || rm -f "$png"
	done
	echo "screenshots: kept $(ls "$OUT" | wc -l) images referenced by docs/messages.md (KEEP_ALL=1 keeps all)"
fi
