"""Input scale (issue 11 point 1): accuracy before and after the learned standardisation.

The same trials are given to a classifier in several units (microvolts as the
loaders return them, volts, amplifier-count-like values with a DC offset) and
trained twice per seed with every other argument at its default:

* **before**: ``standardize=False``, the network sees ``X`` as given (what
  skeeg did before issue 11);
* **after**: ``standardize=True`` (the default): ``fit`` learns one offset
  per channel and one scale (``channel_mean_``, ``scale_``) and the network
  sees ``(X - channel_mean_) / scale_``.

Experiments (all in ONE run; ``--parts`` picks some):

* ``scp1``: SelfRegulationSCP1, official split, EEGNetClassifier; X as given
  (microvolts), X * 1e-6 (volts), X + 4000 (a counts-like DC offset);
* ``eegmmidb``: EEGMMIDB subject 1, runs 4, 8, 12 (imagined left vs right
  fist), EEGNetClassifier, ``load_eegmmidb(units="V")`` (volts, as MNE gives
  them) and ``units="uV"``; cross-run: GroupKFold over the three runs
  (groups = run), so a run's trials are never on both sides;
* ``fingermovements``: FingerMovements, official split, EEGNetClassifier;
  microvolts and X * 1e-6;
* ``deepconvnet``: SelfRegulationSCP1, official split,
  DeepConvNetClassifier; X as given and X * 1e-6.

Nothing is chosen on a test split: each fit uses the classifier's defaults
(early stopping on a stratified validation split carved from the training
data). Figures are test accuracy, mean ± sd over seeds (and folds for
EEGMMIDB). A fit that fails (for example diverges) is counted and reported
with its error, not dropped silently.

``--quick`` is a smoke run of the plumbing: every experiment on a tiny
SYNTHETIC stand-in (``make_motor_imagery``), 1 seed, 2 epochs; its figures
mean nothing.

Examples
--------
python -m benchmarks.scale --seeds 5 --n-jobs 2 --threads 1
python -m benchmarks.scale --parts scp1,fingermovements --seeds 3
python -m benchmarks.scale --quick
"""

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from skeeg import DeepConvNetClassifier, EEGNetClassifier
from skeeg._json import loads as json_loads

from . import _common

MODULE = "benchmarks.scale"

MODELS = {"EEGNet": EEGNetClassifier, "DeepConvNet": DeepConvNetClassifier}


def _as_given(X):
    return X


def _volts(X):
    return (np.asarray(X, dtype=np.float64) * 1e-6).astype(np.float32)


def _offset(X):
    return (np.asarray(X, dtype=np.float64) + 4000.0).astype(np.float32)


#: part -> (data set key, model, [(input label, transform or loader units)]).
PARTS = {
    "scp1": ("SelfRegulationSCP1", "EEGNet", [
        ("as given (uV)", _as_given), ("x 1e-6 (V)", _volts), ("+ 4000 (DC offset)", _offset),
    ]),
    "eegmmidb": ("eegmmidb", "EEGNet", [
        ("V (as MNE gives them)", "V"), ("uV", "uV"),
    ]),
    "fingermovements": ("FingerMovements", "EEGNet", [
        ("as given (uV)", _as_given), ("x 1e-6 (V)", _volts),
    ]),
    "deepconvnet": ("SelfRegulationSCP1", "DeepConvNet", [
        ("as given (uV)", _as_given), ("x 1e-6 (V)", _volts),
    ]),
}

BEFORE = "before: standardize=False"
AFTER = "after: standardize=True (default)"


# ----------------------------------------------------------------------
# Data: lists of (split name, X_train, y_train, X_test, y_test)
def _uea_splits(name, data_dir, transform):
    from skeeg.datasets import load_uea

    data = load_uea(name, data_dir)
    return [("official", transform(data.X_train), data.y_train,
             transform(data.X_test), data.y_test)], f"{name}: {data.unit} as loaded"


