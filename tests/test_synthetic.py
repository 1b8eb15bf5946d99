"""Tests of make_motor_imagery's subjects (n_subjects) and unit.

The single-subject generator's shapes, ERD and learnability are tested in
tests/test_datasets.py.
"""

import doctest

import numpy as np
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.utils import check_random_state

from skeeg.datasets import make_motor_imagery, synthetic


def _single_subject_as_before(
    n_trials=200, n_channels=8, n_times=500, sfreq=125.0, n_classes=2, snr=1.0, random_state=None
):
    """make_motor_imagery's X and y as computed before subjects were added.

    A frozen copy of the earlier algorithm (the same random draws in the same
    order), so that a change to the single-subject data cannot go unnoticed.
    """
    freqs = np.fft.rfftfreq(n_times, 1.0 / sfreq)
    in_band = (freqs >= 8.0) & (freqs <= 13.0)
    rng = check_random_state(random_state)
    y = rng.permutation(np.arange(n_trials) % n_classes)
    pink_gain = np.zeros_like(freqs)
    pink_gain[1:] = 1.0 / np.sqrt(freqs[1:])
    X = synthetic._coloured_noise(rng, (n_trials, n_channels, n_times), pink_gain)
    n_motor = max(2, n_classes)
    mu = synthetic._coloured_noise(rng, (n_trials, n_motor, n_times), in_band.astype(float))
    amplitude = snr * np.exp(0.3 * rng.standard_normal((n_trials, n_motor)))
    amplitude[np.arange(n_trials), y] *= 0.5
    X[:, :n_motor] += amplitude[:, :, None] * mu
    return np.ascontiguousarray(X, dtype=np.float32), y


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(random_state=0),
        dict(n_trials=48, n_channels=4, n_times=128, random_state=0),
        dict(n_trials=90, n_channels=4, n_classes=3, random_state=7),
        dict(n_trials=31, n_channels=5, n_times=64, sfreq=100.0, snr=2.0, random_state=3),
    ],
)
def test_one_subject_gives_the_earlier_data(kwargs):
    X, y = _single_subject_as_before(**kwargs)
    for data in (make_motor_imagery(**kwargs), make_motor_imagery(n_subjects=1, **kwargs)):
        np.testing.assert_array_equal(data.X, X)
        np.testing.assert_array_equal(data.y, y)
        np.testing.assert_array_equal(data.subject, np.zeros(len(y)))
        assert data.subject.dtype.kind == "i" and data.unit == "a.u."


def test_subjects_split_trials_into_balanced_blocks():
    data = make_motor_imagery(n_trials=62, n_channels=4, n_times=128, n_subjects=4,
                              n_classes=3, random_state=0)
    assert data.X.shape == (62, 4, 128) and data.X.dtype == np.float32
    assert data.X.flags.c_contiguous and np.isfinite(data.X).all()
    # Consecutive blocks, sizes as even as possible.
    np.testing.assert_array_equal(data.subject, np.repeat([0, 1, 2, 3], [16, 16, 15, 15]))
    for s in range(4):
        counts = np.bincount(data.y[data.subject == s], minlength=3)
        assert counts.max() - counts.min() <= 1
    assert "4 subjects" in data.DESCR and data.unit == "a.u."
    again = make_motor_imagery(n_trials=62, n_channels=4, n_times=128, n_subjects=4,
                               n_classes=3, random_state=np.random.RandomState(0))
    np.testing.assert_array_equal(again.X, data.X)
    np.testing.assert_array_equal(again.y, data.y)
    other = make_motor_imagery(n_trials=62, n_channels=4, n_times=128, n_subjects=4,
                               n_classes=3, random_state=1)
    assert not np.array_equal(other.X, data.X)


def _channel_correlation(X):
    """Largest correlation between two channels over all samples of X."""
    corr = np.corrcoef(X.transpose(1, 0, 2).reshape(X.shape[1], -1))
    return np.abs(corr - np.eye(len(corr))).max()


def test_subjects_differ_but_each_is_learnable():
    data = make_motor_imagery(n_trials=300, n_subjects=3, random_state=0)
    log_var = np.log(data.X.var(axis=-1))
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    means = []
    for s in range(3):
        rows = data.subject == s
        # Within a subject, the ERD is still there to learn...
        accuracy = cross_val_score(LinearDiscriminantAnalysis(), log_var[rows],
                                   data.y[rows], cv=cv).mean()
        assert accuracy > 0.75
        # ... and its channels mix the sources (one subject: independent).
        assert _channel_correlation(data.X[rows]) > 0.15
        means.append(log_var[rows].mean(axis=0))
    # Gains shift each subject's channel powers far more than the ERD does.
    assert np.abs(means[0] - means[1]).max() > 0.5
    single = make_motor_imagery(n_trials=300, random_state=0)
    assert _channel_correlation(single.X) < 0.05


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_subjects=0), "n_subjects must be an integer >= 1"),
        (dict(n_subjects=2.0), "n_subjects must be an integer >= 1"),
        (dict(n_subjects=True), "n_subjects must be an integer >= 1"),
        (dict(n_trials=3, n_subjects=4), "n_subjects=4 is more than n_trials=3"),
    ],
)
def test_bad_n_subjects(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_motor_imagery(**kwargs)


def test_docstring_example():
    result = doctest.testmod(synthetic, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
