#!/bin/sh
# Installs the Debian packages dpc-notify needs to build and test, only when
# something is missing (so it is cheap to call from every make target).
# Build: compiler, pkg-config and the -dev packages of the libraries.
# Tests: cmocka, python3 (mock servers, integration tests), sqlite3, mandoc
# (man page lint), prometheus (for promtool), valgrind, clang and its
# runtime (libFuzzer), clang-format and cppcheck (make lint), nodejs/npm if
# absent (Prism contract test).
# With --build-only (the container's build stage): build and unit tests only.
set -e
PKGS="build-essential pkg-config libmicrohttpd-dev libcurl4-openssl-dev libcjson-dev
libinih-dev libsqlite3-dev libssl-dev libcmocka-dev ca-certificates"
[ "${1:-}" = "--build-only" ] ||
	PKGS="$PKGS python3 sqlite3 curl mandoc prometheus valgrind clang libclang-rt-14-dev
clang-format cppcheck"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ "${1:-}" = "--build-only" ] || command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing packages:$missing (run as root or: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends $missing >/dev/null
