"""The Frequency form: when each scheduled job runs and how long backups are kept, in plain words.

One widget shared by the setup's step and the dashboard's Frequency screen. The values are
the settings' own (:class:`engine.jobsettings.ScheduleSettings`,
:class:`engine.jobsettings.RetentionSettings`) and are checked by their own ``problems()``:
the app refuses exactly what ``odbackup config set`` and a hand-edited file would.

The pure helpers below turn settings, run records and the operating system's answer into
the sentences the screens show; they are tested without a terminal.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from engine.jobsettings import OFF, RetentionSettings, ScheduleSettings
from engine.repository.prune import SpaceEstimate
from engine.retention import Decision, Policy
from engine.runlog import RunRecord
from engine.settings import Settings
from engine.words import size

SCHEDULE_FIELDS = (
    ("nightly", "Every night at", "a time like 21:00, or off"),
    ("nightly_days", "  on", "Mon, Tue, ... Sun"),
    ("intraday", "Every hour, database only", "a range like 08:00-18:00, or off"),
    ("intraday_days", "  on", "Mon, Tue, ... Sun"),
    ("maintenance", "Maintenance at", "a time like 23:30, or off"),
    ("maintenance_days", "  on", "Mon, Tue, ... Sun"),
)
RETENTION_FIELDS = (
    ("within", "Every backup for", "48h, 7d, or off"),
    ("daily", "Daily backups kept", "0 turns it off"),
    ("weekly", "Weekly backups kept", ""),
    ("monthly", "Monthly backups kept", ""),
    ("yearly", "Yearly backups kept", ""),
)
DAY_FIELDS = ("nightly_days", "intraday_days", "maintenance_days")
SUPPLEMENTAL = "Open Dental's own Supplemental backup runs from 10 pm to 4 am"


# --- plain words -----------------------------------------------------------------------------------


def clock_words(text: str) -> str:
    """``"21:00"`` -> ``"9:00 pm"`` (the text itself when it is not a time)."""
    hour, _, minute = text.strip().partition(":")
    if not (hour.isdigit() and minute.isdigit()):
        return text
    h = int(hour)
    return f"{(h % 12) or 12}:{int(minute):02d} {'am' if h < 12 else 'pm'}"


def days_words(days: Iterable[str]) -> str:
    """``("Mon".."Sun")`` -> "every day"; the weekdays -> "on weekdays"; else the names."""
    names = [d.strip()[:3].capitalize() for d in days]
    if len(set(names)) == 7:
        return "every day"
    if set(names) == {"Mon", "Tue", "Wed", "Thu", "Fri"}:
        return "on weekdays"
    return "on " + ", ".join(names)


def is_off(text: str) -> bool:
    return text.strip().lower() == OFF


def outside_supplemental(text: str) -> bool:
    """A nightly time before 10 pm and from 4 am on: not inside Open Dental's Supplemental window."""
    hour = text.strip().partition(":")[0]
    return hour.isdigit() and 4 <= int(hour) < 22


def job_lines(settings: Settings) -> list[str]:
    """What each scheduled job backs up, from the settings (the database's name, the folders)."""
    schedule = settings.schedule
    db = settings.database
    database = f"the database {db.name}" if db is not None and db.name else "no database"
    parts = [p for p in (database if db is not None else "", ", ".join(settings.folders)) if p]
    what = " and ".join(parts) if parts else "nothing: no database and no folder is set up"
    lines = []
    if is_off(schedule.nightly):
        lines.append("Nightly backup: off. Nothing is backed up by itself every night.")
    else:
        where = ("after the office closes, before " + SUPPLEMENTAL) if outside_supplemental(schedule.nightly) \
            else "inside the window where " + SUPPLEMENTAL + ": pick an earlier time"
        lines.append(f"Every night at {clock_words(schedule.nightly)} ({days_words(schedule.nightly_days)}), {where}. "
                     f"It backs up {what}.")
    if is_off(schedule.intraday):
        lines.append("Every hour in office hours: off.")
    else:
        first, _, last = schedule.intraday.partition("-")
        lines.append(f"Also every hour from {clock_words(first)} to {clock_words(last)} "
                     f"{days_words(schedule.intraday_days)}, "
                     + (f"{database} only." if db is not None else "but no database is set up: nothing to back up."))
    if is_off(schedule.maintenance):
        lines.append("Maintenance: off. Old backups are never removed by themselves.")
    else:
        lines.append(f"Maintenance at {clock_words(schedule.maintenance)} ({days_words(schedule.maintenance_days)}): "
                     "removes what the retention below no longer keeps, frees the space, checks the repository.")
    return lines


