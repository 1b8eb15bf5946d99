"""Cross-subject evaluation (issue 12 point 5): every test trial from a subject never trained on.

What it measures: how well a classifier trained on some subjects decodes a
NEW subject, without and with Euclidean alignment (EA), and after a short
fine-tuning on a labelled calibration block of the new subject. Each row is
scored per held-out subject (or run), as accuracy and ROC-AUC, then averaged
over held-out subjects and seeds (mean ± sd).

Protocols (``--protocol``):

* ``loso`` (default): leave-one-subject-out, one fold per subject, whose
  trials are the test set; with ``--folds K``, ``GroupKFold(K)`` over
  subjects (for many subjects), each held-out subject still scored alone.
* ``cross-run``: within ONE subject, ``GroupKFold`` over its runs
  (groups = run; with EEGMMIDB's three runs, leave-one-run-out, as
  ``benchmarks.scale`` does). The run plays the subject's role: EA aligns
  each run with its own reference, and fine-tuning uses the first 20 % of
  the held-out run.

No trial of a held-out subject (or run) is trained on, by any method, and
nothing is chosen on it. Rows (``--methods``, all by default):

* ``EEGNet``, ``DeepConvNet``: skeeg's ``EEGNetClassifier`` and
  ``DeepConvNetClassifier`` at their defaults (early stopping on a
  validation split of the training data). When there are 3 or more
  training subjects, ``fit`` gets ``groups=`` so that the validation split
  holds out whole subjects; with fewer (2 runs in ``cross-run``), it falls
  back to the default stratified split of trials, and the table says so.
* ``CSP+LDA``: MNE's ``CSP(n_components=4, reg="ledoit_wolf", log=True)`` ->
  ``LinearDiscriminantAnalysis``.
* ``TS+LR``: pyRiemann's ``Covariances("oas")`` -> ``TangentSpace`` ->
  ``LogisticRegression`` (reported as skipped when pyRiemann is absent).
* each of the above again with ``skeeg.preprocessing.EuclideanAlignment`` in
  front (``+ EA``), in a ``Pipeline`` that routes ``groups`` to it
  (scikit-learn metadata routing). The training subjects are aligned with
  their own references; a held-out subject, unseen in ``fit``, is aligned
  with a reference computed from its own UNLABELLED trials (transductive).
* ``EEGNet-finetuned``: the ``EEGNet`` of the fold, then, for each held-out
  subject, ``set_params(warm_start=True, ...)`` and ``fit`` on the FIRST
  20 % of its trials (in recorded order, with labels: a calibration block)
  for ``--finetune-epochs`` epochs, scored on the remaining 80 %.

Every row is scored on all of the held-out subject's trials ("all") and on
the same last 80 % that the fine-tuned row is scored on ("last 80 %"), so
the fine-tuned row compares with the others on identical trials.

Data sets (``--dataset``):

* ``synthetic`` (default): ``make_motor_imagery(n_subjects=K)``, each
  simulated subject with its own mixing, gains and noise (``--n-subjects``,
  ``--trials-per-subject``). With ``cross-run``, one simulated subject whose
  trials are cut into three consecutive "runs" (no run-to-run change is
  simulated).
* ``eegmmidb``: PhysioNet EEG Motor Movement/Imagery, imagined left vs right
  fist (runs 4, 8, 12), 64 channels at 160 Hz, 0-4 s after the cue, in
  microvolts (``--subjects 1,2,3`` or ``1-20``). The EDF files are read from
  ``<data folder>/MNE-eegbci-data/``; with ``--download``, and internet, MNE
  fetches the missing subjects from PhysioNet into that folder (about 2.5 MB
  per run); without it a missing file ends the script. Subjects 88, 92 and
  100 were recorded at 128 Hz and cannot be loaded with the others.
* ``deap``: DEAP ``data_preprocessed_python`` (request it from the DEAP
  team), valence (``--deap-target``) binarised at 5, the 60 s trials
  without the 3 s baseline (32 channels x 7680 samples at 128 Hz), the raw
  trials given to every method; slow for the networks. Trials are in file
  order (DEAP sorts them by video, not by presentation).

Published anchors (EEGMMIDB imagined left vs right fist), quoted with their
protocols in the notes of the tables: Wang et al. 2020, 82.4 % with EEGNet,
5 folds over subject-ordered data (pooled trials; optimistic); Lv et al.
2026 (preprint), 58.1 ± 8.3 % leave-one-subject-out on 105 subjects, where
segment-level splits of the same subjects give 99.7 % (leakage).

``--quick`` is a smoke run of the plumbing: tiny networks (``QUICK_PARAMS``),
2 epochs, 2 fine-tuning epochs, 1 seed; with ``--dataset synthetic``, a tiny
data set (4 subjects x 30 trials, 4 channels x 128 samples). Its figures
mean nothing.

Examples
--------
python -m benchmarks.cross_subject --quick
python -m benchmarks.cross_subject --dataset synthetic --seeds 3 --n-jobs 2
python -m benchmarks.cross_subject --dataset eegmmidb --protocol cross-run --subjects 1
python -m benchmarks.cross_subject --dataset eegmmidb --subjects 1-20 --download --folds 5
python -m benchmarks.cross_subject --methods EEGNet,CSP+LDA --set EEGNet.dropout=0.5
"""

