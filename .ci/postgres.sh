#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for warroom's tests.
#
#   eval "$(.ci/postgres.sh start)"   # start one; prints the export lines to eval
#   cargo test                        # the Postgres tests now run too
#   .ci/postgres.sh stop              # stop it and delete its directory
#
# Subcommands:
#   start            initdb a new cluster in a temporary directory (trust auth, fsync off),
#                    start it on a free port of 127.0.0.1 and print, on stdout:
#                      export WARROOM_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/postgres
#                      export WARROOM_TEST_POSTGRES_DIR=/tmp/warroom-pg.XXXXXX
#                    Everything else goes to stderr. Exits non-zero if it cannot start.
#   stop [DIR]       stop the cluster in DIR (default: $WARROOM_TEST_POSTGRES_DIR) and remove
#                    DIR. Does nothing if DIR is gone; refuses a directory it did not create.
#   pause [DIR]      stop the server in DIR but keep the cluster, so that `resume` brings
#                    it back: a database restart, for the tests of warroom's database faults.
#   resume [DIR]     start the paused server in DIR again, on the port it had.
#   install [PKG...] as root on Debian: install the PostgreSQL server if its binaries are
#                    missing, plus any named Debian package that is not installed, with at
#                    most one `apt-get update`. As another user: succeed if nothing is
#                    missing, otherwise fail and say what to install.
#
# The server binaries (initdb, pg_ctl, postgres) are looked up on PATH first, then under
# /usr/lib/postgresql/*/bin (Debian's layout; the newest version wins). initdb refuses to
# run as root, so when run as root the cluster belongs to the `postgres` user.
set -euo pipefail

readonly MARKER=.warroom-test-postgres   # file that marks a directory this script created

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

is_root() { [[ $(id -u) -eq 0 ]]; }

