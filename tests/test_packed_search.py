"""PackedSearchCV: candidates that differ only in seeds and rates trained as members of one fit."""

import numpy as np
import pytest
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV, GroupKFold

from skeeg import EEGNetClassifier
from skeeg.datasets import make_motor_imagery
from skeeg.model_selection import PackedSearchCV, pack_candidates

SMALL = dict(kernel_length=15, separable_kernel_length=7, temporal_filters=4,
             depth_multiplier=1, separable_filters=8, max_epochs=2, batch_size=16,
             pool_length=2, separable_pool_length=4)


@pytest.fixture(scope="module")
def data():
    d = make_motor_imagery(n_trials=32, n_channels=2, n_times=64, random_state=0)
    return d.X, d.y


def test_packed_search_chooses_what_grid_search_chooses(data):
    X, y = data
    # One random_state and no dropout: the members' draws cannot matter, so each
    # trains exactly as it would alone.
    est = EEGNetClassifier(dropout=0.0, random_state=0, **SMALL)
    grid = {"lr": [1e-3, 1e-2], "weight_decay": [0.0, 0.1]}  # 4 members
    packed = PackedSearchCV(est, grid, cv=2).fit(X, y)
    plain = GridSearchCV(est, grid, cv=2).fit(X, y)
    assert packed.packs_ == [[0, 1, 2, 3]]
    for k in range(2):
        np.testing.assert_array_equal(packed.cv_results_[f"split{k}_test_score"],
                                      plain.cv_results_[f"split{k}_test_score"])
    np.testing.assert_array_equal(packed.cv_results_["rank_test_score"],
                                  plain.cv_results_["rank_test_score"])
    assert packed.best_params_ == plain.best_params_
    assert packed.best_score_ == plain.best_score_
    assert set(plain.cv_results_) <= set(packed.cv_results_)
    np.testing.assert_array_equal(packed.predict_proba(X), plain.predict_proba(X))
    assert packed.score(X, y) == plain.score(X, y)


def test_members_take_their_own_seed(data):
    X, y = data
    est = EEGNetClassifier(dropout=0.0, **SMALL)
    grid = {"random_state": [0, 1, 2]}
    packed = PackedSearchCV(est, grid, cv=2).fit(X, y)
    assert packed.packs_ == [[0, 1, 2]]
    scores = packed.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all()
    # Member 0 (random_state=0) is the candidate's own fit, bitwise.
    plain = GridSearchCV(est, {"random_state": [0]}, cv=2).fit(X, y)
    assert scores[0] == plain.cv_results_["mean_test_score"][0]


def test_nothing_to_pack_runs_as_grid_search_and_says_so(data, capsys):
    X, y = data
    est = EEGNetClassifier(random_state=0, **{**SMALL, "kernel_length": 9})
    grid = {"pool_length": [2, 3], "dropout": [0.0, 0.5]}
    packed = PackedSearchCV(est, grid, cv=2, verbose=1).fit(X, y)
    assert "fitted alone" in capsys.readouterr().out
    assert packed.packs_ == [[0], [1], [2], [3]]
    plain = GridSearchCV(est, grid, cv=2).fit(X, y)
    np.testing.assert_array_equal(packed.cv_results_["mean_test_score"],
                                  plain.cv_results_["mean_test_score"])


def test_packs_respect_max_members_and_other_parameters():
    candidates = [{"lr": lr, "pool_length": p} for p in (2, 4) for lr in (1, 2, 3)]
    assert pack_candidates(candidates, 16) == [[0, 1, 2], [3, 4, 5]]
    assert pack_candidates(candidates, 2) == [[0, 1], [2], [3, 4], [5]]
    # Equal values of other types do not pack: 2 and 2.0 build the same network,
    # but the grid says them differently.
    assert pack_candidates([{"lr": 1, "pool_length": 2}, {"lr": 2, "pool_length": 2.0}],
                           4) == [[0], [1]]


def test_several_metrics_groups_and_train_scores(data):
    X, y = data
    groups = np.arange(len(y)) % 4
    search = PackedSearchCV(
        EEGNetClassifier(random_state=0, **SMALL), {"lr": [1e-3, 1e-2]},
        scoring=["accuracy", "balanced_accuracy"], refit="balanced_accuracy",
        cv=GroupKFold(2), return_train_score=True,
    ).fit(X, y, groups=groups)
    for key in ("mean_test_accuracy", "rank_test_balanced_accuracy",
                "split1_train_balanced_accuracy", "mean_fit_time", "std_score_time"):
        assert search.cv_results_[key].shape == (2,)
    assert search.best_score_ == search.cv_results_["mean_test_balanced_accuracy"].max()


