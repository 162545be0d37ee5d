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
