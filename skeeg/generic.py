"""Any torch module as a skeeg classifier.

:class:`EEGClassifier` gives a network of your own (or one of braindecode's)
the whole skeeg contract: labels round-tripped through ``classes_``,
``random_state``, the validation split, early stopping, class weights,
devices and precision, input standardisation, MNE Epochs, warm starts, and
clear errors.
"""

import inspect
import numbers
import warnings

import numpy as np
import torch
from torch.nn.parameter import is_lazy

from .base import BaseEEGClassifier
from ._docs import fill_training_doc
from ._training import module_n_times
from ._memory import is_allocation_failure
from ._params import TRAINING
from .models import initialize_weights

# Operations whose outputs are bounded, by the name of their autograd node:
# a module whose output comes from one cannot give confident probabilities.
# (A final softmax gets its own message, below. LogSoftmax is not among them: the softmax of log-probabilities is the
# probabilities themselves, so the loss and predictions are those of logits.)
SQUASHING = {
    "SigmoidBackward0": ("a sigmoid", 0, 1),
    "TanhBackward0": ("a tanh", -1, 1),
    "HardsigmoidBackward0": ("a hardsigmoid", 0, 1),
    "SoftmaxBackward0": ("a softmax", 0, 1),
    "HardtanhBackward0": ("a hardtanh (or ReLU6)", "_saved_min_val", "_saved_max_val"),
    "ClampBackward1": ("a clamp", "_saved_min", "_saved_max"),
}
# Bounds wider than this leave confident probabilities reachable (a softmax of
# 2 logits that far apart gives 0.999): a clamp to [-50, 50] is a safety net.
HARMLESS_SPAN = 7.0
# Operations that keep a bounded input's bounds: shape changes and copies.
# (Scalings are not followed: 100 * sigmoid(z) is no bound that matters.)
_KEEPS_BOUNDS = (
    "ViewBackward", "UnsafeViewBackward", "ReshapeAliasBackward", "AliasBackward",
    "SliceBackward", "SelectBackward", "CloneBackward", "ExpandBackward", "PermuteBackward",
    "TransposeBackward", "TBackward", "SqueezeBackward", "UnsqueezeBackward", "ToCopyBackward",
)
# Operations that are bounded when every input is.
_JOINS = ("StackBackward", "CatBackward")

# skeeg's uniform model signature, and braindecode's naming.
SKEEG_SIGNATURE = ("n_channels", "n_times", "n_classes")
BRAINDECODE_SIGNATURE = ("n_chans", "n_outputs", "n_times")


