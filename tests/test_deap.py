"""Tests of skeeg.datasets.deap.load_deap on small files in the DEAP format.

DEAP itself cannot be redistributed, so every test writes participant files
exactly as the release stores them (Python 2 pickles of a dict of arrays)
but with 3 trials of 400 samples instead of 40 of 8064.
"""

import io
import os
import pickle
import re
import struct
import subprocess

import numpy as np
import pytest

from skeeg.datasets.deap import CH_NAMES, DEAP_URL, RATING_NAMES, load_deap

N_TRIALS, N_SAMPLES = 3, 400
BASELINE = 384

# Ratings of the three trials; 5.0 sits exactly on the default threshold.
RATINGS = np.array(
    [
        [5.0, 7.2, 1.0, 9.0],
        [6.5, 5.0, 5.01, 3.3],
        [1.0, 2.5, 8.0, 5.0],
    ]
)


class Py2Pickler(pickle._Pickler):
    """Writes pickles as Python 2 with numpy 1.x did (the DEAP files).

    Python 2 ``str`` objects are byte strings (``SHORT_BINSTRING`` /
    ``BINSTRING`` opcodes), which Python 3 decodes with ``encoding="latin1"``,
    and numpy 1.x arrays rebuild through ``numpy.core.multiarray``.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_string(self, obj):
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = save_py2_string
    dispatch[bytes] = save_py2_string

    def save_global(self, obj, name=None):
        module = obj.__module__.replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + f"{module}\n{name or obj.__qualname__}\n".encode())
        self.memoize(obj)


def dumps(content, writer="python2"):
    """Pickle bytes of ``content`` as a Python 2 DEAP file or with protocol N."""
    if writer == "python2":
        buffer = io.BytesIO()
        Py2Pickler(buffer, protocol=2).dump(content)
        return buffer.getvalue()
    return pickle.dumps(content, protocol=int(writer[-1]))


def participant(subject, n_trials=N_TRIALS, n_samples=N_SAMPLES):
    """Data and labels of one small participant file; values encode the subject."""
    rng = np.random.default_rng(subject)
    data = rng.normal(subject, 10.0, size=(n_trials, 40, n_samples))
    return {"data": data, "labels": RATINGS[:n_trials] + 0.0}


def write(folder, subject, content, writer="python2"):
    path = folder / f"s{subject:02d}.dat"
    path.write_bytes(content if isinstance(content, bytes) else dumps(content, writer))
    return path


@pytest.fixture
def deap_dir(tmp_path):
    for subject in (1, 2, 3):
        write(tmp_path, subject, participant(subject))
    return tmp_path


def global_call(module, name, *args):
    """Protocol 2 pickle bytes that call ``module.name(*args)`` when loaded."""
    call_args = pickle.dumps(args, protocol=2)[2:-1]  # drop PROTO and STOP
    return b"\x80\x02c" + f"{module}\n{name}\n".encode() + call_args + b"R."


class Payload:
    """Object whose unpickling runs ``function(*args)``."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


@pytest.mark.parametrize("writer", ["python2", "protocol2", "protocol4"])
def test_round_trip(deap_dir, writer):
    for subject in (1, 3):
        write(deap_dir, subject, participant(subject), writer)
    data = load_deap(deap_dir, subjects=[3, 1])

    expected = [participant(3)["data"], participant(1)["data"]]
    assert data.X.dtype == np.float32
    assert data.X.shape == (2 * N_TRIALS, 32, N_SAMPLES)
    np.testing.assert_array_equal(
        data.X, np.concatenate(expected)[:, :32].astype(np.float32)
    )
    np.testing.assert_array_equal(data.ratings, np.concatenate([RATINGS, RATINGS]))
    # Valence 5.0 is not above 5.0: low.
    np.testing.assert_array_equal(data.y, [0, 1, 0, 0, 1, 0])
    assert data.y.dtype == np.int64
    np.testing.assert_array_equal(data.subject, [3, 3, 3, 1, 1, 1])
    np.testing.assert_array_equal(data.trial, [1, 2, 3, 1, 2, 3])
    assert data.ch_names == list(CH_NAMES) and len(set(CH_NAMES)) == 32
    assert data.ch_names[:4] == ["Fp1", "AF3", "F3", "F7"] and data.ch_names[-1] == "O2"
    assert data.rating_names == ["valence", "arousal", "dominance", "liking"]
    assert data.sfreq == 128.0
    assert (data.target, data.threshold, data.baseline) == ("valence", 5.0, "keep")


def test_all_subjects_by_default(tmp_path):
    for subject in range(1, 33):
        write(tmp_path, subject, participant(subject, n_trials=1, n_samples=2))
    data = load_deap(tmp_path)
    expected = [participant(s, n_trials=1, n_samples=2)["data"] for s in range(1, 33)]
    np.testing.assert_array_equal(
        data.X, np.concatenate(expected)[:, :32].astype(np.float32)
    )
    np.testing.assert_array_equal(data.subject, np.arange(1, 33))
    np.testing.assert_array_equal(data.trial, np.ones(32))


