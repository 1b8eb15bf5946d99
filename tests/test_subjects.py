"""Across subjects (issue 12): whole-group validation, warm starts, partial_fit, freezing."""

import numpy as np
import pytest
import sklearn
import torch
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline

import skeeg
from skeeg import DeepConvNetClassifier, EEGClassifier, EEGNetClassifier, EuclideanAlignment
from skeeg.datasets import make_motor_imagery

from _small_models import SmallNet, small, small_params

SMALL = small_params(EEGNetClassifier, max_epochs=3)


@pytest.fixture(scope="module")
def subjects():
    data = make_motor_imagery(n_trials=120, n_channels=4, n_times=64, n_subjects=4,
                              random_state=0)
    return data.X, data.y, data.subject


def test_validation_holds_out_whole_groups(subjects):
    X, y, groups = subjects
    clf = EEGNetClassifier(**SMALL, validation_fraction=0.25).fit(X, y, groups=groups)
    assert len(clf.validation_groups_) == 1
    assert EEGNetClassifier(**SMALL).fit(X, y).validation_groups_ is None
    # The same subjects are held out whatever the labels' order; and repeatably.
    again = EEGNetClassifier(**SMALL, validation_fraction=0.25).fit(X, y, groups=groups)
    np.testing.assert_array_equal(again.validation_groups_, clf.validation_groups_)


def test_groups_reach_the_classifier_through_metadata_routing(subjects):
    X, y, groups = subjects
    with sklearn.config_context(enable_metadata_routing=True):
        clf = EEGNetClassifier(**SMALL, validation_fraction=0.5).set_fit_request(groups=True)
        result = cross_validate(clf, X, y, cv=GroupKFold(4), params={"groups": groups},
                                return_estimator=True, return_indices=True)
        for estimator, train in zip(result["estimator"], result["indices"]["train"]):
            # The validation subjects are among the training fold's, never the test fold's.
            assert set(estimator.validation_groups_) < set(groups[train])
        pipe = make_pipeline(
            EuclideanAlignment().set_fit_request(groups=True).set_transform_request(groups=True),
            EEGNetClassifier(**SMALL, validation_fraction=0.5).set_fit_request(groups=True),
        )
        search = GridSearchCV(pipe, {"eegnetclassifier__lr": [0.01, 0.02]}, cv=GroupKFold(2))
        search.fit(X, y, groups=groups)
        # Refitted on all 4 subjects: half of them validate.
        assert len(search.best_estimator_[-1].validation_groups_) == 2


@pytest.mark.parametrize(
    "groups, match",
    [
        (np.zeros(10), "give one group label per trial"),
        (np.r_[np.nan, np.zeros(119)], "NaN"),
        (np.zeros(120), "holds one group"),
        (np.array([None] + [1] * 119, dtype=object), "None"),
    ],
)
def test_bad_groups(subjects, groups, match):
    X, y, _ = subjects
    with pytest.raises(ValueError, match=match):
        EEGNetClassifier(**SMALL).fit(X, y, groups=groups)


def test_group_split_that_leaves_a_class_out_is_refused(subjects):
    X, y, groups = subjects
    y = np.where(groups == 0, 2, y)  # class 2 lives in subject 0 only
    with pytest.raises(ValueError, match="whole groups"):
        EEGNetClassifier(**SMALL, validation_fraction=0.25).fit(X, y, groups=groups)


def test_group_split_avoids_a_one_class_group_when_others_would_do(subjects):
    X, y, groups = subjects
    groups = groups.copy()
    groups[(groups == 0) & (y == 0)] = 7  # groups 0 and 7 each hold one class
    for seed in range(4):
        clf = EEGNetClassifier(**{**SMALL, "random_state": seed, "max_epochs": 1})
        clf.fit(X, y, groups=groups)
        held_out = np.isin(groups, clf.validation_groups_)
        assert set(y[held_out]) == {0, 1} and set(y[~held_out]) == {0, 1}
    one_class = np.where(y == 0, 10, 11)  # two groups, each of one class
    with pytest.raises(ValueError, match="No validation split of whole groups puts every class"):
        EEGNetClassifier(**SMALL).fit(X, y, groups=one_class)


def test_a_continued_fit_cannot_change_the_architecture(subjects, tmp_path):
    X, y, _ = subjects
    clf = EEGNetClassifier(**SMALL, warm_start=True).fit(X, y)
    for change, match in (({"kernel_length": 5}, "kernel_length=5, .* built with kernel_length=9"),
                          ({"activation": "relu"}, "activation='relu', .* activation='elu'")):
        with pytest.raises(ValueError, match=match):
            clf.set_params(**change).fit(X, y)
        with pytest.raises(ValueError, match=match):
            clf.partial_fit(X, y)
        clf.set_params(kernel_length=9, activation="elu")
    with pytest.raises(ValueError, match="crop_length=32, but the network being continued"):
        clf.set_params(crop_length=32).fit(X, y)
    clf.set_params(crop_length=None, max_epochs=1, lr=0.02).fit(X, y)  # training settings may
    clf.save(tmp_path / "model")
    loaded = skeeg.load(tmp_path / "model")
    with pytest.raises(ValueError, match="separable_filters=4"):
        loaded.set_params(separable_filters=4).partial_fit(X, y)
    deep = small(DeepConvNetClassifier, warm_start=True).fit(X, y)
    deep.set_params(n_filters=list(deep.n_filters)).fit(X, y)  # the same filters, as a list
    own = small(EEGClassifier, warm_start=True).fit(X, y)
    assert own.module is SmallNet
    with pytest.raises(ValueError, match="module_params=.*n_filters.: 5.*built with"):
        own.set_params(module_params__n_filters=5).fit(X, y)


