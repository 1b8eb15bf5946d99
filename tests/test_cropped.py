"""Cropped training: crop_length and crop_stride on every classifier.

Training sees one random crop of each trial per epoch; whole trials are
scored by averaging the probabilities of their crops, in predict_proba, in
skorch's validation pass (hence early stopping) and in exported models.
"""

import gc
import inspect
import os
import pickle
import types

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import GridSearchCV
from sklearn.utils import check_random_state

import skeeg._training
from skeeg import DNNClassifier, EEGNetClassifier
from skeeg._training import average_crops, crop_starts, random_crops
from skeeg.augmentation import Transform
from skeeg.inspection import embed
from skeeg.serialization import load, save

from _small_models import CLASSIFIERS, N_TIMES, small, trials
from _small_models import one_torch_thread  # noqa: F401  (autouse fixture)


def takes(cls, name):
    """Skip, saying why, a classifier that does not take ``name`` yet."""
    if name not in inspect.signature(cls).parameters:
        pytest.skip(f"{cls.__name__} does not take {name} yet")

CROP = 80


def eegnet(**params):
    return small(EEGNetClassifier, **params)


class Recorder(Transform):
    """Records the shape of each batch it sees and leaves it unchanged (tests only)."""

    shapes = []

    def __init__(self, *, probability=1.0):
        self.probability = probability

    def _transform(self, X, y, generator):
        Recorder.shapes.append(tuple(X.shape))
        return X, y


# ----------------------------------------------------------------------
# Crops: where they are taken
def test_crop_starts_cover_the_trial_and_end_at_its_end():
    assert crop_starts(96, 64, 16) == [0, 16, 32]
    assert crop_starts(96, 64, 20) == [0, 20, 32]  # the last crop ends at sample 96
    assert crop_starts(96, 64, 100) == [0, 32]
    assert crop_starts(64, 64, 5) == [0]
    assert crop_starts(10, 3, 1) == list(range(8))


def test_random_crops_are_slices_at_seeded_starts():
    X = torch.arange(4 * 2 * 20, dtype=torch.float32).reshape(4, 2, 20)
    crops = random_crops(X, 7, torch.Generator().manual_seed(0))
    again = random_crops(X, 7, torch.Generator().manual_seed(0))
    assert crops.shape == (4, 2, 7) and torch.equal(crops, again)
    for trial, crop in zip(X, crops):
        start = int(crop[0, 0] - trial[0, 0])
        assert torch.equal(crop, trial[:, start : start + 7])
    assert random_crops(X, 20, torch.Generator()) is X


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_average_crops_gives_the_logits_of_the_mean_probability(n_outputs):
    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 8, n_outputs))
    X = 3 * torch.randn(5, 2, 30)
    starts = crop_starts(30, 8, 5)
    probabilities = []
    for s in starts:
        logits = network(X[..., s : s + 8]).double()
        if n_outputs == 1:
            p = torch.sigmoid(logits)
            probabilities.append(torch.cat([1 - p, p], dim=1))
        else:
            probabilities.append(torch.softmax(logits, dim=1))
    expected = torch.stack(probabilities).mean(0)
    with torch.no_grad():
        # One crop per pass, and all of them in one: the same result.
        for max_crops in (1, 1000):
            logits = average_crops(network, X, 8, 5, max_crops)
            assert logits.shape == (5, n_outputs) and logits.dtype == torch.float32
            if n_outputs == 1:
                p = torch.sigmoid(logits.double())
                got = torch.cat([1 - p, p], dim=1)
            else:
                got = torch.softmax(logits.double(), dim=1)
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------
# Bad input
@pytest.mark.parametrize("params, error, match", [
    (dict(crop_length=N_TIMES + 1), ValueError, r"crop_length=97 is longer than the trials \(96"),
    (dict(crop_length=20), ValueError, r"crop_length=20 is too short .* at least crop_length=32"),
    (dict(crop_length=0), ValueError, r"'crop_length' parameter of \w+ must be None or an integer"),
    (dict(crop_length=64.0), ValueError, r"'crop_length' parameter of \w+ must be None or an integer"),
    (dict(crop_length=True), ValueError, r"'crop_length' parameter of \w+ must be None or an integer"),
    (dict(crop_length=64, crop_stride=0), ValueError, r"'crop_stride' parameter of \w+ must be None or an integer"),
    (dict(crop_length=64, crop_stride=2.5), ValueError, r"'crop_stride' parameter of \w+ must be None or an integer"),
    (dict(crop_length=64, crop_stride="8"), ValueError, r"'crop_stride' parameter of \w+ must be None or an integer"),
    (dict(crop_stride=8), ValueError, "crop_stride=8 needs crop_length"),
])
def test_bad_crops_are_refused_in_fit(params, error, match):
    X, y = trials()
    clf = eegnet(**params)  # stored unchanged; checked in fit
    assert all(clf.get_params()[name] is value for name, value in params.items())
    with pytest.raises(error, match=match):
        clf.fit(X, y)


