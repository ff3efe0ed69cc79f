"""The Frequency screen (the dashboard's ``f``): when the backups run, how long they are kept,
and the schedule as the operating system really has it.

Save writes settings.toml through the engine's one locked path
(:func:`engine.settings.update_settings`). Install saves first, then hands the jobs to the
operating system's scheduler (:mod:`engine.schedule.install`) in a worker; when none runs
(no systemd, no cron: this very container) it says so and shows the cron lines to install by
hand. The state shown is read back from the scheduler after every change, never assumed.
What the retention would keep and remove now, and the space that frees, is worked out on the
repository's snapshots (:func:`engine.forget.decide`,
:func:`engine.repository.prune.estimate_freed`) with this machine's write-only credentials,
read-only, again as the retention is typed. Save also stores the retention in the repository
as its sealed policy (what scheduled maintenance applies; the passphrase is asked for when
this session has none).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Button, Footer, Header, Input, Static

from engine import runlog
from engine.errors import NeedsFullKey, NoCredentials, OdbackupError
from engine.jobsettings import JOBS, RetentionSettings, ScheduleSettings
from engine.settings import Settings, update_settings

from ..messages import JobDone, JobFailed
from ..widgets.frequency_form import (
    FrequencyForm,
    pause_words,
    preview_words,
    schedule_headline,
    state_words,
)
from .common import ASKS_FOR_SECRET, JobScreen, open_repo


@dataclass(frozen=True)
class ScheduleReport:
    """What a schedule job found: the operating system's state, or why it could not act."""

    lines: tuple[str, ...]
    """The state job by job, or what went wrong and the way out, in plain words."""
    ok: bool = True
    headline: str = ""
    """The state in one line ("Installed: next backup tonight at 9:00 pm"); the first line if empty."""


NOT_INSTALLED = "Not installed: no backup runs by itself yet (why: in the line below)."


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
                           *state_words(states, calendars)), headline=schedule_headline(states, calendars))


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
                               *lines), ok=False, headline=NOT_INSTALLED)
    try:
        module = inst.installer(kind)
        # Windows: the saved account's password only schtasks may ask for, at a console; the app
        # says so (install_windows refuses) rather than quietly registering SYSTEM instead.
        said = tuple(module.install(jobs, settings.schedule.account) if kind == "windows" else module.install(jobs))
    except inst.ScheduleInstallError as exc:
        return ScheduleReport((f"Not installed: {exc.message}", *([exc.hint] if exc.hint else ())), ok=False,
                              headline=NOT_INSTALLED)
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
        return ScheduleReport((f"Not removed: {exc.message}",), ok=False,
                              headline="Not removed: the schedule is as it was (why: in the line below).")
    return read_schedule(calendars, said)


def retention_preview(settings: Settings, retention: RetentionSettings, secret: str | None) -> str:
    """What the policy would keep and remove now and the space that frees, or why it cannot be seen.
    Read-only, with whatever this machine has: its write-only credentials suffice."""
    from engine.forget import decide, stored_policy
    from engine.repository.prune import estimate_freed

    policy = retention.policy()
    try:
        repo = open_repo(settings.repository, full=False, secret=secret)
        decision = decide(repo, policy)
        removing = [c.snapshot_id for c in decision.remove]
        estimate = estimate_freed(repo, removing) if removing else None
        stored = stored_policy(repo)
    except (NoCredentials, NeedsFullKey):
        return "What it would keep and remove now: open the repository to see (u on the dashboard)."
    except OdbackupError as exc:
        return f"What it would keep and remove now: cannot tell ({exc.message})."
    return preview_words(decision, estimate, policy, stored.policy if stored is not None else None)


def store_retention(settings: Settings, secret: str | None) -> str | None:
    """Store the settings' retention in the repository as its sealed policy, the one scheduled
    maintenance applies (None: it is stored already). Only the passphrase may set it: without it
    this fails with NeedsFullKey/NoCredentials, and the screen asks for it and tries again."""
    from engine.forget import stored_policy
    from engine.repository.policy import save_policy

    policy = settings.retention.policy()
    stored = stored_policy(open_repo(settings.repository, full=False, secret=secret))
    if stored is not None and stored.policy == policy:
        return None
    repo = open_repo(settings.repository, full=True, secret=secret)
    save_policy(repo.backend, repo.keys.maint_key, repo.repo_id, repo.keys.data_private,  # type: ignore[arg-type]
                policy)
    return f"Stored in the repository: scheduled maintenance now keeps {policy.describe()}."


