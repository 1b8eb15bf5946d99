"""Export a fitted classifier's network for use outside Python: TorchScript and ONNX.

The exported model is the whole of ``predict_proba`` but the input checks:
the standardisation learned in ``fit`` (``(X - channel_mean_) / scale_``
when ``standardize=True``), the network in evaluation mode (no dropout,
batch norm with its running statistics) and the softmax (or, for the
DEAP networks' single logit, the sigmoid). It maps raw trials, float32 of
shape ``(batch, n_channels, n_times)`` in the unit of the ``X`` passed to
``fit``, to class probabilities of shape ``(batch, n_classes)`` in the order
of ``classes_``, for any batch size (an empty batch gives ``(0,
n_classes)``). A classifier trained on crops (``crop_length``) is exported
with its crop averaging: the model cuts each trial into the crops
``predict_proba`` uses and returns the mean of their probabilities.

The exported graph is :class:`skeeg._predict.ProbabilityModel`, the module
``predict_proba`` is made of, and crops are evaluated as ``predict_proba``
evaluates them, ``EXPORT_CROPS_PER_PASS`` crop positions per pass of the
network. TorchScript files also take the trials in chunks (a scripted loop
around the traced graph), so their memory stays that of one chunk whatever
the batch. ONNX graphs take the whole batch in one pass (a loop inside them
defeats ONNX's shape inference for some networks): feed them batches of the
size your memory allows.

Next to the model a JSON sidecar, the model's path plus ``".json"`` (for
example ``model.onnx.json``), says what the model expects and returns: the
class labels, channel names and count, samples per trial, sampling rate,
input unit, the standardisation and the versions it was exported with.

The network is traced through its own layers, which is all a module's
``forward`` runs: skeeg's CPU speed kernels (hand-written autograd functions
and folded copies, in ``skeeg/_fast/``) attach by model class to skeeg's
training loop and prediction only, never to the module, so the exported
graph holds standard operators only.
"""

import contextlib
import copy
import inspect
import json
import os
import numbers
import re
import warnings

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from . import __version__
from ._paths import output_file
from ._predict import TrialChunks, crop_positions, export_step, fitted_crops
from ._predict import fitted_standardizer
from ._predict import probability_model as probability_model_of
from ._registry import is_classifier
from ._training import float32_defaults

# ONNX operator set of the exported graphs: understood by onnxruntime 1.14
# and later, and by most other runtimes.
ONNX_OPSET = 17
INPUT_NAME = "trials"
OUTPUT_NAME = "probabilities"
SIDECAR_SUFFIX = ".json"

# torch announces that TorchScript and the TorchScript-based ONNX exporter are
# deprecated; the user asked for exactly those formats, so these notices say
# nothing actionable and are silenced, during the export only.
_DEPRECATION_NOTICES = (
    r".*torch\.jit\.trace.* is deprecated",
    r".*torch\.jit\.trace_method.* is deprecated",
    r".*torch\.jit\.script.* is deprecated",
    r"You are using the legacy TorchScript-based ONNX export",
    r"The feature will be removed",
    # The TorchScript-based exporter's note that it left a strided slice
    # (ATCNet's windows) unfolded: the graph is correct.
    r"Constant folding - Only steps=1 can be constant folded",
    # torch.export's own use of a deprecated pytree test (dynamo=True).
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
)


