"""Model files that could hang, crash or mislead skeeg.load: refused, naming the file.

Each case runs ``skeeg.load`` in a child process with a time and memory
limit, so that a hang or a crash fails the test instead of stopping pytest.
"""

import json
import re
import os
import subprocess
import sys
import textwrap

import pytest

from skeeg import DNNClassifier, save
from skeeg.serialization._file import _digest
from skeeg.serialization import _read_file

from _small_models import small, trials

CHILD = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
    import skeeg
    for path in sys.argv[1:]:  # one line per file
        try:
            skeeg.load(path)
        except (ValueError, TypeError) as error:
            print("REFUSED", type(error).__name__, str(error).replace("\\n", " "))
        else:
            print("LOADED")
""")


def _load_in_child(path, timeout=120):
    return _load_all_in_child([path], timeout)[0]


def _load_all_in_child(paths, timeout=120):
    """Load each file in one child process with a memory and time limit: one line per file."""
    result = subprocess.run([sys.executable, "-c", CHILD, *map(str, paths)], capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(paths), result.stdout[-2000:]
    return lines


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    X, y = trials()
    path = tmp_path_factory.mktemp("model") / "m.safetensors"
    save(small(DNNClassifier).fit(X, y), path)
    return path


def _edited(model_file, tmp_path, edit):
    """A copy of the model whose JSON content ``edit`` changed, its digest recomputed."""
    from safetensors.torch import save as to_bytes

    metadata, tensors = _read_file(model_file)
    metadata = dict(metadata)
    metadata["content"] = edit(metadata["content"])
    metadata["sha256"] = _digest(metadata["content"], tensors)
    path = tmp_path / "edited.safetensors"
    path.write_bytes(to_bytes(tensors, metadata=metadata))
    return path


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    out = _load_in_child(fifo, timeout=60)
    assert out.startswith("REFUSED ValueError") and "not a regular file" in out
    assert str(fifo) in out


def test_a_folder_is_refused(tmp_path):
    out = _load_in_child(tmp_path)
    assert out.startswith("REFUSED ValueError") and "not a regular file" in out


def test_repeated_json_keys_are_refused(model_file, tmp_path):
    path = _edited(model_file, tmp_path, lambda text: text.replace('"lr":', '"lr":0.5,"lr":', 1))
    out = _load_in_child(path)
    assert out.startswith("REFUSED ValueError")
    assert "'lr' appears twice" in out and str(path) in out


def test_the_file_is_read_once_not_mapped(model_file, tmp_path):
    """Loaded tensors are copies: the file can be truncated afterwards (a map would SIGBUS)."""
    from skeeg import load

    path = tmp_path / "copy.safetensors"
    path.write_bytes(model_file.read_bytes())
    clf = load(path)
    path.write_bytes(b"")  # another process rewriting the file
    X, _ = trials()
    assert clf.predict_proba(X).shape == (len(X), 2)


def test_the_header_is_parsed_strictly(model_file, tmp_path):
    raw = model_file.read_bytes()
    length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + length])
    text = json.dumps(header)
    text = text.replace('{"__metadata__": {', '{"__metadata__": {"format": "x", ', 1)
    text = text.encode() + b" " * (-len(text) % 8)
    path = tmp_path / "header.safetensors"
    path.write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + length :])
    out = _load_in_child(path)
    assert out.startswith("REFUSED ValueError") and "'format' appears twice" in out


@pytest.mark.parametrize("cls, params, edit", [
    ("EEGConformerClassifier", dict(n_filters=4, attention_heads=2, attention_depth=1),
     ('"attention_depth":1', '"attention_depth":30000')),
    ("ATCNetClassifier", dict(tcn_depth=1), ('"tcn_depth":1', '"tcn_depth":10000000')),
    ("DNNClassifier", dict(hidden_sizes=(8,)),
     ('"hidden_sizes":{"tuple":[8]}', '"hidden_sizes":{"tuple":[' + ",".join(["8"] * 300_000) + "]}")),
])
def test_a_declared_network_is_bounded_by_the_files_tensors(tmp_path, cls, params, edit):
    """The network a file's parameters declare is refused before it is built."""
    import numpy as np

    import skeeg

    n_times = 1125 if cls == "ATCNetClassifier" else 128
    X = np.random.default_rng(0).standard_normal((8, 3, n_times)).astype(np.float32)
    clf = getattr(skeeg, cls)(max_epochs=1, validation_fraction=0, early_stopping=False,
                              **params).fit(X, np.arange(8) % 2)
    save(clf, tmp_path / "m.safetensors")
    old, new = edit
    path = _edited(tmp_path / "m.safetensors", tmp_path, lambda text: text.replace(old, new, 1))
    assert new[:40] in _read_file(path)[0]["content"]
    out = _load_in_child(path, timeout=60)
    assert out.startswith("REFUSED ValueError") and str(path) in out
    # Refused by the parameter table where a bound is declared (depths), else by the
    # file's own tensors before the network is built.
    assert "larger than the weights it holds" in out or "parameter of" in out


