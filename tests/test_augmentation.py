"""Tests of skeeg.augmentation: what each transform does to known signals."""

import math
import pickle
import re
from fractions import Fraction

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skeeg.augmentation import (
    AmplitudeScale,
    ChannelsDropout,
    FrequencyShift,
    GaussianNoise,
    Mixup,
    SignFlip,
    SmoothTimeMask,
    TimeReverse,
    TimeShift,
    Transform,
    apply_augmentation,
    check_augmentation,
)
from skeeg.augmentation.frequency import _frequency_shift
from skeeg.augmentation.time import _time_shift

SFREQ = 128.0


def gen(seed=0, device="cpu"):
    return torch.Generator(device=device).manual_seed(seed)


def noise_batch(batch=16, n_channels=4, n_times=256, seed=0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, n_channels, n_times, generator=g).to(device)


def one_hot(batch, n_classes, device="cpu"):
    labels = torch.arange(batch) % n_classes
    return torch.nn.functional.one_hot(labels, n_classes).float().to(device)


class _NonZeroShift(TimeShift):
    """TimeShift whose draws avoid 0, so that every drawn trial changes (tests only)."""

    def __init__(self, *, probability=0.5):
        super().__init__(probability=probability, max_shift=8, mode="circular")

    def _transform(self, X, y, generator):
        shifts = torch.randint(1, 9, (X.shape[0],), generator=generator, device=X.device)
        return _time_shift(X, shifts, self.mode), y


# Configurations that change every trial they are applied to, on noise_batch()
# (Mixup apart: a trial paired with itself stays as it was).
ALWAYS_CHANGE = [
    lambda p: TimeReverse(probability=p),
    lambda p: SignFlip(probability=p),
    lambda p: GaussianNoise(probability=p, std=0.5),
    lambda p: ChannelsDropout(probability=p, p_drop=1.0),
    lambda p: SmoothTimeMask(probability=p, mask_len_samples=50),
    lambda p: FrequencyShift(probability=p, sfreq=SFREQ, max_delta_freq=5.0),
    lambda p: AmplitudeScale(probability=p, interval=(2.0, 3.0)),
    lambda p: _NonZeroShift(probability=p),
    lambda p: Mixup(probability=p, alpha=1.0),
]
IDS = [
    "TimeReverse",
    "SignFlip",
    "GaussianNoise",
    "ChannelsDropout",
    "SmoothTimeMask",
    "FrequencyShift",
    "AmplitudeScale",
    "TimeShift",
    "Mixup",
]


def every_transform():
    """One non-default instance of each public transform."""
    return [
        TimeReverse(probability=0.3),
        SignFlip(probability=0.7),
        GaussianNoise(probability=0.4, std=0.2),
        ChannelsDropout(probability=0.6, p_drop=0.5),
        SmoothTimeMask(probability=0.5, mask_len_samples=30),
        FrequencyShift(probability=0.5, sfreq=SFREQ, max_delta_freq=3.0),
        AmplitudeScale(probability=0.5, interval=(0.8, 1.25)),
        TimeShift(probability=0.5, max_shift=10, mode="circular"),
        Mixup(probability=0.8, alpha=0.4, beta_per_sample=True),
    ]


def trial_changed(X_new, X):
    return (X_new != X).flatten(1).any(1)


# ----------------------------------------------------------------------
# What each transform does to a known signal
def test_time_reverse_reverses_a_ramp():
    ramp = torch.arange(10.0).repeat(3, 2, 1)
    X_new, y_new = TimeReverse(probability=1.0)(ramp, None, gen())
    assert torch.equal(X_new, torch.arange(9.0, -1.0, -1.0).repeat(3, 2, 1))
    assert y_new is None


def test_sign_flip_negates():
    X = noise_batch()
    y = one_hot(16, 2)
    X_new, y_new = SignFlip(probability=1.0)(X, y, gen())
    assert torch.equal(X_new, -X)
    assert y_new is y


def test_gaussian_noise_has_the_requested_std():
    X = torch.zeros(64, 8, 500)
    X_new, _ = GaussianNoise(probability=1.0, std=0.5)(X, None, gen())
    assert abs(X_new.std().item() - 0.5) < 0.01
    assert abs(X_new.mean().item()) < 0.01
    assert trial_changed(X_new, X).all()


