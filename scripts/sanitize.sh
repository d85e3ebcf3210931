#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer job: a Debug build with -DMICRONAS_SANITIZE=ON of
# the library, the program and the suites that exercise input parsing, file I/O and the CLI's
# error paths, and the fuzz corpus replayed through every reader (where memory and overflow bugs
# in hostile-input handling would show), run with every sanitizer report fatal. The slow sweep
# scenarios (which only repeat the scoring code under the sanitizers) are left to the main suite.
# About 5 minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(micronas_cli test_hostile_input test_staged_output test_data test_cli test_mcu_cli test_sweep_cli test_arch)
# The fuzz corpus (tests/fuzz), replayed under the sanitizers.
for fuzz_target in arch data_spec sweep_row target_json csv npy ts benchmark_table measured_ops sweep_csv c_api; do
  targets+=("fuzz_replay_$fuzz_target")
done
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DMICRONAS_SANITIZE=ON -DMICRONAS_CUDA=OFF \
  -DMICRONAS_BUILD_BENCHMARKS=OFF ${MICRONAS_CMAKE_ARGS:-} >/dev/null
cmake --build build-sanitize -j"$(nproc)" --target "${targets[@]}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-sanitize --output-on-failure -j"$(nproc)" \
  -R '^(fuzz_corpus_|(Hostile|StagedOutput|CsvWriter|ErrorContract|Cli|McuCli|DataSpec|CifarNormalization|CifarReader|InputSampler|Arch|EvaluateCli|SweepCli)\.)' \
  -E 'SweepCli\.(ASecondRun|ResumeChecksKept|ResumeAfterInterruption|RandomCells|RowsDoNotDepend)|Cli\.ScoreJson'
