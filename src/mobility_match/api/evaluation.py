"""Routes of the evaluation, for coordinators and evaluators: the indicators (JSON, CSV,
XLSX), the pseudonymised export of the graduates and its data dictionary.

Nothing here names a person: the export gives pseudonyms (services/pseudonymised.py);
each download of it is written in the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from mobility_match.access import Viewer
from mobility_match.api.deps import ReadSessionDep, SessionDep, SettingsDep, allow
from mobility_match.api.problems import SIGNED_IN, responses
from mobility_match.exports import MEDIA_TYPES
from mobility_match.models import Role
from mobility_match.services import audit, indicators, pseudonymised
from mobility_match.services.indicators import Difference, Indicators

router = APIRouter(prefix="/api/evaluation", tags=["evaluation"], responses=SIGNED_IN)

Evaluation = Annotated[Viewer, Depends(allow(Role.COORDINATOR, Role.EVALUATOR))]
Cohort = Annotated[
    int | None,
    Query(ge=1900, le=2200, description="The diploma year (default: every graduate)."),
]
Format = Literal["csv", "xlsx"]


def rate_descriptions(keys: tuple[str, ...]) -> dict[str, str]:
    """What each rate divides."""
    described = {
        "placed": "placed / eligible in the current published round",
        "completed": "placements completed / placed",
    }
    for key in keys:
        months = key.rsplit("_", 1)[-1].removesuffix("m")
        if key.startswith("employed_or_training_"):
            described[key] = f"in employment or training at {months} months / answered"
        elif key.startswith("employed_"):
            described[key] = f"in employment at {months} months / answered at {months} months"
    return described


METHODS = {
    "rate": "Wilson score interval, 95 %",
    "gap": "girls' rate − boys' rate; Newcombe's hybrid score interval (method 10), 95 %",
    "gap_difference": "pilot gap − control gap; square-and-add of the two gaps' Newcombe "
    "intervals (MOVER, Zou and Donner 2008), 95 %",
    "threshold": "a rate whose denominator is below min_count is not given (status too_few; "
    "empty: nobody in the denominator)",
}


class RatePublic(BaseModel):
    total: int = Field(description="The denominator (eligible, placed, or who answered).")
    count: int | None = Field(description="The numerator; null below the threshold.")
    value: float | None
    low: float | None = Field(description="The 95 % interval's lower end.")
    high: float | None
    status: Literal["ok", "too_few", "empty"]


class GroupPublic(BaseModel):
    """The figures of one group: a category of a dimension, a school type, a gender."""

    dimension: Literal["all", "sector", "diploma", "school"]
    category: str = Field(description="all; services/production; CAP/BAC_PRO; a school code.")
    school_type: Literal["pilot", "control"]
    gender: Literal["all", "F", "M"]
    graduates: int = Field(description="The cohort size of the group.")
    rates: dict[str, RatePublic]


class GapPublic(BaseModel):
    """A girls − boys gap of a rate in one school type (null: a rate is not given)."""

    dimension: str
    category: str
    school_type: Literal["pilot", "control"]
    indicator: str
    girls: float | None
    boys: float | None
    gap: float | None
    low: float | None
    high: float | None


class GapDifferencePublic(BaseModel):
    """The pilot schools' gap minus the control schools' gap (null: a gap is not given)."""

    dimension: str
    category: str
    indicator: str
    pilot_gap: float | None
    control_gap: float | None
    difference: float | None
    low: float | None
    high: float | None


class IndicatorsPublic(BaseModel):
    cohort: int | None
    cohorts: list[int] = Field(description="Every cohort there are graduates of.")
    min_count: int
    confidence: float = 0.95
    waves: list[int] = Field(description="Months after the diploma of the follow-up.")
    indicators: dict[str, str] = Field(description="Each rate and what it divides.")
    methods: dict[str, str]
    groups: list[GroupPublic]
    gaps: list[GapPublic]
    gap_differences: list[GapDifferencePublic]


def _gap(gap: Difference) -> GapPublic:
    return GapPublic.model_validate(
        {
            **_common(gap),
            "school_type": gap.school_type,
            "girls": gap.first,
            "boys": gap.second,
            "gap": gap.value,
        }
    )


def _gap_difference(difference: Difference) -> GapDifferencePublic:
    return GapDifferencePublic.model_validate(
        {
            **_common(difference),
            "pilot_gap": difference.first,
            "control_gap": difference.second,
            "difference": difference.value,
        }
    )


def _common(difference: Difference) -> dict[str, object]:
    return {
        "dimension": difference.dimension,
        "category": difference.category,
        "indicator": difference.rate,
        "low": difference.low,
        "high": difference.high,
    }


def public(found: Indicators, cohorts: list[int]) -> IndicatorsPublic:
    """The indicators as the API answers them."""
    return IndicatorsPublic(
        cohort=found.cohort,
        cohorts=cohorts,
        min_count=found.min_count,
        waves=list(found.waves),
        indicators=rate_descriptions(found.rates),
        methods=METHODS,
        groups=[GroupPublic.model_validate(group, from_attributes=True) for group in found.groups],
        gaps=[_gap(gap) for gap in found.gaps],
        gap_differences=[_gap_difference(d) for d in found.gap_differences],
    )


def _file(body: bytes, fmt: str, name: str) -> Response:
    return Response(
        body,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


FILES: dict[int | str, dict[str, Any]] = {
    200: {"content": {media: {} for media in MEDIA_TYPES.values()}}
}


@router.get("/indicators", responses=responses(403))
def get_indicators(
    session: ReadSessionDep, viewer: Evaluation, settings: SettingsDep, cohort: Cohort = None
) -> IndicatorsPublic:
    """Pilot and control schools side by side, by gender, sector, diploma and school: cohort
    sizes, rates with their 95 % intervals, girls − boys gaps and their pilot − control
    differences."""
    found = indicators.indicators(
        session,
        viewer,
        cohort=cohort,
        min_count=settings.evaluation_min_count,
        waves=settings.follow_up_waves,
    )
    return public(found, indicators.cohorts(session, viewer))


@router.get(
    "/indicators.{fmt}",
    response_class=Response,
    responses={**FILES, **responses(403)},
)
def indicators_file(
    fmt: Format,
    session: ReadSessionDep,
    viewer: Evaluation,
    settings: SettingsDep,
    cohort: Cohort = None,
) -> Response:
    """The indicators as one table (a row per rate, gap and difference of gaps)."""
    found = indicators.indicators(
        session,
        viewer,
        cohort=cohort,
        min_count=settings.evaluation_min_count,
        waves=settings.follow_up_waves,
    )
    rows = pseudonymised.indicator_rows(found)
    header = pseudonymised.INDICATOR_HEADER
    if fmt == "csv":
        body = pseudonymised.csv_bytes(header, rows)
    else:
        body = pseudonymised.xlsx_bytes([("indicators", header, rows)])
    return _file(body, fmt, _name("indicators", cohort))


def _name(stem: str, cohort: int | None) -> str:
    return f"evaluation-{stem}" + (f"-{cohort}" if cohort is not None else "")


@router.get(
    "/export.{fmt}",
    response_class=Response,
    responses={**FILES, **responses(403)},
)
def export(
    fmt: Format,
    session: SessionDep,
    viewer: Evaluation,
    settings: SettingsDep,
    cohort: Cohort = None,
) -> Response:
    """The pseudonymised export: one row per graduate, no name, e-mail, phone, address or
    birth date (birth year only), schools by code; the XLSX has the data dictionary on a
    second sheet."""
    key = settings.pseudonym_key.get_secret_value()
    waves = settings.follow_up_waves
    header, rows = pseudonymised.export(session, viewer, key=key, cohort=cohort, waves=waves)
    audit.record(session, viewer, "evaluation.export", "evaluation", cohort=cohort, rows=len(rows))
    session.commit()
    if fmt == "csv":
        body = pseudonymised.csv_bytes(header, rows)
    else:
        columns = pseudonymised.export_columns(waves)
        body = pseudonymised.xlsx_bytes(
            [
                ("graduates", header, rows),
                (
                    "dictionary",
                    pseudonymised.DICTIONARY_HEADER,
                    pseudonymised.dictionary_rows(columns),
                ),
            ]
        )
    return _file(body, fmt, _name("export", cohort))


@router.get(
    "/dictionary.csv",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPES["csv"]: {}}}, **responses(403)},
)
def dictionary(viewer: Evaluation, settings: SettingsDep) -> Response:
    """The export's data dictionary: each column, its type, its values and its meaning."""
    columns = pseudonymised.export_columns(settings.follow_up_waves)
    rows = pseudonymised.dictionary_rows(columns)
    body = pseudonymised.csv_bytes(pseudonymised.DICTIONARY_HEADER, rows)
    return _file(body, "csv", "evaluation-dictionary")
