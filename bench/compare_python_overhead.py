"""The Python package's overhead against the library's own time, and against the CLI, for one
`score` of the same architecture with the same options (the package calls the C ABI through
ctypes; options and results cross as JSON).

    build/venv/bin/python bench/compare_python_overhead.py [--repeats 5] [--batch 72]

Reports (medians over the repeats) the wall time in Python, the time the library itself measured for the
evaluation (the result's ntk + linear-region seconds), the difference (the overhead of crossing
the ABI, parsing options and writing the JSON) as a share of the evaluation, and the CLI's wall
time for the same job (process start, data setup and output included)."""

import argparse
import json
import subprocess
import time
from pathlib import Path

import micronas

CELL = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
        "nor_conv_3x3~2|")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=72)
    parser.add_argument("--cli", default=str(Path(__file__).resolve().parents[1] / "build" /
                                            "micronas"))
    args = parser.parse_args()
    options = dict(batch=args.batch, repeat=1, seed=0)
    micronas.score(CELL, **options)  # warm: library loaded, OpenMP threads started

    overheads, evals, walls = [], [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        r = micronas.score(CELL, **options)
        wall = time.perf_counter() - start
        inside = r["seconds"]["ntk"] + r["seconds"]["linear_regions"]
        walls.append(wall)
        evals.append(inside)
        overheads.append(wall - inside)
    cli_walls = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        subprocess.run([args.cli, "score", CELL, "--batch", str(args.batch), "--repeat", "1",
                        "--json"], check=True, capture_output=True)
        cli_walls.append(time.perf_counter() - start)

    # Medians: other processes on a shared machine inflate single calls.
    def median(values):
        values = sorted(values)
        return values[len(values) // 2]

    evaluation = median(evals)
    report = {
        "python_wall_s": median(walls),
        "evaluation_s": evaluation,
        "python_overhead_s": median(overheads),
        "python_overhead_share": median(o / e for o, e in zip(overheads, evals)),
        "cli_wall_s": median(cli_walls),
        "cli_overhead_share": (median(cli_walls) - evaluation) / evaluation,
        "backend": micronas.score(CELL, batch=8, repeat=1)["backend"],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
