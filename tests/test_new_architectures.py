"""ShallowFBCSPNet, EEGConformer and ATCNet: the modules and their classifiers.

The modules are checked against braindecode 0.8.1 (parameter counts,
hard-coded below; the function itself when braindecode is installed) and
what is particular to their classifiers (the contract they share with every
classifier is in test_contract.py), on small networks and data so that the
whole file runs in well under a minute.
"""

import doctest
import importlib.metadata
import re

import numpy as np
import pytest
import torch

from skeeg import ATCNetClassifier, EEGConformerClassifier, ShallowFBCSPNetClassifier
from skeeg.models import ATCNet, EEGConformer, ShallowFBCSPNet
from skeeg.models import atcnet, eegconformer, shallow_fbcsp

import _small_models
from _small_models import small, trials

MODELS = (ShallowFBCSPNet, EEGConformer, ATCNet)
CLASSIFIERS = (ShallowFBCSPNetClassifier, EEGConformerClassifier, ATCNetClassifier)
MODULE_OF = dict(zip(CLASSIFIERS, MODELS))
# The modules in the classifiers' small configurations (the suite's one table).
SMALL = {module: _small_models.SMALL[cls.__name__] for cls, module in MODULE_OF.items()}


def n_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ---------------------------------------------------------------------------
# The modules

# Trainable parameters of braindecode 0.8.1's networks with their defaults,
# computed with torch 2.13.0 (CPU) in a virtual environment holding only
# braindecode 0.8.1 and its dependencies (no MOABB, see ../shared/notes/peers.md):
#
#   python3 -m venv /tmp/bdvenv && /tmp/bdvenv/bin/pip install torch==2.13.0
#   /tmp/bdvenv/bin/pip install -c constraints.txt braindecode==0.8.1
#   /tmp/bdvenv/bin/python -c '
#   from braindecode.models import ATCNet, EEGConformer, ShallowFBCSPNet
#   n = lambda m: sum(p.numel() for p in m.parameters() if p.requires_grad)
#   for c, t, sf, k in [(22, 1000, 250, 4), (6, 896, 256, 2)]:
#       print(c, t, k, n(ShallowFBCSPNet(c, k, t, final_conv_length="auto")),
#             n(EEGConformer(k, c, n_times=t, final_fc_length="auto")),
#             n(ATCNet(c, k, input_window_seconds=t / sf, sfreq=sf)))'
#
# which printed
#   22 1000 4 46084 789572 113732
#   6 896 2 15042 692226 112890
#
# ShallowFBCSPNet's and EEGConformer's classifier layers are sized from
# n_times ("auto"): braindecode's defaults (final_conv_length=30, giving
# crop-wise outputs, and final_fc_length=2440, which fits only 1,000
# samples) are not whole-trial classifiers for any input length. ATCNet
# takes the durations at the sampling rate, skeeg's the samples. For two
# classes skeeg's networks, like braindecode's, give two logits (a softmax
# over n_outputs == n_classes; only the DEAP networks use one logit), so the
# counts compare directly.
BRAINDECODE_COUNTS = [
    (ShallowFBCSPNet, 22, 1000, 4, 46_084),
    (EEGConformer, 22, 1000, 4, 789_572),
    (ATCNet, 22, 1000, 4, 113_732),
    (ShallowFBCSPNet, 6, 896, 2, 15_042),
    (EEGConformer, 6, 896, 2, 692_226),
    (ATCNet, 6, 896, 2, 112_890),
]


@pytest.mark.parametrize("model_class, n_channels, n_times, n_classes, expected", BRAINDECODE_COUNTS)
def test_parameter_counts_equal_braindecode(model_class, n_channels, n_times, n_classes, expected):
    model = model_class(n_channels, n_times, n_classes)
    assert n_parameters(model) == expected
    assert model.n_outputs == n_classes
    assert model.eval()(torch.randn(2, n_channels, n_times)).shape == (2, n_classes)


