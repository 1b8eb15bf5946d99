"""Opt-in download of UEA data sets, checked against facts kept in skeeg.

Only the standard library is used (``urllib``, ``zipfile``). A download is
fetched and checked in a temporary folder outside the data folder; only a
download that matches the facts is moved in, and the move is a rename on
the data folder's own file system, so the data folder never holds a
half-written data set.
"""

import hashlib
import math
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from http.client import HTTPException
from pathlib import Path, PurePosixPath

import numpy as np

from ._ts import read_ts

#: Where the UEA/UCR archive serves one zip file per data set
#: (``<UEA_BASE_URL><name>.zip``, the address aeon and sktime use). Tests
#: point it at a local server.
UEA_BASE_URL = "https://www.timeseriesclassification.com/aeon-toolkit/"

#: Seconds to wait for the server to answer or send more bytes.
TIMEOUT = 60

# The archive's zip of SelfRegulationSCP1 (.ts and .arff copies) is tens of
# MB; a download or a member larger than this is not the data set.
_MAX_DOWNLOAD_BYTES = 512 << 20
_MAX_MEMBER_BYTES = 256 << 20
# Numbers as text deflate about 3-5x; far more means a zip bomb.
_MAX_INFLATION = 50
_CHUNK = 1 << 20

# What skeeg knows of each downloadable data set, to check a download.
# Computed from the copies in ../shared/data (uea/<name>/<name>_{TRAIN,TEST}.ts)
# with skeeg's own reader:
#     data = load_uea(name, "../shared/data")
#     X = data.X_train.astype(np.float64)  # the float32 values, summed in float64
#     shape = X.shape; counts = dict(zip(*np.unique(data.y_train, return_counts=True)))
#     f"{X.mean():.4g}", f"{X.std():.4g}"  # sd over all values, ddof=0
#     class_means: f"{X[y == c].mean():.4g}"; channel_means: X.mean(axis=(0, 2)), 4 digits
#     labels_sha256: sha256("\n".join(y)) of the labels in file order
# and the same for the test split. Statistics of the parsed numbers and the
# label text do not depend on line endings or number formatting, which differ
# between copies. They catch changed labels, moved trials or channels and
# rescaled values; a change to a few samples leaves them as they are.
FACTS = {
    "SelfRegulationSCP1": {
        "classes": ("negativity", "positivity"),
        "TRAIN": {
            "shape": (268, 6, 896),
            "counts": {"negativity": 135, "positivity": 133},
            "mean": 25.92,
            "std": 23.42,
            "class_means": {"negativity": 34.13, "positivity": 17.58},
            "channel_means": (
                26.55, 26.29, 26.04, 25.79, 25.54, 25.29,
            ),
            "labels_sha256": "936d632b6ff3e3cac7ebb1245f10796c6c0a7e6467f9fb582c05ebe4d56f8be0",
        },
        "TEST": {
            "shape": (293, 6, 896),
            "counts": {"negativity": 147, "positivity": 146},
            "mean": 7.685,
            "std": 21.26,
            "class_means": {"negativity": 20.47, "positivity": -5.183},
            "channel_means": (
                7.78, 7.74, 7.703, 7.666, 7.629, 7.592,
            ),
            "labels_sha256": "469401ca1fc04c29fc405f2931a6500e0a5508966a8f267ca6a7e17c418f6e92",
        },
    },
    "FingerMovements": {
        "classes": ("left", "right"),
        "TRAIN": {
            "shape": (316, 28, 50),
            "counts": {"left": 159, "right": 157},
            "mean": 29.62,
            "std": 44.11,
            "class_means": {"left": 29.65, "right": 29.58},
            "channel_means": (
                66.62, 28.91, 5.04, 32.07, 46.25, 43.37, 40.75, 38.41, 27.08,
                15.54, 14.2, 11.23, 5.085, 17.9, 49.85, 60.16, 61.92, 86.81,
                100.7, 37.14, -3.297, -2.212, -0.5917, 1.091, 8.181, 16.86,
                12.3, 7.889,
            ),
            "labels_sha256": "4bea41e91d4e95986ba8215c0aa4a627a6b1ef6b5f82a3d3c2c738ffba12c6c4",
        },
        "TEST": {
            "shape": (100, 28, 50),
            "counts": {"left": 49, "right": 51},
            "mean": 27.65,
            "std": 43.43,
            "class_means": {"left": 30.89, "right": 24.55},
            "channel_means": (
                68.14, 28.85, 3.253, 29.61, 43.24, 40.32, 39.26, 40.05, 28.16,
                15.35, 13.94, 10.67, 2.893, 14.59, 46.14, 56.42, 58.53, 83.71,
                97.98, 34.84, -5.244, -4.196, -2.876, -1.586, 5.243, 13.62,
                9.011, 4.41,
            ),
            "labels_sha256": "7b525ce29ed7ae729893132f266edb112a62226281bd750aea30f1a56ece4c56",
        },
    },
}


