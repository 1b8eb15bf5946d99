"""Tests of skeeg.plotting (Agg backend, no display)."""

import doctest
import types
import warnings

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skeeg import plotting  # noqa: E402
from skeeg.plotting import (  # noqa: E402
    plot_confusion_matrix,
    plot_embedding,
    plot_learning_curves,
)

from _small_models import SMALL  # noqa: E402

# EEGNet's small network (the suite's one table); each test sets its training.
TINY = SMALL["EEGNetClassifier"]


def history(n=6, shift=0.0):
    epochs = np.arange(1, n + 1)
    return pd.DataFrame({
        "epoch": epochs,
        "train_acc": np.minimum(1, 0.5 + 0.08 * epochs + shift),
        "valid_acc": 0.5 + 0.05 * epochs + shift,
        "valid_loss": 1.0 / epochs,
        "test_acc": 0.5 + 0.04 * epochs + shift,
    })


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(autouse=True)
def one_openmp_thread():
    """t-SNE on a few dozen points: 1 s on one OpenMP thread, over a minute on 2 busy cores."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def test_learning_curves_panels_lines_and_png(tmp_path):
    histories = {
        "EEGNet": {"ReLU": [history(), history(shift=0.02)], "ELU": history(shift=-0.02)},
        "DeepConvNet": {"ReLU": history(8), "ELU": [history(8), history(8, 0.01)]},
    }
    path = tmp_path / "curves.png"
    fig = plot_learning_curves(histories, chance=0.5, title="demo", path=path,
                               markers={("EEGNet", "ELU"): 3})
    assert isinstance(fig, matplotlib.figure.Figure)
    axes = np.array(fig.axes).reshape(3, 2)
    assert [ax.get_title() for ax in axes[0]] == ["EEGNet", "DeepConvNet"]
    assert [ax.get_xlabel() for ax in axes[-1]] == ["epoch", "epoch"]
    assert axes[0, 0].get_ylabel() == "training accuracy"
    assert axes[2, 0].get_ylabel() == "test accuracy"
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert labels == ["ReLU", "ELU", "chance (0.5)"]
    # The mean of two runs is drawn.
    line = axes[0, 0].get_lines()[0]
    expected = (history()["train_acc"] + history(shift=0.02)["train_acc"]) / 2
    np.testing.assert_allclose(line.get_ydata(), expected)
    assert path.is_file() and path.stat().st_size > 10_000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_learning_curves_simple_inputs():
    fig = plot_learning_curves(history(), metrics="valid_loss")
    assert len(fig.axes) == 1 and fig.axes[0].get_ylabel() == "validation loss"
    fig = plot_learning_curves({"a": history(), "b": history(4)})
    assert len(fig.axes) == 3
    # A metric one history lacks is skipped for that history only.
    fig = plot_learning_curves({"a": history().drop(columns="test_acc"), "b": history()})
    assert len(fig.axes) == 3
    assert [line.get_label() for line in fig.axes[2].get_lines()] == ["b"]


def _texts(legend):
    return [text.get_text() for text in legend.get_texts()]


def test_learning_curves_leave_out_metrics_no_history_has():
    no_test = history().drop(columns="test_acc")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # default metrics: left out silently
        fig = plot_learning_curves({"a": no_test, "b": [no_test, no_test]})
    assert [ax.get_ylabel() for ax in fig.axes] == ["training accuracy", "validation accuracy"]
    assert all(ax.get_lines() for ax in fig.axes)  # no empty panel
    # A column of NaN only counts as missing.
    fig = plot_learning_curves(history().assign(test_acc=np.nan))
    assert len(fig.axes) == 2
    # Named metrics that no history has are left out with a warning.
    with pytest.warns(UserWarning, match=r"left out \['test_acc', 'f1'\]"):
        fig = plot_learning_curves(no_test, metrics=["valid_loss", "test_acc", "f1"])
    assert [ax.get_ylabel() for ax in fig.axes] == ["validation loss"]
    with pytest.raises(ValueError, match=r"no history has any of the metrics \['f1'\].*"
                                         r"'train_acc'"):
        plot_learning_curves(no_test, metrics="f1")
    with pytest.raises(ValueError, match="the histories hold no epoch"):
        plot_learning_curves(history().iloc[:0])
    fig = plot_learning_curves(history().iloc[:1])
    assert fig._suptitle.get_text() == "Learning curves: history, 1 epoch"


def test_learning_curves_single_history_labelled_and_titled():
    fig = plot_learning_curves(history())
    assert _texts(fig.legends[0]) == ["history"]
    assert fig._suptitle.get_text() == "Learning curves: history, 6 epochs"
    fig = plot_learning_curves(history(), label="EEGNet ELU", title="My run", chance=0.5)
    assert _texts(fig.legends[0]) == ["EEGNet ELU", "chance (0.5)"]
    assert fig._suptitle.get_text() == "My run"
    fig = plot_learning_curves({"EEGNet": {"ELU": history()}})
    assert fig._suptitle.get_text() == "Learning curves"
    assert _texts(fig.legends[0]) == ["ELU"]


@pytest.fixture(scope="module")
def fitted():
    """A tiny EEGNet fitted for 3 epochs, with the data it saw."""
    import torch

    from skeeg import EEGNetClassifier
    from skeeg.datasets import make_motor_imagery

    data = make_motor_imagery(n_trials=40, n_channels=3, n_times=128, random_state=0)
    y = np.array(["left", "right"])[data.y]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        clf = EEGNetClassifier(max_epochs=3, random_state=0, **TINY).fit(data.X, y)
    finally:
        torch.set_num_threads(threads)
    return clf, data.X, y


def test_learning_curves_of_a_fitted_classifier(fitted):
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    clf, X, y = fitted
    fig = plot_learning_curves(clf)
    # Default metrics: the classifier records no test_acc, so two panels, not three.
    assert [ax.get_ylabel() for ax in fig.axes] == ["training accuracy", "validation accuracy"]
    assert _texts(fig.legends[0]) == ["EEGNetClassifier"]
    assert fig._suptitle.get_text() == "Learning curves: EEGNetClassifier, 3 epochs"
    line = fig.axes[1].get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), clf.history_["valid_acc"])
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3])
    # In dicts and lists, beside histories.
    fig = plot_learning_curves({"fitted": clf, "two runs": [clf, clf.history_]},
                               metrics=["train_loss", "valid_loss"])
    assert _texts(fig.legends[0]) == ["fitted", "two runs"]
    # A fitted pipeline or search gives its classifier's history.
    pipe = make_pipeline(FunctionTransformer(), clf)
    pipe.steps[-1] = ("eegnetclassifier", clf)  # already fitted: no second fit
    assert _texts(plot_learning_curves(pipe).legends[0]) == ["EEGNetClassifier"]
    search = types.SimpleNamespace(best_estimator_=pipe)  # what GridSearchCV exposes
    assert _texts(plot_learning_curves(search).legends[0]) == ["EEGNetClassifier"]
    with pytest.raises(NotFittedError, match="fit it before"):
        plot_learning_curves(clone(clf))
    with pytest.raises(NotFittedError, match="EEGNetClassifier has no history_"):
        plot_learning_curves({"a": clone(clf)})


@pytest.mark.parametrize("bad", [[], {}, {"a": 3}, {"p": {"a": [1, 2]}}, 3, "history"])
def test_learning_curves_rejects_bad_input(bad):
    with pytest.raises(TypeError, match="history"):
        plot_learning_curves(bad)


def test_confusion_matrix(tmp_path):
    y_true = ["left", "left", "right", "right", "right"]
    y_pred = ["left", "right", "right", "right", "left"]
    path = tmp_path / "cm.png"
    fig = plot_confusion_matrix(y_true, y_pred, labels=["left", "right"], title="EEGNet ELU",
                                path=path)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Predicted label" and ax.get_ylabel() == "True label"
    assert "EEGNet ELU" in ax.get_title() and "accuracy 60.0% on 5 predictions" in ax.get_title()
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == ["1", "1", "1", "2"]
    assert path.is_file()
    fig = plot_confusion_matrix(y_true, y_pred, normalize="true")
    assert "0.67" in {t.get_text() for t in fig.axes[0].texts}


def test_confusion_matrix_on_given_axes():
    fig, ax = plt.subplots()
    assert plot_confusion_matrix([0, 1], [0, 1], ax=ax) is fig


def test_docstring_examples():
    result = doctest.testmod(plotting, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 2 and result.failed == 0


# ----------------------------------------------------------------------
# plot_embedding
def _fake_inspection(monkeypatch, features=None):
    """Stand in for skeeg.inspection.embed: it returns given (or separable) features."""
    calls = []

    def embed(clf, X):
        calls.append(len(X))
        if features is not None:
            return features
        # Two well separated clusters by the class of each trial (first channel's sign).
        rng = np.random.default_rng(0)
        sign = np.sign(np.asarray(X)[:, 0, 0])
        return np.column_stack([4 * sign, -2 * sign, np.zeros(len(X))]) + rng.normal(
            0, 0.3, (len(X), 3))

    monkeypatch.setattr(plotting, "embed", embed)
    return calls


def _separable(n=30):
    rng = np.random.default_rng(1)
    y = np.array(["rest", "left hand", "right hand"])[np.arange(n) % 2 + (np.arange(n) % 3 == 0)]
    X = rng.normal(size=(n, 2, 16))
    X[:, 0, 0] = np.where(y == "rest", -1.0, 1.0)
    return X, y


def _points_by_label(fig):
    ax = fig.axes[0]
    labels = _texts(ax.get_legend())
    return labels, {label: c.get_offsets() for label, c in zip(labels, ax.collections)}


def test_plot_embedding_draws_classes_with_names(monkeypatch, tmp_path):
    calls = _fake_inspection(monkeypatch)
    X, y = _separable()
    clf = types.SimpleNamespace(classes_=np.array(["left hand", "rest", "right hand"]))
    path = tmp_path / "embedding.png"
    fig = plot_embedding(clf, X, y, path=path)
    assert calls == [len(X)]
    ax = fig.axes[0]
    labels, points = _points_by_label(fig)
    assert labels == ["left hand", "rest", "right hand"]  # classes_ order
    assert ax.get_legend().get_title().get_text() == "class"
    assert sum(len(p) for p in points.values()) == len(X)
    assert len(points["rest"]) == (y == "rest").sum()
    assert ax.get_xlabel().startswith("PC 1 (") and "% of variance" in ax.get_xlabel()
    assert ax.get_ylabel().startswith("PC 2 (")
    assert "SimpleNamespace: activations entering the classifier head" in ax.get_title()
    assert "PCA of 3 features, 30 trials" in ax.get_title()
    assert path.is_file() and path.read_bytes()[:4] == b"\x89PNG"
    # The classes separate: "rest" is far from the others along PC 1.
    rest, other = points["rest"][:, 0], np.concatenate([points["left hand"], points["right hand"]])
    assert rest.max() < other[:, 0].min() or rest.min() > other[:, 0].max()


def test_plot_embedding_without_labels_colours_by_prediction(monkeypatch):
    _fake_inspection(monkeypatch)
    X, y = _separable()
    clf = types.SimpleNamespace(classes_=np.array(["left hand", "rest", "right hand"]),
                                predict=lambda X: y)
    fig = plot_embedding(clf, X)
    labels, points = _points_by_label(fig)
    assert labels == ["left hand", "rest", "right hand"]
    assert fig.axes[0].get_legend().get_title().get_text() == "predicted class"
    assert len(points["rest"]) == (y == "rest").sum()


def test_plot_embedding_tsne_and_given_axes(monkeypatch):
    _fake_inspection(monkeypatch)
    X, y = _separable(24)
    fig, ax = plt.subplots()
    out = plot_embedding(types.SimpleNamespace(), X, y, method="TSNE", ax=ax, title="mine")
    assert out is fig
    assert ax.get_xlabel() == "t-SNE 1" and ax.get_ylabel() == "t-SNE 2"
    assert ax.get_title() == "mine"
    # No classes_: labels in sorted order.
    labels, points = _points_by_label(fig)
    assert labels == ["left hand", "rest", "right hand"]
    assert all(np.isfinite(p).all() for p in points.values())


def test_plot_embedding_bad_input(monkeypatch):
    _fake_inspection(monkeypatch)
    X, y = _separable()
    clf = types.SimpleNamespace()
    for bad in ("umap", "PCA2", None, 2):
        with pytest.raises(ValueError, match="method must be one of 'pca', 'tsne'; got"):
            plot_embedding(clf, X, y, method=bad)
    with pytest.raises(ValueError, match="y has 29 labels but X has 30 trials"):
        plot_embedding(clf, X, y[:-1])
    with pytest.raises(ValueError, match="y must be 1-D"):
        plot_embedding(clf, X, y[:, None])
    with pytest.raises(ValueError, match="at least 3 trials"):
        plot_embedding(clf, X[:2], y[:2])
    _fake_inspection(monkeypatch, features=np.zeros((30, 1)))
    with pytest.raises(ValueError, match="1 feature"):
        plot_embedding(clf, X, y)
    _fake_inspection(monkeypatch, features=np.zeros((29, 4)))
    with pytest.raises(ValueError, match=r"embed\(clf, X\) gave shape \(29, 4\)"):
        plot_embedding(clf, X, y)


def test_plot_embedding_of_a_trained_network_separates_the_classes():
    """With skeeg.inspection's real embed: a separable synthetic set separates in 2-D."""
    import torch

    from skeeg import EEGNetClassifier

    rng = np.random.default_rng(0)
    n, n_times = 60, 128
    y = np.array(["left", "right"])[np.arange(n) % 2]
    X = rng.normal(size=(n, 3, n_times)).astype(np.float32)
    wave = 2 * np.sin(2 * np.pi * 10 * np.arange(n_times) / 128)
    X[y == "left", 0] += wave  # a 10 Hz rhythm on channel 0 for one class,
    X[y == "right", 1] += wave  # on channel 1 for the other
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        clf = EEGNetClassifier(max_epochs=10, lr=0.01, random_state=0, **TINY).fit(X, y)
    finally:
        torch.set_num_threads(threads)
    assert clf.score(X, y) > 0.9  # the network learned the rule
    for method in ("pca", "tsne"):
        fig = plot_embedding(clf, X, y, method=method)
        labels, points = _points_by_label(fig)
        assert labels == ["left", "right"]
        centres = {label: p.mean(0) for label, p in points.items()}
        both = np.concatenate([points["left"], points["right"]])
        truth = np.repeat(["left", "right"], [len(points["left"]), len(points["right"])])
        nearest = np.where(
            np.linalg.norm(both - centres["left"], axis=1)
            < np.linalg.norm(both - centres["right"], axis=1), "left", "right")
        assert np.mean(nearest == truth) >= 0.9, method
        plt.close(fig)


