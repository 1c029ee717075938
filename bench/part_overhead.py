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
exactly N agent cycles and N scrape rounds; and the same from the scheduler's nanosecond
clock (sum of /proc/PID/task/*/schedstat). The target is judged on the larger of the two:
utime+stime is the process's precise run time (the kernel scales its 4-ms tick samples to the
scheduler's sum, exited threads included) in 10-ms units, so ±10 ms over the window; schedstat is
precise but counts only the threads alive at both ends of the window (a libdispatch worker that
exits takes its time with it: a lower bound). RSS: VmRSS and VmHWM from /proc/PID/status.

Settings: OVERHEAD_SECONDS (300; smoke 15), OVERHEAD_INTERVAL (5; smoke 1),
OVERHEAD_WINDOW_CYCLES (12: per-window figures for median/min/max; smoke 5),
OVERHEAD_PROFILE_SECONDS (0 = off): after the measured window, with everything still running,
`perf record` samples the agent for that long and its self-time report (by shared object and
symbol, kernel included) is written next to the results as overhead-STAMP.perf.txt — the
profile of the agent under the same load, outside the figures. OVERHEAD_PROFILE_HZ (999) is
perf's sampling frequency; the perf.data (call graphs) stays in a bench-perf.* temp dir, named
in the log, for `perf report --children`.

Busy database (issue 22): after the idle window, OVERHEAD_BUSY_STATEMENTS (4800; smoke 200; 0 =
off) distinct statements are run once each (with monquery's, the exporters' and the agent's own,
pg_stat_statements then holds about 5000 entries, its default `max`, without evicting any), and a generator keeps calling them, OVERHEAD_BUSY_RATE statements/s (default:
all of them once per statement poll, i.e. statements / OVERHEAD_STATEMENTS_INTERVAL), while a second
window of OVERHEAD_BUSY_SECONDS (default two statement polls) is measured the same way. The window
starts at the round where the statements are created, so its first poll sees them all new (texts
fetched) and its second sees them all changed. OVERHEAD_STATEMENTS_INTERVAL (60, the agent's
default; smoke 5) is written to the agent's config as `postgres.statements_interval`.

Netdata (OVERHEAD_NETDATA=1, the default; 0 = off): Debian's netdata 1.37 with its defaults, started
from a private config in the temp dir (web and StatsD on free loopback ports, its own cache/lib/log/run
dirs, as root so it needs no other owner), side by side in both windows: CPU of its process tree
(plugins included) per 5 s, VmRSS / Pss / RssAnon of the tree. Debian's 1.37 has no PostgreSQL or
Redis collector (those are in go.d, not packaged), so it watches the host only.

Application load (for the soak, issue 22; both 0 = off, the default): OVERHEAD_LOG_RATE lines/s of
structlog JSON (bench/logtail_writer.py's lines, ~250 bytes, one in ten with a password to redact)
appended to a file the agent tails, and OVERHEAD_STATSD_RATE datagrams/s of one DogStatsD line each
(bench/statsd_sender.py) sent to the agent's StatsD port, from the warm-up to the end of the measured
window. The results gain "load": lines written and stored in the `logs` table, datagrams sent and the
agent's own StatsD counters (received, dropped), so a soak also shows that nothing was lost. E.g.
`OVERHEAD_SECONDS=2700 OVERHEAD_LOG_RATE=2000 OVERHEAD_STATSD_RATE=20000 OVERHEAD_BUSY_STATEMENTS=0
OVERHEAD_NETDATA=0 bench/run overhead`: a 45-minute soak whose last 30 minutes decide "RssAnon flat".
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
PROFILE_HZ = int(os.environ.get("OVERHEAD_PROFILE_HZ", "999"))
SOAK_SECONDS = 1800
WINDOW = int(os.environ.get("OVERHEAD_WINDOW_CYCLES", "5" if B.SMOKE else "12"))
STATEMENTS_INTERVAL = float(os.environ.get("OVERHEAD_STATEMENTS_INTERVAL", "5" if B.SMOKE else "60"))
BUSY_STATEMENTS = int(os.environ.get("OVERHEAD_BUSY_STATEMENTS", "200" if B.SMOKE else "4800"))
BUSY_SECONDS = float(os.environ.get("OVERHEAD_BUSY_SECONDS", str(2 * STATEMENTS_INTERVAL)))
BUSY_RATE = float(os.environ.get("OVERHEAD_BUSY_RATE", str(BUSY_STATEMENTS / STATEMENTS_INTERVAL)))
NETDATA = os.environ.get("OVERHEAD_NETDATA", "1") == "1"
LOG_RATE = float(os.environ.get("OVERHEAD_LOG_RATE", "0"))
STATSD_RATE = float(os.environ.get("OVERHEAD_STATSD_RATE", "0"))
NETDATA_BIN = "/usr/sbin/netdata"

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


def smaps_kib(pid, key):
    """A field of /proc/PID/smaps_rollup (Pss, Rss, …) in KiB; 0 when unreadable."""
    return B.status_kib(pid, key, "smaps_rollup")


def task_files(pid, name):
    """The text of /proc/PID/task/TID/<name> for each thread still there."""
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return
    for tid in tasks:
        try:
            with open("/proc/%d/task/%s/%s" % (pid, tid, name)) as f:
                yield f.read()
        except OSError:
            pass


def thread_ticks(pid):
    """CPU ticks per thread name of a process (threads with the same name summed)."""
    out = {}
    for text in task_files(pid, "stat"):
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        out[name] = out.get(name, 0) + int(fields[11]) + int(fields[12])
    return out


def run_ns(pid):
    """Nanoseconds the process's threads have run (/proc/PID/task/*/schedstat, first field): the
    scheduler's own clock, where utime+stime move in 10-ms ticks (a 3-ms cycle is a third of one)."""
    return sum(int(text.split()[0]) for text in task_files(pid, "schedstat"))


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def all_children(pid):
    """Children of every thread of `pid` (netdata starts its plugins from other threads than the
    main one, so /proc/PID/task/PID/children alone misses them)."""
    return [int(p) for text in task_files(pid, "children") for p in text.split()]