import argparse
import copy
import contextlib
import importlib.util
import json
import sys
import time
import traceback
from collections import namedtuple
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut
from sklearn.pipeline import make_pipeline

from skeeg import DeepConvNetClassifier, EEGNetClassifier
from skeeg.preprocessing import EuclideanAlignment

from . import _common

MODULE = "benchmarks.cross_subject"

NETWORKS = {"EEGNet": EEGNetClassifier, "DeepConvNet": DeepConvNetClassifier}
CLASSICAL = ("CSP+LDA", "TS+LR")
FINETUNED = "EEGNet-finetuned"
METHODS = (*NETWORKS, *CLASSICAL, FINETUNED)
#: Package each method needs beyond skeeg's own dependencies.
NEEDS = {"CSP+LDA": "mne", "TS+LR": "pyriemann"}
DATASETS = ("synthetic", "eegmmidb", "deap")
PROTOCOLS = ("loso", "cross-run")
EEGMMIDB_RUNS = (4, 8, 12)  # imagined left vs right fist
EEGMMIDB_NYQUIST = 80.0  # Hz: recorded at 160 Hz
#: Bounds of the synthetic cohort (make_motor_imagery holds it all in memory).
MAX_SIM_SUBJECTS, MAX_SIM_TRIALS = 100, 1000

#: Tiny networks of ``--quick`` (seconds per fit on one core).
QUICK_PARAMS = {
    "EEGNet": dict(temporal_filters=4, depth_multiplier=1, separable_filters=4,
                   kernel_length=15, separable_kernel_length=5),
    "DeepConvNet": dict(n_filters=(8, 8, 8), kernel_length=5),
}

#: Fewest training groups for which the networks' validation split holds out
#: whole groups: with 2, one of them would be half the training data.
MIN_VALIDATION_GROUPS = 3

ALL = "all"


def rest_label(fraction):
    """Name of the trials after the calibration block: ``"last 80 %"`` for 0.2."""
    return f"last {100 - 100 * fraction:.3g} %"

#: The trials of a study, and the folds every method is scored on.
Cohort = namedtuple("Cohort", "name kind description protocol unit X y groups group_kind folds")


# ----------------------------------------------------------------------
# Data
#: Subjects of each real data set, numbered 1..N (``--subjects``).
SUBJECTS = {"eegmmidb": 109, "deap": 32}


def parse_subjects(text):
    """``"1,2,3"`` -> ``[1, 2, 3]``; ``"1-4,7"`` -> ``[1, 2, 3, 4, 7]``.

    Subjects are 1 .. the largest count of :data:`SUBJECTS`, each once;
    :func:`finish_args` bounds them by the data set named.
    """
    top = max(SUBJECTS.values())
    subjects = []
    try:
        for part in str(text).split(","):
            part = part.strip()
            if "-" in part:
                low, high = (int(p) for p in part.split("-"))
                # Bounded before range() is listed: 1-100000000 would fill the memory.
                if not 1 <= low <= high <= top:
                    raise argparse.ArgumentTypeError(
                        f"range {part!r} is not within 1-{top} (low to high)")
                subjects.extend(range(low, high + 1))
            elif part:
                subjects.append(int(part))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--subjects takes numbers and ranges (1,2,3 or 1-20); got {text!r}") from None
    if not subjects:
        raise argparse.ArgumentTypeError(f"--subjects lists no subject: {text!r}")
    outside = [s for s in subjects if not 1 <= s <= top]
    if outside:
        raise argparse.ArgumentTypeError(f"subjects are 1-{top}; got {outside}")
    repeated = _common._repeated(subjects)
    if repeated:
        raise argparse.ArgumentTypeError(f"subject(s) {repeated} given twice")
    return subjects


def _synthetic(args):
    from skeeg.datasets import make_motor_imagery

    size = dict(n_channels=4, n_times=128) if args.quick else dict(n_channels=8, n_times=500)
    if args.protocol == "loso":
        k, n = args.n_subjects, args.n_subjects * args.trials_per_subject
        data = make_motor_imagery(n_trials=n, n_subjects=k, random_state=0, **size)
        groups = data.subject + 1  # subjects numbered from 1, as in the real sets
        what = f"{k} simulated subjects x {args.trials_per_subject} trials"
    else:
        n = args.trials_per_subject
        data = make_motor_imagery(n_trials=n, random_state=0, **size)
        groups = 1 + np.arange(n) * 3 // n  # three consecutive "runs"
        what = (f"one simulated subject, {n} trials cut into 3 consecutive runs "
                "(no run-to-run change simulated)")
    y = np.array(["left", "right"])[data.y]
    description = (f"make_motor_imagery(..., random_state=0): {what}, "
                   f"{size['n_channels']} channels x {size['n_times']} samples")
    return data.X, y, groups, description, data.unit


