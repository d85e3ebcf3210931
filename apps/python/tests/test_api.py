"""The Python package against the command-line program and its own contract: the same numbers
as the CLI's JSON for the same options, the caller's own inputs and parameters, errors as
Python exceptions, the GIL released, and Ctrl-C stopping a call without leaving a thread."""

import _thread
import json
import signal
import threading
import time

import numpy as np
import pytest

import micronas

CELL = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
        "nor_conv_3x3~2|")
# A small supernet state: one round of pruning, so the search is quick.
SMALL_STATE = ("|nor_conv_3x3/skip_connect~0|+|nor_conv_1x1/avg_pool_3x3~0|nor_conv_3x3~1|+|"
               "skip_connect~0|nor_conv_3x3/avg_pool_3x3~1|nor_conv_1x1~2|")
QUICK = dict(batch=8, repeat=2, seed=3)


def without_seconds(value):
    """The JSON with every timing removed (timings differ between runs)."""
    if isinstance(value, dict):
        return {k: without_seconds(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [without_seconds(v) for v in value]
    return value


def test_version_and_devices():
    assert micronas.__version__ == micronas.version()
    d = micronas.devices()
    assert d["auto"] in ("cpu", "cuda")
    assert isinstance(d["cuda_devices"], list)


def test_score_equals_the_cli_json(cli):
    ours = micronas.score(CELL, **QUICK)
    theirs = json.loads(cli("score", CELL, "--batch", "8", "--repeat", "2", "--seed", "3",
                            "--json"))
    assert without_seconds(ours) == without_seconds(theirs)
    assert ours["ntk_valid"] and ours["ntk_condition"] > 1 and ours["linear_regions"] > 1


def test_score_by_benchmark_index(nb201_table):
    table = micronas.Benchmark(nb201_table)
    assert table.index(CELL) == 9930
    assert table.arch(9930) == CELL
    assert abs(table.row(9930)["cifar10_test"] - 94.363333) < 1e-6
    assert micronas.score(9930, benchmark=table, **QUICK)["arch"] == CELL


def test_search_equals_the_cli_json(cli):
    ours = micronas.search(start=SMALL_STATE, batch=8, repeat=1, seed=2)
    theirs = json.loads(cli("search", "--start", SMALL_STATE, "--batch", "8", "--repeat", "1",
                            "--seed", "2", "--json", "--quiet", "--no-progress"))
    assert ours["arch"] == theirs["arch"]
    assert without_seconds(ours["rounds"]) == without_seconds(theirs["rounds"])
    assert ours["mcu"]["latency_ms"] == theirs["mcu"]["latency_ms"]


def test_search_progress_and_infeasible_limits():
    seen = []
    micronas.search(start=SMALL_STATE, batch=8, repeat=1,
                    progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1]
    with pytest.raises(micronas.InfeasibleError, match="latency"):
        micronas.search(max_latency_ms=0.001)
    with pytest.raises(micronas.CancelledError):
        micronas.search(start=SMALL_STATE, batch=8, repeat=1, progress=lambda d, t: True)


def test_random_search_and_mcu_equal_the_cli(cli):
    ours = micronas.random_search(samples=3, batch=8, repeat=1, max_latency_ms=600)
    theirs = json.loads(cli("random-search", "--samples", "3", "--batch", "8", "--repeat", "1",
                            "--max-latency-ms", "600", "--json", "--no-progress"))
    assert ours["arch"] == theirs["arch"]
    assert [c["ntk_condition"] for c in ours["cells"]] == \
        [c["ntk_condition"] for c in theirs["cells"]]
    assert all(c["mcu"]["latency_ms"] <= 600 for c in ours["cells"])
    est = micronas.mcu_estimate(CELL, target="stm32f746")
    cli_est = json.loads(cli("mcu", CELL, "--target", "stm32f746", "--json"))
    for key in ("latency_ms", "peak_sram_kb", "flash_kb", "cycles", "macs"):
        assert est[key] == cli_est[key], key


def test_sweep_rows_equal_the_cli_csv(cli, tmp_path):
    cells = [CELL, SMALL_STATE.replace("/skip_connect", "").replace("/avg_pool_3x3", "")]
    table = micronas.sweep(cells, batch=8, repeat=1, seed=5)
    assert table.dtype == micronas.SWEEP_DTYPE and len(table) == 2
    archs = tmp_path / "cells.txt"
    archs.write_text("\n".join(cells) + "\n")
    out = tmp_path / "rows.csv"
    cli("sweep", "--archs", str(archs), "--batch", "8", "--repeat", "1", "--seed", "5",
        "--out", str(out), "--no-progress")
    lines = out.read_text().splitlines()
    header = lines[0].split(",")
    for line, row in zip(lines[1:], table):
        fields = dict(zip(header, line.split(",")))
        assert fields["arch"] == row["arch"]
        assert float(fields["ntk_condition"]) == row["ntk_condition"]
        assert float(fields["linear_regions"]) == row["linear_regions"]
        assert float(fields["latency_ms"]) == row["latency_ms"]


def test_dumped_parameters_give_the_same_kappa(cli, tmp_path):
    cli("score", CELL, "--batch", "8", "--repeat", "1", "--seed", "4", "--dump", str(tmp_path))
    params = micronas.load_state_dict(tmp_path / "ntk_params")
    inputs = np.load(tmp_path / "ntk_inputs.npy")
    want = json.loads((tmp_path / "result.json").read_text())["per_repeat"][0]
    got = micronas.ntk_condition(CELL, inputs, params)
    assert got["ntk_condition"] == want["ntk_condition"]
    assert got["lambda_min"] == want["lambda_min"]
    np.testing.assert_array_equal(got["eigenvalues"], np.load(tmp_path / "eigenvalues.npy"))
    lr_params = micronas.load_state_dict(tmp_path / "lr_params")
    lr_inputs = np.load(tmp_path / "lr_inputs.npy")[:1000]  # the first batch
    regions = micronas.linear_regions(CELL, lr_inputs, lr_params)
    assert 1 < regions <= 1000


def test_own_inputs_without_parameters_are_deterministic():
    x = np.random.default_rng(0).standard_normal((10, 3, 32, 32)).astype(np.float32)
    a = micronas.ntk_condition(CELL, x, seed=7)
    b = micronas.ntk_condition(CELL, x, seed=7)
    assert a == b and a["ntk_valid"] and len(a["eigenvalues"]) == 10


def test_bad_inputs_raise_the_right_exceptions(tmp_path):
    with pytest.raises(ValueError, match="bogus"):
        micronas.score("|bogus~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    with pytest.raises(ValueError, match="batchh"):
        micronas.search(batchh=8)
    with pytest.raises(ValueError, match="batch"):
        micronas.score(CELL, batch=1)
    with pytest.raises(OSError, match="nonexistent"):
        micronas.Benchmark(tmp_path / "nonexistent.csv")
    with pytest.raises(OSError):
        micronas.score(CELL, data=f"cifar10:{tmp_path}/missing.bin", batch=8, repeat=1)
    x = np.zeros((4, 3, 32, 32), np.float32)
    x[2, 1, 5, 5] = np.nan
    with pytest.raises(micronas.NumericalError, match="sample 2"):
        micronas.ntk_condition(CELL, x)
    with pytest.raises(ValueError, match=r"\[N >= 2, 3, 32, 32\]"):
        micronas.ntk_condition(CELL, np.zeros((4, 3, 16, 16), np.float32))
    with pytest.raises(ValueError, match="no parameter 'cells.0.bogus'"):
        micronas.ntk_condition(CELL, np.ones((4, 3, 32, 32), np.float32),
                               {"cells.0.bogus": np.zeros(3, np.float32)})
    with pytest.raises(ValueError):
        micronas.Context("gpu")
    if not micronas.devices()["cuda_devices"]:
        with pytest.raises(micronas.UnsupportedError):
            micronas.Context("cuda")


def test_own_inputs_without_parameters_draw_the_parameters_score_draws(cli, tmp_path):
    # The same seed gives the parameters `micronas score --seed` draws for its first repeat.
    cli("score", CELL, "--batch", "8", "--repeat", "1", "--seed", "7", "--dump", str(tmp_path))
    inputs = np.load(tmp_path / "ntk_inputs.npy")
    dumped = micronas.ntk_condition(CELL, inputs, micronas.load_state_dict(tmp_path / "ntk_params"))
    assert micronas.ntk_condition(CELL, inputs, seed=7) == dumped
    lr_inputs = np.load(tmp_path / "lr_inputs.npy")[:1000]
    assert micronas.linear_regions(CELL, lr_inputs, seed=7) == micronas.linear_regions(
        CELL, lr_inputs, micronas.load_state_dict(tmp_path / "lr_params"))


def test_parameters_of_the_wrong_shape_are_refused(cli, tmp_path):
    cli("score", CELL, "--batch", "8", "--repeat", "1", "--dump", str(tmp_path))
    params = micronas.load_state_dict(tmp_path / "ntk_params")
    inputs = np.load(tmp_path / "ntk_inputs.npy")
    name = "stem.0.weight"
    transposed = dict(params, **{name: params[name].transpose(0, 1, 3, 2)})
    micronas.ntk_condition(CELL, inputs, transposed)  # same shape: a layout no check can see
    flat = dict(params, **{name: params[name].reshape(params[name].shape[0], -1)})
    with pytest.raises(ValueError,
                       match=r"'stem.0.weight' has shape \(\d+, 27\), the network needs "
                             r"\(\d+, 3, 3, 3\)"):
        micronas.ntk_condition(CELL, inputs, flat)


def test_arguments_that_c_would_cut_or_wrap_are_refused(nb201_table):
    with pytest.raises(ValueError, match="NUL"):
        micronas.canonical_arch(CELL + "\x00junk")
    with pytest.raises(ValueError, match="NUL"):
        micronas.score(CELL + "\x00junk", batch=8, repeat=1)
    with pytest.raises(ValueError, match="NUL"):
        micronas.mcu_estimate(CELL, target="stm32f746\x00junk")
    with pytest.raises(ValueError, match="threads"):
        micronas.Context("cpu", threads=2**32 + 1)
    with pytest.raises(ValueError, match="threads"):
        micronas.Context("cpu", threads=100000)
    with pytest.raises(ValueError, match="'batch'"):
        micronas.score(CELL, batch=2**32 + 4, repeat=1)
    with pytest.raises(ValueError, match="batch"):
        micronas.score(CELL, batch=50000, repeat=1)
    with pytest.raises(ValueError, match="index"):
        micronas.Benchmark(nb201_table).arch(2**64 + 1)
    with pytest.raises(TypeError):
        micronas.canonical_arch(None)
    with pytest.raises(TypeError):
        micronas.Benchmark(None)
    with pytest.raises(TypeError, match="one string"):
        micronas.sweep(CELL)
    with pytest.raises(TypeError):
        micronas.ntk_condition(CELL, None)
    with pytest.raises(ValueError, match="finite"):
        micronas.search(max_sram_kb=float("inf"))
    with pytest.raises(TypeError, match="callable"):
        micronas.search(progress=5)


def test_numpy_scalars_are_plain_options():
    a = micronas.mcu_estimate(CELL, clock_mhz=np.float32(216.0))
    assert a == micronas.mcu_estimate(CELL, clock_mhz=216.0)
    numpy_options = micronas.score(CELL, batch=np.int64(8), repeat=1, seed=np.uint64(3))
    assert without_seconds(numpy_options) == without_seconds(
        micronas.score(CELL, batch=8, repeat=1, seed=3))


def test_a_progress_callbacks_own_exception_is_raised():
    class Stop(Exception):
        pass

    def progress(done, total):
        raise Stop(f"{done} of {total}")

    with pytest.raises(Stop, match="of"):
        micronas.search(progress=progress, start=SMALL_STATE, **QUICK)


def test_a_contexts_thread_count_stays_its_own():
    default = micronas.Context("cpu")
    micronas.Context("cpu", threads=1)
    assert default.describe() == micronas.Context("cpu").describe()
    assert micronas.score(CELL, batch=8, repeat=1, context=default)["threads"] == \
        micronas.devices()["cpu"]["threads"]
    one = micronas.Context("cpu", threads=1)
    assert micronas.score(CELL, batch=8, repeat=1, context=one)["threads"] == 1


def test_threads_calling_without_a_context_do_not_share_one():
    from micronas import _api

    seen = []
    worker = threading.Thread(target=lambda: seen.append(_api._context(None)))
    worker.start()
    worker.join()
    assert seen[0] is not _api._context(None)
    assert _api._context(None) is _api._context(None)


def test_the_gil_is_released_while_computing():
    ticks = 0
    worker = threading.Thread(target=micronas.score, args=(CELL,),
                              kwargs=dict(batch=32, repeat=3))
    start = time.monotonic()
    worker.start()
    while worker.is_alive():
        ticks += 1
        time.sleep(0.001)
    worker.join()
    elapsed_ms = (time.monotonic() - start) * 1000
    # With the GIL held by the call, this thread would run once or twice in all that time; with
    # it released it wakes about once a millisecond (a fifth of that allows for a busy machine).
    assert elapsed_ms > 100, "the call was too short to tell"
    assert ticks > 0.2 * elapsed_ms, (ticks, elapsed_ms)


def test_ctrl_c_stops_a_long_call_and_leaves_no_thread():
    # A shell starts background jobs with SIGINT ignored, and then Python raises nothing on it:
    # Python's own handler for the test's duration.
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    before = set(threading.enumerate())
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            micronas.search(batch=72, repeat=3)  # minutes if not interrupted
    finally:
        timer.join()
        signal.signal(signal.SIGINT, handler)
    assert time.monotonic() - start < 2.5
    assert [t for t in threading.enumerate() if t.is_alive() and t not in before] == []
    # The context is usable again afterwards.
    assert micronas.score(CELL, batch=8, repeat=1)["ntk_valid"]
