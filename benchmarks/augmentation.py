"""Augmentation and cropped training: a search on the training split, and an ablation (issue 14).

Two parts, each over real data sets of :mod:`benchmarks._common`:

* ``search``: ``GridSearchCV`` over ``augmentation`` and ``crop_length``
  (``--grid meaning``: the transforms that keep a trial's meaning in any
  paradigm; ``--grid all``: every transform of :mod:`skeeg.augmentation`),
  for each network of ``--search-networks``, with stratified 3-fold
  cross-validation inside the official training split only
  (``random_state=0`` for every inner fit). With ``--ensemble K`` a second
  stage compares, on the same inner folds, the chosen configuration with a
  soft vote of K copies of it (``VotingClassifier``, seeds 0..K-1). The
  configuration with the best mean inner accuracy is then trained on the
  whole training split with each test seed and scored once on the test
  split. The test split plays no part in the choice. Tables: the search's
  ``cv_results_``, the second stage, and the test accuracy per seed.
* ``ablation``: each augmentation alone (its default parameters, applied
  with probability 0.5; Mixup to every batch) and cropped training alone,
  beside no augmentation, for EEGNet and DeepConvNet at their defaults,
  on every split of each data set and every seed: test accuracy (mean ± sd
  over splits x seeds) and the training time of a fit (median seconds).

Usage::

    python -m benchmarks.augmentation --part search --dataset SelfRegulationSCP1 --seeds 5
    python -m benchmarks.augmentation --part search --grid all \
        --search-networks EEGNet,DeepConvNet --ensemble 5 --set device=cuda
    python -m benchmarks.augmentation --part ablation --datasets SelfRegulationSCP1,eegmmidb

Every fit is appended to ``<stem>_runs.jsonl`` as it ends, so a stopped run
keeps what it measured. The ablation runs seed by seed (every row of seed 0
first), so ``--stop-after`` (fits not started by then are skipped) leaves
whole seeds.
"""

import argparse
import json
import sys
import time

import numpy as np
import pandas as pd

from skeeg._json import loads as json_loads
from skeeg._params import check_params

from . import _common

MODULE = "benchmarks.augmentation"
#: Sampling rates (Hz) of the real data sets, for FrequencyShift.
SFREQ = {"SelfRegulationSCP1": 256.0, "FingerMovements": 100.0, "eegmmidb": 160.0,
         "bci_iiib": 125.0, "synthetic": 250.0, "synthetic-tiny": 250.0}
NETWORKS = ("EEGNet", "DeepConvNet")
INNER_FOLDS = 3
#: Most copies in the soft vote of ``--ensemble``: each is a whole network.
MAX_ENSEMBLE = 100


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


#: The rows of the ablation (``--rows``): no augmentation, each transform, crops.
ROWS = ("none", *transforms(1.0), "crops")


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


def search_grid(data, grid="meaning"):
    """The candidates of the search, for one network: ``{param: values}`` grids.

    ``"meaning"``: no augmentation; the transforms that keep the meaning of a
    trial whatever the paradigm (noise, amplitude, channel dropout, masking,
    mixup); crops. Sign flips, time reversal and frequency shifts change what
    slow cortical potentials and band power mean, and shifts are what crops
    already do, so they are left out. ``"all"``: no augmentation, every
    transform of the ablation (shifts, flips, reversal and frequency shifts
    too) and crops: the whole list, with no judgement of which could help.
    """
    from skeeg import augmentation as aug

    if grid == "all":
        candidates = [None, *(row["augmentation"] for row in ablation_rows(data).values()
                              if "augmentation" in row)]
    else:
        candidates = [None, aug.GaussianNoise(), aug.AmplitudeScale(),
                      aug.ChannelsDropout(), _time_mask(data.n_times), aug.Mixup()]
    return [{"augmentation": candidates}, {"crop_length": [crop_length_for(data.n_times)]}]


def _classifier(network, seed, max_epochs, settings=None, **params):
    from skeeg import DeepConvNetClassifier, EEGNetClassifier

    cls = {"EEGNet": EEGNetClassifier, "DeepConvNet": DeepConvNetClassifier}[network]
    params = {**(settings or {}), **params}
    if max_epochs is not None:
        params["max_epochs"] = max_epochs
    return cls(random_state=seed, **params)


