#!/bin/sh
# Builds the dpc-notify image from docker/Dockerfile; `make image` and
# `make docker-check` use it. It checks the prerequisites first, so that a
# missing piece is named instead of failing deep inside docker:
# - a docker daemon this client can reach;
# - the base image: the default BASE=dpc-notify-base:bookworm exists only
#   locally (scripts/docker-base.sh makes it from the Debian mirror); without
#   it docker would try Docker Hub and fail with a registry error. Where the
#   Hub can be reached, BASE=debian:bookworm-slim needs no local base;
# - a builder: BuildKit reads docker/Dockerfile.dockerignore. Debian's
#   docker.io (20.10) has it built in; Docker's own client (23 and later)
#   needs the buildx plugin (docker-buildx-plugin) for it, and without the
#   plugin this script falls back to the legacy builder (DOCKER_BUILDKIT=0),
#   which reads the identical top-level .dockerignore.
#
# Environment: DOCKER (client, default docker), IMAGE (default
# dpc-notify:VERSION, also tagged dpc-notify:latest), BASE, DOCKER_BUILDKIT
# (kept when set), PROGRESS (BuildKit progress, default auto). Further
# arguments are passed to docker build.
set -eu

cd "$(dirname "$0")/.."
DOCKER=${DOCKER:-docker}
VERSION=$(cat VERSION)
IMAGE=${IMAGE:-dpc-notify:$VERSION}
BASE=${BASE:-dpc-notify-base:bookworm}

say() { echo "docker-build: $*" >&2; }

if ! timeout 20 "$DOCKER" info >/dev/null 2>&1; then
	say "cannot reach a docker daemon with $DOCKER (is dockerd running, may this user use it?)"
	exit 1
fi
case $BASE in
dpc-notify-base:*)
	if ! "$DOCKER" image inspect "$BASE" >/dev/null 2>&1; then
		say "base image $BASE is missing: run scripts/docker-base.sh first"
		say "(or, where Docker Hub can be reached: BASE=debian:bookworm-slim sh scripts/docker-build.sh)"
		exit 1
	fi
	;;
esac

if [ -z "${DOCKER_BUILDKIT:-}" ]; then
	major=$("$DOCKER" version --format '{{.Client.Version}}' 2>/dev/null | sed 's/[^0-9].*//')
	if "$DOCKER" buildx version >/dev/null 2>&1 || [ "${major:-0}" -lt 23 ]; then
		DOCKER_BUILDKIT=1
	else
		say "this docker client ($major.x) has no buildx plugin (apt-get install"
		say "docker-buildx-plugin); building with the legacy builder instead"
		DOCKER_BUILDKIT=0
	fi
fi
export DOCKER_BUILDKIT
progress=""
[ "$DOCKER_BUILDKIT" = 0 ] || progress="--progress=${PROGRESS:-auto}"

say "building $IMAGE from BASE=$BASE (DOCKER_BUILDKIT=$DOCKER_BUILDKIT)"
# $progress is one word or none.
# shellcheck disable=SC2086
"$DOCKER" build $progress --network=host -f docker/Dockerfile \
	--build-arg BASE="$BASE" --build-arg VERSION="$VERSION" \
	-t "$IMAGE" -t dpc-notify:latest "$@" .
