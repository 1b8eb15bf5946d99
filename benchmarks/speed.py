"""Speed of skeeg against a plain PyTorch loop: training, prediction, memory, sweeps.

    python -m benchmarks.speed            # about 10 minutes on 2 cores
    python -m benchmarks.speed --quick    # about 2 minutes
    python -m benchmarks.speed --threads 1 --parts train,predict

Reference: a plain PyTorch loop (data held as tensors, shuffled manual
batches of 64, Adam at lr 1e-3) on the course networks written as an
``nn.Sequential`` of the layers the course prints, on synthetic 1080 trials x
2 channels x 750 samples. Timings are interleaved (reference, skeeg,
reference, ...) and summarised by medians, so that the load of other
processes on a shared machine hits both sides alike: read the ratios, not
the absolute times. The header says how loaded the machine was.

Parts (``--parts``, default all):

* ``train``: seconds per epoch of the reference loop, of skeeg's classifier
  (``validation_fraction=0, early_stopping=False``, a fixed ``max_epochs``)
  and of the same plain loop on skeeg's torch module run through skeeg's
  CPU kernels (``skeeg._fast.training_forward``, as the classifier runs it):
  the share of the module and its kernels, without skorch.
* ``channels``: the ``train`` measurement at 2, 22, 64 and 128 channels of
  640 samples (EEGMMIDB's trial length; 256 trials, batch 64), as the
  median time of one epoch (what a long fit pays per epoch), where the
  temporal convolution runs on every channel: the fused CPU paths must keep
  their lead over the plain loop at every montage size, not only at 2.
* ``predict``: one-trial ``predict_proba`` of the fitted classifier (the
  whole call, input validation included) against the reference module's
  forward pass in evaluation mode.
* ``memory``: peak resident memory added by ``predict_proba`` on 1,000 and
  on 100,000 trials (in a fresh process; the input is allocated first).
* ``sweep``: a ``GridSearchCV`` of 20 small fits (5 and 20 epochs) with
  ``n_jobs=2``, split into training steps, the rest of ``fit``, scoring, and
  time outside the fits (process start, imports, data transfer, waiting).
* ``gpu`` (only where CUDA is available; in the default list only then):
  trials per second of whole ``fit`` calls on the GPU at batch 64 and 256,
  against the reference loop with its data on the GPU.

On 2 shared cores, 2 torch threads can run several times slower than 1
when other processes are busy (threads wait for each other at every
operation): compare runs at the same ``--threads`` and load.
"""

import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from joblib.externals.loky import get_reusable_executor
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from skorch.callbacks import Callback
from torch import nn

from benchmarks._common import DEFAULT_OUT, Report, at_least, cpu_cores, names, out_folder
from skeeg import DeepConvNetClassifier, EEGNetClassifier
from skeeg._fast import training_forward
from skeeg._json import loads as json_loads
from skeeg.models import DeepConvNet, EEGNet

N_TRIALS, N_CHANNELS, N_TIMES, BATCH_SIZE, LR = 1080, 2, 750, 64, 1e-3
CLASSIFIERS = {"EEGNet": EEGNetClassifier, "DeepConvNet": DeepConvNetClassifier}
MODULES = {"EEGNet": EEGNet, "DeepConvNet": DeepConvNet}
PARTS = ("train", "channels", "predict", "memory", "sweep", "gpu")
#: Montages of the ``channels`` part (issue 12): 2 (C3/C4), 22 (BCI IV 2a), 64
#: (EEGMMIDB), 128 (high density); trials of 640 samples (EEGMMIDB's 4 s at 160 Hz).
CHANNEL_COUNTS, CHANNELS_N_TIMES, CHANNELS_N_TRIALS = (2, 22, 64, 128), 640, 256
SWEEP_SHARES = (
    "training steps",
    "rest of fit (validation, building, skorch, epochs)",
    "scoring (predict)",
    "before each worker's first fit (start, imports, data)",
    "other outside fits (dispatch, results, idle)",
)