def test_counts_follow_the_layers():
    # 1000 - 24 = 976 samples, (976 - 75) // 15 + 1 = 61 pooled samples.
    shallow = 40 * 25 + 40 + 40 * 40 * 22 + 2 * 40 + (40 * 61 + 1) * 4
    assert n_parameters(ShallowFBCSPNet(22, 1000, 4)) == shallow
    model = EEGConformer(22, 1000, 4)
    assert model.n_tokens == 61
    embedding = 40 * 25 + 40 + 40 * 40 * 22 + 40 + 2 * 40 + 40 * 40 + 40
    block = 2 * (2 * 40) + 4 * (40 * 40 + 40) + (40 * 160 + 160) + (160 * 40 + 40)
    head = (61 * 40 * 256 + 256) + (256 * 32 + 32) + (32 * 4 + 4)
    assert n_parameters(model) == embedding + 6 * block + head
    # 1000 // 8 // 7 = 17 steps; five windows of 13.
    model = ATCNet(22, 1000, 4)
    assert (model.n_steps, model.window_length) == (17, 13)
    conv_block = 16 * 64 + 2 * 16 + 32 * 22 + 2 * 32 + 32 * 32 * 16 + 2 * 32
    attention = 2 * 32 + 3 * (32 * 16 + 16) + (16 * 32 + 32)
    tcn = 2 * (2 * (32 * 32 * 4 + 32) + 2 * (2 * 32))
    assert n_parameters(model) == conv_block + 5 * (attention + tcn + 32 * 4 + 4)
    concat = ATCNet(22, 1000, 4, concat=True)
    assert n_parameters(concat) == conv_block + 5 * (attention + tcn) + 5 * 32 * 4 + 4


@pytest.mark.parametrize("n_channels, n_times, n_classes", [(3, 128, 2), (1, 200, 3), (5, 97, 6)])
@pytest.mark.parametrize("model_class", MODELS)
def test_output_shape(model_class, n_channels, n_times, n_classes):
    model = model_class(n_channels, n_times, n_classes, **SMALL[model_class]).eval()
    assert model(torch.randn(4, n_channels, n_times)).shape == (4, n_classes)
    assert model.n_outputs == n_classes


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(concat=True),
        dict(tcn_filters=5),  # a 1x1 convolution on the first skip connection
        dict(tcn_depth=3, n_windows=1, kernel_length=15, separable_kernel_length=5),
    ],
)
def test_atcnet_variants(kwargs):
    model = ATCNet(3, 150, 4, **{**SMALL[ATCNet], **kwargs}).eval()
    assert model(torch.randn(2, 3, 150)).shape == (2, 4)
    assert len(model.classifier) == (1 if model.concat else len(model.windows))


def test_atcnet_windows_slide_over_the_sequence():
    model = ATCNet(2, 200, 2, **SMALL[ATCNet]).eval()
    seen = []
    for window in model.windows:
        window.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    model(torch.randn(3, 2, 200))
    sequence = model.conv_block(torch.randn(3, 1, 2, 200))  # any input: shapes only
    assert sequence.shape == (3, 8, 1, model.n_steps)
    assert [w.shape[-1] for w in seen] == [model.window_length] * 3
    # Window i starts at step i: consecutive windows overlap but for one step.
    torch.testing.assert_close(seen[0][..., 1:], seen[1][..., :-1])
    torch.testing.assert_close(seen[1][..., 1:], seen[2][..., :-1])


def test_the_tcn_is_causal():
    torch.manual_seed(0)
    block = atcnet.TCNBlock(4, 4, kernel_length=3, dilation=2, dropout=0.0).eval()
    x = torch.randn(1, 4, 20)
    changed = x.clone()
    changed[..., 12:] += 1.0
    out, out_changed = block(x), block(changed)
    assert out.shape == x.shape
    torch.testing.assert_close(out[..., :12], out_changed[..., :12])
    assert not torch.allclose(out[..., 12:], out_changed[..., 12:])


@pytest.mark.parametrize("model_class", MODELS)
def test_every_parameter_gets_a_gradient(model_class):
    model = model_class(3, 128, 3, **SMALL[model_class]).train()
    model(torch.randn(6, 3, 128)).logsumexp(1).sum().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    assert not missing


@pytest.mark.parametrize(
    "model_class, kwargs",
    [(ShallowFBCSPNet, {}), (EEGConformer, {}), (ATCNet, {}), (ATCNet, dict(concat=True))],
)
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_torchscript_compiles_the_same_function(model_class, kwargs):
    model = model_class(3, 128, 3, **{**SMALL[model_class], **kwargs}).eval()
    scripted = torch.jit.script(model)
    for batch in (1, 5):
        x = torch.randn(batch, 3, 128)
        torch.testing.assert_close(scripted(x), model(x))


def _minimum_from_message(error):
    match = re.search(r"it needs at least n_times=(\d+)\.$", str(error))
    assert match, str(error)
    return int(match.group(1))


