#!/usr/bin/env python3
"""Regenerates the DESIGN §11 summary table of BENCHMARKS.md from the newest results file of
each part in a results directory (the part between <!-- bench:summary:begin --> and
<!-- bench:summary:end -->; the markers are added under the first heading when missing).

usage: summary.py RESULTS_DIR BENCHMARKS.md [--check PART...]
  --check: fail (exit 1) unless each named part has a parsable results file with the
           fields the table needs (bench/run --smoke uses it so the harness cannot rot).
"""
import glob
import json
import os
import re
import sys

BEGIN = "<!-- bench:summary:begin -->"
END = "<!-- bench:summary:end -->"


def newest(results_dir, part):
    patterns = [part + "-*.json"] + (["metrics-render-*.json"] if part == "render" else [])
    files = []
    for pattern in patterns:
        files += glob.glob(os.path.join(results_dir, pattern))
    # Names end in <YYYYMMDD-HHMMSS>.json: newest by that stamp.
    if part in ("fleet", "api", "logtail"):
        # Tagged runs (fleet-<tag>-<stamp>.json from FLEET_TAG, api-cache-<stamp>.json with the
        # response cache on: other settings, kept beside; logtail-burst-*) are not the part's row.
        files = [p for p in files if re.fullmatch(part + r"-\d{8}-\d{6}\.json", os.path.basename(p))]
    files.sort(key=lambda p: os.path.basename(p)[-20:])
    if not files:
        return None, None
    with open(files[-1]) as f:
        return files[-1], json.load(f)


def num(x, digits=2):
    if x is None:
        return "—"
    if abs(x) >= 1000:
        return "{:,.0f}".format(x).replace(",", " ")
    return ("%." + str(digits) + "f") % x


def contention(data):
    """'no' / 'yes (n of m parts)' from the contention records a results file holds."""
    records = []

    def walk(x):
        if isinstance(x, dict):
            if "contended" in x and isinstance(x["contended"], bool):
                records.append(x["contended"])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(data)
    c = data.get("contention") or {}
    if "contended_steps" in c or "contended_reps" in c:            # statsd, logtail
        n, total = c.get("contended_steps", c.get("contended_reps")), c.get("steps", c.get("reps"))
        unit = "steps" if "contended_steps" in c else "repetitions"
        return "no" if n == 0 else "**yes** (%d of %d %s)" % (n, total, unit)
    if data.get("parts") and isinstance(data["parts"], list):   # metrics-render
        records = [bool(p.get("contended")) for p in data["parts"]]
    if not records:
        return "?"
    n = sum(records)
    return "no" if n == 0 else "**yes** (%d of %d parts)" % (n, len(records))


def met(flag):
    if flag == "n/a":
        return "no target"
    return "?" if flag is None else ("**met**" if flag else "**missed**")