# ---------------------------------------------------------------------------
# A saved model's values, each checked at load as fit checks its own


def _rewritten(source, target, edit=None, tensors=None, metadata=None):
    """``source``'s model written to ``target`` with its JSON content (a dict) and tensors
    edited in place by ``edit`` and ``tensors``, its digest recomputed."""
    from safetensors.torch import save as to_bytes

    old_metadata, stored = _read_file(source)
    content = json.loads(old_metadata["content"])
    stored = {name: tensor.clone() for name, tensor in stored.items()}
    if edit is not None:
        edit(content)
    if tensors is not None:
        tensors(stored)
    text = json.dumps(content, separators=(",", ":"))
    header = {**old_metadata, "content": text, **(metadata or {})}
    header["sha256"] = _digest(text, stored)
    target.write_bytes(to_bytes(stored, metadata=header))
    return target


def _refusals(source, tmp_path, cases):
    """Write each case's file, load all in one child; return {label: line}, the path named."""
    paths = {}
    for i, (label, edit, tensors, metadata) in enumerate(cases):
        paths[label] = _rewritten(source, tmp_path / f"case{i}.safetensors", edit, tensors,
                                  metadata)
    lines = dict(zip(paths, _load_all_in_child(list(paths.values()))))
    for label, line in lines.items():
        assert str(paths[label]) in line or line == "LOADED", (label, line)
    return lines


def _array(dtype, values):
    return {"ndarray": {"dtype": dtype, "shape": [len(values)], "data": values}}


def _setter(section, name, value):
    def edit(content):
        content[section][name] = value
    return edit


def _deleter(section, name):
    def edit(content):
        del content[section][name]
    return edit


NAN, INF = {"float": "nan"}, {"float": "inf"}
# (fitted attribute, hostile value as JSON, words of the refusal)
HOSTILE_FITTED = [
    ("sfreq_", "abc", "sfreq_ is 'abc'"),
    ("sfreq_", NAN, "sampling rate"),
    ("sfreq_", 1e-300, "sampling rate"),
    ("sfreq_", {"fraction": [1, 3]}, "sampling rate"),
    ("ch_names_", 5, "ch_names_ is 5"),
    ("ch_names_", ["a", "a", "b"], "distinct channel names"),
    ("ch_names_", [["a"], "b", "c"], "distinct channel names"),
    ("ch_names_", ["a", "b"], "names 2 channels"),
    ("n_features_in_", -7, "n_features_in_ is -7"),
    ("n_features_in_", 10**30, "n_features_in_="),
    ("n_channels_", 0, "n_channels_ is 0"),
    ("n_times_", 3.5, "n_times_ is 3.5"),
    ("scale_", 1e-300, "scale_ is 1e-300"),
    ("scale_", 1e300, "scale_ is 1e+300"),
    ("scale_", NAN, "scale_ is nan"),
    ("scale_", -1.0, "scale_ is -1.0"),
    ("channel_mean_", _array("<f4", [0, NAN, 0]), "channel_mean_"),
    ("channel_mean_", _array("<f4", [0, 0, 0, 0]), "one offset per channel"),
    ("classes_", _array("<i8", [1, 0]), "sorted order"),
    ("classes_", _array("<i8", [0, 0]), "classes_"),
    ("classes_", _array("<f8", [0, NAN]), "no NaN"),
    ("classes_", _array("|O", [0, "a"]), "classes_"),
    ("classes_", [0, 1], "classes_"),
    ("device_", "meta", "device_ is 'meta'"),
    ("device_", 5, "device_ is 5"),
    ("cuda_graph_", 1, "cuda_graph_ is 1"),
    ("validation_groups_", _array("<f8", [0, NAN]), "validation_groups_"),
    ("validation_groups_", 5, "validation_groups_"),
]


