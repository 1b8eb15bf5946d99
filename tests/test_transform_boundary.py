"""Boundaries of the transforms, transformers and loaders (issue 20, kinds 4 and 7).

What a transform returns is checked per batch (shape, dtype, device and
finiteness) and a wrong return is refused naming the transform; every
numeric parameter of every transform is range-checked where it is declared;
DEAPReducer and EuclideanAlignment read their input by the classifiers' rule
and refuse non-finite fitted state; loaders bound what files declare.
"""

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from skeeg import DNNClassifier, EEGNetClassifier
from skeeg.augmentation import (
    AmplitudeScale,
    ChannelsDropout,
    FrequencyShift,
    GaussianNoise,
    Mixup,
    SignFlip,
    SmoothTimeMask,
    TimeReverse,
    TimeShift,
    Transform,
    apply_augmentation,
    check_augmentation,
)


def trials(n=40, n_channels=2, n_times=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n_channels, n_times)).astype(np.float32), np.arange(n) % 2


def batch(n=4, n_channels=3, n_times=32):
    X = torch.randn(n, n_channels, n_times, generator=torch.Generator().manual_seed(1))
    y = torch.nn.functional.one_hot(torch.arange(n) % 2, 2).float()
    return X, y, torch.Generator().manual_seed(0)


class Returning(Transform):
    """A user's transform that returns ``make(X, y)``."""

    def __init__(self, make=None, *, probability=1.0):
        self.make = make
        self.probability = probability

    def _transform(self, X, y, generator):
        return self.make(X, y)


# ----------------------------------------------------------------------
# Kind 4: what a transform returns, per batch
@pytest.mark.parametrize("make, message", [
    (lambda X, y: (X * float("nan"), y), r"Returning returned NaN or infinity \(trial 0"),
    (lambda X, y: (X.clone().index_fill_(0, torch.tensor([2]), float("inf")), y),
     r"Returning returned NaN or infinity \(trial 2 of the batch\)"),
    (lambda X, y: (X, y.clone().index_fill_(0, torch.tensor([1]), float("nan"))),
     r"Returning returned NaN or infinity \(the targets of trial 1 of the batch\)"),
    (lambda X, y: (X * 1e38 * 1e38, y), "Returning returned NaN or infinity"),  # overflow
], ids=["nan", "inf-one-trial", "nan-targets", "overflow"])
def test_a_transform_returning_non_finite_values_is_refused_naming_it(make, message):
    X, y, generator = batch()
    with pytest.raises(ValueError, match=message):
        apply_augmentation([SignFlip(), Returning(make), TimeReverse()], X, y, generator)


def test_the_first_transform_to_return_non_finite_values_is_named():
    X, y, generator = batch()
    nan = Returning(lambda X, y: (X / 0 * 0, y))
    with pytest.raises(ValueError, match="Returning returned NaN") as error:
        apply_augmentation([GaussianNoise(probability=1.0), nan, SignFlip()], X, y, generator)
    assert "GaussianNoise" not in str(error.value) and "SignFlip" not in str(error.value)


def test_a_non_finite_batch_is_not_blamed_on_the_transforms():
    X, y, generator = batch()
    X[1, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"the batch given to the transforms already holds "
                                         r"NaN or infinity \(trial 1 of the batch\)"):
        apply_augmentation([SignFlip()], X, y, generator)


def test_huge_finite_trials_whose_sum_overflows_pass():
    X, y, generator = batch()
    X = torch.full_like(X, 3e38)  # every value finite, their float32 sum infinite
    out, _ = apply_augmentation([TimeReverse(probability=1.0)], X, y, generator)
    assert torch.equal(out, X)


def test_a_transform_returning_nan_is_refused_before_training_not_as_a_divergence():
    X, y = trials()
    clf = DNNClassifier(max_epochs=1, augmentation=Returning(lambda X, y: (X.log(), y)))
    with pytest.raises(ValueError, match="augmentation does not fit .* Returning returned NaN"):
        clf.fit(X, y)


def test_a_transform_turning_nan_only_at_training_is_refused_naming_it():
    # Finite on fit's check (2 trials), NaN on the training batches (more).
    X, y = trials()
    late = Returning(lambda X, y: (X if len(X) <= 2 else X * float("nan"), y))
    with pytest.raises(ValueError, match="Returning returned NaN or infinity") as error:
        DNNClassifier(max_epochs=1, batch_size=8, augmentation=late).fit(X, y)
    assert "diverged" not in str(error.value)


