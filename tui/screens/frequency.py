"""The Frequency screen (the dashboard's ``f``): when the backups run, how long they are kept,
and the schedule as the operating system really has it.

Save writes settings.toml through the engine's one locked path
(:func:`engine.settings.update_settings`). Install saves first, then hands the jobs to the
operating system's scheduler (:mod:`engine.schedule.install`) in a worker; when none runs
(no systemd, no cron: this very container) it says so and shows the cron lines to install by
hand. The state shown is read back from the scheduler after every change, never assumed.
What the retention would keep and remove now is worked out on the repository's snapshots
(:func:`engine.forget.decide`) when this machine can read them.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Header, Static

from engine import runlog
from engine.errors import NeedsFullKey, NoCredentials, OdbackupError
from engine.jobsettings import JOBS, RetentionSettings, ScheduleSettings
from engine.settings import Settings, update_settings

from ..messages import JobDone, JobFailed
from ..widgets.frequency_form import FrequencyForm, pause_words, state_words
from .common import JobScreen, open_repo


@dataclass(frozen=True)
class ScheduleReport:
    """What a schedule job found: the operating system's state, or why it could not act."""

    lines: tuple[str, ...]
    """The state job by job, or what went wrong and the way out, in plain words."""
    ok: bool = True


def read_schedule(calendars: dict, said: tuple[str, ...] = ()) -> ScheduleReport:
    """The schedule as the operating system has it (cron's file when no scheduler runs)."""
    from engine.schedule import install as inst

    try:
        kind = inst.available_kind()
    except inst.NoScheduler:
        kind = "cron"
    module = inst.installer(kind)
    states = module.show(JOBS)
    return ScheduleReport((*said, f"The schedule in the operating system ({kind}):",
                           *state_words(states, calendars)))


def install_schedule(settings: Settings) -> ScheduleReport:
    """Hand the jobs to the scheduler that runs here; or say exactly why not and how else."""
    from engine.schedule import install as inst
    from engine.schedule import install_cron

    calendars = settings.calendars()
    jobs = inst.scheduled_jobs(calendars)
    try:
        kind = inst.available_kind()
    except inst.NoScheduler as exc:
        lines = install_cron.render(jobs, system=install_cron.system_wide()).strip().splitlines()
        return ScheduleReport((f"Not installed: {exc.message}", "Install cron (or run this on the practice "
                               "server), or add these lines by hand ('odbackup schedule install --print'):",
                               *lines), ok=False)
    try:
        said = tuple(inst.installer(kind).install(jobs))
    except inst.ScheduleInstallError as exc:
        return ScheduleReport((f"Not installed: {exc.message}", *([exc.hint] if exc.hint else ())), ok=False)
    return read_schedule(calendars, said)


def remove_schedule(calendars: dict) -> ScheduleReport:
    from engine.schedule import install as inst

    try:
        kind = inst.available_kind()
    except inst.NoScheduler:
        kind = "cron"
    try:
        said = tuple(inst.installer(kind).remove())
    except inst.ScheduleInstallError as exc:
        return ScheduleReport((f"Not removed: {exc.message}",), ok=False)
    return read_schedule(calendars, said)


def retention_preview(settings: Settings, retention: RetentionSettings, secret: str | None) -> str:
    """What the policy would keep and remove now, or why it cannot be seen."""
    from engine.forget import decide

    try:
        repo = open_repo(settings.repository, full=False, secret=secret)
        decision = decide(repo, retention.policy())
    except (NoCredentials, NeedsFullKey):
        return "What it would keep and remove now: open the repository to see (u on the dashboard)."
    except OdbackupError as exc:
        return f"What it would keep and remove now: cannot tell ({exc.message})."
    return (f"Applied now it would keep {len(decision.keep)} backup(s) and remove {len(decision.remove)}.")


