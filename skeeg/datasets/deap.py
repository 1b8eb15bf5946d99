"""Loader for the DEAP emotion data set (preprocessed Python release)."""

import codecs
import io
import numbers
import pickle
import pickletools
import reprlib

import numpy as np
from sklearn.utils import Bunch

from ._base import first_beyond_float32, get_data_dir, is_regular_file, read_bytes

__all__ = ["load_deap"]

DEAP_URL = "https://www.eecs.qmul.ac.uk/mmv/datasets/deap/"

# The 32 EEG channels of data_preprocessed_python, in file order ("Geneva"
# order); rows 33-40 of each trial are the peripheral signals (EOG, EMG,
# GSR, respiration, plethysmograph, temperature).
CH_NAMES = (
    "Fp1", "AF3", "F3", "F7", "FC5", "FC1", "C3", "T7",
    "CP5", "CP1", "P3", "P7", "PO3", "O1", "Oz", "Pz",
    "Fp2", "AF4", "Fz", "F4", "F8", "FC6", "FC2", "Cz",
    "C4", "T8", "CP6", "CP2", "P4", "P8", "PO4", "O2",
)  # fmt: skip
RATING_NAMES = ("valence", "arousal", "dominance", "liking")
SFREQ = 128.0
N_SUBJECTS = 32
UNIT = "uV"

_N_FILE_CHANNELS = 40
_N_BASELINE = 384  # the 3 s pre-trial baseline at 128 Hz
_BASELINES = ("keep", "drop", "subtract")

# numpy 1.x (and the Python 2 era DEAP files) pickle arrays through
# numpy.core.multiarray._reconstruct, numpy 2 through numpy._core.multiarray;
# asking numpy for its reduce function finds the object under either name
# without importing the deprecated numpy.core.
_RECONSTRUCT = np.empty(0).__reduce__()[0]


class _RefusedGlobal(pickle.UnpicklingError):
    """A pickle asked for something outside the DEAP format's needs."""


class _BadContent(ValueError):
    """A pickle builds something that a DEAP participant file never holds."""


def _latin1_encode(text, encoding):
    """Stand-in for ``_codecs.encode``, how Python 3 pickles bytes in protocols < 3."""
    if encoding not in ("latin1", "latin-1"):
        raise _RefusedGlobal(
            f"asks _codecs.encode for encoding {encoding!r}; DEAP files only "
            "need 'latin1'"
        )
    return codecs.encode(text, "latin1")


def _numeric_dtype(spec, *args):
    """Stand-in for ``np.dtype`` that only builds the dtypes of numbers.

    Object dtypes would make numpy unpickle a list of Python objects into
    an array of any declared size; DEAP's arrays are float64.
    """
    if not isinstance(spec, str) or len(spec) > 8:
        raise _BadContent(f"asks for a numpy dtype {reprlib.repr(spec)}, not a number type")
    dtype = np.dtype(spec, *args)
    if dtype.kind not in "biuf":
        raise _BadContent(
            f"holds an array of dtype {dtype} (kind {dtype.kind!r}); a DEAP file holds "
            "real numbers (float64)"
        )
    return dtype


_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _numeric_dtype,
    ("_codecs", "encode"): _latin1_encode,
}


# Bounds on a participant file's pickle, checked on its opcodes before any
# object is built. A genuine file (any protocol 0-4) has about 100 opcodes,
# nesting depth 5 and at most 9 calls (array and dtype rebuilds); a deeply nested
# pickle crashes the interpreter (C stack overflow) when compared, hashed or
# printed, memo indices size the unpickler's memo table, and each call may
# copy a buffer of the file, so these bound time, depth and memory.
_MAX_OPCODES = 10_000
_MAX_DEPTH = 32
_MAX_CALLS = 16  # REDUCE, BUILD, NEWOBJ...: at most 16 copies of the file's bytes

