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
every size is checked before memory is allocated for it; what keeps it from
misleading is that every value it holds passes the checks a fit's own
values pass (the parameter table, the fitted-attribute table of
:mod:`skeeg._fitted`, the optimiser's own checks), so an edited file is
refused by ``load``, not later by an error that blames the trials.
"""

import json
import platform
import warnings

import numpy as np
import sklearn
import skorch
import torch
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

from .. import __version__
from .._fitted import FITTED, FITTED_OPTIONAL, check_history
from .._fitting import build_criterion, history_frame
from .._json import loads
from .._paths import output_file, user_path
from .._params import check_params
from .._registry import is_classifier, is_classifier_class
from .._training import float32_defaults
from ._codec import (
    ARRAY_BUDGET_FLOOR,
    ARRAY_BUDGET_PER_CHARACTER,
    FORMAT,
    FORMAT_VERSION,
    _ATTRIBUTE_NAME,
    _Decoder,
    _InvalidFile,
    _SPECIAL,
    _class_name,
    _decode_frame,
    _encode,
    _encode_frame,
    _expect,
    _known_classes,
)
from ._file import _digest, _read_file, _write_atomically
from ._network import (
    _build_net,
    _check_device_parameter,
    _check_fitted,
    _load_module,
    _load_state,
    _target_device,
)
from ._optimizer import load_optimizer

# What a file's "fitted" part may hold: the attributes fit leaves.
FITTED_NAMES = frozenset(FITTED) | frozenset(FITTED_OPTIONAL)


def save(clf, path):
    """Save a fitted skeeg classifier to one safetensors file, without pickle.

    Parameters
    ----------
    clf : skeeg classifier
        A fitted classifier (:class:`skeeg.EEGNetClassifier` and the others).
    path : str or path-like
        The file to write, used as given: no suffix is added
        (``.safetensors`` is a good one) and a relative path is relative to
        the working directory; ``~`` is expanded. A regular file there is
        replaced. It is written to a temporary file next to it first, so an
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
        If ``path`` is a folder or ends with a path separator, or names
        something other than a regular file (a FIFO, a device); also (as a
        ``skeeg._paths.MissingFolderError``, a ``FileNotFoundError`` too) if
        the folder of ``path`` does not exist.
    OSError
        If the system refuses the write (``PermissionError``, a full disk),
        naming ``path``.
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
    others = sorted(name for name in vars(clf) if _ATTRIBUTE_NAME.match(name)
                    and name not in FITTED_NAMES and name not in _SPECIAL)
    if others:
        warnings.warn(
            f"save stores the fitted attributes fit leaves (skeeg._fitted); {others[:5]} "
            "are not among them and are not saved.", UserWarning, stacklevel=2)
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
            for name, value in sorted(vars(clf).items()) if name in FITTED_NAMES
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
        Naming the file, the field and the rule: if it is not a regular
        file or cannot be read, is truncated, is not a model written by
        :func:`save`, was written by a newer skeeg format, its digest does
        not match its content, its parameters are missing, invalid (the
        table ``fit`` checks) or name unknown classes; if a fitted
        attribute breaks its rule in ``skeeg._fitted.FITTED`` (or is
        missing); if skorch's per-epoch history breaks its rules or
        ``history_`` is not derived from it; if a tensor's shape or dtype
        differs from the one the network built from those parameters has,
        a weight or buffer is not finite, or a normalisation layer's
        ``running_var`` / ``num_batches_tracked`` or a class weight is
        negative; or if the optimiser state does not match the optimiser
        the parameters name (its settings pass torch's own checks and are
        finite; its state has the entries, shapes and dtypes that
        optimiser keeps, finite, with whole non-negative step counts and
        non-negative second moments).
    """
    path = user_path(path)
    classes = _known_classes(trusted)
    try:
        return _load(path, device, classes)
    except _InvalidFile as error:
        raise ValueError(f"Cannot load {path!r}: {error}") from None
    except (ValueError, TypeError, OverflowError, IndexError, KeyError, MemoryError) as error:
        # Whatever else a file's content provokes is still about that file.
        kind = "" if type(error) is ValueError else f"{type(error).__name__}: "
        raise ValueError(f"Cannot load {path!r}: {kind}{str(error):.300}") from error


def _load(path, device, classes):
    metadata, tensors = _read_file(path)
    text = metadata.get("content")
    if not isinstance(text, str) or metadata.get("sha256") != _digest(text, tensors):
        raise _InvalidFile(
            "its content does not match the SHA-256 digest recorded when it was saved: "
            "the file was corrupted or edited. Use the original file."
        )
    try:
        content = loads(text)
    except (ValueError, RecursionError) as error:
        raise _InvalidFile(f"its JSON content cannot be read ({str(error):.200}).") from None
    content = _expect(content, dict, "the content")
    required = {"estimator", "params", "fitted", "history", "optimizer", "net_history"}
    missing = required - set(content)
    if missing:
        raise _InvalidFile(f"its content lacks {sorted(missing)}.")
    unknown = sorted(set(content) - required - {"versions"})
    if unknown:
        raise _InvalidFile(f"its content holds {unknown[:5]!r:.120}, which save never writes.")
    prefixes = ("module.", "criterion.", "optimizer.")
    foreign = [name for name in tensors if not name.startswith(prefixes)]
    if foreign:
        raise _InvalidFile(f"it holds tensors that skeeg never writes: {sorted(foreign)[:5]}.")
    decode = _Decoder(
        classes, {k: v for k, v in tensors.items() if k.startswith("optimizer.")},
        budget=max(ARRAY_BUDGET_FLOOR, ARRAY_BUDGET_PER_CHARACTER * len(text)),
    )
    try:
        with float32_defaults(), torch.enable_grad():  # a module's checks need autograd
            return _rebuild(content, tensors, decode, device)
    except RecursionError:
        raise _InvalidFile("its JSON content is nested too deeply.") from None


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
    missing = sorted(set(clf.get_params(deep=False)) - set(params))
    if missing:
        raise _InvalidFile(
            f"its parameters lack {missing[:5]}, which this skeeg's {cls.__name__} has: it was "
            "edited, or written by another version; use that version to load it."
        )
    try:
        check_params(clf)
    except (TypeError, ValueError) as error:
        raise _InvalidFile(f"its parameters are invalid: {error}") from None

    _check_device_parameter(clf)
    fitted = _expect(content["fitted"], dict, "the fitted attributes")
    for name, value in fitted.items():
        if not _ATTRIBUTE_NAME.match(name) or name in _SPECIAL:
            raise _InvalidFile(f"it holds a fitted attribute named {name!r:.80}.")
        if name not in FITTED_NAMES:
            raise _InvalidFile(
                f"it holds a fitted attribute {name}, which no fit leaves (the fitted "
                "attributes are declared in skeeg._fitted)."
            )
        if hasattr(cls, name):  # a method or property of the class, not fitted state
            raise _InvalidFile(f"its fitted attribute {name} would replace {cls.__name__}.{name}.")
        setattr(clf, name, decode(value, f"fitted attribute {name}"))
    n_classes = _check_fitted(clf)
    clf._label_encoder = LabelEncoder()
    clf._label_encoder.classes_ = clf.classes_
    net_history = _load_history(clf, content, decode)

    module = _load_module(clf, n_classes, tensors)
    criterion = build_criterion(clf, np.arange(n_classes), module.n_outputs)
    _load_state(criterion, "criterion", tensors)
    device = _target_device(clf, device)
    net = _build_net(clf, module, criterion, device)
    optimizer_state = decode(content["optimizer"], "the optimizer's state")
    unused = set(decode.tensors) - decode.used
    if unused:
        raise _InvalidFile(f"it holds tensors that nothing refers to: {sorted(unused)[:5]}.")
    load_optimizer(net, optimizer_state)
    net.history_ = net_history
    clf.net_ = net
    clf.device_ = str(net.device)
    return clf


def _load_history(clf, content, decode):
    """skorch's per-epoch records, checked; ``history_`` derived from them as fit does."""
    records = decode(content["net_history"], "net_.history")
    try:
        check_history(records, clf.n_members)
    except ValueError as error:
        raise _InvalidFile(f"{error} The file was edited, or not written by skeeg.save.") from None
    history = History(records)
    clf.history_ = history_frame(history)
    stored = _decode_frame(content["history"], decode, "history_")
    if not stored.equals(clf.history_):
        raise _InvalidFile(
            "its history_ table differs from its net_.history, the per-epoch records fit "
            "derives it from: the file was edited, or not written by skeeg.save."
        )
    return history
