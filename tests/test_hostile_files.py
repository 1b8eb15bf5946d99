"""Hostile DEAP participant files: refused with a ValueError naming the file, quickly,
without building what they describe.

Each file is a few bytes to a few hundred kB, built here. Cases that crashed the
interpreter before (deeply nested objects: SIGSEGV) run in a subprocess, so that
a crash fails the test instead of killing pytest. The .npz, .ts and .json cases
are in test_datasets.py, the download's in test_download.py.
"""

import os
import pickle
import re
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from skeeg.datasets.deap import load_deap

REPO_ROOT = Path(__file__).resolve().parents[1]

PROTO2 = b"\x80\x02"


def _nested_tuple_as_key(depth):
    """{((...(),)...,): 1}: depth-deep tuple used as a dict key, 2 bytes a level."""
    return PROTO2 + b"}(" + b")" + b"\x85" * depth + b"K\x01u."


def _nested_lists(depth):
    """[[[...]]]: EMPTY_LIST per level, then APPEND per level."""
    return PROTO2 + b"]" * depth + b"a" * (depth - 1) + b"."


def _memo_chain(n):
    """n empty lists, each memoized, then nested through memo references.

    Each list looks empty where it is created; the nesting appears only when
    the memo is followed, which a scan of the stack alone would miss.
    """
    ops = [PROTO2]
    for i in range(n):
        ops.append(b"]r" + struct.pack("<I", i) + b"0")  # EMPTY_LIST, LONG_BINPUT, POP
    for i in range(n - 1):  # LONG_BINGET i, LONG_BINGET i+1, APPEND, POP
        ops.append(b"j" + struct.pack("<I", i) + b"j" + struct.pack("<I", i + 1) + b"a0")
    ops.append(b"j" + struct.pack("<I", 0) + b".")
    return b"".join(ops)


def _write(folder, raw, subject=1):
    path = folder / f"s{subject:02d}.dat"
    path.write_bytes(raw)
    return path


