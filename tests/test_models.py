import doctest
import re

import pytest
import torch
from torch import nn

from skeeg.models import (
    CNN,
    DNN,
    DeepConvNet,
    EEGNet,
    conv_output_length,
    get_activation,
    initialize_weights,
    minimum_input_length,
    pool_output_length,
)
from skeeg.models import _checks, _init, _layers, cnn, deepconvnet, dnn, eegnet

# Small settings so that the tests stay fast; the defaults are covered by the
# parameter counts.
SMALL = {
    "eegnet_full": (EEGNet, dict(temporal_filters=4, separable_filters=8)),
    "eegnet_depthwise": (
        EEGNet,
        dict(separable="depthwise", temporal_filters=4, separable_filters=8),
    ),
    "deepconvnet": (DeepConvNet, dict(n_filters=(4, 6, 8, 10))),
    "dnn": (DNN, dict(hidden_sizes=(16, 8))),
    "cnn": (CNN, dict(conv_filters=(3, 5), hidden_size=8)),
}


def n_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def build_small(name, n_channels=3, n_times=200, n_classes=3, **kwargs):
    model_class, defaults = SMALL[name]
    return model_class(n_channels, n_times, n_classes, **{**defaults, **kwargs})


@pytest.mark.parametrize(
    "model_class, n_channels, n_times, kwargs, expected",
    [
        (EEGNet, 2, 750, {}, 17_874),
        (EEGNet, 2, 750, dict(separable="depthwise"), 4_018),
        (DeepConvNet, 2, 750, {}, 150_577),
        (DeepConvNet, 2, 750, dict(bias=True), 150_977),
        (DNN, 32, 99, {}, 18_847_501),
        (CNN, 32, 99, {}, 4_021_777),
    ],
)
def test_parameter_counts(model_class, n_channels, n_times, kwargs, expected):
    model = model_class(n_channels, n_times, 2, **kwargs)
    assert n_parameters(model) == expected
    assert n_parameters(model) == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("separable", ["full", "depthwise"])
@pytest.mark.parametrize("f1, d, f2", [(16, 2, 32), (8, 2, 16), (4, 3, 5)])
def test_eegnet_count_follows_widths(separable, f1, d, f2):
    n_channels, n_classes = 5, 3
    model = EEGNet(
        n_channels,
        750,
        n_classes,
        separable=separable,
        temporal_filters=f1,
        depth_multiplier=d,
        separable_filters=f2,
    )
    if separable == "full":
        block2 = f1 * d * f2 * 15
    else:
        block2 = f1 * d * 15 + f1 * d * f2
    expected = (
        f1 * 51 + 2 * f1  # temporal conv, batch norm
        + f1 * d * n_channels + 2 * f1 * d  # spatial conv, batch norm
        + block2 + 2 * f2
        + (f2 * 23 + 1) * n_classes  # 750 // 4 // 8 == 23 samples left
    )
    assert n_parameters(model) == expected


def test_deepconvnet_count_follows_widths():
    model = DeepConvNet(2, 750, 2, n_filters=(10, 20))
    # 750 -> 746 -> 373 -> 369 -> 184 samples
    expected = 10 * 5 + 10 * 10 * 2 + 2 * 10 + 20 * 10 * 5 + 2 * 20 + (20 * 184 + 1) * 2
    assert n_parameters(model) == expected


def test_dnn_and_cnn_counts_follow_widths():
    dnn_model = DNN(32, 99, 4, hidden_sizes=(10,))
    assert n_parameters(dnn_model) == 32 * 99 * 10 + 10 + (10 + 1) * 4
    cnn_model = CNN(32, 99, 2, conv_filters=(4,), hidden_size=8)
    expected = 4 * 9 + 4 + (4 * 16 * 49 + 1) * 8 + 8 + 1
    assert n_parameters(cnn_model) == expected