def test_failed_packs_get_error_score_or_raise(data):
    X, y = data
    est = EEGNetClassifier(**SMALL)
    grid = {"pool_length": [2, 200], "lr": [1e-3, 1e-2]}
    with pytest.warns(FitFailedWarning, match="4 fits failed out of a total of 8"):
        search = PackedSearchCV(est, grid, cv=2, refit=False).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    failed = np.array([params["pool_length"] == 200 for params in search.cv_results_["params"]])
    assert np.isnan(scores[failed]).all() and np.isfinite(scores[~failed]).all()
    with pytest.raises(ValueError, match="pool_length=200"):
        PackedSearchCV(est, grid, cv=2, error_score="raise").fit(X, y)


def test_a_diverging_candidate_fails_alone_as_in_grid_search(data):
    # One member's divergence took its whole pack down, siblings included.
    X, y = data
    est = EEGNetClassifier(**{**SMALL, "max_epochs": 3, "dropout": 0.0, "random_state": 0})
    grid = {"lr": [1e-3, 1e6]}
    with pytest.warns(FitFailedWarning):
        plain = GridSearchCV(est, grid, cv=3).fit(X, y)
    with pytest.warns(FitFailedWarning):
        packed = PackedSearchCV(est, grid, cv=3).fit(X, y)
    np.testing.assert_array_equal(packed.cv_results_["mean_test_score"],
                                  plain.cv_results_["mean_test_score"])
    assert np.isnan(packed.cv_results_["mean_test_score"][1])
    assert packed.best_params_ == {"lr": 1e-3}


def test_param_columns_as_grid_search_makes_them(data):
    X, y = data
    est = EEGNetClassifier(**{**SMALL, "max_epochs": 1, "random_state": 0})
    grid = [{"lr": [1e-3, 1e-2]}, {"kernel_length": [9], "lr": [1e-3]}]
    plain = GridSearchCV(est, grid, cv=2).fit(X, y).cv_results_
    packed = PackedSearchCV(est, grid, cv=2).fit(X, y).cv_results_
    names = [k for k in plain if k.startswith("param")]
    assert names == [k for k in packed if k.startswith("param")]  # same order
    for name in names[:-1]:
        assert packed[name].dtype == plain[name].dtype
        assert list(packed[name].mask) == list(plain[name].mask)


def test_a_pipeline_is_refused_with_the_way_out(data):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = data
    pipe = make_pipeline(FunctionTransformer(), EEGNetClassifier(**SMALL))
    with pytest.raises(TypeError, match="got a Pipeline. A Pipeline: transform X with its first "
                                        "steps .* or use GridSearchCV on the Pipeline"):
        PackedSearchCV(pipe, {"eegnetclassifier__lr": [1e-3]}, cv=2).fit(X, y)


@pytest.mark.parametrize("kwargs, match", [
    (dict(estimator=EEGNetClassifier(n_members=2)), "n_members=1"),
    (dict(param_grid={"nope": [1]}), "nope"),
    (dict(scoring=["accuracy", "f1"], refit=True), "refit must name"),
    (dict(max_members=0), "max_members"),
])
def test_bad_searches_are_refused(data, kwargs, match):
    X, y = data
    args = dict(estimator=EEGNetClassifier(**SMALL), param_grid={"lr": [1e-3]}, cv=2)
    with pytest.raises(ValueError, match=match):
        PackedSearchCV(**{**args, **kwargs}).fit(X, y)


def test_groups_reach_the_classifier_when_it_requests_them(data):
    import sklearn

    X, y = data
    groups = np.arange(len(y)) % 4
    with sklearn.config_context(enable_metadata_routing=True):
        est = EEGNetClassifier(random_state=0, **SMALL).set_fit_request(groups=True)
        search = PackedSearchCV(est, {"lr": [1e-3, 1e-2]}, cv=GroupKFold(2)).fit(
            X, y, groups=groups)
        plain = GridSearchCV(est, {"lr": [1e-3, 1e-2]}, cv=GroupKFold(2)).fit(
            X, y, groups=groups)
    # The refit too, as GridSearchCV's: its validation part is whole groups.
    np.testing.assert_array_equal(search.best_estimator_.validation_groups_,
                                  plain.best_estimator_.validation_groups_)
    np.testing.assert_array_equal(search.cv_results_["split0_test_score"],
                                  plain.cv_results_["split0_test_score"])


