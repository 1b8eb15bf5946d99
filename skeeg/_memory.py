"""Allocation failures named with the input's shape and what sized the allocation.

A fit or a prediction that runs out of memory fails inside torch or numpy
with the allocator's words (``DefaultCPUAllocator: not enough memory``,
``CUDA out of memory``, ``Unable to allocate``), which name neither the
trials nor a parameter. :func:`named_allocation_failures` is entered once
per fit (:func:`skeeg._fitting.train`) and once per evaluation
(:class:`skeeg._predict.Evaluation`), and turns any of them into
:class:`AllocationError`.
"""

import contextlib

import torch

__all__ = ["AllocationError", "is_allocation_failure", "named_allocation_failures"]

# How torch's allocators word a failure (CPU, CUDA, MPS) where they raise a
# plain RuntimeError rather than torch.OutOfMemoryError.
ALLOCATOR_PHRASES = ("not enough memory", "out of memory", "can't allocate memory",
                     "Unable to allocate", "could not allocate", "failed to allocate")
# torch's own out-of-memory error (torch.cuda's name before torch 2.5).
OUT_OF_MEMORY = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)

# What to change, by default: everything a fit's allocations grow with.
FIT_ADVICE = ("Lower the parameter named, or use fewer channels or samples per trial "
              "(pick channels, resample), a smaller network, or a device with more memory.")


class AllocationError(MemoryError, ValueError):
    """Memory ran out in a fit or a prediction; the message names the shape and the sizes.

    A ``MemoryError`` (what happened) and a ``ValueError`` (what skeeg's
    refusals are: the input or a parameter is too large for this machine),
    so that either ``except`` catches it.
    """


def is_allocation_failure(error):
    """Whether ``error`` is an allocator's failure (numpy's, torch's on any device)."""
    if isinstance(error, (MemoryError, OUT_OF_MEMORY)):
        return True
    return isinstance(error, RuntimeError) and any(
        phrase in str(error) for phrase in ALLOCATOR_PHRASES
    )


class AllocationContext:
    """What a failure message says: the action, the input's shape and what sized the step.

    Attributes are updated by the code inside :func:`named_allocation_failures`
    as it goes (cheap assignments, no checks).
    """

    def __init__(self, action, shape, sized_by, advice):
        self.action, self.shape, self.sized_by, self.advice = action, shape, sized_by, advice


@contextlib.contextmanager
def named_allocation_failures(action, shape=None, sized_by=None, advice=FIT_ADVICE):
    """Turn an allocation failure raised inside into :class:`AllocationError`.

    Parameters
    ----------
    action : str
        What was running, for example ``"EEGNetClassifier.fit"``.
    shape : tuple or None
        The shape of ``X`` (updated in the yielded context once known).
    sized_by : str or None
        The step and the parameters that size its allocations, for example
        ``"training (batch_size=64 trials per step)"``.
    advice : str
        What to change, ending the message.

    Yields
    ------
    AllocationContext
        Set ``shape`` and ``sized_by`` on it as the work goes on.

    Raises
    ------
    AllocationError
        In place of ``MemoryError``, ``torch.OutOfMemoryError`` or an
        allocator's ``RuntimeError``; an ``AllocationError`` passes unchanged.
    """
    context = AllocationContext(action, shape, sized_by, advice)
    try:
        yield context
    except AllocationError:
        raise
    except (MemoryError, RuntimeError) as error:
        if not is_allocation_failure(error):
            raise
        shape = "" if context.shape is None else f" on X of shape {tuple(context.shape)}"
        step = "" if context.sized_by is None else f" during {context.sized_by}"
        reason = str(error).strip()[:300].rstrip(".")
        raise AllocationError(
            f"{context.action} ran out of memory{shape}{step} ({type(error).__name__}: "
            f"{reason}). {context.advice}"
        ) from error
