#!/usr/bin/env python3
"""bench/run part `fleet` (issue 21, "Hosts per daemon"): how many agents one release monquery
+ PostgreSQL 15 (private, fsync off) on this machine keep up with.

Per N in FLEET_AGENTS, on a fresh PostgreSQL and monquery: `mon-bench fleet` runs N synthetic
agents over the real protocol (one connection each, HELLO -> WELCOME, one BATCH per
FLEET_INTERVAL_MS with ~300 samples, request-duration histograms for 10 endpoints, 5 log lines/s
and a pg_statement event every 12th batch; one batch in flight per agent, as the Shipper; phases
spread over the interval). Every agent first sends one untimed batch (its series are created;
then `ANALYZE metric_series`): the timed phase is the steady state. During the timed phase
(FLEET_SECONDS) this script measures:

  - freshness, "batch created -> visible in the API": every agent's
    mon_host_cpu_usage_ratio{cpu="all"} carries its batch's creation time (value = 0.1 + 0.4 x
    (createdMs mod 1e8) / 1e8, samples stamped with it; the other ratios are those of a healthy
    host, so no default alert rule fires). A probe loop polls FLEET_PROBES agents' hosts, one after
    the other, a round every FLEET_PROBE_MS, on /api/monitoring/metrics/summary?host=H (the last-value cache, filled after the
    commit) and /api/monitoring/system/cpu?period=1h&host=H (PostgreSQL); a batch's freshness is
    the time from its creation to the end of the first response that shows it (so it includes up
    to one probe round, ~100 ms). Both must be <= 1 s p99.
  - the summary's latency: GET /api/monitoring/metrics/summary (all hosts, what the dashboard's
    overview cards call) FLEET_SUMMARY_RATE times a second, one at a time; p99 <= 25 ms. From the
    same responses, the freshness of every host's batches, bounded by the poll period (context).
  - backlog: per agent, batches created and not yet acknowledged, at every tick and at the end of
    the timed phase (1 = the one in flight). Kept up = no agent has more than 1 at the end, no
    connection failed.
  - CPU (cores, utime+stime from /proc over the timed phase) of monquery, PostgreSQL (postmaster
    and every backend), the generator (mon-bench fleet: it competes for the same cores) and this
    script; monquery's VmRSS (max, end); the contention record (others' CPU).

N passes when all three hold. The result names the largest N that passes.

Settings: FLEET_AGENTS ("100 300 1000 2000"; smoke "5 20"), FLEET_SECONDS (600; smoke 6),
FLEET_INTERVAL_MS (5000; smoke 1000), FLEET_PHASE (spread | aligned), FLEET_THREADS (2: the
generator's event loops), FLEET_SUMMARY_RATE (4 per second; 0 = no all-hosts summary polling: an
ingest-only run, which never passes), FLEET_PROBES (2), FLEET_PROBE_MS (100), FLEET_TAG (results file
fleet-<tag>-<stamp>.json, not read by the summary table).
"""
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

AGENTS = [int(x) for x in os.environ.get("FLEET_AGENTS", "5 20" if B.SMOKE else "100 300 1000 2000").split()]
SECONDS = float(os.environ.get("FLEET_SECONDS", "6" if B.SMOKE else "600"))
INTERVAL_MS = int(os.environ.get("FLEET_INTERVAL_MS", "1000" if B.SMOKE else "5000"))
PHASE = os.environ.get("FLEET_PHASE", "spread")
THREADS = int(os.environ.get("FLEET_THREADS", "2"))
SUMMARY_RATE = float(os.environ.get("FLEET_SUMMARY_RATE", "4"))
PROBES = int(os.environ.get("FLEET_PROBES", "2"))
# One probe round (every probe host on both endpoints) at most this often: the probe's own
# queries must not be a load of their own (a tight loop made ~50 system/cpu queries a second).
PROBE_MS = float(os.environ.get("FLEET_PROBE_MS", "100"))
SERIES = int(os.environ.get("FLEET_SERIES", "300"))
# A tag names the results file fleet-<tag>-<stamp>.json (a run with other settings, beside the
# part's own fleet-<stamp>.json, which the summary table reads).
TAG = os.environ.get("FLEET_TAG", "")
MODULUS = 100_000_000
FRESH_MS, SUMMARY_MS = 1000.0, 25.0


