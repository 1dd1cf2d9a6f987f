"""What a round's result can be reproduced from: the SHA-256 of its inputs, and the software.

A round records, when it is solved, the SHA-256 of a canonical JSON of what the
engine was given (the snapshot's students and offers, in their order, the
locks and the policy), beside its seed (already a column) and the versions of
mobility_match, OR-tools and Python that solved it. The same inputs, seed and
software give the same result (CONTRACT.md); the hash lets an auditor check
that a file of students and offers is the one a published round was solved on.

Canonical means: objects as JSON with sorted keys and no spaces, UTF-8, sets
sorted, dates ISO, enumerations by value, exact fractions as `p/q` text. This
module reads no database (it is given the round) and solves nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import json
import platform
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import ortools

from mobility_match import __version__
from mobility_match.domain import RoundInput
from mobility_match.matching.policy import Policy
from mobility_match.models import Round
from mobility_match.services.rounds import round_policy

_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    """The field names of a dataclass, read once per class."""
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(kind))
    return names


def _plain(value: Any) -> Any:
    """What JSON cannot write itself, in its one spelling (see the module's docstring);
    json's encoder walks the rest (dicts, lists, text and numbers)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(type(value), "__dataclass_fields__"):
        return {name: getattr(value, name) for name in _field_names(type(value))}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, frozenset | set):
        return sorted(value, key=lambda item: (type(item).__name__, str(item)))
    if isinstance(value, Fraction):
        return str(value)
    raise TypeError(f"no canonical JSON for {type(value).__name__}")


def canonical_json(value: Any) -> str:
    """One JSON text per value: sorted keys, no spaces, non-ASCII kept."""
    return json.dumps(
        value, default=_plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def policy_data(policy: Policy) -> dict[str, Any]:
    """The policy as data: its stages in order and its tolerances as exact fractions."""
    return {
        "stages": list(policy.stages),
        "tolerance": {stage: str(share) for stage, share in sorted(policy.tolerance.items())},
    }


def inputs_sha256(round_input: RoundInput, policy: Policy) -> str:
    """The SHA-256 (hex) of the canonical JSON of the students, offers, locks and policy."""
    inputs = {
        "students": round_input.students,
        "offers": round_input.offers,
        "locks": round_input.locks,
        "policy": policy_data(policy),
    }
    return hashlib.sha256(canonical_json(inputs).encode("utf-8")).hexdigest()


def software() -> dict[str, str]:
    """The versions that solve rounds in this process."""
    return {
        "mobility_match": __version__,
        "ortools": str(getattr(ortools, "__version__", "")),
        "python": platform.python_version(),
    }


def record(round_input: RoundInput, policy: Policy, seed: int, time_limit: float) -> dict[str, Any]:
    """The reproducibility record of one solve, as the report JSON carries it."""
    return {
        "inputs_sha256": inputs_sha256(round_input, policy),
        "policy": policy_data(policy),
        "seed": seed,
        "time_limit": time_limit,
        "software": software(),
    }


def about_rows(
    *, inputs_hash: str, seed: int, time_limit: float, policy: Policy, versions: Mapping[str, str]
) -> list[tuple[str, str]]:
    """The rows of an export's "about" sheet: what the round's result was computed from."""
    tolerance = ", ".join(f"{stage} {share}" for stage, share in policy.tolerance.items())
    rows = [
        ("inputs_sha256", inputs_hash or "not recorded (solved before this record existed)"),
        ("seed", str(seed)),
        ("time_limit_seconds", f"{time_limit:g}"),
        ("policy_stages", ", ".join(policy.stages)),
        ("policy_tolerance", tolerance or "none"),
    ]
    rows += [(f"version_{name}", version) for name, version in sorted(versions.items())]
    return rows


def round_about(round_: Round) -> list[tuple[str, str]]:
    """The "about" rows of a round's exports (exports.to_xlsx_bytes(..., about=…))."""
    return about_rows(
        inputs_hash=round_.inputs_sha256,
        seed=round_.seed,
        time_limit=round_.time_limit,
        policy=round_policy(round_),
        versions=round_.software,
    )
