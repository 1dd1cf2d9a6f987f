"""Packaging: every Python package and the top-level templates ship in the wheel."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_is_listed_in_pyproject() -> None:
    """A new sub-package missing from the explicit list would be left out of the wheel."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    source = ROOT / "src"
    found = {
        ".".join(init.parent.relative_to(source).parts) for init in source.rglob("__init__.py")
    }
    assert set(config["packages"]) == found | {"mobility_match.templates"}
    assert config["package-dir"]["mobility_match.templates"] == "templates"
    assert (ROOT / "templates" / "documents").is_dir()