def test_channels_dropout_zeroes_about_p_drop_of_the_channels():
    X = torch.ones(200, 20, 30)
    X_new, _ = ChannelsDropout(probability=1.0, p_drop=0.3)(X, None, gen())
    per_channel = X_new[..., 0]
    # each channel is wholly kept or wholly zeroed
    assert torch.equal(X_new, per_channel[..., None].expand_as(X_new))
    assert set(per_channel.unique().tolist()) == {0.0, 1.0}
    assert abs((per_channel == 0).float().mean().item() - 0.3) < 0.03


@pytest.mark.parametrize("length, low, high", [(1, 0.70, 0.80), (5, 0.10, 0.20), (10, 0.0, 0.02)])
def test_short_smooth_time_masks_only_dip_as_documented(length, low, high):
    # The two logistic edges overlap: the docstring gives the depth.
    X_new, _ = SmoothTimeMask(probability=1.0, mask_len_samples=length)(
        torch.ones(200, 1, 64), None, gen())
    deepest = X_new.amin(dim=-1).flatten()
    assert low <= deepest.median().item() <= high


def test_an_empty_batch_passes_every_transform_unchanged():
    for transform in (FrequencyShift(sfreq=SFREQ, probability=1.0), TimeShift(probability=1.0),
                      SmoothTimeMask(probability=1.0, mask_len_samples=4), SignFlip(),
                      TimeReverse(), GaussianNoise(), ChannelsDropout(), AmplitudeScale()):
        X_new, _ = transform(torch.zeros(0, 2, 64), None, gen())
        assert X_new.shape == (0, 2, 64), transform


def test_amplitude_scale_takes_an_array_interval():
    scaled, _ = AmplitudeScale(probability=1.0, interval=np.array([2.0, 2.0]))(
        torch.ones(3, 2, 8), None, gen())
    assert torch.allclose(scaled, torch.full((3, 2, 8), 2.0))
    with pytest.raises(ValueError, match="pair"):
        AmplitudeScale(interval=np.ones((2, 2)))(torch.ones(3, 2, 8), None, gen())


def test_smooth_time_mask_zeroes_a_span_of_the_requested_length():
    X = torch.ones(50, 3, 400)
    length = 80
    X_new, _ = SmoothTimeMask(probability=1.0, mask_len_samples=length)(X, None, gen())
    assert torch.allclose(X_new, X_new[:, :1].expand_as(X_new))  # same on all channels
    starts = []
    for mask in X_new[:, 0]:
        zero = torch.nonzero(mask < 0.01).flatten()
        # one contiguous span, the requested length but for the smooth edges
        assert torch.equal(zero, torch.arange(zero[0], zero[-1] + 1))
        assert length - 10 <= len(zero) <= length
        # elsewhere the trial is kept, the edges apart
        assert ((mask > 0.99).sum() >= 400 - length - 10).item()
        assert mask.min() >= 0 and mask.max() <= 1 + 1e-6
        starts.append(zero[0].item())
    assert len(set(starts)) > 10  # the span moves from trial to trial
    assert min(starts) >= 0 and max(starts) <= 400 - length + 5


def peak_hz(X, sfreq):
    spectrum = torch.fft.rfft(X, dim=-1).abs()
    freqs = torch.fft.rfftfreq(X.shape[-1], d=1 / sfreq)
    return freqs[spectrum.argmax(-1)]


def sine(freq, sfreq=250.0, n_times=1000, batch=2, n_channels=2):
    t = torch.arange(n_times) / sfreq
    return torch.sin(2 * math.pi * freq * t).repeat(batch, n_channels, 1)


def test_frequency_shift_moves_a_10hz_sine_to_12_and_8hz():
    X = sine(10.0)
    shifted = _frequency_shift(X, torch.tensor([2.0, -2.0]), 250.0)
    peaks = peak_hz(shifted, 250.0)
    assert torch.equal(peaks, torch.tensor([[12.0, 12.0], [8.0, 8.0]]))
    # the amplitude is kept, away from the trial's ends
    middle = shifted[..., 100:-100]
    assert torch.allclose(middle.abs().amax(-1), torch.ones(2, 2), atol=0.02)