@pytest.mark.parametrize("make, row", [
    (lambda X, y: (X, -y), "[-1.0, -0.0]"),
    (lambda X, y: (X, 5 * y), "[5.0, 0.0]"),
    (lambda X, y: (X, y + 0.1), "[1.1, 0.1]"),
], ids=["negative", "scaled", "not-summing-to-1"])
def test_targets_that_are_not_probabilities_are_refused_naming_the_transform(make, row):
    X, y, generator = batch()
    message = r"Returning returned targets that are not probabilities \(trial 0 of the batch"
    with pytest.raises(ValueError, match=message) as error:
        apply_augmentation([SignFlip(), Returning(make), Mixup(probability=1.0)], X, y,
                           generator)
    assert row in str(error.value)


def test_mixed_targets_are_probabilities():
    X, y, generator = batch(n=64)
    for _ in range(20):
        _, mixed = apply_augmentation([Mixup(probability=1.0)], X, y, generator)
        assert not torch.equal(mixed, y)  # checked targets, really mixed


def test_a_divergence_under_augmentation_points_at_the_transforms():
    X, y = trials()
    huge = Returning(lambda X, y: (X * 1e30, y))  # finite, far beyond the batch's scale
    with pytest.raises(ValueError, match="diverged.*check that the transforms return trials "
                                         "of the batch's scale"):
        EEGNetClassifier(max_epochs=2, augmentation=huge, random_state=0, kernel_length=15,
                         separable_kernel_length=7).fit(X, y)


def test_a_transform_dividing_by_each_trials_spread_trains():
    # fit's check runs on noise, not on zeros, which such a transform divides by.
    X, y = trials()
    normalise = Returning(lambda X, y: (X / X.std(dim=-1, keepdim=True), y))
    DNNClassifier(max_epochs=1, augmentation=normalise).fit(X, y)


class ReturningNone(Transform):
    def __call__(self, X, y, generator):
        return None


class TransformReturningNone(Transform):
    def _transform(self, X, y, generator):
        return None


@pytest.mark.parametrize("transform, message", [
    (ReturningNone(), "ReturningNone returned NoneType; a transform returns a pair"),
    (TransformReturningNone(), "TransformReturningNone returned NoneType"),
    (Returning(lambda X, y: (None, y)), "Returning returned X as NoneType"),
    (Returning(lambda X, y: (X, None)), r"Returning returned targets NoneType"),
    (Returning(lambda X, y: (X, y.double())), "Returning returned targets torch.float64"),
    (Returning(lambda X, y: (X, y[:, :1])), r"Returning returned targets \(4, 1\)"),
], ids=["call-none", "transform-none", "x-none", "y-none", "y-float64", "y-one-class"])
def test_a_transform_returning_none_or_other_targets_is_refused_naming_it(transform, message):
    X, y, generator = batch()
    with pytest.raises((TypeError, ValueError), match=message):
        apply_augmentation([transform], X, y, generator)


# ----------------------------------------------------------------------
# Kind 4: every numeric parameter, cast and range-checked where declared
NUMERIC = {  # class, its required arguments, its numeric parameters
    SignFlip: ({}, ["probability"]),
    TimeReverse: ({}, ["probability"]),
    GaussianNoise: ({}, ["probability", "std"]),
    ChannelsDropout: ({}, ["probability", "p_drop"]),
    AmplitudeScale: ({}, ["probability"]),
    FrequencyShift: ({"sfreq": 128.0}, ["probability", "sfreq", "max_delta_freq"]),
    Mixup: ({}, ["probability", "alpha"]),
    SmoothTimeMask: ({}, ["probability", "mask_len_samples"]),
    TimeShift: ({}, ["probability", "max_shift"]),
}
HOSTILE = {
    "true": True, "numpy-true": np.True_, "nan": float("nan"), "numpy-nan": np.float32("nan"),
    "inf": float("inf"), "-inf": -float("inf"), "1e308": 1e308, "-1": -1, "string": "0.5",
    "none": None, "complex": 0.5 + 0j, "huge-fraction": Fraction(10**400),
    "tensor": torch.tensor(0.5), "list": [0.5],
}
CASES = [(cls, name, value) for cls, (_, names) in NUMERIC.items() for name in names
         for value in HOSTILE.values()]
