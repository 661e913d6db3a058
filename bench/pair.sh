#!/bin/bash
# pair.sh: two plugsrv binaries (an old build and a new one, say) serving
# the same echo config, compared connection by connection: plugload -P
# alternates the connections between them, once with A first and once
# with B first, and each server's CPU (parent and reaped children) and the
# page faults of the parent and of its children are read from /proc around
# the run. On a machine whose speed drifts between runs this shows a few
# percent that two separate runs cannot (bench/README.md, "Pairs"). Both
# servers are started afresh for every rep: where ASLR places a process
# decides whether its children touch a page more or less, worth about 3%
# here (bench/README.md, round 4), so one instance of each is one draw.
#
# usage: pair.sh -a PLUGSRV_A -b PLUGSRV_B [-m MODULES_DIR] [-c CONC]
#                [-n CONNS] [-r REPS] [-p PORT_BASE] [-L PLUGLOAD]
#                [-x KEYS] [-y KEYS]
# -x adds listener keys to both configs, -y to B's only (JSON members:
# -x '"mode": "prefork", "spare": 8' pairs two prefork builds, -a and -b the
# same binary with -y '"user": "nobody"' shows what privilege separation
# costs).
# Prints one line per repetition and a median; exit 0 unless a run failed.
set -u

A="" B="" MODS=build/modules CONC=1 CONNS=3000 REPS=5 PORT=23480 KEYS="" BKEYS=""
LOAD=build/bench/plugload
while getopts "a:b:m:c:n:r:p:L:x:y:h" o; do
    case $o in
    a) A=$OPTARG ;; b) B=$OPTARG ;; m) MODS=$OPTARG ;; c) CONC=$OPTARG ;;
    n) CONNS=$OPTARG ;; r) REPS=$OPTARG ;; p) PORT=$OPTARG ;; L) LOAD=$OPTARG ;;
    x) KEYS=", $OPTARG" ;; y) BKEYS=", $OPTARG" ;;
    *) sed -n 2,19p "$0"; exit 2 ;;
    esac
done
[ -x "$A" ] && [ -x "$B" ] && [ -x "$LOAD" ] || { sed -n 2,19p "$0"; exit 2; }
[ "$PORT" -ge 1024 ] && [ "$PORT" -le 32700 ] ||
    { echo "pair.sh: -p must be 1024-32700" >&2; exit 2; }