@pytest.mark.parametrize(
    "n_channels, n_times, n_classes", [(2, 750, 2), (3, 257, 4), (1, 101, 5)]
)
@pytest.mark.parametrize(
    "kernel_length, separable_kernel_length", [(51, 15), (64, 16), (8, 3)]
)
@pytest.mark.parametrize("separable", ["full", "depthwise"])
def test_eegnet_output_shape(
    n_channels, n_times, n_classes, kernel_length, separable_kernel_length, separable
):
    model = EEGNet(
        n_channels,
        n_times,
        n_classes,
        separable=separable,
        temporal_filters=4,
        separable_filters=8,
        kernel_length=kernel_length,
        separable_kernel_length=separable_kernel_length,
    ).eval()
    out = model(torch.randn(3, n_channels, n_times))
    assert out.shape == (3, n_classes)
    assert model.n_outputs == n_classes


@pytest.mark.parametrize(
    "n_channels, n_times, n_classes", [(2, 750, 2), (3, 301, 4), (1, 155, 3)]
)
@pytest.mark.parametrize("kernel_length, pool_length", [(5, 2), (4, 2), (10, 3)])
def test_deepconvnet_output_shape(
    n_channels, n_times, n_classes, kernel_length, pool_length
):
    model = DeepConvNet(
        n_channels,
        n_times,
        n_classes,
        n_filters=(4, 6, 8),
        kernel_length=kernel_length,
        pool_length=pool_length,
    ).eval()
    out = model(torch.randn(3, n_channels, n_times))
    assert out.shape == (3, n_classes)
    assert model.n_outputs == n_classes


@pytest.mark.parametrize("model_class", [DNN, CNN])
@pytest.mark.parametrize("n_classes, n_outputs", [(2, 1), (3, 3), (7, 7)])
@pytest.mark.parametrize("n_channels, n_times", [(32, 99), (5, 17), (4, 10)])
def test_dnn_cnn_outputs(model_class, n_classes, n_outputs, n_channels, n_times):
    name = "dnn" if model_class is DNN else "cnn"
    model = build_small(name, n_channels, n_times, n_classes).eval()
    assert model.n_outputs == n_outputs
    assert model(torch.randn(3, n_channels, n_times)).shape == (3, n_outputs)


@pytest.mark.parametrize("kernel_size", [2, 3, 4, 5])
def test_cnn_output_shape_with_kernel_sizes(kernel_size):
    model = CNN(7, 31, 3, conv_filters=(2, 3), kernel_size=kernel_size, hidden_size=4)
    assert model.eval()(torch.randn(2, 7, 31)).shape == (2, 3)


def test_length_helpers():
    assert conv_output_length(100, 51, 25) == 100  # odd kernel keeps the length
    assert conv_output_length(100, 64, 32) == 101  # even kernel adds one
    assert conv_output_length(3, 5) == 0
    assert conv_output_length(0, 4, 2) == 0  # nothing to pad
    assert pool_output_length(23, 4) == 5
    assert pool_output_length(0, 4) == 0
    assert minimum_input_length(lambda n: pool_output_length(n, 1000)) == 1000
    assert minimum_input_length(lambda n: conv_output_length(n, 1)) == 1


def _minimum_from_message(error, name):
    match = re.search(rf"it needs at least {name}=(\d+)", str(error))
    assert match, str(error)
    return int(match.group(1))


