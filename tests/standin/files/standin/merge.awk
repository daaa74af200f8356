# merge.awk -- the stand-in's CPF merge engine (busybox awk).
# TEST DOUBLE ONLY. Imitates docs/learnings/merge.md; see README "Merge engine".
#
# Variables passed in: SD (state root), MGR (mgr dir), CPF (target CPF),
# FILE (merge file, for messages), STICKY (STANDIN_STICKY_PASSWORD_CHANGE).
#
# Phase 1 (while reading): split into sections. "[Actions]" (exact case) lines
#   are parsed and validated; other sections' key=value lines are recorded in
#   the CPF; "[actions]" in any other case is silently ignored.
# Phase 2 (END): if any action line is invalid, print every invalid line and
#   exit 1 with nothing applied. Otherwise apply the actions in the fixed order
#   of ORDER below (file order only breaks ties), logging to SD/merge.log. A
#   runtime failure stops processing there (earlier actions stay applied) and
#   exits 1.

BEGIN {
    # fixed processing order (docs/learnings/merge.md; deletes placed by the stand-in)
    n = split("CreateDatabase CreateNamespace ModifyService DeleteUser CreateUser ModifyUser DeleteNamespace DeleteDatabase", ORDER, " ")
    for (i = 1; i <= n; i++) RANK[ORDER[i]] = i
    REQ["CreateDatabase"] = "Name Directory"
    REQ["DeleteDatabase"] = "Name Directory"
    REQ["CreateNamespace"] = "Name Globals"
    REQ["DeleteNamespace"] = "Name"
    REQ["CreateUser"] = "Name PasswordHash"
    REQ["ModifyUser"] = "Name"
    REQ["DeleteUser"] = "Name"
    REQ["ModifyService"] = "Name"
    SYSDB["IRISSYS"] = SYSDB["IRISLIB"] = SYSDB["IRISTEMP"] = SYSDB["IRISAUDIT"] = 1
    SYSDB["IRISLOCALDATA"] = SYSDB["ENSLIB"] = 1
    section = ""; NACT = 0; NBAD = 0; NCPF = 0
}

function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
function bad(msg) { NBAD++; BADMSG[NBAD] = "ERROR: line " FNR " of " FILE ": " msg ": " RAW }

# Split "Prop=Value,Prop=Value" into P[i,"k"], P[i,"v"]; returns -1 on error.
# Values may be "double quoted" ("" = literal quote; commas inside do not
# split). A comma-separated piece without "=" continues the previous value
# (the unquoted community form PasswordHash=<hash>,<salt>,10000,SHA512).
function parse_props(i, s,    pos, c, key, val, n, eq, q, L) {
    n = 0; L = length(s); pos = 1
    while (pos <= L) {
        # read a key up to "=" or ","
        key = ""
        while (pos <= L && (c = substr(s, pos, 1)) != "=" && c != ",") { key = key c; pos++ }
        if (pos > L || c == ",") {          # piece without "=": continuation
            if (n == 0) return -1
            P[i, n, "v"] = P[i, n, "v"] "," key
            pos++
            continue
        }
        pos++                                # skip "="
        key = trim(key)
        if (key == "") return -1
        val = ""
        if (substr(s, pos, 1) == "\"") {
            pos++; q = 0
            while (pos <= L) {
                c = substr(s, pos, 1)
                if (c == "\"") {
                    if (substr(s, pos + 1, 1) == "\"") { val = val "\""; pos += 2; continue }
                    q = 1; pos++; break
                }
                val = val c; pos++
            }
            if (!q) return -1                # unterminated quote
            if (pos <= L && substr(s, pos, 1) != ",") return -1
        } else {
            while (pos <= L && (c = substr(s, pos, 1)) != ",") { val = val c; pos++ }
        }
        pos++                                # skip ","
        n++; P[i, n, "k"] = key; P[i, n, "v"] = val
    }
    return n
}

function prop(i, key,    j) {
    for (j = 1; j <= NP[i]; j++) if (P[i, j, "k"] == key) return P[i, j, "v"]
    return ""
}
function hasprop(i, key,    j) {
    for (j = 1; j <= NP[i]; j++) if (P[i, j, "k"] == key) return 1
    return 0
}

