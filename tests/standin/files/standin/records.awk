# records.awk: the stand-in's object records (state files of key=value lines), shared by
# merge.awk and session.awk (awk -f records.awk -f merge.awk). Test double only.

# single-quote a string for sh
function shq(s) { gsub(/'/, "'\\''", s); return "'" s "'" }

function rec_path(kind, name) {
    if (kind == "users" || kind == "services") name = tolower(name); else name = toupper(name)
    if (name == "" || name ~ /\// || name == "." || name == "..") return ""
    return SD "/" kind "/" name
}

function rec_exists(kind, name,    f, l, r) {
    f = rec_path(kind, name); if (f == "") return 0
    r = (getline l < f); close(f)
    return r > 0
}

function rec_load(kind, name,    f, l, eq) {
    delete R; delete RK; NR_ = 0
    f = rec_path(kind, name)
    while ((getline l < f) > 0) {
        eq = index(l, "="); if (eq < 2) continue
        NR_++; RK[NR_] = substr(l, 1, eq - 1); R[RK[NR_]] = substr(l, eq + 1)
    }
    close(f)
}

function rec_set(k, v,    j) {
    for (j = 1; j <= NR_; j++) if (RK[j] == k) { R[k] = v; return }
    NR_++; RK[NR_] = k; R[k] = v
}

function rec_save(kind, name,    f, j) {
    f = rec_path(kind, name)
    if (f == "") return 0
    printf "" > (f ".tmp")
    for (j = 1; j <= NR_; j++) print RK[j] "=" R[RK[j]] > (f ".tmp")
    close(f ".tmp")
    return system("mv " shq(f ".tmp") " " shq(f)) == 0
}