def test_figures_are_saved_where_users_say(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    history = pd.DataFrame({"epoch": [1, 2], "train_loss": [0.9, 0.7], "valid_loss": [1.0, 0.8]})
    plot_learning_curves(history, metrics=["train_loss", "valid_loss"], path="~/curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="is a folder; .*figure.png"):
        plot_learning_curves(history, metrics=["train_loss"], path=tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        plot_learning_curves(history, metrics=["train_loss"], path=tmp_path / "missing" / "c.png")
    # The path as given: no suffix added (PNG without one), as save and the exports.
    plot_learning_curves(history, metrics=["train_loss"], path=tmp_path / "plain")
    assert (tmp_path / "plain").read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "plain.png").exists()
    plot_learning_curves(history, metrics=["train_loss"], path=tmp_path / "curves.svg")
    assert b"<svg" in (tmp_path / "curves.svg").read_bytes()[:400]


@pytest.mark.parametrize("options, match", [
    ({"dpi": 100_000}, r"dpi must be a number in \[10, 2400\]"),  # was std::bad_alloc
    ({"dpi": float("nan")}, "dpi must be a number"),
    ({"dpi": 0}, "dpi must be a number"),
    ({"dpi": True}, "dpi must be a number"),
    ({"figsize": (0, 3)}, r"figsize must be \(width, height\), each in \(0, 100\]"),
    ({"figsize": "big"}, r"figsize must be \(width, height\) in inches"),
])
def test_figure_options_are_checked_before_drawing(options, match, tmp_path):
    history = pd.DataFrame({"epoch": [1, 2], "train_loss": [0.9, 0.7]})
    with pytest.raises(ValueError, match=match):
        plot_learning_curves(history, metrics=["train_loss"], path=tmp_path / "c.png", **options)
    assert not any(tmp_path.iterdir())
