"""The policy file: stages in any order and subset, tolerances, and clear errors."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from mobility_match.matching.policy import STAGES, Policy, PolicyError, load_policy, parse_policy
from mobility_match.matching.stages import POLICY_STAGES, STAGE_SPECS, SolvePath, Stage
from mobility_match.web.i18n import catalogue_files


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


def test_each_stage_is_one_named_thing_with_its_spec() -> None:
    """The stages' values are the names of policy files and reports; `changes` is the
    engine's own (a policy file naming it is refused, as any unknown stage); each spec
    says which way is better and settles a tolerance as its measure counts."""
    assert [str(stage) for stage in Stage] == [*STAGES, "changes"]
    assert Stage.CHANGES not in POLICY_STAGES
    with pytest.raises(PolicyError, match="unknown stage 'changes'"):
        parse_policy('stages = ["placements", "changes"]\n')
    with pytest.raises(PolicyError, match=r"tolerance\.changes: unknown stage"):
        parse_policy("[tolerance]\nchanges = 0.1\n")
    maximised = {stage for stage, spec in STAGE_SPECS.items() if spec.maximised}
    assert maximised == {Stage.PLACEMENTS, Stage.SCHOOL_FAIRNESS}
    assert Stage.CHANGES.spec.allowed(Fraction(7), Fraction(1, 10)) == 7  # ⌊7.7⌋
    assert Stage.GENDER_GAP.spec.worse(Fraction(1, 10), than=Fraction(0))
    assert not Stage.PLACEMENTS.spec.worse(Fraction(5), than=Fraction(4))
    assert Stage.SCHOOL_FAIRNESS.spec.tightest_bound(
        [Fraction(1), Fraction(3, 4), Fraction(1, 2)], Fraction(2, 3)
    ) == Fraction(3, 4)
    # What the flow path settles exactly, what it settles with LP and repairs.
    assert SolvePath.FLOW not in Stage.SCHOOL_FAIRNESS.spec.settled_by
    assert all(SolvePath.CP_SAT in spec.settled_by for spec in STAGE_SPECS.values())


def test_a_policy_given_stage_names_holds_stages() -> None:
    """Names given as plain strings are read as stages; an unknown name is refused."""
    policy = Policy(stages=("preferences",), tolerance={"preferences": Fraction(1, 10)})
    assert policy.stages == (Stage.PREFERENCES,)
    assert all(isinstance(stage, Stage) for stage in [*policy.stages, *policy.tolerance])
    with pytest.raises(ValueError, match="happiness"):
        Policy(stages=("happiness",))


def test_the_stages_labels_have_their_french() -> None:
    """The coordinator's pages show each stage's label and summary (matching/stages.py),
    translated like the pages' own messages."""
    translated: set[str] = set()
    for path in catalogue_files("fr"):
        with path.open("rb") as source:
            translated.update(m.id for m in read_po(source) if m.id and m.string)
    for spec in STAGE_SPECS.values():
        assert {spec.label, spec.summary} <= translated, spec.stage
