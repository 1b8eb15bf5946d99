"""The DEAP study end to end: files -> load_deap -> DEAPReducer -> DNN / CNN,
evaluated across participants with GroupKFold, as benchmarks/deap.py does."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from skeeg import CNNClassifier, DEAPReducer, DNNClassifier
from skeeg.datasets import load_deap
from test_deap import Py2Pickler, write  # noqa: F401  (format-exact DEAP writer)

N_SUBJECTS, N_TRIALS, N_SAMPLES = 4, 12, 640


@pytest.fixture(scope="module")
def deap(tmp_path_factory):
    """Four participants whose high-valence trials carry a 10 Hz rhythm on 8 channels."""
    folder = tmp_path_factory.mktemp("deap")
    t = np.arange(N_SAMPLES) / 128.0
    for subject in range(1, N_SUBJECTS + 1):
        rng = np.random.default_rng(subject)
        valence = np.tile([2.0, 8.0], N_TRIALS // 2)
        data = rng.normal(0.0, 1.0, size=(N_TRIALS, 40, N_SAMPLES))
        data[valence > 5, :8] += 3 * np.sin(2 * np.pi * 10 * t)
        labels = np.column_stack([valence, rng.uniform(1, 9, (N_TRIALS, 3))])
        write(folder, subject, {"data": data, "labels": labels})
    subjects = range(1, N_SUBJECTS + 1)
    return load_deap(folder, target="valence", subjects=subjects, baseline="drop")


# The study's batch sizes (310, 50) would give one step per epoch on 36
# trials, and its dropout (0.5) suits layers of 500-5000 units, not these.
FAST = dict(max_epochs=20, batch_size=8, validation_fraction=0, early_stopping=False, random_state=0)


@pytest.mark.parametrize("clf", [
    DNNClassifier(hidden_sizes=(64, 32), input_dropout=0.1, dropout=0.1, lr=1e-3, **FAST),
    CNNClassifier(
        conv_filters=(4, 8), hidden_size=16, input_dropout=0.1, conv_dropout=0.1, dropout=0.1,
        hidden_dropout=0.1, lr=1e-2, **FAST,
    ),
])
def test_pipeline_across_participants(deap, clf):
    assert deap.X.shape == (N_SUBJECTS * N_TRIALS, 32, N_SAMPLES - 384)
    pipe = make_pipeline(DEAPReducer(flatten=False), clf)
    scores = cross_val_score(pipe, deap.X, deap.y, groups=deap.subject, cv=GroupKFold(N_SUBJECTS))
    assert scores.shape == (N_SUBJECTS,)
    # The rhythm is there for every participant, so held-out people are
    # classified far above chance (0.5).
    assert scores.mean() > 0.75


def test_grid_search_over_the_reducer_and_the_network(deap):
    pipe = make_pipeline(
        DEAPReducer(flatten=False),
        DNNClassifier(hidden_sizes=(32,), lr=1e-3, **dict(FAST, max_epochs=5)),
    )
    grid = {"deapreducer__n_windows": [5, 10], "dnnclassifier__optimizer": ["adam", "rmsprop"]}
    search = GridSearchCV(pipe, grid, cv=GroupKFold(2)).fit(deap.X, deap.y, groups=deap.subject)
    assert set(search.best_params_) == set(grid)
    assert search.predict_proba(deap.X).shape == (len(deap.y), 2)