def download_uea(name, data_dir, base_url=None):
    """Fetch a UEA data set, check it, and store it in ``<data_dir>/uea/<name>``.

    Parameters
    ----------
    name : str
        A data set of :data:`FACTS`.
    data_dir : pathlib.Path
        The data folder.
    base_url : str, default=None
        Folder URL serving ``<name>.zip``; None means :data:`UEA_BASE_URL`.

    Returns
    -------
    folder : pathlib.Path
        ``<data_dir>/uea/<name>``, holding ``<name>_TRAIN.ts``,
        ``<name>_TEST.ts`` and, when the zip has it, ``<name>.txt``.
    parsed : dict
        ``{"TRAIN": (X, y, classes, comments), "TEST": ...}`` as read by the
        check, so that the caller need not parse the files again.

    Raises
    ------
    ValueError
        For a data set without facts, an HTTP error status, a truncated or
        damaged download, a zip without the ``.ts`` files, a malformed
        ``.ts`` file, or values that differ from the facts. The message
        names the URL and what differed; nothing is left in ``data_dir``.
    ConnectionError
        If the server cannot be reached or stops answering.
    """
    if name not in FACTS:
        raise ValueError(
            f"skeeg can download only {', '.join(FACTS)} (the data sets whose facts "
            f"it keeps to check a download), not {name!r}. Download {name}.zip "
            f"from the archive yourself and unzip it into {data_dir / 'uea' / name}."
        )
    base_url = UEA_BASE_URL if base_url is None else base_url
    if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
        raise ValueError(f"The download URL must be http or https, got {base_url!r}.")
    url = base_url.rstrip("/") + "/" + urllib.parse.quote(name) + ".zip"
    destination = Path(data_dir) / "uea" / name
    with tempfile.TemporaryDirectory(prefix="skeeg-download-") as tmp:
        archive = Path(tmp) / f"{name}.zip"
        _fetch(url, archive)
        checked = Path(tmp) / name
        checked.mkdir()
        _extract(url, archive, name, checked)
        parsed = _verify(url, name, checked, destination)
        _move_in(checked, destination, name)
    return destination, parsed


