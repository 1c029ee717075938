# Shared functions of bench/statsd-throughput, bench/logtail-throughput and bench/metrics-render.
# Source it after scripts/lib.sh; it defines functions and a few variables only.
#
# Variables read:
#   BENCH_SCRATCH   SwiftPM scratch path of the release build (default: ../bench-build
#                   beside the repository, so the developers' .build/ is never touched)
#   BENCH_NO_BUILD  1 = use the binaries already in $BENCH_SCRATCH/${BENCH_BUILD_CONFIG:-release}, do not run swift build
#   BENCH_PREBUILT  1 = use monagent/monquery already in $BENCH_SCRATCH/${BENCH_BUILD_CONFIG:-release} (CI points
#                   it at the test build) but still build bench/swift's mon-bench
#   BENCH_PACKAGE_PATH  package to build (default: this repository). Point it at a copy of the
#                   tree when files change under Sources/ while you benchmark: SwiftPM aborts a
#                   build whose inputs change during it.
#   BENCH_BUILD_CONFIG release (default) or debug: debug only for smoke runs (CI), never for figures
#   BENCH_BUILD_NOTE  free text recorded in machine.txt (e.g. which commit a copy was taken from)
#   BENCH_TOOL_SCRATCH  scratch path of the bench/swift package (mon-bench), default
#                   $BENCH_SCRATCH/mon-bench: a package of its own needs a build directory of its own

bench_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_PACKAGE_PATH=${BENCH_PACKAGE_PATH:-$bench_repo}
BENCH_SCRATCH=${BENCH_SCRATCH:-$(dirname "$bench_repo")/bench-build}
BENCH_TOOL_SCRATCH=${BENCH_TOOL_SCRATCH:-$BENCH_SCRATCH/mon-bench}
CLK_TCK=$(getconf CLK_TCK)

# Seconds since the epoch with milliseconds.
bench_now() { date +%s.%3N; }

