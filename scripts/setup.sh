#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks (compiler, CMake, GoogleTest, Google Benchmark,
# nlohmann-json, CLI11, Python's venv) and builds MicroNAS into ./build, then installs the Python
# package (`pip install .`) into the virtual environment build/venv. Safe to run again: it
# installs only missing packages and rebuilds incrementally. The CUDA backend is built when nvcc
# is on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake make ccache pkg-config python3 python3-venv openmpi-bin libgtest-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev libflatbuffers-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

build_type=${BUILD_TYPE:-Release}
# ccache: the Python package's build below compiles the same sources with the same flags, and
# CUDA sources take minutes; with ccache the second compile is a cache hit.
launchers=()
if command -v ccache >/dev/null; then
  launchers=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE="$build_type" "${launchers[@]}" ${MICRONAS_CMAKE_ARGS:-} \
  >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: built ./build/micronas"

# The Python package, built by pip from this checkout with ./build's choices (CUDA, warnings as
# errors, native code, compiler launcher), so that its compiles are the same as ./build's.
cached() { sed -n "s/^$1:[A-Z]*=//p" build/CMakeCache.txt; }
[ -x build/venv/bin/python ] || python3 -m venv build/venv
MICRONAS_CUDA=$(cached MICRONAS_CUDA) MICRONAS_WERROR=$(cached MICRONAS_WERROR) \
  MICRONAS_NATIVE=$(cached MICRONAS_NATIVE) CMAKE_ARGS="${launchers[*]}" \
  build/venv/bin/python -m pip install --quiet --disable-pip-version-check ".[test]"
echo "setup: installed the micronas Python package into build/venv (source build/venv/bin/activate)"
