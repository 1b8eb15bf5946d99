"""Saving fitted classifiers without pickle: one safetensors file.

:func:`save` writes a fitted skeeg classifier to a single `safetensors
<https://huggingface.co/docs/safetensors>`_ file: the network's weights, the
loss's class weights and the optimiser's state as tensors, and everything
else (the estimator's class and parameters, its fitted attributes such as
``classes_``, ``channel_mean_`` and ``scale_``, the training history, the
versions it was written with) as one JSON document in the file's header
metadata. :func:`load` reads it back. Loading runs no code from the file:
safetensors holds raw numbers and JSON holds plain values, and the only
classes a file may name are skeeg's classifiers, ``torch.optim``'s optimisers
and classes the caller passes explicitly (``trusted``).

Why one safetensors file rather than a zip of weights and JSON: safetensors
checks its own header and that every tensor's declared bytes lie inside the
file, a model is one file to copy, and the format can be read from any
language (the JSON is the ``"content"`` entry of the header metadata).

Every error of :func:`load` is a ``ValueError`` that names the file and what
is wrong with it: a truncated file, a file that is not a skeeg model, one
whose recorded SHA-256 digest does not match its content (corrupted or
edited), or one whose tensors do not have the shapes that the network built
from its saved parameters has. The digest detects corruption and edits made
without recomputing it; it is not a signature against a deliberate forger.
What keeps a hostile file harmless is that nothing in it is executed and
every size is checked before memory is allocated for it.
"""

import contextlib
import hashlib
import json
import math
import numbers
import os
import platform
import re
import tempfile
import warnings

import numpy as np
import pandas as pd
import sklearn
import skorch
import torch
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted

from . import __version__, augmentation
from ._fitting import build_criterion, make_net
from ._paths import output_file, user_path
from ._params import check_params
from ._registry import classifier_classes, is_classifier, is_classifier_class
from ._training import float32_defaults, resolve_device
from .augmentation import Transform

FORMAT = "skeeg-classifier"
FORMAT_VERSION = 1

# Decoded arrays larger than this are refused before they are allocated:
# a file could otherwise declare, say, a string dtype of a billion characters.
MAX_ARRAY_BYTES = 1 << 28
# All decoded arrays of one file together: this many bytes per character of
# its JSON, and at least the floor (numbers take 8 bytes from 1-25 characters,
# labels 4 bytes a character).
ARRAY_BUDGET_PER_CHARACTER, ARRAY_BUDGET_FLOOR = 64, 1 << 20
# Longest string label, in characters (numpy's "<U" length).
MAX_STRING_LENGTH = 1 << 16
# Keys of the optimiser's parameter groups that depend on the device the
# optimiser runs on, not on the training: taken from the rebuilt optimiser.
_DEVICE_OPTIONS = ("capturable", "foreach", "fused", "differentiable")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*_\Z")
_SPECIAL = ("net_", "history_")


class _InvalidFile(ValueError):
    """A problem with a file's content; :func:`load` adds the file's name."""


# ---------------------------------------------------------------------------
# JSON coding of plain values
#
# JSON's own types carry None, booleans, ints, finite floats, strings and
# lists. Everything else is a JSON object with exactly one key, its tag:
# {"float": "nan"}, {"tuple": [...]}, {"dict": [[key, value], ...]},
# {"ndarray": {"dtype": "<f4", "shape": [3], "data": [...]}},
# {"scalar": {"dtype": "<i8", "value": 3}}, {"class": "torch.optim.adam.Adam"},
# {"device": "cuda:0"}, {"random_state": [...]}, {"tensor": "optimizer.0"},
# {"transform": {"class": "skeeg.augmentation.Mixup", "params": {"dict": [...]}}}.

_ARRAY_KINDS = "biufUO"