class CheckedTrials(torch.nn.Module):
    """The input checks of ``predict_proba``, in TorchScript, around a traced model.

    A traced graph keeps no Python condition: without this wrapper, trials
    of the wrong length would flow through the network's reshapes and
    return probabilities without a word. It refuses what ``predict_proba``
    refuses (another shape, non-finite values) and converts real input of
    another dtype to float32, as ``predict_proba`` does.

    Parameters
    ----------
    model : torch.jit.ScriptModule
        The traced :class:`ProbabilityModel`.
    n_channels, n_times : int
        The trial shape the classifier was fitted on.
    """

    def __init__(self, model, n_channels: int, n_times: int):
        super().__init__()
        self.model = model
        self.n_channels = n_channels
        self.n_times = n_times

    def forward(self, trials: torch.Tensor) -> torch.Tensor:
        """Probabilities ``(batch, n_classes)``; errors name what is wrong with ``trials``."""
        if trials.dim() != 3 or trials.size(1) != self.n_channels or trials.size(2) != self.n_times:
            raise ValueError(
                "trials must have shape (batch, n_channels={}, n_times={}), as the classifier "
                "was fitted on; got {}. Cut trials of the fitted length from the same "
                "channels.".format(self.n_channels, self.n_times, trials.shape)
            )
        if trials.is_complex() or trials.dtype == torch.bool:
            raise TypeError("trials must be real numbers; got dtype {}.".format(trials.dtype))
        trials = trials.to(torch.float32)
        if not bool(torch.isfinite(trials).all()):
            raise ValueError(
                "trials contain NaN or infinite values (or values beyond float32's range); "
                "remove or interpolate them first."
            )
        probabilities = self.model(trials)
        if not bool(torch.isfinite(probabilities).all()):  # the network overflowed
            raise ValueError(
                "The network's output is not finite for some trials (trials far beyond the "
                "training data's scale overflow inside it): check their unit."
            )
        return probabilities


def probability_model(clf):
    """A CPU, float32, evaluation-mode copy of ``clf``'s network with its pre- and post-processing.

    Parameters
    ----------
    clf : skeeg classifier
        A fitted classifier.

    Returns
    -------
    model : skeeg._predict.ProbabilityModel
        Independent of ``clf`` (its weights are copies, frozen: no
        gradients), mapping raw trials to class probabilities as
        ``predict_proba`` does.

    Raises
    ------
    TypeError
        If ``clf`` is not a skeeg classifier.
    sklearn.exceptions.NotFittedError
        If ``clf`` is not fitted.
    """
    if not is_classifier(clf):
        hint = (
            " For a Pipeline, export its classifier step (pipe[-1]); the other steps are "
            "not part of the export and must be applied to the trials before the model."
            if hasattr(clf, "steps") else
            " For a fitted search, export its best_estimator_ (its last step for a Pipeline)."
            if hasattr(clf, "best_estimator_") or hasattr(clf, "param_grid") else ""
        )
        raise TypeError(f"Export takes a fitted skeeg classifier; got {type(clf).__name__}.{hint}")
    check_is_fitted(clf)
    with float32_defaults():  # its buffers on the CPU, in float32, whatever the process set
        network = copy.deepcopy(clf.net_.module_).to(
            device="cpu", dtype=torch.float32, memory_format=torch.contiguous_format
        )
        network.eval().requires_grad_(False)
        _hide_failing_properties(network)
        return probability_model_of(clf, network)


def _hide_failing_properties(network):
    """Make properties of ``network``'s modules that raise read as absent, for tracing.

    ``torch.jit.trace`` probes every attribute of every module with
    ``hasattr``, which only tolerates ``AttributeError``; braindecode's
    models raise ``ValueError`` from properties such as ``chs_info`` when
    they were built without that information. Each such module (a copy
    made for the export) gets a subclass where those properties raise
    ``AttributeError``; its forward and weights are unchanged.
    """
    for module in network.modules():
        cls = type(module)
        failing = {}
        for name in dir(cls):
            if not isinstance(inspect.getattr_static(cls, name, None), property):
                continue
            try:
                getattr(module, name)
            except AttributeError:
                pass
            except Exception:  # noqa: BLE001  (any other error breaks hasattr)
                failing[name] = property(_absent(name))
        if failing:
            module.__class__ = type(cls.__name__, (cls,), {**failing, "__module__": cls.__module__})


def _absent(name):
    def absent(self):
        raise AttributeError(name)
    return absent




