#!/bin/sh
# taskmgr.sh -- the stand-in's Task Manager (started by /iris-main once logons are enabled).
# TEST DOUBLE ONLY. Every minute it runs each task of $SD/tasks/<id> that is due: not
# suspended, TaskClass %SYS.Task.RunLegacyTask, scheduled several times a day every
# DailyIncrement minutes (DailyFrequency=1, DailyFrequencyTime=0); its ExecuteCode is
# XECUTEd in a session of its NameSpace, which does not see any `docker exec` environment
# (Task Manager jobs are not started from one). Other schedules never fire here (invented
# simplification). STANDIN_TASK_MINUTE_SECONDS=N makes a minute N seconds (invented).
#   sh taskmgr.sh SD
SD=$1
minute=${STANDIN_TASK_MINUTE_SECONDS:-60}
prop() { sed -n "s/^$1=//p" "$2" | head -n 1; }
n=0
while :; do
    sleep "$minute" & wait $!
    n=$((n + 1))
    [ "$(cat "$SD/run/state" 2>/dev/null)" = running ] || continue
    for f in "$SD"/tasks/*; do
        [ -f "$f" ] || continue
        id=${f##*/}
        case "$id" in *[!0-9]*) continue ;; esac
        susp=$(prop Suspended "$f")
        [ -z "$susp" ] || [ "$susp" = 0 ] || continue
        [ "$(prop TaskClass "$f")" = "%SYS.Task.RunLegacyTask" ] || continue
        [ "$(prop DailyFrequency "$f")" = 1 ] && [ "$(prop DailyFrequencyTime "$f")" = 0 ] || continue
        inc=$(prop DailyIncrement "$f"); case "$inc" in ''|*[!0-9]*|0) inc=1 ;; esac
        [ $((n % inc)) -eq 0 ] || continue
        ns=$(prop NameSpace "$f"); [ -n "$ns" ] || ns=%SYS
        echo "$(date -u +%s) task $id fires" >>"$SD/taskmgr.log"
        printf 'set t=##class(%%SYS.Task).%%OpenId(%s) xecute $ListGet(t.Settings,2)\n' "$id" |
            STANDIN_SESSION_PROMPTS=0 iris session IRIS -U "$ns" >>"$SD/taskmgr.log" 2>&1
    done
done
