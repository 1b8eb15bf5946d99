"""Training with data augmentation: the ``augmentation`` parameter of every classifier.

The transforms themselves are tested in test_augmentation.py; here, how fit
uses them: checked in fit, kept unchanged, applied to standardised training
batches only, seeded from random_state, and Mixup's soft targets in the loss.
"""

import inspect
import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import EpochScoring
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skeeg import DNNClassifier, EEGNetClassifier
from skeeg._training import SoftTargetCrossEntropy, WeightedBCEWithLogits
from skeeg.augmentation import (
    AmplitudeScale,
    GaussianNoise,
    Mixup,
    SignFlip,
    SmoothTimeMask,
    TimeReverse,
    Transform,
)

from _small_models import CLASSIFIERS, small, trials
from _small_models import one_torch_thread  # noqa: F401  (autouse fixture)


def takes(cls, name):
    """Skip, saying why, a classifier that does not take ``name`` yet."""
    if name not in inspect.signature(cls).parameters:
        pytest.skip(f"{cls.__name__} does not take {name} yet")

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def eegnet(**params):
    return small(EEGNetClassifier, **params)


class Recorder(Transform):
    """Records what each call sees and leaves the batch unchanged (tests only).

    fit works on copies of the transforms: the record is kept on the class.
    """

    calls = []

    def __init__(self, *, probability=1.0):
        self.probability = probability

    def _transform(self, X, y, generator):
        Recorder.calls.append(
            dict(shape=tuple(X.shape), device=X.device.type, std=float(X.std()),
                 y=None if y is None else y.clone())
        )
        return X, y


# ----------------------------------------------------------------------
# The parameter
@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda cls: cls.__name__)
def test_every_classifier_takes_augmentation(cls):
    takes(cls, "augmentation")
    transforms = [TimeReverse(), GaussianNoise(std=0.2)]
    clf = small(cls, augmentation=transforms, max_epochs=1)
    assert clf.get_params()["augmentation"] is transforms
    fresh = clone(clf)
    assert [t.get_params() for t in fresh.augmentation] == [t.get_params() for t in transforms]
    X, y = trials()
    clf.fit(X, y)
    assert clf.augmentation is transforms  # not replaced
    assert np.isfinite(clf.history_.train_loss).all()


@pytest.mark.parametrize("augmentation, error, match", [
    ("noise", TypeError, r"augmentation = 'noise' .* is not accepted"),
    (TimeReverse, TypeError,
     r"augmentation = the class TimeReverse, not a transform: pass an instance, TimeReverse\(\)"),
    ([SignFlip(), GaussianNoise], TypeError, r"augmentation\[1\]"),
    (TimeReverse(probability=1.5), ValueError,
     r"augmentation: The 'probability' parameter of TimeReverse must be .* \[0\.0, 1\.0\]\. "
     r"Got 1\.5"),
    ([Mixup(probability=-0.1)], ValueError, r"augmentation: The 'probability' parameter of Mixup"),
    (SmoothTimeMask(mask_len_samples=200), ValueError,
     r"augmentation does not fit the training trials \(3 channels x 96 samples\): "
     r"SmoothTimeMask: mask_len_samples=200 is longer"),
])
def test_bad_augmentation_is_refused_in_fit(augmentation, error, match):
    X, y = trials()
    clf = eegnet(augmentation=augmentation)  # stored unchanged; checked in fit
    assert clf.augmentation is augmentation
    with pytest.raises(error, match=match):
        clf.fit(X, y)


def test_transform_parameters_are_checked_per_fit_not_per_batch(monkeypatch):
    checks, batches = [], []
    validate = Transform._validate_params
    monkeypatch.setattr(Transform, "_validate_params",
                        lambda self: checks.append(1) or validate(self))
    monkeypatch.setattr(Recorder, "calls", batches)
    X, y = trials()
    per_fit = []
    for max_epochs in (1, 3):
        checks.clear()
        batches.clear()
        eegnet(augmentation=[Recorder(), GaussianNoise()], max_epochs=max_epochs,
               batch_size=8).fit(X, y)
        assert len(batches) >= 4 * max_epochs  # 40 trials (some for validation), 8 a batch
        per_fit.append(len(checks))
    assert 0 < per_fit[0] == per_fit[1]  # as many checks for 3 epochs as for 1


def test_a_transform_too_long_for_the_crops_is_refused_before_training():
    X, y = trials()
    with pytest.raises(ValueError, match=r"training crops \(3 channels x 64 samples\)"):
        eegnet(crop_length=64, augmentation=SmoothTimeMask(mask_len_samples=80)).fit(X, y)