def test_hostile_fitted_values_are_refused_naming_the_attribute(model_file, tmp_path):
    cases = [("unedited", None, None, None)]
    cases += [(f"{name}={value!r}", _setter("fitted", name, value), None, None)
              for name, value, _ in HOSTILE_FITTED]
    cases += [("missing sfreq_", _deleter("fitted", "sfreq_"), None, None),
              ("new attribute", _setter("fitted", "window_", 1), None, None)]
    lines = _refusals(model_file, tmp_path, cases)
    assert lines.pop("unedited") == "LOADED"
    # A file holds what fit leaves: an attribute outside skeeg._fitted's table is refused.
    assert "window_, which no fit leaves" in lines.pop("new attribute")
    assert "sfreq_ is missing" in lines.pop("missing sfreq_")
    for (name, value, words), line in zip(HOSTILE_FITTED, lines.values()):
        assert line.startswith("REFUSED ValueError"), (name, value, line)
        assert name.split("=")[0] in line and words in line, (name, value, line)


def test_a_bad_random_state_is_refused_without_indexerror(model_file, tmp_path):
    def state(key=None, position=0, has_gauss=0, cached=0.0, name="MT19937"):
        key = key if key is not None else _array("<u4", [1] * 624)
        return {"random_state": {"tuple": [name, key, position, has_gauss, cached]}}

    cases = [
        ("short key", state(key=_array("<u4", [1, 2, 3]))),
        ("position past the key", state(position=10**6)),
        ("negative position", state(position=-5)),
        ("all-zero key", state(key=_array("<u4", [0] * 624))),
        ("other generator", state(name="PCG64")),
        ("NaN cached gaussian", state(has_gauss=1, cached=NAN)),
        ("not a tuple", {"random_state": [1, 2]}),
    ]
    lines = _refusals(model_file, tmp_path, [
        (label, _setter("params", "random_state", value), None, None)
        for label, value in cases + [("valid", state(position=624))]
    ])
    assert lines.pop("valid") == "LOADED"
    for label, line in lines.items():
        assert line.startswith("REFUSED ValueError"), (label, line)
        assert "random_state is not the state of a RandomState" in line, (label, line)
        assert "IndexError" not in line


def test_parameters_a_fit_would_refuse_are_refused(model_file, tmp_path):
    lines = _refusals(model_file, tmp_path, [
        ("device meta", _setter("params", "device", "meta"), None, None),
        ("device xla", _setter("params", "device", "xla"), None, None),
        ("lr missing", _deleter("params", "lr"), None, None),
        ("crop longer than the trials", _setter("params", "crop_length", 10_000), None, None),
        ("device on another machine", _setter("params", "device", "cuda:3"), None, None),
    ])
    assert lines.pop("device on another machine") == "LOADED"
    assert "device='meta'" in lines["device meta"] and "device='xla'" in lines["device xla"]
    assert "lack ['lr']" in lines["lr missing"]
    assert "crop_length=10000 is longer than the fitted trials" in lines[
        "crop longer than the trials"]
    assert all(line.startswith("REFUSED ValueError") for line in lines.values())


def _epoch_record(content, number=0):
    return content["net_history"][number]["dict"]


def _set_record(key, value):
    def edit(content):
        record = _epoch_record(content)
        for pair in record:
            if pair[0] == key:
                pair[1] = value
                return
        record.append([key, value])
    return edit


def test_history_entries_are_refused_naming_the_field(model_file, tmp_path):
    def two_epochs_numbered_one(content):
        content["net_history"].append(json.loads(json.dumps(content["net_history"][0])))

    def history_table(content):
        content["history"]["data"][1] = _array("<f8", [NAN])

    def no_epochs(content):
        content["net_history"] = []

    cases = [
        ("dur NaN", _set_record("dur", NAN), "dur is nan"),
        ("negative dur", _set_record("dur", -1.0), "dur is -1.0"),
        ("train_loss inf", _set_record("train_loss", INF), "train_loss is inf"),
        ("valid_acc 2", _set_record("valid_acc", 2.0), "accuracy in [0, 1]"),
        ("epoch a string", _set_record("epoch", "x"), "numbered 'x'"),
        ("batches a number", _set_record("batches", 5), "batches are 5"),
        ("negative batch count", _set_record("train_batch_count", -1), "train_batch_count"),
        ("best not a flag", _set_record("valid_loss_best", 3), "valid_loss_best is 3"),
        ("epochs renumbered", two_epochs_numbered_one, "epoch 2 is numbered 1"),
        ("no epochs", no_epochs, "non-empty list"),
        ("history_ edited", history_table, "history_ table differs from its net_.history"),
    ]
    lines = _refusals(model_file, tmp_path, [(label, edit, None, None)
                                             for label, edit, _ in cases])
    for (label, _, words), line in zip(cases, lines.values()):
        assert line.startswith("REFUSED ValueError") and words in line, (label, line)


