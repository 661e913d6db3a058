#!/usr/bin/env bash
# compare.sh: measures plugsrv against the bare fork server and the usual
# super-servers on 127.0.0.1, with plugload; prints a table of medians, their
# ratios to bare, and what each server spent per connection (CPU, page faults,
# from /proc). Three groups of rows: echo (plugsrv's echo and uppercase, socat,
# tcpserver + cat, xinetd's internal echo), exec (a program per connection:
# plugsrv's exec module, tcpserver and xinetd running /bin/cat) and relay
# (plugsrv's relay module, socat, HAProxy, each in front of a bare echo).
# See bench/README.md. --smoke is the CI mode: tiny counts, correctness only.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
PLUGSRV=${PLUGSRV:-$root/build/bin/plugsrv}
PLUGLOAD=${PLUGLOAD:-$root/build/bench/plugload}
BARE=${BARE_ECHO:-$root/build/bench/bare_echo}
MODULES=${PLUGSRV_MODULE_DIR:-$root/build/modules}
OUT=""
SMOKE=0
QUICK=0
PORT_BASE=23400
PORT_SET=0
ONLY=""
ROWS=""
REPORT=""      # re-print the table of an earlier run's DIR/raw.txt
# Empty means "the default of the mode" (full, --quick or --smoke), so an
# explicit option always wins whatever its place on the command line.
REPS=""
BUDGET=""      # seconds for the whole run; what is left over is skipped
CONN1_OPS=""   # conn at concurrency 1
CONN32_OPS=""  # conn at concurrency 32 (kept moderate: TIME_WAIT)
RR_SECS=""
STREAM_SECS="" # streams of STREAM_BYTES restart for STREAM_SECS
STREAM_BYTES=16777216
CLK=$(getconf CLK_TCK 2>/dev/null || echo 100)
NCPU=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1) # what /proc/stat sums

ALL_LOADS="conn1 conn32 rr32 stream4"
ALL_GROUPS="echo exec relay ops"

usage() {
    cat <<EOF
usage: compare.sh [--quick] [--rows LIST] [--reps N] [--out DIR] [--port-base P]
                  [--budget S] [--servers "bare plugsrv-echo ..."] [--conn-ops N]
                  [--rr-secs S] [--stream-secs S]
                  [--plugsrv PATH] [--plugload PATH] [--bare PATH] [--modules DIR]
       compare.sh --smoke          (CI: tiny counts, exit status = correctness)
       compare.sh --report DIR     (re-print the table of DIR/raw.txt)
--rows: comma-separated groups and loads, e.g. "conn,exec" or "echo,rr32":
  groups: echo exec relay ops all (default all); loads: conn1 conn32 rr32 stream4,
  conn (= conn1,conn32), rr, stream (default: every load of each group).
--quick: 1 rep, conn1 -n 1000, conn32 -n 2000, rr and streams 1 s.
servers: bare (always the reference),
  echo:  plugsrv-echo plugsrv-upper plugsrv-prefork bare-prefork socat tcpserver
         xinetd (bare-prefork: bare_echo -P 8, the floor of the prefork model)
  exec:  plugsrv-exec tcpserver-exec xinetd-exec            (conn1 conn32)
  relay: plugsrv-relay socat-relay haproxy-relay            (conn1 conn32 stream4)
  ops:   plugsrv-user plugsrv-ops plugsrv-echo10 plugsrv-echo2 (conn1 conn32 rr32)
         (plugsrv-echo with privilege separation, with ACL + per-source
         limits + metrics, a module built against the ABI 1.0 header, and
         plugsrv-echo again; plugsrv-echo runs beside them as their
         reference). Then each is paired with plugsrv-echo (conn1 conn32):
         connections alternate between the two (plugload -P), in both
         orders; plugsrv-echo2 shows what the pairing sees between two
         servers that differ in nothing (DIR/pairs.txt).
Env: PLUGSRV PLUGLOAD BARE_ECHO PLUGSRV_MODULE_DIR. Results go to DIR/results.txt.
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
    --smoke) SMOKE=1 ;;
    --quick) QUICK=1 ;;
    --rows) ROWS=$2; shift ;;
    --report) REPORT=$2; shift ;;
    --reps) REPS=$2; shift ;;
    --out) OUT=$2; shift ;;
    --port-base) PORT_BASE=$2; PORT_SET=1; shift ;;
    --budget) BUDGET=$2; shift ;;
    --servers) ONLY=$2; shift ;;
    --conn-ops) CONN1_OPS=$2; CONN32_OPS=$2; shift ;;
    --rr-secs) RR_SECS=$2; shift ;;
    --stream-secs) STREAM_SECS=$2; shift ;;
    --plugsrv) PLUGSRV=$2; shift ;;
    --plugload) PLUGLOAD=$2; shift ;;
    --bare) BARE=$2; shift ;;
    --modules) MODULES=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
    shift
done

# ---- what to run: groups of servers, and the loads each group runs --------

