"""The fast paths compute the same function as the plain layers.

EEGNet, DeepConvNet and ShallowFBCSPNet train through CPU kernels attached
to their classes (``skeeg._fast.training_forward``) and predict through a
folded copy (``skeeg._fast.folded_forward``); the estimators validate plain
float32 arrays through a shortcut. Each is compared here with the plain
layers (``model.features`` then ``model.classifier``, which is all the
module's own ``forward`` runs) and with the course networks written as
``nn.Sequential``: outputs, gradients, batch-norm running statistics and a
few training steps, in training and evaluation mode, and the fallbacks
where the fast paths do not apply.
"""

import ast
import copy
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from benchmarks.speed import course_deepconvnet, course_eegnet
from skeeg import DeepConvNetClassifier, EEGNetClassifier, ShallowFBCSPNetClassifier
from skeeg import _fast
from skeeg._fast import _applies, _kernels, _spatial_first, folded_forward, training_forward
from skeeg._fast.eegnet import _SpatialBlock
from skeeg._fast.folded import _FOLDED
from skeeg._fast.shallow import FoldedShallow, shallow_fusable
from skeeg import models as models_package
from skeeg._validation import _plain_trials
from skeeg.models import DeepConvNet, EEGNet, ShallowFBCSPNet

CONFIGS = {
    "eegnet": (EEGNet, {}),
    "eegnet_depthwise_relu": (EEGNet, dict(separable="depthwise", activation="relu")),
    "eegnet_leaky_odd": (
        EEGNet,
        dict(activation="leaky_relu", kernel_length=8, separable_kernel_length=4, pool_length=3),
    ),
    "eegnet_max_pool": (EEGNet, {}),  # pooling swapped for max pooling below
    "deepconvnet": (DeepConvNet, dict(n_filters=(5, 6, 7))),
    "deepconvnet_bias_relu": (
        DeepConvNet,
        dict(n_filters=(5, 6), bias=True, activation="relu", kernel_length=4, pool_length=3),
    ),
    "shallow": (
        ShallowFBCSPNet,
        dict(temporal_filters=5, spatial_filters=6, kernel_length=9, pool_length=15,
             pool_stride=5),
    ),
}


def build(name, n_channels=3, n_times=150, n_classes=3, dtype=torch.float64, **kwargs):
    model_class, defaults = CONFIGS[name]
    model = model_class(n_channels, n_times, n_classes, **{**defaults, **kwargs})
    if name == "eegnet_max_pool":
        model.features.spatial.pool = nn.MaxPool2d((1, 4))
    with torch.no_grad():  # statistics and affine maps far from the identity
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.5)
                module.running_mean.normal_(0, 0.5)
                module.running_var.uniform_(0.5, 2)
    return model.to(dtype)


def plain(model, x):
    return model.classifier(model.features(x.unsqueeze(1)))


def fast(model, x):
    return training_forward(model, x)