def test_frequency_shift_transform_draws_shifts_within_the_range():
    X = sine(10.0, batch=40, n_channels=1)
    X_new, _ = FrequencyShift(probability=1.0, sfreq=250.0, max_delta_freq=2.0)(X, None, gen())
    peaks = peak_hz(X_new, 250.0)[:, 0]
    assert ((peaks >= 7.75) & (peaks <= 12.25)).all()
    assert (peaks > 10.5).any() and (peaks < 9.5).any()


def test_frequency_shift_by_zero_is_the_identity():
    X = noise_batch()
    X_new, _ = FrequencyShift(probability=1.0, sfreq=SFREQ, max_delta_freq=0.0)(X, None, gen())
    assert torch.allclose(X_new, X, atol=1e-5)


def test_amplitude_scale_applies_one_gain_per_trial_in_the_interval():
    X = torch.ones(100, 3, 20)
    X_new, _ = AmplitudeScale(probability=1.0, interval=(0.5, 2.0))(X, None, gen())
    gains = X_new[:, 0, 0]
    assert torch.equal(X_new, gains[:, None, None].expand_as(X_new))
    assert (gains >= 0.5).all() and (gains <= 2.0).all()
    assert gains.min() < 0.7 and gains.max() > 1.8
    X_new, _ = AmplitudeScale(probability=1.0, interval=(3.0, 3.0))(X, None, gen())
    assert torch.equal(X_new, 3 * X)


def test_time_shift_helper_on_a_ramp():
    ramp = torch.arange(1.0, 11.0).repeat(2, 1, 1)
    delayed = _time_shift(ramp, torch.tensor([3, -2]), "zeros")
    assert delayed[0, 0].tolist() == [0, 0, 0, 1, 2, 3, 4, 5, 6, 7]
    assert delayed[1, 0].tolist() == [3, 4, 5, 6, 7, 8, 9, 10, 0, 0]
    rolled = _time_shift(ramp, torch.tensor([3, -2]), "circular")
    assert torch.equal(rolled[0], torch.roll(ramp[0], 3, -1))
    assert torch.equal(rolled[1], torch.roll(ramp[1], -2, -1))


@pytest.mark.parametrize("mode", ["zeros", "circular"])
def test_time_shift_shifts_each_trial_by_at_most_max_shift(mode):
    n_times, max_shift = 50, 5
    ramp = torch.arange(1.0, n_times + 1).repeat(40, 2, 1)
    X_new, _ = TimeShift(probability=1.0, max_shift=max_shift, mode=mode)(ramp, None, gen())
    found = []
    for trial, new in zip(ramp, X_new):
        matches = [
            s
            for s in range(-max_shift, max_shift + 1)
            if torch.equal(new, _time_shift(trial[None], torch.tensor([s]), mode)[0])
        ]
        assert len(matches) == 1
        found.append(matches[0])
    assert len(set(found)) > 5


def test_mixup_makes_convex_combinations_with_matching_lambda():
    batch = 12
    # trial i is the constant i + 1 and has class i
    X = torch.arange(1.0, batch + 1)[:, None, None].expand(batch, 2, 5).contiguous()
    y = torch.eye(batch)
    X_new, y_new = Mixup(probability=1.0, alpha=1.0, beta_per_sample=True)(X, y, gen())
    assert torch.allclose(y_new.sum(1), torch.ones(batch))
    assert (y_new >= 0).all()
    n_mixed = 0
    for i in range(batch):
        lam = y_new[i, i].item()
        partner = [j for j in range(batch) if j != i and y_new[i, j] > 0]
        if not partner:  # mixed with itself
            assert lam == pytest.approx(1.0) and torch.equal(X_new[i], X[i])
            continue
        (j,) = partner
        n_mixed += 1
        assert y_new[i, j].item() == pytest.approx(1 - lam, abs=1e-6)
        expected = lam * (i + 1) + (1 - lam) * (j + 1)
        assert torch.allclose(X_new[i], torch.full((2, 5), expected), atol=1e-5)
    assert n_mixed >= batch // 2


