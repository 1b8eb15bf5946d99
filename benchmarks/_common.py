"""What the benchmark scripts share: data sets, splits, seeds, arguments, tables.

Every script (``python -m benchmarks.<name>``) takes the same core
arguments (:func:`base_parser`), loads its data through :func:`load_dataset`
(the same splits for every method), and writes its tables with
:class:`Report` (CSV + markdown, printed too, headed by the command, the
machine, the date and the library versions).

Protocol shared by the scripts
------------------------------
* Test splits are official where the data set has one (the UEA sets, BCI
  Competition III IIIb); ``eegmmidb`` (subject 1, runs 4, 8, 12) is
  cross-validated leave-one-run-out, so that trials of one run are never on
  both sides; ``synthetic`` has one fixed stratified split.
* Anything chosen (an epoch, a hyper-parameter) is chosen on data carved out
  of the training split, never on the test split.
* ``--seeds N`` runs the seeds 0..N-1 (``--seeds 0,7,9`` lists them); a
  seed sets the network's initial weights, dropout, batch order and the
  validation split.
"""

import argparse
import ast
import os
import re
import platform
import shlex
import stat
import sys
import time
from collections import namedtuple
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import LeaveOneGroupOut, StratifiedShuffleSplit, train_test_split
from sklearn.utils import check_random_state

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results"

#: One train/test split of a data set.
Split = namedtuple("Split", "name X_train y_train X_test y_test")

#: Real data sets tried, in this order, by ``--dataset auto``.
AUTO_ORDER = ("SelfRegulationSCP1", "FingerMovements", "eegmmidb", "bci_iiib")

#: Data sets that ``--download`` can fetch (from the UEA/UCR archive).
DOWNLOADABLE = ("SelfRegulationSCP1", "FingerMovements")


class UsageError(SystemExit):
    """A command-line value refused after parsing, as argparse refuses one: exit status 2.

    For checks that need the parsed whole (an option against another, a
    ``--grid`` name against the classifier): the message goes to stderr
    (``str()`` of the exception is the message), and no work has started.
    """

    def __init__(self, message):
        super().__init__(2)
        self.message = message
        print(f"error: {message}", file=sys.stderr)

    def __str__(self):
        return self.message


class DataNotFound(FileNotFoundError):
    """The files of a real data set are not in the data folder."""


# ----------------------------------------------------------------------
# Data
def resolve_data_dir(data_dir=None):
    """``--data-dir``, else the ``SKEEG_DATA`` variable, else ``../shared/data``.

    The last is relative to the repository root (the folder holding
    ``benchmarks/``).
    """
    folder = data_dir or os.environ.get("SKEEG_DATA") or REPO_ROOT.parent / "shared" / "data"
    return Path(folder).expanduser()


class BenchmarkData:
    """A data set cut into the train/test splits every method is scored on.

    Attributes
    ----------
    name : str
        Registry name (``--dataset``).
    kind : {"real", "synthetic"}
        Whether the trials are recordings or simulated.
    description : str
        One line: what the data are.
    protocol : str
        How the test trials are chosen.
    splits : list of Split
        The splits; most data sets have one.
    """

    def __init__(self, name, kind, description, protocol, splits):
        self.name, self.kind, self.description = name, kind, description
        self.protocol, self.splits = protocol, splits
        first = splits[0]
        self.n_channels, self.n_times = first.X_train.shape[1:]
        self.classes = np.unique(np.concatenate([first.y_train, first.y_test]))

    def summary(self):
        """A short paragraph saying which data are used, for the console and reports."""
        sizes = ", ".join(f"{len(s.y_train)}/{len(s.y_test)}" for s in self.splits)
        kind = "REAL EEG" if self.kind == "real" else "SYNTHETIC (simulated) EEG"
        return (
            f"Data: {self.name} ({kind}) - {self.description}\n"
            f"  {self.n_channels} channels x {self.n_times} samples, classes "
            f"{self.classes.tolist()}; {self.protocol}; train/test trials: {sizes}."
        )


