"""skeeg.export: TorchScript and ONNX models that map raw trials to probabilities."""

import doctest
import json

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import skeeg
from skeeg import DNNClassifier, EEGNetClassifier, _fast
from skeeg.datasets import make_motor_imagery
from skeeg.export import to_onnx, to_torchscript

from _small_models import CLASSIFIERS, N_CHANNELS, N_TIMES, fitted, small, trials
from _small_models import check_every_classifier_has_a_configuration
from _small_models import one_torch_thread  # noqa: F401  (autouse fixture)

TOLERANCE = 1e-5
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")


def test_every_classifier_has_a_small_configuration():
    check_every_classifier_has_a_configuration()


@pytest.fixture(scope="module")
def batches():
    """Raw trials unlike the training ones (another seed, a DC offset): batches of 1 and 64."""
    data = make_motor_imagery(n_trials=64, n_channels=N_CHANNELS, n_times=N_TIMES, random_state=7)
    X = (data.X * 1.5 + 0.3).astype(np.float32)
    return {1: X[:1], 64: X}


def run_onnx(path, X):
    onnxruntime = pytest.importorskip("onnxruntime", reason="the test extra installs onnxruntime")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["probabilities"], {"trials": X})[0]


def run_torchscript(path, X):
    model = torch.jit.load(str(path))
    with torch.no_grad():
        return model(torch.as_tensor(X)).numpy()


@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda cls: cls.__name__)
def test_exports_equal_predict_proba(cls, batches, tmp_path):
    clf = fitted(cls)
    to_onnx(clf, tmp_path / "model.onnx")
    to_torchscript(clf, tmp_path / "model.pt")
    for X in batches.values():
        expected = clf.predict_proba(X)
        for name, run, path in (
            ("onnx", run_onnx, tmp_path / "model.onnx"),
            ("torchscript", run_torchscript, tmp_path / "model.pt"),
        ):
            proba = run(path, X)
            assert proba.shape == expected.shape and proba.dtype == np.float32, name
            np.testing.assert_allclose(proba, expected, rtol=0, atol=TOLERANCE, err_msg=name)


def test_sidecar_describes_inputs_and_outputs(tmp_path):
    clf = fitted(EEGNetClassifier)
    returned = to_onnx(clf, tmp_path / "model.onnx")
    info = json.loads((tmp_path / "model.onnx.json").read_text())
    assert info == returned
    assert info["classes"] == ["left", "right"] and info["classes_dtype"] == clf.classes_.dtype.str
    assert info["n_channels"] == N_CHANNELS and info["n_times"] == N_TIMES
    assert info["ch_names"] is None and info["sfreq"] is None
    assert info["input"]["name"] == "trials" and info["input"]["shape"] == ["batch", 3, 96]
    assert "unit of the X passed to fit" in info["input"]["unit"]
    assert info["output"]["shape"] == ["batch", 2]
    assert info["standardization"]["scale"] == clf.scale_
    assert info["standardization"]["channel_mean"] == clf.channel_mean_.tolist()
    assert info["versions"]["skeeg"] == skeeg.__version__
    assert info["model_format"] == "onnx" and info["opset_version"] == 17
    onnx = pytest.importorskip("onnx", reason="the export extra installs onnx")
    graph = onnx.load(str(tmp_path / "model.onnx")).graph
    assert [d.dim_param for d in graph.input[0].type.tensor_type.shape.dim[:1]] == ["batch"]
    assert {node.domain for node in graph.node} <= {"", "ai.onnx"}  # standard operators only


def test_sidecar_holds_channel_names_and_sampling_rate(tmp_path):
    """As the MNE-input work will set them: ch_names_ and sfreq_ go to the sidecar."""
    X, y = trials()
    clf = small(DNNClassifier).fit(X, y)
    clf.ch_names_, clf.sfreq_ = ["C3", "Cz", "C4"], 128.0
    info = to_torchscript(clf, tmp_path / "model.pt")
    assert info["ch_names"] == ["C3", "Cz", "C4"] and info["sfreq"] == 128.0
    assert info["classes"] == [0, 1] and info["model_format"] == "torchscript"


def test_three_classes_without_standardization(batches, tmp_path):
    data = make_motor_imagery(
        n_trials=45, n_channels=N_CHANNELS, n_times=N_TIMES, n_classes=3, random_state=0
    )
    clf = small(DNNClassifier, standardize=False).fit(data.X, np.array([3, 7, 11])[data.y])
    assert clf.net_.module_.n_outputs == 3
    info = to_onnx(clf, tmp_path / "model.onnx")
    assert info["standardization"] is None and info["classes"] == [3, 7, 11]
    for X in batches.values():
        np.testing.assert_allclose(
            run_onnx(tmp_path / "model.onnx", X), clf.predict_proba(X), rtol=0, atol=TOLERANCE
        )


