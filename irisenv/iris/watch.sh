#!/bin/sh
# irisenv monitoring watcher: runs INSIDE an IRIS container (POSIX sh: dash on the Ubuntu-based
# IRIS images, busybox sh in the test stand-in). It samples the container's own cgroup (v1 or
# v2) every sample_ms, and suspends ^SystemPerformance collection when the CPU rate over
# disable_window_ms reaches cpu_disable, or memory stays at or above memory_disable for that
# window; it resumes collection when both stay below the enable thresholds for
# enable_window_ms. A user's pause (the `pause` file) is never undone. Formulas, sources and
# the --after hook that starts it: docs/learnings/monitoring-watcher.md.
#
#   sh watch.sh start   start the daemon unless watch.pid names a live one running this same
#                       script (one running an older watch.sh is replaced); returns at once,
#                       exit 0 (it runs from iris-main --after on every container start)
#   sh watch.sh stop    stop the daemon
#   sh watch.sh run     the loop, in the foreground (what `start` runs)
#   sh watch.sh once    one sample and decision (state kept in watch.once), prints the state line
#                       and next_sample=<seconds until the loop would sample again>
#
# Environment (for tests; the defaults are what a real container uses):
#   IRISENV_MON_DIR       the monitor directory (policy, suspend.cos, resume.cos, pause, state,
#                         logs)                          default /home/irisowner/irisenv-monitor
#   IRISENV_MON_CGROUP    the cgroup root                default /sys/fs/cgroup
#   IRISENV_MON_IRIS      the iris command               default iris
#   IRISENV_MON_INSTANCE  the IRIS instance              default $ISC_PACKAGE_INSTANCENAME or IRIS
#   IRISENV_MON_PROC      where uptime and meminfo are read (a fake clock for `once` tests)
#                                                        default /proc
#
# Cheap by design: in the loop only shell builtins (read from files, $(( ))) and one `sleep`
# per sample; the state file is replaced (tmp + mv) once a second.

DIR=${IRISENV_MON_DIR:-/home/irisowner/irisenv-monitor}
CG=${IRISENV_MON_CGROUP:-/sys/fs/cgroup}
IRIS=${IRISENV_MON_IRIS:-iris}
INSTANCE=${IRISENV_MON_INSTANCE:-${ISC_PACKAGE_INSTANCENAME:-IRIS}}
PROC=${IRISENV_MON_PROC:-/proc}
INACT_AT=
SELF=$0
NL='
'
CR=$(printf '\r')

# ---- policy ------------------------------------------------------------------------------
# key=value lines, integers except spdir; unknown keys and malformed values are ignored (the
# key keeps its default). Re-read every 2 s.
policy_defaults() {
    P_ENABLED=1 P_INTERVAL=30 P_RETENTION=3600 P_CPU_DIS=90 P_CPU_EN=85 P_MEM_DIS=95
    P_MEM_EN=90 P_SAMPLE=250 P_DWIN=500 P_EWIN=10000 P_SPDIR=
}
load_policy() {
    policy_defaults
    [ -r "$DIR/policy" ] || return 0
    while IFS='=' read -r _k _v || [ -n "$_k" ]; do
        if [ "$_k" = spdir ]; then P_SPDIR=$_v; continue; fi
        case $_v in '' | *[!0-9]*) continue ;; esac
        while :; do case $_v in 0?*) _v=${_v#0} ;; *) break ;; esac; done  # 08 is not octal
        case $_k in
            enabled) P_ENABLED=$_v ;;
            interval_s) P_INTERVAL=$_v ;;
            retention_s) P_RETENTION=$_v ;;
            cpu_disable) P_CPU_DIS=$_v ;;
            cpu_enable) P_CPU_EN=$_v ;;
            memory_disable) P_MEM_DIS=$_v ;;
            memory_enable) P_MEM_EN=$_v ;;
            sample_ms) P_SAMPLE=$_v ;;
            disable_window_ms) P_DWIN=$_v ;;
            enable_window_ms) P_EWIN=$_v ;;
        esac
    done <"$DIR/policy" 2>/dev/null
    [ "$P_SAMPLE" -ge 20 ] || P_SAMPLE=20
    # the sleep argument, e.g. 250 -> 0.250
    _ms=$((P_SAMPLE % 1000))
    case $_ms in ?) _ms=00$_ms ;; ??) _ms=0$_ms ;; esac
    SLEEP_S=$((P_SAMPLE / 1000)).$_ms
}

