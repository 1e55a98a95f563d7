"""Fixtures of the unit tests."""

from __future__ import annotations

import pytest

from tests.helpers.sources import ArraySource


@pytest.fixture
def array_source() -> ArraySource:
    return ArraySource()
