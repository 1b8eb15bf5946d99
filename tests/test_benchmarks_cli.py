"""The benchmarks' command lines: bad values are argparse's usage errors, not tracebacks.

Each case is refused while the arguments are parsed, before any data is read
or any network trained; one case per script also runs as a child process, as
a user would run it, to see the exit status and stderr a shell sees.
"""

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

CASES = [  # script, arguments, what stderr says
    ("activations", ["--max-epochs", "-3"], "argument --max-epochs: expected an integer >= 1"),
    ("activations", ["--seeds", "0"], "--seeds 0 asks for no seed"),
    ("activations", ["--threads", "0"], "argument --threads: expected an integer >= 1"),
    ("activations", ["--n-jobs", "two"], "argument --n-jobs: expected an integer >= 1 and <= "),
    ("activations", ["--models", "ResNet"], "argument --models: unknown name(s) ['ResNet']"),
    ("activations", ["--activations", ","], "argument --activations: unknown name(s)"),
    ("activations", ["--data-dir", __file__], "argument --data-dir: "),
    ("peers", ["--methods", "skeeg-EEGNet,nope"], "argument --methods: unknown name(s) ['nope']"),
    ("sweeps", ["--cv", "1"], "argument --cv: expected an integer >= 2"),
    ("sweeps", ["--factors", "depth"], "argument --factors: unknown name(s) ['depth']"),
    ("sweeps", ["--dask-workers", "0"], "argument --dask-workers: expected an integer >= 1"),
    ("scale", ["--max-epochs", "0"], "argument --max-epochs: expected an integer >= 1"),
    ("speed", ["--threads", "-1"], "argument --threads: expected an integer >= 1"),
    ("speed", ["--parts", "train,warp"], "argument --parts: unknown name(s) ['warp']"),
    ("deap", ["--seeds", "0"], "argument --seeds: expected an integer >= 1"),
    ("deap", ["--folds", "1"], "argument --folds: expected an integer >= 2"),
    ("deap", ["--data-dir", "/no/such/folder"], "--data-dir: '/no/such/folder' does not exist"),
    ("defaults", ["--seeds", "-2"], "argument --seeds: expected an integer >= 1"),
    ("defaults", ["--data-dir", "/no/such/folder"], "does not exist"),
    ("reducer_speed", ["--repeats", "0"], "argument --repeats: expected an integer >= 1"),
    ("export_memory", ["--trials", "0"], "argument --trials: expected an integer >= 1"),
    ("cross_subject", ["--finetune-fraction", "1.5"], "argument --finetune-fraction: expected "
                                                      "a number in (0, 1)"),
    ("cross_subject", ["--finetune-fraction", "nan"], "argument --finetune-fraction"),
    ("cross_subject", ["--folds", "1"], "argument --folds: expected an integer >= 2"),
    ("cross_subject", ["--trials-per-subject", "0"], "argument --trials-per-subject"),
    ("augmentation", ["--part", "search", "--ensemble", "-1"], "argument --ensemble"),
    ("augmentation", ["--part", "search", "--stop-after", "inf"], "argument --stop-after"),
    ("augmentation", ["--part", "search", "--networks", "ResNet"], "argument --networks"),
    # Counts with no upper bound filled the memory or raised from torch.
    ("activations", ["--seeds", "99999999999"], "--seeds 99999999999 asks for more than 1000"),
    ("activations", ["--seeds", "0,4294967296"], "--seeds: seeds are 0 .. 4294967295"),
    ("activations", ["--threads", "100000"], "argument --threads: expected an integer >= 1 and"),
    ("activations", ["--n-jobs", "100000"], "argument --n-jobs: expected an integer >= 1 and"),
    ("activations", ["--max-epochs", "10000000"], "argument --max-epochs: expected an integer"),
    ("cross_subject", ["--dataset", "eegmmidb", "--subjects", "1-100000000"],
     "argument --subjects: range '1-100000000' is not within 1-109"),
    ("cross_subject", ["--dataset", "eegmmidb", "--subjects", "110"],
     "argument --subjects: subjects are 1-109; got [110]"),
    ("cross_subject", ["--dataset", "deap", "--subjects", "30-40"],
     "argument --subjects: deap has subjects 1-32; got [33,"),
    ("cross_subject", ["--dataset", "eegmmidb", "--subjects", "0"], "argument --subjects"),
    ("cross_subject", ["--subjects", "5-1"], "argument --subjects: range '5-1'"),
    ("cross_subject", ["--folds", "1000"], "argument --folds: expected an integer >= 2 and"),
    ("cross_subject", ["--n-subjects", "100000"], "argument --n-subjects"),
    ("cross_subject", ["--trials-per-subject", "10000000"], "argument --trials-per-subject"),
    ("cross_subject", ["--finetune-epochs", "10000000"], "argument --finetune-epochs"),
    ("cross_subject", ["--band", "8,1000"], "argument --band: expected 0 < L < H < 80"),
    ("sweeps", ["--cv", "100000"], "argument --cv: expected an integer >= 2 and <= 100"),
    ("sweeps", ["--dask-workers", "100000"], "argument --dask-workers"),
    ("reducer_speed", ["--n-trials", "10000000"], "argument --n-trials"),
    ("reducer_speed", ["--repeats", "100000"], "argument --repeats"),
    ("export_memory", ["--trials", "100000"], "argument --trials"),
    ("augmentation", ["--part", "search", "--ensemble", "100000"], "argument --ensemble"),
    ("deap", ["--seeds", "99999999999"], "argument --seeds"),
    ("deap", ["--folds", "100000"], "argument --folds"),
    ("defaults", ["--folds", "100000"], "argument --folds"),
    # Devices: only cpu, cuda, cuda:N (one torch sees) or auto.
    ("activations", ["--device", "meta"], "argument --device: expected cpu, cuda, cuda:N or auto"),
    ("activations", ["--device", "cuda:abc"], "argument --device: expected cpu, cuda"),
    ("activations", ["--device", ""], "argument --device: expected cpu, cuda"),
    ("activations", ["--device", "cuda:9999"], "argument --device: 'cuda:9999': torch sees"),
    ("peers", ["--device", "bogus"], "argument --device"),
    ("sweeps", ["--device", "bogus"], "argument --device"),
    ("members", ["--device", "bogus"], "argument --device"),
    ("cross_subject", ["--device", "meta"], "argument --device"),
    # Parameter values, checked as fit would check them, before data or fits.
    ("sweeps", ["--grid", "lr=abc"], "argument --grid: lr='abc': The 'lr' parameter"),
    ("sweeps", ["--grid", "lr=-1,0.1"], "argument --grid: lr=-1: The 'lr' parameter"),
    ("sweeps", ["--scheduler", "notanaddress"], "argument --scheduler: expected a Dask scheduler"),
    ("sweeps", ["--scheduler", "tcp://host:99999"], "argument --scheduler"),
    ("cross_subject", ["--quick", "--set", "lr=abc"], "argument --set: lr='abc': The 'lr'"),
    ("cross_subject", ["--quick", "--set", "EEGNet.dropout=2"], "argument --set: dropout=2"),
    ("defaults", ["--set", "lr=abc"], "argument --set: lr='abc'"),
    ("defaults", ["--set", "nope=1"], "argument --set: nope not a parameter"),
    # Repeated items: the same work twice.
    ("activations", ["--seeds", "1,1"], "argument --seeds: --seeds: seed(s) [1] given twice"),
    ("activations", ["--activations", "elu,elu"], "argument --activations: elu given twice"),
    ("activations", ["--models", "DeepConvNet,DeepConvNet"], "DeepConvNet given twice"),
    ("sweeps", ["--factors", "lr,lr"], "argument --factors: lr given twice"),
    ("speed", ["--parts", "train,train"], "argument --parts: train given twice"),
    ("members", ["--parts", "speed,speed"], "argument --parts: speed given twice"),
    ("members", ["--parts", "warp"], "argument --parts: unknown name(s) ['warp']"),
    ("peers", ["--methods", "skeeg-EEGNet,skeeg-EEGNet"], "skeeg-EEGNet given twice"),
    ("cross_subject", ["--methods", "EEGNet,EEGNet"], "argument --methods: EEGNet given twice"),
    ("cross_subject", ["--dataset", "eegmmidb", "--subjects", "1,2,1"],
     "argument --subjects: subject(s) [1] given twice"),
    ("deap", ["--protocols", "fixed", "fixed"], "argument --protocols: fixed given twice"),
    ("augmentation", ["--part", "ablation", "--rows", "none,none"], "argument --rows: none given"),
    ("augmentation", ["--part", "ablation", "--datasets", "synthetic,synthetic"],
     "argument --datasets: synthetic given twice"),
    ("augmentation", ["--part", "ablation", "--datasets", "nope"], "argument --datasets"),
    ("augmentation", ["--part", "search", "--dataset", "Nope"], "argument --dataset: invalid"),
    # Names that are paths, and results folders that are files.
    ("deap", ["--dataset", "../../etc"], "argument --dataset: expected a data set's name"),
    ("defaults", ["--dataset", "a/b"], "argument --dataset: expected a data set's name"),
    ("activations", ["--out", __file__], "argument --out: "),
    ("speed", ["--out", "/dev/null/x"], "argument --out: "),
]