def _encode(value, where, tensors=None):
    """``value`` as JSON-ready data, or a ``TypeError`` naming ``where``.

    ``tensors``, a dict, collects torch tensors (stored as safetensors and
    referenced by name); without it a tensor is refused.
    """
    if isinstance(value, np.generic):  # first: np.str_ is a str, np.float64 a float
        array = _encode_array(np.asarray(value), where)
        return {"scalar": {"dtype": array["dtype"], "value": array["data"][0]}}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.ndarray):
        return {"ndarray": _encode_array(value, where)}
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, tuple):
        return {"tuple": [_encode(item, f"{where}[{i}]", tensors) for i, item in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(item, f"{where}[{i}]", tensors) for i, item in enumerate(value)]
    if isinstance(value, dict):
        return {
            "dict": [
                [_encode(key, f"a key of {where}"), _encode(item, f"{where}[{key!r}]", tensors)]
                for key, item in value.items()
            ]
        }
    if isinstance(value, type):
        return {"class": _class_name(value)}
    if isinstance(value, torch.device):
        return {"device": str(value)}
    if isinstance(value, np.random.RandomState):
        return {"random_state": _encode(value.get_state(legacy=True), where)}
    if isinstance(value, Transform):
        # A transform is its class and its parameters, as scikit-learn clones it.
        return {
            "transform": {
                "class": _class_name(type(value)),
                "params": _encode(value.get_params(deep=False), where, tensors),
            }
        }
    if torch.is_tensor(value) and tensors is not None:
        name = f"optimizer.{len(tensors)}"
        tensors[name] = value.detach().to("cpu", copy=True).contiguous()
        return {"tensor": name}
    raise TypeError(
        f"{where} is {_describe(value)}, which cannot be stored as JSON; skeeg.serialization.save "
        "stores None, booleans, numbers, strings, lists, tuples, dicts, numpy arrays, "
        "classes (by name) and skeeg.augmentation transforms. Replace it with such a value (for example with set_params) "
        "before saving, or use pickle, which stores any object but runs code when loaded."
    )


def _encode_array(array, where):
    kind = array.dtype.kind
    if kind not in _ARRAY_KINDS or array.dtype.itemsize > 8 and kind in "biuf":
        raise TypeError(
            f"{where} is a numpy array of dtype {array.dtype}, which cannot be stored as JSON; "
            "skeeg.serialization.save stores arrays of booleans, integers, floats (up to 64 "
            "bits) and strings."
        )
    flat = array.ravel().tolist()
    if kind == "f":
        flat = [_encode(float(item), where) for item in flat]
    elif kind == "O":
        for item in flat:
            if item is not None and not isinstance(item, (bool, int, float, str)):
                raise TypeError(
                    f"{where} is an object array holding {_describe(item)}; "
                    "skeeg.serialization.save stores object arrays of None, booleans, "
                    "numbers and strings only."
                )
        flat = [_encode(item, where) for item in flat]
    return {"dtype": array.dtype.str, "shape": list(array.shape), "data": flat}


def _describe(value):
    kind = type(value)
    return f"a {kind.__module__}.{kind.__qualname__} ({value!r:.80})"


def _class_name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def _known_classes(trusted):
    """The classes a file may name: skeeg's classifiers and augmentation transforms,
    torch.optim's optimisers, ``trusted``."""

    known = classifier_classes()
    for module, base in (
        (augmentation, Transform),
        (torch.optim, torch.optim.Optimizer),
    ):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, base) and value is not base:
                known[_class_name(value)] = value
    for cls in trusted:
        if not isinstance(cls, type):
            raise TypeError(f"trusted must hold classes; got {cls!r}.")
        known[_class_name(cls)] = cls
    return known


