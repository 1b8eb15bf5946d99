"""Faults that once returned a wrong answer without a word (issue 10), one test per kind.

Each test starts from the smallest input that showed the fault and covers the
other places where the same kind of fault can happen: every classifier, both
input layouts, training and prediction.
"""

import copy
import gc
import io
import pickle
import types
import warnings
from unittest import mock

import numpy as np
import pytest
import torch
import torch.serialization
from skorch.callbacks import Callback, EpochScoring

from skeeg import (
    CNNClassifier,
    DeepConvNetClassifier,
    DNNClassifier,
    EEGConformerClassifier,
    EEGNetClassifier,
    ShallowFBCSPNetClassifier,
)
from skeeg._predict import logits_to_proba_numpy
from skeeg.callbacks import HeldOutScoring
from skeeg.datasets import make_motor_imagery

import _small_models

# Every network classifier but the newest two (ATCNet, EEGClassifier), in the
# suite's small configurations.
ALL = [EEGNetClassifier, DeepConvNetClassifier, DNNClassifier, CNNClassifier,
       ShallowFBCSPNetClassifier, EEGConformerClassifier]


def small(cls, **params):
    return _small_models.small(cls, **{"max_epochs": 3, **params})


@pytest.fixture(scope="module")
def motor():
    data = make_motor_imagery(n_trials=48, n_channels=4, n_times=128, random_state=0)
    return data.X, data.y


# ----------------------------------------------------------------------
# 1. Non-finite numbers anywhere in training or prediction
def test_diverging_fit_raises_instead_of_returning_a_nan_model(motor):
    X, y = motor
    params = dict(hidden_sizes=(64,), optimizer="sgd", lr=100.0, max_epochs=12,
                  validation_fraction=0, early_stopping=False, random_state=0)
    with pytest.raises(ValueError, match=r"diverged at epoch \d+.*lower learning rate.*lr=100"):
        DNNClassifier(**params).fit(X, y)
    # With early stopping, a non-finite epoch never becomes the best one: fit stops.
    with pytest.raises(ValueError, match="diverged"):
        DNNClassifier(**{**params, "validation_fraction": 0.25, "early_stopping": True}).fit(X, y)


@pytest.mark.parametrize("cls", ALL)
def test_huge_and_tiny_inputs_train_like_ordinary_ones(cls, motor):
    X, y = motor
    reference = small(cls).fit(X, y).predict_proba(X)
    # A power of two scales every step of the standardisation exactly: the
    # network sees bitwise the same numbers, from volts-sized to 1e36-sized trials.
    for factor in (2.0**-20, 2.0**120):
        scaled = small(cls).fit(X * factor, y)
        np.testing.assert_array_equal(scaled.predict_proba(X * factor), reference)
    # 1e37 is not exact, but trains to finite probabilities.
    X37 = X.astype(np.float64) * 1e37
    assert np.isfinite(small(cls).fit(X37, y).predict_proba(X37)).all()


@pytest.mark.parametrize("cls", [EEGNetClassifier, DeepConvNetClassifier])
def test_unstandardised_overflow_is_an_error_not_nan(cls, motor):
    X, y = motor
    with pytest.raises(ValueError, match="diverged|not finite"):
        clf = small(cls, standardize=False).fit(X.astype(np.float64) * 1e37, y)
        clf.predict_proba(X.astype(np.float64) * 1e37)


@pytest.mark.parametrize("cls", ALL)
def test_predict_proba_never_returns_nan(cls, motor):
    X, y = motor
    clf = small(cls).fit(X, y)
    signs = np.sign(np.random.default_rng(0).standard_normal((3,) + X.shape[1:]))
    for huge in (np.full((3,) + X.shape[1:], 3e38, dtype=np.float32),
                 (3e38 * signs).astype(np.float32)):
        try:
            proba = clf.predict_proba(huge)
        except ValueError as error:
            assert "output is not finite for" in str(error)
        else:
            assert np.isfinite(proba).all()
    # A network whose output is not finite is reported, never passed on.
    clf.net_.module_.register_forward_hook(lambda module, args, out: out * np.nan)
    with pytest.raises(ValueError, match="output is not finite for 48 of 48 trials"):
        clf.predict_proba(X)
    with pytest.raises(ValueError, match="not finite"):
        clf.predict(X[:1])


