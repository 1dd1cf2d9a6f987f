"""Why not this offer: every explanation of a mid-size round checked against the solver.

A student said to break a rule is refused by that rule (and only by the rules named);
a student said to lose an offer to a stage is indeed worse off in that stage's
measure with the offer, as stated, which CP-SAT confirms independently of the flow
path that made the explanation. Then tiny rounds for each verdict, the words in
both languages, the command line and the API route with who may read what.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

import pytest
from benchmarks.cohorts import benchmark_round
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from mobility_match import records
from mobility_match.cli import app as cli_app
from mobility_match.domain import (
    Country,
    Gender,
    Lock,
    ReasonCode,
    RoundInput,
    RoundResult,
    load_vocabulary,
)
from mobility_match.matching.engine import solve_round
from mobility_match.matching.policy import DEFAULT_POLICY, Policy
from mobility_match.matching.problem import LockError, measure, prepare
from mobility_match.matching.rules import HARD_RULES, preference_rank
from mobility_match.matching.why import (
    Move,
    OfferWhy,
    SolvedRound,
    Verdict,
    never_solve,
    tradeoff_stage,
    why_not_offer,
    why_student,
)
from mobility_match.models import Role, School, SchoolKind
from mobility_match.services import why_not as why_not_service
from mobility_match.wording.why import (
    LANGUAGES,
    Words,
    check_entries,
    entries,
    name_tradeoffs,
    offer_explanation,
    student_lines,
    tradeoff_sentence,
)
from tests.accounts import add_account, session_headers
from tests.factories import make_offer, make_student
from tests.programme import wait_for_round

VOCABULARY = load_vocabulary()
EVERY = 100
"""A limit above any student's number of offers: every offer examined."""


# ---- a mid-size round, every student explained ----------------------------------------


class Explained:
    """A solved mid-size round and the explanation of each of its students."""

    def __init__(self) -> None:
        # 80 students with scarce services: every stage of the default policy, and
        # ties, keep someone off an offer somewhere in this round.
        self.round_input = benchmark_round(80, 4, scarce_services=True)
        self.result = solve_round(self.round_input, VOCABULARY, time_limit=10)
        self.solved = SolvedRound(
            self.round_input,
            VOCABULARY,
            {p.student_id: p.offer_id for p in self.result.placements},
            time_limit=10,
        )
        self.whys = {
            s.student_id: why_student(self.solved, s.student_id, limit=EVERY)
            for s in self.round_input.students
        }

    def examined(self) -> list[tuple[str, OfferWhy]]:
        return [(sid, o) for sid, why in self.whys.items() for o in why.offers]


@pytest.fixture(scope="module")
def explained() -> Explained:
    return Explained()


def test_the_round_has_every_kind_of_explanation(explained: Explained) -> None:
    """The checks below meet rules, ties and each stage of the default policy."""
    kinds = {(o.verdict, o.stage) for _, o in explained.examined()}
    assert (Verdict.RULES, None) in kinds
    assert (Verdict.TIE, None) in kinds
    for stage in DEFAULT_POLICY.stages:
        assert (Verdict.STAGE, stage) in kinds


def test_each_student_gets_the_engine_s_situation(explained: Explained) -> None:
    """Placed where the result says, at its rank; unplaced for the engine's reason code."""
    for placement in explained.result.placements:
        why = explained.whys[placement.student_id]
        assert why.offer_id == placement.offer_id
        if placement.offer_id is None:
            assert placement.reason is not None
            assert why.situation == placement.reason.code.value
        else:
            assert why.situation == "placed"
            assert why.rank == placement.preference_rank


def test_the_offers_examined_are_the_earlier_choices_or_every_acceptable_one(
    explained: Explained,
) -> None:
    """A placed student: every acceptable offer ranked higher; an unplaced one: every
    acceptable offer; plus the offers named by id that break rules."""
    solved = explained.solved
    for i, student in enumerate(solved.students):
        why = explained.whys[student.student_id]
        acceptable = {solved.offers[int(j)].offer_id for j in solved.problem.offers_of(i)}
        if why.offer_id is not None:
            mine = preference_rank(student, solved.offers[solved.offer_index[why.offer_id]])
            acceptable = {
                o
                for o in acceptable
                if mine is not None
                and (preference_rank(student, solved.offers[solved.offer_index[o]]) or 0) < mine
            }
        shown = {o.offer_id for o in why.offers if o.verdict is not Verdict.RULES}
        assert shown == acceptable, student.student_id
        for o in why.offers:
            if o.verdict is Verdict.RULES:
                assert o.offer_id in student.preferences