class FrequencyScreen(JobScreen):
    """The schedule and retention, editable, with install and remove (module docstring)."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+s", "save", "Save"),
    ]
    @dataclass
    class Previewed(JobDone):
        """What the retention would keep and remove now, in plain words."""

        text: str

    @dataclass
    class ScheduleRead(JobDone):
        """The schedule as the operating system has it, after reading, installing or removing."""

        report: ScheduleReport
        answer: bool
        """An answer to Install or Remove (brought into view), not the first reading."""

    DEFAULT_CSS = """
    FrequencyScreen #freq-problem { padding: 0 1; }
    FrequencyScreen #freq-body { padding: 0 1; }
    FrequencyScreen #freq-state, FrequencyScreen #freq-preview, FrequencyScreen #freq-pause { margin-top: 1; }
    """

    def compose(self) -> ComposeResult:
        settings = self.settings
        yield Header()
        with VerticalScroll(id="freq-body"):
            yield FrequencyForm(settings, id="freq-form")
            yield Static(pause_words(runlog.history("intraday", 20) + runlog.history("backup", 20)), id="freq-pause")
            yield Static("What it would keep and remove now: reading the repository...", id="freq-preview")
            yield Static("Reading the schedule from the operating system...", id="freq-state")
        problem = Static("", id="freq-problem", classes="problem")
        problem.display = False
        yield problem
        with Horizontal(classes="buttons"):
            yield Button("Back", id="back", compact=True)
            yield Button("Save", id="save", variant="primary", compact=True)
            yield Button("Install schedule", id="install", compact=True)
            yield Button("Remove schedule", id="remove", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Frequency"
        self.query_one("#sched-nightly").focus()
        calendars = self.settings.calendars()
        self.start_job("state", lambda: self.ScheduleRead(read_schedule(calendars), answer=False))
        settings, secret = self.settings, self.app.secret
        self.start_job("preview", lambda: self.Previewed(retention_preview(settings, settings.retention, secret)))

    @property
    def settings(self) -> Settings:
        return self.app.settings or Settings()

    def problem(self, text: str | None) -> None:
        line = self.query_one("#freq-problem", Static)
        line.update(text or "")
        line.display = bool(text)

    @property
    def problem_text(self) -> str:
        return str(self.query_one("#freq-problem", Static).content)

    def state_text(self) -> str:
        return str(self.query_one("#freq-state", Static).content)

    # --- actions --------------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.action_back()

    def checked(self) -> tuple[ScheduleSettings, RetentionSettings] | None:
        schedule, retention, found = self.query_one(FrequencyForm).read()
        if found:
            self.problem(found[0])
            return None
        self.problem(None)
        return schedule, retention

    def save(self) -> Settings | None:
        """Write the typed schedule and retention (nothing else) under the settings' lock."""
        values = self.checked()
        if values is None:
            return None
        schedule, retention = values
        saved = update_settings(lambda old: replace(old or self.settings, schedule=schedule, retention=retention))
        self.app.settings = saved
        return saved

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        if self.save() is not None:
            self.notify("Saved: the installed schedule follows after Install schedule.", title="Frequency")

    @on(Button.Pressed, "#install")
    def action_install(self) -> None:
        if self.job_running("install"):
            return
        saved = self.save()
        if saved is None:
            return
        self.query_one("#freq-state", Static).update("Installing the schedule...")
        self.start_job("install", lambda: self.ScheduleRead(install_schedule(saved), answer=True))

    @on(Button.Pressed, "#remove")
    def action_remove(self) -> None:
        if self.job_running("remove"):
            return
        self.query_one("#freq-state", Static).update("Removing the schedule...")
        calendars = self.settings.calendars()
        self.start_job("remove", lambda: self.ScheduleRead(remove_schedule(calendars), answer=True))

    def on_frequency_screen_previewed(self, message: Previewed) -> None:
        self.query_one("#freq-preview", Static).update(message.text)

    def on_frequency_screen_schedule_read(self, message: ScheduleRead) -> None:
        report = message.report
        state = self.query_one("#freq-state", Static)
        state.update("\n".join(report.lines))
        self.problem(None if report.ok else report.lines[0])
        if message.answer:  # the answer to Install or Remove: brought into view
            self.call_after_refresh(state.scroll_visible, animate=False)

    def on_job_failed(self, message: JobFailed) -> None:
        error = message.error
        if message.job == "preview":
            self.query_one("#freq-preview", Static).update(f"What it would keep and remove now: {error.message}")
        else:
            self.query_one("#freq-state", Static).update(f"{error.message} {error.hint or ''}".strip())
            self.problem(error.message)
        message.stop()
