#!/usr/bin/env python3
"""Where a `mon-bench render` profile spends its time, grouped by the /metrics handler's steps.

    perf record -g -o render.data -- mon-bench render --series 10000 --repeat 40 --formats text004
    perf script -i render.data | python3 bench/perf_render_breakdown.py | swift demangle --simplified

Reads `perf script` output (call chains, leaf first) on stdin and prints the share of all
samples spent in: LastValueCache.snapshot (split into Labels.canonicalKey inside the sort
comparator, the rest of the sort, the stale filter), PrometheusText.render(cache:) (with its
direct callees and leaf functions), and the direct callees of PrometheusText.sample and
Labels.canonicalKey. Symbols are printed mangled; pipe through `swift demangle`.
"""
import collections
import sys


def read_stacks(stream):
    stacks, current = [], None
    for line in stream:
        if not line.strip():
            if current is not None:
                stacks.append(current)
            current = None
            continue
        if not line.startswith((" ", "\t")):
            current = []  # the sample's header line
            continue
        fields = line.strip().split(" ", 1)
        symbol = fields[1] if len(fields) > 1 else fields[0]
        current.append(symbol.rsplit(" (", 1)[0].split("+0x")[0])
    if current:
        stacks.append(current)
    return stacks


def main():
    stacks = read_stacks(sys.stdin)
    total = len(stacks) or 1

    def has(stack, pattern):
        return any(pattern in frame for frame in stack)

    groups = collections.Counter()
    render_callees, render_leaves = collections.Counter(), collections.Counter()
    for stack in stacks:
        if has(stack, "14LastValueCacheC8snapshot5nowMs"):
            if has(stack, "LabelsV12canonicalKeySSvg"):
                groups["snapshot: Labels.canonicalKey in the sort comparator"] += 1
            elif has(stack, "stableSortImpl") or has(stack, "_merge") or has(stack, "sorted"):
                groups["snapshot: rest of the sort (moving/copying entries, comparing)"] += 1
            elif has(stack, "filter"):
                groups["snapshot: filter (drop stale entries)"] += 1
            else:
                groups["snapshot: other"] += 1
        elif has(stack, "PrometheusTextV6render5cache"):
            groups["render(cache:)"] += 1
            index = max(i for i, frame in enumerate(stack) if "PrometheusTextV6render5cache" in frame)
            render_callees[stack[index - 1] if index > 0 else "(self)"] += 1
            render_leaves[stack[0]] += 1
        elif has(stack, "9SeriesSetV") or has(stack, "LastValueCacheC6record") or has(stack, "committedBatch"):
            groups["filling the cache (not timed)"] += 1
        elif has(stack, "4GzipO") or has(stack, "deflate"):
            groups["gzip"] += 1
        else:
            groups["other (process start, Array(text.utf8), ...)"] += 1

    print(f"samples: {len(stacks)}")
    for name, count in groups.most_common():
        print(f"{100 * count / total:6.1f}%  {name}")

    def top(counter, title, whole):
        print(title)
        for name, count in counter.most_common(12):
            print(f"{100 * count / (whole or 1):6.1f}%  {name}")

    render = groups["render(cache:)"]
    top(render_callees, "render(cache:): direct callees, share of render", render)
    top(render_leaves, "render(cache:): leaf functions, share of render", render)

    for pattern, title in (
        ("PrometheusTextV6sampleyy", "PrometheusText.sample"),
        ("LabelsV12canonicalKeySSvg", "Labels.canonicalKey"),
    ):
        callees, n = collections.Counter(), 0
        for stack in stacks:
            indexes = [i for i, frame in enumerate(stack) if pattern in frame]
            if not indexes:
                continue
            n += 1
            callees[stack[indexes[-1] - 1] if indexes[-1] > 0 else "(self)"] += 1
        top(callees, f"{title}: {100 * n / total:.1f}% of all samples; direct callees, share of it", n)


if __name__ == "__main__":
    main()
