"""Files the user names are written through, never replaced (issue 18, case 8), and the
base URL is read one way and never carries a secret (case 11)."""

from __future__ import annotations

import csv
import io
import os
import stat
import threading
from pathlib import Path

import pytest
from catalog_helpers import good, write_csv
from process_helpers import server_process

from bulk_sources.api.protocol import BASE_URL_ENV, check_base_url, default_base_url
from bulk_sources.cli.main import main
from bulk_sources.errors import UsageError
from bulk_sources.fileio import OutputIsInput, atomic_write, guard_input
from bulk_sources.run.settings import SubmitSettings

KEY = "console-fileio-tests"


def test_a_regular_file_is_replaced_whole_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    with atomic_write(target) as handle:
        handle.write("new\n")
        assert target.read_text() == "old\n"  # nothing visible until the rename
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("half")
        raise RuntimeError("disk gone")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    with atomic_write(link) as handle:
        handle.write("new\n")
    assert link.is_symlink() and real.read_text() == "new\n"


def test_a_fifo_is_streamed_to_its_reader_and_never_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    with atomic_write(fifo) as handle:
        handle.write("streamed\n")
    reader.join(timeout=10)
    assert got == [b"streamed\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_an_input_is_refused_under_any_name(tmp_path: Path) -> None:
    catalog = write_csv(tmp_path / "cat.csv", [good("a")])
    before = catalog.read_bytes()
    guard_input(catalog)
    (tmp_path / "alias.csv").symlink_to(catalog)
    for name in ("cat.csv", "alias.csv"):
        with pytest.raises(OutputIsInput, match="never overwrites its input"):
            atomic_write(tmp_path / name)
    assert catalog.read_bytes() == before


def test_validate_refuses_to_write_its_report_over_the_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = write_csv(tmp_path / "cat.csv", [good("a"), good("b", sql="")])
    before = catalog.read_bytes()
    assert main(["validate", str(catalog), "--report", str(catalog)]) == 2
    assert "is the catalog being read" in capsys.readouterr().err
    assert catalog.read_bytes() == before


def _reader(path: Path, got: list[bytes]) -> threading.Thread:
    thread = threading.Thread(target=lambda: got.append(path.read_bytes()), daemon=True)
    thread.start()
    return thread


def test_dry_run_plan_and_export_write_through_and_never_over_the_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    catalog = write_csv(tmp_path / "cat.csv", [good("a")])
    before = catalog.read_bytes()
    with server_process(KEY, ["1000/1s"]) as url:
        plan = ["submit", str(catalog), "--dry-run", "--base-url", url]
        assert main([*plan, "--report-dir", str(tmp_path / "r"), "--plan", str(catalog)]) == 2
        assert "is the catalog being read" in capsys.readouterr().err
        assert catalog.read_bytes() == before

        # STATSIG_BASE_URL is read by export as by every command (it went to production).
        monkeypatch.setenv(BASE_URL_ENV, url)
        real = tmp_path / "real.csv"
        real.write_text("")
        (tmp_path / "link.csv").symlink_to(real)
        assert main(["export", "--output", str(tmp_path / "link.csv")]) == 0
        assert (tmp_path / "link.csv").is_symlink()
        assert next(csv.reader(io.StringIO(real.read_text())))[0] == "name"

        fifo = tmp_path / "pipe.csv"
        os.mkfifo(fifo)
        got: list[bytes] = []
        reader = _reader(fifo, got)
        assert main(["export", "--output", str(fifo)]) == 0
        reader.join(timeout=10)
        assert got and got[0].startswith(b"name,") and stat.S_ISFIFO(fifo.stat().st_mode)
        assert f"(from ${BASE_URL_ENV})" in capsys.readouterr().err


@pytest.mark.parametrize(
    "url",
    [
        "http://user:hunter2@127.0.0.1:9",
        "https://hunter2@statsigapi.net",
        "https://statsigapi.net/?token=hunter2",
        "https://statsigapi.net/#hunter2",
    ],
)
def test_a_secret_in_the_base_url_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_base_url(url)
    assert "hunter2" not in str(caught.value)
    with pytest.raises(UsageError):
        SubmitSettings(base_url=url)


def test_a_secret_in_statsig_base_url_never_reaches_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    monkeypatch.setenv(BASE_URL_ENV, "http://me:hunter2@127.0.0.1:9")
    catalog = write_csv(tmp_path / "cat.csv", [good("a")])
    for argv in (["export"], ["submit", str(catalog), "--report-dir", str(tmp_path / "r")]):
        assert main(argv) == 2
        captured = capsys.readouterr()
        assert "hunter2" not in captured.err + captured.out
        assert "user name or password" in captured.err
    assert not (tmp_path / "r").exists()


def test_the_library_reads_statsig_base_url_through_the_same_function(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(BASE_URL_ENV, "http://127.0.0.1:8999")
    assert SubmitSettings().base_url == default_base_url() == "http://127.0.0.1:8999"
    monkeypatch.delenv(BASE_URL_ENV)
    assert SubmitSettings().base_url == "https://statsigapi.net"
