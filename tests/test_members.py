"""``n_members``: several networks trained in one fit, their soft vote predicted."""

import copy

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV

import skeeg
import skeeg._members
from skeeg import (
    DeepConvNetClassifier,
    EEGClassifier,
    EEGConformerClassifier,
    EEGNetClassifier,
    ShallowFBCSPNetClassifier,
)
from skeeg.augmentation import GaussianNoise, Mixup
from skeeg.datasets import make_motor_imagery
from skeeg.export import to_onnx, to_torchscript
from skeeg.inspection import embed

SMALL = dict(kernel_length=15, separable_kernel_length=7, temporal_filters=4,
             depth_multiplier=1, separable_filters=8)


@pytest.fixture(scope="module")
def data():
    d = make_motor_imagery(n_trials=60, n_channels=3, n_times=128, random_state=0)
    return d.X, d.y


def members(clf):
    return list(clf.net_.module_.networks)


def states_equal(a, b):
    a, b = a.state_dict(), b.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("cls, n_channels, kwargs", [
    (EEGNetClassifier, 3, SMALL),  # temporal filters first: one convolution for all members
    (EEGNetClassifier, 8, SMALL),  # spatial filters first: the trials' lagged sums shared
    (DeepConvNetClassifier, 3, dict(n_filters=(4, 4, 8, 8))),
    (ShallowFBCSPNetClassifier, 3, dict(temporal_filters=4, spatial_filters=4)),
    (EEGConformerClassifier, 3, dict(n_filters=8, attention_depth=1, attention_heads=2)),
], ids=["EEGNet-3ch", "EEGNet-8ch", "DeepConvNet", "ShallowFBCSPNet", "EEGConformer"])
def test_member_zero_is_the_single_network_bitwise(cls, n_channels, kwargs):
    # What makes PackedSearchCV's scores GridSearchCV's: every member computes what its
    # network computes alone, in the same order of sums, and draws what it would draw.
    d = make_motor_imagery(n_trials=60, n_channels=n_channels, n_times=128, random_state=0)
    X, y = d.X, d.y
    kw = dict(max_epochs=4, patience=2, random_state=3, **kwargs)
    solo = cls(**kw).fit(X, y)
    trio = cls(n_members=3, **kw).fit(X, y)
    assert not isinstance(solo.net_.module_, skeeg._members.Members)  # n_members=1: no wrapper
    assert states_equal(members(trio)[0], solo.net_.module_)
    # The fit runs on until every member's patience has run out: member 0's epochs
    # are the solo fit's, then more (its best epoch restored, as checked above).
    epochs = len(solo.history_)
    assert len(trio.history_) >= epochs
    for key in ("valid_loss", "train_loss"):
        np.testing.assert_array_equal(trio.history_[f"{key}_m0"][:epochs], solo.history_[key])
    # The other members are other networks.
    assert not states_equal(members(trio)[1], members(trio)[0])
    assert not states_equal(members(trio)[2], members(trio)[1])


def test_augmentation_draws_are_per_member_and_member_zero_is_solo(data):
    X, y = data
    kw = dict(max_epochs=2, random_state=0, augmentation=GaussianNoise(std=0.5),
              dropout=0.0, **SMALL)
    solo = EEGNetClassifier(**kw).fit(X, y)
    pair = EEGNetClassifier(n_members=2, **kw).fit(X, y)
    assert states_equal(members(pair)[0], solo.net_.module_)
    # Same initialisation, other noise: member 1 of a fit whose members share the
    # random stream would match member 0 of a fit seeded alike; here it must not.
    losses = pair.history_[["train_loss_m0", "train_loss_m1"]].to_numpy()
    assert not np.allclose(losses[:, 0], losses[:, 1])


