#!/usr/bin/env python3
"""Golden data for the pruning search's ranking (tests/test_ranking.cpp).

An independent Python statement of TE-NAS's candidate ranking (prune_func_rank): per-repeat
deltas rounded with round(), a stable sort keyed on round_to(x, 3) (3 significant figures),
dense ranks shared when the raw values are equal, and the rank sum (TE-NAS) or the weighted
average with FLOPs and latency ranks (zero-shot MicroNAS). Writes tests/golden/ranking.json.

    python3 tests/scripts/make_ranking_golden.py
"""
import json
import math
import os
import random


def round_to(number, precision, eps=1e-8):
    """TE-NAS's significant-figure rounding, as published."""
    if number == 0:
        return number
    sign = number / abs(number)
    number = abs(number) + eps
    power = math.floor(math.log(number, 10)) + 1
    return sign * round(number * 10 ** (-power), precision) * 10 ** power


def dense_ranks(items, descending):
    """items: list of (value, key). Returns {key: rank} and the sorted keys."""
    ordered = sorted(items, key=lambda t: round_to(t[0], 3), reverse=descending)
    ranks = {}
    for i, (value, key) in enumerate(ordered):
        if i == 0:
            ranks[key] = 0
        elif value == ordered[i - 1][0]:
            ranks[key] = ranks[ordered[i - 1][1]]
        else:
            ranks[key] = ranks[ordered[i - 1][1]] + 1
    return ranks, [k for _, k in ordered]


def rank(candidates, flops_weight, latency_weight):
    keys = list(range(len(candidates)))
    r_ntk, ntk_order = dense_ranks([(c[0], k) for c, k in zip(candidates, keys)], True)
    r_reg, _ = dense_ranks([(c[1], k) for c, k in zip(candidates, keys)], False)
    r_flops, _ = dense_ranks([(c[2], k) for c, k in zip(candidates, keys)], True)
    r_lat, _ = dense_ranks([(c[3], k) for c, k in zip(candidates, keys)], True)
    w = (1 - flops_weight - latency_weight) / 2
    tenas = flops_weight == 0 and latency_weight == 0

    def score(k):
        if tenas:
            return r_ntk[k] + r_reg[k]
        return w * r_ntk[k] + w * r_reg[k] + flops_weight * r_flops[k] + latency_weight * r_lat[k]

    # The rankings dict of TE-NAS is filled in Δκ order; Python's sort is stable.
    final = sorted(ntk_order, key=score)
    order = [0] * len(candidates)
    for position, k in enumerate(final):
        order[k] = position
    return [[r_ntk[k], r_reg[k], r_flops[k], r_lat[k]] for k in keys], [score(k) for k in keys], order


def main():
    rng = random.Random(201)
    cases = []
    for case in range(60):
        n = rng.choice([2, 3, 6, 12, 18, 24])
        # Few distinct values so that ties, shared ranks and 3-figure key ties all occur.
        pool = [round(rng.uniform(-0.5, 0.5), rng.choice([1, 2, 3, 5])) for _ in range(rng.randint(2, 8))]
        pool += [0.0, 1e-9, -1e-9, 0.1234, 0.12341, 0.1235]
        cands = [[rng.choice(pool) for _ in range(4)] for _ in range(n)]
        weights = rng.choice([(0.0, 0.0), (0.0, 0.3), (0.0, 0.5), (0.0, 0.7), (0.2, 0.3), (0.5, 0.0), (0.0, 1.0)])
        ranks, scores, order = rank(cands, *weights)
        cases.append({"candidates": cands, "flops_weight": weights[0], "latency_weight": weights[1],
                      "ranks": ranks, "scores": scores, "order": order})
    rounding = []
    for _ in range(400):
        x = rng.choice([rng.uniform(-2, 2), rng.uniform(-1e-3, 1e-3), rng.randint(-2000, 2000) / 1000 + 0.0005,
                        rng.randint(-100, 100) / 8, rng.uniform(-1e6, 1e6)])
        digits = rng.choice([0, 1, 2, 3, 5])
        rounding.append({"x": x, "digits": digits, "round": round(x, digits),
                         "round_to3": round_to(x, 3)})
    out = os.path.join(os.path.dirname(__file__), "..", "golden", "ranking.json")
    with open(out, "w") as f:
        json.dump({"cases": cases, "rounding": rounding}, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
