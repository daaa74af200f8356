# init.awk -- the IRIS calls of irisenv's declared init (irisenv/iris/init.py), for the
# stand-in's "iris session" (loaded with session.awk). TEST DOUBLE ONLY.
# Each call and what it imitates is in tests/standin/README.md, "Declared init".
#
# State (the stand-in's own bookkeeping, invented layout), under the Directory of the
# namespace's Routines database, so a database drop + rm -rf clears it:
#   standin-classes/<Class>.cls   a compiled class (its source, to run its class methods)
#   standin-routines/<name>       a compiled routine (.mac .int .inc)
#   standin-sql/<SCHEMA.TABLE>    a table created by CREATE TABLE (holds its row count)

# the Directory of the current namespace's Routines database ("" + ERR when none)
function code_dir(    db, dir) {
    db = rec_get("namespaces", NS, "Routines")
    dir = (db == "") ? "" : rec_get("databases", db, "Directory")
    if (dir == "") { ERR = "<DIRECTORY> routines database of namespace " NS " is not configured"; return "" }
    sub(/\/+$/, "", dir)
    return dir
}
function readable(f,    l, r) { r = (getline l < f); close(f); return r >= 0 }

# $SYSTEM.OBJ.Load(file,qspec,.err): load and compile one file; %Status
function obj_load(file, errvar,    dir, n, st) {
    dir = code_dir(); if (dir == "") return ""
    NLOADERR = 0; LOADERR = ""
    if (!readable(file)) st = status_err("ERROR #5012: File '" file "' does not exist")
    else { load_one(file, dir); st = NLOADERR ? status_err(LOADERR) : 1 }
    if (errvar != "") V[errvar] = NLOADERR
    return st
}

# $SYSTEM.OBJ.ImportDir(dir,types,qspec,.err,recurse): every file under dir whose
# extension is one of types ("*.cls;*.mac"), recursively when recurse is true; %Status
function obj_importdir(src, types, errvar, recurse,    dir, cmd, f, n, t, i, ext, want, cnt) {
    dir = code_dir(); if (dir == "") return ""
    NLOADERR = 0; LOADERR = ""
    sub(/\/+$/, "", src)
    if (system("test -d " shq(src)) != 0) {
        if (errvar != "") V[errvar] = 1
        return status_err("ERROR #5021: Directory '" src "' does not exist")
    }
    n = split(types, t, ";")
    for (i = 1; i <= n; i++) { ext = t[i]; sub(/^\*\./, "", ext); want[tolower(ext)] = 1 }
    cmd = "find " shq(src) (truthy(recurse) ? "" : " -maxdepth 1") " -type f | sort"
    cnt = 0
    while ((cmd | getline f) > 0) {
        ext = f; sub(/^.*\./, "", ext)
        if (!(tolower(ext) in want)) continue
        load_one(f, dir); cnt++
    }
    close(cmd)
    if (errvar != "") V[errvar] = NLOADERR
    return NLOADERR ? status_err(LOADERR) : 1
}

