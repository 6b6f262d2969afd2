"""Fixtures of the trust tests: a controllable clock, a trust service in a temporary directory,
and the shared reference data (``../shared/data``, read where it is)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from twinverse.trust import Principal, TrustService


class Clock:
    """A clock the test moves by hand, so expiry is tested without waiting."""

    def __init__(self) -> None:
        self.now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def trust(tmp_path: Path, clock: Clock) -> Iterator[TrustService]:
    # synchronous=OFF: durability is not under test here and fsyncs slow the suite down.
    t = TrustService(tmp_path / "data", clock=clock, synchronous="OFF")
    yield t
    t.close()


@pytest.fixture
def admin(trust: TrustService) -> Principal:
    return trust.local_admin("default")