group_servers() {
    case $1 in
    echo) echo "plugsrv-echo plugsrv-upper plugsrv-prefork bare-prefork socat tcpserver xinetd" ;;
    exec) echo "plugsrv-exec tcpserver-exec xinetd-exec" ;;
    relay) echo "plugsrv-relay socat-relay haproxy-relay" ;;
    ops) echo "plugsrv-echo plugsrv-user plugsrv-ops plugsrv-echo10 plugsrv-echo2" ;;
    esac
}

server_group() {
    case $1 in
    bare) echo ref ;;
    *-exec) echo exec ;;
    *-relay) echo relay ;;
    plugsrv-user|plugsrv-ops|plugsrv-echo10|plugsrv-echo2) echo ops ;;
    *) echo echo ;;
    esac
}

# The loads a group is measured under: a program per connection is about
# connection rate; a relay about connection rate and throughput.
group_loads() {
    case $1 in
    exec) echo "conn1 conn32" ;;
    relay) echo "conn1 conn32 stream4" ;;
    ops) echo "conn1 conn32 rr32" ;;
    *) echo "$ALL_LOADS" ;;
    esac
}

# Parses --rows into SEL_GROUPS and SEL_LOADS; exits 2 on an unknown word.
rows_parse() {
    local tok g="" l=""
    for tok in ${1//,/ }; do
        case $tok in
        echo|exec|relay|ops) g="$g $tok" ;;
        all) g="$g $ALL_GROUPS" ;;
        conn) l="$l conn1 conn32" ;;
        rr) l="$l rr32" ;;
        stream) l="$l stream4" ;;
        conn1|conn32|rr32|stream4) l="$l $tok" ;;
        *) echo "compare.sh: --rows: unknown group or load '$tok'" >&2; exit 2 ;;
        esac
    done
    SEL_GROUPS=${g:-$ALL_GROUPS}
    SEL_LOADS=${l:-$ALL_LOADS}
}

# Does server $1 run load $2 in this run?
server_runs() {
    local s=$1 load=$2 o
    case " $SEL_LOADS " in *" $load "*) ;; *) return 1 ;; esac
    if [ "$s" = bare ]; then
        # The reference runs a load when anything else it is compared with does.
        for o in $SERVERS; do
            [ "$o" != bare ] && server_runs "$o" "$load" && return 0
        done
        [ "$SERVERS" = bare ]
        return
    fi
    case " $(group_loads "$(server_group "$s")") " in *" $load "*) return 0 ;; esac
    return 1
}

if [ $SMOKE = 1 ]; then
    : "${REPS:=1}" "${CONN1_OPS:=100}" "${CONN32_OPS:=300}" "${BUDGET:=40}"
    : "${RR_SECS:=1}" "${STREAM_SECS:=1}"
    STREAM_BYTES=262144
    # Below the test harness's 20000-32000, so parallel tests never collide.
    [ "$PORT_SET" = 1 ] || PORT_BASE=$((15000 + RANDOM % 4000))
    # The modules of issue 11 join the smoke test once they are built.
    default="bare plugsrv-echo plugsrv-upper"
    [ -f "$MODULES/exec.so" ] && default="$default plugsrv-exec"
    [ -f "$MODULES/relay.so" ] && default="$default plugsrv-relay"
    rows_parse "${ROWS:-all}"
    SERVERS=${ONLY:-$default}
else
    if [ $QUICK = 1 ]; then
        : "${REPS:=1}" "${CONN1_OPS:=1000}" "${CONN32_OPS:=2000}" "${BUDGET:=300}"
        : "${RR_SECS:=1}" "${STREAM_SECS:=1}"
    fi
    : "${REPS:=3}" "${CONN1_OPS:=3000}" "${CONN32_OPS:=5000}" "${BUDGET:=900}"
    : "${RR_SECS:=3}" "${STREAM_SECS:=2}"
    rows_parse "$ROWS"
    default="bare"
    for g in $SEL_GROUPS; do
        for s in $(group_servers "$g"); do
            case " $default " in *" $s "*) ;; *) default="$default $s" ;; esac
        done
    done
    SERVERS=${ONLY:-$default}
fi
if [ "$PORT_BASE" -lt 1024 ] || [ "$PORT_BASE" -gt 32700 ]; then
    echo "compare.sh: --port-base must be 1024-32700 (below the ephemeral range)" >&2
    exit 2
fi
# Absolute paths: plugsrv reads modules_dir relative to its config's folder.
abspath() { [ -e "$1" ] && readlink -f "$1" || echo "$1"; }
PLUGSRV=$(abspath "$PLUGSRV"); PLUGLOAD=$(abspath "$PLUGLOAD")
BARE=$(abspath "$BARE"); MODULES=$(abspath "$MODULES")
# The echo module built against the ABI 1.0 header (tests/handlers/abi10/plain10.c).
ECHO10=$(abspath "${PLUGSRV_ECHO10:-$(dirname "$MODULES")/test-modules/plain10.so}")
[ -n "$REPORT" ] || [ -x "$PLUGLOAD" ] ||
    { echo "compare.sh: no plugload at $PLUGLOAD" >&2; exit 2; }

