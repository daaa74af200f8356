# session.awk -- "session grammar v2" (v1 plus globals, Security.Users objects,
# Security.Users.Create, kill, $Data, $Order, argumentless for with quit): the
# tiny ObjectScript subset that the stand-in's "iris session" understands
# (busybox awk). TEST DOUBLE ONLY.
# The grammar is specified in tests/standin/README.md; docs/learnings/objectscript.md.
#
# Variables passed in: SD (state root), NS (namespace, upper case), PROMPTS
# (1 = print banner and "NS>" prompts like a piped real session), ENTRY
# (entry-ref argument: run "do ENTRY" once instead of reading stdin),
# VERSION, ARCH, HOST, INST, JOB.
#
# How it works: each input line is interpreted twice by the same recursive
# descent functions. Pass 1 runs with x=0 (parse only, no effects); if the
# line does not parse, "<SYNTAX>" is printed and the line is skipped, exit
# code untouched (docs/learnings/objectscript.md). Pass 2 runs with x=1 and executes. Every parse
# function takes x; effects happen only when x is true and no error is
# pending, so after an error the rest of the line is still parsed (to find a
# catch block) but not executed.
#
# Globals: L (line), P (position), SYN (syntax error text), ERR (pending
# runtime error text), V (locals: V[name] or V[name SUBSEP sub]), LOOPS (for
# loops entered), QUITTING (a quit ends the innermost for: nothing more runs
# until that loop's block has been parsed to its end).
# Values are strings; an exception object is OBJ "<text>"; an object handle
# (oref) is OREF "<id>", its class in OC[id], its record name in ON[id], its
# properties in OP[id, prop] and the properties assigned since it was opened
# in OM[id, prop].
# ObjectScript globals (^NAME(subs)) live in the IRIS.DAT file of the
# namespace's Globals database, as text lines (see "global storage" below).

BEGIN {
    OBJ = "\001EXC\001"; OREF = "\001REF\001"; NOBJ = 0; LISTSEP = "\003"
    # stored-password markers (plain text; the stand-in is a test double):
    # PWDEFMARK for the predefined accounts (lib.sh), PWMARK for passwords set
    # by a session (Create, PasswordExternal). A real PasswordHash never matches.
    PWDEFMARK = "standin-default-password:"; PWMARK = "standin-plain-password:"
    # Security.Users properties a session may assign on an object handle (docs/learnings/objectscript.md)
    n = split("PasswordExternal ChangePassword PasswordNeverExpires AccountNeverExpires Enabled Roles FullName Comment NameSpace Routine ExpirationDate", UPROPS, " ")
    for (i = 1; i <= n; i++) USERPROP[UPROPS[i]] = 1
    OUTCOL = 0; EXITCODE = 0; DEPTH = 0
    MON["ok"] = 0; MON["warn"] = 1; MON["alert"] = 2; MON["hung"] = -1
    split(VERSION, vp, ".")
    ZV = "IRIS for UNIX (Ubuntu Server LTS for " (ARCH == "aarch64" ? "ARM64" : "x86-64") \
         " Containers) " vp[1] "." vp[2] " (Build " vp[4] "U) Mon Mar 24 2025 12:00:00 EDT [irisenv stand-in]"
    if (ENTRY != "") { run_line("do " ENTRY); finish() }
    if (PROMPTS == 1) out("\nNode: " HOST ", Instance: " INST "\n")
}

{
    sub(/\r$/, "")
    if (PROMPTS == 1) out("\n" NS ">")
    run_line($0)
}

END { finish() }

function finish() {
    if (PROMPTS == 1 && OUTCOL) printf "\n"
    OUTCOL = 0
    exit EXITCODE
}

# ------------------------------------------------------------------ output
function out(s) {
    if (s == "") return
    printf "%s", s
    OUTCOL = (substr(s, length(s)) != "\n")
}
function errline(s) { if (OUTCOL) out("\n"); out(s "\n") }

# ------------------------------------------------------------------ driver
function run_line(line) {
    L = line; sub(/^[ \t]+/, "", L); sub(/[ \t]+$/, "", L)
    if (L == "") return
    # pass 1: syntax check
    P = 1; SYN = ""; ERR = ""; BD = 0; LOOPS = 0; QUITTING = 0
    stmts(0, 0)
    if (SYN == "" && P <= length(L)) SYN = "<SYNTAX>"
    if (SYN != "") { errline("<SYNTAX>"); return }
    # pass 2: execute
    P = 1; SYN = ""; ERR = ""; DEPTH = 0; BD = 0; LOOPS = 0; QUITTING = 0
    stmts(1, 0)
    if (ERR != "") { errline(ERR); ERR = "" }
}

# ------------------------------------------------------------------ lexing
function ch() { return substr(L, P, 1) }
function eol() { return P > length(L) }
function skipsp() { while (ch() == " " || ch() == "\t") P++ }
function syn() { if (SYN == "") SYN = "<SYNTAX>"; return "" }
function expect(c) { if (ch() != c) return syn(); P++; return 1 }
function word(   s) { s = ""; while (ch() ~ /[A-Za-z]/) { s = s ch(); P++ }; return s }
function ident(   s) {   # local variable name: [%A-Za-z][A-Za-z0-9]*
    s = ""
    if (ch() ~ /[%A-Za-z]/) { s = ch(); P++; while (ch() ~ /[A-Za-z0-9]/) { s = s ch(); P++ } }
    return s
}
function runs(x) { return x && ERR == "" && SYN == "" && !QUITTING }
function raise(x, e) { if (runs(x)) ERR = e }
function truthy(v) { if (index(v, OBJ) == 1 || index(v, OREF) == 1) return 1; return (v + 0) != 0 }

# ------------------------------------------------------------------ statements
# stmts: statement { SP+ statement } until end of line or "}" (when inblock)
function stmts(x, inblock) {
    while (SYN == "") {
        skipsp()
        if (eol()) { if (inblock) syn(); return }
        if (ch() == "}") { if (!inblock) syn(); return }
        stmt(x)
        if (SYN != "") return
        if (!eol() && ch() != " " && ch() != "\t" && ch() != "}") { syn(); return }
    }
}

