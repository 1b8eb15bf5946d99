"""The one fit path of skeeg's classifiers: ``fit``, a ``warm_start`` fit and ``partial_fit``.

:func:`train` is scikit-learn's ``_fit(..., incremental)``: a new fit
validates, learns the classes and the input scaling, builds the network,
its loss and a skorch net once; a continued fit (``warm_start=True`` on a
fitted classifier, or any ``partial_fit`` after the first) trains that same
net on. What continues with it: the weights, the optimiser's state in
``partial_fit`` (a ``warm_start`` fit starts a fresh optimiser, as
``MLPClassifier`` does), the callbacks' state (learning-rate schedulers
step on from the epochs already run), the history and one stream of random
numbers: each call draws from a seed derived from the fit's seed and the
epochs already run, so the same calls with the same ``random_state`` give
the same model and no two calls repeat their draws (batch order, crops,
augmentation, dropout).
"""

import contextlib
import threading
import warnings
from numbers import Number

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import ProgressBar

from .augmentation import apply_augmentation, check_augmentation
from ._fitted import check_fitted_state
from .callbacks import MaxNormConstraint, MemberLosses, MembersEarlyStopping, TrainingAccuracy
from .callbacks import ValidationEarlyStopping, copy_callback
from ._fast import training_forward
from ._heads import find_head
from ._members import MemberLoss, Members, build_network, draw_seed, member_seeds
from ._input import as_numpy
from ._memory import named_allocation_failures
from ._monitors import check_monitors, unrecorded_key
from ._net import SkeegNet, capture_kwargs
from ._constraints import Names
from ._params import check_params
from ._predict import logits_to_proba
from ._training import (
    BatchIterator,
    IndexSplit,
    SoftTargetCrossEntropy,
    Standardizer,
    TrialSubset,
    WeightedBCEWithLogits,
    as_tensor,
    float32_defaults,
    module_n_times,
    resolve_device,
    resolve_optimizer,
    split_validation,
)
from ._validation import (
    check_groups,
    check_same_classes,
    encode_labels,
    fit_input,
    learn_classes,
)

# Epochs after which a network kept from epoch 1 by early stopping is warned about.
FIRST_EPOCH_WARNING_EPOCHS = 10
# skeeg's own callbacks, by name, as a clash is reported.
OWN_CALLBACKS = {"train_acc": "TrainingAccuracy", "max_norm": "MaxNormConstraint",
                 "early_stopping": "EarlyStopping", "progress_bar": "ProgressBar",
                 "member_losses": "MemberLosses"}


def train(est, X, y, groups=None, classes=None, incremental=False, members=None):
    """Fit ``est`` (a new fit), or continue its fit; the one routine behind fit and partial_fit.

    ``incremental`` (``partial_fit``) trains one epoch, without a validation
    split or early stopping; otherwise ``max_epochs`` epochs, with them.
    ``members`` (a new fit of ``n_members`` networks only; what
    :class:`skeeg.model_selection.PackedSearchCV` passes) gives each member
    its own ``random_state``, ``lr`` and ``weight_decay``, as dicts; the
    first member's are the estimator's own.

    Raises
    ------
    skeeg._memory.AllocationError
        (a ``MemoryError`` and a ``ValueError``) when memory runs out,
        naming the shape of ``X`` and the step and parameters that sized
        the allocation; caught here, once for the whole fit.
    """
    check_params(est)
    device = resolve_device(est.device)
    action = f"{type(est).__name__}.{'partial_fit' if incremental else 'fit'}"
    shape = getattr(X, "shape", None)
    with named_allocation_failures(action, shape, "the reading of X as float32") as memory:
        return _train(est, X, y, groups, classes, incremental, members, device, memory)