def test_format_versions_skeeg_never_writes_are_named(model_file, tmp_path):
    versions = ["²", "1.0", "0", "01", "-1"]
    lines = _refusals(model_file, tmp_path, [
        (version, None, None, {"format_version": version}) for version in versions
    ] + [("newer", None, None, {"format_version": "2"})])
    assert "newer skeeg" in lines.pop("newer")
    for version, line in lines.items():
        assert f"format version {version!r} is not a version skeeg writes" in line, line
        assert "truncated" not in line


@pytest.fixture(scope="module")
def adam_batch_norm_file(tmp_path_factory):
    """An EEGNet (batch norm) trained with Adam: moments, counts and running statistics."""
    from skeeg import EEGNetClassifier

    X, y = trials()
    path = tmp_path_factory.mktemp("eegnet") / "m.safetensors"
    save(small(EEGNetClassifier, optimizer="adam").fit(X, y), path)
    return path


def _optimizer_entry(content, key):
    optimizer = dict(content["optimizer"]["dict"])
    if key == "param_groups":
        return optimizer["param_groups"][0]["dict"]
    return optimizer["state"]["dict"][0][1]["dict"]  # parameter 0's state


def _setting(key, value):
    def edit(content):
        group = _optimizer_entry(content, "param_groups")
        for pair in group:
            if pair[0] == key:
                pair[1] = value
                return
        group.append([key, value])
    return edit


def _state_tensor(key, change):
    """Edit parameter 0's optimiser state ``key`` (a tensor in the file)."""
    def tensors(stored):
        content = json.loads(_read_file(_state_tensor.source)[0]["content"])
        name = dict(_optimizer_entry(content, "state"))[key]["tensor"]
        stored[name] = change(stored[name])
    return tensors


def test_optimizer_state_is_checked_against_the_optimizer(adam_batch_norm_file, tmp_path):
    import torch

    _state_tensor.source = adam_batch_norm_file
    cases = [
        ("lr NaN", _setting("lr", NAN), None, "'lr' is nan; it must be finite"),
        ("negative lr", _setting("lr", -0.1), None, "Invalid learning rate: -0.1"),
        ("beta of 1.5", _setting("betas", {"tuple": [1.5, 0.9]}), None, "beta parameter"),
        ("negative eps", _setting("eps", -1.0), None, "epsilon"),
        ("negative weight decay", _setting("weight_decay", -1.0), None, "weight_decay"),
        ("unknown setting", _setting("foo", 1), None, "['foo'], which Adam does not have"),
        # Flags come from the parameters alone: a file cannot turn training around.
        ("amsgrad switched on", _setting("amsgrad", True), None,
         "'amsgrad' is True, where the optimizer built from its parameters has False"),
        ("maximize switched on", _setting("maximize", True), None,
         "'maximize' is True, where the optimizer built from its parameters has False"),
        ("lr beyond float32", _setting("lr", 1e300), None, "within float32's range"),
        # Numbers come from the parameters: continued training would use them unreported.
        ("lr other than the parameters'", _setting("lr", 0.5), None,
         "'lr' is 0.5, where the optimizer built from its parameters has"),
        ("weight decay other than the parameters'", _setting("weight_decay", 0.1), None,
         "'weight_decay' is 0.1, where the optimizer built from its parameters has 0"),
        ("eps of 0", _setting("eps", 0.0), None, "'eps' is 0.0, where the optimizer built"),
        ("betas beyond float32", _setting("betas", {"tuple": [0.9, -1e39]}), None,
         "within float32's range"),
        ("negative step", None, _state_tensor("step", lambda t: torch.tensor(-3.0)),
         "'step' of parameter 0 holds negative values"),
        ("fractional step", None, _state_tensor("step", lambda t: torch.tensor(2.5)),
         "whole number of steps"),
        ("NaN step", None, _state_tensor("step", lambda t: torch.tensor(float("nan"))),
         "NaN or infinite"),
        ("negative second moment", None, _state_tensor("exp_avg_sq", lambda t: -t - 1),
         "'exp_avg_sq' of parameter 0 holds negative values"),
        ("moment of another shape", None, _state_tensor("exp_avg", lambda t: t.flatten()[:1]),
         "'exp_avg' of parameter 0 has shape (1,)"),
        ("moment in float64", None, _state_tensor("exp_avg", lambda t: t.double()),
         "has dtype torch.float64"),
        ("NaN moment", None, _state_tensor("exp_avg", lambda t: t * float("nan")),
         "NaN or infinite"),
    ]
    lines = _refusals(adam_batch_norm_file, tmp_path,
                      [(label, edit, tensors, None) for label, edit, tensors, _ in cases])
    for (label, *_, words), line in zip(cases, lines.values()):
        assert line.startswith("REFUSED ValueError") and words in line, (label, line)


