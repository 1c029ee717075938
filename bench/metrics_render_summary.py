#!/usr/bin/env python3
"""Summarises a bench/metrics-render run: reads OUT/ (render-*.json, push-*.json, scrapes.tsv,
daemon.tsv, parts.tsv, promtool.tsv, machine.txt), writes the combined JSON to RESULT and
prints the tables of summary.txt.

Usage: metrics_render_summary.py OUT RESULT
"""
import csv
import glob
import json
import os
import statistics
import sys

TARGET_SERIES = 10_000
TARGET_MS = 5.0
# A part counts as contended when the rest of the machine used more than this share of one
# core meanwhile (machine busy CPU minus our own, over wall time).
CONTENDED_SHARE = 0.2


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def read_tsv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def main(out, result):
    machine = {}
    with open(os.path.join(out, "machine.txt")) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition(": ")
            machine[key] = value

    parts = read_tsv(os.path.join(out, "parts.tsv"))
    daemon_rows = read_tsv(os.path.join(out, "daemon.tsv")) if os.path.exists(os.path.join(out, "daemon.tsv")) else []
    daemon_cpu = {(r["size"], r["variant"]): float(r["daemon_cpu_s"]) for r in daemon_rows}
    contended = {}
    for part in parts:
        wall = float(part["wall_s"])
        busy = float(part["machine_busy_cpu_s"])
        # Our own CPU: the script's finished children (mon-bench render, curl), plus the daemon's
        # CPU time in a scrape part.
        own = float(part.get("children_cpu_s") or 0)
        if part["part"] == "scrape":
            own += daemon_cpu.get((part["size"], part["item"]), 0.0)
        part["others_cpu_s"] = round(busy - own, 2)
        part["contended"] = busy - own > CONTENDED_SHARE * wall
        contended[(part["part"], part["size"], part["item"])] = part["contended"]

    # --- render, in process: every timed repetition of every run pooled -------------------
    render = {}
    for path in sorted(glob.glob(os.path.join(out, "render-*-*.json"))):
        with open(path) as f:
            report = json.load(f)
        size = str(report["series"])
        run = os.path.basename(path)[: -len(".json")].rsplit("-", 1)[1]
        quiet = not contended.get(("render", size, "run" + run), False)
        entry = render.setdefault(
            size,
            {
                "series": report["series"],
                "value_series": report["value_series"],
                "histogram_series": report["histogram_series"],
                "hosts": report["hosts"],
                "runs": 0,
                "quiet_runs": 0,
                "fill_ms": [],
                "formats": {},
            },
        )
        entry["runs"] += 1
        entry["quiet_runs"] += 1 if quiet else 0
        entry["fill_ms"].append(report["fill_ms"])
        for name, fmt in report["formats"].items():
            pooled = entry["formats"].setdefault(
                name,
                {
                    "bytes": fmt["bytes"],
                    "gzip_bytes": fmt.get("gzip_bytes"),
                    "lines": fmt["lines"],
                    "sample_lines": fmt["sample_lines"],
                    "raw": {},
                    "quiet_raw": {},
                    "run_medians_total_ms": {},
                },
            )
            for phase, values in fmt["raw"].items():
                pooled["raw"].setdefault(phase, []).extend(values)
                if quiet:
                    pooled["quiet_raw"].setdefault(phase, []).extend(values)
            pooled["run_medians_total_ms"]["run" + run + ("" if quiet else " (contended)")] = fmt["total_ms"]["median"]
    for entry in render.values():
        for fmt in entry["formats"].values():
            raw = fmt.pop("raw")
            for phase, values in raw.items():
                fmt[phase] = spread(values)
            quiet_raw = fmt.pop("quiet_raw")
            fmt["quiet_runs_only"] = {phase: spread(values) for phase, values in quiet_raw.items()}
            fmt["ns_per_sample_line"] = (
                fmt["total_ms"]["median"] * 1e6 / fmt["sample_lines"] if fmt["sample_lines"] else None
            )

    # --- HTTP ------------------------------------------------------------------------------
    http = {}
    scrapes = read_tsv(os.path.join(out, "scrapes.tsv")) if os.path.exists(os.path.join(out, "scrapes.tsv")) else []
    for row in scrapes:
        variant = http.setdefault(row["size"], {}).setdefault(
            row["variant"], {"time_total_ms": [], "time_starttransfer_ms": [], "bytes": [], "http_codes": set()}
        )
        variant["time_total_ms"].append(float(row["time_total_s"]) * 1000)
        variant["time_starttransfer_ms"].append(float(row["time_starttransfer_s"]) * 1000)
        variant["bytes"].append(int(row["size_download"]))
        variant["http_codes"].add(row["http_code"])
    for size, variants in http.items():
        for variant in variants.values():
            variant["time_total_ms"] = spread(variant["time_total_ms"])
            variant["time_starttransfer_ms"] = spread(variant["time_starttransfer_ms"])
            variant["bytes"] = spread(variant["bytes"])
            variant["http_codes"] = sorted(variant["http_codes"])
    for row in daemon_rows:
        variant = http.setdefault(row["size"], {}).setdefault(row["variant"], {})
        cpu = float(row["daemon_cpu_s"])
        variant["daemon_cpu_ms_per_scrape"] = cpu * 1000 / int(row["scrapes"])
        before = int(row["cached_before"]) if row["cached_before"] else None
        after = int(row["cached_after"]) if row["cached_after"] else None
        variant["cached_series_before"] = before
        variant["cached_series_after"] = after
        # Valid only if the cache held exactly the pushed series before and after the scrapes.
        variant["valid"] = before == after == int(row["size"])
        variant["contended"] = contended.get(("scrape", row["size"], row["variant"]), False)
        variant["daemon_rss_mib_after"] = float(row["daemon_rss_mib"]) if row["daemon_rss_mib"] not in ("", "?") else None
    for path in sorted(glob.glob(os.path.join(out, "push-*-*.json"))):
        with open(path) as f:
            push = json.load(f)
        size, variant = os.path.basename(path)[len("push-") : -len(".json")].split("-", 1)
        http.setdefault(size, {}).setdefault(variant, {})["push_before"] = {
            "total_ms": push["total_ms"],
            "ack_ms_per_host_batch": spread([b["ack_ms"] for b in push["batches"]]),
            "frame_bytes": sum(b["frame_bytes"] for b in push["batches"]),
        }

    promtool = {}
    promtool_path = os.path.join(out, "promtool.tsv")
    for row in read_tsv(promtool_path) if os.path.exists(promtool_path) else []:
        promtool.setdefault(row["size"], {})[row["source"]] = int(row["findings"])

    target = None
    text = render.get(str(TARGET_SERIES), {}).get("formats", {}).get("text004")
    if text:
        quiet = text["quiet_runs_only"].get("total_ms")
        measured = (quiet or text["total_ms"])["median"]
        target = {
            "what": "DESIGN §11: /metrics render, 10 000 series <= 5 ms",
            "measured": "median of snapshot + render + finish, text 0.0.4, in process, "
            + ("quiet runs only" if quiet else "all runs (no quiet run)"),
            "measured_ms": measured,
            "best_ms": text["total_ms"]["min"],
            "met": measured <= TARGET_MS,
        }

    combined = {
        "benchmark": "metrics-render",
        "machine": machine,
        "render": render,
        "http": http,
        "promtool_findings": promtool,
        "parts": parts,
        "target": target,
    }
    with open(result, "w") as f:
        json.dump(combined, f, indent=2, sort_keys=True)
        f.write("\n")

    # --- summary.txt -------------------------------------------------------------------------
    def fmt_spread(s, digits=2):
        if not s:
            return "-"
        return f"{s['median']:.{digits}f} / {s['min']:.{digits}f} / {s['max']:.{digits}f}"

    print("In process (mon-bench render): ms, median / min / max over all timed renders")
    print(f"{'series':>7} {'format':<12} {'snapshot':>26} {'render+finish':>26} {'total':>26} {'gzip':>26} {'bytes':>10} {'gz bytes':>9} {'lines':>7}")
    for size in sorted(render, key=int):
        for name, fmt in sorted(render[size]["formats"].items(), key=lambda kv: kv[0] != "text004"):
            print(
                f"{size:>7} {name:<12} {fmt_spread(fmt['snapshot_ms']):>26} {fmt_spread(fmt['render_ms']):>26} "
                f"{fmt_spread(fmt['total_ms']):>26} {fmt_spread(fmt.get('gzip_ms')):>26} {fmt['bytes']:>10} "
                f"{fmt['gzip_bytes'] or '-':>9} {fmt['sample_lines']:>7}"
            )
    print()
    print("The same, quiet runs only (rest of the machine < 0.2 core meanwhile)")
    for size in sorted(render, key=int):
        for name, fmt in sorted(render[size]["formats"].items(), key=lambda kv: kv[0] != "text004"):
            q = fmt["quiet_runs_only"]
            if not q:
                print(f"{size:>7} {name:<12} (no quiet run)")
                continue
            print(
                f"{size:>7} {name:<12} {fmt_spread(q.get('snapshot_ms')):>26} {fmt_spread(q.get('render_ms')):>26} "
                f"{fmt_spread(q.get('total_ms')):>26} {fmt_spread(q.get('gzip_ms')):>26}   "
                f"({render[size]['quiet_runs']} of {render[size]['runs']} runs)"
            )
    print()
    print("Over HTTP (curl time_total): ms, median / min / max; bytes downloaded; daemon CPU ms per scrape")
    print(f"{'series':>7} {'variant':<12} {'time_total':>28} {'bytes':>10} {'daemon cpu':>10} {'codes':>6} {'cached':>7}  notes")
    for size in sorted(http, key=int):
        for name in ("text", "openmetrics", "gzip"):
            v = http[size].get(name)
            if not v or "time_total_ms" not in v:
                continue
            print(
                f"{size:>7} {name:<12} {fmt_spread(v['time_total_ms']):>28} {int(v['bytes']['median']):>10} "
                f"{v.get('daemon_cpu_ms_per_scrape', float('nan')):>10.1f} {','.join(v['http_codes']):>6} "
                f"{v.get('cached_series_after') or '-':>7}  "
                f"{'' if v.get('valid') else 'INVALID (cache did not hold the series) '}{'contended' if v.get('contended') else ''}"
            )
    print()
    print("promtool check metrics (text 0.0.4), findings:", json.dumps(promtool, sort_keys=True))
    print()
    print("Parts (wall s, machine busy CPU-s, own children CPU-s, others CPU-s, waited s):")
    for part in parts:
        print(
            f"  {part['part']:<7} {part['size']:>7} {part['item']:<12} {part['wall_s']:>8} {part['machine_busy_cpu_s']:>8} "
            f"{part.get('children_cpu_s', '-'):>8} {part['others_cpu_s']:>8} {part['waited_s']:>6}"
            f"{'  contended' if part['contended'] else ''}"
        )
    if target:
        verdict = "met" if target["met"] else "MISSED"
        print(f"Target 10 000 series <= 5 ms: {target['measured_ms']:.2f} ms (median, in process) -> {verdict}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