def test_a_candidate_with_bad_parameters_fails_alone_as_in_grid_search(data):
    X, y = data
    est = EEGNetClassifier(dropout=0.0, random_state=0, **SMALL)
    for grid in ({"lr": [-1.0, 1e-3]}, {"weight_decay": [0.0, -5.0]},
                 {"random_state": [0, -3]}):
        with pytest.warns(FitFailedWarning, match="2 fits failed out of a total of 4"):
            packed = PackedSearchCV(est, grid, cv=2).fit(X, y)
        with pytest.warns(UserWarning):
            plain = GridSearchCV(est, grid, cv=2).fit(X, y)
        np.testing.assert_array_equal(packed.cv_results_["mean_test_score"],
                                      plain.cv_results_["mean_test_score"])
        assert packed.best_params_ == plain.best_params_
    with pytest.raises(ValueError, match="All the 4 fits failed"):
        PackedSearchCV(est, {"lr": [-1.0, -2.0]}, cv=2).fit(X, y)


def test_ensembles_callbacks_and_random_states_are_not_packed_wrongly(data, capsys):
    from skorch.callbacks import GradientNormClipping

    X, y = data
    est = EEGNetClassifier(dropout=0.0, **SMALL)
    grid = {"n_members": [1, 2], "random_state": [0, 1]}
    search = PackedSearchCV(est, grid, cv=2).fit(X, y)
    assert search.packs_ == [[0, 1], [2], [3]]  # an ensemble is its own fit
    clipped = est.set_params(callbacks=[GradientNormClipping(1.0)])
    search = PackedSearchCV(clipped, {"random_state": [0, 1]}, cv=2, verbose=1).fit(X, y)
    assert search.packs_ == [[0], [1]] and "callbacks" in capsys.readouterr().out
    states = [np.random.RandomState(0), np.random.RandomState(1)]
    before = [s.get_state()[2] for s in states]
    grid = {"random_state": states}
    first = PackedSearchCV(EEGNetClassifier(**SMALL), grid, cv=2).fit(X, y)
    second = PackedSearchCV(EEGNetClassifier(**SMALL), grid, cv=2).fit(X, y)
    assert [s.get_state()[2] for s in states] == before  # the grid's generators untouched
    np.testing.assert_array_equal(first.cv_results_["mean_test_score"],
                                  second.cv_results_["mean_test_score"])


def test_grid_search_api_callable_scoring_and_refit(data):
    X, y = data
    est = EEGNetClassifier(random_state=0, **SMALL)
    grid = {"lr": [1e-3, 1e-2]}

    def both(estimator, X, y):
        accuracy = estimator.score(X, y)
        return {"accuracy": accuracy, "error": 1 - accuracy}

    search = PackedSearchCV(est, grid, cv=2, scoring=both, refit="accuracy").fit(X, y)
    assert search.multimetric_ and "mean_test_error" in search.cv_results_
    search = PackedSearchCV(est, grid, cv=2, refit=lambda results: 1).fit(X, y)
    assert search.best_index_ == 1 and search.best_params_ == {"lr": 1e-2}
    search = PackedSearchCV(est, grid, cv=2, refit=False).fit(X, y)
    assert search.best_params_ in ({"lr": 1e-3}, {"lr": 1e-2})
    assert not hasattr(search, "best_estimator_")
    assert search.cv_results_["param_lr"].dtype == np.float64
    assert PackedSearchCV(est, grid, cv=2).fit(X, y).n_features_in_ == X.shape[1]


def test_nested_module_params_grid(data):
    import torch

    from skeeg import EEGClassifier

    class LogVar(torch.nn.Module):
        def __init__(self, n_channels, n_times, n_classes, n_filters=2):
            super().__init__()
            self.spatial = torch.nn.Conv1d(n_channels, n_filters, 1)
            self.classifier = torch.nn.Linear(n_filters, n_classes)

        def forward(self, x):
            return self.classifier(self.spatial(x).var(dim=2).log())

    X, y = data
    est = EEGClassifier(LogVar, module_params={"n_filters": 2}, max_epochs=2, random_state=0)
    grid = {"module_params__n_filters": [2, 4], "lr": [1e-3, 1e-2]}
    packed = PackedSearchCV(est, grid, cv=2).fit(X, y)
    plain = GridSearchCV(est, grid, cv=2).fit(X, y)
    assert packed.packs_ == [[0, 2], [1, 3]]
    np.testing.assert_allclose(packed.cv_results_["mean_test_score"],
                               plain.cv_results_["mean_test_score"])
