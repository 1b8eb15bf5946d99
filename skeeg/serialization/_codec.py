"""JSON coding of a model file's plain values, and the limits on what a file may declare."""

import fractions
import math
import numbers
import re

import numpy as np
import pandas as pd
import torch

from .. import augmentation, models
from .._registry import classifier_classes
from ..augmentation import Transform


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
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*_\Z")
_SPECIAL = ("net_", "history_")


class _InvalidFile(ValueError):
    """A problem with a file's content; :func:`load` adds the file's name."""


# ---------------------------------------------------------------------------
# JSON coding of plain values
#
# JSON's own types carry None, booleans, ints, finite floats, strings and
# lists. Everything else is a JSON object with exactly one key, its tag:
# {"float": "nan"}, {"fraction": [1, 4]}, {"tuple": [...]}, {"dict": [[key, value], ...]},
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
    if isinstance(value, fractions.Fraction):  # the tables accept them as real numbers
        return {"fraction": [value.numerator, value.denominator]}
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
        (models, torch.nn.Module),  # skeeg's own networks, as EEGClassifier's module
        (torch.optim, torch.optim.Optimizer),
    ):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, base) and value is not base:
                known[_class_name(value)] = value
    if isinstance(trusted, type) or not isinstance(trusted, (list, tuple, set, frozenset)):
        name = getattr(trusted, "__name__", "MyModule")
        raise TypeError(f"trusted must be a list of classes; got {trusted!r:.80}. Pass [{name}].")
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

    def _decode_fraction(self, content, where):
        parts = _expect(content, list, where)
        if (len(parts) != 2 or not all(isinstance(p, int) and not isinstance(p, bool)
                                       for p in parts) or parts[1] <= 0
                or max(abs(parts[0]), parts[1]) > 1 << 64):
            raise _InvalidFile(f"{where} is not a fraction ({str(parts):.80}).")
        return fractions.Fraction(*parts)

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
        if not _mt19937_state(state):
            raise _InvalidFile(
                f"{where} is not the state of a RandomState, as get_state() gives it: "
                "('MT19937', 624 uint32 key words not all zero, a position in [0, 624], "
                "has_gauss 0 or 1, a finite cached Gaussian)."
            )
        random_state = np.random.RandomState()
        random_state.set_state(state)
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


def _mt19937_state(state):
    """Whether ``state`` is a legacy ``RandomState.get_state()`` tuple numpy may be given.

    numpy's ``set_state`` checks the key's length only when it reads past
    it (an ``IndexError``) and not the position, which it uses as an index.
    """
    if not isinstance(state, tuple) or len(state) != 5:
        return False
    name, key, position, has_gauss, cached = state
    return (
        name == "MT19937"
        and isinstance(key, np.ndarray) and key.dtype == np.uint32 and key.shape == (624,)
        and bool(key.any())  # an all-zero key is a fixed point: every draw would be 0
        and type(position) is int and 0 <= position <= 624
        and type(has_gauss) is int and has_gauss in (0, 1)
        and isinstance(cached, float) and math.isfinite(cached)
    )


def _expect(value, kind, where):
    if not isinstance(value, kind) or kind is int and isinstance(value, bool):
        raise _InvalidFile(f"{where} should be a {kind.__name__}; got {value!r:.80}.")
    return value


# ---------------------------------------------------------------------------
# Saving


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
