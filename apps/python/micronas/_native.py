"""The C ABI (include/micronas/micronas.h) through ctypes: loading, signatures, errors, and
calls that release the GIL and stop on Ctrl-C."""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path

# Status codes of micronas_status, in order.
OK, INVALID_ARGUMENT, PARSE_ERROR, IO_ERROR, OUT_OF_MEMORY, NUMERICAL_ERROR, UNSUPPORTED, \
    INFEASIBLE, CANCELLED, INTERNAL = range(10)


class MicronasError(Exception):
    """Base of every error the library reports."""


class InvalidArgumentError(MicronasError, ValueError):
    """A bad architecture string, option, shape or name."""


class MicronasIOError(MicronasError, OSError):
    """A file that cannot be read, or is truncated or malformed."""


class MicronasMemoryError(MicronasError, MemoryError):
    """Memory ran out."""


class NumericalError(MicronasError, ArithmeticError):
    """NaN or Inf where a finite value is required (e.g. in the inputs)."""


class UnsupportedError(MicronasError, RuntimeError):
    """A backend or feature this build or machine does not have."""


class InfeasibleError(MicronasError):
    """No architecture satisfies the given limits."""


class CancelledError(MicronasError):
    """The call was cancelled by its progress callback."""


_ERRORS = {
    INVALID_ARGUMENT: InvalidArgumentError,
    PARSE_ERROR: InvalidArgumentError,
    IO_ERROR: MicronasIOError,
    OUT_OF_MEMORY: MicronasMemoryError,
    NUMERICAL_ERROR: NumericalError,
    UNSUPPORTED: UnsupportedError,
    INFEASIBLE: InfeasibleError,
    CANCELLED: CancelledError,
}


class Tensor(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("data", ctypes.POINTER(ctypes.c_float)),
                ("size", ctypes.c_int64)]


PROGRESS = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p)


def _library_path() -> str:
    """The shared library installed beside this package, or $MICRONAS_LIBRARY."""
    override = os.environ.get("MICRONAS_LIBRARY")
    if override:
        return override
    here = Path(__file__).resolve().parent
    for name in ("libmicronas.so.0", "libmicronas.so", "libmicronas.dylib", "micronas.dll"):
        if (here / name).exists():
            return str(here / name)
    raise ImportError(f"the micronas shared library is not installed in {here} "
                      "(install the package with `pip install .`, or set MICRONAS_LIBRARY)")


def _load() -> ctypes.CDLL:
    # OpenMP threads that spin while idle take shared cores from the threads doing the work;
    # GNU OpenMP reads the policy when it is first loaded, which is here unless another module
    # loaded it before (the user's own OMP_WAIT_POLICY always wins).
    # A short spin, then sleep: see apps/micronas/openmp_wait_policy.hpp.
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        os.environ["GOMP_SPINCOUNT"] = "200"
    # CDLL (not PyDLL): ctypes releases the GIL for the duration of every call.
    lib = ctypes.CDLL(_library_path())
    c_char_pp = ctypes.POINTER(ctypes.c_char_p)
    status = ctypes.c_int
    signatures = {
        "micronas_version": (ctypes.c_char_p, []),
        "micronas_last_error": (ctypes.c_char_p, []),
        "micronas_free": (None, [ctypes.c_void_p]),
        "micronas_context_create": (status, [ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
                                             ctypes.POINTER(ctypes.c_void_p)]),
        "micronas_context_destroy": (None, [ctypes.c_void_p]),
        "micronas_context_describe": (status, [ctypes.c_void_p, c_char_pp]),
        "micronas_cancel": (None, [ctypes.c_void_p]),
        "micronas_devices": (status, [c_char_pp]),
        "micronas_arch_canonical": (status, [ctypes.c_char_p, c_char_pp]),
        "micronas_benchmark_open": (status, [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]),
        "micronas_benchmark_close": (None, [ctypes.c_void_p]),
        "micronas_benchmark_index": (status, [ctypes.c_void_p, ctypes.c_char_p,
                                              ctypes.POINTER(ctypes.c_int64)]),
        "micronas_benchmark_arch": (status, [ctypes.c_void_p, ctypes.c_int64, c_char_pp]),
        "micronas_benchmark_row": (status, [ctypes.c_void_p, ctypes.c_char_p, c_char_pp]),
        "micronas_score": (status, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                    c_char_pp]),
        "micronas_ntk_condition": (status, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                            ctypes.POINTER(ctypes.c_float)] +
                                   [ctypes.c_int] * 4 +
                                   [ctypes.POINTER(Tensor), ctypes.c_int, c_char_pp]),
        "micronas_linear_regions": (status, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                             ctypes.POINTER(ctypes.c_float)] +
                                    [ctypes.c_int] * 4 +
                                    [ctypes.POINTER(Tensor), ctypes.c_int,
                                     ctypes.POINTER(ctypes.c_int64)]),
        "micronas_search": (status, [ctypes.c_void_p, ctypes.c_char_p, PROGRESS,
                                     ctypes.c_void_p, c_char_pp]),
        "micronas_random_search": (status, [ctypes.c_void_p, ctypes.c_char_p, PROGRESS,
                                            ctypes.c_void_p, c_char_pp]),
        "micronas_sweep": (status, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, PROGRESS,
                                    ctypes.c_void_p, c_char_pp]),
        "micronas_mcu_estimate": (status, [ctypes.c_char_p, ctypes.c_char_p, c_char_pp]),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


lib = _load()


def take_string(pointer: ctypes.c_char_p) -> str:
    """The text of a string the library returned, which is then freed."""
    try:
        return pointer.value.decode("utf-8") if pointer.value is not None else ""
    finally:
        lib.micronas_free(pointer)


def raise_for(status: int, message: str) -> None:
    if status == OK:
        return
    raise _ERRORS.get(status, MicronasError)(message)


def call(fn, *args) -> None:
    """Runs fn(*args) on this thread (short calls) and raises for a failed status."""
    status = fn(*args)
    if status != OK:
        raise_for(status, lib.micronas_last_error().decode("utf-8", "replace"))


def call_cancellable(context_handle, fn, *args) -> None:
    """Runs a long fn(*args) on a worker thread while this thread waits, so that Ctrl-C
    (KeyboardInterrupt) is seen within a fraction of a second: it cancels the call through
    micronas_cancel, waits for the worker to finish (no thread is left running) and re-raises.
    The wait is on an event the worker sets when fn has returned, not on Thread.join: a join
    interrupted by KeyboardInterrupt marks a still running thread as stopped (CPython's
    bpo-45274 handling), so a second join would return at once."""
    outcome: dict = {}
    finished = threading.Event()

    def work():
        try:
            status = fn(*args)
            outcome["status"] = status
            if status != OK:  # the message is per thread: read it on the calling thread
                outcome["message"] = lib.micronas_last_error().decode("utf-8", "replace")
        finally:
            finished.set()

    worker = threading.Thread(target=work, name="micronas-call", daemon=True)
    worker.start()
    try:
        while not finished.wait(0.05):
            pass
    except BaseException:
        lib.micronas_cancel(context_handle)
        finished.wait()
        worker.join()
        raise
    worker.join()
    raise_for(outcome["status"], outcome.get("message", ""))
