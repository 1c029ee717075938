#!/usr/bin/env python3
"""bench/run part `api`: p50/p99 latency of monquery's JSON API with 7 days of synthetic data
for 10 hosts, generated straight into a private PostgreSQL 15:

  - schema and day partitions: `mon-bench prepare-db` (MonCore's migrations and
    IngestWriter.ensurePartitions, as monquery does);
  - per host, API_STEP (30) -second raw samples of the 32 gauge and counter series the
    endpoints read (host CPU per core and total, load, memory, 3 process groups × 5
    metrics, Redis and PostgreSQL key figures, the slow-statement counter); one
    request-duration histogram window a minute for 5 endpoint/status series; a
    pg_statement event a minute for API_STATEMENTS (20) statements (as the PostgreSQL
    source sends for statements whose counters moved) and hourly pg_plan events for 5;
  - the rollups (metrics_1m/1h, histograms_1m/1h): `mon-bench rollup`, i.e. MonCore's
    RollupWriter.catchUp, what monquery's rollup service does;
  - the last-value cache (read by the summary endpoint): `mon-bench push` of 300 series
    per host for the same 10 hosts, re-pushed before each endpoint (the cache forgets
    series silent for 5 minutes), as live agents would keep it.

monquery runs with a viewer bearer token configured (the API is called as a viewer). Each
endpoint: `wrk --latency` with 1 connection, then with API_CONCURRENCY (4) connections
(1 thread), API_SECONDS (20) each after a 2-s warm-up; non-2xx responses are counted (a
run with any is invalid).

Settings: API_DAYS (7; smoke 1), API_HOSTS (10; smoke 2), API_STEP (30; smoke 60),
API_STATEMENTS (20; smoke 5), API_SECONDS (20; smoke 1), API_CONCURRENCY (4).
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

DAYS = int(os.environ.get("API_DAYS", "1" if B.SMOKE else "7"))
HOSTS = int(os.environ.get("API_HOSTS", "2" if B.SMOKE else "10"))
STEP = int(os.environ.get("API_STEP", "60" if B.SMOKE else "30"))
STATEMENTS = int(os.environ.get("API_STATEMENTS", "5" if B.SMOKE else "20"))
SECONDS = int(os.environ.get("API_SECONDS", "1" if B.SMOKE else "20"))
CONCURRENCY = int(os.environ.get("API_CONCURRENCY", "4"))
TOKEN = "bench-viewer-token-0123456789"

ADMIN_TOKEN = "bench-admin-token-0123456789ab"

# Every GET route of the route table that a page or a scraper calls (the JSON API, the
# dashboard's pages with all their fragments, /metrics, the health checks), each at the
# periods the UI offers up to API_DAYS. (name, path, role): the viewer token, or the admin
# token for the admin routes and the dashboard. Left out: the two SSE streams (they do not
# end), /openapi.json and the static assets (constant documents), login/logout (forms).
# API_ONLY (comma-separated names) restricts a run to those endpoints.
def endpoints(days):
    periods = [p for p, d in (("1h", 0), ("24h", 1), ("7d", 7), ("30d", 30)) if d <= days]
    long = [p for p in periods if p in ("24h", "7d", "30d")]
    out = [
        ("summary", "/api/monitoring/metrics/summary", "viewer"),
        ("alerts", "/api/monitoring/alerts", "viewer"),
        ("anomalies", "/api/monitoring/anomalies", "viewer"),
        ("compare_1h", "/api/monitoring/compare?metric=mon_host_cpu_usage_ratio&labels=cpu=all&window=1h", "viewer"),
        ("compare_api_p95_1h", "/api/monitoring/compare?metric=api_latency_p95_ms&window=1h", "viewer"),
        ("postgres_status", "/api/monitoring/postgres/status", "viewer"),
        ("postgres_connections", "/api/monitoring/postgres/connections", "viewer"),
        ("postgres_tables", "/api/monitoring/postgres/tables", "viewer"),
        ("postgres_indexes", "/api/monitoring/postgres/indexes", "viewer"),
        ("redis_status", "/api/monitoring/redis/status", "viewer"),
        ("redis_keys", "/api/monitoring/redis/keys", "viewer"),
        ("redis_slowlog", "/api/monitoring/redis/slowlog", "viewer"),
        ("logs_1h", "/api/monitoring/logs?since=1h", "admin"),
        ("export_metrics_1h", "/api/monitoring/export?type=metrics&format=csv&period=1h", "admin"),
        ("health", "/health", "viewer"),
        ("health_detailed", "/health/detailed", "viewer"),
        ("prometheus_metrics", "/metrics", "viewer"),
    ]
    for period in long:
        out += [
            ("system_cpu_" + period, "/api/monitoring/system/cpu?period=" + period, "viewer"),
            ("system_memory_" + period, "/api/monitoring/system/memory?period=" + period, "viewer"),
            ("system_disk_" + period, "/api/monitoring/system/disk?period=" + period, "viewer"),
            ("system_network_" + period, "/api/monitoring/system/network?period=" + period, "viewer"),
            ("slow_queries_" + period, "/api/monitoring/postgres/slow_queries?period=" + period, "viewer"),
            ("redis_stats_" + period, "/api/monitoring/redis/stats?period=" + period, "viewer"),
            ("redis_commands_" + period, "/api/monitoring/redis/commands?period=" + period, "viewer"),
        ] + [("metrics_%s_%s" % (kind, period), "/api/monitoring/metrics?type=%s&period=%s" % (kind, period), "viewer")
             for kind in ("api", "system", "redis", "postgres")] + [
            ("ui_%s_%s" % (page, period), "/ui/monitoring/%s?period=%s" % (page, period), "admin")
            for page in ("advanced", "api", "redis", "postgres")]
    out.append(("ui_logs", "/ui/monitoring/logs", "admin"))
    only = [n for n in os.environ.get("API_ONLY", "").split(",") if n]
    return [e for e in out if not only or e[0] in only]


ENDPOINTS = endpoints(DAYS)

# (name, labels, kind, value expression in terms of e = epoch seconds, i = series id)
GAUGES = [("mon_host_cpu_usage_ratio", {"cpu": c}, "gauge", "ratio") for c in ("all", "0", "1")] + [
    ("mon_host_cpu_cores", {}, "gauge", "const2"),
    ("mon_host_load1", {}, "gauge", "load"), ("mon_host_load5", {}, "gauge", "load"),
    ("mon_host_load15", {}, "gauge", "load"),
    ("mon_host_memory_used_ratio", {}, "gauge", "ratio"),
] + [(name, {"group": g}, "gauge", shape) for g in ("postgres", "redis-server", "uvicorn")
     for name, shape in (("mon_process_cpu_usage_ratio", "ratio"), ("mon_process_resident_memory_bytes", "bytes"),
                         ("mon_process_processes", "count"), ("mon_process_threads", "count"),
                         ("mon_process_open_fds", "count"))] + [
    ("mon_redis_hit_ratio", {}, "gauge", "ratio"), ("mon_redis_memory_used_ratio", {}, "gauge", "ratio"),
    ("mon_redis_ops_per_second", {}, "gauge", "rate"), ("mon_redis_evictions_per_second", {}, "gauge", "rate"),
    ("mon_postgres_connections_used_ratio", {}, "gauge", "ratio"),
    ("mon_postgres_cache_hit_ratio", {}, "gauge", "ratio"),
    ("mon_postgres_commits_per_second", {}, "gauge", "rate"),
    ("mon_postgres_rollbacks_per_second", {}, "gauge", "rate"),
    ("mon_postgres_statements_slow_total", {}, "counter", "counter"),
]
SHAPES = {
    "ratio": "0.5 + 0.3 * sin(e / 5000.0 + i) + 0.05 * sin(e / 97.0)",
    "const2": "2",
    "load": "1.0 + 0.8 * sin(e / 7000.0 + i)",
    "bytes": "1e8 + 5e7 * sin(e / 9000.0 + i)",
    "count": "(10 + i % 7)::float8",
    "rate": "100 + 50 * sin(e / 3000.0 + i)",
    "counter": "floor((e - 1.7e9) / 600.0)",
}
ENDPOINT_SERIES = [("/v1/search", "GET", "200"), ("/v1/search", "GET", "500"), ("/v1/items/{id}", "GET", "200"),
                   ("/v1/items", "POST", "200"), ("/health", "GET", "200")]


def canonical(labels):
    return ",".join('%s="%s"' % (k, labels[k]) for k in sorted(labels))


def generate(stack):
    """The synthetic history, in one psql session. Returns row counts."""
    defs = []
    for name, labels, kind, shape in GAUGES:
        defs.append("('%s', '%s'::jsonb, '%s', '%s', '%s')" % (name, json.dumps(labels, sort_keys=True),
                                                                 canonical(labels).replace("'", "''"), kind, shape))
    for endpoint, method, status in ENDPOINT_SERIES:
        labels = {"endpoint": endpoint, "method": method, "status": status}
        defs.append("('mon_app_request_duration_seconds', '%s'::jsonb, '%s', 'histogram', 'histogram')"
                    % (json.dumps(labels, sort_keys=True), canonical(labels)))
    span = "date_trunc('minute', now()) - interval '%d days'" % DAYS
    cases = "CASE d.shape " + " ".join("WHEN '%s' THEN %s" % (k, v) for k, v in SHAPES.items()) + " END"
    sql = """