_ATOMS = frozenset(
    "INT BININT BININT1 BININT2 LONG LONG1 LONG4 STRING BINSTRING SHORT_BINSTRING "
    "BINBYTES SHORT_BINBYTES BINBYTES8 BYTEARRAY8 NONE NEWTRUE NEWFALSE UNICODE "
    "SHORT_BINUNICODE BINUNICODE BINUNICODE8 FLOAT BINFLOAT GLOBAL EXT1 EXT2 EXT4 "
    "PERSID NEXT_BUFFER".split()
)
_EMPTY = frozenset(("EMPTY_LIST", "EMPTY_DICT", "EMPTY_TUPLE", "EMPTY_SET"))
_FROM_MARK = frozenset(("TUPLE", "LIST", "DICT", "FROZENSET", "INST", "OBJ"))
_ADD_FROM_MARK = frozenset(("APPENDS", "SETITEMS", "ADDITEMS"))
_CALLS = frozenset(("REDUCE", "BUILD", "NEWOBJ", "NEWOBJ_EX", "OBJ", "INST"))
_PUTS = frozenset(("PUT", "BINPUT", "LONG_BINPUT"))
_GETS = frozenset(("GET", "BINGET", "LONG_BINGET"))
_ATOM, _MARK = -1, -2  # stack entries that are not containers


class _TooComplex(ValueError):
    """A pickle exceeds the bounds a DEAP participant file never needs."""


def _check_pickle_shape(raw):
    """Walk the opcodes of ``raw`` without building anything; bound its shape.

    Every object the pickle would build is modelled by a node that records
    which nodes it holds, memo references included, so that containers
    filled after being memoized are counted where they really sit.

    Raises
    ------
    _TooComplex
        If the pickle has more than ``_MAX_OPCODES`` opcodes, more than
        ``_MAX_CALLS`` calls, a memo index beyond the opcode count, a
        self-reference, or nesting deeper than ``_MAX_DEPTH``.
    ValueError
        If the opcodes are malformed or truncated (from pickletools, or a
        stack that runs out).
    """
    stack, memo, children = [], {}, []
    n_calls = 0

    def new_node(items=()):
        children.append([i for i in items if i >= 0])
        return len(children) - 1

    def pop():
        if not stack:
            raise ValueError("the pickle pops more than it pushed")
        return stack.pop()

    def pop_mark():
        items = []
        while (item := pop()) != _MARK:
            items.append(item)
        return items

    def add(container, items):
        if container >= 0:
            children[container].extend(i for i in items if i >= 0)

    for n_ops, (opcode, arg, _) in enumerate(pickletools.genops(raw), start=1):
        if n_ops > _MAX_OPCODES:
            raise _TooComplex(
                f"has more than {_MAX_OPCODES} pickle opcodes (a DEAP file has about 100)"
            )
        name = opcode.name
        if name in _CALLS:
            n_calls += 1
            if n_calls > _MAX_CALLS:
                raise _TooComplex(
                    f"makes more than {_MAX_CALLS} calls while unpickling (a DEAP file "
                    "makes at most 9)"
                )
        if name in _ATOMS:
            stack.append(_ATOM)
        elif name in _EMPTY:
            stack.append(new_node())
        elif name == "MARK":
            stack.append(_MARK)
        elif name in _FROM_MARK:
            stack.append(new_node(pop_mark()))
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            stack.append(new_node([pop() for _ in range(int(name[-1]))]))
        elif name in ("REDUCE", "NEWOBJ"):
            stack.append(new_node([pop(), pop()]))
        elif name == "NEWOBJ_EX":
            stack.append(new_node([pop(), pop(), pop()]))
        elif name in ("APPEND", "BUILD"):
            item = pop()
            add(stack[-1] if stack else _ATOM, [item])
        elif name == "SETITEM":
            items = [pop(), pop()]
            add(stack[-1] if stack else _ATOM, items)
        elif name in _ADD_FROM_MARK:
            items = pop_mark()
            add(stack[-1] if stack else _ATOM, items)
        elif name in ("STACK_GLOBAL", "BINPERSID"):
            if name == "STACK_GLOBAL":
                pop()
            pop()
            stack.append(_ATOM)
        elif name == "POP":
            pop()
        elif name == "POP_MARK":
            pop_mark()
        elif name == "DUP":
            stack.append(stack[-1] if stack else pop())
        elif name in _PUTS or name == "MEMOIZE":
            index = len(memo) if name == "MEMOIZE" else arg
            if not 0 <= index <= _MAX_OPCODES:
                raise _TooComplex(f"uses memo index {index} (a DEAP file uses fewer than 100)")
            memo[index] = stack[-1] if stack else pop()
        elif name in _GETS:
            if arg not in memo:
                raise ValueError(f"the pickle refers to memo index {arg}, never stored")
            stack.append(memo[arg])
        elif name == "STOP":
            pop()
        # PROTO, FRAME and READONLY_BUFFER leave the stack as it is.
    _check_depth(children)


