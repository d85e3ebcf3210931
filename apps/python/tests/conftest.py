"""Where the tests find the command-line program and the shared reference data."""

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def _cli() -> Path:
    return Path(os.environ.get("MICRONAS_CLI", REPO / "build" / "micronas"))


@pytest.fixture(scope="session")
def cli():
    """Runs the built `micronas` program and returns its stdout; skips when it is not built."""
    path = _cli()
    if not path.exists():
        pytest.skip(f"the micronas program is not built at {path} (set MICRONAS_CLI)")

    def run(*args: str) -> str:
        done = subprocess.run([str(path), *args], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return Path(os.environ.get("MICRONAS_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def nb201_table(data_dir) -> Path:
    path = data_dir / "nb201" / "nb201.csv"
    if not path.exists():
        pytest.skip(f"reference data not found: {path} (set MICRONAS_DATA_DIR)")
    return path
