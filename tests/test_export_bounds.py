"""Exported models answer every batch as predict_proba does: empty ones, and crops in bounded memory."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from skeeg.export import to_onnx, to_torchscript

from _small_models import CLASSIFIERS, N_CHANNELS, N_TIMES, fitted, trials
from _small_models import one_torch_thread  # noqa: F401  (autouse fixture)


@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda cls: cls.__name__)
def test_an_empty_batch_gives_no_rows_in_every_format(cls, tmp_path):
    clf = fitted(cls)
    empty = np.zeros((0, N_CHANNELS, N_TIMES), np.float32)
    n_classes = len(clf.classes_)
    to_torchscript(clf, tmp_path / "m.pt")
    out = torch.jit.load(tmp_path / "m.pt")(torch.as_tensor(empty))
    assert tuple(out.shape) == (0, n_classes)
    onnxruntime = pytest.importorskip("onnxruntime")
    to_onnx(clf, tmp_path / "m.onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    assert session.run(None, {"trials": empty})[0].shape == (0, n_classes)


def test_torchscript_chunks_of_trials_equal_predict_proba():
    """Batches around the chunk size of the scripted loop (4 trials with crops)."""
    from skeeg import EEGNetClassifier

    from _small_models import small

    X, y = trials()
    clf = small(EEGNetClassifier, crop_length=64, crop_stride=8).fit(X, y)
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"chunks-{os.getpid()}.pt")
    try:
        to_torchscript(clf, path)
        model = torch.jit.load(path)
        for n in (1, 3, 4, 5, 9):
            np.testing.assert_allclose(model(torch.as_tensor(X[:n])).numpy(),
                                       clf.predict_proba(X[:n]), atol=1e-5)
    finally:
        for name in (path, path + ".json"):
            if os.path.exists(name):
                os.remove(name)


# Run in a child process: the high-water mark of its memory is its own.
_MEMORY = textwrap.dedent("""
    import os, resource, sys, tempfile, warnings
    warnings.simplefilter("ignore")
    import numpy as np, torch
    torch.set_num_threads(1)
    from skeeg import EEGNetClassifier
    from skeeg.export import to_onnx, to_torchscript

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    X = np.random.default_rng(0).standard_normal((30, 2, 512)).astype(np.float32)
    clf = EEGNetClassifier(kernel_length=9, crop_length=32, crop_stride=1, max_epochs=1,
                           validation_fraction=0, early_stopping=False, random_state=0)
    clf.fit(X[:8], np.arange(8) % 2)
    folder = tempfile.mkdtemp()
    kind = sys.argv[1]
    if kind == "torchscript":
        to_torchscript(clf, os.path.join(folder, "m.pt"))
        model = torch.jit.load(os.path.join(folder, "m.pt"))
        run = lambda trials: model(torch.as_tensor(trials))
    elif kind == "onnx":
        import onnxruntime
        to_onnx(clf, os.path.join(folder, "m.onnx"))
        session = onnxruntime.InferenceSession(os.path.join(folder, "m.onnx"))
        run = lambda trials: session.run(None, {"trials": trials})
    else:
        run = clf.predict_proba
    for _ in range(3):  # compilation, on batches of every chunk size but the last one's
        run(X[:9])
    before = peak_mb()
    run(X)
    print(peak_mb() - before)