def tree_pids(pid):
    return [pid] + [p for c in all_children(pid) for p in tree_pids(c)]


def tree_ticks(pid):
    """CPU ticks of a process tree: each live process and the children it reaped."""
    return sum(B.cpu_ticks(p, children=True) for p in tree_pids(pid))


def memory_mib(pid, tree=False):
    """VmRSS, Pss and RssAnon in MiB of a process (or its whole tree)."""
    pids = tree_pids(pid) if tree else [pid]
    return {"rss_mib": sum(B.status_kib(p, "VmRSS") for p in pids) / 1024,
            "pss_mib": sum(smaps_kib(p, "Pss") for p in pids) / 1024,
            "rss_anon_mib": sum(B.status_kib(p, "RssAnon") for p in pids) / 1024,
            "processes": len(pids)}


def statement_texts(count):
    """`count` statements with distinct query ids (pg_stat_statements normalizes constants, so
    they differ in structure: the select list is a distinct sequence of app_items' columns),
    each with a comment as an application's query builder writes them (~150-byte texts)."""
    columns = ("id", "n", "body", "length(body)")
    out = []
    length = 1
    while len(out) < count:
        for code in range(len(columns) ** length):
            if len(out) == count:
                break
            picks = []
            for _ in range(length):
                picks.append(columns[code % len(columns)])
                code //= len(columns)
            out.append("/* app.repository.items: generated statement %d */ SELECT %s FROM app_items "
                       "WHERE id = %d;" % (len(out), ", ".join(picks), 1 + len(out) % 20000))
        length += 1
    return out


