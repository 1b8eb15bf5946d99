"""skeeg.serialization: saving fitted classifiers without pickle, and refusing bad files."""

import doctest
import json
import os
import pickle
import time
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import save_file
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from skorch.callbacks import Callback

import skeeg
from skeeg import DNNClassifier, EEGNetClassifier
from skeeg import serialization
from skeeg._training import TrialSubset
from skeeg.serialization import load, save

from _small_models import CLASSIFIERS, check_every_classifier_has_a_configuration, fitted
from _small_models import one_torch_thread  # noqa: F401  (autouse fixture)
from _small_models import TRUSTED, small, trials


def test_every_classifier_has_a_small_configuration():
    check_every_classifier_has_a_configuration()


def _assert_same_fitted(original, loaded):
    assert type(loaded) is type(original)
    assert repr(loaded.get_params()) == repr(original.get_params())
    for name, value in vars(original).items():
        if name.endswith("_") and not name.startswith("_") and name not in ("net_", "history_"):
            other = getattr(loaded, name)
            assert type(other) is type(value), name
            if isinstance(value, np.ndarray):
                assert other.dtype == value.dtype and np.array_equal(other, value), name
            else:
                assert other == value, name
    pd.testing.assert_frame_equal(loaded.history_, original.history_, check_exact=True)
    original_state = original.net_.module_.state_dict()
    for name, tensor in loaded.net_.module_.state_dict().items():
        assert torch.equal(tensor, original_state[name]), name


@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda cls: cls.__name__)
def test_round_trip_is_bitwise_and_refits(cls, tmp_path):
    clf = fitted(cls)
    X, y = trials()
    path = tmp_path / "model.safetensors"
    save(clf, path)
    loaded = load(path, trusted=TRUSTED.get(cls.__name__, ()))
    _assert_same_fitted(clf, loaded)
    # The same model gives the same bytes, saved again or saved from its copy,
    # through the method or skeeg.save.
    first = path.read_bytes()
    clf.save(path) if cls.__name__ == "EEGNetClassifier" else skeeg.save(clf, path)
    save(loaded, tmp_path / "again.safetensors")
    assert path.read_bytes() == first and (tmp_path / "again.safetensors").read_bytes() == first
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))  # bitwise
    assert np.array_equal(loaded.predict_proba(X[:3]), clf.predict_proba(X[:3]))
    assert np.array_equal(loaded.predict(X), clf.predict(X))
    assert loaded.net_.device == "cpu" and loaded.device_ == "cpu"
    os.remove(path)  # the loaded model does not depend on the file
    loaded.set_params(max_epochs=1).fit(X[:20], np.array(["left", "right"])[y[:20]])
    assert loaded.predict_proba(X).shape == (len(X), 2)
    assert not np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize(
    "labels",
    [
        np.array([3, 7, 11]),
        np.array(["left hand", "right hand", "feet"]),
        np.array(["a", "bb", "c"], dtype=object),
        np.array([True, False, True]),
        np.array([1.0, 2.0, 4.0]),
        np.array([-1, 1, 2], dtype=np.int8),
        np.array(["gauche", "droite ä", "pieds \u2028\t\x7f"]),
    ],
    ids=["int", "str", "object", "bool", "float", "int8", "unicode"],
)
def test_labels_keep_their_values_and_dtype(labels, tmp_path):
    X, y = trials(n_trials=30, n_classes=3)
    y = labels[y % len(np.unique(labels))]
    clf = small(DNNClassifier, max_epochs=1, validation_fraction=0, early_stopping=False).fit(X, y)
    save(clf, tmp_path / "m.safetensors")
    loaded = load(tmp_path / "m.safetensors")
    save(loaded, tmp_path / "again.safetensors")
    assert (tmp_path / "again.safetensors").read_bytes() == (tmp_path / "m.safetensors").read_bytes()
    assert loaded.classes_.dtype == clf.classes_.dtype
    assert loaded.classes_.tolist() == clf.classes_.tolist()
    predicted = loaded.predict(X)
    assert predicted.dtype == clf.predict(X).dtype and np.array_equal(predicted, clf.predict(X))