# ---- cgroup files (v2: one unified tree; v1: one directory per controller) ----------------
detect_cgroup() {
    F_CPU= F_CPUSTAT= F_QUOTA= F_PERIOD= F_CPUMAX= F_CPUSET= F_MEM= F_MEMLIM= F_MEMSTAT=
    if [ -r "$CG/cgroup.controllers" ]; then
        CGV=2
        F_CPUSTAT=$CG/cpu.stat F_CPUMAX=$CG/cpu.max F_CPUSET=$CG/cpuset.cpus.effective
        F_MEM=$CG/memory.current F_MEMLIM=$CG/memory.max F_MEMSTAT=$CG/memory.stat
        INACTIVE_KEY=inactive_file
    else
        CGV=1
        for _d in "$CG/cpuacct" "$CG/cpu,cpuacct" "$CG/cpuacct,cpu"; do
            [ -r "$_d/cpuacct.usage" ] && { F_CPU=$_d/cpuacct.usage; break; }
        done
        for _d in "$CG/cpu" "$CG/cpu,cpuacct" "$CG/cpuacct,cpu"; do
            [ -r "$_d/cpu.cfs_quota_us" ] && {
                F_QUOTA=$_d/cpu.cfs_quota_us F_PERIOD=$_d/cpu.cfs_period_us; break; }
        done
        F_CPUSET=$CG/cpuset/cpuset.cpus
        F_MEM=$CG/memory/memory.usage_in_bytes F_MEMLIM=$CG/memory/memory.limit_in_bytes
        F_MEMSTAT=$CG/memory/memory.stat
        INACTIVE_KEY=total_inactive_file
    fi
}

count_cpus() {  # "0-3,6" -> N_CPUS=5 (0 when empty)
    N_CPUS=0
    _old=$IFS; IFS=,
    for _r in $1; do
        case $_r in
            *-*) N_CPUS=$((N_CPUS + ${_r#*-} - ${_r%-*} + 1)) ;;
            *[0-9]*) N_CPUS=$((N_CPUS + 1)) ;;
        esac
    done
    IFS=$_old
}

# CPUs allowed (in thousandths: 1500 = 1.5 CPUs) and the memory limit (bytes). Re-read every
# 2 s, so a `docker update` is picked up.
read_limits() {
    _cpuset=
    { read -r _cpuset <"$F_CPUSET"; } 2>/dev/null
    [ -n "$_cpuset" ] || { read -r _cpuset </sys/devices/system/cpu/online; } 2>/dev/null
    count_cpus "$_cpuset"
    [ "$N_CPUS" -gt 0 ] || N_CPUS=1
    NCPU_M=$((N_CPUS * 1000))
    _q=max _p=100000
    if [ "$CGV" = 2 ]; then
        { read -r _q _p <"$F_CPUMAX"; } 2>/dev/null
    else
        { read -r _q <"$F_QUOTA"; read -r _p <"$F_PERIOD"; } 2>/dev/null
    fi
    case $_q$_p in *[!0-9]* | '') ;; *)
        [ "$_p" -gt 0 ] && [ $((_q * 1000 / _p)) -gt 0 ] && [ $((_q * 1000 / _p)) -lt "$NCPU_M" ] &&
            NCPU_M=$((_q * 1000 / _p)) ;;
    esac
    MEMTOTAL=0
    { while read -r _k _v _u; do
        [ "$_k" = MemTotal: ] && { MEMTOTAL=$((_v * 1024)); break; }
    done <"$PROC/meminfo"; } 2>/dev/null
    MEMLIM=
    { read -r MEMLIM <"$F_MEMLIM"; } 2>/dev/null
    # "max" (v2) or a huge number (v1 without a limit): the host's memory
    case $MEMLIM in '' | *[!0-9]*) MEMLIM=$MEMTOTAL ;; esac
    [ "$MEMTOTAL" -gt 0 ] && [ "$MEMLIM" -gt "$MEMTOTAL" ] && MEMLIM=$MEMTOTAL
}

