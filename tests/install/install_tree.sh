#!/bin/sh
# install_tree.sh SRC BUILD PREFIX LIBDIR BINDIR SYSCONFDIR - what a user
# gets from cmake --install: installs BUILD into a temporary root (DESTDIR),
# checks the installed sample config, builds three handlers against that
# root alone (cc with pkg-config, a tiny find_package(plugsrv) project, and
# examples/), runs the installed plugsrv with them and the installed bundled
# modules on 127.0.0.1, and checks the replies with the installed plugcli.
# Exit 77: skipped.
set -eu
src=$1 build=$2 prefix=$3 libdir=$4 bindir=$5 sysconfdir=$6

skip() { echo "SKIP: $*" >&2; exit 77; }
fail() {
    echo "FAIL: $*" >&2
    if [ -s "$tmp/log" ]; then echo "--- plugsrv's log:" >&2; cat "$tmp/log" >&2; fi
    exit 1
}
command -v pkg-config >/dev/null || skip "no pkg-config (Debian package pkg-config)"
command -v cc >/dev/null || skip "no cc (Debian package gcc)"

tmp=$(mktemp -d /tmp/plugsrv-install.XXXXXX)
pid=
cleanup() {
    [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || :
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# plugsrv must see none of a service manager's variables here.
unset NOTIFY_SOCKET LISTEN_FDS LISTEN_PID LISTEN_FDNAMES JOURNAL_STREAM || :

destdir=$tmp/root
root=$destdir$prefix
case $libdir in /*) lib=$destdir$libdir ;; *) lib=$root/$libdir ;; esac
case $bindir in /*) bin=$destdir$bindir ;; *) bin=$root/$bindir ;; esac

echo "== cmake --install into $destdir"
DESTDIR=$destdir cmake --install "$build" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "cmake --install"; }
for f in "$bin/plugsrv" "$bin/plugcli" "$lib/plugsrv/modules/echo.so" \
    "$lib/plugsrv/modules/suffix.so" "$root/include/plugsrv/handler.h" \
    "$lib/pkgconfig/plugsrv.pc" "$lib/cmake/plugsrv/plugsrvConfig.cmake" \
    "$root/share/man/man8/plugsrv.8"; do
    [ -f "$f" ] || fail "not installed: $f"
done

# The handlers: each prefixes every line with a tag of its own.
mkdir -p "$tmp/mods" "$tmp/cm"
handler_c() {   # handler_c NAME TAG
    cat <<HANDLER
#include "handler.h"

static const plugsrv_host *host;

static int
tag_data(plugsrv_conn *conn, void *state, const char *line, size_t len)
{
    (void)state;
    if (host->write(conn, "$2", sizeof("$2") - 1) != PLUGSRV_OK)
        return PLUGSRV_ERROR;
    return host->write(conn, line, len);
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "$1";
    handler.mode = PLUGSRV_MODE_LINE;
    handler.data = tag_data;
    return &handler;
}
HANDLER
}

echo "== a handler built with cc \$(pkg-config --cflags plugsrv)"
handler_c pc "pc: " >"$tmp/pc.c"
cflags=$(PKG_CONFIG_LIBDIR=$lib/pkgconfig PKG_CONFIG_PATH='' \
    PKG_CONFIG_SYSROOT_DIR=$destdir pkg-config --cflags plugsrv) ||
    fail "pkg-config does not find plugsrv.pc in $lib/pkgconfig"
modulesdir=$(PKG_CONFIG_LIBDIR=$lib/pkgconfig PKG_CONFIG_PATH='' \
    pkg-config --variable=modulesdir plugsrv)
[ "$modulesdir" = "${lib#"$destdir"}/plugsrv/modules" ] ||
    fail "plugsrv.pc: modulesdir=$modulesdir"
# shellcheck disable=SC2086
cc $cflags -shared -fPIC -fvisibility=hidden -o "$tmp/mods/pc.so" "$tmp/pc.c" ||
    fail "cc $cflags"

echo "== a handler built with find_package(plugsrv) and plugsrv_add_handler"
handler_c cm "cm: " >"$tmp/cm/cm.c"
cat >"$tmp/cm/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.18)
project(cm C)
find_package(plugsrv 1 REQUIRED)
plugsrv_add_handler(cm SOURCES cm.c)
CMAKE
cmake_build() {   # cmake_build SRC BUILD: against the temporary root only
    if ! cmake -S "$1" -B "$2" -DCMAKE_PREFIX_PATH="$root" \
        -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$2.log" 2>&1 ||
        ! cmake --build "$2" >>"$2.log" 2>&1; then
        cat "$2.log" >&2
        fail "cmake project $1"
    fi
    grep -q "^plugsrv_DIR:PATH=$lib/cmake/plugsrv\$" "$2/CMakeCache.txt" ||
        fail "$1 found another plugsrv: $(grep plugsrv_DIR "$2/CMakeCache.txt")"
}
cmake_build "$tmp/cm" "$tmp/cm-build"
cp "$tmp/cm-build/cm.so" "$tmp/mods/cm.so"
# Hidden visibility: the entry point is all a module exports.
syms=$(nm -D --defined-only "$tmp/mods/cm.so" | awk '{ print $3 }')
[ "$syms" = plugsrv_handler_v1 ] || fail "cm.so exports: $syms"

echo "== examples/, built and installed into the installed modules folder"
cmake_build "$src/examples" "$tmp/ex-build"
cmake --install "$tmp/ex-build" >"$tmp/ex-install.log" 2>&1 ||
    { cat "$tmp/ex-install.log" >&2; fail "cmake --install examples"; }
[ -f "$lib/plugsrv/modules/rot13.so" ] || fail "rot13.so not installed"

# Four free ports in a row on 127.0.0.1, per ss; a race with another
# program taking one is reported by plugsrv as a bind error.
port=$((20000 + $$ % 20000))
tries=0
while command -v ss >/dev/null &&
    ss -Htan | awk '{ print $4 }' | grep -Eq ":($port|$((port + 1))|$((port + 2))|$((port + 3)))\$"; do
    port=$((port + 4))
    tries=$((tries + 1))
    [ $tries -lt 100 ] || fail "no free ports"
done

# The installed bundled modules by bare name, the others by path.
cat >"$tmp/plugsrv.json" <<JSON
{
  "modules_dir": "$lib/plugsrv/modules",
  "listeners": [
    { "address": "127.0.0.1", "port": $port, "module": "echo" },
    { "address": "127.0.0.1", "port": $((port + 1)), "module": "mods/pc.so" },
    { "address": "127.0.0.1", "port": $((port + 2)), "module": "./mods/cm.so" },
    { "address": "127.0.0.1", "port": $((port + 3)), "module": "rot13" }
  ]
}
JSON

echo "== the installed sample config checks (its modules, on a free port)"
case $sysconfdir in /*) etc=$destdir$sysconfdir ;; *) etc=$root/$sysconfdir ;; esac
# Its user may not exist here: the rest is what is checked.
sed -e "s|\"modules_dir\": \"$modulesdir\"|\"modules_dir\": \"$lib/plugsrv/modules\"|" \
    -e '/"user":/d' -e '/"group":/d' -e "s|\"port\": 7,|\"port\": $port,|" \
    "$etc/plugsrv/plugsrv.json" >"$tmp/sample.json"
grep -q "\"port\": $port," "$tmp/sample.json" || fail "sample config: no port 7"
"$bin/plugsrv" -t -c "$tmp/sample.json" >"$tmp/check.out" 2>&1 ||
    { cat "$tmp/check.out" >&2; fail "plugsrv -t on the sample config"; }

echo "== the installed plugsrv: -t, then serve"
"$bin/plugsrv" -t -c "$tmp/plugsrv.json" >"$tmp/check.out" 2>&1 ||
    { cat "$tmp/check.out" >&2; fail "plugsrv -t"; }
grep -q "configuration OK" "$tmp/check.out" || fail "plugsrv -t: $(cat "$tmp/check.out")"

# Its log through a fifo: reading it up to the "ready" line is the wait.
mkfifo "$tmp/fifo"
"$bin/plugsrv" -c "$tmp/plugsrv.json" 2>"$tmp/fifo" &
pid=$!
exec 3<"$tmp/fifo"
: >"$tmp/log"
while :; do
    IFS= read -r line <&3 || fail "plugsrv ended before it was ready"
    printf '%s\n' "$line" >>"$tmp/log"
    case $line in *": ready "*) break ;; esac
done
cat <&3 >>"$tmp/log" &
catpid=$!
exec 3<&-

ask() {   # ask PORT LINE WANT
    got=$(printf '%s\n' "$2" | "$bin/plugcli" -w 10 127.0.0.1 "$1") ||
        fail "plugcli 127.0.0.1 $1 failed"
    [ "$got" = "$3" ] || fail "port $1: sent '$2', want '$3', got '$got'"
    echo "ok: 127.0.0.1:$1 '$2' -> '$got'"
}
ask "$port" "hello" "hello"
ask $((port + 1)) "hello" "pc: hello"
ask $((port + 2)) "hello" "cm: hello"
ask $((port + 3)) "Hello" "Uryyb"

echo "== SIGTERM"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
wait "$catpid" || :
[ "$status" -eq 0 ] || fail "plugsrv exited with status $status on SIGTERM"
grep -q ": stop " "$tmp/log" || fail "no stop line in the log"
echo "install test passed"