def _train(est, X, y, groups, classes, incremental, members, device, memory):
    """The body of :func:`train`; ``memory`` is told each step's sizes (see skeeg._memory)."""
    new = not hasattr(est, "net_") or not (incremental or est.warm_start)
    X, y, groups = _read_data(est, X, y, groups, classes, incremental, new, memory)
    net = None if new else est.net_
    base = _base_seed(est, net)
    seed = call_seed(base, 0 if new else len(net.history))
    if incremental:
        train_index, valid = None, None
        if new:  # partial_fit holds no trials out; the attribute exists all the same
            est.validation_groups_ = None
    else:
        train_index, valid = split_validation(est, y, seed, groups)
    on_gpu = device.startswith("cuda")
    trials = TrialSubset(X, y)
    if on_gpu:
        memory.sized_by = f"the copy of X to {device}"
        # Held on the device for the whole fit: batches are then slices of
        # it, with no copy from the host per batch. (as_tensor: a read-only
        # X, such as joblib's memory maps in GridSearchCV(n_jobs>1), is
        # copied to the GPU without a warning.)
        trials = TrialSubset(as_tensor(X).to(device), as_tensor(y).to(device))
    epochs = 1 if incremental else est.max_epochs
    with float32_defaults(), torch.enable_grad(), random_stream(seed, device):
        if new:
            sizes = {"n_channels": est.n_channels_, "n_times": module_n_times(est),
                     **est._network_params(),
                     **({"n_members": est.n_members} if est.n_members > 1 else {})}
            memory.sized_by = "the building of the network ({:.300})".format(
                ", ".join(f"{name}={value!r}" for name, value in sizes.items()))
            module = build_network(est, len(est.classes_), base, len(trials), members,
                                   training_forward)
            _check_batch_norm(est, module, len(y) if train_index is None else len(train_index))
            _freeze(est, module)
            criterion = build_criterion(est, y, module.n_outputs)
            net = make_net(est, module, criterion, device, base, members)
            net.initialize()
        else:
            _check_batch_norm(est, net.module_, len(y) if train_index is None else len(train_index))
            _continue(est, net, y, device, incremental)
            if isinstance(net.module_, Members):
                net.module_.seed(member_seeds(seed, net.module_.n_members))
        validated = valid is not None
        net.train_split = IndexSplit(train_index, valid) if validated else None
        _set_early_stopping(est, net, validated)
        check_monitors(est, net, validated, incremental)
        net.stream_seed_ = seed
        # partial_fit continues the optimiser, and so its learning-rate schedulers;
        # a warm_start fit's fresh optimiser restarts them (set by _continue).
        net.keep_schedulers_ = incremental and not new
        net.restart_schedulers_ = getattr(net, "restart_schedulers_", False) and not new
        net.max_epochs = epochs
        memory.sized_by = (f"training, with batch_size={est.batch_size} trials per step "
                           f"({est.batch_size} x {est.n_channels_} x {module_n_times(est)})"
                           + (f" through n_members={est.n_members} networks"
                              if est.n_members > 1 else ""))
        before = len(net.history)
        try:
            net.partial_fit(trials, None)
        except (KeyError, ValueError) as error:  # skorch's: a key no epoch recorded?
            named = unrecorded_key(error, est, net)
            if named is None:
                raise
            raise named from None
        net.restart_schedulers_ = False
    net.release_training_state()
    if est.early_stopping and validated:
        _warn_if_first_epoch_kept(est, net.history[before:])
    est.net_ = net
    est.device_ = device
    est.cuda_graph_ = net.graph_replays_ > 0
    est.history_ = history_frame(net.history)
    check_fitted_state(est)  # what load will check a file of it against
    return est