@pytest.mark.parametrize(
    "model_class, kwargs, expected",
    [
        (EEGNet, {}, 32),
        (EEGNet, dict(separable="depthwise"), 32),
        (EEGNet, dict(kernel_length=64, separable_kernel_length=16), 27),
        (EEGNet, dict(kernel_length=8, pool_length=3, separable_pool_length=5), 14),
        (DeepConvNet, {}, 76),
        (DeepConvNet, dict(kernel_length=4, pool_length=3, n_filters=(4, 6)), 21),
        (CNN, {}, 2),
        (CNN, dict(conv_filters=(2,), kernel_size=2, pool_size=3), 2),
        (CNN, dict(kernel_size=5, pool_size=4), 4),
    ],
)
def test_minimum_n_times(model_class, kwargs, expected):
    n_channels = 8 if model_class is CNN else 2
    with pytest.raises(ValueError, match="n_times=1 is too short") as excinfo:
        model_class(n_channels, 1, 3, **kwargs)
    minimum = _minimum_from_message(excinfo.value, "n_times")
    assert minimum == expected

    model = model_class(n_channels, minimum, 3, **kwargs).eval()
    assert model(torch.randn(2, n_channels, minimum)).shape == (2, 3)
    with pytest.raises(ValueError, match=f"at least n_times={minimum}"):
        model_class(n_channels, minimum - 1, 3, **kwargs)
    # The arithmetic agrees with PyTorch: one sample less cannot pass the
    # feature extractor at all.
    with pytest.raises(RuntimeError):
        model.features(torch.randn(2, n_channels, minimum - 1).unsqueeze(1))


def test_minimum_n_channels_cnn():
    with pytest.raises(ValueError, match="n_channels=2 is too short") as excinfo:
        CNN(2, 99, 2, pool_size=3)
    minimum = _minimum_from_message(excinfo.value, "n_channels")
    assert minimum == 3
    model = CNN(minimum, 99, 2, pool_size=3).eval()
    assert model(torch.randn(2, minimum, 99)).shape == (2, 1)


def test_eegnet_too_short_message():
    with pytest.raises(ValueError) as excinfo:
        EEGNet(2, 20, 2)
    message = str(excinfo.value)
    assert message.startswith("n_times=20 is too short for EEGNet")
    assert "kernel_length=51" in message and "pool_length=4" in message
    assert message.endswith("it needs at least n_times=32.")


@pytest.mark.parametrize(
    "name, expected",
    [
        ("elu", nn.ELU),
        ("ELU", nn.ELU),
        ("relu", nn.ReLU),
        ("ReLU", nn.ReLU),
        ("leaky_relu", nn.LeakyReLU),
        ("LEAKY_RELU", nn.LeakyReLU),
        ("Leaky_ReLU", nn.LeakyReLU),
        ("LeakyReLU", nn.LeakyReLU),
        ("leakyrelu", nn.LeakyReLU),
    ],
)
def test_get_activation(name, expected):
    activation = get_activation(name)
    assert type(activation) is expected
    assert activation is not get_activation(name)
    if expected is nn.LeakyReLU:
        assert activation.negative_slope == 0.01


@pytest.mark.parametrize("name", ["tanh", "", "leaky relu", None])
def test_get_activation_unknown(name):
    with pytest.raises(ValueError, match='"elu", "relu", "leaky_relu"'):
        get_activation(name)


ACTIVATION_TYPES = (nn.ELU, nn.ReLU, nn.LeakyReLU)


@pytest.mark.parametrize("model_name", list(SMALL))
@pytest.mark.parametrize(
    "name, expected",
    [("ELU", nn.ELU), ("relu", nn.ReLU), ("Leaky_ReLU", nn.LeakyReLU)],
)
def test_activation_in_model(model_name, name, expected):
    model = build_small(model_name, activation=name)
    found = [type(m) for m in model.modules() if isinstance(m, ACTIVATION_TYPES)]
    assert found and set(found) == {expected}


@pytest.mark.parametrize("model_name", list(SMALL))
def test_unknown_activation_in_model(model_name):
    with pytest.raises(ValueError, match=r"'activation' parameter of \w+ must be a str among "
                       r"\['elu', 'relu', 'leaky_relu'\] \(any case\)"):
        build_small(model_name, activation="sigmoid")


def _enlarge_weights(model):
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, 10)


