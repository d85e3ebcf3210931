"""`micronas export`'s int8 TFLite models checked against the real runtimes: TFLite's interpreter
(PyPI `ai-edge-litert`) and TFLite Micro's (PyPI `tflite-micro`, with its recording allocator).

- Every model loads and runs in both; both give the same int8 outputs but for rare 1-step
  rounding differences of a requantisation (measured: >= 99 % of outputs equal, at most 1 step
  apart); TFLite's default optimised kernels differ a little more.
- The outputs, dequantised, agree with the float network of the same weights (inference-mode batch
  norm, `micronas export --reference`) on 100 real CIFAR-10 images within a bound derived from the
  quantisation scales (see _tolerance).
- TFLite Micro's arena vs the cost model (`micronas mcu --json`) on cells spanning the space (20
  by default, MICRONAS_ARENA_CELLS=60 for mcu/VALIDATION.md's table): the model's tensor lifetimes
  are the file's (its live bound is the file's max-live bytes); TFLite Micro's arena head is within
  2 % or 256 bytes of the model's plan of those tensors (measured: equal on all 60); the file size
  is within 1 % of the model's flash for the model part. MICRONAS_ARENA_TABLE=path writes the
  comparison as a Markdown table.
"""

import json
import os
import random
import re
from pathlib import Path

import numpy as np
import pytest

from runtimes import (buffer_lifetimes, load_litert, load_tflm, max_live, run_cli,
                      tflm_allocations)

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def _arch(ops) -> str:
    e = list(ops)
    return f"|{e[0]}~0|+|{e[1]}~0|{e[2]}~1|+|{e[3]}~0|{e[4]}~1|{e[5]}~2|"


def _cifar10(data_dir: Path) -> Path:
    path = data_dir / "cifar" / "cifar10_test_first846.bin"
    if not path.exists():
        pytest.skip(f"reference data not found: {path} (set MICRONAS_DATA_DIR)")
    return path


def _export(tmp: Path, arch: str, *args) -> Path:
    out = tmp / "model.tflite"
    run_cli("export", arch, "--out", str(out), *args)
    return out


# ---------------------------------------------------------------- CLI behaviour (no runtimes)


def test_export_never_overwrites_and_writes_the_c_array(tmp_path):
    out = _export(tmp_path, BEST, "--calibration-samples", "2", "--c-array",
                  str(tmp_path / "model_data.cc"))
    data = out.read_bytes()
    assert data[4:8] == b"TFL3"
    src = (tmp_path / "model_data.cc").read_text()
    assert "alignas(16) const unsigned char g_model[] = {" in src
    assert f"const unsigned int g_model_len = {len(data)};" in src
    body = src[src.index("{") + 1 : src.index("};")]
    assert bytes(int(b, 16) for b in re.findall(r"0x[0-9a-f]{2}", body)) == data
    again = run_cli("export", BEST, "--out", str(out), ok=False)
    assert again.returncode != 0
    assert again.stderr.count("\n") == 1 and str(out) in again.stderr
    assert "never overwritten" in again.stderr
    assert out.read_bytes() == data
    mixed = run_cli("export", "|nor_conv_3x3/skip_connect~0|+|skip_connect~0|none~1|+|skip_connect~0|"
                 "nor_conv_3x3~1|nor_conv_1x1~2|", "--out", str(tmp_path / "m.tflite"), ok=False)
    assert mixed.returncode != 0 and "mixed edge" in mixed.stderr
    assert not (tmp_path / "m.tflite").exists()


# ---------------------------------------------------------------- against the runtimes


def _litert_interpreter(model: bytes, reference_kernels: bool):
    lite = load_litert()
    kind = lite.OpResolverType.BUILTIN_REF if reference_kernels else lite.OpResolverType.AUTO
    interp = lite.Interpreter(model_content=model, experimental_op_resolver_type=kind)
    interp.allocate_tensors()
    return interp


def _invoke_litert(interp, x):
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    interp.set_tensor(inp["index"], x)
    interp.invoke()
    return interp.get_tensor(out["index"]).copy()


