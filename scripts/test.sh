#!/usr/bin/env bash
# Builds (installing missing packages first) and runs the whole test suite: the C++ suites with
# CTest, then the Python package's with pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
build/venv/bin/python -m pytest -q
