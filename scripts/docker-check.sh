#!/bin/sh
# End-to-end check of the container image (`make docker-check`): builds the
# image from docker/Dockerfile, runs it locked down (read-only root, no
# capabilities, non-root, secrets from the environment) against the mock
# Matillion API and mock Slack on the host's loopback, sends a FAILED-run
# webhook and checks that a Slack message arrives. Prints PASS/FAIL lines and
# a final "N passed, N failed"; exits 1 if anything failed.
#
# It also covers the traps of issue 14: the build context (what
# docker/Dockerfile.dockerignore admits) stays under 5 MB and keeps
# node_modules, build trees and .git out; a loopback listen address in a
# container is warned about, the shipped container config is not; the
# example env file's placeholder secrets are refused; a SIGHUP after `sed -i`
# on a single-file bind mount says the file did not change; Compose,
# Kubernetes and .gitignore keep secrets out of the repository; the image
# label carries the VERSION file's version; the Helm chart lints
# (scripts/docker-helm.sh, skipped with a reason when helm is unavailable).
# CONTEXT_ONLY=1 runs just the build-context checks (no docker, no root);
# CONTEXT_ROOT names another tree to measure with this tree's ignore file.
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
EXTRA=""
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
	[ -n "$EXTRA" ] && timeout 60 "$DOCKER" rm -f "$EXTRA" >/dev/null 2>&1
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

# --- build context -------------------------------------------------------

# context_check ROOT IGNOREFILE: measures the files docker would send for
# `docker build -f docker/Dockerfile ROOT` with IGNOREFILE as its
# .dockerignore (moby's rules: patterns in order, the last match wins, `!`
# admits again, a match on a directory covers everything under it,
# symlinks are sent as links), asserts the total is under 5 MB, and that
# bulk known to creep in is out while what the build needs is in.
context_check() {
	python3 - "$1" "$2" <<'EOF2'
import os, re, sys
root, ignore = sys.argv[1:3]
pats = []
for line in open(ignore, encoding="utf-8"):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    neg = line.startswith("!")
    p = os.path.normpath(line[1:] if neg else line).lstrip("/")
    rx, i = "", 0
    while i < len(p):
        if p.startswith("**/", i):
            rx, i = rx + "(.*/)?", i + 3
        elif p.startswith("**", i):
            rx, i = rx + ".*", i + 2
        elif p[i] == "*":
            rx, i = rx + "[^/]*", i + 1
        elif p[i] == "?":
            rx, i = rx + "[^/]", i + 1
        else:
            rx, i = rx + re.escape(p[i]), i + 1
    pats.append((re.compile(rx + r"\Z"), neg))

def excluded(rel):
    parts = rel.split("/")
    out = False
    for rx, neg in pats:
        if any(rx.match("/".join(parts[:k])) for k in range(len(parts), 0, -1)):
            out = not neg
    return out

total = files = 0
for d, dirs, names in os.walk(root):
    for n in names + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
        full = os.path.join(d, n)
        rel = os.path.relpath(full, root)
        if not excluded(rel):
            total += os.lstat(full).st_size
            files += 1
ok = True
mb = total / 1048576
print("%s %.2f MB in %d files" % ("PASS" if total < 5 * 1048576 else "FAIL", mb, files))
out = ["tests/render/node_modules/x/index.js", "tests/contract/node_modules/a/b.js",
       "node_modules/a.js", "build/dpc-notify", "build-address-undefined/obj/x.o",
       ".git/HEAD", "dpc-notify.db", "tests/integration/harness.py", "bench/results/x.json",
       "dist/dpc-notify-0.1.0.tar.gz", "docker/dpc-notify.env", "tests/fuzz/corpus/x"]
inn = ["Makefile", "VERSION", "src/serve.c", "include/config.h", "tests/unit/test_config.c",
       "tests/unit/data/config/minimal.ini", "tests/golden/slack-x.json",
       "etc/dpc-notify.ini.example", "docker/config/dpc-notify.ini", "scripts/install-deps.sh"]
bad = [p for p in out if not excluded(p)] + ["(missing) " + p for p in inn if excluded(p)]
print("%s ignore rules: %s" % ("FAIL" if bad else "PASS", ", ".join(bad) or "bulk out, build inputs in"))
EOF2
}

run_context_checks() {
	ctx_root=${CONTEXT_ROOT:-.}
	context_check "$ctx_root" docker/Dockerfile.dockerignore >"$WORK/context.out" 2>&1
	while read -r verdict rest; do
		case $verdict in
		PASS) pass "build context: $rest" ;;
		*) fail "build context" "$rest" ;;
		esac
	done <"$WORK/context.out"
	if cmp -s .dockerignore docker/Dockerfile.dockerignore; then
		pass ".dockerignore (legacy builder, Compose v1) equals docker/Dockerfile.dockerignore"
	else
		fail ".dockerignore" "differs from docker/Dockerfile.dockerignore"
	fi
}

# Secrets stay out of the repository: Compose reads the operator's filled-in
# copy (git-ignored), the Kubernetes manifest holds no Secret.
repo_secret_checks() {
	if grep -qE '^[[:space:]]+- dpc-notify\.env$' docker/compose.yaml &&
		! grep -qE '^[[:space:]]+- .*\.env\.example' docker/compose.yaml; then
		pass "compose env_file is dpc-notify.env, not the example"
	else
		fail "compose env_file" "not docker/dpc-notify.env"
	fi
	if git check-ignore -q docker/dpc-notify.env 2>/dev/null; then
		pass "docker/dpc-notify.env is git-ignored"
	else
		fail "docker/dpc-notify.env is git-ignored"
	fi
	if grep -qE '^kind: Secret' docker/kubernetes.yaml; then
		fail "kubernetes.yaml" "still defines a Secret (create it with kubectl instead)"
	else
		pass "kubernetes.yaml defines no Secret"
	fi
}

