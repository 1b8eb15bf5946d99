"""Tests of skeeg.datasets: real data when present, exact-format files otherwise."""

import contextlib
import io
import os
import re
import shutil
import signal
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import skeeg.datasets.bci_iiib as bci_iiib
from skeeg.datasets import (
    get_data_dir,
    load_bci_iiib,
    load_eegmmidb,
    load_uea,
    make_motor_imagery,
)
from skeeg.datasets._base import git_blob_id
from skeeg.datasets.eegmmidb import _target_names


def _require(path):
    if not path.exists():
        pytest.skip(f"real data not found at {path}; set SKEEG_DATA")
    return path


def _not_regular(path, kind):
    """Put a folder or a FIFO (no writer: opening it would block) at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    if kind == "folder":
        path.mkdir()
        return "a folder"
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    os.mkfifo(path)
    return r"a named pipe \(FIFO\)"


@contextlib.contextmanager
def _must_not_block(seconds=10):
    """Fail instead of hanging if the code under test opens a FIFO."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def blocked(*_):
        raise TimeoutError("the loader blocked: it opened a FIFO")

    previous = signal.signal(signal.SIGALRM, blocked)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------
# get_data_dir


def test_get_data_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("SKEEG_DATA", str(tmp_path / "env"))
    assert get_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert get_data_dir("~/x") == Path.home() / "x"
    assert get_data_dir() == tmp_path / "env"
    monkeypatch.setenv("SKEEG_DATA", "")
    assert get_data_dir() == Path.home() / "skeeg_data"
    monkeypatch.delenv("SKEEG_DATA")
    assert get_data_dir() == Path.home() / "skeeg_data"
    assert isinstance(get_data_dir(), Path)


def test_a_data_folder_that_is_a_file_is_named(monkeypatch, tmp_path):
    data_file = tmp_path / "s01.dat"
    data_file.write_bytes(b"not a folder")
    with pytest.raises(ValueError, match=r"data_dir names .*s01.dat'?, which is a file"):
        get_data_dir(data_file)
    monkeypatch.setenv("SKEEG_DATA", str(data_file))
    with pytest.raises(ValueError, match="SKEEG_DATA environment variable names .* a file"):
        get_data_dir()
    for load in (lambda: load_uea("SelfRegulationSCP1", data_dir=data_file),
                 lambda: load_eegmmidb(subjects=1, data_dir=data_file)):
        with pytest.raises(ValueError, match="which is a file, not a folder"):
            load()
    with pytest.raises(TypeError, match="data_dir must be a str or path-like"):
        get_data_dir(3)
    fifo = tmp_path / "pipe"
    if hasattr(os, "mkfifo"):
        os.mkfifo(fifo)
        with _must_not_block(), pytest.raises(
            ValueError, match=r"which is a named pipe \(FIFO\), not a folder"
        ):
            get_data_dir(fifo)


def test_git_blob_id_matches_git():
    # Values printed by `git hash-object` for these contents.
    assert git_blob_id(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert git_blob_id(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


# --------------------------------------------------------------------------
# UEA .ts format on small files

HEADER = [
    "# A toy data set",  # line 1
    "@problemName Toy",  # line 2
    "@timeStamps false",  # line 3
    "@missing false",  # line 4
    "@univariate false",  # line 5
    "@dimensions 2",  # line 6
    "@equalLength true",  # line 7
    "@seriesLength 3",  # line 8
    "@classLabel true a b",  # line 9
    "@data",  # line 10
]
TRIALS = ["1,2,3:4,5,6:a", "7,8,9:10,11,12:b"]  # lines 11 and 12


def _write_ts(folder, lines, name="Toy", split="TRAIN", newline="\n"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}_{split}.ts"
    path.write_bytes(newline.join(lines).encode() + newline.encode())
    return path


def _write_set(folder, train=None, test=None, name="Toy"):
    _write_ts(folder, train or HEADER + TRIALS, name, "TRAIN")
    _write_ts(folder, test or HEADER + TRIALS[::-1], name, "TEST")
    return folder


def test_uea_small_file_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 3, 7)).round(4)
    y = np.array(["up", "down", "up", "up", "down"])
    header = HEADER[:5] + ["@dimensions 3", "@equalLength true", "@seriesLength 7"]
    header += ["@classLabel true up down", "@data"]
    rows = [
        ":".join(",".join(str(float(v)) for v in channel) for channel in trial) + f":{label}"
        for trial, label in zip(X, y)
    ]
    folder = tmp_path / "uea" / "Toy"
    _write_ts(folder, header + rows, split="TRAIN", newline="\r\n")
    _write_ts(folder, header + rows[:2], split="TEST")
    (folder / "Toy.json").write_text('{"sfreq": 250}')
    (folder / "Toy.txt").write_bytes("Recorded in \xb5V.".encode("latin-1"))

    data = load_uea("Toy", data_dir=tmp_path)
    assert data.X_train.dtype == np.float32 and data.X_train.flags.c_contiguous
    assert data.X_train.shape == (5, 3, 7) and data.X_test.shape == (2, 3, 7)
    np.testing.assert_allclose(data.X_train, X, rtol=1e-6)
    np.testing.assert_array_equal(data.y_train, y)
    np.testing.assert_array_equal(data.y_test, y[:2])
    assert data.y_train.dtype.kind == "U"
    np.testing.assert_array_equal(data.classes, ["up", "down"])
    assert data.sfreq == 250.0
    assert data.ch_names is None
    assert data.name == "Toy"
    assert data.DESCR == "Recorded in \xb5V."


@pytest.mark.parametrize("layout", ["uea/Toy", "Toy", ""])
def test_uea_folder_layouts(tmp_path, layout):
    _write_set(tmp_path / layout)
    data = load_uea("Toy", data_dir=tmp_path)
    assert data.X_train.shape == (2, 2, 3)
    assert data.sfreq is None
    assert data.DESCR == " A toy data set"  # header comments when no .txt


def test_uea_data_dir_from_environment(tmp_path, monkeypatch):
    _write_set(tmp_path / "uea" / "Toy")
    monkeypatch.setenv("SKEEG_DATA", str(tmp_path))
    assert load_uea("Toy").X_test.shape == (2, 2, 3)


def test_uea_header_is_case_insensitive_and_optional(tmp_path):
    header = ["@PROBLEMNAME Toy", "@ClassLabel TRUE a b", "@DATA"]
    _write_set(tmp_path, train=header + TRIALS, test=header + TRIALS)
    data = load_uea("Toy", data_dir=tmp_path)
    assert data.X_train.shape == (2, 2, 3)
    np.testing.assert_array_equal(data.X_train[1, 1], [10, 11, 12])


def test_uea_univariate(tmp_path):
    header = ["@univariate true", "@classLabel true 1 2", "@data"]
    lines = header + ["1,2,3,4:1", "5,6,7,8:2"]
    _write_set(tmp_path, train=lines, test=lines)
    data = load_uea("Toy", data_dir=tmp_path)
    assert data.X_train.shape == (2, 1, 4)
    np.testing.assert_array_equal(data.y_train, ["1", "2"])