# ---- one sample --------------------------------------------------------------------------
read_now() {  # NOW = uptime in centiseconds (unchanged if unreadable)
    _up=
    { read -r _up _idle <"$PROC/uptime"; } 2>/dev/null
    case $_up in [0-9]*) ;; *) return ;; esac
    _s=${_up%.*} _f=${_up#*.}
    case $_f in ?) _f=${_f}0 ;; ??) ;; *) _f=00 ;; esac
    case $_up in *.*) ;; *) _f=00 ;; esac
    NOW=$((_s * 100 + ${_f#0}))
}
read_usage() {  # U = container CPU time in microseconds ("" when unreadable)
    U=
    if [ "$CGV" = 2 ]; then
        { while read -r _k _v; do
            [ "$_k" = usage_usec ] && { U=$_v; break; }
        done <"$F_CPUSTAT"; } 2>/dev/null
    else
        { read -r _v <"$F_CPU" && U=$((_v / 1000)); } 2>/dev/null
    fi
    case $U in *[!0-9]*) U= ;; esac
}
read_mem() {  # M = memory used minus inactive file cache, bytes ("" when unreadable)
    M=
    { read -r M <"$F_MEM"; } 2>/dev/null
    case $M in '' | *[!0-9]*) M=; return ;; esac
    # memory.stat is ~40 lines that dash reads a byte per system call: the cache figure
    # moves slowly, so it is read once a second, the usage every sample
    if [ -z "$INACT_AT" ] || [ $((NOW - INACT_AT)) -ge 100 ] || [ "$NOW" -lt "$INACT_AT" ]; then
        INACT_AT=$NOW INACTIVE=0
        { while read -r _k _v; do
            [ "$_k" = "$INACTIVE_KEY" ] && { INACTIVE=$_v; break; }
        done <"$F_MEMSTAT"; } 2>/dev/null
        case $INACTIVE in '' | *[!0-9]*) INACTIVE=0 ;; esac
    fi
    if [ "$INACTIVE" -lt "$M" ]; then M=$((M - INACTIVE)); else M=0; fi
}
pct() {  # tenths of a percent -> "97.3"
    PCT=$(($1 / 10)).$(($1 % 10))
}