def _module_tensor(suffix, change):
    def tensors(stored):
        name = next(n for n in sorted(stored) if n.startswith("module.") and n.endswith(suffix))
        stored[name] = change(stored[name].clone())
    return tensors


def test_batch_norm_statistics_are_checked(adam_batch_norm_file, tmp_path):
    import torch

    def set_first(value):
        def change(tensor):
            tensor.view(-1)[0] = value
            return tensor
        return change

    cases = [
        ("negative running_var", "running_var", set_first(-1.0), "holds negative values"),
        ("NaN running_var", "running_var", set_first(float("nan")), "NaN or infinite"),
        ("inf running_mean", "running_mean", set_first(float("inf")), "NaN or infinite"),
        ("negative batch count", "num_batches_tracked", lambda t: torch.full_like(t, -1),
         "holds negative values"),
        ("NaN weight", "weight", set_first(float("nan")), "NaN or infinite"),
    ]
    lines = _refusals(adam_batch_norm_file, tmp_path, [
        (label, None, _module_tensor(suffix, change), None) for label, suffix, change, _ in cases
    ])
    for (label, suffix, _, words), line in zip(cases, lines.values()):
        assert line.startswith("REFUSED ValueError") and words in line, (label, line)
        assert suffix in line, (label, line)


# ---------------------------------------------------------------------------
# Where save writes


def test_save_names_paths_it_cannot_write(model_file, tmp_path):
    from skeeg import load

    clf = load(model_file)
    with pytest.raises(ValueError, match=r"'.*newdir/' is the name of a folder; .*newdir/model"):
        clf.save(str(tmp_path / "newdir") + os.sep)
    with pytest.raises(ValueError, match="folder .*missing.* does not exist") as info:
        clf.save(tmp_path / "missing" / "m.safetensors")
    assert isinstance(info.value, FileNotFoundError)  # as it was before it was named
    (tmp_path / "file.txt").write_text("")
    with pytest.raises(ValueError, match=r"file\.txt' is a file, not a folder"):
        clf.save(tmp_path / "file.txt" / "m.safetensors")
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ValueError, match="fifo' exists and is not a regular file"):
        clf.save(tmp_path / "fifo")
    assert (tmp_path / "fifo").is_fifo()  # left as it was, not replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "file.txt"]


def test_save_uses_a_relative_path_as_given(model_file, tmp_path, monkeypatch):
    from skeeg import load

    monkeypatch.chdir(tmp_path)
    load(model_file).save("model")  # no suffix is added
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert load("model").n_channels_ == load(model_file).n_channels_


def test_member_losses_must_match_n_members(tmp_path):
    X, y = trials()
    source = tmp_path / "members.safetensors"
    save(small(DNNClassifier).set_params(n_members=2).fit(X, y), source)

    def drop(content):
        record = _epoch_record(content)
        record[:] = [pair for pair in record if pair[0] != "train_loss_m1"]

    cases = [
        ("a third member's loss", _set_record("train_loss_m2", 0.5),
         r"do not match n_members=2; not of any member \['train_loss_m2'\]"),
        ("a member's loss missing", drop, r"do not match n_members=2; missing \['train_loss_m1'\]"),
        ("a member's loss NaN", _set_record("valid_loss_m0", NAN), "do not match|finite"),
        # Cross-entropies are never negative: named, not "history_ differs from net_.history".
        ("a member's loss negative", _set_record("train_loss_m0", -5.0),
         "train_loss_m0 is -5.0; it must be a finite loss, >= 0"),
        ("unedited", None, ""),
    ]
    lines = _refusals(source, tmp_path, [(label, edit, None, None)
                                         for label, edit, _ in cases])
    for (label, _, words), line in zip(cases, lines.values()):
        if label == "unedited":
            assert line == "LOADED", line
        else:
            assert line.startswith("REFUSED ValueError") and re.search(words, line), (label, line)
