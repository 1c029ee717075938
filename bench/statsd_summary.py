#!/usr/bin/env python3
"""Summarises bench/statsd-throughput's results.tsv: statsd_summary.py RESULTS.TSV REPS"""
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
reps = int(sys.argv[2])
# A step the sender could not offer (achieved below this share of the target) shows what the
# sender can do, not the agent: it ends the ladder's zero-loss figure like a lossy step.
SENDER_SHORTFALL = 0.95
print("Highest step with zero loss (every step up to it lost nothing: received == sent and no")
print("RcvbufErrors, and the sender achieved at least %d %% of the offered rate), per repetition;" % (SENDER_SHORTFALL * 100))
print("the achieved send rate of that step in brackets.")
for k in ("1", "20"):
    best, achieved = [], []
    for rep in range(1, reps + 1):
        steps = sorted((r for r in rows if r["k"] == k and r["rep"] == str(rep)), key=lambda r: int(r["offered"]))
        top, top_achieved = 0, 0.0
        for r in steps:
            if int(r["received_lines"]) != int(r["sent_lines"]) or int(r["rcvbuf_errors"]) != 0:
                break
            if float(r["achieved"]) < SENDER_SHORTFALL * int(r["offered"]):
                print("  k=%s rep %d: the sender reached only %.0f of %s lines/s: not counted" % (k, rep, float(r["achieved"]), r["offered"]))
                break
            top, top_achieved = int(r["offered"]), float(r["achieved"])
        best.append(top)
        achieved.append(top_achieved)
        ladder = ", ".join("%s:%s%%" % (r["offered"], r["loss_pct"]) for r in steps)
        print("  k=%s rep %d: %d lines/s (achieved %.0f)   [loss per step: %s]" % (k, rep, top, top_achieved, ladder))
    print("k=%s lines/datagram: zero-loss step median %d, min %d, max %d lines/s; achieved median %.0f, min %.0f, max %.0f"
          % (k, statistics.median(best), min(best), max(best),
             statistics.median(achieved), min(achieved), max(achieved)))
unexplained = [r for r in rows
               if int(r["sent_lines"]) - int(r["received_lines"]) != int(r["rcvbuf_errors"]) * int(r["k"])]
print("Lines lost == RcvbufErrors x lines per datagram in every step (all loss happened in the kernel's"
      " socket buffer): " + ("yes" if not unexplained else "NO, in %d steps: " % len(unexplained)
      + ", ".join("k=%s rep %s %s" % (r["k"], r["rep"], r["offered"]) for r in unexplained)
      + " (RcvbufErrors is machine-wide: other UDP traffic can add to it)"))
print()
print("Per offered step over the repetitions (median of each column):")
print("%-3s %8s %10s %10s %8s %10s %8s %8s %8s %8s" % ("k", "offered", "achieved", "loss%", "rcvbuf", "cpu_s", "us/line", "rss", "snd_cpu", "others"))
keys = sorted({(int(r["k"]), int(r["offered"])) for r in rows})
for k, offered in keys:
    sel = [r for r in rows if int(r["k"]) == k and int(r["offered"]) == offered]
    med = lambda f, key: statistics.median(f(r[key]) for r in sel)
    us = statistics.median(float(r["agent_cpu_s"]) * 1e6 / max(1, int(r["received_lines"])) for r in sel)
    others = statistics.median(float(r["others_cpu_s"]) for r in sel)
    print("%-3d %8d %10.0f %10.3f %8.0f %10.2f %8.2f %8.1f %8.2f %8.2f" % (
        k, offered, med(float, "achieved"), med(float, "loss_pct"), med(int, "rcvbuf_errors"),
        med(float, "agent_cpu_s"), us, med(float, "agent_rss_mib"), med(float, "sender_cpu_s"), others))