def _load_uea(name, description):
    def load(data_dir, download=False):
        from skeeg.datasets import load_uea

        try:
            data = load_uea(name, data_dir, download=download)
        except FileNotFoundError as exc:
            raise DataNotFound(str(exc)) from None
        split = Split("official", data.X_train, data.y_train, data.X_test, data.y_test)
        protocol = "official train/test split of the BCI competition (UEA archive)"
        return BenchmarkData(name, "real", description, protocol, [split])

    return load


def _load_eegmmidb(data_dir):
    """Subject 1, runs 4, 8, 12 (imagined left vs right fist), leave-one-run-out."""
    runs = (4, 8, 12)
    folder = Path(data_dir) / "MNE-eegbci-data" / "files" / "eegmmidb" / "1.0.0" / "S001"
    names = [f"S001R{run:02d}.edf" for run in runs]
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        # load_eegmmidb would download them: the benchmarks never do.
        raise DataNotFound(f"EEGMMIDB files {missing} not found in {folder}.")
    from skeeg.datasets import load_eegmmidb

    data = load_eegmmidb(subjects=1, runs=runs, data_dir=data_dir, units="uV")
    X = data.X  # microvolts, as the loader returns them
    y = np.array([data.target_names[label] for label in data.y])
    splits = [
        Split(f"test run {data.run[test][0]}", X[train], y[train], X[test], y[test])
        for train, test in LeaveOneGroupOut().split(X, y, groups=data.run)
    ]
    description = (
        "PhysioNet EEG Motor Movement/Imagery, subject 1, runs 4, 8, 12: imagined left vs "
        "right fist, 64 channels at 160 Hz, 0-4 s after the cue, in microvolts"
    )
    protocol = "leave-one-run-out cross-validation (3 folds; a run's trials stay together)"
    return BenchmarkData("eegmmidb", "real", description, protocol, splits)


def _load_bci_iiib(data_dir):
    from skeeg.datasets import load_bci_iiib

    try:
        data = load_bci_iiib(data_dir)
    except FileNotFoundError as exc:
        raise DataNotFound(str(exc)) from None
    split = Split("official", data.X_train, data.y_train, data.X_test, data.y_test)
    description = "BCI Competition III IIIb, subjects S4b and X11b stacked, C3/C4 at 125 Hz"
    protocol = "official train/test split of the course files"
    return BenchmarkData("bci_iiib", "real", description, protocol, [split])


def _synthetic(n_trials, n_channels, n_times, name):
    def load(data_dir=None):
        from skeeg.datasets import make_motor_imagery

        data = make_motor_imagery(
            n_trials=n_trials, n_channels=n_channels, n_times=n_times, random_state=0
        )
        X_train, X_test, y_train, y_test = train_test_split(
            data.X, data.y, test_size=1 / 3, stratify=data.y, random_state=0
        )
        description = (
            f"make_motor_imagery(n_trials={n_trials}, n_channels={n_channels}, "
            f"n_times={n_times}, random_state=0): simulated mu-rhythm ERD"
        )
        protocol = "one fixed stratified split (2/3 train, 1/3 test, random_state=0)"
        return BenchmarkData(name, "synthetic", description, protocol,
                             [Split("fixed", X_train, y_train, X_test, y_test)])

    return load


#: name -> loader(data_dir) returning a BenchmarkData.
DATASETS = {
    "SelfRegulationSCP1": _load_uea(
        "SelfRegulationSCP1",
        "BCI Competition II Ia, slow cortical potentials, one subject, 6 channels at 256 Hz",
    ),
    "FingerMovements": _load_uea(
        "FingerMovements",
        "BCI Competition II IV, self-paced typing left vs right hand, 28 channels at 100 Hz",
    ),
    "eegmmidb": _load_eegmmidb,
    "bci_iiib": _load_bci_iiib,
    "synthetic": _synthetic(360, 8, 500, "synthetic"),
    # Small enough for the smoke tests of the scripts (seconds per fit).
    "synthetic-tiny": _synthetic(72, 4, 128, "synthetic-tiny"),
}