@pytest.mark.parametrize(
    "model_name, expected_limits",
    [
        ("eegnet_full", {"features.spatial.conv": 1.0, "classifier": 0.25}),
        ("eegnet_depthwise", {"features.spatial.conv": 1.0, "classifier": 0.25}),
        (
            "deepconvnet",
            {
                "features.block1.temporal_conv": 2.0,
                "features.block1.spatial_conv": 2.0,
                "features.block2.conv": 2.0,
                "features.block3.conv": 2.0,
                "features.block4.conv": 2.0,
                "classifier": 0.5,
            },
        ),
    ],
)
def test_max_norm(model_name, expected_limits):
    torch.manual_seed(0)
    model = build_small(model_name, max_norm=True)
    assert model.max_norm_limits == expected_limits
    _enlarge_weights(model)
    constrained = {f"{name}.weight" for name in expected_limits}
    before = {name: p.detach().clone() for name, p in model.named_parameters()}

    model.apply_max_norm()

    for name, parameter in model.named_parameters():
        if name in constrained:
            limit = expected_limits[name.removesuffix(".weight")]
            norms = parameter.detach().flatten(1).norm(dim=1)
            assert len(norms) == parameter.shape[0]
            assert (norms <= limit * (1 + 1e-5)).all()
            # Every unit was above the limit, so every unit sits on it.
            assert torch.allclose(norms, torch.full_like(norms, limit), rtol=1e-4)
        else:
            assert torch.equal(parameter, before[name]), name


def test_max_norm_leaves_small_weights():
    model = build_small("eegnet_full", max_norm=True)
    with torch.no_grad():
        model.classifier.weight.fill_(1e-3)
    before = model.classifier.weight.detach().clone()
    model.apply_max_norm()
    assert torch.equal(model.classifier.weight, before)


@pytest.mark.parametrize("model_name", list(SMALL))
def test_max_norm_disabled_is_noop(model_name):
    model = build_small(model_name)
    _enlarge_weights(model)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    model.apply_max_norm()
    for name, parameter in model.named_parameters():
        assert torch.equal(parameter, before[name])


@pytest.mark.parametrize(
    "init", ["xavier_normal", "xavier_uniform", "kaiming_normal", "kaiming_uniform"]
)
def test_initialize_weights(init):
    torch.manual_seed(0)
    model = build_small("deepconvnet", bias=True)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    assert initialize_weights(model, init) is model
    for module_name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            assert not torch.equal(module.weight, before[f"{module_name}.weight"])
            assert torch.equal(module.bias, torch.zeros_like(module.bias))
        elif isinstance(module, nn.BatchNorm2d):
            assert torch.equal(module.weight, before[f"{module_name}.weight"])
            assert torch.equal(module.bias, before[f"{module_name}.bias"])


@pytest.mark.parametrize("init", ["xavier_normal", "kaiming_uniform"])
def test_initialize_weights_is_seeded(init):
    models = []
    for seed in (1, 1, 2):
        model = build_small("cnn")
        torch.manual_seed(seed)
        models.append(initialize_weights(model, init).state_dict())
    first, same, other = models
    assert all(torch.equal(first[key], same[key]) for key in first)
    assert not torch.equal(first["classifier.weight"], other["classifier.weight"])


def test_initialize_weights_default_keeps_weights():
    model = build_small("dnn")
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    initialize_weights(model, "default")
    for name, parameter in model.named_parameters():
        assert torch.equal(parameter, before[name])


@pytest.mark.parametrize("init", ["glorot", "Xavier_normal", None])
def test_initialize_weights_unknown(init):
    with pytest.raises(ValueError, match='"default", "xavier_normal"'):
        initialize_weights(build_small("dnn"), init)