def to_torchscript(clf, path):
    """Export a fitted classifier as a TorchScript file that maps raw trials to probabilities.

    Parameters
    ----------
    clf : skeeg classifier
        A fitted classifier (for a Pipeline, its last step).
    path : str or path-like
        The model file to write (``.pt`` is customary; ``~`` is
        expanded). The sidecar is written to ``path + ".json"``.

    Returns
    -------
    sidecar : dict
        What the sidecar file holds (see :func:`sidecar`).

    Raises
    ------
    TypeError
        If ``clf`` is not a skeeg classifier.
    ValueError
        If ``path`` (or the sidecar's path) is a folder.
    FileNotFoundError
        If the folder of ``path`` does not exist.
    sklearn.exceptions.NotFittedError
        If ``clf`` is not fitted.

    Notes
    -----
    Load it with ``torch.jit.load(path)`` (in Python or in C++ with
    libtorch) and call it on a float32 tensor ``(batch, n_channels,
    n_times)``: it returns ``(batch, n_classes)`` probabilities, in the
    order of the sidecar's ``classes``. It checks its input as
    ``predict_proba`` does (:class:`CheckedTrials`): trials of another
    shape, and NaN or infinite values, raise an error that names the
    problem (``torch.jit.Error`` in Python, ``c10::Error`` in C++, whose
    message holds the ``ValueError``); other real dtypes are converted to
    float32. It computes in float32 on the CPU whatever ``precision`` the
    classifier was trained with; with ``precision="float32"`` its output
    equals ``predict_proba`` to float rounding (1e-5). With
    ``precision="bfloat16"``, ``predict_proba`` computes under autocast in
    bfloat16 and the two differ by its rounding (a few 1e-4 in
    probability); the float32 export is the more exact of the two. The
    network is traced (``torch.jit.trace``) with a
    batch of 2 trials; the batch size stays free. Two exports of the same
    model compute the same numbers but are not the same bytes (TorchScript
    numbers its classes per process and stamps each file with a random
    id); :func:`to_onnx` files and :func:`skeeg.save` files are.

    Examples
    --------
    >>> import os, tempfile, numpy as np, torch
    >>> from skeeg import DNNClassifier
    >>> from skeeg.datasets import make_motor_imagery
    >>> from skeeg.export import to_torchscript
    >>> data = make_motor_imagery(n_trials=40, n_channels=3, n_times=64, random_state=0)
    >>> clf = DNNClassifier(max_epochs=2, random_state=0).fit(data.X, data.y)
    >>> path = os.path.join(tempfile.mkdtemp(), "dnn.pt")
    >>> info = to_torchscript(clf, path)
    >>> model = torch.jit.load(path)
    >>> proba = model(torch.as_tensor(data.X[:5])).numpy()
    >>> bool(np.allclose(proba, clf.predict_proba(data.X[:5]), atol=1e-5))
    True
    """
    model = probability_model(clf)
    path = _output_files(path, ".pt")
    example = torch.zeros(2, clf.n_channels_, clf.n_times_, dtype=torch.float32, device="cpu")
    with float32_defaults(), torch.no_grad(), _quiet_deprecations() as warned:
        traced = torch.jit.trace(model, (example,), check_trace=False)
        checked = torch.jit.script(CheckedTrials(
            TrialChunks(traced, export_step(clf)), int(clf.n_channels_), int(clf.n_times_)
        ))
    try:
        _check_exported(model, clf, checked, warned)
    except ValueError as error:
        raise ValueError(
            f"The TorchScript export of {type(clf).__name__}'s network is wrong: {error}. "
            "to_onnx(..., dynamo=True) exports through torch.export, which keeps the batch "
            "size free or refuses."
        ) from None
    checked.save(path)
    return _write_sidecar(clf, path, "torchscript", {})