def _eegmmidb_files_missing(data_dir, subjects):
    base = Path(data_dir) / "MNE-eegbci-data" / "files" / "eegmmidb" / "1.0.0"
    return [str(base / f"S{s:03d}" / f"S{s:03d}R{run:02d}.edf")
            for s in subjects for run in EEGMMIDB_RUNS
            if not (base / f"S{s:03d}" / f"S{s:03d}R{run:02d}.edf").is_file()]


def _parse_band(text):
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected L,H in Hz such as 8,30; got {text!r}")
    if not 0 < low < high < EEGMMIDB_NYQUIST:
        raise argparse.ArgumentTypeError(
            f"expected 0 < L < H < {EEGMMIDB_NYQUIST:g} (EEGMMIDB's Nyquist frequency); "
            f"got {text!r}")
    return low, high


def _eegmmidb(args, data_dir):
    subjects = args.subjects or [1]
    outside = [s for s in subjects if not 1 <= s <= 109]
    if outside:
        raise _common.UsageError(f"eegmmidb has subjects 1-109; got {outside}")
    missing = _eegmmidb_files_missing(data_dir, subjects)
    if missing and not args.download:  # a clearer message than the loader's, naming --download
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6
                                          else "")
        raise SystemExit(
            f"eegmmidb: {len(missing)} EDF file(s) not found: {shown}.\nPass --data-dir or set "
            "SKEEG_DATA to the folder holding MNE-eegbci-data/, or add --download to let MNE "
            "fetch them from PhysioNet (internet needed).")
    from skeeg.datasets import load_eegmmidb

    l_freq, h_freq = args.band or (None, None)
    data = load_eegmmidb(subjects=subjects, runs=list(EEGMMIDB_RUNS), data_dir=data_dir,
                         units="uV", download=bool(args.download), l_freq=l_freq, h_freq=h_freq)
    y = np.array([data.target_names[label] for label in data.y])
    groups = data.subject if args.protocol == "loso" else data.run
    band = ("no filtering" if args.band is None else
            f"each recording band-passed {l_freq:g}-{h_freq:g} Hz (MNE's FIR) before epoching")
    description = (f"PhysioNet EEGMMIDB, subject(s) {subjects}, runs 4, 8, 12: imagined left vs "
                   f"right fist, {data.X.shape[1]} channels at {data.sfreq:g} Hz, 0-4 s after "
                   f"the cue, {band}")
    return data.X, y, groups, description, data.unit


def _deap(args, data_dir):
    from skeeg.datasets import load_deap

    try:
        data = load_deap(data_dir, target=args.deap_target, subjects=args.subjects,
                         baseline="drop")
    except FileNotFoundError as exc:
        raise SystemExit(f"deap: {exc}\nPass --data-dir or set SKEEG_DATA to the folder that "
                         "holds s01.dat ... s32.dat.") from None
    y = np.where(data.y == 1, f"high {args.deap_target}", f"low {args.deap_target}")
    description = (f"DEAP, {len(np.unique(data.subject))} participants, {len(y)} trials, "
                   f"{args.deap_target} > 5 vs <= 5, 32 channels x {data.X.shape[2]} samples "
                   "at 128 Hz (baseline dropped), raw trials to every method")
    return data.X, y, data.subject, description, data.unit


def load_cohort(args):
    """The trials, their groups and the folds, for ``args`` (ends the script on missing data)."""
    data_dir = _common.resolve_data_dir(args.data_dir)
    if args.dataset == "synthetic":
        X, y, groups, description, unit = _synthetic(args)
    elif args.dataset == "eegmmidb":
        X, y, groups, description, unit = _eegmmidb(args, data_dir)
    else:
        X, y, groups, description, unit = _deap(args, data_dir)
    folds, protocol = make_folds(groups, args.protocol, args.folds)
    kind = "real" if args.dataset != "synthetic" else "synthetic"
    group_kind = "subject" if args.protocol == "loso" else "run"
    return Cohort(args.dataset, kind, description, protocol, unit, np.asarray(X), np.asarray(y),
                  np.asarray(groups), group_kind, folds)


def make_folds(groups, protocol, n_folds=None):
    """``[(fold name, train indices, test indices)]`` and a line saying how.

    Whole groups (subjects, or runs in ``cross-run``) go to one side only:
    ``LeaveOneGroupOut`` for ``loso``, ``GroupKFold(n_folds)`` for ``loso``
    with ``n_folds`` and for ``cross-run`` (one fold per run).
    """
    groups = np.asarray(groups)
    names = np.unique(groups)
    kind = "subject" if protocol == "loso" else "run"
    if len(names) < 2:
        raise SystemExit(f"{protocol} needs trials of 2 or more {kind}s; got {names.tolist()}"
                         + (". With one subject, use --protocol cross-run" if kind == "subject"
                            else ""))
    if protocol == "loso" and n_folds is None:
        splitter = LeaveOneGroupOut()
        how = f"leave-one-subject-out, {len(names)} folds"
    else:
        n_folds = len(names) if n_folds is None else n_folds
        if not 2 <= n_folds <= len(names):
            raise _common.UsageError(f"--folds must be between 2 and the number of {kind}s "
                             f"({len(names)}); got {n_folds}")
        splitter = GroupKFold(n_splits=n_folds)
        how = (f"GroupKFold over {len(names)} {kind}s, {n_folds} folds"
               + (" (leave-one-run-out), within one subject" if protocol == "cross-run" else ""))
    folds = []
    for i, (train, test) in enumerate(splitter.split(groups, groups=groups)):
        held_out = np.unique(groups[test])
        if np.isin(groups[train], held_out).any():  # never: the splitters keep groups whole
            raise RuntimeError(f"fold {i}: a held-out {kind} is also in the training set")
        label = ",".join(str(g) for g in held_out.tolist())
        folds.append((f"{kind} {label}", train, test))
    folds.sort(key=lambda fold: groups[fold[2]].min())  # in the order of the held-out groups
    return folds, how


