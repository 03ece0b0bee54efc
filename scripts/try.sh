#!/bin/sh
# make try: dpc-notify on this machine against the bundled mock Matillion
# API and mock chat sink (tests/mock/mock_server.py), with a ready config in
# a work directory, and the commands to send a webhook, preview a run and
# send a test message printed for copy and paste. Everything listens on
# 127.0.0.1. It stays in the foreground until Ctrl-C; not on a terminal (or
# with TRY_SECONDS set) it stops by itself after TRY_SECONDS (default 600).
# Both processes are stopped by PID when it ends.
#
# Environment: BUILD (build), TRY_DIR (a new temporary directory),
# TRY_SECONDS, TRY_SCENARIO (failed_with_children; see tests/mock/scenarios).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$BUILD/dpc-notify
SCENARIO=${TRY_SCENARIO:-failed_with_children}
[ -x "$BIN" ] || { echo "try: $BIN is not built; run make first" >&2; exit 1; }
command -v python3 >/dev/null || { echo "try: python3 is needed for the mock" >&2; exit 1; }
WORK=${TRY_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/dpc-notify-try.XXXXXX")}
mkdir -p "$WORK"
chmod 700 "$WORK"

mock_pid=
svc_pid=
sleep_pid=
stop() {
	for p in $svc_pid $mock_pid $sleep_pid; do
		kill "$p" 2>/dev/null || :
	done
	for p in $svc_pid $mock_pid; do
		wait "$p" 2>/dev/null || :
	done
	mock_pid=
	svc_pid=
}
trap 'stop' EXIT
trap 'stop; exit 0' INT TERM HUP

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The mock writes its port to a file once it listens.
rm -f "$WORK/mock.port"
python3 tests/mock/mock_server.py --port-file "$WORK/mock.port" \
	--scenario "tests/mock/scenarios/$SCENARIO.json" >"$WORK/mock.log" 2>&1 &
mock_pid=$!
i=0
while [ ! -s "$WORK/mock.port" ]; do
	i=$((i + 1))
	[ $i -le 100 ] || { echo "try: the mock did not start; see $WORK/mock.log" >&2; exit 1; }
	sleep 0.1
done
MOCK=$(cat "$WORK/mock.port")
PORT=$(free_port)
TOKEN=try-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
M=http://127.0.0.1:$MOCK

# The sample webhook of the scenario, as Matillion would send it.
python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))["webhook"]))' \
	"tests/mock/scenarios/$SCENARIO.json" >"$WORK/webhook.json"
read_hook() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
		"$WORK/webhook.json" "$1"
}
PROJECT=$(read_hook projectId)
EXECUTION=$(read_hook pipelineExecutionId)

umask 077
cat >"$WORK/dpc-notify.ini" <<EOF
; Written by scripts/try.sh for the bundled mocks. To try your own Slack or
; Teams and Matillion, see "Try it against your own Slack/Teams and
; Matillion" in README.md.
[server]
listen = 127.0.0.1:$PORT
auth_token = $TOKEN
store = $WORK/dpc-notify.db
log_level = info

[matillion]
; Real Matillion: delete api_base and token_url, set region = eu1 or us1.
api_base = $M/dpc
token_url = $M/oauth/dpc/token
client_id = test-client
client_secret = test-secret

[delivery]
; The mocks speak plain http; real Slack and Teams URLs are https.
allow_http = true

[destination slack-try]
type = slack
; A real one looks like https://hooks.slack.com/services/T.../B.../...
url = $M/slack/T0TRY/B0TRY/try-hook
; The mock is not hooks.slack.com; a real Slack URL needs no such line.
allow_any_host = true

[destination teams-try]
type = teams
url = $M/teams/workflows/try-flow

[project $PROJECT]
name = Try project
destinations = slack-try, teams-try
notify_on = FAILED, CANCELLED
EOF

"$BIN" -c "$WORK/dpc-notify.ini" serve >"$WORK/service.log" 2>&1 &
svc_pid=$!
i=0
until curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$svc_pid" 2>/dev/null; then
		echo "try: dpc-notify did not start; see $WORK/service.log" >&2
		exit 1
	fi
	sleep 0.1
done

CFG="$BIN -c $WORK/dpc-notify.ini"
cat <<EOF
== dpc-notify on 127.0.0.1:$PORT; mock Matillion API and chat sink on 127.0.0.1:$MOCK
== work directory: $WORK (config dpc-notify.ini, logs service.log and mock.log)

Send the failed run's webhook, as Matillion would:
  curl -sS -X POST -H 'Authorization: Bearer $TOKEN' -H 'Content-Type: application/json' --data @$WORK/webhook.json http://127.0.0.1:$PORT/webhook

See what the chat sink received (Slack and Teams bodies):
  curl -sS $M/_recorded

Preview the same run without posting (--format slack|teams|text):
  $CFG preview $PROJECT $EXECUTION

Post a marked test message to one destination:
  $CFG send-test slack-try

Jobs, metrics and the log:
  $CFG jobs
  curl -sS http://127.0.0.1:$PORT/metrics
  tail -f $WORK/service.log

stop: Ctrl-C, or kill $svc_pid $mock_pid (dpc-notify, mock)
EOF
if [ -t 0 ] && [ -z "${TRY_SECONDS:-}" ]; then
	echo "== ready; Ctrl-C stops both"
	wait "$svc_pid" || :
else
	secs=${TRY_SECONDS:-600}
	echo "== ready; stopping both in ${secs}s (TRY_SECONDS)"
	# A sleep in the background keeps the shell free to take a signal.
	sleep "$secs" &
	sleep_pid=$!
	wait "$sleep_pid" || :
fi
