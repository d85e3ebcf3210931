#!/usr/bin/env python3
"""Search-quality factor study: `micronas search` on real CIFAR-10 inputs over several seeds
for each setting of one factor at a time (the others at the defaults), reporting the NB201
test accuracy of the cells found on CIFAR-10, CIFAR-100 and ImageNet16-120 (mean ± sd).

Every search's JSON is kept in --runs (one file per setting and seed), so an interrupted study
resumes where it stopped and the table can be rebuilt from the files.

    build/venv/bin/python bench/search_factors.py --cifar ../shared/data/cifar/cifar10_test_first846.bin \\
        --benchmark ../shared/data/nb201/nb201.csv --runs /tmp/factor-runs \\
        --factors init=released,kaiming batches=shared,per-candidate --seeds 0-4

--base OPTION=VALUE ... sets options for every search of the study (a combination of factors
found before), and each factor then varies one option on top of it.
"""
import argparse
import os
import statistics

from search_goals import run  # one search, its JSON kept and reused when present

DATASETS = ["cifar10_test", "cifar100_test", "imagenet16_test"]


def seeds_from(text):
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def mean_sd(values):
    if len(values) < 2:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--micronas", default="build/micronas")
    p.add_argument("--cifar", required=True)
    p.add_argument("--benchmark", required=True)
    p.add_argument("--runs", required=True)
    p.add_argument("--seeds", default="0-4")
    p.add_argument("--base", nargs="*", default=[],
                   help="OPTION=VALUE ...: options of every search, each factor varied on top")
    p.add_argument("--factors", nargs="+", required=True,
                   help="OPTION=VALUE,VALUE ...: each a micronas search option without '--'")
    a = p.parse_args()
    os.makedirs(a.runs, exist_ok=True)
    base = ["--data", f"cifar10:{a.cifar}", "--benchmark", a.benchmark]
    base_options = dict(b.split("=", 1) for b in a.base)
    # Runs of a combination are named after it, so that they never mix with one-factor runs.
    prefix = "".join(f"{o}={v}+" for o, v in sorted(base_options.items()))
    print("| setting | seeds | " + " | ".join(DATASETS) + " | cells found |")
    print("|---|---|" + "---|" * len(DATASETS) + "---|")
    for factor in a.factors:
        option, values = factor.split("=")
        for value in values.split(","):
            options = dict(base_options, **{option: value})
            args = [arg for o, v in sorted(options.items()) for arg in (f"--{o}", v)]
            results = []
            for seed in seeds_from(a.seeds):
                out = os.path.join(a.runs, f"{prefix}{option}={value}.seed{seed}.json")
                results.append(run(a.micronas, out, base + args + ["--seed", str(seed)]))
            accs = {d: [r["benchmark"][d] for r in results] for d in DATASETS}
            cells = ", ".join(f"#{r['benchmark']['index']}" for r in results)
            setting = " ".join(f"--{o} {v}" for o, v in sorted(options.items()))
            print(f"| {setting} | {len(results)} | " +
                  " | ".join(mean_sd(accs[d]) for d in DATASETS) + f" | {cells} |", flush=True)


if __name__ == "__main__":
    main()
