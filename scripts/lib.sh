# Shared shell functions for scripts/run-local, scripts/test and bench/run.
# Source it; it defines functions only.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
MON_APT_PACKAGES=(postgresql postgresql-contrib redis-server libpq-dev libhiredis-dev zlib1g-dev libcurl4-openssl-dev pkg-config curl)

# Runs a command as root (directly, or through sudo).
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the Debian packages this project needs, only when something is missing.
mon_install_deps() {
    local missing=() extra=("$@")
    for p in "${MON_APT_PACKAGES[@]}" "${extra[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "==> installing: ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# mon_python_tool VENV PACKAGE... — a Python virtualenv with these PyPI packages (kept
# between runs; created when missing). Prints nothing; the tools are in VENV/bin.
mon_python_tool() {
    local venv=$1; shift
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv" || { echo "cannot create a Python venv in $venv (apt install python3-venv)" >&2; return 1; }
    fi
    local missing=()
    for p in "$@"; do "$venv/bin/python" -m pip show -q "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "==> pip install ${missing[*]} (into $venv)"
        "$venv/bin/python" -m pip install -q --disable-pip-version-check "${missing[@]}"
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

# mon_pg_start DIR PORT [OPTIONS] — a throwaway PostgreSQL 15 cluster in DIR (owned by
# postgres), pg_stat_statements preloaded, listening on 127.0.0.1:PORT and the socket dir
# DIR. OPTIONS (e.g. "-c max_connections=20") come last, so they win over the defaults.
mon_pg_start() {
    local dir=$1 port=$2 options=${3:-}
    as_root install -d -o postgres -g postgres -m 700 "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_root runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
            --locale=C.UTF-8 --no-sync >"$dir/../initdb.log" 2>&1 || { cat "$dir/../initdb.log" >&2; return 1; }
    fi
    as_root runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_stat_statements -c fsync=off -c max_connections=200 $options" \
        start >/dev/null || { as_root cat "$dir/server.log" >&2; return 1; }
}

mon_pg_stop() {
    local dir=$1
    [ -f "$dir/data/postmaster.pid" ] || return 0
    as_root runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
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