def test_a_student_said_unplaceable_is_refused_by_the_rules_named(explained: Explained) -> None:
    """Each rule named fails, each rule not named holds, and the engine refuses the pair
    as a lock."""
    checked = 0
    for student_id, why in explained.examined():
        if why.verdict is not Verdict.RULES:
            continue
        student = explained.solved.students[explained.solved.student_index[student_id]]
        offer = explained.solved.offers[explained.solved.offer_index[why.offer_id]]
        named = {b.rule for b in why.broken}
        assert named
        for rule in HARD_RULES:
            assert rule.check(student, offer, VOCABULARY) is (rule.name not in named)
        round_input = explained.round_input
        locked = RoundInput(
            round_input.students, round_input.offers, (Lock(student_id, why.offer_id),)
        )
        with pytest.raises(LockError, match=why.offer_id):
            prepare(locked, VOCABULARY)
        checked += 1
    assert checked


def test_the_places_are_held_by_whom_it_says_at_the_rank_it_says(explained: Explained) -> None:
    """Holders: exactly the others on the offer in the result, with their ranks."""
    solved = explained.solved
    for student_id, why in explained.examined():
        if why.verdict is Verdict.RULES:
            continue
        offer = solved.offers[solved.offer_index[why.offer_id]]
        on_it = {
            p.student_id: p.preference_rank
            for p in explained.result.placements
            if p.offer_id == why.offer_id and p.student_id != student_id
        }
        assert {h.student_id: h.rank for h in why.holders} == on_it
        assert why.places == offer.places


def _solve_locked(
    explained: Explained, student_id: str, offer_id: str, stages: tuple[str, ...]
) -> RoundResult:
    round_input = explained.round_input
    locked = RoundInput(round_input.students, round_input.offers, (Lock(student_id, offer_id),))
    return solve_round(locked, VOCABULARY, Policy(stages=stages), time_limit=10, cp_sat_only=True)


def test_a_stage_said_responsible_is_worse_with_the_offer_as_stated(
    explained: Explained,
) -> None:
    """The stage named gets worse, the ones before it do not; and CP-SAT, solving the
    round up to that stage with the student locked on the offer, finds the same best
    value (one case per stage, and one tie)."""
    cases: dict[str | None, tuple[str, OfferWhy]] = {}
    for student_id, why in explained.examined():
        if why.verdict in (Verdict.STAGE, Verdict.TIE):
            assert why.move is Move.SOLVED  # the default policy never leaves a free place
            assert why.proven
            changes = [v for v in why.values if v.before != v.after]
            if why.verdict is Verdict.STAGE:
                assert changes[0].stage == why.stage
                assert changes[0].worse
                assert why.change is changes[0]
            else:
                assert changes == []
            cases.setdefault(why.stage, (student_id, why))
    stages = DEFAULT_POLICY.stages
    for stage, (student_id, why) in cases.items():
        upto = stages if stage is None else stages[: stages.index(stage) + 1]
        result = _solve_locked(explained, student_id, why.offer_id, upto)
        values = {v.stage: v for v in why.values}
        for found in result.stages:
            assert found.status.value == "OPTIMAL"
            assert found.value == values[found.name].after, (stage, found)
            if found.name != stage:
                assert values[found.name].after == values[found.name].before


def test_a_student_lost_to_the_gender_stage_is_worse_placed_without_it(
    explained: Explained,
) -> None:
    """Without the gender stage nothing stops the move: the student can have the offer
    with as many students placed as now; the gender gap is what it costs, lower now than
    with the student there (CP-SAT confirms that 'after' above)."""
    student_id, why = next((sid, o) for sid, o in explained.examined() if o.stage == "gender_gap")
    values = {v.stage: v for v in why.values}
    without = _solve_locked(explained, student_id, why.offer_id, ("placements",))
    assert without.stages[0].value == values["placements"].before
    gap = measure(explained.solved.problem, explained.solved.assignment).gender_gap
    assert gap == values["gender_gap"].before < values["gender_gap"].after