def to_onnx(clf, path, *, opset_version=None, dynamo=False):
    """Export a fitted classifier as an ONNX file that maps raw trials to probabilities.

    Parameters
    ----------
    clf : skeeg classifier
        A fitted classifier (for a Pipeline, its last step).
    path : str or path-like
        The model file to write (``.onnx``; ``~`` is expanded). The
        sidecar is written to ``path + ".json"``.
    opset_version : int or None, default=None
        ONNX operator set of the graph; None is 17 for the TorchScript-based
        exporter and the ``torch.export``-based exporter's own default
        (18 with torch 2.13).
    dynamo : bool, default=False
        False uses torch's TorchScript-based exporter (fast, and available in
        every torch skeeg supports; recent torch versions call it deprecated);
        True uses the ``torch.export``-based one (torch 2.5 or later and the
        ``onnxscript`` package; several seconds per model).

    Returns
    -------
    sidecar : dict
        What the sidecar file holds (see :func:`sidecar`).

    Raises
    ------
    TypeError
        If ``clf`` is not a skeeg classifier, ``opset_version`` not an
        integer or None, or ``dynamo`` not a bool.
    ValueError
        If ``path`` (or the sidecar's path) is a folder, ``path`` ends in
        ``.json`` (a sidecar's suffix), or ``opset_version`` is outside 11 to
        20 (23 with ``dynamo=True``).
    FileNotFoundError
        If the folder of ``path`` does not exist.
    sklearn.exceptions.NotFittedError
        If ``clf`` is not fitted.
    ImportError
        If the ``onnx`` package (and for ``dynamo=True`` ``onnxscript``) is
        not installed: ``pip install skeeg[export]``.

    Notes
    -----
    The graph has one input, ``"trials"``, float32 of shape ``(batch,
    n_channels, n_times)`` with a free batch size, and one output,
    ``"probabilities"``, float32 ``(batch, n_classes)`` in the order of the
    sidecar's ``classes``. With ``onnxruntime``::

        session = onnxruntime.InferenceSession(path)
        proba = session.run(None, {"trials": X.astype("float32")})[0]

    The graph's channel and sample counts are fixed, so runtimes refuse
    trials of another shape; an ONNX graph cannot raise errors, so NaN or
    infinite trials give NaN probabilities: check the input as
    ``predict_proba`` does (or use :func:`to_torchscript`, which checks).

    It computes in float32 whatever ``precision`` the classifier was trained
    with; with ``precision="float32"`` its output equals ``predict_proba``
    to float rounding (1e-5). With ``precision="bfloat16"``,
    ``predict_proba`` computes under autocast in bfloat16 and the two
    differ by its rounding (a few 1e-4 in probability); the float32 export
    is the more exact of the two.
    """
    _check_onnx_options(opset_version, dynamo)
    path = _output_files(path, ".onnx")
    try:
        import onnx  # torch's exporters need it; its checker runs below
    except ImportError as error:
        raise ImportError(
            "to_onnx needs the onnx package: pip install 'skeeg[export]' (or pip install onnx)."
        ) from error
    model = probability_model(clf)
    example = torch.zeros(2, clf.n_channels_, clf.n_times_, dtype=torch.float32, device="cpu")
    if opset_version is None and not dynamo:
        opset_version = ONNX_OPSET
    names = dict(input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], opset_version=opset_version)
    with float32_defaults(), torch.no_grad(), _quiet_deprecations() as warned:
        if dynamo:
            try:
                program = torch.onnx.export(
                    model, (example,), dynamo=True, verbose=False,
                    dynamic_shapes={INPUT_NAME: {0: torch.export.Dim("batch")}}, **names,
                )
            except Exception as error:  # noqa: BLE001  (torch.export's errors are many kinds)
                cause = error.__cause__ or error  # the exporter's wrapper names a step only
                text = re.sub(r"\x1b\[[0-9;]*m", "", str(cause))
                reason = text.strip().splitlines()
                where = [f"{f}:{n}" for f, n in re.findall(r'File "([^"]+)", line (\d+)', text)
                         if os.sep + "torch" + os.sep not in f]
                at = f" at {where[-1]}" if where else ""
                raise ValueError(
                    f"torch.export cannot export {type(clf).__name__}'s network{at} "
                    f"({type(cause).__name__}: {(reason or [''])[0]:.300}). "
                    "A branch on the trials' values in forward is the usual cause: write it "
                    "with torch.where, or use dynamo=False (checked against the network)."
                ) from None
            program.save(path, external_data=False)
        else:
            # torch before 2.5 has no dynamo argument; since 2.9 it defaults to True.
            legacy = {"dynamo": False} if "dynamo" in _parameters(torch.onnx.export) else {}
            try:
                torch.onnx.export(
                    model, (example,), path,
                    dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                    **legacy, **names,
                )
            except Exception as error:  # noqa: BLE001  (the exporter's errors are many kinds)
                with contextlib.suppress(OSError):
                    os.remove(path)
                raise ValueError(
                    f"The TorchScript-based ONNX exporter cannot export {type(clf).__name__}'s "
                    f"network ({type(error).__name__}: {str(error).strip().splitlines()[0]:.300})"
                    ". The torch.export-based exporter (dynamo=True) may export it."
                ) from None

    try:
        onnx.checker.check_model(path, full_check=True)
        _check_exported(model, clf, _onnx_runner(path), warned)
    except Exception as error:  # noqa: BLE001  (any failure: no broken file is left)
        with contextlib.suppress(OSError):
            os.remove(path)
        hint = ("" if dynamo else " The torch.export-based exporter (dynamo=True) may export "
                "it correctly.")
        raise ValueError(f"The ONNX export of {type(clf).__name__}'s network is wrong: "
                         f"{type(error).__name__}: {str(error):.400}.{hint}") from error
    opset = max(
        (entry.version for entry in onnx.load(path, load_external_data=False).opset_import
         if entry.domain in ("", "ai.onnx")),
        default=opset_version,
    )
    return _write_sidecar(clf, path, "onnx", {"opset_version": opset})


