"""EEGClassifier: any torch module with skeeg's contract (issue 13, point 2)."""

import importlib.util
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import skeeg.models
from skeeg import EEGClassifier
from skeeg.datasets import make_motor_imagery

import _small_models

# The suite's small training settings, with enough epochs for these modules to learn.
TRAINING = dict(_small_models.TRAINING, max_epochs=4)


class LogVariance(torch.nn.Module):
    """Spatial filters, log-variance, linear classifier: skeeg's signature."""

    def __init__(self, n_channels, n_times, n_classes, n_filters=4):
        super().__init__()
        self.spatial = torch.nn.Conv1d(n_channels, n_filters, 1)
        self.classifier = torch.nn.Linear(n_filters, n_classes)

    def forward(self, x):
        return self.classifier(self.spatial(x).var(dim=2).log())


class BraindecodeStyle(torch.nn.Module):
    """braindecode's naming, with the sampling rate and channel info it may need."""

    def __init__(self, n_chans=None, n_outputs=None, n_times=None, sfreq=None, chs_info=None):
        super().__init__()
        self.seen = dict(n_chans=n_chans, n_outputs=n_outputs, n_times=n_times, sfreq=sfreq,
                         chs_info=chs_info)
        self.final_layer = torch.nn.Linear(n_chans * n_times, n_outputs)

    def forward(self, x):
        return self.final_layer(x.flatten(1))


class Neither(torch.nn.Module):
    def __init__(self, channels, length):
        super().__init__()


class WrongShape(LogVariance):
    def forward(self, x):
        return super().forward(x)[:, :1]


class NotFinite(LogVariance):
    def forward(self, x):
        return super().forward(x) * float("nan")


class NoParameters(torch.nn.Module):
    def __init__(self, n_channels, n_times, n_classes):
        super().__init__()
        self.weight = torch.randn(n_classes, n_channels)  # a plain tensor: not registered

    def forward(self, x):
        return x.mean(dim=2) @ self.weight.T


class IntegerLogits(LogVariance):
    def forward(self, x):
        return super().forward(x).round().long()


class NoGrad(LogVariance):
    def forward(self, x):
        with torch.no_grad():
            return super().forward(x)


class Detached(LogVariance):
    def forward(self, x):
        return super().forward(x).detach()


class Softmax(LogVariance):
    def forward(self, x):
        return torch.softmax(super().forward(x), dim=1)


class OwnOutputs(LogVariance):
    def __init__(self, n_channels, n_times, n_classes):
        super().__init__(n_channels, n_times, n_classes)
        self.n_outputs = 1  # but it returns n_classes logits


class SelfRenorming(LogVariance):
    """Renormalises its head in forward, even in evaluation mode (braindecode's MaxNormLinear)."""

    def forward(self, x):
        with torch.no_grad():
            self.classifier.weight.mul_(0.99)
        return super().forward(x)


class UnusedHead(LogVariance):
    def __init__(self, n_channels, n_times, n_classes):
        super().__init__(n_channels, n_times, n_classes)
        self.out = torch.nn.Linear(4, n_classes)

    def forward(self, x):
        return self.out(self.spatial(x).var(dim=2).log())


class LogSoftmax(LogVariance):
    """A final LogSoftmax (braindecode's older models): the same cross-entropy."""

    def forward(self, x):
        return torch.log_softmax(super().forward(x), dim=1)


@pytest.fixture(scope="module")
def motor():
    data = make_motor_imagery(n_trials=60, n_channels=4, n_times=64, random_state=0)
    return data.X, np.where(data.y == 1, "right", "left")


def test_skeeg_signature_gets_the_whole_contract(motor):
    X, y = motor
    clf = EEGClassifier(LogVariance, module_params={"n_filters": 3}, **TRAINING).fit(X, y)
    assert clf.classes_.tolist() == ["left", "right"]
    assert set(clf.predict(X)) <= {"left", "right"}
    assert clf.net_.module_.spatial.out_channels == 3
    again = EEGClassifier(LogVariance, module_params={"n_filters": 3}, **TRAINING).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    # module_params is a parameter like any other: stored unchanged, cloned, searched.
    params = {"n_filters": 3}
    fresh = clone(EEGClassifier(LogVariance, module_params=params))
    assert fresh.module_params == params and fresh.module is LogVariance
    search = GridSearchCV(
        EEGClassifier(LogVariance, **TRAINING),
        {"module_params": [{"n_filters": 1}, {"n_filters": 2}]}, cv=2,
    ).fit(X, y)
    assert search.best_params_["module_params"] in ({"n_filters": 1}, {"n_filters": 2})