def _replace(lines, line_no, text):
    lines = list(lines)
    if text is None:
        del lines[line_no - 1]
    else:
        lines[line_no - 1] = text
    return lines


@pytest.mark.parametrize(
    "line_no, text, message",
    [
        (12, "7,8:10,11,12:b", "line 12: dimensions of unequal length"),
        (12, "7,8:10,11:b", r"line 12: series of length 2, expected 3 as in the first trial"),
        (12, "7,8,9:b", r"line 12: found 1 dimension\(s\), expected 2 as in the first trial"),
        (12, "7,8,9:10,11,12:7,8,9:b", r"line 12: found 3 dimension\(s\), expected 2"),
        (12, "7,8,9:10,11,12", "line 12: missing class label"),
        (12, "7,8,9:10,11,12:", "line 12: missing class label"),
        (12, "7,8,9:10,11,12:c", "line 12: label 'c' is not in the @classLabel list"),
        (12, "7,x,9:10,11,12:b", "line 12: invalid value 'x' at dimension 1, sample 2"),
        (12, "7,8,9:10,,12:b", "line 12: invalid value '' at dimension 2, sample 2"),
        (12, "7,8,9:10,11,nan:b", "line 12: invalid value 'nan' at dimension 2, sample 3"),
        (12, "7,8,9:10,?,12:b", "line 12: missing value '\\?' at dimension 2, sample 2"),
        (10, None, "line 10: data found before the @data line"),
        (12, "7,8,9:10,11,1e39:b", "line 12: value '1e39' at dimension 2, sample 3 is beyond"),
        (11, "1,2,3:-4e38,5,6:a", "line 11: value '-4e38' at dimension 2, sample 1 is beyond"),
        (3, "@timeStamps true", "line 3: files with time stamps are not supported"),
        (9, "@targetLabel true", "line 9: @targetLabel true marks a regression file"),
        (9, "@classLabel false", "line 9: @classLabel must be 'true'"),
        (9, "@classLabel", "line 9: @classLabel must be 'true'"),
    ],
)
def test_uea_malformed_lines(tmp_path, line_no, text, message):
    path = _write_ts(tmp_path, _replace(HEADER + TRIALS, line_no, text))
    _write_ts(tmp_path, HEADER + TRIALS, split="TEST")
    with pytest.raises(ValueError, match=re.escape(str(path)) + ", " + message):
        load_uea("Toy", data_dir=tmp_path)


def test_uea_ragged_across_trials_without_series_length(tmp_path):
    lines = _replace(HEADER + TRIALS, 12, "7,8:10,11:b")
    del lines[7]  # @seriesLength: the first trial (now line 10) sets the length
    _write_set(tmp_path, train=lines)
    message = r"line 11: series of length 2, expected 3 as in the first trial \(line 10\)"
    with pytest.raises(ValueError, match=message):
        load_uea("Toy", data_dir=tmp_path)


def test_uea_byte_order_mark_is_ignored(tmp_path):
    path = _write_ts(tmp_path, HEADER + TRIALS)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    test = _write_ts(tmp_path, [HEADER[1].lower()] + HEADER[2:] + TRIALS, split="TEST")
    test.write_bytes(b"\xef\xbb\xbf" + test.read_bytes())  # BOM right before a keyword
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_uea("Toy", data_dir=tmp_path)
    np.testing.assert_array_equal(data.X_train[1, 1], [10, 11, 12])
    assert data.DESCR == " A toy data set"


def test_uea_lines_split_only_at_newlines(tmp_path):
    # Latin-1 byte 0x85 (an ellipsis in cp1252) is a line break to str.splitlines.
    path = _write_ts(tmp_path, _replace(HEADER + TRIALS, 12, "7,x,9:10,11,12:b"))
    path.write_bytes(path.read_bytes().replace(b"A toy", b"A toy\x85"))
    _write_ts(tmp_path, HEADER + TRIALS, split="TEST")
    with pytest.raises(ValueError, match=re.escape(f"{path}, line 12: invalid value 'x'")):
        load_uea("Toy", data_dir=tmp_path)


@pytest.mark.parametrize(
    "line_no, text, message",
    [
        (8, "@seriesLength 2", "line 8: the header says @seriesLength 2 but the trials hold "
         r"series of 3 samples \(the first trial, line 11"),
        (8, "@seriesLength 5000000000", "line 8: the header says @seriesLength 5000000000 but"),
        (6, "@dimensions 3", r"line 6: the header says @dimensions 3 but the trials hold 2 dim"),
        (6, "@dimensions 999", "line 6: the header says @dimensions 999 but"),
        (5, "@univariate true", r"line 5: the header says @univariate true but the trials hold 2"),
        (7, "@equalLength false", "line 7: the header says @equalLength false but the trials "
         "hold series of one length, 3"),
        (9, "@classLabel true a b c", r"line 9: @classLabel lists \['a', 'b', 'c'\] but no "
         r"trial has the label\(s\) \['c'\]"),
        (6, "@dimensions two", "line 6: @dimensions must be a positive integer, got 'two'"),
        (6, "@dimensions 0", "line 6: @dimensions must be a positive integer, got '0'"),
        (8, "@seriesLength \u00b3", "line 8: @seriesLength must be a positive integer"),
        (5, "@univariate maybe", "line 5: @univariate must be true or false, got 'maybe'"),
        (7, "@equalLength", "line 7: @equalLength must be true or false, got ''"),
        (8, "@dimensions 2", r"line 8: a second @dimensions line \(the first is line 6\)"),
    ],
)
def test_uea_header_that_contradicts_the_data_is_refused(tmp_path, line_no, text, message):
    """Neither the header nor the data is guessed right: the file, line and field are named."""
    path = _write_ts(tmp_path, _replace(HEADER + TRIALS, line_no, text))
    _write_ts(tmp_path, HEADER + TRIALS, split="TEST")
    with pytest.raises(ValueError, match=re.escape(f"{path}, ") + message):
        load_uea("Toy", data_dir=tmp_path)


def test_uea_header_sizes_are_never_allocated(tmp_path):
    """A header declaring 999 x 5e9 samples over a 2 x 3 file fails at once, small."""
    header = _replace(_replace(HEADER, 6, "@dimensions 999"), 8, "@seriesLength 5000000000")
    path = _write_ts(tmp_path, header + TRIALS)
    _write_ts(tmp_path, HEADER + TRIALS, split="TEST")
    with pytest.raises(ValueError, match=re.escape(f"{path}, line 6: the header says @dim")):
        load_uea("Toy", data_dir=tmp_path)


@pytest.mark.parametrize(
    "line_no, text, note",
    [
        (6, "@dimension 2", "line 6: unknown header keyword '@dimension' ignored"),
        (4, "@missing maybe", "line 4: @missing 'maybe' is not true or false, ignored"),
        (9, "@classLabel true a b a", "line 9: repeated class labels in @classLabel dropped"),
    ],
)
def test_uea_header_lines_that_cannot_be_used_warn(tmp_path, line_no, text, note):
    """Lines that say nothing about the data's shape are skipped with a warning."""
    path = _write_ts(tmp_path, _replace(HEADER + TRIALS, line_no, text))
    _write_ts(tmp_path, HEADER + TRIALS, split="TEST")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        data = load_uea("Toy", data_dir=tmp_path)
    messages = [str(w.message) for w in record]
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"{path}: header lines that cannot be used")
    assert note in messages[0]
    assert data.X_train.shape == (2, 2, 3)
    np.testing.assert_array_equal(data.X_train[1], [[7, 8, 9], [10, 11, 12]])
    np.testing.assert_array_equal(data.classes, ["a", "b"])


