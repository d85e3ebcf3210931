#!/usr/bin/env python3
"""Fits the microcontroller cost-model constants and writes mcu/targets/targets.json.

Usage: python3 mcu/scripts/fit_profiles.py [DATA_DIR] [OUT_JSON]
  DATA_DIR defaults to ../shared/data (relative to the repository root), OUT_JSON to
  mcu/targets/targets.json.

What is fitted, and on what:
  * Instruction-count forms (linear in the features below, which mcu/op_cost.cpp computes the
    same way) on executed-instruction counts from QEMU:
      - stm32f746 (Cortex-M7 build): qemu_cm7_cmsisnn_icount.csv (the CMSIS-NN grid).
      - stm32f446re / stm32l552: the `ins_m7` column of measured_ops_vs_qemu_icount.csv, i.e. the
        instruction counts of exactly the kernels those boards ran (their CMSIS-NN build differs
        from the grid's, e.g. in the 1x1 inner loop), on the FIT rows only.
  * CPI per op family and core on measured_ops_cmsis_tflm.csv (FIT rows only): relative least
    squares of cycles = CPI x predicted instructions.
  * TFLM MEAN and SOFTMAX have no instruction counts: their forms are in cycles (CPI 1), fitted
    on the boards' global_average_pooling2d and softmax rows (SOFTMAX on all of its few rows).
  * DEPTHWISE_CONV_2D (1x1, depth multiplier 1: the time-series networks' batch norm after the
    ReLU) has no measurements at all: its form is derived from CMSIS-NN's source (see
    DEPTHWISE_* below) and its CPI is the 1x1 conv's on each core.
  * Flatbuffer bytes per model, per constant tensor and per op kind: least squares on the file
    sizes of `micronas export` (flash_fit_exports.csv, written by flash_fit_data.py); see
    fit_flash_structure.
  * Per-op interpreter overhead = invoke_cycles - kernel_cycles; per-inference overhead =
    total_cycles - invoke_cycles (medians).
FIT rows: within each (device, op family) group of measured_ops_cmsis_tflm.csv, rows with an even
ordinal; odd ordinals are held out. tests/test_mcu_ops.cpp uses the same split.
The least squares minimise relative error (each row weighted by 1/target), since the tests and the
report measure mean absolute percentage error.
"""
import csv
import json
import math
import os
import sys
from collections import defaultdict

import numpy as np

# ---- features: must match mcu/op_cost.cpp -------------------------------------------------------
CONV_IM2COL_FEATURES = ["macs", "im2col_elements", "outputs", "pixels", "kernel_taps",
                        "out_channels", "one", "outputs_x_col_remainder4",
                        "padded_taps_x_in_channels", "padded_taps"]
CONV_1X1_FEATURES = ["outputs_x_in_channel_blocks16", "outputs_x_in_channel_remainder16",
                     "outputs_x_has_remainder16", "outputs", "pixels", "out_channels", "one"]
FC_FEATURES = ["macs", "outputs", "one"]
POOL_FEATURES = ["window_elements", "outputs", "pixels", "one"]
ELEMENTWISE_FEATURES = ["elements", "one"]
MEAN_FEATURES = ["input_elements", "outputs", "one"]
DEPTHWISE_1X1_FEATURES = ["elements", "pixels", "pixels_x_channel_remainder4", "one"]

# Instructions of CMSIS-NN's arm_depthwise_conv_s8_opt (the DSP path TFLM's DEPTHWISE_CONV_2D
# takes for depth multiplier 1) on a 1x1 filter, counted from its source; no board or QEMU
# measurement of a depthwise op exists in the data. Per output element: the int8 -> int16
# widening with the input offset (arm_q7_to_q15_with_offset, 4 elements in ~9 instructions),
# the single tap's weight and column loads and multiply-accumulate onto the bias (~4), then the
# requantisation, output offset, clamp and store, priced as the fitted per-output count of the
# 1x1 conv kernel, which ends every output with the same sequence. Per output pixel: the window
# bounds, the widening call and the pointer resets (~35). A channel beyond the last group of 4
# runs a loop of its own (~6 more). Per call: argument unpacking and the wrapper's path checks.
DEPTHWISE_WIDEN = 2.25
DEPTHWISE_TAP = 4.0
DEPTHWISE_PER_PIXEL = 35.0
DEPTHWISE_PER_REMAINDER = 6.0
DEPTHWISE_PER_CALL = 60.0


