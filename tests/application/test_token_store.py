"""Token liveness checks reuse connections without holding one per thread that ever asked."""

from __future__ import annotations

import threading

import pytest

from infrastructure.config import Settings
from infrastructure.readdb import create_read_engine, metadata
from infrastructure.tokens import OrganisationRequired, TokenStore


def test_threads_that_come_and_go_do_not_keep_connections(settings: Settings) -> None:
    engine = create_read_engine(settings)
    metadata.create_all(engine)
    store = TokenStore(engine)
    try:
        info, secret = store.create("Ann Inspector", "inspector")
        assert store.authenticate(secret).id == info.id  # type: ignore[union-attr]
        answers: list[object] = []
        for _ in range(20):  # as a server replaces its idle worker threads
            thread = threading.Thread(target=lambda: answers.append(getattr(store.authenticate(secret), "id", None)))
            thread.start()
            thread.join()
        assert answers == [info.id] * 20
        assert engine.pool.checkedout() <= 1  # the one idle connection kept for the next check
        store.revoke(info.id)
        assert store.authenticate(secret) is None  # revocation is seen at once
    finally:
        store.close()
        assert engine.pool.checkedout() == 0
        engine.dispose()


def test_a_token_speaking_for_an_organisation_must_name_it(settings: Settings) -> None:
    """Without an organisation the rules that depend on it (own body only, never one's own) cannot apply."""
    engine = create_read_engine(settings)
    metadata.create_all(engine)
    store = TokenStore(engine)
    try:
        for role in ("local_assessor", "organisation"):
            for organisation in (None, "", "   "):
                with pytest.raises(OrganisationRequired, match="organisation"):
                    store.create("Lee Evans", role, organisation)
        assert store.list() == []  # nothing was stored
        assert isinstance(OrganisationRequired("x"), ValueError)  # the CLI's one error path (exit 2)
        info, _ = store.create("Lee Evans", "local_assessor", "Lancashire")
        assert info.actor.id == info.id and info.actor.organisation == "Lancashire"
        inspector, _ = store.create("Lee Evans", "inspector")
        assert inspector.actor.id != info.actor.id  # one name, two people
    finally:
        store.close()
        engine.dispose()