@pytest.mark.parametrize("dynamo", [False, True], ids=["jit-trace", "torch.export"])
def test_export_traces_the_plain_layers(batches, tmp_path, monkeypatch, dynamo):
    """EEGNet's CPU kernels (custom autograd functions, folded copies) never enter an
    export: the graph holds standard operators and gives predict_proba's probabilities."""
    if dynamo:
        pytest.importorskip("onnxscript", reason="dynamo=True needs the onnxscript package")
    clf = fitted(EEGNetClassifier)
    module_class = type(clf.net_.module_)

    def refuse(*args):
        raise AssertionError("a CPU kernel was traced")

    expected = clf.predict_proba(batches[64])
    monkeypatch.setitem(_fast._REGISTRY, module_class,
                        _fast._Kernels(refuse, refuse, lambda module, x: True))
    if not dynamo:
        to_torchscript(clf, tmp_path / "model.pt")
        graph = torch.jit.load(str(tmp_path / "model.pt")).inlined_graph
        kinds = {node.kind() for node in graph.nodes()}
        # A custom autograd function would be traced as a prim::PythonOp.
        assert {kind.split("::")[0] for kind in kinds} <= {"aten", "prim"}
        assert "prim::PythonOp" not in kinds
        np.testing.assert_allclose(
            run_torchscript(tmp_path / "model.pt", batches[64]), expected, rtol=0,
            atol=TOLERANCE,
        )
    to_onnx(clf, tmp_path / "model.onnx", dynamo=dynamo)
    onnx = pytest.importorskip("onnx", reason="the export extra installs onnx")
    graph = onnx.load(str(tmp_path / "model.onnx")).graph
    assert {node.domain for node in graph.node} <= {"", "ai.onnx"}  # standard operators only
    np.testing.assert_allclose(
        run_onnx(tmp_path / "model.onnx", batches[64]), expected, rtol=0, atol=TOLERANCE
    )


def test_export_leaves_the_classifier_unchanged(batches, tmp_path):
    clf = fitted(EEGNetClassifier)
    before = clf.predict_proba(batches[64])
    module = clf.net_.module_
    to_torchscript(clf, tmp_path / "model.pt")
    assert clf.net_.module_ is module and not module._forward_pre_hooks
    assert all(p.requires_grad for p in module.parameters())
    assert np.array_equal(clf.predict_proba(batches[64]), before)


def test_dynamo_exporter(batches, tmp_path):
    pytest.importorskip("onnxscript", reason="dynamo=True needs the onnxscript package")
    clf = fitted(DNNClassifier)
    info = to_onnx(clf, tmp_path / "model.onnx", dynamo=True)
    assert info["opset_version"] >= 17
    for X in batches.values():
        np.testing.assert_allclose(
            run_onnx(tmp_path / "model.onnx", X), clf.predict_proba(X), rtol=0, atol=TOLERANCE
        )


def test_bad_exports_are_refused(tmp_path):
    for export in (to_onnx, to_torchscript):
        with pytest.raises(NotFittedError):
            export(EEGNetClassifier(), tmp_path / "model")
        with pytest.raises(TypeError, match="fitted skeeg classifier"):
            export(object(), tmp_path / "model")
    X, y = trials()
    pipe = make_pipeline(FunctionTransformer(), small(DNNClassifier)).fit(X, y)
    with pytest.raises(TypeError, match=r"pipe\[-1\].*applied to the trials"):
        to_onnx(pipe, tmp_path / "model.onnx")
    assert not any(tmp_path.iterdir())