def test_every_explanation_reads_in_both_languages(explained: Explained) -> None:
    """Each student's explanation renders in French and English, naming each stage."""
    for language in LANGUAGES:
        words = Words(language)
        text = "\n".join(
            line for why in explained.whys.values() for line in student_lines(why, words)
        )
        for stage in DEFAULT_POLICY.stages:
            assert words.stage(stage) in text


# ---- tiny rounds, one verdict each ------------------------------------------------------


def _solved(round_input: RoundInput, policy: Policy = DEFAULT_POLICY) -> SolvedRound:
    result = solve_round(round_input, VOCABULARY, policy, time_limit=5)
    assignment = {p.student_id: p.offer_id for p in result.placements}
    return SolvedRound(round_input, VOCABULARY, assignment, policy, time_limit=5)


def test_a_free_place_kept_for_the_gender_balance_names_the_gender_stage() -> None:
    """policy_tradeoff: two girls, two boys, three places and a third of placements to
    give up; adding a fourth student would open the gap from 0 to a half."""
    students = (
        make_student("F1"),
        make_student("F2"),
        make_student("M1", gender=Gender.M),
        make_student("M2", gender=Gender.M),
    )
    policy = Policy(stages=("placements", "gender_gap"), tolerance={"placements": Fraction(1, 3)})
    solved = _solved(RoundInput(students, (make_offer("DE-001", places=3),)), policy)
    unplaced = [
        s for s in ("F1", "F2", "M1", "M2") if solved.assignment[solved.student_index[s]] < 0
    ]
    assert len(unplaced) == 2
    why = why_student(solved, unplaced[0])
    assert why.situation == ReasonCode.POLICY_TRADEOFF.value
    assert why.tradeoff is not None
    offer_id, change = why.tradeoff
    assert offer_id == "DE-001"
    assert change.stage == "gender_gap"
    assert (change.before, change.after) == (0, Fraction(1, 2))
    [free] = why.offers
    assert (free.verdict, free.move, free.change) == (Verdict.STAGE, Move.ADDED, change)
    i = solved.student_index[unplaced[0]]
    assert tradeoff_stage(solved.problem, solved.assignment, policy, i) == (0, change)
    assert tradeoff_sentence(change, "DE-001", Words("en")) == (
        "Placing the student there (DE-001) would worsen the gap between the placement "
        "rates of girls and boys: 0.00 points → 50.00 points."
    )
    result = solve_round(solved.problem.round_input, VOCABULARY, policy, time_limit=5)
    reasons = name_tradeoffs(solved.problem, solved.assignment, policy, list(result.placements))
    named = [p.reason.sentence for p in reasons if p.reason]
    assert len(named) == 2
    for sentence in named:
        assert sentence.endswith(
            "Placing the student there (DE-001) would worsen the gap between the placement "
            "rates of girls and boys: 0.00 points → 50.00 points."
        )
    english = student_lines(why, Words("en"))[0]
    assert (
        "the gap between the placement rates of girls and boys (0.00 points → 50.00 points)"
        in english
    )
    french = student_lines(why, Words("fr"))[0]
    assert (
        "l'écart entre les taux de placement des filles et des garçons (0,00 points → 50,00 points)"
        in french
    )


def test_locks_decide_before_any_stage() -> None:
    """A student locked elsewhere is kept there by the lock; an offer whose places are all
    held by locked students would need one of them moved first."""
    offers = (make_offer("DE-001"), make_offer("DE-002"))
    students = (make_student("S1"), make_student("S2"), make_student("S3"))
    locks = (Lock("S1", "DE-001"), Lock("S2", None))
    solved = _solved(RoundInput(students, offers, locks))
    why = why_not_offer(solved, "S1", "DE-002")
    assert why.verdict is Verdict.LOCKED
    assert why.lock is not None
    assert why.lock.offer_id == "DE-001"
    held = why_not_offer(solved, "S3", "DE-001")
    assert held.verdict is Verdict.HELD_BY_LOCKS
    assert [(h.student_id, h.locked) for h in held.holders] == [("S1", True)]
    out = why_student(solved, "S2")
    assert out.situation == ReasonCode.LOCKED_UNPLACED.value
    assert {o.verdict for o in out.offers} == {Verdict.LOCKED}