# block: "{" stmts "}". In a try body an unparseable statement is turned into
# a runtime <SYNTAX> error (so the catch runs) -- see README.
function block(x, istry,    open, close_) {
    skipsp()
    if (ch() != "{") { syn(); return }
    open = P; P++
    BD++
    stmts(x, 1)
    BD--
    if (SYN != "" && istry) {
        close_ = match_brace(open)
        if (close_ == 0) return
        SYN = ""; P = close_
        raise(x, "<SYNTAX>")
    }
    if (SYN == "") expect("}")
}
# position of the "}" matching the "{" at position o (0 if none); strings skipped
function match_brace(o,    i, d, c, n, instr) {
    d = 0; n = length(L); instr = 0
    for (i = o; i <= n; i++) {
        c = substr(L, i, 1)
        if (c == "\"") { instr = !instr; continue }
        if (instr) continue
        if (c == "{") d++
        else if (c == "}") { d--; if (d == 0) return i }
    }
    return 0
}

function stmt(x,    w, c, v) {
    w = tolower(word())
    if (w == "") return syn()
    if (w == "try") return try_stmt(x)
    if (w == "if" || w == "i") return if_stmt(x)
    if (w == "for" || w == "f") return for_stmt(x)
    if (ch() == ":") {                      # postconditional: cmd:cond args
        P++; c = expr(x)
        if (SYN != "") return
        if (runs(x) && !truthy(c)) x = 0
    }
    if (w == "write" || w == "w") {
        if (ch() != " ") return syn()
        P++
        return write_args(x)
    }
    if (w == "set" || w == "s") {
        if (ch() != " ") return syn()
        P++
        return set_args(x)
    }
    if (w == "do" || w == "d") {
        if (ch() != " ") return syn()
        P++
        # label^routine(args) (sysperf.awk)
        if (substr(L, P) ~ /^[%A-Za-z][A-Za-z0-9]*\^[%A-Za-z]/) {
            v = extrinsic(x)
            while (SYN == "" && ch() == ",") { P++; v = expr(x) }
            return
        }
        # a class call, $SYSTEM call, or a method on an object (obj.Meth(...))
        if (substr(L, P, 2) != "##" && ch() != "$" && substr(L, P) !~ /^[%A-Za-z][A-Za-z0-9]*\.%?[A-Za-z][A-Za-z0-9]*\(/) return syn()
        v = expr(x)          # must be a method call; value discarded
        while (SYN == "" && ch() == ",") { P++; v = expr(x) }
        return
    }
    if (w == "throw") {
        if (ch() != " ") return syn()
        P++
        v = expr(x)
        if (runs(x)) ERR = (index(v, OBJ) == 1) ? substr(v, length(OBJ) + 1) : "<THROW> " v
        return
    }
    if (w == "xecute" || w == "x") {
        # XECUTE expr{,expr}: each value runs as a line of statements (init.awk)
        if (ch() != " ") return syn()
        P++
        while (1) {
            v = expr(x)
            if (SYN != "") return
            if (runs(x)) xecute_line(v)
            if (ch() != ",") return
            P++
        }
    }
    if (w == "use" || w == "u") {
        # USE device: the current device is not modelled (parsed, no effect)
        if (ch() != " ") return syn()
        P++
        v = expr(x)
        return
    }
    if (w == "kill" || w == "k") {
        if (ch() != " ") return syn()
        P++
        return kill_args(x)
    }
    if (w == "halt" || w == "h") {
        if (runs(x)) finish()
        return
    }
    if (w == "quit" || w == "q") {
        # argumentless only: one blank and then anything but "}" would be an argument
        # (not modelled); before another command an argumentless command takes two
        # blanks (GCOS_syntax_whitespace)
        if ((ch() == " " || ch() == "\t") && substr(L, P + 1, 1) !~ /[ \t}]/) return syn()
        if (runs(x)) {
            if (LOOPS > 0) QUITTING = 1
            else ERR = "<STANDIN UNSUPPORTED> QUIT outside a FOR loop"
        }
        return
    }
    return syn()
}

# for { stmts }   (argumentless FOR, block form: RCOS_cfor). The block runs again
# and again until a quit in it (RCOS_cquit) or an error; the FOR forms with
# arguments are not modelled.
function for_stmt(x,    start, n) {
    if (ch() != " ") return syn()
    skipsp()
    if (ch() != "{") return syn()
    start = P
    if (!runs(x)) { block(0, 0); return }
    for (n = 1; ; n++) {
        P = start
        LOOPS++
        block(x, 0)
        LOOPS--
        if (SYN != "" || ERR != "") return
        if (QUITTING) { QUITTING = 0; return }
        if (n >= 100000) { ERR = "<STANDIN UNSUPPORTED> FOR: more than 100000 iterations"; return }
    }
}

function write_args(x,    v) {
    while (1) {
        if (ch() == "!") { P++; if (runs(x)) out("\n") }
        else if (ch() == "#" && substr(L, P + 1, 1) != "#") { P++ }   # form feed: ignored
        else if (ch() == "?") { P++; v = expr(x) }     # ?N column tab: parsed, not modelled
        else {
            v = expr(x)
            if (SYN != "") return
            if (runs(x)) out(index(v, OBJ) == 1 ? "1@%Exception.StatusException" : index(v, OREF) == 1 ? oref_text(v) : v)
        }
        if (SYN != "") return
        if (ch() != ",") return
        P++
    }
}