def test_warm_start_keeps_the_crop_length():
    X, y = trials()
    clf = eegnet(crop_length=64, warm_start=True).fit(X, y)
    clf.fit(X, y)  # continues on the same crops
    clf.set_params(crop_length=72)
    with pytest.raises(ValueError, match="built for crop_length=64"):
        clf.fit(X, y)
    with pytest.raises(ValueError, match="built for crop_length=64"):
        clf.partial_fit(X, y)


# ----------------------------------------------------------------------
# Training on crops, predicting whole trials
def test_network_is_built_for_the_crops_and_trials_keep_their_length():
    X, y = trials()
    Recorder.shapes = []
    clf = eegnet(crop_length=64, validation_fraction=0.25, augmentation=Recorder()).fit(X, y)
    assert clf.n_times_ == N_TIMES and clf.net_.module_.n_times == 64
    assert clf.net_.crop_length == 64 and clf.net_.crop_stride == 32  # crop_length // 2
    assert clf.crop_stride is None  # the parameter is left as given
    # Training batches (and only they) are crops.
    assert Recorder.shapes and {shape[1:] for shape in Recorder.shapes} == {(X.shape[1], 64)}
    assert clf.predict_proba(X).shape == (len(X), 2)
    with pytest.raises(ValueError, match="fitted on 3 channels x 96 samples"):
        clf.predict(X[..., :64])


def test_fit_on_crops_is_repeatable_and_draws_new_crops():
    X, y = trials()
    first = eegnet(crop_length=64, max_epochs=2).fit(X, y)
    second = eegnet(crop_length=64, max_epochs=2).fit(X, y)
    np.testing.assert_array_equal(first.history_.train_loss, second.history_.train_loss)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    other = eegnet(crop_length=64, max_epochs=2, random_state=1).fit(X, y)
    assert not np.allclose(first.predict_proba(X), other.predict_proba(X))


def manual_average(clf, X):
    """The crop average computed by hand from the fitted module, in float64."""
    module = clf.net_.module_.eval()
    Z = torch.as_tensor((X - clf.channel_mean_[:, None]) * np.float32(1 / clf.scale_))
    length, stride = clf.net_.crop_length, clf.net_.crop_stride
    with torch.no_grad():
        outputs = [module(Z[..., s : s + length]).double() for s in crop_starts(X.shape[-1], length, stride)]
    if outputs[0].shape[1] == 1:
        p1 = torch.stack([torch.sigmoid(o[:, 0]) for o in outputs]).mean(0)
        return torch.stack([1 - p1, p1], dim=1).numpy()
    return torch.stack([torch.softmax(o, dim=1) for o in outputs]).mean(0).numpy()


@pytest.mark.parametrize("cls, stride", [(EEGNetClassifier, 5), (DNNClassifier, None)])
def test_predict_validation_and_skorch_average_the_same_crops(cls, stride):
    X, y = trials()
    clf = small(cls, crop_length=64, crop_stride=stride, max_epochs=2, validation_fraction=0.25,
                early_stopping=False).fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba, manual_average(clf, X), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(X))
    # skorch's own prediction path (validation, HeldOutScoring) agrees.
    np.testing.assert_allclose(clf.net_.predict_proba(X), proba, rtol=1e-5, atol=1e-6)
    # The validation loss and accuracy are those of predict_proba on the
    # validation trials: the log-loss of the crops' mean probabilities.
    seed = check_random_state(0).randint(np.iinfo(np.int32).max)
    _, valid = skeeg._training.split_validation(clf, clf._label_encoder.transform(y), seed)
    last = clf.history_.iloc[-1]
    assert last.valid_loss == pytest.approx(log_loss(y[valid], proba[valid]), rel=1e-5)
    assert last.valid_acc == pytest.approx(accuracy_score(y[valid], clf.predict(X[valid])))