# load and compile one file into the routines database dir; on a compile error add to
# NLOADERR/LOADERR. Stand-in convention (invented): a line containing
# STANDIN-SYNTAX-ERROR is a syntax error at that line; every other line compiles.
function load_one(f, dir,    ext, l, ln, bad, badtext, name, base) {
    ext = f; sub(/^.*\./, "", ext); ext = tolower(ext)
    base = f; sub(/^.*\//, "", base)
    if (ext == "xml") { loaderr("ERROR #5001: the stand-in cannot load XML exports: " base); return }
    ln = 0; bad = 0; name = ""
    while ((getline l < f) > 0) {
        ln++
        if (!bad && index(l, "STANDIN-SYNTAX-ERROR")) { bad = ln; badtext = l }
        if (ext == "cls" && name == "" && match(l, /^[ \t]*Class[ \t]+%?[A-Za-z][A-Za-z0-9.]*/)) {
            name = substr(l, RSTART, RLENGTH); sub(/^[ \t]*Class[ \t]+/, "", name)
        }
    }
    close(f)
    if (ext == "cls") {
        if (name == "") { loaderr("ERROR #5559: The class definition for class '" base "' could not be parsed correctly, possibly due to non-matching {} or () characters"); return }
        if (bad) {
            system("rm -f " shq(dir "/standin-classes/" name ".cls"))
            sub(/^[ \t]+/, "", badtext)
            loaderr("ERROR #5475: Error compiling routine: " name ".1. Errors: ERROR: " name ".cls(+" bad ") #1003: Expected space : '" badtext "' > ERROR #5030: An error occurred while compiling class '" name "'")
            return
        }
        system("mkdir -p " shq(dir "/standin-classes") " && cp " shq(f) " " shq(dir "/standin-classes/" name ".cls"))
        return
    }
    name = base; sub(/\.[^.]*$/, "", name)
    if (bad) { sub(/^[ \t]+/, "", badtext); loaderr("ERROR #5475: Error compiling routine: " base ". Errors: ERROR: " base "(+" bad ") #1003: Expected space : '" badtext "'"); return }
    system("mkdir -p " shq(dir "/standin-routines") " && cp " shq(f) " " shq(dir "/standin-routines/" base))
}
function loaderr(msg) { NLOADERR++; LOADERR = (LOADERR == "") ? msg : LOADERR " > " msg }

# ##class(%Dictionary.CompiledClass).%ExistsId(name): 1 when the class is compiled
function class_compiled(name,    dir) {
    dir = code_dir(); if (dir == "") return ""
    if (name !~ /^%?[A-Za-z][A-Za-z0-9.]*$/) return 0
    return readable(dir "/standin-classes/" name ".cls") ? 1 : 0
}

# ##class(Cls).Meth() of a class compiled in the namespace: the method's body lines (from
# "ClassMethod Meth()" to the "}" alone on its line) run one by one in this grammar; a
# line "quit EXPR" or "return EXPR" ends it with EXPR's value. Arguments are not modelled.
# Returns 1 when the class is known (result in CALLRET), 0 otherwise.
function user_call(cls, meth, nargs,    dir, f, l, in_, body, n, i, lines, m) {
    CALLRET = ""
    dir = code_dir(); if (dir == "") return 1
    f = dir "/standin-classes/" cls ".cls"
    if (!readable(f)) { ERR = ""; return 0 }
    if (nargs > 0) { ERR = "<STANDIN UNSUPPORTED> " cls "." meth ": arguments are not modelled"; return 1 }
    in_ = 0; body = 0; n = 0
    while ((getline l < f) > 0) {
        if (!in_) {
            if (l ~ ("^[ \t]*ClassMethod[ \t]+" meth "\\(")) in_ = 1
            continue
        }
        if (!body) { if (l ~ /^[ \t]*\{[ \t]*$/) body = 1; continue }
        if (l ~ /^[ \t]*\}[ \t]*$/) break
        lines[++n] = l
    }
    close(f)
    if (!body) { ERR = "<METHOD DOES NOT EXIST> *" meth "," cls; return 1 }
    for (i = 1; i <= n; i++) {
        l = lines[i]; sub(/^[ \t]+/, "", l); sub(/[ \t\r]+$/, "", l)
        if (l == "" || l ~ /^(\/\/|;)/) continue
        if (match(tolower(l), /^(quit|q|return|ret)[ \t]+/)) {
            xecute_line("set %zStandinRet=" substr(l, RLENGTH + 1))
            if (ERR == "") CALLRET = V["%zStandinRet"]
            return 1
        }
        xecute_line(l)
        if (ERR != "") return 1
    }
    return 1
}

# XECUTE: run string s as a line of statements, inside the current one (locals shared).
# A line that does not parse is the runtime error <SYNTAX> of the XECUTE (RCOS_cxecute).
function xecute_line(s,    sL, sP, sBD, sLOOPS, sQ) {
    sL = L; sP = P; sBD = BD; sLOOPS = LOOPS; sQ = QUITTING
    L = s; sub(/^[ \t]+/, "", L); sub(/[ \t]+$/, "", L)
    P = 1; SYN = ""; BD = 0; LOOPS = 0; QUITTING = 0
    if (L != "") {
        stmts(0, 0)
        if (SYN == "" && P <= length(L)) SYN = "<SYNTAX>"
        if (SYN != "") { SYN = ""; ERR = "<SYNTAX>" }
        else { P = 1; stmts(1, 0) }
    }
    L = sL; P = sP; BD = sBD; LOOPS = sLOOPS; QUITTING = sQ; SYN = ""
}

# ##class(%SQL.Statement).%ExecDirect(,sql): a %SQL.StatementResult handle whose
# %SQLCODE, %Message and %ROWCOUNT say how the statement went. The stand-in knows
# CREATE TABLE, DROP TABLE and INSERT INTO only (invented subset); anything else is
# SQLCODE -1 (RSQL_sqlerrors).
function sql_exec(sql,    dir, s, u, t, code, msg, rows, f, cnt) {
    dir = code_dir(); if (dir == "") return ""
    s = sql; gsub(/[ \t\r\n]+/, " ", s); sub(/^ /, "", s); sub(/ $/, "", s)
    u = toupper(s); code = 0; msg = ""; rows = 0
    if (match(u, /^CREATE TABLE [A-Z_%][A-Z0-9_.]* ?\(.*\)$/)) {
        t = sql_table(substr(u, 14))
        f = dir "/standin-sql/" t
        if (readable(f)) { code = -201; msg = "Table '" t "' already exists" }
        # stand-in convention (invented): a table named STANDIN_NOT_CREATED... reports
        # success and is not created (what irisenv's TableExists check must catch)
        else if (t ~ /\.STANDIN_NOT_CREATED/) code = 0
        else system("mkdir -p " shq(dir "/standin-sql") " && echo 0 > " shq(f))
    } else if (match(u, /^DROP TABLE [A-Z_%][A-Z0-9_.]*$/)) {
        t = sql_table(substr(u, 12)); f = dir "/standin-sql/" t
        if (!readable(f)) { code = -30; msg = "Table '" t "' not found" }
        else system("rm -f " shq(f))
    } else if (match(u, /^INSERT INTO [A-Z_%][A-Z0-9_.]* ?(\(.*\) ?)?VALUES ?\(.*\)$/)) {
        t = sql_table(substr(u, 13)); f = dir "/standin-sql/" t
        if (!readable(f)) { code = -30; msg = "Table '" t "' not found" }
        else { getline cnt < f; close(f); system("echo " (cnt + 1) " > " shq(f)); rows = 1 }
    } else {
        code = -1; msg = "Invalid SQL statement: the stand-in understands CREATE TABLE, DROP TABLE and INSERT INTO ... VALUES only"
    }
    return sql_result(code, msg, rows)
}
# ##class(%SYSTEM.SQL.Schema).TableExists(name): 1 when the table exists in the current
# namespace, else 0; an unqualified name gets the default schema SQLUSER; "quotes" and
# case are ignored (the stand-in only creates unquoted names)
function sql_table_exists(name,    dir, u) {
    dir = code_dir(); if (dir == "") return ""
    u = toupper(name); gsub(/"/, "", u)
    if (u !~ /^[A-Z_%][A-Z0-9_.]*$/) return 0
    return readable(dir "/standin-sql/" sql_table(u)) ? 1 : 0
}
# the table named at the start of s, with the default schema SQLUSER
function sql_table(s,    t) {
    match(s, /^[A-Z_%][A-Z0-9_.]*/); t = substr(s, 1, RLENGTH)
    return index(t, ".") ? t : "SQLUSER." t
}
function sql_result(code, msg, rows,    id) {
    id = ++NOBJ; OC[id] = "%SQL.StatementResult"
    OP[id, "%SQLCODE"] = code; OP[id, "%Message"] = msg; OP[id, "%ROWCOUNT"] = rows
    return OREF id
}

# ##class(%Library.Global).Import(ns,"*",file,7): each non-blank line of the file is a
# node in ZWRITE form, ^Name(subs)=value, set in namespace ns (the stand-in's stand-in for
# the %GOF block format, invented); a line that is not is an error naming it.
function global_import(ns, list, file, fmt,    save, l, ln, st) {
    if (fmt + 0 != 7) return status_err("ERROR #5001: the stand-in imports format 7 (%GOF) only, not " fmt)
    if (list != "*") return status_err("ERROR #5001: the stand-in imports the global list \"*\" only")
    if (!readable(file)) return status_err("ERROR #5012: File '" file "' does not exist")
    save = NS; NS = toupper(ns)
    if (!rec_exists("namespaces", NS)) { NS = save; return status_err("ERROR #5001: Namespace " ns " does not exist") }
    ln = 0; st = 1
    while ((getline l < file) > 0) {
        ln++
        sub(/\r$/, "", l)
        if (l ~ /^[ \t]*$/) continue
        if (l !~ /^\^/) { st = status_err("ERROR #5001: " file " line " ln " is not a global node the stand-in can import"); break }
        xecute_line("set " l)
        if (ERR != "") { st = status_err("ERROR #5001: " file " line " ln ": " ERR); ERR = ""; break }
    }
    close(file)
    NS = save
    return st
}
