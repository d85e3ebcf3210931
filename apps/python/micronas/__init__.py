"""MicroNAS: training-free, hardware-aware neural architecture search for microcontrollers.

The NTK condition number and linear regions of NAS-Bench-201 networks (on CPU or CUDA), the
pruning search under microcontroller limits, sweeps, and the modeled cost of the deployed int8
network, from Python. Calls release the GIL; Ctrl-C interrupts a long call."""

from ._api import (SWEEP_DTYPE, Benchmark, Context, canonical_arch, devices, linear_regions,
                   load_state_dict, mcu_estimate, ntk_condition, random_search, score, search,
                   sweep, version)
from ._native import (CancelledError, InfeasibleError, InvalidArgumentError, MicronasError,
                      MicronasIOError, MicronasMemoryError, NumericalError, UnsupportedError)

__version__ = version()

__all__ = [
    "Benchmark", "CancelledError", "Context", "InfeasibleError", "InvalidArgumentError",
    "MicronasError", "MicronasIOError", "MicronasMemoryError", "NumericalError", "SWEEP_DTYPE",
    "UnsupportedError", "canonical_arch", "devices", "linear_regions", "load_state_dict",
    "mcu_estimate", "ntk_condition", "random_search", "score", "search", "sweep", "version",
]
