#!/usr/bin/env bash
# Fuzzes the readers of untrusted input (tests/fuzz/fuzz_inputs.cpp) with libFuzzer under
# AddressSanitizer and UndefinedBehaviorSanitizer: a clang build in build-fuzz, each target run
# for SECONDS (default 60) from the committed corpus. New inputs go to build-fuzz/corpus/TARGET,
# an input that crashes (or allocates more than 1 GB, or runs over 10 s) to
# build-fuzz/artifacts/TARGET/; the script exits 1 when any target found one. Such an input,
# once its defect is fixed, belongs in tests/fuzz/corpus/TARGET/regression-NAME, which every
# build replays.
#
#     scripts/fuzz.sh [SECONDS] [TARGET ...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(arch data_spec sweep_row target_json csv npy ts benchmark_table measured_ops sweep_csv c_api)
fi
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMICRONAS_FUZZ=ON -DMICRONAS_SANITIZE=ON -DMICRONAS_CUDA=OFF -DMICRONAS_NATIVE=OFF \
  -DMICRONAS_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}"
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for target in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$target artifacts=build-fuzz/artifacts/$target/
  mkdir -p "$corpus" "$artifacts"
  echo "fuzz: $target for ${seconds} s"
  if ! TMPDIR=build-fuzz build-fuzz/tests/fuzz/fuzz_"$target" "$corpus" "tests/fuzz/corpus/$target" \
      -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
      -max_len=65536 -artifact_prefix="$artifacts" -print_final_stats=1 2>build-fuzz/$target.log; then
    status=1
    echo "fuzz: $target found a defect: $(ls "$artifacts")"
    grep -m3 -E "ERROR|SUMMARY|terminate" build-fuzz/$target.log || true
  fi
done
exit $status