# --- the check -----------------------------------------------------------

run_context_checks
repo_secret_checks
[ "${CONTEXT_ONLY:-0}" = 1 ] && finish

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
if DOCKER="$DOCKER" IMAGE="$IMAGE" PROGRESS=plain timeout "$BUILD_TIMEOUT" \
	sh scripts/docker-build.sh >"$WORK/build.log" 2>&1; then
	pass "image builds (unit tests ran in the build stage)"
else
	tail -n 40 "$WORK/build.log"
	fail "image builds" "see $WORK/build.log"
	finish
fi
grep -E '^#[0-9]+ [0-9.]+ \[  (PASSED|FAILED)  \]' "$WORK/build.log" | sed 's/^#[0-9]* [0-9.]* /  unit: /'
sent=$(sed -n 's/^#[0-9]* transferring context: \([0-9.]*[kMG]*B\).*/\1/p' "$WORK/build.log" | tail -n 1)
[ -n "$sent" ] && note "BuildKit transferred a ${sent} context (only changed files after the first build)"
label=$(dk image inspect --format '{{index .Config.Labels "org.opencontainers.image.version"}}' "$IMAGE")
if [ "$label" = "$(cat VERSION)" ]; then
	pass "image label version $label = VERSION file"
else
	fail "image label version" "'$label', VERSION file says '$(cat VERSION)'"
fi

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

# The start line names the full listen address, and a loopback one inside
# a container is warned about once (here it is deliberate: --network host).
logs_of() { timeout 20 "$DOCKER" logs "$1" 2>&1; }
# shellcheck disable=SC2317 # called through wait_for
logs_have() { logs_of "$1" | grep -q -- "$2"; }
n=$(logs_of "$CONTAINER" | grep -c 'loopback inside a container')
if logs_of "$CONTAINER" | grep 'dpc-notify started' | grep -q "127.0.0.1:$LISTEN_PORT" && [ "$n" = 1 ]; then
	pass "start line names 127.0.0.1:$LISTEN_PORT; one loopback-in-a-container warning"
else
	fail "listen address and loopback warning" "$n warnings; start line: $(logs_of "$CONTAINER" | grep 'dpc-notify started')"
fi

# A single-file bind mount after `sed -i` on the host: the container still
# sees the old inode, and the reload says the file did not change.
sed -i 's/^workers = 2$/workers = 3/' "$WORK/dpc-notify.ini"
dk kill -s HUP "$CONTAINER" >/dev/null
if wait_for 15 logs_have "$CONTAINER" 'did not change'; then
	pass "SIGHUP after sed -i on a single-file bind mount warns the file did not change"
else
	fail "SIGHUP after sed -i" "no 'did not change' warning in the log"
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

# The image's own config with the example env file: its placeholder
# secrets are refused, naming the key, and the service does not start.
out=$(timeout 60 "$DOCKER" run --rm --network none --read-only \
	--env-file docker/dpc-notify.env.example "$IMAGE" serve 2>&1)
ec=$?
if [ "$ec" != 0 ] && echo "$out" | grep -q 'auth_token: item 1 looks like a placeholder'; then
	pass "the example env file's placeholder token is refused (exit $ec)"
else
	fail "placeholder token refused" "exit $ec: $(echo "$out" | head -n 5)"
fi

# The image's own config with real-looking secrets: it listens on
# 0.0.0.0:8080 and has nothing to warn about.
EXTRA=$(DPC_NOTIFY_SLACK_URL=https://hooks.slack.com/services/T0/B0/docker-check \
	timeout 60 "$DOCKER" run -d --name "$NAME-shipped" --network none --read-only \
	--tmpfs /var/lib/dpc-notify:rw,uid=10001,gid=10001,mode=0700 \
	-e DPC_NOTIFY_AUTH_TOKEN -e DPC_NOTIFY_CLIENT_ID -e DPC_NOTIFY_CLIENT_SECRET -e DPC_NOTIFY_SLACK_URL \
	"$IMAGE" 2>"$WORK/run-shipped.err") || EXTRA=""
if [ -n "$EXTRA" ] && wait_for 20 logs_have "$EXTRA" 'dpc-notify started'; then
	if logs_of "$EXTRA" | grep 'dpc-notify started' | grep -q '0.0.0.0:8080' &&
		! logs_have "$EXTRA" 'loopback inside a container'; then
		pass "shipped container config listens on 0.0.0.0:8080 without a warning"
	else
		fail "shipped container config" "$(logs_of "$EXTRA" | tail -n 5)"
	fi
else
	fail "shipped container config starts" "$(cat "$WORK/run-shipped.err"; [ -n "$EXTRA" ] && logs_of "$EXTRA" | tail -n 5)"
fi

if sh scripts/docker-helm.sh >"$WORK/helm.log" 2>&1; then
	pass "helm chart: $(grep -c '^PASS' "$WORK/helm.log") checks (scripts/docker-helm.sh)"
	grep '^SKIP' "$WORK/helm.log" | sed 's/^/docker-check: /'
else
	cat "$WORK/helm.log"
	fail "helm chart" "see above"
fi

finish
