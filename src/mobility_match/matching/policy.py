"""The matching policy: which objective stages, in which order, with which tolerances.

A policy comes from a small TOML file (CONTRACT.md); without one, DEFAULT_POLICY
applies. What a tolerance means depends on what the stage measures (stages.py):

- `placements` and `preferences` count students or ranks, so their tolerance is
  a share of the optimum: placements = 0.05 keeps at least 95 % of the most
  placements; preferences = 0.1 allows a preference cost up to 10 % above the
  least one.
- `gender_gap` and `school_fairness` are already rates, so their tolerance is in
  rate points: gender_gap = 0.02 allows a gap up to 2 points above the smallest;
  school_fairness = 0.05 allows the lowest school rate 5 points below the best.

One more stage, `changes`, exists only inside the engine: solve_round adds it
when it re-runs a round against a previous assignment (changes.py). A policy
file cannot name it, since only the caller has that previous assignment.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

from mobility_match.matching.stages import POLICY_STAGES, STAGE_SPECS, Stage

STAGES: tuple[Stage, ...] = POLICY_STAGES
"""Every stage a policy may name, in the default order (stages.POLICY_STAGES)."""

MAXIMISED = frozenset(stage for stage, spec in STAGE_SPECS.items() if spec.maximised)
"""The stages maximised (from their specs, for older callers)."""

CHANGES = Stage.CHANGES
"""The internal stage of a re-run: students whose outcome differs from before, minimised."""


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Policy:
    """Objective stages in order, and how much of each optimum later stages may give up."""

    stages: tuple[Stage, ...] = STAGES
    tolerance: Mapping[Stage, Fraction] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Stage names given as plain strings become stages (ValueError for an unknown one).
        object.__setattr__(self, "stages", tuple(Stage(s) for s in self.stages))
        object.__setattr__(
            self, "tolerance", {Stage(s): share for s, share in self.tolerance.items()}
        )

    def tolerance_of(self, stage: Stage) -> Fraction:
        return self.tolerance.get(stage, Fraction(0))

    def allowed(self, stage: Stage, optimum: Fraction) -> Fraction:
        """Return the worst value later stages may reach for a stage whose best is `optimum`."""
        return STAGE_SPECS[Stage(stage)].allowed(optimum, self.tolerance_of(stage))


DEFAULT_POLICY = Policy()


def parse_policy(text: str, source: str = "policy") -> Policy:
    """Read a policy from TOML text; every problem is reported at once as `source:field: …`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"{source}: not valid TOML: {error}") from None
    problems: list[str] = []
    for key in data:
        if key not in ("stages", "tolerance"):
            problems.append(f"{source}:{key}: unknown setting; valid settings: stages, tolerance")
    stages = _parse_stages(data.get("stages", list(STAGES)), source, problems)
    tolerance = _parse_tolerance(data.get("tolerance", {}), source, problems)
    if problems:
        raise PolicyError("\n".join(problems))
    return Policy(stages=stages, tolerance=tolerance)


def _parse_stages(raw: object, source: str, problems: list[str]) -> tuple[Stage, ...]:
    valid = ", ".join(STAGES)
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        problems.append(f"{source}:stages: expected a list of stage names among {valid}")
        return STAGES
    if not raw:
        problems.append(
            f"{source}:stages: the list is empty; name at least one stage among {valid}, "
            "or leave stages out for the default order"
        )
        return STAGES
    stages: list[Stage] = []
    for name in raw:
        if name not in STAGES:
            problems.append(f"{source}:stages: unknown stage {name!r}; valid stages: {valid}")
        elif name in stages:
            problems.append(f"{source}:stages: stage {name!r} is listed twice")
        else:
            stages.append(Stage(name))
    return tuple(stages)


def _parse_tolerance(raw: object, source: str, problems: list[str]) -> dict[Stage, Fraction]:
    if not isinstance(raw, dict):
        problems.append(
            f"{source}:tolerance: expected a table such as [tolerance] placements = 0.05"
        )
        return {}
    tolerance: dict[Stage, Fraction] = {}
    for name, value in raw.items():
        where = f"{source}:tolerance.{name}"
        if name not in STAGES:
            problems.append(f"{where}: unknown stage; valid stages: {', '.join(STAGES)}")
            continue
        try:
            # Through Decimal, so that 0.05 means 5/100 exactly, not the nearest binary float.
            share = Fraction(Decimal(str(value))) if not isinstance(value, bool) else None
        except (InvalidOperation, ValueError):
            share = None
        if share is None or not 0 <= share <= 1:
            problems.append(f"{where}: expected a number from 0 to 1, got {value!r}")
            continue
        tolerance[Stage(name)] = share
    return tolerance


def load_policy(path: Path) -> Policy:
    """Read a policy file; a missing or unreadable file is a PolicyError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(f"{path}: cannot read the policy file: {error}") from None
    return parse_policy(text, str(path))
