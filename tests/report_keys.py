"""CONTRACT.md's keys of the `--report FILE` JSON, shared by the tests that check it."""

CONTRACT_KEYS = [
    "students",
    "offers",
    "places",
    "placed",
    "placed_by_gender",
    "eligible_by_gender",
    "gender_gap",
    "preference_cost",
    "min_school_rate",
    "stages",
    "solve_seconds",
]
"""In the order the report writes them."""
