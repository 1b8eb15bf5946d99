"""Hyper-parameter sweeps with GridSearchCV on the training split.

The study's grids: epochs, batch size (32, 64, 256, 1024), learning rate
(7e-4, 1e-3, 1e-2) and optimiser (Adam, SGD, SGD with momentum, Adagrad,
RMSprop). As in the study, each factor is swept on its own around the
classifier's defaults (one-factor sweeps; a full factorial of the four grids
is 180 candidates per fold, ``--factorial`` runs it if you can afford it).

For each factor, ``GridSearchCV`` scores the candidates by stratified k-fold
cross-validation INSIDE the training split (each inner fit early-stops on a
validation split of its own training folds, the classifier's default), refits
the chosen value on the whole training split and scores it ONCE on the test
split. ``cv_results_`` are saved as CSV and markdown.

Parallel and distributed
------------------------
``--n-jobs N`` runs the inner fits in N local processes. ``--dask-workers N``
starts a local Dask cluster (``distributed.LocalCluster``, N single-threaded
worker processes) and ``--scheduler tcp://host:port`` uses a running Dask
cluster instead: scikit-learn's fits are then sent to the Dask workers
through ``joblib.parallel_config(backend="dask")``. A user who outgrows one
machine changes that one flag; the workers need skeeg installed.

``--grid PARAM=V1,V2,...`` (repeatable) sweeps any other argument of the
classifier the same way, for example the architecture for short trials
(``--grid kernel_length=25,51``); given alone, it replaces the study's
factors.

``--quick``: 1 seed, 20 epochs, 2 inner folds, the batch-size and
learning-rate sweeps only.

Examples
--------
python -m benchmarks.sweeps --dataset SelfRegulationSCP1 --quick
python -m benchmarks.sweeps --dataset FingerMovements --factors lr,optimizer --n-jobs 2
python -m benchmarks.sweeps --dataset FingerMovements --grid kernel_length=25,51 --grid dropout=0.25,0.5 --factorial
python -m benchmarks.sweeps --dataset SelfRegulationSCP1 --dask-workers 4
python -m benchmarks.sweeps --dataset SelfRegulationSCP1 --scheduler tcp://10.0.0.5:8786
"""

import contextlib
import time

import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from . import _common
from .activations import ACTIVATIONS, MODELS

MODULE = "benchmarks.sweeps"

#: The study's grids.
GRIDS = {
    "max_epochs": (100, 200, 300),
    "batch_size": (32, 64, 256, 1024),
    "lr": (7e-4, 1e-3, 1e-2),
    "optimizer": ("adam", "sgd", "momentum", "adagrad", "rmsprop"),
}
#: ``--quick``: shorter runs, so a shorter epochs grid too.
QUICK = {
    "max_epochs": 20,
    "cv": 2,
    "factors": ("batch_size", "lr"),
    "grids": {"max_epochs": (10, 20, 40)},
}


def make_estimator(model, activation, seed, max_epochs, device):
    """The classifier with its defaults (early stopping on), and a seed."""
    cls, params = MODELS[model]
    return cls(activation=activation, max_epochs=max_epochs, random_state=seed, device=device,
               **params)


def grid_search(estimator, param_grid, X, y, cv, n_jobs=1, verbose=0):
    """Fit ``GridSearchCV`` with accuracy scoring; return the fitted search."""
    search = GridSearchCV(
        estimator, param_grid, scoring="accuracy", cv=cv, n_jobs=n_jobs, refit=True,
        error_score="raise", verbose=verbose,
    )
    return search.fit(X, y)


def _set_torch_threads(n):
    import torch

    torch.set_num_threads(n)
    return n