@pytest.mark.parametrize(
    "model_class, kwargs, expected",
    [
        (ShallowFBCSPNet, {}, 99),  # 25 - 1 + 75
        (ShallowFBCSPNet, dict(kernel_length=9, pool_length=15, pool_stride=5), 23),
        (EEGConformer, {}, 99),
        (EEGConformer, dict(kernel_length=4, pool_length=3), 6),
        (ATCNet, {}, 280),  # 5 windows of one step of 8 * 7 samples
        (ATCNet, dict(n_windows=1), 56),
        (ATCNet, dict(pool_length=2, separable_pool_length=3, n_windows=4), 24),
    ],
)
def test_minimum_n_times(model_class, kwargs, expected):
    with pytest.raises(ValueError, match=f"n_times=1 is too short for {model_class.__name__}") as info:
        model_class(2, 1, 3, **kwargs)
    assert _minimum_from_message(info.value) == expected
    model = model_class(2, expected, 3, **kwargs).eval()
    assert model(torch.randn(2, 2, expected)).shape == (2, 3)
    with pytest.raises(ValueError, match=f"at least n_times={expected}"):
        model_class(2, expected - 1, 3, **kwargs)


@pytest.mark.parametrize(
    "model_class, kwargs, match",
    [
        (ShallowFBCSPNet, dict(pool_stride=0), "'pool_stride' parameter of ShallowFBCSPNet must be an integer"),
        (ShallowFBCSPNet, dict(dropout=1.0), r"'dropout' parameter of ShallowFBCSPNet must be a real"),
        (ShallowFBCSPNet, dict(max_norm="yes"), "'max_norm' parameter of ShallowFBCSPNet must be"),
        (EEGConformer, dict(attention_heads=3), "attention_heads=3 must divide n_filters=40"),
        (EEGConformer, dict(attention_depth=0), "'attention_depth' parameter of EEGConformer must be an integer"),
        (EEGConformer, dict(attention_dropout=-0.1), "'attention_dropout' parameter of EEGConformer must be a real number"),
        (ATCNet, dict(n_windows=0), "'n_windows' parameter of ATCNet must be an integer"),
        (ATCNet, dict(tcn_kernel_length=2.5), "'tcn_kernel_length' parameter of ATCNet must be an integer"),
        (ATCNet, dict(concat=1), "'concat' parameter of ATCNet must be an instance of 'bool'"),
    ],
)
def test_invalid_arguments(model_class, kwargs, match):
    with pytest.raises(ValueError, match=match):
        model_class(2, 1000, 2, **kwargs)


@pytest.mark.parametrize("model_class", MODELS)
def test_invalid_shape(model_class):
    with pytest.raises(ValueError, match="n_classes must be an integer from 2 to"):
        model_class(2, 1000, 1)
    with pytest.raises(ValueError, match="n_channels must be a positive integer"):
        model_class(0, 1000, 2)


def _enlarge(model):
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, 10)


@pytest.mark.parametrize(
    "model_class, kwargs, limits",
    [
        (ShallowFBCSPNet, dict(max_norm=True),
         {"features.temporal_conv": 2.0, "features.spatial_conv": 2.0, "classifier": 0.5}),
        (ShallowFBCSPNet, {}, {}),
        (EEGConformer, {}, {}),
        (ATCNet, {}, {"classifier.0": 0.25, "classifier.1": 0.25, "classifier.2": 0.25}),
        (ATCNet, dict(concat=True), {"classifier.0": 0.25}),
        (ATCNet, dict(max_norm=False), {}),
    ],
)
def test_max_norm(model_class, kwargs, limits):
    model = model_class(3, 200, 3, **{**SMALL[model_class], **kwargs})
    assert model.max_norm_limits == limits
    _enlarge(model)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    model.apply_max_norm()
    for name, parameter in model.named_parameters():
        layer = name.rsplit(".", 1)[0]
        if name.endswith(".weight") and layer in limits:
            # Per output unit (rows), as Keras' max_norm on a dense kernel.
            norms = parameter.detach().flatten(1).norm(dim=1)
            torch.testing.assert_close(norms, torch.full_like(norms, limits[layer]))
        else:
            assert torch.equal(parameter, before[name]), name


def test_shallow_fbcsp_layers_read_as_the_paper():
    model = ShallowFBCSPNet(22, 1000, 4)
    names = [name for name, _ in model.features.named_children()]
    assert names == [
        "temporal_conv", "spatial_conv", "batch_norm", "square", "pool", "log", "dropout", "flatten"
    ]
    x = torch.tensor([-2.0, 0.0, 3.0])
    assert torch.equal(model.features.square(x), x * x)
    assert torch.isfinite(model.features.log(torch.zeros(3))).all()
    # Xavier-uniform weights and zero biases, as braindecode initialises them.
    assert torch.equal(model.classifier.bias, torch.zeros(4))
    bound = (6 / (40 * 61 + 4)) ** 0.5
    assert model.classifier.weight.abs().max() <= bound


