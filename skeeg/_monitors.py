"""What the callbacks of a fit monitor: keys the epochs record, checked before and during it."""

import difflib
import re

from skorch.callbacks import BatchScoring, Checkpoint, EpochScoring, LRScheduler
from skorch.callbacks import PassthroughScoring

__all__ = ["VALIDATION_KEYS", "check_monitors", "unrecorded_key"]

# History keys that only an epoch with a validation split records.
VALIDATION_KEYS = ("valid_loss", "valid_loss_best", "valid_acc", "valid_acc_best")


def check_monitors(est, net, validated, incremental):
    """Refuse a callback that watches a history key no epoch of this call will record.

    Without a validation split (``validation_fraction=0``, or any
    ``partial_fit``) nothing records ``valid_loss``, ``valid_acc`` or a
    validation score; skorch would fail after the first epoch with a
    ``KeyError`` that points elsewhere.
    """
    if validated:
        return
    missing = set(VALIDATION_KEYS)
    for _, callback in net.callbacks_:
        if isinstance(callback, (EpochScoring, BatchScoring, PassthroughScoring)) and not (
            callback.on_train
        ):
            name = getattr(callback, "name_", None) or callback.name  # skorch names it at init
            missing |= {name, f"{name}_best"}
    for i, entry in enumerate(est.callbacks or []):
        callback = entry[1] if isinstance(entry, tuple) else entry
        monitor = getattr(callback, "monitor", None)
        if isinstance(callback, LRScheduler) and not _plateau(callback):
            continue  # the monitor of a scheduler that does not read it
        if isinstance(callback, Checkpoint) and monitor is None:
            continue
        if isinstance(monitor, str) and monitor in missing:
            why = ("partial_fit trains without a validation split" if incremental else
                   "validation_fraction=0 leaves no validation split")
            fix = ("use fit with validation_fraction > 0" if incremental else
                   "set validation_fraction > 0")
            raise ValueError(
                f"callbacks[{i}] ({type(callback).__name__}) monitors {monitor!r}, which no "
                f"epoch will record: {why}. Either {fix}, or monitor a training key such "
                "as 'train_loss'."
            )


def _plateau(scheduler):
    policy = scheduler.policy
    name = policy if isinstance(policy, str) else getattr(policy, "__name__", "")
    return name == "ReduceLROnPlateau"


def unrecorded_key(error, est, net):
    """skorch's error for a history key no epoch recorded, as a ValueError naming it.

    A callback monitoring a misspelt key (``"valid_acuracy"``) cannot be
    told from one that a user's own callback records until an epoch has
    run; then the key, the callbacks that monitor it, the keys the epoch
    did record and the closest of them are named. None for any other
    error (skorch raises ``KeyError``, or ``ValueError`` from a plateau scheduler).
    """
    found = re.search(r"'(.+?)' was not found in history", str(error))
    if found is None or not len(net.history):
        return None
    key = found.group(1)
    recorded = sorted(k for k in net.history[-1] if k != "batches")
    watchers = [
        f"callbacks[{i}] ({type(c).__name__})"
        for i, entry in enumerate(est.callbacks or [])
        for c in [entry[1] if isinstance(entry, tuple) else entry]
        if getattr(c, "monitor", None) == key
    ]
    close = difflib.get_close_matches(key, recorded, n=1)
    return ValueError(
        f"{' and '.join(watchers) or 'A callback'} monitors {key!r}, which no epoch records. "
        f"The epochs record {recorded}."
        + (f" Did you mean {close[0]!r}?" if close else "")
    )