@pytest.mark.parametrize("target", RATING_NAMES)
def test_targets_and_threshold(deap_dir, target):
    column = RATING_NAMES.index(target)
    data = load_deap(deap_dir, target=target, subjects=[1])
    np.testing.assert_array_equal(data.y, RATINGS[:, column] > 5.0)
    # Exactly 5.0 counts as low by default, high once the threshold is lower.
    lower = load_deap(deap_dir, target=target, threshold=4.99, subjects=[1])
    np.testing.assert_array_equal(lower.y, RATINGS[:, column] >= 5.0)
    assert lower.threshold == 4.99


def test_baseline_modes(deap_dir):
    eeg = participant(2)["data"][:, :32]
    kept = load_deap(deap_dir, subjects=[2], baseline="keep").X
    dropped = load_deap(deap_dir, subjects=[2], baseline="drop").X
    subtracted = load_deap(deap_dir, subjects=[2], baseline="subtract").X

    np.testing.assert_array_equal(kept, eeg.astype(np.float32))
    assert dropped.shape == subtracted.shape == (N_TRIALS, 32, N_SAMPLES - BASELINE)
    np.testing.assert_array_equal(dropped, eeg[..., BASELINE:].astype(np.float32))
    baseline_mean = eeg[..., :BASELINE].mean(axis=-1, keepdims=True)
    np.testing.assert_allclose(
        subtracted, eeg[..., BASELINE:] - baseline_mean, rtol=1e-6, atol=1e-5
    )
    # Subtracting really removed the baseline mean (the data are offset by 2).
    assert abs(baseline_mean.mean() - 2) < 1
    assert abs(subtracted.mean()) < 1


@pytest.mark.parametrize("baseline", ["drop", "subtract"])
def test_baseline_needs_more_than_three_seconds(tmp_path, baseline):
    path = write(tmp_path, 1, participant(1, n_samples=BASELINE))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*384 samples"):
        load_deap(tmp_path, subjects=[1], baseline=baseline)
    assert load_deap(tmp_path, subjects=[1]).X.shape[-1] == BASELINE


@pytest.mark.parametrize(
    "layout", ["", "data_preprocessed_python", "deap", "deap/data_preprocessed_python"]
)
def test_folder_layouts(tmp_path, layout):
    folder = tmp_path / layout
    folder.mkdir(parents=True, exist_ok=True)
    write(folder, 1, participant(1))
    assert load_deap(tmp_path, subjects=[1]).X.shape == (N_TRIALS, 32, N_SAMPLES)


def test_data_dir_from_environment(deap_dir, monkeypatch):
    monkeypatch.setenv("SKEEG_DATA", str(deap_dir))
    assert load_deap(subjects=[2]).X.shape == (N_TRIALS, 32, N_SAMPLES)


def test_missing_files(deap_dir, tmp_path_factory):
    with pytest.raises(FileNotFoundError, match=r"s05\.dat.*" + re.escape(DEAP_URL)):
        load_deap(deap_dir, subjects=[1, 5])
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(FileNotFoundError, match=r"s01\.dat.*licence agreement"):
        load_deap(empty)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda raw: raw[: len(raw) // 2],
        lambda raw: raw[:-1],
        lambda raw: b"",
        lambda raw: b"not a pickle at all",
    ],
    ids=["half", "last-byte", "empty", "garbage"],
)
def test_truncated_or_corrupt_file(deap_dir, corrupt):
    path = write(deap_dir, 2, corrupt(dumps(participant(2))))
    message = re.escape(str(path)) + ".*truncated or corrupt"
    with pytest.raises(ValueError, match=message):
        load_deap(deap_dir, subjects=[1, 2])


def shapes_case(data_shape, labels_shape):
    return {"data": np.zeros(data_shape), "labels": np.full(labels_shape, 5.0)}


@pytest.mark.parametrize(
    "content, message",
    [
        (shapes_case((3, 39, 400), (3, 4)), r"\(3, 39, 400\)"),
        (shapes_case((3, 40, 400), (3, 5)), r"\(3, 5\)"),
        (shapes_case((3, 40, 400), (2, 4)), r"\(3, 40, 400\).*\(2, 4\)"),
        (shapes_case((0, 40, 400), (0, 4)), r"\(0, 40, 400\)"),
        (shapes_case((3, 40, 0), (3, 4)), r"\(3, 40, 0\)"),
        (shapes_case((40, 400), (3, 4)), r"\(40, 400\)"),
        (
            {"data": np.zeros((3, 40, 4), dtype=object), "labels": np.ones((3, 4))},
            "object",
        ),
        ({"data": [[0.0]], "labels": np.ones((3, 4))}, "type list"),
        ({"data": np.zeros((3, 40, 4)), "labels": np.ones((3, 4)), "x": 1}, "'x'"),
        ({"data": np.zeros((3, 40, 4))}, "keys 'data' and 'labels'"),
        ([np.zeros((3, 40, 4)), np.ones((3, 4))], "got list"),
    ],
)
def test_wrong_content(tmp_path, content, message):
    path = write(tmp_path, 1, content)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + message):
        load_deap(tmp_path, subjects=[1])