def _eegmmidb_splits(data_dir, units):
    from pathlib import Path

    from skeeg.datasets import load_eegmmidb

    folder = Path(data_dir) / "MNE-eegbci-data" / "files" / "eegmmidb" / "1.0.0" / "S001"
    missing = [f"S001R{run:02d}.edf" for run in (4, 8, 12)
               if not (folder / f"S001R{run:02d}.edf").is_file()]
    if missing:  # load_eegmmidb would download them; this script never does
        raise FileNotFoundError(f"EEGMMIDB files {missing} not found in {folder}")
    data = load_eegmmidb(subjects=1, runs=[4, 8, 12], data_dir=data_dir, units=units)
    y = np.array([data.target_names[label] for label in data.y])
    splits = []
    for train, test in GroupKFold(n_splits=3).split(data.X, y, groups=data.run):
        splits.append((f"test run {data.run[test][0]}", data.X[train], y[train],
                       data.X[test], y[test]))
    return splits, f"eegmmidb subject 1: {data.unit}"


def _synthetic_splits(grouped, transform_or_units, n_times):
    """Tiny synthetic stand-in for ``--quick`` (microvolt-like values)."""
    from skeeg.datasets import make_motor_imagery

    data = make_motor_imagery(n_trials=48, n_channels=3, n_times=n_times, random_state=0)
    X, y = data.X.astype(np.float32), np.array(["left", "right"])[data.y]
    if transform_or_units == "V":
        X = _volts(X)
    elif callable(transform_or_units):
        X = transform_or_units(X)
    if grouped:
        groups = np.repeat([4, 8, 12], 16)
        return [(f"test group {groups[test][0]}", X[train], y[train], X[test], y[test])
                for train, test in GroupKFold(n_splits=3).split(X, y, groups=groups)]
    return [("fixed", X[:32], y[:32], X[32:], y[32:])]


def load_inputs(part, data_dir, quick):
    """``[(input label, splits)]`` for one part."""
    dataset, model, inputs = PARTS[part]
    out = []
    for label, how in inputs:
        if quick:
            splits = _synthetic_splits(dataset == "eegmmidb", how, 128)
        elif dataset == "eegmmidb":
            splits, _ = _eegmmidb_splits(data_dir, how)
        else:
            splits, _ = _uea_splits(dataset, data_dir, how)
        out.append((label, splits))
    return out


