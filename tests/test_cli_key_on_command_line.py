"""A key typed on the command line is never echoed back: `--api-key VALUE` is refused
without repeating VALUE (argparse would otherwise take it as `--api-key-file` and print it as
a file it can't read), and a key pasted as a stray argument is masked in the usage error."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulk_sources.cli.main import main

SECRET = "console-SECRET1234567890abcdef"


@pytest.mark.parametrize(
    "argv",
    [
        ["submit", "c.csv", "--api-key", SECRET],
        ["submit", "c.csv", f"--api-key={SECRET}"],
        ["validate", "c.csv", "--api-key", SECRET],
        ["export", "--output", "o.csv", "--api-key", SECRET],
        ["submit", "c.csv", "--api-k", SECRET],
        ["submit", "c.csv", SECRET],
        ["submit", "c.csv", "--api-key-file", SECRET],
    ],
)
def test_a_key_on_the_command_line_is_refused_and_never_repeated(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STATSIG_API_KEY", raising=False)
    (tmp_path / "c.csv").write_text("name\n", encoding="utf-8")
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 2
    assert "SECRET1234567890" not in out + err
    assert "Traceback" not in err