def test_parameters_of_every_kind_round_trip(tmp_path):
    X, y = trials()
    clf = small(
        DNNClassifier, optimizer=torch.optim.AdamW, class_weight={0: 1.0, 1: 2.5},
        random_state=np.random.RandomState(3), standardize=False, max_epochs=1,
    ).fit(X, y)
    save(clf, tmp_path / "m.safetensors")
    loaded = load(tmp_path / "m.safetensors")
    assert loaded.optimizer is torch.optim.AdamW
    assert loaded.class_weight == {0: 1.0, 1: 2.5}
    assert type(next(iter(loaded.class_weight))) is int
    assert loaded.hidden_sizes == (32, 16)
    assert np.array_equal(
        loaded.random_state.get_state()[1], clf.random_state.get_state()[1]
    )
    assert loaded.standardize is False  # the network is fed X as given:
    assert not loaded.channel_mean_.any() and loaded.scale_ == 1.0
    assert torch.equal(loaded.net_.criterion_.weight, clf.net_.criterion_.weight)
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_training_state_continues_as_the_original_would(tmp_path):
    """The optimiser's state and skorch's history come back: further training matches."""
    X, y = trials()
    clf = small(DNNClassifier, validation_fraction=0, early_stopping=False).fit(X, y)
    save(clf, tmp_path / "m.safetensors")
    loaded = load(tmp_path / "m.safetensors")
    original_state = clf.net_.optimizer_.state_dict()
    loaded_state = loaded.net_.optimizer_.state_dict()
    assert loaded_state["param_groups"] == original_state["param_groups"]
    for index, entry in original_state["state"].items():
        for key, value in entry.items():
            assert torch.equal(loaded_state["state"][index][key], value)
    assert len(loaded.net_.history) == len(clf.net_.history)
    assert loaded.net_.history[-1, "train_loss"] == clf.net_.history[-1, "train_loss"]
    # Continued through the public API, both draw the same stream and step alike.
    for estimator in (clf, loaded):
        estimator.partial_fit(X, y)
    for a, b in zip(clf.net_.module_.parameters(), loaded.net_.module_.parameters()):
        assert torch.equal(a, b)
    assert len(loaded.history_) == len(clf.history_) == 2
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


class _Adamish(torch.optim.Adam):
    pass


def test_a_class_outside_torch_optim_needs_trusted(tmp_path):
    X, y = trials()
    clf = small(DNNClassifier, optimizer=_Adamish, max_epochs=1).fit(X, y)
    save(clf, tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match=r"m\.safetensors.*_Adamish.*trusted=\[TheClass\]"):
        load(tmp_path / "m.safetensors")
    loaded = load(tmp_path / "m.safetensors", trusted=[_Adamish])
    assert loaded.optimizer is _Adamish
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_what_cannot_be_saved_is_refused_clearly(tmp_path):
    X, y = trials()
    with pytest.raises(NotFittedError):
        save(DNNClassifier(), tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="fitted skeeg classifier"):
        save(object(), tmp_path / "m.safetensors")
    pipe = make_pipeline(FunctionTransformer(), small(DNNClassifier, max_epochs=1)).fit(X, y)
    with pytest.raises(TypeError, match=r"pipe\[-1\]"):
        save(pipe, tmp_path / "m.safetensors")
    clf = small(DNNClassifier, max_epochs=1, callbacks=[Callback()]).fit(X, y)
    with pytest.raises(TypeError, match=r"set_params\(callbacks=None\)"):
        save(clf, tmp_path / "m.safetensors")
    clf.set_params(callbacks=None)
    clf.ch_names_ = [lambda: None] * clf.n_channels_  # a fitted value JSON cannot hold
    with pytest.raises(TypeError, match="fitted attribute ch_names_"):
        save(clf, tmp_path / "m.safetensors")
    assert not any(tmp_path.iterdir())  # nothing half-written is left


