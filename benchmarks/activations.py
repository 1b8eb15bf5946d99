"""EEGNet and DeepConvNet with ReLU, LeakyReLU and ELU: test accuracy three ways.

For each model x activation x seed (x fold), ONE fixed-length run is trained
with the classifier's defaults (Adam, lr 1e-3, batch 64, a stratified 20 %
validation split carved from the training data) except
``early_stopping=False``, and with :class:`skeeg.callbacks.HeldOutScoring`
recording the test accuracy after every epoch. Three figures come out of it:

* **test acc, early-stopped on validation** (the honest figure): the test
  accuracy at the epoch that the classifiers' default early stopping
  (``EarlyStopping`` on the validation loss, patience 50, restore the best
  epoch) would keep. It is replayed on the run's validation losses; training
  is identical up to that point, so it equals the score of an early-stopped
  fit with the same seed, at half the compute of training both. Nothing about
  the test set enters the choice.
* **test acc, final epoch**: the test accuracy after the last epoch.
* **optimistic: selected on test**: the best per-epoch test accuracy. The
  epoch is chosen on the test set, so this is NOT an estimate of accuracy on
  new data; it is shown only because studies often report it.

Mean ± sd are over seeds (and folds, for ``eegmmidb``); the confusion
matrices are those of the honest figure, pooled over seeds and folds.

``--quick`` (the README's main job): 1 seed, 40 epochs, EEGNet-full and
DeepConvNet with ELU only, on the first real data set found
(SelfRegulationSCP1 first), or the synthetic set when none is. It takes a few
minutes on 2 CPU cores.

While it trains, a progress bar (epochs, with its ETA, on stderr) moves and a
line is printed as each fit ends. The last lines printed are the answer,
labelled: ``RESULT``, what was trained, the model and activation picked on
validation accuracy, its test accuracy, and its confusion matrix with the
class names (rows true, columns predicted).

Examples
--------
python -m benchmarks.activations --quick
python -m benchmarks.activations --dataset SelfRegulationSCP1 --seeds 3 --max-epochs 100
python -m benchmarks.activations --dataset eegmmidb --models EEGNet-full --activations elu,relu
"""

import time

import numpy as np
import pandas as pd

from skeeg import DeepConvNetClassifier, EEGNetClassifier
from skeeg.callbacks import HeldOutScoring

from . import _common

MODULE = "benchmarks.activations"

MODELS = {
    "EEGNet-full": (EEGNetClassifier, {"separable": "full"}),
    "EEGNet-depthwise": (EEGNetClassifier, {"separable": "depthwise"}),
    "DeepConvNet": (DeepConvNetClassifier, {}),
}
ACTIVATIONS = ("relu", "leaky_relu", "elu")
ACTIVATION_NAMES = {"relu": "ReLU", "leaky_relu": "LeakyReLU", "elu": "ELU"}

#: What ``--quick`` runs (unless the matching option is given).
QUICK = {"models": ("EEGNet-full", "DeepConvNet"), "activations": ("elu",), "max_epochs": 40}

HONEST = "test acc, early-stopped on validation"
FINAL = "test acc, final epoch"
OPTIMISTIC = "optimistic: selected on test"


def make_classifier(model, activation, seed, max_epochs, device, callbacks=None):
    """A skeeg classifier with its defaults, except a fixed-length run."""
    cls, params = MODELS[model]
    return cls(
        activation=activation,
        max_epochs=max_epochs,
        early_stopping=False,
        random_state=seed,
        device=device,
        callbacks=callbacks,
        **params,
    )


def evaluate_run(history, patience):
    """The three test figures of one fixed-length run, from its history.

    Parameters
    ----------
    history : DataFrame
        ``history_`` with ``valid_loss`` and ``test_acc`` per epoch.
    patience : int
        Patience of the early stopping replayed on ``valid_loss``.

    Returns
    -------
    dict
        ``es_epoch`` (epoch kept by early stopping on validation),
        ``valid_acc`` and ``valid_loss`` there (what model selection may
        use), ``honest_acc`` (test accuracy there), ``final_acc``,
        ``optimistic_acc`` and ``optimistic_epoch`` (chosen on test).
    """
    es_epoch, stop_epoch = _common.early_stopping_epoch(history["valid_loss"], patience)
    test = history["test_acc"].to_numpy(dtype=float)
    return {
        "es_epoch": es_epoch,
        "es_stop_epoch": stop_epoch,
        "valid_acc": float(history["valid_acc"].iloc[es_epoch - 1]),
        "valid_loss": float(history["valid_loss"].iloc[es_epoch - 1]),
        "honest_acc": test[es_epoch - 1],
        "final_acc": test[-1],
        "optimistic_acc": test.max(),
        "optimistic_epoch": int(test.argmax()) + 1,
    }