IDS = [f"{cls.__name__}-{name}-{key}" for cls, (_, names) in NUMERIC.items() for name in names
       for key in HOSTILE]


@pytest.mark.parametrize("cls, name, value", CASES, ids=IDS)
def test_every_numeric_parameter_refuses_hostile_values_naming_itself(cls, name, value):
    transform = cls(**{**NUMERIC[cls][0], name: value})
    with pytest.raises(ValueError, match=f"'{name}' parameter of {cls.__name__}"):
        check_augmentation(transform)


@pytest.mark.parametrize("cls", list(NUMERIC))
def test_probabilities_take_fractions_and_numpy_numbers(cls):
    X, y, generator = batch(n_times=128)
    for probability in (Fraction(1, 2), np.float32(0.5), np.int64(1), 0):
        transform = cls(**NUMERIC[cls][0], probability=probability)
        out, _ = apply_augmentation(check_augmentation(transform), X, y, generator)
        assert out.shape == X.shape and torch.isfinite(out).all()


@pytest.mark.parametrize("transform", [
    GaussianNoise(std=1e308), GaussianNoise(std=1e7), AmplitudeScale(interval=(1.0, 1e308)),
    AmplitudeScale(interval=(0.0, 1.0)), AmplitudeScale(interval=(True, 2.0)),
    AmplitudeScale(interval=(float("nan"), 1.0)), AmplitudeScale(interval=(2.0, 1.0)),
    AmplitudeScale(interval=np.array([[0.5, 2.0]])),
    FrequencyShift(sfreq=1e-300, max_delta_freq=0),
    FrequencyShift(sfreq=1e7), FrequencyShift(sfreq=128, max_delta_freq=64),
    Mixup(alpha=0), Mixup(alpha=1e308), Mixup(beta_per_sample=1),
    SmoothTimeMask(mask_len_samples=0), SmoothTimeMask(mask_len_samples=3.0),
    TimeShift(max_shift=-1), TimeShift(max_shift=2.0), TimeShift(mode="wrap"),
    ChannelsDropout(p_drop=1.5), SignFlip(probability=Fraction(3, 2)),
], ids=lambda t: repr(t))
def test_absurd_values_are_refused_where_declared(transform):
    with pytest.raises(ValueError, match=f"parameter of {type(transform).__name__}"):
        check_augmentation(transform)


def test_a_sampling_rate_that_would_vanish_in_float32_is_refused():
    # 1e-300 Hz made every time step infinite and the shifted trials NaN.
    with pytest.raises(ValueError, match=r"'sfreq' parameter of FrequencyShift must be a "
                                         r"real number in the range \[0.001, 1000000.0\]"):
        check_augmentation(FrequencyShift(sfreq=1e-300, max_delta_freq=0))
    X, y, generator = batch()
    out, _ = FrequencyShift(sfreq=1e-3, max_delta_freq=1e-4, probability=1.0)(X, y, generator)
    assert torch.isfinite(out).all()


# ----------------------------------------------------------------------
# DEAPReducer and EuclideanAlignment: the classifiers' input rule
from skeeg.preprocessing import DEAPReducer, EuclideanAlignment  # noqa: E402

TRANSFORMERS = [DEAPReducer(n_windows=2), EuclideanAlignment(), EuclideanAlignment(shrinkage=0)]
TRANSFORMER_IDS = ["DEAPReducer", "alignment-auto", "alignment-0"]


def eeg(n=10, n_channels=3, n_times=100, seed=0):
    return np.random.default_rng(seed).standard_normal((n, n_channels, n_times))