def test_braindecode_naming_gets_sampling_rate_and_channels_from_epochs(motor):
    mne = pytest.importorskip("mne")
    X, y = motor
    info = mne.create_info(["C3", "Cz", "C4", "Pz"], 128.0, "eeg")
    events = np.c_[np.arange(len(X)) * 100, np.zeros(len(X), int), (y == "right") + 1]
    epochs = mne.EpochsArray(X * 1e-6, info, events=events,
                             event_id={"left": 1, "right": 2}, verbose=False)
    clf = EEGClassifier(BraindecodeStyle, **TRAINING).fit(epochs)
    seen = clf.net_.module_.seen
    assert (seen["n_chans"], seen["n_outputs"], seen["n_times"]) == (4, 2, 64)
    assert seen["sfreq"] == 128.0
    assert [ch["ch_name"] for ch in seen["chs_info"]] == ["C3", "Cz", "C4", "Pz"]
    # From an array skeeg knows neither, and says nothing it does not know.
    seen = EEGClassifier(BraindecodeStyle, **TRAINING).fit(X, y).net_.module_.seen
    assert seen["sfreq"] is None and seen["chs_info"] is None
    # module_params may repeat the Epochs' rate; another rate would size the
    # module's layers for other data, so it is refused.
    clf = EEGClassifier(BraindecodeStyle, module_params={"sfreq": 128.0}, **TRAINING)
    assert clf.fit(epochs).net_.module_.seen["sfreq"] == 128.0
    clf = EEGClassifier(BraindecodeStyle, module_params={"sfreq": 250.0}, **TRAINING)
    with pytest.raises(ValueError, match=r"sets sfreq=250.0 but the Epochs are sampled at 128 Hz"):
        clf.fit(epochs)
    # On arrays, whose rate skeeg does not know, module_params says it; Epochs
    # at another rate cannot continue that fit.
    assert clf.fit(X, y).net_.module_.seen["sfreq"] == 250.0
    with pytest.raises(ValueError, match=r"sets sfreq=250.0 but the Epochs are sampled at 128"):
        clf.partial_fit(epochs)
    for bad, error in (("256", TypeError), ([128, 256], TypeError), (True, TypeError)):
        with pytest.raises(error, match=r"module_params\['sfreq'\] must be a number of Hz"):
            EEGClassifier(BraindecodeStyle, module_params={"sfreq": bad}, **TRAINING).fit(epochs)


@pytest.mark.parametrize(
    "module, module_params, error, match",
    [
        (LogVariance(4, 64, 2), None, TypeError, "an instance: pass its class, LogVariance"),
        (np.mean, None, TypeError, "must be a torch.nn.Module subclass"),
        (dict, None, TypeError, "must be a torch.nn.Module subclass"),
        (LogVariance, [("n_filters", 2)], TypeError, r"'module_params' parameter of EEGClassifier must be"),
        (Neither, None, TypeError, "takes neither skeeg's signature"),
        (LogVariance, {"n_filter": 2}, TypeError,
         r"module_params sets \['n_filter'\], which LogVariance's constructor does not take; "
         r"it takes \(n_channels, n_times, n_classes, n_filters\)"),
        (WrongShape, None, ValueError, r"must return logits of shape .* returned \(2, 1\)"),
        (NotFinite, None, ValueError, "non-finite logits"),
        (NoParameters, None, ValueError, "no trainable parameters"),
        (IntegerLogits, None, ValueError, "dtype torch.int64; they must be floating point"),
        (NoGrad, None, ValueError, "runs under torch.no_grad"),
        (Detached, None, ValueError, "or detaches"),
        (Softmax, None, ValueError, "returns probabilities .* Remove the final softmax"),
        (OwnOutputs, None, ValueError, "sets n_outputs=1, but EEGClassifier trains 2 logits"),
        (skeeg.models.DNN, None, ValueError, "skeeg's DNN gives one logit .* use DNNClassifier"),
    ],
)
def test_bad_modules_are_refused_clearly(motor, module, module_params, error, match):
    X, y = motor
    with pytest.raises(error, match=match):
        EEGClassifier(module, module_params=module_params, **TRAINING).fit(X, y)


