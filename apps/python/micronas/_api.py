"""What a NAS researcher calls: proxies, searches, sweeps and microcontroller costs of NB201
architectures, on numpy arrays where the caller brings data."""

from __future__ import annotations

import ctypes
import json
import math
import numbers
import os
import threading
from pathlib import Path
from typing import Callable, Dict, Iterable, Mapping, Optional, Union

import numpy as np

from . import _native
from ._native import lib

ProgressFn = Callable[[int, int], Optional[bool]]


def version() -> str:
    """The library's version."""
    return lib.micronas_version().decode()


INT32_MAX = 2**31 - 1


def _text(value, what: str) -> bytes:
    """A string argument for the C ABI: a str (or a path where a file is meant) without NUL
    characters, which C would silently cut the text at."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, got {type(value).__name__}")
    if "\x00" in value:
        raise _native.InvalidArgumentError(f"{what} contains a NUL character")
    return value.encode()


def _integer(value, what: str, low: int, high: int) -> int:
    """An integer argument (Python or numpy, not bool) within [low, high]: ctypes would wrap
    anything outside the C type silently."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be an integer, got {type(value).__name__}")
    value = int(value)
    if not low <= value <= high:
        raise _native.InvalidArgumentError(f"{what} must be in {low}..{high}, got {value}")
    return value


def _option_value(key: str, value):
    """One option as plain JSON: numpy scalars become Python ones; a non-finite number is
    refused by name (JSON has none)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        return _text(value, f"option '{key}'").decode()
    if isinstance(value, float) and not math.isfinite(value):
        raise _native.InvalidArgumentError(
            f"option '{key}' must be finite, got {value} (None leaves an option at its default, "
            "which for a limit is no limit)")
    if value is not None and not isinstance(value, (bool, int, float)):
        raise TypeError(f"option '{key}' must be a number, string or bool, "
                        f"got {type(value).__name__}")
    return value


def _options(options: Mapping[str, object], structured: Optional[dict] = None) -> bytes:
    """Keyword options as the C ABI's JSON; None values are left out (the defaults).
    `structured` adds options built here (not by the caller) whose values are JSON objects."""
    plain = {k: _option_value(k, v) for k, v in options.items() if v is not None}
    return json.dumps({**plain, **(structured or {})}, allow_nan=False).encode()


def _text_out() -> ctypes.c_char_p:
    return ctypes.c_char_p()


class Context:
    """Where computations run: ``Context("cpu", threads=2)``, ``Context("cuda", device=0)`` or
    ``Context("auto")`` (CUDA when a device is present, else CPU)."""

    def __init__(self, backend: str = "cpu", threads: int = 0, device: int = 0):
        self._handle = ctypes.c_void_p()
        handle = ctypes.c_void_p()
        _native.call(lib.micronas_context_create, _text(backend, "backend"),
                     _integer(threads, "threads", 0, 1024),
                     _integer(device, "device", 0, INT32_MAX), ctypes.byref(handle))
        self._handle = handle

    def close(self) -> None:
        if self._handle:
            lib.micronas_context_destroy(self._handle)
            self._handle = ctypes.c_void_p()

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_handle", None):
            self.close()

    def describe(self) -> str:
        out = _text_out()
        _native.call(lib.micronas_context_describe, self._handle, ctypes.byref(out))
        return _native.take_string(out)

    def __repr__(self) -> str:
        return f"Context({self.describe()!r})"


# A context serves one call at a time (its cancel flag is the call's): each Python thread that
# calls without a context gets its own default one, so that two threads' calls neither share a
# context nor cancel each other.
_default_contexts = threading.local()


def _context(context: Optional[Context]) -> Context:
    if context is not None:
        return context
    default = getattr(_default_contexts, "context", None)
    if default is None:
        default = _default_contexts.context = Context("cpu")
    return default


def devices() -> dict:
    """The backends this build has and the CUDA devices this machine shows."""
    out = _text_out()
    _native.call(lib.micronas_devices, ctypes.byref(out))
    return json.loads(_native.take_string(out))


def canonical_arch(arch: str) -> str:
    """The canonical NB201 string of a cell or supernet state; ValueError when malformed."""
    out = _text_out()
    _native.call(lib.micronas_arch_canonical, _text(arch, "arch"), ctypes.byref(out))
    return _native.take_string(out)


class Benchmark:
    """An NB201 benchmark table (CSV): index <-> architecture, and each cell's accuracies."""

    def __init__(self, path: Union[str, Path]):
        self._handle = None
        handle = ctypes.c_void_p()
        _native.call(lib.micronas_benchmark_open, _text(path, "path"), ctypes.byref(handle))
        self._handle = handle

    def __del__(self) -> None:
        if getattr(self, "_handle", None):
            lib.micronas_benchmark_close(self._handle)
            self._handle = None

    def index(self, arch: str) -> int:
        out = ctypes.c_int64()
        _native.call(lib.micronas_benchmark_index, self._handle, _text(arch, "arch"),
                     ctypes.byref(out))
        return out.value

    def arch(self, index: int) -> str:
        out = _text_out()
        _native.call(lib.micronas_benchmark_arch, self._handle,
                     _integer(index, "index", 0, INT32_MAX), ctypes.byref(out))
        return _native.take_string(out)

    def row(self, arch: Union[str, int]) -> dict:
        """The cell's official index and every numeric column (accuracies, ...)."""
        if isinstance(arch, (int, np.integer)) and not isinstance(arch, (bool, np.bool_)):
            arch = self.arch(arch)
        out = _text_out()
        _native.call(lib.micronas_benchmark_row, self._handle, _text(arch, "arch"),
                     ctypes.byref(out))
        return json.loads(_native.take_string(out))