def masked(X, where):
    mask = np.zeros(X.shape, bool)
    mask[where] = True
    return np.ma.masked_array(X, mask=mask)


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=TRANSFORMER_IDS)
@pytest.mark.parametrize("make, message", [
    (lambda X: masked(X, (0, 0, 0)), r"X is a masked array with 1 masked entries.*filled"),
    (lambda X: torch.empty(X.shape, device="meta"), "torch tensor on the 'meta' device"),
    (lambda X: torch.tensor(X[:, 0]).to_sparse(), r"sparse torch tensor .*to_dense\(\)"),
    (lambda X: X * 1e300, "beyond the float32 range"),
    (lambda X: np.where(X > 2, np.nan, X), "NaN"),
    (lambda X: np.where(X > 2, np.inf, X), "infinity"),
    (lambda X: X[:0], "0 sample"),
    (lambda X: X[:, :0], r"0 channel\(s\)"),
    (lambda X: X[:, :, :0], r"0 sample\(s\)"),
], ids=["masked", "meta", "sparse", "1e300", "nan", "inf", "no-trial", "no-channel",
        "no-sample"])
def test_transformers_refuse_what_the_classifiers_refuse(transformer, make, message):
    error = TypeError if "sparse" in message else ValueError  # the classifiers' types
    with pytest.raises(error, match=message):
        transformer.fit_transform(make(eeg()))


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=TRANSFORMER_IDS)
@pytest.mark.parametrize("make", [
    lambda X: np.ma.masked_array(X),  # no entry masked
    lambda X: torch.tensor(X),
    lambda X: torch.tensor(X, dtype=torch.bfloat16),
    lambda X: torch.tensor(X, dtype=torch.float16),
    lambda X: torch.tensor(X, requires_grad=True),
], ids=["masked-nothing", "tensor", "bfloat16", "float16", "requires-grad"])
def test_transformers_read_unmasked_arrays_and_tensors_of_any_float_dtype(transformer, make):
    X = eeg()
    expected = transformer.fit_transform(np.asarray(make(X).detach().float().numpy()
                                                    if torch.is_tensor(make(X)) else X))
    out = transformer.fit_transform(make(X))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert np.isfinite(out).all()


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=TRANSFORMER_IDS)
def test_transformers_refuse_other_channels_at_transform_time(transformer):
    fitted = transformer.fit(eeg())
    with pytest.raises(ValueError, match=r"X has 2 (channel\(s\)|features), but .* 3"):
        fitted.transform(eeg(n_channels=2))
    with pytest.raises(ValueError, match="masked array"):
        fitted.transform(masked(eeg(), (1, 2, 3)))


@pytest.mark.parametrize("groups, message", [
    (np.repeat([0, 1], 5)[:3], "groups has 3 entries, but X has 10 trials"),
    (np.where(np.arange(10) < 5, np.nan, 1.0), r"missing values \(NaN or None\)"),
    ([None] * 10, r"missing values \(NaN or None\)"),
    (np.where(np.arange(10) < 5, np.inf, 1.0), r"infinite values at position\(s\) \[0, 1"),
    (np.ma.masked_array(np.repeat([0, 1], 5), mask=np.arange(10) < 2), "groups is a masked array"),
    (np.repeat([0, 1], 5)[:, None], "groups must be 1-D"),
], ids=["short", "nan", "none", "inf", "masked", "2-d"])
def test_alignment_refuses_bad_groups(groups, message):
    with pytest.raises(ValueError, match=message):
        EuclideanAlignment().fit(eeg(), groups=groups)


