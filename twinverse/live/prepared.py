"""What the engine makes of a batch: validated rows waiting for the writer, and the answer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from .rows import Rows as _Rows

__all__ = ["IngestResult", "PreparedBatch"]


@dataclass(frozen=True)
class IngestResult:
    """What happened to one batch."""

    received: int
    accepted: int
    rejected: int
    stored: int  # new rows written (accepted minus redelivered duplicates)
    errors: tuple[dict[str, object], ...] = ()  # the first rejected rows with their reasons

    def to_dict(self) -> dict[str, int]:
        return {"received": self.received, "accepted": self.accepted, "rejected": self.rejected, "stored": self.stored}


@dataclass
class PreparedBatch:
    """One batch after validation: its sorted, de-duplicated accepted rows and its rejects."""

    received: int
    accepted: int = 0
    rejected: int = 0
    rows: _Rows | None = None  # (batch, sid, ts, value, quality) sorted by (sid, ts)
    rejects: pa.Table | None = None
    errors: tuple[dict[str, object], ...] = ()
    reasons: npt.NDArray[np.int64] | None = None  # rejected rows per RejectReason code