def test_mixup_draws_one_lambda_per_batch_by_default():
    batch = 10
    X = torch.arange(1.0, batch + 1)[:, None, None].expand(batch, 1, 3).contiguous()
    y = torch.eye(batch)
    _, y_new = Mixup(probability=1.0, alpha=1.0)(X, y, gen(3))
    # each row's weights are {lam, 1 - lam}, the same pair for the whole batch
    weights = {tuple(sorted(round(v, 5) for v in row[row > 0].tolist())) for row in y_new}
    weights.discard((1.0,))  # trials paired with themselves
    assert len(weights) == 1


def test_mixup_keeps_unselected_trials_and_their_targets():
    X = noise_batch(batch=200)
    y = torch.eye(200)  # one class per trial: mixing any two changes the targets
    X_new, y_new = Mixup(probability=0.0)(X, y, gen())
    assert torch.equal(X_new, X) and torch.equal(y_new, y)
    X_new, y_new = Mixup(probability=0.5, alpha=1.0)(X, y, gen())
    changed = trial_changed(X_new, X)
    assert torch.equal(changed, (y_new != y).any(1))  # X and y mixed together
    assert 0.3 < changed.float().mean().item() < 0.7


def test_mixup_needs_targets():
    with pytest.raises(ValueError, match="Mixup.*call it with y"):
        Mixup()(noise_batch(), None, gen())


def test_mixup_with_tiny_alpha_stays_finite():
    X, y = noise_batch(batch=64), one_hot(64, 3)
    X_new, y_new = Mixup(alpha=1e-3, beta_per_sample=True)(X, y, gen())
    assert torch.isfinite(X_new).all() and torch.isfinite(y_new).all()
    assert torch.allclose(y_new.sum(1), torch.ones(64))


# ----------------------------------------------------------------------
# probability, repeatability, inputs left alone
@pytest.mark.parametrize("make", ALWAYS_CHANGE, ids=IDS)
def test_probability_zero_is_the_identity_and_one_always_applies(make):
    X, y = noise_batch(), one_hot(16, 4)
    X_new, y_new = make(0.0)(X, y, gen())
    assert torch.equal(X_new, X) and torch.equal(y_new, y)
    X_new, _ = make(1.0)(X, y, gen())
    if isinstance(make(1.0), Mixup):
        # a trial paired with itself is unchanged: compare with the pairing
        _, y_mixed = make(1.0)(X, torch.eye(16), gen())
        self_paired = (y_mixed == 1).any(1)
        assert torch.equal(trial_changed(X_new, X), ~self_paired)
    else:
        assert trial_changed(X_new, X).all()


@pytest.mark.parametrize("make", ALWAYS_CHANGE, ids=IDS)
def test_probability_is_the_fraction_of_trials_changed(make):
    X, y = noise_batch(batch=400, n_times=64), one_hot(400, 4)
    X_new, _ = make(0.3)(X, y, gen())
    fraction = trial_changed(X_new, X).float().mean().item()
    assert 0.22 < fraction < 0.38


@pytest.mark.parametrize("transform", every_transform(), ids=IDS)
def test_same_generator_state_gives_the_same_output(transform):
    X, y = noise_batch(), one_hot(16, 4)
    X1, y1 = transform(X, y, gen(5))
    X2, y2 = transform(X, y, gen(5))
    assert torch.equal(X1, X2) and torch.equal(y1, y2)
    X3, _ = transform(X, y, gen(6))
    assert not torch.equal(X1, X3)


@pytest.mark.parametrize("transform", every_transform(), ids=IDS)
def test_draws_depend_on_the_batch_shape_only(transform):
    # The same draws whatever the values: what makes runs repeatable and the
    # transforms free of data-dependent work.
    g1, g2 = gen(4), gen(4)
    transform(noise_batch(seed=1), one_hot(16, 4), g1)
    transform(100 * noise_batch(seed=2), torch.eye(16)[:, :4], g2)
    assert torch.equal(g1.get_state(), g2.get_state())


