#!/usr/bin/env python3
"""bench/run part `overhead`: monagent's CPU per cycle and RSS with every collector on, side by
side (same run, same machine, same PostgreSQL and Redis) with Debian's node, redis and
postgres exporters scraped by a curl loop at the same interval.

Ours: monagent (release) with the six host collectors, 3 process groups (postgres,
redis-server, monagent), the Redis source, the PostgreSQL source (pg_stat_statements on), the
StatsD receiver listening but idle, the durable spool on (defaults: fsync each batch),
shipping to a release monquery. Theirs: prometheus-node-exporter with the comparable
collectors (cpu, stat, meminfo, loadavg, pressure, diskstats, filesystem, netdev, sockstat,
processes), prometheus-redis-exporter and prometheus-postgres-exporter (defaults), each
scraped with `curl` once per interval; a second node exporter with its default collectors
is scraped too, as a reference outside the ratio.

CPU: utime+stime deltas from /proc/PID/stat over a window of whole intervals, placed
between ticks (the agent's cycles are aligned to the wall clock), so the window holds
exactly N agent cycles and N scrape rounds. RSS: VmRSS and VmHWM from /proc/PID/status.

Settings: OVERHEAD_SECONDS (300; smoke 15), OVERHEAD_INTERVAL (5; smoke 1),
OVERHEAD_WINDOW_CYCLES (12: per-window figures for median/min/max; smoke 5),
OVERHEAD_PROFILE_SECONDS (0 = off): after the measured window, with everything still running,
`perf record` samples the agent for that long and its self-time report (by shared object and
symbol, kernel included) is written next to the results as overhead-STAMP.perf.txt — the
profile of the agent under the same load, outside the figures.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

SECONDS = int(os.environ.get("OVERHEAD_SECONDS", "15" if B.SMOKE else "300"))
INTERVAL = float(os.environ.get("OVERHEAD_INTERVAL", "1" if B.SMOKE else "5"))
PROFILE_SECONDS = int(os.environ.get("OVERHEAD_PROFILE_SECONDS", "0"))
SOAK_SECONDS = 1800
WINDOW = int(os.environ.get("OVERHEAD_WINDOW_CYCLES", "5" if B.SMOKE else "12"))

NODE_COMPARABLE = ["cpu", "stat", "meminfo", "loadavg", "pressure", "diskstats", "filesystem", "netdev",
                   "sockstat", "processes"]


def exporter_binary(name):
    path = "/usr/bin/" + name
    if not os.path.exists(path):
        raise SystemExit("%s is missing: apt-get install %s (bench/run installs it)" % (path, name))
    return path


def version(args):
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return (r.stdout.strip().splitlines() or ["?"])[0]


def profile(pid, seconds):
    """perf self-time profile of `pid` for `seconds`, as text next to the results file."""
    data = os.path.join(tempfile.mkdtemp(prefix="bench-perf."), "agent.perf.data")
    out = os.path.join(B.RESULTS_DIR, "overhead-%s.perf.txt" % B.STAMP)
    B.log("overhead: profiling the agent with perf for %d s" % seconds)
    r = subprocess.run(["perf", "record", "-q", "-F", "999", "-p", str(pid), "-o", data, "--", "sleep", str(seconds)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        B.log("overhead: perf record failed (%s); no profile" % r.stdout.strip()[-200:])
        return
    report = []
    for sort in ("dso", "dso,sym"):
        rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", sort,
                              "--percent-limit", "0.7"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        report.append("### perf report --sort %s (self time, >= 0.7 %%)\n" % sort)
        report += [line for line in rep.stdout.splitlines() if line and not line.startswith("#")]
        report.append("")
    with open(out, "w") as f:
        f.write("monagent, %d s at a %g s interval, perf record -F 999 -p PID\n\n" % (seconds, INTERVAL))
        f.write("\n".join(report) + "\n")
    B.log("overhead: profile in %s" % out)


def main():
    stack = B.Stack("overhead")
    stack.start_postgres()
    # Something for the PostgreSQL source (and the exporter) to read: pg_stat_statements,
    # a few tables with rows and a steady trickle of statements.
    stack.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"
               "CREATE TABLE app_items (id bigserial PRIMARY KEY, body text, n int);"
               "INSERT INTO app_items (body, n) SELECT md5(g::text), g % 100 FROM generate_series(1, 20000) g;"
               "CREATE INDEX ON app_items (n); ANALYZE;")
    stack.start_redis()
    redis_cli = ["redis-cli", "-h", "127.0.0.1", "-p", str(stack.redis_port)]
    seed = "".join("SET %s:%d %s\r\n" % (kind, i, "x" * 64) for kind in ("search", "emb", "graph", "other")
                   for i in range(500))
    subprocess.run(redis_cli + ["--pipe"], input=seed, text=True, stdout=subprocess.DEVNULL, check=True)
    stack.start_monquery()

    # --- monagent ------------------------------------------------------------------------
    state = os.path.join(stack.tmp, "agent")
    os.makedirs(state)
    statsd_port = B.free_udp_port()
    config = os.path.join(stack.tmp, "monagent.yaml")
    with open(config, "w") as f:
        f.write("""interval: %s