def _onnx_runner(path):
    """``trials -> probabilities`` through onnxruntime, or None when it is not installed."""
    try:
        import onnxruntime
    except ImportError:
        return None
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    return lambda trials: torch.as_tensor(session.run([OUTPUT_NAME], {INPUT_NAME: trials.numpy()})[0])


def _check_exported(model, clf, run, traced=()):
    """Refuse an exported model that does not compute what the network computes.

    A traced graph keeps one run of the network's Python, on a batch of 2
    unit-noise trials: a forward that depends on the batch size, or that
    branches on its input's values (``if x.abs().max() > 20``), is fixed to
    what that run did. The exported model must match the network on batches
    of 1, 5 and 17, on trials up to a million times smaller and larger than
    the training trials, and give non-finite probabilities for a trial
    holding NaN. A branch on other values or on batches above 16 is not seen.

    Parameters
    ----------
    traced : sequence of warnings.WarningMessage
        torch's tracer warnings from the export, named in the error: they
        point at the Python line that was fixed.
    """
    if run is None:
        return
    with float32_defaults():
        _compare_exported(model, clf, run, traced)


def _compare_exported(model, clf, run, traced):
    generator = torch.Generator().manual_seed(0)
    # Unit noise in the training unit, and trials 1000 times smaller and
    # larger in one batch (a few passes: dense crops make each one costly).
    amplitudes = [1.0, 1e-3, 1e3, 1e-6, 1e6]
    # 17 unit trials: branches on the batch size up to 16 are seen too.
    cases = [(torch.ones(1, dtype=torch.float32), "a batch of 1 trial"),
             (torch.tensor(amplitudes, dtype=torch.float32),
              f"a batch of {len(amplitudes)} trials of amplitudes {amplitudes}"),
             (torch.ones(17, dtype=torch.float32), "a batch of 17 trials")]
    for amplitudes, what in cases:
        trials = amplitudes[:, None, None] * torch.randn(
            len(amplitudes), clf.n_channels_, clf.n_times_, generator=generator,
            dtype=torch.float32)
        if model.standardize:  # raw trials in the training unit
            trials = trials / model.inverse_scale + model.offset
        with torch.no_grad():
            expected = model(trials)
            try:
                got = run(trials)
            except Exception as error:  # noqa: BLE001
                reason = " ".join(str(error).split())  # TorchScript's tracebacks span lines
                raise ValueError(
                    f"the exported model fails on {what} ({type(error).__name__}: "
                    f"{reason:.200}){_traced_on(traced)}"
                ) from None
        same = got.shape == expected.shape and torch.allclose(got, expected, atol=1e-4, rtol=0,
                                                             equal_nan=True)
        if not same:
            raise ValueError(
                f"the exported model returns other probabilities than the network on {what} "
                f"(shape {tuple(got.shape)} against {tuple(expected.shape)}){_traced_on(traced)}"
            )
    trials = torch.zeros(1, clf.n_channels_, clf.n_times_, dtype=torch.float32)
    trials[0, 0, 0] = torch.nan
    with torch.no_grad():
        try:
            got = run(trials)
        except Exception:  # noqa: BLE001  (TorchScript's own check refuses NaN: fine)
            return
    if torch.isfinite(got[0]).all():
        raise ValueError("the exported model gives finite probabilities for a trial holding NaN")


