"""Augmentation and cropped training: a search on the training split, and an ablation (issue 14).

Two parts, each over real data sets of :mod:`benchmarks._common`:

* ``search``: ``GridSearchCV`` over EEGNet's ``augmentation`` and
  ``crop_length`` with stratified 3-fold cross-validation inside the
  official training split only (``random_state=0`` for every inner fit).
  The configuration with the best mean inner accuracy is then trained on
  the whole training split with each test seed and scored once on the
  test split. The test split plays no part in the choice. Tables: the
  search's ``cv_results_`` and the test accuracy per seed.
* ``ablation``: each augmentation alone (its default parameters, applied
  with probability 0.5; Mixup to every batch) and cropped training alone,
  beside no augmentation, for EEGNet and DeepConvNet at their defaults,
  on every split of each data set and every seed: test accuracy (mean ± sd
  over splits x seeds) and the training time of a fit (median seconds).

Usage::

    python -m benchmarks.augmentation --part search --dataset SelfRegulationSCP1 --seeds 5
    python -m benchmarks.augmentation --part ablation --datasets SelfRegulationSCP1,eegmmidb

Every fit is appended to ``<stem>_runs.jsonl`` as it ends, so a stopped run
keeps what it measured.
"""

import argparse
import json
import sys
import time

import numpy as np
import pandas as pd

from . import _common

MODULE = "benchmarks.augmentation"
#: Sampling rates (Hz) of the real data sets, for FrequencyShift.
SFREQ = {"SelfRegulationSCP1": 256.0, "FingerMovements": 100.0, "eegmmidb": 160.0,
         "bci_iiib": 125.0, "synthetic": 250.0, "synthetic-tiny": 250.0}
NETWORKS = ("EEGNet", "DeepConvNet")
INNER_FOLDS = 3


def crop_length_for(n_times):
    """Crops of 7/8 of a trial: enough shifted windows, most of each trial seen."""
    return n_times * 7 // 8


def transforms(sfreq):
    """Each augmentation alone, with its defaults (Mixup on every batch), by label."""
    from skeeg import augmentation as aug

    return {
        "TimeShift": aug.TimeShift(),
        "GaussianNoise": aug.GaussianNoise(),
        "SignFlip": aug.SignFlip(),
        "TimeReverse": aug.TimeReverse(),
        "ChannelsDropout": aug.ChannelsDropout(),
        "SmoothTimeMask": aug.SmoothTimeMask(),
        "FrequencyShift": aug.FrequencyShift(sfreq=sfreq),
        "AmplitudeScale": aug.AmplitudeScale(),
        "Mixup": aug.Mixup(),
    }