def test_a_rerun_names_the_changes_stage() -> None:
    """On a re-run, taking a kept student's offer would change a published placement."""
    offers = (make_offer("DE-001"), make_offer("DE-002"))
    students = (make_student("S1"), make_student("S2", preferences=("DE-001", "*")))
    previous = {"S1": "DE-001", "S2": "DE-002"}
    round_input = RoundInput(students, offers)
    result = solve_round(round_input, VOCABULARY, time_limit=5, previous=previous)
    assignment = {p.student_id: p.offer_id for p in result.placements}
    assert assignment == previous
    solved = SolvedRound(round_input, VOCABULARY, assignment, previous=previous, time_limit=5)
    why = why_not_offer(solved, "S2", "DE-001")
    assert why.verdict is Verdict.STAGE
    assert why.stage == "changes"
    assert why.change is not None
    assert (why.change.before, why.change.after) == (0, 2)
    assert "changed from the published round: 0 now, at best 2" in " ".join(
        offer_explanation(why, Words("en"), True)
    )


def test_an_assignment_changed_by_hand_can_be_improved() -> None:
    """A student moved to a worse choice while the better one is free: possible."""
    offers = (make_offer("DE-001"), make_offer("DE-002"))
    students = (make_student("S1", preferences=("DE-001", "*")),)
    solved = SolvedRound(RoundInput(students, offers), VOCABULARY, {"S1": "DE-002"})
    why = why_student(solved, "S1")
    assert why.rank == 2
    [better] = why.offers
    assert better.verdict is Verdict.POSSIBLE
    assert better.stage == "preferences"
    assert better.move is Move.ADDED


def test_an_earlier_country_without_acceptable_offer_says_which_rules_exclude_it() -> None:
    """'UK first' for a minor: every UK offer breaks the age rule."""
    offers = (make_offer("UK-001", country=Country.UK), make_offer("DE-001"))
    minor = make_student("S1", birth_date=dt.date(2010, 1, 1), preferences=("UK", "*"))
    solved = _solved(RoundInput((minor,), (offers[0], make_offer("DE-001", accepts_minors=True))))
    why = why_student(solved, "S1")
    assert why.rank == 2
    [choice] = why.choices
    assert (choice.entry, choice.offers, choice.acceptable) == ("UK", 1, 0)
    assert choice.rule_counts["age"] == 1
    french = "\n".join(student_lines(why, Words("fr")))
    assert "1er choix, Royaume-Uni : 1 offre(s), aucune ne respecte" in french
    assert "âge 1" in french


def test_an_offer_in_the_uk_names_the_visa_deadline_the_student_misses() -> None:
    """18 on the start date but not on the visa application's deadline: the age rule,
    with that deadline, in both languages."""
    offer = make_offer("UK-001", country=Country.UK, start_date=dt.date(2027, 5, 3))
    student = make_student("S1", birth_date=dt.date(2009, 4, 20))
    solved = SolvedRound(RoundInput((student,), (offer,)), VOCABULARY, {"S1": None})
    why = why_not_offer(solved, "S1", "UK-001")
    assert why.verdict is Verdict.RULES
    [broken] = why.broken
    assert (broken.rule, broken.variant) == ("age", "age_visa")
    assert not next(r for r in HARD_RULES if r.name == "age").check(student, offer, VOCABULARY)
    day = dt.date.fromisoformat(broken.facts["day"])
    assert day < offer.start_date
    assert student.is_minor_on(day)
    assert not student.is_minor_on(offer.start_date)
    english = " ".join(offer_explanation(why, Words("en"), False))
    assert f"under 18 on {day.isoformat()}, the deadline of the visa application" in english
    french = " ".join(offer_explanation(why, Words("fr"), False))
    assert f"moins de 18 ans le {day.strftime('%d/%m/%Y')}, date limite" in french