def test_values_beyond_float32_are_named_not_called_infinity(motor):
    X, y = motor
    X64 = X.astype(np.float64)
    X64[0, 0, 0] = 1e39
    with pytest.raises(ValueError, match="beyond the float32 range"):
        small(EEGNetClassifier).fit(X64, y)
    clf = small(EEGNetClassifier).fit(X, y)
    with pytest.raises(ValueError, match="beyond the float32 range"):
        clf.predict(X64)


def test_large_logits_give_probabilities_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = logits_to_proba_numpy(np.array([[-1000.0], [1000.0], [0.0]]))
        many = logits_to_proba_numpy(np.array([[1e4, -1e4, 0.0]]))
    np.testing.assert_allclose(one, [[1, 0], [0, 1], [0.5, 0.5]])
    np.testing.assert_allclose(many, [[1, 0, 0]])


def test_constant_trials_cannot_be_trained_on(motor):
    X, y = motor
    with pytest.raises(ValueError, match="same constant signal"):
        small(EEGNetClassifier).fit(np.full_like(X, 4.2), y)


# ----------------------------------------------------------------------
# 2. The validation split must hold every class on both sides
@pytest.mark.parametrize(
    "counts, fraction, match",
    [
        ([38, 2], 0.9, "training part has no trial of"),
        ([36, 2, 2], 0.1, "validation part has no trial of"),
        ([38, 2], 0.05, "validation part has no trial of"),
    ],
)
def test_validation_split_checks_classes_not_counts(counts, fraction, match):
    y = np.repeat(np.arange(len(counts)), counts)
    X = np.random.default_rng(0).standard_normal((len(y), 2, 64)).astype(np.float32)
    clf = EEGNetClassifier(max_epochs=1, validation_fraction=fraction, random_state=0)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


# ----------------------------------------------------------------------
# 3. A model trained on a GPU opens on a CPU: every tensor it holds is mapped
class TensorHolder(Callback):
    """A user's callback that keeps a tensor, as callbacks may."""

    def on_epoch_end(self, net, **kwargs):
        self.last_weight_ = next(net.module_.parameters()).detach().clone()


def pickled_as_if_on_gpu(obj):
    """Pickle with every tensor storage tagged ``cuda:0``, as on a GPU machine."""
    with mock.patch.object(torch.serialization, "location_tag", lambda storage: "cuda:0"):
        return pickle.dumps(obj)


@pytest.mark.skipif(torch.cuda.is_available(), reason="simulates a machine without a GPU")
@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("variant", ["plain", "class_weight", "early_stopping", "callbacks"])
def test_gpu_tagged_model_loads_on_cpu(cls, variant, motor):
    X, y = motor
    params = {
        "plain": dict(validation_fraction=0, early_stopping=False),
        "class_weight": dict(class_weight="balanced", validation_fraction=0,
                             early_stopping=False),
        "early_stopping": dict(early_stopping=True, patience=1),
        "callbacks": dict(callbacks=[HeldOutScoring(X[:10], y[:10], classes=np.unique(y)),
                                     EpochScoring("accuracy", on_train=True, name="acc"),
                                     TensorHolder()]),
    }[variant]
    clf = small(cls, **params).fit(X, y)
    expected = clf.predict_proba(X)
    restored = pickle.loads(pickled_as_if_on_gpu(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), expected)
    assert restored.device_ == "cpu"


