"""The opt-in UEA download, against a local HTTP server (no test reaches the internet).

The server serves zip files built here from the copies in the real data
folder, in the archive's layout (``<name>.zip`` holding ``<name>_TRAIN.ts``,
``<name>_TEST.ts`` and ``<name>.txt``); the tests skip when those copies
are absent.
"""

import hashlib
import http.server
import io
import re
import tempfile
import threading
import zipfile

import numpy as np
import pytest

import skeeg.datasets._download as download
from benchmarks import _common
from skeeg.datasets import load_uea


@pytest.fixture
def server(monkeypatch):
    """A local HTTP server; ``routes[path] = (status, body, header length or None)``."""
    routes, requests = {}, []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            status, body, length = routes.get(self.path, (404, b"Not Found", None))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/aeon-toolkit/"
    monkeypatch.setattr(download, "UEA_BASE_URL", base)
    yield routes, requests
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """An empty data folder, and the system temp folder moved where it can be checked."""
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.delenv("SKEEG_DATA", raising=False)
    return tmp_path / "data", temp


def _source(data_dir, name):
    folder = data_dir / "uea" / name
    if not (folder / f"{name}_TRAIN.ts").is_file():
        pytest.skip(f"real data not found at {folder}; set SKEEG_DATA")
    return folder


def _zip(files, prefix=""):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(prefix + name, content)
    return buffer.getvalue()


def _archive_files(folder, name):
    """The files the archive's zip holds (no .json: the archive has none)."""
    return {
        f"{name}_TRAIN.ts": (folder / f"{name}_TRAIN.ts").read_bytes(),
        f"{name}_TEST.ts": (folder / f"{name}_TEST.ts").read_bytes(),
        f"{name}.txt": (folder / f"{name}.txt").read_bytes(),
    }


def _nothing_left(data, temp):
    """Neither the data folder nor the temp folder holds anything."""
    left = [p for p in data.rglob("*")] if data.exists() else []
    return left == [] and list(temp.iterdir()) == []


def _assert_same(got, expected):
    for key in ("X_train", "X_test", "y_train", "y_test", "classes"):
        np.testing.assert_array_equal(got[key], expected[key])


def test_download_stores_a_checked_copy(server, scratch, data_dir):
    routes, requests = server
    data, temp = scratch
    source = _source(data_dir, "FingerMovements")
    routes["/aeon-toolkit/FingerMovements.zip"] = (
        200, _zip(_archive_files(source, "FingerMovements")), None
    )
    got = load_uea("FingerMovements", data, download=True)
    _assert_same(got, load_uea("FingerMovements", data_dir))
    assert (got.sfreq, got.unit) == (100.0, "uV")  # stated rate: the zip has no .json
    folder = data / "uea" / "FingerMovements"
    assert sorted(p.name for p in (data / "uea").iterdir()) == ["FingerMovements"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "FingerMovements.txt", "FingerMovements_TEST.ts", "FingerMovements_TRAIN.ts"
    ]
    assert list(temp.iterdir()) == []
    assert requests == ["/aeon-toolkit/FingerMovements.zip"]
    load_uea("FingerMovements", data, download=True)  # present: nothing fetched
    assert len(requests) == 1


def test_download_robust_to_formatting_and_layout(server, scratch, data_dir):
    """Other copies of the archive format numbers and lines differently."""
    routes, _ = server
    data, _ = scratch
    source = _source(data_dir, "FingerMovements")
    files = _archive_files(source, "FingerMovements")
    files["FingerMovements_TRAIN.ts"] = files["FingerMovements_TRAIN.ts"].replace(b"\n", b"\r")
    for split in ("TEST",):  # reformatting both splits only doubles the time
        key = f"FingerMovements_{split}.ts"
        lines = files[key].decode().splitlines()
        at = lines.index("@data") + 1
        rows = [
            ":".join(",".join(f"{float(v):.6e}" for v in dim.split(",")) for dim in row.split(":")[:-1])
            + ":" + row.split(":")[-1]
            for row in lines[at:]
        ]
        files[key] = ("\r\n".join(lines[:at] + rows) + "\r\n").encode()
    files["FingerMovements_TRAIN.arff"] = b"% another copy, ignored"
    # The data set's files inside a folder of the zip are found too.
    routes["/aeon-toolkit/FingerMovements.zip"] = (200, _zip(files, "FingerMovements/"), None)
    got = load_uea("FingerMovements", data, download=True)
    expected = load_uea("FingerMovements", data_dir)
    np.testing.assert_allclose(got.X_train, expected.X_train, rtol=1e-6)
    np.testing.assert_array_equal(got.y_test, expected.y_test)


