"""Tests of skeeg.preprocessing.DEAPReducer.

scikit-learn's generic estimator checks run on ``DEAPReducer(n_windows=1)``
in tests/test_estimator_checks.py with the other estimators.
"""

import doctest

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import sklearn

from skeeg.preprocessing import STAT_NAMES, DEAPReducer

RESOLUTION = np.finfo(np.float64).resolution


def _zscore(values):
    """Z-score; values without spread (std <= 1e-15 |mean|: rounding) give 0."""
    mean, std = values.mean(), values.std()
    if std <= RESOLUTION * abs(mean):
        return np.zeros_like(values)
    return (values - mean) / std


def reference_reduce(
    X, n_windows=10, zscore_trial=True, zscore_channels=True, zscore_block=True
):
    """DEAPReducer's features computed one channel and one window at a time.

    The oracle of these tests and the baseline of
    ``benchmarks/reducer_speed.py``: plain numpy and scipy calls in Python
    loops, in float64. Windows are ``ceil(n_samples / n_windows)`` samples,
    the last takes the rest. The zero-spread conventions are applied
    explicitly: skewness and kurtosis of a window whose values are all equal
    are 0 (scipy would give nan, or +-1 and -2 from rounding noise), and
    z-scoring values without spread gives 0.
    """
    X = np.asarray(X, dtype=np.float64)
    n_trials, n_channels, n_samples = X.shape
    width = -(-n_samples // n_windows)
    out = np.empty((n_trials, n_channels, 9 * (n_windows + 1)))
    for i in range(n_trials):
        trial = _zscore(X[i]) if zscore_trial else X[i]
        for c in range(n_channels):
            x = trial[c]
            segments = [x[k * width : (k + 1) * width] for k in range(n_windows - 1)]
            segments += [x[(n_windows - 1) * width :], x]
            values = []
            for segment in segments:
                if np.ptp(segment) == 0:
                    skewness = kurtosis = 0.0
                else:
                    skewness = scipy.stats.skew(segment)
                    kurtosis = scipy.stats.kurtosis(segment)
                values += [
                    np.mean(segment),
                    np.median(segment),
                    np.max(segment),
                    np.min(segment),
                    np.std(segment),
                    np.var(segment),
                    np.ptp(segment),
                    skewness,
                    kurtosis,
                ]
            values = np.array(values)
            out[i, c] = _zscore(values) if zscore_channels else values
        if zscore_block:
            out[i] = _zscore(out[i])
    return out.reshape(n_trials, -1)


# Values near 0 (skewness of symmetric data, standardised statistics) have no
# meaningful relative precision; their absolute error comes from rounding
# float32 inputs and outputs (~6e-8 of values of order 1), far below 1e-6.
RTOL, ATOL = 1e-5, 1e-6


def make_trials(shape, seed=0):
    """Random trials with an offset, plus the awkward cases of real signals."""
    rng = np.random.default_rng(seed)
    n_trials, n_channels, n_samples = shape
    X = 3.0 * rng.standard_normal(shape) + 7.0
    X[0, 0] = 2.5  # constant channel
    X[-1, -1, : n_samples // 3] = -1.0  # constant windows, then noise
    X[0, -1] = np.linspace(-5, 5, n_samples)  # drift: median bounds hold all
    X[-1, 0] = np.round(X[-1, 0])  # many ties
    return X


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "shape, n_windows",
    [
        ((3, 4, 1000), 10),  # divisible
        ((3, 3, 1001), 10),  # odd, last window shorter (101 x 9 + 92)
        ((2, 3, 37), 4),  # short windows (10 x 3 + 7)
        ((2, 2, 17), 1),  # whole channel only
        ((2, 6, 896), 10),  # SelfRegulationSCP1's shape (90 x 9 + 86)
    ],
)
def test_matches_reference_loop(shape, n_windows, dtype):
    X = make_trials(shape).astype(dtype)
    reducer = DEAPReducer(n_windows=n_windows)
    Xt = reducer.fit_transform(X)
    assert Xt.dtype == dtype
    assert Xt.shape == (shape[0], shape[1] * 9 * (n_windows + 1))
    expected = reference_reduce(X, n_windows)
    np.testing.assert_allclose(Xt, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("zscore_trial", [True, False])
@pytest.mark.parametrize("zscore_channels", [True, False])
@pytest.mark.parametrize("zscore_block", [True, False])
def test_standardisation_modes_match_reference(
    zscore_trial, zscore_channels, zscore_block
):
    X = make_trials((3, 3, 403), seed=1)
    flags = dict(
        zscore_trial=zscore_trial,
        zscore_channels=zscore_channels,
        zscore_block=zscore_block,
    )
    Xt = DEAPReducer(n_windows=6, **flags).fit_transform(X)
    expected = reference_reduce(X, 6, **flags)
    np.testing.assert_allclose(Xt, expected, rtol=RTOL, atol=ATOL)


def test_raw_statistics_and_layout():
    X = make_trials((2, 2, 50), seed=2)
    Xt = DEAPReducer(
        n_windows=5, zscore_trial=False, zscore_channels=False, zscore_block=False,
        flatten=False,
    ).fit_transform(X)
    assert Xt.shape == (2, 2, 54)
    blocks = Xt.reshape(2, 2, 6, 9)  # windows first, then the whole channel
    x = X[1, 1]
    stats = dict(zip(STAT_NAMES, blocks[1, 1, 2]))  # window 2: samples 20-29
    assert stats["mean"] == pytest.approx(x[20:30].mean())
    assert stats["median"] == pytest.approx(np.median(x[20:30]))
    assert stats["range"] == pytest.approx(np.ptp(x[20:30]))
    assert stats["var"] == pytest.approx(x[20:30].var())
    assert stats["kurtosis"] == pytest.approx(scipy.stats.kurtosis(x[20:30]))
    whole = dict(zip(STAT_NAMES, blocks[1, 1, -1]))
    assert whole["std"] == pytest.approx(x.std())
    assert whole["skewness"] == pytest.approx(scipy.stats.skew(x))
    assert whole["median"] == pytest.approx(np.median(x))


def test_deap_window_lengths():
    # 8064 samples: nine windows of 807 and a last one of 801. A ramp makes
    # each window's range its length - 1.
    X = np.arange(8064, dtype=np.float64)[np.newaxis, np.newaxis]
    Xt = DEAPReducer(
        zscore_trial=False, zscore_channels=False, zscore_block=False, flatten=False
    ).fit_transform(X)
    assert Xt.shape == (1, 1, 99)
    ranges = Xt.reshape(11, 9)[:, STAT_NAMES.index("range")]
    np.testing.assert_array_equal(ranges + 1, [807] * 9 + [801, 8064])
    starts = Xt.reshape(11, 9)[:10, STAT_NAMES.index("min")]
    np.testing.assert_array_equal(starts, np.arange(10) * 807)


def test_flatten_false_is_reshaped_output():
    X = make_trials((3, 4, 200))
    flat = DEAPReducer().fit_transform(X)
    blocks = DEAPReducer(flatten=False).fit_transform(X)
    assert blocks.shape == (3, 4, 99)
    np.testing.assert_array_equal(flat, blocks.reshape(3, -1))


@pytest.mark.parametrize(
    "n_samples, n_windows, works",
    [(11, 10, 6), (5, 10, 5), (81, 10, 9), (9, 4, 3)],
)
def test_empty_last_window_is_an_error(n_samples, n_windows, works):
    X = np.random.default_rng(0).standard_normal((2, 1, n_samples))
    message = (
        f"n_windows={n_windows} leaves the last window empty for "
        f"n_samples={n_samples}.*largest smaller n_windows that works here is {works}"
    )
    with pytest.raises(ValueError, match=message):
        DEAPReducer(n_windows=n_windows).fit(X)
    with pytest.raises(ValueError, match=message):
        DEAPReducer(n_windows=n_windows).transform(X)
    DEAPReducer(n_windows=works).fit_transform(X)  # the suggestion works


def test_zero_spread_gives_finite_output():
    X = make_trials((3, 3, 120))
    X[1] = 0.1  # a constant trial (whose mean is inexact in float64)
    X[2, :, 40:80] = 0.0  # a constant window in every channel
    raw = dict(zscore_trial=False, zscore_channels=False, zscore_block=False)
    for flags in [{}, raw]:
        Xt = DEAPReducer(n_windows=3, **flags).fit_transform(X)
        assert np.isfinite(Xt).all()
        expected = reference_reduce(X, 3, **flags)
        np.testing.assert_allclose(Xt, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(DEAPReducer().fit_transform(X)[1], 0.0)
    stats = DEAPReducer(n_windows=3, **raw).fit_transform(X).reshape(3, 3, 4, 9)
    # No spread: std, var, range, and by convention skewness and kurtosis, 0.
    np.testing.assert_array_equal(stats[1, :, :, 4:], 0.0)
    np.testing.assert_array_equal(stats[2, :, 1, 4:], 0.0)
    np.testing.assert_allclose(stats[1, :, :, :4], 0.1, rtol=1e-15)
    # Spread so small that fourth powers underflow counts as none.
    tiny = DEAPReducer(zscore_trial=False).fit_transform(X * 1e-160)
    assert np.isfinite(tiny).all()


def test_zscore_channels_and_block():
    X = make_trials((4, 3, 300))
    channels = DEAPReducer(zscore_block=False, flatten=False).fit_transform(X)
    np.testing.assert_allclose(channels.mean(axis=2), 0, atol=1e-12)
    np.testing.assert_allclose(channels.std(axis=2), 1, rtol=1e-12)
    block = DEAPReducer(flatten=False).fit_transform(X)
    np.testing.assert_allclose(block.mean(axis=(1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(block.std(axis=(1, 2)), 1, rtol=1e-12)


def test_zscore_trial_equals_reducing_standardised_trials():
    X = make_trials((3, 4, 250))
    mean = X.mean(axis=(1, 2), keepdims=True)
    std = X.std(axis=(1, 2), keepdims=True)
    raw = dict(zscore_channels=False, zscore_block=False)
    np.testing.assert_allclose(
        DEAPReducer(**raw).fit_transform(X),
        DEAPReducer(zscore_trial=False, **raw).fit_transform((X - mean) / std),
        rtol=1e-9,
        atol=1e-12,
    )


def test_two_dimensional_input_is_one_channel():
    X = make_trials((5, 1, 130))
    reducer = DEAPReducer().fit(X[:, 0])
    assert reducer.n_features_in_ == 130 and reducer.n_channels_ == 1
    np.testing.assert_array_equal(
        reducer.transform(X[:, 0]), DEAPReducer().fit_transform(X)
    )
    assert reducer.get_feature_names_out()[0] == "ch0_w0_mean"


def test_stateless_transform_and_fitted_checks():
    X = make_trials((3, 4, 200))
    unfitted = DEAPReducer().transform(X)
    reducer = DEAPReducer().fit(X)
    assert reducer.n_features_in_ == 4 and reducer.n_channels_ == 4
    np.testing.assert_array_equal(reducer.transform(X), unfitted)
    # Stateless: other trials and lengths are fine, other channel counts not.
    assert reducer.transform(X[:2, :, :150]).shape == (2, 4 * 99)
    message = "X has 3 features, but DEAPReducer is expecting 4"
    with pytest.raises(ValueError, match=message):
        reducer.transform(X[:, :3])
    with pytest.raises(ValueError, match="X has 1 channel.*fitted on 4"):
        reducer.transform(X[:, 0, :4])


@pytest.mark.parametrize(
    "X, message",
    [
        (np.full((2, 3, 40), np.nan), "NaN"),
        (np.full((2, 3, 40), np.inf), "infinity"),
        (np.zeros(40), r"X is 1-D .*\(n_trials, n_channels, n_times\).*Reshape your data"),
        (np.zeros((2, 3, 4, 40)), r"\(n_trials, n_channels, n_samples\).*got 4 dim"),
        (np.zeros((2, 0, 40)), "0 channel"),
        (np.zeros((2, 3, 0)), "0 sample"),
        (np.zeros((0, 3, 40)), "0 sample"),
    ],
)
def test_bad_input(X, message):
    with pytest.raises(ValueError, match=message):
        DEAPReducer(n_windows=4).fit_transform(X)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(n_windows=0), r"'n_windows' parameter of DEAPReducer must be an integer in "
                            r"the range \[1, inf\)\. Got 0 instead"),
        (dict(n_windows=2.5), r"'n_windows' parameter .* Got 2\.5 instead"),
        (dict(n_windows=True), r"'n_windows' parameter .* Got True instead"),
        (dict(n_windows="3"), r"'n_windows' parameter .* Got '3' instead"),
        (dict(flatten="yes"), r"'flatten' parameter of DEAPReducer must be an instance of "
                              r"'bool' .* Got 'yes' instead"),
        (dict(zscore_trial=None), r"'zscore_trial' parameter .* Got None instead"),
        (dict(zscore_channels=1), r"'zscore_channels' parameter .* Got 1 instead"),
        (dict(zscore_block="no"), r"'zscore_block' parameter .* Got 'no' instead"),
    ],
)
def test_bad_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        DEAPReducer(**params).fit_transform(np.ones((2, 1, 30)))
    with pytest.raises(ValueError, match=message):  # transform works unfitted
        DEAPReducer(**params).transform(np.ones((2, 1, 30)))


def test_parameters_are_checked_once_per_fit_and_per_transform(monkeypatch):
    calls = []
    validate = DEAPReducer._validate_params
    monkeypatch.setattr(DEAPReducer, "_validate_params",
                        lambda self: calls.append(1) or validate(self))
    X = np.ones((2, 1, 30))
    reducer = DEAPReducer(n_windows=3).fit(X)
    assert calls == [1]
    reducer.transform(X)
    assert calls == [1, 1]
    reducer.set_params(n_windows=0)
    with pytest.raises(ValueError, match="'n_windows' parameter of DEAPReducer"):
        reducer.fit(X)


def test_a_huge_n_windows_is_refused_at_once():
    # The suggestion of a smaller n_windows searches at most n_samples values.
    with pytest.raises(ValueError, match=r"n_windows=1000000000000 leaves the last window "
                                         r"empty .*works here is 30"):
        DEAPReducer(n_windows=10**12).fit(np.ones((2, 1, 30)))


def test_dtypes():
    X = make_trials((2, 2, 60))
    assert DEAPReducer().fit_transform(X.astype(np.float32)).dtype == np.float32
    assert DEAPReducer().fit_transform(X).dtype == np.float64
    as_int = DEAPReducer().fit_transform(X.astype(np.int32))
    assert as_int.dtype == np.float64
    np.testing.assert_allclose(
        as_int, DEAPReducer().fit_transform(X.astype(np.int32).astype(float))
    )


def test_feature_names():
    X = make_trials((2, 3, 100))
    reducer = DEAPReducer(n_windows=2).fit(X)
    names = reducer.get_feature_names_out()
    assert len(names) == reducer.transform(X).shape[1] == 3 * 27
    assert names[0] == "ch0_w0_mean" and names[9] == "ch0_w1_mean"
    assert names[26] == "ch0_all_kurtosis" and names[-1] == "ch2_all_kurtosis"
    named = reducer.get_feature_names_out(["Fp1", "AF3", "F3"])
    assert named[27] == "AF3_w0_mean" and named.dtype == object
    with pytest.raises(ValueError, match="input_features should have length"):
        reducer.get_feature_names_out(["Fp1"])


def test_real_selfregulationscp1(data_dir):
    from skeeg.datasets import load_uea

    X = load_uea("SelfRegulationSCP1", data_dir).X_train[:8]
    assert X.shape == (8, 6, 896)
    Xt = DEAPReducer().fit_transform(X)
    assert Xt.shape == (8, 6 * 99) and np.isfinite(Xt).all()
    np.testing.assert_allclose(Xt, reference_reduce(X), rtol=RTOL, atol=ATOL)


# ----------------------------------------------------------------------
# set_output: a DataFrame has two axes, so 3-D output stays an array.
def _polars_or_skip():
    return pytest.importorskip("polars", reason="polars is not installed")


@pytest.mark.parametrize("container", ["pandas", "polars"])
def test_set_output_returns_3d_blocks_as_arrays(container):
    if container == "polars":
        _polars_or_skip()
    X = make_trials((3, 4, 200))
    expected = DEAPReducer(flatten=False).fit_transform(X)
    reducer = DEAPReducer(flatten=False).set_output(transform=container)
    for Xt in (reducer.fit_transform(X), reducer.fit(X).transform(X)):
        assert type(Xt) is np.ndarray and Xt.shape == (3, 4, 99)
        np.testing.assert_array_equal(Xt, expected)
    # 2-D input is one channel: the output is still (n_trials, 1, 99).
    assert reducer.fit_transform(X[:, 0]).shape == (3, 1, 99)


@pytest.mark.parametrize("container", ["pandas", "polars"])
def test_set_output_flattened_features_are_a_dataframe(container):
    if container == "polars":
        pl = _polars_or_skip()
        frame_type = pl.DataFrame
    else:
        frame_type = pd.DataFrame
    X = make_trials((3, 2, 100))
    reducer = DEAPReducer(n_windows=2).set_output(transform=container)
    Xt = reducer.fit_transform(X)
    assert isinstance(Xt, frame_type) and Xt.shape == (3, 2 * 27)
    assert list(Xt.columns) == list(reducer.get_feature_names_out())
    np.testing.assert_array_equal(
        np.asarray(Xt), DEAPReducer(n_windows=2).fit_transform(X)
    )


def test_global_pandas_output():
    X = make_trials((3, 2, 100))
    frame = pd.DataFrame(X[:, 0], index=[10, 11, 12])  # one channel, 100 samples
    with sklearn.config_context(transform_output="pandas"):
        assert type(DEAPReducer(flatten=False).fit_transform(X)) is np.ndarray
        flat = DEAPReducer().fit_transform(frame)
    assert isinstance(flat, pd.DataFrame)
    assert list(flat.index) == [10, 11, 12]
    assert flat.columns[0] == "ch0_w0_mean"


def test_pipeline_with_pandas_output_feeds_3d_blocks_to_cnn():
    # The CNNClassifier docstring's pipeline, small, with set_output("pandas").
    from sklearn.pipeline import make_pipeline

    from skeeg import CNNClassifier

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((24, 4, 128)), np.repeat([0, 1], 12)

    def pipeline():
        cnn = CNNClassifier(
            conv_filters=(4, 4), kernel_size=1, pool_size=1, hidden_size=8,
            max_epochs=1, validation_fraction=0, early_stopping=False, random_state=0,
        )
        return make_pipeline(DEAPReducer(n_windows=4, flatten=False), cnn)

    expected = pipeline().fit(X, y).predict_proba(X[:5])
    pipe = pipeline().set_output(transform="pandas")
    np.testing.assert_array_equal(pipe.fit(X, y).predict_proba(X[:5]), expected)
    assert type(pipe[:-1].transform(X)) is np.ndarray
    with sklearn.config_context(transform_output="pandas"):
        np.testing.assert_array_equal(
            pipeline().fit(X, y).predict_proba(X[:5]), expected
        )


def test_docstring_examples():
    from skeeg import preprocessing

    result = doctest.testmod(preprocessing, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