def run_one(task):
    """Train one fixed-length run; return its row, history and honest predictions."""
    split = task["split"]
    scorer = HeldOutScoring(
        split.X_test, split.y_test, classes=np.unique(split.y_train), keep_predictions=True
    )
    clf = make_classifier(
        task["model"], task["activation"], task["seed"], task["max_epochs"], task["device"],
        callbacks=[scorer, _common.EpochTick()],
    )
    start = time.perf_counter()
    clf.fit(split.X_train, split.y_train)
    fit_time = time.perf_counter() - start
    history = clf.history_
    figures = evaluate_run(history, clf.patience)
    fitted_scorer = next(cb for _, cb in clf.net_.callbacks_ if isinstance(cb, HeldOutScoring))
    # Consistency check: the last per-epoch score is the fitted classifier's score.
    final_score = clf.score(split.X_test, split.y_test)
    if not np.isclose(final_score, figures["final_acc"]):
        raise RuntimeError(
            f"HeldOutScoring disagrees with score(): {figures['final_acc']} vs {final_score}"
        )
    row = {
        "model": task["model"],
        "activation": ACTIVATION_NAMES[task["activation"]],
        "seed": task["seed"],
        "split": split.name,
        "max_epochs": task["max_epochs"],
        **figures,
        "fit_time_s": round(fit_time, 1),
        "s_per_epoch": round(fit_time / len(history), 3),
    }
    _common.progress_line(
        f"  fit done: {task['model']} {row['activation']}, seed {task['seed']}, {split.name}: "
        f"{len(history)} epochs in {fit_time:.0f} s; early stopping on validation keeps epoch "
        f"{figures['es_epoch']} (validation accuracy {figures['valid_acc']:.1%})"
    )
    keep = [c for c in ("epoch", "train_loss", "train_acc", "valid_loss", "valid_acc", "test_acc")
            if c in history]
    return {
        "row": row,
        "history": history[keep],
        "y_true": np.asarray(split.y_test),
        "y_pred_honest": fitted_scorer.predictions_[figures["es_epoch"] - 1],
    }


def summarise(runs):
    """One line per model x activation: mean ± sd of the three figures."""
    rows = []
    for (model, activation), group in runs.groupby(["model", "activation"], sort=False):
        rows.append({
            "model": model,
            "activation": activation,
            "runs": len(group),
            "max epochs": int(group["max_epochs"].iloc[0]),
            "early-stop epoch (mean)": round(group["es_epoch"].mean(), 1),
            "stopped within run": _stopped(group),
            "validation acc (%)": _common.mean_sd(group["valid_acc"]),
            f"{HONEST} (%)": _common.mean_sd(group["honest_acc"]),
            f"{FINAL} (%)": _common.mean_sd(group["final_acc"]),
            f"{OPTIMISTIC} (%)": _common.mean_sd(group["optimistic_acc"]),
            "s/epoch": round(group["s_per_epoch"].mean(), 2),
        })
    return pd.DataFrame(rows)


def select_on_validation(runs):
    """The model x activation with the best mean validation accuracy.

    Only the validation splits (carved from the training data) enter the
    choice: mean validation accuracy at the early-stopping epoch, ties broken
    by the lower mean validation loss. The test figure of the chosen cell is
    then an honest estimate of "the best skeeg model"; taking the row with
    the best test figure would not be.

    Returns
    -------
    (model, activation) : tuple of str
    """
    means = runs.groupby(["model", "activation"], sort=False)[["valid_acc", "valid_loss"]].mean()
    # Rounded so that equal accuracies (means of k / n) tie despite float sums.
    accuracy = means["valid_acc"].round(9).to_numpy()
    order = np.lexsort((means["valid_loss"].to_numpy(), -accuracy))
    return means.index[order[0]]


