"""The examples run as users run them (with small settings, to stay quick)."""

import importlib.util
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rank_nb201_gives_kendall_taus(nb201_table):
    example = load("rank_nb201")
    taus = example.main([str(nb201_table), "--cells", "200", "--batch", "8", "--repeat", "1"])
    assert set(taus) == {"ntk (-kappa)", "linear regions", "flops", "-latency"}
    assert all(-1 <= t <= 1 for t in taus.values())
    assert taus["flops"] > 0.3  # FLOPs is a known strong baseline on NB201 (rho ~0.75)


def test_kendall_tau_b_matches_a_hand_computed_case():
    example = load("rank_nb201")
    # pairs: (1,2)+ (1,3)+ (2,3)- with a tie in y for (1,3)? y = [1, 2, 2]
    tau = example.kendall_tau_b([1, 2, 3], [1, 2, 2])
    # concordant 2, discordant 0, ties in y 1: tau_b = 2 / sqrt(3 * 2)
    assert abs(tau - 2 / 6 ** 0.5) < 1e-12


def test_naslib_op_indices_map_to_nb201_strings(data_dir):
    import csv

    import pytest

    path = data_dir / "nb201" / "nb201_zc_naslib_subset.csv"
    if not path.exists():
        pytest.skip(f"reference data not found: {path}")
    example = load("naslib_zero_cost")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) > 700
    for row in rows:
        indices = tuple(int(v) for v in row["naslib_op_indices"].strip("()").split(","))
        assert example.nb201_string(indices) == row["arch"], row["index"]


def test_naslib_predictor_scores_cells():
    example = load("naslib_zero_cost")
    assert example.nb201_string((2, 2, 0, 2, 2, 2)) == (
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
        "nor_conv_3x3~2|")
    scores = example.main(batch=8, repeat=1)
    assert len(scores) == 2