def test_conformer_attention_scale_follows_the_authors_code():
    torch.manual_seed(0)
    attention = eegconformer.MultiHeadSelfAttention(8, 2, dropout=0.0).eval()
    tokens = torch.randn(2, 5, 8)
    q, k, v = (layer(tokens).view(2, 5, 2, 4).transpose(1, 2)
               for layer in (attention.queries, attention.keys, attention.values))
    weights = torch.softmax(q @ k.transpose(-2, -1) / 8**0.5, dim=-1)  # sqrt(token size)
    expected = attention.projection((weights @ v).transpose(1, 2).reshape(2, 5, 8))
    torch.testing.assert_close(attention(tokens), expected)


def _copy_shallow(ours, theirs):
    conv = theirs.conv_time_spat
    ours.features.temporal_conv.weight.copy_(conv.conv_time.weight.transpose(2, 3))
    ours.features.temporal_conv.bias.copy_(conv.conv_time.bias)
    ours.features.spatial_conv.weight.copy_(conv.conv_spat.weight.transpose(2, 3))
    ours.features.batch_norm.load_state_dict(theirs.bnorm.state_dict())
    weight = theirs.final_layer.conv_classifier.weight[..., 0]  # (classes, filters, time)
    ours.classifier.weight.copy_(weight.reshape(len(weight), -1))
    ours.classifier.bias.copy_(theirs.final_layer.conv_classifier.bias)


def _copy_conformer(ours, theirs):
    shallow = theirs.patch_embedding.shallownet
    embedding = ours.patch_embedding
    embedding.temporal_conv.load_state_dict(shallow[0].state_dict())
    embedding.spatial_conv.load_state_dict(shallow[1].state_dict())
    embedding.batch_norm.load_state_dict(shallow[2].state_dict())
    embedding.projection.load_state_dict(theirs.patch_embedding.projection[0].state_dict())
    for block, (attention, feed_forward) in zip(ours.encoder, theirs.transformer):
        block.attention_norm.load_state_dict(attention.fn[0].state_dict())
        for name in ("queries", "keys", "values", "projection"):
            getattr(block.attention, name).load_state_dict(
                getattr(attention.fn[1], name).state_dict()
            )
        block.feed_forward_norm.load_state_dict(feed_forward.fn[0].state_dict())
        block.feed_forward[0].load_state_dict(feed_forward.fn[1][0].state_dict())
        block.feed_forward[3].load_state_dict(feed_forward.fn[1][3].state_dict())
    ours.head[1].load_state_dict(theirs.fc.fc[0].state_dict())
    ours.head[4].load_state_dict(theirs.fc.fc[3].state_dict())
    ours.classifier.load_state_dict(theirs.final_layer.final_layer[0].state_dict())


def _copy_atcnet(ours, theirs):
    convs = theirs.conv_block
    for block, conv, norm in (("temporal", convs.conv1, convs.bn1),
                              ("spatial", convs.conv2, convs.bn2),
                              ("separable", convs.conv3, convs.bn3)):
        getattr(ours.conv_block, block).conv.weight.copy_(conv.weight.transpose(2, 3))
        getattr(ours.conv_block, block).batch_norm.load_state_dict(norm.state_dict())
    for window, attention, tcn in zip(ours.windows, theirs.attention_blocks,
                                      theirs.temporal_conv_nets):
        window.attention.norm.load_state_dict(attention.ln.state_dict())
        for name, their_name in (("queries", "fc_q"), ("keys", "fc_k"),
                                 ("values", "fc_v"), ("projection", "fc_o")):
            getattr(window.attention.attention, name).load_state_dict(
                getattr(attention.mha, their_name).state_dict()
            )
        for block, their_block in zip(window.tcn, tcn):
            for name in ("conv1", "conv2"):
                getattr(block, name).load_state_dict(getattr(their_block, name).state_dict())
            block.batch_norm1.load_state_dict(their_block.bn1.state_dict())
            block.batch_norm2.load_state_dict(their_block.bn2.state_dict())
    ours.classifier.load_state_dict(theirs.final_layer.state_dict())