def trials(n=6, n_channels=3, n_times=150, dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    # Electrode offsets: batch norm's statistics must not lose them.
    offsets = 3 * torch.randn(1, n_channels, 1, generator=generator, dtype=dtype)
    return torch.randn(n, n_channels, n_times, generator=generator, dtype=dtype) + offsets


def run(model, x, forward, grad_out, trials_need_grad=True):
    x = x.clone().requires_grad_(trials_need_grad)
    out = forward(model, x)
    out.backward(grad_out)
    grads = {name: p.grad for name, p in model.named_parameters()}
    return out.detach(), x.grad, grads, copy.deepcopy(model.state_dict())


def assert_same(a, b, rtol, scale=None):
    """Close relative to the largest magnitude (of ``scale`` when given)."""
    scale = (b if scale is None else scale).abs().max().clamp_min(1e-12)
    assert (a - b).abs().max() <= rtol * scale, ((a - b).abs().max() / scale).item()


def compare_paths(model, x, rtol, trials_need_grad=True):
    fused, reference = copy.deepcopy(model), copy.deepcopy(model)
    grad_out = torch.randn(len(x), model.n_outputs, dtype=x.dtype)
    out_a, x_grad_a, grads_a, state_a = run(fused, x, fast, grad_out, trials_need_grad)
    out_b, x_grad_b, grads_b, state_b = run(reference, x, plain, grad_out, trials_need_grad)
    assert_same(out_a, out_b, rtol)
    if trials_need_grad:
        assert_same(x_grad_a, x_grad_b, rtol)
    largest = torch.stack([g.abs().max() for g in grads_b.values()]).max()
    for name, grad in grads_a.items():  # gradients that vanish in theory are rounding noise
        assert_same(grad, grads_b[name], rtol, scale=largest), name
    for key, value in state_a.items():
        assert torch.allclose(value.double(), state_b[key].double(), rtol=rtol, atol=rtol), key


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("training", [True, False])
def test_fused_forward_matches_plain_layers(name, training):
    torch.manual_seed(0)
    model = build(name, dropout=0.0).train(training)
    compare_paths(model, trials(), rtol=1e-10)


@pytest.mark.parametrize("name", ["eegnet", "deepconvnet", "shallow"])
def test_fused_forward_float32(name):
    torch.manual_seed(0)
    model = build(name, dtype=torch.float32, dropout=0.0).train()
    compare_paths(model, trials(32, dtype=torch.float32), rtol=2e-4)


EEGNET_CONFIGS = [name for name in CONFIGS if name.startswith("eegnet")]


@pytest.mark.parametrize("name", EEGNET_CONFIGS)
@pytest.mark.parametrize("training", [True, False])
def test_spatial_first_block_matches_plain_layers(name, training):
    # Trials as data (no gradient) on enough electrodes: block 1 filters in space first,
    # and its first batch norm's statistics come from lagged sums of the trials.
    torch.manual_seed(0)
    model = build(name, n_channels=6, dropout=0.0).train(training)
    x = trials(n_channels=6)
    assert _spatial_first.spatial_first_applies(x, model.features.temporal, model.features.spatial)
    compare_paths(model, x, rtol=1e-10, trials_need_grad=False)


def test_spatial_first_block_float32_with_dc_offsets():
    # Amplifier counts: a large offset per electrode, small signals. The batch-norm
    # variance is a difference of large sums, kept in float64.
    torch.manual_seed(0)
    model = build("eegnet", n_channels=16, n_times=300, dtype=torch.float32, dropout=0.0)
    x = trials(32, n_channels=16, n_times=300, dtype=torch.float32)
    x = 20 * x + 4000 + 300 * torch.randn(1, 16, 1)
    compare_paths(model.train(), x, rtol=2e-4, trials_need_grad=False)


def test_spatial_first_block_only_where_it_applies():
    model = build("eegnet", n_channels=6)
    temporal, spatial = model.features.temporal, model.features.spatial
    x = trials(n_channels=6)
    assert _spatial_first.spatial_first_applies(x, temporal, spatial)
    assert not _spatial_first.spatial_first_applies(x.clone().requires_grad_(), temporal, spatial)
    few = build("eegnet", n_channels=_spatial_first.SPATIAL_FIRST_MIN_CHANNELS - 1)
    assert not _spatial_first.spatial_first_applies(
        trials(n_channels=_spatial_first.SPATIAL_FIRST_MIN_CHANNELS - 1), few.features.temporal,
        few.features.spatial)
    model.features.temporal.batch_norm.eval()  # mixed modes: the plain layers
    assert not _spatial_first.spatial_first_applies(x, temporal, spatial)


def test_lagged_sums_match_a_direct_computation():
    x = trials(5, n_channels=4, n_times=37)
    for kernel_length, padding in ((9, 4), (8, 4), (5, 0)):
        length = 37 + 2 * padding - kernel_length + 1
        first, second = _spatial_first._lagged_sums(x, kernel_length, padding, length, block=7)
        patches = nn.functional.pad(x, (padding, padding)).unfold(-1, kernel_length, 1)
        patches = patches.reshape(-1, kernel_length)  # every window of every electrode
        torch.testing.assert_close(first, patches.sum(0), rtol=1e-12, atol=1e-9)
        torch.testing.assert_close(second, patches.T @ patches, rtol=1e-12, atol=1e-9)


def test_momentum_none_and_mixed_modes():
    torch.manual_seed(0)
    model = build("eegnet", dropout=0.0).train()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = None  # cumulative averages
    compare_paths(model, trials(), rtol=1e-10)
    model.features.temporal.batch_norm.eval()  # the fused block needs both in one mode
    compare_paths(model, trials(), rtol=1e-10)


def recorded_masks(monkeypatch):
    """Record the dropout masks the fused code draws."""
    masks = []
    draw = _kernels.dropout_mask

    def recording(shape, p, value, like, channels_last=False):
        mask = draw(shape, p, value, like, channels_last)
        masks.append((mask, p, value))
        return mask

    monkeypatch.setattr(_kernels, "dropout_mask", recording)
    return masks


class Replay(nn.Module):
    """Dropout that applies masks recorded from the fused code, in order."""

    def __init__(self, masks):
        super().__init__()
        self.masks = masks

    def forward(self, x):
        mask, p, value = self.masks.pop(0)
        return x * (mask / value).unsqueeze(2)  # keep / (1 - p), as nn.Dropout


@pytest.mark.parametrize("name", ["eegnet", "deepconvnet"])
def test_dropout_masks_are_applied_as_nn_dropout(name, monkeypatch):
    torch.manual_seed(0)
    model = build(name).train()
    masks = recorded_masks(monkeypatch)
    x = trials()
    grad_out = torch.randn(len(x), model.n_outputs, dtype=x.dtype)
    out_a, x_grad_a, grads_a, state_a = run(copy.deepcopy(model), x, fast, grad_out)
    for module in model.modules():
        for child_name, child in module.named_children():
            if isinstance(child, nn.Dropout):
                setattr(module, child_name, Replay(masks))
    out_b, x_grad_b, grads_b, state_b = run(model, x, plain, grad_out)
    assert not masks
    assert_same(out_a, out_b, 1e-10)
    assert_same(x_grad_a, x_grad_b, 1e-10)


@pytest.mark.parametrize("p, value", [(0.25, 0.25), (0.5, 1.0), (0.3, 1.0)])
def test_dropout_mask_values_and_rate(p, value):
    torch.manual_seed(0)
    mask = _kernels.dropout_mask((40, 50, 60), p, value, torch.empty(0))
    kept = mask != 0
    assert torch.equal(mask[kept], torch.full_like(mask[kept], value / (1 - p)))
    rate = 1 - kept.double().mean().item()
    assert abs(rate - p) < 4 * (p * (1 - p) / mask.numel()) ** 0.5
    torch.manual_seed(0)
    assert torch.equal(mask, _kernels.dropout_mask((40, 50, 60), p, value, torch.empty(0)))


def test_spatial_block_gradcheck():
    torch.manual_seed(0)
    n, maps, channels, length, depth = 3, 2, 3, 11, 2
    double = dict(dtype=torch.float64, requires_grad=True)
    t = (torch.randn(n, maps, channels, length, dtype=torch.float64) * 2 + 1).requires_grad_()
    inputs = (
        t,
        (torch.rand(maps, dtype=torch.float64) + 0.5).requires_grad_(),
        torch.randn(maps, **double),
        torch.randn(maps, depth, channels, **double),
        (torch.rand(maps, depth, dtype=torch.float64) + 0.5).requires_grad_(),
        torch.randn(maps, depth, **double),
    )
    for activation, pool in [(nn.ELU(), nn.AvgPool2d((1, 3))), (nn.ReLU(), nn.MaxPool2d((1, 2)))]:
        window = _applies.pool_window(pool)
        mask = (torch.rand(n, maps * depth, length // window) > 0.3).double() * 1.5

        def block(*args):
            return _SpatialBlock.apply(*args, 1e-5, 1e-3, activation, pool, mask, False)[0]

        assert torch.autograd.gradcheck(block, inputs)


def test_one_channel_conv_gradcheck():
    x = torch.randn(3, 1, 2, 20, dtype=torch.float64, requires_grad=True)
    for kernel, padding in [(5, (0, 2)), (6, (0, 3)), (4, (0, 0))]:
        weight = torch.randn(4, 1, 1, kernel, dtype=torch.float64, requires_grad=True)
        def conv(x, weight, padding=padding):
            return _kernels._OneChannelConv.apply(x, weight, padding)

        assert torch.autograd.gradcheck(conv, (x, weight))


def copy_reference_weights(reference, model):
    """Load a course ``nn.Sequential``'s weights into skeeg's module, in order."""
    tensors = list(reference.state_dict().values())
    state = model.state_dict()
    assert len(tensors) == len(state)
    model.load_state_dict({key: value.view_as(state[key]) for key, value in zip(state, tensors)})


@pytest.mark.parametrize(
    "name, reference_class, model_class",
    [("eegnet", course_eegnet, EEGNet), ("deepconvnet", course_deepconvnet, DeepConvNet)],
)
def test_same_function_as_the_course_network(name, reference_class, model_class, monkeypatch):
    """Identical weights: same outputs, gradients and loss curve as the course network."""
    torch.manual_seed(0)
    reference = reference_class(n_times=300)
    model = model_class(2, 300, 2)
    copy_reference_weights(reference, model)
    masks = recorded_masks(monkeypatch)
    for index, layer in enumerate(reference):
        if isinstance(layer, nn.Dropout):
            reference[index] = Replay(masks)
    generator = torch.Generator().manual_seed(1)
    X = torch.randn(64, 2, 300, generator=generator)
    y = torch.randint(0, 2, (64,), generator=generator)
    optimizers = [torch.optim.Adam(m.parameters(), lr=1e-3) for m in (model, reference)]
    criterion = nn.CrossEntropyLoss()
    forwards = (lambda v: fast(model, v), lambda v: reference(v.unsqueeze(1)))
    curves = ([], [])
    for step in range(6):
        batch = slice(16 * (step % 4), 16 * (step % 4) + 16)
        grads = []
        for module, optimizer, forward, curve in zip((model, reference), optimizers, forwards,
                                                     curves):
            optimizer.zero_grad()
            loss = criterion(forward(X[batch]), y[batch])
            loss.backward()
            curve.append(loss.item())
            grads.append(torch.cat([p.grad.flatten() for p in module.parameters()]))
            optimizer.step()
        assert not masks
        if step == 0:  # identical weights: the same gradients to float32 precision
            assert_same(grads[0], grads[1], 1e-5)
    # Later gradients may differ discretely: once the weights differ by rounding, two
    # near-equal values of a max-pooling window can swap, as between thread counts.
    np.testing.assert_allclose(curves[0], curves[1], rtol=1e-4)
    # EEGNet's temporal batch norm has an exactly zero gradient (each spatial map is
    # normalised again by the next batch norm), so Adam turns its rounding noise into
    # steps of about lr, different in any two implementations; the next batch norm's
    # running statistics follow them. The function does not depend on them.
    redundant = ("features.temporal.batch_norm.weight", "features.temporal.batch_norm.bias",
                 "features.spatial.batch_norm.running_mean",
                 "features.spatial.batch_norm.running_var")
    for key, a, b in zip(model.state_dict(), model.state_dict().values(),
                         reference.state_dict().values()):
        if key not in redundant:
            assert torch.allclose(a.flatten(), b.flatten().to(a.dtype), rtol=1e-3, atol=3e-3), key
    with torch.no_grad():
        assert_same(fast(model, X), reference(X.unsqueeze(1)), 2e-3)


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("n_channels", [3, 6])  # EEGNet's stage 1 factored from 4 electrodes
def test_folded_matches_eval_mode(name, n_channels):
    torch.manual_seed(0)
    model = build(name, n_channels=n_channels, n_times=151).train()  # folding uses eval mode
    x = trials(n_channels=n_channels, n_times=151)
    folded, device = folded_forward(model)
    assert folded is not None and device.type == "cpu"
    model.eval()
    if name == "shallow":
        assert isinstance(folded, FoldedShallow)
    elif name.startswith("eegnet"):
        factored = isinstance(folded.stages[0][0], tuple)
        assert factored == (n_channels >= _spatial_first.SPATIAL_FIRST_MIN_CHANNELS)
    with torch.no_grad():
        assert_same(folded(x), plain(model, x), 1e-10)


def test_one_value_per_channel_raises_in_training():
    model = DeepConvNet(2, 5, 2, n_filters=(4,), pool_length=1).train()
    x = torch.randn(1, 2, 5)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel") as fused:
        fast(model, x)
    with pytest.raises(ValueError) as reference:
        plain(model, x)
    assert str(fused.value) == str(reference.value)


def test_fallbacks_run_the_plain_layers():
    torch.manual_seed(0)
    model = build("eegnet", dropout=0.0).train()
    x = trials()
    assert _applies.fusable(model, x)
    assert not _applies.fusable(model, x.to(torch.float16))
    seen = []
    handle = model.features.spatial.activation.register_forward_hook(
        lambda module, inputs, output: seen.append(output.shape)
    )
    assert not _applies.fusable(model, x)
    fast(model, x)
    assert seen  # the hook ran: the plain layers did the work
    handle.remove()
    model.features.spatial.activation = nn.Tanh()  # not reproduced by the fused code
    assert not _applies.fusable(model, x)
    compare_paths(model, x, rtol=1e-12)


@pytest.mark.parametrize("model_class", [EEGNet, DeepConvNet])
def test_torch_export_of_a_bare_model(model_class):
    """torch.export traces the plain layers (the fused code has custom autograd
    functions and out= kernels, which do not export) and gives the fast path's
    output, to float32 rounding."""
    torch.manual_seed(0)
    model = model_class(3, 150, 3).eval()
    x = trials(4, dtype=torch.float32)
    program = torch.export.export(model, (x,))
    with torch.no_grad():
        assert_same(program.module()(x), fast(model, x), 1e-5)


# ----------------------------------------------------------------------
# The estimators' prediction path
@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3, 128)).astype(np.float32)
    y = rng.integers(0, 2, 60)
    clf = EEGNetClassifier(max_epochs=2, validation_fraction=0, early_stopping=False,
                           random_state=0).fit(X, y)
    return clf, X


def network_input(clf, X):
    """The trials as the network sees them: standardised as learned in fit."""
    X = (np.asarray(X, dtype=np.float64) - clf.channel_mean_[:, None]) / clf.scale_
    return torch.as_tensor(X, dtype=torch.float32)


def plain_proba(clf, X):
    module = clf.net_.module_.eval()
    with torch.no_grad():
        logits = plain(module, network_input(clf, X)).double()
    return torch.softmax(logits, 1).numpy()


def test_predictions_match_the_plain_layers(fitted):
    clf, X = fitted
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(1), 1)
    np.testing.assert_allclose(proba, plain_proba(clf, X), atol=1e-5)
    np.testing.assert_allclose(clf.predict_proba(X[:1]), proba[:1], atol=1e-6)