def test_uea_header_that_agrees_loads_without_warning(tmp_path):
    univariate = ["@univariate true", "@dimensions 1", "@equalLength true", "@seriesLength 4",
                  "@classLabel true 1 2", "@data", "1,2,3,4:1", "5,6,7,8:2"]
    _write_set(tmp_path, train=univariate, test=univariate)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_uea("Toy", data_dir=tmp_path).X_train.shape == (2, 1, 4)


def test_uea_series_length_one_less_than_every_series(tmp_path):
    """A @seriesLength one short of every series is a contradiction too: refused, named."""
    rows = ["1,2,3,4:5,6,7,8:a", "9,10,11,12:13,14,15,16:b"]
    header = _replace(HEADER, 8, "@seriesLength 3")
    path = _write_ts(tmp_path, header + rows)
    _write_ts(tmp_path, header + rows[::-1], split="TEST")
    message = re.escape(f"{path}, line 8: the header says @seriesLength 3 but the trials hold "
                        "series of 4 samples")
    with pytest.raises(ValueError, match=message):
        load_uea("Toy", data_dir=tmp_path)


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"sfreq": "abc"}', r'"sfreq" must be a number of Hz such as 256, got \'abc\' \(str\)'),
        ('{"sfreq": [256, 128]}', r'"sfreq" must be a number.*\[256, 128\] \(list\)'),
        ('{"sfreq": true}', r'"sfreq" must be a number.*\(bool\)'),
        ('{"sfreq": {"hz": 1}}', r'"sfreq" must be a number.*\(dict\)'),
        ('{"sfreq": -256}', '"sfreq" must be a sampling rate between 0.001 and 1e.06 Hz, got -256'),
        ('{"sfreq": 0}', '"sfreq" must be a sampling rate between'),
        ('{"sfreq": 1e308}', '"sfreq" must be a sampling rate between .* got 1e.308'),
        ('{"sfreq": 1e-300}', '"sfreq" must be a sampling rate between .* got 1e-300'),
        ('{"sfreq": 1e999}', '"sfreq" must be a sampling rate between .* got inf'),
        ('{"sfreq": NaN}', "is not valid JSON .*NaN is not JSON"),
        ('{"sfreq": 128, "sfreq": 256}', "is not valid JSON .*'sfreq' appears twice"),
        ("[256]", "must hold a JSON object such as"),
        ('{"sfreq": 256', "is not valid JSON"),
        ('{"sfreq": ' + "1" * 5000 + "}", "is not valid JSON"),  # int beyond Python's limit
        ("[" * 100_000 + "]" * 100_000, "is not valid JSON.*RecursionError"),
    ],
)
def test_uea_bad_sidecar_names_the_file(tmp_path, content, message):
    _write_set(tmp_path)
    json_path = tmp_path / "Toy.json"
    json_path.write_text(content)
    with pytest.raises(ValueError, match=re.escape(str(json_path)) + ".*" + message):
        load_uea("Toy", data_dir=tmp_path)


def test_uea_sidecar_without_sfreq(tmp_path):
    _write_set(tmp_path)
    (tmp_path / "Toy.json").write_text('{"other": 1}')
    assert load_uea("Toy", data_dir=tmp_path).sfreq is None
    assert load_uea("Toy", data_dir=tmp_path).unit is None


def test_uea_missing_data_section_and_trials(tmp_path):
    _write_set(tmp_path, train=HEADER[:-1])
    with pytest.raises(ValueError, match="line 9: end of file reached without an @data line"):
        load_uea("Toy", data_dir=tmp_path)
    _write_set(tmp_path, train=HEADER + ["# nothing"])
    with pytest.raises(ValueError, match="line 11: no trials after the @data line"):
        load_uea("Toy", data_dir=tmp_path)
    _write_set(tmp_path, train=HEADER[:8] + ["@data"] + TRIALS)
    with pytest.raises(ValueError, match="no @classLabel header line"):
        load_uea("Toy", data_dir=tmp_path)


def test_uea_train_test_mismatch(tmp_path):
    other = _replace(HEADER, 9, "@classLabel true b a")
    _write_set(tmp_path, test=other + TRIALS)
    with pytest.raises(ValueError, match="different @classLabel lists"):
        load_uea("Toy", data_dir=tmp_path)
    short = _replace(HEADER, 8, "@seriesLength 2")
    _write_set(tmp_path, test=short + ["1,2:3,4:a", "5,6:7,8:b"])
    with pytest.raises(ValueError, match=r"shape \(2, 3\) in train but \(2, 2\) in test"):
        load_uea("Toy", data_dir=tmp_path)


def test_uea_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="timeseriesclassification.com"):
        load_uea("Toy", data_dir=tmp_path)
    _write_ts(tmp_path / "uea" / "Toy", HEADER + TRIALS, split="TRAIN")
    with pytest.raises(FileNotFoundError, match=r"Toy_TEST\.ts not found"):
        load_uea("Toy", data_dir=tmp_path)
    with pytest.raises(ValueError, match="name must be"):
        load_uea("../Toy", data_dir=tmp_path)


@pytest.mark.parametrize("kind", ["fifo", "folder"])
@pytest.mark.parametrize("fname", ["Toy_TRAIN.ts", "Toy_TEST.ts", "Toy.json", "Toy.txt"])
def test_uea_path_that_is_not_a_regular_file_is_refused(tmp_path, fname, kind):
    """Neither reported as missing nor skipped nor opened: refused by name, at once."""
    folder = _write_set(tmp_path / "uea" / "Toy")
    what = _not_regular(folder / fname, kind)
    with _must_not_block(), pytest.raises(
        ValueError, match=re.escape(str(folder / fname)) + f" is {what}, not a regular file"
    ):
        load_uea("Toy", data_dir=tmp_path)


def test_uea_oversized_sidecar_is_not_read(tmp_path):
    _write_set(tmp_path)
    json_path = tmp_path / "Toy.json"
    with open(json_path, "wb") as f:  # sparse: 2 MiB of nothing, no disk used
        f.truncate(2 << 20)
    with pytest.raises(ValueError, match=re.escape(str(json_path)) + r" holds 2097152 bytes, "
                       "more than the 1048576 bytes that a sampling-rate sidecar can need"):
        load_uea("Toy", data_dir=tmp_path)


def test_uea_sidecar_that_contradicts_the_known_rate_is_refused(tmp_path):
    """skeeg keeps FingerMovements' rate (100 Hz): a sidecar saying 250 names both values."""
    folder = _write_set(tmp_path / "uea" / "FingerMovements", name="FingerMovements")
    (folder / "FingerMovements.json").write_text('{"sfreq": 250}')
    with pytest.raises(ValueError, match=re.escape(str(folder / "FingerMovements.json")) +
                       '.*"sfreq" says 250 Hz but FingerMovements was recorded at 100 Hz'):
        load_uea("FingerMovements", data_dir=tmp_path)


