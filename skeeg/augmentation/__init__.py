"""Data augmentation for EEG: random transforms of batches of trials.

Each transform is a small scikit-learn-style object: its parameters are set in
the constructor (keyword-only), read and changed with ``get_params`` and
``set_params``, copied with :func:`sklearn.base.clone`, and pickled. Calling
it on a training batch returns a new, randomly transformed batch::

    X_new, y_new = transform(X, y, generator)

with ``X`` a float tensor ``(batch, n_channels, n_times)``, ``y`` the soft
targets ``(batch, n_classes)`` (one-hot rows for ordinary labels) or None, and
``generator`` a :class:`torch.Generator` on the device of ``X``.

How a transform draws
---------------------
``probability`` is the chance that a transform changes a given trial: one
uniform draw per trial decides it, as in braindecode. The transform is then
computed for the whole batch and kept only for the trials that were drawn, so
that the number and kind of random draws depend on the batch's shape alone,
never on its values: the same generator state gives the same output (bitwise
on the CPU), no transform waits for the device (no ``.item()``, no
data-dependent shapes), and the work stays on the device the batch lives on.
Inputs are never modified in place.

What a transform returns is checked, and a wrong return is refused naming
the transform: a pair ``(X, y)``, trials of the batch's shape, dtype and
device, targets of ``y``'s shape, dtype and device, and, once per batch in
:func:`apply_augmentation` (the classifiers' training path), only finite
values: a NaN would otherwise reach the loss and read as a divergence.

Units
-----
The transforms work in the units of the trials they are given. skeeg's
classifiers standardise the trials to unit standard deviation before the
network and apply the augmentation to those standardised trials, so that a
:class:`GaussianNoise` ``std`` of 0.1 there is a tenth of the signal's
standard deviation, whatever the recording's units (volts or microvolts).

Parameters
----------
Each transform declares its parameters in one table (scikit-learn's
``_parameter_constraints``), checked once per use, by
:func:`check_augmentation` (a classifier's ``fit`` calls it), never per batch.
Numbers may be any real number (a :class:`fractions.Fraction` too), used as
floats; booleans, NaN and values beyond sane bounds are refused.

Each transform's docstring gives its sources; Rommel et al. (Journal of Neural
Engineering 19, 066020, 2022) compare most of them on EEG tasks.
"""


from ._apply import apply_augmentation, check_augmentation
from ._base import Transform
from .amplitude import AmplitudeScale, ChannelsDropout, GaussianNoise, SignFlip
from .frequency import FrequencyShift
from .mixing import Mixup
from .time import SmoothTimeMask, TimeReverse, TimeShift

__all__ = [
    "AmplitudeScale",
    "ChannelsDropout",
    "FrequencyShift",
    "GaussianNoise",
    "Mixup",
    "SignFlip",
    "SmoothTimeMask",
    "TimeReverse",
    "TimeShift",
    "Transform",
    "apply_augmentation",
    "check_augmentation",
]

# The classes live in submodules but are named by their public path: saved
# models (skeeg.save), pickles and documentation name skeeg.augmentation.Mixup.
for _public in (AmplitudeScale, ChannelsDropout, FrequencyShift, GaussianNoise, Mixup,
                SignFlip, SmoothTimeMask, TimeReverse, TimeShift, Transform,
                apply_augmentation, check_augmentation):
    _public.__module__ = __name__
del _public