def test_warm_start_continues_with_a_fresh_optimiser(subjects):
    X, y, _ = subjects
    clf = EEGNetClassifier(**SMALL, validation_fraction=0, early_stopping=False).fit(X, y)
    first = {k: v.clone() for k, v in clf.net_.module_.state_dict().items()}
    scale = clf.scale_
    cold = EEGNetClassifier(**SMALL, validation_fraction=0, early_stopping=False).fit(X, y)
    clf.set_params(warm_start=True, max_epochs=2).fit(X[:40] * 10, y[:40])
    assert clf.scale_ == scale  # the input scaling of the first fit
    # The history continues, as MLPClassifier's loss curve does.
    n_first = len(cold.history_)
    assert len(clf.history_) == n_first + 2
    assert list(clf.history_["epoch"]) == list(range(1, n_first + 3))
    np.testing.assert_array_equal(clf.history_["train_loss"][:n_first],
                                  cold.history_["train_loss"])  # the first fit's epochs
    assert any(not torch.equal(first[k], v) for k, v in clf.net_.module_.state_dict().items())
    # Continued, not restarted: a cold fit of the same two epochs ends elsewhere.
    cold.set_params(max_epochs=2).fit(X[:40] * 10, y[:40])
    assert not np.allclose(cold.predict_proba(X), clf.predict_proba(X))
    # The optimiser starts afresh: Adam's step count is that of the second fit.
    steps = {int(s["step"]) for s in clf.net_.optimizer_.state_dict()["state"].values()}
    assert steps == {3 * 2}  # 40 trials in batches of 16: 3 steps an epoch


def test_warm_start_refuses_new_classes_and_shapes(subjects):
    X, y, _ = subjects
    clf = EEGNetClassifier(**SMALL, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match=r"Labels \[7\] are not among the classes \[0, 1\]"):
        clf.fit(X, np.where(y == 1, 7, y))
    with pytest.raises(ValueError, match="fitted on 4 channels x 64 samples"):
        clf.fit(X[:, :3], y)


def test_partial_fit_runs_one_epoch_and_keeps_the_optimiser(subjects):
    X, y, _ = subjects
    clf = EEGNetClassifier(**SMALL)
    with pytest.raises(ValueError, match=r"y holds labels \[1\] that are not in classes=\[0, 2\]"):
        clf.partial_fit(X, y, classes=[0, 2])
    with pytest.raises(ValueError, match=r"y holds labels \[1\] that are not in classes=\[0\]"):
        clf.partial_fit(X, y, classes=[0])  # not "needs 2 classes"
    clf = EEGNetClassifier(**SMALL)
    clf.partial_fit(X[y == 0][:20], y[y == 0][:20], classes=[0, 1])  # one class, all announced
    clf.partial_fit(X, y)
    assert clf.classes_.tolist() == [0, 1]
    assert clf.history_["epoch"].tolist() == [1, 2]
    steps = {int(s["step"]) for s in clf.net_.optimizer_.state_dict()["state"].values()}
    assert steps == {2 + 8}  # Adam's state carried over: 20 trials, then 120, in 16s
    with pytest.raises(ValueError, match="not among the classes"):
        clf.partial_fit(X, y + 5)


def test_freeze_trains_the_head_only(subjects):
    X, y, _ = subjects
    clf = EEGNetClassifier(**SMALL).fit(X, y)
    before = {k: v.clone() for k, v in clf.net_.module_.named_parameters()}
    clf.set_params(warm_start=True, freeze="features").fit(X, y)
    for name, value in clf.net_.module_.named_parameters():
        changed = not torch.equal(before[name], value)
        assert changed == name.startswith("classifier"), name
    with pytest.raises(ValueError, match="'freeze' parameter of EEGNetClassifier must be None or a str among"):
        EEGNetClassifier(freeze="all").fit(X, y)


def test_fine_tuning_to_a_new_subject_beats_both_alternatives():
    data = make_motor_imagery(n_trials=320, n_channels=6, n_times=128, n_subjects=4,
                              random_state=0)
    X, y, subject = data.X, data.y, data.subject
    others = subject < 3
    new = np.flatnonzero(subject == 3)
    calibration, test = new[:24], new[24:]
    params = dict(kernel_length=15, validation_fraction=0, early_stopping=False)
    pretrained = small(EEGNetClassifier, max_epochs=20, **params).fit(X[others], y[others])
    frozen_score = pretrained.score(X[test], y[test])
    pretrained.set_params(warm_start=True, max_epochs=15).fit(X[calibration], y[calibration])
    tuned_score = pretrained.score(X[test], y[test])
    alone = small(EEGNetClassifier, max_epochs=35, **params).fit(X[calibration], y[calibration])
    alone_score = alone.score(X[test], y[test])
    assert tuned_score > frozen_score + 0.1, (tuned_score, frozen_score)
    assert tuned_score > alone_score + 0.1, (tuned_score, alone_score)