@pytest.mark.parametrize("transform", every_transform(), ids=IDS)
def test_inputs_are_not_modified(transform):
    X, y = noise_batch(), one_hot(16, 4)
    X_copy, y_copy = X.clone(), y.clone()
    X_new, y_new = transform(X, y, gen())
    assert torch.equal(X, X_copy) and torch.equal(y, y_copy)
    assert X_new.data_ptr() != X.data_ptr()
    assert X_new.shape == X.shape and X_new.dtype == X.dtype
    assert y_new.shape == y.shape and y_new.dtype == y.dtype
    if not isinstance(transform, Mixup):
        assert y_new is y


@pytest.mark.parametrize("transform", every_transform(), ids=IDS)
def test_half_precision_trials_keep_their_dtype(transform):
    X = noise_batch().to(torch.bfloat16)
    y = one_hot(16, 4)
    X_new, _ = transform(X, y, gen())
    assert X_new.dtype == torch.bfloat16 and torch.isfinite(X_new.float()).all()


def test_apply_augmentation_applies_in_order():
    X, y = noise_batch(), one_hot(16, 4)
    transforms = [SignFlip(probability=1.0), AmplitudeScale(probability=1.0, interval=(2, 2))]
    X_new, y_new = apply_augmentation(transforms, X, y, gen())
    assert torch.equal(X_new, -2 * X) and y_new is y
    # the same draws as calling the transforms one after the other
    g1, g2 = gen(1), gen(1)
    chain = [TimeShift(probability=0.5), GaussianNoise(), Mixup()]
    X_a, y_a = apply_augmentation(chain, X, y, g1)
    X_b, y_b = X, y
    for transform in chain:
        X_b, y_b = transform(X_b, y_b, g2)
    assert torch.equal(X_a, X_b) and torch.equal(y_a, y_b)
    assert apply_augmentation(None, X, y, gen()) == (X, y)
    X_one, _ = apply_augmentation(TimeReverse(probability=1.0), X, None, gen())
    assert torch.equal(X_one, X.flip(-1))


# ----------------------------------------------------------------------
# scikit-learn habits
@pytest.mark.parametrize("transform", every_transform(), ids=IDS)
def test_clone_get_params_and_pickle_round_trip(transform):
    X, y = noise_batch(), one_hot(16, 4)
    expected = transform(X, y, gen(2))
    params = transform.get_params()
    assert params["probability"] == transform.probability
    cloned = clone(transform)
    assert cloned is not transform and cloned.get_params() == params
    restored = pickle.loads(pickle.dumps(transform))
    assert type(restored) is type(transform) and restored.get_params() == params
    for copy in (cloned, restored):
        X_new, y_new = copy(X, y, gen(2))
        assert torch.equal(X_new, expected[0]) and torch.equal(y_new, expected[1])
    assert type(transform).__name__ in repr(transform)


def test_defaults_and_set_params():
    assert TimeReverse().probability == 0.5
    assert GaussianNoise().get_params() == {"probability": 0.5, "std": 0.1}
    assert ChannelsDropout().get_params() == {"probability": 0.5, "p_drop": 0.2}
    assert SmoothTimeMask().get_params() == {"probability": 0.5, "mask_len_samples": 100}
    assert FrequencyShift(sfreq=100).get_params() == {
        "sfreq": 100,
        "probability": 0.5,
        "max_delta_freq": 2.0,
    }
    assert AmplitudeScale().interval == (0.5, 2.0)
    assert TimeShift().get_params() == {"probability": 0.5, "max_shift": 25, "mode": "zeros"}
    assert Mixup().get_params() == {"probability": 1.0, "alpha": 0.2, "beta_per_sample": False}
    transform = GaussianNoise().set_params(std=0.3, probability=1.0)
    assert transform.std == 0.3 and transform.probability == 1.0
    with pytest.raises(TypeError):
        TimeReverse(0.5)  # keyword-only, like scikit-learn's estimators