{ RAW = $0; sub(/\r$/, "", RAW); line = trim(RAW) }

line ~ /^\[.*\]$/ { section = substr(line, 2, length(line) - 2); next }

line == "" { next }

section == "Actions" {
    c = index(line, ":")
    if (c < 2) { bad("not an Action:Prop=Value line"); next }
    act = substr(line, 1, c - 1)
    if (!(act in RANK)) { bad("unknown or unsupported action " act); next }
    NACT++; ACT[NACT] = act; LNO[NACT] = FNR; LTXT[NACT] = RAW
    NP[NACT] = parse_props(NACT, substr(line, c + 1))
    if (NP[NACT] < 0) { bad("malformed property list"); next }
    nr = split(REQ[act], req, " ")
    for (r = 1; r <= nr; r++)
        if (!hasprop(NACT, req[r]) || prop(NACT, req[r]) == "") bad(act " requires " req[r])
    if (act == "CreateUser" && hasprop(NACT, "Password"))
        bad("CreateUser does not accept Password; use PasswordHash")
    next
}

# any other section (not "[Actions]"): "[actions]" is silently ignored,
# other sections' parameters are recorded in the CPF.
tolower(section) == "actions" || section == "" { next }
{
    eq = index(line, "=")
    if (eq < 2) { bad("not a Parameter=Value line in [" section "]"); next }
    NCPF++; CS[NCPF] = section; CK[NCPF] = trim(substr(line, 1, eq - 1)); CV[NCPF] = substr(line, eq + 1)
}

# ---------------------------------------------------------------- state files
function rec_new(i, skipkey,    j) {   # R := props of action i
    delete R; delete RK; NR_ = 0
    for (j = 1; j <= NP[i]; j++) if (P[i, j, "k"] != skipkey) rec_set(P[i, j, "k"], P[i, j, "v"])
}
function note(i, what) { print "line " LNO[i] ": " ACT[i] " " what >> (SD "/merge.log") }
function fail(i, msg) {
    print "ERROR: line " LNO[i] " of " FILE " failed: " msg ": " LTXT[i]
    note(i, "FAILED: " msg); close(SD "/merge.log")
    exit 1
}