def depthwise_1x1_model(conv_1x1):
    per_output = conv_1x1["coefficients"][CONV_1X1_FEATURES.index("outputs")]
    return model(DEPTHWISE_1X1_FEATURES,
                 [per_output + DEPTHWISE_WIDEN + DEPTHWISE_TAP, DEPTHWISE_PER_PIXEL,
                  DEPTHWISE_PER_REMAINDER, DEPTHWISE_PER_CALL],
                 "DERIVED, not measured: CMSIS-NN arm_depthwise_conv_s8_opt (DSP path, 1x1 "
                 "filter, depth multiplier 1) counted from its source: per element "
                 f"{DEPTHWISE_WIDEN} (int8->int16 widening) + {DEPTHWISE_TAP} (loads and one "
                 f"multiply-accumulate) + {per_output:g} (requantise, offset, clamp, store: the "
                 "conv_1x1 form's per-output coefficient on this target); per pixel "
                 f"{DEPTHWISE_PER_PIXEL:g}; per channel beyond the last group of 4, per pixel "
                 f"{DEPTHWISE_PER_REMAINDER:g}; per call {DEPTHWISE_PER_CALL:g}")


def valid_taps(size, out, k, s, pad):
    """(output position, kernel tap) pairs that read inside the input along one axis."""
    n = 0
    for o in range(out):
        for t in range(k):
            y = o * s - pad + t
            if 0 <= y < size:
                n += 1
    return n


