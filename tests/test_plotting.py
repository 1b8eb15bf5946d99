"""Tests of skeeg.plotting (Agg backend, no display)."""

import doctest

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skeeg import plotting  # noqa: E402
from skeeg.plotting import plot_confusion_matrix, plot_learning_curves  # noqa: E402


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
    # A metric a history lacks is skipped rather than failing.
    fig = plot_learning_curves({"a": history().drop(columns="test_acc")})
    assert len(fig.axes[2].get_lines()) == 0


@pytest.mark.parametrize("bad", [[], {}, {"a": 3}, {"p": {"a": [1, 2]}}])
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