def created_ms(cpu_percent, now_ms):
    """The batch creation time a marker value stands for (the newest one not after now)."""
    x = int(round((cpu_percent / 100.0 - 0.1) / 0.4 * MODULUS)) % MODULUS
    return now_ms - ((now_ms % MODULUS - x) % MODULUS)


def now_ms():
    return time.time() * 1000.0


class Probes:
    """The API pollers of one run (threads), until stop()."""

    def __init__(self, stack, hosts):
        self.stack = stack
        self.hosts = hosts
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.fresh = {"summary_host": [], "system_cpu": []}
        self.seen = {}                       # (kind, host) -> newest created ms shown
        self.errors = 0
        self.summary_ms = []
        self.summary_bytes = []
        self.summary_hosts = 0
        self.fleet_fresh = []                # from the all-hosts summary: bounded by its period
        self.fleet_seen = {}
        self.stale_max = {"summary_host": 0.0, "system_cpu": 0.0}
        self.threads = [threading.Thread(target=self.probe_loop, daemon=True)]
        if SUMMARY_RATE > 0:
            self.threads.append(threading.Thread(target=self.summary_loop, daemon=True))

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(30)

    def get(self, path):
        t0 = time.monotonic()
        code, body = B.http_get(self.stack.http + path, timeout=30)
        return code, body, (time.monotonic() - t0) * 1000.0

    def note(self, kind, host, value):
        if value is None:
            return
        t = now_ms()
        created = created_ms(value, t)
        key = (kind, host)
        if key in self.seen and created > self.seen[key]:
            self.fresh[kind].append(t - created)
        if key not in self.seen or created > self.seen[key]:
            self.seen[key] = created
        self.stale_max[kind] = max(self.stale_max[kind], t - self.seen[key])

    def probe_loop(self):
        while not self.stopping.is_set():
            round_start = time.monotonic()
            for host in self.hosts:
                q = urllib.parse.quote(host)
                try:
                    code, body, _ = self.get("/api/monitoring/metrics/summary?host=" + q)
                    if code == 200:
                        hosts = json.loads(body).get("hosts") or []
                        if hosts:
                            self.note("summary_host", host, (hosts[0].get("system") or {}).get("cpu_percent"))
                    code, body, _ = self.get("/api/monitoring/system/cpu?period=1h&host=" + q)
                    if code == 200:
                        hosts = json.loads(body).get("hosts") or []
                        if hosts:
                            self.note("system_cpu", host, (hosts[0].get("current") or {}).get("usage_percent"))
                except (OSError, ValueError):
                    self.errors += 1
                if self.stopping.is_set():
                    return
            time.sleep(max(0.005, PROBE_MS / 1000.0 - (time.monotonic() - round_start)))

    def summary_loop(self):
        period = 1.0 / SUMMARY_RATE
        nxt = time.monotonic()
        while not self.stopping.is_set():
            try:
                code, body, ms = self.get("/api/monitoring/metrics/summary")
                t = now_ms()
                if code == 200:
                    self.summary_ms.append(ms)
                    self.summary_bytes.append(len(body))
                    hosts = json.loads(body).get("hosts") or []
                    self.summary_hosts = len(hosts)
                    for h in hosts:
                        value = (h.get("system") or {}).get("cpu_percent")
                        if value is None:
                            continue
                        created = created_ms(value, t)
                        old = self.fleet_seen.get(h["host"])
                        if old is not None and created > old:
                            self.fleet_fresh.append(t - created)
                        if old is None or created > old:
                            self.fleet_seen[h["host"]] = created
                else:
                    self.errors += 1
            except (OSError, ValueError):
                self.errors += 1
            nxt += period
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                nxt = time.monotonic()