""")


def _peak_increase(kind):
    result = subprocess.run([sys.executable, "-c", _MEMORY, kind], capture_output=True,
                            text=True, timeout=300, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def test_exported_crops_are_evaluated_in_bounded_memory():
    """30 trials of 481 crops each, one crop position after another."""
    pytest.importorskip("onnxruntime")
    proba = _peak_increase("predict_proba")
    # The exported graphs run 16 crop positions per pass (and TorchScript 4 trials at a
    # time): a few MB here. All 14,430 crops at once took 45 MB in onnxruntime.
    assert _peak_increase("torchscript") < proba + 15
    assert _peak_increase("onnx") < proba + 15


@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda cls: cls.__name__)
def test_non_finite_trials_give_non_finite_rows_in_onnx(cls, tmp_path):
    """DeepConvNet's max-pooling dropped NaN: its ONNX export answered ordinary probabilities."""
    onnxruntime = pytest.importorskip("onnxruntime")
    clf = fitted(cls)
    X, _ = trials()
    bad = X[:3].copy()
    bad[0, 0, 5], bad[1, 1, 7] = np.nan, np.inf
    to_onnx(clf, tmp_path / "m.onnx")
    out = onnxruntime.InferenceSession(str(tmp_path / "m.onnx")).run(None, {"trials": bad})[0]
    assert np.isfinite(out).all(axis=1).tolist() == [False, False, True]
    np.testing.assert_allclose(out[2], clf.predict_proba(X[2:3])[0], atol=1e-5)


class _Branchy(torch.nn.Module):
    """Flips its logits for loud trials: a branch on the input's values in Python."""

    def __init__(self, n_channels, n_times, n_classes):
        super().__init__()
        self.classifier = torch.nn.Linear(n_channels * n_times, n_classes)

    def forward(self, x):
        z = self.classifier(x.flatten(1))
        return -z if bool(x.abs().max() > 20) else z


@pytest.mark.parametrize("export, kwargs, message", [
    (to_torchscript, {}, "branches on its input in Python.*Converting a tensor to a Python boolean"),
    (to_onnx, {}, "branches on its input in Python.*Converting a tensor to a Python boolean"),
    (to_onnx, {"dynamo": True}, "torch.export cannot export EEGClassifier's network at "
                                r".*test_export_bounds.py:\d+ \(GuardOnDataDependentSymNode"),
], ids=["torchscript", "onnx", "onnx-dynamo"])
def test_a_branch_on_the_input_is_an_export_error(export, kwargs, message, tmp_path):
    from skeeg import EEGClassifier

    if export is to_onnx:
        pytest.importorskip("onnxruntime")
    X, y = trials()
    clf = EEGClassifier(_Branchy, max_epochs=1, validation_fraction=0,
                        early_stopping=False).fit(X, y)
    with pytest.raises(ValueError, match=message):
        export(clf, tmp_path / "m.model", **kwargs)
    assert not (tmp_path / "m.model").exists()



class _BatchBranch(_Branchy):
    """Flips its logits for batches of 4 trials or more: a branch on the batch size."""

    def forward(self, x):
        z = self.classifier(x.flatten(1))
        return z if x.shape[0] < 4 else z.flip(1)


class _LargeBatchBranch(_Branchy):
    """Flips its logits for batches above 8 trials (none of the 1 and 5 of the first check)."""

    def forward(self, x):
        z = self.classifier(x.flatten(1))
        return -z if x.shape[0] > 8 else z


class _QuietBranch(_Branchy):
    """Flips its logits only for trials of huge spread (a million times the training's)."""

    def forward(self, x):
        z = self.classifier(x.flatten(1))
        return -z if bool(x.std() > 1e4) else z


@pytest.mark.parametrize("module", [_BatchBranch, _LargeBatchBranch, _QuietBranch])
def test_branches_outside_the_traced_example_are_found(module, tmp_path):
    from skeeg import EEGClassifier

    X, y = trials()
    clf = EEGClassifier(module, max_epochs=1, validation_fraction=0,
                        early_stopping=False).fit(X, y)
    with pytest.raises(ValueError, match="returns other probabilities than the network"):
        to_torchscript(clf, tmp_path / "m.pt")