# set target=expr{,target=expr}; target is a local, name(sub), ^global(subs)
# or obj.Property
function set_args(x,    name, sub_, v, hassub, gk, prop) {
    while (1) {
        if (ch() == "^") {
            gk = gref(x)
            if (SYN != "" || !expect("=")) return
            v = expr(x)
            if (SYN != "") return
            if (runs(x)) gset(gk, v)
        } else {
            name = ident()
            if (name == "") return syn()
            hassub = 0; prop = ""
            if (ch() == "(") { P++; sub_ = expr(x); if (SYN != "" || !expect(")")) return; hassub = 1 }
            else if (ch() == ".") { P++; prop = ident(); if (prop == "") return syn() }
            if (!expect("=")) return
            v = expr(x)
            if (SYN != "") return
            if (runs(x)) {
                if (prop != "") prop_set(name, prop, v)
                else if (hassub) V[name, sub_] = v
                else V[name] = v
            }
        }
        if (ch() != ",") return
        P++
    }
}

# kill target{,target}; target is ^global[(subs)], a local or name(sub)
function kill_args(x,    name, sub_, hassub, gk, kk) {
    while (1) {
        if (ch() == "^") {
            gk = gref(x)
            if (SYN != "") return
            if (runs(x)) gkill(gk)
        } else {
            name = ident()
            if (name == "") return syn()
            hassub = 0
            if (ch() == "(") { P++; sub_ = expr(x); if (SYN != "" || !expect(")")) return; hassub = 1 }
            if (runs(x)) {
                if (hassub) delete V[name, sub_]
                else { delete V[name]; for (kk in V) if (index(kk, name SUBSEP) == 1) delete V[kk] }
            }
        }
        if (ch() != ",") return
        P++
    }
}