class _Decoder:
    """Decodes :func:`_encode`'s output, checking every type, tag and size."""

    def __init__(self, classes, tensors, budget=MAX_ARRAY_BYTES):
        self.classes = classes
        self.tensors = tensors
        self.used = set()
        # Bytes all decoded arrays of the file may take together: a few
        # characters of JSON must not become gigabytes ("<U65536" strings).
        self.budget = budget

    def __call__(self, data, where):
        if data is None or isinstance(data, (bool, str, int)):
            return data
        if isinstance(data, float):
            return data
        if isinstance(data, list):
            return [self(item, f"{where}[{i}]") for i, item in enumerate(data)]
        if not isinstance(data, dict) or len(data) != 1:
            raise _InvalidFile(f"{where} is not a value written by skeeg ({str(data):.80}).")
        (tag, content), = data.items()
        method = getattr(self, f"_decode_{tag}", None)
        if method is None:
            raise _InvalidFile(f"{where} has the unknown tag {tag!r}.")
        return method(content, where)

    def _decode_float(self, content, where):
        if content not in ("nan", "inf", "-inf"):
            raise _InvalidFile(f"{where} is not a float ({content!r}).")
        return float(content)

    def _decode_tuple(self, content, where):
        return tuple(self(_expect(content, list, where), where))

    def _decode_dict(self, content, where):
        result = {}
        for pair in _expect(content, list, where):
            if not isinstance(pair, list) or len(pair) != 2:
                raise _InvalidFile(f"{where} is not a list of [key, value] pairs.")
            key = self(pair[0], f"a key of {where}")
            try:
                result[key] = self(pair[1], f"{where}[{key!r}]")
            except TypeError:  # an unhashable key
                raise _InvalidFile(f"{where} has a key that cannot be a dict key.") from None
        return result

    def _decode_class(self, content, where):
        cls = self.classes.get(content) if isinstance(content, str) else None
        if cls is None:
            raise _InvalidFile(
                f"{where} names the class {content!r}, which load does not import by itself "
                "(it imports nothing a file names): if you trust this file and its class, "
                "import the class and pass it: skeeg.serialization.load(path, trusted=[TheClass])."
            )
        return cls

    def _decode_transform(self, content, where):
        content = _expect(content, dict, where)
        if set(content) != {"class", "params"}:
            raise _InvalidFile(f"{where} is not a transform (keys {sorted(content)}).")
        cls = self._decode_class(content["class"], where)
        params = self(content["params"], where)
        if not (issubclass(cls, Transform) and isinstance(params, dict)):
            raise _InvalidFile(f"{where} is not a transform of skeeg.augmentation.")
        try:
            return cls(**params)
        except TypeError as error:
            raise _InvalidFile(f"{where}: {cls.__name__} does not take these parameters "
                               f"({error}).") from None

    def _decode_device(self, content, where):
        try:
            return torch.device(_expect(content, str, where))
        except RuntimeError:
            raise _InvalidFile(f"{where} is not a device ({content!r}).") from None

    def _decode_random_state(self, content, where):
        state = self(content, where)
        random_state = np.random.RandomState()
        try:
            random_state.set_state(state)
        except (TypeError, ValueError) as error:
            raise _InvalidFile(f"{where} is not a RandomState's state ({error}).") from None
        return random_state

    def _decode_tensor(self, content, where):
        if content not in self.tensors or content in self.used:
            raise _InvalidFile(
                f"{where} refers to a tensor {content!r:.80} that the file does not hold."
            )
        self.used.add(content)
        return self.tensors[content]

    def _decode_scalar(self, content, where):
        content = _expect(content, dict, where)
        array = self._decode_ndarray(
            {"dtype": content.get("dtype"), "shape": [], "data": [content.get("value")]}, where
        )
        return array[()]

    def _decode_ndarray(self, content, where):
        content = _expect(content, dict, where)
        if set(content) != {"dtype", "shape", "data"}:
            raise _InvalidFile(f"{where} is not an array (keys {sorted(content)}).")
        dtype, shape, data = content["dtype"], content["shape"], content["data"]
        try:
            dtype = np.dtype(_expect(dtype, str, where))
        except (TypeError, ValueError):
            raise _InvalidFile(f"{where} has an unknown dtype {dtype!r}.") from None
        kind = dtype.kind
        if kind not in _ARRAY_KINDS or kind in "biuf" and dtype.itemsize > 8:
            raise _InvalidFile(f"{where} has the dtype {dtype}, which skeeg never writes.")
        if kind == "U" and dtype.itemsize > 4 * MAX_STRING_LENGTH:
            raise _InvalidFile(f"{where} declares strings of {dtype.itemsize // 4} characters.")
        shape = _expect(shape, list, where)
        valid = (isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**62 for n in shape)
        if not all(valid):
            raise _InvalidFile(f"{where} has an invalid shape {shape!r:.80}.")
        data = _expect(data, list, where)
        if math.prod(shape) != len(data):
            raise _InvalidFile(
                f"{where} declares the shape {tuple(shape)} ({math.prod(shape)} values) but "
                f"holds {len(data)} values."
            )
        size = dtype.itemsize * len(data)
        if size > min(MAX_ARRAY_BYTES, self.budget):
            raise _InvalidFile(
                f"{where} would take {size} bytes, more than a file of its size may hold "
                f"in arrays ({self.budget} bytes left of its budget)."
            )
        self.budget -= size
        allowed = {
            "b": (bool,), "i": (int,), "u": (int,), "f": (int, float, dict),
            "U": (str,), "O": (type(None), bool, int, float, str, dict),
        }[kind]
        values = []
        for item in data:
            if not isinstance(item, allowed) or kind in "iu" and isinstance(item, bool):
                raise _InvalidFile(f"{where} holds {item!r:.40}, not a value of dtype {dtype}.")
            values.append(self(item, where) if isinstance(item, dict) else item)
        try:
            array = np.empty(len(values), dtype=dtype)
            array[:] = values
        except (OverflowError, ValueError, TypeError) as error:
            message = f"{where}: its values do not fit its dtype {dtype} ({error})."
            raise _InvalidFile(message) from None
        return array.reshape(shape)


def _expect(value, kind, where):
    if not isinstance(value, kind) or kind is int and isinstance(value, bool):
        raise _InvalidFile(f"{where} should be a {kind.__name__}; got {value!r:.80}.")
    return value


# ---------------------------------------------------------------------------
# Saving