@pytest.mark.parametrize("name", ["EEGNetv4", "ShallowFBCSPNet"])
def test_braindecode_models_train_through_it(name, motor):
    try:
        models = pytest.importorskip("braindecode.models", reason="braindecode is not installed "
                                     "(the benchmarks extra installs braindecode 0.8.1)")
    except ImportError as error:  # braindecode 0.8.1 beside a newer MOABB (shared/notes/peers.md)
        pytest.skip(f"braindecode cannot be imported here: {error}")
    X, y = motor
    # Kernels and pools scaled to these 64-sample trials.
    params = {"final_conv_length": "auto", **{
        "EEGNetv4": dict(kernel_length=16),
        "ShallowFBCSPNet": dict(filter_time_length=9, pool_time_length=16, pool_time_stride=4),
    }[name]}
    clf = EEGClassifier(getattr(models, name), module_params=params, **TRAINING).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.isfinite(proba).all()
    assert set(clf.predict(X)) <= {"left", "right"}


def test_module_arguments_are_passed_by_name_and_not_overridden():
    class KeywordOnly(torch.nn.Module):
        def __init__(self, *, n_channels, n_times, n_classes):
            super().__init__()
            self.linear = torch.nn.Linear(n_channels * n_times, n_classes)

        def forward(self, x):
            return self.linear(x.flatten(1))

    X = np.random.default_rng(0).normal(size=(20, 3, 16)).astype(np.float32)
    y = np.arange(20) % 2
    clf = EEGClassifier(KeywordOnly, max_epochs=1, validation_fraction=0,
                        early_stopping=False).fit(X, y)
    assert clf.predict_proba(X).shape == (20, 2)
    with pytest.raises(ValueError, match=r"module_params sets \['n_classes'\], which skeeg sets"):
        EEGClassifier(KeywordOnly, module_params={"n_classes": 5}, max_epochs=1).fit(X, y)


@pytest.mark.parametrize("name", ["ATCNet", "EEGConformer"])
def test_braindecode_models_that_also_take_the_old_names(name):
    # braindecode 0.8 accepts n_channels / n_classes as aliases in other positions: the
    # arguments must reach it by braindecode's names.
    models = pytest.importorskip("braindecode.models")
    X = np.random.default_rng(0).normal(size=(24, 4, 500)).astype(np.float32)
    y = np.arange(24) % 3
    params = {"sfreq": 250.0, "input_window_seconds": 2.0} if name == "ATCNet" else {
        "final_fc_length": "auto"}
    clf = EEGClassifier(getattr(models, name), module_params=params, max_epochs=1,
                        validation_fraction=0, early_stopping=False).fit(X, y)
    assert clf.predict_proba(X).shape == (24, 3)


def test_braindecode_eegnet_saved_and_loaded(tmp_path):
    # EEGNetv4 renormalises its weights in its constructor: no shape-only skeleton.
    models = pytest.importorskip("braindecode.models")
    pytest.importorskip("safetensors")
    from skeeg import load

    X = np.random.default_rng(0).normal(size=(24, 4, 128)).astype(np.float32)
    y = np.arange(24) % 2
    clf = EEGClassifier(models.EEGNetv4, max_epochs=1, validation_fraction=0,
                        early_stopping=False, random_state=0).fit(X, y)
    clf.save(tmp_path / "model")
    loaded = load(tmp_path / "model", trusted=[models.EEGNetv4])
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_braindecode_eegnet_exported_without_channel_info(tmp_path):
    # Fitted on arrays, braindecode's chs_info property raises ValueError,
    # which torch.jit.trace's attribute probing does not tolerate.
    models = pytest.importorskip("braindecode.models")
    from skeeg.export import to_onnx, to_torchscript

    X = np.random.default_rng(0).normal(size=(24, 4, 128)).astype(np.float32)
    y = np.arange(24) % 2
    clf = EEGClassifier(models.EEGNetv4, max_epochs=1, validation_fraction=0,
                        early_stopping=False, random_state=0).fit(X, y)
    info = to_torchscript(clf, tmp_path / "model.pt")
    assert info["network"] == "braindecode.models.eegnet.EEGNetv4"
    proba = torch.jit.load(str(tmp_path / "model.pt"))(torch.as_tensor(X)).numpy()
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=0, atol=1e-5)
    if importlib.util.find_spec("onnx") is not None:
        to_onnx(clf, tmp_path / "model.onnx")
    with pytest.raises(ValueError, match="chs_info"):
        clf.net_.module_.chs_info  # the fitted module itself is left as it was


def test_a_final_log_softmax_trains_as_logits(motor):
    X, y = motor
    plain = EEGClassifier(LogVariance, **TRAINING).fit(X, y)
    logsoftmax = EEGClassifier(LogSoftmax, **TRAINING).fit(X, y)
    np.testing.assert_allclose(
        logsoftmax.predict_proba(X), plain.predict_proba(X), rtol=0, atol=1e-4
    )


