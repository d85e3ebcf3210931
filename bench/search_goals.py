#!/usr/bin/env python3
"""Measures the pruning search's recorded goals (bench/README.md, "Search").

Runs `micronas search` on CIFAR-10 for several seeds with real CIFAR inputs and with synthetic
inputs, and the latency-guided search for several λ; each run's JSON is kept in --runs so an
interrupted measurement resumes where it stopped. Prints Markdown tables: NB201 test accuracy
of the cells found (mean ± std over seeds), modeled STM32F746 latency, wall time, and the
PyTorch time for the same number of NTK evaluations (extrapolated from a measured per-evaluation
time, e.g. from compare_ntk_pytorch.py).

    /usr/bin/python3 bench/search_goals.py --cifar ../shared/data/cifar/cifar10_test_first846.bin \
        --benchmark ../shared/data/nb201/nb201.csv --runs /tmp/search-runs --threads 2
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


def run(micronas, out, args):
    if os.path.exists(out):
        with open(out) as f:
            return json.load(f)
    tmp = out + ".partial"
    if os.path.exists(tmp):  # left by an interrupted run; `search --out` never overwrites
        os.remove(tmp)
    cmd = [micronas, "search", "--quiet", "--no-progress", "--out", tmp] + args
    print("running:", " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    os.replace(tmp, out)  # only whole results count as done
    with open(out) as f:
        return json.load(f)


def mean_std(values):
    if len(values) < 2:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--micronas", default="build/micronas")
    p.add_argument("--cifar", required=True, help="CIFAR-10 binary file for real inputs")
    p.add_argument("--benchmark", required=True, help="nb201.csv")
    p.add_argument("--runs", required=True, help="folder for per-run JSON (resumable)")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--lambdas", default="0,0.3,0.5,0.7")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--pytorch-ntk-seconds", type=float, default=4.20,
                   help="PyTorch seconds per round-1 supernet NTK evaluation (compare_ntk_pytorch.py)")
    a = p.parse_args()
    os.makedirs(a.runs, exist_ok=True)
    common = ["--benchmark", a.benchmark, "--threads", str(a.threads)]

    print("| inputs | seeds | CIFAR-10 test acc. of found cells | CIFAR-100 | ImageNet16-120 | F746 latency (ms) | wall s / search | NTK evals |")
    print("|---|---|---|---|---|---|---|---|")
    quality = {}
    for name, data in [("real CIFAR-10", "cifar10:" + a.cifar), ("synthetic", "synthetic")]:
        results = [run(a.micronas, os.path.join(a.runs, f"{name.split()[0]}-seed{s}.json"),
                       common + ["--data", data, "--seed", str(s)]) for s in range(a.seeds)]
        quality[name] = results
        acc = lambda key: [r["benchmark"][key] for r in results]
        print(f"| {name} | {a.seeds} | {mean_std(acc('cifar10_test'))} | {mean_std(acc('cifar100_test'))} | "
              f"{mean_std(acc('imagenet16_test'))} | {mean_std([r['mcu']['latency_ms'] for r in results])} | "
              f"{statistics.mean(r['seconds'] for r in results):.0f} | {results[0]['ntk_evaluations']} |")
    print()
    for name, results in quality.items():
        print(f"{name} cells: " + ", ".join(f"seed {r['options']['seed']}: #{r['benchmark']['index']} "
                                           f"{r['benchmark']['cifar10_test']:.2f}" for r in results))
    print()

    print("| λ (latency weight) | cell | CIFAR-10 test | F746 latency (ms) | peak SRAM (KiB) | flash (KiB) | speed-up vs λ=0 |")
    print("|---|---|---|---|---|---|---|")
    base = None
    for lam in [float(x) for x in a.lambdas.split(",")]:
        name = "real-seed0.json" if lam == 0 else f"real-seed0-lambda{lam}.json"
        r = run(a.micronas, os.path.join(a.runs, name),
                common + ["--data", "cifar10:" + a.cifar, "--seed", "0", "--latency-weight", str(lam)])
        base = base or r["mcu"]["latency_ms"]
        print(f"| {lam} | #{r['benchmark']['index']} | {r['benchmark']['cifar10_test']:.2f} | {r['mcu']['latency_ms']:.1f} | "
              f"{r['mcu']['peak_sram_kb']:.1f} | {r['mcu']['flash_kb']:.1f} | {base / r['mcu']['latency_ms']:.2f}× |")
    print()

    runs = quality["real CIFAR-10"]
    wall = statistics.mean(r["seconds"] for r in runs)
    evals = runs[0]["ntk_evaluations"]
    # Candidates are smaller than the round-1 supernet: charging every evaluation at the
    # round-1 supernet's PyTorch time overstates PyTorch's total a little; scale by our own
    # per-evaluation ratio instead (our search time / (evals × our round-1 time)) if needed.
    torch_total = evals * a.pytorch_ntk_seconds
    print(f"Search wall time: {wall:.0f} s for {evals} NTK evaluations ({runs[0]['lr_evaluations']} "
          f"linear-region evaluations); PyTorch at {a.pytorch_ntk_seconds} s per supernet NTK evaluation: "
          f"≤ {torch_total:.0f} s, ratio ≤ {torch_total / wall:.1f}×.")


if __name__ == "__main__":
    main()