def test_main_job_downloads_scp1(server, scratch, data_dir, capsys):
    """``--download`` on a machine without data: the main job gets real SCP1."""
    routes, _ = server
    data, _ = scratch
    source = _source(data_dir, "SelfRegulationSCP1")
    routes["/aeon-toolkit/SelfRegulationSCP1.zip"] = (
        200, _zip(_archive_files(source, "SelfRegulationSCP1")), None
    )
    parser = _common.base_parser("test", "quick")
    args = parser.parse_args(["--download", "--data-dir", str(data)])
    loaded = _common.load_for_script(args)
    assert loaded.name == "SelfRegulationSCP1" and loaded.kind == "real"
    assert [len(loaded.splits[0].y_train), len(loaded.splits[0].y_test)] == [268, 293]
    out = capsys.readouterr().out
    assert "downloading SelfRegulationSCP1" in out and "REAL EEG" in out
    assert (data / "uea" / "SelfRegulationSCP1" / "SelfRegulationSCP1_TRAIN.ts").is_file()
    # Without --download nothing is fetched: synthetic fallback, and the flag is named.
    messages = []
    empty = _common.load_dataset("auto", data.parent / "empty", log=messages.append)
    assert empty.kind == "synthetic" and "--download" in messages[0]


def _tampered(routes, data_dir, edit):
    source = _source(data_dir, "FingerMovements")
    files = _archive_files(source, "FingerMovements")
    edit(files)
    routes["/aeon-toolkit/FingerMovements.zip"] = (200, _zip(files), None)


def _shift_first_trial(files):
    lines = files["FingerMovements_TRAIN.ts"].decode().splitlines()
    at = lines.index("@data") + 1
    *dims, label = lines[at].split(":")
    dims = [",".join(str(float(v) + 100) for v in dim.split(",")) for dim in dims]
    lines[at] = ":".join([*dims, label])
    files["FingerMovements_TRAIN.ts"] = "\n".join(lines).encode()


def _relabel_one_trial(files):
    text = files["FingerMovements_TEST.ts"].decode()
    files["FingerMovements_TEST.ts"] = text.replace(":left\n", ":right\n", 1).encode()


def _swap_two_labels(files):
    # One left and one right trial trade labels: the class counts stay as they were.
    text = files["FingerMovements_TRAIN.ts"].decode()
    text = text.replace(":left\n", ":TMP\n", 1).replace(":right\n", ":left\n", 1)
    files["FingerMovements_TRAIN.ts"] = text.replace(":TMP\n", ":right\n", 1).encode()


def _swap_two_channels(files):
    # Channels 0 and 1 of every training trial trade places: overall mean and sd stay.
    lines = files["FingerMovements_TRAIN.ts"].decode().splitlines()
    at = lines.index("@data") + 1
    for i in range(at, len(lines)):
        *dims, label = lines[i].split(":")
        dims[0], dims[1] = dims[1], dims[0]
        lines[i] = ":".join([*dims, label])
    files["FingerMovements_TRAIN.ts"] = "\n".join(lines).encode()


def _drop_last_trial(files):
    text = files["FingerMovements_TEST.ts"].decode().rstrip("\n")
    files["FingerMovements_TEST.ts"] = text[: text.rindex("\n")].encode()


def _scale_all(files):
    lines = files["FingerMovements_TEST.ts"].decode().splitlines()
    at = lines.index("@data") + 1
    for i in range(at, len(lines)):
        *dims, label = lines[i].split(":")
        dims = [",".join(str(float(v) * 1e-6) for v in dim.split(",")) for dim in dims]
        lines[i] = ":".join([*dims, label])
    files["FingerMovements_TEST.ts"] = "\n".join(lines).encode()


@pytest.mark.parametrize(
    "edit, difference",
    [
        (_shift_first_trial, r"TRAIN mean 29\.93, expected 29\.62"),
        (_relabel_one_trial, r"TEST class counts \{'left': 48, 'right': 52\}, expected"),
        (_drop_last_trial, r"TEST shape \(99, 28, 50\), expected \(100, 28, 50\)"),
        (_scale_all, r"TEST mean 2\.765e-05, expected 27\.65; TEST std 4\.343e-05"),
        (_swap_two_labels, r"TRAIN labels, in file order, differ from the archive's"),
        (_swap_two_channels, r"TRAIN mean of channel\(s\) \[0, 1\] \(0-based\) differ"),
    ],
)
def test_download_that_differs_from_the_facts_is_deleted(
    server, scratch, data_dir, edit, difference
):
    routes, _ = server
    data, temp = scratch
    _tampered(routes, data_dir, edit)
    with pytest.raises(ValueError, match="does not match the archive's FingerMovements.*"
                       + difference + ".*It was deleted"):
        load_uea("FingerMovements", data, download=True)
    assert _nothing_left(data, temp)
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_uea("FingerMovements", data)


def _full_zip(data_dir):
    return _zip(_archive_files(_source(data_dir, "FingerMovements"), "FingerMovements"))


