"""Fixtures of the application layer's tests."""

from __future__ import annotations

import pytest

from truceline.settings import Settings, read_model_path


@pytest.fixture
def environment(settings: Settings, no_outside_settings: None) -> dict[str, str]:
    """The TRUCELINE_* variables of this test's store and read model, and no others."""
    return {
        "TRUCELINE_DATABASE_URL": settings.database_url,
        "TRUCELINE_READ_MODEL_PATH": read_model_path(settings),
    }