# ----------------------------------------------------------------------
# 4. A fitted model holds weights and metadata, never trials
def reachable(root):
    """Every object reachable from ``root`` through references, modules and classes excluded."""
    seen, stack, found = set(), [root], []
    skip = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        found.append(obj)
        stack.extend(gc.get_referents(obj))
    return found


@pytest.mark.parametrize("cls", ALL)
def test_fitted_model_holds_no_trials(cls, motor):
    X, y = motor
    held_out = HeldOutScoring(X[:10], y[:10], classes=np.unique(y))
    clf = small(cls, validation_fraction=0.25, callbacks=[held_out]).fit(X, y)
    trial_shape = X.shape[1:]
    # What fit learned; the parameters are the user's own objects (the
    # callback passed in keeps its held-out trials, as any argument would).
    learned = {name: value for name, value in vars(clf).items() if name.endswith("_")}
    arrays = [obj for obj in reachable(learned) if isinstance(obj, (np.ndarray, torch.Tensor))]
    assert arrays, "the walk should reach the weights"
    holding_trials = [tuple(a.shape) for a in arrays if tuple(a.shape[1:]) == trial_shape]
    assert holding_trials == []
    # The callback the user passed still has its trials: only the fit's copy let go.
    assert held_out.X is not None


def test_pickle_does_not_grow_with_the_number_of_trials():
    sizes = []
    for n in (96, 384):
        data = make_motor_imagery(n_trials=n, n_channels=4, n_times=128, random_state=0)
        # The same number of batches per epoch, so the history has as many records.
        clf = small(EEGNetClassifier, batch_size=n // 8).fit(data.X, data.y)
        sizes.append(len(pickle.dumps(clf)))
    # 288 more trials are 590 kB of float32; a few bytes of history may differ.
    assert abs(sizes[1] - sizes[0]) < 2_000, sizes


# ----------------------------------------------------------------------
# 5. Callbacks that cannot be deep-copied, and bad callback or verbose values
class FileLogger(Callback):
    """Writes the training loss of every epoch to an open file."""

    def __init__(self, stream):
        self.stream = stream

    def on_epoch_end(self, net, **kwargs):
        self.stream.write(f"{net.history[-1, 'train_loss']:.4f}\n")


def test_callback_holding_a_file_works(motor, tmp_path):
    X, y = motor
    with open(tmp_path / "log.txt", "w") as stream:
        with pytest.raises(TypeError):
            copy.deepcopy(stream)  # what made fit fail
        logger = FileLogger(stream)
        clf = small(EEGNetClassifier, callbacks=[("log", logger)]).fit(X, y)
        assert dict(clf.net_.callbacks_)["log"] is not logger  # a fresh callback...
        assert dict(clf.net_.callbacks_)["log"].stream is stream  # ...sharing the file
    assert len((tmp_path / "log.txt").read_text().splitlines()) == 3
    assert clf.get_params()["callbacks"][0][1] is logger


class Unbuildable(Callback):
    """Holds a lock under a name its constructor does not take."""

    def __init__(self):
        self.lock = io.StringIO()
        self.lock.close()  # closed: cannot be copied, and no parameter rebuilds it

    def __deepcopy__(self, memo):
        raise TypeError("cannot pickle '_thread.lock' object")

    def get_params(self, deep=True):
        return {"lock": self.lock}


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(verbose="yes"), ValueError, r"'verbose' parameter of \w+ must be"),
        (dict(verbose=-1), ValueError, r"'verbose' parameter of \w+ must be"),
        (dict(callbacks=["nope"]), TypeError, r"callbacks\[0\] must be a skorch Callback"),
        (dict(callbacks=[EpochScoring]), TypeError, "pass an instance"),
        (dict(callbacks=EpochScoring("accuracy")), TypeError, r"'callbacks' parameter of \w+ must be"),
        (dict(callbacks=[Unbuildable()]), TypeError, r"callbacks\[0\] \(Unbuildable\) can be"),
        (dict(standardize="yes"), ValueError, r"'standardize' parameter of \w+ must be"),
        (dict(callbacks=[("train_acc", EpochScoring("accuracy", on_train=True))]), ValueError,
         r"callbacks\[0\] is named 'train_acc', the name of skeeg's own TrainingAccuracy"),
        (dict(callbacks=[("early_stopping", EpochScoring("accuracy"))]), ValueError,
         "skeeg's own EarlyStopping callback; give it another name"),
    ],
)
def test_bad_callbacks_and_verbose_get_skeegs_errors(motor, params, error, match):
    X, y = motor
    with pytest.raises(error, match=match):
        small(EEGNetClassifier, **params).fit(X, y)


