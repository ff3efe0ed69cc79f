"""The verification report: its verdict and its details never contradict each other."""
from __future__ import annotations

from engine.events import DEFINITION_ONLY, TableVerified
from engine.verify import (
    DatabaseVerdict,
    VerifyReport,
    _add_table,
    _definition_verified,
    render_text,
)


def report_of(verdict: DatabaseVerdict) -> VerifyReport:
    report = VerifyReport("3f9a2c41" + "0" * 56, "2025-06-30T16:05:00+00:00", "2025-06-30T18:05:00+00:00")
    report.databases.append(verdict)
    report.problems += verdict.problems
    report.ok = not report.problems
    return report


def test_a_restored_definition_only_table_is_a_note_under_passed():
    verdict, events = DatabaseVerdict("opendental", "scratch"), []
    _add_table(verdict, events.append, TableVerified("opendental", "patient", 50, 50, True, "OK"))
    _definition_verified("opendental", "log_all", True, verdict, events.append)
    assert [e.ok for e in events] == [True, True] and events[1].check_table == DEFINITION_ONLY
    text = render_text(report_of(verdict))
    assert "Verdict:   PASSED" in text
    assert "2 tables compared, 0 with problems, 1 definition only" in text
    assert "BAD" not in text and "Problems:" not in text


def test_a_definition_only_table_that_was_not_created_fails_the_verdict():
    verdict, events = DatabaseVerdict("opendental", "scratch"), []
    _definition_verified("opendental", "log_all", False, verdict, events.append)
    assert events[0].ok is False and events[0].check_table == "missing"
    text = render_text(report_of(verdict))
    assert "Verdict:   FAILED" in text
    assert "1 tables compared, 1 with problems" in text
    assert "BAD log_all" in text and "log_all (a definition only) could not be created" in text


def test_a_problem_the_restore_already_named_is_not_repeated():
    verdict = DatabaseVerdict("opendental", "scratch", problems=["table log_all (its rows live elsewhere): no"])
    _definition_verified("opendental", "log_all", False, verdict, lambda event: None)
    assert verdict.problems == ["table log_all (its rows live elsewhere): no"]