@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda cls: cls.__name__)
def test_every_architecture_trains_on_crops(cls):
    takes(cls, "crop_length")
    X, y = trials()
    clf = small(cls, crop_length=CROP, crop_stride=6).fit(X, y)
    assert getattr(clf.net_.module_, "n_times", CROP) == CROP and clf.n_times_ == N_TIMES
    proba = clf.predict_proba(X[:5])
    assert proba.shape == (5, 2) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(proba, manual_average(clf, X[:5]), rtol=1e-4, atol=1e-6)


def test_grid_search_over_crop_length():
    X, y = trials()
    search = GridSearchCV(eegnet(max_epochs=2), {"crop_length": [None, 64, CROP]}, cv=2)
    search.fit(X, y)
    assert [p["crop_length"] for p in search.cv_results_["params"]] == [None, 64, CROP]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_
    expected = best.crop_length or N_TIMES
    assert best.net_.module_.n_times == expected and best.n_times_ == N_TIMES
    assert clone(best).get_params()["crop_length"] == best.crop_length


# ----------------------------------------------------------------------
# A fitted cropped model: no trials kept, pickled, saved, exported
def reachable(root):
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


def test_cropped_model_holds_no_trials_or_crops():
    X, y = trials()
    clf = eegnet(crop_length=64, validation_fraction=0.25).fit(X, y)
    learned = {name: value for name, value in vars(clf).items() if name.endswith("_")}
    arrays = [a for a in reachable(learned) if isinstance(a, (np.ndarray, torch.Tensor))]
    assert arrays
    held = [tuple(a.shape) for a in arrays
            if a.ndim == 3 and a.shape[1] == X.shape[1] and a.shape[2] in (64, N_TIMES)]
    assert held == []
    assert clf.net_.generators_ == {}


def test_cropped_model_pickles_saves_and_loads(tmp_path):
    X, y = trials()
    clf = eegnet(crop_length=64, crop_stride=8).fit(X, np.array(["left", "right"])[y])
    proba = clf.predict_proba(X)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), proba)
    path = os.path.join(tmp_path, "cropped.safetensors")
    save(clf, path)
    loaded = load(path)
    assert loaded.crop_length == 64 and loaded.crop_stride == 8
    assert loaded.net_.crop_length == 64 and loaded.net_.crop_stride == 8
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)


def test_cropped_model_exports_its_crop_averaging(tmp_path):
    from skeeg.export import to_torchscript

    X, y = trials()
    clf = eegnet(crop_length=64, crop_stride=10).fit(X, y)
    path = os.path.join(tmp_path, "cropped.pt")
    info = to_torchscript(clf, path)
    assert info["crops"]["starts"] == [0, 10, 20, 30, 32]
    assert info["input"]["shape"] == ["batch", X.shape[1], N_TIMES]
    model = torch.jit.load(path)
    with torch.no_grad():
        exported = model(torch.as_tensor(X[:7])).numpy()
    np.testing.assert_allclose(exported, clf.predict_proba(X[:7]), atol=1e-5)
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from skeeg.export import to_onnx

    to_onnx(clf, os.path.join(tmp_path, "cropped.onnx"))
    session = onnxruntime.InferenceSession(os.path.join(tmp_path, "cropped.onnx"))
    out = session.run(None, {"trials": X[:5]})[0]
    np.testing.assert_allclose(out, clf.predict_proba(X[:5]), atol=1e-5)


def test_embed_refuses_a_cropped_model_clearly():
    X, y = trials()
    clf = small(EEGNetClassifier, crop_length=64).fit(X, y)
    with pytest.raises(ValueError, match="trained on crops of crop_length=64"):
        embed(clf, X)
