"""Reference data every database needs: the partner organisations of the vocabulary."""

from __future__ import annotations

from sqlmodel import Session

from mobility_match.domain import load_vocabulary
from mobility_match.models import Partner


def ensure_partners(session: Session) -> int:
    """Add the vocabulary's partners that the database lacks; return how many were added."""
    added = 0
    for partner in load_vocabulary().partners.values():
        if session.get(Partner, partner.code) is None:
            session.add(
                Partner(code=partner.code, country=partner.country.value, name=partner.name)
            )
            added += 1
    session.commit()
    return added
