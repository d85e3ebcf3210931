#!/usr/bin/env bash
# A search on a machine whose cores are shared: the same `micronas search` alone, next to one
# busy process (a CPU-bound loop), and next to another micronas search, each timed REPEATS times
# (median). Goal (bench/README.md): with one core of two taken, at most 2.5x the time alone.
#
#   bench/shared_cores.sh [build/micronas] [REPEATS]
#
# The wait policy is left to the program (a short spin, then sleep, unless set); run with
# OMP_WAIT_POLICY=ACTIVE to see what spinning threads cost.
set -euo pipefail
cli=${1:-build/micronas}
repeats=${2:-3}
args=(search --batch 8 --repeat 1 --no-progress --quiet)

median_seconds() {  # runs "$@" REPEATS times, prints the median wall time
  local times=()
  for _ in $(seq "$repeats"); do
    local start end
    start=$(date +%s.%N)
    "$@" > /dev/null
    end=$(date +%s.%N)
    times+=("$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

alone=$(median_seconds "$cli" "${args[@]}")

# One core busy with a plain loop for the whole measurement.
( while :; do :; done ) &
busy=$!
trap 'kill $busy 2>/dev/null || true' EXIT
beside_loop=$(median_seconds "$cli" "${args[@]}")
kill $busy; wait $busy 2>/dev/null || true

# Another micronas search running throughout (restarted as it finishes).
( while :; do "$cli" "${args[@]}" > /dev/null; done ) &
other=$!
trap 'kill $other 2>/dev/null || true; pkill -P $other 2>/dev/null || true' EXIT
beside_micronas=$(median_seconds "$cli" "${args[@]}")
pkill -P $other 2>/dev/null || true
kill $other 2>/dev/null || true

cat <<JSON
{"cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)", "cores": $(nproc),
 "wait_policy": "${OMP_WAIT_POLICY:-default (passive, spin 200)}",
 "alone_s": $alone, "beside_busy_loop_s": $beside_loop, "beside_micronas_s": $beside_micronas,
 "ratio_busy_loop": $(awk -v a="$beside_loop" -v b="$alone" 'BEGIN {printf "%.2f", a / b}'),
 "ratio_micronas": $(awk -v a="$beside_micronas" -v b="$alone" 'BEGIN {printf "%.2f", a / b}')}
JSON