# ------------------------------------------------------------------- actions
function apply(i,    a, name, dir, g, r, j, k) {
    a = ACT[i]; name = prop(i, "Name")
    if (a == "CreateDatabase") {
        name = toupper(name)
        if (rec_exists("databases", name)) { note(i, "skipped: database " name " exists"); return }
        dir = prop(i, "Directory"); if (dir !~ /^\//) dir = MGR "/" dir
        if (system("mkdir -p " shq(dir) " 2>/dev/null && touch " shq(dir "/IRIS.DAT") " 2>/dev/null") != 0)
            fail(i, "ERROR #5001: Cannot create target: " dir)
        rec_new(i, ""); rec_set("Name", name); rec_set("Directory", dir)
        rec_save("databases", name); note(i, "applied: database " name)
    } else if (a == "DeleteDatabase") {
        name = toupper(name)
        if (!rec_exists("databases", name)) { note(i, "skipped: database " name " absent"); return }
        if (name in SYSDB) fail(i, "system database " name " cannot be deleted")
        system("rm -f " shq(rec_path("databases", name))); note(i, "applied: database " name " deleted (files kept)")
    } else if (a == "CreateNamespace") {
        name = toupper(name)
        if (rec_exists("namespaces", name)) { note(i, "skipped: namespace " name " exists"); return }
        g = toupper(prop(i, "Globals")); r = toupper(prop(i, "Routines")); if (r == "") r = g
        if (!rec_exists("databases", g)) fail(i, "Globals database " g " does not exist")
        if (!rec_exists("databases", r)) fail(i, "Routines database " r " does not exist")
        rec_new(i, ""); rec_set("Name", name); rec_set("Globals", g); rec_set("Routines", r)
        rec_save("namespaces", name); note(i, "applied: namespace " name)
    } else if (a == "DeleteNamespace") {
        name = toupper(name)
        if (!rec_exists("namespaces", name)) { note(i, "skipped: namespace " name " absent"); return }
        if (name == "%SYS") fail(i, "namespace %SYS cannot be deleted")
        system("rm -f " shq(rec_path("namespaces", name))); note(i, "applied: namespace " name " deleted")
    } else if (a == "CreateUser") {
        if (rec_exists("users", name)) { note(i, "skipped: user " name " exists"); return }
        delete R; delete RK; NR_ = 0
        rec_set("Name", name); rec_set("Enabled", 1); rec_set("ChangePassword", 0)
        rec_set("PasswordNeverExpires", 0); rec_set("AccountNeverExpires", 0); rec_set("Roles", "")
        for (j = 1; j <= NP[i]; j++) if (P[i, j, "k"] != "Name") rec_set(P[i, j, "k"], P[i, j, "v"])
        rec_save("users", name); note(i, "applied: user " name)
    } else if (a == "DeleteUser") {
        if (!rec_exists("users", name)) { note(i, "skipped: user " name " absent"); return }
        system("rm -f " shq(rec_path("users", name))); note(i, "applied: user " name " deleted")
    } else if (a == "ModifyUser" || a == "ModifyService") {
        k = (a == "ModifyUser") ? "users" : "services"
        if (!rec_exists(k, name)) { note(i, "skipped: " name " does not exist"); return }
        rec_load(k, name)
        for (j = 1; j <= NP[i]; j++) {
            if (P[i, j, "k"] == "Name") continue
            # STANDIN_STICKY_PASSWORD_CHANGE=1: ChangePassword is silently not
            # applied to _SYSTEM (lets tests prove irisenv verifies).
            if (STICKY == "1" && a == "ModifyUser" && tolower(name) == "_system" && P[i, j, "k"] == "ChangePassword") continue
            rec_set(P[i, j, "k"], P[i, j, "v"])
        }
        rec_save(k, name); note(i, "applied: " name)
    }
}

# Record non-[Actions] parameters in the CPF (section order kept, keys updated).
function write_cpf(    l, s, ns, nk, j, found, sec, eq, k, f) {
    ns = 0; s = ""
    while ((getline l < CPF) > 0) {
        l = trim(l)
        if (l ~ /^\[.*\]$/) { s = substr(l, 2, length(l) - 2); if (!(s in SEEN)) { SEEN[s] = 1; ns++; SECS[ns] = s; NK[s] = 0 }; continue }
        eq = index(l, "="); if (eq < 2 || s == "") continue
        k = substr(l, 1, eq - 1)
        if (!((s, k) in V)) { NK[s]++; KEYS[s, NK[s]] = k }
        V[s, k] = substr(l, eq + 1)
    }
    close(CPF)
    for (j = 1; j <= NCPF; j++) {
        s = CS[j]; k = CK[j]
        if (!(s in SEEN)) { SEEN[s] = 1; ns++; SECS[ns] = s; NK[s] = 0 }
        if (!((s, k) in V)) { NK[s]++; KEYS[s, NK[s]] = k }
        V[s, k] = CV[j]
    }
    f = CPF ".tmp"
    printf "" > f
    for (j = 1; j <= ns; j++) {
        s = SECS[j]; print "[" s "]" > f
        for (k = 1; k <= NK[s]; k++) print KEYS[s, k] "=" V[s, KEYS[s, k]] > f
        print "" > f
    }
    close(f)
    system("mv " shq(f) " " shq(CPF))
}

END {
    if (NBAD > 0) {
        for (b = 1; b <= NBAD; b++) print BADMSG[b]
        exit 1
    }
    print "merge of " FILE " (" NACT " action lines)" >> (SD "/merge.log")
    if (NCPF > 0) write_cpf()
    for (o = 1; o <= n; o++)
        for (i = 1; i <= NACT; i++)
            if (ACT[i] == ORDER[o]) apply(i)
    close(SD "/merge.log")
    exit 0
}