def _tolerance(ref: np.ndarray, out_scale: float, n_requant: int) -> np.ndarray:
    """Bound on |dequantised int8 logits - float logits| per element.

    The last FULLY_CONNECTED rounds its output to its scale (<= s_out / 2). Every earlier
    requantisation adds a rounding error of at most half a step of its tensor, uniform and
    independent between tensors; what reaches the logits is that noise carried through the
    network, whose gain is unknown but bounded by the calibrated ranges: we allow it a standard
    deviation of s_out per sqrt(number of requantising ops), and accept 6 sigma plus the final
    rounding. (For 60-250 ops that is 48-95 output steps, a fifth to a third of the int8 range;
    the measured errors are 1-2 steps on average, 23 at most.)
    """
    return np.full_like(ref, 0.5 * out_scale + 6.0 * out_scale * np.sqrt(n_requant))


CELLS_VS_FLOAT = [
    BEST,
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|avg_pool_3x3~1|nor_conv_1x1~2|",
]


@pytest.mark.parametrize("arch", CELLS_VS_FLOAT)
def test_runtimes_agree_with_each_other_and_the_float_network(tmp_path, data_dir, arch):
    tflm = load_tflm()
    load_litert()
    cifar = _cifar10(data_dir)
    ref_dir = tmp_path / "ref"
    model = _export(tmp_path, arch, "--calibration", f"cifar10:{cifar}", "--calibration-samples",
                    "100", "--reference", str(ref_dir), "--reference-samples", "100",
                    "--seed", "3").read_bytes()
    x = np.load(ref_dir / "inputs.npy")
    ref = np.load(ref_dir / "logits.npy")
    assert x.shape == (100, 3, 32, 32) and ref.shape == (100, 10)

    lite_ref = _litert_interpreter(model, reference_kernels=True)
    lite_opt = _litert_interpreter(model, reference_kernels=False)
    micro = tflm.Interpreter.from_bytes(model, arena_size=4 << 20)
    inp, out = lite_ref.get_input_details()[0], lite_ref.get_output_details()[0]
    assert inp["dtype"] == np.int8 and out["dtype"] == np.int8
    s_in, z_in = inp["quantization"]
    s_out, z_out = out["quantization"]
    xq = np.clip(np.round(x.transpose(0, 2, 3, 1) / s_in) + z_in, -128, 127).astype(np.int8)

    outs, outs_opt, outs_micro = [], [], []
    for i in range(len(xq)):
        a = _invoke_litert(lite_ref, xq[i : i + 1])
        micro.set_input(xq[i : i + 1], 0)
        micro.invoke()
        b = micro.get_output(0)
        outs.append(a[0])
        outs_micro.append(b[0])
        outs_opt.append(_invoke_litert(lite_opt, xq[i : i + 1])[0])
    # TFLite's reference kernels and TFLite Micro's differ only in rare roundings of a
    # requantisation (by one step, then carried on by later ops).
    diff = np.abs(np.array(outs, dtype=int) - np.array(outs_micro, dtype=int))
    print(f"{arch}: TFLite vs TFLite Micro int8 outputs: {(diff == 0).mean():.4f} equal, "
          f"max difference {diff.max()}")
    assert (diff == 0).mean() >= 0.9 and diff.max() <= 4, (diff == 0).mean()
    n_requant = sum(1 for d in lite_ref._get_ops_details() if d["op_name"] != "PAD")
    tol = _tolerance(ref, s_out, n_requant)
    for name, o in (("TFLite reference kernels", outs), ("TFLite optimised kernels", outs_opt),
                    ("TFLite Micro", outs_micro)):
        deq = (np.array(o, dtype=np.float64) - z_out) * s_out
        err = np.abs(deq - ref)
        print(f"{arch} {name}: max |error| {err.max() / s_out:.1f} output steps, mean "
              f"{err.mean() / s_out:.2f}, bound {tol.max() / s_out:.1f}; top-1 agreement "
              f"{(deq.argmax(1) == ref.argmax(1)).mean():.2f}")
        assert (err <= tol).all(), f"{name}: max error {err.max():.4g}, bound {tol.max():.4g}"
        # Far inside the bound on average: a few output steps.
        assert err.mean() <= 4 * s_out, f"{name}: mean error {err.mean() / s_out:.2f} steps"