def test_docstring_examples_run():
    from skeeg import export

    result = doctest.testmod(export, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("cls", [EEGNetClassifier, DNNClassifier], ids=lambda c: c.__name__)
def test_torchscript_checks_its_input_as_predict_proba_does(cls, batches, tmp_path):
    clf = fitted(cls)
    to_torchscript(clf, tmp_path / "model.pt")
    model = torch.jit.load(str(tmp_path / "model.pt"))
    X = batches[64][:4]
    # Another length or channel count would flow through the traced reshapes silently.
    for bad in (X[:, :, :-1], X[:, :, :N_TIMES - 8], X[:, :-1], X[0], np.concatenate([X, X], 2)):
        with pytest.raises(torch.jit.Error, match=rf"n_channels={N_CHANNELS}, n_times={N_TIMES}"):
            model(torch.as_tensor(np.ascontiguousarray(bad)))
    for value in (np.nan, np.inf, 1e39):
        bad = X.astype(np.float64)
        bad[1, 0, 5] = value
        with pytest.raises(torch.jit.Error, match="NaN or infinite"):
            model(torch.as_tensor(bad))
    with pytest.raises(torch.jit.Error, match="real numbers"):
        model(torch.as_tensor(X) > 0)
    # float64 and integers are converted, as predict_proba converts them.
    for other in (X.astype(np.float64), np.round(X * 10).astype(np.int64)):
        np.testing.assert_allclose(
            model(torch.as_tensor(other)).detach().numpy(),
            clf.predict_proba(other), rtol=0, atol=TOLERANCE,
        )


def test_export_paths(tmp_path, monkeypatch):
    clf = fitted(DNNClassifier)
    monkeypatch.setenv("HOME", str(tmp_path))
    for export, name in ((to_torchscript, "model.pt"), (to_onnx, "model.onnx")):
        info = export(clf, "~/" + name)  # ~ expanded, as MNE does
        assert (tmp_path / name).is_file() and (tmp_path / (name + ".json")).is_file()
        assert info["network"] == "skeeg.models.dnn.DNN"
        with pytest.raises(ValueError, match=r"is a folder.*for example"):
            export(clf, tmp_path)
        with pytest.raises(FileNotFoundError, match="does not exist. Create it first"):
            export(clf, tmp_path / "missing" / name)
        with pytest.raises(TypeError, match="str or path-like"):
            export(clf, 3)
    (tmp_path / "taken.pt.json").mkdir()
    with pytest.raises(ValueError, match="sidecar path .* is a folder"):
        to_torchscript(clf, tmp_path / "taken.pt")
    assert not (tmp_path / "taken.pt").exists()


def test_sidecar_names_a_user_network(tmp_path):
    info = to_torchscript(fitted(skeeg.EEGClassifier), tmp_path / "model.pt")
    assert info["network"].endswith("_small_models.SmallNet")
    assert json.loads((tmp_path / "model.pt.json").read_text())["network"] == info["network"]


class BatchLoop(torch.nn.Module):
    """A forward whose Python depends on the batch size: tracing would fix it at 2."""

    def __init__(self, n_channels, n_times, n_classes):
        super().__init__()
        self.spatial = torch.nn.Conv1d(n_channels, 4, 1)
        self.classifier = torch.nn.Linear(4, n_classes)

    def forward(self, x):
        rows = [self.classifier(self.spatial(x[i : i + 1]).pow(2).mean(dim=2)) for i in
                range(x.shape[0])]
        return torch.cat(rows)


def test_an_export_that_fixed_the_batch_size_is_refused(tmp_path):
    X, y = trials()
    clf = skeeg.EEGClassifier(BatchLoop, max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"TorchScript export .* batch of \d .* dynamo=True"):
        to_torchscript(clf, tmp_path / "loop.pt")
    with pytest.raises(ValueError, match=r"ONNX export .* batch of \d"):
        to_onnx(clf, tmp_path / "loop.onnx")
    assert not any(tmp_path.iterdir())  # no broken file left behind


def test_sidecar_unit_of_a_model_fitted_on_epochs(tmp_path):
    mne = pytest.importorskip("mne")
    X, y = trials()
    info = mne.create_info([f"EEG{i}" for i in range(N_CHANNELS)], 128.0, "eeg")
    events = np.column_stack([np.arange(len(y)) * N_TIMES, np.zeros(len(y), int), y + 1])
    epochs = mne.EpochsArray(X * 1e-6, info, events, event_id={"left": 1, "right": 2},
                             verbose=False)
    clf = DNNClassifier(hidden_sizes=(8,), max_epochs=1, random_state=0).fit(epochs)
    sidecar = to_torchscript(clf, tmp_path / "model.pt")
    assert sidecar["input"]["unit"].startswith("uV")
    model = torch.jit.load(str(tmp_path / "model.pt"))
    np.testing.assert_allclose(  # microvolts in, predict_proba's probabilities out
        model(torch.as_tensor(epochs.get_data() * 1e6, dtype=torch.float32)).numpy(),
        clf.predict_proba(epochs), rtol=0, atol=TOLERANCE,
    )


def test_a_fitted_search_gets_a_hint(tmp_path):
    from sklearn.model_selection import GridSearchCV

    X, y = trials()
    search = GridSearchCV(small(DNNClassifier), {"lr": [0.01]}, cv=2).fit(X, y)
    with pytest.raises(TypeError, match="export its best_estimator_"):
        to_torchscript(search, tmp_path / "model.pt")


def test_onnx_exports_and_sidecars_of_one_model_are_the_same_bytes(tmp_path):
    clf = fitted(EEGNetClassifier)
    for name in ("a", "b"):
        to_onnx(clf, tmp_path / f"{name}.onnx")
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes()
    assert (tmp_path / "a.onnx.json").read_bytes() == (tmp_path / "b.onnx.json").read_bytes()