def load_dataset(name, data_dir=None, log=print, download=False):
    """Load a data set of :data:`DATASETS`, or the first real one for ``"auto"``.

    ``"auto"`` tries :data:`AUTO_ORDER`; when none is found it downloads
    SelfRegulationSCP1 if ``download`` is true, else falls back to
    ``synthetic``, saying so through ``log``. A named real data set that is
    missing raises :class:`DataNotFound`, unless ``download`` is true and it
    is one of :data:`DOWNLOADABLE`, which are then fetched from the UEA/UCR
    archive into ``<data_dir>/uea/<name>/`` (checked against the facts that
    skeeg keeps; see :func:`skeeg.datasets.load_uea`). A failed download
    raises ``ValueError`` or ``ConnectionError`` saying why.
    """
    data_dir = resolve_data_dir(data_dir)
    if name == "auto":
        for candidate in AUTO_ORDER:
            try:
                return DATASETS[candidate](data_dir)
            except DataNotFound:
                continue
        if download:
            first = DOWNLOADABLE[0]
            log(
                f"No real EEG data found in {data_dir} (looked for {', '.join(AUTO_ORDER)}); "
                f"downloading {first} from the UEA/UCR archive into {data_dir / 'uea' / first}.",
            )
            return DATASETS[first](data_dir, download=True)
        log(
            f"NOTE: no real EEG data found in {data_dir} (looked for "
            f"{', '.join(AUTO_ORDER)}); falling back to the SYNTHETIC data set. Pass "
            "--download to fetch SelfRegulationSCP1 from the UEA/UCR archive, or "
            "--data-dir or SKEEG_DATA to use real data you have."
        )
        return DATASETS["synthetic"](data_dir)
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose from {['auto', *DATASETS]}.")
    if download and name in DOWNLOADABLE:
        return DATASETS[name](data_dir, download=True)
    return DATASETS[name](data_dir)


def load_for_script(args):
    """:func:`load_dataset` for a script: a missing data set ends it with the reason."""
    download = getattr(args, "download", False)
    try:
        data = load_dataset(args.dataset, args.data_dir, download=download)
    except DataNotFound as exc:
        hint = f", use --download ({', '.join(DOWNLOADABLE)} only)" if not download else ""
        raise SystemExit(
            f"{args.dataset}: {exc}\nPass --data-dir or set SKEEG_DATA to the folder that "
            f"holds the data{hint}, or use --dataset synthetic."
        ) from None
    except (ValueError, ConnectionError) as exc:
        if not download:
            raise
        raise SystemExit(f"{args.dataset}: {exc}") from None
    print(data.summary(), flush=True)
    return data


def validation_split(y, fraction, random_state):
    """The stratified train/validation split a skeeg classifier makes in ``fit``.

    Same draw as :class:`skeeg.base.BaseEEGClassifier`: a seed drawn from
    ``random_state``, then ``StratifiedShuffleSplit`` holding out
    ``ceil(fraction * n)`` trials. Peers trained on these indices see exactly
    the trials a skeeg classifier with the same ``random_state`` trains and
    validates on. ``y`` must be the encoded labels (0..k-1) of the trials
    passed to ``fit``.
    """
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    n_valid = int(np.ceil(fraction * len(y)))
    splitter = StratifiedShuffleSplit(n_splits=1, test_size=n_valid, random_state=seed)
    return next(splitter.split(np.zeros(len(y)), y))