def test_paths_as_users_write_them(tmp_path, monkeypatch):
    clf = fitted(DNNClassifier)
    monkeypatch.setenv("HOME", str(tmp_path))
    clf.save("~/model.safetensors")  # ~ expanded, as MNE does
    assert (tmp_path / "model.safetensors").is_file()
    X = trials()[0]
    np.testing.assert_array_equal(
        load("~/model.safetensors").predict_proba(X), clf.predict_proba(X)
    )
    with pytest.raises(ValueError, match=r"is a folder; give the name of the file .*model"):
        clf.save(tmp_path)
    with pytest.raises(FileNotFoundError, match="folder .*missing.* does not exist"):
        save(clf, tmp_path / "missing" / "model.safetensors")
    with pytest.raises(ValueError, match="not a regular file"):
        load(tmp_path)
    with pytest.raises(TypeError, match="str or path-like"):
        load(None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]


def test_only_the_declared_fitted_attributes_are_saved_and_loaded(tmp_path):
    """A file holds what fit leaves (skeeg._fitted); an attribute of the user's is not saved."""
    import pandas as pd

    X, y = trials()
    frame = pd.DataFrame(X[:, 0], columns=[f"t{i}" for i in range(X.shape[2])])
    clf = small(DNNClassifier, max_epochs=1).fit(frame, y)  # sets feature_names_in_
    clf.threshold_ = 0.3
    with pytest.warns(UserWarning, match=r"\['threshold_'\] are not among them"):
        save(clf, tmp_path / "m.safetensors")
    loaded = load(tmp_path / "m.safetensors")
    assert not hasattr(loaded, "threshold_")
    del clf.threshold_
    _assert_same_fitted(clf, loaded)
    assert list(loaded.feature_names_in_) == list(frame.columns)


@pytest.mark.parametrize("edit, match", [
    # feature_names_in_ is what scikit-learn checks DataFrame columns against.
    (lambda c: c["fitted"].update(feature_names_in_={"ndarray": {
        "dtype": "|O", "shape": [1], "data": ["zz"]}}),
     "feature_names_in_ names 1 columns; the model has n_features_in_="),
    (lambda c: c["fitted"].update(feature_names_in_={"ndarray": {
        "dtype": "<i8", "shape": [1], "data": [5]}}),
     "feature_names_in_ is .*; it must be a 1-D object array of distinct column names"),
    (lambda c: c["fitted"].update(evil_=1), "fitted attribute evil_, which no fit leaves"),
    (lambda c: c["fitted"].update(n_members_=7), "fitted attribute n_members_, which no fit"),
    (lambda c: c.update(surprise=1), r"its content holds \['surprise'\], which save never"),
])
def test_a_file_holds_nothing_fit_does_not_leave(saved, tmp_path, edit, match):
    edited = tmp_path / "edited.safetensors"
    _rewrite(saved, edited, edit)
    _refused(edited, match)


# ---------------------------------------------------------------------------
# A model trained on a GPU


def _rewrite(source, target, edit=None, tensors=None, digest=True, metadata=None, edit_text=None):
    """Write ``source``'s model to ``target`` after editing its JSON or tensors."""
    from safetensors import safe_open

    with safe_open(source, framework="pt") as handle:
        header = handle.metadata()
        stored = {name: handle.get_tensor(name) for name in handle.keys()}
    content = json.loads(header["content"])
    if edit is not None:
        edit(content)
    if tensors is not None:
        tensors(stored)
    text = json.dumps(content, separators=(",", ":"))
    text = text if edit_text is None else edit_text(text)
    header = {**header, "content": text, **(metadata or {})}
    if digest:
        header["sha256"] = serialization._digest(text, stored)
    save_file(stored, target, metadata=header)