def _resolve(arch: Union[str, int], benchmark: Optional[Benchmark]) -> bytes:
    if isinstance(arch, (int, np.integer)) and not isinstance(arch, (bool, np.bool_)):
        if benchmark is None:
            raise ValueError(f"{arch} is an NB201 index: pass benchmark= to look it up")
        return _text(benchmark.arch(arch), "arch")
    return _text(arch, "arch")


class _Progress:
    """A C progress callback; a callback that returns True cancels the call. An exception the
    callback raises cannot cross into C: it cancels the call and is raised again after it."""

    def __init__(self, callback: Optional[ProgressFn]):
        if callback is not None and not callable(callback):
            raise TypeError(f"progress must be callable, got {type(callback).__name__}")
        self.error: Optional[BaseException] = None
        if callback is None:
            self.c_function = _native.PROGRESS()
            return

        def report(done, total, _user):
            try:
                return 1 if callback(int(done), int(total)) else 0
            except BaseException as e:  # noqa: B036 - re-raised by call() below
                self.error = e
                return 1

        self.c_function = _native.PROGRESS(report)

    def call(self, context_handle, fn, *args) -> None:
        """fn(..., progress, None, ...) through call_cancellable, raising the callback's own
        exception where it cancelled the call."""
        try:
            _native.call_cancellable(context_handle, fn, *args)
        except _native.CancelledError:
            if self.error is not None:
                raise self.error
            raise


def score(arch: Union[str, int], *, dataset: str = "cifar10", data: str = "synthetic",
          seed: int = 0, batch: int = 72, repeat: int = 3, init: str = "released",
          lr_samples: Optional[int] = None, lr_batches: Optional[int] = None,
          verify_lr: bool = False, benchmark: Optional[Benchmark] = None,
          context: Optional[Context] = None) -> dict:
    """TE-NAS's proxies of a cell or supernet state, as ``micronas score ARCH --json``: the mean
    NTK condition number (TE-NAS's value), validity, linear regions, FLOPs/params, and per
    repeat κ, λ_min, λ_max, regions and timings."""
    ctx = _context(context)
    out = _text_out()
    opts = _options(dict(dataset=dataset, data=data, seed=seed, batch=batch, repeat=repeat,
                         init=init, lr_samples=lr_samples, lr_batches=lr_batches,
                         verify_lr=verify_lr))
    _native.call_cancellable(ctx._handle, lib.micronas_score, ctx._handle,
                             _resolve(arch, benchmark), opts, ctypes.byref(out))
    return json.loads(_native.take_string(out))


