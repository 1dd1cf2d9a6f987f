"""The `mobility-match` command: run a matching round from files, make demo data.

Thin on purpose: parse options, call the importer, the engine and the
reporting functions, map bad input to exit status 2 with every problem on its
own line. CONTRACT.md is the specification of `match`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mobility_match.demo import generate_students, students_frame
from mobility_match.domain import Offer, load_vocabulary
from mobility_match.importing import ImportFailed, load_round, read_offers
from mobility_match.importing.assignments import read_previous
from mobility_match.matching.engine import solve_round
from mobility_match.matching.policy import DEFAULT_POLICY, PolicyError, load_policy
from mobility_match.matching.problem import LockError
from mobility_match.reporting import (
    assignments_csv,
    print_summary,
    report_data,
    report_json,
    write_atomically,
)
from mobility_match.statistics import compute_statistics
from mobility_match.terminal import TerminalProgress

BAD_INPUT = 2

app = typer.Typer(
    help="Place vocational graduates in host companies abroad.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


def _fail(lines: list[str]) -> typer.Exit:
    for line in lines:
        err.print(line, markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(BAD_INPUT)


@app.command()
def match(
    students: Annotated[Path, typer.Option(help="students.csv (or .xlsx)")],
    offers: Annotated[list[Path], typer.Option(help="An offers file; repeat for several.")],
    out_file: Annotated[Path, typer.Option("--out", help="Where to write assignments.csv.")],
    locks: Annotated[Path | None, typer.Option(help="locks.csv: placements fixed by hand.")] = None,
    policy: Annotated[Path | None, typer.Option(help="Policy TOML: stages and tolerances.")] = None,
    report: Annotated[Path | None, typer.Option(help="Where to write the JSON report.")] = None,
    time_limit: Annotated[
        float, typer.Option(help="Seconds the whole round may take.", min=0.1)
    ] = 60.0,
    seed: Annotated[int, typer.Option(help="Seed of the solver; same seed, same result.")] = 0,
    workers: Annotated[
        int, typer.Option(help="CP-SAT search workers (1 keeps runs reproducible).", min=1)
    ] = 1,
    previous: Annotated[
        Path | None,
        typer.Option(
            help="assignments.csv of the published round: re-run it with as few changes "
            "as possible (the stage `changes`, right after placements)."
        ),
    ] = None,
) -> None:
    """Solve a matching round from files and write the assignments."""
    vocabulary = load_vocabulary()
    try:
        chosen_policy = load_policy(policy) if policy else DEFAULT_POLICY
    except PolicyError as error:
        raise _fail(str(error).splitlines()) from None
    published, problems = read_previous(previous) if previous else (None, [])
    try:
        round_input = load_round(students, offers, locks, vocabulary)
    except ImportFailed as failure:
        raise _fail([str(problem) for problem in (*failure.problems, *problems)]) from None
    if problems:
        raise _fail([str(problem) for problem in problems])
    try:
        with TerminalProgress(err) as progress:
            result = solve_round(
                round_input,
                vocabulary,
                chosen_policy,
                time_limit=time_limit,
                seed=seed,
                workers=workers,
                progress=progress,
                previous=published,
            )
    except LockError as error:
        raise _fail([f"{locks}: {error}"]) from None
    statistics = compute_statistics(round_input, result, vocabulary)
    write_atomically(out_file, assignments_csv(round_input, result))
    if report is not None:
        write_atomically(report, report_json(report_data(result, statistics, chosen_policy, seed)))
    print_summary(out, statistics, result)


@app.command()
def explain(
    students: Annotated[Path, typer.Option(help="students.csv (or .xlsx)")],
    offers: Annotated[list[Path], typer.Option(help="An offers file; repeat for several.")],
    student: Annotated[str, typer.Option(help="The id of the student to explain.")],
    offer: Annotated[
        str | None,
        typer.Option(
            help="An offer: why the student is not on it (default: the offers the "
            "student ranked higher, or every acceptable offer of an unplaced student)."
        ),
    ] = None,
    assignments: Annotated[
        Path | None,
        typer.Option(
            help="assignments.csv of the round, as `match` wrote it (default: the "
            "round is solved first, as `match` would)."
        ),
    ] = None,
    locks: Annotated[Path | None, typer.Option(help="locks.csv of the round.")] = None,
    policy: Annotated[Path | None, typer.Option(help="Policy TOML of the round.")] = None,
    previous: Annotated[
        Path | None, typer.Option(help="assignments.csv of the published round it re-runs.")
    ] = None,
    language: Annotated[str, typer.Option(help="fr or en.")] = "en",
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the facts and sentences as JSON.")
    ] = False,
    limit: Annotated[int, typer.Option(help="Offers examined at most.", min=1)] = 5,
    time_limit: Annotated[float, typer.Option(help="Seconds each solve may take.", min=0.1)] = 60.0,
    seed: Annotated[int, typer.Option(help="Seed of the solver.")] = 0,
) -> None:
    """Say why a student is not on an offer, or not on a choice he or she ranked higher.

    For each offer: every hard rule the pair breaks; else who holds its places (and at
    which rank each listed it) and the first stage of the policy that giving the student
    the offer would worsen, with its value before and after (a free place: the student
    added; a full offer: the round solved again with the student locked there).
    """
    import json  # noqa: PLC0415

    from mobility_match.matching.why import (  # noqa: PLC0415
        AssignmentError,
        SolvedRound,
        offer_data,
        student_data,
        why_not_offer,
        why_student,
    )
    from mobility_match.wording.why import (  # noqa: PLC0415
        LANGUAGES,
        Words,
        offer_explanation,
        student_lines,
    )

    if language not in LANGUAGES:
        raise _fail([f"--language: {language!r} is not one of {', '.join(LANGUAGES)}"])
    vocabulary = load_vocabulary()
    try:
        chosen_policy = load_policy(policy) if policy else DEFAULT_POLICY
    except PolicyError as error:
        raise _fail(str(error).splitlines()) from None
    problems = []
    published, found = read_previous(previous) if previous else (None, [])
    problems.extend(found)
    given, found = read_previous(assignments) if assignments else (None, [])
    problems.extend(found)
    try:
        round_input = load_round(students, offers, locks, vocabulary)
    except ImportFailed as failure:
        raise _fail([str(problem) for problem in (*failure.problems, *problems)]) from None
    if problems:
        raise _fail([str(problem) for problem in problems])
    names = {
        s.student_id: f"{s.first_name} {s.last_name} ({s.student_id})" for s in round_input.students
    }
    labels = {o.offer_id: o.label() for o in round_input.offers}
    if student not in names:
        raise _fail([f"--student: {student} is not a student of {students}"])
    if offer is not None and offer not in labels:
        raise _fail([f"--offer: {offer} is not an offer of the offers files"])
    try:
        if given is None:
            result = solve_round(
                round_input,
                vocabulary,
                chosen_policy,
                time_limit=time_limit,
                seed=seed,
                previous=published,
            )
            given = {p.student_id: p.offer_id for p in result.placements}
        solved = SolvedRound(
            round_input,
            vocabulary,
            given,
            chosen_policy,
            previous=published,
            time_limit=time_limit,
            seed=seed,
        )
    except LockError as error:
        raise _fail([f"{locks}: {error}"]) from None
    except AssignmentError as error:
        raise _fail([f"{assignments}: {problem}" for problem in error.problems]) from None
    words = Words(language)
    shown = {**names, "": ""}
    if offer is not None:
        why = why_not_offer(solved, student, offer)
        listed = bool(solved.students[solved.student_index[student]].preferences)
        lines = offer_explanation(why, words, listed, labels.__getitem__, shown.__getitem__)
        data = offer_data(why)
    else:
        whole = why_student(solved, student, limit=limit)
        lines = student_lines(whole, words, labels.__getitem__, shown.__getitem__)
        data = student_data(whole)
    if json_output:
        typer.echo(json.dumps({**data, "sentences": lines}, ensure_ascii=False, indent=2))
        return
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command("demo-data")
def demo_data(
    students: Annotated[int, typer.Option(help="How many students.", min=1)] = 200,
    seed: Annotated[int, typer.Option(help="Same seed, same cohort.")] = 1,
    offers: Annotated[
        list[Path] | None,
        typer.Option(help="Offers files the cohort's preferences may name (repeatable)."),
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write here instead of standard output.")
    ] = None,
) -> None:
    """Generate a fictitious cohort of students as students.csv."""
    known: list[Offer] = []
    if offers:
        known, problems = read_offers(offers, load_vocabulary())
        if problems:
            raise _fail([str(problem) for problem in problems])
    frame = students_frame(generate_students(students, seed, known or None))
    text = frame.to_csv(index=False, lineterminator="\n")
    if out_file is None:
        typer.echo(text, nl=False)
    else:
        write_atomically(out_file, text)


@app.command()
def demo(
    students: Annotated[int, typer.Option(help="Size of the fictitious cohort.", min=1)] = 300,
    seed: Annotated[int, typer.Option(help="Seed of the cohort and the solver.")] = 1,
    companies: Annotated[Path, typer.Option(help="Folder of sample offers files.")] = Path(
        "data/companies"
    ),
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Where to write the round.")] = Path(
        "out/demo"
    ),
) -> None:
    """Run the demo round: a fictitious cohort on the sample offers, start to finish."""
    offer_files = sorted(companies.glob("*.csv"))
    if not offer_files:
        raise _fail([f"{companies}: no offers files (*.csv) in this folder"])
    students_file = out_dir / "students.csv"
    demo_data(students=students, seed=seed, offers=offer_files, out_file=students_file)
    out.print(f"Cohort of {students} fictitious students written to {students_file}")
    match(
        students=students_file,
        offers=offer_files,
        out_file=out_dir / "assignments.csv",
        locks=None,
        policy=None,
        report=out_dir / "report.json",
        time_limit=60.0,
        seed=seed,
        workers=1,
    )
    out.print(f"Assignments: {out_dir / 'assignments.csv'} · report: {out_dir / 'report.json'}")


@app.command("create-coordinator")
def create_coordinator(
    username: Annotated[str, typer.Option(help="The new coordinator's username.")],
    display_name: Annotated[str, typer.Option(help="The name shown to others.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a coordinator account in the configured database (migrated first)."""
    # Imported here so that the file commands above never load the database layer.
    from sqlmodel import Session  # noqa: PLC0415

    from mobility_match import db  # noqa: PLC0415
    from mobility_match.config import get_settings  # noqa: PLC0415
    from mobility_match.services import accounts, errors  # noqa: PLC0415

    settings = get_settings()
    engine = db.make_engine(settings.database_url)
    try:
        db.migrate(engine)
        with Session(engine, expire_on_commit=False) as session:
            if accounts.username_taken(session, username):
                raise _fail([f"username: {username.strip()!r} is already taken; choose another"])
            if password_stdin:
                password = typer.get_text_stream("stdin").readline().rstrip("\r\n")
            else:
                password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
            try:
                account = accounts.create_coordinator(
                    session, username=username, display_name=display_name, password=password
                )
            except errors.ServiceError as error:
                raise _fail(list(error.problems) or [error.message]) from None
    finally:
        engine.dispose()
    out.print(f"Coordinator {account.username!r} created.", markup=False, highlight=False)
    out.print(
        "Next: start the service (mobility-match serve), sign in at "
        f"{settings.public_url} with this username, then create the other accounts "
        "(POST /api/accounts) and invite students.",
        markup=False,
        highlight=False,
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Load the sample offers, a fictitious cohort and one account per role "
            "into an empty database; print how to sign in (never in production).",
        ),
    ] = False,
    demo_students: Annotated[int, typer.Option(help="Size of the demo cohort.", min=1)] = 300,
    companies: Annotated[Path, typer.Option(help="Folder of the sample offers files.")] = Path(
        "data/companies"
    ),
    seed: Annotated[int, typer.Option(help="Seed of the demo cohort.")] = 1,
    workers: Annotated[
        int,
        typer.Option(
            help="Processes answering requests (about one per core; with SQLite too).", min=1
        ),
    ] = 1,
) -> None:
    """Run the service: apply pending migrations, then serve the JSON API (docs at /docs)."""
    from mobility_match import serve as service  # noqa: PLC0415
    from mobility_match.config import ProductionRefused, get_settings  # noqa: PLC0415

    settings = get_settings()
    if "public_url" not in settings.model_fields_set:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        settings = settings.model_copy(update={"public_url": f"http://{shown}:{port}"})
    try:
        settings.check_production(demo=demo)
    except ProductionRefused as refusal:
        raise _fail([f"refusing to start in production: {refusal}"]) from None
    problems = service.check_documents(settings)
    if problems:
        raise _fail(problems)
    service.prepare_database(settings)
    if demo:
        offer_files = sorted(companies.glob("*.csv"))
        if not offer_files:
            raise _fail([f"{companies}: no offers files (*.csv) in this folder"])
        try:
            accounts = service.prepare_demo(settings, offer_files, demo_students, seed, out)
        except ImportFailed as failure:
            raise _fail([str(problem) for problem in failure.problems]) from None
        service.print_sign_ins(out, accounts, settings.public_url)
    if not settings.mails_from_service or not settings.jobs_from_service:
        out.print(
            "Mail, reminders and document jobs: left to `mobility-match worker` processes "
            "(start at least one); this service only queues them.",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    service.run(settings, host, port, workers)


@app.command()
def retention(
    apply: Annotated[
        bool, typer.Option("--apply", help="Erase the students listed (else only list them).")
    ] = False,
    today: Annotated[
        str | None,
        typer.Option(
            help="Count as if this day (YYYY-MM-DD) were today: to look ahead, or to erase "
            "earlier than the setting requires."
        ),
    ] = None,
) -> None:
    """List the students whose data are kept no longer (their cohort ended more than
    MOBILITY_MATCH_RETENTION_DAYS_AFTER_COHORT_END days ago); --apply erases them."""
    import datetime as dt  # noqa: PLC0415

    from sqlmodel import Session  # noqa: PLC0415

    from mobility_match import db  # noqa: PLC0415
    from mobility_match.config import get_settings  # noqa: PLC0415
    from mobility_match.services import personal_data  # noqa: PLC0415

    try:
        day = dt.date.fromisoformat(today) if today else dt.date.today()
    except ValueError:
        raise _fail([f"--today: {today!r} is not a date (YYYY-MM-DD)"]) from None
    settings = get_settings()
    days = settings.retention_days_after_cohort_end
    engine = db.make_engine(settings.database_url)
    erased: list[tuple[personal_data.Due, personal_data.Erasure]] = []
    try:
        db.migrate(engine)
        with Session(engine, expire_on_commit=False) as session:
            due = personal_data.due_for_erasure(session, today=day, retention_days=days)
            if apply and due:
                erased = personal_data.apply_retention(session, today=day, retention_days=days)
    finally:
        engine.dispose()
    if not due:
        out.print(
            f"Nothing is due on {day}: every student's cohort ended less than {days} days ago.",
            soft_wrap=True,
        )
        return
    out.print(
        f"{len(due)} students are due on {day} (kept {days} days after their cohort's end):",
        soft_wrap=True,
    )
    for item in due:
        rounds = ", ".join(str(n) for n in item.rounds) or "none"
        out.print(
            f"{item.student_id}\tschool {item.school_id}\tcohort ended {item.cohort_end}"
            f"\tdue since {item.due_on}\trounds {rounds}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if not apply:
        out.print("Nothing was erased; run again with --apply to erase them.")
        return
    out.print(
        f"{len(erased)} students erased: records deleted, past rounds kept under references "
        "(audit log: person.erase).",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@app.command("evaluation-retention")
def evaluation_retention(
    apply: Annotated[
        bool,
        typer.Option("--apply", help="Do it (else only say what would be done)."),
    ] = False,
    cohort: Annotated[
        int | None, typer.Option(help="Only the graduates of this cohort (diploma year).")
    ] = None,
    today: Annotated[
        str | None,
        typer.Option(help="Count as if this day (YYYY-MM-DD) were today, to look ahead."),
    ] = None,
) -> None:
    """Once MOBILITY_MATCH_EVALUATION_RETENTION_MONTHS have passed since
    MOBILITY_MATCH_EVALUATION_END, erase the evaluated cohorts' personal data and keep
    their answers under pseudonyms; says what it would do, and --apply does it."""
    import datetime as dt  # noqa: PLC0415

    from sqlmodel import Session  # noqa: PLC0415

    from mobility_match import db  # noqa: PLC0415
    from mobility_match.config import get_settings  # noqa: PLC0415
    from mobility_match.services import evaluation_retention as retention  # noqa: PLC0415

    try:
        day = dt.date.fromisoformat(today) if today else dt.date.today()
    except ValueError:
        raise _fail([f"--today: {today!r} is not a date (YYYY-MM-DD)"]) from None
    settings = get_settings()
    engine = db.make_engine(settings.database_url)
    try:
        db.migrate(engine)
        with Session(engine, expire_on_commit=False) as session:
            if apply:
                done = retention.apply(session, settings, today=day, cohort=cohort)
            else:
                done = retention.plan(session, settings, today=day, cohort=cohort)
    finally:
        engine.dispose()
    for line in retention.describe(done, applied=apply):
        out.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command("send-mail")
def send_mail() -> None:
    """Deliver the mails that are due once (for cron or a worker, with
    MOBILITY_MATCH_MAIL_IN_SERVICE=false); those the server refuses for now wait."""
    from mobility_match import db  # noqa: PLC0415
    from mobility_match.config import get_settings  # noqa: PLC0415
    from mobility_match.services.outbox import deliver_due  # noqa: PLC0415

    settings = get_settings()
    engine = db.make_engine(settings.database_url)
    try:
        db.migrate(engine)
        done = deliver_due(engine, settings)
    finally:
        engine.dispose()
    where = settings.smtp_host or str(settings.mail_folder)
    out.print(
        f"{done.sent} mails delivered ({where}), {done.retrying} to try again later, "
        f"{done.failed} failed for good.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def worker() -> None:
    """Run the background work until stopped (Ctrl-C or SIGTERM): deliver the outbox's
    mails, write the daily reminders and, on PostgreSQL, build the documents ZIPs of the
    task queue. On PostgreSQL the service leaves this to worker processes (start one or
    more, on any machine reaching the database); on SQLite the service does it itself."""
    import signal  # noqa: PLC0415
    import threading  # noqa: PLC0415

    from mobility_match import db  # noqa: PLC0415
    from mobility_match.config import get_settings  # noqa: PLC0415
    from mobility_match.documents.rendering import DocumentRenderer  # noqa: PLC0415
    from mobility_match.services import queue, reminders  # noqa: PLC0415
    from mobility_match.services.outbox import MailSender  # noqa: PLC0415

    settings = get_settings()
    engine = db.make_engine(settings.database_url)
    db.migrate(engine)
    sender = MailSender(engine, settings, daily=reminders.run_daily)
    where = settings.smtp_host or str(settings.mail_folder)
    documents = queue.uses_queue(settings) and engine.dialect.name == "postgresql"
    out.print(
        f"worker: delivering mail ({where}) every {settings.mail_poll_seconds:g} s, writing "
        "the daily reminders"
        + (", building the documents jobs of the queue" if documents else "")
        + "; stop with Ctrl-C.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    sender.start()
    try:
        if documents:
            # procrastinate's worker stops on SIGINT and SIGTERM, after the job it runs.
            queue.run_worker(engine, settings, DocumentRenderer(settings.templates_dir))
        else:
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda _signal, _frame: stop.set())
            signal.signal(signal.SIGINT, lambda _signal, _frame: stop.set())
            stop.wait()
    finally:
        sender.shutdown()
        engine.dispose()
    out.print("worker: stopped.", markup=False, highlight=False)


@app.command("reminders")
def send_reminders(
    today: Annotated[
        str | None,
        typer.Option(help="The day to remind as of, YYYY-MM-DD (default: today)."),
    ] = None,
) -> None:
    """Write the day's mails to the outbox (for cron, once a day; a second run the same day
    writes nothing): the response deadline, checklist steps due or overdue, the host
    tutors' reviews and the graduates' follow-up requests, with their reminders."""
    import datetime as dt  # noqa: PLC0415

    from sqlmodel import Session  # noqa: PLC0415

    from mobility_match import db  # noqa: PLC0415
    from mobility_match.config import get_settings  # noqa: PLC0415
    from mobility_match.services import follow_up_survey, host_review  # noqa: PLC0415
    from mobility_match.services.reminders import send_reminders as remind  # noqa: PLC0415

    try:
        day = dt.date.fromisoformat(today) if today else dt.date.today()
    except ValueError:
        raise _fail([f"--today: {today!r} is not a date; write it YYYY-MM-DD"]) from None
    settings = get_settings()
    engine = db.make_engine(settings.database_url)
    try:
        db.migrate(engine)
        with Session(engine) as session:
            done = remind(session, settings, day)
            reviews = host_review.send_host_reviews(session, settings, day)
            asked = follow_up_survey.send_follow_up(session, settings, day)
    finally:
        engine.dispose()
    out.print(
        f"{done.total} reminders written for {day.isoformat()}: {done.deadline} response "
        f"deadlines, {done.students} students' steps, {done.teachers} teachers' and "
        f"{done.coordinators} coordinators' digests.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    out.print(
        f"Host tutors' reviews: {reviews.requests} asked, {reviews.reminders} reminded. "
        f"Follow-up of the graduates: {asked.requests} asked, {asked.reminders} reminded.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def main() -> None:
    """Entry point of the console script."""
    app()