def size_label(n):
    n = int(n)
    return "%dk" % (n // 1000) if n >= 1000 and n % 1000 == 0 else str(n)


def link(path, benchmarks):
    if not path:
        return "—"
    rel = os.path.relpath(path, os.path.dirname(os.path.abspath(benchmarks)))
    if rel.startswith(".."):
        return "`%s`" % os.path.basename(path)
    return "[`%s`](%s)" % (os.path.basename(path), rel)


SOAK_WINDOW_S = 1800


def soak_figures(d):
    """(ours, theirs, ratio, met) of a soak results file from its RSS series (seconds, VmRSS MiB,
    RssAnon MiB, about once a minute): growth of RssAnon (private memory: what a leak grows;
    RssFile is clean pages of the binary, mapped in as code first runs) over the last 30 minutes.
    None when there is no soak of at least 30 minutes with a series."""
    if not d:
        return None
    series = d["ours"].get("rss_series") or []
    if len(series) < 2 or series[-1][0] - series[0][0] < SOAK_WINDOW_S:
        return None
    end = series[-1]
    start = next(p for p in series if p[0] >= end[0] - SOAK_WINDOW_S)
    growth_mib = end[2] - start[2]
    ok = growth_mib <= max(0.02 * start[2], 64 / 1024)
    ours = ("RssAnon %s → %s MiB over the last 30 min (%+.0f KiB; max %s); over the whole run %s → %s; "
            "VmRSS %s → %s" % (num(start[2]), num(end[2]), growth_mib * 1024, num(max(p[2] for p in series
            if p[0] >= start[0])), num(series[0][2]), num(end[2]), num(start[1], 1), num(end[1], 1)))
    load = d.get("load")
    if load:
        counters = load.get("agent_counters", {})
        asked = d["settings"].get("statsd_datagrams_per_s") or 0
        sent = (load.get("statsd_sender") or {}).get("lines_per_second")
        ours += ("; under load: %s log lines/s (%s written, %s stored), %s StatsD datagrams/s asked, %s sent "
                 "(%s received, %s dropped)" % (num(d["settings"].get("log_rate_per_s")),
                                                num(load["log_lines_written"]), num(load["log_rows_stored"]),
                                                num(asked), num(sent),
                                                num(counters.get("mon_agent_statsd_datagrams_total")),
                                                num(counters.get("mon_agent_statsd_dropped_total"), 0)))
        if sent is not None and sent < 0.9 * asked:
            # The sender could not keep the asked rate (a starved machine): no verdict.
            ours += "; inconclusive: the load was below 90 % of the asked rate"
            ok = None
    trio = d["theirs"]
    theirs = "trio %s MiB at the end (RssAnon %s)" % (num(trio["rss_mib"], 1), num(trio.get("rss_anon_mib"), 1))
    return ours, theirs, "—", ok


def rows(results_dir, benchmarks):
    out = []
    missing = "not measured yet (no results file)"

    def add(what, target, ours, theirs, ratio, ok, data, path):
        if data is None:
            out.append((what, target, missing, "—", "—", "?", "—", "—"))
        else:
            extra = " (smoke)" if data.get("smoke") else ""
            out.append((what, target, ours, theirs, ratio, met(ok) + extra, contention(data),
                        link(path, benchmarks)))

    path, d = newest(results_dir, "overhead")
    if d:
        o, t, r = d["ours"], d["theirs"], d["ratios"]
        soak = d["settings"]["seconds"]
        add("agent CPU, all collectors, %g s interval (%d s)" % (d["settings"]["interval_s"], soak),
            "≤ 3 ms CPU per cycle, ≥ 4× less than the exporter trio",
            "%s ms/cycle (windows of %d cycles: %s / %s / %s)%s" % (
                num(o["cpu_ms_per_cycle"]), d["settings"]["window_cycles"],
                *(num((o["cpu_ms_per_cycle_windows"] or {}).get(k)) for k in ("median", "min", "max")),
                "; scheduler clock %s ms" % num(o["cpu_ms_per_cycle_schedstat"])
                if o.get("cpu_ms_per_cycle_schedstat") else ""),
            "trio %s ms/scrape round%s (node %s, redis %s, postgres %s)" % (
                num(t["cpu_ms_per_round"]),
                " (scheduler clock %s)" % num(t["cpu_ms_per_round_schedstat"])
                if t.get("cpu_ms_per_round_schedstat") else "",
                num(t["cpu_ms_per_round_each"]["node"]),
                num(t["cpu_ms_per_round_each"]["redis"]), num(t["cpu_ms_per_round_each"]["postgres"])),
            "theirs ÷ ours = %s%s" % (num(r["cpu_theirs_over_ours"], 2),
                                     "; scheduler clock %s" % num(r["cpu_theirs_over_ours_schedstat"], 2)
                                     if r.get("cpu_theirs_over_ours_schedstat") else ""),
            d["targets"]["agent_cpu"]["met"], d, path)
        add("agent RSS, steady state", "≤ 12 MB, ≥ 4× less than the trio (growth: the soak row)",
            "%s MiB (VmHWM %s; %s → %s over the run)%s" % (
                num(o["rss_mib"], 1), num(o["hwm_mib"], 1), num(o["rss_mib_first"], 1), num(o["rss_mib_last"], 1),
                "; RssAnon %s + RssFile %s" % (num(o["rss_anon_mib"], 1), num(o["rss_file_mib"], 1))
                if "rss_anon_mib" in o else "") + ("; Pss %s" % num(o["pss_mib"], 1) if o.get("pss_mib") else ""),
            "trio %s MiB%s" % (num(t["rss_mib"], 1),
                               " (RssAnon %s)" % num(t["rss_anon_mib"], 1) if "rss_anon_mib" in t else ""),
            "theirs ÷ ours = %s%s" % (num(r["rss_theirs_over_ours"], 2),
                                     " (RssAnon %s)" % num(r["rss_anon_theirs_over_ours"], 2)
                                     if r.get("rss_anon_theirs_over_ours") else ""),
            d["targets"]["agent_rss"]["met"], d, path)
    else:
        add("agent CPU per cycle", "≤ 3 ms, ≥ 4× less than the trio", "", "", "", None, None, None)
        add("agent RSS", "≤ 12 MB, ≥ 4× less than the trio", "", "", "", None, None, None)

    path, d = newest(results_dir, "soak-overhead")
    soak_row = soak_figures(d)
    if soak_row:
        add("agent RSS over a soak (%d min)" % round(d["settings"]["seconds"] / 60),
            "no growth over 30 min (RssAnon, last 30 min: ≤ 2 % or 64 KiB)", soak_row[0], soak_row[1], soak_row[2],
            soak_row[3], d, path)
    else:
        add("agent RSS over a 30-min soak", "no growth", "", "", "", None, None, None)

    path, d = newest(results_dir, "cycle")
    if d:
        rep = d["report"]
        floor = rep.get("floor")
        add("/proc part of a cycle", "≤ 0.5 ms, within ~2× of the pread floor",
            "%s ms median (min %s, max %s); whole host cycle %s ms" % (
                num(rep["proc_ms"]["median"], 3), num(rep["proc_ms"]["min"], 3), num(rep["proc_ms"]["max"], 3),
                num(rep["host_cycle_ms"]["median"], 3)),
            ("pread floor %s ms (%d files), open/read/close %s ms" % (
                num(floor["pread_ms"]["median"], 3), floor["files"], num(floor["open_read_close_ms"]["median"], 3))
             if floor else "—"),
            "%s× the floor" % num(d["ratios"]["proc_over_pread_floor"], 1) if floor else "—",
            d["targets"]["proc_part"]["met"], d, path)
    else:
        add("/proc part of a cycle", "≤ 0.5 ms", "", "", "", None, None, None)

    path, d = newest(results_dir, "ingest")
    if d:
        s, r = d["summary"], d["ratios"]
        best = str(s["best_batch_samples"])
        add("ingest into PostgreSQL (daemon + PG, 2 cores)", "≥ 50 % of raw psql binary COPY, same run",
            "%s samples/s (%s-sample batches; all: %s)" % (
                num(s["ingest_samples_per_second"][best]), size_label(best),
                ", ".join("%s: %s" % (size_label(k), num(v)) for k, v in sorted(s["ingest_samples_per_second"].items(), key=lambda kv: int(kv[0])))),
            "binary COPY %s rows/s; single-row INSERT %s rows/s" % (
                num(s["copy_binary_rows_per_second"]["median"]), num(s["insert_rows_per_second"])),
            "%s %% of COPY; %s× INSERT" % (num(100 * r["ingest_over_copy_binary"][best], 0),
                                           num(r["ingest_over_insert"][best], 1)),
            d["targets"]["ingest"]["met"], d, path)
        vi, vl = d["visible_idle"], d["visible_load"]

        def vis(v, key):
            return num(v[key]["median"], 0) + "/" + num(v[key]["max"], 0) if v.get(key) else "timeout"
        add("sample visible in the API after its cycle ends", "≤ 1 s",
            "idle: summary %s ms, system/cpu %s ms (median/max); under ingest load: %s, %s ms" % (
                vis(vi, "summary_ms"), vis(vi, "cpu_ms"), vis(vl, "summary_ms"), vis(vl, "cpu_ms")),
            "—", "—", d["targets"]["visible"]["met"], d, path)
    else:
        add("ingest into PostgreSQL", "≥ 50 % of raw binary COPY", "", "", "", None, None, None)
        add("sample visible in the API", "≤ 1 s", "", "", "", None, None, None)

    path, d = newest(results_dir, "render")
    if d and not d.get("target"):
        add("/metrics render, 10 000 series", "≤ 5 ms; `promtool check metrics` 0 findings",
            "no 10 000-series run in this results file", "—", "—", None, d, path)
    elif d:
        t = d["target"]
        findings = d.get("promtool_findings", {}).get("10000", {})
        lint = ", ".join("%s %s" % (k, v) for k, v in sorted(findings.items())) if findings else "n/a"
        add("/metrics render, 10 000 series", "≤ 5 ms; `promtool check metrics` 0 findings",
            "%s ms (%s; fastest %s ms); promtool findings: %s" % (
                num(t["measured_ms"], 1), t["measured"], num(t["best_ms"], 1), lint),
            "trio's findings 68, 28, 14 (DESIGN §11, not re-measured)", "—",
            bool(t["met"]) and all(v == 0 for v in findings.values() if isinstance(v, int)), d, path)
    else:
        add("/metrics render, 10 000 series", "≤ 5 ms", "", "", "", None, None, None)

    path, d = newest(results_dir, "api")
    if d:
        runs = {r["connections"]: r for r in d["endpoints"].get("summary", {"runs": []})["runs"]}
        c = d["settings"]["concurrency"]
        every = d["targets"].get("every_endpoint_p99", {})
        slowest = sorted(((name, next(r for r in e["runs"] if r["connections"] == c).get("p99_ms") or 1e9)
                          for name, e in d["endpoints"].items()), key=lambda x: -x[1])[:3]
        others = "%s of %s endpoints within p99 ≤ 50 ms (100 ms for 30 d); slowest: %s" % (
            every.get("within", "?"), every.get("endpoints", len(d["endpoints"])),
            "; ".join("%s p99 %s ms" % (name, num(p99, 1)) for name, p99 in slowest))
        add("summary endpoint, %d d of data, %d hosts" % (d["settings"]["days"], d["settings"]["hosts"]),
            "p99 ≤ 25 ms",
            "p50 %s / p99 %s ms at %d connections (1 connection: %s / %s ms)" % (
                num(runs.get(c, {}).get("p50_ms"), 1), num(runs.get(c, {}).get("p99_ms"), 1), c,
                num(runs.get(1, {}).get("p50_ms"), 1),
                num(runs.get(1, {}).get("p99_ms"), 1)),
            "other endpoints at %d connections: %s" % (c, others), "—",
            d["targets"]["summary_p99"]["met"], d, path)
    else:
        add("summary endpoint, 7 d, 10 hosts", "p99 ≤ 25 ms", "", "", "", None, None, None)

    path, d = newest(results_dir, "page")
    if d:
        def worst(mode):
            pages = d["modes"][mode]["pages"]
            name = max(pages, key=lambda n: pages[n]["page_ms"]["p99"])
            return "%s p99 %s ms (server %s ms)" % (name, num(pages[name]["page_ms"]["p99"], 0),
                                                    num(pages[name]["server_ms"]["p99"], 0))
        t = d["targets"]
        add("a full dashboard page in headless Chromium, %d d of data, %d hosts" % (
                d["settings"]["days"], d["settings"]["hosts"]), "≤ 500 ms, every fragment loaded",
            "cache off: %s of %s pages within p99 ≤ 500 ms; slowest %s" % (
                t["cache_off"]["within"], t["cache_off"]["pages"], worst("cache_off")),
            "cache on: %s of %s; slowest %s" % (t["cache_on"]["within"], t["cache_on"]["pages"], worst("cache_on")),
            "—", t["cache_off"]["met"], d, path)
    else:
        add("a full dashboard page in headless Chromium", "≤ 500 ms", "", "", "", None, None, None)

    path, d = newest(results_dir, "fleet")
    if d:
        curve = d["curve"]

        def point(e):
            c = e["criteria"]
            return "%d %s (fresh p99 %s ms, summary p99 %s ms, behind %s)" % (
                e["agents"], "pass" if e["passed"] else "FAIL", num(c["freshness"]["p99_ms"], 0),
                num(c["summary"]["p99_ms"], 1), c["backlog"]["agents_behind_at_end"])

        def cpu(e):
            k = e["cpu_cores"]
            return "%d: monquery %s + PostgreSQL %s cores, generator %s; RSS %s MiB" % (
                e["agents"], num(k["monquery"]), num(k["postgres"]), num(k["generator"]),
                num(e["monquery_rss_mib"]["max"], 0))
        # Runs with FLEET_TAG (other sizes, same criteria when the summary was polled), beside it.
        # Only the tagged runs since the part's own run: older ones measured older builds.
        tagged = []
        for other in glob.glob(os.path.join(results_dir, "fleet-*-*-*.json")):
            if os.path.basename(other)[-20:] < os.path.basename(path)[-20:]:
                continue
            with open(other) as f:
                o = json.load(f)
            if o.get("settings", {}).get("summary_rate", 0) > 0 and not o.get("smoke"):
                tagged += [(e["agents"], e["passed"]) for e in o.get("curve", [])]
        extra = ""
        if tagged:
            passed = [n for n, ok in tagged if ok]
            extra = "; tagged runs since (FLEET_TAG, %d sizes): largest N that passed %d, sizes that failed: %s" % (
                len(tagged), max(passed) if passed else 0,
                ", ".join(str(n) for n in sorted({n for n, ok in tagged if not ok})) or "none")
        add("hosts per daemon (issue 21), %g s per N" % d["settings"]["seconds"],
            "N ≥ 1 000 agents (≈ 60 000 samples/s): freshness ≤ 1 s p99, no growing backlog, summary ≤ 25 ms p99",
            "largest N that passed: %d; %s%s" % (d["largest_passing_agents"], "; ".join(point(e) for e in curve),
                                                 extra),
            "; ".join(cpu(e) for e in curve), "—", d["targets"]["hosts_per_daemon"]["met"], d, path)
    else:
        add("hosts per daemon (issue 21)", "N ≥ 1 000 agents", "", "", "", None, None, None)

    path, d = newest(results_dir, "statsd")
    if d:
        z = d["zero_loss_lines_per_second"]
        add("StatsD datagrams into one agent", "≥ 200 000 lines/s (1 per datagram), ≥ 1 000 000 (20 per datagram), without loss",
            "zero-loss step: %s lines/s with 20 lines/datagram, %s with 1 (median of %d repetitions)" % (
                num(z["20"]["median"]), num(z["1"]["median"]), z["20"]["count"]),
            "—", "—", d["targets"]["statsd"]["met"], d, path)
    else:
        add("StatsD datagrams into one agent", "≥ 200 000 lines/s (1 per datagram), ≥ 1 000 000 (20 per datagram), without loss", "", "", "", None, None, None)

    path, d = newest(results_dir, "retention")
    if d:
        s = d["summary"]
        add("retention: drop a day of raw samples (issue 9 item 7)", "partition drop, not DELETE (no number)",
            "drop partition %s ms (median of %d; %s rows)" % (num(s["drop_ms"]["median"], 1), s["drop_ms"]["count"],
                                                             num(d["settings"]["rows"])),
            "DELETE of the same rows %s ms (+ VACUUM %s ms)" % (num(s["delete_ms"]["median"], 0),
                                                            num(s["vacuum_after_delete_ms"]["median"], 0)),
            "DELETE takes %s× longer" % num(s["delete_over_drop"]["median"], 0), "n/a", d, path)
    path, d = newest(results_dir, "logtail")
    if d:
        target = (d.get("targets") or {}).get("logtail")
        per_rep = (d.get("per_rep") or {}).get("e2e_lines_per_second")
        figure = "%s lines/s end to end, %s agent side (median%s)" % (
            num(d["e2e_lines_per_second"]["median"]), num(d["agent_lines_per_second"]["median"]),
            " of %d × %s lines: %s" % (len(per_rep), num(d.get("lines_per_rep")), " / ".join(num(v) for v in per_rep))
            if per_rep and d.get("lines_per_rep") else "")
        if d.get("checks_ok") is False:
            figure += "; **checks failed** (lines lost, duplicated or not redacted)"
        cpu = ["%s %s" % (name, num(d[key]["median"])) for name, key in
               (("agent", "agent_cpu_s"), ("monquery", "monquery_cpu_s"), ("PostgreSQL", "postgres_cpu_s")) if key in d]
        add("log tailing end to end (issue 22)" if target else "log tailing (context, no DESIGN §11 target)",
            "≥ 50 000 lines/s, file write → stored in PostgreSQL, redaction on" if target else "—", figure,
            "CPU-s per repetition: " + ", ".join(cpu) if cpu else "—", "—",
            target["met"] if target else "n/a", d, path)
    path, d = newest(results_dir, "traces")
    what = "OTLP spans into one agent, stored without loss (issue 23)"
    target = "≥ 20 000 spans/s accepted without loss"
    if d:
        def step(e):
            offered = e.get("offered_spans_per_second")
            return "%s: %s/s accepted, %d × 503, all stored after %s s, lost %d" % (
                "offered %s/s" % num(offered, 0) if offered else "flat out (%d connections)" % e.get("senders", 0),
                num(e["accepted_spans_per_second"], 0), e["answers_503"], num(e["all_stored_after_s"], 1), e["lost"])
        add(what, target, "; ".join(step(e) for e in d["steps"]),
            "CPU-s per step (agent / monquery / PostgreSQL): " + "; ".join(
                "%s / %s / %s" % tuple(num(e["cpu_s"][k]) for k in ("monagent", "monquery", "postgres"))
                for e in d["steps"]),
            "—", d["targets"]["traces"]["met"], d, path)
    else:
        add(what, target, "", "", "", None, None, None)

    path, d = newest(results_dir, "export")
    what = "remote-write export to a local Prometheus (issue 23)"
    target = "≥ 100 000 samples/s"
    if d:
        add(what, target, "; ".join(
            "%s queue: %s samples/s (%s samples in %s s; Prometheus holds %s)" % (
                r["destination"], num(r["samples_per_second"], 0), num(r["samples_sent"], 0), num(r["seconds"], 1),
                num(r.get("received_by_prometheus"), 0)) for r in d["runs"]),
            "—", "—", d["targets"]["export"]["met"], d, path)
    else:
        add(what, target, "", "", "", None, None, None)
    return out


def table(results_dir, benchmarks):
    lines = [BEGIN,
             "<!-- Generated by bench/summary.py from the newest bench/results/<part>-*.json of each part;"
             " bench/run rewrites it. -->",
             "",
             "| DESIGN §11 target | target | our figure | comparison (same run) | ratio | verdict | contended | results |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows(results_dir, benchmarks):
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    lines.append("")
    lines.append(END)
    return "\n".join(lines)


def check(results_dir, parts):
    bad = []
    for part in parts:
        path, data = newest(results_dir, part)
        if not data:
            bad.append("%s: no results file" % part)
    return bad


def main():
    args = sys.argv[1:]
    parts = []
    if "--check" in args:
        i = args.index("--check")
        parts = args[i + 1:]
        args = args[:i]
    results_dir, benchmarks = args
    problems = check(results_dir, parts)
    text = table(results_dir, benchmarks)   # raises on a results file without the needed fields
    with open(benchmarks) as f:
        doc = f.read()
    if BEGIN in doc and END in doc:
        doc = doc[:doc.index(BEGIN)] + text + doc[doc.index(END) + len(END):]
    else:
        # After the introduction (before the first "## " section).
        at = doc.find("\n## ")
        section = "\n## Summary: DESIGN §11 targets\n\n" + text + "\n"
        doc = doc + section if at < 0 else doc[:at] + "\n" + section + doc[at:]
    with open(benchmarks, "w") as f:
        f.write(doc)
    for p in problems:
        print("summary: " + p, file=sys.stderr)
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