# ----------------------------------------------------------------------
# Early stopping, replayed
def early_stopping_epoch(valid_loss, patience, threshold=1e-4):
    """The epoch whose weights early stopping would keep, from a fixed-length run.

    Replays skorch's ``EarlyStopping(monitor="valid_loss", patience=patience,
    threshold=threshold, threshold_mode="rel", load_best=True)`` (what skeeg's
    classifiers use with ``early_stopping=True``) on the validation losses of
    a run trained without early stopping. Training is identical up to the
    stopping point, so the weights of the returned epoch are exactly those an
    early-stopped fit with the same seed ends with.

    Parameters
    ----------
    valid_loss : array-like
        Validation loss of each epoch, in order.
    patience : int
        Epochs without improvement before stopping.
    threshold : float, default=1e-4
        Relative improvement needed to count as better.

    Returns
    -------
    best_epoch : int
        1-based epoch whose weights are kept.
    stop_epoch : int
        1-based last epoch trained (the run's length if it never stopped).
    """
    losses = np.asarray(valid_loss, dtype=float)
    best_threshold, best_epoch, misses = np.inf, 0, 0
    for epoch, loss in enumerate(losses, start=1):
        if loss < best_threshold:
            misses, best_epoch = 0, epoch
            best_threshold = loss - threshold * loss
        else:
            misses += 1
        if misses == patience:
            return (best_epoch or epoch), epoch
    return (best_epoch or len(losses)), len(losses)


# ----------------------------------------------------------------------
# Arguments
#: Most seeds a run may ask for: each is a whole study's worth of fits.
MAX_SEEDS = 1000
#: Largest seed: numpy's and scikit-learn's random_state take 0 .. 2**32 - 1.
MAX_SEED = 2**32 - 1
#: Most epochs per fit: the classifiers' default is 300.
MAX_EPOCHS = 100_000
#: Most cross-validation folds (--folds, --cv); the data may allow fewer.
MAX_FOLDS = 100
#: Largest file a benchmark reads (its logs: a few kB per fit).
MAX_READ_BYTES = 256 * 2**20


def cpu_cores():
    """Logical CPUs of the machine: the bound of ``--threads``, ``--n-jobs``..."""
    return os.cpu_count() or 1


def parse_seeds(text):
    """``"3"`` -> ``[0, 1, 2]``; ``"0,7,9"`` -> ``[0, 7, 9]``.

    At most :data:`MAX_SEEDS` seeds, each in 0 .. :data:`MAX_SEED`, none
    repeated (a repeated seed would only redo the same fits).
    """
    text = str(text).strip()
    try:
        if "," in text:
            seeds = [int(part) for part in text.split(",") if part.strip()]
        else:
            count = int(text)
            # Checked before range() is listed: 10**11 seeds would fill the memory.
            if count > MAX_SEEDS:
                raise argparse.ArgumentTypeError(
                    f"--seeds {text} asks for more than {MAX_SEEDS} seeds")
            seeds = list(range(count))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--seeds takes a count (3 -> seeds 0, 1, 2) or a list (0,7,9); got {text!r}."
        ) from None
    if not seeds:
        raise argparse.ArgumentTypeError(
            f"--seeds {text} asks for no seed; give a count >= 1 or a list of seeds.")
    if min(seeds) < 0 or max(seeds) > MAX_SEED:
        raise argparse.ArgumentTypeError(f"--seeds: seeds are 0 .. {MAX_SEED}; got {text!r}.")
    if len(seeds) > MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"--seeds lists more than {MAX_SEEDS} seeds")
    repeated = _repeated(seeds)
    if repeated:
        raise argparse.ArgumentTypeError(f"--seeds: seed(s) {repeated} given twice")
    return seeds


def _repeated(items):
    """Items that occur more than once, in order of first occurrence."""
    seen, twice = set(), []
    for item in items:
        if item in seen and item not in twice:
            twice.append(item)
        seen.add(item)
    return twice


