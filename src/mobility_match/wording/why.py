"""How "why not this offer?" reads, in French or in English.

The sentences are data (why.toml beside this module); this module only puts the
facts of matching/why.py into them: offers and students as the caller labels
them, dates, numbers and ordinals as the language writes them. It never changes a
fact, and knows nothing of HTTP or the database.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from fractions import Fraction
from functools import cache
from importlib import resources
from string import Formatter

from mobility_match.domain import Placement, Reason, ReasonCode
from mobility_match.matching.pairs import IntArray
from mobility_match.matching.policy import Policy
from mobility_match.matching.problem import Assignment, Problem
from mobility_match.matching.why import (
    Holder,
    Move,
    OfferWhy,
    StageChange,
    StudentWhy,
    Verdict,
    tradeoff_stage,
)

LANGUAGES: tuple[str, ...] = ("fr", "en")
"""The languages of the explanations, French first."""

SHOWN = 5
"""How many holders a sentence names before "and N more"."""

Label = Callable[[str], str]
"""How an offer or a student id is shown (e.g. with the company and city)."""


@cache
def entries() -> dict[str, dict[str, dict[str, str]]]:
    """Every entry of why.toml: section → name → language → words."""
    text = resources.files("mobility_match.wording").joinpath("why.toml").read_text("utf-8")
    return tomllib.loads(text)


def placeholders(words: str) -> set[str]:
    """The names in braces of a sentence."""
    return {name for _, name, _, _ in Formatter().parse(words) if name}


def _plain(text: str) -> str:
    return text


class Words:
    """The words of one language."""

    def __init__(self, language: str) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"language {language!r}: expected one of {', '.join(LANGUAGES)}")
        self.language = language

    def __call__(self, key: str, **facts: object) -> str:
        """The sentence `section.name` with its facts filled in."""
        section, name = key.split(".")
        return entries()[section][name][self.language].format(**facts)

    def has(self, key: str) -> bool:
        section, name = key.split(".")
        return name in entries().get(section, {})

    def date(self, iso: str) -> str:
        return dt.date.fromisoformat(iso).strftime(self("format.date"))

    def number(self, value: Fraction) -> str:
        """A rate as a percentage, two decimals."""
        return f"{float(value * 100):.2f}".replace(".", self("format.decimal"))

    def ordinal(self, n: int) -> str:
        if n == 1:
            key = "first"
        elif self.language == "en" and n % 100 not in (11, 12, 13) and n % 10 in (1, 2, 3):
            key = ("first", "second", "third")[n % 10 - 1]
        else:
            key = "nth"
        return self(f"format.{key}", n=n)

    def choice(self, rank: int | None, listed: bool) -> str:
        """ "2nd choice"; "no preference listed"; "not among the preferences"."""
        if rank is not None:
            return self("format.choice", ordinal=self.ordinal(rank))
        return self("format.not_a_choice" if listed else "format.no_choice")

    def listing(self, items: Sequence[str], shown: int = SHOWN) -> str:
        joined = self("format.list").join(items[:shown])
        if len(items) > shown:
            return self("format.and_more", list=joined, count=len(items) - shown)
        return joined

    def stage(self, stage: str) -> str:
        return self(f"stage.{stage}")

    def value(self, stage: str, value: Fraction) -> str:
        """A stage's value as its readers count it: students, points of rate, percents."""
        count = str(value.numerator) if value.denominator == 1 else str(value)
        return self(f"value.{stage}", count=count, number=self.number(value))


def offer_lines(
    why: OfferWhy, words: Words, offer: Label = _plain, student: Label = _plain
) -> list[str]:
    """The sentences of one offer's explanation (without its heading)."""
    if why.verdict is Verdict.RULES:
        return [words("offer.rules"), *(f"- {rule}" for rule in rule_lines(why, words))]
    lines = [_places(why, words, student)]
    lines.extend(_verdict(why, words, offer, student))
    return lines


def offer_heading(why: OfferWhy, words: Words, listed: bool, offer: Label = _plain) -> str:
    return words("offer.heading", offer=offer(why.offer_id), choice=words.choice(why.rank, listed))


