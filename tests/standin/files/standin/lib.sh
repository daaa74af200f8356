# Shared helpers for the irisenv stand-in IRIS image (busybox sh).
# TEST DOUBLE ONLY: this is not InterSystems IRIS. See tests/standin/README.md.
#
# Sourced by /iris-main and /usr/irissys/bin/iris. Everything the instance
# "knows" lives in plain files under $SD (see README "State layout").

INSTALLDIR=${ISC_PACKAGE_INSTALLDIR:-/usr/irissys}
INSTANCE=${ISC_PACKAGE_INSTANCENAME:-IRIS}
STANDIN_LIB=$INSTALLDIR/dev/standin
VERSION=${STANDIN_VERSION:-2025.1.0.223.0}

# docs/learnings/container.md: with ISC_DATA_DIRECTORY the instance-specific data (mgr/,
# iris.cpf) lives there; otherwise under the install directory.
if [ -n "$ISC_DATA_DIRECTORY" ]; then
    DATADIR=${ISC_DATA_DIRECTORY%/}
    [ -n "$DATADIR" ] || DATADIR=/
else
    DATADIR=$INSTALLDIR
fi
MGR=$DATADIR/mgr
SD=$MGR/standin            # stand-in state root
CPF=$DATADIR/iris.cpf

# messages.log-like line: "11/23/26-12:00:00:000 (1234) 0 [Utility.Event] text"
# usage: log_line SEVERITY CATEGORY TEXT...
log_line() {
    _sev=$1 _cat=$2
    shift 2
    _l="$(date +%m/%d/%y-%H:%M:%S):000 ($$) $_sev [$_cat] $*"
    printf '%s\n' "$_l"
    if [ -n "$STANDIN_LOG_FILE" ]; then
        printf '%s\n' "$_l" >>"$STANDIN_LOG_FILE" 2>/dev/null
    fi
}

upper() { printf '%s' "$1" | tr 'a-z' 'A-Z'; }
lower() { printf '%s' "$1" | tr 'A-Z' 'a-z'; }

state_get() {
    if [ -f "$SD/run/state" ]; then cat "$SD/run/state"; else echo down; fi
}
state_set() {
    mkdir -p "$SD/run" && printf '%s\n' "$1" >"$SD/run/state.tmp" && mv "$SD/run/state.tmp" "$SD/run/state"
}

# qlist-style date, e.g. "Mon Nov 23 12:00:00 2026"
qdate() { date '+%a %b %d %H:%M:%S %Y'; }

# write one record file: rec_write FILE key=value...
rec_write() {
    _f=$1
    shift
    : >"$_f.tmp" || return 1
    for _kv in "$@"; do printf '%s\n' "$_kv" >>"$_f.tmp"; done
    mv "$_f.tmp" "$_f"
}

# Initial state of a fresh instance (docs/learnings/container.md for users/passwords).
# Idempotent: does nothing when $SD/initialized exists.
state_init() {
    [ -f "$SD/initialized" ] && return 0
    mkdir -p "$SD/namespaces" "$SD/databases" "$SD/users" "$SD/services" "$SD/run" || return 1
    # Databases (Config.Databases). IRISLIB/ENSLIB are read-only libraries in
    # the install dir; the others are instance data (in ISC_DATA_DIRECTORY).
    for _db in IRISSYS:$MGR/ IRISLIB:$INSTALLDIR/mgr/irislib/ IRISTEMP:$MGR/iristemp/ \
        IRISLOCALDATA:$MGR/irislocaldata/ IRISAUDIT:$MGR/irisaudit/ \
        ENSLIB:$INSTALLDIR/mgr/enslib/ USER:$MGR/user/; do
        rec_write "$SD/databases/${_db%%:*}" "Name=${_db%%:*}" "Directory=${_db#*:}" || return 1
    done
    rec_write "$SD/namespaces/%SYS" "Name=%SYS" "Globals=IRISSYS" "Routines=IRISSYS" || return 1
    rec_write "$SD/namespaces/USER" "Name=USER" "Globals=USER" "Routines=USER" || return 1
    # Predefined accounts: password "SYS" (stored as a marker, never a real
    # hash), must be changed on first login, never expires (docs/learnings/container.md).
    for _u in _SYSTEM:%All SuperUser:%All Admin:%Manager CSPSystem:%DB_IRISSYS; do
        rec_write "$SD/users/$(lower "${_u%%:*}")" "Name=${_u%%:*}" "Enabled=1" \
            "ChangePassword=1" "PasswordNeverExpires=1" "AccountNeverExpires=0" \
            "Roles=${_u#*:}" "PasswordHash=standin-default-password:SYS" || return 1
    done
    rec_write "$SD/users/unknownuser" "Name=UnknownUser" "Enabled=0" "ChangePassword=0" \
        "PasswordNeverExpires=1" "AccountNeverExpires=0" "Roles=" \
        "PasswordHash=standin-default-password:SYS" || return 1
    # OS-authenticated owner account (docs/learnings/container.md: OS auth for irisowner)
    rec_write "$SD/users/irisowner" "Name=irisowner" "Enabled=1" "ChangePassword=0" \
        "PasswordNeverExpires=1" "AccountNeverExpires=0" "Roles=%All" "PasswordHash=" || return 1
    # Services (Security.Services). AutheEnabled values are invented.
    rec_write "$SD/services/%service_callin" "Name=%Service_CallIn" "Enabled=0" "AutheEnabled=48" || return 1
    rec_write "$SD/services/%service_bindings" "Name=%Service_Bindings" "Enabled=1" "AutheEnabled=32" || return 1
    rec_write "$SD/services/%service_terminal" "Name=%Service_Terminal" "Enabled=1" "AutheEnabled=48" || return 1
    rec_write "$SD/services/%service_webgateway" "Name=%Service_WebGateway" "Enabled=1" "AutheEnabled=96" || return 1
    if [ ! -f "$CPF" ]; then
        printf '%s\n' "[ConfigFile]" "Product=IRIS" "Version=$VERSION" "" \
            "[Startup]" "DefaultPort=1972" "WebServer=1" "WebServerPort=52773" "" \
            "[config]" "globals=0,0,0,0,0,0" "routines=0" "gmheap=0" >"$CPF" || return 1
    fi
    date >"$SD/initialized"
}