def at_least(low, high=None):
    """An argparse ``type``: an integer >= ``low`` (and <= ``high``, when given).

    For ``--max-epochs``, ``--folds``...: a bad value is then argparse's
    usage error naming the option, not a traceback or a run that fails
    later. ``high`` may be a callable, read when a value is parsed (the
    machine's cores, say).
    """
    def integer(text):
        top = high() if callable(high) else high
        rule = f"an integer >= {low}" + ("" if top is None else f" and <= {top}")
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {rule}, got {text!r}") from None
        if value < low or (top is not None and value > top):
            raise argparse.ArgumentTypeError(f"expected {rule}, got {value}")
        return value

    return integer


def positive_float(text):
    """An argparse ``type``: a finite number > 0 (seconds, Hz)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def open_fraction(text):
    """An argparse ``type``: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}")
    return value


def folder(text):
    """An argparse ``type``: a folder (``--data-dir``), as a Path; not a file.

    A folder that does not exist yet is taken here, since ``--download``
    creates it; :func:`finish_args` refuses it without ``--download``.
    """
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a file, not a folder; give the folder "
                                         "holding the data")
    return path


def names(allowed):
    """An argparse ``type``: a comma list of names among ``allowed``, as a tuple.

    A name given twice is refused: it would only run the same work twice.
    """
    allowed = tuple(allowed)

    def parse(text):
        items = [item.strip() for item in text.split(",") if item.strip()]
        unknown = [item for item in items if item not in allowed]
        if unknown or not items:
            raise argparse.ArgumentTypeError(
                f"unknown name(s) {unknown or text!r}; choose among {', '.join(allowed)}")
        repeated = _repeated(items)
        if repeated:
            raise argparse.ArgumentTypeError(f"{', '.join(repeated)} given twice")
        return tuple(items)

    return parse


def device(text):
    """An argparse ``type``: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (a GPU if there is one).

    A CUDA device that torch does not see is refused here, not when the
    first fit starts.
    """
    text = str(text).strip()
    if text in ("cpu", "auto"):
        return text
    match = re.fullmatch(r"cuda(?::(\d{1,4}))?", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"expected cpu, cuda, cuda:N or auto; got {text!r}")
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    index = int(match.group(1) or 0)
    if index >= count:
        raise argparse.ArgumentTypeError(
            f"{text!r}: torch sees {count} CUDA device(s) on this machine; use cpu or auto"
            if count == 0 else f"{text!r}: torch sees CUDA devices 0..{count - 1}")
    return text


def regular_file(text):
    """An argparse ``type``: an existing regular file of at most :data:`MAX_READ_BYTES`.

    Checked with ``os.stat`` before any ``open``: a FIFO would block the
    open, and a device (``/dev/zero``) would be read without end.
    """
    path = Path(text).expanduser()
    try:
        info = os.stat(path)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise argparse.ArgumentTypeError(f"{text!r} is {kind}; give a log file")
    if info.st_size > MAX_READ_BYTES:
        raise argparse.ArgumentTypeError(
            f"{text!r} has {info.st_size} bytes, more than the {MAX_READ_BYTES} a log may have")
    return path


def read_text(path, option):
    """The text of a file given as ``option``, read within :data:`MAX_READ_BYTES`.

    The checks of :func:`regular_file` again, on the opened file (it may have
    changed since the arguments were parsed): non-blocking open, ``fstat``,
    bounded read. A file that cannot be read ends the script naming
    ``option``.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise UsageError(f"{option} {path}: not a regular file")
            data = handle.read(MAX_READ_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot be read ({exc})") from None
    if len(data) > MAX_READ_BYTES:
        raise UsageError(f"{option} {path}: more than {MAX_READ_BYTES} bytes; not a log")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{option} {path}: cannot be read ({exc})") from None


def uea_name(text):
    """An argparse ``type``: a data set's name (letters, digits, ``_``), never a path."""
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", str(text)) is None:
        raise argparse.ArgumentTypeError(
            f"expected a data set's name such as SelfRegulationSCP1; got {text!r}")
    return str(text)