CREATE TEMP TABLE h AS SELECT format('mnemo-app-%%s', lpad(g::text, 2, '0')) AS host FROM generate_series(1, %(hosts)d) g;
CREATE TEMP TABLE defs (name text, labels jsonb, labels_key text, kind text, shape text);
INSERT INTO defs VALUES %(defs)s;
INSERT INTO metric_series (host, name, labels_key, labels, kind)
    SELECT h.host, d.name, d.labels_key, d.labels, d.kind FROM h, defs d ON CONFLICT DO NOTHING;
INSERT INTO metrics (ts, series_id, value)
    SELECT t, s.id, (SELECT %(cases)s FROM (SELECT extract(epoch FROM t) AS e, s.id AS i) v)
    FROM metric_series s JOIN defs d ON d.name = s.name AND d.labels_key = s.labels_key AND d.kind <> 'histogram',
         generate_series(%(span)s, now() - interval '1 second', make_interval(secs => %(step)d)) t;
INSERT INTO histograms (ts, series_id, count, sum, min, max, zero_count, idx, cnt)
    SELECT t, s.id, c.total, c.total * (CASE WHEN s.labels->>'status' = '500' THEN 0.2 ELSE 0.045 END),
           0.009, 0.14, 0,
           ARRAY[-230 + (x.e %% 3), -200 + (x.e %% 5), -161, -140 + (x.e %% 7), -120, -100]::int[], c.cnt
    FROM metric_series s,
         generate_series(%(span)s + interval '1 minute', now(), interval '1 minute') t,
         LATERAL (SELECT (extract(epoch FROM t) / 60)::bigint + s.id AS e) x,
         LATERAL (SELECT ARRAY[1 + x.e %% 4, 5 + x.e %% 9, 10, 4 + x.e %% 3, 2, 1 + x.e %% 2]::bigint[] AS cnt,
                         22 + x.e %% 4 + x.e %% 9 + x.e %% 3 + x.e %% 2 AS total) c
    WHERE s.kind = 'histogram' AND s.host IN (SELECT host FROM h);
