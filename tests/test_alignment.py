"""Tests of skeeg.preprocessing.EuclideanAlignment (He and Wu, IEEE TBME 2020)."""

import pickle
import re
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
import sklearn
from sklearn.covariance import ledoit_wolf, ledoit_wolf_shrinkage
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import LeaveOneGroupOut, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from skeeg.datasets import make_motor_imagery
from skeeg.preprocessing import EuclideanAlignment


def make_groups(n_per_group=(12, 9, 15), n_channels=5, n_times=80, seed=0):
    """Trials of groups that differ by a random mixing each, and their groups."""
    rng = np.random.default_rng(seed)
    Xs, groups = [], []
    for k, n in enumerate(n_per_group):
        mixing = np.eye(n_channels) + 0.5 * rng.standard_normal((n_channels, n_channels))
        sources = rng.standard_normal((n, n_channels, n_times))
        Xs.append((1 + k) * mixing @ sources)
        groups += [f"s{k}"] * n
    return np.concatenate(Xs), np.array(groups)


def mean_covariance(X):
    return np.mean(X @ X.transpose(0, 2, 1), axis=0) / X.shape[-1]


def direct_alignment(X, shrinkage):
    """The oracle: R from the trials, shrunk, then R^(-1/2) by scipy's sqrtm."""
    X = np.asarray(X, dtype=np.float64)
    n_trials, n_channels, n_times = X.shape
    R = sum(x @ x.T for x in X) / (n_trials * n_times)
    if shrinkage == "auto":
        pooled = X.transpose(0, 2, 1).reshape(-1, n_channels)
        R = ledoit_wolf(pooled, assume_centered=True)[0]
    else:
        R = (1 - shrinkage) * R + shrinkage * np.trace(R) / n_channels * np.eye(n_channels)
    inv_sqrt = np.linalg.inv(scipy.linalg.sqrtm(R).real)
    return np.stack([inv_sqrt @ x for x in X])


class Untouchable:
    """Labels that fail the test if anything reads them."""

    def _fail(self, *args, **kwargs):
        raise AssertionError("EuclideanAlignment read the labels")

    __len__ = __iter__ = __getitem__ = __array__ = __eq__ = _fail
    __hash__ = None

    def __getattr__(self, name):
        self._fail()


# ----------------------------------------------------------------------
# What it computes
def test_mean_covariance_of_every_group_is_identity():
    X, groups = make_groups()
    Xt = EuclideanAlignment(shrinkage=0).fit_transform(X, groups=groups)
    for group in np.unique(groups):
        np.testing.assert_allclose(
            mean_covariance(Xt[groups == group]), np.eye(5), atol=1e-12
        )
    # Before alignment they were far from it, and from each other.
    assert np.abs(mean_covariance(X[groups == "s2"]) - np.eye(5)).max() > 1


@pytest.mark.parametrize("shrinkage", [0, 0.3, "auto"])
def test_matches_direct_computation_per_group(shrinkage):
    X, groups = make_groups()
    align = EuclideanAlignment(shrinkage=shrinkage).fit(X, groups=groups)
    Xt = align.transform(X, groups=groups)
    assert list(align.groups_) == ["s0", "s1", "s2"]
    for group in align.groups_:
        rows = groups == group
        np.testing.assert_allclose(
            Xt[rows], direct_alignment(X[rows], shrinkage), rtol=1e-6, atol=1e-9
        )
    # Without groups: one reference from all trials.
    np.testing.assert_allclose(
        EuclideanAlignment(shrinkage=shrinkage).fit_transform(X),
        direct_alignment(X, shrinkage),
        rtol=1e-6,
        atol=1e-9,
    )