def test_grid_search_over_augmentation_lists():
    X, y = trials()
    grid = {"augmentation": [[TimeReverse()], [SignFlip(), Mixup(alpha=0.4)]]}
    search = GridSearchCV(eegnet(max_epochs=2), grid, cv=2).fit(X, y)
    params = search.cv_results_["params"]
    assert [[type(t).__name__ for t in p["augmentation"]] for p in params] == [
        ["TimeReverse"], ["SignFlip", "Mixup"]
    ]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_.augmentation
    assert [type(t) for t in best] in [[type(t) for t in p["augmentation"]] for p in params]
    # The grid's own transforms are left as they were.
    assert grid["augmentation"][1][1].get_params() == Mixup(alpha=0.4).get_params()


# ----------------------------------------------------------------------
# Where and how it is applied
def test_applied_to_standardised_training_batches_only():
    X, y = trials()
    X = 1e-5 * X + 3e-5  # volts with an offset: the transforms still see unit spread
    Recorder.calls = []
    clf = eegnet(max_epochs=2, validation_fraction=0.25, augmentation=Recorder()).fit(X, y)
    # fit's check on two trials of standard normal noise, then 30 training
    # trials in batches of 16: 2 batches per epoch, nothing else.
    check, *batches = Recorder.calls
    assert check["shape"] == (2, 3, 96) and 0.5 < check["std"] < 2
    assert [call["shape"] for call in batches] == [(16, 3, 96), (14, 3, 96)] * 2
    assert all(call["device"] == "cpu" for call in batches)
    assert all(0.5 < call["std"] < 2 for call in batches)
    # One-hot targets of the batch's labels.
    targets = batches[0]["y"]
    assert targets.shape == (16, 2) and set(targets.sum(1).tolist()) == {1.0}
    Recorder.calls = []
    clf.predict_proba(X)
    clf.score(X, y)
    assert Recorder.calls == []


def test_a_transform_that_changes_nothing_changes_no_number():
    # Its generator is its own: weights, dropout and batch order are those
    # of a fit without augmentation, bitwise.
    X, y = trials()
    plain = eegnet(max_epochs=2).fit(X, y)
    idle = eegnet(max_epochs=2, augmentation=[TimeReverse(probability=0.0)]).fit(X, y)
    empty = eegnet(max_epochs=2, augmentation=[]).fit(X, y)
    for other in (idle, empty):
        np.testing.assert_array_equal(other.history_.train_loss, plain.history_.train_loss)
        np.testing.assert_array_equal(other.predict_proba(X), plain.predict_proba(X))


def test_fit_with_augmentation_is_bitwise_repeatable():
    X, y = trials()
    augmentation = [TimeReverse(), AmplitudeScale(), GaussianNoise(), Mixup()]
    first = eegnet(max_epochs=2, augmentation=augmentation).fit(X, y)
    second = eegnet(max_epochs=2, augmentation=augmentation).fit(X, y)
    np.testing.assert_array_equal(first.history_.train_loss, second.history_.train_loss)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    plain = eegnet(max_epochs=2).fit(X, y)
    assert not np.array_equal(first.history_.train_loss, plain.history_.train_loss)
    other = eegnet(max_epochs=2, augmentation=augmentation, random_state=1).fit(X, y)
    assert not np.array_equal(first.predict_proba(X), other.predict_proba(X))


@pytest.mark.parametrize("cls", [EEGNetClassifier, DNNClassifier])  # softmax; one logit
def test_mixup_trains_on_soft_targets_and_train_acc_counts_hard_labels(cls):
    X, y = trials()
    reference = EpochScoring("accuracy", on_train=True, name="skorch_train_acc")
    clf = small(cls, max_epochs=3, augmentation=Mixup(alpha=1.0), class_weight="balanced",
                crop_length=80, callbacks=[("reference", reference)]).fit(X, y)
    assert np.isfinite(clf.history_[["train_loss", "valid_loss"]]).all().all()
    # skorch scores the training predictions against the dataset's labels.
    np.testing.assert_allclose(clf.history_.train_acc, clf.history_.skorch_train_acc)


# ----------------------------------------------------------------------
# Soft targets in the losses
def test_soft_cross_entropy_reduces_to_the_weighted_hard_loss():
    torch.manual_seed(0)
    logits, labels = torch.randn(9, 3), torch.tensor([0, 1, 2, 2, 1, 0, 0, 0, 2])
    one_hot = torch.nn.functional.one_hot(labels, 3).float()
    weight = torch.tensor([0.5, 2.0, 1.5])
    for w in (None, weight):
        hard = torch.nn.CrossEntropyLoss(weight=w)(logits, labels)
        # Integer targets: exactly nn.CrossEntropyLoss.
        assert torch.equal(SoftTargetCrossEntropy(weight=w)(logits, labels), hard)
        # One-hot rows: the same weighted mean.
        torch.testing.assert_close(SoftTargetCrossEntropy(weight=w)(logits, one_hot), hard)
    # Unweighted soft targets: torch's own probability-target cross-entropy.
    soft = torch.softmax(torch.randn(9, 3), dim=1)
    torch.testing.assert_close(SoftTargetCrossEntropy()(logits, soft),
                               torch.nn.CrossEntropyLoss()(logits, soft))