TMP=$(mktemp -d /tmp/plugsrv-bench.XXXXXX)
[ -n "$OUT" ] || OUT=$TMP/out
mkdir -p "$OUT"
RAW=$OUT/raw.txt
PAIRS=$OUT/pairs.txt
RESULTS=$OUT/results.txt
[ -n "$REPORT" ] || : >"$RAW"
[ -n "$REPORT" ] || : >"$PAIRS"
declare -A PID PORT XFORM STATE MEM RSS0 WHY
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
    [ "$OUT" = "$TMP/out" ] || rmdir "$TMP" 2>/dev/null
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

# Sets TAKEN to the next free port at or above PORT_BASE (below 32768) and
# moves PORT_BASE past it. A global, not an echo: a $(...) subshell would
# lose PORT_BASE, and the process a spawn starts would not be our child.
port_take() {
    local p=$PORT_BASE
    while port_busy "$p"; do
        p=$((p + 1))
        [ "$p" -lt 32768 ] || return 1
    done
    PORT_BASE=$((p + 1))
    TAKEN=$p
}

plugsrv_config() { # name port module mode options-json [listener-keys [top-keys]]
    local extra=""
    [ "$4" = prefork ] && extra=', "mode": "prefork", "spare": 8'
    [ -n "$5" ] && extra="$extra, \"options\": $5"
    extra="$extra${6:-}"
    cat >"$TMP/run/$1.json" <<EOF
{
  "modules_dir": "$MODULES",${7:-}
  "max_connections": 1024,
  "idle_timeout": 30,
  "listeners": [
    { "name": "$1", "address": "127.0.0.1", "port": $2, "module": "$3",
      "backlog": 1024$extra }
  ]
}
EOF
}

# A private xinetd config: internal echo, or (exec) a program per connection.
# No log_type anywhere: xinetd logs nothing per connection.
# An internal service is found by its name, hence "echo".
xinetd_config() { # file port [server-program]
    local name=echo what="type        = INTERNAL UNLISTED
    id          = echo-stream"
    [ -n "${3:-}" ] && name=plugsrv-bench what="type        = UNLISTED
    server      = $3"
    cat >"$1" <<EOF
defaults
{
}
service $name
{
    $what
    flags       = NOLIBWRAP
    socket_type = stream
    protocol    = tcp
    wait        = no
    user        = root
    bind        = 127.0.0.1
    port        = $2
    instances   = UNLIMITED
    per_source  = UNLIMITED
    cps         = 100000 1
}
EOF
}

# A private HAProxy config: TCP mode, 127.0.0.1 only, no logging, no health
# checks (nothing is sent anywhere but to the backend on loopback).
haproxy_config() { # file port backend-port
    cat >"$1" <<EOF
global
    maxconn 4096
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen relay
    bind 127.0.0.1:$2
    server backend 127.0.0.1:$3
EOF
}

# The echo server a relay row forwards to: a bare_echo of its own, so that
# no two relays share a backend's 4-tuples (TIME_WAIT) or its CPU. Sets
# BACKEND to its port.
backend_start() { # relay-server
    local s=$1 b=$1.backend
    needs "$s" "$BARE" && port_take || return 1
    "$BARE" -p "$TAKEN" -b 1024 >"$OUT/$b.log" 2>&1 &
    PID[$b]=$!
    PORT[$b]=$TAKEN
    XFORM[$b]="echo"
    server_wait_ready "$b" || { WHY[$s]="its backend did not answer"; return 1; }
    BACKEND=$TAKEN
}