MODS=$(readlink -f "$MODS")
TMP=$(mktemp -d /tmp/plugsrv-pair.XXXXXX)
declare -A PID
cleanup() {
    local s
    for s in "${PID[@]}"; do kill "$s" 2>/dev/null; done
    for s in "${PID[@]}"; do wait "$s" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# "minflt ticks cminflt" of a server: its own faults, its and its reaped
# children's CPU, its reaped children's faults.
proc_cpu() {
    local s f
    s=$(cat "/proc/$1/stat") || { echo "0 0 0"; return; }
    s=${s##*) }
    read -r -a f <<<"$s"
    echo "${f[7]} $((f[11] + f[12] + f[13] + f[14])) ${f[8]}"
}

children() { ps -o pid= --ppid "$1" | wc -l; }

# Waits (bounded, 5 s) until $1 has no more children than $2 (a prefork
# server keeps its spares): cutime counts reaped ones.
settle() {
    local i
    for i in $(seq 100); do
        [ "$(children "$1")" -le "$2" ] && return 0
        sleep 0.05
    done
    echo "pair.sh: pid $1 still has children: CPU undercounted" >&2
}

start() { # name binary port extra-keys
    cat >"$TMP/$1.json" <<EOF
{ "modules_dir": "$MODS", "max_connections": 1024, "idle_timeout": 30,
  "listeners": [ { "name": "$1", "address": "127.0.0.1", "port": $3,
                   "module": "echo", "backlog": 1024$KEYS$4 } ] }
EOF
    "$2" -c "$TMP/$1.json" >"$TMP/$1.log" 2>&1 &
    PID[$1]=$!
    local i
    # Ready, and (prefork) with its spares forked: run() counts them.
    local spares
    spares=$(grep -o '"spare": *[0-9]*' <<<"$KEYS$4" | grep -o '[0-9]*$' | tail -1)
    for i in $(seq 50); do
        grep -q ' ready ' "$TMP/$1.log" &&
            [ "$(children "${PID[$1]}")" -ge "${spares:-0}" ] && return 0
        kill -0 "${PID[$1]}" 2>/dev/null || break
        sleep 0.1
    done
    echo "pair.sh: $2 did not start:" >&2
    cat "$TMP/$1.log" >&2
    exit 1
}

stop() { # name
    kill "${PID[$1]}" 2>/dev/null
    wait "${PID[$1]}" 2>/dev/null
    unset "PID[$1]"
}

# One run, first server's port first:
# "mean_a mean_b ticks_a ticks_b flt_a flt_b childflt_a childflt_b".
run() { # port-first port-second
    local a0 b0 a1 b1 out na nb
    na=$(children "${PID[a]}"); nb=$(children "${PID[b]}")
    read -r -a a0 <<<"$(proc_cpu "${PID[a]}")"
    read -r -a b0 <<<"$(proc_cpu "${PID[b]}")"
    out=$(timeout -k 2 300 "$LOAD" -m conn -c "$CONC" -n "$CONNS" -p "$1" -P "$2" \
        -x echo -D 250) || { echo "pair.sh: plugload failed: $out" >&2; exit 1; }
    settle "${PID[a]}" "$na"; settle "${PID[b]}" "$nb"
    read -r -a a1 <<<"$(proc_cpu "${PID[a]}")"
    read -r -a b1 <<<"$(proc_cpu "${PID[b]}")"
    echo "$(mean_of "$out" "$PORT") $(mean_of "$out" $((PORT + 1)))" \
        "$((a1[1] - a0[1])) $((b1[1] - b0[1])) $((a1[0] - a0[0])) $((b1[0] - b0[0]))" \
        "$((a1[2] - a0[2])) $((b1[2] - b0[2]))"
}

mean_of() { # plugload-output port
    grep "port=$2\$" <<<"$1" | grep -o 'mean_us=[0-9.]*' | cut -d= -f2
}

echo "A: $A"
echo "B: $B"
[ -z "$KEYS$BKEYS" ] || echo "listener keys: both${KEYS:- none}; B${BKEYS:- none}"
echo "conn -c $CONC, $CONNS connections per run, both orders, $REPS reps;"
echo "both servers started afresh for each rep: where ASLR puts a process's"
echo "stack and code decides how many pages a child touches (bench/README.md)"
printf "%-4s %10s %10s %8s %8s %8s %8s %8s %8s\n" rep mean_a_us mean_b_us \
    "rate b/a" "cpu b/a" flt_a flt_b flt_ch_a flt_ch_b
for r in $(seq "$REPS"); do
    start a "$A" "$PORT" ""
    start b "$B" $((PORT + 1)) "$BKEYS"
    read -r m1a m1b t1a t1b f1a f1b c1a c1b <<<"$(run "$PORT" $((PORT + 1)))"
    read -r m2a m2b t2a t2b f2a f2b c2a c2b <<<"$(run $((PORT + 1)) "$PORT")"
    stop a
    stop b
    awk -v r="$r" -v m1a="$m1a" -v m1b="$m1b" -v m2a="$m2a" -v m2b="$m2b" \
        -v ta=$((t1a + t2a)) -v tb=$((t1b + t2b)) -v fa=$((f1a + f2a)) \
        -v fb=$((f1b + f2b)) -v ca=$((c1a + c2a)) -v cb=$((c1b + c2b)) \
        -v n="$CONNS" 'BEGIN {
        printf "%-4s %10.1f %10.1f %8.3f %8.3f %8.2f %8.2f %8.2f %8.2f\n", r,
            (m1a + m2a) / 2, (m1b + m2b) / 2, sqrt((m1a / m1b) * (m2a / m2b)),
            tb / ta, fa / n, fb / n, ca / n, cb / n
    }' | tee -a "$TMP/reps"
done
sort -k4n "$TMP/reps" | awk '{ r[NR] = $4 } END {
    printf "median rate b/a %.3f (min %.3f, max %.3f)\n", r[int((NR + 1) / 2)], r[1], r[NR] }'
sort -k5n "$TMP/reps" | awk '{ c[NR] = $5 } END {
    printf "median cpu b/a %.3f (min %.3f, max %.3f)\n", c[int((NR + 1) / 2)], c[1], c[NR] }'
