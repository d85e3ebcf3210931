/* The C ABI of MicroNAS: what other NAS tools (and the Python package) link.
 *
 * Plain C, no C++ type or exception crosses it. Every entry point validates its arguments and
 * returns a micronas_status; on failure micronas_last_error() (per thread) says what was wrong.
 * Options go in and results come out as JSON text whose keys are the command-line options' and
 * the CLI's --json output's names (see micronas --help); strings the library returns are freed
 * with micronas_free().
 *
 * Thread safety: a context is used by one call at a time; micronas_cancel() may be called from
 * any thread while a call runs on the context. Different contexts may run concurrently.
 *
 * Shared cores: the CPU backend uses OpenMP; set OMP_WAIT_POLICY=PASSIVE and (GNU OpenMP)
 * GOMP_SPINCOUNT=200 in the environment before the library is loaded, or idle OpenMP threads
 * spin and a process sharing the cores slows down many times (the micronas program and the
 * Python package do this themselves). */
#ifndef MICRONAS_MICRONAS_H
#define MICRONAS_MICRONAS_H

#include <stddef.h>
#include <stdint.h>

#include "micronas/micronas_export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum micronas_status {
  MICRONAS_OK = 0,
  MICRONAS_INVALID_ARGUMENT = 1, /* a value outside its domain: bad option, shape, name */
  MICRONAS_PARSE_ERROR = 2,      /* malformed text: architecture string, JSON */
  MICRONAS_IO_ERROR = 3,         /* a file that cannot be read, or is truncated or malformed */
  MICRONAS_OUT_OF_MEMORY = 4,
  MICRONAS_NUMERICAL_ERROR = 5, /* NaN or Inf where a finite value is required */
  MICRONAS_UNSUPPORTED = 6,     /* a backend or feature this build or machine lacks */
  MICRONAS_INFEASIBLE = 7,      /* no architecture satisfies the given limits */
  MICRONAS_CANCELLED = 8,       /* micronas_cancel() or the progress callback stopped the call */
  MICRONAS_INTERNAL = 9         /* a broken invariant: a bug in the library */
} micronas_status;

/* The library's version, "MAJOR.MINOR.PATCH". */
MICRONAS_EXPORT const char* micronas_version(void);
/* What the last failed call on this thread was about; "" if none failed. Valid until the next
 * call on this thread. */
MICRONAS_EXPORT const char* micronas_last_error(void);
/* The name of a status, e.g. "invalid argument". */
MICRONAS_EXPORT const char* micronas_status_name(micronas_status status);
/* Frees a string returned by the library (NULL is ignored). */
MICRONAS_EXPORT void micronas_free(char* text);

/* --- Where computations run ----------------------------------------------------------------- */

typedef struct micronas_context micronas_context;
/* backend: "cpu", "cuda" or "auto" (CUDA when a device is present, else CPU); threads: CPU
 * threads, 1..1024, or 0 for OpenMP's default; device: CUDA device index. A context's thread
 * count applies to its own calls only (each call sets it on the thread that makes the call). */
MICRONAS_EXPORT micronas_status micronas_context_create(const char* backend, int threads,
                                                        int device, micronas_context** out);
MICRONAS_EXPORT void micronas_context_destroy(micronas_context* context);
/* E.g. "cpu (2 threads)". */
MICRONAS_EXPORT micronas_status micronas_context_describe(const micronas_context* context,
                                                          char** out);
/* Asks the call running on `context` to stop: it returns MICRONAS_CANCELLED at its next check
 * (within one proxy evaluation). The request holds until the next call starts. */
MICRONAS_EXPORT void micronas_cancel(micronas_context* context);
/* {"cpu": {"threads": N}, "cuda_compiled": bool, "cuda_devices": [...], "auto": "cpu"|"cuda"} */
MICRONAS_EXPORT micronas_status micronas_devices(char** json_out);

/* Progress of a long call: (done, total) units of work. A non-zero return cancels the call. */
typedef int (*micronas_progress_fn)(int64_t done, int64_t total, void* user);

/* --- Architectures -------------------------------------------------------------------------- */

/* The canonical NB201 string of `text` (a cell, a supernet state, "supernet", "supernet-none"). */
MICRONAS_EXPORT micronas_status micronas_arch_canonical(const char* text, char** out);