def test_auto_shrinkage_is_sklearn_ledoit_wolf_on_pooled_samples():
    X, groups = make_groups()
    X = X - X.mean(axis=1, keepdims=True)  # average reference: rank 4 of 5
    align = EuclideanAlignment().fit(X, groups=groups)
    for k, group in enumerate(align.groups_):
        pooled = X[groups == group].transpose(0, 2, 1).reshape(-1, 5)
        expected = ledoit_wolf_shrinkage(pooled, assume_centered=True)
        assert 0 < align.shrinkage_[k] == pytest.approx(expected, rel=1e-9)
        np.testing.assert_allclose(
            align.references_[k], ledoit_wolf(pooled, assume_centered=True)[0],
            rtol=1e-9,
        )
        inv_sqrt = align.inv_sqrt_references_[k]
        np.testing.assert_allclose(
            inv_sqrt @ align.references_[k] @ inv_sqrt, np.eye(5), atol=1e-9
        )
    # The unregularised reference is singular: a clear error.
    with pytest.raises(ValueError, match="singular.*rank 4 of 5.*shrinkage"):
        EuclideanAlignment(shrinkage=0).fit(X, groups=groups)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype):
    X, groups = make_groups()
    align = EuclideanAlignment().fit(X.astype(dtype), groups=groups)
    Xt = align.transform(X.astype(dtype), groups=groups)
    assert Xt.dtype == dtype and Xt.shape == X.shape
    reference = EuclideanAlignment().fit_transform(X, groups=groups)
    np.testing.assert_allclose(Xt, reference, rtol=1e-4 if dtype == np.float32 else 1e-12,
                               atol=1e-5 if dtype == np.float32 else 0)
    assert EuclideanAlignment().fit_transform((X * 10).astype(int)).dtype == np.float64


# ----------------------------------------------------------------------
# Groups: stored references for known groups, transductive for new ones
def test_new_group_is_aligned_with_its_own_trials_only():
    X, groups = make_groups()
    train = groups != "s2"
    align = EuclideanAlignment(shrinkage=0).fit(X[train], groups=groups[train])
    stored = align.inv_sqrt_references_.copy()

    # Test trials of a known group (s0) and of a new one (s2), shuffled together.
    test = np.flatnonzero((groups == "s2") | (groups == "s0"))[::-1]
    Xt = align.transform(X[test], groups=groups[test])

    new = groups[test] == "s2"
    # s2: its reference comes from its own trials in this call (transductive)...
    np.testing.assert_allclose(Xt[new], direct_alignment(X[test][new], 0), rtol=1e-6)
    np.testing.assert_allclose(mean_covariance(Xt[new]), np.eye(5), atol=1e-12)
    # ... computed again at every call from the trials given, never stored.
    half = align.transform(X[test][new][:6], groups=groups[test][new][:6])
    np.testing.assert_allclose(half, direct_alignment(X[test][new][:6], 0), rtol=1e-6)
    assert not np.allclose(half, Xt[new][:6])
    assert list(align.groups_) == ["s0", "s1"]
    np.testing.assert_array_equal(align.inv_sqrt_references_, stored)
    # s0: the reference stored in fit, whatever trials come with it.
    np.testing.assert_allclose(Xt[~new], stored[0] @ X[test][~new], rtol=1e-12)
    one = align.transform(X[test][~new][:1], groups=groups[test][~new][:1])
    np.testing.assert_allclose(one, stored[0] @ X[test][~new][:1], rtol=1e-12)


def test_without_groups_one_reference_for_any_trials():
    X, _ = make_groups()
    align = EuclideanAlignment().fit(X)
    assert align.groups_ is None and align.inv_sqrt_references_.shape == (1, 5, 5)
    # Subsets and single trials are aligned with the stored reference.
    np.testing.assert_allclose(
        align.transform(X[3:4]), align.inv_sqrt_references_[0] @ X[3:4], rtol=1e-12
    )
    np.testing.assert_allclose(align.transform(X)[3:4], align.transform(X[3:4]))