def _read_data(est, X, y, groups, classes, incremental, new, memory):
    """The call's trials, encoded labels and groups, checked before any network exists.

    A new fit learns from them (classes, standardisation) and checks what it
    learnt against the fitted-attribute table; a continued one checks them
    against what the fit learnt.
    """
    if incremental and est.class_weight == "balanced":
        raise ValueError(
            "class_weight='balanced' cannot be used with partial_fit: each call sees only "
            "some trials, so the class frequencies are unknown. Compute fixed weights from a "
            "large enough sample of the labels, weights = compute_class_weight('balanced', "
            "classes=classes, y=y_sample) (sklearn.utils.class_weight), and pass "
            "class_weight=dict(zip(classes, weights))."
        )
    if not new:
        check_same_network(est)
    X, y = fit_input(est, X, y, reset=new)
    memory.shape, memory.sized_by = X.shape, "the input scaling and validation split"
    if incremental and classes is not None:
        classes = as_numpy(classes, "classes")
    if new:
        _check_crops(est)
        _learn_classes(est, y, classes if incremental else None)
        y = encode_labels(est, y, continued=False)
    else:
        if incremental:
            check_same_classes(est, classes)
        y = encode_labels(est, y)
    class_weights(est, y)  # refused now, not after the network is built
    groups = check_groups(groups, len(X))
    with float32_defaults():
        check_augmentation_fits(est)
    if new:
        _fit_standardizer(est, X)
        try:  # data no fitted model may hold (dates as labels...): refused before any epoch
            check_fitted_state(est, learnt=True)
        except ValueError as error:
            raise ValueError(f"These training data cannot be fitted: {error}") from None
    else:
        est._check_unit(X)  # trials in another unit than the fit's
    return X, y, groups


# ----------------------------------------------------------------------
# Random numbers: one stream per fit, a seed per call
_ACTIVE = {}  # thread id -> [fits running in it, whether another thread overlapped]
_ACTIVE_LOCK = threading.Lock()


def _base_seed(est, net):
    """The fit's seed: drawn from ``random_state`` by a new fit, kept by the net after."""
    base = None if net is None else getattr(net, "random_seed", None)
    if base is None:  # a new fit, or a net loaded from a file (random_state gives it back)
        base = draw_seed(est.random_state)
    return base


def call_seed(base, epochs_done):
    """The seed of one call: the fit's own for its first call, then one per epoch offset."""
    if epochs_done == 0:
        return base
    state = np.random.SeedSequence([int(base), int(epochs_done)]).generate_state(1)
    return int(state[0] & 0x7FFFFFFF)


@contextlib.contextmanager
def random_stream(seed, device):
    """torch's global generator seeded with ``seed`` for one call, restored after.

    Dropout and weight initialisation draw from torch's one global generator
    (there is no per-module generator): fits running at the same time in
    threads of one process draw from it in turn, and neither is repeatable.
    That is detected and warned about; processes (joblib's default backend)
    have a generator each.
    """
    me = threading.get_ident()
    with _ACTIVE_LOCK:
        entry = _ACTIVE.setdefault(me, [0, False])
        entry[0] += 1
        if len(_ACTIVE) > 1:
            for other in _ACTIVE.values():
                other[1] = True
    devices = [torch.device(device)] if str(device).startswith("cuda") else []
    try:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield
    finally:
        with _ACTIVE_LOCK:
            entry[0] -= 1
            overlapped = entry[1]
            if entry[0] == 0:
                del _ACTIVE[me]
    if overlapped:
        warnings.warn(
            "Another skeeg fit ran at the same time in another thread of this process: "
            "dropout and weight initialisation draw from torch's one global random "
            "generator, so neither fit is repeatable with its random_state. Run concurrent "
            "fits in processes (joblib's default 'loky' backend, n_jobs in scikit-learn), "
            "not threads.",
            UserWarning,
            stacklevel=4,
        )


# ----------------------------------------------------------------------
# A new fit
def _learn_classes(est, y, classes):
    """``classes_`` from ``classes`` (a first partial_fit) or from ``y``."""
    if classes is None:
        learn_classes(est, y)
        return
    labels = np.asarray(classes)
    outside = ~np.isin(np.asarray(y), labels)
    if outside.any():
        raise ValueError(
            f"y holds labels {np.unique(np.asarray(y)[outside]).tolist()} that are "
            f"not in classes={labels.tolist()}: classes must list every label "
            "of every call to partial_fit."
        )
    learn_classes(est, labels)