# ----------------------------------------------------------------------
# The reference: the course networks as printed, trained by a plain loop
def course_eegnet(n_channels=N_CHANNELS, n_times=N_TIMES, n_classes=2):
    """The course EEGNet: 16 temporal filters of 51, depth 2, 32 filters of 15."""
    return nn.Sequential(
        nn.Conv2d(1, 16, (1, 51), padding=(0, 25), bias=False),
        nn.BatchNorm2d(16),
        nn.Conv2d(16, 32, (n_channels, 1), groups=16, bias=False),
        nn.BatchNorm2d(32),
        nn.ELU(),
        nn.AvgPool2d((1, 4)),
        nn.Dropout(0.25),
        nn.Conv2d(32, 32, (1, 15), padding=(0, 7), bias=False),
        nn.BatchNorm2d(32),
        nn.ELU(),
        nn.AvgPool2d((1, 8)),
        nn.Dropout(0.25),
        nn.Flatten(),
        nn.Linear(32 * (n_times // 4 // 8), n_classes),
    )


def course_deepconvnet(n_channels=N_CHANNELS, n_times=N_TIMES, n_classes=2):
    """The course DeepConvNet: filters 25, 50, 100, 200, kernels of 5, max pooling of 2."""
    layers = [nn.Conv2d(1, 25, (1, 5), bias=False), nn.Conv2d(25, 25, (n_channels, 1), bias=False)]
    length, widths = n_times, (25, 25, 50, 100, 200)
    for n_in, n_out in zip(widths[1:], widths[2:] + (None,)):
        layers += [nn.BatchNorm2d(n_in), nn.ELU(), nn.MaxPool2d((1, 2)), nn.Dropout(0.5)]
        length = (length - 4) // 2
        if n_out is not None:
            layers.append(nn.Conv2d(n_in, n_out, (1, 5), bias=False))
    layers += [nn.Flatten(), nn.Linear(widths[-1] * length, n_classes)]
    return nn.Sequential(*layers)


REFERENCES = {"EEGNet": course_eegnet, "DeepConvNet": course_deepconvnet}


class Trials(nn.Module):
    """Feeds ``(batch, channels, time)`` trials to a module taking images."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(x.unsqueeze(1))


def plain_fit(module, X, y, epochs, seed, batch_size=BATCH_SIZE, epoch_seconds=None,
              forward=None):
    """The reference loop: tensors, shuffled manual batches, Adam (all on X's device).

    ``epoch_seconds``, a list, receives each epoch's wall time (on a GPU,
    synchronised at the epoch's end). ``forward(module, batch)`` gives the
    output (default: ``module(batch)``).
    """
    torch.manual_seed(seed)
    optimizer = torch.optim.Adam(module.parameters(), lr=LR)
    criterion = nn.CrossEntropyLoss()
    module.train()
    for _ in range(epochs):
        began = time.perf_counter()
        order = torch.randperm(len(X), device=X.device)
        for start in range(0, len(X), batch_size):
            index = order[start : start + batch_size]
            optimizer.zero_grad()
            out = module(X[index]) if forward is None else forward(module, X[index])
            criterion(out, y[index]).backward()
            optimizer.step()
        if epoch_seconds is not None:
            if X.is_cuda:
                torch.cuda.synchronize(X.device)
            epoch_seconds.append(time.perf_counter() - began)
    return module


def synthetic(n_trials=N_TRIALS, seed=0, n_channels=N_CHANNELS, n_times=N_TIMES):
    """Random trials with random binary labels (speed does not depend on the values)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_trials, n_channels, n_times), dtype=np.float32)
    return X, rng.integers(0, 2, n_trials)


# ----------------------------------------------------------------------
# Measurements
def time_training(name, epochs, repeats, n_trials=N_TRIALS, n_channels=N_CHANNELS,
                  n_times=N_TIMES, per_epoch=False):
    """Seconds per epoch of the reference loop, skeeg's classifier and the loop on skeeg's module.

    The three are interleaved, run after run. By default a run's whole time
    (building the network included) over its epochs; with ``per_epoch``,
    the median of the epochs' own times (skeeg's from ``history_["dur"]``),
    what a long fit costs per epoch.
    """
    X, y = synthetic(n_trials, n_channels=n_channels, n_times=n_times)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    classifier = CLASSIFIERS[name]

    def reference(seed, seconds):
        torch.manual_seed(seed)
        plain_fit(Trials(REFERENCES[name](n_channels, n_times)), Xt, yt, epochs, seed,
                  epoch_seconds=seconds)

    def skeeg(seed, seconds):
        clf = classifier(max_epochs=epochs, batch_size=BATCH_SIZE, lr=LR, validation_fraction=0,
                         early_stopping=False, random_state=seed).fit(X, y)
        seconds.extend(clf.history_["dur"].tolist())

    def skeeg_module(seed, seconds):
        torch.manual_seed(seed)
        plain_fit(MODULES[name](n_channels, n_times, 2), Xt, yt, epochs, seed,
                  epoch_seconds=seconds, forward=training_forward)

    variants = {"reference loop": reference, "skeeg classifier": skeeg,
                "plain loop, skeeg module": skeeg_module}
    times = {key: [] for key in variants}
    for repeat in range(repeats):
        for key, run in variants.items():
            seconds = []
            start = time.perf_counter()
            run(repeat, seconds)
            if per_epoch:
                times[key].extend(seconds)
            else:
                times[key].append((time.perf_counter() - start) / epochs)
    return {key: statistics.median(values) for key, values in times.items()}


def time_gpu_training(name, epochs, repeats, batch_size, device="cuda"):
    """Trials per second on a GPU: the reference loop against skeeg's classifier.

    The reference holds the data on the GPU and steps eagerly, in the
    default layout and in the channels-last layout skeeg uses. skeeg runs
    its whole ``fit`` (building the network, copying the data, capturing
    the graph included): with a CUDA graph, eagerly, and with a graph in
    bfloat16. Runs are interleaved; each ends with a synchronisation.
    """
    X, y = synthetic()
    Xt, yt = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)
    classifier = CLASSIFIERS[name]
    replayed, epoch_times = {}, {}

    def reference(key, memory_format=torch.contiguous_format):
        def run(seed):
            module = Trials(REFERENCES[name]()).to(device, memory_format=memory_format)
            epoch_times[key] = []
            plain_fit(module, Xt, yt, epochs, seed, batch_size, epoch_times[key])
        return run

    def skeeg(key, **settings):
        def run(seed):
            clf = classifier(max_epochs=epochs, batch_size=batch_size, lr=LR,
                             validation_fraction=0, early_stopping=False, random_state=seed,
                             device=device, **settings).fit(X, y)
            replayed[key] = clf.cuda_graph_
            epoch_times[key] = clf.history_.dur.tolist()
        return run

    variants = {
        "reference loop (eager, data on GPU)": reference("reference loop (eager, data on GPU)"),
        "reference loop, channels-last": reference("reference loop, channels-last",
                                                   torch.channels_last),
        "skeeg, CUDA graph": skeeg("skeeg, CUDA graph", cuda_graph=True),
        "skeeg, eager": skeeg("skeeg, eager", cuda_graph=False),
        "skeeg, CUDA graph, bfloat16": skeeg("skeeg, CUDA graph, bfloat16",
                                              cuda_graph=True, precision="bfloat16"),
    }
    for run in variants.values():  # warm up: cuDNN, cuBLAS and the allocator
        run(0)
        torch.cuda.synchronize(device)
    times = {key: [] for key in variants}
    steady = {key: [] for key in variants}
    for repeat in range(repeats):
        for key, run in variants.items():
            start = time.perf_counter()
            run(repeat)
            torch.cuda.synchronize(device)
            times[key].append(time.perf_counter() - start)
            # The second half's epochs, after both graphs are captured (the last
            # in the (WARMUP_STEPS + 1)-th epoch): the rate of a long fit.
            steady[key] += epoch_times[key][epochs // 2:]
    return {key: (len(X) * epochs / statistics.median(times[key]),
                  len(X) / statistics.median(steady[key]), replayed.get(key))
            for key in variants}


def time_prediction(name, calls, repeats):
    """Median ms of one-trial predict_proba and of the reference module's eval forward."""
    X, y = synthetic(256)
    clf = CLASSIFIERS[name](max_epochs=1, validation_fraction=0, early_stopping=False,
                            random_state=0).fit(X, y)
    reference = Trials(REFERENCES[name]()).eval()
    one, one_tensor = X[:1], torch.from_numpy(X[:1])

    def forward():
        with torch.inference_mode():
            reference(one_tensor)

    variants = {"skeeg predict_proba": lambda: clf.predict_proba(one),
                "reference module eval forward": forward}
    times = {key: [] for key in variants}
    for key, run in variants.items():  # warm up
        run()
    for _ in range(repeats):
        for key, run in variants.items():
            start = time.perf_counter()
            for _ in range(calls):
                run()
            times[key].append((time.perf_counter() - start) / calls * 1e3)
    return {key: statistics.median(values) for key, values in times.items()}


def _peak_rss_mb(status="VmHWM"):
    """Current (VmRSS) or peak (VmHWM) resident memory of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(status + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no /proc/self/status")


def _reset_peak_rss():
    """Reset VmHWM to the current RSS (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


def _memory_child(name, sizes, threads, queue):
    torch.set_num_threads(threads)
    X, y = synthetic(256)
    clf = CLASSIFIERS[name](max_epochs=1, validation_fraction=0, early_stopping=False,
                            random_state=0).fit(X, y)
    clf.predict_proba(X[:8])
    results = []
    for n_trials in sizes:
        trials = synthetic(n_trials, seed=1)[0]
        _reset_peak_rss()
        before = _peak_rss_mb("VmRSS")
        start = time.perf_counter()
        proba = clf.predict_proba(trials)
        seconds = time.perf_counter() - start
        results.append((n_trials, _peak_rss_mb() - before, seconds, proba.nbytes / 2**20))
        del trials, proba
    queue.put(results)


def measure_memory(name, sizes, threads):
    """Peak RSS growth of predict_proba per input size, each run in a fresh process."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_memory_child, args=(name, sizes, threads, queue))
    process.start()
    results = queue.get()
    process.join()
    return results


class SweepLog(Callback):
    """skorch callback: sums the time of the training batches (forward, backward, step).

    It also carries the file that :class:`TimedEEGNet` appends its timings
    to, so that the path reaches the worker processes with the estimator.
    """

    def __init__(self, path):
        self.path = path

    def initialize(self):
        self.steps_, self.start_ = 0.0, None
        return self

    def on_batch_begin(self, net, training=False, **kwargs):
        if training:
            self.start_ = time.perf_counter()

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.steps_ += time.perf_counter() - self.start_


class TimedEEGNet(EEGNetClassifier):
    """EEGNetClassifier that logs where each fit and score spends its time (sweep part).

    Needs a :class:`SweepLog` named ``"sweep_log"`` in ``callbacks``.
    """

    def fit(self, X, y):
        start = time.perf_counter()
        super().fit(X, y)
        steps = dict(self.net_.callbacks_)["sweep_log"].steps_
        self._record("fit", start, steps=steps)
        return self

    def score(self, X, y, sample_weight=None):
        start = time.perf_counter()
        score = super().score(X, y, sample_weight=sample_weight)
        self._record("score", start)
        return score

    def _record(self, kind, start, **extra):
        seconds = time.perf_counter() - start
        record = dict(pid=os.getpid(), kind=kind, start=time.time() - seconds, seconds=seconds)
        with open(dict(self.callbacks)["sweep_log"].path, "a", encoding="utf-8") as file:
            file.write(json.dumps({**record, **extra}) + "\n")


def time_sweep(epochs, n_jobs=2):
    """A 20-fit GridSearchCV: where the workers' time goes (seconds per share).

    Starts with fresh worker processes: joblib otherwise reuses those of an
    earlier sweep, and their start-up is then paid once for both.
    """
    get_reusable_executor().shutdown(wait=True)
    X, y = synthetic()
    grid = {"lr": [1e-3, 2e-3, 3e-3, 5e-3, 1e-2], "dropout": [0.25, 0.5]}  # 10 candidates
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "log.jsonl"
        estimator = TimedEEGNet(max_epochs=epochs, validation_fraction=0, early_stopping=False,
                                random_state=0, callbacks=[("sweep_log", SweepLog(str(log)))])
        cv = StratifiedKFold(2, shuffle=True, random_state=0)
        search = GridSearchCV(estimator, grid, cv=cv, n_jobs=n_jobs, refit=False)
        start_wall, start = time.time(), time.perf_counter()
        search.fit(X, y)
        wall = time.perf_counter() - start
        records = [json_loads(line) for line in log.read_text().splitlines()]
    fits = [r for r in records if r["kind"] == "fit"]
    scores = [r for r in records if r["kind"] == "score"]
    worker_time = wall * n_jobs
    steps = sum(r["steps"] for r in fits)
    fit_rest = sum(r["seconds"] - r["steps"] for r in fits)
    scoring = sum(r["seconds"] for r in scores)
    first_start = {}
    for r in records:
        first_start[r["pid"]] = min(first_start.get(r["pid"], np.inf), r["start"])
    startup = sum(t - start_wall for t in first_start.values())
    outside = worker_time - steps - fit_rest - scoring
    shares = dict(zip(SWEEP_SHARES, (steps, fit_rest, scoring, startup, outside - startup)))
    return {"fits": len(fits), "workers": len(first_start), "wall s": wall,
            "worker time s (wall x n_jobs)": worker_time, **shares}


# ----------------------------------------------------------------------
def load_line():
    """The 1-minute load average and what else runs, for the table header."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return "load unknown"
    return (f"1-min load average {load:.2f} on {os.cpu_count()} cores at the start "
            "(other users' jobs included)")


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and repeats")
    parser.add_argument("--threads", type=at_least(1, cpu_cores), default=torch.get_num_threads(),
                        help="torch threads (default: torch's default, %(default)s here)")
    default_parts = [part for part in PARTS if part != "gpu" or torch.cuda.is_available()]
    parser.add_argument("--parts", type=names(PARTS), default=tuple(default_parts),
                        help=f"comma list among {', '.join(PARTS)} (default: "
                             f"{', '.join(default_parts)})")
    parser.add_argument("--out", type=out_folder, default=str(DEFAULT_OUT),
                        help="results folder")
    args = parser.parse_args(argv)
    parts = list(args.parts)
    if "gpu" in parts and not torch.cuda.is_available():
        parser.error("the gpu part needs a CUDA device, and torch sees none")
    torch.set_num_threads(args.threads)
    epochs, repeats = (2, 3) if args.quick else (3, 5)
    report = Report(args.out, "speed_quick" if args.quick else "speed", "benchmarks.speed",
                    argv=argv)
    notes = [load_line(), f"torch threads {args.threads}"]

    if "train" in parts:
        rows = []
        for name in CLASSIFIERS:
            times = time_training(name, epochs, repeats)
            base = times["reference loop"]
            for key, seconds in times.items():
                rows.append({"network": name, "variant": key, "s / epoch": seconds,
                             "speed-up vs reference": base / seconds})
        report.table(pd.DataFrame(rows), "train", "Training throughput (CPU)", notes + [
            f"medians of {repeats} interleaved runs of {epochs} epochs, 1080 x 2 x 750 trials, "
            "batch 64, Adam lr 1e-3; a run includes building the network"])
    if "channels" in parts:
        rows = []
        for name in CLASSIFIERS:
            for n_channels in CHANNEL_COUNTS:
                times = time_training(name, epochs, repeats, CHANNELS_N_TRIALS, n_channels,
                                      CHANNELS_N_TIMES, per_epoch=True)
                base = times["reference loop"]
                for key, seconds in times.items():
                    rows.append({"network": name, "channels": n_channels, "variant": key,
                                 "s / epoch": seconds, "speed-up vs reference": base / seconds})
                print(f"{name}, {n_channels} channels: skeeg classifier "
                      f"{base / times['skeeg classifier']:.2f}x the plain loop", flush=True)
        report.table(pd.DataFrame(rows), "channels", "Training throughput by channel count (CPU)",
                     notes + [f"{repeats} interleaved runs of {epochs} epochs each, "
                              f"{CHANNELS_N_TRIALS} trials x channels x {CHANNELS_N_TIMES} "
                              "samples, batch 64, Adam lr 1e-3; median time of one epoch "
                              "(skeeg's from history_['dur']), building the network left out"])
    if "predict" in parts:
        rows = []
        for name in CLASSIFIERS:
            calls, runs = (50, 5) if args.quick else (200, 9)
            for key, ms in time_prediction(name, calls, runs).items():
                rows.append({"network": name, "variant": key, "ms / call": ms})
        report.table(pd.DataFrame(rows), "predict", "One-trial prediction latency (CPU)",
                     notes + ["medians of interleaved runs of repeated calls"])
    if "memory" in parts:
        rows = []
        sizes = (1_000, 20_000) if args.quick else (1_000, 100_000)
        for name in CLASSIFIERS:
            for n_trials, growth, seconds, output in measure_memory(name, sizes, args.threads):
                rows.append({"network": name, "trials": n_trials,
                             "input MB": n_trials * N_CHANNELS * N_TIMES * 4 / 2**20,
                             "peak RSS growth MB": growth, "output MB": output,
                             "seconds": seconds})
        report.table(pd.DataFrame(rows), "memory", "Prediction memory (predict_proba)", notes + [
            "peak resident memory above the resident memory just before the call "
            "(input already allocated), fresh process"])
    if "sweep" in parts:
        rows = []
        for epochs_per_fit in (2,) if args.quick else (5, 20):
            result = time_sweep(epochs_per_fit)
            total = result["worker time s (wall x n_jobs)"]
            for key, value in result.items():
                share = 100 * value / total if key in SWEEP_SHARES else np.nan
                rows.append({"epochs per fit": epochs_per_fit, "share": key, "seconds": value,
                             "% of worker time": share})
        report.table(pd.DataFrame(rows), "sweep", "GridSearchCV sweep, n_jobs=2", notes + [
            "EEGNetClassifier on 1080 x 2 x 750 trials (540 per training fold), 10 candidates "
            "x 2 folds = 20 fits, validation_fraction=0"])
    if "gpu" in parts:
        rows = []
        gpu_epochs, gpu_repeats = (5, 3) if args.quick else (20, 5)
        for name in CLASSIFIERS:
            for batch_size in (64, 256):
                results = time_gpu_training(name, gpu_epochs, gpu_repeats, batch_size)
                base, base_steady, _ = results["reference loop (eager, data on GPU)"]
                for key, (rate, steady, replayed) in results.items():
                    rows.append({"network": name, "batch": batch_size, "variant": key,
                                 "whole fit: trials / s": rate,
                                 "whole fit: speed-up": rate / base,
                                 "per epoch, 2nd half: trials / s": steady,
                                 "per epoch: speed-up": steady / base_steady,
                                 "graph replayed": replayed})
        report.table(pd.DataFrame(rows), "gpu", "Training throughput (GPU)", notes + [
            f"{torch.cuda.get_device_name()}; medians of {gpu_repeats} interleaved runs of "
            f"{gpu_epochs} epochs after a warm-up run, 1080 x 2 x 750 trials, Adam lr 1e-3; "
            "a skeeg run is a whole fit (network, data copy, graph capture); 'per epoch' "
            "is the median epoch time over each run's second half (skorch's epoch "
            "durations for skeeg, synchronised epoch wall times for the reference)"])
    report.done()


if __name__ == "__main__":
    sys.exit(main())
