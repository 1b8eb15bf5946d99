"""Looking inside a trained network: the features its classifier head sees.

:func:`embed` returns, for each trial, the activations that enter the
network's final linear layer (the "classifier head"): the representation
the network learned, in which the classes should be (nearly) linearly
separable. Projected to 2-D (PCA, t-SNE), it gives the DEAP DNN study's view
of what the network learned; :func:`skeeg.plotting.plot_embedding` draws it.
"""

import numpy as np
import torch
from sklearn.model_selection._search import BaseSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._heads import HEAD_NAMES, find_head
from ._predict import Evaluation, fitted_crops
from ._registry import is_classifier
from ._validation import predict_input

__all__ = ["embed", "find_head"]


def embed(clf, X):
    """The activations that enter the classifier head, one row per trial.

    The trials go through the same input checks and standardisation as in
    ``predict_proba``, and the network runs in evaluation mode (no dropout,
    batch norm with its running statistics) in the precision it was trained
    in; the input of its final linear layer is recorded by a forward
    pre-hook and flattened per trial.

    Parameters
    ----------
    clf : skeeg classifier, or a Pipeline or search ending in one
        A fitted classifier. For a fitted ``Pipeline`` the trials first go
        through its other steps (``transform``); for a fitted search
        (``GridSearchCV``...), through its ``best_estimator_``.
    X : array-like of shape (n_trials, n_channels, n_times)
        EEG trials with the channels and length seen in ``fit`` (for a
        Pipeline: what its first step takes), in the unit of the ``X``
        passed to ``fit``.

    Returns
    -------
    features : ndarray of shape (n_trials, n_features), float32
        What the head receives: for EEGNet and DeepConvNet the flattened
        output of the last convolutional block, for the DEAP DNN and CNN
        and EEGConformer the last hidden layer, for ShallowFBCSPNet the
        flattened log-power features, for ATCNet the summaries of its
        sliding windows side by side (``n_windows * tcn_filters``: with
        ``concat=False`` each window has its own head and the logits are
        averaged). ``n_features`` is the head's number of inputs; with
        ``n_members > 1``, every member's features side by side (member 0's
        first), ``n_members`` times as many.

    Raises
    ------
    TypeError
        If ``clf`` is not a skeeg classifier (or a Pipeline or search
        ending in one).
    ValueError
        If ``X`` is invalid (as in ``predict_proba``), the classifier was
        trained on crops, or the network has no recognisable head (see
        :func:`find_head`).
    sklearn.exceptions.NotFittedError
        If ``clf`` is not fitted.

    Examples
    --------
    >>> from skeeg import DNNClassifier
    >>> from skeeg.datasets import make_motor_imagery
    >>> from skeeg.inspection import embed
    >>> data = make_motor_imagery(n_trials=40, n_channels=3, n_times=64, random_state=0)
    >>> clf = DNNClassifier(hidden_sizes=(16, 8), max_epochs=2, random_state=0).fit(data.X, data.y)
    >>> embed(clf, data.X).shape
    (40, 8)
    """
    clf, X = _final_step(clf, X)
    if not is_classifier(clf):
        raise TypeError(
            "embed takes a fitted skeeg classifier, or a Pipeline or search ending in one; "
            f"got {type(clf).__name__}."
        )
    X = predict_input(clf, X)
    crops = fitted_crops(clf)  # what the fitted network was trained on, not the parameter
    if crops is not None:
        raise ValueError(
            f"embed reads the features of whole trials, but this {type(clf).__name__} was "
            f"trained on crops of crop_length={crops[0]} samples, whose features "
            "differ per crop: embed a classifier trained on whole trials."
        )
    # The network's own forward (not a folded copy), which calls the hooked head.
    evaluation = Evaluation(clf, fast=False)
    module = evaluation.module
    heads = find_head(module)
    captured = []

    def record(head, args):
        captured.append(args[0].detach().flatten(1).float())

    hooks = [head.register_forward_pre_hook(record) for head in heads]
    # A head found as the last linear layer (no head name) must be what
    # computes the logits: its outputs per trial are checked against them.
    named = any(isinstance(getattr(module, name, None), torch.nn.Module) for name in HEAD_NAMES)
    head_widths = []
    if not named:
        hooks.append(heads[0].register_forward_hook(
            lambda layer, args, output: head_widths.append(output[0].numel())
        ))
    chunks = []
    # An empty batch has no rows, but the width of one trial's features.
    probe = X if len(X) else np.zeros((1, *X.shape[1:]), np.float32)
    try:
        with evaluation.running(len(probe)):
            for _, batch in evaluation.batches(probe):
                captured.clear()
                head_widths.clear()
                logits = module(batch)
                if head_widths and head_widths[0] != logits[0].numel():
                    raise ValueError(
                        f"embed took the last linear layer of {type(module).__name__} "
                        f"({type(heads[0]).__name__}, {head_widths[0]} outputs) as its "
                        f"classifier head, but the network returns {logits[0].numel()} "
                        "logits per trial, so that layer is not the head. Name the layer "
                        "that computes the logits 'classifier'."
                    )
                if len(captured) != len(heads) and not named:
                    raise ValueError(
                        f"embed took the last linear layer defined in {type(module).__name__} "
                        f"as its classifier head, but forward called it {len(captured)} "
                        "times, so it is not the head. Name the layer that computes the "
                        "logits 'classifier'."
                    )
                if not captured:
                    raise ValueError(
                        f"The sub-module of {type(module).__name__} named as its classifier "
                        f"head ({' or '.join(repr(n) for n in HEAD_NAMES)}) is not called by "
                        "its forward, so embed cannot see the features that reach the logits."
                    )
                if len(captured) != len(heads):
                    raise ValueError(
                        f"{type(module).__name__}'s forward called its classifier head "
                        f"{len(captured)} times for {len(heads)} head module(s), so its input "
                        "is not one feature vector per trial: embed cannot inspect this network."
                    )
                chunks.append(torch.cat(captured, dim=1).cpu().numpy())
    finally:
        for hook in hooks:
            hook.remove()
    features = np.ascontiguousarray(np.concatenate(chunks), dtype=np.float32)
    return features if len(X) else features[:0]


def _final_step(estimator, X):
    """The classifier inside a fitted search or Pipeline, and ``X`` as it receives it."""
    while True:
        if isinstance(estimator, BaseSearchCV):
            check_is_fitted(estimator, "best_estimator_")  # absent too when refit=False
            estimator = estimator.best_estimator_
        elif isinstance(estimator, Pipeline):
            if len(estimator.steps) > 1:
                X = estimator[:-1].transform(X)
            estimator = estimator[-1]
        else:
            return estimator, X