def _check_depth(children):
    """Refuse self-references and nesting deeper than ``_MAX_DEPTH``."""
    depth = [0] * len(children)  # 0: not visited yet
    on_path = [False] * len(children)
    for root in range(len(children)):
        if depth[root]:
            continue
        # Iterative post-order walk: the nesting may be deep.
        walk = [(root, iter(children[root]))]
        on_path[root] = True
        while walk:
            node, pending = walk[-1]
            child = next(pending, None)
            if child is None:
                walk.pop()
                on_path[node] = False
                depth[node] = 1 + max((depth[c] for c in children[node]), default=0)
                if depth[node] > _MAX_DEPTH:
                    raise _TooComplex(
                        f"nests objects more than {_MAX_DEPTH} levels deep (a DEAP file "
                        "nests 5)"
                    )
            elif on_path[child]:
                raise _TooComplex("holds an object that contains itself")
            elif not depth[child]:
                on_path[child] = True
                walk.append((child, iter(children[child])))


class _DEAPUnpickler(pickle.Unpickler):
    """Unpickler that can only rebuild numpy arrays, dicts and strings.

    Pickles can call any importable callable while loading; this one admits
    only the numpy array and dtype reconstruction that DEAP files need and
    refuses every other global before importing anything.
    """

    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[module, name]
        except KeyError:
            raise _RefusedGlobal(
                f"asks to load the global {module}.{name}, which a DEAP data "
                "file never needs"
            ) from None