def test_the_words_have_both_languages_and_the_same_facts() -> None:
    """Every entry of why.toml is in French and English with the same placeholders."""
    assert check_entries(entries()) == []
    assert check_entries({"x": {"y": {"fr": "{a}", "en": "{b}"}}}) != []
    for rule in HARD_RULES:
        assert Words("fr").has(f"rule.{rule.name}")


def test_an_assignment_that_is_not_the_round_s_is_refused() -> None:
    """Each problem names the student: an unknown offer, a pair breaking a rule, a
    missing student, an offer over its places."""
    from mobility_match.matching.why import AssignmentError  # noqa: PLC0415

    offers = (make_offer("DE-001"), make_offer("DE-002", trades=frozenset({"cuisine"})))
    students = (make_student("S1"), make_student("S2"), make_student("S3"))
    with pytest.raises(AssignmentError) as caught:
        SolvedRound(
            RoundInput(students, offers),
            VOCABULARY,
            {"S1": "DE-001", "S2": "DE-001", "S4": None, "S3": "DE-002"},
        )
    text = "\n".join(caught.value.problems)
    assert "student S4 is not a student of the round" in text
    assert "student S3 on DE-002 breaks the rules: trade" in text
    assert "offer DE-001 has 2 students on its 1 places" in text


# ---- the command line -----------------------------------------------------------------


STUDENTS_CSV = (
    "student_id,first_name,last_name,gender,birth_date,school_id,diploma,trade,lang_en,"
    "available_from,available_to,preferences\n"
    "S1,Léa,Martin,F,2006-03-14,LP-A,BAC_PRO,commerce,B1,2027-04-01,2027-07-31,DE-001;*\n"
    "S2,Hugo,Petit,M,2006-05-02,LP-B,BAC_PRO,commerce,B1,2027-04-01,2027-07-31,DE-001\n"
)
OFFERS_CSV = (
    "offer_id,partner,company_id,company_name,country,city,address,contact_name,"
    "contact_email,sector,trades,places,start_date,end_date,language_requirement\n"
    "DE-001,OFAJ,C1,Leipziger Handel GmbH,DE,Leipzig,Markt 1,Anna Schmidt,"
    "anna@firma.example,services,commerce,1,2027-05-03,2027-06-11,\n"
    "DE-002,OFAJ,C2,Dresdner Handel GmbH,DE,Dresden,Markt 2,Anna Schmidt,"
    "anna@firma.example,services,commerce,1,2027-05-03,2027-06-11,\n"
    "UK-001,BRITISH_COUNCIL,C3,Bristol Traders Ltd,UK,Bristol,5 Harbour Road,Oliver Smith,"
    "oliver@traders.example,services,cuisine,1,2027-05-03,2027-06-11,en:B2\n"
)


@pytest.fixture(scope="module")
def round_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("why")
    (folder / "students.csv").write_text(STUDENTS_CSV, encoding="utf-8")
    (folder / "offers.csv").write_text(OFFERS_CSV, encoding="utf-8")
    return folder / "students.csv", folder / "offers.csv"


def _explain(round_files: tuple[Path, Path], *args: str) -> tuple[int, str]:
    students, offers = round_files
    done = CliRunner().invoke(
        cli_app, ["explain", "--students", str(students), "--offers", str(offers), *args]
    )
    return done.exit_code, done.output


def test_the_command_says_why_not_an_earlier_choice(round_files: tuple[Path, Path]) -> None:
    """S2 can only go to DE-001, so S1 gets her second choice: placing her on her first
    would place one student fewer."""
    code, output = _explain(round_files, "--student", "S1")
    assert code == 0, output
    assert (
        "Léa Martin (S1): placed on DE-002 (Dresdner Handel GmbH, Dresden) (2nd choice)." in output
    )
    assert "1 place, taken by: Hugo Petit (S2) (1st choice)." in output
    assert "would worsen the number of students placed: 2 now, at best 1" in output


def test_the_command_lists_every_rule_broken_in_french(round_files: tuple[Path, Path]) -> None:
    code, output = _explain(
        round_files, "--student", "S1", "--offer", "UK-001", "--language", "fr", "--json"
    )
    assert code == 0, output
    assert '"verdict": "rules"' in output
    assert "métier : l'offre est pour cuisine, pas pour commerce" in output
    assert "langue : l'offre demande en B2 ; l'élève a en B1" in output