def test_each_member_gets_its_solo_gradient(data):
    X, y = data
    clf = EEGNetClassifier(n_members=3, max_epochs=1, dropout=0.0, random_state=0,
                           **SMALL).fit(X, y)
    net = clf.net_
    batch = torch.from_numpy(((X[:16] - clf.channel_mean_[:, None]) / clf.scale_).astype(
        np.float32))
    target = torch.as_tensor(clf._label_encoder.transform(y[:16]))
    net.module_.train()
    # The training path: skeeg's kernels, the members' summed loss.
    net.module_.zero_grad()
    net.get_loss(net.infer(batch), target, training=True).backward()
    together = [[p.grad.clone() for p in m.parameters()] for m in members(clf)]
    for index, member in enumerate(members(clf)):
        alone = copy.deepcopy(member)
        alone.zero_grad()
        loss = net.criterion_.criterion(alone(batch), target)
        loss.backward()
        solo = [p.grad for p in alone.parameters()]
        scale = max(float(g.abs().max()) for g in solo)
        for g_alone, g_together in zip(solo, together[index]):
            # The training path runs skeeg's kernels, this one the plain layers: float
            # rounding only, relative to the gradients' scale (batch-norm biases before
            # a batch norm have a gradient of 0 up to rounding).
            assert (g_together - g_alone).abs().max() <= 1e-5 * scale


def test_early_stopping_keeps_each_members_own_best_epoch(data):
    X, y = data
    groups = np.arange(len(y)) % 6
    clf = EEGNetClassifier(n_members=3, max_epochs=25, patience=3, lr=3e-3, random_state=1,
                           validation_fraction=0.34, **SMALL).fit(X, y, groups=groups)
    history = clf.history_
    stopping = dict(clf.net_.callbacks_)["early_stopping"]
    valid = np.isin(groups, clf.validation_groups_)
    ends = []
    for index, member in enumerate(members(clf)):
        losses = history[f"valid_loss_m{index}"].to_numpy()
        best, threshold, misses, end = None, np.inf, 0, len(losses)
        for epoch, loss in enumerate(losses, start=1):  # skorch's rule, by hand
            if loss < threshold:
                best, threshold, misses = epoch, loss * (1 - 1e-4), 0
            else:
                misses += 1
            if misses == 3:
                end = epoch
                break
        ends.append(end)
        assert stopping.member_best_epochs_[index] == best
        # The member's weights are those of its best epoch: its validation loss now
        # is the one recorded then.
        alone = clf.net_.module_.networks[index]
        with torch.no_grad():
            trials = torch.from_numpy(
                ((X[valid] - clf.channel_mean_[:, None]) / clf.scale_).astype(np.float32))
            logits = alone.eval()(trials)
            loss = clf.net_.criterion_.criterion(
                logits, torch.as_tensor(clf._label_encoder.transform(y[valid])))
        np.testing.assert_allclose(float(loss), losses[best - 1], rtol=2e-5)
    # Training stopped when the last member's patience ran out.
    assert len(history) == min(25, max(ends))
    assert len(set(stopping.member_best_epochs_)) > 1 or len(history) == 25


def test_vote_is_the_mean_of_member_probabilities(data):
    X, y = data
    clf = EEGNetClassifier(n_members=3, max_epochs=2, random_state=0, **SMALL).fit(X, y)
    module = clf.net_.module_.eval()
    trials = torch.from_numpy(((X - clf.channel_mean_[:, None]) / clf.scale_).astype(np.float32))
    with torch.no_grad():
        mean = torch.stack([torch.softmax(m(trials), 1) for m in members(clf)]).mean(0)
    np.testing.assert_allclose(clf.predict_proba(X), mean.double().numpy(), atol=1e-6)
    assert clf.predict_proba(X[:0]).shape == (0, 2)


