#!/usr/bin/env bash
# The GPU check: on a machine with a CUDA GPU, builds MicroNAS for that GPU, runs the whole test
# suite with MICRONAS_REQUIRE_CUDA=1 (CUDA tests fail instead of skipping), the CUDA tests under
# compute-sanitizer memcheck and racecheck, and the NTK and linear-region timings on both
# backends, all into one log. Sized to finish in under 8 minutes on an H200 (every step has a
# time limit taken from what is left of the budget), and it always ends with a summary of what
# ran, what passed and what could not run.
#
#   scripts/gpu_check.sh                 run the check; the log goes to $OUT/gpu_check.log when
#                                        OUT is set, else ./gpu_check.log
#   scripts/gpu_check.sh --bundle DIR    (on a machine that has them) copy the build's
#                                        dependencies GoogleTest, Google Benchmark, nlohmann_json
#                                        and CLI11 into DIR, to bring to a GPU machine without
#                                        network access
#
# Environment:
#   MICRONAS_DEPS      a folder made by --bundle (default: build-deps in this checkout, where
#                      `scripts/gpu_check.sh --bundle build-deps` puts it; git ignores it, so
#                      copy it along explicitly); it is searched first for the dependencies
#   MICRONAS_PREBUILT  a folder of test binaries built elsewhere (test_cuda_backend,
#                      test_cuda_host), used for the CUDA tests when this build has no tests
#                      (e.g. GoogleTest is missing here)
#   MICRONAS_BUILD_DIR the build folder (default build-gpu in this checkout; a second run
#                      reuses it and rebuilds only what changed)
#   GPU_CHECK_SKIP_BUILD=1  use MICRONAS_BUILD_DIR as it is: no configure, no build
#   GPU_CHECK_BUDGET   seconds for the whole check (default 460)
#   CUDA_ARCH          CMAKE_CUDA_ARCHITECTURES (default: the GPU's compute capability, else 90)
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"

bundle() {
  local dest="$1" arch_dir lib
  arch_dir="$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
  lib="/usr/lib/${arch_dir}"
  mkdir -p "${dest}/usr/include" "${dest}/usr/lib/${arch_dir}/cmake" "${dest}/usr/share/cmake"
  for d in gtest gmock benchmark nlohmann CLI; do
    [ -d "/usr/include/${d}" ] && cp -a "/usr/include/${d}" "${dest}/usr/include/"
  done
  for f in "${lib}"/libgtest* "${lib}"/libgmock* "${lib}"/libbenchmark*; do
    [ -e "${f}" ] && cp -a "${f}" "${dest}/usr/lib/${arch_dir}/"
  done
  for d in GTest benchmark; do
    [ -d "${lib}/cmake/${d}" ] && cp -a "${lib}/cmake/${d}" "${dest}/usr/lib/${arch_dir}/cmake/"
  done
  for d in nlohmann_json CLI11; do
    [ -d "/usr/share/cmake/${d}" ] && cp -a "/usr/share/cmake/${d}" "${dest}/usr/share/cmake/"
    [ -d "${lib}/cmake/${d}" ] && cp -a "${lib}/cmake/${d}" "${dest}/usr/lib/${arch_dir}/cmake/"
  done
  echo "bundled into ${dest}:"
  du -sh "${dest}"
}

if [ "${1:-}" = "--bundle" ]; then
  [ -n "${2:-}" ] || { echo "usage: $0 --bundle DIR" >&2; exit 2; }
  bundle "$2"
  exit 0
fi

log_dir="${OUT:-$PWD}"
mkdir -p "${log_dir}"
log="${log_dir}/gpu_check.log"
exec > >(tee "${log}") 2>&1

budget="${GPU_CHECK_BUDGET:-460}"
start=$(date +%s)
declare -a summary=()
note() { summary+=("$1"); echo ">>> $1"; }
left() { echo $((budget - ($(date +%s) - start))); }
# limit MAX RESERVE: at most MAX seconds, leaving RESERVE for the steps after this one.
# Never below 5 s: a step that no longer fits still gets a moment to say why it stopped.
limit() {
  local l=$(($(left) - $2))
  [ "${l}" -gt "$1" ] && l=$1
  [ "${l}" -lt 5 ] && l=5
  echo "${l}"
}
section() { echo; echo "=== $1 ($(($(date +%s) - start)) s elapsed, $(left) s left) ==="; }

section "machine"
date -u
echo "commit: $(git -C "${root}" rev-parse HEAD 2>/dev/null || echo 'unknown (no git metadata)')"
nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv 2>&1 || true
nvcc --version 2>&1 | tail -2 || true
cmake --version 2>&1 | head -1 || true
echo "cores: $(nproc)"
sanitizer="$(command -v compute-sanitizer || true)"
[ -z "${sanitizer}" ] && [ -x /usr/local/cuda/bin/compute-sanitizer ] &&
  sanitizer=/usr/local/cuda/bin/compute-sanitizer
