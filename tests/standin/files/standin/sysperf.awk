# sysperf.awk -- the monitoring calls of irisenv (irisenv/iris/monitoring.py and the TICK
# line of irisenv/core/monitoring.py), for the stand-in's "iris session" (loaded with
# session.awk). TEST DOUBLE ONLY. Each call and its source: tests/standin/README.md,
# "Monitoring".
#
# State (invented layout): tasks in $SD/tasks/<id> (key=value lines), ^SystemPerformance
# profiles and the log directory in the global ^IRIS.SystemPerformance of %SYS (the layout
# public third-party code shows), a running collector's pid in $SD/sysperf/<runid>.pid.
#
# Variables passed in: NOW (epoch seconds), CLOCK0 (epoch of the instance's first start, for
# the scaled clock), BOOT (epoch of this start), MINUTE (STANDIN_TASK_MINUTE_SECONDS; 60 =
# real time).

# ------------------------------------------------------------------ the clock
# The stand-in's IRIS clock: real time, or with STANDIN_TASK_MINUTE_SECONDS=N (invented) a
# clock running 60/N times faster from the instance's start, so that Task Manager minutes
# and ^SystemPerformance runs pass in seconds in the tests.
function clock_now(    m) {
    m = (MINUTE + 0 > 0) ? MINUTE + 0 : 60
    if (m == 60 || CLOCK0 == "") return NOW + 0
    return int(CLOCK0 + (NOW - CLOCK0) * 60 / m)
}
function real_seconds(s,    m) {   # stand-in clock seconds -> real seconds
    m = (MINUTE + 0 > 0) ? MINUTE + 0 : 60
    return s * m / 60
}
# $ZHOROLOG: seconds of the stand-in's clock since this start of the instance (BOOT, the
# epoch iris-main wrote at its start)
function zhorolog(    m) {
    m = (MINUTE + 0 > 0) ? MINUTE + 0 : 60
    return (NOW - BOOT) * 60 / m
}
# $HOROLOG: days since 31 Dec 1840, seconds since midnight (the container runs in UTC)
function horolog(    t) { t = clock_now(); return (int(t / 86400) + 47117) "," (t % 86400) }
# $ZDATETIME(h,-2): POSIX time of a $HOROLOG value (only dformat -2 is modelled)
function zdatetime(h, f,    p) {
    if (f + 0 != -2) { ERR = "<STANDIN UNSUPPORTED> $ZDATETIME: only dformat -2 is modelled"; return "" }
    split(h, p, ",")
    return (p[1] - 47117) * 86400 + p[2]
}

# ------------------------------------------------------------------ lists
# $ListBuild/$ListGet/$ListFind: a list is each element prefixed by LISTSEP (invented
# encoding; real lists are binary). Only what irisenv's statements use.
function list_build(d,    i, s) { s = ""; for (i = 1; i <= NA[d]; i++) s = s LISTSEP A[d, i]; return s }
function list_get(l, n,    k, c) {
    c = split(l, k, LISTSEP)
    if (index(l, LISTSEP) != 1 || n < 1 || n + 1 > c) return ""
    return k[n + 1]
}
function list_find(l, v,    k, c, i) {
    c = split(l, k, LISTSEP)
    for (i = 2; i <= c; i++) if (k[i] "" == v "") return i - 1
    return 0
}

