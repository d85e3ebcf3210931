"""Ranks NB201 cells by MicroNAS's zero-cost proxies and reports how well each proxy orders them
by the benchmark's CIFAR-10 test accuracy (Kendall's tau-b).

    python rank_nb201.py ../shared/data/nb201/nb201.csv --cells 200
"""

import argparse

import numpy as np

import micronas


def kendall_tau_b(x, y):
    """Kendall's tau-b (ties counted in both variables), O(n^2): fine for a few hundred cells."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    upper = np.triu_indices(len(x), k=1)
    dx, dy = dx[upper], dy[upper]
    concordance = np.sum(dx * dy)
    return concordance / np.sqrt(np.sum(dx != 0) * np.sum(dy != 0))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmark", help="NB201 table (nb201.csv)")
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=72)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", default="cpu")
    args = parser.parse_args(argv)

    table = micronas.Benchmark(args.benchmark)
    rng = np.random.default_rng(args.seed)
    indices = rng.choice(15625, size=args.cells, replace=False)
    cells = [table.arch(int(i)) for i in indices]
    accuracy = np.array([table.row(c)["cifar10_test"] for c in cells])
    with micronas.Context(args.backend) as context:
        rows = micronas.sweep(cells, batch=args.batch, repeat=args.repeat, seed=args.seed,
                              context=context)
    # Each proxy oriented so that higher predicts better.
    proxies = {
        "ntk (-kappa)": -rows["ntk_condition"],
        "linear regions": rows["linear_regions"],
        "flops": rows["flops_m"],
        "-latency": -rows["latency_ms"],
    }
    taus = {name: kendall_tau_b(score, accuracy) for name, score in proxies.items()}
    for name, tau in taus.items():
        print(f"{name:16s} Kendall tau = {tau:+.3f}")
    return taus


if __name__ == "__main__":
    main()