bench_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# bench_build [PRODUCT...] — builds (incrementally) the release binaries of the products
# (default: monagent monquery) into $BENCH_SCRATCH, both with --static-swift-stdlib, as README's
# "Installing for production" builds them: the agent's RSS depends on it, and one set of flags
# for both products means the dependencies are compiled once (a static monagent and a dynamic
# monquery in one scratch path rebuild each other's dependencies every time: 12 minutes instead
# of 6 on a fresh clone, and again on every re-run).
bench_build() {
    local products=("$@")
    [ ${#products[@]} -gt 0 ] || products=(monagent monquery)
    if [ "${BENCH_NO_BUILD:-0}" = 1 ] || [ "${BENCH_PREBUILT:-0}" = 1 ]; then
        bench_log "using the binaries in $BENCH_SCRATCH/${BENCH_BUILD_CONFIG:-release} as they are (BENCH_NO_BUILD/BENCH_PREBUILT)"
    else
        local product pinned=()
        # The versions the developers' build resolved, when there is one (a fresh clone has no
        # Package.resolved until its first build: SwiftPM then resolves and writes it).
        [ -f "$BENCH_PACKAGE_PATH/Package.resolved" ] && pinned=(--only-use-versions-from-resolved-file)
        # One section per function, so that the agent's link can place its hot code together
        # (Sources/MonAgent/hot-code.order; README "Installing for production").
        local sections=(-Xswiftc -Xfrontend -Xswiftc -function-sections)
        for product in "${products[@]}"; do
            bench_log "swift build -c ${BENCH_BUILD_CONFIG:-release} --static-swift-stdlib ${sections[*]} --product $product --scratch-path $BENCH_SCRATCH ${pinned[*]}"
            (cd "$BENCH_PACKAGE_PATH" && swift build -c "${BENCH_BUILD_CONFIG:-release}" --static-swift-stdlib "${sections[@]}" \
                --product "$product" --scratch-path "$BENCH_SCRATCH" "${pinned[@]}" >&2)
        done
    fi
    local bin
    for bin in "${products[@]}"; do
        [ -x "$BENCH_SCRATCH/${BENCH_BUILD_CONFIG:-release}/$bin" ] || { echo "missing $BENCH_SCRATCH/${BENCH_BUILD_CONFIG:-release}/$bin" >&2; return 1; }
    done
}

# Builds (incrementally) bench/swift's mon-bench in release mode into $BENCH_TOOL_SCRATCH.
# The package depends on the repository root by path; the root's Package.resolved is copied
# beside it the first time, so both resolve the same dependency versions.
bench_build_tool() {
    local package=$BENCH_PACKAGE_PATH/bench/swift
    if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
        if [ ! -f "$package/Package.resolved" ] && [ -f "$BENCH_PACKAGE_PATH/Package.resolved" ]; then
            cp "$BENCH_PACKAGE_PATH/Package.resolved" "$package/Package.resolved"
        fi
        bench_log "swift build -c ${BENCH_BUILD_CONFIG:-release} --product mon-bench --scratch-path $BENCH_TOOL_SCRATCH (in bench/swift)"
        (cd "$package" && swift build -c "${BENCH_BUILD_CONFIG:-release}" --product mon-bench --scratch-path "$BENCH_TOOL_SCRATCH" >&2)
    fi
    [ -x "$BENCH_TOOL_SCRATCH/${BENCH_BUILD_CONFIG:-release}/mon-bench" ] || { echo "missing $BENCH_TOOL_SCRATCH/${BENCH_BUILD_CONFIG:-release}/mon-bench" >&2; return 1; }
}

# bench_copy_binaries DIR [PRODUCT...] — copies the release binaries (default: monagent
# monquery) to DIR (runs never use the build dir).
bench_copy_binaries() {
    local dir=$1 bin
    shift
    local products=("$@")
    [ ${#products[@]} -gt 0 ] || products=(monagent monquery)
    mkdir -p "$dir"
    for bin in "${products[@]}"; do cp -p "$BENCH_SCRATCH/${BENCH_BUILD_CONFIG:-release}/$bin" "$dir/"; done
}

# Describes the machine and the build, as "key: value" lines (for the results file).
bench_describe() {
    local bindir=$1
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "cores: $(grep -c ^processor /proc/cpuinfo)"
    echo "memory: $(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel: $(uname -r)"
    echo "net.core.rmem_max: $(cat /proc/sys/net/core/rmem_max)"
    echo "swift: $(swift --version 2>/dev/null | head -1)"
    if [ "$BENCH_PACKAGE_PATH" = "$bench_repo" ]; then
        echo "built from: $(cd "$bench_repo" && git rev-parse --short HEAD 2>/dev/null)$(cd "$bench_repo" && git diff --quiet HEAD -- Sources Package.swift 2>/dev/null || echo ' + uncommitted changes in Sources/')${BENCH_BUILD_NOTE:+ ($BENCH_BUILD_NOTE)}"
    else
        echo "built from: $BENCH_PACKAGE_PATH${BENCH_BUILD_NOTE:+ ($BENCH_BUILD_NOTE)}"
    fi
    local bin
    for bin in monagent monquery mon-bench; do
        [ -x "$bindir/$bin" ] || continue
        echo "$bin: release, built $(date -u -r "$bindir/$bin" +%Y-%m-%dT%H:%M:%SZ), sha256 $(sha256sum "$bindir/$bin" | cut -c1-16)"
    done
    echo "postgresql: $("$PG_BIN/postgres" --version)"
    echo "python: $(python3 --version 2>&1)"
    bench_contention start
}

# One line on how busy the machine is (load average, CPU pressure): this benchmark shares
# 2 cores with whatever else runs, so a busy machine lowers every figure.
bench_contention() {
    echo "machine_load_$1: loadavg $(cut -d' ' -f1-3 /proc/loadavg); cpu pressure $(head -1 /proc/pressure/cpu 2>/dev/null | cut -d' ' -f2-4)"
}

# A UDP port on 127.0.0.1 that nothing is bound to (the kernel picks it).
bench_free_udp_port() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# CPU ticks (utime + stime) of a process; 0 if it is gone.
bench_cpu_ticks() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    # Fields after the ")" that closes comm: state is field 3, utime 14, stime 15.
    echo "${stat##*) }" | awk '{print $12 + $13}'
}

# CPU ticks of a process and all its direct children (PostgreSQL: postmaster and backends).
bench_cpu_ticks_tree() {
    local total pid
    total=$(bench_cpu_ticks "$1")
    for pid in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        total=$((total + $(bench_cpu_ticks "$pid")))
    done
    echo "$total"
}

# Resident set size of a process in MiB (VmRSS, or VmHWM with "hwm" as $2).
bench_rss_mib() {
    local key=VmRSS
    [ "${2:-}" = hwm ] && key=VmHWM
    awk -v k="$key:" '$1 == k {printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "?"
}

# bench_psql SQL — runs SQL against the benchmark database (tuples only, unaligned, tab-separated).
bench_psql() {
    "$PG_BIN/psql" -X -h 127.0.0.1 -p "$BENCH_PG_PORT" -U postgres -d mon -qtA -F $'\t' -v ON_ERROR_STOP=1 -c "$1"
}

# The largest value stored for one of the agent's own counters (0 before its first sample).
bench_counter() {
    bench_psql "SELECT coalesce(max(m.value), 0)::bigint FROM metrics m JOIN metric_series s ON s.id = m.series_id WHERE s.name = '$1'"
}

# bench_start_daemon TMP — starts PostgreSQL and monquery (from TMP/bin) on built-in
# defaults plus MONQUERY_* variables: database on a free port, ingest socket TMP/run/ingest.sock,
# HTTP on a free port of 127.0.0.1 (MONQUERY_HTTP_LISTEN). Sets BENCH_PG_PORT, BENCH_PG_PID,
# BENCH_QUERY_PID.
bench_start_daemon() {
    local tmp=$1
    mkdir -p "$tmp/run" "$tmp/logs"
    : >"$tmp/empty.yaml"
    BENCH_PG_PORT=$(mon_free_port)
    bench_log "starting PostgreSQL 15 on 127.0.0.1:$BENCH_PG_PORT"
    mon_pg_start "$tmp/pg" "$BENCH_PG_PORT"
    BENCH_PG_PID=$(head -1 "$tmp/pg/data/postmaster.pid")
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$BENCH_PG_PORT" -U postgres mon

    export MONQUERY_DATABASE_URL="postgresql://postgres@127.0.0.1:$BENCH_PG_PORT/mon"
    export MONQUERY_INGEST_SOCKET="$tmp/run/ingest.sock"
    export MONQUERY_HTTP_LISTEN="127.0.0.1:$(mon_free_port)"

    bench_log "starting monquery"
    "$tmp/bin/monquery" serve --config "$tmp/empty.yaml" >"$tmp/logs/monquery.log" 2>&1 &
    BENCH_QUERY_PID=$!
    local i
    for i in $(seq 1 200); do
        [ -S "$tmp/run/ingest.sock" ] && break
        kill -0 "$BENCH_QUERY_PID" 2>/dev/null || { cat "$tmp/logs/monquery.log" >&2; return 1; }
        sleep 0.1
    done
    [ -S "$tmp/run/ingest.sock" ] || { echo "monquery did not open its socket" >&2; cat "$tmp/logs/monquery.log" >&2; return 1; }
}

# bench_start_stack TMP — starts PostgreSQL, monquery and monagent from TMP/bin with the
# agent's extra environment already exported by the caller (MONAGENT_STATSD_ADDRESS, ...).
# Sets BENCH_PG_PORT, BENCH_AGENT_PID, BENCH_QUERY_PID, BENCH_PG_PID.
bench_start_stack() {
    local tmp=$1 i
    bench_start_daemon "$tmp" || return 1
    mkdir -p "$tmp/agent"
    export MONAGENT_INGEST_SOCKET="$tmp/run/ingest.sock"
    export MONAGENT_STATE_DIR="$tmp/agent"
    export MONAGENT_COLLECTORS=cpu
    export MONAGENT_HOST=bench MONAGENT_AGENT_ID=bench
    export MONAGENT_INTERVAL=${MONAGENT_INTERVAL:-1}

    bench_log "starting monagent (interval ${MONAGENT_INTERVAL}s, collectors=cpu)"
    "$tmp/bin/monagent" run --config "$tmp/empty.yaml" >"$tmp/logs/monagent.log" 2>&1 &
    BENCH_AGENT_PID=$!
    # Ready once its first batch is stored (the ledger has a row).
    for i in $(seq 1 300); do
        kill -0 "$BENCH_AGENT_PID" 2>/dev/null || { cat "$tmp/logs/monagent.log" >&2; return 1; }
        [ "$(bench_psql 'SELECT count(*) FROM ingest_ledger' 2>/dev/null || echo 0)" -gt 0 ] && return 0
        sleep 0.1
    done
    echo "monagent shipped nothing within 30 s" >&2
    cat "$tmp/logs/monagent.log" >&2
    return 1
}

# bench_stop_stack TMP — stops monagent, monquery (SIGTERM, then SIGKILL after 10 s) and PostgreSQL.
bench_stop_stack() {
    local tmp=$1 pid i
    for pid in ${BENCH_AGENT_PID:-} ${BENCH_QUERY_PID:-}; do
        kill -TERM "$pid" 2>/dev/null || continue
        for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    BENCH_AGENT_PID= BENCH_QUERY_PID=
    [ -d "$tmp/pg" ] && mon_pg_stop "$tmp/pg"
    return 0
}

# Busy CPU ticks of the whole machine, all cores (user+nice+system+irq+softirq+steal).
bench_machine_busy_ticks() {
    awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# bench_wait_quiet — waits while the machine is busy with other work, so that timing runs do
# not share the 2 cores with it: while a process matches BENCH_BUSY_PATTERN (default
# "monPackageTests|swift-build": the project's tests, any swift build), or the whole machine
# was busier than BENCH_QUIET_CORES (0.3) cores over a 2-second sample. Gives up after
# BENCH_WAIT_MAX seconds (default 3600; 0 = never wait). Prints the seconds waited.
bench_wait_quiet() {
    local pattern=${BENCH_BUSY_PATTERN:-monPackageTests|swift-build} max=${BENCH_WAIT_MAX:-3600} waited=0 b0 b1
    while [ "$waited" -lt "$max" ]; do
        if ! pgrep -f "$pattern" >/dev/null; then
            b0=$(bench_machine_busy_ticks)
            sleep 2
            b1=$(bench_machine_busy_ticks)
            awk -v a="$b0" -v b="$b1" -v t="$CLK_TCK" -v q="${BENCH_QUIET_CORES:-0.3}" \
                'BEGIN { exit !((b - a) / t / 2 < q) }' && break
        fi
        if [ "$waited" = 0 ]; then
            bench_log "waiting while other work runs: $(pgrep -f "$pattern" | head -3 | xargs -r ps -o comm= -p | sort -u | xargs)"
        fi
        # Poll every 5 s (the 2-s reading above included): a part that follows a busy one
        # (the daemon and PostgreSQL still finishing the last slow requests) waits seconds, not 10.
        sleep 3
        waited=$((waited + 5))
    done
    echo "$waited"
}
