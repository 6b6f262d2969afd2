"""Run DTDLParser's conformance cases through :func:`parse_models` and compare the verdicts.

A case (one JSON file) holds the input documents, the options, the model-repository answers
for the ids it references (``resolution``) and what DTDLParser concluded: ``valid``, and for
an invalid model the ``parsingErrors`` with their ``ValidationID``. Cases of the ``dtmis``
folder hold one identifier (``idText``) instead, valid or not as a DTMI.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._metamodel import is_dtmi
from ._model import DtdlError
from .parser import parse_models

__all__ = ["CaseResult", "FolderScore", "run_case", "run_cases", "score"]


@dataclass(frozen=True)
class CaseResult:
    """The reference verdict of one case beside ours."""

    folder: str
    name: str
    expected_valid: bool
    valid: bool
    expected_id: str | None
    first_id: str | None

    @property
    def same_verdict(self) -> bool:
        return self.expected_valid == self.valid

    @property
    def same_id(self) -> bool:
        return self.expected_id is not None and self.expected_id == self.first_id


@dataclass(frozen=True)
class FolderScore:
    """Agreement over one folder: cases, same verdict, invalid cases with a reference id, same first id."""

    folder: str
    cases: int
    same_verdict: int
    with_id: int
    same_id: int

    @property
    def verdict_rate(self) -> float:
        return self.same_verdict / self.cases if self.cases else 1.0

    @property
    def id_rate(self) -> float:
        return self.same_id / self.with_id if self.with_id else 1.0


def _resolver(case: dict[str, Any]) -> Any:
    answers: dict[str, list[Any]] = {}
    for entry in case.get("resolution", []) or []:
        for req in entry.get("request") or []:
            answers[req] = list(entry.get("response") or [])

    def resolve(ids: list[str]) -> list[Any]:
        out: list[Any] = []
        for i in ids:
            for doc in answers.pop(i, []):
                if doc not in out:
                    out.append(doc)
        return out

    return resolve


def run_case(path: Path) -> CaseResult:
    """Our verdict on one case file."""
    case = json.loads(path.read_text(encoding="utf-8-sig"))
    folder, name = path.parent.name, path.stem
    expected_valid = bool(case.get("valid"))
    errors = (case.get("expect") or {}).get("parsingErrors") or []
    expected_id = errors[0].get("ValidationID") if errors and not expected_valid else None
    if "idText" in case:
        return CaseResult(folder, name, expected_valid, is_dtmi(case["idText"]), None, None)
    options = case.get("options") or []
    try:
        parse_models(
            case.get("input", []),
            resolver=_resolver(case),
            allow_undefined_extensions="AllowUndefinedExtensions" in options,
            max_dtdl_version=case.get("maxDtdlVersion"),
            tolerate_solecisms=[q.removeprefix("TolerateSolecismsIn").lower() for q in case.get("quirks") or []],
        )
    except DtdlError as exc:
        return CaseResult(folder, name, expected_valid, False, expected_id, exc.errors[0].validation_id)
    return CaseResult(folder, name, expected_valid, True, expected_id, None)


def run_cases(root: Path) -> list[CaseResult]:
    """Every case under ``root`` (one folder level), sorted by folder and name."""
    return [run_case(p) for p in sorted(root.glob("*/*.json"))]


def score(results: Iterable[CaseResult]) -> list[FolderScore]:
    """Per-folder agreement, plus a last row ``all``."""
    rows: dict[str, list[CaseResult]] = {}
    for r in results:
        rows.setdefault(r.folder, []).append(r)
    out = []
    everything: list[CaseResult] = []
    for folder in sorted(rows):
        rs = rows[folder]
        everything.extend(rs)
        out.append(_score(folder, rs))
    out.append(_score("all", everything))
    return out


def _score(folder: str, rs: list[CaseResult]) -> FolderScore:
    return FolderScore(
        folder,
        len(rs),
        sum(r.same_verdict for r in rs),
        sum(r.expected_id is not None for r in rs),
        sum(r.same_id for r in rs),
    )
