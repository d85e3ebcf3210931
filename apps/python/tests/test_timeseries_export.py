"""`micronas export --space timeseries`: time-series networks as int8 TFLite models, checked
against the real runtimes (TFLite's interpreter from PyPI `ai-edge-litert`, TFLite Micro's from
`tflite-micro` with its recording allocator), as test_tflite_export.py checks the NB201 export.

- Every model loads and runs in both; both give the same int8 outputs within one output step.
- The outputs, dequantised, agree with the training engine's float forward pass in inference
  mode (`--reference`) on real BasicMotions test windows with trained weights
  (`ts-train --save-weights`), and on synthetic windows with seeded random weights, within a
  bound derived from the quantisation scales (see _tolerance).
- On >= 20 sampled architectures (MICRONAS_TS_ARENA_ARCHS to change; MICRONAS_TS_ARENA_TABLE=path
  writes the comparison as a Markdown table): TFLite Micro's arena head (the planner's tensors;
  the host's reference kernels ask for no scratch) vs the cost model's plan of the same tensors
  (`ts-cost --json`: activation_plan_bytes), within 2 % or 256 bytes; the file size vs the
  model's flash for the model part (within 1 %).
"""

import json
import os
import random
from pathlib import Path

import numpy as np
import pytest

from runtimes import (buffer_lifetimes, load_litert, load_tflm, max_live, run_cli,
                      tflm_allocations)

SMALL = "tr:k5w8|tr:k5w16|sf:b16[3,5,7]w32r|sf:skip|sf:skip"  # bench/README.md's BasicMotions net
WINDOW, CLASSES = "100x6", "4"


def _basic_motions(data_dir: Path):
    train = data_dir / "timeseries" / "BasicMotions_TRAIN.ts"
    test = data_dir / "timeseries" / "BasicMotions_TEST.ts"
    if not (train.exists() and test.exists()):
        pytest.skip(f"reference data not found: {train}, {test} (set MICRONAS_DATA_DIR)")
    return f"ts:{train},{test}"


def _export(tmp: Path, arch: str, *args, name="model.tflite") -> Path:
    out = tmp / name
    run_cli("export", arch, "--space", "timeseries", "--window", WINDOW, "--classes", CLASSES,
         "--out", str(out), *args)
    return out


# ---------------------------------------------------------------- CLI behaviour (no runtimes)


def test_ts_export_never_overwrites_and_names_bad_input(tmp_path):
    out = _export(tmp_path, SMALL, "--calibration-samples", "2", "--c-array",
                  str(tmp_path / "model_data.cc"))
    data = out.read_bytes()
    assert data[4:8] == b"TFL3"
    assert f"g_model_len = {len(data)};" in (tmp_path / "model_data.cc").read_text()
    again = run_cli("export", SMALL, "--space", "timeseries", "--window", WINDOW, "--classes",
                 CLASSES, "--out", str(out), ok=False)
    assert again.returncode != 0 and str(out) in again.stderr
    assert again.stderr.count("\n") == 1 and again.stderr.startswith("micronas: error:")
    bad = run_cli("export", "tr:k4w8", "--space", "timeseries", "--window", WINDOW, "--classes",
               CLASSES, "--out", str(tmp_path / "b.tflite"), ok=False)
    assert bad.returncode != 0 and "tr:k4w8" in bad.stderr
    missing = run_cli("export", SMALL, "--space", "timeseries", "--window", WINDOW, "--classes",
                   CLASSES, "--weights", str(tmp_path / "nothing"), "--out",
                   str(tmp_path / "c.tflite"), ok=False)
    assert missing.returncode != 0 and str(tmp_path / "nothing") in missing.stderr
    assert not (tmp_path / "b.tflite").exists() and not (tmp_path / "c.tflite").exists()


# ---------------------------------------------------------------- against the runtimes


def _tolerance(out_scale: float, logit_scale: float, n_requant: int) -> float:
    """Bound on |dequantised int8 probability - float probability|.

    SOFTMAX rounds its output to s_out = 1/256 (<= s_out / 2). Its input, the MEAN's output of
    scale s_z, carries the network's requantisation noise: each requantising op rounds by at most
    half a step of its tensor, uniform and independent; we allow the carried noise a standard
    deviation of s_z per sqrt(number of requantising ops) and accept 6 sigma plus MEAN's own
    rounding (s_z / 2), as the NB201 test does for its logits. A softmax output moves by at most
    half the largest change of its inputs (sum_j |dp_i / dz_j| = 2 p_i (1 - p_i) <= 1/2).
    """
    dz = 0.5 * logit_scale + 6.0 * logit_scale * np.sqrt(n_requant)
    return 0.5 * out_scale + 0.5 * dz