def _traced_on(traced):
    """Why a traced graph can differ from its network, with the tracer's own words.

    Warnings from skeeg's own files are left out (shape conditions: the crops'
    bounds, constant for the fitted trial shape), and so are torch's own.
    """
    own = os.path.dirname(os.path.abspath(__file__)) + os.sep
    torchs = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep
    shown = [f"{w.filename}:{w.lineno}: {str(w.message).splitlines()[0]:.160}" for w in traced
             if not os.path.abspath(w.filename).startswith((own, torchs))]
    if shown:
        return (": the network's forward branches on its input in Python, and a traced graph "
                "keeps the branch its example took (torch's tracer: " + "; ".join(shown[:3])
                + "). Write the branch with torch.where, or export with dynamo=True")
    return (": it was traced on 2 trials, and the network's forward depends on the batch "
            "size or on the input's values in Python code")


# Operator sets skeeg's networks export to (all five checked from 11), up to the highest
# torch's exporters write (TorchScript-based, torch.export-based).
MIN_OPSET, MAX_OPSET = 11, {False: 20, True: 23}


def _check_onnx_options(opset_version, dynamo):
    """Refuse ``to_onnx``'s options before torch sees them (it prints its graph on failure)."""
    if not isinstance(dynamo, (bool, np.bool_)):
        raise TypeError(f"dynamo must be True or False; got {dynamo!r}.")
    highest = MAX_OPSET[bool(dynamo)]
    if opset_version is None:
        return
    if not isinstance(opset_version, numbers.Integral) or isinstance(opset_version,
                                                                      (bool, np.bool_)):
        raise TypeError(f"opset_version must be an integer or None; got {opset_version!r}.")
    if not MIN_OPSET <= opset_version <= highest:
        raise ValueError(
            f"opset_version={opset_version} is outside {MIN_OPSET}..{highest}, the operator "
            f"sets skeeg's networks export to with dynamo={bool(dynamo)}; None picks "
            + (str(ONNX_OPSET) if not dynamo else "torch.export's default") + "."
        )


def _class_path(module):
    return f"{type(module).__module__}.{type(module).__qualname__}"


def _output_files(path, suffix):
    """``path`` (``~`` expanded) once it and its sidecar can be written.

    A path ending in the sidecar's suffix is refused: it is, or would collide
    with, another export's sidecar.
    """
    if isinstance(path, (str, os.PathLike)) and str(os.fspath(path)).endswith(SIDECAR_SUFFIX):
        raise ValueError(
            f"path {os.fspath(path)!r} ends in {SIDECAR_SUFFIX!r}, the suffix of the sidecars "
            f"exports write beside their model: give the model file another name (model"
            f"{suffix})."
        )
    path = output_file(path, example="model" + suffix)
    output_file(path + SIDECAR_SUFFIX, "sidecar path", example=None)
    return path


def _parameters(function):
    return inspect.signature(function).parameters