def rule_lines(why: OfferWhy, words: Words) -> list[str]:
    """One sentence per hard rule the pair breaks, in the rules' order."""
    lines = []
    for broken in why.broken:
        facts = dict(broken.facts)
        for key in ("start", "end", "available_from", "available_to", "day"):
            if key in facts:
                facts[key] = words.date(facts[key])
        if "sector" in facts:
            facts["sector"] = words(f"sector.{facts['sector']}")
        if "needs" in facts:
            facts["needs"] = words("format.alternatives").join(facts["needs"].split("|"))
        if "has" in facts and not facts["has"]:
            facts["has"] = words("format.no_language")
        key = f"rule.{broken.variant}"
        lines.append(
            words(key, **facts) if words.has(key) else words("rule.other", rule=broken.rule)
        )
    return lines


def _holder(holder: Holder, words: Words, student: Label) -> str:
    who = student(holder.student_id) if holder.student_id else words("format.another_student")
    key = "offer.holder_locked" if holder.locked else "offer.holder"
    return words(key, student=who, choice=words.choice(holder.rank, holder.rank is not None))


def _places(why: OfferWhy, words: Words, student: Label) -> str:
    holders = words.listing([_holder(h, words, student) for h in why.holders])
    one = why.places == 1
    if not why.holders:
        return words("offer.one_empty" if one else "offer.places_empty", places=why.places)
    if why.free <= 0:
        return words(
            "offer.one_full" if one else "offer.places_full", places=why.places, holders=holders
        )
    return words("offer.places_free", places=why.places, free=why.free, holders=holders)


def _change(change: StageChange, words: Words) -> dict[str, str]:
    return {
        "stage": words.stage(change.stage),
        "before": words.value(change.stage, change.before),
        "after": words.value(change.stage, change.after),
    }


def _verdict(why: OfferWhy, words: Words, offer: Label, student: Label) -> list[str]:
    if why.verdict is Verdict.PLACED_HERE:
        return [words("offer.placed_here")]
    if why.verdict is Verdict.LOCKED:
        lock = why.lock
        assert lock is not None
        if lock.offer_id is not None:
            return [words("offer.locked_on", offer=offer(lock.offer_id))]
        if lock.declined_in is not None:
            return [words("offer.locked_declined", round=lock.declined_in)]
        return [words("offer.locked_out")]
    if why.verdict is Verdict.HELD_BY_LOCKS:
        return [words("offer.held_by_locks")]
    if why.verdict is Verdict.TAKEN:
        return [words("offer.taken")]
    change = why.change
    if why.verdict is Verdict.TIE or change is None:
        lines = [words("offer.tie")]
    elif why.verdict is Verdict.POSSIBLE:
        lines = [words("offer.possible", **_change(change, words))]
    else:
        key = "offer.stage_added" if why.move is Move.ADDED else "offer.stage_solved"
        lines = [words(key, **_change(change, words))]
    if not why.proven:
        lines.append(words("offer.unproven"))
    return lines


def student_summary(
    why: StudentWhy, words: Words, offer: Label = _plain, student: Label = _plain
) -> list[str]:
    """The sentences that say where the student is, before the offers examined."""
    who = student(why.student_id)
    if why.situation == "placed":
        assert why.offer_id is not None
        lines = [
            words(
                "student.placed",
                student=who,
                offer=offer(why.offer_id),
                choice=words.choice(why.rank, why.listed_preferences),
            )
        ]
        if why.lock is not None:
            lines.append(words("offer.locked_on", offer=offer(why.offer_id)))
        if not why.listed_preferences:
            lines.append(words("student.no_preferences"))
        elif why.rank == 1:
            lines.append(words("student.first_choice"))
        elif why.offers or why.choices:
            lines.append(words("student.earlier"))
            lines.extend(_choices(why, words))
        return lines
    facts: dict[str, object] = {"student": who}
    key = f"student.{why.situation}"
    if why.situation == "no_acceptable_offer":
        facts["counts"] = _counts(why.rule_counts, words)
    elif why.situation == "declined":
        facts["round"] = why.lock.declined_in if why.lock else ""
    elif why.situation == "policy_tradeoff":
        if why.tradeoff is None:
            key = "student.policy_tradeoff_unnamed"
        else:
            facts.update(_change(why.tradeoff[1], words), offer=offer(why.tradeoff[0]))
    lines = [words(key, **facts), *_choices(why, words)]
    if why.offers:
        eligible = any(o.verdict is not Verdict.RULES for o in why.offers)
        lines.append(words("student.acceptable" if eligible else "student.named"))
    return lines


