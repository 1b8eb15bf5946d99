"""skeeg's skorch net: mixed precision, data kept on the device, CUDA-graph capture.

The CPU tests run everywhere; the GPU tests need CUDA and are skipped
without it (with the reason). On the CPU a classifier asked for a CUDA
graph trains eagerly, exactly as without one.
"""

import pickle

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, EpochScoring

from skeeg import CNNClassifier, DeepConvNetClassifier, DNNClassifier, EEGNetClassifier
from skeeg._net import WARMUP_STEPS, acts_on_gradients, capture_kwargs
from skeeg._training import BatchIterator
from skeeg.datasets import make_motor_imagery
from skorch.dataset import Dataset

from _small_models import small_params

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

# EEGNet's small configuration trained on every trial; each test sets max_epochs.
SMALL_EEGNET = small_params(EEGNetClassifier, validation_fraction=0, early_stopping=False)
del SMALL_EEGNET["max_epochs"]


@pytest.fixture(scope="module")
def motor():
    data = make_motor_imagery(n_trials=120, n_channels=4, n_times=128, random_state=0)
    return data.X, data.y


class GradientProbe(Callback):
    """Hooks ``on_grad_computed``, which a captured step cannot call."""

    def on_grad_computed(self, net, named_parameters, **kwargs):
        self.calls_ = getattr(self, "calls_", 0) + 1


# ----------------------------------------------------------------------
# Everywhere
def test_capture_kwargs_per_optimizer():
    assert capture_kwargs(torch.optim.Adam) == {"capturable": True}
    assert capture_kwargs(torch.optim.AdamW) == {"capturable": True}
    assert capture_kwargs(torch.optim.RMSprop) == {"capturable": True}
    assert capture_kwargs(torch.optim.SGD) == {}
    assert capture_kwargs(torch.optim.Adagrad) is None


def test_acts_on_gradients():
    assert not acts_on_gradients([("acc", EpochScoring("accuracy"))])
    assert acts_on_gradients([("acc", EpochScoring("accuracy")), ("probe", GradientProbe())])


def test_cuda_graph_is_ignored_on_the_cpu(motor):
    X, y = motor
    graph = EEGNetClassifier(max_epochs=4, cuda_graph=True, **SMALL_EEGNET).fit(X, y)
    eager = EEGNetClassifier(max_epochs=4, cuda_graph=False, **SMALL_EEGNET).fit(X, y)
    assert graph.cuda_graph_ is False and eager.cuda_graph_ is False
    np.testing.assert_array_equal(graph.history_.train_loss, eager.history_.train_loss)
    np.testing.assert_array_equal(graph.predict_proba(X), eager.predict_proba(X))


def test_batch_losses_are_floats_in_the_history(motor):
    X, y = motor
    clf = EEGNetClassifier(max_epochs=2, **{**SMALL_EEGNET, "validation_fraction": 0.25})
    clf.fit(X, y)
    for epoch in clf.net_.history:
        losses = [batch.get("train_loss", batch.get("valid_loss")) for batch in epoch["batches"]]
        assert all(type(loss) is float and np.isfinite(loss) for loss in losses)
        assert epoch["train_batch_count"] == 6 and epoch["valid_batch_count"] == 2
    # The epoch loss is skorch's mean of the batch losses, weighted by batch size.
    batches = [b for b in clf.net_.history[-1]["batches"] if "train_loss" in b]
    expected = np.average([b["train_loss"] for b in batches],
                          weights=[b["train_batch_size"] for b in batches])
    assert clf.history_.train_loss.iloc[-1] == pytest.approx(expected)


def test_bfloat16_trains_and_predicts_under_autocast(motor):
    X, y = motor
    clf = EEGNetClassifier(max_epochs=15, precision="bfloat16", **SMALL_EEGNET).fit(X, y)
    assert clf.precision == "bfloat16" and clf.net_.precision == "bfloat16"
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    # Prediction runs the module under the same autocast as training did.
    module = clf.net_.module_.eval()
    inputs = torch.from_numpy((X - clf.channel_mean_[:, None]) / np.float32(clf.scale_))
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        logits = module(inputs).float().numpy()
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[logits.argmax(axis=1)])
    # bfloat16 logits differ from float32 ones by more than float32 rounding.
    with torch.inference_mode():
        full = module(inputs).numpy()
    assert np.abs(logits - full).max() > 1e-4
    float32 = EEGNetClassifier(max_epochs=15, **SMALL_EEGNET).fit(X, y)
    assert clf.score(X, y) >= float32.score(X, y) - 0.1
    assert clf.score(X, y) > 0.8


def test_bfloat16_round_trips_through_pickle(motor):
    X, y = motor
    clf = EEGNetClassifier(max_epochs=2, precision="bfloat16", **SMALL_EEGNET).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_batch_iterator_keeps_tensors_on_their_device(motor):
    X, y = motor
    dataset = Dataset(torch.as_tensor(X), y)
    torch.manual_seed(0)
    batches = list(BatchIterator(dataset, batch_size=32, shuffle=True))
    assert [len(xb) for xb, _ in batches] == [32, 32, 32, 24]
    assert all(xb.device == yb.device == dataset.X.device for xb, yb in batches)
    order = torch.cat([yb for _, yb in batches]).numpy()
    assert sorted(order.tolist()) == sorted(y.tolist())