needs() { # server command-or-file
    case $2 in
    /*) [ -e "$2" ] || { WHY[$1]="$2 not built yet"; return 1; } ;;
    *) command -v "$2" >/dev/null || { WHY[$1]="$2 not installed"; return 1; } ;;
    esac
}

# Starts plugsrv server $1 on port $2 in the background; sets PID.
plugsrv_spawn() {
    local s=$1 p=$2 mod=echo mode=fork opts="" keys="" top="" file
    needs "$s" "$PLUGSRV" || return 1
    case $s in
    plugsrv-upper) mod=uppercase ;;
    plugsrv-prefork) mode=prefork ;;
    plugsrv-exec) mod="exec"; opts='{ "argv": ["/bin/cat"] }' ;;
    plugsrv-relay) mod=relay ;;
    plugsrv-user)
        # The parent stays root; each connection becomes nobody.
        [ "$(id -u)" = 0 ] || { WHY[$s]="needs root (privilege separation)"; return 1; }
        keys=', "user": "nobody"' ;;
    plugsrv-ops)
        # Every operations feature on, none of them refusing this load.
        port_take || return 1
        keys=', "allow": ["127.0.0.0/8", "::1"], "max_per_source": 1024,
      "rate_per_source": { "rate": 1000000 }'
        top="
  \"metrics\": { \"port\": $TAKEN }," ;;
    plugsrv-echo10) mod=$ECHO10 ;;
    esac
    file=$mod
    case $mod in /*) ;; *) file=$MODULES/$mod.so ;; esac
    needs "$s" "$file" || return 1
    if [ "$s" = plugsrv-relay ]; then
        backend_start "$s" || return 1
        opts="{ \"to\": \"127.0.0.1:$BACKEND\" }"
    fi
    plugsrv_config "$s" "$p" "$mod" "$mode" "$opts" "$keys" "$top"
    "$PLUGSRV" -c "$TMP/run/$s.json" >"$OUT/$s.log" 2>&1 &
    PID[$s]=$!
}

# Starts server $1 on port $2 in the background; sets PID. Returns 1 (and
# says why in WHY) when the server is not available here.
server_spawn() {
    local s=$1 p=$2 log=$OUT/$1.log conf=$TMP/run/$1.conf prog=""
    case $s in
    bare) needs "$s" "$BARE" || return 1
        "$BARE" -p "$p" -b 1024 >"$log" 2>&1 & ;;
    bare-prefork) needs "$s" "$BARE" || return 1
        "$BARE" -p "$p" -b 1024 -P 8 >"$log" 2>&1 & ;;
    plugsrv-*) plugsrv_spawn "$s" "$p"; return ;;
    socat) needs "$s" socat || return 1
        socat "TCP-LISTEN:$p,bind=127.0.0.1,fork,reuseaddr,backlog=1024" PIPE >"$log" 2>&1 & ;;
    tcpserver|tcpserver-exec) needs "$s" tcpserver || return 1
        prog="cat"
        [ "$s" = tcpserver-exec ] && prog=/bin/cat
        tcpserver -R -H -l 0 -c 1000 -b 1024 127.0.0.1 "$p" "$prog" >"$log" 2>&1 & ;;
    xinetd|xinetd-exec) needs "$s" xinetd || return 1
        [ "$s" = xinetd-exec ] && prog=/bin/cat
        xinetd_config "$conf" "$p" "$prog"
        xinetd -dontfork -stayalive -filelog "$log" -f "$conf" \
            -pidfile "$TMP/run/$s.pid" >>"$log" 2>&1 & ;;
    socat-relay) needs "$s" socat || return 1
        backend_start "$s" || return 1
        socat "TCP-LISTEN:$p,bind=127.0.0.1,fork,reuseaddr,backlog=1024" \
            "TCP:127.0.0.1:$BACKEND" >"$log" 2>&1 & ;;
    haproxy-relay) needs "$s" haproxy || return 1
        backend_start "$s" || return 1
        haproxy_config "$conf" "$p" "$BACKEND"
        haproxy -db -f "$conf" >"$log" 2>&1 & ;;
    *) WHY[$s]="unknown server"; return 1 ;;
    esac
    PID[$s]=$!
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
    XFORM[$s]="echo"
    [ $s = plugsrv-upper ] && XFORM[$s]=upper
    port_take || { STATE[$s]=n/a; WHY[$s]="no free port"; return; }
    p=$TAKEN
    PORT[$s]=$p
    PID[$s]=""
    # Not in a subshell: server_spawn sets PID, WHY and PORT_BASE.
    if ! server_spawn "$s" "$p"; then
        STATE[$s]=n/a; log "$s: not measured: ${WHY[$s]:-not available}"; return
    fi
    if server_wait_ready "$s"; then
        STATE[$s]=ok
        RSS0[$s]=$(proc_rss "${PID[$s]}")
        log "$s: pid ${PID[$s]} ($(cat "/proc/${PID[$s]}/comm")) on 127.0.0.1:$p"
    else
        STATE[$s]=n/a; WHY[$s]="did not answer correctly on port $p (see $OUT/$s.log)"
        kill -0 "${PID[$s]}" 2>/dev/null ||
            WHY[$s]="exited at start: $(tail -1 "$OUT/$s.log" 2>/dev/null)"
        log "$s: ${WHY[$s]}, n/a"
        kill "${PID[$s]}" 2>/dev/null; wait_gone "${PID[$s]}"; PID[$s]=""
    fi
}

# ---- /proc: memory, CPU and page faults -----------------------------------

proc_rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
proc_pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }

# "minflt cminflt own_ticks children_ticks" of process $1, from /proc/PID/stat:
# its own faults and utime+stime (all threads), and those its reaped children
# (and their reaped descendants) left in cminflt and cutime+cstime.
proc_cpu() {
    local s f
    s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo "0 0 0 0"; return; }
    s=${s##*) }        # after the command name, which may hold spaces
    read -r -a f <<<"$s"
    echo "${f[7]} ${f[8]} $((f[11] + f[12])) $((f[13] + f[14]))"
}

children_count() { ps -o pid= --ppid "$1" 2>/dev/null | wc -l; }

# "busy total" jiffies of the whole machine, from /proc/stat's cpu line
# (busy: all but idle and iowait). Over a run, busy/total times the CPU count
# is how many CPUs the run kept busy, the client's included: near the count,
# the row measures how much CPU a connection costs, not how long it waits.
machine_ticks() {
    local f
    read -r -a f </proc/stat
    echo "$((f[1] + f[2] + f[3] + f[6] + f[7] + f[8])) $((f[1] + f[2] + f[3] + f[4] + f[5] + f[6] + f[7] + f[8]))"
}

# cutime and cminflt count a child only once it is reaped, so after a run the
# server gets (bounded, 5 s) until it has no more children than before it.
children_settle() { # pid count-before
    local i
    for i in $(seq 100); do
        [ "$(children_count "$1")" -le "$2" ] && return 0
        sleep 0.05
    done
    log "pid $1 still has $(children_count "$1") children (had $2): CPU undercounted"
}

# "children rss_sum_kb pss_sum_kb" for the direct children of $1, read by
# one awk: a relay's children live for one stream only (0.1 s), so a fork
# per file would find most of them gone. A child that is gone by the time
# it is read is not counted (a zombie has no VmRSS line).
children_mem() {
    local k files=()
    for k in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        files+=("/proc/$k/status" "/proc/$k/smaps_rollup")
    done
    [ ${#files[@]} -gt 0 ] || { echo "0 0 0"; return; }
    awk '/^VmRSS:/ { n++; rss += $2 } /^Pss:/ { pss += $2 }
         END { print n + 0, rss + 0, pss + 0 }' "${files[@]}" 2>/dev/null
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

# The first long run of a server (rr32, or stream4 for a relay) samples its
# children's memory half a second in, while all of them are open; the next
# repetition tries again if that sample found no child.
mem_sample_due() { # server load
    local had=${MEM[$1]:-0}
    [ $SMOKE = 0 ] && [ "${had%% *}" = 0 ] || return 1
    case $2 in
    rr32) return 0 ;;
    stream4) ! server_runs "$1" rr32 ;;
    *) return 1 ;;
    esac
}

# Half a second into the run, then (streams come and go) up to 5 more
# tries 0.1 s apart until all the load's connections have their child.
mem_sample() { # server pid load
    local i m n best=-1 conc=${3//[a-z]/}
    sleep 0.5
    for i in $(seq 6); do
        m=$(children_mem "$2")
        n=${m%% *}
        [ -n "$n" ] || continue # the server's children changed as awk read them
        if [ "$n" -gt "$best" ]; then best=$n; MEM[$1]=$m; fi
        [ "$n" -ge "$conc" ] && return
        sleep 0.1
    done
}

# Runs one load against one server and appends a line to raw.txt: plugload's
# RESULT, and the server's /proc counters over the run (d_* deltas).
measure() {
    local s=$1 load=$2 rep=$3 res rc out=$TMP/run/load.out pid=${PID[$1]}
    local n0 a0 a1 d m0 m1
    n0=$(children_count "$pid")
    read -r -a a0 <<<"$(proc_cpu "$pid")"
    read -r -a m0 <<<"$(machine_ticks)"
    timeout -k 2 120 "$PLUGLOAD" $(load_args "$load") -p "${PORT[$s]}" \
        -x "${XFORM[$s]}" -D 100 >"$out" 2>"$TMP/run/load.err" &
    local lp=$!
    if mem_sample_due "$s" "$load"; then
        mem_sample "$s" "$pid" "$load"
    fi
    wait $lp; rc=$?
    read -r -a m1 <<<"$(machine_ticks)"
    children_settle "$pid" "$n0"
    read -r -a a1 <<<"$(proc_cpu "$pid")"
    d="d_minflt=$((a1[0] - a0[0])) d_cminflt=$((a1[1] - a0[1]))"
    d="$d d_ticks=$((a1[2] + a1[3] - a0[2] - a0[3])) d_own_ticks=$((a1[2] - a0[2]))"
    d="$d d_busy=$((m1[0] - m0[0])) d_total=$((m1[1] - m0[1])) ncpu=$NCPU"
    res=$(grep '^RESULT' "$out" | tail -1)
    [ -n "$res" ] || res="RESULT rate=0 p99_us=0 mbps=0"
    echo "server=$s load=$load rep=$rep rc=$rc ${res#RESULT } $d clk=$CLK" \
        "rss_kb=$(proc_rss "$pid")" >>"$RAW"
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
        for load in $ALL_LOADS; do
            # Rotate the order each repetition so no server always goes first.
            for i in $(seq 0 $((${#list[@]} - 1))); do
                s=${list[$(((i + rep - 1) % ${#list[@]}))]}
                [ "${STATE[$s]}" = ok ] && server_runs "$s" "$load" || continue
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

# ---- pairs: two servers under one load, connection by connection --------
#
# On a shared VM the machine's speed drifts by 10% within seconds, so two
# servers measured one after the other differ by that much with nothing
# between them. plugload -P alternates connections between two servers:
# both see the same drift, and the ratio of their mean latencies (and of
# their CPU over the run) is what differs between them. Each pair runs in
# both orders, so neither server always follows the other.

# Server $1 against reference $2 under load $3, repetition $4, in order $5
# (ab: the reference takes the first connection; ba: the server does).
measure_pair() {
    local s=$1 ref=$2 load=$3 rep=$4 order=$5 out=$TMP/run/pair.out
    local first=$2 second=$1 rc n0s n0r s0 r0 s1 r1 ls lr
    [ "$order" = ba ] && { first=$1; second=$2; }
    n0s=$(children_count "${PID[$s]}"); n0r=$(children_count "${PID[$ref]}")
    read -r -a s0 <<<"$(proc_cpu "${PID[$s]}")"
    read -r -a r0 <<<"$(proc_cpu "${PID[$ref]}")"
    timeout -k 2 120 "$PLUGLOAD" $(load_args "$load") -p "${PORT[$first]}" \
        -P "${PORT[$second]}" -x echo -D 100 >"$out" 2>"$TMP/run/pair.err"
    rc=$?
    children_settle "${PID[$s]}" "$n0s"; children_settle "${PID[$ref]}" "$n0r"
    read -r -a s1 <<<"$(proc_cpu "${PID[$s]}")"
    read -r -a r1 <<<"$(proc_cpu "${PID[$ref]}")"
    ls=$(grep "^RESULT .* port=${PORT[$s]}\$" "$out")
    lr=$(grep "^RESULT .* port=${PORT[$ref]}\$" "$out")
    echo "pair=$s ref=$ref load=$load rep=$rep order=$order rc=$rc" \
        "mean_s=$(kv_of mean_us "$ls") mean_ref=$(kv_of mean_us "$lr")" \
        "conns_s=$(kv_of conns "$ls") conns_ref=$(kv_of conns "$lr")" \
        "ticks_s=$((s1[2] + s1[3] - s0[2] - s0[3])) ticks_ref=$((r1[2] + r1[3] - r0[2] - r0[3]))" \
        "flt_s=$((s1[0] - s0[0])) flt_ref=$((r1[0] - r0[0]))" >>"$PAIRS"
    if [ $rc != 0 ]; then
        [ $rc = 1 ] && FAILED=1
        log "pair $s/$ref $load: rc=$rc $(tr '\n' ' ' <"$TMP/run/pair.err")"
    fi
}

kv_of() { # key "k=v k=v ..." -> v
    local f
    for f in $2; do
        [ "${f%%=*}" = "$1" ] && { echo "${f#*=}"; return; }
    done
    echo 0
}

# "server/reference" pairs of this run: plugsrv-echo and plugsrv-prefork
# against bare (issue 12's targets), plugsrv-prefork against bare-prefork
# too, each ops server against plugsrv-echo.
pair_list() {
    local s
    for s in $SERVERS; do
        [ "${STATE[$s]}" = ok ] || continue
        case $s in
        plugsrv-echo|plugsrv-prefork) [ "${STATE[bare]:-}" = ok ] && echo "$s/bare"
            [ "$s" = plugsrv-prefork ] && [ "${STATE[bare-prefork]:-}" = ok ] &&
                echo "$s/bare-prefork" ;;
        *) [ "$(server_group "$s")" = ops ] && [ "${STATE[plugsrv-echo]:-}" = ok ] &&
               echo "$s/plugsrv-echo" ;;
        esac
    done
}

run_pairs() {
    local rep load p order
    [ $SMOKE = 0 ] || return 0
    for rep in $(seq "$REPS"); do
        for load in conn1 conn32; do
            case " $SEL_LOADS " in *" $load "*) ;; *) continue ;; esac
            for p in $(pair_list); do
                for order in ab ba; do
                    if [ "$SECONDS" -ge "$BUDGET" ]; then
                        log "time budget of $BUDGET s spent; skipping the rest of the pairs"
                        return
                    fi
                    measure_pair "${p%/*}" "${p#*/}" "$load" "$rep" "$order"
                done
            done
        done
    done
}