def _tensors(params: Optional[Mapping[str, np.ndarray]]):
    """The caller's parameters as C tensors, with the arrays kept alive alongside, and their
    shapes (the library checks each against the network's: a transposed weight has the right
    size but the wrong layout)."""
    if params is None or len(params) == 0:
        return None, 0, [], {}
    if not isinstance(params, Mapping):
        raise TypeError(f"params must map parameter names to arrays, got {type(params).__name__}")
    keep = []
    shapes = {}
    tensors = (_native.Tensor * len(params))()
    for i, (name, value) in enumerate(params.items()):
        array = np.ascontiguousarray(np.asarray(value, dtype=np.float32))
        keep.append(array)
        tensors[i].name = _text(name, "a parameter name")
        tensors[i].data = array.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        tensors[i].size = array.size
        shapes[name] = list(array.shape)
    return tensors, len(params), keep, shapes


def _inputs(inputs: np.ndarray):
    if not isinstance(inputs, (np.ndarray, list, tuple)):
        raise TypeError(f"inputs must be an array [N, C, H, W], got {type(inputs).__name__}")
    array = np.ascontiguousarray(np.asarray(inputs, dtype=np.float32))
    if array.ndim != 4:
        raise ValueError(f"inputs must be a 4-D array [N, C, H, W], got shape {array.shape}")
    if max(array.shape) > INT32_MAX:
        raise ValueError(f"inputs of shape {array.shape} are too large")
    return array, array.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


def _network_options(dataset: str, seed: int, init: str, shapes: dict) -> bytes:
    return _options(dict(dataset=dataset, seed=seed, init=init),
                    {"param_shapes": shapes} if shapes else None)


def ntk_condition(arch: str, inputs: np.ndarray,
                  params: Optional[Mapping[str, np.ndarray]] = None, *,
                  dataset: str = "cifar10", seed: int = 0, init: str = "released",
                  context: Optional[Context] = None) -> dict:
    """The NTK condition number of ``arch``'s TE-NAS NTK network on the caller's inputs
    (float32 [N, 3, H, W]). ``params`` maps the PyTorch ``state_dict`` keys (what
    ``micronas score --dump`` writes, see :func:`load_state_dict`) to arrays of the
    ``state_dict``'s shapes and must give every parameter; without it the parameters are drawn
    from ``seed`` and ``init`` exactly as :func:`score` (``micronas score --seed``) draws those
    of its first repeat."""
    ctx = _context(context)
    array, pointer = _inputs(inputs)
    tensors, count, _keep, shapes = _tensors(params)
    out = _text_out()
    _native.call_cancellable(ctx._handle, lib.micronas_ntk_condition, ctx._handle,
                             _text(arch, "arch"), _network_options(dataset, seed, init, shapes),
                             pointer, *array.shape, tensors, count, ctypes.byref(out))
    return json.loads(_native.take_string(out))


def linear_regions(arch: str, inputs: np.ndarray,
                   params: Optional[Mapping[str, np.ndarray]] = None, *,
                   dataset: str = "cifar10", seed: int = 0, init: str = "released",
                   context: Optional[Context] = None) -> int:
    """The number of distinct activation patterns (linear regions) of ``arch``'s TE-NAS
    linear-region network over the caller's inputs (float32 [N, 1, 3, 3], one batch);
    ``params``, ``seed`` and ``init`` as in :func:`ntk_condition`."""
    ctx = _context(context)
    array, pointer = _inputs(inputs)
    tensors, count, _keep, shapes = _tensors(params)
    out = ctypes.c_int64()
    _native.call_cancellable(ctx._handle, lib.micronas_linear_regions, ctx._handle,
                             _text(arch, "arch"), _network_options(dataset, seed, init, shapes),
                             pointer, *array.shape, tensors, count, ctypes.byref(out))
    return out.value