def run_n(n):
    stack = B.Stack("fleet")
    stack.start_postgres()
    stack.start_monquery({"MONQUERY_INGEST_SOCKET_MAX_CONNECTIONS": str(max(1024, 2 * n + 64))})
    query, pg = stack.query.pid, stack.pg_pid
    stack.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    part = B.Part("fleet-%d" % n, pids=[query, pg])   # waits for a quiet machine first
    args = [os.path.join(B.BIN, "mon-bench"), "fleet", "--socket", stack.ingest_socket, "--agents", str(n),
            "--duration-ms", str(int(SECONDS * 1000)), "--interval-ms", str(INTERVAL_MS), "--series", str(SERIES),
            "--phase", PHASE, "--threads", str(THREADS), "--analyze-url", stack.database_url(),
            "--progress-ms", str(2000 if B.SMOKE else 30000)]
    B.log("fleet: %d agents, %.0f s, interval %d ms (%s)" % (n, SECONDS, INTERVAL_MS, PHASE))
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    events = {"started": threading.Event(), "ended": threading.Event()}
    stderr_lines = []

    def read_stderr():
        for line in proc.stderr:
            stderr_lines.append(line.rstrip())
            B.log(line.rstrip())
            if "timed phase started" in line:
                events["started"].set()
            if "timed phase ended" in line:
                events["ended"].set()
        events["started"].set()
        events["ended"].set()
    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    events["started"].wait()
    probe_hosts = ["fleet-%d" % (1 + k * n // max(1, min(PROBES, n))) for k in range(min(PROBES, n))]
    probes = Probes(stack, probe_hosts)
    if SUMMARY_RATE > 0:
        B.http_get(stack.http + "/api/monitoring/metrics/summary", timeout=60)   # its figures cached: steady state
    rss = []
    stack.psql("SELECT pg_stat_statements_reset()")
    part.__enter__()
    part.add_pid(proc.pid)
    c0 = {"monquery": B.tree_ticks(query), "postgres": B.tree_ticks(pg), "generator": B.cpu_ticks(proc.pid)}
    own0 = B.own_children_cpu_s()
    t0 = time.monotonic()
    probes.start()
    while not events["ended"].wait(5):
        rss.append((round(time.monotonic() - t0, 1), B.status_kib(query, "VmRSS") / 1024.0,
                    B.status_kib(proc.pid, "VmRSS") / 1024.0))
    wall = time.monotonic() - t0
    c1 = {"monquery": B.tree_ticks(query), "postgres": B.tree_ticks(pg), "generator": B.cpu_ticks(proc.pid)}
    own1 = B.own_children_cpu_s()
    rss.append((round(wall, 1), B.status_kib(query, "VmRSS") / 1024.0, B.status_kib(proc.pid, "VmRSS") / 1024.0))
    probes.stop()
    part.__exit__(None, None, None)
    out, _ = proc.communicate(timeout=120)
    reader.join(10)
    if proc.returncode != 0:
        raise RuntimeError("mon-bench fleet failed (%d): %s" % (proc.returncode, "\n".join(stderr_lines[-20:])))
    report = json.loads(out)
    stack.check_alive(stack.query)
    counts = stack.psql("SELECT (SELECT count(*) FROM metrics), (SELECT count(*) FROM logs), "
                        "(SELECT count(*) FROM events), (SELECT count(*) FROM metric_series)")
    rows = dict(zip(["metrics", "logs", "events", "series"], map(int, counts.split("\t"))))
    # Where PostgreSQL's time went (since the timed phase began; the API's queries included).
    top = []
    for line in stack.psql("SELECT calls, round(total_exec_time::numeric, 1), round(mean_exec_time::numeric, 3), "
                           "round(max_exec_time::numeric, 1), rows, regexp_replace(left(query, 160), '\\s+', ' ', 'g') FROM pg_stat_statements "
                           "ORDER BY total_exec_time DESC LIMIT 15").splitlines():
        calls, total, mean, most, nrows, text = line.split("\t", 5)
        top.append({"calls": int(calls), "total_ms": float(total), "mean_ms": float(mean), "max_ms": float(most),
                    "rows": int(nrows), "query": text})
    cores = {k: (c1[k] - c0[k]) / B.CLK_TCK / wall for k in c0}
    cores["this_script"] = (own1 - own0) / wall
    fresh = {k: B.stats(v) for k, v in probes.fresh.items()}
    summary = B.stats(probes.summary_ms)
    fresh_p99 = max((f["p99"] for f in fresh.values() if f), default=None)
    kept_up = (report["connected"] == n and report["agents_with_backlog_at_end"] == 0 and not report["errors"])
    criteria = {
        "freshness": {"target": "batch created -> visible in the API <= 1 s p99 (cache and PostgreSQL)",
                      "p99_ms": fresh_p99,
                      "met": bool(fresh_p99 is not None and all(f for f in fresh.values())
                                  and fresh_p99 <= FRESH_MS)},
        "backlog": {"target": "no agent's backlog grows (<= 1 unacknowledged batch at the end, no failure)",
                    "agents_behind_at_end": report["agents_with_backlog_at_end"], "met": kept_up},
        "summary": {"target": "summary (all hosts) p99 <= 25 ms", "p99_ms": summary and summary["p99"],
                    # FLEET_SUMMARY_RATE=0: not measured (an ingest-only run), never a pass.
                    "met": bool(summary and summary["p99"] <= SUMMARY_MS) if SUMMARY_RATE > 0 else None},
    }
    entry = {
        "agents": n, "passed": all(c["met"] for c in criteria.values()), "criteria": criteria,
        "timed_s": round(wall, 1), "generator": {k: v for k, v in report.items() if k not in ("progress",)},
        "progress": report.get("progress"),
        "samples_per_second": report["samples_per_second"], "batches_per_second": report["batches_per_second"],
        "freshness_ms": fresh, "freshness_raw_ms": {k: [round(x, 1) for x in v] for k, v in probes.fresh.items()},
        "staleness_max_ms": probes.stale_max,
        "fleet_freshness_bounded_ms": B.stats(probes.fleet_fresh),
        "summary_ms": summary, "summary_bytes": B.stats(probes.summary_bytes),
        "summary_hosts": probes.summary_hosts, "probe_errors": probes.errors, "probe_hosts": probe_hosts,
        "cpu_cores": cores,
        "postgres_share_of_daemon_cpu": (cores["postgres"] / (cores["postgres"] + cores["monquery"])
                                         if cores["postgres"] + cores["monquery"] > 0 else None),
        "monquery_rss_mib": {"max": max(r[1] for r in rss), "end": rss[-1][1]},
        "generator_rss_mib": {"max": max(r[2] for r in rss)},
        "rss_series": rss, "rows": rows, "postgres_top_statements": top, "contention": part.result,
    }
    B.log("fleet %d: %s — fresh p99 %s ms (cache %s, pg %s), summary p99 %s ms, behind %d, %.0f samples/s; "
          "cores: monquery %.2f, postgres %.2f, generator %.2f; monquery RSS %.0f MiB%s" % (
              n, "PASS" if entry["passed"] else "FAIL", fresh_p99 and round(fresh_p99),
              fresh["summary_host"] and round(fresh["summary_host"]["p99"]),
              fresh["system_cpu"] and round(fresh["system_cpu"]["p99"]), summary and round(summary["p99"], 1),
              report["agents_with_backlog_at_end"], report["samples_per_second"], cores["monquery"],
              cores["postgres"], cores["generator"], entry["monquery_rss_mib"]["max"],
              " CONTENDED" if part.result["contended"] else ""))
    stack.stop()
    return entry


def main():
    result = {"machine": B.describe_machine(),
              "settings": {"tag": TAG, "agents": AGENTS, "seconds": SECONDS, "interval_ms": INTERVAL_MS, "phase": PHASE,
                           "threads": THREADS, "summary_rate": SUMMARY_RATE, "probes": PROBES, "probe_ms": PROBE_MS, "series": SERIES,
                           "postgresql": "private cluster, fsync=off (scripts/lib.sh mon_pg_start)"},
              "curve": []}
    for n in AGENTS:
        result["curve"].append(run_n(n))
    passing = [e["agents"] for e in result["curve"] if e["passed"]]
    largest = max(passing) if passing else 0
    result["largest_passing_agents"] = largest
    result["targets"] = {"hosts_per_daemon": {
        "target": "N >= 1000 agents (about 60 000 samples/s) with freshness <= 1 s p99, no growing backlog, "
                  "summary <= 25 ms p99, daemon + PostgreSQL + generator on this machine",
        "largest_passing_agents": largest, "met": largest >= 1000}}
    B.log("fleet: largest N that passed: %d (of %s)" % (largest, AGENTS))
    B.write_result("fleet-" + TAG if TAG else "fleet", result)


if __name__ == "__main__":
    main()
