"""The order credentials are tried in (engine/credentials.py): a table for the pure
precedence, then real repositories opened through every source."""
from __future__ import annotations

import pytest

from engine import credentials
from engine.credentials import Source, Sources, given_secret, open_repository, precedence
from engine.errors import NeedsFullKey, NoCredentials, WrongPassphrase
from engine.repository import keys as keymod
from engine.repository.repo import Repository

PASS = "a long test passphrase"
WRONG = "not the passphrase at all"
E, S, M, P = Source.ENVIRONMENT, Source.SESSION, Source.MACHINE, Source.PROMPT


def asker() -> str | None:
    return None


@pytest.mark.parametrize(("environment", "session", "can_ask", "full", "expected"), [
    # a given secret is the only one tried: the environment first, then the session's
    ("env", None, True, False, (E,)),
    ("env", "typed", True, True, (E,)),
    (None, "typed", True, False, (S,)),
    (None, "typed", False, True, (S,)),
    # none given: machine credentials where they suffice, then asking, where someone can be asked
    (None, None, True, False, (M, P)),
    (None, None, False, False, (M,)),
    (None, None, True, True, (P,)),
    (None, None, False, True, ()),
    # an empty variable is not set
    ("", None, False, False, (M,)),
])
def test_precedence(environment, session, can_ask, full, expected):
    sources = Sources(environment=environment, session=session, ask=asker if can_ask else None)
    assert precedence(sources, full=full) == expected


def test_sources_here_reads_the_environment_variable():
    assert Sources.here(environ={credentials.ENV: "from env"}).environment == "from env"
    assert Sources.here(environ={credentials.ENV: ""}, session="").environment is None
    assert Sources.here(environ={}, session="typed").session == "typed"


@pytest.fixture
def location(tmp_path) -> str:
    return Repository.init(str(tmp_path / "repo"), PASS)[0].location


def enroll(location: str) -> None:
    repo = Repository.open(location)
    repo.unlock(PASS)
    keymod.enroll_machine(repo.keys, repo.location)


class Asker:
    """A prompt that answers ``answer`` and counts how often it was asked."""

    def __init__(self, answer: str | None) -> None:
        self.answer, self.asked = answer, 0

    def __call__(self) -> str | None:
        self.asked += 1
        return self.answer


@pytest.mark.parametrize(("enrolled", "full", "environment", "session", "answer", "opens", "reads", "asked"), [
    (False, True, PASS, None, None, True, True, 0),       # the environment
    (False, True, None, PASS, None, True, True, 0),       # the session's passphrase
    (True, False, None, PASS, None, True, True, 0),       # a given passphrase before machine credentials
    (True, False, None, None, PASS, True, False, 0),      # machine credentials before asking
    (False, False, None, None, PASS, True, True, 1),      # not enrolled: asked
    (True, True, None, None, PASS, True, True, 1),        # reading: machine credentials never suffice
    (False, True, None, None, None, NeedsFullKey, False, 1),   # asked, nothing given
    (False, False, None, None, None, NoCredentials, False, 1),
])
def test_open_repository_uses_the_first_source_at_hand(location, enrolled, full, environment, session, answer,
                                                       opens, reads, asked):
    if enrolled:
        enroll(location)
    ask = Asker(answer)
    sources = Sources(environment=environment, session=session, ask=ask)
    if opens is True:
        repo = open_repository(location, sources, full=full)
        assert repo.can_read == reads
        assert repo.snapshots() == []
    else:
        with pytest.raises(opens):
            open_repository(location, sources, full=full)
    assert ask.asked == asked


@pytest.mark.parametrize("where", ["environment", "session"])
def test_a_wrong_secret_is_an_error_not_a_reason_to_try_the_next(location, where):
    enroll(location)
    ask = Asker(PASS)
    sources = Sources(**{where: WRONG}, ask=ask)
    with pytest.raises(WrongPassphrase):
        open_repository(location, sources, full=False)
    assert ask.asked == 0


def test_the_recovery_key_opens_wherever_a_passphrase_does(tmp_path):
    repo, recovery = Repository.init(str(tmp_path / "repo"), PASS)
    assert open_repository(repo.location, Sources(environment=recovery), full=True).can_read
    assert open_repository(repo.location, Sources(ask=lambda: recovery), full=True).can_read


@pytest.mark.parametrize(("environment", "session", "answer", "expected", "asked"), [
    ("env", "typed", "answer", "env", 0),
    (None, "typed", "answer", "typed", 0),
    (None, None, "answer", "answer", 1),
    (None, None, None, None, 1),
])
def test_given_secret(environment, session, answer, expected, asked):
    ask = Asker(answer)
    assert given_secret(Sources(environment=environment, session=session, ask=ask)) == expected
    assert ask.asked == asked