def test_save_load_and_exports_give_the_vote(data, tmp_path):
    X, y = data
    clf = EEGNetClassifier(n_members=3, max_epochs=1, random_state=0, **SMALL).fit(X, y)
    expected = clf.predict_proba(X)
    clf.save(tmp_path / "m.skeeg")
    loaded = skeeg.load(tmp_path / "m.skeeg")
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    info = to_torchscript(clf, tmp_path / "m.pt")
    # The sidecar names the architecture and the number of members, not a private class.
    assert info["network"] == "skeeg.models.eegnet.EEGNet" and info["n_members"] == 3
    scripted = torch.jit.load(str(tmp_path / "m.pt"))
    out = scripted(torch.from_numpy(X.astype(np.float32))).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)
    ort = pytest.importorskip("onnxruntime")
    to_onnx(clf, tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    out = session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)})[0]
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_a_file_declaring_more_members_than_its_tensors_is_refused(data, tmp_path):
    X, y = data
    clf = EEGNetClassifier(n_members=2, max_epochs=1, random_state=0, **SMALL).fit(X, y)
    clf.n_members = 3  # the file declares 3 members and holds the tensors of 2
    clf.save(tmp_path / "m.skeeg")
    with pytest.raises(ValueError, match=r"lacks the tensor module\.networks\.2\.|"
                                         r"do not match n_members=3"):
        skeeg.load(tmp_path / "m.skeeg")
    clf.n_members = 1000  # refused before 1000 networks are built
    clf.save(tmp_path / "m.skeeg")
    with pytest.raises(ValueError, match="larger than the weights it holds|n_members=1000"):
        skeeg.load(tmp_path / "m.skeeg")


def test_continued_fits_keep_the_members(data):
    X, y = data
    clf = EEGNetClassifier(n_members=2, max_epochs=2, random_state=0, **SMALL)
    clf.partial_fit(X, y)
    first = [copy.deepcopy(m) for m in members(clf)]
    clf.partial_fit(X, y)
    assert len(clf.history_) == 2 and "train_loss_m1" in clf.history_
    assert not states_equal(members(clf)[0], first[0])  # trained on, not rebuilt
    again = EEGNetClassifier(n_members=2, max_epochs=2, random_state=0, **SMALL)
    again.partial_fit(X, y).partial_fit(X, y)
    assert all(states_equal(a, b) for a, b in zip(members(clf), members(again)))
    clf.set_params(n_members=3)
    with pytest.raises(ValueError, match="n_members"):
        clf.partial_fit(X, y)
    warm = EEGNetClassifier(n_members=2, max_epochs=1, warm_start=True, random_state=0,
                            **SMALL).fit(X, y)
    warm.fit(X, y)
    assert len(warm.history_) == 2


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, "3", 1025, None])
def test_bad_n_members_is_refused(data, bad):
    X, y = data
    with pytest.raises(ValueError, match="n_members"):
        EEGNetClassifier(n_members=bad, max_epochs=1).fit(X, y)


def test_members_beyond_free_memory_are_refused_with_the_estimate(data, monkeypatch):
    X, y = data
    monkeypatch.setattr(skeeg._members, "free_memory", lambda device: 10 * 2**20)
    with pytest.raises(ValueError, match=r"n_members=40 .* GiB .* 0\.01 GiB free"):
        EEGNetClassifier(n_members=40, max_epochs=1, **SMALL).fit(X, y)
    EEGNetClassifier(n_members=1, max_epochs=1, **SMALL).fit(X, y)  # one network: not checked