@fill_training_doc(
    max_epochs=300, batch_size=64, lr=1e-3, optimizer="adam", validation_fraction=0.2,
    early_stopping=True, patience=50, init="default",
)
class EEGClassifier(BaseEEGClassifier):
    """Any ``torch.nn.Module`` class as a scikit-learn EEG classifier.

    The module class is built in ``fit``, once the data's shape is known,
    with one of two signatures:

    - skeeg's: ``module(n_channels, n_times, n_classes, **module_params)``;
    - braindecode's: ``module(n_chans=..., n_outputs=..., n_times=...,
      **module_params)``, plus ``sfreq`` and ``chs_info`` when its
      constructor takes them and they are known (``fit`` on
      :class:`mne.Epochs`) and ``module_params`` does not set them.

    It must map float32 trials ``(batch, n_channels, n_times)`` to logits
    ``(batch, n_classes)``; ``fit`` checks that on two trials before
    training. Trained with cross-entropy on those logits.

    Parameters
    ----------
    module : type
        A subclass of ``torch.nn.Module`` (the class, not an instance, so
        that every fit and every clone starts from fresh weights).
    module_params : dict or None, default=None
        Further keyword arguments of the module's constructor. Cloned and
        grid-searched as a whole (``{"module_params": [{...}, {...}]}``).
%(training_params)s
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``fit``.
    n_channels_, n_times_ : int
        Channels and samples per trial seen in ``fit``.
    history_ : pandas.DataFrame
        Per-epoch losses and accuracies.
    validation_groups_ : ndarray or None
        The groups held out as the validation set when ``fit`` got ``groups``;
        None otherwise.
    net_ : skorch.NeuralNetClassifier
        The trained skorch net; ``net_.module_`` is the module.

    Raises
    ------
    TypeError
        In ``fit``: ``module`` is not an ``nn.Module`` class, or its
        constructor takes neither signature, or ``module_params`` is not a
        dict.
    ValueError
        In ``fit``: the module has no trainable parameters, or its output
        on two trials has the wrong shape, is not floating point, does not
        reach the weights through autograd, is not finite, or is already
        probabilities (a final softmax).

    Examples
    --------
    >>> import torch
    >>> from skeeg import EEGClassifier
    >>> from skeeg.datasets import make_motor_imagery
    >>> class LogVariance(torch.nn.Module):
    ...     def __init__(self, n_channels, n_times, n_classes, n_filters=4):
    ...         super().__init__()
    ...         self.spatial = torch.nn.Conv1d(n_channels, n_filters, 1)
    ...         self.classifier = torch.nn.Linear(n_filters, n_classes)
    ...     def forward(self, x):
    ...         return self.classifier(self.spatial(x).var(dim=2).log())
    >>> data = make_motor_imagery(n_trials=60, n_channels=4, n_times=128, random_state=0)
    >>> clf = EEGClassifier(LogVariance, module_params={"n_filters": 2}, max_epochs=5,
    ...                     random_state=0).fit(data.X, data.y)
    >>> clf.predict_proba(data.X[:3]).shape
    (3, 2)
    """

    _parameter_constraints = {"module": "no_validation", "module_params": [None, dict], **TRAINING}

    def __init__(
        self,
        module,
        module_params=None,
        max_epochs=300,
        batch_size=64,
        lr=1e-3,
        optimizer="adam",
        weight_decay=0.0,
        validation_fraction=0.2,
        early_stopping=True,
        patience=50,
        class_weight=None,
        init="default",
        device="cpu",
        precision="float32",
        cuda_graph=True,
        standardize=True,
        warm_start=False,
        freeze=None,
        random_state=None,
        verbose=0,
        callbacks=None,
        augmentation=None,
        crop_length=None,
        crop_stride=None,
        n_members=1,
    ):
        self.module = module
        self.module_params = module_params
        super().__init__(
            max_epochs=max_epochs,
            batch_size=batch_size,
            lr=lr,
            optimizer=optimizer,
            weight_decay=weight_decay,
            validation_fraction=validation_fraction,
            early_stopping=early_stopping,
            patience=patience,
            class_weight=class_weight,
            init=init,
            device=device,
            precision=precision,
            cuda_graph=cuda_graph,
            standardize=standardize,
            warm_start=warm_start,
            freeze=freeze,
            augmentation=augmentation,
            crop_length=crop_length,
            crop_stride=crop_stride,
            random_state=random_state,
            verbose=verbose,
            callbacks=callbacks,
            n_members=n_members,
        )

    def set_params(self, **params):
        """Set parameters; ``module_params__<name>`` sets one of the module's arguments.

        ``set_params(module_params__n_filters=8)`` (and a grid over
        ``"module_params__n_filters"``) replaces ``module_params`` with a new
        dict holding that entry; the dict given before is not changed.

        Returns
        -------
        self : EEGClassifier
        """
        nested = {}
        for key in list(params):
            prefix, _, name = key.partition("__")
            if prefix == "module_params" and name:
                nested[name] = params.pop(key)
            elif prefix == "module" and name:
                raise ValueError(
                    f"Invalid parameter {key!r}: module is a class; set its constructor's "
                    f"arguments with 'module_params__{name}'."
                )
        if nested:
            current = params.get("module_params", self.module_params)
            if current is not None and not isinstance(current, dict):
                raise TypeError(
                    f"module_params__{next(iter(nested))} needs module_params to be a dict "
                    f"or None; it is {current!r}."
                )
            params["module_params"] = {**(current or {}), **nested}
        return super().set_params(**params)

    def _network_params(self):
        return {"module": self.module, "module_params": self.module_params or {}}

    def _check_sampling_rate(self, sfreq):
        """Also refuse a ``module_params`` sampling rate other than the Epochs'.

        The module's layers, sized in seconds or Hz, would be built for other data.
        """
        super()._check_sampling_rate(sfreq)
        declared = (self.module_params or {}).get("sfreq")
        if declared is None:
            return
        if isinstance(declared, bool) or not isinstance(declared, numbers.Real):
            raise TypeError(f"module_params['sfreq'] must be a number of Hz; got {declared!r}.")
        if not np.isclose(declared, sfreq):
            raise ValueError(
                f"module_params sets sfreq={declared!r} but the Epochs are sampled at "
                f"{sfreq:g} Hz: leave sfreq out of module_params (it is read from the "
                "Epochs) or resample them."
            )

    def _module_arguments(self, n_classes):
        """Positional and keyword arguments of the module's constructor."""
        params = dict(self.module_params or {})
        try:
            accepted = inspect.signature(self.module).parameters
        except (TypeError, ValueError):
            accepted = {}
        takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
        unknown = sorted(set(params) - set(accepted))
        if accepted and not takes_any and unknown:
            raise TypeError(
                f"module_params sets {unknown}, which {self.module.__name__}'s constructor "
                f"does not take; it takes ({', '.join(accepted)})."
            )
        n_times = module_n_times(self)  # crop_length with cropped training
        # braindecode's names first: some of its models also accept the old aliases
        # (n_channels, n_classes) in other positions. Always by keyword.
        for names in (BRAINDECODE_SIGNATURE, SKEEG_SIGNATURE):
            clash = sorted(set(params) & set(names)) if all(n in accepted for n in names) else []
            if clash:
                raise ValueError(
                    f"module_params sets {clash}, which skeeg sets from the data; leave them "
                    "out of module_params."
                )
        if all(name in accepted for name in BRAINDECODE_SIGNATURE):
            params.update(n_chans=self.n_channels_, n_outputs=n_classes, n_times=n_times)
            if "sfreq" in accepted and "sfreq" not in params and self.sfreq_ is not None:
                params["sfreq"] = self.sfreq_
            if "chs_info" in accepted and "chs_info" not in params and self.ch_names_:
                params["chs_info"] = [{"ch_name": name} for name in self.ch_names_]
            return (), params
        if all(name in accepted for name in SKEEG_SIGNATURE):
            params.update(n_channels=self.n_channels_, n_times=n_times, n_classes=n_classes)
            return (), params
        raise TypeError(
            f"{self.module.__name__}'s constructor takes neither skeeg's signature "
            f"({', '.join(SKEEG_SIGNATURE)}, ...) nor braindecode's "
            f"({', '.join(BRAINDECODE_SIGNATURE)}, ...); it takes "
            f"({', '.join(accepted) or '?'}). Wrap it in a module that takes one of them."
        )

    def _build_module(self, n_classes):
        args, kwargs = self._module_arguments(n_classes)
        try:
            module = self.module(*args, **kwargs)
        except TypeError as error:
            if "sfreq" in str(error) and "sfreq" not in kwargs:
                raise TypeError(
                    f"{error}. Fitted on arrays, skeeg does not know the sampling rate: fit on "
                    "mne.Epochs, or pass module_params={'sfreq': ...}."
                ) from error
            raise
        name = self.module.__name__
        if not hasattr(module, "n_outputs"):
            module.n_outputs = n_classes  # what skeeg's loss and prediction read
        elif module.n_outputs != n_classes:
            raise ValueError(
                f"{name} sets n_outputs={module.n_outputs!r}, but EEGClassifier trains "
                f"{n_classes} logits for {n_classes} classes and reads n_outputs to choose its "
                "loss: remove the attribute, or set it to the number of classes."
                + (f" skeeg's {name} gives one logit for two classes: use {name}Classifier."
                   if self.module.__module__.startswith("skeeg.models") else "")
            )
        if any(p.is_meta for p in module.parameters()):
            return module  # a shape-only skeleton (skeeg.load checks a file's shapes on one)
        # One forward pass on two trials, before any training: a wrong output
        # is reported here rather than as a shape error deep inside the loss.
        if not any(p.requires_grad for p in module.parameters()):
            raise ValueError(
                f"{name} has no trainable parameters (none, or all with requires_grad=False): "
                "there is nothing to fit. Register its layers as attributes or in "
                "nn.ModuleList, and leave freezing to freeze='features'."
            )
        was_training = module.training
        # Unit noise, as standardised trials are; its own generator leaves
        # the training's random numbers alone. In evaluation mode, so that
        # batch norm's running statistics are left alone; with gradients,
        # to see that training can reach the weights.
        trials = torch.randn(2, self.n_channels_, module_n_times(self),
                             generator=torch.Generator().manual_seed(0))
        try:
            if any(is_lazy(p) for p in module.parameters()):
                with torch.no_grad():  # lazy layers (nn.LazyLinear...) take their shapes
                    module.eval()(trials)
            before = [p.detach().clone() for p in module.parameters()]
            out = module.eval()(trials)
        except (ValueError, TypeError):
            raise  # the module's own words
        except Exception as error:
            if is_allocation_failure(error):
                raise  # named with the input's shape by the fit (skeeg._memory)
            what = (f"crop_length={self.crop_length}: cropped training runs the network on "
                    "crops" if self.crop_length is not None else f"n_times={self.n_times_}")
            raise ValueError(
                f"{name} fails on trials of shape {tuple(trials.shape)} ({what}): "
                f"{type(error).__name__}: {error}"
            ) from error
        finally:
            module.train(was_training)
        self._check_logits(name, out, n_classes)
        if any(not torch.equal(b, p) for b, p in zip(before, module.parameters())):
            warnings.warn(
                f"{name} changes its own weights when it computes (in evaluation mode, as "
                "braindecode's MaxNormLinear does): predict_proba, export and embed will "
                "then change the fitted weights, and two calls on the same trials can give "
                "different probabilities. Apply weight constraints after optimiser steps "
                "instead (skeeg's max_norm).",
                UserWarning,
                stacklevel=5,
            )
        initialize_weights(module, self.init)
        return module

    @staticmethod
    def _check_logits(name, out, n_classes):
        """Refuse a module output that cross-entropy cannot train on."""
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, n_classes):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(
                f"{name} must return logits of shape (batch, n_classes) = (2, {n_classes}) "
                f"for 2 trials; it returned {shape}."
            )
        if not out.is_floating_point():
            raise ValueError(
                f"{name} returns logits of dtype {out.dtype}; they must be floating point "
                "(no rounding, argmax or casting in forward): the loss needs their gradient."
            )
        if not out.requires_grad:
            raise ValueError(
                f"{name}'s output does not depend on its trainable weights through autograd "
                "(its forward runs under torch.no_grad() or inference_mode, or detaches): "
                "it cannot be trained."
            )
        softmax = out.grad_fn is not None and type(out.grad_fn).__name__ == "SoftmaxBackward0"
        # A softmax has its own message, below.
        squashing = None if softmax else _squashing(out.grad_fn)
        if squashing is not None:
            function, low, high = squashing
            bounds = "" if low is None else (
                f" to [{low:g}, {high:g}] (a softmax over 2 classes at most "
                f"{_bounded_probability(float(low), float(high)):.2f})")
            raise ValueError(
                f"{name}'s output comes from {function}, which bounds every logit{bounds}: "
                "the softmax of bounded logits can never approach 0 or 1, so training would "
                "stall with uncertain probabilities. Return the last layer's output as it is "
                "(skeeg trains logits with cross-entropy and applies softmax or sigmoid in "
                "predict_proba); a final LogSoftmax is fine."
            )
        out = out.detach()
        if not torch.isfinite(out).all():
            raise ValueError(
                f"{name} returns non-finite logits for ordinary trials (zeros and unit "
                "noise) before any training: check its initialisation and forward."
            )
        sums = out.sum(dim=1)
        if softmax or n_classes > 1 and bool(((out >= 0) & (out <= 1)).all()) and bool(
            torch.allclose(sums, torch.ones_like(sums), atol=1e-5)
        ):
            raise ValueError(
                f"{name} returns probabilities (each row in [0, 1], summing to 1): skeeg "
                "trains on logits with cross-entropy and applies softmax in predict_proba. "
                "Remove the final softmax (a final LogSoftmax is fine: cross-entropy on "
                "log-probabilities is the same loss)."
            )