def start_netdata(stack, env):
    """netdata 1.37 with its defaults, private dirs and ports (loopback); returns the process."""
    root = os.path.join(stack.tmp, "netdata")
    dirs = {k: os.path.join(root, k) for k in ("config", "cache", "lib", "log", "run", "home")}
    for d in dirs.values():
        os.makedirs(d)
    web, statsd = B.free_port(), B.free_port()
    conf = os.path.join(dirs["config"], "netdata.conf")
    with open(conf, "w") as f:
        f.write("""[global]
    run as user = root
[directories]
    config = %(config)s
    cache = %(cache)s
    lib = %(lib)s
    log = %(log)s
    run = %(run)s
    home = %(home)s
[logs]
    debug = %(log)s/debug.log
    error = %(log)s/error.log
    access = %(log)s/access.log
[web]
    bind to = 127.0.0.1:%(web)d
[statsd]
    bind to = udp:127.0.0.1:%(statsd)d tcp:127.0.0.1:%(statsd)d
""" % dict(dirs, web=web, statsd=statsd))
    proc = stack.spawn("netdata", [NETDATA_BIN, "-D", "-c", conf], env=dict(env, DO_NOT_TRACK="1"))
    proc.netdata_url = "http://127.0.0.1:%d/api/v1/info" % web
    return proc


TICK_MS = 1000.0 / B.CLK_TCK


def netdata_figures(netdata, a, b, agent_mem):
    """netdata's CPU per 5 s between two snapshots and its tree's memory now, with ratios."""
    seconds = b["t"] - a["t"]
    cpu = (b["netdata"] - a["netdata"]) * TICK_MS / (seconds / 5.0)
    ours = (b["agent"] - a["agent"]) * TICK_MS / (seconds / 5.0)
    mem = memory_mib(netdata.pid, tree=True)
    mem["process_names"] = sorted(set(comm(p) for p in tree_pids(netdata.pid)))
    return {"cpu_ms_per_5s": cpu, "agent_cpu_ms_per_5s": ours, **mem,
            "ratios": {"cpu_netdata_over_ours": cpu / ours if ours > 0 else None,
                       "rss_netdata_over_ours": mem["rss_mib"] / agent_mem["rss_mib"] if agent_mem["rss_mib"] else None,
                       "pss_netdata_over_ours": mem["pss_mib"] / agent_mem["pss_mib"] if agent_mem["pss_mib"] else None,
                       "rss_anon_netdata_over_ours": mem["rss_anon_mib"] / agent_mem["rss_anon_mib"]
                       if agent_mem["rss_anon_mib"] else None}}