def load_deap(
    data_dir=None, target="valence", threshold=5.0, subjects=None, baseline="keep"
):
    """Load the DEAP EEG trials with binarised self-assessment ratings.

    Reads the official preprocessed Python release of DEAP [1]_
    (``data_preprocessed_python``: ``s01.dat`` ... ``s32.dat``, 40 one-minute
    music-video trials per participant, EEG downsampled to 128 Hz, EOG
    removed, band-pass filtered 4-45 Hz, common average reference).

    DEAP cannot be redistributed: request it at
    https://www.eecs.qmul.ac.uk/mmv/datasets/deap/ (research use only, after
    signing the end-user licence agreement) and unpack
    ``data_preprocessed_python`` into ``data_dir``.

    Parameters
    ----------
    data_dir : str or path-like, default=None
        Folder holding ``s01.dat`` ... ``s32.dat``, directly or in a
        ``data_preprocessed_python``, ``deap`` or
        ``deap/data_preprocessed_python`` subfolder. When None,
        :func:`~skeeg.datasets.get_data_dir` decides (the ``SKEEG_DATA``
        environment variable, else ``~/skeeg_data``).
    target : {"valence", "arousal", "dominance", "liking"}, default="valence"
        Rating that ``y`` binarises.
    threshold : float, default=5.0
        A trial is high (``y = 1``) when its rating is strictly greater than
        ``threshold``, low (``y = 0``) otherwise: with the default, a rating
        of exactly 5.0 counts as LOW. Ratings are continuous in [1, 9].
    subjects : iterable of int, default=None
        Participant numbers in 1..32, in the order their trials are stacked;
        None loads all 32.
    baseline : {"keep", "drop", "subtract"}, default="keep"
        Each trial starts with a 3 s pre-trial baseline (384 samples).
        "keep" returns all samples (8064 = 63 s, as Tripathi et al. [2]_ did);
        "drop" returns the 60 s of the trial only (7680 samples);
        "subtract" drops the baseline and subtracts its mean from each
        channel of each trial.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        X : ndarray of shape (n_trials, 32, n_samples), float32
            EEG trials in microvolts (the 32 EEG channels; peripheral
            channels dropped).
        y : ndarray of shape (n_trials,), int64
            1 when the ``target`` rating is above ``threshold``, else 0.
        ratings : ndarray of shape (n_trials, 4), float64
            The raw ratings, columns as in ``rating_names``.
        rating_names : list of str
            ``["valence", "arousal", "dominance", "liking"]``.
        subject : ndarray of shape (n_trials,), int64
            Participant number (1-32) of each trial; use it as ``groups``
            for subject-wise cross-validation.
        trial : ndarray of shape (n_trials,), int64
            Position of the trial in its participant file, 1-40.
        ch_names : list of str
            The 32 EEG channel names, in the file's ("Geneva") order.
        sfreq : float
            Sampling frequency, 128.0 Hz.
        unit : str
            ``"uV"``: the unit of ``X``, microvolts (see Notes).
        target, threshold, baseline
            The arguments used.

    Raises
    ------
    FileNotFoundError
        If a participant file is missing (the message says where DEAP is
        requested).
    ValueError
        If a participant file's path is a folder, FIFO or device instead of
        a regular file. If a file is truncated or corrupt, has the wrong shapes, NaN or
        infinite values, ratings outside DEAP's 1-9 scale, EEG values beyond
        the float32 range, or a pickle
        beyond what a DEAP file needs (more than 10,000 opcodes, more than
        16 calls, nesting deeper than 32, self-references, non-numeric
        arrays), or for an invalid argument. Each message names the file.
    pickle.UnpicklingError
        If a file asks to run or import anything beyond rebuilding numpy
        arrays; it is refused before anything is imported or called.

    Notes
    -----
    Each ``sNN.dat`` is a Python 2 pickle of ``{"data": (40, 40, 8064)
    array, "labels": (40, 4) array}``. Unpickling can execute arbitrary
    code, so the files are read with an unpickler that only admits the numpy
    functions and types needed to rebuild arrays, and the result must be a
    dict of exactly those two arrays: 40 channels and 4 ratings, any
    positive number of trials and samples, the same in every file. Copies
    re-saved from Python 3 load too if written with pickle protocols 0-4
    (protocol 5 rebuilds arrays through another numpy function, refused).

    Before anything is built, the pickle's opcodes are walked to bound what
    it would build: its number of opcodes, calls and memo entries, and how
    deeply its objects nest (a small file of deeply nested tuples would
    otherwise crash the interpreter). Lengths the pickle declares are
    checked against the bytes the file really holds.

    ``unit`` is ``"uV"``: the BioSemi recordings that DEAP's preprocessing
    started from are in microvolts. DEAP's description of the preprocessed
    files states no unit, and skeeg cannot check their scale here (the
    files are not redistributable): this is the documented assumption.

    According to the DEAP documentation the preprocessed trials are in video
    (``Experiment_id``) order, not in presentation order, so ``trial``
    identifies the music video.

    References
    ----------
    .. [1] S. Koelstra, C. Muhl, M. Soleymani, J.-S. Lee, A. Yazdani,
           T. Ebrahimi, T. Pun, A. Nijholt and I. Patras, "DEAP: a database
           for emotion analysis using physiological signals", IEEE
           Transactions on Affective Computing 3(1), 2012, pp. 18-31.
    .. [2] S. Tripathi, S. Acharya, R. D. Sharma, S. Mittal and
           S. Bhattacharya, "Using deep and convolutional neural networks
           for accurate emotion classification on DEAP dataset", Proceedings
           of the AAAI Conference on Artificial Intelligence 31(2), 2017,
           pp. 4746-4752.

    Examples
    --------
    >>> from skeeg.datasets import load_deap
    >>> deap = load_deap(target="arousal", subjects=[1, 2])  # doctest: +SKIP
    >>> deap.X.shape, deap.y.shape  # doctest: +SKIP
    ((80, 32, 8064), (80,))
    """
    if target not in RATING_NAMES:
        raise ValueError(
            f"target must be one of {', '.join(RATING_NAMES)}; got {target!r}."
        )
    if (
        not isinstance(threshold, numbers.Real)
        or isinstance(threshold, bool)
        or not np.isfinite(threshold)
    ):
        raise ValueError(
            f"threshold must be a finite number (ratings are in [1, 9]); "
            f"got {threshold!r}."
        )
    if baseline not in _BASELINES:
        raise ValueError(
            f"baseline must be one of {', '.join(_BASELINES)}; got {baseline!r}."
        )
    subjects = _check_subjects(subjects)
    folder = _find_folder(data_dir, [_filename(s) for s in subjects])

    X = ratings = None
    for i, subject in enumerate(subjects):
        path = folder / _filename(subject)
        if not is_regular_file(path):  # a folder or FIFO there is refused by name
            raise FileNotFoundError(
                f"DEAP participant file {path} is missing. {_how_to_get_deap()}"
            )
        data, labels = _read_participant(path)
        n_trials, _, n_samples = data.shape
        if X is None:
            if baseline != "keep" and n_samples <= _N_BASELINE:
                raise ValueError(
                    f"{path} has {n_samples} samples per trial, no more than the "
                    f"{_N_BASELINE}-sample (3 s) baseline, so baseline="
                    f"{baseline!r} would leave nothing; use baseline='keep'."
                )
            # Filled file by file: stacking a list would need twice the memory.
            n_out = n_samples if baseline == "keep" else n_samples - _N_BASELINE
            X = np.empty((len(subjects) * n_trials, len(CH_NAMES), n_out), np.float32)
            ratings = np.empty((len(subjects) * n_trials, len(RATING_NAMES)))
            first_path, first_shape = path, data.shape
        elif data.shape != first_shape:
            raise ValueError(
                f"{path} has data of shape {data.shape} but {first_path} has "
                f"{first_shape}; all participant files must have the same "
                "number of trials and samples."
            )
        eeg = data[:, : len(CH_NAMES)]
        if baseline != "keep":
            trial = eeg[..., _N_BASELINE:]
            if baseline == "subtract":
                trial = trial - eeg[..., :_N_BASELINE].mean(axis=-1, keepdims=True)
            eeg = trial
        _check_float32(eeg, path)
        X[i * n_trials : (i + 1) * n_trials] = eeg
        ratings[i * n_trials : (i + 1) * n_trials] = labels

    n_trials = len(X) // len(subjects)
    return Bunch(
        X=X,
        y=(ratings[:, RATING_NAMES.index(target)] > threshold).astype(np.int64),
        ratings=ratings,
        rating_names=list(RATING_NAMES),
        subject=np.repeat(np.asarray(subjects, dtype=np.int64), n_trials),
        trial=np.tile(np.arange(1, n_trials + 1, dtype=np.int64), len(subjects)),
        ch_names=list(CH_NAMES),
        sfreq=SFREQ,
        unit=UNIT,
        target=target,
        threshold=threshold,
        baseline=baseline,
    )