# ----------------------------------------------------------------------
# 6. One-channel input: one rule whatever the dtype and memory layout
def one_channel_forms(X2):
    """The same one-channel trials as 2-D and 3-D, float32 and float64, contiguous or not."""
    wide = np.repeat(X2[:, np.newaxis, :], 2, axis=1)
    return {
        "2d float32": X2.astype(np.float32),
        "2d float64": X2.astype(np.float64),
        "2d fortran": np.asfortranarray(X2),
        "3d float32": X2[:, np.newaxis, :].astype(np.float32),
        "3d float64": X2[:, np.newaxis, :].astype(np.float64),
        "3d strided view": wide[:, :1],
        "3d list": X2[:, np.newaxis, :].tolist(),
    }


@pytest.mark.parametrize("fit_form", ["2d float32", "3d float64"])
def test_one_channel_input_follows_one_rule(fit_form):
    rng = np.random.default_rng(0)
    X2 = rng.standard_normal((40, 128)).astype(np.float32)
    y = np.arange(40) % 2
    clf = small(EEGNetClassifier, validation_fraction=0, early_stopping=False)
    clf.fit(one_channel_forms(X2)[fit_form], y)
    expected = clf.predict_proba(X2)
    for name, X in one_channel_forms(X2).items():
        np.testing.assert_array_equal(clf.predict_proba(X), expected, err_msg=name)
    with pytest.raises(ValueError, match="X has 100 features, but EEGNetClassifier is expecting 128"):
        clf.predict(X2[:, :100].astype(np.float64))


# ----------------------------------------------------------------------
# 7. Batch normalisation needs two trials per batch
@pytest.mark.parametrize(
    "cls, params, shape",
    [
        (EEGNetClassifier, dict(kernel_length=1, pool_length=4, separable_kernel_length=1,
                                separable_pool_length=1), (40, 2, 4)),
        (DeepConvNetClassifier, dict(pool_length=1), (40, 2, 17)),
    ],
)
def test_batch_of_one_is_refused_up_front(cls, params, shape):
    X = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    y = np.arange(shape[0]) % 2
    with pytest.raises(ValueError, match="batch_size=1 cannot train .* batch normalisation"):
        cls(batch_size=1, max_epochs=1, random_state=0, **params).fit(X, y)
    # The smallest batch it accepts trains, whatever the trial count leaves for the last batch.
    clf = cls(batch_size=2, max_epochs=1, random_state=0, validation_fraction=0,
              early_stopping=False, **params).fit(X[:39], y[:39])
    assert np.isfinite(clf.predict_proba(X)).all()