def _fetch(url, target):
    """Stream ``url`` into ``target``, refusing short or oversized answers."""
    request = urllib.request.Request(url, headers={"User-Agent": "skeeg"})
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT)
    except urllib.error.HTTPError as exc:
        hint = (
            " The archive has no file of that name: check the data set's name."
            if exc.code == 404
            else ""
        )
        raise ValueError(
            f"Downloading {url} failed: HTTP {exc.code} {exc.reason}.{hint}"
        ) from None
    except (urllib.error.URLError, OSError, HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConnectionError(
            f"Could not reach {url} ({reason}). Check the internet connection, or "
            "download the zip file yourself and unzip it into the data folder."
        ) from None
    with response:
        declared = response.headers.get("Content-Length")
        declared = int(declared) if declared and declared.isdigit() else None
        if declared is not None and declared > _MAX_DOWNLOAD_BYTES:
            raise ValueError(
                f"{url} announces {declared} bytes, more than the "
                f"{_MAX_DOWNLOAD_BYTES} bytes that this data set needs; not downloaded."
            )
        received = 0
        try:
            with open(target, "wb") as out:
                while chunk := response.read(_CHUNK):
                    received += len(chunk)
                    if received > _MAX_DOWNLOAD_BYTES:
                        raise ValueError(
                            f"{url} sent more than {_MAX_DOWNLOAD_BYTES} bytes, more than "
                            "this data set needs; download stopped and deleted."
                        )
                    out.write(chunk)
        except HTTPException as exc:  # IncompleteRead: the connection closed early
            raise ValueError(
                f"The download of {url} was truncated ({type(exc).__name__}: {exc}); "
                "nothing was kept. Try again."
            ) from None
        except OSError as exc:  # timeouts and resets while reading
            raise ConnectionError(
                f"The download of {url} was interrupted ({exc}); nothing was kept. "
                "Try again."
            ) from None
    if declared is not None and received != declared:
        raise ValueError(
            f"The download of {url} was truncated: {received} of {declared} bytes; "
            "nothing was kept. Try again."
        )


def _extract(url, archive, name, folder):
    """Copy the data set's files out of the zip (by base name, any folder)."""
    wanted = {f"{name}_TRAIN.ts", f"{name}_TEST.ts"}
    optional = {f"{name}.txt"}
    try:
        with zipfile.ZipFile(archive) as zf:
            members = {}
            for info in zf.infolist():
                base = PurePosixPath(info.filename).name
                if base in wanted | optional and not info.is_dir():
                    # The shallowest copy wins if a zip holds two.
                    if base not in members or info.filename.count("/") < members[
                        base
                    ].filename.count("/"):
                        members[base] = info
            missing = sorted(wanted - set(members))
            if missing:
                listed = [info.filename for info in zf.infolist()][:20]
                raise ValueError(
                    f"The zip file from {url} has no {', '.join(missing)}; it holds "
                    f"{listed}. Nothing was kept."
                )
            for base, info in members.items():
                _check_member(url, info)
                with zf.open(info) as source, open(folder / base, "wb") as out:
                    shutil.copyfileobj(source, out, _CHUNK)
    except zipfile.BadZipFile as exc:
        size = archive.stat().st_size
        head = archive.read_bytes()[:40]
        raise ValueError(
            f"The download of {url} is not a valid zip file ({exc}; {size} bytes "
            f"starting {head!r}): it is truncated or damaged, or the archive answered "
            "with a web page (it does so for names it does not have). Nothing was kept."
        ) from None
    except (OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise ValueError(
            f"The zip file from {url} is damaged ({type(exc).__name__}: {exc}). "
            "Nothing was kept."
        ) from None


def _check_member(url, info):
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ValueError(
            f"{info.filename} in the zip file from {url} uses zip method "
            f"{info.compress_type}; only stored or deflated members are read."
        )
    inflation = info.file_size / max(info.compress_size, 1)
    if info.file_size > _MAX_MEMBER_BYTES or (
        info.file_size > _CHUNK and inflation > _MAX_INFLATION
    ):
        raise ValueError(
            f"{info.filename} in the zip file from {url} would inflate to "
            f"{info.file_size} bytes from {info.compress_size}; refusing it. "
            "Nothing was kept."
        )


def _verify(url, name, folder, destination):
    """Parse the files and compare them with :data:`FACTS`; raise on any difference.

    Returns what was parsed, ``{split: (X, y, classes, comments)}``.
    """
    parsed = {}
    for split in ("TRAIN", "TEST"):
        path = folder / f"{name}_{split}.ts"
        try:
            parsed[split] = read_ts(path)
        except ValueError as exc:
            raise ValueError(
                f"The download of {url} holds a malformed {path.name} "
                f"({str(exc).replace(str(path), path.name)}); nothing was kept."
            ) from None
    differences = facts_differences(name, parsed)
    if differences:
        raise ValueError(
            f"The download of {name} from {url} does not match the archive's {name} "
            f"as skeeg knows it: {'; '.join(differences)}. It was deleted and nothing "
            f"was written to {destination}. The archive's copy may have changed or "
            "the download was altered on the way; report it if it persists."
        )
    return parsed


def facts_differences(name, parsed):
    """How parsed splits of a data set of :data:`FACTS` differ from the facts.

    Parameters
    ----------
    name : str
        A data set of :data:`FACTS`.
    parsed : dict
        ``{"TRAIN": (X, y, classes, comments), "TEST": ...}`` as read by
        :func:`~skeeg.datasets._ts.read_ts`.

    Returns
    -------
    differences : list of str
        One line per difference, empty when the splits match. Costs a few
        passes over the arrays (milliseconds for the EEG sets), no hashing
        of the files.
    """
    facts = FACTS[name]
    differences = []
    for split in ("TRAIN", "TEST"):
        X, y, classes, _ = parsed[split]
        expected = facts[split]
        if tuple(classes) != facts["classes"]:
            differences.append(
                f"{split} classes {list(classes)}, expected {list(facts['classes'])}"
            )
        if X.shape != expected["shape"]:
            differences.append(f"{split} shape {X.shape}, expected {expected['shape']}")
        labels, counts = np.unique(y, return_counts=True)
        found = {str(k): int(v) for k, v in zip(labels, counts)}
        if found != expected["counts"]:
            differences.append(f"{split} class counts {found}, expected {expected['counts']}")
        values = X.astype(np.float64)
        for stat, value in (("mean", values.mean()), ("std", values.std())):
            if not _close_4g(value, expected[stat]):
                differences.append(
                    f"{split} {stat} {value:.4g}, expected {expected[stat]:.4g}"
                )
        if differences:  # shapes or classes already differ: the finer facts would too
            continue
        # Labels in file order (text, so formatting cannot change them): a swapped or
        # relabelled trial; per-class and per-channel means: trials or channels moved.
        digest = hashlib.sha256("\n".join(map(str, y)).encode()).hexdigest()
        if digest != expected["labels_sha256"]:
            differences.append(f"{split} labels, in file order, differ from the archive's")
        for label, mean in expected["class_means"].items():
            value = values[np.asarray(y) == label].mean()
            if not _close_4g(value, mean):
                differences.append(f"{split} mean of class {label!r} {value:.4g}, expected "
                                   f"{mean:.4g}")
        channel_means = values.mean(axis=(0, 2))
        moved = [i for i, (value, mean) in enumerate(zip(channel_means, expected["channel_means"]))
                 if not _close_4g(value, mean)]
        if moved:
            differences.append(f"{split} mean of channel(s) {moved[:8]} (0-based) differ from "
                               "the archive's")
    return differences


def _close_4g(found, expected):
    """Equal to 4 significant digits, allowing one unit in the last digit.

    A value just beside a rounding boundary (25.9149 for 25.92) must not
    fail because one copy of the archive prints its numbers differently.
    """
    if expected == 0:
        return abs(found) < 1e-12
    unit = 10.0 ** (math.floor(math.log10(abs(expected))) - 3)
    return abs(found - expected) <= unit * 1.0001


def _move_in(checked, destination, name):
    """Move the checked files into ``destination`` without a half-written state.

    They are first copied to a hidden folder beside ``destination`` (same
    file system), then renamed: the whole folder at once when
    ``destination`` does not exist, else file by file with the train file
    last, since the loader takes a folder as a data set once it holds
    ``<name>_TRAIN.ts``.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=destination.parent))
    try:
        for path in checked.iterdir():
            shutil.copyfile(path, staging / path.name)
        if not destination.exists():
            os.rename(staging, destination)
            return
        train = f"{name}_TRAIN.ts"
        for path in sorted(staging.iterdir(), key=lambda p: p.name == train):
            os.replace(path, destination / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