# ----------------------------------------------------------------------
# Models
def _classical(method):
    if method == "CSP+LDA":
        from mne.decoding import CSP

        return [CSP(n_components=4, reg="ledoit_wolf", log=True), LinearDiscriminantAnalysis()]
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace

    return [Covariances(estimator="oas"), TangentSpace(), LogisticRegression(max_iter=1000)]


def build_model(task, group_validation):
    """The estimator of a row (with EA: a Pipeline routing ``groups``).

    Call it, fit and predict inside
    ``sklearn.config_context(enable_metadata_routing=True)``.
    """
    method = task["method"]
    if method in NETWORKS:
        params = {**task["net_params"].get(method, {}), "random_state": task["seed"],
                  "device": task["device"]}
        if task["max_epochs"] is not None:
            params["max_epochs"] = task["max_epochs"]
        clf = NETWORKS[method](**params)
        steps = [clf.set_fit_request(groups=group_validation)]
    else:
        steps = _classical(method)
    if not task["ea"]:
        return steps[0] if len(steps) == 1 else make_pipeline(*steps)
    align = EuclideanAlignment().set_fit_request(groups=True).set_transform_request(groups=True)
    return make_pipeline(align, *steps)


def calibration_size(n_trials, fraction):
    """Trials of the calibration block: ``round(fraction * n)``, at least 2 (batch norm)."""
    return max(2, int(round(fraction * n_trials)))


def scores(y_true, proba, classes):
    """Accuracy and ROC-AUC (binary: column of ``classes[1]``; else one-vs-rest macro).

    ROC-AUC is NaN when the trials scored hold a single class (undefined).
    """
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=np.float64)
    accuracy = float(np.mean(classes[np.argmax(proba, axis=1)] == y_true))
    if len(np.unique(y_true)) < 2:
        return accuracy, np.nan
    try:
        if len(classes) == 2:
            auc = roc_auc_score(y_true == classes[1], proba[:, 1])
        else:
            proba = proba / proba.sum(axis=1, keepdims=True)
            auc = roc_auc_score(y_true, proba, multi_class="ovr", average="macro",
                                labels=classes)
    except ValueError:  # a class absent from the held-out trials: macro AUC undefined
        auc = np.nan
    return accuracy, float(auc)


def _label(method, ea):
    if method == FINETUNED:
        return "EEGNet fine-tuned"
    return f"{method} + EA" if ea else method


def _quiet(method):
    if NEEDS.get(method) == "mne":
        import mne

        return mne.utils.use_log_level("WARNING")
    return contextlib.nullcontext()


# ----------------------------------------------------------------------
# One fold
def run_task(task):
    """Train one row's model on a fold and score every held-out group; return rows.

    A failed fit (for example a diverged network) is recorded as rows with an
    error and NaN scores, not raised. With ``task["finetune"]``, the fitted
    EEGNet (without EA) is also fine-tuned to each held-out group.
    """
    X, y, groups = task["X"], task["y"], task["groups"]
    train, test = task["train"], task["test"]
    method, network = task["method"], task["method"] in NETWORKS
    train_groups = np.unique(groups[train])
    group_validation = network and len(train_groups) >= MIN_VALIDATION_GROUPS
    base = {"dataset": task["dataset"], "protocol": task["protocol"], "fold": task["fold"],
            "seed": task["seed"] if network else "-",
            "train_groups": ";".join(str(g) for g in train_groups.tolist()),
            "n_train": len(train)}
    held_out = list(dict.fromkeys(groups[test].tolist()))  # in recorded order
    rows = {g: [] for g in held_out}
    start = time.perf_counter()
    with sklearn.config_context(enable_metadata_routing=True), _quiet(method):
        model = build_model(task, group_validation)
        fit_params = {"groups": groups[train]} if task["ea"] or group_validation else {}
        try:
            model.fit(np.asarray(X[train]), y[train], **fit_params)
            error = ""
        except (ValueError, RuntimeError) as exc:
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        fit_s = time.perf_counter() - start
        clf = model[-1] if hasattr(model, "steps") else model
        validation = "-"
        if network:
            chosen = getattr(clf, "validation_groups_", None)
            validation = (f"whole {task['group_kind']}s {chosen.tolist()}" if chosen is not None
                          else "stratified trials (too few training groups)"
                          if not group_validation else "?")
        for g in held_out:
            rows_g = test[groups[test] == g]  # ascending: the recorded order
            n_cal = calibration_size(len(rows_g), task["finetune_fraction"])
            rest = np.arange(n_cal, len(rows_g))
            row = {**base, "held_out": g, "method": _label(method, task["ea"]), "ea": task["ea"],
                   "validation": validation, "n_all": len(rows_g), "n_calibration": n_cal,
                   "n_rest": len(rest), "epochs": len(clf.history_) if network and not error
                   else np.nan, "fit_s": round(fit_s, 2), "error": error}
            if error:
                row.update(acc_all=np.nan, auc_all=np.nan, acc_rest=np.nan, auc_rest=np.nan)
            else:
                # One call per group: EA's reference for a new group comes from all of
                # its (unlabelled) trials, and every subset is scored from it.
                predict_params = {"groups": groups[rows_g]} if task["ea"] else {}
                proba = model.predict_proba(np.asarray(X[rows_g]), **predict_params)
                acc_all, auc_all = scores(y[rows_g], proba, clf.classes_)
                acc_rest, auc_rest = scores(y[rows_g][rest], proba[rest], clf.classes_)
                row.update(acc_all=acc_all, auc_all=auc_all, acc_rest=acc_rest,
                           auc_rest=auc_rest)
            if task["record"]:
                rows[g].append(row)
            if task["finetune"]:
                rows[g].append(finetune(task, clf, error, X, y, rows_g, n_cal, row))
    out = [r for g in held_out for r in rows[g]]
    if task.get("log"):
        with open(task["log"], "a", encoding="utf-8") as f:
            for r in out:
                f.write(json.dumps(r, default=str) + "\n")
    return out


