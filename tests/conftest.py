"""Shared fixtures. Paths to the repository's own spec copies, so no test reads outside the repo."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SPEC_DIR = REPO / "spec"


@pytest.fixture
def spec_dir() -> Path:
    return SPEC_DIR


# The fake Console API fixtures (fake_server, fake_server_factory, fake_session).
pytest_plugins = ["fakeapi_fixtures"]


@pytest.fixture(autouse=True)
def _private_state_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test reads or writes the user's real budget memory (nor shares one with another)."""
    monkeypatch.setenv("BULK_SOURCES_STATE_DIR", str(tmp_path_factory.mktemp("bulk-sources-state")))