# Per server and load: the geometric mean of the two orders' latency
# ratios (plugsrv-echo's mean over the server's: above 1, the server is
# faster), the server's CPU over plugsrv-echo's (both orders summed), and
# the parents' page faults per connection; median and range over reps.
pair_table() {
    [ -s "$PAIRS" ] || return 0
    awk '
    function med(str,   a, n, i, j, t) {
        n = split(str, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
            if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        if (n == 0) return ""
        lo = a[1]; hi = a[n]
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    {
        delete kv
        for (i = 1; i <= NF; i++) { split($i, kvp, "="); kv[kvp[1]] = kvp[2] }
        if (kv["rc"] != 0 || kv["mean_s"] <= 0 || kv["mean_ref"] <= 0) next
        k = kv["pair"] SUBSEP kv["load"] SUBSEP kv["ref"]; r = k SUBSEP kv["rep"]
        if (!(k in seen)) { seen[k] = 1; keys[++nk] = k }
        x = kv["mean_ref"] / kv["mean_s"]
        lat[r] = half[r]++ ? lat[r] * x : x
        ts[r] += kv["ticks_s"]; tr[r] += kv["ticks_ref"]
        fs[r] += kv["flt_s"]; fr[r] += kv["flt_ref"]
        cs[r] += kv["conns_s"]; cr[r] += kv["conns_ref"]
        reps[k] = reps[k] " " kv["rep"]
    }
    END {
        printf "paired, connection by connection, both orders (rate x: the reference\047s mean\n"
        printf "latency over the server\047s; cpu x: the server\047s CPU over the reference\047s; median\n"
        printf "(min-max) over reps; flt_par: parent page faults per connection, server/reference):\n"
        printf "%-15s %-7s %-15s %-18s %-18s %-11s %s\n", "server", "load", "vs", "rate x",
            "cpu x", "flt_par", "reps"
        for (i = 1; i <= nk; i++) {
            k = keys[i]; split(k, kk, SUBSEP)
            lr = ""; cx = ""; f1 = ""; f2 = ""; n = 0; split("", done)
            m = split(reps[k], rl, " ")
            for (j = 1; j <= m; j++) {
                r = k SUBSEP rl[j]
                if (half[r] != 2 || (r in done)) continue
                done[r] = 1; n++
                lr = lr " " sqrt(lat[r])
                if (tr[r] > 0) cx = cx " " ts[r] / tr[r]
                if (cs[r] > 0 && cr[r] > 0) { f1 = f1 " " fs[r] / cs[r]; f2 = f2 " " fr[r] / cr[r] }
            }
            if (n == 0) continue
            a = med(lr); la = lo; ha = hi
            b = med(cx); lb = lo; hb = hi
            printf "%-15s %-7s %-15s %-18s %-18s %-11s %d\n", kk[1], kk[2], kk[3],
                sprintf("%.3f (%.3f-%.3f)", a, la, ha),
                b == "" ? "-" : sprintf("%.3f (%.3f-%.3f)", b, lb, hb),
                sprintf("%.1f/%.1f", med(f1), med(f2)), n
        }
    }' "$PAIRS"
}

# Medians per server and load from raw.txt, with ratios to bare; then, for
# the exec and relay groups, plugsrv's row against each peer's.
table() {
    awk -v servers="$SERVERS" -v loads="$ALL_LOADS" '
    function med(str,   a, n, i, j, t) {
        n = split(str, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
            if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        if (n == 0) return ""
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function ratio(x, y) { return (x != "" && y > 0) ? sprintf("%.2f", x / y) : "-" }
    function fmt(x, f) { return x == "" ? "-" : sprintf(f, x) }
    function group(s) {
        if (s == "bare") return "ref"
        if (s ~ /-exec$/) return "exec"
        if (s ~ /-relay$/) return "relay"
        if (s == "plugsrv-user" || s == "plugsrv-ops" || s == "plugsrv-echo10" ||
            s == "plugsrv-echo2")
            return "ops"
        return "echo"
    }
    {
        delete kv
        for (i = 1; i <= NF; i++) { split($i, kvp, "="); kv[kvp[1]] = kvp[2] }
        k = kv["server"] SUBSEP kv["load"]
        if (!(kv["server"] in seen)) { seen[kv["server"]] = 1; order = order " " kv["server"] }
        v = kv["load"] == "stream4" ? kv["mbps"] : kv["rate"]
        # Connections made: plugload counts them (conns=); older raw files
        # only have ops, which is the same for conn loads.
        nc = ("conns" in kv) ? kv["conns"] : kv["ops"]
        # CPU per unit of the rate: per connection, request or MB.
        per = kv["load"] == "stream4" ? kv["mbps"] * kv["secs"] : (kv["load"] == "rr32" ? kv["ops"] : nc)
        # A rep counts unless it saw a wrong reply, hit the deadline or did
        # nothing; its refused/reset/timeout/eof show in the errors column.
        if ((kv["rc"] == 0 || kv["rc"] == 3) && kv["ops"] > 0 && kv["deadline"] == 0) {
            rate[k] = rate[k] " " v; p99[k] = p99[k] " " kv["p99_us"]
            if (("d_ticks" in kv) && per > 0 && nc > 0) {
                cpu[k] = cpu[k] " " kv["d_ticks"] * 1e6 / kv["clk"] / per
                cpar[k] = cpar[k] " " kv["d_own_ticks"] * 1e6 / kv["clk"] / per
                fc[k] = fc[k] " " kv["d_cminflt"] / nc
                fp[k] = fp[k] " " kv["d_minflt"] / nc
            }
            if (kv["d_total"] > 0)
                busy[k] = busy[k] " " kv["ncpu"] * kv["d_busy"] / kv["d_total"]
        }
        if (kv["rss_kb"] > rss[k]) rss[k] = kv["rss_kb"]
        reps[k]++
        if (kv["rc"] != 0) bad[k]++
        errs[k] += kv["refused"] + kv["reset"] + kv["timeout"] + kv["wrong"] + kv["eof"] + kv["other"]
    }
    END {
        if (servers == "") servers = order
        printf "%-15s %-7s %4s %10s %6s %8s %6s %6s %8s %6s %8s %6s %7s %5s %7s %s\n", "server",
            "load", "conc", "median", "unit", "p99_us", "x_bare", "p99/b", "cpu_us", "cpu/b",
            "cpu_par", "flt_ch", "flt_par", "busy", "rss_kb", "reps(rc!=0) errors"
        ns = split(servers, sv, " ")
        nl = split(loads, ld, " ")
        for (l = 1; l <= nl; l++) {
            kb = "bare" SUBSEP ld[l]
            R[kb] = med(rate[kb]); P[kb] = med(p99[kb]); C[kb] = med(cpu[kb])
            for (s = 1; s <= ns; s++) {
                k = sv[s] SUBSEP ld[l]
                if (!(k in reps)) continue
                R[k] = med(rate[k]); P[k] = med(p99[k]); C[k] = med(cpu[k])
                conc = ld[l]; gsub(/[a-z]/, "", conc)
                printf "%-15s %-7s %4s %10s %6s %8s %6s %6s %8s %6s %8s %6s %7s %5s %7s %d(%d) %d\n",
                    sv[s], ld[l], conc, fmt(R[k], "%.1f"),
                    ld[l] == "stream4" ? "MB/s" : (ld[l] == "rr32" ? "req/s" : "conn/s"),
                    P[k] == "" ? "-" : P[k], ratio(R[k], R[kb]), ratio(P[k], P[kb]),
                    fmt(C[k], "%.1f"), ratio(C[k], C[kb]), fmt(med(cpar[k]), "%.1f"),
                    fmt(med(fc[k]), "%.1f"), fmt(med(fp[k]), "%.2f"), fmt(med(busy[k]), "%.2f"),
                    rss[k] == "" ? "-" : rss[k], reps[k], bad[k], errs[k]
            }
        }
        # Issue 11: plugsrv against the peers of its group, same run; one
        # line for a group whose plugsrv row was not measured.
        hdr = 0
        for (s = 1; s <= ns; s++) {
            g = group(sv[s])
            if ((g != "exec" && g != "relay") || sv[s] ~ /^plugsrv-/) continue
            mine = "plugsrv-" g
            for (l = 1; l <= nl; l++) {
                k = sv[s] SUBSEP ld[l]; km = mine SUBSEP ld[l]
                if (!(k in R)) continue
                if (!hdr++) printf "\n%-6s %-7s %-15s %-15s %8s %8s\n", "group", "load",
                    "plugsrv", "vs peer", "rate x", "cpu x"
                if (km in R)
                    printf "%-6s %-7s %-15s %-15s %8s %8s\n", g, ld[l], mine, sv[s],
                        ratio(R[km], R[k]), ratio(C[km], C[k])
                else if (!said[g]++)
                    printf "%-6s %-7s %-15s (not measured: no ratios to its peers)\n", g, "-", mine
            }
        }
        # Issues 8, 10, 11: each ops server against plugsrv-echo, same run.
        for (s = 1; s <= ns; s++) {
            if (group(sv[s]) != "ops") continue
            for (l = 1; l <= nl; l++) {
                k = sv[s] SUBSEP ld[l]; km = "plugsrv-echo" SUBSEP ld[l]
                if (!(k in R) || !(km in R)) continue
                if (!hdr++) printf "\n%-6s %-7s %-15s %-15s %8s %8s\n", "group", "load",
                    "plugsrv", "vs peer", "rate x", "cpu x"
                printf "%-6s %-7s %-15s %-15s %8s %8s\n", "ops", ld[l], sv[s],
                    "plugsrv-echo", ratio(R[k], R[km]), ratio(C[k], C[km])
            }
        }
    }' "$RAW"
}

mem_table() {
    local s n rss pss
    printf "%-15s %12s %12s %8s %14s %14s\n" server parent_rss0 parent_rss1 \
        children child_rss_avg child_pss_avg
    for s in $SERVERS; do
        if [ "${STATE[$s]}" != ok ]; then printf "%-15s %12s\n" "$s" n/a; continue; fi
        read -r n rss pss <<<"${MEM[$s]:-0 0 0}"
        printf "%-15s %10sKB %10sKB %8s %14s %14s\n" "$s" "${RSS0[$s]}" \
            "$(proc_rss "${PID[$s]}")" "$n" \
            "$([ "$n" -gt 0 ] && echo $((rss / n))KB || echo -)" \
            "$([ "$n" -gt 0 ] && echo $((pss / n))KB || echo -)"
    done
}

not_measured() {
    local s
    for s in $SERVERS; do
        [ "${STATE[$s]}" = ok ] || echo "not measured: $s: ${WHY[$s]:-not available}"
    done
}

machine() {
    echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)," \
        "kernel $(uname -r)"
    echo "loads: conn1 -n $CONN1_OPS, conn32 -n $CONN32_OPS, rr32 $( [ $SMOKE = 1 ] && echo '-n 2000' || echo "-d $RR_SECS")," \
        "stream4 $( [ $SMOKE = 1 ] && echo '8 streams' || echo "${STREAM_SECS} s of streams") of $STREAM_BYTES B;" \
        "reps $REPS; median over reps without wrong replies; rows: ${ROWS:-all}"
}

main() {
    local s
    if [ -n "$REPORT" ]; then
        RAW=$REPORT/raw.txt; PAIRS=$REPORT/pairs.txt; SERVERS=""
        table; echo; pair_table; exit 0
    fi
    LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
    mkdir -p "$TMP/run"
    for s in $SERVERS; do server_start "$s"; done
    if [ $SMOKE = 1 ]; then
        for s in $SERVERS; do
            [ "${STATE[$s]}" = ok ] || { log "smoke: $s is required"; FAILED=1; }
        done
    fi
    run_all
    run_pairs
    {
        machine
        echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  loadavg before: $LOAD0, after: $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "time_wait sockets now: $(ss -Htan state time-wait | wc -l)"
        echo
        table
        echo
        pair_table
        echo
        echo "memory (parent RSS at start and at end; children sampled during rr32, or stream4):"
        mem_table
        not_measured
    } | tee "$RESULTS"
    log "results in $RESULTS (raw runs: $RAW), took ${SECONDS}s"
    [ $FAILED = 0 ]
}

main