def test_the_command_refuses_bad_input_with_exit_2(
    round_files: tuple[Path, Path], tmp_path: Path
) -> None:
    code, output = _explain(round_files, "--student", "S9")
    assert code == 2
    assert "--student: S9 is not a student of" in output
    bad = tmp_path / "assignments.csv"
    bad.write_text("student_id,offer_id\nS1,UK-001\nS2,DE-001\n", encoding="utf-8")
    code, output = _explain(round_files, "--student", "S1", "--assignments", str(bad))
    assert code == 2
    assert f"{bad}: student S1 on UK-001 breaks the rules: trade, language" in output


# ---- the API ------------------------------------------------------------------------


def _store_round(engine: Engine) -> None:
    """School A's Léa (DE-001 first, then anything), school B's Hugo (DE-001 only), and
    one place each on DE-001 and DE-002."""
    with Session(engine) as session:
        session.add(School(school_id="LP-A", name="Lycée A", kind=SchoolKind.PILOT))
        session.add(School(school_id="LP-B", name="Lycée B", kind=SchoolKind.PILOT))
        for offer in (make_offer("DE-001"), make_offer("DE-002")):
            row, company = records.offer_rows(offer)
            session.add(company)
            session.flush()
            session.add(row)
        for student in (
            make_student("S1", school_id="LP-A", preferences=("DE-001", "*")),
            make_student("S2", school_id="LP-B", first_name="Hugo", preferences=("DE-001",)),
        ):
            session.add(records.student_row(student))
        session.commit()


def test_the_route_explains_to_each_reader_what_he_or_she_may_see(
    engine: Engine, client: TestClient
) -> None:
    """The coordinator sees who holds the place; Léa and her teacher see 'another student';
    a teacher of another school gets 404, as for a missing offer; a draft round is 409."""
    _store_round(engine)
    coordinator = session_headers(engine, add_account(engine, "c@example.org", Role.COORDINATOR))
    created = client.post("/api/rounds", json={"name": "Printemps"}, headers=coordinator).json()
    round_id = created["id"]
    path = f"/api/rounds/{round_id}/assignments/S1/why-not"
    assert client.get(path, headers=coordinator).status_code == 409
    client.post(f"/api/rounds/{round_id}/solve", headers=coordinator).raise_for_status()
    assert wait_for_round(client, round_id, coordinator)["status"] == "solved"
    deadline = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    client.post(
        f"/api/rounds/{round_id}/publish", json={"response_deadline": deadline}, headers=coordinator
    ).raise_for_status()

    answer = client.get(path, params={"language": "en"}, headers=coordinator)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["offer_id"], body["rank"], body["situation"]) == ("DE-002", 2, "placed")
    [first] = body["offers"]
    assert first["verdict"] == "stage"
    assert first["stage"] == "placements"
    assert first["holders"] == [{"student_id": "S2", "rank": 1, "locked": False}]
    assert {"stage": "placements", "before": "2", "after": "1", "worse": True} in first["values"]
    assert "Hugo Martin (S2)" in first["sentences"][0]

    teacher_a = session_headers(
        engine, add_account(engine, "ta@example.org", Role.TEACHER, school_id="LP-A")
    )
    student = session_headers(
        engine, add_account(engine, "S1", Role.STUDENT, student_id="S1", password=None)
    )
    for reader in (teacher_a, student):
        seen = client.get(path, params={"offer": "DE-001"}, headers=reader)
        assert seen.status_code == 200, seen.text
        asked = seen.json()["asked"]
        assert asked["holders"] == [{"student_id": None, "rank": 1, "locked": False}]
        assert "un autre élève (1er choix)" in asked["sentences"][0]
        assert "S2" not in seen.text

    teacher_b = session_headers(
        engine, add_account(engine, "tb@example.org", Role.TEACHER, school_id="LP-B")
    )
    assert client.get(path, headers=teacher_b).status_code == 404
    missing = client.get(path, params={"offer": "XX-9"}, headers=coordinator)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "XX-9" in missing.json()["detail"]