class Generator(threading.Thread):
    """One psql session calling the statements round-robin at `rate` per second."""

    def __init__(self, stack, path, count, rate):
        super().__init__(daemon=True)
        with open(path) as f:
            self.lines = f.read().splitlines()
        self.rate = rate
        self.done = threading.Event()
        self.sent = 0
        self.proc = subprocess.Popen([B.PG_BIN + "/psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(stack.pg_port),
                                      "-U", "postgres", "-d", "mon"], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)

    def run(self):
        t0 = time.monotonic()
        while not self.done.wait(0.05):
            due = int((time.monotonic() - t0) * self.rate)
            chunk = [self.lines[i % len(self.lines)] for i in range(self.sent, due)]
            self.sent = due
            try:
                self.proc.stdin.write("\n".join(chunk) + "\n")
                self.proc.stdin.flush()
            except OSError:
                return

    def stop(self):
        self.done.set()
        self.join(5)
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def busy_phase(stack, result, snapshot, scrape_round, scrapes, next_mid, agent, trio, netdata, scraped):
    """The busy-database window (module docstring); adds result["busy"], returns the generator."""
    path = os.path.join(stack.tmp, "statements.sql")
    with open(path, "w") as f:
        f.write("\n".join(statement_texts(BUSY_STATEMENTS)) + "\n")
    rounds = max(2, int(round(BUSY_SECONDS / INTERVAL)))
    before = {k: len(v) for k, v in scrapes.items()}
    part = B.Part("overhead-busy", pids=[agent.pid, stack.query.pid, stack.pg_pid, stack.redis_pid]
                  + [p.pid for p in scraped.values()] + ([netdata.pid] if netdata else []), wait=False)
    B.log("overhead: busy database, %d statements at %.0f/s, %d rounds (%d s)" % (
        BUSY_STATEMENTS, BUSY_RATE, rounds, rounds * INTERVAL))
    samples = []
    t = next_mid(time.time())
    with part:
        time.sleep(max(0, t - time.time()))
        samples.append(snapshot())
        threads0 = thread_ticks(agent.pid)
        t0 = time.time()
        stack.psql("\\o /dev/null\n\\i %s\n" % path)
        prefill_s = time.time() - t0
        if prefill_s > INTERVAL / 2:
            B.log("WARNING: creating the statements took %.1f s (> half an interval)" % prefill_s)
        generator = Generator(stack, path, BUSY_STATEMENTS, BUSY_RATE)
        generator.start()
        for _ in range(rounds):
            scrape_round()
            t += INTERVAL
            time.sleep(max(0, t - time.time()))
            samples.append(snapshot())
            stack.check_alive(agent)
        threads1 = thread_ticks(agent.pid)
    first, last = samples[0], samples[-1]
    n = len(samples) - 1
    agent_mem = memory_mib(agent.pid)
    # Where the agent's CPU went, by thread (the PostgreSQL source runs on "pg-collector"; the
    # spool, shipping and the other sources on the runtime's and NIO's threads).
    by_thread = {name: (threads1.get(name, 0) - threads0.get(name, 0)) * TICK_MS / n for name in threads1}
    ours = (last["agent"] - first["agent"]) * TICK_MS / n
    each = {k: (last[k] - first[k]) * TICK_MS / n for k in scraped}
    theirs = sum(each[k] for k in trio)
    per_cycle = [(b["agent"] - a["agent"]) * TICK_MS for a, b in zip(samples, samples[1:])]
    info = stack.psql("SELECT (SELECT count(*) FROM pg_stat_statements), dealloc FROM pg_stat_statements_info")
    entries, dealloc = (info.split("\t") + ["", ""])[:2]
    busy = {
        "settings": {"statements": BUSY_STATEMENTS, "rate_per_s": BUSY_RATE, "seconds": n * INTERVAL, "cycles": n,
                     "statements_interval_s": STATEMENTS_INTERVAL, "prefill_s": round(prefill_s, 3),
                     "generator_calls": generator.sent},
        "pg_stat_statements": {"entries_at_end": int(entries or 0), "dealloc": int(dealloc or 0)},
        "ours": {"cpu_ms_per_cycle": ours,
                 "cpu_ms_per_cycle_schedstat": (last["agent_ns"] - first["agent_ns"]) / 1e6 / n,
                 "cpu_ms_per_cycle_each": [round(x, 1) for x in per_cycle],
                 "cpu_ms_two_largest_cycles": sorted(per_cycle)[-2:],
                 "cpu_ms_median_cycle": B.stats(per_cycle)["median"], **agent_mem,
                 "cpu_ms_per_cycle_by_thread": {k: round(v, 3) for k, v in sorted(by_thread.items()) if v > 0}},
        "theirs": {"cpu_ms_per_round": theirs, "cpu_ms_per_round_each": each,
                   "cpu_ms_per_round_schedstat": sum(last[k + "_ns"] - first[k + "_ns"] for k in trio) / 1e6 / n,
                   "rss_mib": sum(B.status_kib(scraped[k].pid, "VmRSS") for k in trio) / 1024,
                   "pss_mib": sum(smaps_kib(scraped[k].pid, "Pss") for k in trio) / 1024,
                   "rss_anon_mib": sum(B.status_kib(scraped[k].pid, "RssAnon") for k in trio) / 1024,
                   "failed_scrapes": {k: sum(1 for c, _, _ in v[before[k]:] if c != 200) for k, v in scrapes.items()}},
        "ratios": {"cpu_theirs_over_ours": theirs / ours if ours > 0 else None},
        "contention": part.result,
    }
    if netdata:
        busy["netdata"] = netdata_figures(netdata, first, last, agent_mem)
    result["busy"] = busy
    result["targets"]["agent_cpu_busy"] = {
        "target": "<= 3 ms CPU per cycle with %d statements in pg_stat_statements, over a window with two "
                  "statement polls" % BUSY_STATEMENTS, "met": ours <= 3}
    B.log("overhead (busy): ours %.2f ms CPU/cycle (largest cycles %s), trio %.2f ms/round%s; %s entries, "
          "dealloc %s" % (ours, ", ".join("%.0f" % x for x in busy["ours"]["cpu_ms_two_largest_cycles"]), theirs,
                          ", netdata %.2f ms/5 s" % busy["netdata"]["cpu_ms_per_5s"] if netdata else "",
                          entries, dealloc))
    return generator