def _filename(subject):
    return f"s{subject:02d}.dat"


def _how_to_get_deap():
    return (
        f"DEAP is not public: request it at {DEAP_URL} (research use only, "
        "under its end-user licence agreement), then unpack "
        "data_preprocessed_python into data_dir (default: $SKEEG_DATA, else "
        "~/skeeg_data)."
    )


def _check_subjects(subjects):
    """Participant numbers as a list of distinct ints in 1..32."""
    if subjects is None:
        return list(range(1, N_SUBJECTS + 1))
    message = (
        "subjects must be None or an iterable of distinct participant numbers "
        f"in 1..{N_SUBJECTS}, e.g. [1, 2]; got {subjects!r}."
    )
    if isinstance(subjects, (str, bytes)) or not np.iterable(subjects):
        raise ValueError(message)
    subjects = list(subjects)
    if (
        not subjects
        or len(set(subjects)) != len(subjects)
        or not all(
            isinstance(s, numbers.Integral)
            and not isinstance(s, bool)
            and 1 <= s <= N_SUBJECTS
            for s in subjects
        )
    ):
        raise ValueError(message)
    return [int(s) for s in subjects]


def _find_folder(data_dir, filenames):
    """The first candidate folder holding any requested participant file."""
    root = get_data_dir(data_dir)
    candidates = [
        root,
        root / "data_preprocessed_python",
        root / "deap",
        root / "deap" / "data_preprocessed_python",
    ]
    for folder in candidates:
        if any(is_regular_file(folder / name) for name in filenames):
            return folder
    raise FileNotFoundError(
        f"DEAP participant file {filenames[0]} not found in "
        f"{', '.join(str(c) for c in candidates)}. {_how_to_get_deap()}"
    )


