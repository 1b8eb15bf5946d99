"""Figures for EEG classifiers: learning curves, confusion matrices, embeddings.

matplotlib is an optional dependency (``pip install skeeg[plot]``); it is
imported inside the functions, so ``import skeeg.plotting`` works without
it. Each function returns the matplotlib Figure and saves it when given a
``path``.
"""

import os
import textwrap
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ._paths import output_file
from .inspection import embed

#: Default metrics of :func:`plot_learning_curves` and their axis titles.
METRIC_LABELS = {
    "train_acc": "training accuracy",
    "valid_acc": "validation accuracy",
    "test_acc": "test accuracy (held out, not used for any choice)",
    "train_loss": "training loss",
    "valid_loss": "validation loss",
}


# Resolutions a figure is written at: a screen's to a print's, far below what
# makes matplotlib's renderer allocate gigabytes (dpi=1e5 ended in std::bad_alloc).
DPI_RANGE = (10, 2400)


def _check_figure(dpi, figsize=None):
    """Refuse a resolution or figure size before any drawing, naming the parameter."""
    if (isinstance(dpi, bool) or not isinstance(dpi, (int, float, np.integer, np.floating))
            or not DPI_RANGE[0] <= dpi <= DPI_RANGE[1]):
        raise ValueError(f"dpi must be a number in [{DPI_RANGE[0]}, {DPI_RANGE[1]}]; got {dpi!r}.")
    if figsize is not None:
        try:
            width, height = (float(v) for v in figsize)
        except (TypeError, ValueError):
            raise ValueError(f"figsize must be (width, height) in inches; got {figsize!r}.") \
                from None
        if not (0 < width <= 100 and 0 < height <= 100):
            raise ValueError(f"figsize must be (width, height), each in (0, 100] inches; got "
                             f"{figsize!r}.")


def _save(fig, path, dpi):
    """Write ``fig`` to ``path`` as given: its suffix names the format, and none means PNG.

    matplotlib would add ``.png`` to a path without one; skeeg writes the
    path it is given, as ``save`` and the exports do.
    """
    path = output_file(path, "path", example="figure.png")
    suffix = os.path.splitext(path)[1].lstrip(".").lower()
    fig.savefig(path, dpi=dpi, format=suffix or "png")


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "skeeg.plotting needs matplotlib; install it with `pip install skeeg[plot]`."
        ) from exc
    return plt


def _history_of(value):
    """``(history DataFrame, name)`` of a history or a fitted classifier; None otherwise.

    A classifier is anything with a ``history_`` DataFrame; a Pipeline gives
    its last step's, a fitted search (``GridSearchCV``) its best estimator's.
    An estimator without a history (not fitted) raises ``NotFittedError``.
    """
    if isinstance(value, pd.DataFrame):
        return value, None
    estimator = value
    for _ in range(8):  # unwrap searches and pipelines, nested a few levels deep
        if hasattr(estimator, "best_estimator_"):
            estimator = estimator.best_estimator_
        elif hasattr(estimator, "steps") and isinstance(estimator.steps, list) and estimator.steps:
            estimator = estimator.steps[-1][1]
        else:
            break
    history = getattr(estimator, "history_", None)
    if isinstance(history, pd.DataFrame):
        return history, type(estimator).__name__
    if hasattr(estimator, "get_params") and hasattr(type(estimator), "fit"):
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(
            f"{type(estimator).__name__} has no history_: fit it before plotting its "
            "learning curves (or pass a history DataFrame)."
        )
    return None


