"""Streaming anomaly detectors: the extension point, the built-ins, the service, NAB scoring."""

from __future__ import annotations

from .base import Detector, DetectorKind, detector_kind
from .service import AnomalyService
from .spec import DetectorSpec, load_detector_specs

__all__ = ["AnomalyService", "Detector", "DetectorKind", "DetectorSpec", "detector_kind", "load_detector_specs"]