def _network_name(estimator):
    name = type(estimator).__name__
    return name[: -len("Classifier")] if name.endswith("Classifier") else name


def _candidate(params, networks):
    """A row label for the pipeline's parameters: ``"DeepConvNet, augmentation=Mixup()"``."""
    parts = [_network_name(params["net"])] if len(networks) > 1 else []
    parts += [f"{k[len('net__'):]}={_describe(v)}" for k, v in params.items()
              if k.startswith("net__")]
    return ", ".join(parts)


def _configured(params):
    """The classifier a pipeline's parameters describe, as a fresh estimator."""
    from sklearn.base import clone

    return clone(params["net"]).set_params(
        **{k[len("net__"):]: v for k, v in params.items() if k.startswith("net__")})


def soft_vote(estimator, k, first_seed=0):
    """``VotingClassifier`` averaging the probabilities of ``k`` copies (seeds from ``first_seed``)."""
    from sklearn.base import clone
    from sklearn.ensemble import VotingClassifier

    members = [(f"seed{first_seed + i}", clone(estimator).set_params(random_state=first_seed + i))
               for i in range(k)]
    return VotingClassifier(members, voting="soft")


def _describe(value):
    if value is None:
        return "none"
    return repr(value)


def fit_and_score(task):
    """Train one configuration on one split with one seed; test accuracy and time.

    ``task["estimator"]``, when given, is fitted as it is; otherwise the
    network is built from ``network``, ``seed`` and ``params``. A task not
    started before ``task["stop_at"]`` (``time.time()``) is skipped: None.
    The row is also appended to the run's log (``task["log"]``) as soon as it ends.
    """
    if task.get("stop_at") is not None and time.time() > task["stop_at"]:
        return None
    split = task["split"]
    clf = task.get("estimator")
    if clf is None:
        _warm_up(task)
        clf = _classifier(task["network"], task["seed"], task["max_epochs"],
                          task.get("settings"), **task["params"])
    began = time.perf_counter()
    clf.fit(split.X_train, split.y_train)
    seconds = time.perf_counter() - began
    members = getattr(clf, "estimators_", [clf])
    row = {"dataset": task["dataset"], "split": split.name, "network": task["network"],
           "row": task["row"], "seed": task["seed"],
           "accuracy": float(np.mean(clf.predict(split.X_test) == split.y_test)),
           "fit_s": round(seconds, 2),
           "epochs": int(np.median([len(m.history_) for m in members])),
           "params": {k: _describe(v) for k, v in task.get("params", {}).items()}}
    if "planned" in task:
        row["planned"] = task["planned"]
    _log(task["log"], row)
    return row


_WARM = set()  # (network, settings) already fitted once in this process


def _warm_up(task):
    """Fit the task's network for one epoch, once per process and network, untimed.

    The first fit in a process pays for loading torch's kernels (and, on a
    GPU, for the CUDA context and cuDNN's plans); without this the first row
    of a run would be charged for it.
    """
    key = (task["network"], repr(sorted((task.get("settings") or {}).items())))
    if key in _WARM:
        return
    _WARM.add(key)
    split = task["split"]
    _classifier(task["network"], 0, 1, task.get("settings")).fit(split.X_train, split.y_train)


def _log(path, row):
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(row) + "\n")