@contextlib.contextmanager
def _quiet_deprecations():
    """Silence torch's deprecation notices; record its tracer warnings (yielded list).

    A tracer warning says that a Python condition became a constant of the
    graph: harmless for shape conditions (braindecode's asserts; the export
    takes only the fitted trial shape), wrong for a branch on the trials'
    values. :func:`_check_exported` tells them apart and names them.
    """
    traced = []
    # Attention's fused inference kernel (taken in evaluation mode without
    # gradients) is an operator the exporters do not know: the plain one is.
    mha = getattr(torch.backends, "mha", None)
    fast = mha.get_fastpath_enabled() if mha is not None else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for message in _DEPRECATION_NOTICES:
            warnings.filterwarnings("ignore", message=message)
        if mha is not None:
            mha.set_fastpath_enabled(False)
        try:
            yield traced
        finally:
            if mha is not None:
                mha.set_fastpath_enabled(fast)
    for w in caught:
        if issubclass(w.category, torch.jit.TracerWarning):
            traced.append(w)
        else:  # anything else reaches the user as it would have
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def sidecar(clf):
    """What the exported model expects and returns, as JSON-ready data.

    Parameters
    ----------
    clf : skeeg classifier
        A fitted classifier.

    Returns
    -------
    info : dict
        ``classes`` (the labels in output order, as JSON values) and
        ``classes_dtype`` (their numpy dtype), ``n_classes``,
        ``n_channels``, ``ch_names`` (None unless fitted on named
        channels), ``n_times``, ``sfreq`` (Hz, None when unknown),
        ``network`` (the module class, as ``module.Class``; each member's
        for ``n_members`` above 1), ``n_members`` (the graph returns their
        soft vote), ``input``
        and ``output`` (name, shape with ``"batch"`` free, dtype,
        and for the input its unit), ``standardization`` (``channel_mean``
        and ``scale``, already inside the model, or None), ``crops``
        (``crop_length``, ``crop_stride`` and the ``starts`` of the crops
        whose probabilities the model averages, or None), ``estimator``,
        ``params`` (those that are plain JSON values), ``precision`` and
        ``versions``.
    """
    check_is_fitted(clf)
    classes = clf.classes_
    labels = [_json_value(label) for label in classes.tolist()]
    standardizer = fitted_standardizer(clf)
    unit = getattr(clf, "unit_", None)
    if unit is None and getattr(clf, "sfreq_", None) is not None:
        # Fitted on mne.Epochs, which skeeg reads in microvolts.
        unit = "uV (microvolts: skeeg read the Epochs passed to fit in uV; multiply " \
               "epochs.get_data(), in volts, by 1e6)"
    crops = fitted_crops(clf)
    info = {
        "format": "skeeg-export",
        "estimator": type(clf).__name__,
        # The architecture (each member's, for n_members > 1: the graph is their soft vote).
        "network": _class_path(getattr(clf.net_.module_, "networks", [clf.net_.module_])[0]),
        "n_members": int(getattr(clf, "n_members", 1)),
        "classes": labels,
        "classes_dtype": classes.dtype.str,
        "n_classes": len(classes),
        "n_channels": int(clf.n_channels_),
        "ch_names": _json_value(getattr(clf, "ch_names_", None)),
        "n_times": int(clf.n_times_),
        "sfreq": _json_value(getattr(clf, "sfreq_", None)),
        "input": {
            "name": INPUT_NAME,
            "shape": ["batch", int(clf.n_channels_), int(clf.n_times_)],
            "dtype": "float32",
            "unit": (
                _json_value(unit) if unit is not None else
                "the unit of the X passed to fit (raw trials: the model standardises them itself)"
            ),
        },
        "output": {
            "name": OUTPUT_NAME,
            "shape": ["batch", len(classes)],
            "dtype": "float32",
            "meaning": "class probabilities, in the order of classes; rows sum to 1",
        },
        "standardization": None if standardizer is None else {
            "channel_mean": [float(v) for v in standardizer.offset],
            "scale": float(standardizer.scale),
            "formula": "(trials - channel_mean[:, None]) / scale, inside the model",
        },
        "crops": None if crops is None else {
            "crop_length": crops[0],
            "crop_stride": crops[1],
            "starts": crop_positions(clf),
            "formula": "mean over the crops trials[:, :, s:s + crop_length] of their "
                       "probabilities, inside the model",
        },
        "precision": "float32 (the classifier was trained with precision=%r)" % clf.precision,
        "params": {
            name: value for name, value in clf.get_params(deep=False).items()
            if _is_plain_json(value)
        },
        "versions": {"skeeg": __version__, "torch": torch.__version__},
    }
    return info


def _write_sidecar(clf, path, kind, extra):
    info = {**sidecar(clf), "model_format": kind, **extra}
    with open(path + SIDECAR_SUFFIX, "w", encoding="utf-8") as handle:
        json.dump(info, handle, indent=2, allow_nan=False)
        handle.write("\n")
    return info


def _json_value(value):
    """``value`` with numpy scalars and arrays as plain Python values."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (list, tuple)):
        return [_json_value(item) for item in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else str(value)
    return str(value)


def _is_plain_json(value):
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return bool(np.isfinite(value))
    if isinstance(value, (list, tuple)):
        return all(_is_plain_json(item) for item in value)
    if isinstance(value, dict):  # module_params
        return all(isinstance(key, str) and _is_plain_json(item) for key, item in value.items())
    return False