# ----------------------------------------------------------------------
# Bad parameters and bad input
BAD_PARAMS = [
    (lambda: TimeReverse(probability=-0.1), "probability"),
    (lambda: SignFlip(probability=1.5), "probability"),
    (lambda: TimeReverse(probability="0.5"), "probability"),
    (lambda: TimeReverse(probability=True), "probability"),
    (lambda: TimeReverse(probability=float("nan")), "probability"),
    (lambda: GaussianNoise(std=-0.1), "std"),
    (lambda: ChannelsDropout(p_drop=1.5), "p_drop"),
    (lambda: SmoothTimeMask(mask_len_samples=0), "mask_len_samples"),
    (lambda: SmoothTimeMask(mask_len_samples=2.5), "mask_len_samples"),
    (lambda: FrequencyShift(sfreq=0), "sfreq"),
    (lambda: FrequencyShift(sfreq=None), "sfreq"),
    (lambda: FrequencyShift(sfreq=100, max_delta_freq=50), "max_delta_freq"),
    (lambda: FrequencyShift(sfreq=100, max_delta_freq=-1), "max_delta_freq"),
    (lambda: AmplitudeScale(interval=(2.0, 1.0)), "interval"),
    (lambda: AmplitudeScale(interval=(0.0, 1.0)), "interval"),
    (lambda: AmplitudeScale(interval=2.0), "interval"),
    (lambda: TimeShift(max_shift=-1), "max_shift"),
    (lambda: TimeShift(max_shift=2.0), "max_shift"),
    (lambda: TimeShift(mode="wrap"), "mode"),
    (lambda: Mixup(alpha=0), "alpha"),
    (lambda: Mixup(alpha=-1.0), "alpha"),
    (lambda: Mixup(beta_per_sample="yes"), "beta_per_sample"),
]


@pytest.mark.parametrize("make, name", BAD_PARAMS)
def test_bad_parameters_are_clear_errors(make, name):
    transform = make()  # stored unchanged, as scikit-learn does
    # scikit-learn's wording: the parameter, the transform, the rule, the value.
    value = getattr(transform, name)
    pattern = (
        f"The '{name}' parameter of {type(transform).__name__} must be .*"
        f"Got {re.escape(repr(value))} instead"
    )
    with pytest.raises(ValueError, match=pattern):
        check_augmentation(transform)
    with pytest.raises(ValueError, match=pattern):
        check_augmentation([TimeReverse(), transform])
    with pytest.raises(ValueError, match=pattern):
        transform(noise_batch(), one_hot(16, 4), gen())


def test_frequency_shift_needs_sfreq():
    with pytest.raises(TypeError, match="sfreq"):
        FrequencyShift()


def test_ranges_are_given_in_the_message():
    with pytest.raises(ValueError, match=re.escape(
            "The 'probability' parameter of SignFlip must be a real number in the range "
            "[0.0, 1.0]. Got 1.5 instead.")):
        check_augmentation(SignFlip(probability=1.5))
    with pytest.raises(ValueError, match=re.escape(
            "The 'max_delta_freq' parameter of FrequencyShift must be below the Nyquist "
            "frequency sfreq / 2 = 50 Hz (sfreq=100). Got 50 instead.")):
        check_augmentation(FrequencyShift(sfreq=100, max_delta_freq=50))
    with pytest.raises(ValueError, match=r"'interval' parameter of AmplitudeScale must be a "
                                         r"pair \(low, high\) with low <= high"):
        check_augmentation(AmplitudeScale(interval=(2.0, 1.0)))


def test_fractions_are_used_as_the_real_numbers_they_are():
    X, y = noise_batch(), one_hot(16, 4)
    exact = [
        SignFlip(probability=Fraction(1, 2)),
        GaussianNoise(probability=Fraction(1), std=Fraction(1, 10)),
        ChannelsDropout(probability=Fraction(1, 2), p_drop=Fraction(1, 5)),
        FrequencyShift(sfreq=Fraction(128), probability=Fraction(1, 2),
                       max_delta_freq=Fraction(3)),
        AmplitudeScale(probability=Fraction(1, 2), interval=(Fraction(1, 2), Fraction(2))),
        Mixup(probability=Fraction(4, 5), alpha=Fraction(2, 5)),
    ]
    as_floats = [
        SignFlip(probability=0.5),
        GaussianNoise(probability=1.0, std=0.1),
        ChannelsDropout(probability=0.5, p_drop=0.2),
        FrequencyShift(sfreq=128.0, probability=0.5, max_delta_freq=3.0),
        AmplitudeScale(probability=0.5, interval=(0.5, 2.0)),
        Mixup(probability=0.8, alpha=0.4),
    ]
    assert check_augmentation(exact) == tuple(exact)  # accepted when checked
    for fraction, floating in zip(exact, as_floats):
        X1, y1 = fraction(X, y, gen(3))
        X2, y2 = floating(X, y, gen(3))
        assert torch.equal(X1, X2) and torch.equal(y1, y2), fraction
    # A Fraction out of range, or beyond any float, is refused when checked, clearly.
    for transform in (SignFlip(probability=Fraction(3, 2)),
                      GaussianNoise(std=Fraction(10**400, 3))):
        with pytest.raises(ValueError, match="parameter of .* Got Fraction"):
            check_augmentation(transform)


