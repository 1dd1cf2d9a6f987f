"""Page of the evaluation, for coordinators and evaluators: the indicators of pilot and
control schools side by side, by gender, sector, diploma and school, as tables and
server-drawn charts (each chart's numbers are in the table under it), a cohort filter,
and the downloads (indicators, pseudonymised export, data dictionary).

Every figure comes from services/indicators.py, the same as the API's; this module
only chooses words and lays things out. Nothing on the page names a person.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from mobility_match.access import Viewer
from mobility_match.api.deps import ReadSessionDep, SettingsDep
from mobility_match.models import Role
from mobility_match.services import indicators
from mobility_match.services.indicators import Difference, Group, Indicators, Rate
from mobility_match.web import csrf
from mobility_match.web.charts import BarChart, Series, bar_chart
from mobility_match.web.deps import page_for
from mobility_match.web.templating import gettext_for, render

router = APIRouter(dependencies=[Depends(csrf.check)], include_in_schema=False)

EvaluationPage = Annotated[Viewer, Depends(page_for(Role.COORDINATOR, Role.EVALUATOR))]
Gettext = Callable[[str], str]


@dataclass(frozen=True)
class Figure:
    """One cell: a rate (with its count and interval) or a difference of rates."""

    status: str
    """ok, too_few or empty."""
    value: float | None = None
    low: float | None = None
    high: float | None = None
    count: int | None = None
    total: int | None = None
    difference: bool = False


@dataclass(frozen=True)
class Line:
    """A row of a table: a group's rates, a girls − boys gap or a pilot − control one."""

    kind: str
    """group, gap or difference."""
    category: str
    school_type: str
    who: str
    graduates: int | None
    figures: list[Figure]


@dataclass(frozen=True)
class Part:
    """A dimension (overview, sector, diploma, school): its chart and its table."""

    key: str
    title: str
    chart: BarChart
    lines: list[Line]


def _rate(rate: Rate) -> Figure:
    return Figure(rate.status, rate.value, rate.low, rate.high, rate.count, rate.total)


def _difference(difference: Difference | None) -> Figure:
    if difference is None or difference.value is None:
        return Figure("too_few", difference=True)
    return Figure("ok", difference.value, difference.low, difference.high, difference=True)


def rate_names(keys: Sequence[str], _: Gettext) -> dict[str, str]:
    """The name of each rate, in the page's language."""
    names = {
        "placed": _("Placed / eligible"),
        "completed": _("Completed / placed"),
    }
    for key in keys:
        if key.startswith("employed_or_training_"):
            months = key.removeprefix("employed_or_training_").removesuffix("m")
            names[key] = _("In employment or training at %(months)s months") % {"months": months}
        elif key.startswith("employed_"):
            months = key.removeprefix("employed_").removesuffix("m")
            names[key] = _("In employment at %(months)s months") % {"months": months}
    return names


def _labels(_: Gettext) -> dict[str, dict[str, str]]:
    return {
        "school_type": {"pilot": _("Pilot schools"), "control": _("Control schools")},
        "school_type_short": {"pilot": _("pilot"), "control": _("control")},
        "gender": {"all": _("Everyone"), "F": _("Girls"), "M": _("Boys")},
        "category": {
            "all": _("All graduates"),
            "services": _("Services"),
            "production": _("Production"),
            "unknown": _("Unknown"),
            "CAP": "CAP",
            "BAC_PRO": _("Bac pro"),
        },
    }


def _part(
    key: str,
    title: str,
    found: Indicators,
    chart_rate: str,
    labels: Mapping[str, Mapping[str, str]],
    series: Sequence[Series],
) -> Part:
    groups = [g for g in found.groups if g.dimension == key]
    gaps = {(d.category, d.school_type, d.rate): d for d in found.gaps if d.dimension == key}
    differences = {(d.category, d.rate): d for d in found.gap_differences if d.dimension == key}
    names = labels["category"]
    cells: dict[str, dict[str, dict[str, Group]]] = {}
    for group in groups:
        by_type = cells.setdefault(group.category, {})
        by_type.setdefault(group.school_type, {})[group.gender] = group
    lines: list[Line] = []
    categories: list[str] = []
    values: list[list[float | None]] = []
    for category, by_type in cells.items():
        name = names.get(category, category)
        for school_type, by_gender in by_type.items():
            type_name = labels["school_type"][school_type]
            lines += [
                Line(
                    "group",
                    name,
                    type_name,
                    labels["gender"][gender],
                    group.graduates,
                    [_rate(group.rates[rate]) for rate in found.rates],
                )
                for gender, group in by_gender.items()
            ]
            gap = [_difference(gaps.get((category, school_type, rate))) for rate in found.rates]
            lines.append(Line("gap", name, type_name, "", None, gap))
            short = labels["school_type_short"][school_type]
            categories.append(type_name if key == "all" else f"{name} — {short}")
            values.append([by_gender[g].rates[chart_rate].value for g in ("F", "M")])
        if any((category, rate) in differences for rate in found.rates):
            figures = [_difference(differences.get((category, rate))) for rate in found.rates]
            lines.append(Line("difference", name, "", "", None, figures))
    return Part(key, title, bar_chart(categories, series, values, rate=True), lines)


@router.get("/evaluation")
def evaluation_page(
    request: Request,
    session: ReadSessionDep,
    viewer: EvaluationPage,
    settings: SettingsDep,
    cohort: Annotated[str, Query(max_length=8)] = "",
    rate: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The indicators of the chosen cohort (default: every graduate) as tables and charts,
    with the downloads."""
    _ = gettext_for(request, viewer)
    cohorts = indicators.cohorts(session, viewer)
    chosen = int(cohort) if cohort.isdigit() and int(cohort) in cohorts else None
    found = indicators.indicators(
        session,
        viewer,
        cohort=chosen,
        min_count=settings.evaluation_min_count,
        waves=settings.follow_up_waves,
    )
    names = rate_names(found.rates, _)
    chart_rate = rate if rate in found.rates else found.rates[-1]
    labels = _labels(_)
    series = [Series("f", labels["gender"]["F"]), Series("m", labels["gender"]["M"])]
    parts = [
        _part(key, title, found, chart_rate, labels, series)
        for key, title in (
            ("all", _("Overview")),
            ("sector", _("By sector")),
            ("diploma", _("By diploma")),
            ("school", _("By school")),
        )
    ]
    download_query = f"?cohort={chosen}" if chosen is not None else ""
    context = {
        "found": found,
        "cohorts": cohorts,
        "cohort": chosen,
        "download_query": download_query,
        "rates": found.rates,
        "rate_names": names,
        "chart_rate": chart_rate,
        "series": series,
        "parts": parts,
    }
    return render(request, "evaluation/indicators.html", context, viewer=viewer)