def pause_words(runs: Iterable[RunRecord]) -> str:
    """The office's expected pause per hourly run, from the newest run that measured one."""
    measured = [r for r in runs if r.result in ("ok", "incomplete") and r.databases]
    if not measured:
        return "Expected pause for the office each hour: not measured yet (run a backup first)."
    newest = max(measured, key=lambda r: r.finished)
    return (f"Expected pause for the office each hour: about {newest.office_wait:.1f} s "
            f"(measured by the {newest.job} run of {newest.finished[:10]}).")


def retention_words(retention: RetentionSettings) -> str:
    """The retention policy in plain words, and why: how far back the practice can go, at
    which step, and how long the verification reports are kept (and why 6 years)."""
    policy = retention.policy()
    rules, reach = [], []
    if policy.last:
        rules.append("the last backup" if policy.last == 1 else f"the last {policy.last} backups")
    if not policy.within.zero:
        span = _span_words(policy.within.years, policy.within.months, policy.within.days, policy.within.hours)
        rules.append(f"every backup for {span}")
        reach.append(f"{_a_day(span)} backup by backup")
    for count, period, each in ((policy.hourly, "hour", "hourly"), (policy.daily, "day", "daily"),
                                (policy.weekly, "week", "weekly"), (policy.monthly, "month", "monthly"),
                                (policy.yearly, "year", "yearly")):
        if count:
            rules.append(f"all {each}" if count < 0 else f"{count} {each}")
            reach.append(("to the first backup" if count < 0 else _periods_words(count, period)) + f" by the {period}")
    if not rules:
        text = "No rule: every backup is kept, nothing is removed."
    else:
        text = "Keeps " + ", ".join(rules) + "."
        if reach:
            text += " The practice can go back " + _and(reach) + "."
    return (text + f" Verification reports are kept {retention.reports_years} years, even after their backup "
            "is gone: HIPAA keeps testing records 6 years.")


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _span_words(years: int, months: int, days: int, hours: int) -> str:
    """``48h`` -> "48 hours"; ``1y6m`` -> "1 year 6 months"."""
    parts = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in
             ((years, "year"), (months, "month"), (days, "day"), (hours, "hour")) if n]
    return " ".join(parts)


def _a_day(span: str) -> str:
    """How far back every backup reaches, in the rounder words a person uses."""
    return {"24 hours": "a day", "48 hours": "2 days", "72 hours": "3 days", "1 day": "a day",
            "7 days": "a week"}.get(span, span)


def _periods_words(count: int, period: str) -> str:
    """30 days -> "a month"; 13 weeks -> "about 3 months"; 24 months -> "2 years"."""
    if period == "day" and 28 <= count <= 31:
        return "a month"
    if period == "day" and count == 7:
        return "a week"
    if period == "week" and count >= 8:
        return f"about {round(count * 7 / 30.44)} months"
    if period == "month" and count % 12 == 0:
        return "a year" if count == 12 else f"{count // 12} years"
    if count == 1:
        return f"a {period}"
    return f"{count} {period}s"


def preview_words(decision: Decision, estimate: SpaceEstimate | None, policy: Policy,
                  stored: Policy | None) -> str:
    """What the retention would keep and remove now, the space that frees, and whether it is the
    policy the repository holds (the one scheduled maintenance applies)."""
    kept, removed = len(decision.keep), len(decision.remove)
    if not removed:
        text = f"Applied now it keeps all {kept} backup(s), removes none."
    else:
        freed = size(estimate.bytes_freed) if estimate is not None else "an unknown amount"
        text = f"Applied now it keeps {kept} backup(s), removes {removed} and would free about {freed}."
    if stored is None:
        return text + " Not in the repository yet: Save stores it (passphrase)."
    if stored != policy:
        return text + f" Until Save, maintenance keeps the stored {stored.describe()}."
    return text


def state_words(states: Iterable, calendars: dict, now: datetime | None = None) -> list[str]:
    """What the operating system has, job by job (``engine.schedule.install.JobState``)."""
    lines = []
    for s in states:
        if not s.registered:
            lines.append(f"{s.job}: not installed" + ("" if s.job in calendars else " (off in the settings)"))
            continue
        have = "installed" if s.enabled else "installed but NOT enabled"
        lines.append(f"{s.job}: {have}" + (f", next run {when_words(s.next_run, now)}" if s.next_run else "")
                     + (f" ({s.detail})" if not s.enabled and s.detail else ""))
    return lines


