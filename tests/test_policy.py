"""The policy file: stages in any order and subset, tolerances, and clear errors."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from mobility_match.matching.policy import STAGES, Policy, PolicyError, load_policy, parse_policy


def test_default_policy_is_the_four_stages_in_design_order() -> None:
    """Without a file, placements, gender gap, preferences, school fairness, no tolerance."""
    assert Policy().stages == ("placements", "gender_gap", "preferences", "school_fairness")
    assert parse_policy("").stages == STAGES


def test_stages_and_tolerances_are_read_exactly() -> None:
    """0.05 is read as 5/100 exactly, not as the nearest binary float."""
    policy = parse_policy(
        'stages = ["placements", "preferences"]\n[tolerance]\nplacements = 0.05\n'
    )
    assert policy.stages == ("placements", "preferences")
    assert policy.tolerance_of("placements") == Fraction(5, 100)
    assert policy.tolerance_of("preferences") == 0


def test_every_problem_is_reported_at_once_with_its_field() -> None:
    """Unknown stage, duplicate, out-of-range tolerance and unknown key: all in one error."""
    text = (
        'stages = ["placements", "placements", "happiness"]\nspeed = 3\n'
        "[tolerance]\ngender_gap = 2\n"
    )
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "policy.toml")
    lines = str(caught.value).splitlines()
    assert "policy.toml:stages: stage 'placements' is listed twice" in lines
    assert any(line.startswith("policy.toml:stages: unknown stage 'happiness'") for line in lines)
    assert any(line.startswith("policy.toml:speed: unknown setting") for line in lines)
    assert "policy.toml:tolerance.gender_gap: expected a number from 0 to 1, got 2" in lines


def test_an_empty_list_of_stages_is_refused() -> None:
    """No stage at all would leave the assignment arbitrary: refused, naming what is valid."""
    with pytest.raises(PolicyError) as caught:
        parse_policy("stages = []\n", "policy.toml")
    assert str(caught.value) == (
        "policy.toml:stages: the list is empty; name at least one stage among "
        "placements, gender_gap, preferences, school_fairness, "
        "or leave stages out for the default order"
    )


def test_invalid_toml_and_missing_file_name_the_file(tmp_path: Path) -> None:
    """A syntax error or a missing file is an error naming the file, not a traceback."""
    with pytest.raises(PolicyError, match=r"policy\.toml: not valid TOML"):
        parse_policy("stages = [", "policy.toml")
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    ("stage", "optimum", "tolerance", "allowed"),
    [
        ("placements", Fraction(99), Fraction(5, 100), Fraction(95)),  # ⌈94.05⌉
        ("placements", Fraction(100), Fraction(5, 100), Fraction(95)),
        ("preferences", Fraction(37), Fraction(1, 10), Fraction(40)),  # ⌊40.7⌋
        ("gender_gap", Fraction(1, 100), Fraction(2, 100), Fraction(3, 100)),
        ("school_fairness", Fraction(3, 4), Fraction(5, 100), Fraction(7, 10)),
        ("school_fairness", Fraction(1, 50), Fraction(5, 100), Fraction(0)),
    ],
)
def test_tolerance_is_a_share_for_counts_and_points_for_rates(
    stage: str, optimum: Fraction, tolerance: Fraction, allowed: Fraction
) -> None:
    """Counts give up a share of their optimum; rates give up rate points."""
    assert Policy(tolerance={stage: tolerance}).allowed(stage, optimum) == allowed