def test_uea_known_set_that_differs_from_the_facts_is_refused(tmp_path):
    """A small set under a known name is not FingerMovements: refused, with a way out."""
    folder = _write_set(tmp_path / "uea" / "FingerMovements", name="FingerMovements")
    with pytest.raises(ValueError, match=re.escape(f"The copy of FingerMovements in {folder} "
                       "does not match the archive's FingerMovements") + r".*TRAIN shape "
                       r"\(2, 2, 3\), expected \(316, 28, 50\).*rename its files"):
        load_uea("FingerMovements", data_dir=tmp_path)
    # Renamed, the same files load as what they are.
    for split in ("TRAIN", "TEST"):
        (folder / f"FingerMovements_{split}.ts").rename(folder / f"Mine_{split}.ts")
    assert load_uea("Mine", data_dir=folder).X_train.shape == (2, 2, 3)


# --------------------------------------------------------------------------
# UEA real data


@pytest.mark.parametrize(
    "name, shapes, classes, sfreq",
    [
        (
            "SelfRegulationSCP1",
            ((268, 6, 896), (293, 6, 896)),
            ["negativity", "positivity"],
            256.0,
        ),
        ("FingerMovements", ((316, 28, 50), (100, 28, 50)), ["left", "right"], 100.0),
    ],
)
def test_uea_real(data_dir, name, shapes, classes, sfreq):
    _require(data_dir / "uea" / name)
    data = load_uea(name, data_dir=data_dir)
    assert (data.X_train.shape, data.X_test.shape) == shapes
    for X in (data.X_train, data.X_test):
        assert X.dtype == np.float32 and X.flags.c_contiguous
        assert np.isfinite(X).all() and X.std() > 0
    np.testing.assert_array_equal(data.classes, classes)
    assert set(data.y_train) == set(classes) == set(data.y_test)
    assert data.sfreq == sfreq
    assert data.unit == "uV"
    assert len(data.ch_names) == shapes[0][1]
    assert name in data.DESCR or "bbci" in data.DESCR


def _copy_fm(data_dir, tmp_path):
    source = _require(data_dir / "uea" / "FingerMovements")
    folder = tmp_path / "uea" / "FingerMovements"
    folder.mkdir(parents=True)
    for path in source.iterdir():
        shutil.copyfile(path, folder / path.name)  # copyfile: the copies writable
    return folder


def test_uea_real_known_rate_without_sidecar(data_dir, tmp_path):
    folder = _copy_fm(data_dir, tmp_path)
    (folder / "FingerMovements.json").unlink()
    data = load_uea("FingerMovements", data_dir=tmp_path)
    assert (data.sfreq, data.unit) == (100.0, "uV")
    (folder / "FingerMovements.json").write_text('{"sfreq": 100.0}')  # repeating it is fine
    assert load_uea("FingerMovements", data_dir=tmp_path).sfreq == 100.0


def _swap_labels(text, count=-1):
    text = text.replace(":left\n", ":TMP\n", count).replace(":right\n", ":left\n", count)
    return text.replace(":TMP\n", ":right\n", count)


@pytest.mark.parametrize(
    "edit, difference",
    [
        (_swap_labels, r"TRAIN class counts \{'left': 157, 'right': 159\}"),
        # One left and one right trial trade labels: the class counts stay as they were.
        (lambda text: _swap_labels(text, 1), "TRAIN labels, in file order, differ"),
        (lambda text: text.replace(":left\n", ":right\n", 1), "TRAIN class counts"),
    ],
)
def test_uea_real_local_copy_with_changed_labels_is_refused(data_dir, tmp_path, edit,
                                                            difference):
    folder = _copy_fm(data_dir, tmp_path)
    train = folder / "FingerMovements_TRAIN.ts"
    train.write_text(edit(train.read_text()))
    with pytest.raises(ValueError, match="The copy of FingerMovements in .* does not match "
                       "the archive's FingerMovements as skeeg knows it: " + difference):
        load_uea("FingerMovements", data_dir=tmp_path)


def test_uea_real_header_that_contradicts_the_data(data_dir, tmp_path):
    folder = _copy_fm(data_dir, tmp_path)
    train = folder / "FingerMovements_TRAIN.ts"
    text = train.read_text()
    train.write_text(text.replace("@seriesLength 50", "@seriesLength 5000000000")
                     .replace("@dimensions 28", "@dimensions 999"))
    with pytest.raises(ValueError, match=re.escape(f"{train}, line 30: the header says "
                       "@dimensions 999 but the trials hold 28 dimension(s)")):
        load_uea("FingerMovements", data_dir=tmp_path)
    train.write_text(text.replace("@seriesLength 50", "@seriesLength 5000000000"))
    with pytest.raises(ValueError, match=re.escape(f"{train}, line 32: the header says "
                       "@seriesLength 5000000000 but the trials hold series of 50 samples")):
        load_uea("FingerMovements", data_dir=tmp_path)


# --------------------------------------------------------------------------
# BCI Competition III IIIb, on files in the course format

N_TRIALS = {"S4b_train": 6, "X11b_train": 4, "S4b_test": 5, "X11b_test": 3}


def _write_npz(path, n, seed, nan=True):
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=(n, 750, 2))
    label = rng.integers(1, 3, size=(n, 1)).astype(float)
    if nan:
        signal[0, 100:103, 0] = np.nan  # interior gap
        signal[1, :4, 1] = np.nan  # leading gap
        signal[1, -2:, 0] = np.nan  # trailing gap
    np.savez(path, signal=signal, label=label)
    return signal, label


@pytest.fixture
def iiib_dir(tmp_path, monkeypatch):
    """Folder with four small course files; their blob ids made 'genuine'."""
    folder = tmp_path / "bci_iiib"
    folder.mkdir()
    originals, ids = {}, {}
    for seed, (stem, n) in enumerate(N_TRIALS.items()):
        path = folder / f"{stem}.npz"
        originals[stem] = _write_npz(path, n, seed)
        ids[path.name] = git_blob_id(path.read_bytes())
    monkeypatch.setattr(bci_iiib, "BLOB_IDS", ids)
    return tmp_path, originals