# ------------------------------------------------------------------ %SYS.Task
function task_dir() { return SD "/tasks" }
function task_file(id) { return (id ~ /^[0-9]+$/) ? task_dir() "/" id : "" }
function task_exists(id,    f, l, r) { f = task_file(id); if (f == "") return 0; r = (getline l < f); close(f); return r > 0 }
function task_open(id,    oid, f, l, eq) {
    oid = ++NOBJ; OC[oid] = "%SYS.Task"; ON[oid] = id
    f = task_file(id)
    while ((getline l < f) > 0) {
        eq = index(l, "="); if (eq < 2) continue
        OP[oid, substr(l, 1, eq - 1)] = substr(l, eq + 1)
    }
    close(f)
    return OREF oid
}
function task_new(    oid) {
    oid = ++NOBJ; OC[oid] = "%SYS.Task"; ON[oid] = ""
    OP[oid, "Suspended"] = 0
    return OREF oid
}
# %Save: every property to the task's record; a new task gets the next id
function task_save(oid,    id, f, k, kk, n, c) {
    if (OP[oid, "Name"] == "") return status_err("ERROR #5659: Property '%SYS.Task::Name' required")
    if (OP[oid, "TaskClass"] == "") return status_err("ERROR #5659: Property '%SYS.Task::TaskClass' required")
    system("mkdir -p " shq(task_dir()))
    id = ON[oid]
    if (id == "") {
        f = SD "/task-next"; n = 0
        if ((getline c < f) > 0) n = c + 0
        close(f)
        id = (n > 0) ? n : 1
        while (task_exists(id)) id++
        print id + 1 > f; close(f)
        ON[oid] = id
    }
    f = task_file(id)
    printf "" > (f ".tmp")
    for (kk in OP) {
        split(kk, k, SUBSEP)
        if (k[1] != oid || k[2] == "%Id") continue
        if (index(OP[kk], "\n")) { close(f ".tmp"); return status_err("ERROR #5001: the stand-in cannot store a line break") }
        print k[2] "=" OP[kk] > (f ".tmp")
    }
    close(f ".tmp")
    system("mv " shq(f ".tmp") " " shq(f))
    return 1
}
function task_set_prop(id, prop, v,    f, l, eq, out, found) {
    f = task_file(id); out = ""; found = 0
    while ((getline l < f) > 0) {
        eq = index(l, "=")
        if (substr(l, 1, eq - 1) == prop) { l = prop "=" v; found = 1 }
        out = out l "\n"
    }
    close(f)
    if (!found) out = out prop "=" v "\n"
    printf "%s", out > (f ".tmp"); close(f ".tmp")
    system("mv " shq(f ".tmp") " " shq(f))
}
function task_call(meth, d, a1) {
    if (NS != "%SYS") { ERR = "<CLASS DOES NOT EXIST> *%SYS.Task"; return "" }
    if (meth == "%New") return task_new()
    if (meth == "%ExistsId") return task_exists(a1) ? 1 : 0
    if (meth == "%OpenId") return task_exists(a1) ? task_open(a1) : ""
    if (meth == "%DeleteId") {
        if (!task_exists(a1)) return status_err("ERROR #5810: Object to delete not found, class '%SYS.Task', ID '" a1 "'")
        system("rm -f " shq(task_file(a1)))
        return 1
    }
    if (meth == "Suspend" || meth == "Resume") {
        if (!task_exists(a1)) return status_err("ERROR #5809: Object to load not found, class '%SYS.Task', ID '" a1 "'")
        task_set_prop(a1, "Suspended", meth == "Suspend" ? 1 : 0)
        return 1
    }
    nometh("%SYS.Task", meth)
    return ""
}
# the properties a session may set or read on a %SYS.Task handle (%SYS.TaskSuper)
function task_prop(p) {
    return p ~ /^(Name|Description|NameSpace|TaskClass|Settings|TimePeriod|TimePeriodEvery|TimePeriodDay|DailyFrequency|DailyFrequencyTime|DailyIncrement|DailyStartTime|DailyEndTime|StartDate|Suspended|RunAsUser|Priority|RescheduleOnStart|Expires)$/
}