def test_members_with_crops_mixup_weights_groups_and_embed(data):
    X, y = data
    clf = EEGNetClassifier(
        n_members=2, max_epochs=2, random_state=0, crop_length=96, class_weight="balanced",
        augmentation=[GaussianNoise(std=0.1), Mixup(alpha=0.4)], **SMALL,
    ).fit(X, y, groups=np.arange(len(y)) % 5)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(1), 1)
    whole = EEGNetClassifier(n_members=3, max_epochs=1, random_state=0, **SMALL).fit(X, y)
    single = EEGNetClassifier(max_epochs=1, random_state=0, **SMALL).fit(X, y)
    # embed: every member's features, side by side, member 0's first.
    features = embed(whole, X[:4])
    assert features.shape == (4, 3 * embed(single, X[:4]).shape[1])
    np.testing.assert_allclose(features[:, : features.shape[1] // 3], embed(single, X[:4]),
                               atol=1e-6)


def test_other_architectures_and_user_modules_stack():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((24, 3, 250)).astype(np.float32), np.arange(24) % 2
    clf = DeepConvNetClassifier(n_members=2, max_epochs=1, random_state=0).fit(X, y)
    assert len(members(clf)) == 2 and clf.predict(X).shape == (24,)

    class Tiny(torch.nn.Module):
        def __init__(self, n_channels, n_times, n_classes):
            super().__init__()
            self.classifier = torch.nn.Linear(n_channels * n_times, n_classes)

        def forward(self, x):
            return self.classifier(x.flatten(1))

    user = EEGClassifier(Tiny, n_members=3, max_epochs=2, random_state=0).fit(X, y)
    assert [type(m).__name__ for m in members(user)] == ["Tiny"] * 3
    assert user.predict_proba(X).shape == (24, 2)


def test_grid_search_over_n_members(data):
    X, y = data
    search = GridSearchCV(EEGNetClassifier(max_epochs=1, random_state=0, **SMALL),
                          {"n_members": [1, 2]}, cv=2).fit(X, y)
    assert search.best_estimator_.n_members in (1, 2)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize("model, n_channels", [
    ("EEGNet", 2), ("EEGNet", 8),  # temporal filters first, spatial filters first
])
def test_members_sharing_the_trials_compute_what_each_computes_alone(model, n_channels):
    from skeeg._fast import _TOGETHER, training_forward
    from skeeg._members import Members
    from skeeg.models import DeepConvNet, EEGNet

    torch.manual_seed(0)
    cls = {"EEGNet": EEGNet, "DeepConvNet": DeepConvNet}[model]
    kwargs = SMALL if cls is EEGNet else {}
    networks = [cls(n_channels, 256, 2, dropout=0.0, **kwargs) for _ in range(3)]
    together = Members(copy.deepcopy(networks)).train()
    alone = Members(copy.deepcopy(networks)).train()
    x = torch.randn(16, n_channels, 256)
    shared = together.run(x, training_forward, _TOGETHER[cls])
    each = alone.run(x, training_forward)
    torch.testing.assert_close(shared, each, rtol=1e-5, atol=1e-6)
    shared.square().sum().backward()
    each.square().sum().backward()
    for a, b in zip(together.parameters(), alone.parameters()):
        # Float rounding: sums over the batch in another order, relative to the tensor's scale.
        assert (a.grad - b.grad).abs().max() <= 1e-4 * b.grad.abs().max()
    for a, b in zip(together.buffers(), alone.buffers()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_user_modules_that_cannot_be_members_are_refused():
    import threading

    X, y = np.random.default_rng(0).standard_normal((24, 3, 32)).astype(np.float32), \
        np.arange(24) % 2
    shared = torch.nn.Linear(4, 2)

    class Shared(torch.nn.Module):
        def __init__(self, n_channels, n_times, n_classes):
            super().__init__()
            self.spatial = torch.nn.Conv1d(n_channels, 4, 1)
            self.classifier = shared  # one layer for every instance

        def forward(self, x):
            return self.classifier(self.spatial(x).var(dim=2).log())

    class FixedInit(torch.nn.Module):
        def __init__(self, n_channels, n_times, n_classes):
            super().__init__()
            generator = torch.Generator().manual_seed(0)
            self.w = torch.nn.Parameter(torch.randn(n_classes, n_channels, generator=generator))

        def forward(self, x):
            return x.var(2).log() @ self.w.T

    class Locked(torch.nn.Module):  # cannot be deep-copied: fine as a member
        def __init__(self, n_channels, n_times, n_classes):
            super().__init__()
            self.classifier = torch.nn.Linear(n_channels * n_times, n_classes)
            self.lock = threading.Lock()

        def forward(self, x):
            return self.classifier(x.flatten(1))

    with pytest.raises(ValueError, match="share a layer"):
        EEGClassifier(Shared, n_members=2, max_epochs=1).fit(X, y)
    class Zeros(torch.nn.Module):  # constant weights: every member the same network
        def __init__(self, n_channels, n_times, n_classes):
            super().__init__()
            self.classifier = torch.nn.Linear(n_channels, n_classes)
            torch.nn.init.zeros_(self.classifier.weight)
            torch.nn.init.zeros_(self.classifier.bias)

        def forward(self, x):
            return self.classifier(x.var(2).log())

    for module in (FixedInit, Zeros):
        with pytest.raises(ValueError, match="start from the same weights"):
            EEGClassifier(module, n_members=2, max_epochs=1).fit(X, y)
        EEGClassifier(module, n_members=1, max_epochs=1).fit(X, y)
    EEGClassifier(Locked, n_members=2, max_epochs=1).fit(X, y)
