"""Every message of the pages has its translation, and the catalogues compile."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from mobility_match.web.i18n import catalogue_files, translations

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("messages", ROOT / "scripts" / "messages.py")
assert _spec is not None
assert _spec.loader is not None
messages = importlib.util.module_from_spec(_spec)
sys.modules["messages"] = messages  # dataclasses look their module up there
_spec.loader.exec_module(messages)


def test_every_message_of_the_pages_is_translated() -> None:
    """French for every page; German and Polish too for what partners see. A new message
    without its translation fails here (`python scripts/messages.py check` lists them)."""
    gaps = [
        f"{message.file}:{message.line}: [{language}] {message.key!r}"
        for language, message in messages.missing()
    ]
    assert gaps == []


def test_no_message_is_translated_two_ways() -> None:
    """The .po files of a language are merged: a message translated differently in two of
    them would take one translation everywhere. Each message has one translation a language
    (give a different English message where two pages need two wordings)."""
    assert messages.conflicts() == []


def test_the_pages_have_messages_to_translate() -> None:
    """The extraction finds the messages of templates and page modules (a broken extractor
    would make the test above pass on nothing)."""
    found = {message.key for message in messages.messages()}
    assert "Sign in" in found  # a template
    assert "Wrong username or password, or the account is disabled." in found  # a module


def test_the_catalogues_compile_and_translate() -> None:
    """Each language's .po files compile with Babel and give the translated sentence."""
    assert translations("fr").gettext("Sign out") == "Se déconnecter"
    assert translations("de").gettext("Sign out") == "Abmelden"
    assert translations("pl").gettext("Sign out") == "Wyloguj się"
    assert translations("en").gettext("Sign out") == "Sign out"
    assert all(catalogue_files(language) for language in ("fr", "de", "pl"))