def _time_mask(n_times):
    """SmoothTimeMask with its default 100-sample mask, or a quarter of shorter trials."""
    from skeeg import augmentation as aug

    return aug.SmoothTimeMask(mask_len_samples=min(100, n_times // 4))


def ablation_rows(data):
    """``{label: params}``: none, each transform alone, crops alone."""
    rows = {"none": {}}
    rows.update({name: {"augmentation": t} for name, t in transforms(SFREQ[data.name]).items()})
    rows["SmoothTimeMask"] = {"augmentation": _time_mask(data.n_times)}
    rows["crops"] = {"crop_length": crop_length_for(data.n_times)}
    return rows


def search_grid(data):
    """The candidates of the search: scikit-learn's list-of-grids form.

    No augmentation; the transforms that keep the meaning of a trial whatever
    the paradigm (noise, amplitude, channel dropout, masking, mixup); crops.
    Sign flips, time reversal and frequency shifts change what slow cortical
    potentials and band power mean, and shifts are what crops already do, so
    they are left to the ablation.
    """
    from skeeg import augmentation as aug

    return [
        {"augmentation": [None, aug.GaussianNoise(), aug.AmplitudeScale(),
                          aug.ChannelsDropout(), _time_mask(data.n_times), aug.Mixup()]},
        {"crop_length": [crop_length_for(data.n_times)]},
    ]


def _classifier(network, seed, max_epochs, **params):
    from skeeg import DeepConvNetClassifier, EEGNetClassifier

    cls = {"EEGNet": EEGNetClassifier, "DeepConvNet": DeepConvNetClassifier}[network]
    if max_epochs is not None:
        params["max_epochs"] = max_epochs
    return cls(random_state=seed, **params)


def _describe(value):
    if value is None:
        return "none"
    return repr(value)


def fit_and_score(task):
    """Train one configuration on one split with one seed; test accuracy and time.

    The row is also appended to the run's log (``task["log"]``) as soon as it ends.
    """
    clf = _classifier(task["network"], task["seed"], task["max_epochs"], **task["params"])
    split = task["split"]
    began = time.perf_counter()
    clf.fit(split.X_train, split.y_train)
    seconds = time.perf_counter() - began
    row = {"dataset": task["dataset"], "split": split.name, "network": task["network"],
           "row": task["row"], "seed": task["seed"],
           "accuracy": float(np.mean(clf.predict(split.X_test) == split.y_test)),
           "fit_s": round(seconds, 2), "epochs": len(clf.history_),
           "params": {k: _describe(v) for k, v in task["params"].items()}}
    _log(task["log"], row)
    return row


def _log(path, row):
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(row) + "\n")


def run_search(args, data, report, log):
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    split = data.splits[0]
    if len(data.splits) > 1:
        raise SystemExit(f"--part search needs a data set with one official split; "
                         f"{data.name} has {len(data.splits)}")
    inner = StratifiedKFold(INNER_FOLDS, shuffle=True, random_state=0)
    search = GridSearchCV(
        _classifier("EEGNet", 0, args.max_epochs), search_grid(data), cv=inner,
        n_jobs=args.n_jobs, refit=False, verbose=0, error_score="raise",
    )
    began = time.perf_counter()
    search.fit(split.X_train, split.y_train)
    results = pd.DataFrame(search.cv_results_)
    table = pd.DataFrame({
        "candidate": [", ".join(f"{k}={_describe(v)}" for k, v in p.items())
                      for p in results["params"]],
        **{f"fold {i} (%)": 100 * results[f"split{i}_test_score"] for i in range(INNER_FOLDS)},
        "mean (%)": 100 * results["mean_test_score"],
        "sd (%)": 100 * results["std_test_score"],
        "rank": results["rank_test_score"],
        "fit s (mean)": results["mean_fit_time"].round(1),
    }).sort_values("rank")
    best = search.best_params_
    _log(log, {"search": table.to_dict("records"), "best": {k: _describe(v) for k, v in
                                                            best.items()},
               "search_s": round(time.perf_counter() - began, 1)})
    report.table(table, "search", f"Search inside the training split: {data.name}", [
        f"GridSearchCV over EEGNetClassifier(random_state=0"
        f"{'' if args.max_epochs is None else f', max_epochs={args.max_epochs}'}), "
        f"stratified {INNER_FOLDS}-fold CV (shuffled, random_state=0) of the "
        f"{len(split.y_train)} training trials only; accuracy on each inner fold",
        f"chosen: {', '.join(f'{k}={_describe(v)}' for k, v in best.items())}",
        f"search wall time {time.perf_counter() - began:.0f} s ({args.n_jobs} processes)",
    ])
    tasks = [dict(dataset=data.name, split=split, network="EEGNet", row="chosen",
                  params=dict(best), seed=seed, max_epochs=args.max_epochs, log=str(log))
             for seed in args.seeds]
    rows = _common.run_tasks(fit_and_score, tasks, n_jobs=args.n_jobs, desc="test seeds")
    frame = pd.DataFrame(rows)[["seed", "accuracy", "epochs", "fit_s"]]
    frame["accuracy"] = (100 * frame["accuracy"]).round(1)
    summary = _common.mean_sd(np.array([r["accuracy"] for r in rows]))
    report.table(frame.rename(columns={"accuracy": "test accuracy (%)", "fit_s": "fit s"}),
                 "test", f"The chosen configuration on the test split: {data.name}", [
                     f"chosen on the training split: "
                     f"{', '.join(f'{k}={_describe(v)}' for k, v in best.items())}",
                     f"one fit per seed on all {len(split.y_train)} training trials, scored "
                     f"once on the {len(split.y_test)} test trials",
                     f"test accuracy over {len(rows)} seeds: {summary} %",
                 ])


def run_ablation(args, report, log):
    tasks = []
    for name in args.datasets:
        data = _common.load_dataset(name, args.data_dir)
        print(data.summary(), flush=True)
        for label, params in ablation_rows(data).items():
            if args.rows and label not in args.rows:
                continue
            for network in args.networks:
                for split in data.splits:
                    for seed in args.seeds:
                        tasks.append(dict(dataset=name, split=split, network=network, row=label,
                                          params=params, seed=seed,
                                          max_epochs=args.max_epochs, log=str(log)))
    if not tasks:
        raise SystemExit(f"no fits: --rows {args.rows} names none of the rows")
    rows = _common.run_tasks(fit_and_score, tasks, n_jobs=args.n_jobs, desc="ablation")
    summary = (
        pd.DataFrame(rows).groupby(["dataset", "network", "row"], sort=False)
        .agg(fits=("accuracy", "size"),
             accuracy=("accuracy", lambda v: _common.mean_sd(np.asarray(v))),
             fit_s=("fit_s", "median"), epochs=("epochs", "median"))
        .reset_index()
        .rename(columns={"row": "training", "accuracy": "test accuracy (%)",
                         "fit_s": "fit s (median)", "epochs": "epochs (median)"})
    )
    report.table(summary, "ablation", "Each augmentation alone, and crops alone", [
        "defaults of each network (early stopping on a 20 % validation split of the "
        "training trials)"
        + ("" if args.max_epochs is None else f", max_epochs={args.max_epochs}"),
        "each transform with its default parameters and probability 0.5 (Mixup: every "
        "batch); crops: crop_length = 7/8 of the trial, crop_stride = crop_length // 2",
        f"seeds {args.seeds}; mean ± sd over splits x seeds",
    ])


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.augmentation",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--part", choices=["search", "ablation"], required=True)
    parser.add_argument("--dataset", default="SelfRegulationSCP1",
                        help="search: the data set (one with an official split)")
    parser.add_argument("--datasets", default="SelfRegulationSCP1,eegmmidb",
                        help="ablation: comma list of data sets")
    parser.add_argument("--networks", default=",".join(NETWORKS),
                        help="ablation: comma list among EEGNet, DeepConvNet")
    parser.add_argument("--rows", default=None,
                        help="ablation: comma list of rows (none, a transform's name, crops); "
                             "default all")
    _common.add_run_options(parser, "tiny run: synthetic data (unless --dataset names one), "
                                    "2 epochs, 1 seed")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    args = _common.finish_args(args, quick_seeds=1, full_seeds=5)
    args.datasets = [d for d in args.datasets.split(",") if d]
    args.networks = [n for n in args.networks.split(",") if n]
    unknown = set(args.networks) - set(NETWORKS)
    if unknown:
        raise SystemExit(f"unknown networks {sorted(unknown)}; choose from {list(NETWORKS)}")
    args.rows = None if args.rows is None else [r for r in args.rows.split(",") if r]
    if args.quick:  # a synthetic set unless one was named
        if args.dataset == "SelfRegulationSCP1":
            args.dataset = "synthetic"
        if args.datasets == ["SelfRegulationSCP1", "eegmmidb"]:
            args.datasets = [args.dataset]
        args.max_epochs = args.max_epochs or 2
    if args.part == "search":
        data = _common.load_dataset(args.dataset, args.data_dir)
        print(data.summary(), flush=True)
        stem = f"augmentation_search_{data.name}"
    else:
        stem = "augmentation_ablation"
    report = _common.Report(args.out, stem=stem, module=MODULE, argv=argv)
    log = report.path("runs.jsonl")
    _log(log, {"header": {"command": report.command, "date": report.date,
                          "machine": report.machine}})
    if args.part == "search":
        run_search(args, data, report, log)
    else:
        run_ablation(args, report, log)
    report.done()


if __name__ == "__main__":
    sys.exit(main())