def _stopped(group):
    """``"k/n"``: runs whose replayed early stopping ended before ``max_epochs``.

    For those runs the honest figure is exactly that of the classifier with
    all its defaults (``max_epochs=300``): its training would have stopped at
    the same epoch.
    """
    done = (group["es_stop_epoch"] < group["max_epochs"]).sum()
    return f"{done}/{len(group)}"


def main(argv=None):
    parser = _common.base_parser(
        __doc__.split("\n")[0],
        "the README's main job: 1 seed, 40 epochs, EEGNet-full and DeepConvNet with ELU",
    )
    parser.epilog = __doc__.split("\n", 2)[2]
    parser.add_argument("--models", type=_common.names(MODELS), default=None,
                        help=f"comma list among {', '.join(MODELS)} (default: all)")
    parser.add_argument("--activations", type=_common.names(ACTIVATIONS), default=None,
                        help=f"comma list among {', '.join(ACTIVATIONS)} (default: all)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    args = _common.finish_args(parser.parse_args(argv))
    models = args.models or tuple(QUICK["models"] if args.quick else MODELS)
    activations = args.activations or tuple(QUICK["activations"] if args.quick else ACTIVATIONS)
    max_epochs = args.max_epochs or (
        QUICK["max_epochs"] if args.quick else EEGNetClassifier().max_epochs
    )

    data = _common.load_for_script(args)
    skipped = {m: reason for m in models if (reason := _too_short(m, data)) is not None}
    for model, reason in skipped.items():
        print(f"SKIPPED {model} on {data.name}: {reason}", flush=True)
    models = tuple(m for m in models if m not in skipped)
    if not models:
        raise SystemExit("none of the models takes trials of this shape")
    stem = f"activations_{data.name}" + ("_quick" if args.quick else "")
    report = _common.Report(args.out, module=MODULE, argv=argv, stem=stem)
    tasks = [
        {"model": m, "activation": a, "seed": s, "split": split, "max_epochs": max_epochs,
         "device": args.device}
        for m in models for a in activations for s in args.seeds for split in data.splits
    ]
    print(
        f"{len(tasks)} fixed-length runs of {max_epochs} epochs: models {list(models)}, "
        f"activations {list(activations)}, seeds {args.seeds}, {len(data.splits)} split(s).",
        flush=True,
    )
    results = _common.run_tasks(run_one, tasks, n_jobs=args.n_jobs, desc="activations",
                                steps_per_task=max_epochs, unit="epoch", threads=args.threads)
    runs = pd.DataFrame([r["row"] for r in results])
    runs.insert(0, "dataset", data.name)

    notes = [
        data.summary().replace("\n", " "),
        f"protocol: one fixed-length run of {max_epochs} epochs per seed (and fold), "
        "classifier defaults otherwise (Adam, lr 1e-3, batch 64, 20 % stratified validation "
        "split of the training data).",
        f"'{HONEST}': test accuracy of the epoch that early stopping on the validation loss "
        "(patience 50, restore best) keeps, replayed on the run's validation losses; equal "
        "to an early-stopped fit with the same seed. 'stopped within run': runs whose early "
        "stopping ended before the last epoch; for them the figure is exactly that of the "
        "classifier with all its defaults (max_epochs=300).",
        f"'{FINAL}': after the last epoch. '{OPTIMISTIC}': best per-epoch test accuracy, "
        "the epoch being chosen ON THE TEST SET - not an estimate of accuracy on new data.",
        f"mean ± sd over {len(args.seeds)} seed(s) x {len(data.splits)} split(s).",
        *[f"skipped {model}: {reason}" for model, reason in skipped.items()],
    ]
    summary = summarise(runs)
    summary.insert(0, "dataset", data.name)
    chosen = select_on_validation(runs)
    summary.insert(3, "selected on validation", [
        "yes" if (m, a) == chosen else "" for m, a in zip(summary["model"], summary["activation"])
    ])
    notes.append(
        f"selected on validation: {chosen[0]} {chosen[1]} (best mean validation accuracy at the "
        "early-stopping epoch, ties broken by validation loss; no test figure used). Its "
        f"'{HONEST}' is the honest figure for the best skeeg model."
    )
    report.table(runs, "runs", f"activations on {data.name}: every run", notes, show=False)
    report.table(summary, "summary", f"activations on {data.name}", notes)

    histories = pd.concat(
        [r["history"].assign(**{k: r["row"][k] for k in ("model", "activation", "seed", "split")})
         for r in results],
        ignore_index=True,
    )
    histories.to_csv(report.path("histories.csv"), index=False)

    labels = data.classes.tolist()
    print(f"\nConfusion matrices of the honest figure ({HONEST}), pooled over seeds and splits:")
    have_plt = not args.no_plots and _common.use_agg()
    for (model, activation), group in runs.groupby(["model", "activation"], sort=False):
        picked = [r for r in results
                  if r["row"]["model"] == model and r["row"]["activation"] == activation]
        y_true = np.concatenate([r["y_true"] for r in picked])
        y_pred = np.concatenate([r["y_pred_honest"] for r in picked])
        table = _common.confusion_table(y_true, y_pred, labels)
        accuracy = np.mean(y_true == y_pred)
        print(f"\n{model} {activation}: accuracy {accuracy:.1%} on {len(y_true)} test "
              f"predictions ({len(picked)} run(s))\n{table.to_string()}")
        table.reset_index().to_csv(report.path(f"confusion_{model}_{activation}.csv"), index=False)
        if have_plt:
            from skeeg.plotting import plot_confusion_matrix

            fig = plot_confusion_matrix(
                y_true, y_pred, labels=labels,
                title=f"{model} {activation} on {data.name}\nearly-stopped on validation; "
                f"{len(picked)} run(s) pooled",
                path=report.path(f"confusion_{model}_{activation}.png"),
            )
            _close(fig)

    if have_plt:
        from skeeg.plotting import plot_learning_curves

        curves = {}
        for r in results:
            row = r["row"]
            curves.setdefault(row["model"], {}).setdefault(row["activation"], []).append(
                r["history"])
        fig = plot_learning_curves(
            curves,
            chance=1 / len(labels),
            title=f"{data.name}: accuracy per epoch (fixed-length runs; mean of "
            f"{len(args.seeds) * len(data.splits)} run(s), band = min-max)",
            path=report.path("learning_curves.png"),
        )
        _close(fig)
    report.done()
    print_result(data, runs, results, chosen, models, activations, max_epochs, args, report)
    return summary


def print_result(data, runs, results, chosen, models, activations, max_epochs, args, report):
    """The job's answer, labelled, last on the console: what ran, what was picked, its test score."""
    model, activation = chosen
    picked = runs[(runs["model"] == model) & (runs["activation"] == activation)]
    kept = [r for r in results
            if r["row"]["model"] == model and r["row"]["activation"] == activation]
    y_true = np.concatenate([r["y_true"] for r in kept])
    y_pred = np.concatenate([r["y_pred_honest"] for r in kept])
    table = _common.confusion_table(y_true, y_pred, data.classes.tolist())
    kind = "REAL EEG" if data.kind == "real" else "SYNTHETIC EEG"
    n_runs = len(args.seeds) * len(data.splits)
    tested = ", ".join(f"{m} x {'/'.join(ACTIVATION_NAMES[a] for a in activations)}"
                       for m in models)
    lines = [
        "",
        "=" * 72,
        f"RESULT: {data.name} ({kind}), {data.protocol}",
        f"  trained: {tested}; {len(args.seeds)} seed(s) x {len(data.splits)} split(s), "
        f"{max_epochs} epochs per run; the epoch kept is chosen by early stopping on the validation loss",
        f"  picked on validation accuracy (the test split plays no part): {model} with "
        f"{activation} (validation accuracy {_common.mean_sd(picked['valid_acc'])} %)",
        f"  its test accuracy: {_common.mean_sd(picked['honest_acc'])} % "
        f"({len(y_true) // max(1, len(kept))} test trials per run, {n_runs} run(s); chance "
        f"{100 / len(data.classes):.0f} %)",
        "  confusion matrix on the test trials (rows: true class, columns: predicted class"
        + (", pooled over runs" if n_runs > 1 else "") + "):",
        *("    " + line for line in table.to_string().splitlines()),
        f"  tables and figures: {report.out} ({report.stem}_*)",
        "=" * 72,
    ]
    print("\n".join(lines), flush=True)


def _too_short(model, data):
    """Why ``model`` cannot take the data's trials (too few samples), or None."""
    cls, params = MODELS[model]
    try:
        cls._module_class(data.n_channels, data.n_times, len(data.classes), **params)
    except ValueError as exc:
        return str(exc)
    return None


def _close(fig):
    import matplotlib.pyplot as plt

    plt.close(fig)


if __name__ == "__main__":
    main()