def test_bci_iiib_round_trip_and_filling(iiib_dir):
    root, originals = iiib_dir
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_bci_iiib(data_dir=root)
    assert data.X_train.shape == (10, 2, 750) and data.X_test.shape == (8, 2, 750)
    assert data.X_train.dtype == np.float32 and data.X_train.flags.c_contiguous
    assert np.isfinite(data.X_train).all() and np.isfinite(data.X_test).all()
    np.testing.assert_array_equal(data.subject_train, ["S4b"] * 6 + ["X11b"] * 4)
    np.testing.assert_array_equal(data.subject_test, ["S4b"] * 5 + ["X11b"] * 3)
    assert data.y_train.dtype.kind == "i" and set(data.y_train) <= {1, 2}
    assert data.sfreq == 125.0 and data.ch_names == ["C3", "C4"] and data.unit == "uV"
    assert data.target_names == ["left", "right"]
    assert data.n_filled == {f"{stem}.npz": 9 for stem in N_TRIALS}

    signal, label = originals["S4b_train"]
    X, y = data.X_train[:6], data.y_train[:6]
    np.testing.assert_array_equal(y, label[:, 0].astype(int))
    valid = ~np.isnan(signal.transpose(0, 2, 1))
    np.testing.assert_array_equal(X[valid], signal.transpose(0, 2, 1)[valid].astype(np.float32))
    # Interior gap: straight line between the neighbours.
    expected = np.interp([100, 101, 102], [99, 103], signal[0, [99, 103], 0])
    np.testing.assert_allclose(X[0, 0, 100:103], expected, rtol=1e-6)
    # Edge gaps: nearest valid value.
    np.testing.assert_allclose(X[1, 1, :4], signal[1, 4, 1], rtol=1e-6)
    np.testing.assert_allclose(X[1, 0, -2:], signal[1, -3, 0], rtol=1e-6)


def test_bci_iiib_flat_directory_and_1d_labels(tmp_path, monkeypatch):
    ids = {}
    for seed, (stem, n) in enumerate(N_TRIALS.items()):
        rng = np.random.default_rng(seed)
        path = tmp_path / f"{stem}.npz"
        np.savez(path, signal=rng.normal(size=(n, 750, 2)), label=np.ones(n, dtype=int))
        ids[path.name] = git_blob_id(path.read_bytes())
    monkeypatch.setattr(bci_iiib, "BLOB_IDS", ids)
    data = load_bci_iiib(data_dir=tmp_path)
    assert data.n_filled == dict.fromkeys(ids, 0)
    np.testing.assert_array_equal(data.y_test, np.ones(8, dtype=int))


def test_bci_iiib_blob_id_mismatch_warns(iiib_dir, monkeypatch):
    root, _ = iiib_dir
    ids = dict(bci_iiib.BLOB_IDS, **{"X11b_test.npz": "0" * 40})
    monkeypatch.setattr(bci_iiib, "BLOB_IDS", ids)
    found = git_blob_id((root / "bci_iiib" / "X11b_test.npz").read_bytes())
    message = f"X11b_test.npz: git blob id {found} differs from the genuine file's {'0' * 40}"
    with pytest.warns(UserWarning, match=message) as record:
        data = load_bci_iiib(data_dir=root)
    assert len(record) == 1
    assert data.X_test.shape == (8, 2, 750)


def test_bci_iiib_genuine_ids_are_the_documented_ones():
    assert bci_iiib.BLOB_IDS["S4b_train.npz"] == "a5c0b401ea28c8bb723f3912fcabcc61a56a021e"
    assert bci_iiib.BLOB_IDS["X11b_test.npz"] == "d9a2fc3e965638fe8b6dd8be0868a928b179ff2e"


def test_bci_iiib_missing_file(iiib_dir):
    root, _ = iiib_dir
    (root / "bci_iiib" / "X11b_test.npz").unlink()
    with pytest.raises(FileNotFoundError, match="X11b_test.npz not found"):
        load_bci_iiib(data_dir=root)


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_bci_iiib_path_that_is_not_a_regular_file_is_refused(iiib_dir, kind):
    root, _ = iiib_dir
    path = root / "bci_iiib" / "X11b_test.npz"
    what = _not_regular(path, kind)
    with _must_not_block(), pytest.raises(
        ValueError, match=re.escape(str(path)) + f" is {what}, not a regular file"
    ):
        load_bci_iiib(data_dir=root)


def test_bci_iiib_file_larger_than_any_course_file_is_not_read(iiib_dir, monkeypatch):
    root, _ = iiib_dir
    monkeypatch.setattr(bci_iiib, "MAX_TRIALS", 10)  # files of over 2 * 120 kB + 1 MiB
    path = root / "bci_iiib" / "S4b_train.npz"
    with open(path, "r+b") as f:
        f.truncate(2 << 20)  # sparse
    with pytest.raises(ValueError, match=re.escape(f"{path} holds 2097152 bytes, more than")):
        load_bci_iiib(data_dir=root)


def _corrupt_not_zip(path):
    path.write_bytes(b"this is not a zip archive")


def _corrupt_truncated(path):
    path.write_bytes(path.read_bytes()[:200])


def _corrupt_npy(path):
    with path.open("wb") as f:
        np.save(f, np.zeros((2, 750, 2)))


def _corrupt_pickle(path):
    np.savez(path, signal=np.array([{"a": 1}], dtype=object), label=np.ones(1))


def _corrupt_no_trials(path):
    np.savez(path, signal=np.zeros((0, 750, 2)), label=np.zeros((0, 1)))


def _corrupt_beyond_float32(path):
    signal = np.zeros((2, 750, 2))
    signal[1, 5, 0] = 1e39
    np.savez(path, signal=signal, label=np.ones(2))


def _corrupt_infinite(path):
    signal = np.zeros((2, 750, 2))
    signal[1, 7, 1] = -np.inf
    np.savez(path, signal=signal, label=np.ones(2))


def _corrupt_bool_labels(path):
    np.savez(path, signal=np.zeros((2, 750, 2)), label=np.ones(2, dtype=bool))


def _npy_bytes(shape, data=b"", descr="<f8"):
    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


def _corrupt_npy_declaring_huge_shape(path):
    # A single .npy whose header declares (1e9, 750, 2): 12 TB if trusted.
    path.write_bytes(_npy_bytes((10**9, 750, 2), bytes(800)))


def _corrupt_member_declaring_huge_shape(path):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("signal.npy", _npy_bytes((10**9, 750, 2), bytes(800)))
        zf.writestr("label.npy", _npy_bytes((2,), bytes(16)))


def _corrupt_zip_bomb(path):
    # 64 MiB of zeros in about 300 kB: refused before it is inflated.
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("signal.npy", "w") as member:
            member.write(_npy_bytes((5592, 750, 2)))
            for _ in range(64):
                member.write(bytes(1 << 20))
        zf.writestr("label.npy", _npy_bytes((2,), bytes(16)))


def _corrupt_bzip2_member(path):
    buffer = io.BytesIO()
    np.savez(buffer, signal=np.zeros((2, 750, 2)), label=np.ones(2))
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_BZIP2) as zf:
        for name in source.namelist():
            zf.writestr(name, source.read(name))


def _corrupt_bad_npy_header(path):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("signal.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': ((((  \n")
        zf.writestr("label.npy", _npy_bytes((2,), bytes(16)))


def _corrupt_crc(path):
    np.savez(path, signal=np.zeros((2, 750, 2)), label=np.ones(2))
    content = bytearray(path.read_bytes())
    content[content.index(b"signal.npy") + 400] ^= 0xFF  # inside the array's data
    path.write_bytes(bytes(content))


def _corrupt_no_label(path):
    np.savez(path, signal=np.zeros((2, 750, 2)))


def _corrupt_shape(path):
    np.savez(path, signal=np.zeros((2, 2, 750)), label=np.ones(2))


def _corrupt_label_count(path):
    np.savez(path, signal=np.zeros((2, 750, 2)), label=np.ones(3))


