"""The `micronas` program and the TFLite runtimes (PyPI `ai-edge-litert`, `tflite-micro`) as the
export tests use them; each skips its test when what it needs is missing."""

import importlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]


def cli_path() -> Path:
    path = Path(os.environ.get("MICRONAS_CLI", REPO / "build" / "micronas"))
    if not path.exists():
        pytest.skip(f"the micronas program is not built at {path} (set MICRONAS_CLI)")
    return path


def run_cli(*args, ok=True):
    done = subprocess.run([str(cli_path()), *args], capture_output=True, text=True)
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def need(module: str, package: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        pytest.skip(f"{package} is not installed (pip install {package})")


def load_litert():
    return need("ai_edge_litert.interpreter", "ai-edge-litert")


def load_tflm():
    return need("tflite_micro.python.tflite_micro.runtime", "tflite-micro")


def tflm_allocations(model: bytes) -> dict:
    """TFLite Micro's recording allocator report in bytes: total, head (the memory planner's
    non-persistent area: activations and scratch), tail and each persistent kind."""
    tflm = load_tflm()
    interp = tflm.Interpreter.from_bytes(model, arena_size=8 << 20)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    with tempfile.TemporaryFile(mode="w+") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            interp.print_allocations()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        f.seek(0)
        text = f.read()
    out = {}
    for key in ("total", "head", "tail"):
        m = re.search(rf"Arena allocation {key} (\d+) bytes", text)
        assert m, text
        out[key] = int(m.group(1))
    for m in re.finditer(r"'([^']+)' used (\d+) bytes", text):
        out[m.group(1)] = int(m.group(2))
    return out


def buffer_lifetimes(model: bytes):
    """(tensor, aligned bytes, first op, last op) of every non-constant tensor, as TFLite Micro's
    allocation info builder derives them: created by its producer (inputs: op 0), alive through
    its last reader (outputs: the last op)."""
    schema = need("ai_edge_litert.schema_py_generated", "ai-edge-litert")
    m = schema.Model.GetRootAsModel(model, 0)
    g = m.Subgraphs(0)
    n_ops = g.OperatorsLength()
    first, last = {}, {}

    def constant(t):
        return m.Buffers(g.Tensors(t).Buffer()).DataLength() > 0

    for t in g.InputsAsNumpy():
        first[t] = last[t] = 0
    for i in range(n_ops):
        op = g.Operators(i)
        for t in op.InputsAsNumpy():
            if t >= 0 and not constant(t):
                first.setdefault(t, i)
                last[t] = max(last.get(t, i), i)
        for t in op.OutputsAsNumpy():
            first.setdefault(t, i)
            last[t] = max(last.get(t, i), i)
    for t in g.OutputsAsNumpy():
        last[t] = n_ops - 1
    out = []
    for t in sorted(first):
        n = int(np.prod(g.Tensors(t).ShapeAsNumpy()))
        out.append((t, (n + 15) // 16 * 16, first[t], last[t]))
    return out


def max_live(buffers) -> int:
    """The cost model's quantity: the most bytes alive at once (perfect packing)."""
    n = max(b[3] for b in buffers) + 1
    return max(sum(size for _, size, f, l in buffers if f <= i <= l) for i in range(n))
