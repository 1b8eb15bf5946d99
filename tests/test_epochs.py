"""MNE Epochs as input (issue 11, point 2), and the unit rule on real recordings."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from skeeg import DEAPReducer, DNNClassifier, EEGNetClassifier
from skeeg.datasets import make_motor_imagery

from _small_models import small_params

mne = pytest.importorskip("mne", reason="the mne extra is needed for Epochs input")

SMALL = small_params(EEGNetClassifier, max_epochs=4)
CHANNELS = ["C3", "Cz", "C4", "Pz"]


@pytest.fixture(scope="module")
def motor():
    data = make_motor_imagery(n_trials=60, n_channels=4, n_times=64, random_state=0)
    return data.X, data.y


def make_epochs(X, y, sfreq=128.0, extra=None):
    """Epochs in volts, as MNE holds EEG; ``extra`` adds a channel of another type."""
    names, types, data = list(CHANNELS), ["eeg"] * 4, X * 1e-6
    if extra:
        names.append(extra)
        types.append("eog")
        data = np.concatenate([data, np.ones((len(X), 1, X.shape[2]))], axis=1)
    info = mne.create_info(names, sfreq, types)
    events = np.c_[np.arange(len(X)) * 100, np.zeros(len(X), int), np.asarray(y) + 1]
    return mne.EpochsArray(data, info, events=events, event_id={"left_hand": 1, "right_hand": 2},
                           verbose=False)


def test_fit_on_epochs_reads_microvolts_names_and_labels(motor):
    X, y = motor
    epochs = make_epochs(X, y, extra="EOG")
    clf = EEGNetClassifier(**SMALL).fit(epochs)
    assert clf.classes_.tolist() == ["left_hand", "right_hand"]
    assert clf.ch_names_ == CHANNELS and clf.sfreq_ == 128.0  # the EOG channel is left out
    assert clf.n_channels_ == 4
    # The EEG channels were read in microvolts: the same as fitting the array.
    on_array = EEGNetClassifier(**SMALL).fit(X, np.array(["left_hand", "right_hand"])[y])
    np.testing.assert_allclose(clf.channel_mean_, on_array.channel_mean_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(epochs), on_array.predict_proba(X), atol=1e-4)
    names = np.array(["left_hand", "right_hand"])[y]
    assert clf.score(epochs) == clf.score(X, names)  # labels from the events
    # Plain arrays are accepted after an Epochs fit when their shape matches.
    assert clf.predict(X).tolist() == clf.predict(epochs).tolist()
    assert EEGNetClassifier(**SMALL).fit(X, y).ch_names_ is None


def test_explicit_y_wins_over_events(motor):
    X, y = motor
    clf = EEGNetClassifier(**SMALL).fit(make_epochs(X, y), np.where(y == 1, "R", "L"))
    assert clf.classes_.tolist() == ["L", "R"]


def test_channels_are_reordered_by_name(motor):
    X, y = motor
    epochs = make_epochs(X, y)
    clf = EEGNetClassifier(**SMALL).fit(epochs)
    shuffled = epochs.copy().reorder_channels(["Pz", "C4", "C3", "Cz"])
    np.testing.assert_array_equal(clf.predict_proba(shuffled), clf.predict_proba(epochs))


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda e: e.drop_channels(["Cz"]), r"missing \['Cz'\]"),
        (lambda e: e.rename_channels({"Pz": "Oz"}), r"missing \['Pz'\]; not seen in fit \['Oz'\]"),
        (lambda e: e.resample(64.0), "sampled at 64 Hz, but EEGNetClassifier was fitted on 128 Hz"),
    ],
)
def test_other_channels_or_rates_are_refused(motor, change, match):
    X, y = motor
    epochs = make_epochs(X, y)
    clf = EEGNetClassifier(**SMALL).fit(epochs)
    with pytest.raises(ValueError, match=match):
        clf.predict(change(epochs.copy()))


def test_bad_epochs_get_clear_errors(motor):
    X, y = motor
    clf = EEGNetClassifier(**SMALL)
    only_bad = make_epochs(X, y)
    only_bad.info["bads"] = list(CHANNELS)
    with pytest.raises(ValueError, match="no usable EEG channel.*marked bad"):
        clf.fit(only_bad)
    empty = make_epochs(X, y)
    empty.drop(np.arange(len(X)), verbose=False)
    with pytest.raises(ValueError, match="holds no trials"):
        clf.fit(empty)
    with pytest.raises(ValueError, match="at least 2 classes"):
        clf.fit(make_epochs(X, y)["left_hand"])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(make_epochs(X, y), y[:-3])
    unnamed = make_epochs(X, y)
    unnamed.event_id = {"left_hand": 1}  # code 2 has no name
    with pytest.raises(ValueError, match="30 of 60 epochs have an event code that event_id"):
        clf.fit(unnamed)
    twice = make_epochs(X, y)
    twice.event_id = {"left_hand": 1, "left": 1, "right_hand": 2}
    with pytest.raises(ValueError, match="event code 1 two names, 'left_hand' and 'left'"):
        clf.fit(twice)
    # MNE objects that hold no trials get skeeg's TypeError, not numpy's.
    epochs = make_epochs(X, y)
    with pytest.raises(TypeError, match="MNE EvokedArray object.*an Evoked is an average"):
        clf.fit(epochs.average(), y[:1])
    raw = mne.io.RawArray(X[0], epochs.info, verbose=False)
    with pytest.raises(TypeError, match="MNE RawArray object.*mne.Epochs\\(raw, events"):
        clf.fit(raw, y)
    with pytest.raises(TypeError, match="mixing mne.Epochs with other objects"):
        clf.fit([epochs, X], y)


def test_pipelines_with_a_transformer_first_take_event_labels(motor):
    from skeeg import EuclideanAlignment, event_labels

    X, y = motor
    epochs = make_epochs(X, y)
    labels = event_labels(epochs)
    assert list(labels[:2]) == ["left_hand", "right_hand"]
    pipe = make_pipeline(EuclideanAlignment(), EEGNetClassifier(**SMALL))
    # The classifier never sees the Epochs: its error says how to pass their labels.
    with pytest.raises(ValueError, match=r"pipe.fit\(epochs, skeeg.event_labels\(epochs\)\)"):
        pipe.fit(epochs)
    assert list(pipe.fit(epochs, labels).classes_) == ["left_hand", "right_hand"]
    with pytest.raises(TypeError, match="event_labels takes mne.Epochs"):
        event_labels(X)


def test_epochs_through_cross_validation_search_and_pipelines(motor):
    X, y = motor
    epochs = make_epochs(X, y)
    labels = np.array(["left_hand", "right_hand"])[y]
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(EEGNetClassifier(**SMALL), epochs, labels, cv=cv)
    on_arrays = cross_val_score(EEGNetClassifier(**SMALL), X, labels, cv=cv)
    np.testing.assert_allclose(scores, on_arrays, atol=0.1)
    search = GridSearchCV(EEGNetClassifier(**SMALL), {"lr": [0.01, 0.02]}, cv=cv)
    assert search.fit(epochs, labels).best_estimator_.ch_names_ == CHANNELS
    pipe = make_pipeline(DEAPReducer(n_windows=2), DNNClassifier(hidden_sizes=(16,), max_epochs=3,
                                                                 random_state=0))
    assert pipe.fit(epochs, labels).score(epochs, labels) > 0.4
    reducer = DEAPReducer(n_windows=2).fit(epochs)
    np.testing.assert_allclose(reducer.transform(epochs), DEAPReducer(n_windows=2).fit(X)
                               .transform(X), rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------
# The unit rule on real recordings: volts as MNE gives them train like microvolts
def test_eegmmidb_in_volts_trains_like_microvolts(data_dir):
    from skeeg.datasets import load_eegmmidb

    if not (data_dir / "MNE-eegbci-data").is_dir():
        pytest.skip(f"EEGMMIDB subject 1 not found under {data_dir}")
    runs = [4, 8, 12]
    micro = load_eegmmidb(subjects=1, runs=runs, data_dir=data_dir)
    volts = load_eegmmidb(subjects=1, runs=runs, data_dir=data_dir, units="V")
    assert micro.unit == "uV" and volts.unit == "V"
    np.testing.assert_allclose(volts.X * 1e6, micro.X, rtol=1e-5, atol=1e-3)
    params = dict(temporal_filters=4, separable_filters=8, max_epochs=3, random_state=0,
                  validation_fraction=0, early_stopping=False)
    a = EEGNetClassifier(**params).fit(micro.X, micro.y)
    b = EEGNetClassifier(**params).fit(volts.X, volts.y)
    # Standardised, the network sees the same numbers up to float rounding.
    np.testing.assert_allclose(a.predict_proba(micro.X), b.predict_proba(volts.X), atol=2e-3)


def test_transformers_and_unloaded_epochs(motor):
    from skeeg import EuclideanAlignment

    X, y = motor
    epochs = make_epochs(X, y)
    aligned = EuclideanAlignment().fit_transform(epochs)
    np.testing.assert_allclose(aligned, EuclideanAlignment().fit_transform(X), rtol=1e-4,
                               atol=1e-5)
    # Epochs read from a recording without preload: skeeg reads them.
    raw = mne.io.RawArray(np.concatenate(list(X * 1e-6), axis=1), epochs.info, verbose=False)
    events = np.c_[np.arange(len(X)) * 64, np.zeros(len(X), int), y + 1]
    lazy = mne.Epochs(raw, events, {"left_hand": 1, "right_hand": 2}, tmin=0,
                      tmax=63 / 128, baseline=None, preload=False, verbose=False)
    clf = EEGNetClassifier(**SMALL).fit(lazy)
    assert clf.n_times_ == 64 and clf.classes_.tolist() == ["left_hand", "right_hand"]


def test_euclidean_alignment_names_channels_of_epochs(motor):
    from skeeg import EuclideanAlignment

    X, y = motor
    epochs = make_epochs(X, y)
    alignment = EuclideanAlignment().fit(epochs)
    with pytest.raises(ValueError, match=r"missing \['Cz'\]"):
        alignment.transform(epochs.copy().drop_channels(["Cz"]))
    reordered = epochs.copy().reorder_channels(["Pz", "C4", "Cz", "C3"])
    np.testing.assert_allclose(alignment.transform(reordered), alignment.transform(epochs))


def test_frequency_shift_must_match_the_epochs_sampling_rate(motor):
    from skeeg.augmentation import FrequencyShift

    X, y = motor
    epochs = make_epochs(X, y, sfreq=128.0)
    clf = EEGNetClassifier(**{**SMALL, "max_epochs": 1},
                           augmentation=FrequencyShift(sfreq=256.0))
    message = (r"augmentation: FrequencyShift\(sfreq=256.0\) does not match the Epochs, "
               r"sampled at 128 Hz: pass sfreq=128")
    with pytest.raises(ValueError, match=message):
        clf.fit(epochs)
    # Fitted on arrays, whose rate skeeg does not know, then continued on Epochs.
    clf.fit(X, y)
    with pytest.raises(ValueError, match=message):
        clf.partial_fit(epochs)
    with pytest.raises(ValueError, match=message):
        clf.set_params(warm_start=True).fit(epochs)
    clf.set_params(augmentation=FrequencyShift(sfreq=128.0), warm_start=False).fit(epochs)
    assert clf.sfreq_ == 128.0
