#!/bin/sh
# install_units.sh SRC BUILD PREFIX LIBDIR BINDIR UNITDIR - the installed
# systemd units pass systemd-analyze verify. verify wants every program a
# unit runs to exist, so the units' installed paths are pointed into a
# temporary install, and man pages into MANPATH for Documentation=.
# Exit 77: skipped.
set -eu
build=$2 prefix=$3 bindir=$5 unitdir=$6

command -v systemd-analyze >/dev/null ||
    { echo "SKIP: no systemd-analyze (Debian package systemd)" >&2; exit 77; }

tmp=$(mktemp -d /tmp/plugsrv-units.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

destdir=$tmp/root
root=$destdir$prefix
case $bindir in /*) ;; *) bindir=$prefix/$bindir ;; esac
case $unitdir in /*) units=$destdir$unitdir ;; *) units=$root/$unitdir ;; esac
DESTDIR=$destdir cmake --install "$build" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; exit 1; }

mkdir "$tmp/units"
for u in plugsrv.service plugsrv.socket; do
    [ -f "$units/$u" ] || { echo "FAIL: not installed: $units/$u" >&2; exit 1; }
    sed "s|$bindir/|$destdir$bindir/|g" "$units/$u" >"$tmp/units/$u"
done
grep -q "^ExecStart=$destdir$bindir/plugsrv " "$tmp/units/plugsrv.service" ||
    { echo "FAIL: ExecStart is not $bindir/plugsrv" >&2; exit 1; }
# verify prints its complaints and may still exit 0: any output fails.
MANPATH=$root/share/man systemd-analyze verify \
    "$tmp/units/plugsrv.service" "$tmp/units/plugsrv.socket" >"$tmp/out" 2>&1 ||
    { cat "$tmp/out" >&2; echo "FAIL: systemd-analyze verify" >&2; exit 1; }
if [ -s "$tmp/out" ]; then cat "$tmp/out" >&2; exit 1; fi
echo "systemd-analyze verify: plugsrv.service plugsrv.socket OK"