def save(clf, path):
    """Save a fitted skeeg classifier to one safetensors file, without pickle.

    Parameters
    ----------
    clf : skeeg classifier
        A fitted classifier (:class:`skeeg.EEGNetClassifier` and the others).
    path : str or path-like
        The file to write (``.safetensors`` is a good suffix; ``~`` is
        expanded); replaced if it exists. It is written to a temporary file next to it first, so an
        interrupted save leaves any previous file intact.

    Raises
    ------
    TypeError
        If ``clf`` is not a skeeg classifier, or a parameter or fitted
        attribute cannot be stored as JSON: the message names it. Extra
        ``callbacks`` are such objects: set ``clf.set_params(callbacks=None)``
        before saving (callbacks act only during ``fit``). Classes (an
        optimiser class, for example) are stored by name; a class outside
        ``torch.optim`` must be passed to :func:`load` as ``trusted``.
    ValueError
        If ``path`` is a folder.
    FileNotFoundError
        If the folder of ``path`` does not exist.
    sklearn.exceptions.NotFittedError
        If ``clf`` is not fitted.

    Notes
    -----
    The file holds the weights and buffers of ``clf.net_.module_`` (tensors
    ``module.*``), the loss's class weights (``criterion.*``), the
    optimiser's state (``optimizer.*``) and, in the header metadata entry
    ``"content"``, a JSON document with the estimator's class, its
    parameters (``get_params(deep=False)``; augmentation transforms as their
    class name and parameters), its fitted attributes (every
    public attribute ending in ``_`` but ``net_``, which the tensors and
    the parameters rebuild, and ``history_``, stored as a table), skorch's
    own history and the versions of skeeg, torch, numpy, scikit-learn,
    skorch and Python. Numpy arrays keep their dtype (``classes_`` of int, str or bool
    labels come back as they were). The entry ``"sha256"`` is a digest of
    the JSON and the tensors, checked by :func:`load`.

    Examples
    --------
    >>> import tempfile, os
    >>> from skeeg import DNNClassifier
    >>> from skeeg.datasets import make_motor_imagery
    >>> from skeeg.serialization import load, save
    >>> data = make_motor_imagery(n_trials=40, n_channels=3, n_times=64, random_state=0)
    >>> clf = DNNClassifier(max_epochs=2, random_state=0).fit(data.X, data.y)
    >>> path = os.path.join(tempfile.mkdtemp(), "dnn.safetensors")
    >>> save(clf, path)
    >>> bool((load(path).predict_proba(data.X) == clf.predict_proba(data.X)).all())
    True
    """
    if not is_classifier(clf):
        hint = (
            " For a Pipeline, save its classifier step (pipe[-1]) and rebuild the other steps "
            "in code." if hasattr(clf, "steps") else ""
        )
        raise TypeError(
            f"save takes a fitted skeeg classifier; got {type(clf).__name__}.{hint}"
        )
    check_is_fitted(clf)
    path = output_file(path)
    params = clf.get_params(deep=False)
    if params.get("callbacks") is not None:
        raise TypeError(
            f"callbacks={params['callbacks']!r:.200} holds Python objects, which cannot be "
            "stored as JSON. Callbacks act only during fit: call "
            "clf.set_params(callbacks=None) before saving (and pass them again before a "
            "later fit), or use pickle, which stores any object but runs code when loaded."
        )
    content = {
        "estimator": _class_name(type(clf)),
        "versions": _versions(),
        "params": {name: _encode(value, f"parameter {name}") for name, value in params.items()},
        "fitted": {
            name: _encode(value, f"fitted attribute {name}")
            for name, value in sorted(vars(clf).items())
            if _ATTRIBUTE_NAME.match(name) and name not in _SPECIAL
        },
        "history": _encode_frame(clf.history_),
    }
    net = clf.net_
    tensors = {}
    for prefix, module in (("module", net.module_), ("criterion", net.criterion_)):
        for name, tensor in module.state_dict().items():
            tensors[f"{prefix}.{name}"] = tensor.detach().to("cpu", copy=True).contiguous()
    optimizer_tensors = {}
    content["optimizer"] = _encode(
        net.optimizer_.state_dict(), "the optimizer's state", optimizer_tensors
    )
    content["net_history"] = _encode(list(net.history), "net_.history")
    tensors.update(optimizer_tensors)
    text = json.dumps(content, allow_nan=False, separators=(",", ":"))
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "content": text,
        "sha256": _digest(text, tensors),
    }
    _write_atomically(path, tensors, metadata)


def _versions():
    return {
        "skeeg": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "skorch": skorch.__version__,
        "python": platform.python_version(),
    }