echo "compute-sanitizer: ${sanitizer:-not found}"

arch="${CUDA_ARCH:-}"
if [ -z "${arch}" ]; then
  cap="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')"
  arch="${cap:-90}"
fi
deps="${MICRONAS_DEPS:-${root}/build-deps}"
prefix=""
if [ -d "${deps}/usr" ]; then
  prefix="${deps}/usr"
  multiarch_lib="$(find "${deps}/usr/lib" -maxdepth 1 -mindepth 1 -type d | head -1)"
  export LD_LIBRARY_PATH="${multiarch_lib:-${deps}/usr/lib}:${LD_LIBRARY_PATH:-}"
  echo "dependencies from ${deps}"
fi

build="${MICRONAS_BUILD_DIR:-${root}/build-gpu}"
case "${build}" in /*) ;; *) build="${root}/${build}" ;; esac
skip_build="${GPU_CHECK_SKIP_BUILD:-0}"
section "configure (CUDA architectures ${arch})"
configure() {
  timeout "$(limit 90 360)" cmake -S "${root}" -B "${build}" -DCMAKE_BUILD_TYPE=Release \
    -DMICRONAS_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="${arch}" -DMICRONAS_WERROR=OFF \
    ${prefix:+-DCMAKE_PREFIX_PATH="${prefix}"} "$@"
}
tests=ON
benches=ON
if [ "${skip_build}" = 1 ]; then
  note "configure and build: skipped (GPU_CHECK_SKIP_BUILD=1, using ${build} as it is)"
elif ! configure -DMICRONAS_BUILD_TESTS=ON -DMICRONAS_BUILD_BENCHMARKS=ON; then
  benches=OFF
  if ! configure -DMICRONAS_BUILD_TESTS=ON -DMICRONAS_BUILD_BENCHMARKS=OFF; then
    tests=OFF
    rm -f "${build}/CMakeCache.txt"
    if ! configure -DMICRONAS_BUILD_TESTS=OFF -DMICRONAS_BUILD_BENCHMARKS=OFF; then
      note "configure: FAILED (see above; nlohmann_json and CLI11 are required)"
      tests=none
    fi
  fi
fi
[ "${tests}" = OFF ] && note "configure: GoogleTest not found, tests not built"
[ "${benches}" = OFF ] && note "configure: benchmarks off (Google Benchmark or GoogleTest not found)"

built=no
[ "${skip_build}" = 1 ] && [ -f "${build}/CTestTestfile.cmake" ] && built=yes
if [ "${tests}" != none ] && [ "${skip_build}" != 1 ]; then
  section "build"
  if timeout "$(limit 240 200)" cmake --build "${build}" -j"$(nproc)"; then
    built=yes
    note "build: ok (sm_${arch})"
  else
    note "build: FAILED or timed out"
  fi
fi

# Where the CUDA test binaries are: this build, else prebuilt ones.
bin=""
if [ -x "${build}/tests/test_cuda_backend" ]; then
  bin="${build}/tests"
elif [ -n "${MICRONAS_PREBUILT:-}" ] && [ -x "${MICRONAS_PREBUILT}/test_cuda_backend" ]; then
  bin="${MICRONAS_PREBUILT}"
  note "CUDA tests: using prebuilt binaries from ${bin}"
fi

export MICRONAS_REQUIRE_CUDA=1
if [ "${built}" = yes ] && [ "${tests}" = ON ]; then
  # The CUDA tests first, so that they run even if the rest of the suite overruns its time.
  section "ctest: CUDA tests (MICRONAS_REQUIRE_CUDA=1)"
  t=$(limit 120 300)
  if timeout "${t}" ctest --test-dir "${build}" --output-on-failure -j4 --timeout 100 -R '^Cuda'; then
    note "ctest CUDA tests: all passed"
  else
    note "ctest CUDA tests: FAILURES or timeout (limit ${t} s), see above"
  fi
  section "ctest: the rest of the suite"
  t=$(limit 150 240)
  if timeout "${t}" ctest --test-dir "${build}" --output-on-failure -j"$(nproc)" --timeout 120 \
      -E '^Cuda'; then
    note "ctest other tests: all passed"
  else
    note "ctest other tests: FAILURES or timeout (limit ${t} s), see above"
  fi
elif [ -n "${bin}" ]; then
  section "CUDA tests (prebuilt, MICRONAS_REQUIRE_CUDA=1)"
  for t in test_cuda_host test_cuda_ops test_cuda_backend; do
    if [ -x "${bin}/${t}" ] && timeout "$(limit 90 150)" "${bin}/${t}"; then
      note "${t}: passed"
    else
      note "${t}: FAILED or could not run"
    fi
  done
else
  note "tests: none could run (no test binaries)"
fi

section "timings: NTK (round-1 supernet and a cell, B = 72 and 128) and linear regions"
if [ -n "${bin}" ]; then
  t=$(limit 100 130)
  if timeout "${t}" "${bin}/test_cuda_backend" --gtest_also_run_disabled_tests \
      --gtest_filter='*DISABLED_TimingNtkAndLinearRegions'; then
    note "timings: ok (TIMING lines above)"
  else
    note "timings: FAILED or timed out (limit ${t} s)"
  fi
else
  note "timings: could not run (no test_cuda_backend binary)"
fi
cli="${build}/micronas"
[ -x "${cli}" ] || cli="${build}/apps/micronas/micronas"
if [ -x "${cli}" ] && "${cli}" score --help 2>&1 | grep -q -- "--backend"; then
  for backend in cpu cuda; do
    t=$(limit 40 130)
    [ "$(left)" -lt 150 ] && break
    echo "--- micronas score supernet-none --batch 128 --backend ${backend} --json"
    if time timeout "${t}" "${cli}" score supernet-none --batch 128 --backend "${backend}" \
        --json; then
      note "CLI score --backend ${backend}: ok (wall time above)"
    else
      note "CLI score --backend ${backend}: FAILED"
    fi
  done
else
  note "CLI: no --backend option in this build (score runs on the CPU only)"
fi

# The sanitizers run a representative subset: every kernel, forward and backward, the Gram,
# the eigensolver and the pattern count, on small batches.
subset="CudaBackendTest.BackwardOfSeveralCotangentsMatchesCpu:\
CudaBackendTest.LinearRegionCountsEqualCpuExactly:CudaBackendTest.PatternHashOfWideLayersEqualsCpu:\
CudaBackendTest.SpectrumOfALargerBatchAfterASmallerOne:CudaBackendTest.NonFiniteInputNamesTheSample:\
CudaBackendTest.CallsOutOfOrderAreInvalidArguments"
for tool in memcheck racecheck; do
  section "compute-sanitizer ${tool}"
  if [ -z "${sanitizer}" ]; then
    note "sanitizer ${tool}: could not run (compute-sanitizer not found)"
    continue
  fi
  if [ -z "${bin}" ]; then
    note "sanitizer ${tool}: could not run (no test_cuda_backend binary)"
    continue
  fi
  # memcheck leaves time for racecheck; racecheck takes what is left.
  reserve=5
  [ "${tool}" = memcheck ] && reserve=60
  t=$(limit 50 $((reserve + 40)))
  if [ "$(left)" -lt $((reserve + 20)) ]; then
    note "sanitizer ${tool}: skipped (time budget spent)"
    continue
  fi
  {
    rc=0
    if [ -x "${bin}/test_cuda_ops" ]; then
      timeout "${t}" "${sanitizer}" --tool "${tool}" --error-exitcode 86 "${bin}/test_cuda_ops"
      rc=$?
    fi
    if [ "${rc}" = 0 ]; then
      timeout "$(limit 90 "${reserve}")" "${sanitizer}" --tool "${tool}" --error-exitcode 86 \
        "${bin}/test_cuda_backend" --gtest_filter="${subset}"
      rc=$?
    fi
  } > "${log_dir}/sanitizer_${tool}.txt" 2>&1
  tail -25 "${log_dir}/sanitizer_${tool}.txt"
  if [ "${rc}" = 0 ]; then
    note "sanitizer ${tool}: ran, clean, tests passed"
  elif [ "${rc}" = 86 ]; then
    note "sanitizer ${tool}: ran, REPORTED ERRORS (see above)"
  elif [ "${rc}" = 124 ]; then
    note "sanitizer ${tool}: timed out (time budget)"
  elif grep -qi -E "not supported|unsupported|cannot|unable|error: .*(driver|version)" \
      "${log_dir}/sanitizer_${tool}.txt"; then
    note "sanitizer ${tool}: could not run on this driver/runtime (exit ${rc}, see above)"
  else
    note "sanitizer ${tool}: ran, exit ${rc} (test failures under the tool, see above)"
  fi
  rm -f "${log_dir}/sanitizer_${tool}.txt"
done

echo
echo "=== summary ($(($(date +%s) - start)) s) ==="
for line in "${summary[@]}"; do echo "  ${line}"; done
sleep 1  # lets tee write the last lines before the caller collects the log
