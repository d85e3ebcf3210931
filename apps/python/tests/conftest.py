"""Where the tests find the command-line program and the shared reference data."""

import os
from pathlib import Path

import pytest

from runtimes import REPO, cli_path, run_cli


@pytest.fixture(scope="session")
def cli():
    """Runs the built `micronas` program and returns its stdout; skips when it is not built."""
    cli_path()
    return lambda *args: run_cli(*args).stdout


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return Path(os.environ.get("MICRONAS_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def nb201_table(data_dir) -> Path:
    path = data_dir / "nb201" / "nb201.csv"
    if not path.exists():
        pytest.skip(f"reference data not found: {path} (set MICRONAS_DATA_DIR)")
    return path