def _counts(counts: Mapping[str, int], words: Words) -> str:
    return words("format.list").join(
        f"{words(f'rule_name.{rule}') if words.has(f'rule_name.{rule}') else rule} {count}"
        for rule, count in counts.items()
    )


def _choices(why: StudentWhy, words: Words) -> list[str]:
    """One sentence per country among the preferences considered."""
    lines = []
    for choice in why.choices:
        facts = {
            "choice": words.choice(choice.rank, True),
            "country": words(f"country.{choice.entry}"),
            "offers": choice.offers,
            "acceptable": choice.acceptable,
        }
        if not choice.offers:
            lines.append(words("student.choice_empty", **facts))
        elif not choice.acceptable:
            counts = _counts({r: n for r, n in choice.rule_counts.items() if n}, words)
            lines.append(words("student.choice_none", counts=counts, **facts))
        else:
            lines.append(words("student.choice_some", **facts))
    return lines


def student_lines(
    why: StudentWhy, words: Words, offer: Label = _plain, student: Label = _plain
) -> list[str]:
    """The whole explanation of a student as lines of text: the summary, then each offer
    examined (its heading, then its sentences indented)."""
    lines = student_summary(why, words, offer, student)
    for examined in why.offers:
        lines.append(offer_heading(examined, words, why.listed_preferences, offer))
        lines.extend(f"  {line}" for line in offer_lines(examined, words, offer, student))
    if why.more:
        lines.append(words("student.more", offers=words.listing(list(why.more), 10)))
    return lines


def offer_explanation(
    why: OfferWhy,
    words: Words,
    listed: bool,
    offer: Label = _plain,
    student: Label = _plain,
) -> list[str]:
    """One offer's explanation as lines of text: its heading, then its sentences."""
    return [
        offer_heading(why, words, listed, offer),
        *(f"  {line}" for line in offer_lines(why, words, offer, student)),
    ]


def tradeoff_sentence(change: StageChange, offer_id: str, words: Words) -> str:
    """What a policy_tradeoff reason adds to name its stage (matching.why.tradeoff_stage)."""
    return words("reason.tradeoff_stage", offer=offer_id, **_change(change, words))


def name_tradeoffs(
    problem: Problem,
    assignment: Assignment,
    policy: Policy,
    placements: Sequence[Placement],
    before_offers: IntArray | None = None,
    language: str = "en",
) -> list[Placement]:
    """The placements of a solve, each policy_tradeoff reason ending with the stage that
    keeps the free place free (tradeoff_stage), for the engine to call after explain();
    `policy` and `before_offers` as the solve had them (RoundRun.policy, .previous)."""
    words = Words(language)
    named = []
    for i, placement in enumerate(placements):
        reason = placement.reason
        found = None
        if reason is not None and reason.code is ReasonCode.POLICY_TRADEOFF:
            found = tradeoff_stage(problem, assignment, policy, i, before_offers)
        if reason is None or found is None:
            named.append(placement)
            continue
        j, change = found
        added = tradeoff_sentence(change, problem.round_input.offers[j].offer_id, words)
        named.append(replace(placement, reason=Reason(reason.code, f"{reason.sentence} {added}")))
    return named


def check_entries(data: Mapping[str, Mapping[str, Mapping[str, str]]]) -> list[str]:
    """What is wrong with a words table: an entry without every language, or whose
    languages do not name the same facts (empty: nothing)."""
    problems = []
    for section, names in data.items():
        for name, by_language in names.items():
            where = f"{section}.{name}"
            missing = [lang for lang in LANGUAGES if lang not in by_language]
            if missing:
                problems.append(f"{where}: no {', '.join(missing)}")
                continue
            facts = {lang: placeholders(by_language[lang]) for lang in LANGUAGES}
            if len({frozenset(f) for f in facts.values()}) > 1:
                problems.append(f"{where}: the languages name different facts {facts}")
    return problems