def _check_crops(est):
    """Refuse a crop longer than the trials (``n_times_`` must be known)."""
    if est.crop_length is not None and est.crop_length > est.n_times_:
        raise ValueError(
            f"crop_length={est.crop_length} is longer than the trials "
            f"({est.n_times_} samples): crops are cut from the trials. Use "
            f"crop_length <= {est.n_times_}, or None to train on whole trials."
        )


def crop_stride(est):
    """``crop_stride``, or its default for ``crop_length`` (None without crops)."""
    if est.crop_length is None:
        return None
    if est.crop_stride is None:
        return max(1, int(est.crop_length) // 2)
    return int(est.crop_stride)


def check_augmentation_fits(est):
    """Run the transforms once on two random trials of the training shape.

    A transform that cannot work on these trials (a time mask or shift
    longer than the crops, say, or one returning NaN) is then refused before
    training starts, not at its first batch. The trials are standard normal
    noise, as standardised trials look, not zeros: a user's transform that
    divides by a trial's standard deviation is right on real trials.
    """
    transforms = check_augmentation(est.augmentation)
    if not transforms:
        return
    length = module_n_times(est)
    n_classes = len(est.classes_)
    trials = torch.randn(2, est.n_channels_, length, generator=torch.Generator().manual_seed(0))
    targets = torch.nn.functional.one_hot(torch.arange(2) % n_classes, n_classes).float()
    try:
        apply_augmentation(transforms, trials, targets, torch.Generator().manual_seed(0))
    except ValueError as error:
        what = "crops" if est.crop_length is not None else "trials"
        raise ValueError(
            f"augmentation does not fit the training {what} ({est.n_channels_} channels "
            f"x {length} samples): {error}"
        ) from error


def _fit_standardizer(est, X):
    """Learn ``channel_mean_`` and ``scale_`` (an identity when ``standardize=False``)."""
    if est.standardize:
        standardizer = Standardizer.fit(X)
        est.channel_mean_, est.scale_ = standardizer.offset, standardizer.scale
    else:
        est.channel_mean_, est.scale_ = np.zeros(est.n_channels_, np.float32), 1.0


def class_weights(est, y):
    """The loss's class weights for encoded labels ``y``, or None.

    A dict's weights were range-checked with the parameters
    (:func:`skeeg._params.check_params`); here its labels are matched to
    ``classes_`` by value and kind (``0`` and ``1.0`` are numbers, ``"0"``
    is text), and a class it does not name weighs 1, as in scikit-learn.

    Raises
    ------
    ValueError
        A label that is not a class, or every class weighing 0.
    """
    if est.class_weight is None:
        return None
    if est.class_weight == "balanced":
        # scikit-learn's n_trials / (n_classes * count); a class these trials
        # lack (a warm_start fit on a new subject) weighs 1: it has no trial.
        counts = np.bincount(y, minlength=len(est.classes_)).astype(np.float64)
        weights = np.ones(len(est.classes_))
        present = counts > 0
        weights[present] = len(y) / (len(est.classes_) * counts[present])
    else:
        classes = est.classes_.tolist()
        weights, unknown = np.ones(len(classes)), []
        for label, weight in est.class_weight.items():
            index = next((i for i, c in enumerate(classes) if _same_label(label, c)), None)
            if index is None:
                unknown.append(label)
            else:
                weights[index] = float(weight)
        if unknown:
            raise ValueError(
                f"class_weight={est.class_weight!r:.200} cannot weigh the classes {classes}: "
                f"{unknown!r:.200} are not among them (labels match by value and kind: 0 and "
                "'0' differ). Give weights for the labels of y, 'balanced' or None."
            )
    if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() == 0:
        raise ValueError(
            f"class_weight must give each class a finite, non-negative weight, not all "
            f"zero; got {dict(zip(est.classes_.tolist(), weights.tolist()))}."
        )
    return torch.as_tensor(weights, dtype=torch.float32)


def _label_kind(label):
    """``"text"``, ``"bool"``, ``"number"`` or the type: what a label is, to compare kinds."""
    if isinstance(label, (str, bytes)):
        return "text"
    if isinstance(label, (bool, np.bool_)):
        return "bool"
    if isinstance(label, Number):
        return "number"
    return type(label)


def _same_label(key, label):
    """Whether a ``class_weight`` key names the class ``label``."""
    return _label_kind(key) == _label_kind(label) and bool(key == label)


def build_criterion(est, y, n_outputs):
    """The loss: cross-entropy (or binary, for one logit) with ``class_weight``; per member."""
    weight = class_weights(est, y)
    if n_outputs == 1:
        criterion = WeightedBCEWithLogits(weight=weight)
    else:
        criterion = SoftTargetCrossEntropy(weight=weight)
    return criterion if est.n_members == 1 else MemberLoss(criterion)


def _check_batch_norm(est, module, n_train):
    """Refuse a batch size or a training set that batch normalisation cannot train on."""
    has_batch_norm = any(
        isinstance(layer, torch.nn.modules.batchnorm._BatchNorm) for layer in module.modules()
    )
    if has_batch_norm and n_train < 2:
        raise ValueError(
            f"{type(est).__name__} cannot train on {n_train} trial: its batch "
            "normalisation needs at least 2 trials per batch. Pass 2 or more trials."
        )
    if has_batch_norm and est.batch_size < 2:
        raise ValueError(
            f"batch_size=1 cannot train {type(est).__name__}: its batch normalisation "
            "needs at least 2 trials per batch to compute batch statistics. Use "
            "batch_size >= 2."
        )


def _freeze(est, module):
    """Train the classifier head only when ``freeze="features"``; else everything."""
    head = set()
    if est.freeze == "features":
        head = {
            id(p) for layer in find_head(module, "freeze='features'") for p in layer.parameters()
        }
    for parameter in module.parameters():
        parameter.requires_grad_(est.freeze is None or id(parameter) in head)
    if head and not any(p.is_meta for p in module.parameters()):
        _check_head_is_used(est, module)


def _check_head_is_used(est, module):
    """With the features frozen, the output must still depend on the head's weights."""
    trials = torch.zeros(2, est.n_channels_, module_n_times(est), dtype=torch.float32,
                         device=next(module.parameters()).device)
    training = module.training
    try:
        with torch.enable_grad():
            used = module.eval()(trials).requires_grad
    finally:
        module.train(training)
    if not used:
        raise ValueError(
            f"freeze='features' trains only the classifier head of "
            f"{type(module).__name__}, but its output does not depend on the head's "
            "weights (forward does not call it): there is nothing left to train."
        )


def build_callbacks(est):
    """skeeg's callbacks (training accuracy, max-norm, early stopping, progress), then the user's."""
    callbacks = [("train_acc", TrainingAccuracy())]
    if getattr(est, "max_norm", False):
        callbacks.append(("max_norm", MaxNormConstraint()))
    # Always present, switched on per call (see _set_early_stopping): a net
    # continued by partial_fit or a fit without validation has it off.
    if est.n_members > 1:  # records what the members' early stopping reads: first
        callbacks.append(("member_losses", MemberLosses()))
    stopping = ValidationEarlyStopping if est.n_members == 1 else MembersEarlyStopping
    callbacks.append(("early_stopping", stopping(patience=est.patience, active=False)))
    if est.verbose >= 2:
        callbacks.append(("progress_bar", ProgressBar()))
    own = {name: OWN_CALLBACKS[name] for name, _ in callbacks}
    for i, entry in enumerate(est.callbacks or []):
        # skorch would call a clash with skeeg's own callbacks a duplicate "user-set"
        # name, which the user did not set twice.
        name = entry[0] if isinstance(entry, tuple) else None
        if name in own:
            raise ValueError(
                f"callbacks[{i}] is named {name!r}, the name of skeeg's own {own[name]} "
                f"callback; give it another name (the parameters early_stopping, "
                "patience, max_norm and verbose set skeeg's own callbacks)."
            )
    callbacks += [copy_callback(cb, i) for i, cb in enumerate(est.callbacks or [])]
    return callbacks


def make_net(est, module, criterion, device, seed=None, settings=None):
    """The skorch net that trains ``module`` (not yet initialised).

    ``seed`` is the fit's seed; each call's random streams derive from it
    (:func:`call_seed`). ``settings`` (see :func:`train`) gives each member
    an optimiser parameter group of its own ``lr`` and ``weight_decay``.
    """
    optimizer, optimizer_kwargs = resolve_optimizer(est.optimizer)
    if settings is not None:
        optimizer_kwargs = {**optimizer_kwargs, "param_groups": [
            (f"networks.{index}.*", {"lr": member["lr"], "weight_decay": member["weight_decay"]})
            for index, member in enumerate(settings)
        ]}
    on_gpu = str(device).startswith("cuda")
    # On a GPU the optimiser is built capturable whenever it can be, so
    # that graphed and eager training run the same arithmetic.
    capture = capture_kwargs(optimizer) if on_gpu else None
    if capture is not None:
        optimizer_kwargs = {**optimizer_kwargs, **capture}
    if on_gpu:
        # cuDNN picks an FFT algorithm for EEGNet's (1, 15) float32
        # convolution in the default layout (3.5 ms a step on an H100);
        # in channels-last it runs an implicit GEMM in 0.05 ms.
        module = module.to(memory_format=torch.channels_last)
    standardizer = None
    if est.standardize:
        standardizer = Standardizer(est.channel_mean_, est.scale_)
    net = SkeegNet(
        module=module,
        criterion=criterion,
        optimizer=optimizer,
        lr=est.lr,
        max_epochs=est.max_epochs,
        batch_size=est.batch_size,
        train_split=None,  # set per call by train()
        iterator_train=BatchIterator,
        iterator_train__shuffle=True,
        iterator_train__standardize=standardizer,
        iterator_valid=BatchIterator,
        iterator_valid__standardize=standardizer,
        callbacks=build_callbacks(est),
        predict_nonlinearity=logits_to_proba,
        classes=np.arange(len(est.classes_)),
        device=device,
        precision=est.precision,
        cuda_graph=est.cuda_graph and capture is not None,
        # Copies: a fit never touches the user's transforms.
        augmentation=tuple(clone(t) for t in check_augmentation(est.augmentation)),
        crop_length=None if est.crop_length is None else int(est.crop_length),
        crop_stride=crop_stride(est),
        random_seed=seed,
        verbose=int(est.verbose >= 1),
        # Silent fits skip skorch's epoch table, which it builds even unprinted.
        **({} if est.verbose else {"callbacks__print_log": None}),
        **{f"optimizer__{k}": v for k, v in optimizer_kwargs.items()},
        optimizer__weight_decay=est.weight_decay,
    )
    # What the module was built from: a continued fit must not change it.
    net.network_params_ = network_params(est)
    # What a continued call compares the parameters with, to apply changes.
    net.optimizer_settings_ = _frozen({**optimizer_kwargs})
    net.applied_ = {"lr": est.lr, "weight_decay": est.weight_decay,
                    "class_weight": _frozen(est.class_weight)}
    net.callback_settings_ = _callback_settings(est)
    return net


# ----------------------------------------------------------------------
# A continued fit
def network_params(est):
    """What a continued fit cannot change: the network's parameters, initialisation, scaling.

    Names that the table compares in any case (activations) are compared so.
    """
    params = _frozen({**est._network_params(), "init": est.init, "standardize": est.standardize,
                      "n_members": est.n_members})
    for name, value in params.items():
        for constraint in est._parameter_constraints.get(name, ()):
            if isinstance(constraint, Names) and isinstance(value, str):
                params[name] = constraint.normalize(value)
    return params


def _frozen(value):
    """``value`` with lists and arrays as tuples, numpy scalars as Python ones, to compare."""
    if isinstance(value, dict):
        return {key: _frozen(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def check_same_network(est):
    """Continuing a fit needs the network's own parameters, input scaling and crops unchanged."""
    built = getattr(est.net_, "network_params_", None)
    if built is not None:
        current = network_params(est)
        changed = [name for name in current if name in built and current[name] != built[name]]
        if changed:
            now = ", ".join(f"{name}={getattr(est, name)!r}" for name in changed)
            then = ", ".join(f"{name}={built[name]!r}" for name in changed)
            what = {"standardize": "its input scaling", "init": "its initialisation"}.get(
                changed[0] if len(changed) == 1 else None, "its architecture")
            raise ValueError(
                f"{now}, but the network being continued (warm_start=True or "
                f"partial_fit) was built with {then}: {what} cannot change. "
                "Set the parameter back, or fit a new classifier (warm_start=False)."
            )
    fitted = getattr(est.net_, "crop_length", None)
    if fitted != est.crop_length:
        raise ValueError(
            f"crop_length={est.crop_length!r}, but the network being continued "
            f"(warm_start=True or partial_fit) was built for crop_length={fitted!r}: "
            "its input length cannot change. Set crop_length back, or fit a new "
            "classifier (warm_start=False)."
        )


def _continue(est, net, y, device, incremental):
    """Ready a fitted net for another call with the estimator's parameters as they are now.

    What a continued call can change is applied: the batch size, precision,
    crop stride, augmentation, callbacks and verbosity, frozen layers, the
    device, and (where it changed) the learning rate, weight decay and fixed
    class weights. A ``warm_start`` fit then starts a fresh optimiser, of the
    optimiser named now (as ``MLPClassifier`` does), restarts the
    learning-rate schedulers with it and weighs the classes of its own
    trials; ``partial_fit`` keeps the optimiser's state, and refuses another
    optimiser, whose state could not carry over.
    """
    if str(net.device) != device:
        _move(net, device)
    _freeze(est, net.module_)
    net.batch_size = est.batch_size
    net.precision = est.precision
    net.crop_stride = crop_stride(est)
    net.augmentation = tuple(clone(t) for t in check_augmentation(est.augmentation))
    if _callback_settings(est) != getattr(net, "callback_settings_", None):
        _rebuild_callbacks(est, net)
    optimizer, kwargs = _optimizer_settings(est, device)
    if incremental:
        if (optimizer, kwargs) != (net.optimizer, net.optimizer_settings_):
            raise ValueError(
                f"optimizer={est.optimizer!r}, but the network being continued by partial_fit "
                f"trains with {net.optimizer.__name__}{net.optimizer_settings_ or ''}: "
                "partial_fit continues the optimiser's state, which another optimiser "
                "cannot take. Set it back, or continue with a warm_start=True fit, which "
                "starts a fresh optimiser."
            )
        for name, value in (("lr", est.lr), ("weight_decay", est.weight_decay)):
            if value != net.applied_[name]:  # changed since the last call: applied
                for group in net.optimizer_.param_groups:
                    group[name] = value
                    if name == "lr" and "initial_lr" in group:
                        group["initial_lr"] = value
                net.applied_[name] = value
        if _frozen(est.class_weight) != net.applied_["class_weight"]:
            _set_class_weights(est, net, y, device)
        return
    _set_optimizer(est, net, optimizer, kwargs)
    net.restart_schedulers_ = True
    _set_class_weights(est, net, y, device)


def _set_class_weights(est, net, y, device):
    weight = class_weights(est, y)
    net.criterion_.weight = None if weight is None else weight.to(device)
    net.applied_["class_weight"] = _frozen(est.class_weight)


def _optimizer_settings(est, device):
    """The optimiser class and its keyword arguments (beyond lr) that ``est`` names now."""
    optimizer, kwargs = resolve_optimizer(est.optimizer)
    capture = capture_kwargs(optimizer) if str(device).startswith("cuda") else None
    return optimizer, _frozen({**kwargs, **(capture or {})})


def _set_optimizer(est, net, optimizer, kwargs):
    """A fresh optimiser on the net, of the class, lr and weight decay ``est`` names now."""
    for key in [k for k in vars(net) if k.startswith("optimizer__")]:
        delattr(net, key)  # the previous optimiser's own arguments
    for key, value in {**dict(kwargs), "weight_decay": est.weight_decay}.items():
        setattr(net, f"optimizer__{key}", value)
    net.optimizer, net.lr = optimizer, est.lr
    net.optimizer_settings_ = kwargs
    net.applied_ = {"lr": est.lr, "weight_decay": est.weight_decay,
                    "class_weight": _frozen(est.class_weight)}
    net.initialize_optimizer()


def _callback_settings(est):
    """What the net's callbacks are built from: the user's list and the verbosity."""
    return (tuple(id(entry) for entry in est.callbacks or ()), id(est.callbacks),
            min(int(est.verbose), 2))


def _rebuild_callbacks(est, net):
    """The net's callbacks built anew from ``est`` (a changed list or verbosity)."""
    net.callbacks = build_callbacks(est)
    net.verbose = int(est.verbose >= 1)
    if est.verbose:
        vars(net).pop("callbacks__print_log", None)
    else:
        net.callbacks__print_log = None
    net.initialize_callbacks()
    net.callback_settings_ = _callback_settings(est)


def _move(net, device):
    """Move a fitted net (module, loss, optimiser state) to ``device``."""
    state = net.optimizer_.state_dict()
    net.module_.to(device)
    net.criterion_.to(device)
    net.device = device
    net.initialize_optimizer()
    net.optimizer_.load_state_dict(state)  # torch casts the state to the parameters' device


def _set_early_stopping(est, net, validated):
    """skeeg's early stopping watches this call's validation loss, if it has one."""
    for name, callback in net.callbacks_:
        if name == "early_stopping" and isinstance(callback, ValidationEarlyStopping):
            callback.active = bool(est.early_stopping and validated)
            callback.patience = est.patience


def _warn_if_first_epoch_kept(est, history):
    """Warn when early stopping returns the network of epoch 1 after many epochs.

    Its validation loss never went below the first epoch's: the network
    returned has had one epoch of training and often predicts near chance,
    which a fit should not hide.
    """
    losses = np.asarray([epoch["valid_loss"] for epoch in history], dtype=np.float64)
    if len(losses) < FIRST_EPOCH_WARNING_EPOCHS or np.argmin(losses) != 0:
        return
    warnings.warn(
        f"{type(est).__name__}: early stopping kept the network of epoch 1: in "
        f"{len(losses)} epochs the validation loss never went below its first value "
        f"({losses[0]:.3g}), so the network returned has had one epoch of training and "
        "may predict near chance. The validation part may differ from the training part "
        "(other subjects or runs), or lr may not suit the data: look at history_, and "
        "try another lr, a larger validation_fraction or early_stopping=False.",
        ConvergenceWarning,
        stacklevel=4,
    )


def history_frame(history):
    """Per-epoch scalars of skorch's history, standard columns first.

    Scores added by extra callbacks (for example a held-out accuracy)
    follow; skorch's per-batch records, batch counts and ``*_best`` flags
    are left out.
    """
    columns = ["epoch", "train_loss", "train_acc", "valid_loss", "valid_acc", "dur"]
    for epoch in history:
        for key, value in epoch.items():
            if key not in columns and key != "batches" and not key.endswith(
                ("_best", "_batch_count")
            ):
                if np.isscalar(value):
                    columns.append(key)
    rows = [{key: epoch.get(key, np.nan) for key in columns} for epoch in history]
    return pd.DataFrame(rows, columns=columns)