def test_a_model_saved_on_a_gpu_loads_on_the_cpu(tmp_path):
    X, y = trials()
    clf = fitted(EEGNetClassifier)
    save(clf, tmp_path / "cpu.safetensors")

    def on_gpu(content):
        content["params"]["device"] = "cuda"
        content["fitted"]["device_"] = "cuda:0"
        content["fitted"]["cuda_graph_"] = True

    _rewrite(tmp_path / "cpu.safetensors", tmp_path / "gpu.safetensors", on_gpu)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = load(tmp_path / "gpu.safetensors")
    if not torch.cuda.is_available():
        assert any("trained on 'cuda:0'" in str(w.message) for w in caught)
        assert loaded.device_ == "cpu" and loaded.device == "cuda"
        assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    loaded = load(tmp_path / "gpu.safetensors", device="cpu")
    assert loaded.device_ == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_model_trained_on_a_gpu_round_trips(tmp_path):
    X, y = trials()
    clf = small(EEGNetClassifier, device="cuda").fit(X, y)
    save(clf, tmp_path / "gpu.safetensors")
    loaded = load(tmp_path / "gpu.safetensors", device="cpu")
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-5)
    again = load(tmp_path / "gpu.safetensors")
    assert again.device_.startswith("cuda")
    assert np.array_equal(again.predict_proba(X), clf.predict_proba(X))


# ---------------------------------------------------------------------------
# Bad files: every one a ValueError naming the file


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "model.safetensors"
    save(fitted(DNNClassifier), path)
    return path


def _refused(path, match):
    with pytest.raises(ValueError, match=match) as info:
        load(path)
    assert str(path) in str(info.value)
    return info.value


def test_truncated_files_are_refused(saved, tmp_path):
    data = saved.read_bytes()
    for size in (0, 5, 8, 200, len(data) // 2, len(data) - 1):
        cut = tmp_path / f"cut{size}.safetensors"
        cut.write_bytes(data[:size])
        _refused(cut, "truncated")


def test_foreign_files_are_refused(tmp_path):
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps({"weights": [1.0, 2.0]}))
    _refused(pickled, "not a skeeg model file")
    zipped = tmp_path / "model.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("weights.json", "{}")
    _refused(zipped, "not a skeeg model file")
    text = tmp_path / "model.json"
    text.write_text('{"format": "skeeg-classifier"}')
    _refused(text, "not a skeeg model file")
    other = tmp_path / "other.safetensors"
    save_file({"weight": torch.zeros(3)}, other)
    _refused(other, "not a skeeg model")
    folder = tmp_path / "folder"
    folder.mkdir()
    _refused(folder, "not a regular file")
    _refused(tmp_path / "missing.safetensors", "cannot be read")


def test_absurd_declared_sizes_are_refused_without_allocating(saved, tmp_path):
    data = saved.read_bytes()
    huge = tmp_path / "huge_header.safetensors"
    huge.write_bytes((2**62).to_bytes(8, "little") + data[8:])
    _refused(huge, "declare a header of 4611686018427387904 bytes")
    wide = tmp_path / "wide.safetensors"
    start = time.perf_counter()

    def many_channels(content):
        content["fitted"]["n_channels_"] = 10**9
        content["fitted"]["n_features_in_"] = 10**9

    _rewrite(saved, wide, many_channels)
    _refused(wide, r"channel_mean_ has shape \(3,\); it must hold one offset per channel")

    def many_channels_and_means(content):
        many_channels(content)
        content["fitted"]["channel_mean_"]["ndarray"]["shape"] = [10**9]
    _rewrite(saved, wide, many_channels_and_means)
    _refused(wide, r"declares the shape \(1000000000,\)")

    def long_strings(content):
        content["fitted"]["classes_"]["ndarray"]["dtype"] = "<U1000000000"
    _rewrite(saved, wide, long_strings)
    _refused(wide, "classes_ has .*dtype '<U1000000000'|declares strings of 1000000000")

    def long_trials(content):
        content["fitted"]["n_times_"] = 10**12
    _rewrite(saved, wide, long_trials)
    # The network it declares is refused before it is built, even on the meta device.
    _refused(wide, "build a network larger than the weights it holds|n_times must be a "
                   "positive integer up to")
    assert time.perf_counter() - start < 10