class FrequencyScreen(JobScreen):
    """The schedule and retention, editable, with install and remove (module docstring).

    At 80x24 the form scrolls, while the two answers a user comes for stay in view below it:
    the schedule as the operating system has it, and what the retention would keep, remove
    and free now (recomputed as the retention is typed).
    """

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+s", "save", "Save"),
    ]
    PREVIEW_DELAY = 0.6
    """Seconds after the last key in a retention field before the preview is worked out again."""

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

    @dataclass
    class PolicyStored(JobDone):
        """The retention was stored in the repository (``text`` is None: it was there already)."""

        text: str | None

    DEFAULT_CSS = """
    FrequencyScreen #freq-problem { padding: 0 1; }
    FrequencyScreen #freq-body { padding: 0 1; }
    FrequencyScreen #freq-state, FrequencyScreen #freq-pause { margin-top: 1; }
    FrequencyScreen #freq-now { height: auto; max-height: 5; padding: 0 1; border-top: solid $primary; }
    """

    def compose(self) -> ComposeResult:
        settings = self.settings
        yield Header()
        with VerticalScroll(id="freq-body"):
            yield FrequencyForm(settings, id="freq-form")
            yield Static(pause_words(runlog.history("intraday", 20) + runlog.history("backup", 20)), id="freq-pause")
            yield Static("Reading the schedule from the operating system...", id="freq-state")
        with Vertical(id="freq-now"):
            yield Static("Schedule: reading it from the operating system...", id="freq-headline")
            yield Static("What it would keep and remove now: reading the repository...", id="freq-preview")
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
        self._preview_timer: Timer | None = None
        self.start_preview(self.settings.retention)

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

    def headline_text(self) -> str:
        return str(self.query_one("#freq-headline", Static).content)

    def preview_text(self) -> str:
        return str(self.query_one("#freq-preview", Static).content)

    # --- the retention preview -----------------------------------------------------------------------

    def start_preview(self, retention: RetentionSettings) -> None:
        settings, secret = self.settings, self.app.secret
        self.start_job("preview", lambda: self.Previewed(retention_preview(settings, retention, secret)))

    @on(Input.Changed, ".form-row Input")
    def _typed(self, event: Input.Changed) -> None:
        if self.problem_text and not self.query_one(FrequencyForm).read()[2]:
            self.problem(None)  # what Save refused is right again
        if not (event.input.id or "").startswith("keep-"):
            return
        if self._preview_timer is not None:
            self._preview_timer.stop()
        self._preview_timer = self.set_timer(self.PREVIEW_DELAY, self._preview_typed)

    def _preview_typed(self) -> None:
        schedule, retention, found = self.query_one(FrequencyForm).read()
        if [p for p in found if p not in schedule.problems()]:  # the retention's own problems
            self.query_one("#freq-preview", Static).update("What it would keep and remove now: "
                                                           "correct the retention above first.")
            return
        self.query_one("#freq-preview", Static).update("What it would keep and remove now: working it out...")
        self.start_preview(retention)

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
        """Write the typed schedule and retention (nothing else) under the settings' lock; then store
        the retention in the repository when it differs from the policy there."""
        values = self.checked()
        if values is None:
            return None
        schedule, retention = values
        saved = update_settings(lambda old: replace(old or self.settings, schedule=schedule, retention=retention))
        self.app.settings = saved
        self.start_job("policy", lambda: self.PolicyStored(store_retention(saved, self.app.secret)))
        return saved

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        if self.save() is not None:
            self.notify("Saved: the installed schedule follows after Install schedule.", title="Frequency")

    def scheduling(self) -> bool:
        """An install or remove runs: the other waits for its answer (never two at once)."""
        if self.job_running("install") or self.job_running("remove"):
            self.notify("Wait for the schedule's answer first.", title="Frequency")
            return True
        return False

    @on(Button.Pressed, "#install")
    def action_install(self) -> None:
        if self.scheduling():
            return
        saved = self.save()
        if saved is None:
            return
        self._answering("Installing the schedule...")
        self.start_job("install", lambda: self.ScheduleRead(install_schedule(saved), answer=True))

    @on(Button.Pressed, "#remove")
    def action_remove(self) -> None:
        if self.scheduling():
            return
        self._answering("Removing the schedule...")
        calendars = self.settings.calendars()
        self.start_job("remove", lambda: self.ScheduleRead(remove_schedule(calendars), answer=True))

    def _answering(self, text: str) -> None:
        """(The buttons stay enabled: disabling the focused one would throw the keyboard focus
        elsewhere; a second press is answered by :meth:`scheduling`.)"""
        self.query_one("#freq-state", Static).update(text)
        self.query_one("#freq-headline", Static).update(f"Schedule: {text[0].lower()}{text[1:]}")

    def on_frequency_screen_previewed(self, message: Previewed) -> None:
        self.query_one("#freq-preview", Static).update(message.text)

    def on_frequency_screen_policy_stored(self, message: PolicyStored) -> None:
        if message.text is not None:
            self.notify(message.text, title="Retention")
        self.start_preview(self.settings.retention)

    def on_frequency_screen_schedule_read(self, message: ScheduleRead) -> None:
        report = message.report
        state = self.query_one("#freq-state", Static)
        state.update("\n".join(report.lines))
        self.query_one("#freq-headline", Static).update(report.headline or report.lines[0])
        self.problem(None if report.ok else report.lines[0])
        if message.answer:  # the answer to Install or Remove: brought into view
            self.call_after_refresh(state.scroll_visible, animate=False)

    def on_job_failed(self, message: JobFailed) -> None:
        error = message.error
        if message.job == "preview":
            self.query_one("#freq-preview", Static).update(f"What it would keep and remove now: {error.message}")
        elif message.job == "policy":
            why = "without the passphrase" if isinstance(error, ASKS_FOR_SECRET) else f"({error.message})"
            self.problem(f"Saved in the settings only, {why}: scheduled maintenance keeps the retention "
                         "stored in the repository. Save again to store it.")
        else:
            text = f"{error.message} {error.hint or ''}".strip()
            self.query_one("#freq-state", Static).update(text)
            self.query_one("#freq-headline", Static).update("Schedule: not changed (why: in the line below).")
            self.problem(error.message)
        message.stop()
