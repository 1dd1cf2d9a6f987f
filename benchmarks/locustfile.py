"""The users of benchmarks/load.py: coordinators, teachers and students reading a published round.

Run by load.py (`locust -f benchmarks/locustfile.py --headless …`), which signs
everyone in before the load starts and hands the tokens over in the JSON file
named by LOAD_SESSIONS: one session for the coordinators, one for the teachers
(all of one school), one per student. Nobody signs in during the load, so the
sign-in limits per address never come into play.

Each simulated person waits 0.5 to 2 s between two requests (1.25 s on
average): a person reading a page takes longer, so this is a pessimistic load,
about 40 requests per second from 50 users while the answers are fast.

The reads, grouped under one name each in locust's figures:

- rounds: `GET /api/rounds` (everybody);
- statistics: `GET /api/rounds/{id}/statistics` (coordinators);
- assignments: a page of 50 of the round's assignments for the coordinator
  (`?limit=50&offset=…`), the whole school's for a teacher, one's own for a student;
- checklist: a placed student's checklist, seen by the coordinator or the
  student's teacher (`/api/rounds/{id}/placements/{student}/checklist`), or by
  the student (`/api/me/checklist`).
"""

from __future__ import annotations

import itertools
import json
import os
import random
from typing import Any

from locust import FastHttpUser, between, task

with open(os.environ["LOAD_SESSIONS"], encoding="utf-8") as _file:
    SESSIONS: dict[str, Any] = json.load(_file)

ROUND = SESSIONS["round_id"]
WAIT = between(0.5, 2.0)
_STUDENTS = itertools.count()


class _Reader(FastHttpUser):
    abstract = True
    wait_time = WAIT
    token = ""

    def read(self, path: str, name: str) -> None:
        with self.client.get(
            path,
            headers={"Authorization": f"Bearer {self.token}"},
            name=name,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")


class Coordinator(_Reader):
    """Reviews the round: its statistics, pages of its assignments, a student's checklist."""

    weight = 2

    def on_start(self) -> None:
        self.token = SESSIONS["coordinator"]

    @task(2)
    def rounds(self) -> None:
        self.read("/api/rounds", "rounds")

    @task(3)
    def statistics(self) -> None:
        self.read(f"/api/rounds/{ROUND}/statistics", "statistics")

    @task(3)
    def assignments(self) -> None:
        offset = 50 * random.randrange(SESSIONS["students"] // 50)
        self.read(f"/api/rounds/{ROUND}/assignments?limit=50&offset={offset}", "assignments")

    @task(2)
    def checklist(self) -> None:
        student = random.choice(SESSIONS["placed"])
        self.read(f"/api/rounds/{ROUND}/placements/{student}/checklist", "checklist")


class Teacher(_Reader):
    """Follows the school's students: their assignments and one's checklist."""

    weight = 3

    def on_start(self) -> None:
        self.token = SESSIONS["teacher"]

    @task(1)
    def rounds(self) -> None:
        self.read("/api/rounds", "rounds")

    @task(2)
    def assignments(self) -> None:
        self.read(f"/api/rounds/{ROUND}/assignments", "assignments")

    @task(3)
    def checklist(self) -> None:
        student = random.choice(SESSIONS["school_placed"])
        self.read(f"/api/rounds/{ROUND}/placements/{student}/checklist", "checklist")


class Student(_Reader):
    """Looks at the published rounds, his or her own assignment and checklist."""

    weight = 5

    def on_start(self) -> None:
        tokens = SESSIONS["students_tokens"]
        self.token = tokens[next(_STUDENTS) % len(tokens)]  # one person, one session

    @task(1)
    def rounds(self) -> None:
        self.read("/api/rounds", "rounds")

    @task(1)
    def assignments(self) -> None:
        self.read(f"/api/rounds/{ROUND}/assignments", "assignments")

    @task(3)
    def checklist(self) -> None:
        self.read("/api/me/checklist", "checklist")