@pytest.mark.parametrize(
    "route, message",
    [
        (None, r"/aeon-toolkit/FingerMovements\.zip failed: HTTP 404 .*check the data set's name"),
        ("cut", r"is not a valid zip file .* truncated or damaged"),
        ("short", r"was truncated: \d+ of \d+ bytes"),
        ("html", r"is not a valid zip file .* starting b'<html>.*web page"),
        ("no-test", r"has no FingerMovements_TEST\.ts; it holds \['FingerMovements_TRAIN\.ts'\]"),
        ("bomb", r"FingerMovements_TEST\.ts in the zip file .* would inflate to 8388608 bytes"),
        ("malformed", r"holds a malformed FingerMovements_TRAIN\.ts \(FingerMovements_TRAIN\.ts, "
                      r"line 1: data found before the @data line"),
    ],
)
def test_failed_downloads_leave_nothing(server, scratch, data_dir, route, message):
    routes, _ = server
    data, temp = scratch
    full = _full_zip(data_dir)
    bodies = {
        "cut": (200, full[: len(full) // 2], None),
        "short": (200, full[: len(full) // 2], len(full)),  # the connection drops early
        "html": (200, b"<html><body>No such data set</body></html>", None),
        "no-test": (200, _zip({"FingerMovements_TRAIN.ts": b"x"}), None),
        "bomb": (200, _zip({"FingerMovements_TRAIN.ts": b"x",
                            "FingerMovements_TEST.ts": bytes(8 << 20)}), None),
        "malformed": (200, _zip({"FingerMovements_TRAIN.ts": b"1,2:left\n",
                                 "FingerMovements_TEST.ts": b"1,2:left\n"}), None),
    }
    if route is not None:
        routes["/aeon-toolkit/FingerMovements.zip"] = bodies[route]
    with pytest.raises(ValueError, match=message):
        load_uea("FingerMovements", data, download=True)
    assert _nothing_left(data, temp)


def test_unreachable_server_and_unknown_data_sets(scratch, monkeypatch):
    data, temp = scratch
    # A port nothing listens on (bound, then closed) on this machine only.
    probe = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    port = probe.server_address[1]
    probe.server_close()
    monkeypatch.setattr(download, "UEA_BASE_URL", f"http://127.0.0.1:{port}/")
    with pytest.raises(ConnectionError, match=f"Could not reach http://127.0.0.1:{port}/"):
        load_uea("FingerMovements", data, download=True)
    with pytest.raises(ValueError, match="can download only SelfRegulationSCP1, FingerMovements"):
        load_uea("BasicMotions", data, download=True)
    monkeypatch.setattr(download, "UEA_BASE_URL", "file:///etc/")
    with pytest.raises(ValueError, match="must be http or https"):
        load_uea("FingerMovements", data, download=True)
    with pytest.raises(TypeError, match="download must be True or False"):
        load_uea("FingerMovements", data, download="yes")
    assert _nothing_left(data, temp)


def test_download_into_a_folder_holding_other_files(server, scratch, data_dir):
    routes, _ = server
    data, _ = scratch
    routes["/aeon-toolkit/FingerMovements.zip"] = (200, _full_zip(data_dir), None)
    folder = data / "uea" / "FingerMovements"
    folder.mkdir(parents=True)
    (folder / "notes.md").write_text("mine")
    (folder / "FingerMovements.json").write_text('{"sfreq": 100}')
    got = load_uea("FingerMovements", data, download=True)
    assert got.X_test.shape == (100, 28, 50)
    assert (folder / "notes.md").read_text() == "mine"
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


def test_benchmark_download_failure_ends_the_script(server, scratch):
    data, _ = scratch
    args = _common.base_parser("test", "quick").parse_args(
        ["--dataset", "FingerMovements", "--download", "--data-dir", str(data)]
    )
    with pytest.raises(SystemExit, match="FingerMovements: Downloading .* failed: HTTP 404"):
        _common.load_for_script(args)


def test_facts_match_the_shared_copies(data_dir):
    """The facts kept in skeeg are those of the copies they were computed from."""
    for name, facts in download.FACTS.items():
        data = load_uea(name, _source(data_dir, name).parent.parent)
        assert tuple(data.classes) == facts["classes"]
        for split, X, y in (("TRAIN", data.X_train, data.y_train), ("TEST", data.X_test, data.y_test)):
            expected = facts[split]
            values = X.astype(np.float64)
            assert X.shape == expected["shape"]
            assert {k: int(v) for k, v in zip(*np.unique(y, return_counts=True))} == expected["counts"]
            assert f"{values.mean():.4g}" == f"{expected['mean']:.4g}"
            assert f"{values.std():.4g}" == f"{expected['std']:.4g}"
            digest = hashlib.sha256("\n".join(map(str, y)).encode()).hexdigest()
            assert digest == expected["labels_sha256"]
            for label, mean in expected["class_means"].items():
                assert f"{values[y == label].mean():.4g}" == f"{mean:.4g}"
            assert [f"{v:.4g}" for v in values.mean(axis=(0, 2))] == [
                f"{v:.4g}" for v in expected["channel_means"]]
    assert re.match(r"https://www\.timeseriesclassification\.com/aeon-toolkit/$",
                    download.UEA_BASE_URL)