def test_folded_copy_follows_weight_changes(fitted):
    clf, X = fitted
    clf = copy.deepcopy(clf)
    module = clf.net_.module_
    before = clf.predict_proba(X)
    with torch.no_grad():
        module.classifier.weight.mul_(3)  # in place
    np.testing.assert_allclose(clf.predict_proba(X), plain_proba(clf, X), atol=1e-5)
    running_var = module.features.separable.batch_norm.running_var
    running_var.data = torch.full_like(running_var, 4.0)  # data moved, version unchanged
    np.testing.assert_allclose(clf.predict_proba(X), plain_proba(clf, X), atol=1e-5)
    module.classifier = nn.Linear(module.classifier.in_features, 2)  # replaced layer
    np.testing.assert_allclose(clf.predict_proba(X), plain_proba(clf, X), atol=1e-5)
    assert not np.allclose(clf.predict_proba(X), before)


def test_threads_are_restored(fitted):
    clf, X = fitted
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        clf.predict_proba(X[:1])
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)


def test_pickle_leaves_out_the_folded_copy(fitted):
    clf, X = fitted
    clf = copy.deepcopy(clf)
    size = len(pickle.dumps(clf))
    proba = clf.predict_proba(X)
    assert clf.net_.module_ in _FOLDED
    assert len(pickle.dumps(clf)) == size
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(restored.predict_proba(X), proba, atol=1e-7)


