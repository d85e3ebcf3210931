#!/usr/bin/env python3
"""Measures `micronas ts-search` under hard limits: every method × limit × seed.

For each limit (e.g. `max-latency-ms=100`) and method (dnas, zero-shot, random, darts) runs
`micronas ts-search --method M --LIMIT V --seed S --retrain-epochs E --json` and keeps its JSON in
--runs (an interrupted measurement resumes where it stopped; only whole results count). With
--random-budget K it also runs random search with K times its networks ("random ×K", the
baseline the issue's goal compares with; its --max-draws is scaled alike). Prints, per limit, a
Markdown table: retrained test accuracy and macro-F1 (mean ± sd over seeds), the returned
networks' latency / peak SRAM / flash on the target, how many are within every limit, and search
wall time; then every run. With --retrain-seeds, every returned network is also trained from
scratch with `micronas ts-train` on the whole training set once per listed seed, and the mean
test accuracy over those retrains is reported too (one retrain on 40 test cases moves in steps
of 2.5 points; several average out the training noise that separates networks less than that).

    python3 bench/ts_search_grid.py --runs /tmp/ts-grid \\
        --data ts:../shared/data/timeseries/BasicMotions_TRAIN.ts,../shared/data/timeseries/BasicMotions_TEST.ts \\
        --limits max-latency-ms=100 max-latency-ms=50 max-sram-kb=11 --seeds 0-4 --random-budget 10
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


def seeds_from(text):
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def run(a, limit, method, seed, networks):
    option, value = limit.split("=")
    label = method if networks == a.random_networks else f"{method}x{networks // a.random_networks}"
    out = os.path.join(a.runs, f"{option}{value}.{label}.{seed}.json")
    if os.path.exists(out):
        with open(out) as f:
            return json.load(f)
    cmd = [a.micronas, "ts-search", "--method", method, f"--{option}", value, "--seed", str(seed),
           "--data", a.data, "--batch", str(a.batch), "--retrain-epochs", str(a.retrain_epochs),
           "--threads", str(a.threads), "--json", "--no-progress"] + a.extra
    if method != "zero-shot":  # it trains nothing during the search
        cmd += ["--epochs", str(a.epochs)]
    if method == "random":
        cmd += ["--random-networks", str(networks),
                "--max-draws", str(a.max_draws * networks // a.random_networks)]
    print("running:", " ".join(cmd), file=sys.stderr, flush=True)
    tmp = out + ".partial"
    with open(tmp, "w") as f, open(out[:-5] + ".log", "w") as log:
        status = subprocess.run(cmd, stdout=f, stderr=log).returncode
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} exited with {status} (see {out[:-5]}.log)")
    os.replace(tmp, out)
    with open(out) as f:
        return json.load(f)


def retrain(a, arch, seed):
    """Test accuracy of `arch` trained from scratch on the whole training set with `seed`."""
    name = arch.replace("|", "_").replace(":", "").replace("[", "(").replace("]", ")")
    out = os.path.join(a.runs, "retrain", f"{name}.{seed}.json")
    if not os.path.exists(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        cmd = [a.micronas, "ts-train", arch, "--data", a.data, "--epochs", str(a.retrain_epochs),
               "--batch", str(a.batch), "--seed", str(seed), "--threads", str(a.threads),
               "--json", "--no-progress"] + a.train_extra
        print("running:", " ".join(cmd), file=sys.stderr, flush=True)
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} exited with {result.returncode}: {result.stderr}")
        with open(out + ".partial", "w") as f:
            f.write(result.stdout)
        os.replace(out + ".partial", out)
    with open(out) as f:
        return json.load(f)["test"]["accuracy"]


def mean_sd(values, digits=2, scale=1.0):
    values = [v * scale for v in values]
    if len(values) < 2:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def span(values, digits=1):
    lo, hi = f"{min(values):.{digits}f}", f"{max(values):.{digits}f}"
    return lo if lo == hi else f"{lo}–{hi}"


def within(r):
    return not r["violations"]


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--micronas", default="build/micronas")
    p.add_argument("--data", required=True, help="--data of ts-search")
    p.add_argument("--runs", required=True, help="folder for per-run JSON (resumable)")
    p.add_argument("--limits", nargs="+", required=True,
                   help="OPTION=VALUE, e.g. max-latency-ms=100 max-sram-kb=11")
    p.add_argument("--methods", default="dnas,zero-shot,random,darts")
    p.add_argument("--seeds", default="0-4")
    p.add_argument("--random-budget", type=int, default=0,
                   help="also random search with this many times --random-networks (0: none)")
    p.add_argument("--random-budget-seeds", default="0")
    p.add_argument("--random-networks", type=int, default=10)
    p.add_argument("--max-draws", type=int, default=10000, help="random search's, at budget 1")
    p.add_argument("--retrain-seeds", default="",
                   help="also retrain every returned network with these ts-train seeds")
    p.add_argument("--train-extra", nargs="*", default=[], help="further ts-train options")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--retrain-epochs", type=int, default=60)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("extra", nargs="*", help="further ts-search options (after --)")
    a = p.parse_args()
    os.makedirs(a.runs, exist_ok=True)
    methods = a.methods.split(",")
    for limit in a.limits:
        rows = {}
        for method in methods:
            rows[method] = [run(a, limit, method, s, a.random_networks) for s in seeds_from(a.seeds)]
        if a.random_budget > 1:
            rows[f"random ×{a.random_budget}"] = [
                run(a, limit, "random", s, a.random_networks * a.random_budget)
                for s in seeds_from(a.random_budget_seeds)]
        retrain_seeds = seeds_from(a.retrain_seeds) if a.retrain_seeds else []
        retrained = {id(r): [retrain(a, r["arch"], s) for s in retrain_seeds]
                     for results in rows.values() for r in results}
        extra = f" test acc., {len(retrain_seeds)} retrains (%) |" if retrain_seeds else ""
        print(f"`--{limit.replace('=', ' ')}`:\n")
        print("| method | seeds | test acc. (%) | macro-F1 |" + extra + " latency (ms) | "
              "peak SRAM (KiB) | flash (KiB) | within the limits | search wall (s) |")
        print("|---|---|---|---|---|---|---|---|---|" + ("---|" if extra else ""))
        for method, results in rows.items():
            acc = [r["retrain"]["test"]["accuracy"] for r in results]
            f1 = [r["retrain"]["test"]["macro_f1"] for r in results]
            cost = lambda key: [r["cost"][key] for r in results]
            mean_retrains = [statistics.mean(retrained[id(r)]) for r in results if retrain_seeds]
            column = f" {mean_sd(mean_retrains, 1, 100)} |" if retrain_seeds else ""
            print(f"| {method} | {len(results)} | {mean_sd(acc, 1, 100)} | {mean_sd(f1, 3)} |"
                  f"{column} {span(cost('latency_ms'))} | {span(cost('peak_sram_kb'))} | "
                  f"{span(cost('flash_kb'))} | {sum(map(within, results))}/{len(results)} | "
                  f"{statistics.mean(r['search']['wall_s'] for r in results):.0f} |")
        print()
        extra = f" {len(retrain_seeds)} retrains |" if retrain_seeds else ""
        print("| method | seed | test acc. |" + extra + " latency | peak SRAM | over the limit | "
              "network |")
        print("|---|---|---|---|---|---|---|" + ("---|" if extra else ""))
        for method, results in rows.items():
            for r in results:
                over = ", ".join(f"**+{v['excess_percent']:.0f} %** ({v['limit']})"
                                 for v in r["violations"]) or "no"
                arch = r["arch"].replace("|", "\\|")
                column = (f" {100 * statistics.mean(retrained[id(r)]):.1f} % |"
                          if retrain_seeds else "")
                print(f"| {method} | {r['seed']} | {100 * r['retrain']['test']['accuracy']:.1f} % |"
                      f"{column} {r['cost']['latency_ms']:.1f} ms | {r['cost']['peak_sram_kb']:.1f} KiB | "
                      f"{over} | `{arch}` |")
        print()


if __name__ == "__main__":
    main()
