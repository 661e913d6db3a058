#!/bin/sh
# install_deb.sh SRC BUILD SANITIZE - builds the .deb files with scripts/deb
# into BUILD/deb and checks them (lintian, contents). Skipped (exit 77) in
# the sanitizer build, where it would only repeat the same package build,
# and when dpkg-dev, debhelper or lintian is missing.
set -eu
src=$1 build=$2 sanitize=$3

if [ "$sanitize" = 1 ]; then
    echo "SKIP: the .deb is built and checked once, in the non-sanitizer build" >&2
    exit 77
fi
exec "$src/scripts/deb" "$build/deb"
