"""EEGNet and the DEAP networks beyond the shared contract (test_contract.py): data,
validation, callbacks and errors, tested on EEGNet where one network shows them."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from skorch.callbacks import Callback, EpochScoring
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import skeeg._predict
from skeeg import DeepConvNetClassifier, DNNClassifier, EEGNetClassifier
from skeeg.datasets import load_uea, make_motor_imagery

from _small_models import small


@pytest.fixture(scope="module")
def motor():
    data = make_motor_imagery(n_trials=80, n_channels=4, n_times=128, random_state=0)
    return data.X, data.y


def test_binary_deap_models_use_one_logit_and_bce(motor):
    X, y = motor
    clf = small(DNNClassifier).fit(X, y)
    # How many logits the network has is not public: read the module's.
    assert clf.net_.module_.n_outputs == 1
    assert isinstance(clf.net_.criterion_, skeeg._training.WeightedBCEWithLogits)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert np.array_equal((proba[:, 1] > 0.5).astype(int), clf.predict(X))
    # Several classes: one logit per class (softmax), not the binary single logit.
    data = make_motor_imagery(n_trials=30, n_channels=4, n_times=128, n_classes=3, random_state=1)
    assert small(DNNClassifier).fit(data.X, data.y).net_.module_.n_outputs == 3


def test_fit_leaves_torch_global_rng_alone(motor):
    X, y = motor
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    small(EEGNetClassifier, max_epochs=2).fit(X, y)
    assert torch.equal(torch.rand(3), expected)


def test_float64_and_list_input_match_float32(motor):
    X, y = motor
    clf = small(EEGNetClassifier).fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.predict_proba(X.astype(np.float64)), proba)
    # Compared at equal batch sizes: few trials are predicted on one thread,
    # and the order of float sums follows the thread count.
    np.testing.assert_array_equal(clf.predict_proba(X[:5].tolist()), clf.predict_proba(X[:5]))
    refit = small(EEGNetClassifier).fit(X.astype(np.float64), y)
    np.testing.assert_array_equal(refit.predict_proba(X), proba)


@pytest.mark.skipif(torch.cuda.is_available(), reason="simulates a machine without a GPU")
def test_model_trained_on_gpu_loads_and_predicts_on_cpu(motor):
    from skorch.exceptions import DeviceWarning

    X, y = motor
    clf = small(EEGNetClassifier, max_epochs=2).fit(X, y)
    expected = clf.predict_proba(X)
    # As if it had been trained on a GPU: skorch saves the device with the net.
    clf.net_.device, clf.device_ = "cuda", "cuda"
    with pytest.warns(DeviceWarning, match="no CUDA devices"):
        restored = pickle.loads(pickle.dumps(clf))
    assert restored.device_ == "cpu"
    np.testing.assert_array_equal(restored.predict_proba(X), expected)


def test_prediction_in_batches_equals_one_pass(motor, monkeypatch):
    X, y = motor
    clf = small(EEGNetClassifier).fit(X, y)
    whole = clf.predict_proba(X)
    monkeypatch.setattr(skeeg._predict, "PREDICT_BATCH_SIZE", 7)
    np.testing.assert_allclose(clf.predict_proba(X), whole, rtol=1e-5, atol=1e-6)


def test_pipeline_cross_val_score_and_confusion_matrix(motor):
    X, y = motor
    pipe = make_pipeline(FunctionTransformer(lambda X: X * 1e6), small(EEGNetClassifier))
    scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,) and np.all((0 <= scores) & (scores <= 1))
    cm = confusion_matrix(y, pipe.fit(X, y).predict(X))
    assert cm.shape == (2, 2) and cm.sum() == len(y)


def test_grid_search_in_two_processes(motor):
    X, y = motor
    grid = {"activation": ["elu", "relu"], "optimizer": ["adam", "momentum"]}
    search = GridSearchCV(small(EEGNetClassifier, max_epochs=3), grid, cv=2, n_jobs=2)
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.activation in {"elu", "relu"}
    assert search.predict(X).shape == (len(X),)
    # Seeded fits are repeatable: one process gives the same scores when it
    # uses one thread like joblib's workers (float sums depend on the split
    # of work between threads).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        serial = GridSearchCV(small(EEGNetClassifier, max_epochs=3), grid, cv=2, n_jobs=1).fit(X, y)
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )


def test_history_columns_and_no_validation(motor):
    # Early stopping's restored epoch is part of the contract (test_contract.py).
    X, y = motor
    history = small(EEGNetClassifier, max_epochs=2).fit(X, y).history_
    assert list(history.columns[:6]) == [
        "epoch", "train_loss", "train_acc", "valid_loss", "valid_acc", "dur"
    ]
    assert history["valid_loss"].notna().all()
    no_valid = small(EEGNetClassifier, max_epochs=2, validation_fraction=0, early_stopping=False)
    assert no_valid.fit(X, y).history_["valid_loss"].isna().all()


class LabelRecorder(Callback):
    """Records the labels of the first epoch's training and validation batches.

    fit trains a copy of each callback: the record is kept on the class.
    """

    labels = {True: [], False: []}

    def on_batch_begin(self, net, batch, training=False, **kwargs):
        if len(net.history) == 1:
            LabelRecorder.labels[training].append(batch[1].cpu().numpy())


def test_validation_split_is_stratified(motor):
    X, y = motor
    LabelRecorder.labels = {True: [], False: []}
    small(EEGNetClassifier, callbacks=[LabelRecorder()]).fit(X, y)
    assert np.bincount(np.concatenate(LabelRecorder.labels[False])).tolist() == [8, 8]
    assert np.bincount(np.concatenate(LabelRecorder.labels[True])).tolist() == [32, 32]


def test_weighted_bce_is_a_weighted_mean():
    loss = skeeg._training.WeightedBCEWithLogits(weight=torch.tensor([1.0, 3.0]))
    logits, target = torch.tensor([[0.3], [-1.2], [2.0]]), torch.tensor([0, 1, 1])
    each = torch.nn.functional.binary_cross_entropy_with_logits(
        logits[:, 0], target.float(), reduction="none"
    )
    weights = torch.tensor([1.0, 3.0, 3.0])
    torch.testing.assert_close(loss(logits, target), (each * weights).sum() / weights.sum())


@pytest.mark.parametrize("cls, limits", [
    (EEGNetClassifier, {"features.spatial.conv": 1.0, "classifier": 0.25}),
    (DeepConvNetClassifier, {"classifier": 0.5}),
])
def test_max_norm_holds_after_training(cls, limits, motor):
    X, y = motor
    clf = small(cls, max_norm=True, lr=0.1, max_epochs=10).fit(X, y)
    modules = dict(clf.net_.module_.named_modules())
    for name, limit in limits.items():
        weight = modules[name].weight.detach()
        norms = weight.reshape(len(weight), -1).norm(dim=1)
        assert torch.all(norms <= limit + 1e-5), name


def test_callbacks_are_copied_and_verbose_prints(motor, capsys):
    X, y = motor
    scoring = EpochScoring("f1", name="valid_f1", lower_is_better=False)
    clf = small(EEGNetClassifier, max_epochs=2, callbacks=[scoring], verbose=1).fit(X, y)
    assert "valid_f1" in clf.history_.columns
    assert clf.callbacks[0] is scoring and not hasattr(scoring, "best_score_")
    out = capsys.readouterr().out
    assert "valid_f1" in out and "train_loss" in out


def test_fit_on_pandas_frame_and_warns_on_missing_names(motor):
    X, y = motor
    frame = pd.DataFrame(X[:, 0, :], columns=[f"t{i}" for i in range(X.shape[2])])
    clf = small(EEGNetClassifier, max_epochs=2).fit(frame, y)
    assert clf.n_channels_ == 1 and clf.n_times_ == 128 and clf.n_features_in_ == 128
    assert list(clf.feature_names_in_) == list(frame.columns)
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(frame.to_numpy())


# ---------------------------------------------------------------------------
# Bad input: clear errors that name the problem.
@pytest.fixture(scope="module")
def fitted(motor):
    X, y = motor
    return small(EEGNetClassifier, max_epochs=1).fit(X, y)


# Another channel count and NaN: the contract, for every classifier (test_contract.py).
@pytest.mark.parametrize("bad, match", [
    (lambda X: X[:, :, :100], r"4 channels x 100 samples .* fitted on 4 channels x 128"),
    (lambda X: X[:, 0], r"X is 2-D, which is read as one channel, .* shape \(n_trials, 4, 128\)"),
    (lambda X: X[..., np.newaxis], r"X must be 3-D, .* got an array of shape \(80, 4, 128, 1\)"),
    (lambda X: np.where(X > 3, np.inf, X), "infinity"),
])
def test_predict_rejects_bad_trials(fitted, motor, bad, match):
    with pytest.raises(ValueError, match=match):
        fitted.predict(bad(motor[0]))


@pytest.mark.parametrize("params, match", [
    ({"activation": "tanh"}, r"'activation' parameter of \w+ must be a str among \['elu', 'relu'"),
    ({"optimizer": "lbfgs"}, r"optimizer='lbfgs' is not supported; use one of \['adagrad'"),
    ({"separable": "half"}, r"'separable' parameter of EEGNetClassifier must be a str among"),
    ({"validation_fraction": 0, "early_stopping": True}, "needs validation_fraction > 0"),
    ({"validation_fraction": 1.5},
     r"'validation_fraction' parameter of \w+ must be a real number in the range \[0.0, 1.0\)"),
    ({"lr": -1.0}, r"'lr' parameter of \w+ must be a real number in the range \(0.0, 3.40"),
    # Beyond float32 the optimiser's products overflow (torch's RuntimeError escaped).
    ({"lr": 3.5e38}, r"'lr' parameter of \w+ must be a real number in the range \(0.0, 3.40"),
    ({"lr": 1e300, "optimizer": "sgd"}, r"'lr' parameter"),
    ({"weight_decay": 1e39}, r"'weight_decay' parameter of \w+ must be a real number in the"),
    # Classes skeeg's loop cannot drive: a closure (LBFGS), sparse gradients (SparseAdam).
    ({"optimizer": torch.optim.LBFGS}, r"optimizer=LBFGS: .* takes no weight_decay"),
    ({"optimizer": torch.optim.SparseAdam}, r"optimizer=SparseAdam: .* takes no weight_decay"),
    ({"max_epochs": 0},
     r"'max_epochs' parameter of \w+ must be an integer in the range \[1, inf\)"),
    ({"init": "orthogonal"}, "xavier_normal"),
    ({"precision": "float16"},
     r"'precision' parameter of \w+ must be a str among \{'(bfloat16|float32)', '(bfloat16|float32)'\}"),
    ({"precision": ["bfloat16"]}, r"'precision' parameter of \w+ must be a str among"),
    ({"cuda_graph": "yes"}, r"'cuda_graph' parameter of \w+ must be an instance of 'bool'"),
    ({"device": "tpu"}, "device='tpu' is not a device torch knows"),
    ({"device": "cuda:7"} if not torch.cuda.is_available() else {"device": "cpu:x"}, "device"),
])
def test_fit_rejects_bad_parameters(motor, params, match):
    X, y = motor
    with pytest.raises(ValueError, match=match):
        small(EEGNetClassifier, **params).fit(X, y)


def test_fit_rejects_bad_data(motor):
    X, y = motor
    clf = small(EEGNetClassifier)
    with pytest.raises(ValueError, match="at least 2 classes; got only one class"):
        clf.fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="too short for EEGNet.*at least n_times=32"):
        EEGNetClassifier(max_epochs=1).fit(X[:, :, :20], y)
    # 5 trials, one of class 1: no stratified split can hold both classes on each side.
    with pytest.raises(ValueError, match="Too few trials for a stratified validation split"):
        clf.fit(X[:5], np.array([0, 0, 0, 0, 1]))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(X, y[:-1])
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(X, np.linspace(0, 1, len(X)))
    assert clf.get_params() == small(EEGNetClassifier).get_params()


def test_device_auto_resolves_to_an_available_device(motor):
    X, y = motor
    clf = small(EEGNetClassifier, max_epochs=1, device="auto").fit(X, y)
    assert clf.device_ == ("cuda" if torch.cuda.is_available() else "cpu")
    assert clf.device == "auto"


# ---------------------------------------------------------------------------
# Real data.
def test_eegnet_learns_self_regulation_scp1(data_dir):
    """Ten epochs of EEGNet on the real SCP1 recordings, far above chance."""
    data = load_uea("SelfRegulationSCP1", data_dir)
    clf = EEGNetClassifier(max_epochs=10, random_state=0, validation_fraction=0, early_stopping=False)
    clf.fit(data.X_train, data.y_train)
    assert set(clf.classes_) == {"negativity", "positivity"}
    # Chance is 50 %; published deep models reach 77-84 % with full training.
    assert clf.score(data.X_test, data.y_test) > 0.7
