# Shared shell functions for scripts/run-local, scripts/test and bench/run.
# Source it; it defines functions only.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
MON_APT_PACKAGES=(postgresql postgresql-contrib redis-server libpq-dev libhiredis-dev zlib1g-dev libsnappy-dev libcairo2-dev fonts-dejavu-core poppler-utils libcurl4-openssl-dev pkg-config curl)

# Runs a command as root: directly when root, through sudo when it is installed; otherwise
# says which command to run as root (minimal Debian has no sudo) and fails.
as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "error: this step needs root, and sudo is not installed. As root, run:" >&2
        echo "    $*" >&2
        echo "then run this script again (or run it as root)." >&2
        return 1
    fi
}

# Runs a command as the owner of the private PostgreSQL clusters: `postgres` when root
# (PostgreSQL refuses to run as root), otherwise the invoking user itself (no root needed).
mon_as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Seconds since $1 (a `date +%s`), e.g. "42 s".
mon_elapsed() { echo "$(($(date +%s) - $1)) s"; }

# Installs the Debian packages this project needs, only when something is missing. apt's own
# output stays visible: the download size ("Need to get ...") and one line per package, so a
# long download (scripts/test's Chromium) shows its progress.
mon_install_deps() {
    local missing=() extra=("$@") started
    for p in "${MON_APT_PACKAGES[@]}" "${extra[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        started=$(date +%s)
        echo "==> installing with apt (missing: ${missing[*]})"
        if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
            echo "error: these Debian packages are missing and this user cannot install them (not root, no sudo)." >&2
            echo "As root, run:" >&2
            echo "    apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
            echo "then run this script again." >&2
            return 1
        fi
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            -o Dpkg::Use-Pty=0 "${missing[@]}"
        echo "==> installed ${missing[*]} in $(mon_elapsed "$started")"
    fi
}

# mon_python_tool VENV NAME==VERSION... — a Python virtualenv with these PyPI packages at
# these versions (kept between runs; created when missing, recreated when it has no pip, e.g.
# left half-made by a run without python3-venv). Pins are versions known to work here: a new
# release of a tool must not break the test command. The tools are in VENV/bin.
mon_python_tool() {
    local venv=$1; shift
    if [ -x "$venv/bin/python" ] && ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
        echo "==> $venv has no pip (a half-created virtualenv): recreating it"
        rm -rf "$venv"
    fi
    if [ ! -x "$venv/bin/python" ]; then
        mon_install_deps python3-venv
        echo "==> creating the Python virtualenv $venv"
        python3 -m venv "$venv" || { echo "cannot create a Python venv in $venv (apt install python3-venv)" >&2; return 1; }
    fi
    local missing=() started
    for p in "$@"; do
        [ "$("$venv/bin/python" -m pip show "${p%%==*}" 2>/dev/null | sed -n 's/^Version: //p')" = "${p#*==}" ] \
            || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        started=$(date +%s)
        echo "==> pip install ${missing[*]} (into $venv)"
        "$venv/bin/python" -m pip install --progress-bar off --disable-pip-version-check "${missing[@]}"
        echo "==> pip install done in $(mon_elapsed "$started")"
    fi
}

# Prints a TCP port on 127.0.0.1 that nothing listens on.
mon_free_port() {
    local port
    for _ in $(seq 1 50); do
        # Below the ephemeral range (32768-60999) that outgoing connections draw from.
        port=$((20000 + RANDOM % 12000))
        if ! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then echo "$port"; return 0; fi
    done
    echo "no free port found" >&2
    return 1
}

# mon_pg_start DIR PORT [OPTIONS] — a throwaway PostgreSQL 15 cluster in DIR, pg_stat_statements
# preloaded, listening on 127.0.0.1:PORT and the socket dir DIR. OPTIONS (e.g. "-c
# max_connections=20") come last, so they win over the defaults. As root, DIR is owned by and
# the server runs as `postgres`, which must be able to enter every parent of DIR (a checkout
# under a mode-0700 home is not: scripts/run-local keeps its cluster under /var/tmp then);
# otherwise DIR is the invoking user's and the server runs as that user.
mon_pg_start() {
    local dir=$1 port=$2 options=${3:-}
    if [ "$(id -u)" = 0 ]; then
        mkdir -p "$(dirname "$dir")"
        if ! runuser -u postgres -- test -x "$(dirname "$dir")"; then
            echo "error: the postgres user cannot enter $(dirname "$dir") (a parent directory is private, e.g. a mode-0700 home)." >&2
            echo "Put the cluster under a directory every user can traverse (e.g. /var/tmp)." >&2
            return 1
        fi
        install -d -o postgres -g postgres -m 700 "$dir"
    else
        install -d -m 700 "$dir"
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        mon_as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
            --locale=C.UTF-8 --no-sync >"$dir/../initdb.log" 2>&1 || { cat "$dir/../initdb.log" >&2; return 1; }
    fi
    mon_as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_stat_statements -c fsync=off -c max_connections=200 $options" \
        start >/dev/null || { cat "$dir/server.log" >&2; return 1; }
}

mon_pg_stop() {
    local dir=$1
    [ -f "$dir/data/postmaster.pid" ] || return 0
    mon_as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# mon_redis_start DIR PORT — a private redis-server on 127.0.0.1:PORT and DIR/redis.sock.
mon_redis_start() {
    local dir=$1 port=$2
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --unixsocket "$dir/redis.sock" --dir "$dir" --save '' \
        --appendonly no --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
    for _ in $(seq 1 100); do [ -S "$dir/redis.sock" ] && return 0; sleep 0.05; done
    echo "redis-server did not start; see $dir/redis.log" >&2
    return 1
}

mon_redis_stop() {
    local dir=$1
    [ -f "$dir/redis.pid" ] || return 0
    kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    for _ in $(seq 1 100); do [ -S "$dir/redis.sock" ] || break; sleep 0.05; done
    rm -f "$dir/redis.pid"
}