def _encode_frame(frame):
    return {
        "columns": _encode(list(frame.columns), "history_'s columns"),
        "data": [
            _encode(frame[column].to_numpy(), f"history_[{column!r}]") for column in frame.columns
        ],
    }


def _decode_frame(data, decode, where):
    data = _expect(data, dict, where)
    if set(data) != {"columns", "data"}:
        raise _InvalidFile(f"{where} is not a table.")
    columns = decode(data["columns"], f"{where}'s columns")
    values = [decode(column, where) for column in _expect(data["data"], list, where)]
    if not isinstance(columns, list) or len(columns) != len(values) or any(
        not isinstance(v, np.ndarray) or v.ndim != 1 or len(v) != len(values[0]) for v in values
    ):
        raise _InvalidFile(f"{where} does not have one column of equal length per name.")
    return pd.DataFrame(dict(zip(columns, values)), columns=columns)


def _digest(text, tensors):
    """SHA-256 of the JSON text and of each tensor's name, dtype, shape and bytes."""
    digest = hashlib.sha256(text.encode())
    for name in sorted(tensors):
        tensor = tensors[name]
        digest.update(f"\0{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _canonical_header(data):
    """The safetensors bytes with the header's metadata in sorted order.

    safetensors writes its metadata from a hash map, in an order that
    changes from process to process; sorted, the same model gives the same
    bytes (and hash) whenever and wherever it is saved.
    """
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    header = {"__metadata__": header.pop("__metadata__"), **header}  # tensors: as written
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data stays 8-byte aligned, as safetensors pads it
    return len(text).to_bytes(8, "little") + text + data[8 + length :]


def _write_atomically(path, tensors, metadata):
    from safetensors.torch import save as to_bytes

    data = _canonical_header(to_bytes(tensors, metadata=metadata))
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".skeeg-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


# ---------------------------------------------------------------------------
# Loading


def load(path, *, device=None, trusted=()):
    """Load a classifier written by :func:`save`, running no code from the file.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.
    device : str or None, default=None
        Where to put the network: ``"cpu"``, ``"cuda"``... None puts it on
        the device it was trained on when that exists here, else on the CPU
        (with a warning). The estimator's ``device`` parameter is left as
        saved: ``set_params(device=...)`` before refitting elsewhere.
    trusted : sequence of classes, default=()
        Classes besides skeeg's classifiers and ``torch.optim``'s optimisers
        that the file may name (a custom optimiser class, a subclass of a
        skeeg classifier). Nothing a file names is ever imported.

    Returns
    -------
    clf : skeeg classifier
        The fitted classifier: same parameters, fitted attributes, history
        and weights; its ``predict_proba`` on the CPU is bitwise the saved
        one's (with the same number of torch threads). It can be refitted,
        and its skorch net (``net_``) holds the optimiser's state for
        further training.

    Raises
    ------
    ValueError
        Naming the file: if it cannot be read, is truncated, is not a
        model written by :func:`save`, was written by a newer skeeg format,
        its digest does not match its content, its parameters are invalid
        or name unknown classes, or a tensor's shape or dtype differs from
        the one the network built from those parameters has.
    """
    path = user_path(path)
    classes = _known_classes(trusted)
    try:
        return _load(path, device, classes)
    except _InvalidFile as error:
        raise ValueError(f"Cannot load {path!r}: {error}") from None
    except (ValueError, TypeError, OverflowError, IndexError, KeyError, MemoryError) as error:
        # Whatever else a file's content provokes is still about that file.
        raise ValueError(
            f"Cannot load {path!r}: {type(error).__name__}: {str(error):.300}"
        ) from error


def _load(path, device, classes):
    metadata, tensors = _read_file(path)
    text = metadata.get("content")
    if not isinstance(text, str) or metadata.get("sha256") != _digest(text, tensors):
        raise _InvalidFile(
            "its content does not match the SHA-256 digest recorded when it was saved: "
            "the file was corrupted or edited. Use the original file."
        )
    try:
        content = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise _InvalidFile(f"its JSON content cannot be read ({str(error):.200}).") from None
    content = _expect(content, dict, "the content")
    required = {"estimator", "params", "fitted", "history", "optimizer", "net_history"}
    missing = required - set(content)
    if missing:
        raise _InvalidFile(f"its content lacks {sorted(missing)}.")
    prefixes = ("module.", "criterion.", "optimizer.")
    foreign = [name for name in tensors if not name.startswith(prefixes)]
    if foreign:
        raise _InvalidFile(f"it holds tensors that skeeg never writes: {sorted(foreign)[:5]}.")
    decode = _Decoder(
        classes, {k: v for k, v in tensors.items() if k.startswith("optimizer.")},
        budget=max(ARRAY_BUDGET_FLOOR, ARRAY_BUDGET_PER_CHARACTER * len(text)),
    )
    try:
        with float32_defaults():
            return _rebuild(content, tensors, decode, device)
    except RecursionError:
        raise _InvalidFile("its JSON content is nested too deeply.") from None


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON (skeeg writes non-finite floats as tagged values)")


def _read_file(path):
    """``(metadata, tensors)`` of a safetensors file, on the CPU."""
    from safetensors import SafetensorError, safe_open

    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            head = handle.read(9)
    except OSError as error:
        raise _InvalidFile(f"it cannot be read ({error.strerror or error}).") from None
    declared = int.from_bytes(head[:8], "little") if len(head) >= 8 else None
    if declared is None or declared > size - 8 or head[8:9] != b"{":
        what = (
            f"its first 8 bytes declare a header of {declared} bytes in a file of {size} bytes"
            if declared is not None else f"it has only {size} bytes"
        )
        raise _InvalidFile(
            f"it is not a skeeg model file ({what}): it is truncated, or not a safetensors "
            "file written by skeeg.serialization.save."
        )
    try:
        with safe_open(path, framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            _check_format(metadata)  # before reading any tensor
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    except (SafetensorError, OSError, RuntimeError, ValueError) as error:
        if isinstance(error, _InvalidFile):
            raise
        raise _InvalidFile(
            f"it is truncated or not a valid safetensors file ({str(error):.200})."
        ) from None
    return metadata, tensors


def _check_format(metadata):
    if metadata.get("format") != FORMAT:
        raise _InvalidFile(
            "it is a safetensors file but not a skeeg model (its header metadata has no "
            f"format {FORMAT!r}): load only reads files written by skeeg.serialization.save."
        )
    version = metadata.get("format_version")
    if not isinstance(version, str) or not version.isdigit() or len(version) > 6:
        raise _InvalidFile(f"its format version {version!r:.40} is not a number.")
    if int(version) > FORMAT_VERSION:
        raise _InvalidFile(
            f"it was written in format version {version} by a newer skeeg; this skeeg reads "
            f"up to version {FORMAT_VERSION}: upgrade skeeg."
        )


def _rebuild(content, tensors, decode, device):
    cls = decode({"class": content["estimator"]}, "the estimator's class")
    if not is_classifier_class(cls):
        raise _InvalidFile(f"its estimator {content['estimator']!r} is not a skeeg classifier.")
    params = _expect(content["params"], dict, "the parameters")
    params = {name: decode(value, f"parameter {name}") for name, value in params.items()}
    try:
        clf = cls(**params)
    except TypeError as error:
        raise _InvalidFile(
            f"its parameters do not fit this skeeg's {cls.__name__} ({error}): it was "
            "probably written by another version; use that version to load it."
        ) from None
    try:
        check_params(clf)
    except (TypeError, ValueError) as error:
        raise _InvalidFile(f"its parameters are invalid: {error}") from None

    fitted = _expect(content["fitted"], dict, "the fitted attributes")
    for name, value in fitted.items():
        if not _ATTRIBUTE_NAME.match(name) or name in _SPECIAL:
            raise _InvalidFile(f"it holds a fitted attribute named {name!r:.80}.")
        setattr(clf, name, decode(value, f"fitted attribute {name}"))
    n_classes = _check_fitted(clf)
    clf._label_encoder = LabelEncoder()
    clf._label_encoder.classes_ = clf.classes_
    clf.history_ = _decode_frame(content["history"], decode, "history_")

    module = _load_module(clf, n_classes, tensors)
    criterion = build_criterion(clf, np.arange(n_classes), module.n_outputs)
    _load_state(criterion, "criterion", tensors)
    device = _target_device(clf, device)
    net = _build_net(clf, module, criterion, device)
    optimizer_state = decode(content["optimizer"], "the optimizer's state")
    unused = set(decode.tensors) - decode.used
    if unused:
        raise _InvalidFile(f"it holds tensors that nothing refers to: {sorted(unused)[:5]}.")
    _load_optimizer(net, optimizer_state)
    from skorch.history import History

    history = decode(content["net_history"], "net_.history")
    if not isinstance(history, list) or not all(isinstance(epoch, dict) for epoch in history):
        raise _InvalidFile("its net_.history is not a list of per-epoch records.")
    net.history_ = History(history)
    clf.net_ = net
    clf.device_ = str(net.device)
    return clf


def _check_fitted(clf):
    """Check the attributes the network is built from; return the number of classes."""
    for name in ("n_channels_", "n_times_"):
        value = getattr(clf, name, None)
        integer = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
        if not integer or value < 1:
            raise _InvalidFile(f"its fitted attribute {name} is {value!r:.40}, not a positive int.")
    classes = getattr(clf, "classes_", None)
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or len(classes) < 2:
        raise _InvalidFile("its classes_ is not a 1-D array of at least 2 labels.")
    try:
        unique = len(np.unique(classes)) == len(classes)
    except TypeError:
        unique = False
    if not unique:
        raise _InvalidFile("its classes_ holds repeated or incomparable labels.")
    mean = getattr(clf, "channel_mean_", None)
    scale = getattr(clf, "scale_", None)
    if (
        not isinstance(mean, np.ndarray)
        or mean.dtype != np.float32
        or mean.shape != (clf.n_channels_,)
        or not np.isfinite(mean).all()
    ):
        raise _InvalidFile(
            f"its channel_mean_ is not a finite float32 array of shape ({clf.n_channels_},)."
        )
    if not isinstance(scale, float) or not (math.isfinite(scale) and scale > 0):
        raise _InvalidFile(f"its scale_ is {scale!r:.40}, not a positive float.")
    return len(classes)


def _load_module(clf, n_classes, tensors):
    """The network built from the parameters, with the file's weights.

    Built first on the meta device (no memory) to compare every shape and
    dtype with the file's, so that parameters declaring a huge network are
    refused before anything is allocated.
    """
    try:
        with torch.device("meta"):
            skeleton = clf._build_module(n_classes)
    except (TypeError, ValueError) as error:
        raise _InvalidFile(f"its parameters do not build a network: {error}") from None
    except (RuntimeError, NotImplementedError):
        # A trusted module class that computes in its constructor (braindecode's
        # EEGNetv4 renormalises its weights) cannot be built without memory; its
        # shapes are then compared on the real network, built below.
        skeleton = None
    if skeleton is not None:
        _check_tensors(skeleton.state_dict(), "module", tensors)
    # Without a skeleton the shapes are unknown until the network exists: its
    # allocations are bounded by what the file's own weights take.
    saved = sum(t.numel() * t.element_size() for n, t in tensors.items() if n.startswith("module."))
    budget = _AllocationBudget(BUILD_BUDGET_FACTOR * saved + BUILD_BUDGET_FLOOR)
    with torch.random.fork_rng(devices=[]), (
        contextlib.nullcontext() if skeleton is not None else budget
    ):
        try:
            module = clf._build_module(n_classes)
        except _InvalidFile:
            raise
        except (TypeError, ValueError) as error:
            raise _InvalidFile(f"its parameters do not build a network: {error}") from None
    if skeleton is None:
        _check_tensors(module.state_dict(), "module", tensors)
    _load_state(module, "module", tensors)
    return module


# A network built without a meta skeleton may allocate this many times the
# bytes of the file's weights, plus the floor (temporaries of its constructor).
BUILD_BUDGET_FACTOR, BUILD_BUDGET_FLOOR = 4, 64 << 20
_FACTORIES = {
    torch.empty, torch.zeros, torch.ones, torch.full, torch.rand, torch.randn, torch.randint,
    torch.empty_strided,
}


class _AllocationBudget(torch.overrides.TorchFunctionMode):
    """Refuses tensor allocations beyond a byte budget, checked before each factory call."""

    def __init__(self, budget):
        super().__init__()
        self.left = budget

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _FACTORIES:
            shape = args[0] if args and isinstance(args[0], (tuple, list, torch.Size)) else [
                a for a in args if isinstance(a, int) and not isinstance(a, bool)]
            if func in (torch.full, torch.randint):
                shape = next((a for a in args if isinstance(a, (tuple, list, torch.Size))),
                             kwargs.get("size", ()))
            shape = kwargs.get("size", shape)
            dtype = kwargs.get("dtype") or torch.get_default_dtype()
            self._spend(math.prod(int(n) for n in shape) * torch.empty((), dtype=dtype,
                                                                       device="meta").element_size())
        return func(*args, **kwargs)

    def _spend(self, size):
        self.left -= size
        if self.left < 0:
            raise _InvalidFile(
                "its parameters build a network larger than the weights it holds (its "
                "constructor asked for more memory than the file's tensors justify): the "
                "file's parameters were edited, or it is not a model written by save."
            )


def _check_tensors(expected, prefix, tensors):
    start = len(prefix) + 1
    found = {name[start:]: t for name, t in tensors.items() if name.startswith(prefix + ".")}
    for name in [*expected, *sorted(set(found) - set(expected))]:
        if name not in found:
            raise _InvalidFile(f"it lacks the tensor {prefix}.{name} that the network has.")
        if name not in expected:
            raise _InvalidFile(
                f"it holds the tensor {prefix}.{name}, which the network built from its "
                "parameters does not have."
            )
        want, got = expected[name], found[name]
        if tuple(got.shape) != tuple(want.shape) or got.dtype != want.dtype:
            raise _InvalidFile(
                f"its tensor {prefix}.{name} has shape {tuple(got.shape)} and dtype "
                f"{got.dtype}, but the network built from its parameters needs shape "
                f"{tuple(want.shape)} and dtype {want.dtype}."
            )
    return found


def _load_state(module, prefix, tensors):
    found = _check_tensors(module.state_dict(), prefix, tensors)
    # Weights and batch-norm statistics of a fitted network are finite (fit
    # refuses divergence); other buffers (masks) may hold infinities.
    checked = {name for name, _ in module.named_parameters()} | {
        name for name, _ in module.named_buffers() if name.rsplit(".", 1)[-1].startswith("running_")
    }
    for name in sorted(checked & set(found)):
        tensor = found[name]
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise _InvalidFile(
                f"its tensor {prefix}.{name} holds NaN or infinite values, which no fit "
                "leaves: the file was edited or damaged."
            )
    module.load_state_dict(found, strict=True)


def _target_device(clf, device):
    if device is None:
        device = clf.device_ if isinstance(getattr(clf, "device_", None), str) else "cpu"
        try:
            return resolve_device(device)
        except (TypeError, ValueError):
            warnings.warn(
                f"The network was trained on {device!r}, which this machine does not have; "
                "it is loaded on the CPU. Call set_params(device='cpu') before refitting here.",
                UserWarning,
                stacklevel=4,
            )
            return "cpu"
    return resolve_device(device)


def _build_net(clf, module, criterion, device):
    """The skorch net, as ``BaseEEGClassifier.fit`` builds it, around the loaded module."""
    return make_net(clf, module, criterion, device).initialize()


def _load_optimizer(net, saved):
    """Restore the optimiser's state, its tensors checked against the parameters."""
    optimizer = net.optimizer_
    current = optimizer.state_dict()
    if not isinstance(saved, dict) or set(saved) != {"state", "param_groups"}:
        raise _InvalidFile("its optimizer state is not an optimizer's state_dict.")
    groups, state = saved["param_groups"], saved["state"]
    if (
        not isinstance(groups, list)
        or len(groups) != len(current["param_groups"])
        or not all(isinstance(g, dict) and "params" in g for g in groups)
        or [g["params"] for g in groups] != [g["params"] for g in current["param_groups"]]
    ):
        raise _InvalidFile(
            "its optimizer state does not cover the network's parameters as the optimizer "
            "built from its parameters does."
        )
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    if not isinstance(state, dict):
        raise _InvalidFile("its optimizer state is not a dict.")
    for index, entry in state.items():
        known = isinstance(index, int) and 0 <= index < len(parameters)
        if not known or not isinstance(entry, dict):
            raise _InvalidFile(f"its optimizer state has an entry {index!r:.40} for no parameter.")
        shape = tuple(parameters[index].shape)
        for key, value in entry.items():
            if torch.is_tensor(value) and value.ndim and tuple(value.shape) != shape:
                raise _InvalidFile(
                    f"its optimizer state {key!r} of parameter {index} has shape "
                    f"{tuple(value.shape)}, but that parameter has shape {shape}."
                )
    for group, fresh in zip(groups, current["param_groups"]):
        for key, value in group.items():
            if key in fresh and key not in _DEVICE_OPTIONS and not _same_kind(value, fresh[key]):
                raise _InvalidFile(
                    f"its optimizer setting {key!r} is {value!r:.40}, where the optimizer "
                    f"built from its parameters has {fresh[key]!r:.40}."
                )
        for key in _DEVICE_OPTIONS:
            if key in fresh:
                group[key] = fresh[key]
    try:
        optimizer.load_state_dict(saved)
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise _InvalidFile(f"its optimizer state cannot be restored ({error}).") from None


def _same_kind(value, reference):
    """Whether an optimiser setting read from a file is of the kind torch's own is."""
    if isinstance(reference, bool) or reference is None:
        return isinstance(value, bool) or value is None
    if isinstance(reference, (int, float)) or torch.is_tensor(reference):
        return (
            isinstance(value, (int, float)) and not isinstance(value, bool)
            or torch.is_tensor(value) and value.ndim == 0
        )
    if isinstance(reference, (tuple, list)):
        return (
            isinstance(value, (tuple, list))
            and len(value) == len(reference)
            and all(_same_kind(v, r) for v, r in zip(value, reference))
        )
    return isinstance(value, type(reference))