def out_folder(text):
    """An argparse ``type``: a results folder (``--out``), existing or creatable."""
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not a folder")
    parent = path
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} cannot be created: {str(parent)!r} is "
                                         "not a folder")
    return str(path)


def scheduler_address(text):
    """An argparse ``type``: a Dask scheduler's address, ``[tcp://]host:port``."""
    match = re.fullmatch(r"(?:(tcp|tls|ws|wss)://)?([^\s:/]+|\[[0-9a-fA-F:]+\]):(\d{1,5})",
                         str(text).strip())
    if match is None or not 0 < int(match.group(3)) < 65536:
        raise argparse.ArgumentTypeError(
            f"expected a Dask scheduler address such as tcp://10.0.0.5:8786; got {text!r}")
    return str(text).strip()


def check_values(parser, option, estimator, values):
    """Refuse, as a usage error naming ``option``, values that ``fit`` would refuse.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        Its ``error`` ends the script (exit status 2).
    option : str
        The option the values come from (``--set``, ``--grid``).
    estimator : skeeg classifier
        Checked on a clone, with each value set in turn.
    values : dict
        ``{name: [value, ...]}``.
    """
    from sklearn.base import clone

    from skeeg._params import check_params

    for name, candidates in values.items():
        for value in candidates:
            try:  # the checks fit makes, before any fit
                check_params(clone(estimator).set_params(**{name: value}))
            except (ValueError, TypeError) as exc:
                message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                parser.error(f"argument {option}: {name}={value!r}: {message}")


def literal(text):
    """A ``--set`` value: a Python literal (``0.01``, ``(8, 8)``, ``None``), else the text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # a bare word: activation=relu


def parse_settings(pairs):
    """``["lr=0.01", "device=cuda"]`` -> ``{"lr": 0.01, "device": "cuda"}`` (``--set``)."""
    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--set takes NAME=VALUE pairs; got {pair!r}")
        if name in settings:  # the last would silently win
            raise UsageError(f"--set {name}: given twice")
        settings[name] = literal(value)
    return settings


def base_parser(description, quick_help):
    """The arguments every benchmark script on one data set takes."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dataset",
        default="auto",
        choices=["auto", *DATASETS],
        help="data set; 'auto' (default) takes the first real one found among "
        f"{', '.join(AUTO_ORDER)} and falls back to 'synthetic'",
    )
    parser.add_argument(
        "--download",
        action="store_true",
        help="fetch the data set from the UEA/UCR archive when it is not in the data folder "
        f"({', '.join(DOWNLOADABLE)}; with --dataset auto, {DOWNLOADABLE[0]}) and keep it "
        "in <data folder>/uea/<name>/; checked against facts kept in skeeg",
    )
    parser.add_argument("--device", type=device, default="cpu", help="cpu, cuda, cuda:1 or auto")
    add_run_options(parser, quick_help)
    return parser


def add_run_options(parser, quick_help, seeds_help=None, max_epochs_help=None):
    """Data folder, seeds, --quick, epochs, processes, threads and output folder."""
    parser.add_argument(
        "--data-dir",
        type=folder,
        default=None,
        help="folder of the real data (default: $SKEEG_DATA, else ../shared/data "
        "relative to the repository root)",
    )
    parser.add_argument(
        "--seeds",
        type=parse_seeds,
        default=None,
        help=seeds_help
        or "number of seeds (3 -> 0,1,2) or a comma list; default 3, or 1 with --quick",
    )
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument(
        "--max-epochs", type=at_least(1, MAX_EPOCHS), default=None,
        help=max_epochs_help or "epochs per fit (overrides the default)",
    )
    parser.add_argument(
        "--n-jobs",
        type=at_least(1, cpu_cores),
        default=1,
        help="fits run in parallel processes (default 1)",
    )
    parser.add_argument(
        "--threads",
        type=at_least(1, cpu_cores),
        default=1,
        help="torch threads per fit (default 1: these networks are small, and on 2 shared "
        "cores 2 threads ran 3-5x slower per epoch than 1)",
    )
    parser.add_argument(
        "--out", type=out_folder, default=str(DEFAULT_OUT),
        help="results folder (default benchmarks/results/)"
    )
    return parser