def run_search(args, data, report, log):
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
    from sklearn.pipeline import Pipeline

    split = data.splits[0]
    if len(data.splits) > 1:
        raise _common.UsageError(f"--part search needs a data set with one official split; "
                         f"{data.name} has {len(data.splits)}")
    inner = StratifiedKFold(INNER_FOLDS, shuffle=True, random_state=0)
    networks = args.search_networks
    grid = [{"net": [_classifier(network, 0, args.max_epochs, args.settings)],
             **{f"net__{k}": v for k, v in candidates.items()}}
            for network in networks for candidates in search_grid(data, args.grid)]
    search = GridSearchCV(
        Pipeline([("net", _classifier(networks[0], 0, args.max_epochs, args.settings))]),
        grid, cv=inner, n_jobs=args.n_jobs, refit=False, verbose=0, error_score="raise",
    )
    began = time.perf_counter()
    try:
        search.fit(split.X_train, split.y_train)
    except ValueError as exc:  # a network that cannot take these trials, say
        raise _common.UsageError(f"--part search on {data.name} failed: {exc} (Check the --set "
                         f"values, and that each of --search-networks takes these "
                         f"trials.)") from exc
    results = pd.DataFrame(search.cv_results_)
    table = pd.DataFrame({
        "candidate": [_candidate(p, networks) for p in results["params"]],
        **{f"fold {i} (%)": 100 * results[f"split{i}_test_score"] for i in range(INNER_FOLDS)},
        "mean (%)": 100 * results["mean_test_score"],
        "sd (%)": 100 * results["std_test_score"],
        "rank": results["rank_test_score"],
        "fit s (mean)": results["mean_fit_time"].round(1),
    }).sort_values("rank", kind="stable")
    chosen = _configured(search.best_params_)
    label = _candidate(search.best_params_, NETWORKS)
    _log(log, {"search": table.to_dict("records"), "best": label,
               "search_s": round(time.perf_counter() - began, 1)})
    settings = ", ".join(f"{k}={v!r}" for k, v in args.settings.items())
    report.table(table, "search", f"Search inside the training split: {data.name}", [
        f"GridSearchCV over {', '.join(networks)} (random_state=0"
        f"{'' if args.max_epochs is None else f', max_epochs={args.max_epochs}'}"
        f"{', ' + settings if settings else ''}), grid {args.grid!r}, "
        f"stratified {INNER_FOLDS}-fold CV (shuffled, random_state=0) of the "
        f"{len(split.y_train)} training trials only; accuracy on each inner fold",
        f"best: {label}",
        f"search wall time {time.perf_counter() - began:.0f} s ({args.n_jobs} processes)",
    ])
    configurations = {"single": chosen}
    if args.ensemble > 1:
        # Stage 2, on the same inner folds: the chosen network alone, or a soft
        # vote of args.ensemble copies of it?
        scores = cross_val_score(soft_vote(chosen, args.ensemble), split.X_train, split.y_train,
                                 cv=inner, n_jobs=min(args.n_jobs, INNER_FOLDS))
        single = results.loc[search.best_index_, [f"split{i}_test_score"
                                                   for i in range(INNER_FOLDS)]]
        stage = pd.DataFrame({
            "candidate": [label, f"soft vote of {args.ensemble} x ({label})"],
            **{f"fold {i} (%)": 100 * np.array([single.iloc[i], scores[i]])
               for i in range(INNER_FOLDS)},
            "mean (%)": 100 * np.array([single.mean(), scores.mean()]),
        })
        ensemble_wins = scores.mean() > single.mean()
        configurations["ensemble"] = chosen
        report.table(stage, "ensemble", f"Second stage inside the training split: {data.name}", [
            f"the same {INNER_FOLDS} inner folds; members' seeds 0..{args.ensemble - 1}",
            f"chosen: {'the soft vote' if ensemble_wins else 'the single network'} "
            "(the higher mean; a tie keeps the single network)",
        ])
        _log(log, {"stage2": stage.to_dict("records"), "ensemble_chosen": bool(ensemble_wins)})
    else:
        ensemble_wins = False
    tasks = []
    for kind, estimator in configurations.items():
        for seed in args.seeds:
            if kind == "single":
                member = clone_with_seed(estimator, seed)
            else:  # members seeded seed*K .. seed*K + K-1: no seed shared between test seeds
                member = soft_vote(estimator, args.ensemble, first_seed=seed * args.ensemble)
            tasks.append(dict(dataset=data.name, split=split, network=label, row=kind,
                              estimator=member, seed=seed, log=str(log)))
    rows = _common.run_tasks(fit_and_score, tasks, n_jobs=args.n_jobs, desc="test seeds")
    final = "ensemble" if ensemble_wins else "single"
    for kind in configurations:
        done = [r for r in rows if r["row"] == kind]
        frame = pd.DataFrame(done)[["seed", "accuracy", "epochs", "fit_s"]]
        frame["accuracy"] = (100 * frame["accuracy"]).round(1)
        summary = _common.mean_sd(np.array([r["accuracy"] for r in done]))
        what = label if kind == "single" else f"soft vote of {args.ensemble} x ({label})"
        role = ("the configuration chosen on the training split" if kind == final else
                "NOT chosen on the training split: shown for reference only")
        report.table(
            frame.rename(columns={"accuracy": "test accuracy (%)", "fit_s": "fit s",
                                  "epochs": "epochs (median of members)"}),
            "test" if kind == "single" else "test_ensemble",
            f"{what} on the test split: {data.name}", [
                role,
                f"one fit per seed on all {len(split.y_train)} training trials, scored "
                f"once on the {len(split.y_test)} test trials",
                f"test accuracy over {len(done)} seeds: {summary} %",
            ])


