#!/bin/sh
# Installs dpc-notify for `make install`: the binary, the man pages, the
# example config (as documentation: a real config is never overwritten) and
# the systemd unit. Honours PREFIX (default /usr/local) and DESTDIR (staging
# root for packagers); BUILD names the build directory holding dpc-notify.
# Finer overrides: BINDIR, MANDIR, DOCDIR, UNITDIR.
set -eu

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
BUILD=${BUILD:-build}
BINDIR=${BINDIR:-$PREFIX/bin}
MANDIR=${MANDIR:-$PREFIX/share/man}
DOCDIR=${DOCDIR:-$PREFIX/share/doc/dpc-notify}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}

# Run from anywhere: the sources are relative to the repository root.
cd "$(dirname "$0")/.."

die() {
	echo "install: $*" >&2
	exit 1
}

case $PREFIX in
/*) ;;
*) die "PREFIX must be an absolute path (got \"$PREFIX\")" ;;
esac
case $BINDIR in
*'|'* | *'&'* | *\\*) die "BINDIR must not contain |, & or a backslash" ;;
esac
[ -x "$BUILD/dpc-notify" ] || die "$BUILD/dpc-notify is missing; run make first"
for page in man/dpc-notify.8 man/dpc-notify.ini.5; do
	[ -f "$page" ] || die "$page is missing"
done

install -d "$DESTDIR$BINDIR" "$DESTDIR$MANDIR/man8" "$DESTDIR$MANDIR/man5" "$DESTDIR$DOCDIR"
install -m 0755 "$BUILD/dpc-notify" "$DESTDIR$BINDIR/dpc-notify"
install -m 0644 man/dpc-notify.8 "$DESTDIR$MANDIR/man8/dpc-notify.8"
install -m 0644 man/dpc-notify.ini.5 "$DESTDIR$MANDIR/man5/dpc-notify.ini.5"
install -m 0644 etc/dpc-notify.ini.example "$DESTDIR$DOCDIR/dpc-notify.ini.example"

# The unit names the binary by path, so point it at where it was installed
# (the path without DESTDIR: that is where it will live once unpacked).
if [ -f etc/dpc-notify.service ]; then
	install -d "$DESTDIR$UNITDIR"
	sed "s|/usr/local/bin/dpc-notify|$BINDIR/dpc-notify|g" etc/dpc-notify.service \
		>"$DESTDIR$UNITDIR/dpc-notify.service.tmp"
	chmod 0644 "$DESTDIR$UNITDIR/dpc-notify.service.tmp"
	mv "$DESTDIR$UNITDIR/dpc-notify.service.tmp" "$DESTDIR$UNITDIR/dpc-notify.service"
fi

echo "installed dpc-notify to $DESTDIR$BINDIR/dpc-notify"
echo "example config: $DESTDIR$DOCDIR/dpc-notify.ini.example (copy to /etc/dpc-notify/dpc-notify.ini)"
