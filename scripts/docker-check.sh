#!/bin/sh
# End-to-end check of the container image (`make docker-check`): builds the
# image from docker/Dockerfile, runs it locked down (read-only root, no
# capabilities, non-root, secrets from the environment) against the mock
# Matillion API and mock Slack on the host's loopback, sends a FAILED-run
# webhook and checks that a Slack message arrives. Prints PASS/FAIL lines and
# a final "N passed, N failed"; exits 1 if anything failed.
#
# Needs root when it has to install docker.io/debootstrap or start dockerd.
# A dockerd started here is stopped again at exit; one already running is
# used and left alone. Environment: DOCKER (client, default /usr/bin/docker,
# Debian's docker.io: a newer client elsewhere on PATH may not speak this
# daemon's API), IMAGE (default dpc-notify:latest), KEEP=1 keeps the work
# directory with the logs.
set -u

cd "$(dirname "$0")/.." || exit 1
DOCKER=${DOCKER:-/usr/bin/docker}
IMAGE=${IMAGE:-dpc-notify:latest}
SCENARIO=tests/mock/scenarios/failed_with_children.json
BUILD_TIMEOUT=${BUILD_TIMEOUT:-1800}
WORK=$(mktemp -d /tmp/dpc-notify-docker-check.XXXXXX)
NAME="dpc-notify-check-$$"
VOLUME="dpc-notify-check-$$"
DOCKERD_PID=""
MOCK_PID=""
CONTAINER=""
VOLUME_MADE=""
passed=0
failed=0

pass() { passed=$((passed + 1)); echo "PASS $1"; }
# expect NAME WANT GOT: one PASS/FAIL line for an HTTP status.
expect() {
	if [ "$3" = "$2" ]; then pass "$1 -> $2"; else fail "$1" "HTTP $3, expected $2"; fi
}
fail() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
note() { echo "docker-check: $*"; }
dk() { "$DOCKER" "$@"; }

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	if [ -n "$CONTAINER" ]; then
		[ "$failed" -gt 0 ] && {
			note "last container log lines:"
			timeout 20 "$DOCKER" logs --tail 40 "$CONTAINER" 2>&1 | sed 's/^/  | /'
		}
		timeout 60 "$DOCKER" rm -f "$CONTAINER" >/dev/null 2>&1
	fi
	[ -n "$VOLUME_MADE" ] && timeout 60 "$DOCKER" volume rm -f "$VOLUME" >/dev/null 2>&1
	if [ -n "$MOCK_PID" ]; then
		kill "$MOCK_PID" 2>/dev/null
		wait "$MOCK_PID" 2>/dev/null
	fi
	if [ -n "$DOCKERD_PID" ]; then
		note "stopping the dockerd it started (pid $DOCKERD_PID)"
		kill "$DOCKERD_PID" 2>/dev/null
		i=0
		while kill -0 "$DOCKERD_PID" 2>/dev/null && [ "$i" -lt 30 ]; do sleep 1; i=$((i + 1)); done
		kill -0 "$DOCKERD_PID" 2>/dev/null && kill -9 "$DOCKERD_PID" 2>/dev/null
		wait "$DOCKERD_PID" 2>/dev/null
	fi
	if [ "$failed" -eq 0 ] && [ "${KEEP:-0}" != 1 ]; then
		rm -rf "$WORK"
	else
		note "logs kept in $WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}

# --- tools ---------------------------------------------------------------

need_pkgs() {
	missing=""
	[ -x "$DOCKER" ] || missing="$missing docker.io"
	command -v debootstrap >/dev/null 2>&1 || missing="$missing debootstrap"
	command -v curl >/dev/null 2>&1 || missing="$missing curl"
	command -v python3 >/dev/null 2>&1 || missing="$missing python3"
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		fail "tools" "missing:$missing (run as root or apt-get install$missing)"
		finish
	fi
	note "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# $missing is a word list on purpose.
	# shellcheck disable=SC2086
	if ! timeout 300 apt-get update -qq >"$WORK/apt.log" 2>&1 ||
		! timeout 900 apt-get install -y -qq $missing >>"$WORK/apt.log" 2>&1; then
		tail -n 20 "$WORK/apt.log"
		fail "tools" "apt-get install$missing failed"
		finish
	fi
}

# --- daemon --------------------------------------------------------------

daemon_up() { timeout 10 "$DOCKER" info >/dev/null 2>&1; }

# start_dockerd LOG FLAGS...: starts dockerd in the background and waits up
# to 60 s for it to answer; returns 1 (daemon stopped again) if it does not.
start_dockerd() {
	log=$1
	shift
	dockerd --host=unix:///var/run/docker.sock "$@" >"$log" 2>&1 &
	DOCKERD_PID=$!
	i=0
	while [ $i -lt 60 ]; do
		daemon_up && return 0
		kill -0 "$DOCKERD_PID" 2>/dev/null || break
		sleep 1
		i=$((i + 1))
	done
	kill "$DOCKERD_PID" 2>/dev/null
	wait "$DOCKERD_PID" 2>/dev/null
	DOCKERD_PID=""
	return 1
}