class AppLoad:
    """The soak's application load: structlog lines appended to `path` at LOG_RATE lines/s (a
    thread writing a slice every 10 ms from a pool of pre-generated lines) and StatsD datagrams
    at STATSD_RATE/s (bench/statsd_sender.py, one line per datagram), for `seconds`."""

    def __init__(self, stack, path, statsd_port, seconds):
        self.stack, self.path, self.port, self.seconds = stack, path, statsd_port, seconds
        self.active = LOG_RATE > 0 or STATSD_RATE > 0
        self.written = 0
        self.stop_event = threading.Event()
        self.thread = None
        self.sender = None

    def start(self):
        if LOG_RATE > 0:
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import logtail_writer  # noqa: E402
            pool = logtail_writer.make_lines(20000, 7).splitlines(keepends=True)
            self.thread = threading.Thread(target=self._write, args=(pool,), daemon=True)
            self.thread.start()
        if STATSD_RATE > 0:
            sender = os.path.join(os.path.dirname(os.path.abspath(__file__)), "statsd_sender.py")
            self.sender = subprocess.Popen([sys.executable, sender, "--port", str(self.port), "--rate",
                                            str(STATSD_RATE), "--duration", str(self.seconds),
                                            "--lines-per-datagram", "1"],
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if self.active:
            B.log("overhead: application load on: %g log lines/s, %g StatsD datagrams/s" % (LOG_RATE, STATSD_RATE))

    def _write(self, pool):
        per_slice = LOG_RATE / 100.0
        owed = 0.0
        i = 0
        t = time.time()
        with open(self.path, "ab", buffering=0) as f:
            while not self.stop_event.is_set():
                owed += per_slice
                n = int(owed)
                owed -= n
                chunk = []
                for _ in range(n):
                    chunk.append(pool[i % len(pool)])
                    i += 1
                if chunk:
                    f.write(b"".join(chunk))
                    self.written += n
                t += 0.01
                time.sleep(max(0, t - time.time()))

    def finish(self, agent):
        self.stop_event.set()
        if self.thread:
            self.thread.join()
        sent = None
        if self.sender:
            # It was started for the whole run; it ends on its own shortly after the window.
            try:
                out, _ = self.sender.communicate(timeout=3 * INTERVAL + 30)
            except subprocess.TimeoutExpired:
                self.sender.terminate()
                out, _ = self.sender.communicate()
            try:
                sent = json.loads(out.strip().splitlines()[-1])
            except (ValueError, IndexError):
                sent = {"output": out[-300:]}
        # Let the agent ship what it has read (two cycles), then count what arrived.
        time.sleep(2 * INTERVAL + 1)
        self.stack.check_alive(agent)
        stored = int(self.stack.psql("SELECT count(*) FROM logs WHERE host = 'bench-overhead'") or 0)
        counters = {}
        for name in ("mon_agent_statsd_datagrams_total", "mon_agent_statsd_lines_total",
                     "mon_agent_statsd_dropped_total", "mon_agent_statsd_receive_errors_total",
                     "mon_agent_logs_lines_total", "mon_agent_logs_read_pauses_total"):
            # Counters since the agent started: the newest value of each series, summed.
            counters[name] = float(self.stack.psql(
                "SELECT coalesce(sum(v), 0) FROM (SELECT DISTINCT ON (s.id) m.value AS v FROM metrics m "
                "JOIN metric_series s ON s.id = m.series_id WHERE s.name = '%s' ORDER BY s.id, m.ts DESC) x"
                % name) or 0)
        return {"log_lines_written": self.written, "log_rows_stored": stored, "statsd_sender": sent,
                "agent_counters": counters}


def profile(pid, seconds):
    """perf self-time profile of `pid` for `seconds`, as text next to the results file."""
    data = os.path.join(tempfile.mkdtemp(prefix="bench-perf."), "agent.perf.data")
    out = os.path.join(B.RESULTS_DIR, "overhead-%s.perf.txt" % B.STAMP)
    B.log("overhead: profiling the agent with perf for %d s at %d Hz (call graphs; data kept in %s)"
          % (seconds, PROFILE_HZ, data))
    r = subprocess.run(["perf", "record", "-q", "-g", "-F", str(PROFILE_HZ), "-p", str(pid), "-o", data,
                        "--", "sleep", str(seconds)],
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
        f.write("monagent, %d s at a %g s interval, perf record -g -F %d -p PID\n\n" % (seconds, INTERVAL, PROFILE_HZ))
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
    netdata = None
    if NETDATA:   # first: it takes a while to start its plugins
        if not os.path.exists(NETDATA_BIN):
            raise SystemExit("%s is missing: apt-get install netdata (bench/run installs it)" % NETDATA_BIN)
        netdata = start_netdata(stack, {k: v for k, v in os.environ.items() if not k.startswith("MONAGENT_")})
    stack.start_monquery()

    # --- monagent ------------------------------------------------------------------------
    state = os.path.join(stack.tmp, "agent")
    os.makedirs(state)
    app_log = os.path.join(stack.tmp, "app.log")
    open(app_log, "w").close()
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
  statements_interval: %g
redis:
  url: "redis://127.0.0.1:%d/0"
statsd:
  address: "127.0.0.1:%d"
""" % (INTERVAL, state, stack.ingest_socket, stack.pg_port, STATEMENTS_INTERVAL, stack.redis_port, statsd_port))
        if LOG_RATE > 0:
            f.write("logs:\n  paths: [\"%s\"]\n  start_at: end\n" % app_log)
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
    if netdata:
        # Up: its API answers and its plugins run (apps.plugin starts last, 10-40 s after start).
        deadline = time.time() + 180
        while time.time() < deadline:
            stack.check_alive(netdata)
            try:
                B.http_get(netdata.netdata_url, timeout=2)
                if any(comm(p) == "apps.plugin" for p in tree_pids(netdata.pid)):
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            raise RuntimeError("netdata did not come up with its plugins:\n" + stack.log_tail("netdata"))

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
        row = {"t": time.time(), "agent": B.cpu_ticks(agent.pid), "agent_ns": run_ns(agent.pid)}
        for name, proc in scraped.items():
            row[name] = B.cpu_ticks(proc.pid)
            row[name + "_ns"] = run_ns(proc.pid)
        # (Keys apart from the exporters' names: "postgres" and "redis" are exporters.)
        row["ctx_monquery"] = B.cpu_ticks(stack.query.pid)
        row["ctx_postgresql_server"] = B.tree_ticks(stack.pg_pid)
        row["ctx_redis_server"] = B.cpu_ticks(stack.redis_pid)
        row["agent_rss_kib"] = B.status_kib(agent.pid, "VmRSS")
        row["agent_anon_kib"] = B.status_kib(agent.pid, "RssAnon")
        if netdata:
            row["netdata"] = tree_ticks(netdata.pid)   # its plugins are its children
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
    load = AppLoad(stack, app_log, statsd_port, (warm_rounds + rounds + 2) * INTERVAL)
    load.start()
    # Wait for a quiet machine first (everything already runs), then warm up and measure.
    part = B.Part("overhead", pids=[agent.pid, stack.query.pid, stack.pg_pid, stack.redis_pid]
                  + [p.pid for p in scraped.values()] + ([netdata.pid] if netdata else []))
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
        threads0 = thread_ticks(agent.pid)
        for _ in range(rounds):
            scrape_round()                       # the scrape belongs to the round it starts
            t += INTERVAL
            time.sleep(max(0, t - time.time()))
            samples.append(snapshot())
            stack.check_alive(agent)
        threads1 = thread_ticks(agent.pid)
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
    ours_ns = (last["agent_ns"] - first["agent_ns"]) / 1e6 / n
    theirs_ns = sum(last[k + "_ns"] - first[k + "_ns"] for k in trio) / 1e6 / n
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
            # The same from the scheduler's nanosecond clock (schedstat): precise below a tick.
            "cpu_ms_per_cycle_schedstat": ours_ns,
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
            "cpu_ms_per_round_schedstat": theirs_ns,
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
            "cpu_theirs_over_ours_schedstat": theirs_ns / ours_ns if ours_ns > 0 else None,
            "rss_theirs_over_ours": trio_rss / agent_rss if agent_rss > 0 else None,
            "rss_anon_theirs_over_ours": trio_anon / agent_anon if agent_anon > 0 else None,
        },
        "windows": windows,
        "contention": part.result,
    }
    if load.active:
        result["load"] = load.finish(agent)
        result["settings"]["log_rate_per_s"] = LOG_RATE
        result["settings"]["statsd_datagrams_per_s"] = STATSD_RATE
    result["targets"] = {
        # Judged on the larger of the two clocks: utime+stime of /proc/PID/stat is the process's
        # precise run time (the kernel scales its tick samples to sum_exec_runtime), exited threads
        # included, but printed in 10-ms units; schedstat is precise to the nanosecond but sums
        # only the threads alive at both ends of the window, so a thread that exits in between
        # takes its time with it (the fifth stop: 1.40 ms on schedstat against 4.17 on utime+stime).
        "agent_cpu": {"target": "<= 3 ms CPU per cycle and >= 4x less than the exporter trio "
                                "(the larger of utime+stime and schedstat)",
                      "met": max(ours, ours_ns) <= 3
                      and (min(theirs, theirs_ns) / max(ours, ours_ns) if max(ours, ours_ns) else 0) >= 4},
        "agent_rss": {"target": "<= 12 MB and >= 4x less than the trio (no growth over 30 min: not soaked here)",
                      "met": agent_rss <= 12 and (trio_rss / agent_rss if agent_rss else 0) >= 4},
    }
    agent_mem = memory_mib(agent.pid)
    result["ours"]["pss_mib"] = agent_mem["pss_mib"]
    result["ours"]["cpu_ms_per_cycle_by_thread"] = {
        k: round((threads1.get(k, 0) - threads0.get(k, 0)) * TICK_MS / n, 3) for k in sorted(threads1)
        if threads1.get(k, 0) > threads0.get(k, 0)}
    result["theirs"]["pss_mib_each"] = {name: memory_mib(p.pid)["pss_mib"] for name, p in scraped.items()}
    result["theirs"]["pss_mib"] = sum(result["theirs"]["pss_mib_each"][k] for k in trio)
    if netdata:
        result["netdata"] = netdata_figures(netdata, first, last, agent_mem)
    generator = None
    if BUSY_STATEMENTS > 0:
        generator = busy_phase(stack, result, snapshot, scrape_round, scrapes, next_mid, agent, trio,
                               netdata, scraped)
    if any(bad_scrapes.values()):
        B.log("WARNING: failed scrapes: %s" % bad_scrapes)
    B.log("overhead: ours %.2f ms CPU/cycle (schedstat %.3f), RSS %.1f MiB (HWM %.1f); trio %.2f ms/round, "
          "RSS %.1f MiB; ratios CPU %.2fx, RSS %.2fx" % (ours, ours_ns, agent_rss, agent_hwm, theirs, trio_rss,
                                           result["ratios"]["cpu_theirs_over_ours"] or 0,
                                           result["ratios"]["rss_theirs_over_ours"] or 0))
    # A soak (30 minutes or more) is kept apart: its figures answer "does the RSS grow", and its
    # CPU per cycle would otherwise replace the 5-minute run's in the summary table.
    B.write_result("soak-overhead" if SECONDS >= SOAK_SECONDS and not B.SMOKE else "overhead", result)
    if PROFILE_SECONDS > 0:
        profile(agent.pid, PROFILE_SECONDS)   # with the busy generator still running, if any
    if generator:
        generator.stop()
    stop.set()
    stack.stop()


if __name__ == "__main__":
    main()
