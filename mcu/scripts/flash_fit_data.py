#!/usr/bin/env python3
"""Writes the data that fit_profiles.py fits the flatbuffer bytes per op kind on.

Usage: python3 mcu/scripts/flash_fit_data.py [MICRONAS_CLI] [OUT_CSV]
  MICRONAS_CLI defaults to build/micronas, OUT_CSV to mcu/scripts/flash_fit_exports.csv.

For each network (the 60 NB201 cells of apps/python/tests/test_tflite_export.py's arena table and
the 40 time-series architectures of test_timeseries_export.py's, 100 x 6 windows, 4 classes) it
exports the int8 TFLite file with `micronas export` and records its size, the bytes the cost
model counts as data (weights, per-channel data, a BN's channel vector, zero nodes, PAD's
paddings: the model flash of a profile whose flatbuffer constants are all 0), the number of
constant tensors and the number of ops of each kind. What is left of the file is flatbuffer
structure: fit_profiles.py fits it as bytes per model + per constant tensor + per op kind.
"""
import csv
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "apps", "python", "tests"))
KINDS = ["CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MUL", "RELU", "AVERAGE_POOL_2D", "MEAN", "SOFTMAX",
         "PAD", "QUANTIZE", "FULLY_CONNECTED"]
TS_ARGS = ["--window", "100x6", "--classes", "4"]


def nb201_cells(count):
    # The cells of test_tflite_export.py's arena and flash table (same seed and order).
    from test_tflite_export import _arena_cells
    return _arena_cells(count)


def ts_archs(count):
    from test_timeseries_export import _sample_archs
    return _sample_archs(count)


def profile(path, base, per_op, per_constant):
    t = json.load(open(os.path.join(ROOT, "mcu", "targets", "targets.json")))["targets"]
    t = next(p for p in t if p["name"] == base)
    t["flash"]["model_overhead_bytes"] = 0
    t["flash"]["per_op_bytes"] = per_op
    t["flash"]["per_constant_tensor_bytes"] = per_constant
    t["flash"].pop("per_op_kind_bytes", None)
    json.dump(t, open(path, "w"))


def main():
    cli = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "micronas")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "mcu", "scripts",
                                                             "flash_fit_exports.csv")
    run = lambda *a: subprocess.run([cli, *a], check=True, capture_output=True, text=True).stdout
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        zero, count = os.path.join(tmp, "zero.json"), os.path.join(tmp, "count.json")
        profile(zero, "stm32l552", 0, 0)
        profile(count, "stm32l552", 0, 1)
        nets = [("nb201", a) for a in nb201_cells(60)] + [("timeseries", a) for a in ts_archs(40)]
        for i, (space, arch) in enumerate(nets):
            path = os.path.join(tmp, f"m{i}.tflite")
            extra = ["--space", "timeseries", *TS_ARGS] if space == "timeseries" else []
            run("export", arch, "--out", path, "--calibration-samples", "2", *extra)
            cost = (lambda p: json.loads(run("ts-cost", arch, *TS_ARGS, "--target", p, "--json"))) \
                if space == "timeseries" else \
                (lambda p: json.loads(run("mcu", arch, "--target", p, "--json")))
            z, c = cost(zero), cost(count)
            kinds = Counter(l["op"] for l in z["layers"])
            unknown = set(kinds) - set(KINDS)
            if unknown:
                raise SystemExit(f"{arch}: op kinds {unknown} not in {KINDS}")
            rows.append(dict(space=space, arch=arch, file_bytes=os.path.getsize(path),
                             data_bytes=z["model_flash_bytes"],
                             constant_tensors=c["model_flash_bytes"] - z["model_flash_bytes"],
                             **{k: kinds[k] for k in KINDS}))
            print(i, space, arch, rows[-1]["file_bytes"], file=sys.stderr)
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {out} ({len(rows)} networks)")


if __name__ == "__main__":
    main()
