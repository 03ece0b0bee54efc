#!/bin/sh
# Creates the local base image dpc-notify-base:bookworm (a debootstrap'ed
# Debian minbase) when it is absent. No container registry is needed: the
# root filesystem comes from the Debian mirror this machine already uses, and
# its tarball is cached so a rerun only has to `docker import` it again.
#
# Environment: DOCKER (client, default /usr/bin/docker), MIRROR (default: the
# first Debian mirror in /etc/apt/sources.list{,.d}), CACHE_DIR (default
# /var/cache/dpc-notify), SUITE (default bookworm).
set -eu

DOCKER=${DOCKER:-/usr/bin/docker}
SUITE=${SUITE:-bookworm}
CACHE_DIR=${CACHE_DIR:-/var/cache/dpc-notify}
TAG="dpc-notify-base:$SUITE"
TARBALL="$CACHE_DIR/$SUITE-minbase.tar"

# The mirror apt already uses: deb822 "URIs:" lines first, then one-line
# "deb URI" entries; security and third-party repositories are skipped.
find_mirror() {
	for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -n -e 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' \
			-e 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]*\)\{0,1\}\([^[:space:]]*\).*/\2/p' "$f"
	done | grep -E '/debian/?$' | grep -v -- '-security' | head -n 1
}

if "$DOCKER" image inspect "$TAG" >/dev/null 2>&1; then
	echo "docker-base: $TAG already present"
	exit 0
fi

if [ ! -s "$TARBALL" ]; then
	MIRROR=${MIRROR:-$(find_mirror)}
	MIRROR=${MIRROR:-http://deb.debian.org/debian}
	command -v debootstrap >/dev/null 2>&1 || {
		echo "docker-base: debootstrap is not installed (apt-get install debootstrap)" >&2
		exit 1
	}
	mkdir -p "$CACHE_DIR"
	root=$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")
	trap 'rm -rf "$root" "$TARBALL.tmp"' EXIT INT TERM
	echo "docker-base: debootstrap --variant=minbase $SUITE from $MIRROR"
	debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$CACHE_DIR/debootstrap.log" 2>&1 || {
		echo "docker-base: debootstrap failed; last lines of $CACHE_DIR/debootstrap.log:" >&2
		tail -n 20 "$CACHE_DIR/debootstrap.log" >&2
		exit 1
	}
	# Keep the image small and free of this machine's state.
	rm -rf "${root:?}"/var/cache/apt/archives/*.deb "${root:?}"/var/lib/apt/lists/* \
		"${root:?}"/var/log/* "${root:?}"/tmp/* "${root:?}"/dev/*
	tar --numeric-owner -C "$root" -cf "$TARBALL.tmp" .
	mv "$TARBALL.tmp" "$TARBALL"
	rm -rf "$root"
	trap - EXIT INT TERM
fi

echo "docker-base: importing $TARBALL as $TAG"
"$DOCKER" import -c 'CMD ["/bin/bash"]' -c 'ENV LANG=C.UTF-8' "$TARBALL" "$TAG" >/dev/null
echo "docker-base: $TAG ready"