def test_module_params_entries_are_parameters(motor):
    X, y = motor
    given = {"n_filters": 2}
    clf = EEGClassifier(LogVariance, module_params=given, **TRAINING)
    assert clf.set_params(module_params__n_filters=3) is clf
    assert clf.module_params == {"n_filters": 3} and given == {"n_filters": 2}
    assert EEGClassifier(LogVariance).set_params(module_params__n_filters=1).module_params == {
        "n_filters": 1
    }
    search = GridSearchCV(
        EEGClassifier(LogVariance, **TRAINING), {"module_params__n_filters": [1, 2]}, cv=2
    ).fit(X, y)
    n_filters = search.best_params_["module_params__n_filters"]
    assert search.best_estimator_.net_.module_.spatial.out_channels == n_filters
    with pytest.raises(ValueError, match="module is a class; .* 'module_params__n_filters'"):
        clf.set_params(module__n_filters=2)
    with pytest.raises(TypeError, match="needs module_params to be a dict"):
        EEGClassifier(LogVariance, module_params=[1]).set_params(module_params__n_filters=2)


def test_a_module_that_changes_its_weights_in_forward_is_warned_about(motor):
    X, y = motor
    with pytest.warns(UserWarning, match="changes its own weights when it computes"):
        EEGClassifier(SelfRenorming, **TRAINING).fit(X, y)


def test_freezing_features_needs_a_head_that_forward_uses(motor):
    X, y = motor
    with pytest.raises(ValueError, match="does not depend on the head's weights"):
        EEGClassifier(UnusedHead, freeze="features", **TRAINING).fit(X, y)
    from skeeg.inspection import embed

    clf = EEGClassifier(UnusedHead, **TRAINING).fit(X, y)
    with pytest.raises(ValueError, match="named as its classifier head .* is not called"):
        embed(clf, X)


class LazyHead(torch.nn.Module):
    """A head whose input size torch infers at the first call (nn.LazyLinear)."""

    def __init__(self, n_channels, n_times, n_classes):
        super().__init__()
        self.conv = torch.nn.Conv1d(n_channels, 4, 5)
        self.head = torch.nn.LazyLinear(n_classes)

    def forward(self, x):
        return self.head(self.conv(x).flatten(1))


class WideKernel(torch.nn.Module):
    """Builds for any length, fails at its first call on trials shorter than 50 samples."""

    def __init__(self, n_channels, n_times, n_classes):
        super().__init__()
        self.conv = torch.nn.Conv1d(n_channels, 2, 50)
        self.head = torch.nn.Linear(2, n_classes)

    def forward(self, x):
        return self.head(self.conv(x).mean(-1))


class RefusesShortTrials(WideKernel):
    def forward(self, x):
        if x.shape[-1] < 50:
            raise ValueError("RefusesShortTrials needs 50 samples")
        return super().forward(x)


class NeedsRate(torch.nn.Module):
    def __init__(self, n_chans, n_outputs, n_times, sfreq):
        super().__init__()
        self.final_layer = torch.nn.Linear(n_chans * n_times, n_outputs)

    def forward(self, x):
        return self.final_layer(x.flatten(1))


def test_lazy_layers_take_their_shapes_before_training(motor):
    X, y = motor
    clf = EEGClassifier(LazyHead, **TRAINING).fit(X, y)
    assert clf.net_.module_.head.in_features == 4 * 60
    assert clf.score(X, y) > 0.5


def test_a_module_failing_on_short_inputs_names_n_times_or_crop_length(motor):
    X, y = motor
    with pytest.raises(ValueError, match=r"fails on trials of shape \(2, 4, 40\) \(crop_length=40: "
                                         r"cropped training runs the network on crops\)"):
        EEGClassifier(WideKernel, crop_length=40, **TRAINING).fit(X, y)
    with pytest.raises(ValueError, match=r"\(n_times=30\): RuntimeError"):
        EEGClassifier(WideKernel, **TRAINING).fit(X[:, :, :30], y)
    # The module's own ValueError passes unchanged.
    with pytest.raises(ValueError, match=r"^RefusesShortTrials needs 50 samples$"):
        EEGClassifier(RefusesShortTrials, crop_length=40, **TRAINING).fit(X, y)


def test_a_module_that_needs_the_sampling_rate_says_how_to_give_it(motor):
    X, y = motor
    with pytest.raises(TypeError, match=r"'sfreq'.*Fitted on arrays, skeeg does not know the "
                                        r"sampling rate: fit on mne.Epochs, or pass module_params"):
        EEGClassifier(NeedsRate, **TRAINING).fit(X, y)
    clf = EEGClassifier(NeedsRate, module_params={"sfreq": 128.0}, **TRAINING).fit(X, y)
    assert clf.predict(X).shape == y.shape