# ---- who may make the route solve -----------------------------------------------------


def test_without_a_solve_a_full_offer_is_explained_by_who_holds_it() -> None:
    """A resolver that declines leaves a full offer at its holders (TAKEN), and says in
    both languages that only a coordinator can have the stage; the rest is unchanged."""
    offers = (make_offer("DE-001"), make_offer("DE-002"))
    students = (make_student("S1", preferences=("DE-001", "*")), make_student("S2"))
    round_input = RoundInput(students, offers, (Lock("S2", "DE-001"),))
    result = solve_round(round_input, VOCABULARY, time_limit=5)
    assignment = {p.student_id: p.offer_id for p in result.placements}
    solved = SolvedRound(round_input, VOCABULARY, assignment, time_limit=5, resolver=never_solve)
    locked = why_not_offer(solved, "S1", "DE-001")
    assert locked.verdict is Verdict.HELD_BY_LOCKS  # decided without a solve, as before
    free = make_student("S3", preferences=("DE-001", "*"))
    round_input = RoundInput((*students, free), offers, ())
    result = solve_round(round_input, VOCABULARY, time_limit=5)
    assignment = {p.student_id: p.offer_id for p in result.placements}
    solved = SolvedRound(round_input, VOCABULARY, assignment, time_limit=5, resolver=never_solve)
    outside = next(s for s, o in assignment.items() if o != "DE-001" and s != "S2")
    why = why_not_offer(solved, outside, "DE-001")
    assert why.verdict is Verdict.TAKEN
    assert (why.move, why.stage, why.values) == (None, None, ())
    assert len(why.holders) == 1
    english = offer_explanation(why, Words("en"), listed=True)
    assert english[-1].endswith("which only a coordinator can ask for.")
    french = offer_explanation(why, Words("fr"), listed=True)
    assert french[-1].endswith("seul un coordinateur peut le demander.")


def test_only_a_coordinator_s_question_solves_and_only_once(
    engine: Engine, client: TestClient
) -> None:
    """Léa (S1) asks why not DE-001, which Hugo holds: she gets who holds it and no solve
    starts (the service's own count of solves); her coordinator's same question solves
    the round once and names the stage; asked again, it is answered from memory, the
    same; Léa, asking after the coordinator, still starts nothing."""
    why_not_service.RESOLVED.clear()
    _store_round(engine)
    coordinator = session_headers(engine, add_account(engine, "c@example.org", Role.COORDINATOR))
    round_id = client.post("/api/rounds", json={"name": "Été"}, headers=coordinator).json()["id"]
    client.post(f"/api/rounds/{round_id}/solve", headers=coordinator).raise_for_status()
    assert wait_for_round(client, round_id, coordinator)["status"] == "solved"
    deadline = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    client.post(
        f"/api/rounds/{round_id}/publish", json={"response_deadline": deadline}, headers=coordinator
    ).raise_for_status()
    student = session_headers(
        engine, add_account(engine, "S1", Role.STUDENT, student_id="S1", password=None)
    )
    path = f"/api/rounds/{round_id}/assignments/S1/why-not"
    question = {"offer": "DE-001", "language": "en"}

    def ask(headers: dict[str, str]) -> tuple[dict[str, object], int]:
        before = why_not_service.RESOLVED.solves
        answer = client.get(path, params=question, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        return body["asked"], why_not_service.RESOLVED.solves - before

    asked, solves = ask(student)
    assert solves == 0
    assert (asked["verdict"], asked["stage"], asked["values"]) == ("taken", None, [])
    assert asked["holders"] == [{"student_id": None, "rank": 1, "locked": False}]
    before = why_not_service.RESOLVED.solves
    whole = client.get(path, headers=student).json()  # the earlier choices: DE-001 again
    assert [o["verdict"] for o in whole["offers"]] == ["taken"]
    assert why_not_service.RESOLVED.solves == before

    asked, solves = ask(coordinator)
    assert solves == 1
    assert (asked["verdict"], asked["move"], asked["stage"]) == ("stage", "solved", "placements")
    again, solves = ask(coordinator)
    assert solves == 0
    assert again == asked
    asked, solves = ask(student)
    assert (asked["verdict"], solves) == ("taken", 0)