# CPU is a rate: the container's CPU time over the last disable_window_ms (at least one
# sample) per wall time and CPUs allowed. One 250 ms sample alone is noisy under a CPU quota:
# it holds 2 or 3 of the scheduler's 100 ms quota periods, so a saturated container reads
# anywhere from 80 to 120 %. Q keeps "uptime:usage" points (comma-separated) back to the
# newest one at least the window old.
sample() {
    read_now
    read_usage
    read_mem
    CPU= MEM= SPAN=0 LAST_RATE=
    if [ -n "$U" ]; then
        _old=$IFS; IFS=,
        set -- $Q
        IFS=$_old
        _last=
        for _pt in "$@"; do _last=$_pt; done
        # a counter that went back (another cgroup?) or a clock that did not move: start over
        if [ -n "$_last" ] && { [ "$U" -lt "${_last#*:}" ] || [ "$NOW" -le "${_last%%:*}" ]; }; then
            set --
            _last=
        fi
        # the rate over the last interval alone: it decides the sampling cadence (step)
        LAST_RATE=
        [ -n "$_last" ] && LAST_RATE=$((100 * (U - ${_last#*:}) / ((NOW - ${_last%%:*}) * NCPU_M)))
        set -- "$@" "$NOW:$U"
        while [ $# -gt 2 ]; do
            [ $((NOW - ${2%%:*})) -ge $((P_DWIN / 10)) ] || break
            shift
        done
        _old=$IFS; IFS=,
        Q="$*"
        IFS=$_old
        if [ $# -ge 2 ]; then
            SPAN=$((NOW - ${1%%:*}))
            # percent of the CPUs allowed, in tenths: dU[us] / dT[cs] / CPUs * 10
            CPU=$((100 * (U - ${1#*:}) / (SPAN * NCPU_M)))
        fi
    else
        Q=
    fi
    if [ -n "$M" ] && [ "$MEMLIM" -gt 0 ]; then
        MEM=$((M * 1000 / MEMLIM))
    fi
    START=$PREV_NOW  # this sample covers START..NOW
    PREV_NOW=$NOW
    if [ -n "$CPU" ]; then pct "$CPU"; CPU_S=$PCT; else CPU_S=-; fi
    if [ -n "$MEM" ]; then pct "$MEM"; MEM_S=$PCT; else MEM_S=-; fi
}

# ---- time, state, logs -------------------------------------------------------------------
sync_epoch() {
    BASE_EPOCH=$(date +%s) BASE_NOW=$NOW
}
epoch() {
    EPOCH=$((BASE_EPOCH + (NOW - BASE_NOW) / 100))
}
write_state() {
    printf 'state=%s reason=%s cpu=%s mem=%s since=%s updated=%s pid=%s\n' \
        "$ST" "$REASON" "$CPU_S" "$MEM_S" "$SINCE" "$EPOCH" "$$" >"$DIR/state.tmp.$$" &&
        mv -f "$DIR/state.tmp.$$" "$DIR/state"
    LAST_STATE=$NOW
}
load_state() {  # the state a previous watcher left (a restarted container keeps it)
    ST=collecting REASON=- SINCE=
    _l=
    { read -r _l <"$DIR/state"; } 2>/dev/null
    for _w in $_l; do
        case $_w in
            state=collecting | state=suspended | state=paused | state=off) ST=${_w#state=} ;;
            reason=?*) REASON=${_w#reason=} ;;
            since=*) SINCE=${_w#since=} ;;
        esac
    done
    case $SINCE in '' | *[!0-9]*) SINCE=$EPOCH ;; esac
}
TRANS_LINES=
log_transition() {  # text...
    if [ -z "$TRANS_LINES" ]; then
        TRANS_LINES=0
        [ -f "$DIR/transitions.log" ] && TRANS_LINES=$(wc -l <"$DIR/transitions.log")
    fi
    printf '%s\n' "$EPOCH $*" >>"$DIR/transitions.log"
    TRANS_LINES=$((TRANS_LINES + 1))
    if [ "$TRANS_LINES" -gt 1100 ]; then
        tail -n 1000 "$DIR/transitions.log" >"$DIR/transitions.tmp.$$" &&
            mv -f "$DIR/transitions.tmp.$$" "$DIR/transitions.log"
        TRANS_LINES=1000
    fi
}
transition() {  # new-state reason [note]
    ST=$1 REASON=$2 SINCE=$EPOCH LOW_AT=
    log_transition "$1 $2 cpu=$CPU_S mem=$MEM_S${3:+ $3}"
    write_state
}
SAMPLES_N=0
log_sample() {  # every 5 s
    [ -n "$CPU" ] && [ -n "$MEM" ] || return 0
    [ -z "$LAST_SAMPLE" ] || [ $((NOW - LAST_SAMPLE)) -ge 500 ] || return 0
    LAST_SAMPLE=$NOW
    printf '%s %s %s\n' "$EPOCH" "$CPU_S" "$MEM_S" >>"$DIR/samples.log"
    SAMPLES_N=$((SAMPLES_N + 1))
    [ $((SAMPLES_N % 60)) -eq 1 ] && trim_samples
}
trim_samples() {  # keep retention_s of samples
    _cut=$((EPOCH - P_RETENTION))
    _keep=0
    { while read -r _t _rest; do
        case $_t in '' | *[!0-9]*) continue ;; esac
        [ "$_t" -ge "$_cut" ] && break
        _keep=1
    done <"$DIR/samples.log"; } 2>/dev/null
    [ "$_keep" = 1 ] || return 0  # nothing is old
    { while read -r _t _rest; do
        case $_t in '' | *[!0-9]*) continue ;; esac
        [ "$_t" -ge "$_cut" ] && printf '%s %s\n' "$_t" "$_rest"
    done <"$DIR/samples.log" >"$DIR/samples.tmp.$$"; } 2>/dev/null &&
        mv -f "$DIR/samples.tmp.$$" "$DIR/samples.log"
}
purge_spdir() {  # report files older than retention + one run length
    case $P_SPDIR in /*/irisenv-sysperf | /*/irisenv-sysperf/) ;; *) return 0 ;; esac
    [ -d "$P_SPDIR" ] || return 0
    _run=$P_RETENTION
    [ "$_run" -le 3600 ] || _run=3600
    find "$P_SPDIR" -type f -mmin +$(((P_RETENTION + _run + 59) / 60)) -exec rm -f {} + 2>/dev/null
}

# ---- actions -----------------------------------------------------------------------------
# Pipes <name>.cos into `iris session <instance> -U %SYS`. Success: exit 0 and the last line
# that carries an IRISENV- tag is IRISENV-MON-OK (a session prompt before it is tolerated).
act() {  # suspend|resume -> 0 ok; ACT_ERR = the reason otherwise
    ACT_ERR=
    if [ ! -r "$DIR/$1.cos" ]; then ACT_ERR="no $1.cos"; return 1; fi
    if command -v timeout >/dev/null 2>&1; then
        _out=$(timeout 60 "$IRIS" session "$INSTANCE" -U %SYS <"$DIR/$1.cos" 2>&1)
    else
        _out=$("$IRIS" session "$INSTANCE" -U %SYS <"$DIR/$1.cos" 2>&1)
    fi
    _rc=$?
    _last=
    _old=$IFS; IFS=$NL
    set -f
    for _line in $_out; do
        case $_line in *IRISENV-*) _last=IRISENV-${_line#*IRISENV-} ;; esac
    done
    set +f
    IFS=$_old
    _last=${_last%"$CR"}
    while :; do case $_last in *' ') _last=${_last% } ;; *) break ;; esac; done
    [ "$_rc" -eq 0 ] && [ "$_last" = IRISENV-MON-OK ] && return 0
    if [ -n "$_last" ]; then ACT_ERR=$_last
    else ACT_ERR="exit $_rc: ${_out##*"$NL"}"; fi
    return 1
}
do_action() {  # suspend|resume new-state reason: the transition if the action worked
    if act "$1"; then
        transition "$2" "$3"
        return 0
    fi
    log_transition "error $3 cpu=$CPU_S mem=$MEM_S $1 failed: $ACT_ERR"
    RETRY_AT=$((NOW + 1000))  # try again in 10 s at the earliest
    return 1
}

# ---- the decision (one sample) -----------------------------------------------------------
step() {
    decide
    cadence
}

# While collecting, a sample at or over a disable threshold makes the next samples come every
# 50 ms until the disable window has been covered: the suspend then happens within 50 ms of
# the window's end instead of up to a whole sample later. One such episode (a window plus a
# sample) per 10 s at most, so a load that hovers at the threshold costs little.
cadence() {
    NEXT_SLEEP=$SLEEP_S
    [ "$ST" = collecting ] && [ "$P_ENABLED" = 1 ] && [ -z "$RETRY_AT" ] &&
        [ "$P_SAMPLE" -gt 50 ] || return 0
    { [ -n "$LAST_RATE" ] && [ "$LAST_RATE" -ge $((P_CPU_DIS * 10)) ]; } || [ -n "$MEMHI_AT" ] || return 0
    if [ -z "$SUSPECT_AT" ] || [ "$NOW" -lt "$SUSPECT_AT" ] || [ $((NOW - SUSPECT_AT)) -ge 1000 ]; then
        SUSPECT_AT=$NOW
    fi
    [ $((NOW - SUSPECT_AT)) -lt $(((P_DWIN + P_SAMPLE) / 10)) ] && NEXT_SLEEP=0.050
    return 0
}

decide() {
    sample
    epoch
    if [ "$P_ENABLED" != 1 ]; then
        [ "$ST" = off ] || transition off disabled
        return 0
    fi
    [ "$ST" = off ] && transition collecting -
    # At or over a disable threshold ("reaches 90 %": a threshold of 100 must mean full, not
    # never): CPU over the whole disable window (the rate is taken over it), or memory in
    # every sample for the window. Under both enable thresholds: every sample for the enable
    # window.
    HIGH= LOW=
    if [ -n "$MEM" ] && [ "$MEM" -ge $((P_MEM_DIS * 10)) ]; then
        [ -n "$MEMHI_AT" ] || MEMHI_AT=${START:-$NOW}
    else
        MEMHI_AT=
    fi
    if [ -n "$CPU" ] && [ "$CPU" -ge $((P_CPU_DIS * 10)) ] && [ "$SPAN" -ge $((P_DWIN / 10)) ]; then
        HIGH=cpu
    elif [ -n "$MEMHI_AT" ] && [ $((NOW - MEMHI_AT)) -ge $((P_DWIN / 10)) ]; then
        HIGH=memory
    elif [ -n "$CPU" ] && [ -n "$MEM" ] && [ "$CPU" -lt $((P_CPU_EN * 10)) ] &&
        [ "$MEM" -lt $((P_MEM_EN * 10)) ]; then
        LOW=1
    fi
    if [ -n "$LOW" ]; then [ -n "$LOW_AT" ] || LOW_AT=${START:-$NOW}; else LOW_AT=; fi
    [ -n "$RETRY_AT" ] && [ "$NOW" -ge "$RETRY_AT" ] && RETRY_AT=

    if [ -f "$DIR/pause" ]; then  # the user's pause wins
        if [ "$ST" != paused ]; then
            if [ "$ST" = collecting ] && ! act suspend; then
                log_transition "error manual cpu=$CPU_S mem=$MEM_S suspend failed: $ACT_ERR"
            fi
            transition paused manual
        fi
        return 0
    fi
    case $ST in
        paused)  # the user resumed: collect again unless the load is over a threshold now
            if [ -n "$HIGH" ]; then
                transition suspended "$HIGH"
            else
                do_action resume collecting - || { ST=suspended REASON=manual; write_state; }
            fi ;;
        collecting)
            if [ -n "$HIGH" ] && [ -z "$RETRY_AT" ]; then
                do_action suspend suspended "$HIGH"
            fi ;;
        suspended)
            if [ -n "$LOW_AT" ] && [ -z "$RETRY_AT" ] &&
                [ $((NOW - LOW_AT)) -ge $((P_EWIN / 10)) ]; then
                do_action resume collecting -
            fi ;;
    esac
    return 0
}