@contextlib.contextmanager
def dask_backend(n_workers=None, scheduler=None, processes=True, torch_threads=None):
    """Send joblib's work (GridSearchCV's fits) to a Dask cluster.

    Parameters
    ----------
    n_workers : int, default=None
        Start a ``distributed.LocalCluster`` of this many single-threaded
        workers (processes unless ``processes=False``).
    scheduler : str, default=None
        Address of a running Dask scheduler (``tcp://host:port``); used
        instead of a local cluster.
    processes : bool, default=True
        Worker processes (True) or threads of this process (False).
    torch_threads : int, default=None
        Torch threads per worker of a local cluster; by default the cores
        divided by the workers.

    Yields
    ------
    client : distributed.Client
        The client; the cluster is closed on exit.
    """
    import joblib
    from dask.distributed import Client, LocalCluster

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=processes,
            dashboard_address=None,
        )
        client = Client(cluster)
        if processes:
            client.run(_set_torch_threads, torch_threads or _common.torch_threads_for(n_workers))
    try:
        with joblib.parallel_config(backend="dask"):
            yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def parse_grid(texts, estimator):
    """``["kernel_length=25,51", ...]`` -> ``{"kernel_length": [25, 51], ...}``.

    Values are read as int, float, ``True``/``False``/``None`` or, failing
    those, kept as strings. Every name must be a parameter of ``estimator``,
    given once, with no value twice (a repeated candidate is the same fits
    again).
    """
    grids = {}
    valid = estimator.get_params(deep=False)
    for text in texts:
        name, sep, values = text.partition("=")
        name = name.strip()
        items = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not items:
            raise _common.UsageError(f"--grid expects PARAM=V1,V2,..., got {text!r}")
        if name not in valid:
            raise _common.UsageError(f"--grid: {type(estimator).__name__} has no parameter {name!r}; "
                             f"choose among {sorted(valid)}")
        if name in grids:
            raise _common.UsageError(f"--grid {name}: given twice; list its values in one --grid")
        repeated = _common._repeated(items)
        if repeated:
            raise _common.UsageError(f"--grid {name}: value(s) {', '.join(repeated)} given twice")
        grids[name] = [_parse_value(v) for v in items]
    return grids


