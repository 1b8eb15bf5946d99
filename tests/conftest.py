"""Shared test fixtures."""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    """Share the cores among pytest-xdist's workers instead of oversubscribing them.

    Each worker is a process; torch would otherwise start one thread per core in
    each, and threads that wait for each other at every operation run several
    times slower than one.
    """
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(workers)))


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


@pytest.fixture
def one_torch_thread():
    """One torch thread for the test, the previous number restored after it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