# ---------------------------------------------------------------- arena and flash vs the model


def _arena_cells(count: int):
    rng = random.Random(2026)
    cells = [BEST, _arch(["nor_conv_3x3"] * 6), _arch(["skip_connect"] * 6),
             _arch(["avg_pool_3x3"] * 6), _arch(["nor_conv_1x1"] * 6),
             _arch(["nor_conv_3x3", "none", "none", "none", "none", "none"]),
             _arch(["none", "none", "none", "skip_connect", "none", "none"]),
             _arch(["nor_conv_1x1", "avg_pool_3x3", "none", "skip_connect", "none", "nor_conv_3x3"])]
    seen = set(cells)
    while len(cells) < count:
        a = _arch(rng.choice(OPS) for _ in range(6))
        if a not in seen:
            seen.add(a)
            cells.append(a)
    return cells


def test_arena_and_flash_vs_cost_model(tmp_path):
    load_tflm()
    count = int(os.environ.get("MICRONAS_ARENA_CELLS", "20"))
    rows = []
    for i, arch in enumerate(_arena_cells(count)):
        path = tmp_path / f"m{i}.tflite"
        run_cli("export", arch, "--out", str(path), "--calibration-samples", "2")
        model = path.read_bytes()
        alloc = tflm_allocations(model)
        est = json.loads(run_cli("mcu", arch, "--json").stdout)
        layers = est["layers"]
        live_bound = max(l["live_sram_bytes"] - l["scratch_bytes"] for l in layers)
        # The model's schedule is the exported file's: its live bound is the file's max-live.
        assert max_live(buffer_lifetimes(model)) == live_bound, arch
        # The host's reference kernels ask for no scratch: the head is the activations' plan.
        rows.append(dict(arch=arch, head=alloc["head"], plan=est["activation_plan_bytes"],
                         live_bound=live_bound,
                         tail=alloc["tail"], total=alloc["total"],
                         persistent_buffers=alloc.get("Persistent buffer data", 0),
                         predicted_persistent=sum(l["persistent_bytes"] for l in layers),
                         predicted_peak=est["peak_sram_bytes"], ops=len(layers),
                         file=len(model), predicted_flash=est["model_flash_bytes"]))
    table = os.environ.get("MICRONAS_ARENA_TABLE")
    if table:
        with open(table, "w") as f:
            f.write("| cell | ops | TFLM head | model plan | diff | live bound "
                    "| TFLM persistent buffers | model persistent | TFLM total (x86-64) "
                    "| model peak SRAM | file bytes | model flash | flash diff |\n|"
                    + "---|" * 13 + "\n")
            for r in rows:
                arch = r["arch"].replace("|", "\\|")
                f.write(f"| `{arch}` | {r['ops']} | {r['head']} | {r['plan']} "
                        f"| {r['head'] - r['plan']:+d} | {r['live_bound']} "
                        f"| {r['persistent_buffers']} | {r['predicted_persistent']} "
                        f"| {r['total']} | {r['predicted_peak']} "
                        f"| {r['file']} | {r['predicted_flash']} "
                        f"| {100 * (r['file'] / r['predicted_flash'] - 1):+.2f} % |\n")
    # The bar the single-op models meet: within 2 % or 256 bytes.
    within = [abs(r["head"] - r["plan"]) <= max(256, 0.02 * r["plan"]) for r in rows]
    equal = sum(r["head"] == r["plan"] for r in rows)
    print(f"arena head within 2 % / 256 B of the model's plan on {sum(within)} of {len(rows)} "
          f"cells ({equal} equal); above the live bound on "
          f"{sum(r['plan'] > r['live_bound'] for r in rows)}")
    outside = [(r["arch"], r["head"], r["plan"]) for r, ok in zip(rows, within) if not ok]
    assert not outside, outside
    flash_bad = [r for r in rows if abs(r["file"] / r["predicted_flash"] - 1) > FLASH_TOLERANCE]
    assert not flash_bad, f"{len(flash_bad)} of {len(rows)} outside: {flash_bad[:3]}"


FLASH_TOLERANCE = 0.01