typedef struct micronas_benchmark micronas_benchmark;
/* An NB201 benchmark table (the CSV that `micronas info --benchmark` reads). */
MICRONAS_EXPORT micronas_status micronas_benchmark_open(const char* path, micronas_benchmark** out);
MICRONAS_EXPORT void micronas_benchmark_close(micronas_benchmark* table);
MICRONAS_EXPORT micronas_status micronas_benchmark_index(const micronas_benchmark* table,
                                                         const char* arch, int64_t* index);
MICRONAS_EXPORT micronas_status micronas_benchmark_arch(const micronas_benchmark* table,
                                                        int64_t index, char** arch_out);
/* The table's row of `arch` as JSON: {"index": ..., "<column>": value, ...}. */
MICRONAS_EXPORT micronas_status micronas_benchmark_row(const micronas_benchmark* table,
                                                       const char* arch, char** json_out);

/* --- Proxies and searches --------------------------------------------------------------------
 * options_json may be NULL or "{}" for the defaults; unknown keys are refused by name. */

/* `micronas score ARCH --json`. Options: dataset, data, seed, batch, repeat, init, lr_samples,
 * lr_batches, verify_lr. */
MICRONAS_EXPORT micronas_status micronas_score(micronas_context* context, const char* arch,
                                               const char* options_json, char** result_json);

/* A tensor given by the caller, e.g. one parameter named by its PyTorch state_dict key. */
typedef struct micronas_tensor {
  const char* name;  /* parameter name; ignored for inputs */
  const float* data; /* contiguous, row-major */
  int64_t size;      /* number of floats */
} micronas_tensor;

/* The NTK condition number of `arch` on the caller's inputs [n, c, h, w] (c = 3, h = w = the
 * dataset's input size), with the caller's parameters where given (every parameter of the NTK
 * network by name, or none: then they are drawn from options' seed and init as `micronas score
 * --seed` draws its first repeat's). Options: dataset, seed, init, and param_shapes
 * ({"name": [dims], ...}: the given parameters' shapes, each checked against the network's).
 * Result: {"ntk_condition", "ntk_condition_tenas", "ntk_valid", "lambda_min", "lambda_max",
 * "eigenvalues", "jacobian_columns"}. */
MICRONAS_EXPORT micronas_status micronas_ntk_condition(micronas_context* context, const char* arch,
                                                       const char* options_json,
                                                       const float* inputs, int n, int c, int h,
                                                       int w, const micronas_tensor* params,
                                                       int num_params, char** result_json);

/* The number of linear regions of `arch`'s linear-region network on the caller's inputs
 * [n, 1, 3, 3] (one batch: BN statistics over all n), with the caller's parameters where given
 * (else drawn as micronas_ntk_condition draws them). Options: dataset, seed, init,
 * param_shapes. */
MICRONAS_EXPORT micronas_status micronas_linear_regions(micronas_context* context, const char* arch,
                                                        const char* options_json,
                                                        const float* inputs, int n, int c, int h,
                                                        int w, const micronas_tensor* params,
                                                        int num_params, int64_t* count);

/* `micronas search --json`: the pruning search. Options: those of score plus batches,
 * precision, ties, flops_weight, latency_weight, target, runtime, latency_table, max_latency_ms,
 * max_sram_kb, max_flash_kb, start. Progress counts scored candidates. */
MICRONAS_EXPORT micronas_status micronas_search(micronas_context* context, const char* options_json,
                                                micronas_progress_fn progress, void* user,
                                                char** result_json);

/* `micronas random-search --json`. Options: those of score plus samples, flops_weight,
 * latency_weight, target, runtime, latency_table and the limits. Progress counts scored cells. */
MICRONAS_EXPORT micronas_status micronas_random_search(micronas_context* context,
                                                       const char* options_json,
                                                       micronas_progress_fn progress, void* user,
                                                       char** result_json);

/* Rows of `micronas sweep` for the cells in cells_json (a JSON array of arch strings), as JSON:
 * {"columns": [...], "rows": [[...], ...]}. Options: those of score plus target. */
MICRONAS_EXPORT micronas_status micronas_sweep(micronas_context* context, const char* cells_json,
                                               const char* options_json,
                                               micronas_progress_fn progress, void* user,
                                               char** result_json);

/* The deployed network's cost on a microcontroller (`micronas mcu ARCH --json`'s totals).
 * Options: dataset, target, runtime, latency_table, clock_mhz. */
MICRONAS_EXPORT micronas_status micronas_mcu_estimate(const char* arch, const char* options_json,
                                                      char** result_json);

#ifdef __cplusplus
}
#endif

#endif /* MICRONAS_MICRONAS_H */
