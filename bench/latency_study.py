#!/usr/bin/env python3
"""Latency-guided search against the space's true accuracy/latency front.

Runs `micronas search` for several settings of the latency weight λ, the FLOPs weight φ and the
hard latency limit (5 seeds each by default, real CIFAR-10 inputs), and compares the cells found
with the Pareto front of all 15,625 NB201 cells: benchmark accuracy against our modeled STM32F746
latency, computed for every cell with the Python package (`micronas.mcu_estimate`, the same
model the searches use; run this script with the interpreter that has the package installed,
e.g. build/venv/bin/python after scripts/setup.sh). Prints a Markdown table (accuracy,
latency, speed-up and accuracy change against the λ = 0 search, and each cell's distance below
the front at its latency) and writes an SVG plot of the space, its front and the cells found.

Every search's JSON is kept in --runs (one file per setting and seed): an interrupted study
resumes, and the table can be rebuilt from the files.

    build/venv/bin/python bench/latency_study.py --cifar ../shared/data/cifar/cifar10_test_first846.bin \\
        --benchmark ../shared/data/nb201/nb201.csv --runs /tmp/latency-runs \\
        --svg latency_study.svg --base init=kaiming batches=per-candidate
"""
import argparse
import bisect
import csv
import os
import re
import statistics

from search_goals import run  # one search, its JSON kept and reused when present

# label -> micronas search options; the first is the reference (λ = 0).
SETTINGS = [
    ("λ=0", {}),
    ("λ=0.5", {"latency-weight": "0.5"}),
    ("φ=0.25 λ=0.25", {"flops-weight": "0.25", "latency-weight": "0.25"}),
    ("limit 480 ms", {"max-latency-ms": "480"}),
    ("λ=0.5 + limit 480 ms", {"latency-weight": "0.5", "max-latency-ms": "480"}),
    ("λ=0.5, MicroNAS table", {"latency-weight": "0.5", "latency-table": "micronas"}),
]
# Zero-shot MicroNAS's constant per-op latency table (ms per active (edge, op) of the cell), the
# latency its 3.23× claim is measured in (`micronas search --latency-table micronas`).
MICRONAS_TABLE_MS = {"none": 0.0, "skip_connect": 1.43, "nor_conv_1x1": 23.49,
                     "nor_conv_3x3": 80.26, "avg_pool_3x3": 24.02}
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]


def seeds_from(text):
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def table_ms(arch):
    return sum(MICRONAS_TABLE_MS[op] for op in re.findall(r"\|([a-z_0-9]+)~\d", arch))


def load_space(benchmark):
    """(accuracy, our model's F746 latency ms) and (accuracy, MicroNAS table ms) of every cell of
    the benchmark, and our model's latency by NB201 index."""
    import micronas  # the project's Python package (pip install .)

    with open(benchmark) as f:
        rows = list(csv.DictReader(f))
    latency = {row["index"]: micronas.mcu_estimate(row["arch"], target="stm32f746")["latency_ms"]
               for row in rows}
    model = [(float(row["cifar10_test"]), latency[row["index"]]) for row in rows]
    return model, [(float(row["cifar10_test"]), table_ms(row["arch"])) for row in rows], latency


def pareto_front(points):
    """Non-dominated (accuracy, latency) points, latency ascending, accuracy strictly rising."""
    front = []
    for a, l in sorted(points, key=lambda p: (p[1], -p[0])):
        if not front or a > front[-1][0]:
            front.append((a, l))
    return front


def front_accuracy_at(front, latency):
    """The best accuracy of any cell at most `latency` ms slow (None if none is that fast)."""
    i = bisect.bisect_right([l for _, l in front], latency)
    return front[i - 1][0] if i else None