@pytest.mark.parametrize("transform, name", [
    (GaussianNoise(std=1e308), "std"),
    (GaussianNoise(std=float("inf")), "std"),
    (GaussianNoise(std=10**400), "std"),
    (AmplitudeScale(interval=(1.0, 1e308)), "interval"),
    (AmplitudeScale(interval=(1.0, float("inf"))), "interval"),
    (FrequencyShift(sfreq=1e308, max_delta_freq=1.0), "sfreq"),
    (FrequencyShift(sfreq=128.0, max_delta_freq=float("inf")), "max_delta_freq"),
    (Mixup(alpha=1e308), "alpha"),
])
def test_values_meaningless_in_float32_are_refused(transform, name):
    with pytest.raises(ValueError, match=f"The '{name}' parameter of {type(transform).__name__}"
                                         r" must be .* range"):
        check_augmentation(transform)


def test_the_largest_values_declared_are_accepted():
    largest = [GaussianNoise(std=1e6), AmplitudeScale(interval=(1e-3, 1e6)),
               FrequencyShift(sfreq=1e6, max_delta_freq=4e5), Mixup(alpha=1e12)]
    assert check_augmentation(largest) == tuple(largest)


@pytest.mark.parametrize("transform", every_transform(), ids=IDS)
def test_every_parameter_of_every_transform_refuses_a_wrong_type(transform):
    for name, value in transform.get_params().items():
        wrong = clone(transform).set_params(**{name: "1"})
        with pytest.raises(ValueError, match=f"The '{name}' parameter of "
                                             f"{type(transform).__name__} must be"):
            check_augmentation(wrong)
        assert getattr(wrong, name) == "1"  # stored unchanged until checked


def test_parameters_are_checked_once_per_use_not_per_batch(monkeypatch):
    calls = []
    validate = Transform._validate_params
    monkeypatch.setattr(Transform, "_validate_params",
                        lambda self: calls.append(type(self).__name__) or validate(self))
    noise, flip = GaussianNoise(probability=1.0), SignFlip()
    X, y = noise_batch(), one_hot(16, 4)
    check_augmentation([noise, flip])
    assert calls == ["GaussianNoise", "SignFlip"]
    for seed in range(5):
        apply_augmentation([noise, flip], X, y, gen(seed))
        noise(X, y, gen(seed))
    assert calls == ["GaussianNoise", "SignFlip"]  # not once more per batch

    # An attribute assigned directly is not re-checked per batch ...
    noise.std = -1.0
    apply_augmentation([noise], X, y, gen())
    assert len(calls) == 2
    # ... but at the next use, and set_params makes the next call check again.
    with pytest.raises(ValueError, match="'std' parameter of GaussianNoise"):
        check_augmentation(noise)
    noise.set_params(std=0.5)
    apply_augmentation([noise], X, y, gen())
    apply_augmentation([noise], X, y, gen())
    assert calls.count("GaussianNoise") == 3
    with pytest.raises(ValueError, match="'std' parameter of GaussianNoise"):
        noise.set_params(std=-1.0)(X, y, gen())


def test_a_transform_never_checked_checks_its_parameters_at_its_first_call(monkeypatch):
    calls = []
    validate = Transform._validate_params
    monkeypatch.setattr(Transform, "_validate_params",
                        lambda self: calls.append(1) or validate(self))
    X = noise_batch()
    transform = TimeShift(max_shift=4)
    for seed in range(3):
        transform(X, None, gen(seed))
    assert calls == [1]
    assert clone(transform)(X, None, gen()) is not None and calls == [1, 1]
    with pytest.raises(ValueError, match="'mode' parameter of TimeShift"):
        TimeShift(mode="wrap")(X, None, gen())