@pytest.mark.parametrize("n_channels, n_times, sfreq, n_classes", [(22, 1000, 250, 4), (6, 896, 256, 2)])
def test_same_function_as_braindecode(n_channels, n_times, sfreq, n_classes):
    """With braindecode's weights copied in, each module computes braindecode's logits."""
    try:
        installed = importlib.metadata.version("braindecode")
        from braindecode import models
    except (ImportError, importlib.metadata.PackageNotFoundError) as error:
        # Also the case beside a current MOABB (see ../shared/notes/peers.md).
        pytest.skip(f"braindecode 0.8.1 cannot be imported: {error}")
    if installed != "0.8.1":
        pytest.skip(f"the layer names copied here are braindecode 0.8.1's; found {installed}")
    torch.manual_seed(0)
    pairs = [
        (ShallowFBCSPNet(n_channels, n_times, n_classes),
         models.ShallowFBCSPNet(n_channels, n_classes, n_times, final_conv_length="auto",
                                add_log_softmax=False), _copy_shallow),
        (EEGConformer(n_channels, n_times, n_classes),
         models.EEGConformer(n_classes, n_channels, n_times=n_times, final_fc_length="auto",
                             add_log_softmax=False), _copy_conformer),
        # A limit no weight reaches: braindecode renormalises at every forward pass.
        (ATCNet(n_channels, n_times, n_classes, max_norm=False),
         models.ATCNet(n_channels, n_classes, input_window_seconds=n_times / sfreq, sfreq=sfreq,
                       max_norm_const=1e6, add_log_softmax=False), _copy_atcnet),
    ]
    x = torch.randn(4, n_channels, n_times)
    for ours, theirs, copy in pairs:
        theirs.eval()
        with torch.no_grad():
            for name, tensor in [*theirs.named_parameters(), *theirs.named_buffers()]:
                if name.endswith("running_var"):
                    tensor.uniform_(0.5, 2.0)
                elif tensor.is_floating_point():
                    tensor.normal_(0, 0.2)
            expected = theirs(x)
            copy(ours, theirs)
            torch.testing.assert_close(ours.eval()(x), expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("module", [shallow_fbcsp, eegconformer, atcnet])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# ---------------------------------------------------------------------------
# The classifiers (the contract they share with every classifier: test_contract.py)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_classifier_builds_its_module_with_module_params(cls):
    X, y = trials()
    clf = small(cls, dropout=0.1)
    # Which module fit built, and with what dropout, no public name shows.
    module = clf.fit(X, y).net_.module_
    assert isinstance(module, MODULE_OF[cls]) and module.n_outputs == 2
    dropouts = [m.p for m in module.modules() if type(m).__name__.startswith("Dropout")]
    assert 0.1 in dropouts


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_bfloat16_trains_and_predicts_on_the_cpu(cls):
    X, y = trials()
    clf = small(cls, max_epochs=2, precision="bfloat16").fit(X, y)
    assert np.isfinite(clf.history_["train_loss"]).all()
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_too_short_trials_name_the_minimum(cls):
    X = np.random.default_rng(0).standard_normal((20, 3, 10))
    with pytest.raises(ValueError, match=r"n_times=10 is too short .* at least n_times=\d+"):
        small(cls).fit(X, np.repeat([0, 1], 10))


@pytest.mark.parametrize("cls, params, limits", [
    (ATCNetClassifier, {}, {"classifier.0": 0.25, "classifier.1": 0.25, "classifier.2": 0.25}),
    (ShallowFBCSPNetClassifier, dict(max_norm=True),
     {"features.temporal_conv": 2.0, "features.spatial_conv": 2.0, "classifier": 0.5}),
])
def test_max_norm_holds_after_training(cls, params, limits):
    X, y = trials()
    clf = small(cls, lr=0.1, max_epochs=2, **params).fit(X, y)
    assert "max_norm" in dict(clf.net_.callbacks_)
    layers = dict(clf.net_.module_.named_modules())
    for name, limit in limits.items():
        weight = layers[name].weight.detach()
        assert torch.all(weight.flatten(1).norm(dim=1) <= limit * (1 + 1e-5)), name


def test_atcnet_classifier_defaults_constrain_and_others_do_not():
    assert ATCNetClassifier().max_norm is True
    assert ShallowFBCSPNetClassifier().max_norm is False
    assert "max_norm" not in EEGConformerClassifier().get_params()


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_docstring_example(cls):
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    (test,) = [t for t in finder.find(cls, cls.__name__) if t.name == cls.__name__]
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