# ---- process bookkeeping -----------------------------------------------------------------
starttime() {  # pid -> START_T (field 22 of /proc/<pid>/stat); 1 when no such process
    START_T=
    _l=
    { read -r _l <"/proc/$1/stat"; } 2>/dev/null
    [ -n "$_l" ] || return 1
    _l=${_l##*) }
    set -- $_l
    START_T=${20}
    [ -n "$START_T" ]
}
live_watcher() {  # W_PID (and W_V, its script's version) if watch.pid names a live watcher
    W_PID= W_V= _t=
    { read -r W_PID _t W_V <"$DIR/watch.pid"; } 2>/dev/null
    case $W_PID in '' | *[!0-9]*) W_PID=; return 1 ;; esac
    starttime "$W_PID" && [ "$START_T" = "$_t" ] && return 0
    W_PID=
    return 1
}
script_version() {  # MY_V = checksum.size of this script (a running shell keeps its old code)
    MY_V=$(cksum <"$SELF" 2>/dev/null)
    set -- $MY_V
    MY_V=$1.$2
}
stop_watcher() {  # the live watcher W_PID: TERM, then wait up to 5 s for it to go
    kill "$W_PID" 2>/dev/null
    _i=0
    while [ $_i -lt 50 ] && live_watcher; do sleep 0.1; _i=$((_i + 1)); done
}