def search(*, progress: Optional[ProgressFn] = None, context: Optional[Context] = None,
           **options) -> dict:
    """TE-NAS's pruning search with MicroNAS's hybrid ranks and hard limits: the cell found,
    every round's scores and ranks, and the MCU cost, as in ``micronas search --json`` (which
    adds the options, the benchmark's accuracies and the cell's index). Options are the CLI's,
    with '_' for '-': dataset, data, seed, batch, repeat, init, batches, precision, ties,
    flops_weight, latency_weight, target, runtime, latency_table, max_latency_ms, max_sram_kb,
    max_flash_kb, start; and lr_samples, lr_batches, verify_lr. Raises InfeasibleError when no
    cell satisfies the limits."""
    ctx = _context(context)
    out = _text_out()
    report = _Progress(progress)
    report.call(ctx._handle, lib.micronas_search, ctx._handle, _options(options),
                report.c_function, None, ctypes.byref(out))
    return json.loads(_native.take_string(out))


def random_search(*, progress: Optional[ProgressFn] = None,
                  context: Optional[Context] = None, **options) -> dict:
    """The random-search baseline under the same limits, as ``micronas random-search --json``'s
    search part (the cells scored and the one chosen). Options: dataset, data, seed, batch,
    repeat, init, lr_samples, lr_batches, verify_lr, samples, flops_weight, latency_weight,
    target, runtime, latency_table, max_latency_ms, max_sram_kb, max_flash_kb."""
    ctx = _context(context)
    out = _text_out()
    report = _Progress(progress)
    report.call(ctx._handle, lib.micronas_random_search, ctx._handle, _options(options),
                report.c_function, None, ctypes.byref(out))
    return json.loads(_native.take_string(out))


SWEEP_DTYPE = np.dtype([("cell_id", np.int32), ("arch", "U160"), ("ntk_condition", np.float64),
                        ("ntk_valid", np.bool_), ("linear_regions", np.float64),
                        ("flops_m", np.float64), ("params_m", np.float64),
                        ("latency_ms", np.float64), ("peak_sram_kb", np.float64),
                        ("flash_kb", np.float64), ("ntk_seconds", np.float64),
                        ("lr_seconds", np.float64)])


def sweep(cells: Iterable[str], *, progress: Optional[ProgressFn] = None,
          context: Optional[Context] = None, as_frame: bool = False, **options):
    """The rows of ``micronas sweep`` for the given cells, as a numpy structured array (or a
    pandas DataFrame with ``as_frame=True``). Each cell is scored with a seed derived from
    ``seed`` and its cell id, as the CLI does. Options: those of :func:`score` plus target."""
    if isinstance(cells, (str, bytes)):
        raise TypeError("cells must be an iterable of architecture strings, not one string")
    cell_list = [_text(c, "a cell").decode() for c in cells]
    ctx = _context(context)
    out = _text_out()
    report = _Progress(progress)
    report.call(ctx._handle, lib.micronas_sweep, ctx._handle, json.dumps(cell_list).encode(),
                _options(options), report.c_function, None, ctypes.byref(out))
    result = json.loads(_native.take_string(out))
    rows = [tuple(np.nan if v is None else v for v in row) for row in result["rows"]]
    table = np.array(rows, dtype=SWEEP_DTYPE)
    if as_frame:
        import pandas  # optional: only when asked for

        return pandas.DataFrame(table)
    return table


def mcu_estimate(arch: str, *, dataset: str = "cifar10", target: str = "stm32f746",
                 runtime: str = "tflm", latency_table: str = "model",
                 clock_mhz: Optional[float] = None) -> dict:
    """Latency, peak SRAM and flash of the NB201 network of ``arch`` deployed as int8 TFLite
    Micro + CMSIS-NN on a microcontroller (``micronas mcu ARCH --json``'s totals)."""
    out = _text_out()
    _native.call(lib.micronas_mcu_estimate, _text(arch, "arch"),
                 _options(dict(dataset=dataset, target=target, runtime=runtime,
                               latency_table=latency_table, clock_mhz=clock_mhz)),
                 ctypes.byref(out))
    return json.loads(_native.take_string(out))


def load_state_dict(folder: Union[str, Path]) -> Dict[str, np.ndarray]:
    """Parameters saved one ``<state_dict key>.npy`` per tensor (what ``micronas score --dump``
    writes into ntk_params/ and lr_params/), keyed by name."""
    folder = Path(folder)
    files = sorted(folder.glob("*.npy"))
    if not files:
        raise FileNotFoundError(f"{folder}: no .npy parameter files")
    return {f.name[:-len(".npy")]: np.load(f) for f in files}