INSERT INTO events (ts, host, kind, key, payload)
    SELECT t, h.host, 'pg_statement', '16384:' || (100000 + q),
           jsonb_build_object('queryid', (100000 + q)::text, 'dbid', 16384, 'userid', 10, 'database', 'mnemolite',
               'user', 'app', 'calls', 10 + q, 'total_exec_ms', (10 + q) * (1 + q * 7.5), 'mean_exec_ms', 1 + q * 7.5,
               'max_exec_ms_since_reset', 50 + q * 20, 'rows', 100 + q, 'shared_blks_hit', 1000 + q,
               'shared_blks_read', 10 + q, 'reset', false,
               'query', 'SELECT id, body, score FROM memories_' || q || ' WHERE tenant_id = $1 AND created_at > $2 ORDER BY score DESC LIMIT $3')
    FROM h, generate_series(0, %(statements)d - 1) q,
         generate_series(%(span)s + interval '1 minute', now(), interval '1 minute') t;
INSERT INTO events (ts, host, kind, key, payload)
    SELECT t, h.host, 'pg_plan', '16384:' || (100000 + q),
           jsonb_build_object('queryid', (100000 + q)::text, 'mean_exec_ms', 1 + q * 7.5,
               'plan', '[{"Plan": {"Node Type": "Seq Scan", "Relation Name": "memories_' || q || '", "Total Cost": 1234.5}}]',
               'suggestions', jsonb_build_array(jsonb_build_object('table', 'memories_' || q, 'columns', jsonb_build_array('tenant_id'),
                   'sql', 'CREATE INDEX ON memories_' || q || ' (tenant_id)')))
    FROM h, generate_series(%(statements)d - 5, %(statements)d - 1) q,
         generate_series(%(span)s + interval '1 hour', now(), interval '1 hour') t;