def _corrupt_label_value(path):
    np.savez(path, signal=np.zeros((2, 750, 2)), label=np.array([[1.0], [3.0]]))


def _corrupt_duplicate_member(path):
    # Two members named signal.npy: one reader takes the first, another the last.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile's "Duplicate name"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("signal.npy", _npy_bytes((2, 750, 2), bytes(24000)))
            zf.writestr("signal.npy", _npy_bytes((2, 750, 2), bytes(24000)))
            zf.writestr("label.npy", _npy_bytes((2,), bytes(16)))


def _corrupt_all_nan(path):
    signal = np.zeros((3, 750, 2))
    signal[2, :, 1] = np.nan
    np.savez(path, signal=signal, label=np.ones((3, 1)))


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (_corrupt_not_zip, "is not a valid .npz archive"),
        (_corrupt_truncated, "is not a valid .npz archive"),
        (_corrupt_npy, r"holds a single array \(.npy\), not an .npz archive"),
        (_corrupt_pickle, "has dtype object; only plain numeric arrays are read"),
        (_corrupt_no_trials, "'signal' holds no trials"),
        (
            _corrupt_beyond_float32,
            r"trial 1 \(0-based\), channel C3, sample 5 holds 1e\+39, beyond the float32",
        ),
        (_corrupt_infinite, r"infinite values \(first at trial 1 \(0-based\), channel C4, s"),
        (_corrupt_bool_labels, "'label' must be a numeric array"),
        (_corrupt_npy_declaring_huge_shape, r"holds a single array \(.npy\)"),
        (
            _corrupt_member_declaring_huge_shape,
            r"declares shape \(1000000000, 750, 2\) of float64 \(12000000000000 bytes\) "
            "but its member holds 800 bytes",
        ),
        (_corrupt_zip_bomb, "would inflate from .* to 67108992 bytes .* zip bomb"),
        (_corrupt_bzip2_member, "compressed with zip method 12"),
        (_corrupt_bad_npy_header, "does not start with a valid .npy header"),
        (_corrupt_crc, r"cannot read its array 'signal' \(BadZipFile: Bad CRC-32"),
        (_corrupt_no_label, r"missing array\(s\) \['label'\]"),
        (_corrupt_shape, r"'signal' must be a real-valued array of shape \(n_trials, 750, 2\)"),
        (_corrupt_label_count, r"'label' must be a numeric array of shape \(2,\) or \(2, 1\)"),
        (_corrupt_label_value, r"labels must be 1 \(left\) or 2 \(right\), found \[3.\]"),
        (_corrupt_all_nan, "trial 2 \\(0-based\\), channel C4 has no valid sample"),
        (_corrupt_duplicate_member, "holds more than one member named 'signal.npy'"),
    ],
)
def test_bci_iiib_corrupt_files(iiib_dir, corrupt, message):
    root, _ = iiib_dir
    path = root / "bci_iiib" / "S4b_test.npz"
    corrupt(path)
    with pytest.warns(UserWarning, match="blob id"):
        with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + message) as error:
            load_bci_iiib(data_dir=root)
    assert type(error.value) is ValueError  # not a private subclass in users' tracebacks


def test_bci_iiib_refuses_more_trials_than_a_course_file(iiib_dir, monkeypatch):
    # Declared shape and member size agree, but the array is larger than any
    # genuine file's (MAX_TRIALS lowered so that the test file stays small).
    root, _ = iiib_dir
    monkeypatch.setattr(bci_iiib, "MAX_TRIALS", 10)
    path = root / "bci_iiib" / "X11b_train.npz"
    np.savez(path, signal=np.zeros((20, 750, 2)), label=np.ones(20))
    message = re.escape(f"{path}: array 'signal.npy' holds 240128 bytes, more than the 120000")
    with pytest.warns(UserWarning, match="blob id"):
        with pytest.raises(ValueError, match=message):
            load_bci_iiib(data_dir=root)


# --------------------------------------------------------------------------
# EEGMMIDB


EEGMMIDB_S001 = Path("MNE-eegbci-data", "files", "eegmmidb", "1.0.0", "S001")


def test_eegmmidb_real(data_dir):
    pytest.importorskip("mne")
    _require(data_dir / EEGMMIDB_S001)
    data = load_eegmmidb(subjects=1, runs=(4, 8, 12), data_dir=data_dir)
    assert data.X.shape == (45, 64, 641)
    assert data.X.dtype == np.float32 and data.X.flags.c_contiguous
    assert np.isfinite(data.X).all()
    assert data.unit == "uV"
    assert 10 < np.abs(data.X).max() < 1e4  # microvolts, not volts
    assert set(data.y) == {"T1", "T2"}
    np.testing.assert_array_equal(np.unique(data.run, return_counts=True)[1], [15, 15, 15])
    np.testing.assert_array_equal(np.unique(data.run), [4, 8, 12])
    np.testing.assert_array_equal(data.subject, np.ones(45, dtype=int))
    assert data.sfreq == 160.0
    assert len(data.ch_names) == 64 and "C3" in data.ch_names
    assert data.times[0] == 0.0 and data.times[-1] == pytest.approx(4.0)
    assert data.target_names == {"T1": "left fist", "T2": "right fist"}


def test_eegmmidb_band_pass_before_epoching(data_dir):
    pytest.importorskip("mne")
    _require(data_dir / EEGMMIDB_S001)
    raw = load_eegmmidb(subjects=1, runs=[4], data_dir=data_dir)
    band = load_eegmmidb(subjects=1, runs=[4], data_dir=data_dir, l_freq=8.0, h_freq=30.0)
    assert band.X.shape == raw.X.shape and band.X.dtype == np.float32
    freqs = np.fft.rfftfreq(raw.X.shape[-1], 1 / raw.sfreq)

    def power(X, low, high):
        spectrum = np.abs(np.fft.rfft(X - X.mean(axis=-1, keepdims=True), axis=-1)) ** 2
        return spectrum[..., (freqs >= low) & (freqs <= high)].sum()

    # The pass band is kept, the stop bands removed, and the DC offsets are gone.
    assert 0.8 < power(band.X, 10, 28) / power(raw.X, 10, 28) < 1.2
    assert power(band.X, 0.5, 4) < 0.01 * power(raw.X, 0.5, 4)
    assert power(band.X, 40, 80) < 0.01 * power(raw.X, 40, 80)
    assert np.abs(band.X.mean(axis=-1)).max() < 0.1 * np.abs(raw.X.mean(axis=-1)).max()
    high = load_eegmmidb(subjects=1, runs=[4], data_dir=data_dir, l_freq=1.0)
    assert power(high.X, 40, 80) > 0.8 * power(raw.X, 40, 80)
    for bad, match in [
        (dict(l_freq=30.0, h_freq=8.0), "l_freq must be below h_freq"),
        (dict(l_freq=-1.0), "l_freq must be None or a positive number"),
        (dict(h_freq="30"), "h_freq must be None or a positive number"),
        (dict(h_freq=np.nan), "h_freq must be None or a positive number"),
        (dict(h_freq=100.0), r"S001R04.edf: cannot filter with .*h_freq=100.0 Hz at 160.0 Hz"),
    ]:
        with pytest.raises(ValueError, match=match):
            load_eegmmidb(subjects=1, runs=[4], data_dir=data_dir, **bad)


