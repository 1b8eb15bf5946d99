"""Shared test fixtures."""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def real_data_dir():
    """Folder of the real EEG data: ``SKEEG_DATA`` if set, else ``../shared/data``."""
    return Path(os.environ.get("SKEEG_DATA") or REPO_ROOT.parent / "shared" / "data")


@pytest.fixture(scope="session")
def data_dir():
    """Path of the real EEG data; skips the test when the folder is absent."""
    path = real_data_dir()
    if not path.is_dir():
        pytest.skip(f"real data not found at {path}; set SKEEG_DATA")
    return path
