#!/usr/bin/env bash
# compare.sh: measures plugsrv against the bare fork server and the usual
# super-servers (socat fork, tcpserver + cat, xinetd internal echo) on
# 127.0.0.1, with plugload; prints a table of medians and ratios to bare.
# See bench/README.md. --smoke is the CI mode: tiny counts, correctness only.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
PLUGSRV=${PLUGSRV:-$root/build/bin/plugsrv}
PLUGLOAD=${PLUGLOAD:-$root/build/bin/plugload}
BARE=${BARE_ECHO:-$root/build/bin/bare_echo}
MODULES=${PLUGSRV_MODULE_DIR:-$root/build/modules}
OUT=""
SMOKE=0
REPS=3
PORT_BASE=23400
PORT_SET=0
BUDGET=900          # seconds for the whole run; what is left over is skipped
CONN1_OPS=3000      # conn at concurrency 1
CONN32_OPS=5000     # conn at concurrency 32 (kept moderate: TIME_WAIT)
RR_SECS=3
STREAM_BYTES=16777216   # per stream; streams restart for STREAM_SECS
STREAM_SECS=2
ONLY=""
REPORT=""      # re-print the table of an earlier run's DIR/raw.txt

usage() {
    cat <<EOF
usage: compare.sh [--smoke] [--reps N] [--out DIR] [--port-base P] [--budget S]
                  [--servers "bare plugsrv-echo ..."] [--conn-ops N] [--rr-secs S]
                  [--plugsrv PATH] [--plugload PATH] [--bare PATH] [--modules DIR]
       compare.sh --report DIR    (re-print the table of DIR/raw.txt)
servers: bare plugsrv-echo plugsrv-upper plugsrv-prefork socat tcpserver xinetd
         plugsrv-exec xinetd-cat (a program per connection: cat; tcpserver runs cat too)
         plugsrv-relay socat-relay haproxy-relay (to a bare echo backend)
Env: PLUGSRV PLUGLOAD BARE_ECHO PLUGSRV_MODULE_DIR. Results go to DIR/results.txt.
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
    --smoke) SMOKE=1 ;;
    --report) REPORT=$2; shift ;;
    --reps) REPS=$2; shift ;;
    --out) OUT=$2; shift ;;
    --port-base) PORT_BASE=$2; PORT_SET=1; shift ;;
    --budget) BUDGET=$2; shift ;;
    --servers) ONLY=$2; shift ;;
    --conn-ops) CONN1_OPS=$2; CONN32_OPS=$2; shift ;;
    --rr-secs) RR_SECS=$2; shift ;;
    --plugsrv) PLUGSRV=$2; shift ;;
    --plugload) PLUGLOAD=$2; shift ;;
    --bare) BARE=$2; shift ;;
    --modules) MODULES=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
    shift
done

if [ $SMOKE = 1 ]; then
    REPS=1; CONN1_OPS=100; CONN32_OPS=300; STREAM_BYTES=262144; BUDGET=40
    # Below the test harness's 20000-32000, so parallel tests never collide.
    [ "$PORT_SET" = 1 ] || PORT_BASE=$((15000 + RANDOM % 4000))
    SERVERS=${ONLY:-"bare plugsrv-echo plugsrv-upper"}
else
    SERVERS=${ONLY:-"bare plugsrv-echo plugsrv-upper plugsrv-prefork socat tcpserver xinetd plugsrv-exec xinetd-cat plugsrv-relay socat-relay haproxy-relay"}
fi
if [ "$PORT_BASE" -lt 1024 ] || [ "$PORT_BASE" -gt 32700 ]; then
    echo "compare.sh: --port-base must be 1024-32700 (below the ephemeral range)" >&2
    exit 2
fi
# Absolute paths: plugsrv reads modules_dir relative to its config's folder.
abspath() { [ -e "$1" ] && readlink -f "$1" || echo "$1"; }
PLUGSRV=$(abspath "$PLUGSRV"); PLUGLOAD=$(abspath "$PLUGLOAD")
BARE=$(abspath "$BARE"); MODULES=$(abspath "$MODULES")
[ -x "$PLUGLOAD" ] || { echo "compare.sh: no plugload at $PLUGLOAD" >&2; exit 2; }