ANALYZE;
SELECT (SELECT count(*) FROM metric_series), (SELECT count(*) FROM metrics), (SELECT count(*) FROM histograms),
       (SELECT count(*) FROM events);
""" % {"hosts": HOSTS, "defs": ",\n".join(defs), "cases": cases, "span": span, "step": STEP,
       "statements": STATEMENTS}
    counts = stack.psql(sql).splitlines()[-1].split("\t")
    return dict(zip(("series", "metrics", "histograms", "events"), map(int, counts)))


WRK_LATENCY = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
WRK_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_REQUESTS = re.compile(r"(\d+) requests in ([\d.]+)(\w+)")
WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
WRK_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def to_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, connections, seconds, token=TOKEN):
    args = ["wrk", "-t1", "-c%d" % connections, "-d%ds" % seconds, "--latency", "--timeout", "10s",
            "-H", "Authorization: Bearer " + token, url]
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0 or "Latency Distribution" not in r.stdout:
        raise RuntimeError("wrk failed (%d): %s" % (r.returncode, r.stdout[-1500:]))
    out = {"connections": connections, "seconds": seconds}
    for pct, value, unit in WRK_LATENCY.findall(r.stdout):
        out["p%s_ms" % pct] = to_ms(value, unit)
    out["requests_per_second"] = float(WRK_RATE.search(r.stdout).group(1))
    m = WRK_REQUESTS.search(r.stdout)
    out["requests"] = int(m.group(1)) if m else None
    m = WRK_NON2XX.search(r.stdout)
    out["non_2xx"] = int(m.group(1)) if m else 0
    m = WRK_ERRORS.search(r.stdout)
    out["socket_errors"] = sum(map(int, m.groups())) if m else 0
    if not out["requests"]:
        # wrk prints 0.00us percentiles when nothing completed (an endpoint slower than the run).
        for key in ("p50_ms", "p75_ms", "p90_ms", "p99_ms"):
            out[key] = None
    out["output"] = r.stdout
    return out


def limit_ms(name):
    """Issue 21's target for an endpoint: p99 <= 100 ms for 30-day periods, 50 ms otherwise."""
    return 100.0 if name.endswith("_30d") else 50.0


def every_endpoint_target(results):
    """Every endpoint within its p99 target at CONCURRENCY connections; the misses by name."""
    misses = {}
    for name, e in results.items():
        run = next(r for r in e["runs"] if r["connections"] == CONCURRENCY)
        p99 = run.get("p99_ms")
        if p99 is None or p99 > limit_ms(name) or run["non_2xx"]:
            misses[name] = p99
    return {"target": "p99 <= 50 ms (periods up to 7 d), <= 100 ms (30 d) at %d connections" % CONCURRENCY,
            "endpoints": len(results), "within": len(results) - len(misses), "misses_p99_ms": misses,
            "met": not misses}