def clone_with_seed(estimator, seed):
    from sklearn.base import clone

    return clone(estimator).set_params(random_state=seed)


def run_ablation(args, report, log):
    stop_at = None if args.stop_after is None else time.time() + args.stop_after
    datasets = []
    for name in args.datasets:
        try:
            data = _common.load_dataset(name, args.data_dir)
        except (ValueError, FileNotFoundError) as exc:
            raise SystemExit(str(exc)) from None
        print(data.summary(), flush=True)
        datasets.append(data)
    tasks = []
    for seed in args.seeds:  # seed by seed, so that a stopped run leaves whole seeds
        for data in datasets:
            rows = {label: params for label, params in ablation_rows(data).items()
                    if not args.rows or label in args.rows}
            # The fits a seed needs on this data set: a seed is complete with all of them.
            planned = len(args.networks) * len(rows) * len(data.splits)
            for network in args.networks:
                for label, params in rows.items():
                    for split in data.splits:
                        tasks.append(dict(dataset=data.name, split=split, network=network,
                                          row=label, params=params, seed=seed,
                                          settings=args.settings, max_epochs=args.max_epochs,
                                          log=str(log), stop_at=stop_at, planned=planned))
    rows = _common.run_tasks(fit_and_score, tasks, n_jobs=args.n_jobs, desc="ablation")
    skipped = sum(row is None for row in rows)
    rows = [row for row in rows if row is not None]
    if not rows:
        raise SystemExit(f"no fit started within --stop-after {args.stop_after} s")
    summary, seeds = ablation_summary(rows)
    report.table(summary, "ablation", "Each augmentation alone, and crops alone", [
        "defaults of each network (early stopping on a 20 % validation split of the "
        "training trials)"
        + ("" if args.max_epochs is None else f", max_epochs={args.max_epochs}"),
        "each transform with its default parameters and probability 0.5 (Mixup: every "
        "batch); crops: crop_length = 7/8 of the trial, crop_stride = crop_length // 2",
        f"seeds {({d: sorted(k) for d, k in seeds.items()})} (those with every fit done, of "
        f"{args.seeds}); mean ± sd over "
        "splits x seeds; paired: the same split and seed without augmentation",
        *([f"{skipped} of {len(tasks)} fits not started within --stop-after "
           f"{args.stop_after} s"] if skipped else []),
        *([f"classifier settings: {args.settings}"] if args.settings else []),
        "fit s: wall time of the fit alone; each process first fits each network for one "
        "untimed epoch (torch's and CUDA's start-up costs)",
    ])