@pytest.mark.parametrize(
    "augmentation, pattern",
    [
        ("time_reverse", r"augmentation = 'time_reverse' \(type str\) is not accepted"),
        (TimeReverse, r"augmentation = the class TimeReverse, not a transform: pass an "
                      r"instance, TimeReverse\(\)"),
        (object(), "is not accepted: pass None, a transform"),
        ({"a": TimeReverse()}, r"\(type dict\) is not accepted"),
        (np.array([1.0]), r"\(type ndarray\) is not accepted"),
        ([TimeReverse(), "sign_flip"], r"augmentation\[1\] = 'sign_flip' \(type str\)"),
        ((SignFlip, TimeReverse()), r"augmentation\[0\] = the class SignFlip, not a transform: "
                                    r"pass an instance, SignFlip\(\)"),
        ([torch.nn.Identity()], r"augmentation\[0\] = Identity\(\) \(type Identity\)"),
    ],
)
def test_check_augmentation_refuses_what_is_not_a_transform(augmentation, pattern):
    with pytest.raises(TypeError, match=pattern):
        check_augmentation(augmentation)


def test_check_augmentation_accepts_none_one_or_a_list():
    flip, noise = SignFlip(), GaussianNoise()
    assert check_augmentation(None) == ()
    assert check_augmentation([]) == ()
    assert check_augmentation(flip) == (flip,)
    assert check_augmentation([flip, noise]) == (flip, noise)
    assert check_augmentation((flip,))[0] is flip


def test_bad_batches_are_clear_errors():
    X, y = noise_batch(), one_hot(16, 4)
    flip = SignFlip()
    with pytest.raises(ValueError, match="3-D"):
        flip(X[0], None, gen())
    with pytest.raises(TypeError, match="torch.Tensor"):
        flip(X.numpy(), None, gen())
    with pytest.raises(ValueError, match="floating-point"):
        flip(X.long(), None, gen())
    with pytest.raises(ValueError, match=r"shape \(batch, n_classes\)"):
        flip(X, y[:3], gen())
    with pytest.raises(ValueError, match=r"shape \(batch, n_classes\)"):
        flip(X, torch.zeros(16), gen())
    with pytest.raises(ValueError, match="soft targets"):
        flip(X, torch.zeros(16, 4, dtype=torch.long), gen())
    with pytest.raises(TypeError, match="torch.Generator"):
        flip(X, y, 0)
    with pytest.raises(ValueError, match="longer than the trials"):
        SmoothTimeMask(mask_len_samples=300)(X, None, gen())
    with pytest.raises(ValueError, match="shorter than the trials"):
        TimeShift(max_shift=256)(X, None, gen())
    with pytest.raises(NotImplementedError):
        Transform()(X, None, gen())


# ----------------------------------------------------------------------
# On a CUDA device (skipped without one)
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda
@pytest.mark.parametrize("transform", every_transform(), ids=IDS)
def test_transforms_run_on_the_batch_device(transform):
    X, y = noise_batch(device="cuda"), one_hot(16, 4, device="cuda")
    X1, y1 = transform(X, y, gen(0, "cuda"))
    X2, y2 = transform(X, y, gen(0, "cuda"))
    assert X1.device == X.device and y1.device == y.device
    assert torch.allclose(X1, X2) and torch.allclose(y1, y2)
    with pytest.raises(ValueError, match="generator is on cpu"):
        transform(X, y, gen(0, "cpu"))


@cuda
def test_deterministic_transforms_match_the_cpu_on_cuda():
    X = noise_batch()
    for transform in (TimeReverse(probability=1.0), SignFlip(probability=1.0)):
        X_gpu, _ = transform(X.cuda(), None, gen(0, "cuda"))
        X_cpu, _ = transform(X, None, gen(0))
        assert torch.equal(X_gpu.cpu(), X_cpu)
    shifted = _frequency_shift(sine(10.0).cuda(), torch.tensor([2.0, -2.0]).cuda(), 250.0)
    assert torch.equal(peak_hz(shifted.cpu(), 250.0), torch.tensor([[12.0, 12.0], [8.0, 8.0]]))
