"""The words of each reason code, as the pages import them: the table itself lives in
mobility_match/wording/reasons.py (area `reasons`), so that the mails use the same words
without importing the web layer. No routes here."""

from __future__ import annotations

from mobility_match.wording.reasons import ReasonWords, reason_labels, reason_words

__all__ = ["ReasonWords", "reason_labels", "reason_words"]