# ----------------------------------------------------------------------
# Fits
def run_one(task):
    """Fit one classifier; return its row (an error is recorded, not raised)."""
    name, X_train, y_train, X_test, y_test = task["split"]
    params = dict(random_state=task["seed"], standardize=task["standardize"])
    if task["max_epochs"] is not None:
        params["max_epochs"] = task["max_epochs"]
    clf = MODELS[task["model"]](**params)
    row = {
        "part": task["part"], "dataset": task["dataset"], "model": task["model"],
        "input": task["input"], "standardize": task["standardize"], "seed": task["seed"],
        "split": name, "input_mean": float(np.mean(X_train)),
        "input_sd": float(np.std(X_train)),
    }
    start = time.perf_counter()
    try:
        clf.fit(X_train, y_train)
        row.update(
            test_acc=float(np.mean(clf.predict(X_test) == np.asarray(y_test))),
            epochs=len(clf.history_),
            scale_=float(clf.scale_),
            error="",
        )
    except (ValueError, RuntimeError) as exc:  # e.g. a diverged fit
        row.update(test_acc=np.nan, epochs=np.nan, scale_=np.nan,
                   error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    row["fit_s"] = round(time.perf_counter() - start, 1)
    if task.get("log"):
        with open(task["log"], "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
    return row


def summarise(runs):
    """One row per part x input: before and after side by side."""
    rows = []
    order = {(part, label): i for i, (part, (_, _, inputs)) in enumerate(PARTS.items())
             for label, _ in inputs}
    groups = sorted(runs.groupby(["part", "input"], sort=False),
                    key=lambda item: order.get(item[0], len(order)))
    for (part, label), group in groups:
        row = {"data set": group["dataset"].iloc[0], "model": group["model"].iloc[0],
               "input": label, "fits each": len(group) // 2}
        epochs = {}
        for flag, column in ((False, BEFORE), (True, AFTER)):
            sub = group[group["standardize"] == flag]
            ok = sub["test_acc"].dropna()
            text = _common.mean_sd(ok)
            failed = len(sub) - len(ok)
            if failed:
                text += f" ({failed} of {len(sub)} fits failed)"
            row[f"{column} (%)"] = text
            epochs[flag] = round(float(sub["epochs"].mean()), 0) if len(ok) else np.nan
        row["after - before (points)"] = round(
            100 * (group.loc[group["standardize"], "test_acc"].mean()
                   - group.loc[~group["standardize"], "test_acc"].mean()), 1)
        row["epochs before"], row["epochs after"] = epochs[False], epochs[True]
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scale", description=__doc__.split("\n")[0],
        epilog=__doc__.split("\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--parts", type=_common.names(PARTS), default=tuple(PARTS),
                        help=f"comma list among {', '.join(PARTS)} (default: all, in this order)")
    _common.add_run_options(
        parser,
        quick_help="smoke run: tiny SYNTHETIC stand-ins, 1 seed, 2 epochs (figures mean nothing)",
        seeds_help="number of seeds (5 -> 0..4) or a comma list; default 5 (1 with --quick)",
        max_epochs_help="cap on the epochs (default: the classifier's, 300, with early "
        "stopping; 2 with --quick)",
    )
    logs = parser.add_mutually_exclusive_group()
    logs.add_argument("--resume", type=_common.regular_file, default=None, metavar="RUNS_JSONL",
                        help="append to the runs.jsonl of a run that was stopped, running only "
                        "the fits it lacks; the tables cover every fit in it")
    logs.add_argument("--from-log", type=_common.regular_file, default=None,
                      metavar="RUNS_JSONL",
                        help="train nothing: rebuild the tables from the runs.jsonl that a run "
                        "(possibly stopped before its end) appended its fits to")
    args = parser.parse_args(argv)
    if args.from_log:
        return from_log(args, argv)
    if args.seeds is None:
        args.seeds = [0] if args.quick else list(range(5))
    if args.quick and args.max_epochs is None:
        args.max_epochs = 2
    if args.threads < 1 or args.n_jobs < 1 or (args.max_epochs is not None
                                                  and args.max_epochs < 1):
        raise _common.UsageError("--threads, --n-jobs and --max-epochs must be positive integers")
    import torch

    torch.set_num_threads(args.threads)
    data_dir = _common.resolve_data_dir(args.data_dir)

    stem = "scale" + ("_quick" if args.quick else "")
    report = _common.Report(args.out, stem=stem, module=MODULE, argv=argv)
    header = {"command": report.command, "date": report.date, "machine": report.machine}
    done = set()
    if args.resume:
        log = Path(args.resume)
        _, earlier = _read_log(log, "--resume")
        done = {_key(row, row["split"]) for row in earlier}
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"header": {**header, "resumed": True}}) + "\n")
        print(f"resuming {log}: {len(done)} fits already there are not run again", flush=True)
    else:
        log = report.path("runs.jsonl")
        log.write_text(json.dumps({"header": header}) + "\n", encoding="utf-8")
    tasks = []
    for part in args.parts:
        dataset, model, _ = PARTS[part]
        try:
            inputs = load_inputs(part, data_dir, args.quick)
        except (FileNotFoundError, ImportError) as exc:
            print(f"SKIPPED {part}: {exc}", flush=True)
            continue
        for label, splits in inputs:
            X = splits[0][1]
            print(f"{part}: {dataset} {model}, input {label}: {len(splits)} split(s), "
                  f"train X {X.shape}, mean {X.mean():.4g}, sd {X.std():.4g}"
                  + (" (SYNTHETIC stand-in)" if args.quick else ""), flush=True)
        # Seed by seed, so that a run stopped early has every input for the seeds it did.
        for seed in args.seeds:
            for label, splits in inputs:
                for split in splits:
                    for standardize in (False, True):
                        task = {
                            "part": part, "model": model, "input": label,
                            "dataset": f"synthetic ({dataset} stand-in)" if args.quick
                            else dataset,
                            "seed": seed, "split": split, "standardize": standardize,
                            "max_epochs": args.max_epochs, "log": str(log),
                        }
                        if _key(task, split[0]) not in done:
                            tasks.append(task)
    if not tasks:
        raise SystemExit("nothing to run: no data found for the parts asked "
                         f"(data folder {data_dir}); pass --data-dir or use --quick")
    print(f"{len(tasks)} fits ({args.n_jobs} at a time, {args.threads} torch thread(s) each); "
          f"each finished fit is appended to {log}", flush=True)
    rows = _common.run_tasks(run_one, tasks, n_jobs=args.n_jobs, desc="scale",
                             threads=args.threads)
    if not args.resume:
        return write_tables(report, pd.DataFrame(rows), args, data_dir)
    headers, rows = _read_log(log, "--resume")
    notes = [f"resumed run: {len(done)} fits from earlier invocations, {len(tasks)} from this "
             f"one; all in {log}; invocations: "
             + "; ".join(f"`{h.get('command')}` ({h.get('date')})" for h in headers)]
    return write_tables(report, _log_frame(rows), args, data_dir, notes)