def test_non_finite_values(tmp_path):
    content = participant(1)
    content["labels"][1, 2] = np.nan
    path = write(tmp_path, 1, content)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*NaN"):
        load_deap(tmp_path, subjects=[1])


@pytest.mark.parametrize("rating", [0.0, 9.5, -3.0, 90.0])
def test_ratings_outside_the_scale_are_refused(tmp_path, rating):
    # A rating off the 1-9 scale would binarise into a label without a word.
    content = participant(1)
    content["labels"][2, 1] = rating
    path = write(tmp_path, 1, content)
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": trial 2 \(0-based\) has "
                       r"ratings .*DEAP's ratings are in \[1, 9\]"):
        load_deap(tmp_path, subjects=[1])


def test_files_must_agree(deap_dir):
    write(deap_dir, 2, participant(2, n_samples=N_SAMPLES + 1))
    with pytest.raises(ValueError, match=r"s02\.dat.*\(3, 40, 401\).*s01\.dat"):
        load_deap(deap_dir, subjects=[1, 2])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"target": "happiness"}, "valence, arousal, dominance, liking.*'happiness'"),
        ({"target": "Valence"}, "target must be one of"),
        ({"baseline": "remove"}, "keep, drop, subtract"),
        ({"threshold": float("nan")}, "finite number"),
        ({"threshold": "5"}, "finite number"),
        ({"subjects": [0]}, r"1\.\.32"),
        ({"subjects": [33]}, r"1\.\.32"),
        ({"subjects": [1, 1]}, "distinct"),
        ({"subjects": []}, "subjects must be"),
        ({"subjects": 1}, "iterable"),
        ({"subjects": "12"}, "iterable"),
        ({"subjects": [True]}, "subjects must be"),
        ({"subjects": [1.0]}, "subjects must be"),
    ],
)
def test_bad_arguments(deap_dir, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_deap(deap_dir, **kwargs)


def test_numpy_integer_subjects(deap_dir):
    data = load_deap(deap_dir, subjects=np.array([2, 1]))
    np.testing.assert_array_equal(data.subject, [2, 2, 2, 1, 1, 1])


# ----------------------------------------------------------------------
# Malicious files: each must be refused before it runs or imports anything.
def malicious_content(case, marker):
    """A payload that would create ``marker``, and the global it needs.

    Payloads are pickled with protocol 2 except in the ``protocol4`` cases
    (STACK_GLOBAL opcode; protocol 2 would also rename subprocess to its
    Python 2 name, commands).
    """
    touch = f"open({str(marker)!r}, 'w').close()"
    system = Payload(os.system, f"touch {marker}")
    return {
        "os.system": (system, "system"),
        "os.system-in-dict": ({"data": system, "labels": np.ones((3, 4))}, "system"),
        "subprocess-protocol4": (
            Payload(subprocess.check_call, ["touch", str(marker)]),
            "subprocess",
        ),
        "builtins.eval": (global_call("builtins", "eval", touch), "builtins.eval"),
        "python2-eval": (global_call("__builtin__", "eval", touch), "__builtin__.eval"),
        "exec-protocol4": (Payload(exec, touch), "builtins.exec"),
        "numpy.load": (global_call("numpy", "load", str(marker)), "numpy.load"),
        "numpy-runstring": (
            global_call("numpy.testing._private.utils", "runstring", touch, {}),
            "numpy.testing._private.utils.runstring",
        ),
        "codecs-rot13": (global_call("_codecs", "encode", "abc", "rot13"), "'rot13'"),
    }[case]


@pytest.mark.parametrize(
    "case",
    [
        "os.system",
        "subprocess-protocol4",
        "builtins.eval",
        "python2-eval",
        "exec-protocol4",
        "numpy-runstring",
    ],
)
def test_malicious_payloads_do_run_with_plain_pickle(tmp_path, case):
    # Shows that the refusals below are real: pickle.load would run these.
    marker = tmp_path / "pwned"
    content, _ = malicious_content(case, marker)
    raw = content if isinstance(content, bytes) else pickle.dumps(content, protocol=4)
    pickle.loads(raw, encoding="latin1")
    assert marker.exists()


@pytest.mark.parametrize(
    "case",
    [
        "os.system",
        "os.system-in-dict",
        "subprocess-protocol4",
        "builtins.eval",
        "python2-eval",
        "exec-protocol4",
        "numpy.load",
        "numpy-runstring",
        "codecs-rot13",
    ],
)
def test_malicious_pickles_are_refused(deap_dir, tmp_path_factory, case):
    marker = tmp_path_factory.mktemp("marker") / "pwned"
    content, forbidden = malicious_content(case, marker)
    writer = "protocol4" if case.endswith("protocol4") else "protocol2"
    path = write(deap_dir, 2, content, writer=writer)
    message = re.escape(str(path)) + ".*" + re.escape(forbidden)
    with pytest.raises(pickle.UnpicklingError, match=message):
        load_deap(deap_dir, subjects=[1, 2])
    assert not marker.exists(), "the malicious pickle ran code"