def _squashing(node):
    """``(function, low, high)`` when the autograd ``node`` is a bounded function's, else None.

    Followed back through the autograd graph across shape changes and joins
    of bounded parts (``torch.sigmoid(z).reshape(...)``, ``torch.stack``). A
    clamp or hardtanh counts where its two bounds are closer than
    ``HARMLESS_SPAN``. ``low`` and ``high`` are given where the output is the
    function's own.
    """
    direct = True
    while node is not None:
        name = type(node).__name__
        if name in SQUASHING:
            function, low, high = SQUASHING[name]
            if isinstance(low, str):  # bounds saved on the node
                low, high = getattr(node, low, None), getattr(node, high, None)
                if low is None or high is None or float(high) - float(low) > HARMLESS_SPAN:
                    return None
            return (function, low, high) if direct else (function, None, None)
        inputs = [n for n, _ in node.next_functions if n is not None]
        if name.startswith(_JOINS) and inputs:
            parts = [_squashing(n) for n in inputs]
            return None if None in parts else (parts[0][0], None, None)
        if not name.startswith(_KEEPS_BOUNDS) or len(inputs) != 1:
            return None
        node, direct = inputs[0], False
    return None


def _bounded_probability(low, high):
    """The largest probability a softmax of 2 logits within [low, high] can give."""
    return 1.0 / (1.0 + np.exp(low - high))
