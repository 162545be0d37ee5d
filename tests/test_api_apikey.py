"""The API key: where it comes from, and that it never shows."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from bulk_sources.api.apikey import ApiKey, load_api_key
from bulk_sources.errors import ApiKeyError


def test_the_key_never_shows(tmp_path: Path) -> None:
    key = ApiKey("  console-secret-value-123\n")
    assert key.reveal() == "console-secret-value-123"
    for shown in (repr(key), str(key), f"{key}", repr([key])):
        assert "secret" not in shown
    assert key.fingerprint == ApiKey("console-secret-value-123").fingerprint
    assert len(key.fingerprint) == 16


def test_key_sources_and_their_messages(tmp_path: Path) -> None:
    assert load_api_key(environ={"STATSIG_API_KEY": "console-a"}).reveal() == "console-a"
    with pytest.raises(ApiKeyError, match="set STATSIG_API_KEY"):
        load_api_key(environ={})
    with pytest.raises(ApiKeyError, match="can't read the API key file"):
        load_api_key(tmp_path / "missing")
    (tmp_path / "blank").write_text("\n")
    with pytest.raises(ApiKeyError, match="empty"):
        load_api_key(tmp_path / "blank")
    (tmp_path / "bin").write_bytes(b"\xff\xfe")
    with pytest.raises(ApiKeyError, match="not UTF-8"):
        load_api_key(tmp_path / "bin")


def test_a_fifo_no_one_writes_to_is_a_sentence_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(ApiKeyError, match=r"nothing was written to the API key file .* within"):
        load_api_key(fifo, wait=0.3)
    assert time.monotonic() - started < 5


def test_a_fifo_whose_writer_comes_late_gives_the_key(tmp_path: Path) -> None:
    """Like `--api-key-file <(pass show statsig)`: the writer opens after the reader."""
    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo)

    def write() -> None:
        time.sleep(0.2)
        with fifo.open("w", encoding="utf-8") as handle:
            handle.write("console-")
            handle.flush()
            time.sleep(0.1)  # in two parts: the key is what came until the writer closed
            handle.write("late\n")

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert load_api_key(fifo, wait=10.0) == ApiKey("console-late")
    finally:
        writer.join()