def finetune(task, clf, error, X, y, rows_g, n_cal, row):
    """A copy of the fitted EEGNet, trained on with the calibration block, scored on the rest."""
    cal, rest = rows_g[:n_cal], rows_g[n_cal:]
    out = {**row, "method": _label(FINETUNED, False), "ea": False, "acc_all": np.nan,
           "auc_all": np.nan, "validation": "none (calibration block; fixed epochs)"}
    if error:
        return {**out, "acc_rest": np.nan, "auc_rest": np.nan}
    start = time.perf_counter()
    tuned = copy.deepcopy(clf)  # each held-out group starts from the fold's weights
    # A few labelled trials: no validation split, a fixed number of epochs.
    tuned.set_params(warm_start=True, max_epochs=task["finetune_epochs"],
                     validation_fraction=0.0, early_stopping=False, freeze=task["freeze"])
    try:
        tuned.fit(np.asarray(X[cal]), y[cal])
    except (ValueError, RuntimeError) as exc:
        return {**out, "acc_rest": np.nan, "auc_rest": np.nan,
                "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
    acc, auc = scores(y[rest], tuned.predict_proba(np.asarray(X[rest])), tuned.classes_)
    return {**out, "acc_rest": acc, "auc_rest": auc,
            # warm_start continues history_: the fine-tuning epochs are the new rows
            "epochs": len(tuned.history_) - len(clf.history_),
            "fit_s": round(time.perf_counter() - start, 2)}


# ----------------------------------------------------------------------
# Tables
def row_order(methods, alignment):
    """Row labels in table order."""
    labels = []
    for method in methods:
        if method == FINETUNED:
            continue
        labels += [_label(method, ea) for ea in _alignments(alignment)]
    if FINETUNED in methods:
        labels.append(_label(FINETUNED, False))
    return labels


def _alignments(alignment):
    return {"both": (False, True), "none": (False,), "ea": (True,)}[alignment]


def summarise(runs, labels, skipped, group_kind, rest="last 80 %"):
    """One row per method: mean ± sd over held-out groups and seeds."""
    table = []
    for label in labels:
        row = {"method": label}
        if label in skipped:
            table.append({**row, "fits": 0, f"held-out {group_kind}s": 0,
                          "status": f"skipped: {skipped[label]}"})
            continue
        group = runs[runs["method"] == label]
        ok = group[group["error"] == ""]
        row["fits"] = int(group.groupby(["fold", "seed"]).ngroups)
        row[f"held-out {group_kind}s"] = int(group["held_out"].nunique())
        for where, suffix in ((ALL, "all"), (rest, "rest")):
            row[f"accuracy, {where} (%)"] = _common.mean_sd(ok[f"acc_{suffix}"].dropna())
            row[f"ROC-AUC, {where}"] = _common.mean_sd(ok[f"auc_{suffix}"].dropna(), scale=1.0,
                                                       digits=3)
        failed = len(group) - len(ok)
        row["status"] = f"{failed} of {len(group)} fits or scores failed" if failed else "ok"
        table.append(row)
    return pd.DataFrame(table)


def per_group(runs, labels):
    """Accuracy on the trials after each held-out group's calibration block (%), seeds averaged."""
    ok = runs[runs["error"] == ""]
    if ok.empty:
        return pd.DataFrame({"method": labels})
    table = ok.pivot_table(index="method", columns="held_out", values="acc_rest", aggfunc="mean")
    table = (100 * table).round(1).reindex([label for label in labels if label in table.index])
    table.columns = [str(c) for c in table.columns]
    return table.reset_index()


ANCHORS = [
    "published anchors, EEGMMIDB imagined left vs right fist (not comparable with synthetic "
    "data): Wang et al. 2020, 82.4 % with EEGNet, 5 folds over subject-ordered data (pooled "
    "trials; optimistic); Lv et al. 2026 (preprint), 58.1 ± 8.3 % leave-one-subject-out on "
    "105 subjects, where segment-level splits of the same subjects give 99.7 % (leakage)",
]


def write_tables(report, runs, args, cohort, labels, skipped):
    group_kind, rest = cohort.group_kind, rest_label(args.finetune_fraction)
    notes = [
        ("SYNTHETIC data: " if cohort.kind == "synthetic" else "REAL EEG: ")
        + f"{cohort.description}; unit {cohort.unit}",
        f"protocol: {cohort.protocol}; no trial of a held-out {group_kind} is trained on by any "
        "method",
        f"'{ALL}': every trial of the held-out {group_kind}; '{rest}': its trials after the "
        f"first {100 * args.finetune_fraction:.3g} % in recorded order (the calibration block "
        f"that 'EEGNet fine-tuned' trains on with labels, {args.finetune_epochs} epochs, "
        f"freeze={args.finetune_freeze}; its 'epochs' in the per-fold table count these); "
        f"every row is scored on both where it can, so the '{rest}' columns compare all rows "
        "on the same trials",
        f"+ EA: Euclidean alignment; the training {group_kind}s are aligned with their own "
        f"references; a held-out {group_kind} is aligned with a reference computed from all "
        "its own trials, unlabelled (transductive: no labels, but its test trials are seen)",
        "networks: skeeg defaults (early stopping on a validation split)"
        + (f", max_epochs={args.max_epochs}" if args.max_epochs else "")
        + (f", {args.net_params}" if args.net_params else "")
        + f"; validation split: whole training {group_kind}s when there are "
        f"{MIN_VALIDATION_GROUPS} or more, else stratified trials (column 'validation' of the "
        "per-fold table)",
        f"seeds {args.seeds} for the networks; CSP+LDA and TS+LR are deterministic: one fit "
        f"per fold; mean ± sd over held-out {group_kind}s x seeds (sample sd)",
        "ROC-AUC: binary from predict_proba[:, 1] (the second class in sorted order), "
        "one-vs-rest macro for more classes; chance: accuracy 50 % for two balanced classes, "
        "ROC-AUC 0.5",
        *ANCHORS,
    ]
    if args.quick:
        notes.insert(0, "--quick smoke run: tiny networks, 2 epochs; the figures mean nothing")
    failed = runs[runs["error"] != ""].drop_duplicates(["method", "fold", "seed", "error"])
    for _, row in failed.iterrows():
        notes.append(f"failed: {row['method']} {row['fold']} seed {row['seed']}: {row['error']}")
    for label, reason in skipped.items():
        notes.append(f"{label}: skipped, {reason}")
    summary = summarise(runs, labels, skipped, group_kind, rest)
    report.table(runs, "folds", f"cross-subject: every held-out {group_kind}, fold and seed",
                 notes, show=False)
    report.table(per_group(runs, labels), f"per_{group_kind}",
                 f"cross-subject: accuracy on the {rest} of each held-out {group_kind} (%), "
                 "mean over seeds", notes[:2])
    report.table(summary, "summary", f"cross-subject ({cohort.protocol}): {cohort.name}", notes)
    report.done()
    return summary


# ----------------------------------------------------------------------
# Arguments
def _parse_set(items):
    """``["EEGNet.dropout=0.5", "lr=0.01"]`` -> ``{"EEGNet": {...}, "DeepConvNet": {...}}``."""
    params = {name: {} for name in NETWORKS}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep:
            raise _common.UsageError(f"--set takes PARAM=VALUE or NETWORK.PARAM=VALUE; got {item!r}")
        value = _common.literal(text)
        network, _, name = key.rpartition(".")
        targets = [network] if network else list(NETWORKS)
        if network and network not in NETWORKS:
            raise _common.UsageError(f"--set {item!r}: unknown network {network!r}; choose among "
                             f"{', '.join(NETWORKS)}")
        valid = [t for t in targets if name in NETWORKS[t]().get_params()]
        if not valid or name == "random_state":
            raise _common.UsageError(f"--set {item!r}: {name!r} is not a parameter of "
                             f"{' or '.join(targets)} that can be set here (random_state "
                             "comes from --seeds)")
        for target in valid:
            params[target][name] = value
    return params


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m " + MODULE, description=__doc__.split("\n")[0],
        epilog=__doc__.split("\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="synthetic", choices=DATASETS,
                        help="data set (default synthetic); eegmmidb reads "
                        "<data folder>/MNE-eegbci-data/ (a user with internet gets other "
                        "subjects with --download, through MNE), deap <data folder>/s01.dat...")
    parser.add_argument("--protocol", default="loso", choices=PROTOCOLS,
                        help="loso: leave-one-subject-out (default); cross-run: GroupKFold over "
                        "the runs of ONE subject (EEGMMIDB runs 4, 8, 12)")
    parser.add_argument("--folds", type=_common.at_least(2, _common.MAX_FOLDS), default=None,
                        help="loso only: GroupKFold over subjects with this many folds instead "
                        "of one fold per subject (for many subjects)")
    parser.add_argument("--subjects", type=parse_subjects, default=None,
                        help="eegmmidb and deap: subjects, e.g. 1,2,3 or 1-20 (eegmmidb default "
                        "1, for cross-run; deap default all 32)")
    parser.add_argument("--download", action="store_true",
                        help="eegmmidb: let MNE download missing subjects from PhysioNet into "
                        "<data folder>/MNE-eegbci-data/ (otherwise nothing is downloaded)")
    parser.add_argument("--band", type=_parse_band, default=None, metavar="L,H",
                        help="eegmmidb: band-pass each recording from L to H Hz before "
                        "epoching, e.g. 8,30 (default: unfiltered)")
    parser.add_argument("--n-subjects", type=_common.at_least(1, MAX_SIM_SUBJECTS),
                        default=None,
                        help="synthetic loso: simulated subjects (default 9; 4 with --quick)")
    parser.add_argument("--trials-per-subject", type=_common.at_least(1, MAX_SIM_TRIALS),
                        default=None,
                        help="synthetic: trials per subject (default 80; 30 with --quick, 45 "
                        "in cross-run)")
    parser.add_argument("--deap-target", default="valence",
                        choices=["valence", "arousal", "dominance", "liking"],
                        help="deap: rating binarised at 5 (default valence)")
    parser.add_argument("--methods", type=_common.names(METHODS), default=METHODS,
                        help=f"comma list among {', '.join(METHODS)} (default: all)")
    parser.add_argument("--alignment", default="both", choices=["both", "none", "ea"],
                        help="rows without and with Euclidean alignment (both, default), "
                        "without only, or with only")
    parser.add_argument("--finetune-fraction", type=_common.open_fraction, default=0.2,
                        help="calibration block: first fraction of each held-out subject's "
                        "trials, in recorded order (default 0.2)")
    parser.add_argument("--finetune-epochs", type=_common.at_least(1, _common.MAX_EPOCHS),
                        default=None,
                        help="epochs of fine-tuning on the calibration block (default 20; 2 "
                        "with --quick), fixed: nothing is left to validate on")
    parser.add_argument("--finetune-freeze", default="none", choices=["none", "features"],
                        help="fine-tune every weight (none, default) or the head only")
    parser.add_argument("--set", action="append", default=[], metavar="[NET.]PARAM=VALUE",
                        help="network parameter, e.g. EEGNet.dropout=0.5, "
                        "DeepConvNet.n_filters=8,8,8 or lr=0.01 (both networks); repeatable")
    _common.add_run_options(
        parser,
        quick_help="smoke run: tiny networks, 2 epochs, 1 seed; with synthetic data a tiny set "
        "(4 subjects x 30 trials); figures mean nothing",
        seeds_help="number of seeds (3 -> 0,1,2) or a comma list; default 3 (1 with --quick)",
        max_epochs_help="cap on the networks' epochs (default: the classifiers' 300, with early "
        "stopping; 2 with --quick)",
    )
    parser.add_argument("--device", type=_common.device, default="cpu",
                        help="cpu, cuda, cuda:1 or auto")
    return parser


def finish_args(args, parser=None):
    """Defaults that depend on --quick and the protocol; refuse inconsistent options.

    With ``parser``, the ``--subjects`` of the data set and the ``--set``
    values are checked as usage errors (``parser.error``), before any data
    is read or any network trained.
    """
    parser = parser or build_parser()
    top = SUBJECTS.get(args.dataset)
    if args.subjects is not None and top is not None and max(args.subjects) > top:
        parser.error(f"argument --subjects: {args.dataset} has subjects 1-{top}; got "
                     f"{[s for s in args.subjects if s > top]}")
    if args.band is not None and args.dataset != "eegmmidb":
        raise _common.UsageError(f"--band filters EEGMMIDB recordings; --dataset is {args.dataset}")
    if args.seeds is None:
        args.seeds = [0] if args.quick else [0, 1, 2]
    if args.quick and args.max_epochs is None:
        args.max_epochs = 2
    if args.finetune_epochs is None:
        args.finetune_epochs = 2 if args.quick else 20
    if args.n_subjects is None:
        args.n_subjects = 4 if args.quick else 9
    if args.trials_per_subject is None:
        args.trials_per_subject = (45 if args.protocol == "cross-run"
                                   else 30 if args.quick else 80)
    _common.check_data_dir(args)  # ranges: the argparse types
    if args.folds is not None and args.protocol != "loso":
        raise _common.UsageError("--folds applies to --protocol loso (cross-run has one fold per run)")
    if args.subjects is not None and args.dataset == "synthetic":
        raise _common.UsageError("--subjects applies to eegmmidb and deap; for synthetic data use "
                         "--n-subjects")
    if args.protocol == "cross-run":
        if args.dataset == "deap":
            raise _common.UsageError("--protocol cross-run needs runs: use it with eegmmidb or "
                             "synthetic; DEAP has one session per participant")
        if args.dataset == "eegmmidb" and args.subjects and len(args.subjects) != 1:
            raise _common.UsageError("--protocol cross-run is within ONE subject; got subjects "
                             f"{args.subjects}: run one subject at a time, or use loso")
    if args.protocol == "loso" and args.dataset == "eegmmidb" and len(args.subjects or [1]) < 2:
        raise _common.UsageError("--protocol loso needs 2 or more subjects (e.g. --subjects 1,2,3, with "
                         "--download to fetch them); with subject 1 only, use --protocol "
                         "cross-run")
    net_params = {name: dict(QUICK_PARAMS[name]) if args.quick else {} for name in NETWORKS}
    for name, params in _parse_set(args.set).items():
        net_params[name].update(params)
    args.net_params = {k: v for k, v in net_params.items() if v}
    for name, params in args.net_params.items():  # each value, as fit would check it
        _common.check_values(parser, "--set", NETWORKS[name](),
                             {k: [v] for k, v in params.items()})
    args.freeze = None if args.finetune_freeze == "none" else args.finetune_freeze
    import torch

    torch.set_num_threads(args.threads)
    return args


def main(argv=None):
    parser = build_parser()
    args = finish_args(parser.parse_args(argv), parser)
    skipped = {}
    for method in args.methods:
        package = NEEDS.get(method)
        if package and importlib.util.find_spec(package) is None:
            for ea in _alignments(args.alignment):
                skipped[_label(method, ea)] = f"{package} is not installed (pip install {package})"
    cohort = load_cohort(args)
    sizes = np.unique(cohort.groups, return_counts=True)[1]
    if sizes.min() - calibration_size(sizes.min(), args.finetune_fraction) < 2:
        raise SystemExit(f"a {cohort.group_kind} has {sizes.min()} trials: too few for a "
                         "calibration block and 2 scored trials")
    print(f"Data: {cohort.description}; {len(cohort.y)} trials, classes "
          f"{np.unique(cohort.y).tolist()}, {cohort.group_kind}s "
          f"{np.unique(cohort.groups).tolist()}; {cohort.protocol}.", flush=True)

    stem = f"cross_subject_{cohort.name}_{args.protocol}" + ("_quick" if args.quick else "")
    report = _common.Report(args.out, stem=stem, module=MODULE, argv=argv,
                            extra_versions=("mne", "pyriemann"))
    log = report.path("runs.jsonl")
    log.write_text(json.dumps({"header": {"command": report.command, "date": report.date,
                                          "machine": report.machine}}) + "\n", encoding="utf-8")
    labels = row_order(args.methods, args.alignment)
    tasks = make_tasks(args, cohort, skipped, str(log))
    if not tasks:
        raise SystemExit("nothing to run: every method asked for was skipped "
                         f"({'; '.join(f'{k}: {v}' for k, v in skipped.items())})")
    print(f"{len(tasks)} fits over {len(cohort.folds)} folds ({args.n_jobs} at a time, "
          f"{args.threads} torch thread(s) each); rows appended to {log}", flush=True)
    results = _common.run_tasks(run_task, tasks, n_jobs=args.n_jobs, desc="cross-subject",
                                threads=args.threads)
    runs = pd.DataFrame([row for rows in results for row in rows])
    summary = write_tables(report, runs, args, cohort, labels, skipped)
    failed = [label for label, group in runs.groupby("method") if (group["error"] != "").all()]
    if failed:  # tables are written; the run still did not do what was asked
        raise SystemExit(f"every fit of {', '.join(failed)} failed (errors in the notes above "
                         f"and in {log})")
    return summary


def make_tasks(args, cohort, skipped, log):
    """One task per fold x method x alignment (x seed for the networks)."""
    tasks = []
    for fold, train, test in cohort.folds:
        common = {"X": cohort.X, "y": cohort.y, "groups": cohort.groups, "train": train,
                  "test": test, "fold": fold, "dataset": cohort.name,
                  "protocol": args.protocol, "group_kind": cohort.group_kind,
                  "net_params": args.net_params, "max_epochs": args.max_epochs,
                  "device": args.device, "finetune_fraction": args.finetune_fraction,
                  "finetune_epochs": args.finetune_epochs, "freeze": args.freeze, "log": log}
        for method in (*NETWORKS, *CLASSICAL):
            for ea in (False, True):
                record = method in args.methods and ea in _alignments(args.alignment)
                # The fine-tuned row continues the fold's EEGNet without EA.
                finetune = method == "EEGNet" and not ea and FINETUNED in args.methods
                if not (record or finetune) or _label(method, ea) in skipped:
                    continue
                for seed in (args.seeds if method in NETWORKS else [None]):
                    tasks.append({**common, "method": method, "ea": ea, "seed": seed,
                                  "record": record, "finetune": finetune})
    return tasks


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # pragma: no cover
        traceback.print_exc()
        sys.exit(130)