def finish_args(args, quick_seeds=1, full_seeds=3):
    """Fill the defaults that depend on ``--quick``."""
    if args.seeds is None:
        args.seeds = list(range(quick_seeds if args.quick else full_seeds))
    check_data_dir(args)
    import torch

    torch.set_num_threads(args.threads)
    return args


def check_data_dir(args):
    """Refuse a ``--data-dir`` that does not exist, unless ``--download`` may create it."""
    data_dir = getattr(args, "data_dir", None)
    if data_dir is not None and not data_dir.is_dir() and not getattr(args, "download", False):
        raise UsageError(f"--data-dir: {str(data_dir)!r} does not exist; give the folder "
                         "holding the data (or pass --download to fetch a data set into it)")


# ----------------------------------------------------------------------
# Running
def torch_threads_for(n_jobs):
    """Torch threads per worker so that ``n_jobs`` workers share the cores."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // max(1, n_jobs))


_BAR = None  # the progress bar of the running run_tasks, in this process


def tick(n=1):
    """Advance the progress bar of :func:`run_tasks` (no-op outside it)."""
    if _BAR is not None:
        _BAR.update(n)


try:
    from skorch.callbacks import Callback as _Callback
except ImportError:  # pragma: no cover - skorch is a dependency of skeeg
    _Callback = object


def progress_line(text):
    """Print one line of progress (stdout) without breaking :func:`run_tasks`' bar."""
    if _BAR is not None:
        from tqdm.auto import tqdm

        tqdm.write(text, file=sys.stdout)
        sys.stdout.flush()
    else:
        print(text, flush=True)


class EpochTick(_Callback):
    """skorch callback: one step of the progress bar per epoch (for its ETA)."""

    def on_epoch_end(self, net, **kwargs):
        tick()


def run_tasks(fn, tasks, n_jobs=1, desc="fits", steps_per_task=1, unit="fit", threads=None):
    """Run ``fn(task)`` for every task, with a progress bar and its ETA.

    The bar counts ``steps_per_task`` steps per task (an int, or one per
    task: epochs, say; ``fn`` may call :func:`tick` as it goes, e.g. through
    :class:`EpochTick`; what a task leaves unticked is added when it ends).
    With ``n_jobs > 1`` the tasks run in separate processes (joblib), each with ``threads`` torch
    threads (default ``cores // n_jobs``), and the bar moves as tasks end.
    Results come back in task order.
    """
    global _BAR
    from tqdm.auto import tqdm

    tasks = list(tasks)
    steps = ([steps_per_task] * len(tasks) if np.isscalar(steps_per_task)
             else [int(n) for n in steps_per_task])
    done = np.cumsum(steps)
    bar = tqdm(total=int(done[-1]) if tasks else 0, desc=desc, unit=unit, file=sys.stderr,
               dynamic_ncols=True)
    results = [None] * len(tasks)
    try:
        if n_jobs == 1:
            _BAR = bar
            for i, task in enumerate(tasks):
                results[i] = fn(task)
                bar.update(max(0, int(done[i]) - bar.n))
        else:
            from joblib import Parallel, delayed

            threads = threads or torch_threads_for(n_jobs)
            parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
            indexed = parallel(
                delayed(_indexed_call)(fn, i, task, threads) for i, task in enumerate(tasks)
            )
            for i, result in indexed:
                results[i] = result
                bar.update(steps[i])
    finally:
        _BAR = None
        bar.close()
    return results


def _indexed_call(fn, i, task, threads):
    import torch

    torch.set_num_threads(threads)
    return i, fn(task)


