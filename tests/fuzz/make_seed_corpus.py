"""Writes the seed corpus of the fuzz targets (tests/fuzz/corpus/TARGET/seed-*): small valid
inputs of each format, and a few near-misses, from which the fuzzer mutates. Inputs that once
exposed a defect are kept beside them as regression-* files (not written by this script).

    python3 tests/fuzz/make_seed_corpus.py
"""

import io
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
SWEEP_HEADER = ("cell_id,index,arch,ntk_condition,ntk_valid,linear_regions,flops_m,params_m,"
                "latency_ms,peak_sram_kb,flash_kb,ntk_seconds,lr_seconds")
SWEEP_ROWS = [
    "1120,,|none~0|+|skip_connect~0|nor_conv_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|none~2|,"
    "3.0778846464734535,1,252,43.17249,0.316346,2351.561325,58.48828125,593.990234375,0.002965,"
    "0.001877",
    "10451,,|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|nor_conv_3x3~0|none~1|"
    "skip_connect~2|,1.3116482068466147,1,2811,113.95137,0.802426,4722.547075,83.23828125,"
    "964.7763671875,0.008001,0.002175",
]
MEASURED_HEADER = ("device,core,freq_hz,op,input_shape,output_shape,kernel,stride,padding,"
                   "activation,macs,out_elems,kernel_cycles,invoke_cycles,total_cycles,"
                   "flash_bytes,arena_bytes,src")


def npy(array, version=1):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=(version, 0))
    return buffer.getvalue()


def seeds():
    rng = np.random.default_rng(0)
    profile = json.load(open(os.path.join(ROOT, "mcu", "targets", "targets.json")))["targets"][0]
    return {
        "arch": {
            "cell": CELL,
            "supernet-state": "|nor_conv_3x3/skip_connect~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|"
                              "skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
            "shorthand": "supernet-none",
            "near-miss": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|",
        },
        "data_spec": {"synthetic": "synthetic", "cifar": "cifar10:data_batch_1.bin",
                      "npy": "npy:images.npy", "bad": "cifar100"},
        "sweep_row": {"row": SWEEP_ROWS[0], "invalid-ntk": SWEEP_ROWS[1].replace(",1,2811", ",0,2811")},
        "target_json": {"profile": json.dumps(profile), "minimal": '{"name": "x", "core": "m4"}'},
        "csv": {"table": 'index,arch,cifar10_test\n0,"a,b",85.86\r\n1,"say ""hi""",90\n'},
        "npy": {
            "f4": npy(rng.standard_normal((2, 3, 4, 4)).astype("<f4")),
            "f8-v2": npy(rng.standard_normal((3, 2)), version=2),
            "scalar": npy(np.float32(1.5).reshape(())),
            "truncated": npy(np.zeros((4, 4), "<f4"))[:-7],
        },
        "ts": {
            "equal": "@problemName toy\n@timeStamps false\n@missing false\n@univariate false\n"
                     "@dimensions 2\n@equalLength true\n@seriesLength 3\n@classLabel true a b\n"
                     "@data\n1,2,3:4,5,6:a\n0.5,?,1:2,2,2:b\n",
            "unequal": "@problemName toy\n@univariate true\n@equalLength false\n@classLabel true 1 2\n"
                       "@data\n1,2,3,4:1\n5,6:2\n",
        },
        "benchmark_table": {
            "table": "index,arch,cifar10_test\n0," + CELL + ",93.76\n",
        },
        "measured_ops": {
            "rows": MEASURED_HEADER + "\n"
                    "BOARD,Cortex-M4F @180MHz,180000000,conv2d,64x30x1,32x30x4,3x1,2x1,same,relu,"
                    "11520,3840,760000,760500,775000,1408,6420,own\n"
                    "BOARD,Cortex-M4F @180MHz,180000000,add,32x30x4,32x30x4,,,,none,0,3840,"
                    "20000,20400,21000,512,1024,own\n",
        },
        "c_api": {
            "defaults": CELL + "\n",
            "options": CELL + '\n{"dataset": "cifar100", "target": "stm32l552", "runtime": "codegen", '
                              '"latency_table": "micronas", "clock_mhz": 80}',
            "unknown-option": "supernet\n{\"batch\": 4}",
        },
        "sweep_csv": {"rows": SWEEP_HEADER + "\n" + "\n".join(SWEEP_ROWS) + "\n",
                      "cut": SWEEP_HEADER + "\n" + SWEEP_ROWS[0][:40]},
    }


def main():
    for target, files in seeds().items():
        folder = os.path.join(HERE, "corpus", target)
        os.makedirs(folder, exist_ok=True)
        for name, content in files.items():
            data = content if isinstance(content, bytes) else content.encode()
            with open(os.path.join(folder, "seed-" + name), "wb") as f:
                f.write(data)
    print("wrote the seed corpus under", os.path.join(HERE, "corpus"))


if __name__ == "__main__":
    main()