def test_eegmmidb_units_and_data_folder_from_environment(data_dir, monkeypatch):
    pytest.importorskip("mne")
    _require(data_dir / EEGMMIDB_S001 / "S001R04.edf")
    monkeypatch.setenv("SKEEG_DATA", str(data_dir))  # found like every other loader
    micro = load_eegmmidb(subjects=[1], runs=[4])
    volts = load_eegmmidb(subjects=[1], runs=[4], units="V")
    assert (micro.unit, volts.unit) == ("uV", "V")
    np.testing.assert_allclose(micro.X, volts.X.astype(np.float64) * 1e6, rtol=1e-6)
    assert 1e-6 < np.abs(volts.X).max() < 1e-2


def _damage_truncated_header(raw):
    return raw[:300]


def _damage_header_only(raw):
    return raw[: 256 * (int(raw[252:256]) + 1)]


def _damage_no_signals(raw):
    return raw[:252] + b"0   " + raw[256:]


def _damage_annotation_encoding(raw):
    # The first annotation of the first record ("+0\x14\x14\x00"): invalid UTF-8.
    at = raw.index(b"+0\x14\x14\x00", 256 * (int(raw[252:256]) + 1))
    return raw[:at] + b"\xff" + raw[at + 1 :]


def _damage_physical_range(raw):
    # Physical maximum of the first channel 1e39 (its unit is uV): beyond float32.
    n_signals = int(raw[252:256])
    at = 256 + n_signals * (16 + 80 + 8 + 8)
    return raw[:at] + b"1e39    " + raw[at + 8 :]


@pytest.mark.parametrize(
    "damage, message",
    [
        (_damage_truncated_header, "ValueError: could not convert string to float"),
        (_damage_header_only, "ValueError: No data in this range"),
        (_damage_no_signals, "AssertionError"),
        (_damage_annotation_encoding, "Exception: Encountered invalid byte"),
        (_damage_physical_range, "beyond the float32 range"),
    ],
)
def test_eegmmidb_damaged_files_are_named(data_dir, tmp_path, damage, message):
    """MNE's errors for damaged EDF files do not name the file: skeeg's do."""
    pytest.importorskip("mne")
    source = _require(data_dir / EEGMMIDB_S001 / "S001R04.edf")
    path = tmp_path / EEGMMIDB_S001 / "S001R04.edf"
    path.parent.mkdir(parents=True)
    path.write_bytes(damage(source.read_bytes()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MNE warns about some of these headers
        with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + message):
            load_eegmmidb(subjects=1, runs=[4], data_dir=tmp_path)


def test_eegmmidb_bad_window_or_picks_are_not_blamed_on_the_file(data_dir, tmp_path):
    pytest.importorskip("mne")
    _require(data_dir / EEGMMIDB_S001 / "S001R04.edf")
    path = data_dir / EEGMMIDB_S001 / "S001R04.edf"
    with pytest.raises(ValueError, match=re.escape(f"{path}: every epoch from 0.0 to 900.0 s")):
        load_eegmmidb(subjects=1, runs=[4], data_dir=data_dir, tmax=900.0)
    with pytest.raises(ValueError, match=re.escape(f"{path}: cannot cut epochs") + ".*'nope'"):
        load_eegmmidb(subjects=1, runs=[4], data_dir=data_dir, picks=["nope"])


def test_eegmmidb_warnings_name_the_file(data_dir, tmp_path):
    pytest.importorskip("mne")
    source = _require(data_dir / EEGMMIDB_S001 / "S001R04.edf").read_bytes()
    path = tmp_path / EEGMMIDB_S001 / "S001R04.edf"
    path.parent.mkdir(parents=True)
    path.write_bytes(source[:236] + b"99999999" + source[244:])  # record count
    with pytest.warns(RuntimeWarning, match=re.escape(str(path)) + ": Number of records"):
        data = load_eegmmidb(subjects=1, runs=[4], data_dir=tmp_path)
    assert data.X.shape == (15, 64, 641)  # MNE trusts the file's size, not the header


def test_eegmmidb_never_downloads_unless_asked(tmp_path, monkeypatch):
    mne = pytest.importorskip("mne")
    calls = []
    monkeypatch.setattr(mne.datasets.eegbci, "load_data",
                        lambda *a, **k: calls.append((a, k)) or [])
    with pytest.raises(FileNotFoundError, match=r"3 file\(s\) of the requested subjects and "
                       r"runs are not in the data folder .*S001R04.edf.*download=True"):
        load_eegmmidb(subjects=1, data_dir=tmp_path)
    assert calls == [] and list(tmp_path.iterdir()) == []  # nothing fetched, nothing made
    with pytest.raises(ValueError, match="download must be True or False"):
        load_eegmmidb(subjects=1, data_dir=tmp_path, download="yes")


@pytest.mark.parametrize("kind", ["fifo", "folder"])
@pytest.mark.parametrize("download", [False, True])
def test_eegmmidb_path_that_is_not_a_regular_file_is_refused(tmp_path, monkeypatch, kind,
                                                            download):
    """Not reported missing, not downloaded over, not handed to MNE: refused by name."""
    mne = pytest.importorskip("mne")
    calls = []
    monkeypatch.setattr(mne.datasets.eegbci, "load_data",
                        lambda *a, **k: calls.append((a, k)) or [])
    path = (tmp_path / "MNE-eegbci-data" / "files" / "eegmmidb" / "1.0.0" / "S001"
            / "S001R04.edf")
    what = _not_regular(path, kind)
    with _must_not_block(), pytest.raises(
        ValueError, match=re.escape(str(path)) + f" is {what}, not a regular file"
    ):
        load_eegmmidb(subjects=1, runs=[4], data_dir=tmp_path, download=download)
    assert calls == []


def test_eegmmidb_download_fetches_missing_runs(data_dir, tmp_path, monkeypatch):
    mne = pytest.importorskip("mne")
    source = _require(data_dir / EEGMMIDB_S001 / "S001R04.edf")

    def fake_load_data(subject, runs, path, **kwargs):  # PhysioNet, as MNE lays it out
        target = Path(path) / EEGMMIDB_S001
        target.mkdir(parents=True, exist_ok=True)
        for run in runs:
            (target / f"S001R{run:02d}.edf").write_bytes(source.read_bytes())
        return [str(target / f"S001R{run:02d}.edf") for run in runs]

    monkeypatch.setattr(mne.datasets.eegbci, "load_data", fake_load_data)
    data = load_eegmmidb(subjects=1, runs=[4], data_dir=tmp_path, download=True)
    assert data.X.shape == (15, 64, 641)


def test_eegmmidb_failed_download_leaves_no_folders(tmp_path, monkeypatch):
    mne = pytest.importorskip("mne")

    def offline(subject, runs, path, **kwargs):
        (Path(path) / EEGMMIDB_S001).mkdir(parents=True)  # as MNE does before fetching
        raise ConnectionError("Max retries exceeded with url: /files/eegmmidb/1.0.0/S001")

    monkeypatch.setattr(mne.datasets.eegbci, "load_data", offline)
    with pytest.raises(OSError, match="downloading subjects \\[1\\], runs \\[4\\] from PhysioNet "
                       ".*ConnectionError: Max retries"):
        load_eegmmidb(subjects=1, runs=[4], data_dir=tmp_path, download=True)
    assert list(tmp_path.iterdir()) == []


def test_eegmmidb_target_names():
    assert _target_names([6, 10, 14]) == {"T1": "both fists", "T2": "both feet"}
    mixed = _target_names([4, 6])
    assert "left fist" in mixed["T1"] and "both fists" in mixed["T1"]
    assert "right fist" in mixed["T2"] and "both feet" in mixed["T2"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"subjects": 0}, "subjects must be an integer or a sequence of integers from 1 to 109"),
        ({"subjects": []}, "subjects must be an integer"),
        ({"subjects": True}, "subjects must be an integer.*got True"),
        ({"subjects": np.bool_(True)}, "subjects must be an integer"),
        ({"subjects": [1, True]}, r"subjects must be an integer.*got \[1, True\]"),
        ({"subjects": "1"}, "subjects must be an integer.*got '1'"),
        ({"subjects": 1.0}, "subjects must be an integer"),
        ({"runs": [1, 4]}, "runs must be an integer or a sequence of integers from 3 to 14"),
        ({"runs": [4.0]}, "runs must be an integer"),
        ({"runs": False}, "runs must be an integer"),
        ({"units": "mV"}, "units must be 'uV' \\(microvolts\\) or 'V' \\(volts\\), got 'mV'"),
        ({"units": None}, "units must be 'uV'"),
        ({"tmin": 4.0, "tmax": 0.0}, "tmin < tmax, got tmin=4.0, tmax=0.0"),
        ({"tmin": "0"}, "tmin and tmax must be finite numbers"),
        ({"tmax": float("nan")}, "tmin and tmax must be finite numbers"),
    ],
)
def test_eegmmidb_bad_arguments(kwargs, message, tmp_path):
    pytest.importorskip("mne")
    with pytest.raises(ValueError, match=message):
        load_eegmmidb(data_dir=tmp_path, **kwargs)