# ------------------------------------------------------------------ ^SystemPerformance
function sp_key(a, b) { return "IRIS.SystemPerformance" SUBSEP a (b == "" ? "" : SUBSEP b) }
function sp_logdir(    d) {
    d = (gdata(sp_key("logdir")) % 2) ? GVAL : ""
    if (d == "") d = MGRDIR "/"
    return d
}
# label^SystemPerformance(args): what irisenv calls (README "Monitoring")
function routine_call(x, label, routine, d,    a1, v, dir, n, runid, pidf, pid, host, cmd, t, f) {
    if (routine != "SystemPerformance" || NS != "%SYS") { ERR = "<NOROUTINE> *" routine; return "" }
    a1 = A[d, 1]
    if (label == "addprofile") {
        if (a1 ~ /[^A-Za-z0-9]/) gsub(/[^A-Za-z0-9]/, "", a1)   # non-alphanumerics stripped
        if (a1 == "") return "0^profile name is empty"
        if (gdata(sp_key("profile", a1)) % 2) return "0^profile name exists already"
        if (A[d, 3] + 0 < 1 || A[d, 3] + 0 > 300) return "0^interval must be 1 to 300 seconds"
        if (A[d, 4] + 0 < 1) return "0^count must be at least 1"
        gset(sp_key("profile", a1), LISTSEP A[d, 2] LISTSEP (A[d, 3] + 0) LISTSEP (A[d, 4] + 0))
        return 1
    }
    if (label == "delprofile") {
        if (!(gdata(sp_key("profile", a1)) % 2)) return "0^no such profile"
        gkill(sp_key("profile", a1))
        return 1
    }
    if (label == "setlogdir") {
        dir = a1; if (dir !~ /^\//) dir = MGRDIR "/" dir
        if (dir !~ /\/$/) dir = dir "/"
        system("mkdir -p " shq(dir) " 2>/dev/null")
        gset(sp_key("logdir"), dir)
        return ""
    }
    if (label == "getlogdir") return sp_logdir()
    if (label == "clrlogdir") { gkill(sp_key("logdir")); return "" }
    if (label == "run") {
        if (!(gdata(sp_key("profile", a1)) % 2)) return 0
        v = GVAL
        dir = sp_logdir()
        t = clock_now()
        cmd = "date -u -d @" t " +%Y%m%d_%H%M%S"; cmd | getline runid; close(cmd)
        runid = runid "_" a1
        system("mkdir -p " shq(SD "/sysperf") " " shq(dir) " 2>/dev/null")
        # the collector: in the background, detached from the session's output
        system("sh " shq(STANDIN_LIB "/sysperf.sh") " " shq(dir) " " shq(runid) " " \
               real_seconds(list_get(v, 2)) " " list_get(v, 3) " " shq(HOST) " " shq(INST) " " \
               shq(SD "/sysperf") " </dev/null >/dev/null 2>&1 &")
        print dir > (SD "/sysperf/" runid ".dir"); close(SD "/sysperf/" runid ".dir")
        return runid
    }
    if (label == "Stop") {
        pidf = SD "/sysperf/" a1 ".pid"
        if ((getline pid < pidf) <= 0) { close(pidf); return "0^no such runid or it is not running" }
        close(pidf)
        print ((NA[d] >= 2 && A[d, 2] "" == "0") ? "keep" : "delete") > (SD "/sysperf/" a1 ".stop")
        close(SD "/sysperf/" a1 ".stop")
        system("kill " (pid + 0) " 2>/dev/null; i=0; while [ -f " shq(pidf) " ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done")
        return "1:0:0:0_1:0:0:0"
    }
    if (label == "Preview") {
        # an interim report of a running run: "1^<file>" (GCM_systemperf); the file's name,
        # <report name>_P<n>.html, is INVENTED (no source shows it)
        pidf = SD "/sysperf/" a1 ".pid"
        if ((getline pid < pidf) <= 0) { close(pidf); return "0^no such runid or it is not running" }
        close(pidf)
        f = SD "/sysperf/" a1 ".dir"; dir = ""; getline dir < f; close(f)
        if (dir == "") return "0^no such runid or it is not running"
        n = dir HOST "_" INST "_" a1
        system("{ echo '<html><body><h1>Stand-in interim report " a1 "</h1><pre>'; cat " shq(n ".log") \
               " 2>/dev/null; echo '</pre></body></html>'; } > " shq(n "_P1.html"))
        return "1^" n "_P1.html"
    }
    ERR = "<NOLINE> *" label "^" routine
    return ""
}