# ----------------------------------------------------------------------
# On a GPU
def fit_pair(X, y, cls=EEGNetClassifier, **params):
    """The same fit with and without the CUDA graph."""
    params = {**SMALL_EEGNET, "device": "cuda", **params} if cls is EEGNetClassifier else {
        "device": "cuda", "random_state": 0, **params}
    graph = cls(cuda_graph=True, **params).fit(X, y)
    eager = cls(cuda_graph=False, **params).fit(X, y)
    return graph, eager


@needs_cuda
@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd", "momentum", "rmsprop"])
def test_graph_replay_computes_the_eager_steps(motor, optimizer):
    X, y = motor
    # No dropout, and deterministic cuDNN kernels: the two runs then launch
    # the same kernels on the same numbers, only differently.
    with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True,
                                    allow_tf32=False):
        graph, eager = fit_pair(X, y, max_epochs=6, dropout=0.0, optimizer=optimizer)
    assert graph.cuda_graph_ is True and eager.cuda_graph_ is False
    # An epoch is 7 batches of 16 and one of 8; each size is captured after
    # WARMUP_STEPS eager steps of its own.
    assert graph.net_.graph_replays_ == 6 * 8 - 2 * WARMUP_STEPS
    assert sorted(graph.net_.warmup_steps_.items()) == [(8, WARMUP_STEPS), (16, WARMUP_STEPS)]
    np.testing.assert_allclose(graph.history_.train_loss, eager.history_.train_loss, rtol=1e-5)
    np.testing.assert_allclose(graph.predict_proba(X), eager.predict_proba(X), atol=1e-5)
    graph_state = graph.net_.module_.state_dict()
    for name, value in eager.net_.module_.state_dict().items():
        torch.testing.assert_close(graph_state[name], value, rtol=1e-5, atol=1e-6, msg=name)


@needs_cuda
@pytest.mark.parametrize("augmentation", [None, "noise"])
def test_graph_replay_with_members_computes_the_eager_steps(motor, augmentation):
    # Members in one captured step: their losses, per-member augmentation (4-D batches,
    # graphs keyed by (members, batch)) and the vote, as the eager steps compute them.
    from skeeg.augmentation import GaussianNoise

    X, y = motor
    noise = GaussianNoise(std=0.1) if augmentation else None
    with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True,
                                    allow_tf32=False):
        graph, eager = fit_pair(X, y, max_epochs=6, dropout=0.0, n_members=3,
                                augmentation=noise)
    assert graph.cuda_graph_ is True and graph.net_.graph_replays_ > 0
    for key in ("train_loss", "train_loss_m0", "train_loss_m2", "valid_loss_m1"):
        np.testing.assert_allclose(graph.history_[key], eager.history_[key], rtol=1e-5)
    np.testing.assert_allclose(graph.predict_proba(X), eager.predict_proba(X), atol=1e-5)


@needs_cuda
def test_graph_with_dropout_learns_and_repeats(motor):
    X, y = motor
    first = EEGNetClassifier(max_epochs=15, device="cuda", **SMALL_EEGNET).fit(X, y)
    second = EEGNetClassifier(max_epochs=15, device="cuda", **SMALL_EEGNET).fit(X, y)
    assert first.cuda_graph_ and first.score(X, y) > 0.8
    # The same random_state replays the same dropout masks.
    np.testing.assert_allclose(first.history_.train_loss, second.history_.train_loss, rtol=1e-4)


@needs_cuda
def test_graph_falls_back_to_eager_steps_where_it_cannot_capture(motor):
    X, y = motor
    adagrad = EEGNetClassifier(max_epochs=2, device="cuda", optimizer="adagrad",
                               **SMALL_EEGNET).fit(X, y)
    assert adagrad.cuda_graph_ is False
    probe = GradientProbe()
    hooked = EEGNetClassifier(max_epochs=2, device="cuda", callbacks=[("probe", probe)],
                              **SMALL_EEGNET).fit(X, y)
    assert hooked.cuda_graph_ is False
    assert dict(hooked.net_.callbacks_)["probe"].calls_ == 2 * 8


@needs_cuda
def test_graph_with_validation_early_stopping_and_max_norm(motor):
    X, y = motor
    clf = EEGNetClassifier(max_epochs=30, device="cuda", max_norm=True, patience=3,
                           **{**SMALL_EEGNET, "validation_fraction": 0.25,
                              "early_stopping": True}).fit(X, y)
    assert clf.cuda_graph_
    assert np.isfinite(clf.history_[["train_loss", "valid_loss", "valid_acc"]]).all().all()
    module = clf.net_.module_
    for name, limit in module.max_norm_limits.items():
        norms = module.get_submodule(name).weight.flatten(1).norm(dim=1)
        assert (norms <= limit * (1 + 1e-5)).all(), name
    # Nothing of the graph is kept: the fitted model pickles and loads.
    assert clf.net_.captured_steps_ == {}
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(restored.predict_proba(X), clf.predict_proba(X), atol=1e-6)


