"""The contract every skeeg classifier keeps, tested on each one alike.

One parametrisation over every exported classifier (and EEGNet's two
networks, ``separable="full"`` and ``"depthwise"``), in the small
configurations of ``_small_models``; behaviour specific to one architecture
is tested in that architecture's file.
"""

import pickle

import joblib
import numpy as np
import pytest
import torch
from skorch.callbacks import Callback
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import check_is_fitted

from skeeg.inspection import embed

from _small_models import fitted, labelled_trials, small, trials, variants
from _small_models import one_torch_thread  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.parametrize("cls, variant", variants())


def three_integer_classes():
    """Trials of three classes labelled by non-contiguous integers."""
    X, y = trials(n_trials=30, n_classes=3)
    return X, np.array([3, 7, 11])[y]


@pytest.mark.parametrize("labels", ["strings", "integers"])
def test_labels_round_trip_through_classes(cls, variant, labels):
    if labels == "strings":
        X, y = labelled_trials()
        clf = fitted(cls, **variant)
    else:
        X, y = three_integer_classes()
        clf = small(cls, **variant).fit(X, y)
    assert clf.classes_.tolist() == sorted(set(y.tolist()))
    pred = clf.predict(X)
    assert pred.shape == (len(X),) and pred.dtype == y.dtype and set(pred) <= set(y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), len(clf.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], pred)


def test_random_state_makes_fit_repeatable(cls, variant):
    X, y = labelled_trials()
    first = fitted(cls, **variant).predict_proba(X)
    np.testing.assert_array_equal(small(cls, **variant).fit(X, y).predict_proba(X), first)
    other = small(cls, **variant, random_state=1).fit(X, y).predict_proba(X)
    assert not np.allclose(other, first)


def test_clone_keeps_the_parameters_and_drops_the_fit(cls, variant):
    clf = fitted(cls, **variant)
    fresh = clone(clf)
    assert fresh.get_params() == clf.get_params() == small(cls, **variant).get_params()
    with pytest.raises(NotFittedError):
        check_is_fitted(fresh)
    with pytest.raises(NotFittedError):
        fresh.predict(labelled_trials()[0])


def test_pickle_and_joblib_round_trip(cls, variant, tmp_path):
    X, _ = labelled_trials()
    clf = fitted(cls, **variant)
    for restored in (pickle.loads(pickle.dumps(clf)),
                     joblib.load(joblib.dump(clf, tmp_path / "clf.joblib")[0])):
        assert restored.get_params() == clf.get_params()
        np.testing.assert_array_equal(restored.classes_, clf.classes_)
        np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
        assert restored.history_.equals(clf.history_)


def test_score_is_the_accuracy(cls, variant):
    X, y = labelled_trials()
    clf = fitted(cls, **variant)
    assert clf.score(X, y) == pytest.approx(accuracy_score(y, clf.predict(X)))
    assert clf.score(X[:10], y[:10]) == pytest.approx(accuracy_score(y[:10], clf.predict(X[:10])))


def test_an_empty_batch_predicts_no_rows(cls, variant):
    X, y = labelled_trials()
    clf = fitted(cls, **variant)
    assert clf.predict_proba(X[:0]).shape == (0, len(clf.classes_))
    pred = clf.predict(X[:0])
    assert pred.shape == (0,) and pred.dtype == clf.classes_.dtype
    assert clf.predict_proba(X[:0].astype(np.float64)).shape == (0, len(clf.classes_))
    assert embed(clf, X[:0]).shape == (0, embed(clf, X[:1]).shape[1])
    with pytest.raises(ValueError, match="0 trials while .* continues its fit"):
        clone(clf).partial_fit(X, y).partial_fit(X[:0], y[:0])


def test_another_channel_count_is_refused(cls, variant):
    X, y = labelled_trials()
    clf = fitted(cls, **variant)
    match = r"2 channels x 96 samples per trial, but \w+ was fitted on 3 channels x 96 samples"
    for method in (clf.predict, clf.predict_proba):
        with pytest.raises(ValueError, match=match):
            method(X[:, :2])
    with pytest.raises(ValueError, match=match):
        clf.score(X[:, :2], y)


def test_nan_is_refused(cls, variant):
    X, y = labelled_trials()
    bad = X.copy()
    bad[3, 1, 7] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        small(cls, **variant).fit(bad, y)
    clf = fitted(cls, **variant)
    for method in (clf.predict, clf.predict_proba):
        with pytest.raises(ValueError, match="NaN"):
            method(bad)


def test_partial_fit_continues_one_epoch_a_call(cls, variant):
    X, y = labelled_trials()
    clf = small(cls, **variant, max_epochs=5)
    assert clf.partial_fit(X, y) is clf
    assert clf.history_["epoch"].tolist() == [1]
    first = clf.predict_proba(X)
    clf.partial_fit(X[:20], y[:20])
    assert clf.history_["epoch"].tolist() == [1, 2]
    assert not np.array_equal(clf.predict_proba(X), first), "the second call did not train"


def test_warm_start_fit_continues(cls, variant):
    X, y = labelled_trials()
    clf = small(cls, **variant, warm_start=True)
    first = clf.fit(X, y).predict_proba(X)
    assert clf.history_["epoch"].tolist() == [1]
    assert clf.set_params(max_epochs=2).fit(X, y) is clf
    assert clf.history_["epoch"].tolist() == [1, 2, 3]
    assert not np.array_equal(clf.predict_proba(X), first)
    # Continued, not restarted: a new fit of as many epochs ends elsewhere.
    cold = small(cls, **variant, max_epochs=2).fit(X, y)
    assert not np.allclose(cold.predict_proba(X), clf.predict_proba(X))


def test_class_weight_reaches_the_loss(cls, variant):
    X, y = trials()
    keep = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:8]]
    X, y = X[keep], y[keep]
    expected = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)
    clf = small(cls, **variant, class_weight="balanced").fit(X, y)
    # No public name shows the loss's weights.
    np.testing.assert_allclose(clf.net_.criterion_.weight.numpy(), expected, rtol=1e-6)
    clf = small(cls, **variant, class_weight={0: 1.0, 1: 3.0}).fit(X, y)
    np.testing.assert_allclose(clf.net_.criterion_.weight.numpy(), [1.0, 3.0])


class WeightRecorder(Callback):
    """Keeps a copy of the weights at the end of every epoch."""

    def initialize(self):
        self.weights_ = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.weights_.append({k: v.clone() for k, v in net.module_.state_dict().items()})


def test_early_stopping_restores_the_best_epoch(cls, variant):
    X, y = labelled_trials()
    clf = small(cls, **variant, max_epochs=40, patience=2, lr=0.05,
                callbacks=[("recorder", WeightRecorder())]).fit(X, y)
    history = clf.history_
    assert history["valid_loss"].notna().all()
    assert len(history) < 40, "early stopping should end training"
    best = int(history["valid_loss"].idxmin())
    assert len(history) - 1 - best == 2  # stopped after `patience` epochs without improvement
    # The network returned is the best epoch's (fit's callbacks are copies: read the net's).
    callbacks = dict(clf.net_.callbacks_)
    recorded = callbacks["recorder"].weights_[best]
    for name, value in clf.net_.module_.state_dict().items():
        torch.testing.assert_close(value, recorded[name])
    assert callbacks["early_stopping"].best_model_weights_ is None  # the copy is not kept
