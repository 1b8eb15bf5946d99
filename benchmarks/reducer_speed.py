"""Speed and memory of DEAPReducer against a per-channel, per-window loop.

Reduces DEAP-sized random data (1280 trials x 32 channels x 8064 samples,
float32, about 1.3 GB, seed 0) with :class:`skeeg.preprocessing.DEAPReducer`
and reports the median time over ``--repeats`` runs and the peak memory it
allocates beyond the input (tracemalloc, in a separate untimed run). The
baseline is the reference loop the test suite checks the reducer against
(``reference_reduce`` in ``tests/test_preprocessing.py``: numpy and scipy
calls one channel and one window at a time); it is timed on the first
``--reference-trials`` trials and scaled linearly to all trials, since its
cost is the same for every trial. The baseline lives in the tests, so run
this from the repository root with pytest installed (the ``test`` extra)::

    python -m benchmarks.reducer_speed
    python -m benchmarks.reducer_speed --n-trials 160 --repeats 1  # quick

CPU times are reported beside wall times because the machine may be shared:
on a busy machine the wall time grows while the CPU time barely does.
"""

import argparse
import os
import time
import tracemalloc

import numpy as np
import pandas as pd

from benchmarks._common import DEFAULT_OUT, Report, at_least, out_folder
from skeeg.preprocessing import DEAPReducer
from tests.test_preprocessing import reference_reduce

SHAPE = (32, 8064)  # DEAP: 32 EEG channels, 63 s at 128 Hz
MAX_TRIALS = 2 * 1280  # --n-trials: twice DEAP's trials
MIB = 2**20


def timed(function, *args):
    """Result, wall seconds and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def peak_extra_memory(function, *args):
    """Peak bytes allocated by ``function(*args)`` (numpy reports to tracemalloc)."""
    tracemalloc.start()
    try:
        function(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # 1 MB a trial, held at once: twice DEAP is the most that makes sense here.
    parser.add_argument("--n-trials", type=at_least(1, MAX_TRIALS), default=1280,
                        help=f"DEAP has 1280 (at most {MAX_TRIALS})")
    parser.add_argument("--repeats", type=at_least(1, 100), default=3, help="timed reducer runs")
    parser.add_argument(
        "--reference-trials",
        type=at_least(1, MAX_TRIALS),
        default=20,
        help="trials the reference loop is timed on (then scaled linearly)",
    )
    parser.add_argument("--out", type=out_folder, default=str(DEFAULT_OUT),
                        help="results folder")
    args = parser.parse_args(argv)
    n_reference = min(args.reference_trials, args.n_trials)

    report = Report(
        args.out, "reducer_speed", "benchmarks.reducer_speed", argv, ("scipy",)
    )
    load_before = os.getloadavg()[0]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.n_trials, *SHAPE), dtype=np.float32)
    reducer = DEAPReducer()

    runs = [timed(reducer.fit_transform, X) for _ in range(args.repeats)]
    features = runs[0][0]
    wall = float(np.median([run[1] for run in runs]))
    cpu = float(np.median([run[2] for run in runs]))
    peak = peak_extra_memory(reducer.fit_transform, X)

    expected, ref_wall, ref_cpu = timed(reference_reduce, X[:n_reference])
    deviation = np.abs(features[:n_reference] - expected) / (np.abs(expected) + 1e-6)
    scale = args.n_trials / n_reference
    load_after = os.getloadavg()[0]

    gib = X.nbytes / 2**30
    table = pd.DataFrame(
        [
            {
                "implementation": "DEAPReducer (vectorised)",
                "trials": f"{args.n_trials} (measured)",
                "wall time (s)": f"{wall:.2f} (median of {args.repeats})",
                "CPU time (s)": f"{cpu:.2f}",
                "peak extra memory": (
                    f"{peak / MIB:.0f} MiB ({peak / X.nbytes:.3f} x input)"
                ),
                "speed-up (wall / CPU)": "1",
            },
            {
                "implementation": "reference loop (numpy + scipy)",
                "trials": f"{n_reference} (measured)",
                "wall time (s)": f"{ref_wall:.2f}",
                "CPU time (s)": f"{ref_cpu:.2f}",
                "peak extra memory": "",
                "speed-up (wall / CPU)": "",
            },
            {
                "implementation": "reference loop (numpy + scipy)",
                "trials": f"{args.n_trials} (scaled x{scale:g} from {n_reference})",
                "wall time (s)": f"{ref_wall * scale:.1f}",
                "CPU time (s)": f"{ref_cpu * scale:.1f}",
                "peak extra memory": "",
                "speed-up (wall / CPU)": (
                    f"{ref_wall * scale / wall:.0f}x / {ref_cpu * scale / cpu:.0f}x"
                ),
            },
        ]
    )
    notes = [
        f"input: {args.n_trials} x {SHAPE[0]} x {SHAPE[1]} float32 standard normal, "
        f"seed 0 ({gib:.2f} GiB); DEAPReducer() defaults (10 windows, all z-scoring)",
        "reference loop timed once on the first trials and scaled linearly "
        "(every trial costs the same); peak extra memory from tracemalloc in a "
        "separate, untimed run",
        f"largest relative deviation from the reference on those trials "
        f"(|a - b| / (|b| + 1e-6)): {deviation.max():.1e}",
        f"1-minute load average: {load_before:.1f} before, {load_after:.1f} after "
        f"(on {os.cpu_count()} CPUs; other jobs slow the wall times)",
    ]
    report.table(table, "table", "DEAPReducer speed on DEAP-sized data", notes)
    report.done()


if __name__ == "__main__":
    main()