def _as_runs(value, where):
    """A history, a fitted classifier, or a list of them, as a list of DataFrames."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    runs = [_history_of(item) for item in items]
    if not runs or any(run is None for run in runs):
        raise TypeError(
            f"{where}: expected a history DataFrame or a fitted classifier (its history_), "
            f"or a list of them; got {type(value).__name__}."
        )
    return [history for history, _ in runs]


def _normalise_histories(histories, label=None):
    """Return ``({panel: {line: [DataFrame, ...]}}, single name)`` from the accepted inputs.

    The name is that of a single history or classifier passed alone (its
    line label): ``label``, else the classifier's class name, else
    ``"history"``; None for dicts.
    """
    if not isinstance(histories, (Mapping, list, tuple)):
        single = _history_of(histories)
        if single is not None:
            name = str(label or single[1] or "history")
            return {"": {name: [single[0]]}}, name
    if not isinstance(histories, Mapping) or not histories:
        raise TypeError(
            "histories must be a history DataFrame or a fitted classifier, a non-empty dict "
            "{line label: history}, or a dict {panel title: {line label: history}}; a "
            "history may also be a list of DataFrames or classifiers (seeds or folds), drawn "
            "as their mean."
        )
    if all(isinstance(v, Mapping) for v in histories.values()):
        panels = histories
    else:
        panels = {"": histories}
    return {
        str(panel): {
            str(line): _as_runs(runs, f"histories[{panel!r}][{line!r}]")
            for line, runs in lines.items()
        }
        for panel, lines in panels.items()
    }, None


def _has_metric(run, metric):
    return metric in run and bool(run[metric].notna().any())


def _mean_curve(runs, metric):
    """Mean and spread (min, max) of a metric over runs, by epoch."""
    length = max(len(run) for run in runs)
    values = np.full((len(runs), length), np.nan)
    for i, run in enumerate(runs):
        if metric in run:
            values[i, : len(run)] = run[metric].to_numpy(dtype=float)
    epochs = np.arange(1, length + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN epochs
        return epochs, np.nanmean(values, 0), np.nanmin(values, 0), np.nanmax(values, 0)


#: What :func:`plot_learning_curves` draws when ``metrics`` is None.
DEFAULT_METRICS = ("train_acc", "valid_acc", "test_acc")


def plot_learning_curves(
    histories,
    metrics=None,
    *,
    label=None,
    title=None,
    chance=None,
    markers=None,
    path=None,
    figsize=None,
    dpi=120,
):
    """Plot accuracy (or loss) per epoch, one panel per model and metric.

    The layout follows the comparison figures of the course study: one
    column per model (the panels), one line per variant (for example the
    activation function), one row per metric (training, validation and test
    accuracy by default), so that lines of one panel share their colours
    with every other panel. Every line is named in the legend, and the
    figure has a title.

    Parameters
    ----------
    histories : fitted classifier, DataFrame, dict or dict of dict
        Per-epoch histories. Either a single fitted classifier (its
        ``history_``; a fitted ``Pipeline`` or ``GridSearchCV`` gives that
        of its final or best classifier) or a single history DataFrame; or
        ``{line label: history}`` for one panel; or ``{panel title: {line
        label: history}}``. In the dicts, a history may be a DataFrame, a
        fitted classifier, or a list of them (several seeds or folds): the
        line is then their mean per epoch and a shaded band spans their
        minimum and maximum.
    metrics : str or sequence of str, default=None
        History columns to draw, one row of panels each; None means
        ``("train_acc", "valid_acc", "test_acc")``. A metric that no history
        has (or has only NaN for) gets no row: it is left out, silently for
        the default metrics, with a ``UserWarning`` when named in
        ``metrics``. A metric missing from some histories only is skipped
        for those.
    label : str, default=None
        Legend label of the line of a single classifier or history; by
        default the classifier's class name (``"history"`` for a
        DataFrame). Dict inputs are labelled by their keys.
    title : str, default=None
        Title of the whole figure. By default ``"Learning curves"``,
        followed by the single line's label and its number of epochs.
    chance : float, default=None
        Draw a dotted horizontal line at this level (for example 0.5 for
        two balanced classes) on accuracy panels.
    markers : dict, default=None
        ``{(panel title, line label): epoch}``: mark one epoch of a line
        (for example the epoch chosen by early stopping on the validation
        loss) with a dot on every row.
    path : str or path-like, default=None
        When given, the figure is saved there (PNG by the extension).
    figsize : tuple of float, default=None
        Figure size in inches; by default 4.2 per column and 2.8 per row.
    dpi : int, default=120
        Resolution used when saving.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.

    Raises
    ------
    TypeError
        If ``histories`` is none of the accepted inputs.
    sklearn.exceptions.NotFittedError
        If a classifier has not been fitted.
    ValueError
        If no history has any of ``metrics`` (the message lists the columns
        they have).

    See Also
    --------
    skeeg.callbacks.HeldOutScoring : Records the per-epoch ``test_acc``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from skeeg.plotting import plot_learning_curves
    >>> h = pd.DataFrame({"train_acc": [0.6, 0.8, 0.9], "valid_acc": [0.55, 0.7, 0.72],
    ...                   "test_acc": [0.5, 0.68, 0.7]})
    >>> fig = plot_learning_curves({"EEGNet": {"elu": h, "relu": h * 0.95}}, chance=0.5)
    >>> len(fig.axes)
    3
    >>> fig = plot_learning_curves(h.drop(columns="test_acc"), label="EEGNet")
    >>> len(fig.axes), fig._suptitle.get_text()
    (2, 'Learning curves: EEGNet, 3 epochs')
    """
    _check_figure(dpi, figsize)
    plt = _import_pyplot()
    panels, single = _normalise_histories(histories, label)
    asked = metrics is not None
    metrics = list(DEFAULT_METRICS) if metrics is None else (
        [metrics] if isinstance(metrics, str) else list(metrics))
    if not metrics:
        raise ValueError("metrics must name at least one history column.")
    all_runs = [run for lines in panels.values() for runs in lines.values() for run in runs]
    missing = [m for m in metrics if not any(_has_metric(run, m) for run in all_runs)]
    metrics = [m for m in metrics if m not in missing]
    if not metrics:
        columns = list(dict.fromkeys(
            c for run in all_runs for c in run.columns if c not in ("epoch", "dur")))
        if not any(len(run) for run in all_runs):
            raise ValueError("the histories hold no epoch: nothing to plot (fit first).")
        raise ValueError(
            f"no history has any of the metrics {missing} with a value; their columns are "
            f"{columns}."
        )
    if missing and asked:
        warnings.warn(
            f"left out {missing}: no history has these columns (or only NaN).",
            UserWarning, stacklevel=2,
        )
    if title is None:
        title = "Learning curves"
        if single is not None:
            n_epochs = len(all_runs[0])
            title += f": {single}, {n_epochs} epoch{'s' if n_epochs != 1 else ''}"
    markers = dict(markers or {})
    n_rows, n_cols = len(metrics), len(panels)
    if figsize is None:
        figsize = (0.6 + 4.2 * n_cols, 0.9 + 2.8 * n_rows)
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=figsize, sharex="col", sharey="row", squeeze=False
    )
    line_labels = list(dict.fromkeys(line for lines in panels.values() for line in lines))
    colours = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    colour_of = {label: colours[i % len(colours)] for i, label in enumerate(line_labels)}

    for col, (panel, lines) in enumerate(panels.items()):
        for row, metric in enumerate(metrics):
            ax = axes[row, col]
            for label, runs in lines.items():
                epochs, mean, low, high = _mean_curve(runs, metric)
                if np.isnan(mean).all():
                    continue
                ax.plot(epochs, mean, color=colour_of[label], lw=1.4, label=label or None)
                if len(runs) > 1:
                    ax.fill_between(epochs, low, high, color=colour_of[label], alpha=0.15, lw=0)
                epoch = markers.get((panel, label))
                if epoch is not None and 1 <= epoch <= len(mean):
                    ax.plot(epoch, mean[epoch - 1], "o", color=colour_of[label], ms=5, mec="k")
            if chance is not None and metric.endswith("acc"):
                ax.axhline(chance, color="0.4", ls=":", lw=1, label=f"chance ({chance:g})")
            ax.grid(alpha=0.3)
            if row == 0 and panel:
                ax.set_title(panel)
            if col == 0:
                ax.set_ylabel(METRIC_LABELS.get(metric, metric).split(" (")[0])
            if row == n_rows - 1:
                ax.set_xlabel("epoch")
            if col == n_cols - 1 and len(metrics) > 1 and metric in METRIC_LABELS:
                note = METRIC_LABELS[metric]
                if "(" in note:
                    ax.text(
                        1.0, 1.01, "(" + note.split(" (", 1)[1], transform=ax.transAxes,
                        ha="right", va="bottom", fontsize=7, color="0.35",
                    )
    handles, labels = {}, []
    for ax in axes.ravel():
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in handles:
                handles[label] = handle
                labels.append(label)
    if handles:
        fig.legend(
            [handles[label] for label in labels], labels, loc="lower center",
            ncol=min(len(labels), 5), frameon=False, bbox_to_anchor=(0.5, 0.0),
        )
    if title:
        fig.suptitle(title)
    legend_rows = int(np.ceil(len(labels) / 5)) if handles else 0
    fig.tight_layout(rect=(0, 0.03 + 0.04 * legend_rows * 2.8 / figsize[1], 1, 1))
    if path is not None:
        _save(fig, path, dpi)
    return fig


def plot_confusion_matrix(
    y_true,
    y_pred,
    *,
    labels=None,
    display_labels=None,
    normalize=None,
    title=None,
    ax=None,
    cmap="Blues",
    path=None,
    dpi=120,
):
    """Plot a confusion matrix (true labels in rows, predictions in columns).

    A thin layer over scikit-learn's
    :class:`~sklearn.metrics.ConfusionMatrixDisplay` that adds a title with
    the accuracy and the number of predictions, and saving.

    Parameters
    ----------
    y_true : array-like of shape (n_trials,)
        True labels.
    y_pred : array-like of shape (n_trials,)
        Predicted labels.
    labels : array-like, default=None
        Labels to index the matrix, in this order; by default those present
        in ``y_true`` or ``y_pred``, sorted.
    display_labels : array-like, default=None
        Names shown on the axes, in the order of ``labels``.
    normalize : {"true", "pred", "all"} or None, default=None
        Normalise counts over the true labels (rows), the predictions
        (columns) or everything; None shows counts.
    title : str, default=None
        Title; the accuracy and the number of predictions are appended on a
        second line.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure is made when None.
    cmap : str, default="Blues"
        Colour map.
    path : str or path-like, default=None
        When given, the figure is saved there.
    dpi : int, default=120
        Resolution used when saving.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure holding the matrix.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skeeg.plotting import plot_confusion_matrix
    >>> fig = plot_confusion_matrix(["left", "left", "right"], ["left", "right", "right"],
    ...                             title="EEGNet")
    >>> fig.axes[0].get_xlabel()
    'Predicted label'
    """
    _check_figure(dpi)
    plt = _import_pyplot()
    from sklearn.metrics import ConfusionMatrixDisplay

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.6, 4.2))
    else:
        fig = ax.figure
    display = ConfusionMatrixDisplay.from_predictions(
        y_true,
        y_pred,
        labels=labels,
        display_labels=display_labels,
        normalize=normalize,
        cmap=cmap,
        ax=ax,
        colorbar=False,
        values_format=None if normalize is None else ".2f",
    )
    accuracy = float(np.mean(y_true == y_pred)) if len(y_true) else float("nan")
    # "predictions", not "trials": pooled runs predict each trial more than once.
    summary = f"accuracy {accuracy:.1%} on {len(y_true)} predictions"
    if title:
        lines = [textwrap.fill(line, 48) for line in str(title).splitlines()]
        summary = "\n".join([*lines, summary])
    ax.set_title(summary, fontsize=10)
    del display
    fig.tight_layout()
    if path is not None:
        _save(fig, path, dpi)
    return fig


#: Methods of :func:`plot_embedding`.
EMBEDDING_METHODS = ("pca", "tsne")


def plot_embedding(
    clf,
    X,
    y=None,
    method="pca",
    *,
    ax=None,
    random_state=0,
    perplexity=None,
    title=None,
    path=None,
    figsize=(5.4, 4.6),
    dpi=120,
):
    """Draw what a fitted network learned: its trials in 2-D, coloured by class.

    The features are :func:`skeeg.inspection.embed` ``(clf, X)``, the
    activations that enter the classifier head (one row per trial); they
    are brought to two dimensions by scikit-learn's
    :class:`~sklearn.decomposition.PCA` or :class:`~sklearn.manifold.TSNE`
    and drawn as one point per trial, one colour per class, with a legend
    of the class names. This is the 2-D view of the DEAP DNN study.

    Parameters
    ----------
    clf : fitted skeeg classifier
        The network to look into.
    X : array-like of shape (n_trials, n_channels, n_times)
        Trials, as for ``clf.predict``.
    y : array-like of shape (n_trials,), default=None
        Their labels (the true classes), used for the colours only. None
        colours by the classes ``clf.predict(X)`` gives (the legend says
        "predicted class").
    method : {"pca", "tsne"}, default="pca"
        PCA (linear; the axes are the two directions of largest variance,
        with the share of the variance they hold) or t-SNE (non-linear;
        neighbourhoods are kept, distances between clusters mean little).
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure is made when None.
    random_state : int or None, default=0
        Seed of t-SNE (PCA is deterministic).
    perplexity : float, default=None
        t-SNE's perplexity; by default ``min(30, (n_trials - 1) / 3)``, as
        t-SNE needs fewer than ``n_trials``.
    title : str, default=None
        Title; by default the classifier, the method and the number of
        trials.
    path : str or path-like, default=None
        When given, the figure is saved there.
    figsize : tuple of float, default=(5.4, 4.6)
        Size of a new figure, in inches.
    dpi : int, default=120
        Resolution used when saving.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure; its axes hold one scatter collection per class, in the
        order of the legend.

    Raises
    ------
    ValueError
        If ``method`` is not one of "pca", "tsne"; if ``y`` is not 1-D or
        its length differs from the number of trials of ``X``; if fewer than
        3 trials are given, or the embedding has fewer than 2 features.
    ImportError
        If :mod:`skeeg.inspection` (or matplotlib) is not available.

    See Also
    --------
    skeeg.inspection.embed : The activations drawn here.
    """
    _check_figure(dpi, figsize)
    if not isinstance(method, str) or method.lower() not in EMBEDDING_METHODS:
        raise ValueError(
            f"method must be one of {', '.join(repr(m) for m in EMBEDDING_METHODS)}; "
            f"got {method!r}."
        )
    method = method.lower()
    legend_title = "class"
    if y is None:
        y, legend_title = clf.predict(X), "predicted class"
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, one label per trial; got shape {y.shape}.")
    n_trials = len(X)
    if len(y) != n_trials:
        raise ValueError(
            f"y has {len(y)} labels but X has {n_trials} trials; give one label per trial."
        )
    if n_trials < 3:
        raise ValueError(f"plot_embedding needs at least 3 trials; got {n_trials}.")
    plt = _import_pyplot()
    features = np.asarray(embed(clf, X), dtype=np.float64)
    if features.ndim != 2 or features.shape[0] != n_trials:
        raise ValueError(
            f"embed(clf, X) gave shape {features.shape}; expected ({n_trials}, n_features)."
        )
    if features.shape[1] < 2:
        raise ValueError(
            f"the embedding has {features.shape[1]} feature(s); at least 2 are needed "
            "for a 2-D view."
        )
    if method == "pca":
        from sklearn.decomposition import PCA

        reducer = PCA(n_components=2)
        points = reducer.fit_transform(features)
        share = reducer.explained_variance_ratio_
        axis_labels = [f"PC {i + 1} ({100 * share[i]:.1f} % of variance)" for i in range(2)]
        method_name = "PCA"
    else:
        from sklearn.manifold import TSNE

        if perplexity is None:
            perplexity = min(30.0, max(1.0, (n_trials - 1) / 3))
        reducer = TSNE(n_components=2, perplexity=perplexity, init="pca",
                       random_state=random_state)
        points = reducer.fit_transform(features)
        axis_labels = ["t-SNE 1", "t-SNE 2"]
        method_name = f"t-SNE (perplexity {perplexity:g})"

    classes = list(getattr(clf, "classes_", []))
    present = set(y.tolist())
    order = [c for c in classes if c in present]
    order += [c for c in np.unique(y).tolist() if c not in order]
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    for label in order:
        mask = y == label
        ax.scatter(points[mask, 0], points[mask, 1], s=18, alpha=0.8, label=str(label),
                   edgecolors="none")
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.legend(title=legend_title, loc="best", fontsize=8, title_fontsize=8)
    ax.grid(alpha=0.3)
    if title is None:
        title = (f"{type(clf).__name__}: activations entering the classifier head\n"
                 f"{method_name} of {features.shape[1]} features, {n_trials} trials")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    if path is not None:
        _save(fig, path, dpi)
    return fig
