"""Packaging: every Python package and the top-level templates ship in the wheel."""

from __future__ import annotations

import subprocess
import sys
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


def test_every_service_module_imports_on_its_own() -> None:
    """Each module of services/ imports first, in a fresh state (a cycle of imports can
    hide behind the order in which the service happens to load them). The models stay
    loaded: SQLModel's tables can be declared once per interpreter."""
    script = """
import importlib, pkgutil, sys
import mobility_match, mobility_match.models
kept = {key for key in sys.modules if key.startswith("mobility_match.")}
names = [
    m.name for m in pkgutil.walk_packages(mobility_match.__path__, "mobility_match.")
    if m.name.startswith("mobility_match.services.")
]
failed = []
for name in names:
    for loaded in [k for k in sys.modules if k.startswith("mobility_match.") and k not in kept]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except ImportError as error:
        failed.append(f"{name}: {error}")
print(len(names))
print("\\n".join(failed))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )
    count, *failed = done.stdout.strip().splitlines()
    assert int(count) > 20
    assert failed == []