TMP=$(mktemp -d /tmp/plugsrv-bench.XXXXXX)
[ -n "$OUT" ] || OUT=$TMP/out
mkdir -p "$OUT"
RAW=$OUT/raw.txt
RESULTS=$OUT/results.txt
: >"$RAW"
declare -A PID PORT XFORM STATE MEM RSS0
FAILED=0

log() { echo "compare.sh: $*" >&2; }

# ---- servers: each started by PID, on its own port, killed by PID --------

# Children first: a peer's stuck child (socat) would outlive its parent.
cleanup() {
    local s k
    for s in "${!PID[@]}"; do
        [ -n "${PID[$s]}" ] || continue
        for k in $(ps -o pid= --ppid "${PID[$s]}" 2>/dev/null); do
            kill "$k" 2>/dev/null
        done
        kill "${PID[$s]}" 2>/dev/null
    done
    for s in "${!PID[@]}"; do
        [ -n "${PID[$s]}" ] && wait_gone "${PID[$s]}"
    done
    rm -rf "$TMP/run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits (bounded) for a process to go; SIGKILL if it ignores SIGTERM.
wait_gone() {
    local i
    for i in $(seq 50); do
        kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

port_busy() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

# The next free port at or above $1, below 32768.
free_port() {
    local p=$1
    while port_busy "$p"; do
        p=$((p + 1))
        [ "$p" -lt 32768 ] || return 1
    done
    echo "$p"
}

plugsrv_config() { # name port module mode [options-json]
    local extra=""
    [ "$4" = prefork ] && extra=', "mode": "prefork", "spare": 8'
    [ -n "${5:-}" ] && extra="$extra, \"options\": $5"
    cat >"$TMP/run/$1.json" <<EOF
{
  "modules_dir": "$MODULES",
  "max_connections": 1024,
  "idle_timeout": 30,
  "listeners": [
    { "name": "$1", "address": "127.0.0.1", "port": $2, "module": "$3",
      "backlog": 1024$extra }
  ]
}
EOF
}

xinetd_config() { # port [program]: internal echo, or the program per connection
    local kind="type        = INTERNAL UNLISTED
    id          = echo-stream"
    [ -n "${2:-}" ] && kind="type        = UNLISTED
    server      = $2"
    cat >"$TMP/run/xinetd.conf" <<EOF
defaults
{
}
service echo
{
    $kind
    flags       = NOLIBWRAP
    socket_type = stream
    protocol    = tcp
    wait        = no
    user        = root
    bind        = 127.0.0.1
    port        = $1
    instances   = UNLIMITED
    cps         = 100000 1
}
EOF
}

# Starts server $1 on port $2 in the background; sets PID. Returns 1 when
# the server is not available here.
server_spawn() {
    local s=$1 p=$2 log=$OUT/$1.log
    case $s in
    bare) [ -x "$BARE" ] || return 1
        "$BARE" -p "$p" -b 1024 >"$log" 2>&1 & ;;
    plugsrv-echo|plugsrv-upper|plugsrv-prefork)
        [ -x "$PLUGSRV" ] || return 1
        local mod=echo mode=fork
        [ $s = plugsrv-upper ] && mod=uppercase
        [ $s = plugsrv-prefork ] && mode=prefork
        plugsrv_config "$s" "$p" "$mod" "$mode"
        "$PLUGSRV" -c "$TMP/run/$s.json" >"$log" 2>&1 & ;;
    socat) command -v socat >/dev/null || return 1
        socat "TCP-LISTEN:$p,bind=127.0.0.1,fork,reuseaddr,backlog=1024" PIPE >"$log" 2>&1 & ;;
    tcpserver) command -v tcpserver >/dev/null || return 1
        tcpserver -R -H -l 0 -c 1000 -b 1024 127.0.0.1 "$p" cat >"$log" 2>&1 & ;;
    xinetd) command -v xinetd >/dev/null || return 1
        xinetd_config "$p"
        xinetd -dontfork -stayalive -filelog "$log" -f "$TMP/run/xinetd.conf" \
            -pidfile "$TMP/run/xinetd.pid" >>"$log" 2>&1 & ;;
    plugsrv-exec) [ -x "$PLUGSRV" ] || return 1
        plugsrv_config "$s" "$p" exec fork '{ "argv": ["cat"] }'
        "$PLUGSRV" -c "$TMP/run/$s.json" >"$log" 2>&1 & ;;
    xinetd-cat) command -v xinetd >/dev/null || return 1
        xinetd_config "$p" "$(command -v cat)"
        xinetd -dontfork -stayalive -filelog "$log" -f "$TMP/run/xinetd.conf" \
            -pidfile "$TMP/run/xinetd.pid" >>"$log" 2>&1 & ;;
    plugsrv-relay) [ -x "$PLUGSRV" ] && backend_start || return 1
        plugsrv_config "$s" "$p" relay fork "{ \"to\": \"127.0.0.1:$BACKEND_PORT\" }"
        "$PLUGSRV" -c "$TMP/run/$s.json" >"$log" 2>&1 & ;;
    socat-relay) command -v socat >/dev/null && backend_start || return 1
        socat "TCP-LISTEN:$p,bind=127.0.0.1,fork,reuseaddr,backlog=1024" \
            "TCP:127.0.0.1:$BACKEND_PORT" >"$log" 2>&1 & ;;
    haproxy-relay) command -v haproxy >/dev/null && backend_start || return 1
        haproxy_config "$p"
        haproxy -db -f "$TMP/run/haproxy.cfg" >"$log" 2>&1 & ;;
    *) log "unknown server $s"; return 1 ;;
    esac
    PID[$s]=$!
}