class _Attention(torch.nn.Module):
    """torch's own transformer encoder: its fused inference kernel is no exportable operator."""

    def __init__(self, n_channels, n_times, n_classes):
        super().__init__()
        self.embedding = torch.nn.Linear(n_channels, 8)
        layer = torch.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, dropout=0.0)
        self.encoder = torch.nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.classifier = torch.nn.Linear(8, n_classes)

    def forward(self, x):
        return self.classifier(self.encoder(self.embedding(x.transpose(1, 2))).mean(1))


def test_torchs_attention_modules_export(tmp_path):
    from skeeg import EEGClassifier

    onnxruntime = pytest.importorskip("onnxruntime")
    X, y = trials()
    clf = EEGClassifier(_Attention, max_epochs=1, random_state=0).fit(X, y)
    expected = clf.predict_proba(X[:5])
    to_torchscript(clf, tmp_path / "m.pt")
    got = torch.jit.load(tmp_path / "m.pt")(torch.as_tensor(X[:5])).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)
    to_onnx(clf, tmp_path / "m.onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    np.testing.assert_allclose(session.run(None, {"trials": X[:5]})[0], expected, atol=1e-5)
    assert torch.backends.mha.get_fastpath_enabled()  # the user's setting, restored


def test_trials_overflowing_inside_the_network_are_refused_or_nan_in_exports(tmp_path):
    # predict_proba refuses a network output that is not finite: TorchScript refuses it
    # too, and an ONNX graph (which cannot raise) gives that trial NaN probabilities.
    from skeeg import EEGNetClassifier

    X, y = trials()
    clf = EEGNetClassifier(max_epochs=1, random_state=0, kernel_length=15,
                           separable_kernel_length=7).fit(X, y)
    x = X[:2].astype(np.float32).copy()
    x[1] = 3e38  # finite in float32, overflowing in the first convolution
    with pytest.raises(ValueError, match="output is not finite"):
        clf.predict_proba(x)
    to_torchscript(clf, tmp_path / "m.pt")
    scripted = torch.jit.load(str(tmp_path / "m.pt"))
    with pytest.raises(Exception, match="output is not finite"):
        scripted(torch.from_numpy(x))
    np.testing.assert_allclose(scripted(torch.from_numpy(x[:1])).numpy(),
                               clf.predict_proba(x[:1]), atol=1e-5)
    ort = pytest.importorskip("onnxruntime")
    to_onnx(clf, tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    out = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert np.isnan(out[1]).all() and np.isfinite(out[0]).all()


@pytest.mark.parametrize("options, error, match", [
    ({"opset_version": True}, TypeError, "opset_version must be an integer or None; got True"),
    ({"opset_version": 2.5}, TypeError, "opset_version must be an integer"),
    ({"opset_version": "17"}, TypeError, "opset_version must be an integer"),
    ({"opset_version": 7}, ValueError, r"opset_version=7 is outside 11\.\.20"),
    ({"opset_version": 21}, ValueError, r"opset_version=21 is outside 11\.\.20"),
    ({"dynamo": "yes"}, TypeError, "dynamo must be True or False"),
])
def test_onnx_options_are_checked_before_torch_sees_them(options, error, match, tmp_path,
                                                         capsys):
    pytest.importorskip("onnx")
    with pytest.raises(error, match=match):
        to_onnx(fitted(CLASSIFIERS[0]), tmp_path / "m.onnx", **options)
    assert not any(tmp_path.iterdir())
    assert capsys.readouterr().out == ""  # no graph dump from torch


def test_an_export_path_ending_in_a_sidecar_suffix_is_refused(tmp_path):
    # It is, or would collide with, another export's sidecar.
    clf = fitted(CLASSIFIERS[0])
    to_torchscript(clf, tmp_path / "a.pt")
    sidecar = (tmp_path / "a.pt.json").read_bytes()
    for export in (to_torchscript, to_onnx):
        with pytest.raises(ValueError, match=r"ends in '\.json', the suffix of the sidecars"):
            export(clf, tmp_path / "a.pt.json")
    assert (tmp_path / "a.pt.json").read_bytes() == sidecar