# if COND[,COND...] { block } [else { block }]   or   if COND stmts (rest of line)
function if_stmt(x,    c, t, save) {
    if (ch() != " ") return syn()
    P++
    t = 1
    while (1) {
        c = expr(x)
        if (SYN != "") return
        if (runs(x) && !truthy(c)) t = 0
        if (ch() != ",") break
        P++
    }
    if (ch() != " ") return syn()
    skipsp()
    if (ch() == "{") {
        block(x && t, 0)
        if (SYN != "") return
        save = P; skipsp()
        if (tolower(substr(L, P, 4)) == "else" && substr(L, P + 4, 1) ~ /[ {]/) {
            P += 4
            block(x && !t, 0)
        } else P = save
        return
    }
    # legacy form: the rest of the line (or of the enclosing block) is conditional
    stmts(x && t, BD > 0)
}

# try { stmts } catch [var] { stmts }   -- one line
function try_stmt(x,    caught, var) {
    x = runs(x)
    block(x, 1)
    if (SYN != "") return
    skipsp()
    if (tolower(word()) != "catch") return syn()
    var = ""
    if (ch() == " ") { skipsp(); if (ch() != "{") var = ident() }
    caught = ""
    if (x && ERR != "") { caught = ERR; ERR = "" }
    if (caught != "" && var != "") V[var] = OBJ caught
    block(x && caught != "", 0)
}

# ------------------------------------------------------------------ expressions
# expr: unary { OP unary }, evaluated strictly left to right like ObjectScript
# (no precedence). OP is one of  _ (concatenate)  = '= (string compare)
# & (and)  + - (numeric).
function expr(x,    v, op, w) {
    v = unary(x)
    while (SYN == "") {
        op = ch()
        if (op == "'" && substr(L, P + 1, 1) == "=") { op = "'="; P += 2 }
        else if (op == "_" || op == "=" || op == "&" || op == "!" || op == "+" || op == "-" || op == "<" || op == ">") P++
        else break
        w = unary(x)
        if (SYN != "") break
        if (op == "_") v = v w
        else if (op == "=") v = (v "" == w "") ? 1 : 0
        else if (op == "'=") v = (v "" != w "") ? 1 : 0
        else if (op == "&") v = (truthy(v) && truthy(w)) ? 1 : 0
        else if (op == "!") v = (truthy(v) || truthy(w)) ? 1 : 0
        else if (op == "<") v = ((v + 0) < (w + 0)) ? 1 : 0
        else if (op == ">") v = ((v + 0) > (w + 0)) ? 1 : 0
        else if (op == "+") v = v + w
        else v = v - w
    }
    return v
}
function unary(x,    v) {
    if (ch() == "'") { P++; v = unary(x); return truthy(v) ? "0" : "1" }
    return primary(x)
}

function primary(x,    c, s, q, w, lw, cls, meth, name, sub_, v, d) {
    c = ch()
    if (c == "\"") {                                    # string literal
        P++; s = ""; q = 0
        while (!eol()) {
            if (ch() == "\"") {
                if (substr(L, P + 1, 1) == "\"") { s = s "\""; P += 2; continue }
                q = 1; P++; break
            }
            s = s ch(); P++
        }
        if (!q) return syn()
        return s
    }
    if (c ~ /[0-9]/ || ((c == "-" || c == "+") && substr(L, P + 1, 1) ~ /[0-9]/)) {
        s = c; P++
        while (ch() ~ /[0-9.]/) { s = s ch(); P++ }
        return s + 0
    }
    if (substr(L, P, 8) ~ /^##[cC][lL][aA][sS][sS]\($/) {  # ##class(Cls).Meth(args)
        P += 8; cls = ""
        while (!eol() && ch() != ")") { cls = cls ch(); P++ }
        if (!expect(")") || !expect(".")) return
        meth = ident()
        if (meth == "") return syn()
        return call(x, cls, meth)
    }
    if (c == "$") {
        P++
        if (ch() == "$") { P++; return extrinsic(x) }      # $$label^routine(args)
        w = word(); lw = tolower(w)
        if (lw == "system" && ch() == ".") {              # $SYSTEM.Cls.Meth(args)
            P++; cls = ident()
            if (cls == "" || !expect(".")) return syn()
            meth = ident()
            if (meth == "") return syn()
            return call(x, "%SYSTEM." cls, meth)
        }
        if (lw == "zversion" || lw == "zv") return ZV
        if (lw == "namespace" || lw == "znspace") return NS
        if (lw == "job" || lw == "j") return JOB
        if (lw == "io") return "/dev/null"                   # the current device (not modelled)
        if (lw == "horolog" || lw == "h") return horolog()
        if (lw == "zhorolog" || lw == "zh") return zhorolog()
        if (lw == "zdatetime" || lw == "zdt") { d = args(x); DEPTH--; if (SYN != "" || !runs(x)) return ""; return zdatetime(A[d, 1], A[d, 2]) }
        if (lw == "listbuild" || lw == "lb") { d = args(x); DEPTH--; if (SYN != "" || !runs(x)) return ""; return list_build(d) }
        if (lw == "listget" || lw == "lg") { d = args(x); DEPTH--; if (SYN != "" || !runs(x)) return ""; return list_get(A[d, 1], NA[d] >= 2 ? A[d, 2] : 1) }
        if (lw == "listfind" || lw == "lf") { d = args(x); DEPTH--; if (SYN != "" || !runs(x)) return ""; return list_find(A[d, 1], A[d, 2]) }
        if (lw == "get" || lw == "g") return get_fn(x)
        if (lw == "data" || lw == "d") return data_fn(x)
        if (lw == "order" || lw == "o") return order_fn(x)
        return syn()
    }
    if (c == "(") {                                     # (expr)
        P++; v = expr(x)
        if (SYN != "" || !expect(")")) return
        return v
    }
    if (c == "^") {                                     # ^global(subs)
        w = gref(x)
        if (SYN != "" || !runs(x)) return ""
        if (!(gdata(w) % 2)) { ERR = "<UNDEFINED> " gname_text(w); return "" }
        return GVAL
    }
    if (c ~ /[%A-Za-z]/) {                              # local, p("X"), ex.Meth(), o.Prop
        name = ident()
        if (ch() == ".") {
            P++; meth = ident()
            if (meth == "") return syn()
            if (ch() == "(") return obj_call(x, name, meth)
            return prop_get(x, name, meth)
        }
        if (ch() == "(") {
            P++; sub_ = expr(x)
            if (SYN != "" || !expect(")")) return
            if (!runs(x)) return ""
            if (!((name, sub_) in V)) { ERR = "<UNDEFINED> *" name "(\"" sub_ "\")"; return "" }
            return V[name, sub_]
        }
        if (!runs(x)) return ""
        if (!(name in V)) { ERR = "<UNDEFINED> *" name; return "" }
        return V[name]
    }
    return syn()
}

# $GET(name[,default]) / $GET(name(sub)[,default]) / $GET(^name(subs)[,default])
function get_fn(x,    name, sub_, hassub, d, v, gk) {
    if (!expect("(")) return
    if (ch() == "^") {
        gk = gref(x)
        if (SYN != "") return
        d = ""
        if (ch() == ",") { P++; d = expr(x); if (SYN != "") return }
        if (!expect(")")) return
        if (!runs(x)) return ""
        return (gdata(gk) % 2) ? GVAL : d
    }
    name = ident(); if (name == "") return syn()
    hassub = 0
    if (ch() == "(") { P++; sub_ = expr(x); if (SYN != "" || !expect(")")) return; hassub = 1 }
    d = ""
    if (ch() == ",") { P++; d = expr(x); if (SYN != "") return }
    if (!expect(")")) return
    if (!runs(x)) return ""
    if (hassub) return ((name, sub_) in V) ? V[name, sub_] : d
    return (name in V) ? V[name] : d
}

# $DATA(target): 0 undefined, 1 value, 10 descendants only, 11 both
function data_fn(x,    name, sub_, hassub, gk, r, kk) {
    if (!expect("(")) return
    if (ch() == "^") {
        gk = gref(x)
        if (SYN != "" || !expect(")")) return
        if (!runs(x)) return ""
        return gdata(gk)
    }
    name = ident(); if (name == "") return syn()
    hassub = 0
    if (ch() == "(") { P++; sub_ = expr(x); if (SYN != "" || !expect(")")) return; hassub = 1 }
    if (!expect(")")) return
    if (!runs(x)) return ""
    if (hassub) return ((name, sub_) in V) ? 1 : 0
    r = (name in V) ? 1 : 0
    for (kk in V) if (index(kk, name SUBSEP) == 1) { r += 10; break }
    return r
}

# method on an object held in a local: ex.DisplayString(), ex.AsStatus(),
# user.%Save()
function obj_call(x, name, meth,    v, d, id) {
    d = args(x)
    if (SYN != "" || !runs(x)) { DEPTH--; return "" }
    DEPTH--
    if (!(name in V)) { ERR = "<UNDEFINED> *" name; return "" }
    v = V[name]
    if (index(v, OREF) == 1) {
        id = substr(v, length(OREF) + 1)
        if (meth == "%Save" && OC[id] == "Security.Users") return user_save(id)
        if (meth == "%Save" && OC[id] == "%SYS.Task") return task_save(id)
        if (meth == "%Id" && OC[id] == "%SYS.Task") return ON[id]
        ERR = "<METHOD DOES NOT EXIST> *" meth "," OC[id]
        return ""
    }
    if (index(v, OBJ) != 1) { ERR = "<INVALID OREF> *" name; return "" }
    if (meth == "DisplayString") return substr(v, length(OBJ) + 1)
    if (meth == "AsStatus") return "0 " substr(v, length(OBJ) + 1)
    ERR = "<METHOD DOES NOT EXIST> *" meth ",%Exception.AbstractException"
    return ""
}

# ------------------------------------------------------------------ objects
function oref_text(v,    id) { id = substr(v, length(OREF) + 1); return id "@" OC[id] }
# id of the object held in local "name", or 0 with ERR set
function oref_id(name,    v) {
    if (!(name in V)) { ERR = "<UNDEFINED> *" name; return 0 }
    v = V[name]
    if (index(v, OREF) != 1) { ERR = "<INVALID OREF> *" name; return 0 }
    return substr(v, length(OREF) + 1) + 0
}
# open an object handle on a stored record (all its properties loaded)
function obj_open(cls, kind, name,    id, f, l, eq) {
    id = ++NOBJ; OC[id] = cls; OK_[id] = kind
    f = rec_path(kind, name)
    while ((getline l < f) > 0) {
        eq = index(l, "="); if (eq < 2) continue
        OP[id, substr(l, 1, eq - 1)] = substr(l, eq + 1)
    }
    close(f)
    ON[id] = ((id, "Name") in OP) ? OP[id, "Name"] : name
    return OREF id
}
function prop_get(x, name, prop,    id) {
    if (!runs(x)) return ""
    id = oref_id(name); if (!id) return ""
    if (prop == "PasswordHash" || prop == "PasswordExternal" || prop == "Password") return ""
    if ((id, prop) in OP) return OP[id, prop]
    if (OC[id] == "Security.Users" && (prop in USERPROP || prop == "Name")) return ""
    if (OC[id] == "%SYS.Task" && task_prop(prop)) return ""
    ERR = "<PROPERTY DOES NOT EXIST> *" prop "," OC[id]
    return ""
}
function prop_set(name, prop, v,    id) {
    id = oref_id(name); if (!id) return
    if (OC[id] == "%SYS.Task" && task_prop(prop)) { OP[id, prop] = v; OM[id, prop] = 1; return }
    if (OC[id] != "Security.Users" || !(prop in USERPROP)) { ERR = "<PROPERTY DOES NOT EXIST> *" prop "," OC[id]; return }
    if (prop == "PasswordExternal") { OP[id, "PasswordHash"] = PWMARK v; OM[id, "PasswordHash"] = 1; return }
    OP[id, prop] = v; OM[id, prop] = 1
}
# %Save of a Security.Users handle: write the assigned properties to the record
function user_save(id,    name, k, kk, n, i) {
    name = ON[id]
    for (kk in OM) {
        split(kk, k, SUBSEP)
        if (k[1] != id) continue
        if (index(OP[kk], "\n") || index(OP[kk], "\r"))
            return status_err("ERROR #5001: the stand-in cannot store a line break in property " k[2])
    }
    if (rec_path("users", name) == "") return status_err("ERROR #5001: invalid user name " name)
    rec_load("users", name)
    if (!("Name" in R)) rec_set("Name", name)
    for (kk in OM) {
        split(kk, k, SUBSEP)
        if (k[1] != id) continue
        # STANDIN_STICKY_PASSWORD_CHANGE=1: ChangePassword is silently not
        # applied to _SYSTEM (as in merge's ModifyUser)
        if (k[2] == "ChangePassword" && ENVIRON["STANDIN_STICKY_PASSWORD_CHANGE"] == "1" && tolower(name) == "_system") continue
        rec_set(k[2], OP[kk])
    }
    for (kk in OM) { split(kk, k, SUBSEP); if (k[1] == id) delete OM[kk] }
    if (!rec_save("users", name)) return status_err("ERROR #5001: cannot write user " name)
    return 1
}
# Security.Users.Create(Name,Roles,Password)
function user_create(name, roles, pw) {
    if (name == "" || rec_path("users", name) == "") return status_err("ERROR #5001: invalid user name " name)
    if (rec_exists("users", name)) return status_err("ERROR #837: User " name " already exists")
    if (index(roles pw, "\n") || index(roles pw, "\r"))
        return status_err("ERROR #5001: the stand-in cannot store a line break in a user property")
    delete R; delete RK; NR_ = 0
    rec_set("Name", name); rec_set("Enabled", 1); rec_set("ChangePassword", 0)
    rec_set("PasswordNeverExpires", 0); rec_set("AccountNeverExpires", 0); rec_set("Roles", roles)
    rec_set("PasswordHash", PWMARK pw)
    if (!rec_save("users", name)) return status_err("ERROR #5001: cannot write user " name)
    return 1
}
# Security.Users.CheckPassword(.user,pw): only plain-text markers can match
function user_checkpw(name, pw,    id, h) {
    id = oref_id(name); if (!id) return ""
    if (OC[id] != "Security.Users") { ERR = "<INVALID OREF> *" name; return "" }
    h = OP[id, "PasswordHash"]
    if (index(h, PWMARK) == 1) return (substr(h, length(PWMARK) + 1) == pw "") ? 1 : 0
    if (index(h, PWDEFMARK) == 1) return (substr(h, length(PWDEFMARK) + 1) == pw "") ? 1 : 0
    return 0
}

# (args): each arg is empty (omitted), .name (by reference) or an expression.
# Results in A[d,i], BYREF[d,i]; returns the depth index d.
function args(x,    d, v, i) {
    d = ++DEPTH; NA[d] = 0
    for (i = 1; i <= 12; i++) { A[d, i] = ""; BYREF[d, i] = "" }   # no stale args from an earlier call
    if (!expect("(")) return d
    if (ch() == ")") { P++; return d }
    while (1) {
        NA[d]++; A[d, NA[d]] = ""; BYREF[d, NA[d]] = ""
        if (ch() == "," || ch() == ")") { }
        else if (ch() == ".") { P++; BYREF[d, NA[d]] = ident(); if (BYREF[d, NA[d]] == "") { syn(); return d } }
        else { v = expr(x); if (SYN != "") return d; A[d, NA[d]] = v }
        if (ch() == ",") { P++; continue }
        if (!expect(")")) return d
        return d
    }
}

function status_err(msg) { return "0 " msg }
function st_text(sc) { return (sc ~ /^0 /) ? substr(sc, 3) : sc }

# ------------------------------------------------------------------ state
function rec_get(kind, name, key,    f, l, v) {
    f = rec_path(kind, name); v = ""
    if (f == "") return ""
    while ((getline l < f) > 0) if (index(l, key "=") == 1) v = substr(l, length(key) + 2)
    close(f)
    return v
}

# $ORDER(^name(s1,...,sN)) (RCOS_forder): the next subscript after sN among the
# children of ^name(s1,...,sN-1), in collation order; sN = "" starts before the
# first; "" when there is none. Only globals, only the one-argument form.
function order_fn(x,    gk, n, k, i, parent, last, kk, rest, m, sub_, best, have) {
    if (!expect("(")) return
    if (substr(L, P, 2) == "^$") return order_ssvn_global(x)
    if (ch() != "^") return syn()
    gk = gref(x, 1)
    if (SYN != "") return
    if (GSUBS < 1) return syn()       # the subscript is required (RCOS_forder)
    if (!expect(")")) return
    if (!runs(x)) return ""
    n = split(gk, k, SUBSEP)
    parent = k[1]
    for (i = 2; i < n; i++) parent = parent SUBSEP k[i]
    last = k[n]
    if (!gload()) return ""
    best = ""; have = 0
    for (kk in GD) {
        if (index(kk, parent SUBSEP) != 1) continue
        rest = substr(kk, length(parent) + 2)
        m = index(rest, SUBSEP)
        sub_ = m ? substr(rest, 1, m - 1) : rest
        if (last != "" && !collates_after(sub_, last)) continue
        if (!have || collates_after(best, sub_)) { best = sub_; have = 1 }
    }
    return best
}
# $ORDER(^$GLOBAL(name)) / $ORDER(^$|ns|GLOBAL(name)) (RCOS_sglobal): the next global
# name ("^Name", with its caret) after name in the namespace's Globals database (the
# session's, or ns's: an extended SSVN reference whose ns is any expression); "" after
# the last. Names sort in byte order (no numeric names exist).
function order_ssvn_global(x,    ns, w, after, save, ok, kk, m, name, best, have) {
    P += 2; ns = ""
    if (ch() == "|") { P++; ns = expr(x); if (SYN != "" || !expect("|")) return }
    w = toupper(word())
    if (w != "GLOBAL" && w != "G") return syn()
    if (!expect("(")) return
    after = expr(x)
    if (SYN != "" || !expect(")") || !expect(")")) return
    if (!runs(x)) return ""
    save = NS
    if (ns != "") NS = toupper(ns)
    if (!rec_exists("namespaces", NS)) { ERR = "<NAMESPACE> *" ns; NS = save; return "" }
    ok = gload(); NS = save
    if (!ok) return ""
    best = ""; have = 0
    for (kk in GD) {
        m = index(kk, SUBSEP); name = "^" (m ? substr(kk, 1, m - 1) : kk)
        if (after != "" && !((name "") > (after ""))) continue
        if (!have || (best "") > (name "")) { best = name; have = 1 }
    }
    return best
}
# default collation: canonical numbers first, in numeric order, then strings in
# byte order (RCOS_forder describes the subscript order $ORDER follows)
function isnum(s) { return s ~ /^(0|-?[1-9][0-9]*(\.[0-9]*[1-9])?|-?\.[0-9]*[1-9])$/ }
function collates_after(a, b,    na, nb) {
    na = isnum(a); nb = isnum(b)
    if (na && nb) return (a + 0) > (b + 0)
    if (na != nb) return nb
    return (a "") > (b "")
}

# ------------------------------------------------------------------ global storage
# ^NAME(s1,s2,...) lives in <Directory>/IRIS.DAT of the Globals database of the
# session's namespace (so ^IRISENV in %SYS lands in mgr/IRIS.DAT = IRISSYS,
# durable with ISC_DATA_DIRECTORY). One line per node:
#   N TAB name TAB s1 ... TAB sN TAB value     (each field %-encoded: % TAB LF CR)
# A node key is name SUBSEP s1 SUBSEP ... (the bare name for ^NAME itself).
#
# gref: parse ^name[(expr{,expr})]; returns the node key ("" when not running).
# GSUBS is the number of subscripts. With lastempty, the last subscript may be ""
# ($ORDER's start).
function gref(x, lastempty,    name, key, s, bad, cnt) {
    P++                                     # "^"
    name = ""
    if (ch() ~ /[%A-Za-z]/) { name = ch(); P++; while (ch() ~ /[A-Za-z0-9.]/) { name = name ch(); P++ } }
    if (name == "") return syn()
    key = name; bad = 0; cnt = 0
    if (ch() == "(") {
        P++
        while (1) {
            s = expr(x)                     # may parse a nested gref: GSUBS is set last
            if (SYN != "") return ""
            cnt++
            if (s "" == "" && !(lastempty && ch() == ")")) bad = 1
            key = key SUBSEP s
            if (ch() == ",") { P++; continue }
            if (!expect(")")) return ""
            break
        }
    }
    GSUBS = cnt
    if (!runs(x)) return ""
    if (bad) { ERR = "<SUBSCRIPT> " gname_text(key); return "" }
    return key
}
function gname_text(key,    n, k, i, s) {
    n = split(key, k, SUBSEP); s = "*^" k[1]
    if (n > 1) {
        s = s "("
        for (i = 2; i <= n; i++) s = s (i > 2 ? "," : "") (k[i] ~ /^-?[0-9]+(\.[0-9]+)?$/ ? k[i] : "\"" k[i] "\"")
        s = s ")"
    }
    return s
}
function genc(s) { gsub(/%/, "%25", s); gsub(/\t/, "%09", s); gsub(/\n/, "%0A", s); gsub(/\r/, "%0D", s); return s }
function gdec(s) { gsub(/%09/, "\t", s); gsub(/%0A/, "\n", s); gsub(/%0D/, "\r", s); gsub(/%25/, "%", s); return s }
# path of IRIS.DAT for the current namespace's globals ("" + ERR when none)
function gfile(    db, dir) {
    db = rec_get("namespaces", NS, "Globals")
    dir = (db == "") ? "" : rec_get("databases", db, "Directory")
    if (dir == "") { ERR = "<DIRECTORY> globals database of namespace " NS " is not configured"; return "" }
    sub(/\/+$/, "", dir)
    if (is_dismounted(dir)) { ERR = "<PROTECT> database " dir "/ is dismounted"; return "" }
    return dir "/IRIS.DAT"
}
# SYS.Database.DismountDatabase leaves a marker file in the directory (the stand-in's
# own bookkeeping: no IRIS file is named so); MountDatabase removes it
function is_dismounted(dir,    l, r) {
    r = (getline l < (dir "/.standin-dismounted")); close(dir "/.standin-dismounted")
    return r >= 0
}
# DismountDatabase(dir) / MountDatabase(dir): %Status (SYS.Database class reference)
function sys_database(meth, dir,    f, l, r, n, k) {
    sub(/\/+$/, "", dir)
    if (dir !~ /^\//) return status_err("ERROR #5001: the stand-in takes an absolute database directory, not " dir)
    if (dir == MGRDIR || dir == MGRDIR "/user") return status_err("ERROR #5001: the stand-in refuses to dismount or mount a system database: " dir)
    f = dir "/IRIS.DAT"
    r = (getline l < f); close(f)
    if (r < 0) return status_err("ERROR #5001: no database file " f)
    if (meth == "DismountDatabase") {
        if (system("touch " shq(dir "/.standin-dismounted") " 2>/dev/null") != 0) return status_err("ERROR #5001: cannot dismount " dir)
        return 1
    }
    # MountDatabase: every line must be a global node of the stand-in's format
    while ((getline l < f) > 0) {
        n = split(l, k, "\t")
        if (n < 3 || k[1] !~ /^[0-9]+$/ || k[1] + 0 != n - 3) { close(f); return status_err("ERROR #5001: " f " is not a valid database file") }
    }
    close(f)
    system("rm -f " shq(dir "/.standin-dismounted"))
    return 1
}
# load every node of the current namespace into GD[key]; 0 on failure
function gload(    f, l, n, fl, i, key) {
    delete GD
    GF = gfile(); if (GF == "") return 0
    while ((getline l < GF) > 0) {
        n = split(l, fl, "\t")
        if (n < 3 || fl[1] + 0 != n - 3) continue
        key = gdec(fl[2])
        for (i = 3; i < n; i++) key = key SUBSEP gdec(fl[i])
        GD[key] = gdec(fl[n])
    }
    close(GF)
    return 1
}
function gsave(    dir, t, key, k, n, i, line) {
    dir = GF; sub(/\/IRIS\.DAT$/, "", dir)
    if (system("mkdir -p " shq(dir) " 2>/dev/null && touch " shq(GF) " 2>/dev/null") != 0) {
        ERR = "<PROTECT> cannot write " GF; return 0
    }
    t = GF ".standin-tmp"
    printf "" > t
    for (key in GD) {
        n = split(key, k, SUBSEP)
        line = (n - 1) "\t" genc(k[1])
        for (i = 2; i <= n; i++) line = line "\t" genc(k[i])
        print line "\t" genc(GD[key]) > t
    }
    close(t)
    if (system("mv " shq(t) " " shq(GF)) != 0) { ERR = "<PROTECT> cannot write " GF; return 0 }
    return 1
}
# $DATA of a node (0/1/10/11); sets GVAL to its value
function gdata(key,    r, kk) {
    GVAL = ""
    if (!gload()) return 0
    r = 0
    if (key in GD) { r = 1; GVAL = GD[key] }
    for (kk in GD) if (index(kk, key SUBSEP) == 1) { r += 10; break }
    return r
}
function gset(key, v) {
    if (!gload()) return
    GD[key] = v
    gsave()
}
function gkill(key,    kk) {
    if (!gload()) return
    delete GD[key]
    for (kk in GD) if (index(kk, key SUBSEP) == 1) delete GD[kk]
    gsave()
}

# copy an object's properties into local array "arr" (killed first)
function rec_to_local(kind, name, arr, keep,    f, l, eq, k, n, i, kk) {
    for (kk in V) if (index(kk, arr SUBSEP) == 1) delete V[kk]
    f = rec_path(kind, name)
    n = split(keep, want, " ")
    while ((getline l < f) > 0) {
        eq = index(l, "="); if (eq < 2) continue
        k = substr(l, 1, eq - 1)
        if (k == "PasswordHash" || k == "Password") continue
        if (k == "Name") continue
        V[arr, k] = substr(l, eq + 1)
    }
    close(f)
    for (i = 1; i <= n; i++) if (!((arr, want[i]) in V)) V[arr, want[i]] = ""
}

# ------------------------------------------------------------------ classes
function call(x, cls, meth,    d, r, a1, arr, kind, kk) {
    d = args(x)
    if (SYN != "" || !runs(x)) { DEPTH--; return "" }
    a1 = A[d, 1]; arr = BYREF[d, 2]
    r = ""
    if ((cls ~ /^(Config|Security)\./ || cls == "SYS.Database") && NS != "%SYS") {
        # these classes live in %SYS only
        ERR = "<CLASS DOES NOT EXIST> *" cls
    } else if (cls == "%SYSTEM.Util") {
        if (meth == "GetEnviron") r = ENVIRON[a1]
        else nometh(cls, meth)
    } else if (cls == "%SYSTEM.Monitor") {
        if (meth == "State") { r = ENVIRON["STANDIN_MONITOR_STATE"]; r = (r in MON) ? MON[r] : 0 }
        else nometh(cls, meth)
    } else if (cls == "%SYSTEM.Process") {
        if (meth == "Terminate") {
            r = (NA[d] >= 2 && A[d, 2] != "") ? A[d, 2] + 0 : 1
            EXITCODE = r; finish()
        } else nometh(cls, meth)
    } else if (cls == "%SYSTEM.Status") {
        if (meth == "IsOK") r = truthy(a1) ? 1 : 0
        else if (meth == "IsError") r = truthy(a1) ? 0 : 1
        else if (meth == "GetErrorText") r = truthy(a1) ? "" : st_text(a1)
        else if (meth == "OK") r = 1
        else if (meth == "Error") r = status_err("ERROR #" a1 ": " A[d, 2])
        else if (meth == "DisplayError") { if (!truthy(a1)) errline(st_text(a1)); r = 1 }
        else nometh(cls, meth)
    } else if (cls == "%SYSTEM.OBJ") {
        if (meth == "DisplayError") { if (!truthy(a1)) errline(st_text(a1)); r = 1 }
        else if (meth == "Load") r = obj_load(a1, BYREF[d, 3])
        else if (meth == "ImportDir") r = obj_importdir(a1, A[d, 2], BYREF[d, 4], A[d, 5])
        else nometh(cls, meth)
    } else if (cls == "%Dictionary.CompiledClass") {
        if (meth == "%ExistsId") r = class_compiled(a1)
        else nometh(cls, meth)
    } else if (cls == "%SQL.Statement") {
        if (meth == "%ExecDirect") r = sql_exec(A[d, 2])
        else nometh(cls, meth)
    } else if (cls == "%SYSTEM.SQL.Schema") {
        if (meth == "TableExists") r = sql_table_exists(a1)
        else nometh(cls, meth)
    } else if (cls == "%Exception.SQL") {
        if (meth == "CreateFromSQLCODE") r = OBJ "SQLCODE " a1 ": " A[d, 2]
        else nometh(cls, meth)
    } else if (cls == "%Library.Global") {
        if (meth == "Import") r = global_import(a1, A[d, 2], A[d, 3], A[d, 4])
        else nometh(cls, meth)
    } else if (cls == "%SYSTEM.Version") {
        if (meth == "GetNumber") { split(VERSION, vp, "."); r = vp[1] "." vp[2] }
        else nometh(cls, meth)
    } else if (cls == "SYS.Database") {
        if (meth == "DismountDatabase" || meth == "MountDatabase") r = sys_database(meth, a1)
        else nometh(cls, meth)
    } else if (cls == "%Library.File" || cls == "%File") {
        # %Boolean results (the %Library.File class reference); the pool's master and resets
        if (meth == "CopyFile") r = (system("cp -- " shq(a1) " " shq(A[d, 2]) " 2>/dev/null") == 0) ? 1 : 0
        else if (meth == "CreateDirectoryChain") r = (system("mkdir -p -- " shq(a1) " 2>/dev/null") == 0) ? 1 : 0
        else if (meth == "Exists") r = (system("test -f " shq(a1)) == 0) ? 1 : 0
        else nometh(cls, meth)
    } else if (cls == "%SYS.Task") {
        r = task_call(meth, d, a1)                 # sysperf.awk
    } else if (cls == "%SYS.Namespace") {
        if (meth == "Exists") r = rec_exists("namespaces", a1) ? 1 : 0
        else nometh(cls, meth)
    } else if (cls == "%Exception.StatusException") {
        if (meth == "CreateFromStatus") r = OBJ st_text(a1)
        else nometh(cls, meth)
    } else if (cls == "Config.Databases" || cls == "Config.Namespaces" || cls == "Security.Users" || cls == "Security.Services") {
        kind = (cls == "Config.Databases") ? "databases" : (cls == "Config.Namespaces") ? "namespaces" : (cls == "Security.Users") ? "users" : "services"
        if (meth == "Exists") {
            r = rec_exists(kind, a1) ? 1 : 0
            # Exists(name,.obj): obj is an object handle, or "" when absent
            if (arr != "") { for (kk in V) if (index(kk, arr SUBSEP) == 1) delete V[kk]; V[arr] = r ? obj_open(cls, kind, a1) : "" }
        } else if (kind == "users" && meth == "Create") {
            if (NA[d] > 3) ERR = "<STANDIN UNSUPPORTED> Security.Users.Create: only (Name,Roles,Password) is modelled"
            else r = user_create(a1, A[d, 2], A[d, 3])
        } else if (kind == "users" && meth == "CheckPassword") {
            if (BYREF[d, 1] == "") ERR = "<STANDIN UNSUPPORTED> Security.Users.CheckPassword: pass the user object by reference (.obj)"
            else r = user_checkpw(BYREF[d, 1], A[d, 2])
        } else if (meth == "Get") {
            if (!rec_exists(kind, a1)) {
                if (kind == "users") r = status_err("ERROR #838: User " a1 " does not exist")
                else if (kind == "services") r = status_err("ERROR #5001: Service " a1 " does not exist")
                else if (kind == "namespaces") r = status_err("ERROR #5001: Namespace " a1 " does not exist")
                else r = status_err("ERROR #5001: Database " a1 " does not exist")
            } else {
                if (arr != "") rec_to_local(kind, a1, arr, \
                    kind == "users" ? "Enabled ChangePassword PasswordNeverExpires Roles" : \
                    kind == "services" ? "Enabled AutheEnabled" : \
                    kind == "namespaces" ? "Globals Routines" : "Directory")
                r = 1
            }
        } else nometh(cls, meth)
    } else if (user_call(cls, meth, NA[d])) {
        r = CALLRET                         # a class compiled by init.awk's loader
    } else {
        ERR = "<CLASS DOES NOT EXIST> *" cls
    }
    DEPTH--
    return r
}
function nometh(cls, meth) { ERR = "<METHOD DOES NOT EXIST> *" meth "," cls }

# $$label^routine(args) / do label^routine(args): the routine entry points irisenv calls
# (sysperf.awk: ^SystemPerformance)
function extrinsic(x,    label, routine, d, r) {
    label = ident()
    if (label == "" || !expect("^")) return syn()
    routine = ""
    if (ch() ~ /[%A-Za-z]/) { routine = ch(); P++; while (ch() ~ /[A-Za-z0-9]/) { routine = routine ch(); P++ } }
    if (routine == "") return syn()
    d = args(x)
    if (SYN != "" || !runs(x)) { DEPTH--; return "" }
    r = routine_call(x, label, routine, d)
    DEPTH--
    return r
}
