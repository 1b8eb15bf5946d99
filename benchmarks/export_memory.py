"""Peak memory of exported models with dense crops, beside predict_proba's.

The case of the issue "One core": EEGNet trained on crops of 64 samples of
4-channel trials of 1024 samples, predicting with every crop (``crop_stride=1``,
961 crops a trial), 40 trials at once. Each measurement runs in a fresh
process: the growth of its peak resident memory (``ru_maxrss``) while it
answers the 40 trials after a one-trial call, and from the model loaded
(TorchScript compiles its graph on the first calls). Prints a Markdown table.

    python -m benchmarks.export_memory [--trials 40]
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time

from benchmarks import _common
from benchmarks._common import at_least

MAX_TRIALS = 200  # --trials: 16 MB of crops a trial, all held at once

CHILD = textwrap.dedent("""
    import os, resource, sys, warnings
    warnings.simplefilter("ignore")
    import numpy as np, torch
    torch.set_num_threads(1)
    folder, kind, n_trials = sys.argv[1], sys.argv[2], int(sys.argv[3])
    X = np.random.default_rng(0).standard_normal((n_trials, 4, 1024)).astype(np.float32)

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    if kind == "predict_proba":
        import skeeg
        clf = skeeg.load(os.path.join(folder, "m.safetensors"))
        run = clf.predict_proba
    elif kind == "torchscript":
        model = torch.jit.load(os.path.join(folder, "m.pt"))
        run = lambda trials: model(torch.as_tensor(trials))
    else:
        import onnxruntime
        session = onnxruntime.InferenceSession(os.path.join(folder, "m.onnx"),
                                               providers=["CPUExecutionProvider"])
        run = lambda trials: session.run(None, {"trials": trials})
    loaded = peak_mb()
    run(X[:1])
    before = peak_mb()
    run(X)
    print(peak_mb() - before, peak_mb() - loaded)
""")


def _fit_and_export(folder):
    import numpy as np

    from skeeg import EEGNetClassifier
    from skeeg.export import to_onnx, to_torchscript

    X = np.random.default_rng(0).standard_normal((8, 4, 1024)).astype(np.float32)
    clf = EEGNetClassifier(kernel_length=9, crop_length=64, crop_stride=1, max_epochs=1,
                           validation_fraction=0, early_stopping=False, random_state=0)
    clf.fit(X, np.arange(8) % 2)
    clf.save(os.path.join(folder, "m.safetensors"))
    timings = {}
    for name, export, file in (("torchscript", to_torchscript, "m.pt"),
                               ("onnx", to_onnx, "m.onnx")):
        start = time.perf_counter()
        export(clf, os.path.join(folder, file))
        timings[name] = time.perf_counter() - start
    return timings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=at_least(1, MAX_TRIALS), default=40,
                        help=f"trials answered at once (at most {MAX_TRIALS})")
    args = parser.parse_args(argv)
    if args.trials < 1:
        raise _common.UsageError("--trials must be at least 1")
    folder = tempfile.mkdtemp(prefix="skeeg-export-memory-")
    timings = _fit_and_export(folder)
    import skeeg

    print(f"skeeg from {os.path.dirname(skeeg.__file__)}; {platform.platform()}; "
          f"{os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"\n| {args.trials} trials of 4 x 1024, 961 crops each | peak memory growth (MB), "
          "after a one-trial call | the same, from the model loaded (first calls compile) "
          "| export time (s) |\n|---|---:|---:|---:|")
    for kind in ("predict_proba", "torchscript", "onnx"):
        out = subprocess.run([sys.executable, "-c", CHILD, folder, kind, str(args.trials)],
                             capture_output=True, text=True, check=True)
        growth, total = map(float, out.stdout.strip().splitlines()[-1].split())
        took = f"{timings[kind]:.1f}" if kind in timings else ""
        print(f"| {kind} | {growth:.1f} | {total:.1f} | {took} |")


if __name__ == "__main__":
    main()
