"""Placement documents: the facts of a placement, its checklist, and the letters rendered from them.

Nothing here touches the database or a request: services/documents.py and
services/checklists.py gather a published placement's facts, and this package
turns them into dated checklist steps and into HTML and PDF documents. The documents'
words (country names and prepositions, partners, labels, commitments, a minor's
protection rules) are data in `mobility_match/vocabularies/`, read by formatting.py.
"""
