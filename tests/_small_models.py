"""Small, quickly trained configurations of every classifier skeeg exports.

The one table of small networks for the whole suite: the contract, export,
serialization and inspection tests, and every test that needs a small
network (overriding only what it is about). A fitted model is trained once
per test process and reused (read-only) by the tests.
"""

import functools

import numpy as np
import pytest
import torch

import skeeg
from skeeg.base import BaseEEGClassifier
from skeeg.datasets import make_motor_imagery

N_CHANNELS, N_TIMES = 3, 96


class SmallNet(torch.nn.Module):
    """A user's own network for EEGClassifier: spatial filters, log-power, a head."""

    def __init__(self, n_channels, n_times, n_classes, n_filters=4):
        super().__init__()
        self.spatial = torch.nn.Conv1d(n_channels, n_filters, 1)
        self.classifier = torch.nn.Linear(n_filters, n_classes)

    def forward(self, x):
        return self.classifier(torch.log(self.spatial(x).pow(2).mean(dim=2) + 1e-6))


class LinearNet(torch.nn.Module):
    """A linear model of the whole trial: what scikit-learn's generic checks can learn."""

    def __init__(self, n_channels, n_times, n_classes, hidden=16):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(n_channels * n_times, hidden), torch.nn.ReLU()
        )
        self.classifier = torch.nn.Linear(hidden, n_classes)

    def forward(self, x):
        return self.classifier(self.features(x))


# Classes a saved model names that skeeg.load must be told to trust.
TRUSTED = {"EEGClassifier": [SmallNet]}

# Keyed by class name so that a classifier added to skeeg's exports without
# an entry here fails test_every_classifier_has_a_small_configuration.
SMALL = {
    "EEGClassifier": dict(module=SmallNet, module_params={"n_filters": 3}),
    "EEGNetClassifier": dict(
        temporal_filters=4, separable_filters=8, kernel_length=9, separable_kernel_length=5
    ),
    "DeepConvNetClassifier": dict(n_filters=(8, 8, 8), kernel_length=5),
    "DNNClassifier": dict(hidden_sizes=(32, 16)),
    "CNNClassifier": dict(conv_filters=(4, 4), hidden_size=16),
    "ShallowFBCSPNetClassifier": dict(
        temporal_filters=6, spatial_filters=6, kernel_length=9, pool_length=15, pool_stride=5
    ),
    "EEGConformerClassifier": dict(
        n_filters=8, kernel_length=9, pool_length=15, pool_stride=5,
        attention_depth=1, attention_heads=2,
    ),
    "ATCNetClassifier": dict(
        temporal_filters=4, kernel_length=16, separable_kernel_length=4, pool_length=4,
        separable_pool_length=4, n_windows=3, attention_head_dim=4, tcn_depth=1, tcn_filters=8,
    ),
}
TRAINING = dict(max_epochs=1, lr=0.01, batch_size=16, random_state=0)

# Settings that build another network from the same class: the contract
# tests them as classifiers of their own.
VARIANTS = {"EEGNetClassifier": [dict(separable="full"), dict(separable="depthwise")]}


@pytest.fixture(autouse=True)
def one_torch_thread():
    """These tiny networks run on one thread: on 2 busy cores, a second thread's
    waits made an ATCNet step 60 times slower (1.5 s of CPU against 0.024 s).
    Imported by the test modules, for each of their tests."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def exported_classifiers():
    """Every classifier class in skeeg's namespace."""
    return sorted(
        (value for value in vars(skeeg).values()
         if isinstance(value, type) and issubclass(value, BaseEEGClassifier)),
        key=lambda cls: cls.__name__,
    )


CLASSIFIERS = [cls for cls in exported_classifiers() if cls.__name__ in SMALL]


def variants():
    """``pytest.param(cls, params)`` of every classifier and each of its VARIANTS."""
    return [
        pytest.param(cls, params, id="-".join([cls.__name__, *map(str, params.values())]))
        for cls in CLASSIFIERS
        for params in VARIANTS.get(cls.__name__, [{}])
    ]


def small_params(cls, **params):
    """The parameters of a small ``cls``: its configuration, TRAINING, then ``params``."""
    return {**SMALL[cls.__name__], **TRAINING, **params}


def small(cls, **params):
    """An unfitted small ``cls``."""
    return cls(**small_params(cls, **params))


@functools.lru_cache(maxsize=None)
def trials(n_trials=40, n_classes=2):
    data = make_motor_imagery(
        n_trials=n_trials, n_channels=N_CHANNELS, n_times=N_TIMES, n_classes=n_classes,
        random_state=0,
    )
    return data.X, data.y


def labelled_trials():
    """:func:`trials` with the labels as strings, those :func:`fitted` is trained on."""
    X, y = trials()
    return X, np.array(["left", "right"])[y]


def fitted(cls, **params):
    """A small ``cls`` fitted on :func:`labelled_trials` (shared: do not modify it)."""
    return _fitted(cls, tuple(sorted(params.items())))


@functools.lru_cache(maxsize=None)
def _fitted(cls, params):
    return small(cls, **dict(params)).fit(*labelled_trials())


def check_every_classifier_has_a_configuration():
    missing = [cls.__name__ for cls in exported_classifiers() if cls.__name__ not in SMALL]
    if missing:
        pytest.fail(
            f"skeeg exports {missing}, which have no small configuration in "
            "tests/_small_models.py: add one so that export, saving and embedding are tested."
        )