def _parse_value(text):
    special = {"true": True, "false": False, "none": None}
    if text.lower() in special:
        return special[text.lower()]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _value_text(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


def main(argv=None):
    parser = _common.base_parser(
        __doc__.split("\n")[0],
        "1 seed, 20 epochs, 2 inner folds, batch-size and learning-rate sweeps only",
    )
    parser.epilog = __doc__.split("\n", 2)[2]
    parser.add_argument("--model", default="EEGNet-full", choices=list(MODELS))
    parser.add_argument("--activation", default="elu", choices=list(ACTIVATIONS))
    parser.add_argument("--factors", type=_common.names(GRIDS), default=None,
                        help=f"comma list among {', '.join(GRIDS)} (default: all; quick: "
                        f"{', '.join(QUICK['factors'])})")
    parser.add_argument("--factorial", action="store_true",
                        help="one grid over the product of the factors instead of one-factor "
                        "sweeps")
    parser.add_argument("--cv", type=_common.at_least(2, _common.MAX_FOLDS), default=None,
                        help="inner stratified folds (default 3; quick 2)")
    parser.add_argument("--grid", action="append", default=[], metavar="PARAM=V1,V2,...",
                        help="sweep another classifier argument (repeatable); alone, it "
                        "replaces the study's factors")
    cluster = parser.add_mutually_exclusive_group()
    cluster.add_argument("--dask-workers", type=_common.at_least(1, _common.cpu_cores),
                         default=None,
                         help="run the fits on a local Dask cluster of N worker processes")
    cluster.add_argument("--scheduler", type=_common.scheduler_address, default=None,
                         help="run the fits on the Dask cluster at this address")
    args = _common.finish_args(parser.parse_args(argv))
    estimator = make_estimator(args.model, args.activation, 0, 1, "cpu")
    custom = parse_grid(args.grid, estimator)
    _common.check_values(parser, "--grid", estimator, custom)  # before any data or fit
    if args.factors is not None:
        factors = args.factors
    elif custom:
        factors = ()
    else:
        factors = tuple(QUICK["factors"] if args.quick else GRIDS)
    unknown = [f for f in factors if f not in GRIDS]
    if unknown or not (factors or custom):
        raise _common.UsageError(f"unknown factor(s) {unknown}; choose among {list(GRIDS)}")
    factors += tuple(f for f in custom if f not in factors)
    grids = {**GRIDS, **(QUICK["grids"] if args.quick else {}), **custom}
    max_epochs = args.max_epochs or (QUICK["max_epochs"] if args.quick else 300)
    n_folds = args.cv or (QUICK["cv"] if args.quick else 3)
    searches = ([{f: list(grids[f]) for f in factors}] if args.factorial
                else [{f: list(grids[f])} for f in factors])

    data = _common.load_for_script(args)
    # StratifiedKFold needs n_folds trials of each class in every training split.
    fewest = min(np.unique(split.y_train, return_counts=True)[1].min() for split in data.splits)
    if n_folds > fewest:
        parser.error(f"argument --cv: {n_folds} folds, but a class of {data.name} has "
                     f"{fewest} training trials; use --cv {fewest} or fewer")
    stem = f"sweeps_{data.name}" + ("_quick" if args.quick else "")
    report = _common.Report(args.out, module=MODULE, argv=argv, stem=stem,
                            extra_versions=("dask", "distributed", "joblib"))
    if args.scheduler or args.dask_workers:
        backend = dask_backend(n_workers=args.dask_workers, scheduler=args.scheduler,
                               torch_threads=args.threads)
        n_jobs, where = -1, (f"Dask cluster at {args.scheduler}" if args.scheduler
                             else f"local Dask cluster of {args.dask_workers} worker processes")
    else:
        backend, n_jobs = contextlib.nullcontext(), args.n_jobs
        where = f"{args.n_jobs} local process(es)"
    jobs = [(split, seed, grid) for split in data.splits for seed in args.seeds
            for grid in searches]
    n_fits = sum(int(np.prod([len(v) for v in g.values()])) * n_folds + 1 for _, _, g in jobs)
    longest = max([max_epochs, *(e for g in searches for e in g.get("max_epochs", ()))])
    print(f"{len(jobs)} grid search(es), {n_fits} fits of up to {longest} epochs "
          f"({args.model} {args.activation}), inner {n_folds}-fold CV, on {where}.", flush=True)

    from tqdm.auto import tqdm

    searched, cv_tables = [], []
    with backend:
        for split, seed, grid in tqdm(jobs, desc="grid searches", unit="search"):
            estimator = make_estimator(args.model, args.activation, seed, max_epochs, args.device)
            cv = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
            start = time.perf_counter()
            search = grid_search(estimator, grid, split.X_train, split.y_train, cv, n_jobs=n_jobs)
            seconds = time.perf_counter() - start
            test_acc = search.score(split.X_test, split.y_test)  # once, the chosen model
            factor = " x ".join(grid)
            chosen = ", ".join(_value_text(search.best_params_[f]) for f in grid)
            searched.append({
                "factor": factor, "split": split.name, "seed": seed, "chosen": chosen,
                "inner CV acc of chosen (%)": round(100 * search.best_score_, 1),
                "test acc of chosen (%)": round(100 * test_acc, 1),
                "refit epochs (early-stopped)": len(search.best_estimator_.history_),
                "search time (s)": round(seconds),
            })
            table = pd.DataFrame(search.cv_results_)
            params = [c for c in table.columns if c.startswith("param_")]
            keep = table[params + ["mean_test_score", "std_test_score", "rank_test_score",
                                   "mean_fit_time"]].copy()
            keep.columns = [c.removeprefix("param_") for c in keep.columns]
            for f in grid:
                keep[f] = keep[f].map(_value_text)
            keep.insert(0, "factor", factor)
            keep.insert(1, "split", split.name)
            keep.insert(2, "seed", seed)
            cv_tables.append(keep)

    notes = [
        data.summary().replace("\n", " "),
        f"{args.model} {args.activation}, defaults otherwise (max_epochs {max_epochs} unless "
        "swept, early stopping on a 20 % validation split of each fit's own training data).",
        f"GridSearchCV with stratified {n_folds}-fold CV inside the training split "
        f"({'factorial grid' if args.factorial else 'one factor at a time around the defaults'})"
        "; the chosen value is refit on the whole training split and scored once on the test "
        f"split. Fits ran on {where}.",
    ]
    results = pd.DataFrame(searched)
    cv_results = pd.concat(cv_tables, ignore_index=True)
    for col in ("mean_test_score", "std_test_score", "mean_fit_time"):
        cv_results[col] = cv_results[col].round(4)
    report.table(cv_results, "cv_results", f"sweeps on {data.name}: cv_results_", notes,
                 show=False)
    summary = (
        results.groupby("factor", sort=False)
        .agg(**{
            "searches": ("seed", "size"),
            "chosen value(s)": ("chosen", lambda s: "; ".join(sorted(set(s)))),
            "inner CV acc of chosen (%)": ("inner CV acc of chosen (%)",
                                           lambda s: _common.mean_sd(s, scale=1)),
            "test acc of chosen (%)": ("test acc of chosen (%)",
                                       lambda s: _common.mean_sd(s, scale=1)),
        })
        .reset_index()
    )
    report.table(results, "searches", f"sweeps on {data.name}: every search", notes, show=False)
    report.table(summary, "summary", f"sweeps on {data.name}", notes)
    # The inner-CV scores of every candidate, averaged over seeds and splits.
    for grid in searches:
        factor = " x ".join(grid)
        part = cv_results[cv_results["factor"] == factor]
        mean = (part.groupby(list(grid), sort=False)["mean_test_score"].agg(["mean", "size"])
                .reset_index())
        mean["mean"] = (100 * mean["mean"]).round(1)
        mean.columns = [*grid, "inner CV acc (%)", "searches"]
        print(f"\n{factor}: inner-CV accuracy of each candidate (training split only)\n"
              + _common.to_markdown(mean))
    report.done()
    return results, cv_results


if __name__ == "__main__":
    main()
