"""Home: the last backup, the last verification, the repository and what needs attention."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Header, OptionList
from textual.widgets.option_list import Option

from engine.credentials import Sources
from engine.settings import Settings
from engine.status import Alert, LastBackup, State, alerts, gather_state
from engine.upcoming import LABELS, NextRun, time_words, upcoming

from ..messages import JobDone, JobFailed
from ..widgets import fmt
from ..widgets.panels import AlertList, InfoPanel
from .archives import dashboard_lines
from .common import JobScreen

ROOMY_HEIGHT = 34
COMPACT_JOBS = 3
"""More jobs than this are listed one line each in Next runs when the terminal is small."""
SHORT_LABELS = {"backup": "Backup", "intraday": "Office", "maintenance": "Maint.", "archive": "Arch.",
                "supplemental": "Suppl.", "offsite": "Offs."}
APP_HINTS = {
    "not_enrolled": "press u to unlock, or enroll it in Setup",
    "no_backup": "press b to back up now",
    "incomplete": "see Logs",
    "never_verified": "press v to verify the latest",
    "verify_overdue": "press v",
    "long_lock": "back up after hours, or choose per-table locking in Setup",
    "backup_overdue": "press b to back up now, and see Logs",
    "run_failed": "see Logs",
    "run_skipped": "see Logs",
    "run_incomplete": "see Logs",
    "runs_missed": "see Logs, and check that the machine was on and the schedule is installed",
    "archive_never_copied": "plug it in, then press a and c to copy now",
    "archive_next_drive": "put it in storage, and press a to add the next drive",
    "supplemental_off": "press p for Supplemental",
    "supplemental_no_path": "press p for Supplemental",
    "supplemental_stale": "see Logs, and press p for Supplemental",
    "supplemental_verify_due": "press p, then Verify (ctrl+v)",
    "supplemental_verify_failed": "press p, then Copy now and Verify",
}
"""What to do, where this screen has a key or a screen for it (other alerts keep the engine's hint)."""
ACTIONS = (
    ("backup", "Back up now", "b"), ("verify", "Verify", "v"), ("restore", "Restore", "r"),
    ("snapshots", "Snapshots", "s"), ("frequency", "Frequency", "f"), ("archives", "Archives", "a"),
    ("supplemental", "Supplemental", "p"), ("setup", "Setup", "e"),
    ("logs", "Logs", "l"), ("help", "Help", "?"),
)


class DashboardScreen(JobScreen):
    """The home screen; every action has a key (shown in the action list; the most used in the footer too)."""

    DEFAULT_CSS = """
    DashboardScreen #side { width: 22; height: 1fr; }
    DashboardScreen #next-runs { width: 22; padding: 0; }
    """

    BINDINGS = [
        Binding("b", "backup", "Back up"),
        Binding("v", "verify", "Verify"),
        Binding("r", "restore", "Restore"),
        Binding("s", "snapshots", "Snapshots"),
        Binding("e", "setup", "Setup", show=False),  # in the Actions list with its key; the footer
        Binding("f", "frequency", "Frequency"),      # must fit 80 columns
        Binding("l", "logs", "Logs", show=False),
        Binding("a", "archives", "Archives", show=False),
        Binding("p", "supplemental", "Supplemental", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("u", "unlock", "Unlock", show=False),
        Binding("g", "refresh", "Refresh", show=False),
        Binding("q", "app.quit", "Quit"),
    ]

    @dataclass
    class StatusLoaded(JobDone):
        """The repository's status was read."""

        status: State

    def __init__(self) -> None:
        super().__init__()
        self.status: State | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="home"):
            with Vertical(id="side"):
                yield OptionList(*[Option(f"{label:<12} {key}", id=name) for name, label, key in ACTIONS],
                                 id="actions")
                yield InfoPanel("Next runs", id="next-runs")
            with VerticalScroll(id="panels"):
                yield InfoPanel("Last backup", id="last-backup")
                yield InfoPanel("Last verification", id="last-verification")
                yield InfoPanel("Repository", id="repository")
                yield AlertList("Alerts", id="alerts")
                yield InfoPanel("Archive drives", id="archives")
                yield InfoPanel("Supplemental copy", id="supplemental-copy")
                yield InfoPanel("Offsite copy", id="offsite-copy")
                yield InfoPanel("Recent backups", id="recent")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Home"
        self.query_one("#archives").display = False  # shown once there are archive drives
        self.query_one("#supplemental-copy").display = False  # shown when supplemental copies are on
        self.query_one("#offsite-copy").display = False  # shown when offsite copies are on
        self.query_one("#actions", OptionList).border_title = "Actions"
        self.action_refresh()

    def on_resize(self) -> None:
        """The recent backups are shown when there is room for them (120x40 and the like)."""
        self.query_one("#recent").display = self.size.height >= ROOMY_HEIGHT
        if self.status is not None:
            self._show_next_runs(upcoming(self.settings, self.status.schedule, fmt.now()), fmt.now())

    def _show_next_runs(self, runs: list[NextRun], current: Any) -> None:
        """Two lines a job; one when more than three jobs must fit a small terminal (80x24)."""
        compact = len(runs) > COMPACT_JOBS and self.size.height < ROOMY_HEIGHT
        self.query_one("#next-runs", InfoPanel).show((compact_next_run_lines if compact else next_run_lines)(
            runs, current))

    def on_screen_resume(self) -> None:
        if self.status is not None:
            self.action_refresh()

    # --- loading ----------------------------------------------------------------------------------

    def action_refresh(self) -> None:
        settings = self.app.settings
        if settings is None:
            return
        self.query_one("#repository", InfoPanel).show([settings.repository, "Reading the repository..."])
        self.start_job("status", lambda: self.StatusLoaded(load_status(settings, self.app.secret)))

    def on_dashboard_screen_status_loaded(self, message: StatusLoaded) -> None:
        self.show_status(message.status)

    def show_status(self, status: State) -> None:
        """Fill the panels from ``status``."""
        self.status = status
        current = fmt.now()
        self.query_one("#last-backup", InfoPanel).show(last_backup_lines(status, current))
        self.query_one("#last-verification", InfoPanel).show(verification_lines(status, current))
        self.query_one("#repository", InfoPanel).show(repository_lines(status))
        settings = self.settings
        self.query_one("#alerts", AlertList).show_alerts(alert_line(a) for a in alerts(settings, status, current))
        self._show_next_runs(upcoming(settings, status.schedule, current), current)
        self.query_one("#recent", InfoPanel).show(recent_lines(status))
        archives = self.query_one("#archives", InfoPanel)
        archives.show(dashboard_lines(status.archive_book, current))
        archives.display = bool(archives.lines)
        supplemental = self.query_one("#supplemental-copy", InfoPanel)
        supplemental.show(supplemental_lines(settings, status, current))
        supplemental.display = bool(supplemental.lines)
        offsite = self.query_one("#offsite-copy", InfoPanel)
        offsite.show(offsite_lines(settings, status, current))
        offsite.display = bool(offsite.lines)

    # --- actions ------------------------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#actions")
    def _action_chosen(self, event: OptionList.OptionSelected) -> None:
        self.run_action_by_name(str(event.option.id))

    def run_action_by_name(self, name: str) -> None:
        getattr(self, f"action_{name}")()

    def action_backup(self) -> None:
        from .preflight import start_backup

        start_backup(self.app)

    def action_verify(self) -> None:
        from .verify import VerifyScreen

        self.app.push_screen(VerifyScreen())

    def action_restore(self) -> None:
        from .restore import RestoreScreen

        self.app.push_screen(RestoreScreen())

    def action_snapshots(self) -> None:
        from .snapshots import SnapshotsScreen

        self.app.push_screen(SnapshotsScreen())

    def action_setup(self) -> None:
        self.app.start_setup()

    def action_frequency(self) -> None:
        from .frequency import FrequencyScreen

        self.app.push_screen(FrequencyScreen())

    def action_archives(self) -> None:
        from .archives import ArchivesScreen

        self.app.push_screen(ArchivesScreen())

    def action_supplemental(self) -> None:
        from .supplemental import SupplementalScreen

        self.app.push_screen(SupplementalScreen())

    def action_logs(self) -> None:
        from .logs import LogsScreen

        self.app.push_screen(LogsScreen())

    def action_help(self) -> None:
        self.app.action_help()

    def action_unlock(self) -> None:
        self.ask_secret_then(self.action_refresh, lambda: None)

    def on_job_failed(self, message: JobFailed) -> None:
        self.status = None  # no automatic reload (g reloads): a lasting failure must not loop
        self.query_one("#repository", InfoPanel).show([self.repository_location(), message.error.message])


def load_status(settings: Settings, secret: str | None = None) -> State:
    """The state of the backups, the repository opened with this session's passphrase if any."""
    return gather_state(settings, Sources.here(session=secret))


def alert_line(alert: Alert) -> tuple[str, str]:
    """(level, text) of one alert, its hint naming this screen's key where there is one."""
    hint = APP_HINTS.get(alert.kind)
    return alert.level, (replace(alert, hint=hint) if hint else alert).text


def next_run_lines(runs: list[NextRun], current: Any) -> list[str | Text]:
    """Each scheduled job and when it runs next (``tonight at 9:00 pm``), marked when the operating
    system does not have it (the settings' time then)."""
    if not runs:
        return [Text("Nothing is scheduled.", style="yellow")]
    lines: list[str | Text] = []
    for run in runs:
        lines.append(Text(f"{LABELS.get(run.job, run.job).capitalize()}:", style="bold"))
        when = Text(time_words(run.at, current))
        if not run.installed:
            when.append(" (not installed)", style="yellow")
        lines.append(when)
    return lines


def compact_next_run_lines(runs: list[NextRun], current: Any) -> list[str | Text]:
    """Each job in one line (``Arch. Mon 11:00pm``), ``*`` marking one the operating system does not
    have, said once below."""
    lines: list[str | Text] = []
    for run in runs:
        local = run.at.astimezone(current.tzinfo)
        line = Text(f"{SHORT_LABELS.get(run.job, run.job[:6]):<6}", style="bold")
        line.append(f" {local:%a} {local.strftime('%I:%M%p').lstrip('0').lower()}")
        if not run.installed:
            line.append("*", style="yellow")
        lines.append(line)
    if not all(run.installed for run in runs):
        lines.append(Text("* not installed", style="yellow"))
    return lines


def supplemental_lines(settings: Settings, status: State, current: Any) -> list[str | Text]:
    """The supplemental copy in one line (when it is on): its last copy, and its latest run's result
    when that did not end well; its alerts say what to do."""
    if not settings.supplemental.enabled:
        return []
    supp = status.supplemental
    run = next((r for r in status.runs if r.job == "supplemental"), None)
    last = supp.last_copy if supp is not None and supp.last_copy else None
    if last is None and run is not None and run.result == "ok":
        last = run.finished  # (a folders-only setup gathers no supplemental state: its latest run says)
    line = Text(f"Copied {fmt.ago(last, current)}") if last else Text("Never copied", style="yellow")
    if supp is not None and supp.verified_at:
        line.append(f", verified {fmt.ago(supp.verified_at, current)}")
        if supp.verified_ok is False:
            line.append(" (FAILED)", style="bold red")
    if run is not None and run.result != "ok":
        line.append(f"; last run {run.result} {fmt.ago(run.started, current)}",
                    style="bold red" if run.result == "failed" else "yellow")
    elif run is not None:
        line.append("; last run ok", style="green")
    return [line]


def offsite_lines(settings: Settings, status: State, current: Any) -> list[str | Text]:
    """The offsite copy (when it is on): its last complete copy and its latest run's result, then
    the upload still to do (what the bucket lacks); its alerts say what to do."""
    from engine.errors import OdbackupError
    from engine.offsite.alerts import left_words

    off, state = settings.offsite, status.offsite
    if not off.enabled or state is None:
        return []
    line = Text(f"Copied {fmt.ago(state.last_copy, current)}") if state.last_copy else Text(
        "No complete copy yet", style="yellow")
    run = next((r for r in status.runs if r.job == "offsite"), None)
    if run is not None:
        style = {"ok": "green", "failed": "bold red"}.get(run.result, "yellow")
        line.append(f"; last run {run.result} {fmt.ago(run.finished, current)}", style=style)
    if state.problem:
        return [line, Text(f"Cannot read it: {state.problem}", style="yellow")]
    if state.main_problem:
        return [line, Text("Still to send: unknown (the main repository cannot be read)", style="yellow")]
    try:
        rate = off.rate()
    except OdbackupError:
        rate = None
    left = left_words(state, rate)
    return [line, Text(left[0].upper() + left[1:], style="green" if left.startswith("nothing") else "")]


def last_backup_lines(status: State, current: Any) -> list[str | Text]:
    last = status.last
    if last is None:
        return ["No backup yet." if not status.problem else "Unknown: the repository cannot be read."]
    state = Text("complete", style="green") if last.complete else Text("INCOMPLETE", style="bold yellow")
    lines: list[str | Text] = [
        Text.assemble(f"{fmt.ago(last.time, current)} ({fmt.local(last.time)}), ", state),
        f"{what_was_backed_up(last)}, {fmt.size(last.bytes)}, took {fmt.duration(last.duration)}",
    ]
    if status.last_success and status.last_success != last.time:
        lines.append(f"Last complete backup: {fmt.ago(status.last_success, current)}")
    return lines


def what_was_backed_up(last: LastBackup) -> str:
    """``18,204 files and 1 database``."""
    databases = f" and {fmt.count(last.databases, 'database')}" if last.databases else ""
    return f"{fmt.count(last.files, 'file')}{databases}"


def recent_lines(status: State) -> list[str | Text]:
    if not status.recent:
        return ["None yet."]
    lines: list[str | Text] = []
    for s in status.recent:
        verified = {None: Text("not verified", style="dim"), True: Text("verified PASSED", style="green"),
                    False: Text("verified FAILED", style="bold red")}[s.verified_ok]
        state = "complete  " if s.complete else "INCOMPLETE"
        lines.append(Text.assemble(f"{fmt.local(s.time)}  {s.snapshot_id[:8]}  {state}  "
                                   f"{fmt.count(s.files, 'file'):>12}  {fmt.size(s.bytes):>10}  ", verified))
    return lines


def verification_lines(status: State, current: Any) -> list[str | Text]:
    ver = status.verification
    if ver is None:
        return ["Never verified." if not status.problem else "Unknown."]
    verdict = Text("PASSED", style="bold green") if ver.ok else Text("FAILED", style="bold red")
    return [Text.assemble(verdict, f" {fmt.ago(ver.time, current)} ({fmt.local(ver.time)}), "
                                   f"snapshot {ver.snapshot_id[:8]}")]


def repository_lines(status: State) -> list[str | Text]:
    lines: list[str | Text] = [status.location]
    if status.problem:
        return lines + [Text(status.problem, style="yellow")]
    ratio = f", deduplication {status.dedup_ratio:.1f}x" if status.dedup_ratio else ""
    lines.append(f"{fmt.count(status.snapshots, 'snapshot')}, {fmt.size(status.stored_bytes)} stored{ratio}")
    dest = status.destination
    if dest is not None and dest.total_bytes:
        lines.append(f"{fmt.size(dest.free_bytes)} free of {fmt.size(dest.total_bytes)}")
    return lines