def test_eegmmidb_without_mne(monkeypatch):
    monkeypatch.setitem(sys.modules, "mne", None)
    with pytest.raises(ImportError, match=re.escape("pip install skeeg[mne]")):
        load_eegmmidb()


# --------------------------------------------------------------------------
# Synthetic motor imagery


def _log_var_lda():
    return make_pipeline(
        FunctionTransformer(lambda X: np.log(X.var(axis=-1))), LinearDiscriminantAnalysis()
    )


def test_make_motor_imagery_shapes_and_determinism():
    data = make_motor_imagery(random_state=0)
    assert data.X.shape == (200, 8, 500)
    assert data.X.dtype == np.float32 and data.X.flags.c_contiguous
    assert data.y.dtype.kind == "i"
    np.testing.assert_array_equal(np.bincount(data.y), [100, 100])
    assert data.sfreq == 125.0
    assert data.ch_names[:2] == ["C4", "C3"] and len(set(data.ch_names)) == 8
    assert "SYNTHETIC" in data.DESCR
    again = make_motor_imagery(random_state=np.random.RandomState(0))
    np.testing.assert_array_equal(data.X, again.X)
    np.testing.assert_array_equal(data.y, again.y)
    assert not np.array_equal(data.X, make_motor_imagery(random_state=1).X)


def test_make_motor_imagery_erd_is_contralateral():
    data = make_motor_imagery(n_trials=400, snr=2.0, random_state=0)
    log_var = np.log(data.X.var(axis=-1))
    c4, c3 = data.ch_names.index("C4"), data.ch_names.index("C3")
    left, right = data.y == 0, data.y == 1
    # Left-hand imagery lowers power over the right hemisphere (C4), and vice versa.
    assert log_var[left, c4].mean() < log_var[right, c4].mean() - 0.3
    assert log_var[right, c3].mean() < log_var[left, c3].mean() - 0.3
    # Channels away from the motor cortex do not depend on the class.
    assert abs(log_var[left, 5].mean() - log_var[right, 5].mean()) < 0.1


def test_make_motor_imagery_is_learnable_but_not_trivially():
    data = make_motor_imagery(random_state=42)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    accuracy = cross_val_score(_log_var_lda(), data.X, data.y, cv=cv).mean()
    assert 0.75 < accuracy < 0.98
    shuffled = np.random.default_rng(0).permutation(data.y)
    chance = cross_val_score(_log_var_lda(), data.X, shuffled, cv=cv).mean()
    assert 0.35 < chance < 0.65


def test_make_motor_imagery_more_classes():
    data = make_motor_imagery(n_trials=90, n_channels=4, n_classes=3, random_state=0)
    assert data.X.shape == (90, 4, 500)
    np.testing.assert_array_equal(np.bincount(data.y), [30, 30, 30])
    assert data.ch_names[:3] == ["C4", "C3", "Cz"]
    assert make_motor_imagery(n_trials=2, n_channels=30, random_state=0).ch_names[-1] == "EEG030"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_channels": 1}, "n_channels must be an integer >= 2"),
        ({"n_classes": 4, "n_channels": 3}, "n_channels must be an integer >= 4"),
        ({"n_classes": 1}, "n_classes must be an integer >= 2"),
        ({"n_trials": 0}, "n_trials must be an integer >= 1"),
        ({"n_trials": 10.0}, "n_trials must be an integer"),
        ({"n_times": True}, "n_times must be an integer"),
        ({"sfreq": 20.0}, "sfreq must be a number above 26"),
        ({"snr": 0}, r"snr must be a number in \(0, 1e\+06\]"),
        # Beyond, the rhythm overflowed to non-finite trials with only numpy's warnings.
        ({"snr": float("inf")}, r"snr must be a number in \(0, 1e\+06\]"),
        ({"snr": 1e308}, r"snr must be a number in \(0, 1e\+06\]"),
        ({"snr": True}, "snr must be a number"),
        ({"sfreq": 1e9}, "and at most 1e\\+06 Hz"),
        ({"n_trials": 3, "n_classes": 4, "n_channels": 4}, "cannot hold n_classes=4 classes"),
        ({"n_trials": 10**9, "n_channels": 1000, "n_times": 1000},
         "samples is more than the 1.07e\\+09"),
        ({"n_times": 8}, "too short to hold a 8-13 Hz rhythm"),
    ],
)
def test_make_motor_imagery_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_motor_imagery(**kwargs)



def test_uea_sidecar_rate_is_named_with_all_its_digits(tmp_path):
    folder = _write_set(tmp_path / "uea" / "FingerMovements", name="FingerMovements")
    (folder / "FingerMovements.json").write_text('{"sfreq": 100.00001}')
    with pytest.raises(ValueError, match=r'"sfreq" says 100\.00001 Hz but FingerMovements was '
                                         r"recorded at 100 Hz"):
        load_uea("FingerMovements", data_dir=tmp_path)
