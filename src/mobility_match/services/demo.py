"""Demo data for `mobility-match serve --demo`: sample offers, a fictitious cohort, accounts.

Loads only into an empty database. Every start with --demo gives the demo
accounts fresh random passwords (and the demo student a fresh invitation
link) and returns them to be printed: they exist for trying the service on a
laptop, and `serve` refuses --demo in production.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from mobility_match import domain, records
from mobility_match.access import Viewer
from mobility_match.config import Settings
from mobility_match.demo import REFERENCE_DAY, generate_students
from mobility_match.demo.follow_up import generate_answers
from mobility_match.demo.sources import ascii_slug, name_lists
from mobility_match.documents.checklists import Checklists
from mobility_match.models import (
    Account,
    AnswerSource,
    FollowUpAnswer,
    Offer,
    Role,
    Round,
    School,
    SchoolKind,
    Situation,
    Student,
    utcnow,
)
from mobility_match.security import hash_password
from mobility_match.services import audit
from mobility_match.services.follow_up_survey import wave_date
from mobility_match.services.invitations import invite_student
from mobility_match.services.rounds import create_round, publish, request_solve
from mobility_match.services.solving import Solver

CONTROL_EVERY = 3
"""Every third demo school is a control school (its students are followed, not sent)."""


@dataclass(frozen=True)
class DemoLoad:
    schools: int
    students: int
    offers: int


@dataclass(frozen=True)
class DemoAccount:
    role: Role
    username: str
    secret: str
    """The password, or for the student the invitation link."""
    scope: str


def is_empty(session: Session) -> bool:
    """True when the database holds no student and no offer yet."""
    students = session.exec(select(func.count()).select_from(Student)).one()
    offers = session.exec(select(func.count()).select_from(Offer)).one()
    return students == 0 and offers == 0


def load_demo(
    session: Session, offers: Sequence[domain.Offer], n_students: int, seed: int
) -> DemoLoad:
    """Store the offers and a cohort of `n_students` fictitious students; commit."""
    students = generate_students(n_students, seed, offers)
    rng = random.Random(seed)
    school_ids = sorted({s.school_id for s in students})
    for position, school_id in enumerate(school_ids):
        kind = SchoolKind.CONTROL if position % CONTROL_EVERY == CONTROL_EVERY - 1 else None
        session.add(_school(rng, school_id, kind or SchoolKind.PILOT))
    companies: set[str] = set()
    for offer in offers:
        row, company = records.offer_rows(offer)
        if company.company_id not in companies:
            companies.add(company.company_id)
            session.add(company)
        session.add(row)
    session.flush()
    for student in students:
        stored = records.student_row(student)
        stored.extra = {**stored.extra, **_guardian(rng, student)}
        session.add(stored)
    audit.record(
        session,
        None,
        "demo.load",
        "database",
        schools=len(school_ids),
        students=len(students),
        offers=len(offers),
    )
    session.commit()
    return DemoLoad(len(school_ids), len(students), len(offers))


def past_cohort(settings: Settings, today: dt.date) -> int:
    """The latest cohort whose every follow-up wave has come by `today`."""
    last = max(settings.follow_up_waves)
    cohort = today.year
    while wave_date(cohort, last, settings) > today:
        cohort -= 1
    return cohort


def load_past_cohort(
    session: Session, settings: Settings, n_students: int, seed: int, today: dt.date
) -> int:
    """Store a past cohort of `n_students` fictitious graduates in the demo's schools (pilot
    and control), with their follow-up answers, so that the indicators show figures at
    once; commit. How many answers were stored."""
    schools = session.exec(select(School).order_by(col(School.school_id))).all()
    if not schools:
        return 0
    cohort = past_cohort(settings, today)
    shift = cohort - REFERENCE_DAY.year
    students = []
    for number, student in enumerate(generate_students(n_students, seed + 1), start=1):
        moved = replace(
            student,
            student_id=f"P{cohort}-{number:05d}",
            school_id=schools[number % len(schools)].school_id,
            birth_date=_years_later(student.birth_date, shift),
            available_from=_years_later(student.available_from, shift),
            available_to=_years_later(student.available_to, shift),
            preferences=(),
            extra=(("cohort", str(cohort)),),
        )
        students.append(moved)
        session.add(records.student_row(moved))
    session.flush()
    pilots = frozenset(s.school_id for s in schools if s.kind is SchoolKind.PILOT)
    days = {wave: wave_date(cohort, wave, settings) for wave in settings.follow_up_waves}
    answers = generate_answers(students, pilots, days, today, seed)
    session.add_all(
        FollowUpAnswer(
            student_id=answer.student_id,
            wave=answer.wave,
            situation=Situation(answer.situation),
            in_trade=answer.in_trade,
            country=answer.country,
            as_of=answer.as_of,
            source=AnswerSource.IMPORT,
        )
        for answer in answers
    )
    audit.record(
        session,
        None,
        "demo.past_cohort",
        "database",
        cohort=cohort,
        graduates=len(students),
        answers=len(answers),
    )
    session.commit()
    return len(answers)


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


SCHOOL_CITIES = {
    "001": ("Bourg-en-Bresse", "01000"),
    "042": ("Saint-Étienne", "42000"),
    "069": ("Lyon", "69007"),
    "007": ("Privas", "07000"),
    "026": ("Valence", "26000"),
    "038": ("Grenoble", "38000"),
    "073": ("Chambéry", "73000"),
    "074": ("Annecy", "74000"),
}
"""The town of a demo school, by the department its UAI-like code starts with."""

SCHOOL_STREETS = ("rue Jean Jaurès", "avenue de la République", "rue Victor Hugo", "rue Pasteur")
LYCEE_NAMES = (
    "Marie Curie",
    "Louise Michel",
    "Jean Moulin",
    "Simone Veil",
    "George Sand",
    "Albert Camus",
    "Olympe de Gouges",
    "Jules Verne",
)


def _fiction_phone(rng: random.Random, prefix: str) -> str:
    """A number from the blocks the French regulator (ARCEP) keeps for fiction."""
    return f"{prefix} {rng.randrange(100):02d} {rng.randrange(100):02d}"


def _school(rng: random.Random, school_id: str, kind: SchoolKind) -> School:
    """A demo school with the contact its letters print (all fictitious)."""
    names = name_lists()
    department = school_id.split("-", 1)[1][:3]
    city, postcode = SCHOOL_CITIES.get(department, ("Lyon", "69007"))
    contact = f"{rng.choice(names['first_f'] + names['first_m'])} {rng.choice(names['last_fr'])}"
    return School(
        school_id=school_id,
        name=(
            f"CFA des métiers de {city}"
            if school_id.startswith("CFA")
            else f"Lycée professionnel {rng.choice(LYCEE_NAMES)}, {city}"
        ),
        kind=kind,
        address=f"{rng.randint(1, 120)} {rng.choice(SCHOOL_STREETS)}, {postcode} {city}",
        city=city,
        contact_name=contact,
        contact_email=f"mobilite.{ascii_slug(school_id.lower())}@ecole.example",
        phone=_fiction_phone(rng, "04 65 71"),
    )


def _guardian(rng: random.Random, student: domain.Student) -> dict[str, str]:
    """A parent to contact, as the optional students.csv columns give it (fictitious)."""
    first = rng.choice(name_lists()["first_f"] + name_lists()["first_m"])
    family = ascii_slug(student.last_name.lower())
    return {
        "guardian_name": f"{first} {student.last_name}",
        "guardian_email": f"{ascii_slug(first.lower())}.{family}@famille.example",
        "guardian_phone": _fiction_phone(rng, "06 39 98"),
    }


def _account(session: Session, username: str, role: Role, scope: dict[str, str]) -> Account:
    account = session.exec(select(Account).where(Account.username == username)).first()
    if account is None:
        account = Account(username=username, display_name=username, role=role)
        for field, value in scope.items():
            setattr(account, field, value)
    return account


def demo_accounts(session: Session, settings: Settings) -> list[DemoAccount]:
    """One account per role, with fresh secrets; commit and return them for printing."""
    teacher_school = session.exec(
        select(School).where(School.kind == SchoolKind.PILOT).order_by(col(School.school_id))
    ).first()
    partner = "OFAJ"
    made: list[DemoAccount] = []
    staff: list[tuple[str, Role, dict[str, str], str]] = [
        ("coordinator@demo.example", Role.COORDINATOR, {}, "everything"),
        ("partner@demo.example", Role.PARTNER, {"partner": partner}, f"partner {partner}"),
    ]
    if teacher_school is not None:
        school_id = teacher_school.school_id
        staff.append(
            ("teacher@demo.example", Role.TEACHER, {"school_id": school_id}, f"school {school_id}")
        )
    for username, role, scope, described in staff:
        password = secrets.token_urlsafe(12)
        account = _account(session, username, role, scope)
        account.password_hash = hash_password(password)
        session.add(account)
        made.append(DemoAccount(role, username, password, described))
    session.commit()
    if teacher_school is not None:
        # A student of the current cohort (the past one is there for the evaluation).
        student = session.exec(
            select(Student)
            .where(Student.school_id == teacher_school.school_id)
            .order_by(col(Student.cohort).desc().nulls_last(), col(Student.student_id))
        ).first()
        coordinator = _account(session, staff[0][0], Role.COORDINATOR, {})
        if student is not None:
            token, _ = invite_student(
                session, Viewer.of(coordinator), student.student_id, settings=settings
            )
            url = f"{settings.public_url.rstrip('/')}/invite/{token}"
            name = f"{student.first_name} {student.last_name}"
            made.append(DemoAccount(Role.STUDENT, student.student_id, url, name))
    password = secrets.token_urlsafe(12)
    evaluator = _account(session, "evaluator@demo.example", Role.EVALUATOR, {})
    evaluator.password_hash = hash_password(password)
    session.add(evaluator)
    made.append(
        DemoAccount(Role.EVALUATOR, "evaluator@demo.example", password, "the evaluation only")
    )
    audit.record(session, None, "demo.accounts", "account", roles=[a.role.value for a in made])
    session.commit()
    return made


DEMO_ROUND = "Démo — premier tour"
DEMO_RESPONSE_DAYS = 14


def publish_demo_round(engine: Engine, settings: Settings, checklists: Checklists) -> Round:
    """Solve and publish a first round of the demo data, as its coordinator would."""
    with Session(engine, expire_on_commit=False) as session:
        coordinator = session.exec(
            select(Account).where(Account.role == Role.COORDINATOR).order_by(col(Account.id))
        ).first()
        assert coordinator is not None, "demo_accounts() makes the coordinator first"
        viewer = Viewer.of(coordinator)
        round_ = create_round(
            session, viewer, name=DEMO_ROUND, default_time_limit=settings.solve_time_limit
        )
        round_id = round_.id or 0
        solver = Solver(engine, settings, workers=1)
        try:
            attempt = request_solve(session, viewer, round_id, solver.lease)
            solver.start(round_id, attempt).result()
        finally:
            solver.shutdown()
    with Session(engine, expire_on_commit=False) as session:  # the round as the solve left it
        today = utcnow().date()
        deadline = today + dt.timedelta(days=DEMO_RESPONSE_DAYS)
        return publish(session, viewer, round_id, deadline, today, checklists, settings=settings)