def test_soft_targets_with_class_weights_count_each_trial_as_its_mixture():
    # One trial mixed 0.3 of class 0 and 0.7 of class 1: the mixup loss of
    # each class, weighted by class, over the mixture's weight.
    logits = torch.tensor([[0.2, -1.0, 0.5]])
    target = torch.tensor([[0.3, 0.7, 0.0]])
    weight = torch.tensor([1.0, 4.0, 9.0])
    log_p = torch.log_softmax(logits, dim=1)[0]
    expected = -(0.3 * 1.0 * log_p[0] + 0.7 * 4.0 * log_p[1]) / (0.3 * 1.0 + 0.7 * 4.0)
    torch.testing.assert_close(SoftTargetCrossEntropy(weight=weight)(logits, target), expected)


def test_one_logit_loss_takes_the_soft_target_of_class_one():
    torch.manual_seed(0)
    logits, labels = torch.randn(8, 1), torch.tensor([0, 1, 1, 0, 1, 1, 1, 0])
    one_hot = torch.nn.functional.one_hot(labels, 2).float()
    weight = torch.tensor([1.0, 3.0])
    for w in (None, weight):
        hard = WeightedBCEWithLogits(weight=w)(logits, labels)
        torch.testing.assert_close(WeightedBCEWithLogits(weight=w)(logits, one_hot), hard)
    t = torch.rand(8)
    soft = torch.stack([1 - t, t], dim=1)
    torch.testing.assert_close(
        WeightedBCEWithLogits()(logits, soft),
        torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], t),
    )


# ----------------------------------------------------------------------
# On a GPU (not run where there is no CUDA device)
@needs_cuda
def test_augmentation_and_crops_keep_the_cuda_graph():
    X, y = trials(n_trials=80)
    Recorder.calls = []
    params = dict(device="cuda", max_epochs=4, dropout=0.0, crop_length=80,
                  augmentation=[Recorder(), TimeReverse(), GaussianNoise(), Mixup()],
                  validation_fraction=0.25, early_stopping=False)
    with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True,
                                    allow_tf32=False):
        graph = eegnet(cuda_graph=True, **params).fit(X, y)
        eager = eegnet(cuda_graph=False, **params).fit(X, y)
        # Predicted under the same flags: TF32 convolutions alone move
        # probabilities by about 1e-4.
        proba = {"graph": graph.predict_proba(X), "eager": eager.predict_proba(X),
                 "skorch": graph.net_.predict_proba(X)}
    assert graph.cuda_graph_ and graph.net_.graph_replays_ > 0 and not eager.cuda_graph_
    # The transforms ran on the GPU, on crops (fit's check on 2 blank crops
    # runs on the CPU; 60 training trials make batches of 16 and 12).
    batches = [call for call in Recorder.calls if call["shape"][0] != 2]
    assert len(batches) == 2 * 4 * 4
    assert {call["device"] for call in batches} == {"cuda"}
    assert {call["shape"][2] for call in batches} == {80}
    # Same seeds, same draws: the graph replays the eager steps' arithmetic.
    np.testing.assert_allclose(graph.history_.train_loss, eager.history_.train_loss, rtol=1e-4)
    np.testing.assert_allclose(graph.history_.valid_loss, eager.history_.valid_loss, rtol=1e-4)
    np.testing.assert_allclose(proba["graph"], proba["eager"], atol=1e-4)
    np.testing.assert_allclose(proba["skorch"], proba["graph"], atol=1e-5)


@needs_cuda
def test_read_only_trials_train_on_the_gpu_without_a_warning():
    # joblib hands GridSearchCV(n_jobs>1) workers read-only memory maps.
    X, y = trials(n_trials=40)
    X.setflags(write=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = eegnet(device="cuda", max_epochs=2, early_stopping=False).fit(X, y)
    assert not [w for w in caught if "not writable" in str(w.message)]
    assert clf.predict(X).shape == y.shape


def test_a_module_that_cannot_take_the_crops_names_crop_length():
    from skeeg import EEGClassifier

    class FixedLength(torch.nn.Module):
        """A user's network whose head depends on n_times (tests only)."""

        def __init__(self, n_channels, n_times, n_classes):
            super().__init__()
            self.conv = torch.nn.Conv1d(n_channels, 4, 33)
            self.head = torch.nn.Linear(4 * (n_times - 32), n_classes)

        def forward(self, X):
            return self.head(self.conv(X).flatten(1))

    X, y = trials()
    with pytest.raises(ValueError, match=r"built for crop_length=20 samples .* minimum input"):
        EEGClassifier(FixedLength, crop_length=20, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match=r"3 channels x 20 samples failed \(RuntimeError: .*"
                                         r"built for n_times=20 samples"):
        EEGClassifier(FixedLength, max_epochs=1).fit(X[:, :, :20], y)
    # Long enough, it trains.
    assert EEGClassifier(FixedLength, crop_length=64, max_epochs=1).fit(X, y).n_times_ == 96