# The relays' backend: one bare echo server, started once, on its own port.
backend_start() {
    [ -n "${PID[backend]:-}" ] && return 0
    [ -x "$BARE" ] || return 1
    BACKEND_PORT=$(free_port "$PORT_BASE") || return 1
    PORT_BASE=$((BACKEND_PORT + 1))
    "$BARE" -p "$BACKEND_PORT" -b 1024 >"$OUT/backend.log" 2>&1 &
    PID[backend]=$!
}

haproxy_config() { # port
    cat >"$TMP/run/haproxy.cfg" <<EOF
global
    maxconn 4096
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend relay
    bind 127.0.0.1:$1
    default_backend echo
backend echo
    server bare 127.0.0.1:$BACKEND_PORT
EOF
}

# Polls (bounded, ~5 s) until the server answers one verified request.
server_wait_ready() {
    local s=$1 i
    for i in $(seq 50); do
        kill -0 "${PID[$s]}" 2>/dev/null || return 1
        "$PLUGLOAD" -m conn -p "${PORT[$s]}" -c 1 -n 1 -t 1 -D 2 \
            -x "${XFORM[$s]}" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

server_start() {
    local s=$1 p
    XFORM[$s]=echo
    [ $s = plugsrv-upper ] && XFORM[$s]=upper
    p=$(free_port "$PORT_BASE") || { STATE[$s]=n/a; return; }
    PORT_BASE=$((p + 1))
    PORT[$s]=$p
    if ! server_spawn "$s" "$p"; then
        STATE[$s]=n/a; PID[$s]=""; log "$s: not available, n/a"; return
    fi
    if server_wait_ready "$s"; then
        STATE[$s]=ok
        RSS0[$s]=$(proc_rss "${PID[$s]}")
        log "$s: pid ${PID[$s]} on 127.0.0.1:$p"
    else
        STATE[$s]=n/a
        log "$s: did not answer correctly on port $p, n/a (see $OUT/$s.log)"
        kill "${PID[$s]}" 2>/dev/null; wait_gone "${PID[$s]}"; PID[$s]=""
    fi
}

# ---- memory -------------------------------------------------------------

proc_rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
proc_pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }

# "children rss_sum_kb pss_sum_kb" for the direct children of $1.
children_mem() {
    local k n=0 rss=0 pss=0 r q
    for k in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        r=$(proc_rss "$k"); q=$(proc_pss "$k")
        n=$((n + 1)); rss=$((rss + ${r:-0})); pss=$((pss + ${q:-0}))
    done
    echo "$n $rss $pss"
}

# ---- measurements ---------------------------------------------------------

load_args() { # load -> plugload arguments
    case $1 in
    conn1) echo "-m conn -c 1 -n $CONN1_OPS" ;;
    conn32) echo "-m conn -c 32 -n $CONN32_OPS" ;;
    rr32) if [ $SMOKE = 1 ]; then echo "-m rr -c 32 -n 2000"
          else echo "-m rr -c 32 -d $RR_SECS"; fi ;;
    stream4) if [ $SMOKE = 1 ]; then echo "-m stream -c 4 -n 8 -b $STREAM_BYTES"
             else echo "-m stream -c 4 -d $STREAM_SECS -b $STREAM_BYTES"; fi ;;
    esac
}

# Runs one load against one server and appends a line to raw.txt. During
# rr32 (32 children alive for seconds) it samples the children's memory.
measure() {
    local s=$1 load=$2 rep=$3 res rc out=$TMP/run/load.out
    timeout -k 2 120 "$PLUGLOAD" $(load_args "$load") -p "${PORT[$s]}" \
        -x "${XFORM[$s]}" -D 100 >"$out" 2>"$TMP/run/load.err" &
    local lp=$!
    if [ "$load" = rr32 ] && [ $SMOKE = 0 ]; then
        sleep 1
        MEM[$s]=$(children_mem "${PID[$s]}")
    fi
    wait $lp; rc=$?
    res=$(grep '^RESULT' "$out" | tail -1)
    [ -n "$res" ] || res="RESULT rate=0 p99_us=0 mbps=0"
    echo "server=$s load=$load rep=$rep rc=$rc ${res#RESULT }" >>"$RAW"
    if [ $rc = 1 ]; then FAILED=1; log "$s $load: WRONG replies: $(cat "$TMP/run/load.err")"
    elif [ $rc != 0 ]; then
        [ $SMOKE = 1 ] && FAILED=1
        log "$s $load rep $rep: rc=$rc $(tr '\n' ' ' <"$TMP/run/load.err")"
    fi
}

