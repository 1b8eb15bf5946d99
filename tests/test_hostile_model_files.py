"""Model files that could hang, crash or mislead skeeg.load: refused, naming the file.

Each case runs ``skeeg.load`` in a child process with a time and memory
limit, so that a hang or a crash fails the test instead of stopping pytest.
"""

import json
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
    try:
        skeeg.load(sys.argv[1])
    except (ValueError, TypeError) as error:
        print("REFUSED", type(error).__name__, error)
    else:
        print("LOADED")
""")


def _load_in_child(path, timeout=120):
    result = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


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
