"""Hand-built placement facts for document tests: valid defaults, override what matters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mobility_match.documents.facts import Actor, DueStep, PlacementFacts
from mobility_match.domain import Country, Diploma, Gender, load_vocabulary

PARTNER_OF = {Country.DE: "OFAJ", Country.PL: "ABC_WIEDZY", Country.UK: "BRITISH_COUNCIL"}

HOSTS: dict[Country, dict[str, str]] = {
    Country.DE: {
        "offer_id": "DE-LEI-01",
        "company_name": "Kaufhaus Sommer GmbH",
        "company_address": "Grimmaische Straße 12, 04109 Leipzig",
        "city": "Leipzig",
        "tutor_name": "Anna Schmidt",
        "tutor_email": "a.schmidt@kaufhaus-sommer.example",
    },
    Country.PL: {
        "offer_id": "PL-KRK-01",
        "company_name": "Księgarnia Wiślana sp. z o.o.",
        "company_address": "ul. Floriańska 15, 31-019 Kraków",
        "city": "Kraków",
        "tutor_name": "Małgorzata Żółkiewska",
        "tutor_email": "m.zolkiewska@ksiegarnia-wislana.example",
    },
    Country.UK: {
        "offer_id": "UK-MAN-01",
        "company_name": "Harbour Books Ltd",
        "company_address": "14 Deansgate, Manchester M3 2BW",
        "city": "Manchester",
        "tutor_name": "Oliver Hughes",
        "tutor_email": "o.hughes@harbourbooks.example",
    },
}

FIRST_STEPS = (
    DueStep(
        key="ceam",
        title="Demander la carte européenne d'assurance maladie",
        explanation="Sur le site de l'Assurance maladie, au moins deux semaines avant le départ.",
        who=Actor.STUDENT,
        due_on=dt.date(2027, 4, 5),
    ),
    DueStep(
        key="convention",
        title="Faire signer la convention de stage",
        explanation="Par l'élève, l'établissement et l'entreprise d'accueil.",
        who=Actor.TEACHER,
        due_on=dt.date(2027, 4, 12),
        check_legal=True,
        legal_note="Vérifier le modèle de convention en vigueur (Code de l'éducation, D. 124-4).",
    ),
)


def make_facts(**overrides: Any) -> PlacementFacts:
    """Return an adult bac pro commerce student of Lycée Jean Moulin placed in Leipzig.

    Overriding `country` moves the host (company, city, tutor, partner) to that country
    unless those fields are overridden too; `minor=True` alone makes the student 16.
    """
    country = Country(overrides.get("country", Country.DE))
    partner_code = PARTNER_OF[country]
    fields: dict[str, Any] = {
        "round_id": 1,
        "issued_on": dt.date(2027, 3, 15),
        "student_id": "S1",
        "first_name": "Léa",
        "last_name": "Martin",
        "gender": Gender.F,
        "birth_date": dt.date(2006, 3, 14),
        "email": "lea.martin@eleve.example",
        "diploma": Diploma.BAC_PRO,
        "trade": "commerce",
        "minor": False,
        "guardian_name": "",
        "guardian_email": "",
        "guardian_phone": "",
        "school_id": "LP-JM",
        "school_name": "Lycée professionnel Jean Moulin",
        "school_address": "12 rue de la République, 69002 Lyon",
        "school_city": "Lyon",
        "school_contact_name": "Claire Dubois",
        "school_contact_email": "claire.dubois@lp-jeanmoulin.example",
        "school_phone": "04 78 00 00 00",
        **HOSTS[country],
        "country": country,
        "partner_code": partner_code,
        "partner_name": load_vocabulary().partners[partner_code].name,
        "start_date": dt.date(2027, 5, 3),
        "end_date": dt.date(2027, 6, 11),
        "response_deadline": dt.date(2027, 3, 29),
        "first_steps": FIRST_STEPS,
    }
    if overrides.get("minor") and "birth_date" not in overrides:
        fields["birth_date"] = dt.date(2010, 9, 1)
    fields.update(overrides)
    return PlacementFacts(**fields)