def test_alignment_takes_groups_as_a_tensor():
    groups = np.repeat([0, 1], 5)
    X = eeg()
    expected = EuclideanAlignment().fit_transform(X, groups=groups)
    np.testing.assert_array_equal(
        EuclideanAlignment().fit_transform(X, groups=torch.tensor(groups)), expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("make", [
    lambda X: np.concatenate([X[:, :2], X[:, :1] + X[:, 1:2]], axis=1),  # a channel sum
    lambda X: X - X.mean(axis=1, keepdims=True),  # average reference
    lambda X: np.concatenate([X[:, :2], 0 * X[:, :1]], axis=1),  # a flat channel
], ids=["sum", "average-reference", "zero-channel"])
def test_rank_deficient_trials_are_refused_without_shrinkage_not_amplified(make, dtype):
    # float64 sums rounded to a tiny positive eigenvalue used to pass, with
    # an inverse square root of 6e6 that amplified other data's null direction.
    X = make(eeg()).astype(dtype)
    with pytest.raises(ValueError, match=r"singular \(rank 2 of 3 channels"):
        EuclideanAlignment(shrinkage=0).fit(X)
    out = EuclideanAlignment().fit_transform(X)  # Ledoit-Wolf shrinkage: finite
    assert np.isfinite(out).all() and np.abs(out).max() < 100


def test_a_constant_channel_is_aligned_not_nan():
    # Trials are not centred: a constant, non-zero channel has power.
    X = eeg()
    X[:, 1] = 5.0
    for shrinkage in ("auto", 0):
        out = EuclideanAlignment(shrinkage=shrinkage).fit_transform(X)
        assert np.isfinite(out).all()


def test_trials_too_small_to_square_are_named_not_called_zeros_only():
    with pytest.raises(ValueError, match=r"so small \(below about 1e-154\)"):
        EuclideanAlignment().fit(eeg() * 1e-300)


def test_aligned_trials_that_overflow_are_refused():
    align = EuclideanAlignment(shrinkage=1).fit((0.1 * eeg()).astype(np.float32))
    with pytest.raises(ValueError, match="aligned trials overflow float32"):
        align.transform(np.full((2, 3, 100), 3e38, np.float32))


@pytest.mark.parametrize("params, name", [
    ({"n_windows": 0}, "n_windows"), ({"n_windows": True}, "n_windows"),
    ({"n_windows": 2.0}, "n_windows"), ({"flatten": 1}, "flatten"),
    ({"zscore_trial": "yes"}, "zscore_trial"),
], ids=lambda v: repr(v))
def test_deap_reducer_parameters_are_checked_in_fit(params, name):
    with pytest.raises(ValueError, match=f"'{name}' parameter of DEAPReducer"):
        DEAPReducer(**params).fit(eeg())


@pytest.mark.parametrize("shrinkage", [float("nan"), True, 1.5, -0.1, "ledoit", None])
def test_alignment_shrinkage_is_checked_in_fit(shrinkage):
    with pytest.raises(ValueError, match="'shrinkage' parameter of EuclideanAlignment"):
        EuclideanAlignment(shrinkage=shrinkage).fit(eeg())


def test_alignment_takes_a_fraction_of_shrinkage():
    X = eeg()
    np.testing.assert_allclose(EuclideanAlignment(shrinkage=Fraction(1, 2)).fit_transform(X),
                               EuclideanAlignment(shrinkage=0.5).fit_transform(X))


# ----------------------------------------------------------------------
# Kind 7: loaders bound what files declare and name the file they refuse
import io  # noqa: E402
import pickle  # noqa: E402
import threading  # noqa: E402
import zipfile  # noqa: E402
from http.server import BaseHTTPRequestHandler, HTTPServer  # noqa: E402

from skeeg.datasets import load_bci_iiib, load_deap, load_uea  # noqa: E402

TS = ("@problemName Toy\n@univariate false\n@classLabel true a b\n@data\n"
      "1,2,3:4,5,6:a\n2,3,4:5,6,7:b\n")


def _toy_uea(folder, train=TS, sidecar=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Toy_TRAIN.ts").write_bytes(train if isinstance(train, bytes) else train.encode())
    (folder / "Toy_TEST.ts").write_text(TS)
    if sidecar is not None:
        (folder / "Toy.json").write_bytes(sidecar)


@pytest.mark.parametrize("sidecar, message", [
    (b'{"sfreq": 1e308}', "between 0.001 and 1e.06 Hz"),
    (b'{"sfreq": 1e-300}', "between 0.001 and 1e.06 Hz"),
    (b'{"sfreq": 256, "sfreq": 128}', "the key 'sfreq' appears twice"),
    (b'{"sfreq": NaN}', "NaN is not JSON"),
    (b'{"sfreq": Infinity}', "Infinity is not JSON"),
    (b'{"sfreq": 1' + b'0' * 5000 + b'}', "Toy.json is not valid JSON"),  # int beyond float
    (b'[' * 100000 + b']' * 100000, "Toy.json is not valid JSON"),  # nesting
    (b'{"sfreq": 25', "Toy.json is not valid JSON"),  # truncated
    (b'\x00\xff\xfe garbage', "Toy.json is not valid JSON"),
], ids=["1e308", "1e-300", "repeated-key", "nan", "infinity", "huge-int", "deep", "truncated",
        "garbage"])
def test_uea_sidecars_are_bounded_and_strict(tmp_path, sidecar, message):
    _toy_uea(tmp_path / "uea" / "Toy", sidecar=sidecar)
    with pytest.raises(ValueError, match=message):
        load_uea("Toy", tmp_path)


@pytest.mark.parametrize("content, message", [
    (b"\x00\x01\x02\xff" * 100, r"Toy_TRAIN\.ts, line 1: data found before the @data line"),
    (TS[: TS.index("@data")], r"Toy_TRAIN\.ts, line \d+: end of file reached without an @data"),
    (TS + "1,2,3:4,5", r"Toy_TRAIN\.ts, line 7: missing class label"),  # truncated trial
    (TS + "1,2,3:4,5,6e39:a\n", r"Toy_TRAIN\.ts, line 7: value '6e39' .* beyond the float32"),
    (TS.replace("1,2,3:4,5,6:a", "1,2,3:4,5,6,7:a"), r"Toy_TRAIN\.ts, line 5: dimensions of "
                                                    r"unequal length"),
], ids=["garbage", "no-data", "truncated-trial", "beyond-float32", "ragged"])
def test_uea_files_truncated_or_garbage_are_refused_naming_the_file(tmp_path, content, message):
    _toy_uea(tmp_path / "uea" / "Toy", train=content)
    with pytest.raises(ValueError, match=message):
        load_uea("Toy", tmp_path)


def _npz(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.mark.filterwarnings("ignore:.*git blob id:UserWarning")  # said before it is read
@pytest.mark.parametrize("content, message", [
    (b"garbage" * 10, "S4b_train.npz is not a valid .npz archive"),
    (_npz(signal=np.zeros((10, 3)), label=np.ones(10))[:300], "S4b_train.npz"),  # truncated
    (_npz(signal=np.array([object()], dtype=object), label=np.ones(1)), "only plain numeric"),
], ids=["garbage", "truncated", "object-array"])
def test_bci_iiib_files_truncated_or_garbage_are_refused_naming_the_file(tmp_path, content,
                                                                         message):
    (tmp_path / "S4b_train.npz").write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_bci_iiib(tmp_path)


@pytest.mark.parametrize("content", [
    b"garbage" * 10,
    pickle.dumps({"data": np.zeros((40, 40, 8064), np.float32)}, protocol=2)[:1000],
], ids=["garbage", "truncated"])
def test_deap_files_truncated_or_garbage_are_refused_naming_the_file(tmp_path, content):
    (tmp_path / "s01.dat").write_bytes(content)
    with pytest.raises(ValueError, match="s01.dat"):
        load_deap(tmp_path, subjects=[1])


def _hostile_zip():
    """Members named to escape the folder, and a symbolic link to a file outside."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../escaped/FingerMovements_TRAIN.ts", "1,2:left\n")
        archive.writestr("/tmp/absolute/FingerMovements_TEST.ts", "1,2:left\n")
        link = zipfile.ZipInfo("FingerMovements.txt")
        link.external_attr = (0o120777 << 16)  # a symlink, as zip records one
        archive.writestr(link, "/etc/passwd")
    return buffer.getvalue()


@pytest.fixture
def local_server(monkeypatch):
    """Serve one zip on 127.0.0.1 as the archive's address; no test reaches the internet."""
    body = _hostile_zip()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr("skeeg.datasets._download.UEA_BASE_URL",
                        f"http://127.0.0.1:{server.server_port}/")
    yield
    server.shutdown()
    server.server_close()


def test_an_archive_cannot_write_outside_its_folder_nor_plant_links(tmp_path, local_server,
                                                                    monkeypatch):
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr("tempfile.tempdir", None)
    data = tmp_path / "data" / "inner"
    with pytest.raises(ValueError, match="malformed FingerMovements_TRAIN.ts"):
        load_uea("FingerMovements", data, download=True)
    # Members are read by base name into a temporary folder: nothing escaped
    # it, no link was made, and nothing reached the data folder.
    assert not (tmp_path / "data" / "escaped").exists() and not (tmp_path / "escaped").exists()
    assert not Path("/tmp/absolute/FingerMovements_TEST.ts").exists()
    assert not any(p.is_symlink() for p in tmp_path.rglob("*"))
    assert not (data / "uea" / "FingerMovements").exists()
    assert list(temp.iterdir()) == []