agent_id: bench-overhead
host: bench-overhead
state_dir: %s
ingest:
  socket: %s
collectors: [cpu, memory, disk, filesystem, network, process]
processes:
  - name: postgres
    comm: [postgres]
    cmdline: ["postgres:"]
  - name: redis-server
    comm: [redis-server]
  - name: monagent
    comm: [monagent]
postgres:
  url: "postgresql://postgres@127.0.0.1:%d/mon"
redis:
  url: "redis://127.0.0.1:%d/0"
statsd:
  address: "127.0.0.1:%d"
""" % (INTERVAL, state, stack.ingest_socket, stack.pg_port, stack.redis_port, statsd_port))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONAGENT_")}
    env["MALLOC_ARENA_MAX"] = "2"   # as deploy/systemd/monagent.service ships it
    agent = stack.spawn("monagent", [os.path.join(B.BIN, "monagent"), "run", "--config", config], env=env)

    # --- the exporters -------------------------------------------------------------------
    ports = {name: B.free_port() for name in ("node", "redis", "postgres", "node_defaults")}
    node = exporter_binary("prometheus-node-exporter")
    exporters = {
        "node": stack.spawn("node_exporter", [node, "--web.listen-address=127.0.0.1:%d" % ports["node"],
                                              "--collector.disable-defaults"]
                            + ["--collector." + c for c in NODE_COMPARABLE]),
        "redis": stack.spawn("redis_exporter", [exporter_binary("prometheus-redis-exporter"),
                                                "-redis.addr", "redis://127.0.0.1:%d" % stack.redis_port,
                                                "-web.listen-address", "127.0.0.1:%d" % ports["redis"]]),
        "postgres": stack.spawn("postgres_exporter", [exporter_binary("prometheus-postgres-exporter"),
                                                      "--web.listen-address=127.0.0.1:%d" % ports["postgres"]],
                                env=dict(os.environ, DATA_SOURCE_NAME="postgresql://postgres@127.0.0.1:%d/mon"
                                         "?sslmode=disable" % stack.pg_port)),
    }
    reference = {
        "node_defaults": stack.spawn("node_exporter_defaults", [node, "--web.listen-address=127.0.0.1:%d"
                                                                % ports["node_defaults"]]),
    }
    urls = {name: "http://127.0.0.1:%d/metrics" % ports[name] for name in ports}
    scraped = {**exporters, **reference}

    # Ready: the agent has shipped a batch; every exporter answers.
    for _ in range(300):
        stack.check_alive(agent)
        for proc in scraped.values():
            stack.check_alive(proc)
        if int(stack.psql("SELECT count(*) FROM ingest_ledger") or 0) > 0:
            break
        time.sleep(0.1)
    else:
        raise RuntimeError("monagent shipped nothing:\n" + stack.log_tail("monagent"))
    for name, url in urls.items():
        for _ in range(100):
            try:
                B.http_get(url, timeout=5)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("%s exporter does not answer on %s" % (name, url))

    # --- the scrape loop -----------------------------------------------------------------
    scrapes = {name: [] for name in urls}   # (http code, seconds, bytes)
    samples = []                            # per round: ticks of everything
    stop = threading.Event()

    def snapshot():
        row = {"t": time.time(), "agent": B.cpu_ticks(agent.pid)}
        for name, proc in scraped.items():
            row[name] = B.cpu_ticks(proc.pid)
        # (Keys apart from the exporters' names: "postgres" and "redis" are exporters.)
        row["ctx_monquery"] = B.cpu_ticks(stack.query.pid)
        row["ctx_postgresql_server"] = B.tree_ticks(stack.pg_pid)
        row["ctx_redis_server"] = B.cpu_ticks(stack.redis_pid)
        row["agent_rss_kib"] = B.status_kib(agent.pid, "VmRSS")
        row["agent_anon_kib"] = B.status_kib(agent.pid, "RssAnon")
        return row

    def scrape_round():
        for name, url in urls.items():
            r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total} %{size_download}",
                                url], stdout=subprocess.PIPE, text=True)
            code, seconds, size = (r.stdout.split() + ["0", "0", "0"])[:3]
            scrapes[name].append((int(code), float(seconds), int(float(size))))

    # Scrape rounds (and window edges) at the middle between two agent ticks.
    def next_mid(now):
        base = (now // INTERVAL) * INTERVAL + INTERVAL / 2
        return base if base > now + 0.05 else base + INTERVAL

    warm_rounds = 2
    rounds = max(2, int(round(SECONDS / INTERVAL)))
    # Wait for a quiet machine first (everything already runs), then warm up and measure.
    part = B.Part("overhead", pids=[agent.pid, stack.query.pid, stack.pg_pid, stack.redis_pid]
                  + [p.pid for p in scraped.values()])
    t = next_mid(time.time())
    for _ in range(warm_rounds):     # warm-up: first scrapes, first agent cycles with rates
        time.sleep(max(0, t - time.time()))
        scrape_round()
        t += INTERVAL
    for name in scrapes:
        scrapes[name].clear()
    B.log("overhead: %d rounds of %.0f s (%d s), agent pid %d" % (rounds, INTERVAL, rounds * INTERVAL, agent.pid))
    ledger0 = stack.psql("SELECT count(*), coalesce(sum(samples), 0) FROM ingest_ledger").split("\t")
    t = next_mid(time.time())
    with part:
        time.sleep(max(0, t - time.time()))
        samples.append(snapshot())
        for _ in range(rounds):
            scrape_round()                       # the scrape belongs to the round it starts
            t += INTERVAL
            time.sleep(max(0, t - time.time()))
            samples.append(snapshot())
            stack.check_alive(agent)
    ledger1 = stack.psql("SELECT count(*), coalesce(sum(samples), 0) FROM ingest_ledger").split("\t")

    first, last = samples[0], samples[-1]
    n = len(samples) - 1
    tick = 1000.0 / B.CLK_TCK   # ms per tick

    def per_cycle_ms(key_list, a, b, cycles):
        return sum(b[k] - a[k] for k in key_list) * tick / cycles

    trio = list(exporters)
    windows = []
    for i in range(0, n - WINDOW + 1, WINDOW):
        a, b = samples[i], samples[i + WINDOW]
        windows.append({"ours_ms": per_cycle_ms(["agent"], a, b, WINDOW),
                        "trio_ms": per_cycle_ms(trio, a, b, WINDOW)})
    ours = per_cycle_ms(["agent"], first, last, n)
    theirs = per_cycle_ms(trio, first, last, n)
    rss = {name: B.status_kib(p.pid, "VmRSS") / 1024 for name, p in scraped.items()}
    hwm = {name: B.status_kib(p.pid, "VmHWM") / 1024 for name, p in scraped.items()}
    agent_rss = B.status_kib(agent.pid, "VmRSS") / 1024
    agent_hwm = B.status_kib(agent.pid, "VmHWM") / 1024
    trio_rss = sum(rss[k] for k in trio)
    # VmRSS = RssAnon (private memory: heap, stacks, relocated data) + RssFile (clean pages
    # of the binary and its libraries mapped from the page cache, shared and reclaimable).
    anon = {name: B.status_kib(p.pid, "RssAnon") / 1024 for name, p in scraped.items()}
    agent_anon = B.status_kib(agent.pid, "RssAnon") / 1024
    agent_file = B.status_kib(agent.pid, "RssFile") / 1024
    trio_anon = sum(anon[k] for k in trio)
    rss_series = [s["agent_rss_kib"] / 1024 for s in samples]
    bad_scrapes = {k: sum(1 for c, _, _ in v if c != 200) for k, v in scrapes.items()}
    batches = int(ledger1[0]) - int(ledger0[0])
    shipped = int(ledger1[1]) - int(ledger0[1])

    result = {
        "machine": B.describe_machine(),
        "settings": {"seconds": n * INTERVAL, "interval_s": INTERVAL, "cycles": n, "window_cycles": WINDOW,
                     "node_collectors": NODE_COMPARABLE},
        "versions": {"node_exporter": version([node, "--version"]),
                     "redis_exporter": version([exporter_binary("prometheus-redis-exporter"), "-version"]),
                     "postgres_exporter": version([exporter_binary("prometheus-postgres-exporter"), "--version"])},
        "ours": {
            "cpu_ms_per_cycle": ours,
            "cpu_ms_per_cycle_windows": B.stats([w["ours_ms"] for w in windows]),
            "rss_mib": agent_rss, "hwm_mib": agent_hwm,
            "rss_anon_mib": agent_anon, "rss_file_mib": agent_file,
            "rss_mib_first": rss_series[0], "rss_mib_last": rss_series[-1],
            "rss_mib_max_sampled": max(rss_series),
            # (seconds into the window, VmRSS MiB, RssAnon MiB) about once a minute: growth or plateau.
            "rss_series": [(round(s["t"] - first["t"]), round(s["agent_rss_kib"] / 1024, 2),
                            round(s["agent_anon_kib"] / 1024, 2))
                           for i, s in enumerate(samples) if i % max(1, int(60 / INTERVAL)) == 0 or s is last],
            "batches_shipped": batches, "samples_shipped": shipped,
            "samples_per_cycle": shipped / n if n else None,
        },
        "theirs": {
            "cpu_ms_per_round": theirs,
            "cpu_ms_per_round_windows": B.stats([w["trio_ms"] for w in windows]),
            "cpu_ms_per_round_each": {k: per_cycle_ms([k], first, last, n) for k in scraped},
            "rss_mib": trio_rss, "rss_mib_each": rss, "hwm_mib_each": hwm,
            "rss_anon_mib": trio_anon, "rss_anon_mib_each": anon,
            "scrape_seconds": {k: B.stats([s for _, s, _ in v]) for k, v in scrapes.items()},
            "scrape_bytes": {k: (v[-1][2] if v else None) for k, v in scrapes.items()},
            "failed_scrapes": bad_scrapes,
        },
        "context_cpu_ms_per_cycle": {k[4:]: per_cycle_ms([k], first, last, n)
                                     for k in ("ctx_monquery", "ctx_postgresql_server", "ctx_redis_server")},
        "ratios": {
            "cpu_theirs_over_ours": theirs / ours if ours > 0 else None,
            "rss_theirs_over_ours": trio_rss / agent_rss if agent_rss > 0 else None,
            "rss_anon_theirs_over_ours": trio_anon / agent_anon if agent_anon > 0 else None,
        },
        "windows": windows,
        "contention": part.result,
    }
    result["targets"] = {
        "agent_cpu": {"target": "<= 3 ms CPU per cycle and >= 4x less than the exporter trio",
                      "met": ours <= 3 and (theirs / ours if ours else 0) >= 4},
        "agent_rss": {"target": "<= 12 MB and >= 4x less than the trio (no growth over 30 min: not soaked here)",
                      "met": agent_rss <= 12 and (trio_rss / agent_rss if agent_rss else 0) >= 4},
    }
    if any(bad_scrapes.values()):
        B.log("WARNING: failed scrapes: %s" % bad_scrapes)
    B.log("overhead: ours %.2f ms CPU/cycle, RSS %.1f MiB (HWM %.1f); trio %.2f ms/round, RSS %.1f MiB; "
          "ratios CPU %.2fx, RSS %.2fx" % (ours, agent_rss, agent_hwm, theirs, trio_rss,
                                           result["ratios"]["cpu_theirs_over_ours"] or 0,
                                           result["ratios"]["rss_theirs_over_ours"] or 0))
    # A soak (30 minutes or more) is kept apart: its figures answer "does the RSS grow", and its
    # CPU per cycle would otherwise replace the 5-minute run's in the summary table.
    B.write_result("soak-overhead" if SECONDS >= SOAK_SECONDS and not B.SMOKE else "overhead", result)
    if PROFILE_SECONDS > 0:
        profile(agent.pid, PROFILE_SECONDS)
    stop.set()
    stack.stop()


if __name__ == "__main__":
    main()
