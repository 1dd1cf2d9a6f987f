"""The words of each reason code for a student left unplaced, in the reader's language.

One table, used by the coordinator's pages (a short label), by the student's own page
and by the mail that tells an unplaced student (a sentence addressed to the student), so
that a code never reads one way here and another way there. The services' sentences
(`Assignment.reason`) stay in English as details; these words are what a reader sees.

Its messages are the area `reasons` of the catalogues (French), not the partners' common
ones. No HTTP and no import of the web layer here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mobility_match.domain import ReasonCode

Gettext = Callable[[str], str]


@dataclass(frozen=True)
class ReasonWords:
    """How a page says one reason: a coordinator's label, and the sentence to the student."""

    label: str
    to_student: str


def _table(_: Gettext) -> dict[str, ReasonWords]:
    return {
        ReasonCode.NO_ACCEPTABLE_OFFER: ReasonWords(
            _("No acceptable offer"),
            _(
                "No offer of this round matched your trade, your languages, your dates, "
                "your age and your choices all at once."
            ),
        ),
        ReasonCode.PLACES_TAKEN: ReasonWords(
            _("Places taken by others"),
            _("Some offers suited you, but all their places went to other students."),
        ),
        ReasonCode.LOCKED_UNPLACED: ReasonWords(
            _("Left unplaced by a coordinator"),
            _("A coordinator decided not to place you in this round."),
        ),
        ReasonCode.POLICY_TRADEOFF: ReasonWords(
            _("Traded for the goals of the matching"),
            _(
                "An offer suited you, but placing you there would have upset the balance "
                "between girls and boys or between schools."
            ),
        ),
        ReasonCode.DECLINED: ReasonWords(
            _("Declined the placement offered"),
            _(
                "You declined the placement offered to you in the previous round, so this "
                "round does not place you."
            ),
        ),
    }


def reason_words(code: str, _: Gettext) -> ReasonWords | None:
    """The words of `code` in the language of `_`; None for no code or an unknown one."""
    return _table(_).get(code) if code else None


def reason_labels(_: Gettext) -> dict[str, str]:
    """Every reason code → its coordinator's label, for filters, tables and charts."""
    return {str(code): words.label for code, words in _table(_).items()}