cmd_start() {
    mkdir -p "$DIR" 2>/dev/null
    script_version
    if live_watcher; then
        [ "$W_V" = "$MY_V" ] && exit 0
        # sync installed another watch.sh: the running loop still has the old code
        echo "$(date) start: replacing watcher $W_PID (script ${W_V:-unknown}, now $MY_V)" \
            >>"$DIR/watch.log"
        stop_watcher
    fi
    # detach: a new session where available, no inherited stdin/stdout (iris-main or
    # `docker exec` must not wait for them)
    if command -v setsid >/dev/null 2>&1; then
        setsid sh "$SELF" run </dev/null >>"$DIR/watch.log" 2>&1 &
    else
        sh "$SELF" run </dev/null >>"$DIR/watch.log" 2>&1 &
    fi
    exit 0
}
cmd_stop() {
    live_watcher && stop_watcher
    exit 0
}

# begin: what `run` and `once` read before their first sample (the policy, the cgroup and
# its limits, the clocks, the state a previous watcher left), the windows emptied
begin() {
    load_policy
    detect_cgroup
    read_limits
    read_now
    sync_epoch
    epoch
    load_state
    Q= PREV_NOW= MEMHI_AT= LOW_AT= RETRY_AT= LAST_SAMPLE= START= SUSPECT_AT=
}

