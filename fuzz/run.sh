#!/bin/sh
# run.sh [-m] [SECONDS] - build the libFuzzer targets with clang in build-fuzz
# and run each for SECONDS (default 10) on a scratch copy of its seed corpus.
# Exits non-zero if a target crashes; crash inputs stay in build-fuzz/artifacts.
# -m merges what the run found back into fuzz/corpus/ (minimized).
set -eu

merge=0
if [ "${1:-}" = "-m" ]; then merge=1; shift; fi
secs=${1:-10}
case $secs in ''|*[!0-9]*) echo "usage: $0 [-m] [SECONDS]" >&2; exit 2;; esac

root=$(cd "$(dirname "$0")/.." && pwd)
build=${PLUGSRV_FUZZ_BUILD:-$root/build-fuzz}
targets="config frame"

CC=clang cmake -S "$root" -B "$build" -DPLUGSRV_FUZZ=ON -DPLUGSRV_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log" >&2; exit 1; }
rm -f "$build.configure.log"
cmake --build "$build" -j"$(nproc)" --target fuzz_config fuzz_frame

work=$(mktemp -d /tmp/plugsrv-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
status=0
for t in $targets; do
    bin=$build/fuzz/fuzz_$t
    art=$build/artifacts/$t
    mkdir -p "$work/$t" "$art"
    cp "$root/fuzz/corpus/$t"/* "$work/$t"/
    dict=
    [ -f "$root/fuzz/$t.dict" ] && dict=-dict=$root/fuzz/$t.dict
    echo "fuzz_$t: ${secs}s"
    if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$art/" $dict "$work/$t" >"$work/$t.log" 2>&1; then
        grep -E '^#[0-9]+.*DONE' "$work/$t.log" || tail -n 1 "$work/$t.log"
    else
        status=1
        echo "fuzz_$t: FAILED; inputs in $art/" >&2
        tail -n 40 "$work/$t.log" >&2
    fi
    if [ $merge = 1 ]; then
        "$bin" -merge=1 "$root/fuzz/corpus/$t" "$work/$t" >/dev/null 2>&1
    fi
done
exit $status