def _read_participant(path):
    """Safely unpickle one participant file; return its data and labels."""
    raw = read_bytes(path)  # the real size: no length the pickle declares is trusted
    try:
        # Bound the pickle's shape before anything is built.
        _check_pickle_shape(raw)
        # Python 2 byte strings (the array buffers) decode as latin1.
        content = _DEAPUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except _RefusedGlobal as exc:
        raise pickle.UnpicklingError(
            f"{path} {exc}; refusing to unpickle it (the file may be "
            "malicious). Use the files of the official DEAP release."
        ) from None
    except (_TooComplex, _BadContent) as exc:
        raise ValueError(
            f"{path} is not a DEAP participant file: it {exc}. Refused before "
            "loading it; use the files of the official DEAP release."
        ) from None
    except Exception as exc:  # any failure to unpickle means a bad file
        raise ValueError(
            f"{path} is truncated or corrupt and cannot be read as a DEAP "
            f"participant file ({type(exc).__name__}: {str(exc)[:200]}). Download "
            "it again."
        ) from None
    if not isinstance(content, dict) or set(content) != {"data", "labels"}:
        found = None
        if isinstance(content, dict):
            # reprlib: bounded messages whatever the keys hold.
            found = sorted(reprlib.repr(key) for key in list(content)[:10])
        raise ValueError(
            f"{path} is not a DEAP participant file: expected a dict with the "
            f"keys 'data' and 'labels', got {type(content).__name__}"
            + (f" with keys {', '.join(found)}." if found is not None else ".")
        )
    data, labels = content["data"], content["labels"]
    arrays_ok = all(
        isinstance(a, np.ndarray) and a.ndim == ndim and a.dtype.kind in "fiu"
        for a, ndim in ((data, 3), (labels, 2))
    )
    if (
        not arrays_ok
        or data.shape[0] < 1
        or data.shape[1] != _N_FILE_CHANNELS
        or data.shape[2] < 1
        or labels.shape != (data.shape[0], len(RATING_NAMES))
    ):
        raise ValueError(
            f"{path} has data {_describe(data)} and labels {_describe(labels)}; "
            "a DEAP participant file has real-valued arrays of shape "
            f"(n_trials, {_N_FILE_CHANNELS}, n_samples) and (n_trials, "
            f"{len(RATING_NAMES)}), (40, 40, 8064) and (40, 4) in the release."
        )
    if not (np.isfinite(labels).all() and np.isfinite(data[:, : len(CH_NAMES)]).all()):
        raise ValueError(f"{path} contains NaN or infinite EEG samples or ratings.")
    # Self-assessment manikin ratings are on a 1-9 scale: anything else would
    # binarise into labels without a word (a damaged or foreign file).
    outside = np.flatnonzero(((labels < 1) | (labels > 9)).any(axis=1))
    if outside.size:
        trial = int(outside[0])
        raise ValueError(
            f"{path}: trial {trial} (0-based) has ratings {labels[trial].tolist()} "
            f"({', '.join(RATING_NAMES)}); DEAP's ratings are in [1, 9] ({outside.size} "
            "trial(s) outside it). The file is damaged or not a DEAP participant file."
        )
    return data, labels


def _check_float32(values, path):
    """Refuse EEG values that float32, the type of ``X``, would turn into inf."""
    where = first_beyond_float32(values)
    if where is not None:
        trial, channel, sample = where
        raise ValueError(
            f"{path}: trial {trial} (0-based), channel {CH_NAMES[channel]}, sample "
            f"{sample} holds {values[where]:g}, beyond the float32 range (about 3.4e38) that X "
            "is returned in; the file is damaged."
        )


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"of shape {value.shape} ({value.dtype})"
    return f"of type {type(value).__name__}"