def schedule_headline(states: Iterable, calendars: dict, now: datetime | None = None) -> str:
    """The schedule in one line: "Installed: next backup tonight at 9:00 pm", or what is missing."""
    states = list(states)
    wanted = [s for s in states if s.job in calendars]
    missing = [s.job for s in wanted if not s.registered]
    disabled = [s.job for s in wanted if s.registered and not s.enabled]
    if not calendars:
        return "Nothing is scheduled: every job is off in the settings."
    if len(missing) == len(wanted):
        return "Not installed: no backup runs by itself yet."
    if missing or disabled:
        return (f"Partly installed: {', '.join(missing)} not installed" if missing else "Installed") + \
            (f"; {', '.join(disabled)} NOT enabled" if disabled else "") + ". Install schedule again."
    backups = [s for s in wanted if s.job != "maintenance" and s.next_run]
    first = min(backups or [s for s in wanted if s.next_run], key=lambda s: _moment(s.next_run), default=None)
    if first is None:
        return "Installed (the system does not say when it runs next)."
    what = "backup" if first.job != "maintenance" else "maintenance"
    return f"Installed: next {what} {when_words(first.next_run, now)}."


def _moment(iso: str) -> datetime:
    try:
        return datetime.fromisoformat(iso).astimezone()
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)


def when_words(iso: str, now: datetime | None = None) -> str:
    """``2026-12-07T21:00+00:00`` -> "tonight at 9:00 pm" / "tomorrow at ..." / "Sun 13 Dec at ..."."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    local = moment.astimezone()
    today = (now or datetime.now().astimezone()).astimezone(local.tzinfo).date()
    clock = clock_words(local.strftime("%H:%M"))
    days = (local.date() - today).days
    if days == 0:
        return f"{'tonight' if local.hour >= 18 else 'today'} at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    return f"{local.strftime('%a %d %b')} at {clock}"


# --- the widget ------------------------------------------------------------------------------------


class FrequencyForm(Vertical):
    """The editable schedule and retention (see the module docstring)."""

    DEFAULT_CSS = """
    FrequencyForm { height: auto; }
    FrequencyForm .freq-heading { margin-top: 1; text-style: bold; }
    """

    def __init__(self, settings: Settings, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.settings = settings

    def compose(self) -> ComposeResult:
        yield Static("When the backups run", classes="freq-heading")
        for key, label, hint in SCHEDULE_FIELDS:
            value = getattr(self.settings.schedule, key)
            yield self._row(f"sched-{key}", label, ", ".join(value) if key in DAY_FIELDS else value, hint)
        yield Static("", id="freq-jobs")
        yield Static("How long backups are kept", classes="freq-heading")
        # The words and the why above the fields, so they stay in view while the fields are typed in.
        yield Static("", id="freq-retention")
        for key, label, hint in RETENTION_FIELDS:
            yield self._row(f"keep-{key}", label, str(getattr(self.settings.retention, key)), hint)

    @staticmethod
    def _row(widget_id: str, label: str, value: str, hint: str) -> Horizontal:
        return Horizontal(Label(label), Input(value, id=widget_id, placeholder=hint, compact=True),
                          classes="form-row")

    def on_mount(self) -> None:
        self.refresh_words()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.refresh_words()

    def _text(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value

    def read(self) -> tuple[ScheduleSettings, RetentionSettings, list[str]]:
        """The typed values as settings, and what is wrong with them (the engine's own checks)."""
        found: list[str] = []
        values: dict[str, object] = {}
        for key, _, _ in SCHEDULE_FIELDS:
            text = self._text(f"sched-{key}").strip()
            values[key] = tuple(d.strip() for d in text.split(",") if d.strip()) if key in DAY_FIELDS else text
        schedule = replace(self.settings.schedule, **values)  # type: ignore[arg-type]
        counts: dict[str, object] = {}
        for key, label, _ in RETENTION_FIELDS:
            text = self._text(f"keep-{key}").strip()
            if key == "within":
                counts[key] = text
            elif text.lstrip("-").isdigit():
                counts[key] = int(text)
            else:
                found.append(f"{label.strip()}: '{text}' is not a whole number (0 turns it off).")
        retention = replace(self.settings.retention, **counts)  # type: ignore[arg-type]
        found += schedule.problems() + (retention.problems() if not found else [])
        return schedule, retention, found

    def refresh_words(self) -> None:
        """The plain-words lines for what is typed now (or the first problem)."""
        schedule, retention, found = self.read()
        jobs = self.query_one("#freq-jobs", Static)
        kept = self.query_one("#freq-retention", Static)
        if schedule.problems():
            jobs.update(schedule.problems()[0])
        else:
            jobs.update("\n".join(job_lines(replace(self.settings, schedule=schedule))))
        kept_problems = [p for p in found if p not in schedule.problems()]
        kept.update(kept_problems[0] if kept_problems else retention_words(retention))
        # The words above the retention fields grow and shrink as they are typed in: the field
        # being typed in stays in view.
        self.call_after_refresh(self._focused_in_view)

    def _focused_in_view(self) -> None:
        focused = self.app.focused
        if isinstance(focused, Input) and self in focused.ancestors:
            focused.scroll_visible(animate=False)