# ----------------------------------------------------------------------
# Reporting
def mean_sd(values, scale=100.0, digits=1):
    """``"71.3 ± 2.1"`` (sample sd over runs); a single value has no sd."""
    values = np.asarray(values, dtype=float) * scale
    if len(values) == 0 or np.isnan(values).all():
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.nanmean(values):.{digits}f} ± {np.nanstd(values, ddof=1):.{digits}f}"


def to_markdown(df, index=False):
    """A pipe table of a DataFrame (no dependency on ``tabulate``)."""
    frame = df.reset_index() if index else df

    def cell(value):
        if isinstance(value, float):
            text = "" if np.isnan(value) else f"{value:.4g}"
        else:
            text = str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    header = [cell(c) for c in frame.columns]
    rows = [[cell(v) for v in row] for row in frame.itertuples(index=False)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def versions(extra=()):
    """Installed versions of skeeg's stack and of ``extra`` packages."""
    names = ["skeeg", "torch", "skorch", "scikit-learn", "numpy", "pandas", *extra]
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def machine():
    """CPU count, torch threads and platform, in one line."""
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{platform.platform()}, {platform.machine()}, {cores} usable CPU cores "
        f"(os.cpu_count()={os.cpu_count()}), torch threads {torch.get_num_threads()}, "
        f"Python {platform.python_version()}"
    )


class Report:
    """Writes a script's tables (CSV + markdown) under ``--out`` and prints them.

    Parameters
    ----------
    out : str or path-like
        Results folder (created).
    stem : str
        Prefix of the files, e.g. ``"activations_SelfRegulationSCP1"``.
    module : str
        The script, e.g. ``"benchmarks.activations"``, for the command line.
    argv : list of str, default=None
        Its arguments (``sys.argv[1:]`` when None).
    extra_versions : sequence of str
        Further packages whose versions the header lists.
    """

    def __init__(self, out, stem, module, argv=None, extra_versions=()):
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.stem = stem
        self.start = time.perf_counter()
        self.date = datetime.now(timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M %Z")
        argv = sys.argv[1:] if argv is None else list(argv)
        self.command = shlex.join(["python", "-m", module, *argv])
        self.versions = versions(extra_versions)
        self.machine = machine()
        self.files = []

    def header(self):
        """Markdown lines: command, machine, date, versions."""
        stack = ", ".join(f"{k} {v}" for k, v in self.versions.items())
        return (
            f"- command: `{self.command}`\n- machine: {self.machine}\n"
            f"- date: {self.date}\n- versions: {stack}"
        )

    def path(self, suffix):
        """Path of an output file ``<stem>_<suffix>``."""
        path = self.out / f"{self.stem}_{suffix}"
        self.files.append(path)
        return path

    def table(self, df, suffix, title, notes=(), show=True):
        """Save ``df`` as CSV and markdown (with the header) and print it."""
        df.to_csv(self.path(f"{suffix}.csv"), index=False)
        body = "\n".join([f"## {title}", "", self.header(), *[f"- {n}" for n in notes], "",
                          to_markdown(df), ""])
        self.path(f"{suffix}.md").write_text(body, encoding="utf-8")
        if show:
            print("\n" + body, flush=True)
        return body

    def elapsed(self):
        """Seconds since the report started."""
        return time.perf_counter() - self.start

    def done(self):
        """Print where the files went and the wall time."""
        print(f"\nWall time: {self.elapsed():.0f} s. Files in {self.out}:")
        for path in dict.fromkeys(self.files):
            print(f"  {path.name}")


def confusion_table(y_true, y_pred, labels):
    """A confusion matrix as a labelled DataFrame (rows true, columns predicted)."""
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    return pd.DataFrame(
        matrix,
        index=[f"true {label}" for label in labels],
        columns=[f"predicted {label}" for label in labels],
    )


def use_agg():
    """Select matplotlib's Agg backend (files only); False without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    return True