def test_labels_are_never_read():
    X, groups = make_groups()
    align = EuclideanAlignment()
    Xt = align.fit_transform(X, Untouchable(), groups=groups)
    align.fit(X, y=Untouchable(), groups=groups)
    np.testing.assert_array_equal(Xt, align.transform(X, groups=groups))
    np.testing.assert_array_equal(
        EuclideanAlignment().fit(X, None, groups=groups).transform(X, groups=groups), Xt
    )


def test_numbers_and_strings_as_groups():
    X, groups = make_groups()
    as_numbers = pd.Series(groups).str[1:].astype(int).to_numpy()
    by_number = EuclideanAlignment().fit(X, groups=as_numbers)
    assert by_number.groups_.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(
        by_number.transform(X, groups=list(as_numbers)),
        EuclideanAlignment().fit_transform(X, groups=groups),
    )


def test_a_new_group_that_reads_like_a_fitted_one_is_warned_about():
    X, groups = make_groups()
    as_numbers = pd.Series(groups).str[1:].astype(int).to_numpy()
    align = EuclideanAlignment().fit(X, groups=as_numbers)
    part = slice(0, 16)  # group 1's first 4 trials only: its own reference differs
    with pytest.warns(UserWarning, match="Group '1' was not seen in fit.* fit saw 1"):
        as_text = align.transform(X[part], groups=as_numbers[part].astype(str))
    assert not np.allclose(as_text, align.transform(X[part], groups=as_numbers[part]))
    fitted_text = EuclideanAlignment().fit(X, groups=groups)
    with pytest.warns(UserWarning, match="Group 'S1' was not seen in fit.* fit saw 's1'"):
        fitted_text.transform(X, groups=np.char.upper(groups.astype(str)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        align.transform(X, groups=as_numbers + 10)  # new subjects, nothing alike


# ----------------------------------------------------------------------
# Nothing of the training trials is kept
def test_fitted_state_does_not_grow_with_trials():
    sizes = []
    for n in (8, 80):
        X, groups = make_groups((n, n), n_times=200)
        align = EuclideanAlignment().fit(X, groups=groups)
        for value in vars(align).values():
            assert not (isinstance(value, np.ndarray) and n in value.shape[:1] and value.ndim > 1)
        sizes.append(len(pickle.dumps(align)))
    assert sizes[0] == sizes[1]


# ----------------------------------------------------------------------
# In a Pipeline, with metadata routing carrying groups to fit and transform
def _log_variance(X):
    return np.log(np.var(X, axis=-1))


def _pipeline(align):
    return make_pipeline(
        align, FunctionTransformer(_log_variance), LinearDiscriminantAnalysis()
    )


def test_pipeline_routes_groups_to_fit_and_transform():
    data = make_motor_imagery(
        n_trials=120, n_channels=4, n_times=200, n_subjects=3, random_state=0
    )
    X, y, subject = data.X, data.y, data.subject
    train, test = subject != 2, subject == 2
    with sklearn.config_context(enable_metadata_routing=True):
        align = EuclideanAlignment().set_fit_request(groups=True)
        align.set_transform_request(groups=True)
        pipe = _pipeline(align).fit(X[train], y[train], groups=subject[train])
        predicted = pipe.predict(X[test], groups=subject[test])
        with pytest.raises(ValueError, match="fitted with groups, but transform got none"):
            pipe.predict(X[test])
        scores = cross_validate(
            _pipeline(align), X, y, cv=LeaveOneGroupOut(), params={"groups": subject}
        )["test_score"]

    # The same by hand: subject-wise references on the training subjects, the
    # held-out subject aligned with its own trials.
    by_hand = EuclideanAlignment().fit(X[train], groups=subject[train])
    lda = LinearDiscriminantAnalysis().fit(
        _log_variance(by_hand.transform(X[train], groups=subject[train])), y[train]
    )
    aligned_test = EuclideanAlignment().fit_transform(X[test])
    np.testing.assert_array_equal(predicted, lda.predict(_log_variance(aligned_test)))
    assert scores[2] == pytest.approx(np.mean(predicted == y[test]))


def test_alignment_helps_across_subjects():
    # Log-variance + LDA trained on three subjects, scored on the fourth: the
    # subjects' gains and mixings shift the features, alignment removes most
    # of it (every one of 20 seeds improves when this was written).
    data = make_motor_imagery(
        n_trials=240, n_channels=6, n_times=250, n_subjects=4, snr=1.5, random_state=0
    )
    cv, groups = LeaveOneGroupOut(), {"groups": data.subject}
    with sklearn.config_context(enable_metadata_routing=True):
        align = EuclideanAlignment().set_fit_request(groups=True)
        align.set_transform_request(groups=True)
        aligned = cross_validate(_pipeline(align), data.X, data.y, cv=cv, params=groups)
        plain = cross_validate(
            _pipeline(FunctionTransformer()), data.X, data.y, cv=cv, params=groups
        )
    aligned, plain = aligned["test_score"].mean(), plain["test_score"].mean()
    assert aligned > 0.85
    assert aligned > plain + 0.15


# ----------------------------------------------------------------------
# set_output: 3-D output is an array, 2-D output a DataFrame
@pytest.mark.filterwarnings("ignore:When `set_output` is configured:UserWarning")
@pytest.mark.parametrize("container", ["pandas", "polars"])
def test_set_output(container):
    if container == "polars":
        frame_type = pytest.importorskip("polars", reason="polars is not installed").DataFrame
    else:
        frame_type = pd.DataFrame
    X, groups = make_groups()
    align = EuclideanAlignment().set_output(transform=container)
    Xt = align.fit_transform(X, groups=groups)
    assert type(Xt) is np.ndarray
    np.testing.assert_array_equal(Xt, EuclideanAlignment().fit_transform(X, groups=groups))
    one_channel = align.fit_transform(X[:, 0], groups=groups)
    assert isinstance(one_channel, frame_type) and one_channel.shape == (len(X), 80)
    pipe = _pipeline(EuclideanAlignment()).set_output(transform=container)
    labels = np.arange(len(X)) % 2
    np.testing.assert_array_equal(
        pipe.fit(X, labels).predict(X),
        _pipeline(EuclideanAlignment()).fit(X, labels).predict(X),
    )


# ----------------------------------------------------------------------
# Bad input: a ValueError that names the problem
X_GOOD, GROUPS_GOOD = make_groups((4, 4), n_channels=3, n_times=20)


def _nan_groups():
    groups = np.arange(8) % 2.0
    groups[3] = np.nan
    return groups


@pytest.mark.parametrize(
    "X, groups, message",
    [
        (X_GOOD, GROUPS_GOOD[:-1], "groups has 7 entries, but X has 8 trials"),
        (X_GOOD, _nan_groups(), r"missing values \(NaN or None\) at position\(s\) \[3\]"),
        (X_GOOD, np.array(["a"] * 7 + [None], dtype=object), "missing values"),
        (X_GOOD, np.zeros((8, 2)), "groups must be 1-D"),
        (X_GOOD, np.array([1, "a"] * 4, dtype=object), "mixes types"),
        (X_GOOD, np.arange(8) % 7, "needs at least 2 trials.*group 1 has n_samples=1"),
        (X_GOOD.transpose(0, 2, 1), None, "20 channels: fewer samples than channels.*"
         r"\(n_trials, n_times, n_channels\)"),
        (np.where(np.arange(20) == 5, np.nan, X_GOOD), None, "NaN"),
        (np.where(np.arange(20) == 5, np.inf, X_GOOD), GROUPS_GOOD, "infinity"),
        (X_GOOD[0, 0], None, r"X is 1-D .*\(n_trials, n_channels, n_times\).*Reshape your data"),
        (X_GOOD[..., np.newaxis], None, "got 4 dim"),
        (X_GOOD[:0], None, "0 sample"),
        (np.zeros((4, 3, 20)), None, "all zeros"),
    ],
)
def test_bad_input_to_fit(X, groups, message):
    with pytest.raises(ValueError, match=message):
        EuclideanAlignment().fit(X, groups=groups)


def test_bad_input_to_transform():
    align = EuclideanAlignment(shrinkage=0).fit(X_GOOD, groups=GROUPS_GOOD)
    with pytest.raises(ValueError, match=r"fitted on trials of 3 channels, but X is 2-D"):
        align.transform(X_GOOD[0], groups=GROUPS_GOOD[:3])
    with pytest.raises(ValueError, match="X has 2 channel"):
        align.transform(X_GOOD[:, :2], groups=GROUPS_GOOD)
    with pytest.raises(ValueError, match="groups has 3 entries, but X has 8 trials"):
        align.transform(X_GOOD, groups=GROUPS_GOOD[:3])
    with pytest.raises(ValueError, match="needs at least 2 trials.*group 'new'"):
        align.transform(X_GOOD[:3], groups=["s0", "s0", "new"])
    # A new group whose reference is singular (rank 1 of 3 channels).
    flat = np.repeat(X_GOOD[:2, :1], 3, axis=1)
    with pytest.raises(ValueError, match="group 'new'.*singular.*rank 1 of 3"):
        align.transform(flat, groups=["new", "new"])
    with pytest.raises(ValueError, match="fitted without groups.*got groups"):
        EuclideanAlignment().fit(X_GOOD).transform(X_GOOD, groups=GROUPS_GOOD)
    with pytest.raises(sklearn.exceptions.NotFittedError):
        EuclideanAlignment().transform(X_GOOD)
    fitted_2d = EuclideanAlignment().fit(X_GOOD[:, 0])
    with pytest.raises(ValueError, match="fitted on 2-D X .*but X is 3-D"):
        fitted_2d.transform(X_GOOD[:, :1])


@pytest.mark.parametrize("shrinkage", [-0.1, 1.5, "lw", None, True, np.nan, Fraction(3, 2)])
def test_bad_shrinkage(shrinkage):
    message = (
        r"The 'shrinkage' parameter of EuclideanAlignment must be a str among \{'auto'\} or "
        rf"a real number in the range \[0\.0, 1\.0\]\. Got {re.escape(repr(shrinkage))} instead"
    )
    with pytest.raises(ValueError, match=message):
        EuclideanAlignment(shrinkage=shrinkage).fit(X_GOOD)
    fitted = EuclideanAlignment().fit(X_GOOD)
    with pytest.raises(ValueError, match=message):  # transform uses it for new groups
        fitted.set_params(shrinkage=shrinkage).transform(X_GOOD)


def test_a_fraction_shrinkage_is_the_real_number_it_is():
    exact = EuclideanAlignment(shrinkage=Fraction(1, 4)).fit(X_GOOD)
    floating = EuclideanAlignment(shrinkage=0.25).fit(X_GOOD)
    np.testing.assert_array_equal(exact.shrinkage_, [0.25])
    np.testing.assert_array_equal(exact.transform(X_GOOD), floating.transform(X_GOOD))


def test_singular_float32_data_is_refused_without_shrinkage():
    # Average reference in float32: the null direction holds rounding noise only.
    X, _ = make_groups((10,), n_channels=6)
    X = (X - X.mean(axis=1, keepdims=True)).astype(np.float32)
    with pytest.raises(ValueError, match="singular.*rank 5 of 6"):
        EuclideanAlignment(shrinkage=0).fit(X)
    Xt = EuclideanAlignment().fit_transform(X)
    assert np.isfinite(Xt).all() and np.abs(Xt).max() < 100


# ----------------------------------------------------------------------
# scikit-learn's generic checks (2-D X there is one channel)
@parametrize_with_checks([EuclideanAlignment(), EuclideanAlignment(shrinkage=0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)