NO_OUT = ("defaults", "export_memory")  # scripts without --out


def _main(script):
    module = __import__(f"benchmarks.{script}", fromlist=["main"])
    return module.main


@pytest.mark.parametrize("script, argv, message", CASES,
                         ids=[f"{c[0]}-{' '.join(c[1])}" for c in CASES])
def test_bad_values_are_usage_errors(script, argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        _main(script)(argv if script in NO_OUT or "--out" in argv
                      else [*argv, "--out", str(tmp_path)])
    # Exit status 2 (argparse's usage error, or a check of the parsed whole), the message
    # on stderr.
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing written: refused before the run


def test_a_missing_data_folder_is_refused_unless_downloading(tmp_path, capsys):
    missing = tmp_path / "none"
    with pytest.raises(SystemExit, match="does not exist; give the folder holding the data"):
        _main("activations")(["--data-dir", str(missing), "--out", str(tmp_path)])


@pytest.mark.parametrize("argv, message", [
    (["-m", "benchmarks.activations", "--max-epochs", "-3"], "--max-epochs"),
    (["-m", "benchmarks.deap", "--folds", "zero"], "--folds"),
], ids=["activations", "deap"])
def test_a_shell_sees_a_usage_error_not_a_traceback(argv, message):
    done = subprocess.run([sys.executable, *argv], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert "usage:" in done.stderr and message in done.stderr
    assert "Traceback" not in done.stderr


# ----------------------------------------------------------------------
# Files a benchmark reads: regular files only, refused by os.stat before any
# open (a FIFO blocks an open; /dev/zero is read without end).
READERS = [  # script, the options before the path, the option
    ("augmentation", ["--part", "table", "--log"], "--log"),
    ("scale", ["--quick", "--resume"], "--resume"),
    ("scale", ["--from-log"], "--from-log"),
]


def _refused(script, argv, option, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _main(script)(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: " in err and "Traceback" not in err
    return err


@pytest.mark.parametrize("script, argv, option", READERS, ids=[r[2] for r in READERS])
def test_a_device_file_is_refused_before_it_is_opened(script, argv, option, capsys, tmp_path,
                                                       monkeypatch):
    import builtins

    def no_open(*args, **kwargs):  # were /dev/zero opened, the test would fail, not hang
        raise AssertionError(f"opened {args[0]!r}")

    monkeypatch.setattr(builtins, "open", no_open)
    monkeypatch.setattr(os, "open", no_open)
    err = _refused(script, [*argv, "/dev/zero", "--out", str(tmp_path)], option, capsys)
    assert "is not a regular file" in err


@pytest.mark.parametrize("script, argv, option", READERS, ids=[r[2] for r in READERS])
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_or_a_folder_is_refused_without_blocking(script, argv, option, capsys,
                                                        tmp_path):
    fifo = tmp_path / "log.jsonl"
    os.mkfifo(fifo)
    # Opening a FIFO for reading blocks until a writer comes: an alarm ends a regression.
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("blocked on the FIFO"))
    signal.alarm(20)
    try:
        assert "is not a regular file" in _refused(
            script, [*argv, str(fifo), "--out", str(tmp_path / "out")], option, capsys)
    finally:
        signal.alarm(0)
    assert "is a folder" in _refused(script, [*argv, str(tmp_path), "--out",
                                              str(tmp_path / "out")], option, capsys)
    assert "cannot be read" in _refused(script, [*argv, str(tmp_path / "none"), "--out",
                                                 str(tmp_path / "out")], option, capsys)
    assert not (tmp_path / "out").exists()


def test_a_log_too_large_is_refused(tmp_path, monkeypatch):
    from benchmarks import _common

    log = tmp_path / "runs.jsonl"
    log.write_text("{}\n" * 10)
    monkeypatch.setattr(_common, "MAX_READ_BYTES", 8)
    with pytest.raises(argparse.ArgumentTypeError, match="more than the 8 a log may have"):
        _common.regular_file(str(log))
    with pytest.raises(SystemExit, match="--log .*: more than 8 bytes"):
        _common.read_text(log, "--log")  # the file may have grown since it was parsed


def test_the_shared_rules():
    from benchmarks import _common

    assert _common.parse_seeds("3") == [0, 1, 2]
    assert _common.names(["a", "b"])("b,a") == ("b", "a")
    assert _common.at_least(1, 3)("3") == 3
    assert _common.device("cpu") == "cpu" and _common.device("auto") == "auto"
    assert _common.scheduler_address("tcp://10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert _common.scheduler_address("localhost:8786") == "localhost:8786"
    for parse, text in [(_common.at_least(1, 3), "4"), (_common.device, "cuda:1:2"),
                        (_common.scheduler_address, "tcp://:8786"), (_common.uea_name, "")]:
        with pytest.raises(argparse.ArgumentTypeError):
            parse(text)


@pytest.mark.parametrize("script, argv, message", [
    ("sweeps", ["--grid", "lr=1e-3,1e-3"], "--grid lr: value(s) 1e-3 given twice"),
    ("sweeps", ["--grid", "bogus=1,2"], "has no parameter 'bogus'"),
    ("sweeps", ["--grid", "lr="], "--grid expects PARAM=V1,V2,..."),
    ("activations", ["--data-dir", "/nonexistent/skeeg"], "--data-dir: '/nonexistent/skeeg' does"),
], ids=["grid-repeat", "grid-name", "grid-empty", "data-dir"])
def test_checks_of_the_parsed_whole_are_usage_errors_too(script, argv, message, capsys,
                                                         tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        _main(script)([*argv, "--out", str(tmp_path)])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