def mean_sd(values, digits=2):
    if len(values) < 2:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def svg_plot(space, front, found, title):
    """Every cell as a grey dot, the front as a line, the cells found per setting as markers."""
    w, h, left, right, top, bottom = 860, 560, 70, 200, 40, 50
    lat_max = max(l for _, l in space) * 1.02
    acc_lo = 80.0
    acc_hi = max(a for a, _ in space) + 0.5

    def x(l):
        return left + (w - left - right) * l / lat_max

    def y(a):
        return top + (h - top - bottom) * (acc_hi - max(a, acc_lo)) / (acc_hi - acc_lo)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="14">{title}</text>']
    for a, l in space:
        out.append(f'<circle cx="{x(l):.1f}" cy="{y(a):.1f}" r="1.2" fill="#c8c8c8"/>')
    path = " ".join(f"{x(l):.1f},{y(a):.1f}" for a, l in front)
    out.append(f'<polyline points="{path}" fill="none" stroke="black" stroke-width="1.5"/>')
    for k, (label, cells) in enumerate(found):
        colour = COLOURS[k % len(COLOURS)]
        for a, l in cells:
            out.append(f'<circle class="found" cx="{x(l):.1f}" cy="{y(a):.1f}" r="4" '
                       f'fill="none" stroke="{colour}" stroke-width="1.8"/>')
        ly = top + 20 * k + 10
        out.append(f'<circle cx="{w - right + 20}" cy="{ly}" r="4" fill="none" '
                   f'stroke="{colour}" stroke-width="1.8"/>')
        out.append(f'<text x="{w - right + 30}" y="{ly + 4}">{label}</text>')
    ly = top + 20 * len(found) + 10
    out.append(f'<line x1="{w - right + 14}" y1="{ly}" x2="{w - right + 26}" y2="{ly}" '
               f'stroke="black" stroke-width="1.5"/>')
    out.append(f'<text x="{w - right + 30}" y="{ly + 4}">true front</text>')
    x0, y0, x1, y1 = left, h - bottom, w - right, top
    out.append(f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="black"/>')
    out.append(f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="black"/>')
    for t in range(0, int(lat_max) + 1, 250):
        out.append(f'<text x="{x(t):.1f}" y="{y0 + 16}" text-anchor="middle">{t}</text>')
    for t in range(int(acc_lo), int(acc_hi) + 1, 2):
        out.append(f'<text x="{x0 - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{t}</text>')
    out.append(f'<text x="{(x0 + x1) / 2}" y="{h - 12}" text-anchor="middle">'
               f'modeled STM32F746 latency (ms)</text>')
    out.append(f'<text transform="translate(18,{(y0 + y1) / 2}) rotate(-90)" '
               f'text-anchor="middle">NB201 CIFAR-10 test accuracy (%)</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--micronas", default="build/micronas")
    p.add_argument("--cifar", required=True)
    p.add_argument("--benchmark", required=True)
    p.add_argument("--runs", required=True)
    p.add_argument("--seeds", default="0-4")
    p.add_argument("--svg", help="write the plot here")
    p.add_argument("--base", nargs="*", default=[],
                   help="OPTION=VALUE ...: options of every search (e.g. init=kaiming)")
    a = p.parse_args()
    os.makedirs(a.runs, exist_ok=True)
    base_options = dict(b.split("=", 1) for b in a.base)
    prefix = "".join(f"{o}={v}+" for o, v in sorted(base_options.items()))
    space, table_space, model_ms = load_space(a.benchmark)
    front, table_front = pareto_front(space), pareto_front(table_space)

    results, table_results = [], []
    for label, options in SETTINGS:
        options = dict(base_options, **options)
        args = ["--data", f"cifar10:{a.cifar}", "--benchmark", a.benchmark]
        args += [arg for o, v in sorted(options.items()) for arg in (f"--{o}", v)]
        name = prefix + ("+".join(f"{o}={v}" for o, v in sorted(options.items())
                                  if o not in base_options) or "reference")
        runs = [run(a.micronas, os.path.join(a.runs, f"{name}.seed{seed}.json"),
                    args + ["--seed", str(seed)]) for seed in seeds_from(a.seeds)]
        # Our model's latency of the cell found, whichever latency the search itself weighed
        # (a --latency-table micronas search reports the table's milliseconds).
        results.append((label, [(r["benchmark"]["cifar10_test"],
                                 model_ms[str(r["benchmark"]["index"])]) for r in runs]))
        table_results.append([table_ms(r["arch"]) for r in runs])

    ref_acc = statistics.mean(c[0] for c in results[0][1])
    ref_lat = statistics.mean(c[1] for c in results[0][1])
    ref_table = statistics.mean(table_results[0])
    print("| setting | CIFAR-10 % | F746 latency ms | speed-up vs λ=0 | Δ accuracy | "
          "below the front (points) | MicroNAS table ms | its speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    for (label, cells), table in zip(results, table_results):
        accs = [c[0] for c in cells]
        lats = [c[1] for c in cells]
        gaps = [front_accuracy_at(front, l) - acc for acc, l in cells]
        print(f"| {label} | {mean_sd(accs)} | {mean_sd(lats, 0)} | "
              f"{ref_lat / statistics.mean(lats):.2f}× | {statistics.mean(accs) - ref_acc:+.2f} | "
              f"{mean_sd(gaps)} | {mean_sd(table, 1)} | {ref_table / statistics.mean(table):.2f}× |")
    for name, lat, front_of, unit in [("our F746 model", ref_lat, front, "ms"),
                                      ("the MicroNAS constant table", ref_table, table_front,
                                       "table ms")]:
        target = lat / 3.2
        best = front_accuracy_at(front_of, target)
        print(f"\nIn {name}: λ = 0 mean {ref_acc:.2f} % at {lat:.1f} {unit}; the best cell of the "
              f"whole space at ≤ {target:.1f} {unit} (3.2× faster): {best:.2f} % "
              f"({best - ref_acc:+.2f} points).")
    if a.svg:
        with open(a.svg, "w") as f:
            f.write(svg_plot(space, front, results,
                             f"Cells found vs the true front ({len(space)} cells)"))
        print(f"wrote {a.svg}")


if __name__ == "__main__":
    main()
