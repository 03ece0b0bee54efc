#!/bin/sh
# Installs the Debian packages dpc-notify needs to build and test, only when
# something is missing (so it is cheap to call from every make target).
set -e
PKGS="build-essential pkg-config libmicrohttpd-dev libcurl4-openssl-dev libcjson-dev
libinih-dev libsqlite3-dev libssl-dev libcmocka-dev python3 sqlite3 ca-certificates"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing packages:$missing (run as root or: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq $missing >/dev/null