ensure_daemon() {
	if daemon_up; then
		note "using the running docker daemon"
		return 0
	fi
	if [ "$(id -u)" != 0 ]; then
		fail "docker daemon" "none is running and starting one needs root"
		finish
	fi
	note "starting dockerd (log $WORK/dockerd.log)"
	start_dockerd "$WORK/dockerd.log" && return 0
	# Sandboxes without iptables, bridges or overlayfs can still run
	# containers this way; the check only needs --network host.
	note "dockerd did not come up; retrying without iptables/bridge, vfs storage"
	start_dockerd "$WORK/dockerd-fallback.log" --iptables=false --ip6tables=false \
		--bridge=none --storage-driver=vfs && return 0
	echo "--- dockerd.log"; tail -n 15 "$WORK/dockerd.log"
	echo "--- dockerd-fallback.log"; tail -n 15 "$WORK/dockerd-fallback.log"
	fail "docker daemon" "dockerd would not start (logs above)"
	finish
}

# --- helpers -------------------------------------------------------------

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# http_code METHOD URL [curl args...]: prints the status code (000 on error).
http_code() {
	m=$1
	u=$2
	shift 2
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X "$m" "$@" "$u" 2>/dev/null || true
}

# wait_for SECONDS CMD...: retries CMD every 0.5 s until it succeeds.
wait_for() {
	n=$(($1 * 2))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.5
		n=$((n - 1))
	done
	return 1
}

# shellcheck disable=SC2317 # called through wait_for
health_is() { [ "$(dk inspect --format '{{.State.Health.Status}}' "$CONTAINER" 2>/dev/null)" = "$1" ]; }
# shellcheck disable=SC2317
running() { [ "$(dk inspect --format '{{.State.Running}}' "$CONTAINER" 2>/dev/null)" = true ]; }
# shellcheck disable=SC2317
healthy_or_dead() { health_is healthy || ! running; }

# mock_has KIND PATH: the mock recorded a 2xx Slack post naming the failed
# step (slack), or a steps call for the scenario's execution (steps).
mock_has() {
	curl -s --max-time 5 "http://127.0.0.1:$MOCK_PORT/$2" >"$WORK/mock-$1.json" 2>/dev/null || return 1
	python3 - "$1" "$WORK/mock-$1.json" "$EXEC_ID" "$FAILED_STEP" <<'EOF'
import json, sys
kind, path, exec_id, step = sys.argv[1:5]
items = json.load(open(path, encoding="utf-8"))
if kind == "slack":
    ok = [r for r in items if r.get("target") == "slack" and r.get("status", 500) < 300
          and step in json.dumps(r.get("body"), ensure_ascii=False)]
else:
    ok = [c for c in items if exec_id in c.get("path", "") and c.get("path", "").endswith("/steps")]
sys.exit(0 if ok else 1)
EOF
}

# --- the check -----------------------------------------------------------

need_pkgs
ensure_daemon
note "docker client $("$DOCKER" version --format '{{.Client.Version}}' 2>/dev/null), server $("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null)"

if DOCKER="$DOCKER" timeout 1200 sh scripts/docker-base.sh; then
	pass "base image dpc-notify-base:bookworm"
else
	fail "base image dpc-notify-base:bookworm"
	finish
fi

note "building $IMAGE (log $WORK/build.log)"
if DOCKER_BUILDKIT=1 timeout "$BUILD_TIMEOUT" "$DOCKER" build --progress=plain --network=host \
	-f docker/Dockerfile -t "$IMAGE" . >"$WORK/build.log" 2>&1; then
	pass "image builds (unit tests ran in the build stage)"
else
	tail -n 40 "$WORK/build.log"
	fail "image builds" "see $WORK/build.log"
	finish
fi
grep -E '^#[0-9]+ [0-9.]+ \[  (PASSED|FAILED)  \]' "$WORK/build.log" | sed 's/^#[0-9]* [0-9.]* /  unit: /'

size=$(dk image inspect --format '{{.Size}}' "$IMAGE")
mb=$(( (size + 524287) / 1048576 ))
if [ "$size" -lt $((40 * 1048576)) ]; then
	pass "image size ${mb} MB (< 40 MB)"
else
	fail "image size" "${mb} MB, over 40 MB"
fi

# The mock plays Matillion (OAuth + API) and Slack on the host's loopback.
EXEC_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["webhook"]["pipelineExecutionId"])' "$SCENARIO")
FAILED_STEP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["expect"]["failed_step"])' "$SCENARIO")
python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["webhook"], sys.stdout)' "$SCENARIO" >"$WORK/webhook.json"
python3 tests/mock/mock_server.py --scenario "$SCENARIO" --port-file "$WORK/mock.port" \
	>"$WORK/mock.log" 2>&1 &
MOCK_PID=$!
if ! wait_for 10 test -s "$WORK/mock.port"; then
	tail -n 20 "$WORK/mock.log"
	fail "mock server starts"
	finish