def _check_against_runtimes(model: bytes, ref_dir: Path, label: str):
    tflm = load_tflm()
    lite = load_litert()
    x = np.load(ref_dir / "inputs.npy")
    ref = np.load(ref_dir / "probabilities.npy")
    interp = lite.Interpreter(model_content=model,
                              experimental_op_resolver_type=lite.OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    micro = tflm.Interpreter.from_bytes(model, arena_size=1 << 20)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    assert inp["dtype"] == np.int8 and out["dtype"] == np.int8
    assert list(inp["shape"]) == [1, x.shape[1], x.shape[2], 1]
    s_in, z_in = inp["quantization"]
    s_out, z_out = out["quantization"]
    assert abs(s_out - 1 / 256) < 1e-9 and z_out == -128
    ops = interp._get_ops_details()
    softmax = next(d for d in ops if d["op_name"] == "SOFTMAX")
    logit_scale = interp._get_tensor_details(softmax["inputs"][0], 0)["quantization"][0]
    xq = np.clip(np.round(x[..., None] / s_in) + z_in, -128, 127).astype(np.int8)
    lite_out, micro_out = [], []
    for i in range(len(xq)):
        interp.set_tensor(inp["index"], xq[i : i + 1])
        interp.invoke()
        lite_out.append(interp.get_tensor(out["index"])[0].copy())
        micro.set_input(xq[i : i + 1], 0)
        micro.invoke()
        micro_out.append(micro.get_output(0)[0].copy())
    lite_out = np.array(lite_out, dtype=int)
    micro_out = np.array(micro_out, dtype=int)
    diff = np.abs(lite_out - micro_out)
    print(f"{label}: TFLite vs TFLite Micro int8 outputs {(diff == 0).mean():.4f} equal, max "
          f"difference {diff.max()}")
    assert diff.max() <= 1
    tol = _tolerance(s_out, logit_scale, len(ops))
    for name, o in (("TFLite", lite_out), ("TFLite Micro", micro_out)):
        deq = (o - z_out) * s_out
        err = np.abs(deq - ref)
        print(f"{label} {name}: max |error| {err.max() / s_out:.2f} output steps, mean "
              f"{err.mean() / s_out:.2f}, bound {tol / s_out:.2f} ({len(ops)} ops, logit scale "
              f"{logit_scale:.4g}); top-1 agreement {(deq.argmax(1) == ref.argmax(1)).mean():.3f}")
        assert (err <= tol).all(), f"{name}: max error {err.max():.4g}, bound {tol:.4g}"
        # Far inside the bound on average: a few output steps.
        assert err.mean() <= 4 * s_out, f"{name}: mean error {err.mean() / s_out:.2f} steps"
    return lite_out, ref


def test_ts_runtimes_agree_on_random_weights(tmp_path):
    load_tflm()
    load_litert()
    for i, arch in enumerate([SMALL, "tr:k3w4|tr:k7w12|sf:b8[5]w8|sf:b24[3,7]w16r|sf:skip"]):
        ref = tmp_path / f"ref{i}"
        model = _export(tmp_path, arch, "--calibration-samples", "64", "--reference", str(ref),
                        "--reference-samples", "32", "--seed", str(i + 1),
                        name=f"m{i}.tflite").read_bytes()
        _check_against_runtimes(model, ref, f"{arch} (random weights, synthetic windows)")


def test_ts_trained_network_on_basic_motions(tmp_path, data_dir):
    load_tflm()
    load_litert()
    data = _basic_motions(data_dir)
    weights = tmp_path / "weights"
    run_cli("ts-train", SMALL, "--data", data, "--epochs", "40", "--batch", "8", "--seed", "0",
         "--no-progress", "--save-weights", str(weights))
    assert (weights / "tr1.conv_k5.weight.npy").exists()
    assert (weights / "tr1.conv_k5.bn.running_var.npy").exists()
    again = run_cli("ts-train", SMALL, "--data", data, "--epochs", "1", "--no-progress",
                 "--save-weights", str(weights), ok=False)
    assert again.returncode != 0 and str(weights) in again.stderr
    ref = tmp_path / "ref"
    model = _export(tmp_path, SMALL, "--weights", str(weights), "--calibration", data,
                    "--reference", str(ref)).read_bytes()
    out, probs = _check_against_runtimes(model, ref, "BasicMotions, trained")
    assert len(probs) == 40  # every test window


# ---------------------------------------------------------------- arena and flash vs the model


def _sample_archs(count: int):
    """Architectures of the 100 x 6, 4-class space (2 Time-Reduce cells, a reducing Sensor-Fusion
    cell and two that may be skipped), drawn uniformly per choice, plus the extremes."""
    rng = random.Random(17)

    def tr():
        return f"tr:k{rng.choice([3, 5, 7])}w{rng.choice([4, 8, 12, 16])}"

    def sf(may_skip):
        if may_skip and rng.random() < 0.25:
            return "sf:skip"
        branches = sorted(rng.sample([3, 5, 7], rng.randint(1, 3)))
        return (f"sf:b{8 * rng.randint(1, 8)}[{','.join(map(str, branches))}]"
                f"w{8 * rng.randint(1, 8)}{'r' if rng.random() < 0.5 else ''}")

    archs = [SMALL, "tr:k3w4|tr:k3w4|sf:b8[3]w8|sf:skip|sf:skip",
             "tr:k7w16|tr:k7w16|sf:b64[3,5,7]w64r|sf:b64[3,5,7]w64r|sf:b64[3,5,7]w64r"]
    while len(archs) < count:
        a = "|".join([tr(), tr(), sf(False), sf(True), sf(True)])
        if a not in archs:
            archs.append(a)
    return archs


def test_ts_arena_and_flash_vs_cost_model(tmp_path):
    load_tflm()
    count = int(os.environ.get("MICRONAS_TS_ARENA_ARCHS", "20"))
    rows = []
    for i, arch in enumerate(_sample_archs(count)):
        path = _export(tmp_path, arch, "--calibration-samples", "2", name=f"m{i}.tflite")
        model = path.read_bytes()
        alloc = tflm_allocations(model)
        est = json.loads(run_cli("ts-cost", arch, "--window", WINDOW, "--classes", CLASSES,
                              "--target", "stm32l552", "--json").stdout)
        layers = est["layers"]
        # live_sram_bytes holds each op's scratch aligned as the arena places it.
        live_bound = max(l["live_sram_bytes"] - (l["scratch_bytes"] + 15) // 16 * 16
                         for l in layers)
        # The cost model's schedule is the file's: same tensors, same lifetimes.
        assert max_live(buffer_lifetimes(model)) == live_bound, arch
        rows.append(dict(arch=arch, ops=len(layers), head=alloc["head"],
                         plan=est["activation_plan_bytes"], live_bound=live_bound,
                         persistent=alloc.get("Persistent buffer data", 0),
                         predicted_persistent=sum(l["persistent_bytes"] for l in layers),
                         file=len(model), predicted_flash=est["model_flash_bytes"]))
    table = os.environ.get("MICRONAS_TS_ARENA_TABLE")
    if table:
        with open(table, "w") as f:
            f.write("| architecture | ops | TFLM head | model plan | diff | TFLM persistent "
                    "buffers | model persistent | file bytes | model flash | flash diff |\n|"
                    + "---|" * 10 + "\n")
            for r in rows:
                arch = r["arch"].replace("|", "\\|")
                f.write(f"| `{arch}` | {r['ops']} | {r['head']} | {r['plan']} "
                        f"| {r['head'] - r['plan']:+d} | {r['persistent']} "
                        f"| {r['predicted_persistent']} | {r['file']} | {r['predicted_flash']} "
                        f"| {100 * (r['file'] / r['predicted_flash'] - 1):+.2f} % |\n")
    arena_bad = [(r["arch"], r["head"], r["plan"]) for r in rows
                 if abs(r["head"] - r["plan"]) > max(256, 0.02 * r["plan"])]
    worst_arena = max(rows, key=lambda r: abs(r["head"] - r["plan"]))
    worst_flash = max(rows, key=lambda r: abs(r["file"] / r["predicted_flash"] - 1))
    print(f"arena head vs plan: worst {worst_arena['head'] - worst_arena['plan']:+d} B "
          f"({worst_arena['arch']}); flash: worst "
          f"{100 * (worst_flash['file'] / worst_flash['predicted_flash'] - 1):+.2f} % "
          f"({worst_flash['arch']})")
    assert not arena_bad, arena_bad
    # Flatbuffer bytes per op kind (mcu/targets/targets.json, fitted on NB201 and time-series
    # files together): measured within 0.11 % on the 40 draws (mcu/VALIDATION.md); the goal
    # is 1 %.
    flash_bad = [(r["arch"], r["file"], r["predicted_flash"]) for r in rows
                 if abs(r["file"] / r["predicted_flash"] - 1) > FLASH_TOLERANCE]
    assert not flash_bad, flash_bad


FLASH_TOLERANCE = 0.01