def _key(row, split_name):
    """What identifies a fit in the log."""
    return (row["part"], row["input"], int(row["seed"]), split_name, bool(row["standardize"]))


def _read_log(path, option="--from-log"):
    """``(headers, rows)`` of a runs.jsonl given as ``option``."""
    headers, rows = [], []
    lines = _common.read_text(path, option).splitlines()
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                record = json_loads(line)
            except ValueError as exc:
                raise SystemExit(f"{path}, line {number}: not a JSON record ({exc}); is this "
                                 "the runs.jsonl of benchmarks.scale?") from None
            if not isinstance(record, dict):
                raise SystemExit(f"{path}, line {number}: not a record of benchmarks.scale")
            if "header" in record:
                headers.append(record["header"])
            else:
                rows.append(record)
    return headers, rows


def _log_frame(rows):
    runs = pd.DataFrame(rows)
    runs["error"] = runs["error"].fillna("")
    return runs


def write_tables(report, runs, args, data_dir, extra_notes=()):
    """Summary and per-fit tables (CSV + markdown), printed; returns the summary."""
    summary = summarise(runs)
    notes = [
        *extra_notes,
        "SYNTHETIC stand-ins (--quick): the figures mean nothing" if args.quick else
        f"real data from {data_dir}",
        f"seeds {args.seeds}; classifier defaults (early stopping on a 20 % stratified "
        "validation split of the training data)"
        + (f", max_epochs={args.max_epochs}" if args.max_epochs else "")
        + "; test accuracy, mean ± sd over seeds (x 3 run folds for eegmmidb)",
        f"'{BEFORE}': the network sees X as given; '{AFTER}': (X - channel_mean_) / scale_ "
        "learned in fit",
    ]
    failed = runs[runs["error"] != ""]
    for _, row in failed.iterrows():
        notes.append(f"failed fit: {row['part']} {row['input']} standardize={row['standardize']} "
                     f"seed {row['seed']} {row['split']}: {row['error']}")
    report.table(runs, "runs", "input scale: every fit", notes, show=False)
    report.table(summary, "summary", "input scale: before and after", notes)
    report.done()
    return summary


def from_log(args, argv):
    """Tables of the fits a run appended to its ``runs.jsonl`` (all, or those it finished)."""
    headers, rows = _read_log(args.from_log)
    if not rows:
        raise SystemExit(f"{args.from_log}: no finished fit in the log")
    runs = _log_frame(rows)
    args.quick = bool(runs["dataset"].str.startswith("synthetic").any())
    args.seeds = sorted(runs["seed"].unique().tolist())
    args.max_epochs = None
    report = _common.Report(args.out, stem="scale_from_log", module=MODULE, argv=argv)
    notes = [f"rebuilt from {args.from_log}: {len(runs)} finished fits of "
             + "; ".join(f"`{h.get('command', '?')}` ({h.get('date', '?')}, "
                         f"{h.get('machine', '?')})" for h in headers)]
    return write_tables(report, runs, args, _common.resolve_data_dir(args.data_dir), notes)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # pragma: no cover
        traceback.print_exc()
        sys.exit(130)