def ablation_summary(rows):
    """The ablation table from its fits, over the seeds whose every fit is there.

    A stopped run leaves its last seed part-done; a row's mean over more
    seeds than its neighbours' would not compare, so each data set keeps the
    seeds with every fit of that data set. Fits may come from several runs
    (``source``, as :func:`read_log` numbers them): a seed's fits are then
    all taken from the last run that has all of them, never mixed. The
    paired difference is to ``none`` on the same data, network, split and
    seed, in points. Returns ``(table, {dataset: {seed: machine}})`` (the
    machine of the run a seed came from, when the fits name it).
    """
    frame = pd.DataFrame(rows)
    if "source" not in frame:
        frame["source"] = 0
    keys = ["network", "row", "split"]
    kept, seeds = [], {}
    for dataset, part in frame.groupby("dataset", sort=False):
        planned = part["planned"].dropna() if "planned" in part else pd.Series(dtype=float)
        # Logs written before the plan was recorded: all the fits any seed has.
        expected = int(planned.max()) if len(planned) else part[keys].drop_duplicates().shape[0]
        for seed, fits in part.groupby("seed"):
            complete = [source for source, done in fits.groupby("source")
                        if done[keys].drop_duplicates().shape[0] == expected]
            if complete:
                chosen = fits[fits["source"] == max(complete)]
                kept.append(chosen)
                machine = chosen["machine"].iloc[0] if "machine" in chosen else None
                seeds.setdefault(dataset, {})[int(seed)] = machine
    if not kept:
        raise SystemExit("no seed has every fit of the ablation: nothing to compare")
    frame = pd.concat(kept)
    pair = ["dataset", "network", "split", "seed"]
    if "none" in set(frame["row"]):
        base = frame[frame["row"] == "none"].set_index(pair)["accuracy"]
        frame = frame.assign(paired=frame["accuracy"].to_numpy()
                             - base.reindex(pd.MultiIndex.from_frame(frame[pair])).to_numpy())
    else:
        frame = frame.assign(paired=np.nan)
    table = (
        frame.groupby(["dataset", "network", "row"], sort=False)
        .agg(fits=("accuracy", "size"),
             accuracy=("accuracy", lambda v: _common.mean_sd(np.asarray(v))),
             paired=("paired", lambda v: _common.mean_sd(np.asarray(v))),
             fit_s=("fit_s", lambda v: round(float(np.median(v)), 1)),
             epochs=("epochs", "median"))
        .reset_index()
        .rename(columns={"row": "training", "accuracy": "test accuracy (%)",
                         "paired": "paired difference to none (points)",
                         "fit_s": "fit s (median)", "epochs": "epochs (median)"})
    )
    none = table["training"] == "none"
    table.loc[none, "paired difference to none (points)"] = ""
    # The order of the rows, not that in which the parallel fits ended.
    order = {"dataset": list(dict.fromkeys(frame["dataset"])), "network": list(NETWORKS),
             "training": ["none", *transforms(1.0), "crops"]}
    rank = {k: {name: i for i, name in enumerate(v)} for k, v in order.items()}
    table = table.sort_values(list(order), kind="stable",
                              key=lambda col: col.map(rank[col.name]).fillna(len(rank[col.name])))
    return table.reset_index(drop=True), seeds