def test_deep_nesting_does_not_crash_the_interpreter(tmp_path):
    """The 0.4 MB, 200,000-deep file of the issue killed Python (SIGSEGV)."""
    cases = {
        "tuple-key-200000": _nested_tuple_as_key(200_000),
        "lists-200000": _nested_lists(200_000),
        "tuple-key-9000": _nested_tuple_as_key(9000),  # within the opcode bound
    }
    for name, raw in cases.items():
        (tmp_path / name).mkdir()
        _write(tmp_path / name, raw)
    # A bare package object for skeeg skips skeeg/__init__'s torch import (seconds).
    script = textwrap.dedent(
        f"""
        import sys, types
        package = types.ModuleType("skeeg")
        package.__path__ = [{str(REPO_ROOT / "skeeg")!r}]
        sys.modules["skeeg"] = package
        from skeeg.datasets.deap import load_deap
        for name in {list(cases)!r}:
            try:
                load_deap({str(tmp_path)!r} + "/" + name, subjects=[1])
            except ValueError as exc:
                print(name, "ValueError", exc)
            else:
                print(name, "loaded")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"interpreter died ({result.returncode}): {result.stderr}"
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    for name in ("tuple-key-200000", "lists-200000"):
        assert re.match(
            r"ValueError .*s01\.dat is not a DEAP participant file: it has more than "
            r"10000 pickle opcodes",
            lines[name],
        ), lines[name]
    assert re.match(
        r"ValueError .*s01\.dat .*nests objects more than 32 levels deep", lines["tuple-key-9000"]
    )


@pytest.mark.parametrize(
    "raw, message",
    [
        # Before: RecursionError from the error message's repr of the key.
        (_nested_tuple_as_key(1000), "nests objects more than 32 levels deep"),
        (_nested_lists(1000), "nests objects more than 32 levels deep"),
        (_memo_chain(1400), "nests objects more than 32 levels deep"),
        (PROTO2 + b"]q\x00h\x00a.", "holds an object that contains itself"),
        # LONG_BINPUT 2**31: the unpickler would size its memo table to it (16 GB).
        (PROTO2 + b"Nr" + struct.pack("<I", 2**31) + b".", "uses memo index 2147483648"),
        (PROTO2 + b"(" + b"K\x01" * 20_000 + b"l.", "has more than 10000 pickle opcodes"),
        # 2 GB declared by a BINSTRING of 4 bytes: never allocated.
        (PROTO2 + b"T" + struct.pack("<i", 2**31 - 1) + b"abcd.", "truncated or corrupt"),
        # A frame of 2**62 bytes declared in a 20-byte file.
        (b"\x80\x04\x95" + struct.pack("<Q", 2**62) + b"K\x01.", "truncated or corrupt"),
    ],
    ids=[
        "tuple-key-1000",
        "lists-1000",
        "memo-chain",
        "self-reference",
        "memo-index",
        "many-opcodes",
        "binstring-length",
        "frame-length",
    ],
)
def test_hostile_pickles_are_refused_quickly(tmp_path, raw, message):
    path = _write(tmp_path, raw)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + message):
        load_deap(tmp_path, subjects=[1])
    assert time.perf_counter() - start < 5


def test_many_calls_are_refused(tmp_path):
    # Each call may copy a buffer of the file: a DEAP file makes at most 9.
    content = {"data": [np.zeros(2) + i for i in range(10)], "labels": np.ones((1, 4))}
    path = _write(tmp_path, pickle.dumps(content, protocol=2))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*more than 16 calls"):
        load_deap(tmp_path, subjects=[1])


def test_object_arrays_are_refused_before_they_are_built(tmp_path):
    content = {"data": np.array([None] * 3, dtype=object), "labels": np.ones((1, 4))}
    path = _write(tmp_path, pickle.dumps(content, protocol=2))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*array of dtype object"):
        load_deap(tmp_path, subjects=[1])


def test_error_messages_stay_short(tmp_path):
    content = {"x" * 1_000_000: 1, "data": np.zeros((1, 40, 2))}
    path = _write(tmp_path, pickle.dumps(content, protocol=2))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*keys") as info:
        load_deap(tmp_path, subjects=[1])
    assert len(str(info.value)) < 600


def _participant(value_at=None, value=0.0, n_samples=400):
    data = np.random.default_rng(0).normal(0, 10, size=(2, 40, n_samples))
    if value_at is not None:
        data[value_at] = value
    return {"data": data, "labels": np.full((2, 4), 5.0)}


def test_values_beyond_float32_are_refused(tmp_path):
    path = _write(tmp_path, pickle.dumps(_participant((1, 0, 3), 1e39), protocol=2))
    message = re.escape(f"{path}: trial 1 (0-based), channel Fp1, sample 3 holds 1e+39, beyond")
    with pytest.raises(ValueError, match=message):
        load_deap(tmp_path, subjects=[1])
    # Values that fit float32 but not after the baseline is subtracted.
    content = _participant()
    content["data"][0, 5, :384] = -3e38
    content["data"][0, 5, 384:] = 3e38
    path = _write(tmp_path, pickle.dumps(content, protocol=2))
    assert np.isfinite(load_deap(tmp_path, subjects=[1], baseline="drop").X).all()
    message = re.escape(f"{path}: trial 0 (0-based), channel FC1, sample 0 holds 6e+38")
    with pytest.raises(ValueError, match=message):
        load_deap(tmp_path, subjects=[1], baseline="subtract")


@pytest.mark.parametrize("kind", ["fifo", "folder"])
@pytest.mark.parametrize("which", ["first", "second"])
def test_participant_path_that_is_not_a_regular_file_is_refused(tmp_path, kind, which):
    """A FIFO (never opened: it would block) or folder is refused by name, not called missing."""
    _write(tmp_path, pickle.dumps(_participant(), protocol=2))  # s01.dat, a valid file
    path = tmp_path / ("s01.dat" if which == "first" else "s02.dat")
    path.unlink(missing_ok=True)
    if kind == "folder":
        path.mkdir()
        what = "a folder"
    else:
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs on this platform")
        os.mkfifo(path)
        what = r"a named pipe \(FIFO\)"
    # SIGALRM: should the loader open the FIFO, the test fails instead of hanging.
    previous = signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError()))
    signal.alarm(10)
    try:
        with pytest.raises(ValueError, match=re.escape(str(path)) + f" is {what}, not a regular"):
            load_deap(tmp_path, subjects=[1, 2])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