def test_hooks_turn_folding_off(fitted):
    clf, X = fitted
    clf = copy.deepcopy(clf)
    calls = []
    clf.net_.module_.classifier.register_forward_hook(lambda *args: calls.append(1))
    clf.predict_proba(X)
    assert calls


@pytest.mark.parametrize(
    "X, match",
    [
        (np.full((2, 3, 128), np.nan, dtype=np.float32), "NaN"),
        (np.full((2, 3, 128), np.inf, dtype=np.float32), "infinity"),
        (np.zeros((2, 3, 100), dtype=np.float32), "fitted on 3 channels x 128"),
        (np.zeros((2, 128), dtype=np.float32), "is read as one channel"),
        (np.zeros((0, 3, 100), dtype=np.float32), "fitted on 3 channels x 128"),
    ],
)
def test_validation_messages_unchanged(fitted, X, match):
    clf, _ = fitted
    with pytest.raises(ValueError, match=match):
        clf.predict_proba(X)


def test_validation_shortcut_gives_the_same_input(fitted):
    clf, X = fitted
    assert _plain_trials(clf, X) is not None
    assert _plain_trials(clf, X.astype(np.float64)) is None
    assert _plain_trials(clf, np.asfortranarray(X)) is None
    np.testing.assert_array_equal(
        clf.predict_proba(X), clf.predict_proba(X.astype(np.float64).tolist())
    )