def read_log(path, source=0):
    """The fits of a run's ``_runs.jsonl`` log (header and search records skipped).

    Each fit is tagged with its ``source``, ``(source, run)`` (the log's number
    and the run's within the log: runs given the same ``--out`` append to one
    log), and with the run's machine.
    """
    lines = _common.read_text(path, "--log").splitlines()
    rows, machine, run = [], None, 0
    for number, line in enumerate(lines, start=1):
        try:
            record = json_loads(line)
        except ValueError:
            if number == len(lines) and rows:  # a run killed while writing its last fit
                print(f"{path}, line {number}: cut short, left out", file=sys.stderr)
                continue
            raise _common.UsageError(f"--log {path}, line {number}: not a JSON record; is this a "
                             "_runs.jsonl log of benchmarks.augmentation?") from None
        if not isinstance(record, dict):
            raise _common.UsageError(f"--log {path}, line {number}: not a record of this benchmark")
        if "header" in record:  # a run begins (runs with the same --out share a log)
            header = record["header"]
            machine, run = header.get("machine"), run + 1
            part = header.get("part")
            if part is None and "command" in header:  # logs written before "part" was
                part = "ablation" if "--part ablation" in header["command"] else "search"
            if part not in (None, "ablation"):
                raise _common.UsageError(f"--log {path}: a log of --part {part}; --part table reads "
                                 "ablation logs (augmentation_ablation_runs.jsonl)")
        elif "accuracy" in record:
            rows.append({**record, "source": (source, run), "machine": machine})
    if not rows:
        raise _common.UsageError(f"--log {path}: no fits in this log")
    return rows


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.augmentation",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--part", choices=["search", "ablation", "table"], required=True,
                        help="table: the ablation table again, from a run's log (--log)")
    parser.add_argument("--log", action="append", default=[], type=_common.regular_file,
                        help="table: an ablation run's augmentation_ablation_runs.jsonl; "
                             "repeat it to join runs (a seed's fits come from one run)")
    parser.add_argument("--dataset", default="SelfRegulationSCP1",
                        choices=["auto", *_common.DATASETS],
                        help="search: the data set (one with an official split)")
    parser.add_argument("--datasets", default="SelfRegulationSCP1,eegmmidb",
                        type=_common.names(["auto", *_common.DATASETS]),
                        help="ablation: comma list of data sets")
    parser.add_argument("--networks", type=_common.names(NETWORKS), default=",".join(NETWORKS),
                        help="ablation: comma list among EEGNet, DeepConvNet")
    parser.add_argument("--rows", default=None, type=_common.names(ROWS),
                        help="ablation: comma list of rows (none, a transform's name, crops); "
                             "default all")
    parser.add_argument("--grid", choices=["meaning", "all"], default="meaning",
                        help="search: the candidate transforms ('meaning': those that keep a "
                             "trial's meaning in any paradigm; 'all': every transform)")
    parser.add_argument("--search-networks", type=_common.names(NETWORKS), default="EEGNet",
                        help="search: comma list of networks, each searched over the grid")
    parser.add_argument("--ensemble", type=_common.at_least(0, MAX_ENSEMBLE), default=0,
                        metavar="K",
                        help="search: second stage, the chosen configuration against a soft "
                             "vote of K copies of it, on the same inner folds (0: none)")
    parser.add_argument("--stop-after", type=_common.positive_float, default=None,
                        metavar="SECONDS",
                        help="ablation: skip the fits not started within this many seconds")
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                        help="classifier parameters for every fit, e.g. device=cuda")
    _common.add_run_options(parser, "tiny run: synthetic data (unless --dataset names one), "
                                    "2 epochs, 1 seed")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.part == "table":
        if not args.log:
            raise _common.UsageError("--part table needs --log, an ablation run's _runs.jsonl")
        rows = [row for i, path in enumerate(args.log) for row in read_log(path, i)]
        table, seeds = ablation_summary(rows)
        for dataset, kept in seeds.items():
            print(f"{dataset}: seeds {sorted(kept)}")
            for seed, machine in kept.items():
                print(f"  seed {seed}: {machine}")
        print(f"\n{_common.to_markdown(table)}")
        return 0
    args = _common.finish_args(args, quick_seeds=1, full_seeds=5)
    args.datasets = list(args.datasets)
    args.networks, args.search_networks = list(args.networks), list(args.search_networks)
    args.settings = _common.parse_settings(args.set)
    controlled = {"random_state": "--seeds", "max_epochs": "--max-epochs",
                  "augmentation": "the rows (ablation) or --grid (search)",
                  "crop_length": "the rows (ablation) or --grid (search)"}
    clash = sorted(set(args.settings) & set(controlled))
    if clash:
        raise _common.UsageError(f"--set {clash[0]}: the script sets it, from {controlled[clash[0]]}")
    if args.ensemble == 1:
        raise _common.UsageError(f"--ensemble takes 0 (none) or K >= 2; got {args.ensemble}")
    for network in (args.search_networks if args.part == "search" else args.networks):
        known = _classifier(network, 0, None).get_params()
        for name in args.settings:
            if name not in known:
                raise _common.UsageError(f"--set {name}: not a parameter of {network}Classifier; "
                                 f"its parameters: {', '.join(sorted(known))}")
        try:  # the values, as fit would check them
            check_params(_classifier(network, 0, None, args.settings))
        except (ValueError, TypeError) as exc:
            raise _common.UsageError(f"--set: {exc}") from None
    if args.log:
        raise _common.UsageError("--log is read by --part table only")
    args.rows = None if args.rows is None else list(args.rows)
    if args.quick:  # a synthetic set unless one was named
        if args.dataset == "SelfRegulationSCP1":
            args.dataset = "synthetic"
        if args.datasets == ["SelfRegulationSCP1", "eegmmidb"]:
            args.datasets = [args.dataset]
        args.max_epochs = args.max_epochs or 2
    if args.part == "search":
        try:
            data = _common.load_dataset(args.dataset, args.data_dir)
        except (ValueError, FileNotFoundError) as exc:
            raise SystemExit(str(exc)) from None
        print(data.summary(), flush=True)
        stem = f"augmentation_search_{data.name}"
    else:
        stem = "augmentation_ablation"
    report = _common.Report(args.out, stem=stem, module=MODULE, argv=argv)
    log = report.path("runs.jsonl")
    _log(log, {"header": {"command": report.command, "date": report.date,
                          "machine": report.machine, "part": args.part}})
    if args.part == "search":
        run_search(args, data, report, log)
    else:
        run_ablation(args, report, log)
    report.done()


if __name__ == "__main__":
    sys.exit(main())