# Print the directory holding initdb and pg_ctl, or fail quietly.
find_bindir() {
    local initdb dir
    if initdb=$(command -v initdb 2>/dev/null); then
        dir=$(dirname "$(readlink -f "$initdb")")
        if [[ -x $dir/pg_ctl && -x $dir/postgres ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    fi
    for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
        if [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    done
    return 1
}

# Run an apt-get command quietly: its output goes to a log that is shown only on failure.
apt_quiet() {
    local out rc=0
    out=$(mktemp)
    DEBIAN_FRONTEND=noninteractive apt-get -o Dpkg::Use-Pty=0 "$@" >"$out" 2>&1 </dev/null || rc=$?
    if [[ $rc -ne 0 ]]; then
        cat "$out" >&2
        rm -f "$out"
        die "apt-get $* failed (exit code $rc)"
    fi
    rm -f "$out"
}

# apt-get update, unless the package lists were refreshed in the last hour (so that one
# run of .ci/run, which may install in several steps, updates them once).
apt_update_once() {
    if find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 2>/dev/null | grep -q .; then
        return 0
    fi
    log "apt-get update"
    apt_quiet update
}

apt_install() {
    apt_update_once
    log "apt-get install $*"
    apt_quiet install -y --no-install-recommends "$@"
}

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

cmd_install() {
    local need_server=0 pkg
    local -a extra=()
    find_bindir >/dev/null || need_server=1
    for pkg in "$@"; do
        is_installed "$pkg" || extra+=("$pkg")
    done
    if [[ $need_server -eq 0 && ${#extra[@]} -eq 0 ]]; then
        return 0
    fi

    local wanted="${extra[*]}"
    [[ $need_server -eq 1 ]] && wanted="postgresql $wanted"
    if ! is_root || ! command -v apt-get >/dev/null; then
        die "missing: ${wanted% }. Install them (on Debian: apt-get install ${wanted% }), or run this as root on Debian."
    fi

    # One update, then the extras and postgresql-common first: postgresql-common's
    # createcluster.conf decides whether installing the server also creates and starts a
    # system-wide 'main' cluster on port 5432. Tests use their own throwaway cluster, so
    # switch that off before the server package is installed.
    if [[ $need_server -eq 1 ]]; then
        apt_install "${extra[@]}" postgresql-common
        sed -ri 's/^[#[:space:]]*create_main_cluster[[:space:]]*=.*$/create_main_cluster = false/' \
            /etc/postgresql-common/createcluster.conf
        apt_install postgresql
        find_bindir >/dev/null || die "postgresql was installed but initdb/pg_ctl are still not found"
    else
        apt_install "${extra[@]}"
    fi
}

# Run a command as the cluster's owner: ourselves, or `postgres` when we are root.
as_owner() {
    if ! is_root; then
        (cd / && "$@")
    elif command -v runuser >/dev/null; then
        (cd / && runuser -u postgres -- "$@")
    else
        local q
        q=$(printf '%q ' "$@")
        (cd / && su -s /bin/sh postgres -c "$q")
    fi
}

# True if nothing listens on 127.0.0.1:$1 and we may bind it.
port_is_free() {
    local port=$1
    if command -v python3 >/dev/null; then
        python3 - "$port" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
    else
        # A successful connection means something listens there.
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 1
        fi
        return 0
    fi
}

# A free port below the kernel's ephemeral range (32768-60999 on Linux), so that outgoing
# connections are unlikely to take it between this check and the server's bind.
pick_port() {
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 10000))
        if port_is_free "$port"; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    return 1
}

# The server's options: port $1, socket directory $2, durability off (a throwaway cluster).
server_options() {
    printf '%s' "-c listen_addresses=127.0.0.1 -p $1 -k $2 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
}

# Microseconds since the epoch (bash 5).
now_us() { printf '%s\n' "${EPOCHREALTIME/./}"; }

cmd_start() {
    local t0 bindir dir port url attempt started=0
    t0=$(now_us)

    if ! bindir=$(find_bindir); then
        if is_root && command -v apt-get >/dev/null; then
            cmd_install
            bindir=$(find_bindir)
        else
            die "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or under /usr/lib/postgresql/*/bin. Install the server (on Debian: sudo apt-get install postgresql) and try again."
        fi
    fi

    if is_root && ! id postgres >/dev/null 2>&1; then
        log "creating system user 'postgres' (initdb will not run as root)"
        useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    fi

    # Root's cluster must be reachable by the postgres user, so root always uses /tmp.
    local parent=/tmp
    is_root || parent=${TMPDIR:-/tmp}
    dir=$(mktemp -d "$parent/warroom-pg.XXXXXX")
    printf '%s\n' "$bindir" >"$dir/$MARKER"
    is_root && chown -R postgres: "$dir"
    # From here on, a failure stops the server (if it got that far) and removes the directory.
    STARTING_DIR=$dir
    trap 'cmd_stop "$STARTING_DIR" >/dev/null 2>&1 || true' EXIT

    log "initdb in $dir/data ($bindir)"
    if ! as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C \
            --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        die "initdb failed"
    fi

    for attempt in 1 2 3; do
        port=$(pick_port) || die "found no free TCP port on 127.0.0.1"
        if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start \
                -o "$(server_options "$port" "$dir")" \
                >/dev/null 2>&1; then
            started=1
            break
        fi
        log "start on port $port failed (attempt $attempt); server log:"
        tail -n 20 "$dir/postgres.log" >&2 || true
    done
    [[ $started -eq 1 ]] || die "PostgreSQL did not start; see the log above"

    if [[ -x $bindir/pg_isready ]] &&
        ! "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30; then
        tail -n 20 "$dir/postgres.log" >&2 || true
        die "PostgreSQL started but does not accept connections on 127.0.0.1:$port"
    fi

    url="postgres://postgres@127.0.0.1:$port/postgres"
    local version=""
    if [[ -x $bindir/psql ]]; then
        version=$("$bindir/psql" -X -A -t -d "$url" -c 'SHOW server_version' 2>&1) ||
            die "PostgreSQL is up but a query over $url failed: $version"
        version=" $version"
    fi

    printf '%s\n' "$port" >"$dir/port"

    local t1
    t1=$(now_us)
    log "PostgreSQL$version ready at $url in $(( (t1 - t0) / 1000 )) ms"
    trap - EXIT
    printf 'export WARROOM_TEST_POSTGRES_URL=%q\n' "$url"
    printf 'export WARROOM_TEST_POSTGRES_DIR=%q\n' "$dir"
}

# True while process $1 runs and (where /proc tells) is a server of directory $2.
server_alive() {
    kill -0 "$1" 2>/dev/null || return 1
    [[ -r /proc/$1/cmdline ]] || return 0
    tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2/data"
}

cmd_stop() {
    local dir=${1:-${WARROOM_TEST_POSTGRES_DIR:-}}
    [[ -n $dir ]] || die "stop: no directory given and WARROOM_TEST_POSTGRES_DIR is not set"
    if [[ ! -d $dir ]]; then
        log "stop: $dir is already gone"
        return 0
    fi
    [[ -f $dir/$MARKER ]] || die "stop: $dir was not created by this script; leaving it alone"

    local bindir pid=""
    bindir=$(head -n 1 "$dir/$MARKER")
    if [[ -f $dir/data/postmaster.pid ]]; then
        pid=$(head -n 1 "$dir/data/postmaster.pid")
        [[ $pid =~ ^[0-9]+$ ]] || pid=""
        if ! as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1; then
            log "stop: fast shutdown failed; trying immediate"
            as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
        fi
    fi
    # pg_ctl returns once postmaster.pid is gone; the process itself exits a moment later.
    if [[ -n $pid ]]; then
        for _ in $(seq 1 100); do
            server_alive "$pid" "$dir" || break
            sleep 0.1
        done
        if server_alive "$pid" "$dir"; then
            die "stop: the server (pid $pid) in $dir is still running; not removing its directory"
        fi
    fi
    rm -rf -- "$dir"
    log "stopped and removed $dir"
}

# The cluster directory named by $1 (default: $WARROOM_TEST_POSTGRES_DIR), if this script made it.
own_dir() {
    local dir=${1:-${WARROOM_TEST_POSTGRES_DIR:-}}
    [[ -n $dir ]] || die "no directory given and WARROOM_TEST_POSTGRES_DIR is not set"
    [[ -f $dir/$MARKER ]] || die "$dir was not created by this script; leaving it alone"
    printf '%s\n' "$dir"
}

cmd_pause() {
    local dir bindir
    dir=$(own_dir "${1:-}")
    bindir=$(head -n 1 "$dir/$MARKER")
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null ||
        die "pause: the server in $dir did not stop"
}

cmd_resume() {
    local dir bindir port
    dir=$(own_dir "${1:-}")
    bindir=$(head -n 1 "$dir/$MARKER")
    port=$(cat "$dir/port")
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start \
        -o "$(server_options "$port" "$dir")" \
        >/dev/null || die "resume: the server in $dir did not start; see $dir/postgres.log"
}

usage() {
    sed -n '2,/^set -euo pipefail/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

case ${1:-} in
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    pause) shift; cmd_pause "$@" ;;
    resume) shift; cmd_resume "$@" ;;
    install) shift; cmd_install "$@" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
esac
