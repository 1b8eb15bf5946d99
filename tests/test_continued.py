"""Continued training (partial_fit, warm_start) continues its state; one random stream per fit.

Each test is the smallest input of a fault of one kind: continued training
that restarted its net (random draws, schedulers, optimiser), classes and
class weights that changed between calls, callbacks that watch keys no epoch
records, fits in threads, modules that cannot give probabilities, and
process-wide torch settings.
"""

import threading
import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, Checkpoint, EarlyStopping, EpochScoring, LRScheduler
from skorch.callbacks import GradientNormClipping
from torch.optim.lr_scheduler import CosineAnnealingLR, ReduceLROnPlateau, StepLR

from skeeg import DNNClassifier, EEGClassifier, EEGNetClassifier
from skeeg.augmentation import GaussianNoise

from _small_models import one_torch_thread  # noqa: F401  (autouse fixture)


def trials(n=40, n_channels=2, n_times=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_channels, n_times)).astype(np.float32)
    return X, np.arange(n) % 2


def weights(clf):
    return [p.detach().clone() for p in clf.net_.module_.parameters()]


# ----------------------------------------------------------------------
# One random stream per fit
def test_partial_fit_calls_draw_new_crops_and_batches():
    """The issue's case: calls 2 and 3 drew the same crops, batches and dropout."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 2, 256)).astype(np.float32)
    y = np.array([0, 1, 0, 1])
    clf = EEGNetClassifier(kernel_length=9, crop_length=128, batch_size=32, random_state=0)
    for _ in range(3):
        clf.partial_fit(X, y)
    losses = clf.history_["train_loss"].to_numpy()
    assert len(set(losses.round(7))) == 3


def test_no_two_calls_repeat_their_draws():
    """Same weights, same trials: a continued call draws other dropout than the call before."""
    X, y = trials()
    clf = DNNClassifier(hidden_sizes=(16,), lr=1e-12, optimizer="sgd", random_state=0,
                        augmentation=GaussianNoise(std=0.5))
    for _ in range(3):
        clf.partial_fit(X, y)
    # The weights barely move, so the losses differ by the random draws alone.
    assert len(set(clf.history_["train_loss"].round(5))) == 3


def test_the_same_calls_give_the_same_model():
    X, y = trials()
    fitted = []
    for _ in range(2):
        clf = EEGNetClassifier(kernel_length=9, max_epochs=2, random_state=3,
                               augmentation=GaussianNoise(std=0.2), crop_length=48)
        clf.fit(X, y).partial_fit(X, y).partial_fit(X[:20], y[:20])
        clf.set_params(warm_start=True).fit(X, y)
        fitted.append(clf)
    for a, b in zip(weights(fitted[0]), weights(fitted[1])):
        assert torch.equal(a, b)
    np.testing.assert_array_equal(fitted[0].predict_proba(X), fitted[1].predict_proba(X))
    assert fitted[0].history_["epoch"].tolist() == [1, 2, 3, 4, 5, 6]


def test_partial_fit_continues_the_same_net_and_optimiser():
    X, y = trials()
    clf = DNNClassifier(random_state=0).partial_fit(X, y)
    net, optimizer = clf.net_, clf.net_.optimizer_
    steps = [state["step"].item() for state in optimizer.state.values()]
    clf.partial_fit(X, y)
    assert clf.net_ is net and clf.net_.optimizer_ is optimizer
    assert [state["step"].item() for state in optimizer.state.values()] == [
        2 * s for s in steps
    ]


def test_warm_start_fit_continues_the_net_with_a_fresh_optimiser():
    X, y = trials()
    clf = DNNClassifier(random_state=0, max_epochs=2, validation_fraction=0,
                        early_stopping=False).fit(X, y)
    net = clf.net_
    clf.set_params(warm_start=True, max_epochs=3).fit(X, y)
    assert clf.net_ is net and len(clf.history_) == 5
    steps = {state["step"].item() for state in clf.net_.optimizer_.state.values()}
    assert steps == {3}  # 40 trials, batch 64: one step an epoch, 3 epochs since the reset


# ----------------------------------------------------------------------
# Learning-rate schedulers step on across calls
@pytest.mark.parametrize("policy, kwargs", [
    (StepLR, dict(step_size=2, gamma=0.1)),
    (CosineAnnealingLR, dict(T_max=6)),
])
def test_schedulers_step_across_partial_fit_as_in_one_fit(policy, kwargs):
    X, y = trials()
    common = dict(optimizer="sgd", lr=1e-2, random_state=0, validation_fraction=0,
                  early_stopping=False)
    whole = DNNClassifier(max_epochs=6, callbacks=[LRScheduler(policy=policy, **kwargs)],
                          **common).fit(X, y)
    calls = DNNClassifier(callbacks=[LRScheduler(policy=policy, **kwargs)], **common)
    for _ in range(6):
        calls.partial_fit(X, y)
    expected = whole.net_.optimizer_.param_groups[0]["lr"]
    assert calls.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-12)
    if policy is StepLR:
        assert expected == pytest.approx(1e-5)


def test_a_plateau_scheduler_keeps_its_count_across_calls():
    X, y = trials()
    scheduler = LRScheduler(policy=ReduceLROnPlateau, monitor="train_loss", patience=0,
                            factor=0.5)
    clf = DNNClassifier(lr=1e-12, optimizer="sgd", random_state=0, callbacks=[scheduler])
    for _ in range(3):
        clf.partial_fit(X, y)
    callback = dict(clf.net_.callbacks_)["LRScheduler"]
    assert callback.lr_scheduler_.last_epoch == 3


# ----------------------------------------------------------------------
# Classes and class weights
def test_later_classes_must_equal_the_first():
    X, y = trials()
    clf = DNNClassifier(random_state=0).partial_fit(X, y, classes=[0, 1])
    clf.partial_fit(X, y, classes=[1, 0])  # the same classes, in any order
    clf.partial_fit(X, y)
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2\] differs from the classes of the"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"classes=\[0\] differs"):
        clf.partial_fit(X[y == 0], y[y == 0], classes=[0])
    assert len(clf.history_) == 3


def test_balanced_class_weight_is_refused_by_partial_fit():
    X, y = trials()
    with pytest.raises(ValueError, match="class_weight='balanced' cannot be used with partial_fit"
                       ".*compute_class_weight"):
        DNNClassifier(class_weight="balanced").partial_fit(X, y)
    fitted = DNNClassifier(class_weight="balanced", max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="balanced"):
        fitted.partial_fit(X, y)


def test_dict_class_weight_is_fixed_at_the_first_call():
    X, y = trials()
    clf = DNNClassifier(class_weight={0: 1.0, 1: 3.0}, random_state=0).partial_fit(X, y)
    # A later batch of one class is fine: the weights do not depend on it.
    clf.partial_fit(X[y == 0], y[y == 0])
    torch.testing.assert_close(clf.net_.criterion_.weight, torch.tensor([1.0, 3.0]))


def test_warm_start_fit_weighs_the_classes_of_its_own_trials():
    X, y = trials()
    clf = DNNClassifier(class_weight="balanced", max_epochs=1, validation_fraction=0,
                        early_stopping=False, random_state=0).fit(X, y)
    torch.testing.assert_close(clf.net_.criterion_.weight, torch.tensor([1.0, 1.0]))
    keep = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:5]]
    clf.set_params(warm_start=True).fit(X[keep], y[keep])
    torch.testing.assert_close(clf.net_.criterion_.weight, torch.tensor([25 / 40, 25 / 10]))


def test_continued_fits_refuse_another_input_scaling():
    X, y = trials()
    clf = DNNClassifier(max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="standardize=False, but the network being continued "
                       ".*standardize=True: its input scaling cannot change"):
        clf.set_params(standardize=False).partial_fit(X, y)
    # What the fitted network is fed is read from the fit, not from the parameter.
    clf.set_params(standardize=True)
    expected = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.set_params(standardize=False).predict_proba(X), expected)


# ----------------------------------------------------------------------
# Callbacks that watch keys no epoch records
@pytest.mark.parametrize("callback", [
    EarlyStopping(),
    Checkpoint(dirname="unused"),  # its default monitor is valid_loss_best
    EarlyStopping(monitor="valid_acc", lower_is_better=False),
    LRScheduler(policy=ReduceLROnPlateau, monitor="valid_loss"),
], ids=["EarlyStopping", "Checkpoint", "valid_acc", "ReduceLROnPlateau"])
def test_callbacks_watching_validation_keys_need_a_validation_split(callback):
    X, y = trials()
    no_split = DNNClassifier(validation_fraction=0, early_stopping=False, callbacks=[callback])
    with pytest.raises(ValueError, match=r"callbacks\[0\] \(\w+\) monitors 'valid_\w+', which no "
                       "epoch will record: validation_fraction=0 .* set validation_fraction > 0"):
        no_split.fit(X, y)
    with pytest.raises(ValueError, match="partial_fit trains without a validation split"):
        DNNClassifier(callbacks=[callback]).partial_fit(X, y)


@pytest.mark.parametrize("callback, close", [
    (EarlyStopping(monitor="valid_acuracy"), "Did you mean 'valid_acc'?"),
    (LRScheduler(policy=ReduceLROnPlateau, monitor="val_loss"), "Did you mean 'valid_loss'?"),
], ids=["EarlyStopping", "ReduceLROnPlateau"])
def test_a_misspelt_monitored_key_is_named_after_the_first_epoch(callback, close):
    # A key a user's own callback might record cannot be refused before an epoch has run;
    # skorch's KeyError then came from deep inside.
    X, y = trials()
    with pytest.raises(ValueError, match=r"callbacks\[0\] \(\w+\) monitors '\w+', which no "
                       r"epoch records\. The epochs record \[.*'train_loss'") as error:
        DNNClassifier(max_epochs=3, callbacks=[callback]).fit(X, y)
    assert close in str(error.value)


def test_a_validation_score_is_a_validation_key():
    X, y = trials()
    unnamed = [EpochScoring("f1"), EarlyStopping(monitor="f1")]  # skorch names it "f1"
    with pytest.raises(ValueError, match=r"callbacks\[1\] \(EarlyStopping\) monitors 'f1'"):
        DNNClassifier(validation_fraction=0, early_stopping=False, callbacks=unnamed).fit(X, y)
    callbacks = [EpochScoring("accuracy", name="my_acc", on_train=False),
                 EarlyStopping(monitor="my_acc", lower_is_better=False)]
    with pytest.raises(ValueError, match=r"callbacks\[1\] \(EarlyStopping\) monitors 'my_acc'"):
        DNNClassifier(callbacks=callbacks).partial_fit(X, y)
    # Scored on the training batches it is recorded, and may be watched.
    callbacks = [EpochScoring("accuracy", name="my_acc", on_train=True),
                 EarlyStopping(monitor="my_acc", lower_is_better=False, patience=1)]
    clf = DNNClassifier(callbacks=callbacks, random_state=0).partial_fit(X, y)
    assert "my_acc" in clf.history_


def test_training_monitors_pass_and_validation_monitors_pass_with_a_split():
    X, y = trials()
    DNNClassifier(callbacks=[EarlyStopping(monitor="train_loss")]).partial_fit(X, y)
    clf = DNNClassifier(max_epochs=2, callbacks=[("es", EarlyStopping(patience=1))]).fit(X, y)
    assert len(clf.history_) >= 1


def test_fit_then_partial_fit_turns_early_stopping_off_for_the_call():
    X, y = trials()
    clf = DNNClassifier(max_epochs=3, patience=1, random_state=0).fit(X, y)
    clf.partial_fit(X, y)  # no validation split: skeeg's own early stopping sits it out
    assert np.isnan(clf.history_["valid_loss"].iloc[-1])
    clf.set_params(warm_start=True).fit(X, y)
    assert not np.isnan(clf.history_["valid_loss"].iloc[-1])


# ----------------------------------------------------------------------
# Fits in threads
class _Meet(Callback):
    """Holds each fit at its first epoch until both have reached it."""

    def __init__(self, barrier=None):
        self.barrier = barrier

    def on_epoch_begin(self, net, **kwargs):
        if self.barrier is not None:
            self.barrier.wait(timeout=60)
            self.barrier = None


def test_fits_overlapping_in_threads_are_warned_about():
    X, y = trials()
    barrier = threading.Barrier(2)

    def fit():
        meet = _Meet(barrier)
        meet.__deepcopy__ = None  # not copied: rebuilt from its parameters, sharing the barrier
        DNNClassifier(max_epochs=1, random_state=0, callbacks=[meet]).fit(X, y)

    # Recorded here: warnings.catch_warnings is process-wide, not per thread.
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=fit) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    messages = [str(w.message) for w in record]
    assert sum("Another skeeg fit ran at the same time in another thread" in m
               for m in messages) == 2


def test_fits_one_after_another_in_threads_are_not_warned_about():
    X, y = trials()
    fitted = []
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for _ in range(2):
            clf = DNNClassifier(max_epochs=1, random_state=0)
            thread = threading.Thread(target=clf.fit, args=(X, y))
            thread.start()
            thread.join()
            fitted.append(clf)
    assert not [w for w in record if "Another skeeg fit" in str(w.message)]
    # Fitted alone in their threads, they equal a fit in this one.
    alone = DNNClassifier(max_epochs=1, random_state=0).fit(X, y)
    for clf in fitted:
        np.testing.assert_array_equal(clf.predict_proba(X), alone.predict_proba(X))


# ----------------------------------------------------------------------
# Modules that cannot give probabilities
def _ending_in(function):
    class Module(torch.nn.Module):
        def __init__(self, n_channels, n_times, n_classes):
            super().__init__()
            self.classifier = torch.nn.Linear(n_channels * n_times, n_classes)

        def forward(self, x):
            return function(self.classifier(x.flatten(1)))

    return Module


@pytest.mark.parametrize("function, name", [
    (torch.sigmoid, "a sigmoid"),
    (torch.tanh, "a tanh"),
    (torch.nn.Sigmoid(), "a sigmoid"),
    (torch.nn.functional.hardsigmoid, "a hardsigmoid"),
])
def test_a_module_with_bounded_outputs_is_refused(function, name):
    X, y = trials()
    with pytest.raises(ValueError, match=f"output comes from {name}, which bounds every logit"):
        EEGClassifier(_ending_in(function), max_epochs=1).fit(X, y)


def test_a_final_softmax_is_refused_and_log_softmax_accepted():
    X, y = trials()
    with pytest.raises(ValueError, match="returns probabilities"):
        EEGClassifier(_ending_in(lambda z: torch.softmax(z, 1)), max_epochs=1).fit(X, y)
    EEGClassifier(_ending_in(lambda z: torch.log_softmax(z, 1)), max_epochs=1).fit(X, y)


# ----------------------------------------------------------------------
# Process-wide torch settings
@pytest.fixture
def float64_default():
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(torch.float32)


def test_a_float64_default_dtype_changes_nothing(float64_default, tmp_path):
    from skeeg import load
    from skeeg.export import to_torchscript

    X, y = trials()
    clf = EEGNetClassifier(kernel_length=9, max_epochs=1, random_state=0).fit(X, y)
    clf.partial_fit(X, y)
    assert torch.get_default_dtype() == torch.float64  # restored after fit
    assert all(p.dtype == torch.float32 for p in clf.net_.module_.parameters())
    proba = clf.predict_proba(X)
    clf.save(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(load(tmp_path / "m.safetensors").predict_proba(X), proba)
    to_torchscript(clf, tmp_path / "m.pt")
    exported = torch.jit.load(tmp_path / "m.pt")(torch.as_tensor(X)).numpy()
    np.testing.assert_allclose(exported, proba, atol=1e-5)
    torch.set_default_dtype(torch.float32)
    same = EEGNetClassifier(kernel_length=9, max_epochs=1, random_state=0).fit(X, y)
    same.partial_fit(X, y)
    np.testing.assert_array_equal(same.predict_proba(X), proba)


def test_gradients_switched_off_process_wide_change_nothing():
    X, y = trials()
    expected = EEGNetClassifier(kernel_length=9, max_epochs=1, random_state=0).fit(X, y)
    torch.set_grad_enabled(False)
    try:
        clf = EEGNetClassifier(kernel_length=9, max_epochs=1, random_state=0).fit(X, y)
        clf.partial_fit(X, y)
        assert not torch.is_grad_enabled()
    finally:
        torch.set_grad_enabled(True)
    expected.partial_fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), expected.predict_proba(X))


# ----------------------------------------------------------------------
# Parameters changed between continued calls: applied, or refused
@pytest.mark.parametrize("policy, kwargs", [
    (StepLR, dict(step_size=2)), (CosineAnnealingLR, dict(T_max=4)),
])
def test_a_warm_start_fit_restarts_its_schedulers_with_its_fresh_optimiser(policy, kwargs):
    X, y = trials()
    clf = DNNClassifier(optimizer="sgd", lr=1e-2, max_epochs=3, validation_fraction=0,
                        early_stopping=False, random_state=0, warm_start=True,
                        callbacks=[LRScheduler(policy=policy, **kwargs)])
    clf.fit(X, y)
    first = clf.net_.optimizer_.param_groups[0]["lr"]
    clf.fit(X, y)  # torch refused to resume a scheduler on a fresh optimiser
    assert clf.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(first)
    assert len(clf.history_) == 6
    clf.partial_fit(X, y).set_params(warm_start=True).fit(X, y)
    assert len(clf.history_) == 10


def test_changed_training_parameters_reach_a_continued_fit():
    X, y = trials()
    clf = DNNClassifier(optimizer="sgd", lr=1e-2, batch_size=8, random_state=0)
    clf.partial_fit(X, y)
    clf.set_params(batch_size=20, lr=1e-3, weight_decay=0.1, class_weight={0: 1.0, 1: 2.0},
                   augmentation=GaussianNoise(std=0.1), verbose=0,
                   callbacks=[EpochScoring("accuracy", name="extra", on_train=True)])
    clf.partial_fit(X, y)
    group = clf.net_.optimizer_.param_groups[0]
    assert (group["lr"], group["weight_decay"]) == (1e-3, 0.1)
    assert clf.history_["epoch"].tolist() == [1, 2]
    assert len(clf.net_.history[-1]["batches"]) == 2  # 40 trials in batches of 20
    torch.testing.assert_close(clf.net_.criterion_.weight, torch.tensor([1.0, 2.0]))
    assert type(clf.net_.augmentation[0]) is GaussianNoise
    assert "extra" in clf.history_
    with pytest.raises(ValueError, match="partial_fit continues the optimiser's state"):
        clf.set_params(optimizer="adam").partial_fit(X, y)
    clf.set_params(warm_start=True, max_epochs=1).fit(X, y)  # a fresh optimiser may change
    assert type(clf.net_.optimizer_) is torch.optim.Adam
    with pytest.raises(ValueError, match="init='kaiming_uniform'.*its initialisation cannot"):
        clf.set_params(init="kaiming_uniform").partial_fit(X, y)


def test_balanced_weights_of_a_warm_start_fit_on_trials_lacking_a_class():
    X, _ = trials(60)
    y = np.array(["a", "b", "c"])[np.arange(60) % 3]
    clf = DNNClassifier(class_weight="balanced", max_epochs=1, validation_fraction=0,
                        early_stopping=False, random_state=0).fit(X, y)
    keep = np.r_[np.flatnonzero(y == "a"), np.flatnonzero(y == "b")[:5]]
    clf.set_params(warm_start=True).fit(X[keep], y[keep])
    torch.testing.assert_close(clf.net_.criterion_.weight, torch.tensor([25 / 60, 25 / 15, 1.0]))
    with pytest.raises(ValueError, match="class_weight=.*cannot weigh the classes"):
        clf.set_params(class_weight={"a": "x", "b": 1, "c": 1}).fit(X, y)


def test_embed_reads_the_fitted_crops_not_the_parameter():
    from skeeg.inspection import embed

    X, y = trials(n_times=96)
    cropped = EEGNetClassifier(kernel_length=9, crop_length=64, max_epochs=1).fit(X, y)
    cropped.set_params(crop_length=None)
    with pytest.raises(ValueError, match="trained on crops of crop_length=64"):
        embed(cropped, X[:3])
    whole = EEGNetClassifier(kernel_length=9, max_epochs=1).fit(X, y)
    assert embed(whole.set_params(crop_length=64), X[:3]).shape[0] == 3


@pytest.mark.parametrize("device", ["mps", "meta", "xla"])
def test_devices_skeeg_cannot_train_on_are_refused_before_training(device):
    X, y = trials()
    with pytest.raises(ValueError, match=f"device='{device}': skeeg trains on 'cpu' or 'cuda'"):
        DNNClassifier(device=device).fit(X, y)


def test_a_meta_default_device_changes_nothing():
    X, y = trials()
    expected = EEGNetClassifier(kernel_length=9, max_epochs=1, random_state=0).fit(X, y)
    torch.set_default_device("meta")
    try:
        clf = EEGNetClassifier(kernel_length=9, max_epochs=1, random_state=0).fit(X, y)
        proba = clf.predict_proba(X)
    finally:
        torch.set_default_device(None)
    np.testing.assert_array_equal(proba, expected.predict_proba(X))


@pytest.mark.parametrize("function", [
    lambda z: torch.sigmoid(z).reshape(len(z), -1),
    lambda z: torch.sigmoid(z)[:, :],
    lambda z: torch.softmax(z, 1).reshape(len(z), -1)[:, :],
    lambda z: torch.tanh(z).view(z.shape),
    lambda z: torch.stack([torch.sigmoid(z[:, i]) for i in range(z.shape[1])], 1),
    lambda z: z.clamp(-1, 1),
    torch.nn.functional.hardtanh,
    torch.nn.functional.relu6,
], ids=["reshape", "slice", "softmax-sliced", "view", "stack", "clamp", "hardtanh", "relu6"])
def test_bounded_outputs_are_found_through_reshapes_and_scalings(function):
    X, y = trials()
    with pytest.raises(ValueError, match="output comes from a .*, which bounds every logit"):
        EEGClassifier(_ending_in(function), max_epochs=1).fit(X, y)


@pytest.mark.parametrize("function", [
    lambda z: torch.sigmoid(z) + z,  # unbounded: a bounded part plus the logits
    lambda z: z.clamp(min=0),        # bounded on one side only
    lambda z: z.clamp(-50, 50),      # a safety net: confident probabilities stay reachable
    lambda z: torch.nn.functional.hardtanh(z, -100, 100),
    lambda z: torch.ones_like(z) / torch.sigmoid(z),  # unbounded
    lambda z: 100 * torch.sigmoid(z),  # scalings are not followed: this bound is harmless
    torch.nn.functional.elu,
], ids=["sigmoid-plus-logits", "clamp-min", "wide-clamp", "wide-hardtanh", "inverse",
        "scaled", "elu"])
def test_unbounded_outputs_are_accepted(function):
    X, y = trials()
    EEGClassifier(_ending_in(function), max_epochs=1).fit(X, y)


# ----------------------------------------------------------------------
# User transforms: what they return is checked, naming them
from skeeg.augmentation import Transform  # noqa: E402


def _returning(make):
    class Odd(Transform):
        def _transform(self, X, y, generator):
            return make(X), y

    return Odd()


@pytest.mark.parametrize("make, error, message", [
    (lambda X: X[:, :1], ValueError, r"Odd returned X of shape \(2, 1, 64\)"),
    (lambda X: X[:, :, :1], ValueError, r"Odd returned X of shape \(2, 2, 1\)"),
    (lambda X: X[:1], ValueError, r"Odd returned X of shape \(1, 2, 64\)"),
    (lambda X: X.double(), ValueError, "torch.float64"),
    (lambda X: X.numpy(), TypeError, "Odd returned X as ndarray"),
], ids=["one-channel", "one-sample", "one-trial", "float64", "numpy"])
def test_a_transform_returning_other_trials_is_refused_before_training(make, error, message):
    X, y = trials()
    with pytest.raises(error, match=message):
        DNNClassifier(max_epochs=1, augmentation=_returning(make)).fit(X, y)



def test_a_loaded_user_module_with_gradients_switched_off(tmp_path):
    from skeeg import load

    X, y = trials()
    module = _ending_in(lambda z: z)
    clf = EEGClassifier(module, max_epochs=1, random_state=0).fit(X, y)
    clf.save(tmp_path / "m.safetensors")
    torch.set_grad_enabled(False)
    try:
        loaded = load(tmp_path / "m.safetensors", trusted=[module])
    finally:
        torch.set_grad_enabled(True)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_exports_under_a_meta_default_device(tmp_path):
    from skeeg.export import to_onnx, to_torchscript

    X, y = trials()
    clf = DNNClassifier(max_epochs=1, random_state=0).fit(X, y)
    torch.set_default_device("meta")
    try:
        to_torchscript(clf, tmp_path / "m.pt")
        to_onnx(clf, tmp_path / "m.onnx")
    finally:
        torch.set_default_device(None)
    out = torch.jit.load(tmp_path / "m.pt")(torch.as_tensor(X))
    np.testing.assert_allclose(out.numpy(), clf.predict_proba(X), atol=1e-5)


# ----------------------------------------------------------------------
# Architecture parameters in the tables (third fresh-eyes pass)
@pytest.mark.parametrize("build, message", [
    (lambda: EEGNetClassifier(temporal_filters=10**30), "'temporal_filters' parameter of "
     r"EEGNetClassifier must be an integer in the range \[1, 16777216\]"),
    (lambda: EEGNetClassifier(kernel_length=10**30), "'kernel_length' parameter"),
    (lambda: DNNClassifier(hidden_sizes=(10**30,)), "'hidden_sizes' parameter of DNNClassifier "
     "must be a non-empty sequence of positive integers up to 16777216"),
], ids=["filters", "kernel", "hidden-sizes"])
def test_sizes_no_network_could_hold_are_refused_naming_them(build, message):
    X, y = trials()
    with pytest.raises(ValueError, match=message):
        build().fit(X, y)


def test_stacked_depths_are_bounded():
    from skeeg.models import ATCNet, EEGConformer

    with pytest.raises(ValueError, match=r"'tcn_depth' parameter of ATCNet must be an integer "
                                         r"in the range \[1, 16\]"):
        ATCNet(3, 1125, 2, tcn_depth=20)
    with pytest.raises(ValueError, match=r"'attention_depth' parameter of EEGConformer"):
        EEGConformer(3, 256, 2, attention_depth=10**30)
    with pytest.raises(ValueError, match="n_classes must be an integer from 2 to"):
        EEGConformer(3, 256, 10**30)


def test_array_and_case_variants_of_unchanged_parameters_continue():
    from skeeg import DeepConvNetClassifier

    X, y = trials(n_times=128)
    clf = DeepConvNetClassifier(n_filters=np.array([2, 2]), kernel_length=3, max_epochs=1)
    clf.partial_fit(X, y).partial_fit(X, y)
    assert len(clf.history_) == 2
    clf = EEGNetClassifier(kernel_length=9, max_epochs=1, warm_start=True).fit(X, y)
    clf.set_params(activation="ELU").fit(X, y)  # the same activation, as the table reads it
    assert len(clf.history_) == 2


def test_skeegs_own_modules_and_fractions_save_and_load(tmp_path):
    from fractions import Fraction

    from skeeg import load
    from skeeg.models import EEGNet

    X, y = trials(n_times=128)
    clf = EEGClassifier(EEGNet, module_params={"kernel_length": 9}, max_epochs=1).fit(X, y)
    clf.save(tmp_path / "generic.safetensors")
    np.testing.assert_array_equal(load(tmp_path / "generic.safetensors").predict_proba(X),
                                  clf.predict_proba(X))
    clf = EEGNetClassifier(kernel_length=9, dropout=Fraction(1, 4), max_epochs=1).fit(X, y)
    clf.save(tmp_path / "fraction.safetensors")
    assert load(tmp_path / "fraction.safetensors").dropout == Fraction(1, 4)


@pytest.mark.parametrize("callback, match", [
    # A negative clipping value turns every step around: gradient ascent without a word.
    (GradientNormClipping(gradient_clip_value=-1.0), r"gradient_clip_value=-1.0 must be a "
                                                     r"finite number > 0"),
    (GradientNormClipping(gradient_clip_value=float("nan")), "gradient_clip_value is NaN"),
    (GradientNormClipping(1.0, gradient_clip_norm_type=0), "gradient_clip_norm_type=0 must"),
    (LRScheduler("StepLR", step_size=1, gamma=float("nan")), r"\(LRScheduler\): gamma is NaN"),
    (LRScheduler(policy="Bogus"), "policy=.Bogus. is no name skorch resolves; pass a"),
    (LRScheduler(policy="OneCycleLR", max_lr=0.1, total_steps=9),
     "pass the class, torch.optim.lr_scheduler.OneCycleLR"),
    (EarlyStopping(threshold=float("nan")), r"\(EarlyStopping\): threshold is NaN"),
], ids=["clip-negative", "clip-nan", "clip-norm-0", "gamma-nan", "policy", "torch-name",
         "threshold-nan"])
def test_callback_arguments_are_checked_before_training(callback, match, monkeypatch):
    from skeeg import _fitting

    X, y = trials()
    monkeypatch.setattr(_fitting, "make_net", lambda *a, **k: pytest.fail("a net was built"))
    with pytest.raises(ValueError, match=r"callbacks\[0\] .*" + match):
        DNNClassifier(callbacks=[callback]).fit(X, y)