fi
MOCK_PORT=$(cat "$WORK/mock.port")
LISTEN_PORT=$(free_port)
sed -e "s/@LISTEN_PORT@/$LISTEN_PORT/g" -e "s/@MOCK_PORT@/$MOCK_PORT/g" docker/check.ini >"$WORK/dpc-notify.ini"
chmod 0644 "$WORK/dpc-notify.ini"

# Secrets travel as environment variables only (-e NAME takes the value from
# this script's environment, so it shows on no command line).
DPC_NOTIFY_AUTH_TOKEN="docker-check-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
DPC_NOTIFY_CLIENT_ID=test-client
DPC_NOTIFY_CLIENT_SECRET=test-secret
DPC_NOTIFY_SLACK_URL="http://127.0.0.1:$MOCK_PORT/slack/T0AAA/B0BBB/docker-check"
export DPC_NOTIFY_AUTH_TOKEN DPC_NOTIFY_CLIENT_ID DPC_NOTIFY_CLIENT_SECRET DPC_NOTIFY_SLACK_URL

dk volume create "$VOLUME" >/dev/null && VOLUME_MADE=1
if ! CONTAINER=$(timeout 60 "$DOCKER" run -d --name "$NAME" \
	--read-only --cap-drop ALL --security-opt no-new-privileges --network host \
	--pids-limit 256 --memory 256m \
	-v "$VOLUME:/var/lib/dpc-notify" \
	-v "$WORK/dpc-notify.ini:/etc/dpc-notify/dpc-notify.ini:ro" \
	-e DPC_NOTIFY_AUTH_TOKEN -e DPC_NOTIFY_CLIENT_ID -e DPC_NOTIFY_CLIENT_SECRET -e DPC_NOTIFY_SLACK_URL \
	--health-interval 1s --health-timeout 3s --health-retries 3 --health-start-period 10s \
	"$IMAGE" 2>"$WORK/run.err"); then
	cat "$WORK/run.err"
	CONTAINER=""
	fail "container starts"
	finish
fi

wait_for 40 healthy_or_dead
if health_is healthy; then
	pass "container becomes healthy (HEALTHCHECK: dpc-notify healthcheck)"
else
	fail "container becomes healthy" "state $(dk inspect --format '{{.State.Status}} health={{.State.Health.Status}} exit={{.State.ExitCode}}' "$CONTAINER")"
	finish
fi

user=$(dk inspect --format '{{.Config.User}}' "$CONTAINER")
pid=$(dk inspect --format '{{.State.Pid}}' "$CONTAINER")
uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status" 2>/dev/null)
caps=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
nnp=$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
if [ "$user" = "10001:10001" ] && [ "$uids" = "10001 10001 10001 10001" ]; then
	pass "runs as uid 10001 (image USER $user, host /proc/$pid/status Uid $uids)"
else
	fail "runs as non-root" "USER '$user', Uid '$uids'"
fi
if [ "$caps" = "0000000000000000" ] && [ "$nnp" = 1 ]; then
	pass "no capabilities (CapEff $caps), no_new_privs"
else
	fail "no capabilities" "CapEff '$caps' NoNewPrivs '$nnp'"
fi
if [ "$(dk inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$CONTAINER")" = true ]; then
	pass "read-only root filesystem"
else
	fail "read-only root filesystem"
fi

base="http://127.0.0.1:$LISTEN_PORT"
code=$(http_code GET "$base/readyz")
expect "GET /readyz" 200 "$code"
code=$(http_code POST "$base/webhook" -H 'Content-Type: application/json' --data-binary @"$WORK/webhook.json")
expect "webhook without token" 401 "$code"
code=$(http_code POST "$base/webhook" -H 'Content-Type: application/json' \
	-H "Authorization: Bearer $DPC_NOTIFY_AUTH_TOKEN" --data-binary @"$WORK/webhook.json")
expect "FAILED-run webhook" 202 "$code"

if wait_for 30 mock_has slack _recorded; then
	pass "Slack message naming step \"$FAILED_STEP\" delivered to the mock"
else
	fail "Slack message delivered to the mock" "no 2xx post naming \"$FAILED_STEP\" after 30 s"
fi
if mock_has steps _calls; then
	pass "Matillion steps API called for execution $EXEC_ID"
else
	fail "Matillion steps API called"
fi

mnt=$(dk volume inspect --format '{{.Mountpoint}}' "$VOLUME")
owner=$(stat -c '%u' "$mnt/dpc-notify.db" 2>/dev/null)
if [ "$owner" = 10001 ]; then
	pass "store dpc-notify.db on the volume, owned by 10001"
else
	fail "store on the volume" "dpc-notify.db owner '${owner:-missing}'"
fi

# SIGTERM drains and exits 0 well within docker's grace period.
timeout 60 "$DOCKER" stop -t 25 "$CONTAINER" >/dev/null 2>&1
ec=$(dk inspect --format '{{.State.ExitCode}}' "$CONTAINER")
if [ "$ec" = 0 ]; then
	pass "docker stop (SIGTERM) -> exit 0"
else
	fail "docker stop (SIGTERM)" "exit code $ec"
fi

finish