def conv_features(h, w, ci, ho, wo, co, kh, kw, sh, sw, pt, pl):
    p = ho * wo
    k = kh * kw
    inside = valid_taps(h, ho, kh, sh, pt) * valid_taps(w, wo, kw, sw, pl)
    padded = p * k - inside
    if is_conv_1x1_fast(ci, kh, kw, sh, sw, pt, pl):
        return "conv_1x1", [p * co * (ci // 16), p * co * (ci % 16), p * co * (1 if ci % 16 else 0),
                            p * co, p, co, 1]
    return "conv_im2col", [p * k * ci * co, p * k * ci, p * co, p, p * k, co, 1,
                           p * co * ((k * ci) % 4), padded * ci, padded]


def is_conv_1x1_fast(ci, kh, kw, sh, sw, pt, pl):
    # TFLM's CMSIS-NN conv picks arm_convolve_1x1_s8_fast for 1x1, stride 1, no padding, Cin % 4 == 0.
    return kh == 1 and kw == 1 and sh == 1 and sw == 1 and pt == 0 and pl == 0 and ci % 4 == 0


def same_pad(size, out, k, s):
    total = max((out - 1) * s + k - size, 0)
    return total // 2


def shape(text):
    return [int(v) for v in text.split("x")]


# ---- data ---------------------------------------------------------------------------------------
def family_of_measured(op):
    return {"conv2d": "conv", "add": "add", "global_average_pooling2d": "mean",
            "softmax": "softmax"}.get(op)


def load_measured(data_dir):
    rows = list(csv.DictReader(open(os.path.join(data_dir, "mcu/measured_ops_cmsis_tflm.csv"))))
    icount = list(csv.DictReader(open(os.path.join(data_dir, "mcu/measured_ops_vs_qemu_icount.csv"))))
    by_key = {(r["kernel_cycles"], r["macs"]): r for r in rows}
    for q in icount:
        by_key[(q["cyc"], q["macs"])]["ins_m7"] = int(q["ins_m7"])
    ordinal = defaultdict(int)
    out = []
    for r in rows:
        group = family_of_measured(r["op"])
        if group is None:
            continue
        key = (r["device"], group)
        # SOFTMAX has 2 rows on one board and 1 on the other: too few to hold any out.
        r["fit"] = ordinal[key] % 2 == 0 or group == "softmax"
        ordinal[key] += 1
        r["cycles"] = int(r["kernel_cycles"])
        if r["op"] == "conv2d":
            h, w, ci = shape(r["input_shape"])
            ho, wo, co = shape(r["output_shape"])
            kh, kw = shape(r["kernel"])
            sh, sw = shape(r["stride"])
            fam, f = conv_features(h, w, ci, ho, wo, co, kh, kw, sh, sw,
                                   same_pad(h, ho, kh, sh), same_pad(w, wo, kw, sw))
        elif r["op"] == "add":
            fam, f = "add", [int(r["out_elems"]), 1]
        elif r["op"] == "softmax":
            fam, f = "softmax", [int(r["out_elems"]), 1]
        else:
            h, w, c = shape(r["input_shape"])
            fam, f = "mean", [h * w * c, c, 1]
        r["family"] = fam
        r["features"] = f
        out.append(r)
    return rows, out


def load_grid(data_dir):
    rows = list(csv.DictReader(open(os.path.join(data_dir, "mcu/qemu_cm7_cmsisnn_icount.csv"))))
    out = defaultdict(list)
    for r in rows:
        op = r["op"]
        h, w, ci, co, k, s = (int(r[c]) for c in ("H", "W", "Cin", "Cout", "K", "S"))
        insn = int(r["insn"])
        if op.startswith("conv"):
            ho, wo = (h + s - 1) // s, (w + s - 1) // s
            pad = same_pad(h, ho, k, s)
            fam, f = conv_features(h, w, ci, ho, wo, co, k, k, s, s, pad, pad)
        elif op.startswith("avgpool") or op == "gap":
            if op == "gap":
                ho, pad = 1, 0
            elif s == 1:
                ho, pad = h, (k - 1) // 2
            else:
                ho, pad = h // s, 0
            p = ho * ho
            fam = "average_pool"
            f = [valid_taps(h, ho, k, s, pad) ** 2 * ci, p * ci, p, 1]
        elif op == "add":
            fam, f = "add", [h * w * ci, 1]
        elif op == "fc":
            fam, f = "fully_connected", [ci * co, co, 1]
        else:
            continue
        out[fam].append((f, insn))
    return out


def relative_lstsq(x, y):
    """min Σ((x·c - y)/y)^2 with columns scaled for conditioning; minimum-norm when rank-deficient."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    a = x / y[:, None]
    scale = np.abs(a).max(axis=0)
    scale[scale == 0] = 1
    c, *_ = np.linalg.lstsq(a / scale, np.ones(len(y)), rcond=1e-10)
    return c / scale


def mape(pred, y):
    pred, y = np.asarray(pred, float), np.asarray(y, float)
    return float(np.mean(np.abs(pred / y - 1)) * 100)


def rounded(values, digits=6):
    return [float(f"{v:.{digits}g}") for v in values]


def model(features, coefficients, origin):
    return {"features": features, "coefficients": rounded(coefficients), "origin": origin}


# ---- flatbuffer bytes per op kind ----------------------------------------------------------------
FLASH_KINDS = ["CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MUL", "RELU", "AVERAGE_POOL_2D", "MEAN",
               "SOFTMAX", "PAD", "FULLY_CONNECTED"]
# The converter's one-conv file (measured_ops_cmsis_tflm.csv's conv rows: weights + 28.05 B per
# output channel + this) holds one model, one CONV_2D and its two constant tensors.
ONE_CONV_FIXED_BYTES = 1309
# Bytes the schema's layout adds to an op's table beyond another kind's, for the kinds these files
# cannot tell apart (they always occur together or the same number of times per network):
# DEPTHWISE_CONV_2D is CONV_2D's layout with one int32 option more (depth_multiplier); PAD and
# SOFTMAX are RELU's (one data input) with a second input index (PAD's paddings) or an options
# table (SOFTMAX's float beta); MUL is ADD's layout.
FLASH_TIES = {"DEPTHWISE_CONV_2D": ("CONV_2D", 4), "PAD": ("RELU", 16),
              "SOFTMAX": ("RELU", 16), "MUL": ("ADD", 0)}


def fit_flash_structure(path):
    """Fits file - data = per-space fixed bytes + K per constant tensor + P_kind per op.

    Each NB201 file has one MUL, one FULLY_CONNECTED and two PADs; each time-series file one MEAN
    and one SOFTMAX: their bytes are only identified together with the per-model bytes, which the
    converter's one-conv figure fixes (model = ONE_CONV_FIXED_BYTES - P_CONV_2D - 2 K). So
    FULLY_CONNECTED and MEAN take what is left of each space's fixed part: the difference between
    the converter's fixed bytes and the exporter's (no signature or metadata) makes them negative.
    """
    rows = list(csv.DictReader(open(path)))
    free = ["CONV_2D", "ADD", "RELU", "AVERAGE_POOL_2D"]
    x, y, w = [], [], []
    for r in rows:
        n = {k: int(r[k]) for k in FLASH_KINDS}
        for kind, (base, _) in FLASH_TIES.items():
            n[base] += n[kind]
        x.append([r["space"] == "nb201", r["space"] == "timeseries", int(r["constant_tensors"])]
                 + [n[k] for k in free])
        rest = int(r["file_bytes"]) - int(r["data_bytes"])
        rest -= sum(extra * int(r[kind]) for kind, (_, extra) in FLASH_TIES.items())
        y.append(rest)
        w.append(1.0 / int(r["file_bytes"]))
    x, y, w = np.asarray(x, float), np.asarray(y, float), np.asarray(w)
    c, *_ = np.linalg.lstsq(x * w[:, None], y * w, rcond=None)
    fixed_nb201, fixed_ts, per_constant = c[:3]
    per_kind = dict(zip(free, c[3:]))
    for kind, (base, extra) in FLASH_TIES.items():
        per_kind[kind] = per_kind[base] + extra
    per_constant = round(per_constant)
    per_kind = {k: round(v) for k, v in per_kind.items()}
    model_bytes = ONE_CONV_FIXED_BYTES - per_kind["CONV_2D"] - 2 * per_constant
    # The tied kinds are in their base kind's column, so the fixed parts hold only these two.
    per_kind["FULLY_CONNECTED"] = round(fixed_nb201 - model_bytes)
    per_kind["MEAN"] = round(fixed_ts - model_bytes)
    per_kind = {k: per_kind[k] for k in FLASH_KINDS}
    # The fit's worst relative error per space, with the rounded constants.
    worst = {}
    for r in rows:
        pred = (int(r["data_bytes"]) + model_bytes + per_constant * int(r["constant_tensors"])
                + sum(per_kind[k] * int(r[k]) for k in FLASH_KINDS))
        e = int(r["file_bytes"]) / pred - 1
        worst[r["space"]] = max(worst.get(r["space"], 0.0), abs(e))
    counts = {s: sum(r["space"] == s for r in rows) for s in worst}
    return model_bytes, per_constant, per_kind, worst, counts


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "data")
    out_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "mcu", "targets",
                                                                 "targets.json")
    all_rows, measured = load_measured(data_dir)
    flash = fit_flash_structure(os.path.join(root, "mcu", "scripts", "flash_fit_exports.csv"))
    grid = load_grid(data_dir)
    report = []

    # -- Cortex-M7 grid forms (stm32f746).
    grid_models = {}
    for fam, names in (("conv_im2col", CONV_IM2COL_FEATURES), ("conv_1x1", CONV_1X1_FEATURES),
                       ("fully_connected", FC_FEATURES), ("average_pool", POOL_FEATURES),
                       ("add", ELEMENTWISE_FEATURES)):
        x = [f for f, _ in grid[fam]]
        y = [i for _, i in grid[fam]]
        c = relative_lstsq(x, y)
        err = mape(np.asarray(x, float) @ c, y)
        report.append(f"grid {fam}: {len(y)} rows, instruction MAPE {err:.2f}%")
        grid_models[fam] = model(
            names, c, f"least squares on the {len(y)} {fam} rows of qemu_cm7_cmsisnn_icount.csv "
            f"(CMSIS-NN, arm-none-eabi-gcc -O3, Cortex-M7, QEMU); instruction MAPE {err:.2f}%")
    add_per_element = grid_models["add"]["coefficients"][0]

    # -- Board kernel build forms (stm32f446re, stm32l552): instruction counts of the measured rows.
    board_models = {}
    for fam, names in (("conv_im2col", CONV_IM2COL_FEATURES), ("conv_1x1", CONV_1X1_FEATURES)):
        sel = [r for r in measured if r["family"] == fam and r["fit"] and "ins_m7" in r]
        # F446RE and L552 ran the same kernels; each configuration counted once per board row.
        c = relative_lstsq([r["features"] for r in sel], [r["ins_m7"] for r in sel])
        held = [r for r in measured if r["family"] == fam and not r["fit"] and "ins_m7" in r]
        e_fit = mape([np.dot(r["features"], c) for r in sel], [r["ins_m7"] for r in sel])
        e_held = mape([np.dot(r["features"], c) for r in held], [r["ins_m7"] for r in held])
        report.append(f"board {fam}: instruction MAPE fit {e_fit:.2f}% ({len(sel)} rows), "
                      f"held-out {e_held:.2f}% ({len(held)} rows)")
        board_models[fam] = model(
            names, c, f"least squares on ins_m7 (QEMU instruction counts of the kernels the boards "
            f"ran) of the {len(sel)} FIT rows of measured_ops_vs_qemu_icount.csv; instruction "
            f"MAPE fit {e_fit:.2f}%, held-out {e_held:.2f}%")
    for fam in ("fully_connected", "average_pool", "add"):
        m = dict(grid_models[fam])
        m["origin"] = ("no instruction counts of the boards' build: Cortex-M7 grid form. "
                       + m["origin"])
        board_models[fam] = m

    # Element-wise ops without QEMU counts in the data.
    relu_model = model(ELEMENTWISE_FEATURES, [36.0, 0.0],
                       "stand-alone TFLM int8 RELU (reference kernel with requantisation) "
                       "~36 instructions per element: shared/reference/mcu-model.md")
    quantize_model = model(ELEMENTWISE_FEATURES, [add_per_element / 3.0, 0.0],
                           "int8 -> int8 requantisation: one third of the ADD form's per-element "
                           "count (an int8 ADD performs three requantisations)")

    def fit_cpi(device, fam, predict):
        sel = [r for r in measured if r["device"] == device and r["family"] == fam and r["fit"]]
        pred = np.array([predict(r) for r in sel], float)
        y = np.array([r["cycles"] for r in sel], float)
        t = pred / y
        return float(t.sum() / (t * t).sum()), len(sel)

    # TFLM int8 SOFTMAX (arm_softmax_s8) has no instruction counts either: a form in cycles
    # (CPI 1) fitted exactly on the F446RE's two rows; a board with fewer rows scales that form to
    # its own rows (one ratio, like a CPI).
    f446_softmax = [r for r in measured if r["device"] == "NUCLEOF446RE" and r["family"] == "softmax"]
    softmax_coef = relative_lstsq([r["features"] for r in f446_softmax],
                                  [r["cycles"] for r in f446_softmax])

    targets = []
    boards = {"stm32f446re": "NUCLEOF446RE", "stm32l552": "NUCLEO"}
    for name, device in boards.items():
        models = {k: dict(v) for k, v in board_models.items()}
        models["relu"] = relu_model
        models["quantize"] = quantize_model
        models["depthwise_conv_1x1"] = depthwise_1x1_model(models["conv_1x1"])
        cpi, cpi_origin = {}, {}
        for fam in ("conv_im2col", "conv_1x1", "add"):
            coef = np.array(models[fam]["coefficients"])
            cpi[fam], n = fit_cpi(device, fam, lambda r: np.dot(r["features"], coef))
            cpi_origin[fam] = (f"relative least squares of kernel_cycles on {n} FIT rows of "
                               f"measured_ops_cmsis_tflm.csv ({device})")
        # TFLM MEAN (Keras GlobalAveragePooling2D export) has no instruction counts: its form is
        # fitted directly in cycles on this board (CPI 1).
        sel = [r for r in measured if r["device"] == device and r["family"] == "mean" and r["fit"]]
        if len(sel) >= 2:
            c = relative_lstsq([r["features"][:1] + [1] for r in sel], [r["cycles"] for r in sel])
            mean_coef = [c[0], 0.0, c[1]]
        else:
            r = sel[0]
            mean_coef = [r["cycles"] / r["features"][0], 0.0, 0.0]
        models["mean"] = model(MEAN_FEATURES, mean_coef,
                               f"TFLM reference MEAN, fitted in cycles on {len(sel)} FIT "
                               f"global_average_pooling2d row(s) of {device} (no instruction "
                               f"counts available); CPI fixed to 1")
        cpi["mean"] = 1.0
        cpi_origin["mean"] = "form is in cycles"
        sel = [r for r in measured if r["device"] == device and r["family"] == "softmax"]
        if len(sel) >= 2:
            coef = relative_lstsq([r["features"] for r in sel], [r["cycles"] for r in sel])
            how = f"least squares in cycles on its {len(sel)} softmax rows"
        else:
            ratio = np.mean([r["cycles"] / np.dot(r["features"], softmax_coef) for r in sel])
            coef = [v * ratio for v in softmax_coef]
            how = (f"the STM32F446RE form scaled by {ratio:.4f} to its {len(sel)} softmax "
                   f"row(s)")
        models["softmax"] = model(ELEMENTWISE_FEATURES, coef,
                                  f"TFLM int8 SOFTMAX on {device}: {how} of "
                                  f"measured_ops_cmsis_tflm.csv (no instruction counts available; "
                                  f"every row is used, none held out); CPI fixed to 1")
        cpi["softmax"] = 1.0
        cpi_origin["softmax"] = "form is in cycles"
        for fam, src in (("fully_connected", "conv_1x1"), ("average_pool", "add"),
                         ("relu", "add"), ("quantize", "add"), ("depthwise_conv_1x1", "conv_1x1")):
            cpi[fam] = cpi[src]
            cpi_origin[fam] = f"no measured rows: CPI of {src} on this board"
        dev_rows = [r for r in all_rows if r["device"] == device]
        op_overhead = float(np.median([int(r["invoke_cycles"]) - int(r["kernel_cycles"])
                                       for r in dev_rows]))
        invoke_overhead = float(np.median([int(r["total_cycles"]) - int(r["invoke_cycles"])
                                           for r in dev_rows]))
        core = dev_rows[0]["core"]
        freq = int(dev_rows[0]["freq_hz"]) / 1e6
        targets.append((name, device, core, freq, models, cpi, cpi_origin, op_overhead,
                        invoke_overhead))

    out_targets = []
    info = {
        "stm32f446re": dict(core="Cortex-M4F", sram_kb=128, flash_kb=512,
                            description="NUCLEO-F446RE, Arm Cortex-M4F at 180 MHz, 128 KB SRAM, "
                                        "512 KB flash"),
        "stm32l552": dict(core="Cortex-M33", sram_kb=256, flash_kb=512,
                          description="NUCLEO-L552ZE-Q, Arm Cortex-M33 (measured at 80 MHz), "
                                      "256 KB SRAM, 512 KB flash"),
    }
    overheads = []
    for name, device, core, freq, models, cpi, cpi_origin, op_oh, inv_oh in targets:
        overheads.append((op_oh, inv_oh))
        out_targets.append(profile(name, info[name], freq, models, cpi, cpi_origin, op_oh, device, flash,
                                   f"median of invoke_cycles - kernel_cycles over the {device} rows "
                                   "of measured_ops_cmsis_tflm.csv"))
        report.append(f"{name}: CPI {json.dumps({k: round(v, 4) for k, v in cpi.items()})}, "
                      f"op overhead {op_oh:.0f}")

    # -- stm32f746: Cortex-M7 grid forms, CPI estimate, overheads from the measured boards.
    models = {k: dict(v) for k, v in grid_models.items()}
    models["relu"] = relu_model
    models["quantize"] = quantize_model
    models["depthwise_conv_1x1"] = depthwise_1x1_model(models["conv_1x1"])
    f446_mean = next(t for t in out_targets if t["name"] == "stm32f446re")["instruction_models"]["mean"]
    f446_cpi_add = next(t for t in out_targets if t["name"] == "stm32f446re")["cpi"]["add"]
    models["mean"] = model(MEAN_FEATURES, [v / f446_cpi_add for v in f446_mean["coefficients"]],
                           "TFLM reference MEAN: the STM32F446RE cycle form divided by that "
                           "board's ADD CPI (instruction-equivalent); the time-series networks' "
                           "GAP (NB201's is exported as AVERAGE_POOL_2D)")
    models["softmax"] = model(ELEMENTWISE_FEATURES, [v / f446_cpi_add for v in softmax_coef],
                              "TFLM int8 SOFTMAX: the STM32F446RE cycle form divided by that "
                              "board's ADD CPI (instruction-equivalent)")
    m7_cpi = 1.0
    cpi = {k: m7_cpi for k in models}
    cpi_origin = {k: "no Cortex-M7 cycle measurements in the data; dual-issue M7 CPI estimated "
                     "0.8-1.1 (shared/reference/mcu-model.md), 1.0 assumed"
                  for k in models}
    op_oh = float(np.mean([o for o, _ in overheads]))
    out_targets.insert(0, profile(
        "stm32f746",
        dict(core="Cortex-M7", sram_kb=320, flash_kb=1024,
             description="STM32F746 (NUCLEO-F746ZG / DISCO-F746NG), Arm Cortex-M7 at 216 MHz, "
                         "320 KB SRAM, 1 MB flash, I/D caches"),
        216.0, models, cpi, cpi_origin, op_oh, "", flash,
        "mean of the STM32F446RE and STM32L552 medians (no M7 measurement; TFLM's interpreter "
        "code is the same)"))

    doc = {
        "format": "micronas-mcu-targets-1",
        "origin": "generated by mcu/scripts/fit_profiles.py from shared/data/mcu; every constant "
                  "states its source next to it",
        "targets": out_targets,
    }
    with open(out_path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("\n".join(report))
    print(f"wrote {out_path}")


def profile(name, info, clock_mhz, models, cpi, cpi_origin, op_oh, device, flash, op_oh_origin):
    model_bytes, per_constant, per_kind, worst, counts = flash
    return {
        "name": name,
        "description": info["description"],
        "core": info["core"],
        "clock_mhz": clock_mhz,
        "sram_kb": info["sram_kb"],
        "flash_kb": info["flash_kb"],
        "board_facts_origin": "shared/reference/mcu-model.md (Target)",
        "instruction_models": models,
        "cpi": {k: round(v, 6) for k, v in cpi.items()},
        "cpi_origin": cpi_origin,
        "tflm_op_overhead_cycles": round(op_oh, 1),
        "tflm_op_overhead_origin": op_oh_origin,
        "measured_device": device,
        "arena": {
            "fixed_bytes": 612,
            "tensor_alignment": 16,
            "add_op_data_bytes": 64,
            "origin": "exact fit of arena_bytes in measured_ops_cmsis_tflm.csv: conv = in + out + "
                      "4*ceil4(K*Cin) (im2col scratch, 0 on the 1x1 path) + 2*align16(4*Cout) "
                      "(per-channel multipliers and shifts) + 612; add = 3 tensors + 612 + 64. "
                      "DEPTHWISE_CONV_2D 1x1 (derived, not measured): as a conv, its scratch the "
                      "int16 column of CMSIS-NN's DSP path, 2*C (arm_depthwise_conv_s8_opt_get_"
                      "buffer_size)",
        },
        "flash": {
            "per_out_channel_bytes": 28,
            "model_overhead_bytes": model_bytes,
            "per_op_bytes": 147,
            "per_constant_tensor_bytes": per_constant,
            "per_op_kind_bytes": per_kind,
            "runtime_code_kb": 100,
            "origin": "least squares of flash_bytes on the conv rows of "
                      "measured_ops_cmsis_tflm.csv: int8 weights + 28.05 B per output channel "
                      f"(int32 bias + per-channel quantisation) + {ONE_CONV_FIXED_BYTES} B (max "
                      "error 25 B) = model_overhead_bytes + per_op_kind_bytes.CONV_2D + 2 x "
                      "per_constant_tensor_bytes. The per-constant-tensor and per-op-kind "
                      "flatbuffer bytes: relative least squares of the file sizes of `micronas "
                      f"export` on {counts['nb201']} NB201 and {counts['timeseries']} time-series "
                      "networks (mcu/scripts/flash_fit_exports.csv: file - weights - per-channel "
                      "data - BN vectors - zero nodes - paddings = fixed part per space + bytes "
                      "per constant tensor + bytes per op of each kind); DEPTHWISE_CONV_2D, PAD, "
                      "SOFTMAX and MUL, which these files cannot tell apart from another kind, "
                      "are that kind's bytes plus the schema's layout difference (+4, +16, +16, "
                      "+0 B over CONV_2D, RELU, RELU, ADD); FULLY_CONNECTED and MEAN (once per "
                      "network) take the rest of each space's fixed part beyond "
                      "model_overhead_bytes, negative because the exporter's file lacks the "
                      "converter's fixed metadata. Fit error: NB201 within "
                      f"{100 * worst['nb201']:.2f} %, time-series within "
                      f"{100 * worst['timeseries']:.2f} %. per_op_bytes (147, the earlier NB201 "
                      "average) prices a kind not listed. Runtime code 100 KB = lower end of "
                      "TFLM's 100-250 KB (shared/reference/mcu-model.md)",
        },
    }


if __name__ == "__main__":
    main()