@needs_cuda
def test_deepconvnet_graph_and_bfloat16(motor):
    X, y = motor
    params = dict(n_filters=(8, 8, 8), max_epochs=10, lr=0.01, batch_size=16,
                  validation_fraction=0, early_stopping=False)
    with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True,
                                    allow_tf32=False):
        graph, eager = fit_pair(X, y, DeepConvNetClassifier, dropout=0.0, **params)
    assert graph.cuda_graph_
    np.testing.assert_allclose(graph.history_.train_loss, eager.history_.train_loss, rtol=1e-5)
    # bfloat16 autocast computes the same function to bfloat16 precision.
    module = graph.net_.module_.eval()
    trials = torch.as_tensor(X, device="cuda")
    with torch.inference_mode():
        full = module(trials).float()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            half = module(trials).float()
    error = ((half - full).norm() / full.norm()).item()
    assert 1e-5 < error < 5e-2
    bf16 = DeepConvNetClassifier(device="cuda", precision="bfloat16", random_state=0,
                                 **{**params, "max_epochs": 30}).fit(X, y)
    # It also learns (chance is 0.5); its accuracy on real data is measured
    # against float32 in BENCHMARKS.md.
    assert bf16.cuda_graph_ and bf16.score(X, y) > 0.7


@needs_cuda
def test_trials_stay_on_the_gpu_during_fit(motor):
    X, y = motor
    seen = []

    class Where(Callback):
        def on_batch_begin(self, net, batch, training=False, **kwargs):
            seen.append((batch[0].device.type, batch[1].device.type))

    EEGNetClassifier(max_epochs=1, device="cuda", callbacks=[("where", Where())],
                     **{**SMALL_EEGNET, "validation_fraction": 0.25}).fit(X, y)
    assert seen and set(seen) == {("cuda", "cuda")}


@pytest.mark.parametrize("make", [
    lambda **kw: EEGNetClassifier(**{**SMALL_EEGNET, **kw}),  # two logits
    lambda **kw: EEGNetClassifier(**{**SMALL_EEGNET, "optimizer": "sgd", "lr": 1e-3, **kw}),
    lambda **kw: DNNClassifier(hidden_sizes=(16,), lr=0.01, batch_size=16,  # one logit
                               validation_fraction=0, early_stopping=False, random_state=0, **kw),
])
def test_training_accuracy_equals_skorchs_epoch_scoring(motor, make):
    X, y = motor
    reference = EpochScoring("accuracy", on_train=True, name="skorch_train_acc")
    clf = make(max_epochs=5, callbacks=[("reference", reference)]).fit(X, y)
    np.testing.assert_allclose(clf.history_.train_acc, clf.history_.skorch_train_acc)
    assert clf.history_.train_acc.between(0, 1).all()
    assert clf.history_.train_acc.nunique() > 1


def test_silent_fit_builds_no_epoch_table(motor):
    X, y = motor
    names = dict(EEGNetClassifier(max_epochs=1, **SMALL_EEGNET).fit(X, y).net_.callbacks_)
    assert "print_log" not in names and "train_acc" in names
    names = dict(EEGNetClassifier(max_epochs=1, verbose=1, **SMALL_EEGNET).fit(X, y).net_.callbacks_)
    assert "print_log" in names


@needs_cuda
@pytest.mark.parametrize("make", [
    lambda **kw: DNNClassifier(hidden_sizes=(32, 16), input_dropout=0.0, dropout=0.0, **kw),
    lambda **kw: CNNClassifier(conv_filters=(4, 4), hidden_size=16, input_dropout=0.0,
                               conv_dropout=0.0, dropout=0.0, hidden_dropout=0.0, **kw),
])
def test_deap_networks_graph_with_class_weights(motor, make):
    # One logit and a weighted binary cross-entropy, on unbalanced classes.
    X, y = motor
    keep = np.flatnonzero(y == 1)[:20].tolist() + np.flatnonzero(y == 0).tolist()
    X, y = X[keep], y[keep]
    params = dict(max_epochs=6, lr=0.01, batch_size=16, validation_fraction=0,
                  early_stopping=False, random_state=0, device="cuda", class_weight="balanced")
    with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True,
                                    allow_tf32=False):
        graph = make(cuda_graph=True, **params).fit(X, y)
        eager = make(cuda_graph=False, **params).fit(X, y)
    assert graph.net_.module_.n_outputs == 1 and graph.cuda_graph_
    np.testing.assert_allclose(graph.history_.train_loss, eager.history_.train_loss, rtol=1e-5)
    np.testing.assert_allclose(graph.predict_proba(X), eager.predict_proba(X), atol=1e-5)