def test_tampered_files_are_refused(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    data[-3] ^= 0xFF  # one byte of the weights
    flipped = tmp_path / "flipped.safetensors"
    flipped.write_bytes(bytes(data))
    _refused(flipped, "does not match the SHA-256 digest")

    edited = tmp_path / "edited.safetensors"

    def bigger_network(content):
        content["params"]["hidden_sizes"] = {"tuple": [64, 16]}
    _rewrite(saved, edited, bigger_network, digest=False)
    _refused(edited, "does not match the SHA-256 digest")
    # Edited with the digest recomputed: the shapes give it away.
    _rewrite(saved, edited, bigger_network)
    error = _refused(edited, r"module\.features\.hidden1\.linear\.weight")
    assert "(32, 288)" in str(error) and "(64, 288)" in str(error)

    def drop(tensors):
        del tensors["module.classifier.bias"]
    _rewrite(saved, edited, tensors=drop)
    _refused(edited, r"lacks the tensor module\.classifier\.bias")

    def extra(tensors):
        tensors["module.extra"] = torch.zeros(2)
    _rewrite(saved, edited, tensors=extra)
    _refused(edited, r"module\.extra")

    def retype(tensors):
        tensors["module.classifier.bias"] = tensors["module.classifier.bias"].double()
    _rewrite(saved, edited, tensors=retype)
    _refused(edited, r"module\.classifier\.bias has shape \(1,\) and dtype torch\.float64")

    def optimizer_shape(tensors):
        name = next(n for n, t in tensors.items() if n.startswith("optimizer.") and t.ndim == 2)
        tensors[name] = torch.zeros(3, 3)
    _rewrite(saved, edited, tensors=optimizer_shape)
    _refused(edited, "optimizer state")

    def optimizer_setting(content):
        groups = next(v for k, v in content["optimizer"]["dict"] if k == "param_groups")
        settings = groups[0]["dict"]
        next(pair for pair in settings if pair[0] == "lr")[1] = "fast"
    _rewrite(saved, edited, optimizer_setting)
    _refused(edited, "optimizer setting 'lr' is 'fast'")


def test_files_that_would_run_code_are_refused(saved, tmp_path):
    edited = tmp_path / "edited.safetensors"

    def evil_class(content):
        content["estimator"] = "os.system"
    _rewrite(saved, edited, evil_class)
    _refused(edited, "names the class 'os.system'")

    def evil_optimizer(content):
        content["params"]["optimizer"] = {"class": "subprocess.Popen"}
    _rewrite(saved, edited, evil_optimizer)
    _refused(edited, "subprocess.Popen")

    def unknown_tag(content):
        content["params"]["lr"] = {"pickle": "gASVAAAAAAAAAAB9lC4="}
    _rewrite(saved, edited, unknown_tag)
    _refused(edited, "unknown tag 'pickle'")

    def nested(text):
        return text.replace('"lr":0.01', '"lr":' + "[" * 100_000 + "0.01" + "]" * 100_000)
    _rewrite(saved, edited, edit_text=nested)
    assert len(edited.read_bytes()) > 200_000
    _refused(edited, "nested too deeply|cannot be read")

    def bad_parameter(content):
        content["params"]["max_epochs"] = -3
    _rewrite(saved, edited, bad_parameter)
    _refused(edited, r"'max_epochs' parameter of DNNClassifier must be an integer in the range")

    def unknown_parameter(content):
        content["params"]["no_such_parameter"] = 1
    _rewrite(saved, edited, unknown_parameter)
    _refused(edited, "no_such_parameter")

    def odd_attribute(content):
        content["fitted"]["__class__"] = 1
    _rewrite(saved, edited, odd_attribute)
    _refused(edited, "fitted attribute named '__class__'")

    def not_a_number(text):
        return text.replace('"lr":0.01', '"lr":NaN')
    _rewrite(saved, edited, edit_text=not_a_number)
    _refused(edited, "NaN is not JSON")

    _rewrite(saved, edited, metadata={"format_version": "99"})
    _refused(edited, "newer skeeg")


def test_docstring_examples_run():
    from skeeg import serialization

    result = doctest.testmod(serialization, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_edited_files_cannot_make_load_allocate_much(saved, tmp_path):
    edited = tmp_path / "edited.safetensors"

    def wide_strings(content):  # a few KB of JSON declaring 256 MiB of labels
        content["fitted"]["classes_"] = {"ndarray": {
            "dtype": "<U65536", "shape": [1024], "data": [""] * 1024}}
    _rewrite(saved, edited, wide_strings)
    _refused(edited, "more than a file of its size may hold")

    def many_dimensions(content):
        content["fitted"]["validation_groups_"] = {"ndarray": {
            "dtype": "<i8", "shape": [0] * 100, "data": []}}
    _rewrite(saved, edited, many_dimensions)
    _refused(edited, "maximum supported dimension")  # named with the file


def test_non_finite_weights_are_refused(saved, tmp_path):
    edited = tmp_path / "nan.safetensors"

    def poison(tensors):
        tensors["module.classifier.weight"] = tensors["module.classifier.weight"].clone()
        tensors["module.classifier.weight"][0, 0] = float("nan")
    _rewrite(saved, edited, tensors=poison)
    _refused(edited, r"module\.classifier\.weight holds NaN or infinite values")


class Computes(torch.nn.Module):
    """Its constructor computes from its weights (as braindecode's EEGNetv4): no meta build."""

    def __init__(self, n_channels, n_times, n_classes, n_filters=4):
        super().__init__()
        self.spatial = torch.nn.Conv1d(n_channels, n_filters, 1)
        self.classifier = torch.nn.Linear(n_filters, n_classes)
        self.peak = float(self.spatial.weight.detach().abs().max())

    def forward(self, x):
        return self.classifier(self.spatial(x).pow(2).mean(dim=2).add(1e-6).log())


def test_a_trusted_module_built_without_a_skeleton_is_bounded_by_the_file(tmp_path):
    from skeeg import EEGClassifier

    X, y = trials()
    clf = EEGClassifier(Computes, max_epochs=1, random_state=0).fit(X, y)
    path = tmp_path / "computes.safetensors"
    save(clf, path)
    loaded = load(path, trusted=[Computes])
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    edited = tmp_path / "huge.safetensors"

    def huge(content):  # 800 MB of spatial filters, were they built
        content["params"]["module_params"] = {"dict": [["n_filters", 200_000_000]]}
    _rewrite(path, edited, huge)
    with pytest.raises(ValueError, match="larger than the weights it holds") as info:
        load(edited, trusted=[Computes])
    assert str(edited) in str(info.value)


class Lazy(torch.nn.Module):
    """Its classifier's input size is left to torch (nn.LazyLinear): known after a forward."""

    def __init__(self, n_channels, n_times, n_classes):
        super().__init__()
        self.spatial = torch.nn.Conv1d(n_channels, 4, 5)
        self.classifier = torch.nn.LazyLinear(n_classes)

    def forward(self, x):
        return self.classifier(self.spatial(x).flatten(1))


class BreaksOnLoad(Lazy):
    loading = False

    def forward(self, x):
        if BreaksOnLoad.loading:
            raise RuntimeError("needs a GPU")
        return super().forward(x)


@pytest.mark.parametrize("n_members", [1, 2])
def test_modules_with_lazy_layers_round_trip(n_members, tmp_path):
    from skeeg import EEGClassifier

    X, y = trials()
    clf = EEGClassifier(Lazy, max_epochs=1, n_members=n_members, random_state=0).fit(X, y)
    save(clf, tmp_path / "lazy.safetensors")
    loaded = load(tmp_path / "lazy.safetensors", trusted=[Lazy])
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_a_module_failing_to_build_at_load_is_named(tmp_path, monkeypatch):
    from skeeg import EEGClassifier

    X, y = trials()
    clf = EEGClassifier(BreaksOnLoad, max_epochs=1, random_state=0).fit(X, y)
    save(clf, tmp_path / "m.safetensors")
    monkeypatch.setattr(BreaksOnLoad, "loading", True)
    with pytest.raises(ValueError, match="BreaksOnLoad fails on trials.*RuntimeError: needs a GPU"):
        load(tmp_path / "m.safetensors", trusted=[BreaksOnLoad])


def test_trusted_must_be_a_list_of_classes(tmp_path):
    X, y = trials()
    clf = small(DNNClassifier, optimizer=_Adamish, max_epochs=1).fit(X, y)
    save(clf, tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match=r"trusted must be a list of classes; .* Pass \[_Adamish\]"):
        load(tmp_path / "m.safetensors", trusted=_Adamish)
    assert type(load(tmp_path / "m.safetensors", trusted=[_Adamish])) is DNNClassifier


def test_a_path_holding_a_nul_character_is_refused_before_writing(tmp_path):
    # The system would cut the name at the NUL and write another file.
    from skeeg.export import to_torchscript

    clf = fitted(DNNClassifier)
    for write in (lambda p: save(clf, p), lambda p: to_torchscript(clf, p), load):
        with pytest.raises(ValueError, match="holds a NUL character"):
            write(str(tmp_path / "model") + "\0tail")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("policy, kwargs", [
    ("StepLR", dict(step_size=1, gamma=0.5)),
    ("ReduceLROnPlateau", dict(monitor="valid_loss", patience=0, factor=0.5)),  # no initial_lr
    ("CyclicLR", dict(base_lr=1e-4, max_lr=1e-2, step_size_up=2)),  # adds its bounds
    (torch.optim.lr_scheduler.OneCycleLR, dict(max_lr=0.01, total_steps=100)),
], ids=["StepLR", "ReduceLROnPlateau", "CyclicLR", "OneCycleLR"])
def test_a_scheduled_learning_rate_round_trips(policy, kwargs, tmp_path):
    # A scheduler moves lr away from the parameter's: such a file is what a fit leaves,
    # and loads; continued training goes on from the scheduled lr.
    from skorch.callbacks import LRScheduler

    X, y = trials()
    clf = small(DNNClassifier, max_epochs=4, lr=0.01, early_stopping=False,
                callbacks=[LRScheduler(policy, **kwargs)]).fit(X, y)
    clf.set_params(callbacks=None)
    save(clf, tmp_path / "m.safetensors")
    loaded = load(tmp_path / "m.safetensors")
    group = loaded.net_.optimizer_.param_groups[0]
    assert group["lr"] == clf.net_.optimizer_.param_groups[0]["lr"] != 0.01


def test_save_keeps_permissions_follows_links_and_refuses_read_only_files(tmp_path):
    clf = fitted(DNNClassifier)
    target = tmp_path / "m.safetensors"
    save(clf, target)
    assert (target.stat().st_mode & 0o777) == 0o666 & ~_umask()  # not mkstemp's 0600
    target.chmod(0o640)
    save(clf, target)
    assert target.stat().st_mode & 0o777 == 0o640  # a replaced file keeps its mode
    link = tmp_path / "latest.safetensors"
    link.symlink_to(target)
    save(clf, link)
    assert link.is_symlink() and load(link).n_channels_ == clf.n_channels_
    target.chmod(0o444)
    with pytest.raises(ValueError, match="is read-only"):
        save(clf, target)
    assert target.stat().st_mode & 0o777 == 0o444


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
