#!/bin/sh
# sysperf.sh -- one ^SystemPerformance run of the stand-in (started by $$run^SystemPerformance
# in sysperf.awk). TEST DOUBLE ONLY: it collects nothing real.
#   sh sysperf.sh LOGDIR RUNID INTERVAL COUNT HOST INSTANCE PIDDIR
# Writes LOGDIR/HOST_INSTANCE_RUNID.log (one line per sample, invented content), and when
# the run completes, or is stopped with $$Stop^SystemPerformance(runid,0), the report
# LOGDIR/HOST_INSTANCE_RUNID.html (the file name public sources show). A plain Stop
# deletes the .log file and writes no report (GCM_systemperf: Stop deletes the log files
# unless its second argument is 0). INTERVAL is in real seconds (the scaled clock).
dir=$1 runid=$2 interval=$3 count=$4 host=$5 inst=$6 piddir=$7
base="$dir${host}_${inst}_$runid"
pidf="$piddir/$runid.pid"
echo $$ >"$pidf"

report() {
    {
        echo "<html><head><title>^SystemPerformance $runid (irisenv stand-in)</title></head><body>"
        echo "<h1>Stand-in report $runid</h1><p>NOT IRIS: a test double's report.</p><pre>"
        cat "$base.log" 2>/dev/null
        echo "</pre></body></html>"
    } >"$base.html.tmp" && mv "$base.html.tmp" "$base.html"
}
finish() {
    mode=$(cat "$piddir/$runid.stop" 2>/dev/null)
    if [ "$mode" = delete ]; then rm -f "$base.log"; else report; fi
    rm -f "$pidf" "$piddir/$runid.stop"
    exit 0
}
trap finish TERM INT

: >"$base.log"
i=0
while [ "$i" -lt "$count" ]; do
    i=$((i + 1))
    echo "sample $i of $count at $(date -u +%s) (stand-in)" >>"$base.log"
    sleep "$interval" & wait $!
done
finish
