"""Figures for EEG classifiers: learning curves and confusion matrices.

matplotlib is an optional dependency (``pip install skeeg[plot]``); it is
imported inside the functions, so ``import skeeg.plotting`` works without
it. Each function returns the matplotlib Figure and saves it when given a
``path``.
"""

import textwrap
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

#: Default metrics of :func:`plot_learning_curves` and their axis titles.
METRIC_LABELS = {
    "train_acc": "training accuracy",
    "valid_acc": "validation accuracy",
    "test_acc": "test accuracy (held out, not used for any choice)",
    "train_loss": "training loss",
    "valid_loss": "validation loss",
}


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "skeeg.plotting needs matplotlib; install it with `pip install skeeg[plot]`."
        ) from exc
    return plt


def _as_runs(value, where):
    """A history, or a list of histories, as a list of DataFrames."""
    if isinstance(value, pd.DataFrame):
        runs = [value]
    else:
        runs = list(value) if isinstance(value, (list, tuple)) else []
    if not runs or not all(isinstance(run, pd.DataFrame) for run in runs):
        raise TypeError(
            f"{where}: expected a history DataFrame (a classifier's history_) or a list "
            f"of them; got {type(value).__name__}."
        )
    return runs


def _normalise_histories(histories):
    """Return {panel: {line: [DataFrame, ...]}} from the accepted inputs."""
    if isinstance(histories, pd.DataFrame):
        return {"": {"": [histories]}}
    if not isinstance(histories, Mapping) or not histories:
        raise TypeError(
            "histories must be a history DataFrame, a non-empty dict {line label: history}, "
            "or a dict {panel title: {line label: history}}; a history may also be a list "
            "of DataFrames (seeds or folds), drawn as their mean."
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
    }


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


def plot_learning_curves(
    histories,
    metrics=("train_acc", "valid_acc", "test_acc"),
    *,
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
    with every other panel.

    Parameters
    ----------
    histories : DataFrame, dict or dict of dict
        Per-epoch histories, such as a classifier's ``history_``. Either a
        single DataFrame; or ``{line label: history}`` for one panel; or
        ``{panel title: {line label: history}}``. A history may also be a
        list of DataFrames (several seeds or folds): the line is their mean
        per epoch and a shaded band spans their minimum and maximum.
    metrics : sequence of str, default=("train_acc", "valid_acc", "test_acc")
        History columns to draw, one row of panels each. A metric missing
        from a history is skipped for that history.
    title : str, default=None
        Title of the whole figure.
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
    """
    plt = _import_pyplot()
    panels = _normalise_histories(histories)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    if not metrics:
        raise ValueError("metrics must name at least one history column.")
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
        fig.savefig(Path(path), dpi=dpi)
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
        fig.savefig(Path(path), dpi=dpi)
    return fig