run_all() {
    local rep load s list i
    read -r -a list <<<"$SERVERS"
    for rep in $(seq "$REPS"); do
        for load in conn1 conn32 rr32 stream4; do
            # Rotate the order each repetition so no server always goes first.
            for i in $(seq 0 $((${#list[@]} - 1))); do
                s=${list[$(((i + rep - 1) % ${#list[@]}))]}
                [ "${STATE[$s]}" = ok ] || continue
                if [ "$SECONDS" -ge "$BUDGET" ]; then
                    log "time budget of $BUDGET s spent; skipping the rest"
                    return
                fi
                measure "$s" "$load" "$rep"
            done
        done
    done
}

# ---- report ---------------------------------------------------------------

# Medians per server and load from raw.txt, with ratios to bare.
table() {
    awk -v servers="$SERVERS" '
    function med(str,   a, n, i, j, t) {
        n = split(str, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
            if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        if (n == 0) return ""
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    {
        delete kv
        for (i = 1; i <= NF; i++) { split($i, kvp, "="); kv[kvp[1]] = kvp[2] }
        k = kv["server"] SUBSEP kv["load"]
        v = kv["load"] == "stream4" ? kv["mbps"] : kv["rate"]
        # A rep counts unless it saw a wrong reply, hit the deadline or did
        # nothing; its refused/reset/timeout/eof show in the errors column.
        if ((kv["rc"] == 0 || kv["rc"] == 3) && kv["ops"] > 0 && kv["deadline"] == 0) {
            rate[k] = rate[k] " " v; p99[k] = p99[k] " " kv["p99_us"]
        }
        reps[k]++
        if (kv["rc"] != 0) bad[k]++
        errs[k] += kv["refused"] + kv["reset"] + kv["timeout"] + kv["wrong"] + kv["eof"] + kv["other"]
    }
    END {
        printf "%-16s %-8s %5s %12s %7s %10s %8s %8s %s\n", "server", "load", "conc",
            "median", "unit", "p99_us", "x_bare", "p99/bare", "reps(rc!=0) errors"
        ns = split(servers, sv, " ")
        nl = split("conn1 conn32 rr32 stream4", ld, " ")
        for (l = 1; l <= nl; l++) {
            kb = "bare" SUBSEP ld[l]; rb = med(rate[kb]); pb = med(p99[kb])
            for (s = 1; s <= ns; s++) {
                k = sv[s] SUBSEP ld[l]
                if (!(k in reps)) { printf "%-16s %-8s %5s %12s\n", sv[s], ld[l], "", "n/a"; continue }
                r = med(rate[k]); p = med(p99[k])
                conc = ld[l]; gsub(/[a-z]/, "", conc)
                printf "%-16s %-8s %5s %12s %7s %10s %8s %8s %d(%d) %d\n", sv[s], ld[l], conc,
                    r == "" ? "fail" : sprintf("%.1f", r),
                    ld[l] == "stream4" ? "MB/s" : (ld[l] == "rr32" ? "req/s" : "conn/s"),
                    p == "" ? "-" : p,
                    (rb > 0 && r != "") ? sprintf("%.2f", r / rb) : "-",
                    (pb > 0 && p != "") ? sprintf("%.2f", p / pb) : "-",
                    reps[k], bad[k], errs[k]
            }
        }
    }' "$RAW"
}

mem_table() {
    local s n rss pss
    printf "%-16s %12s %12s %8s %14s %14s\n" server parent_rss0 parent_rss1 \
        children child_rss_avg child_pss_avg
    for s in $SERVERS; do
        if [ "${STATE[$s]}" != ok ]; then printf "%-16s %12s\n" "$s" n/a; continue; fi
        read -r n rss pss <<<"${MEM[$s]:-0 0 0}"
        printf "%-16s %10sKB %10sKB %8s %12sKB %12sKB\n" "$s" "${RSS0[$s]}" \
            "$(proc_rss "${PID[$s]}")" "$n" \
            "$([ "$n" -gt 0 ] && echo $((rss / n)) || echo -)" \
            "$([ "$n" -gt 0 ] && echo $((pss / n)) || echo -)"
    done
}

machine() {
    echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)," \
        "kernel $(uname -r)"
    echo "loads: conn1 -n $CONN1_OPS, conn32 -n $CONN32_OPS, rr32 $( [ $SMOKE = 1 ] && echo '-n 2000' || echo "-d $RR_SECS")," \
        "stream4 $( [ $SMOKE = 1 ] && echo '8 streams' || echo "${STREAM_SECS} s of streams") of $STREAM_BYTES B;" \
        "reps $REPS; median over reps without wrong replies"
}

main() {
    local s
    if [ -n "$REPORT" ]; then RAW=$REPORT/raw.txt; table; exit 0; fi
    LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
    mkdir -p "$TMP/run"
    for s in $SERVERS; do server_start "$s"; done
    if [ $SMOKE = 1 ]; then
        for s in $SERVERS; do
            [ "${STATE[$s]}" = ok ] || { log "smoke: $s is required"; FAILED=1; }
        done
    fi
    run_all
    {
        machine
        echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  loadavg before: $LOAD0, after: $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "time_wait sockets now: $(ss -Htan state time-wait | wc -l)"
        echo
        table
        echo
        echo "memory (parent RSS at start and at end; children sampled during rr32):"
        mem_table
    } | tee "$RESULTS"
    log "results in $RESULTS (raw runs: $RAW), took ${SECONDS}s"
    [ $FAILED = 0 ]
}

main