def main():
    stack = B.Stack("api")
    stack.start_postgres()
    url = stack.database_url()
    B.monbench("prepare-db", "--database-url", url, "--days-back", DAYS + 1)
    B.log("api: generating %d days for %d hosts (%d-s raw samples)" % (DAYS, HOSTS, STEP))
    t0 = time.monotonic()
    counts = generate(stack)
    generate_s = time.monotonic() - t0
    B.log("api: generated %s in %.1f s" % (counts, generate_s))
    t0 = time.monotonic()
    rollup = B.monbench("rollup", "--database-url", url)
    rollup_s = time.monotonic() - t0
    B.log("api: rollups caught up in %.1f s (%d passes, %d minutes)" % (rollup_s, rollup["passes"], rollup["minutes"]))
    sizes = dict(line.split("\t") for line in stack.psql(
        "SELECT p.relname, pg_size_pretty(sum(pg_total_relation_size(c.oid))::bigint) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
        "WHERE p.relname IN ('metrics', 'metrics_1m', 'metrics_1h', 'histograms', 'histograms_1m', "
        "'histograms_1h', 'events') GROUP BY p.relname ORDER BY 1").splitlines())
    rollup_rows = dict(line.split("\t") for line in stack.psql(
        "SELECT 'metrics_1m', count(*) FROM metrics_1m UNION ALL SELECT 'metrics_1h', count(*) FROM metrics_1h "
        "UNION ALL SELECT 'histograms_1m', count(*) FROM histograms_1m "
        "UNION ALL SELECT 'histograms_1h', count(*) FROM histograms_1h").splitlines())

    token_hash = hashlib.sha256(TOKEN.encode()).hexdigest()
    admin_hash = hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest()
    stack.start_monquery({"MONQUERY_AUTH_VIEWER_TOKENS": "bench:" + token_hash,
                          "MONQUERY_AUTH_ADMIN_TOKENS": "bench-admin:" + admin_hash})
    results = {}
    for name, path, role in ENDPOINTS:
        token = ADMIN_TOKEN if role == "admin" else TOKEN
        B.monbench("push", "--socket", stack.ingest_socket, "--series", 300 * HOSTS, "--hosts", HOSTS)
        code, body = B.http_get(stack.http + path, headers={"Authorization": "Bearer " + token}, timeout=60)
        if code != 200:
            raise RuntimeError("%s answered %d" % (path, code))
        shape = {"bytes": len(body)}
        try:
            data = json.loads(body)
        except ValueError:
            data = None   # HTML pages, the exposition, the CSV export
        if isinstance(data, dict):
            shape.update({"hosts": len(data.get("hosts") or []), "statements": len(data.get("statements") or []),
                          "endpoints": len(data.get("endpoints") or [])})
        runs = []
        for connections in (1, CONCURRENCY):
            wrk(stack.http + path, connections, 2 if not B.SMOKE else 1, token)   # warm-up
            part = B.Part("api-%s-c%d" % (name, connections), pids=[stack.query.pid, stack.pg_pid])
            with part:
                run = wrk(stack.http + path, connections, SECONDS, token)
            run["contention"] = part.result
            run["monquery_rss_mib"] = B.status_kib(stack.query.pid, "VmRSS") / 1024
            runs.append(run)
            B.log("api: %-18s c=%d  p50 %7.2f ms  p99 %7.2f ms  %6.1f req/s  non-2xx %d%s" % (
                name, connections, run.get("p50_ms") or -1, run.get("p99_ms") or -1, run["requests_per_second"],
                run["non_2xx"], "  CONTENDED" if part.result["contended"] else ""))
            if run["non_2xx"] or run["socket_errors"]:
                B.log("api: WARNING: %s had %d non-2xx responses, %d socket errors" % (
                    name, run["non_2xx"], run["socket_errors"]))
        results[name] = {"path": path, "role": role, "response": shape, "runs": runs}
    stack.check_alive(stack.query)
    summary = next((r for r in results.get("summary", {}).get("runs", []) if r["connections"] == CONCURRENCY), {})
    result = {
        "machine": B.describe_machine(),
        "settings": {"days": DAYS, "hosts": HOSTS, "step_s": STEP, "statements": STATEMENTS, "seconds": SECONDS,
                     "concurrency": CONCURRENCY, "cache_series_per_host": 300, "auth": "viewer bearer token"},
        "data": {"rows": counts, "generate_s": generate_s, "rollup": rollup, "rollup_s": rollup_s,
                 "rollup_rows": {k: int(v) for k, v in rollup_rows.items()}, "table_sizes": sizes},
        "endpoints": results,
        "targets": {"every_endpoint_p99": every_endpoint_target(results),
                    "summary_p99": {"target": "summary endpoint p99 <= 25 ms with 7 d of data, 10 hosts",
                                    "p99_ms": summary.get("p99_ms"),
                                    "met": (summary.get("p99_ms") or 1e9) <= 25 and not summary.get("non_2xx")}},
    }
    B.write_result("api", result)
    stack.stop()


if __name__ == "__main__":
    main()