def test_deepconvnet_estimator_predicts_like_its_layers():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 2, 200)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    clf = DeepConvNetClassifier(n_filters=(6, 8), max_epochs=2, validation_fraction=0,
                                early_stopping=False, random_state=0).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), plain_proba(clf, X), atol=1e-5)


def test_higher_order_gradients_raise_rather_than_mislead():
    model = build("eegnet").train()
    x = trials().requires_grad_()
    (grad,) = torch.autograd.grad(fast(model, x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|double backward"):
        grad.sum().backward()
    for forward in (plain, lambda m, v: m(v)):  # the plain layers, and the module, support it
        (grad,) = torch.autograd.grad(forward(model, x).sum(), x, create_graph=True)
        grad.sum().backward()


def test_shallow_composes_its_convolutions_only_where_it_may():
    model = build("shallow", dtype=torch.float32)
    x = trials(dtype=torch.float32)
    assert shallow_fusable(model, x)
    assert not shallow_fusable(model, x.to(torch.float16))
    handle = model.features.spatial_conv.register_forward_hook(lambda *args: None)
    assert not shallow_fusable(model, x)  # a hook on a replaced layer must run
    handle.remove()
    model.features.temporal_conv.padding = (0, 2)
    assert not shallow_fusable(model, x)
    model.features.temporal_conv.padding = (0, 0)
    with torch.no_grad():  # traced (as exported): the plain layers
        traced = torch.jit.trace(model.eval(), (x,), check_trace=False)
    assert str(traced.inlined_graph).count("aten::_convolution(") == 2


# ----------------------------------------------------------------------
# The registry: kernels attach by exact model class, from outside the models
def refusing(*args):
    raise AssertionError("a registered kernel ran")


@pytest.fixture
def refuse_kernels(monkeypatch):
    """Every registered kernel raises if it runs."""
    for model_class in (EEGNet, DeepConvNet, ShallowFBCSPNet):
        monkeypatch.setitem(_fast._REGISTRY, model_class,
                            _fast._Kernels(refusing, refusing, lambda module, x: True))


@pytest.mark.parametrize("name", ["eegnet", "deepconvnet", "shallow"])
def test_module_forward_is_its_plain_layers(name, refuse_kernels):
    model = build(name).eval()
    x = trials()
    with torch.no_grad():
        assert torch.equal(model(x), plain(model, x))
    with pytest.raises(AssertionError, match="a registered kernel ran"):
        fast(model, x)


def test_models_do_not_import_the_kernels():
    """The architecture files import nothing of skeeg outside skeeg.models but the
    parameter constraints (the kernels import the models, not the reverse)."""
    models = Path(models_package.__file__).parent
    for path in sorted(models.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
                # The one exception: the constraints every parameter table is made of.
                assert node.level <= 1 or node.module == "_constraints", (
                    f"{path.name} imports from outside skeeg.models")
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            assert not any(name.startswith("skeeg") or "_fast" in name for name in names), (
                f"{path.name} imports {names}")


class Doubled(EEGNet):
    """A subclass that overrides forward: its own function, not EEGNet's."""

    def forward(self, x):
        return 2 * super().forward(x)


class Renamed(EEGNet):
    """A subclass that keeps EEGNet's forward."""


@pytest.mark.parametrize("subclass", [Doubled, Renamed])
def test_subclasses_run_their_own_forward(subclass, refuse_kernels):
    torch.manual_seed(0)
    model = subclass(3, 150, 3).eval()
    x = trials(dtype=torch.float32)
    with torch.no_grad():
        assert torch.equal(fast(model, x), model(x))  # no kernel: it would raise
    assert folded_forward(model) == (None, torch.device("cpu"))
    if subclass is Doubled:
        with torch.no_grad():
            assert torch.equal(model(x), 2 * plain(model, x))


def test_unregistered_modules_run_themselves():
    module = nn.Sequential(nn.Flatten(), nn.Linear(6, 2))
    x = torch.randn(4, 2, 3)
    assert torch.equal(fast(module, x), module(x))
    assert folded_forward(module) == (None, torch.device("cpu"))


def test_register_attaches_and_refuses_bad_kernels(monkeypatch):
    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(3, 2)

        def forward(self, x):
            return self.linear(x)

    module, x = Tiny(), torch.randn(4, 3)
    monkeypatch.setitem(_fast._REGISTRY, Tiny, None)  # removed again after the test
    _fast.register(Tiny, forward=lambda m, v: m.linear(v) + 1, folded=lambda m: m.linear,
                   applies=lambda m, v: v.shape[0] > 1)
    assert torch.equal(fast(module, x), module(x) + 1)
    assert torch.equal(fast(module, x[:1]), module(x[:1]))  # where it does not apply
    assert folded_forward(module) == (module.linear, torch.device("cpu"))
    with pytest.raises(TypeError, match="torch.nn.Module class"):
        _fast.register(module, forward=refusing)
    with pytest.raises(TypeError, match="forward must be callable"):
        _fast.register(Tiny, forward="fast")
    with pytest.raises(TypeError, match="applies must be callable"):
        _fast.register(Tiny, forward=refusing, applies=None)
    with pytest.raises(ValueError, match="needs forward, folded or both"):
        _fast.register(Tiny)


def test_the_estimators_train_and_validate_through_the_registry(monkeypatch):
    """skeeg's net runs its batches through training_forward, in training and validation."""
    calls = []
    kernels = _fast._REGISTRY[EEGNet]

    def counting(model, x):
        calls.append(model.training)
        return kernels.forward(model, x)

    monkeypatch.setitem(_fast._REGISTRY, EEGNet, kernels._replace(forward=counting))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3, 128)).astype(np.float32)
    y = np.repeat([0, 1], 20)
    EEGNetClassifier(max_epochs=1, batch_size=16, validation_fraction=0.25,
                     random_state=0).fit(X, y)
    assert True in calls and False in calls


def test_shallow_estimator_predicts_through_its_folded_copy():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((40, 4, 200)).astype(np.float32)
    y = rng.integers(0, 2, 40)
    clf = ShallowFBCSPNetClassifier(temporal_filters=5, spatial_filters=6, kernel_length=9,
                                    pool_length=15, pool_stride=5, max_epochs=2,
                                    validation_fraction=0, early_stopping=False,
                                    random_state=0).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), plain_proba(clf, X), atol=1e-5)
    assert isinstance(_FOLDED[clf.net_.module_][2], FoldedShallow)


def test_shallow_fold_only_where_it_reproduces_the_layers():
    model = build("shallow", dtype=torch.float32)
    assert isinstance(folded_forward(model)[0], FoldedShallow)
    model.features.log = nn.Identity()  # not a layer the fold knows
    assert folded_forward(model)[0] is None
