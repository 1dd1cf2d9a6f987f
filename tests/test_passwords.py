"""The service's own password hasher (tests/conftest.py gives the other tests the same
argon2id at its lowest cost): it hashes, checks and refuses as the service does."""

from __future__ import annotations

import pytest

from mobility_match import security
from tests.conftest import PRODUCTION_PASSWORDS


def test_the_service_hashes_with_argon2id_and_checks_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hasher, dummy = PRODUCTION_PASSWORDS
    monkeypatch.setattr(security, "_passwords", hasher)
    monkeypatch.setattr(security, "_DUMMY_HASH", dummy)
    stored = security.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert "correct horse battery" not in stored
    assert security.verify_password("correct horse battery", stored)
    assert not security.verify_password("correct horse batterie", stored)
    assert not security.verify_password("correct horse battery", None)
    # An unknown username is checked against a hash of the same cost as a real one.
    assert dummy.split("$")[3] == stored.split("$")[3]