# ----------------------------------------------------------------------
# 11. Memory of fit: the data, at most one float32 copy, and a constant
def fit_peak(X, y, validation_fraction):
    """Peak of numpy's allocations during a fit (tracemalloc sees numpy's, not torch's)."""
    import tracemalloc

    clf = small(EEGNetClassifier, max_epochs=1, batch_size=256,
                validation_fraction=validation_fraction, early_stopping=False)
    tracemalloc.start()
    try:
        clf.fit(X, y)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_fit_memory_does_not_grow_with_the_trials_beyond_one_copy():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8000, 2, 256), dtype=np.float32)  # 16 MB
    y = np.arange(len(X)) % 2
    small(EEGNetClassifier, max_epochs=1).fit(X[:64], y[:64])  # lazy imports allocate too
    half = len(X) // 2
    for validation_fraction in (0, 0.2):
        # float32 trials are never copied: twice the trials, about the same peak.
        growth = fit_peak(X, y, validation_fraction) - fit_peak(X[:half], y[:half],
                                                                validation_fraction)
        assert growth < 0.05 * X[half:].nbytes, (validation_fraction, growth / X[half:].nbytes)
    # float64 trials are copied once to float32, and nothing more grows.
    growth = fit_peak(X.astype(np.float64), y, 0.2) - fit_peak(X[:half].astype(np.float64),
                                                               y[:half], 0.2)
    assert growth < 1.1 * X[half:].nbytes, growth / X[half:].nbytes


# ----------------------------------------------------------------------
# Found by trying to break the above as a new user would
def test_class_weights_must_be_finite_and_non_negative(motor):
    X, y = motor
    for weights in ({0: -1.0, 1: 2.0}, {0: np.nan, 1: 2.0}, {0: 0.0, 1: 0.0}):
        with pytest.raises(ValueError, match="finite, non-negative weight"):
            small(EEGNetClassifier, class_weight=weights).fit(X, y)


def test_one_training_trial_through_batch_norm_is_refused(motor):
    X, y = motor
    with pytest.raises(ValueError, match="cannot train on 1 trial"):
        small(EEGNetClassifier).partial_fit(X[:1], y[:1], classes=[0, 1])


def test_subnormal_trials_are_named_not_called_divergence(motor):
    X, y = motor
    with pytest.raises(ValueError, match="too small for float32"):
        small(EEGNetClassifier).fit(X.astype(np.float64) * 1e-40, y)


@pytest.mark.parametrize("factor", [1e-6, 1e-3, 1e3, 1e6])
def test_another_unit_at_prediction_is_warned_about(motor, factor):
    X, y = motor
    # Channel offsets as large as the signal, as in real recordings: volts after a fit in
    # microvolts must be caught although they sit near the fit's channel means.
    offsets = 4 * X.std() * np.random.default_rng(1).standard_normal((1, X.shape[1], 1))
    X = (X + offsets).astype(np.float32)
    clf = small(EEGNetClassifier).fit(X, y)
    with pytest.warns(UserWarning, match="another unit"):
        clf.predict(X * factor)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(X * 3 + 100)  # another recording, same unit: no warning
        clf.predict(X * 0.2 - 50)


def test_clone_and_cross_validation_with_a_file_holding_callback(motor, tmp_path):
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    X, y = motor
    with open(tmp_path / "log.txt", "w") as stream:
        clf = small(EEGNetClassifier, callbacks=[FileLogger(stream)])
        fresh = clone(clf)
        assert fresh.callbacks[0] is not clf.callbacks[0]
        assert fresh.callbacks[0].stream is stream
        assert len(cross_val_score(clf, X, y, cv=2)) == 2


def test_early_stopping_that_keeps_the_first_epoch_is_warned_about():
    from sklearn.exceptions import ConvergenceWarning

    # Labels that carry no information: the validation loss only grows as the
    # network memorises the training part, so early stopping keeps epoch 1.
    data = make_motor_imagery(n_trials=60, n_channels=3, n_times=64, random_state=0)
    y = np.random.default_rng(1).permutation(data.y)
    params = dict(hidden_sizes=(64,), lr=0.01, max_epochs=12, patience=11, random_state=0)
    with pytest.warns(ConvergenceWarning, match="kept the network of epoch 1: in 12 epochs"):
        clf = DNNClassifier(**params).fit(data.X, y)
    assert clf.history_["valid_loss"].idxmin() == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        DNNClassifier(**params).fit(data.X, data.y)  # informative labels: it improves
        DNNClassifier(**params, early_stopping=False).fit(data.X, y)