cmd_run() {
    exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
    trap '' HUP
    mkdir -p "$DIR" || exit 1
    if live_watcher && [ "$W_PID" != $$ ]; then exit 0; fi  # another one runs
    starttime $$ || exit 1
    MY_T=$START_T
    script_version
    printf '%s %s %s\n' $$ "$MY_T" "$MY_V" >"$DIR/watch.pid.tmp.$$" &&
        mv -f "$DIR/watch.pid.tmp.$$" "$DIR/watch.pid"
    trap 'cleanup; exit 0' TERM INT
    begin
    LAST_STATE=
    NEXT_SLEEP=$SLEEP_S
    read_usage
    PREV_NOW=$NOW
    [ -n "$U" ] && Q=$NOW:$U
    CPU_S=- MEM_S=- CPU= MEM=
    echo "$(date) watcher $$ started (cgroup v$CGV, $NCPU_M/1000 CPUs, memory limit $MEMLIM)" >&2
    write_state
    purge_spdir
    LAST_POLICY=$NOW LAST_PURGE=$NOW
    while :; do
        sleep "$NEXT_SLEEP"
        step
        # once a second: every 4th sample at 250 ms (each takes a little over 250 ms)
        [ $((NOW - LAST_STATE)) -ge $((100 - P_SAMPLE / 20)) ] && write_state
        log_sample
        if [ $((NOW - LAST_POLICY)) -ge 200 ]; then  # every 2 s
            LAST_POLICY=$NOW
            # still ours? (a later watcher took over, or stop removed the file)
            _p= _t=
            { read -r _p _t <"$DIR/watch.pid"; } 2>/dev/null
            if [ "$_p" != $$ ]; then
                echo "$(date) watcher $$: watch.pid names ${_p:-nobody}, exiting" >&2
                exit 0
            fi
            load_policy
            read_limits
        fi
        if [ $((NOW - LAST_PURGE)) -ge 6000 ]; then  # every minute
            LAST_PURGE=$NOW
            purge_spdir
            sync_epoch
        fi
    done
}
cleanup() {
    _p=
    { read -r _p _t <"$DIR/watch.pid"; } 2>/dev/null
    [ "$_p" = $$ ] && rm -f "$DIR/watch.pid"
    rm -f "$DIR/state.tmp.$$" "$DIR/samples.tmp.$$" "$DIR/transitions.tmp.$$"
}

# once: one step, with the previous sample and the windows kept in watch.once
cmd_once() {
    mkdir -p "$DIR" || exit 1
    begin
    _l=
    { read -r _l <"$DIR/watch.once"; } 2>/dev/null
    for _w in $_l; do
        case $_w in
            PREV_NOW=* | MEMHI_AT=* | LOW_AT=* | RETRY_AT=* | LAST_SAMPLE=* | SUSPECT_AT=*)
                _v=${_w#*=}
                case $_v in *[!0-9]*) _v= ;; esac
                eval "${_w%%=*}=\$_v" ;;
            Q=*)
                _v=${_w#Q=}
                case $_v in *[!0-9:,]*) _v= ;; esac
                Q=$_v ;;
        esac
    done
    step
    log_sample
    write_state
    printf 'Q=%s PREV_NOW=%s MEMHI_AT=%s LOW_AT=%s RETRY_AT=%s LAST_SAMPLE=%s SUSPECT_AT=%s\n' \
        "$Q" "$PREV_NOW" "$MEMHI_AT" "$LOW_AT" "$RETRY_AT" "$LAST_SAMPLE" "$SUSPECT_AT" \
        >"$DIR/watch.once"
    cat "$DIR/state"
    echo "next_sample=$NEXT_SLEEP"
}

case $1 in
    start) cmd_start ;;
    stop) cmd_stop ;;
    run) cmd_run ;;
    once) cmd_once ;;
    *) echo "usage: sh watch.sh start|stop|run|once" >&2; exit 64 ;;
esac