def test_eegnet_depthwise_structure():
    model = EEGNet(
        4, 256, 2, separable="depthwise", temporal_filters=8, depth_multiplier=2
    )
    convs = [m for m in model.features.separable if isinstance(m, nn.Conv2d)]
    depthwise, pointwise = convs
    assert depthwise.groups == 16
    assert depthwise.in_channels == depthwise.out_channels == 16
    assert depthwise.kernel_size == (1, 15)
    assert pointwise.kernel_size == (1, 1) and pointwise.groups == 1
    assert (pointwise.in_channels, pointwise.out_channels) == (16, 32)

    full = EEGNet(4, 256, 2, temporal_filters=8, depth_multiplier=2)
    (conv,) = [m for m in full.features.separable if isinstance(m, nn.Conv2d)]
    assert conv.groups == 1 and conv.kernel_size == (1, 15)
    assert full.features.spatial.conv.groups == 8


@pytest.mark.parametrize("model_name", list(SMALL))
def test_eval_is_deterministic(model_name):
    model = build_small(model_name).eval()
    x = torch.randn(4, 3, 200)
    with torch.no_grad():
        assert torch.equal(model(x), model(x))


@pytest.mark.parametrize("model_name", list(SMALL))
def test_gradients_reach_every_parameter(model_name):
    torch.manual_seed(0)
    model = build_small(model_name).train()
    model(torch.randn(16, 3, 200)).square().sum().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize(
    "model_class, kwargs, match",
    [
        (EEGNet, dict(separable="pointwise"), r"'separable' parameter of EEGNet must be a str among"),
        (EEGNet, dict(temporal_filters=0), r"'temporal_filters' parameter of EEGNet must be an integer in the range \[1, 16777216\]"),
        (EEGNet, dict(kernel_length=5.0), r"'kernel_length' parameter of EEGNet must be an integer"),
        (EEGNet, dict(dropout=1.0), r"'dropout' parameter of EEGNet must be a real number in the range \[0.0, 1.0\)"),
        (EEGNet, dict(max_norm="yes"), r"'max_norm' parameter of EEGNet must be an instance of 'bool'"),
        (DeepConvNet, dict(n_filters=()), "'n_filters' parameter of DeepConvNet must be a non-empty sequence"),
        (DeepConvNet, dict(n_filters=(25, 0)), "'n_filters' parameter of DeepConvNet must be a non-empty"),
        (DeepConvNet, dict(n_filters=25), "'n_filters' parameter of DeepConvNet must be a non-empty sequence"),
        (DeepConvNet, dict(bias=None), "'bias' parameter of DeepConvNet must be an instance of 'bool'"),
        (DNN, dict(hidden_sizes="abc"), "'hidden_sizes' parameter of DNN must be a non-empty sequence"),
        (DNN, dict(input_dropout=-0.1), "'input_dropout' parameter of DNN must be a real number"),
        (CNN, dict(pool_size=True), "'pool_size' parameter of CNN must be an integer"),
        (CNN, dict(conv_dropout=2), "'conv_dropout' parameter of CNN must be a real number"),
    ],
)
def test_invalid_arguments(model_class, kwargs, match):
    with pytest.raises(ValueError, match=match):
        model_class(8, 200, 2, **kwargs)


@pytest.mark.parametrize("model_class", [EEGNet, DeepConvNet, DNN, CNN])
@pytest.mark.parametrize(
    "shape, match",
    [
        ((0, 200, 2), "n_channels must be a positive integer"),
        ((2.5, 200, 2), "n_channels must be a positive integer"),
        ((8, -1, 2), "n_times must be a positive integer"),
        ((8, 200, 1), "n_classes must be an integer from 2 to"),
        ((8, 200, True), "n_classes must be an integer from 2 to"),
    ],
)
def test_invalid_shape(model_class, shape, match):
    with pytest.raises(ValueError, match=match):
        model_class(*shape)


def test_deepconvnet_block_count():
    model = DeepConvNet(2, 100, 2, n_filters=(7,))
    names = [name for name, _ in model.features.named_children()]
    assert names == ["block1", "flatten"]
    assert model.eval()(torch.randn(2, 2, 100)).shape == (2, 2)


@pytest.mark.parametrize("module", [_checks, _init, _layers, eegnet, deepconvnet, dnn, cnn])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
