"""The sample practice behind ``odbackup demo``.

:func:`create_demo` builds a realistic Open Dental practice on a MySQL/MariaDB
server: 31 core tables with Open Dental's column layouts (see
:mod:`engine.database.demo_schema`), all MyISAM and created under
``SQL_MODE=''``, filled with synthetic patients and two years of their
appointments, procedures, claims, payments, notes and audit log, plus a
matching A to Z images folder (``S/SmithJohn1234/SmithJohn1234_57.jpg``) whose
files are the ``document`` rows.

Everything derives from ``seed``: the same seed and scale give the same rows
(equal ``CHECKSUM TABLE``) and the same files. Scale 1 is a practice of 1,850
patients: ~50 MB of tables (~190,000 rows, 12 procedures a patient) and ~45 MB
of images in ~1,000 files. ``scale`` multiplies the patients and everything
that hangs off them: 20 gives about 1 GB of each.

It never overwrites anything: it refuses a database that already holds tables
and an images folder that is not empty, writes files only with exclusive
create, and on failure or cancel removes only what it created itself.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import queue
import random
import re
import shutil
import threading
import time
from dataclasses import dataclass, field

import pymysql

from engine.database.demo_schema import TABLES, Column, Table, create_table_sql
from engine.errors import Cancelled, OdbackupError, UsageError
from engine.events import Event, EventSink, ignore_events

DATABASE_VERSION = "21.1.9.0"  # the version whose layouts demo_schema describes
PATIENTS_PER_SCALE = 1850
FIRST_DAY = dt.date(2023, 7, 3)  # two years of history ...
TODAY = dt.date(2025, 6, 30)  # ... up to the practice's "today" ...
LAST_DAY = TODAY + dt.timedelta(days=90)  # ... and three months booked ahead
STAMP = dt.datetime(2025, 6, 30, 18, 5)  # what unset timestamp columns hold
_BATCH_BYTES = 1 << 18
_PROGRESS_SECONDS = 0.25

# --- the practice's reference data (names and texts written for this demo) ---

_LAST = (
    "Adams Allen Alvarez Baker Bennett Brooks Brown Campbell Carter Chen Clark Collins Cook Cooper "
    "Davis Diaz Edwards Evans Fischer Flores Foster Garcia Gomez Gray Green Hall Harris Hernandez "
    "Hill Hughes Ito Jackson James Jensen Johnson Jones Kelly Kim King Kowalski Lee Lewis Lopez "
    "Martin Martinez Miller Mitchell Moore Morgan Morris Muñoz Murphy Nelson Nguyen O'Brien "
    "Olsen Ortiz Parker Patel Perez Peterson Phillips Price Quinn Ramirez Reed Reyes Richardson "
    "Rivera Roberts Robinson Rodriguez Rogers Ross Sanchez Schmidt Scott Smith Stewart Sullivan "
    "Taylor Thomas Thompson Torres Tran Turner Vasquez Walker Ward Watson White Williams Wilson "
    "Wright Xiong Young Yoder Zimmerman"
).split()
_FIRST = (
    "James John Robert Michael William David Richard Joseph Thomas Daniel Matthew Anthony Mark "
    "Steven Andrew Joshua Kevin Brian Ryan Jacob Noah Liam Ethan Mason Lucas Logan José Wei Omar",
    "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Nancy Lisa Emily "
    "Ashley Michelle Amanda Olivia Emma Ava Sophia Mia Chloé Zoë Renée Priya Mei Fatima Grace Lily",
)
_STREETS = (
    "Oak Maple Cedar Pine Elm Willow Birch Chestnut Spruce Hawthorne Madison Liberty Mission "
    "Commercial Center Church Court Capitol Summer Winter River Orchard Lancaster Fairview"
).split()
_TOWNS = (
    ("Salem", "97301"), ("Salem", "97302"), ("Salem", "97304"), ("Keizer", "97303"),
    ("Silverton", "97381"), ("Woodburn", "97071"), ("Dallas", "97338"), ("Monmouth", "97361"),
    ("Independence", "97351"), ("Stayton", "97383"), ("Turner", "97392"), ("Aumsville", "97325"),
)
_DEFINITIONS = (  # (category number, category, items)
    (2, "ApptConfirmed", "Not Called|Unconfirmed|Confirmed|Left Message|Texted|Arrived|In Chair"),
    (4, "BillingTypes", "Standard Account|Insurance Only|Collections"),
    (10, "PaymentTypes", "Check|Cash|Credit Card|CareCredit"),
    (11, "ProcCodeCats", "Exams|Cleanings|Fillings|Endo|Perio|Crowns|Surgery|Prosth|Misc"),
    (13, "RecallUnschedStatus", "Scheduled|Left Message|Call Back|Will Call Us"),
    (16, "Diagnosis", "Caries|Fracture|Abscess|Wear"),
    (18, "ImageCats", "X-Rays|Photos|Forms|Insurance|Treatment Plans|Letters"),
    (20, "TxPriorities", "Priority 1|Priority 2|Priority 3"),
    (27, "CommLogTypes", "Appointment|Insurance|Financial|Recall|Misc"),
    (30, "Prognosis", "Good|Fair|Poor"),
    (35, "ProviderSpecialties", "General|Hygienist|Endodontics"),
)
# (ProcCode, AbbrDesc, description, category, ProcTime, TreatArea, fee, IsHygiene)
# TreatArea: 1 surface, 2 tooth, 3 mouth, 4 quadrant. One ProcTime letter = 5 minutes.
_CODES = (
    ("D0120", "PerEx", "periodic exam, established patient", "Exams", "/X/", 3, 58.0, 0),
    ("D0140", "LimEx", "limited exam, one problem", "Exams", "/XX/", 3, 76.0, 0),
    ("D0150", "CompEx", "comprehensive exam, new or established patient", "Exams", "/XXX/", 3, 98.0, 0),
    ("D0180", "PerioEx", "comprehensive periodontal exam", "Exams", "/XXX/", 3, 104.0, 0),
    ("D0210", "FMX", "full mouth series of x-rays", "Exams", "/XX/", 3, 142.0, 0),
    ("D0220", "PA", "periapical x-ray, first image", "Exams", "/", 2, 31.0, 0),
    ("D0272", "2BW", "bitewing x-rays, two images", "Exams", "/", 3, 48.0, 0),
    ("D0274", "4BW", "bitewing x-rays, four images", "Exams", "/", 3, 68.0, 0),
    ("D0330", "Pano", "panoramic x-ray", "Exams", "/X/", 3, 121.0, 0),
    ("D1110", "Pro", "cleaning, adult", "Cleanings", "/XXXXXX/", 3, 112.0, 1),
    ("D1120", "ProChild", "cleaning, child", "Cleanings", "/XXXX/", 3, 82.0, 1),
    ("D1206", "FlVarn", "fluoride varnish", "Cleanings", "/", 3, 42.0, 1),
    ("D1351", "Seal", "sealant, per tooth", "Cleanings", "/X/", 2, 54.0, 1),
    ("D4341", "SRP4+", "scaling and root planing, four or more teeth, per quadrant", "Perio", "/XXXXXX/", 4, 268.0, 1),
    ("D4910", "PerMnt", "periodontal maintenance", "Perio", "/XXXXXX/", 3, 156.0, 1),
    ("D2140", "Amal1", "amalgam filling, one surface", "Fillings", "/XXX/", 1, 138.0, 0),
    ("D2150", "Amal2", "amalgam filling, two surfaces", "Fillings", "/XXXX/", 1, 172.0, 0),
    ("D2330", "Comp1A", "composite filling, one surface, front tooth", "Fillings", "/XXX/", 1, 158.0, 0),
    ("D2331", "Comp2A", "composite filling, two surfaces, front tooth", "Fillings", "/XXXX/", 1, 194.0, 0),
    ("D2391", "Comp1P", "composite filling, one surface, back tooth", "Fillings", "/XXX/", 1, 178.0, 0),
    ("D2392", "Comp2P", "composite filling, two surfaces, back tooth", "Fillings", "/XXXX/", 1, 226.0, 0),
    ("D2393", "Comp3P", "composite filling, three surfaces, back tooth", "Fillings", "/XXXXX/", 1, 274.0, 0),
    ("D2740", "CrnCer", "crown, ceramic", "Crowns", "/XXXXXXXX/", 2, 1290.0, 0),
    ("D2750", "CrnPFM", "crown, porcelain fused to metal", "Crowns", "/XXXXXXXX/", 2, 1185.0, 0),
    ("D2950", "BU", "core buildup", "Crowns", "/XX/", 2, 289.0, 0),
    ("D3310", "RCTAnt", "root canal, front tooth", "Endo", "/XXXXXXXXX/", 2, 870.0, 0),
    ("D3330", "RCTMol", "root canal, molar", "Endo", "/XXXXXXXXXXXX/", 2, 1240.0, 0),
    ("D7140", "Ext", "extraction, erupted tooth", "Surgery", "/XXX/", 2, 198.0, 0),
    ("D7210", "SurgExt", "surgical extraction", "Surgery", "/XXXXX/", 2, 335.0, 0),
    ("D5110", "FUD", "complete denture, upper", "Prosth", "/XXXX/", 3, 1650.0, 0),
    ("D9110", "Palliat", "palliative treatment of dental pain", "Misc", "/XX/", 3, 98.0, 0),
    ("D9944", "NightGd", "night guard, full arch", "Misc", "/XX/", 3, 465.0, 0),
)
_FINDINGS = ("D2391", "D2392", "D2393", "D2330", "D2331", "D2140", "D2150", "D2740", "D2750",
             "D2950", "D3330", "D3310", "D7140", "D7210", "D9944", "D4341")
_FINDING_WEIGHTS = (14, 12, 6, 5, 3, 2, 2, 6, 3, 3, 2, 1, 2, 1, 2, 2)
_POSTERIOR = (2, 3, 4, 5, 12, 13, 14, 15, 18, 19, 20, 21, 28, 29, 30, 31)
_ANTERIOR = (6, 7, 8, 9, 10, 11, 22, 23, 24, 25, 26, 27)
_PROVIDERS = (  # (Abbr, LName, FName, Suffix, specialty, hygienist)
    ("DOC1", "Halvorsen", "Ingrid", "DDS", "General", 0),
    ("DOC2", "Okafor", "Samuel", "DMD", "General", 0),
    ("HYG1", "Lindqvist", "Tara", "RDH", "Hygienist", 1),
    ("HYG2", "Marsh", "Colin", "RDH", "Hygienist", 1),
    ("ENDO", "Brandt", "Leona", "DDS", "Endodontics", 0),
)
_OPERATORIES = (("Op 1", "OP1", 1, 0), ("Op 2", "OP2", 2, 0), ("Op 3", "OP3", 1, 0),
                ("Hyg 1", "HYG1", 1, 3), ("Hyg 2", "HYG2", 2, 4), ("Hyg 3", "HYG3", 1, 3))
_USERS = ("Admin", "ingrid", "samuel", "tara", "colin", "leona", "frontdesk", "billing")
_COMPUTERS = ("FRONT1", "FRONT2", "OP1", "OP2", "OP3", "HYG1", "HYG2", "HYG3", "OFFICE")
_CARRIERS = ("Delta Dental of Oregon", "MetLife Dental", "Cigna Dental", "Aetna Dental",
             "Guardian", "Principal Financial", "Ameritas", "United Concordia", "Humana Dental",
             "Moda Health", "Regence BlueCross", "Lincoln Financial")
_EMPLOYERS = ("State of Oregon", "Salem Health", "School District 24J", "Marion County",
              "Willamette University", "Garmin", "NORPAC Foods", "Kettle Foods", "Costco")
_MEDICAL = ("Allergic to penicillin.", "Takes blood thinner (warfarin).", "Latex allergy.",
            "Premedicate: joint replacement 2019.", "Type 2 diabetes.", "High blood pressure.")
_WORDS = (
    "patient tooth molar premolar crown bridge implant root canal bitewing panoramic occlusal "
    "mesial distal buccal lingual caries restoration composite extraction hygiene gingival probing "
    "depth insurance claim procedure fee estimate signature provider appointment recall allergy "
    "medication history consent referral radiograph the of and to in for with on at by is was "
    "not no yes left right upper lower sensitivity cold biting pain floss brush fluoride"
).split()
_COMMLOG_NOTES = (
    ("Appointment", 5, 1, "Texted reminder for appointment on {day}. Patient replied C to confirm."),
    ("Appointment", 3, 1, "Left voicemail reminding of appointment on {day}."),
    ("Appointment", 3, 2, "Patient called to reschedule, work conflict. Moved to a later date."),
    ("Insurance", 3, 1, "Called {carrier} to verify benefits. Annual max $1500, deductible $50 met."),
    ("Insurance", 3, 2, "{carrier} called about claim, requested x-rays. Sent by mail."),
    ("Financial", 4, 2, "Discussed balance of ${amount} with patient, will pay at next visit."),
    ("Financial", 2, 1, "Statement mailed, balance ${amount}."),
    ("Recall", 2, 1, "Recall postcard mailed."),
    ("Recall", 1, 1, "Recall reminder e-mailed to {email}."),
    ("Misc", 4, 0, "Patient dropped off signed HIPAA form and updated address."),
)
_PROC_NOTES = (
    "Pt presents for {what}. Med hx reviewed, no changes. {extra}",
    "{what} completed. Pt tolerated procedure well. {extra}",
    "Topical applied, {carps} carpules lidocaine 2% with epi 1:100k. {what}. {extra}",
    "Reviewed OHI with pt, recommended {aid}. {what}. {extra}",
)
_PROC_EXTRAS = (
    "Light calculus, moderate plaque.", "Bleeding on probing UL and LR.", "No complaints.",
    "Pt reports cold sensitivity #{tooth}.", "Next visit: recall 6 months.", "Rx: none.",
    "Discussed treatment plan and fees, pt will call.", "Shade A2.", "Margins checked, contacts good.",
)
# securitylog PermType values (Open Dental's Permissions enum)
_PERM = {"ApptCreate": 25, "ApptEdit": 27, "ProcComplete": 23, "PaymentCreate": 15,
         "ClaimSend": 104, "CommlogEdit": 43, "ImageEdit": 89, "PerioEdit": 45,
         "SheetEdit": 42, "TreatPlanEdit": 38, "ProcNote": 53, "LogOnOff": 83}


# --- events, result, errors ---------------------------------------------------


@dataclass(frozen=True)
class DemoProgress(Event):
    """Throttled progress of ``odbackup demo``.

    ``phase`` is ``database`` (``done``/``total`` patients written),
    ``indexes`` (tables whose keys are built) or ``images`` (bytes written).
    """

    phase: str
    done: int
    total: int


@dataclass(frozen=True)
class DemoResult:
    """What :func:`create_demo` made: ``bytes`` is the tables' data plus index length."""

    database: str
    tables: int
    rows: int
    bytes: int
    images_dir: str
    image_files: int
    image_bytes: int
    seconds: float


class DemoRefused(OdbackupError):
    """The sample practice was not created: its database or images folder is already in use."""

    title = "Refused"
    hint = "Choose a new database name and a new or empty images folder."


# --- SQL text -----------------------------------------------------------------

_ESCAPES = str.maketrans({"\\": "\\\\", "'": "\\'", "\0": "\\0", "\x1a": "\\Z"})
_ZERO_FILL = {"int": "0", "float": "0", "date": "'0001-01-01'",
              "datetime": "'0001-01-01 00:00:00'", "time": "'00:00:00'"}


def _sql(value: object) -> str:
    """A Python value as a MySQL literal (the session runs with ``SQL_MODE=''``)."""
    kind = type(value)
    if kind is int or kind is float:
        return repr(value)
    if kind is str:
        return "'" + value.translate(_ESCAPES) + "'"
    if value is None:
        return "NULL"
    if kind is bytes:
        return "X'" + value.hex() + "'" if value else "''"
    if kind is dt.date or kind is dt.datetime:
        return f"'{value}'"
    raise TypeError(f"no SQL literal for {value!r}")


def _filler(column: Column) -> str:
    """The literal a row gets for a column the generator leaves out."""
    if column.auto_increment:
        raise ValueError(f"the primary key {column.name} must be given")
    if column.kind == "timestamp":
        return _sql(STAMP)
    if column.default is not None:
        return column.default if column.kind in ("int", "float") else _sql(column.default)
    if not column.not_null:
        return "NULL"
    return _ZERO_FILL.get(column.kind, "''")


_QUOTED_KINDS = ("str", "date", "datetime", "time", "timestamp")


class _Sender:
    """Sends statements from a background thread, so the server stores one batch while
    Python generates the next. The connection is the sender's until :meth:`close`."""

    def __init__(self, cursor) -> None:
        self.cursor = cursor
        self.queue: queue.Queue[str | None] = queue.Queue(maxsize=3)
        self.error: BaseException | None = None
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="odbackup-demo-sender", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (statement := self.queue.get()) is not None:
            if self.error is None and not self.stopping:
                try:
                    self.cursor.execute(statement)
                except BaseException as exc:  # handed to the generating thread
                    self.error = exc

    def send(self, statement: str) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(statement)

    def close(self, *, abandon: bool = False) -> None:
        """Wait until everything is sent (or, with ``abandon``, skip what is left);
        raise what went wrong unless abandoning."""
        self.stopping = abandon
        self.queue.put(None)
        self.thread.join()
        if self.error is not None and not abandon:
            raise self.error


class _Writer:
    """One table's pending rows, sent as multi-row INSERTs of about 1 MB.

    A row names some columns; the others get their filler (:func:`_filler`). Each
    set of named columns gets a compiled row template: numbers and dates go in as
    formatted, strings are escaped, and rows holding None or bytes take the slow
    path through :func:`_sql`.
    """

    def __init__(self, send, database: str, table: Table) -> None:
        self.send = send
        self.table = table
        self.head = f"INSERT INTO `{database}`.`{table.name}` VALUES "
        self.templates: dict[tuple[str, ...], tuple[str, str, tuple[int, ...], bool]] = {}
        self.pending: list[str] = []
        self.size = 0
        self.rows = 0

    def _compile(self, names: tuple[str, ...]) -> tuple[str, str, tuple[int, ...], bool]:
        columns = {c.name: c for c in self.table.columns}
        unknown = set(names) - set(columns)
        if unknown:
            raise ValueError(f"{self.table.name} has no column {sorted(unknown)}")
        position = {name: i for i, name in enumerate(names)}
        fast, generic = [], []
        for column in self.table.columns:
            i = position.get(column.name)
            if i is None:
                text = _filler(column).replace("{", "{{").replace("}", "}}")
                fast.append(text)
                generic.append(text)
                continue
            kind = column.kind
            fast.append(f"'{{{i}}}'" if kind in _QUOTED_KINDS else (f"{{{i}!r}}" if kind == "float" else f"{{{i}}}"))
            generic.append(f"{{{i}}}")
        escape = tuple(position[c] for c in names if columns[c].kind == "str")
        binary = any(columns[c].kind == "bytes" for c in names)
        compiled = self.templates[names] = ("(" + ",".join(fast) + ")", "(" + ",".join(generic) + ")",
                                            escape, binary)
        return compiled

    def add(self, row: dict) -> None:
        """Queue one row (column name -> value)."""
        names = tuple(row)
        fast, generic, escape, binary = self.templates.get(names) or self._compile(names)
        values = list(row.values())
        if binary or None in values:
            text = generic.format(*map(_sql, values))
        else:
            for i in escape:
                values[i] = values[i].translate(_ESCAPES)
            text = fast.format(*values)
        self.pending.append(text)
        self.size += len(text)
        self.rows += 1
        if self.size >= _BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Send the queued rows."""
        if self.pending:
            self.send(self.head + ",".join(self.pending))
            self.pending, self.size = [], 0


# --- the practice ---------------------------------------------------------------


@dataclass
class _Patient:
    """One synthetic patient and what the generator remembers about them."""

    num: int
    lname: str
    fname: str
    gender: int
    birth: dt.date
    position: int
    status: int
    guarantor: int
    dentist: int
    hygienist: int
    plan: tuple | None = None  # (PlanNum, InsSubNum, relationship, is_ppo, carrier)
    perio: bool = False
    new: bool = False  # first came during the two years
    folder: str = ""
    balance: float = 0.0
    visits: list = field(default_factory=list)  # (day, AptNum, AptStatus, hygiene)
    planned: dt.date | None = None  # last day treatment was planned and left undone
    restorative: list = field(default_factory=list)  # days of completed treatment visits

    def age(self, day: dt.date) -> int:
        return (day - self.birth).days // 365

    @property
    def name(self) -> str:
        return f"{self.fname} {self.lname}"

    @property
    def done(self) -> list:
        """The days of completed visits."""
        return [v[0] for v in self.visits if v[2] == 2]


@dataclass(frozen=True)
class _Document:
    num: int
    path: str  # relative to the images folder: letter/folder/file
    kind: str  # xray, scan or text
    size: int
    title: str
    created: dt.datetime


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def _folder_name(pat: _Patient) -> str:
    """Open Dental's patient folder name: last and first name letters, then PatNum."""
    return "".join(ch for ch in pat.lname + pat.fname if ch.isalnum()) + str(pat.num)


def _log_hash(perm: int, user: int, when: dt.datetime, text: str, pat: int,
              previous: dt.datetime | None) -> str:
    """The ``securityloghash.LogHash`` Open Dental computes for a securitylog row:
    base64 SHA-256 of the UTF-16 text of type, user, time, text, patient (and previous time)."""
    data = f"{perm}{user}{when:%Y-%m-%d %H:%M:%S}{text}{pat}"
    if previous is not None:
        data += f"{previous:%Y-%m-%d %H:%M:%S}"
    return base64.b64encode(hashlib.sha256(data.encode("utf-16-le")).digest()).decode()


def _holiday(day: dt.date) -> bool:
    """New Year, Independence Day, Thanksgiving, Christmas."""
    return (day.month, day.day) in ((1, 1), (7, 4), (12, 25)) or (
        day.month == 11 and day.weekday() == 3 and 22 <= day.day <= 28)


def _workday(day: dt.date) -> dt.date:
    """``day`` or the next day the practice is open (Monday to Thursday, not holidays)."""
    while day.weekday() > 3 or _holiday(day):
        day += _days(1)
    return day


def _coverage(code: str) -> float:
    """Share of the allowed fee insurance pays: preventive, basic, major."""
    if code[:2] in ("D0", "D1"):
        return 1.0
    if code[:3] in ("D27", "D29") or code[:2] in ("D5", "D6", "D9"):
        return 0.5 if code != "D9944" else 0.0
    return 0.8


_XRAY_HEADER = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00"
_FOLDER_SHARE = 0.25  # patients with an images folder
_DOC_KINDS = (("xray", 0.125, 60_000, 400_000, ".jpg"), ("scan", 0.03, 100_000, 600_000, ".pdf"),
              ("text", 0.845, 1_000, 8_000, ".txt"))
_DOC_TITLES = {
    "xray": (("Bitewings", "X-Rays"), ("Periapical", "X-Rays"), ("Panoramic", "X-Rays"),
             ("Full mouth series", "X-Rays"), ("Intraoral photo", "Photos")),
    "scan": (("Insurance card", "Insurance"), ("Signed consent", "Forms"),
             ("Referral letter", "Letters"), ("Explanation of benefits", "Insurance")),
    "text": (("Post-op instructions", "Letters"), ("Treatment notes", "Treatment Plans"),
             ("Letter to patient", "Letters"), ("Medical history update", "Forms")),
}
_SHEET_INTRO = ("Please mark any condition you have now or had in the past, and list your medications "
                "and allergies. Your answers are confidential and help us treat you safely. Tell us "
                "at every visit if anything has changed.")
_SHEET_CONDITIONS = ("Diabetes", "Heart disease", "High blood pressure", "Asthma", "Hepatitis",
                     "Arthritis", "Joint replacement", "Pregnant", "Smoker", "Bleeding problems")


class _Practice:
    """Generates the rows, family by family, into one writer per table."""

    def __init__(self, send, database: str, scale: float, seed: int) -> None:
        self.rng = random.Random(seed)
        self.writers = {name: _Writer(send, database, t) for name, t in TABLES.items()}
        self.ids = dict.fromkeys(TABLES, 0)
        self.patients_total = max(5, round(PATIENTS_PER_SCALE * scale))
        self.scale = scale
        self.defs: dict[tuple[str, str], int] = {}
        self.codes: dict[str, tuple[int, tuple]] = {}
        self.plans: list[tuple[int, bool, str]] = []  # (PlanNum, is_ppo, carrier)
        self.documents: list[_Document] = []

    # -- plumbing

    def add(self, table: str, **row) -> None:
        self.writers[table].add(row)

    def new_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def flush(self) -> None:
        for writer in self.writers.values():
            writer.flush()

    @property
    def rows(self) -> int:
        return sum(w.rows for w in self.writers.values())

    @property
    def patients_done(self) -> int:
        return self.ids["patient"]

    def moment(self, day: dt.date, start: int = 8, stop: int = 17) -> dt.datetime:
        """A working-hours time on ``day``, in 10-minute steps."""
        minutes = self.rng.randrange(start * 6, stop * 6) * 10
        return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60))

    def user(self) -> int:
        return self.rng.randrange(1, len(_USERS) + 1)

    def signature(self) -> str:
        return self.rng.randbytes(self.rng.randrange(90, 300)).hex().upper()

    def sentence(self, words: int) -> str:
        return " ".join(self.rng.choices(_WORDS, k=words)).capitalize() + "."

    def log(self, perm: str, pat: int, when: dt.datetime, text: str, fkey: int = 0,
            previous: dt.datetime | None = None) -> None:
        """One audit trail row and its tamper-evidence hash."""
        user, perm_type = self.user(), _PERM[perm]
        num = self.new_id("securitylog")
        self.add("securitylog", SecurityLogNum=num, PermType=perm_type, UserNum=user,
                 LogDateTime=when, LogText=text, PatNum=pat, CompName=self.rng.choice(_COMPUTERS),
                 FKey=fkey, DateTPrevious=previous or dt.datetime(1, 1, 1))
        self.add("securityloghash", SecurityLogHashNum=self.new_id("securityloghash"),
                 SecurityLogNum=num, LogHash=_log_hash(perm_type, user, when, text, pat, previous))

    # -- the practice's setup

    def setup(self, doc_path: str) -> None:
        """Definitions, staff, procedure codes, insurance plans, preferences, schedules."""
        rng = self.rng
        for category, cat_name, items in _DEFINITIONS:
            for order, item in enumerate(items.split("|")):
                num = self.new_id("definition")
                self.defs[cat_name, item] = num
                value = {"X-Rays": "X", "Photos": "P"}.get(item, "") if category == 18 else ""
                self.add("definition", DefNum=num, Category=category, ItemOrder=order,
                         ItemName=item, ItemValue=value or (item[:6].upper() if category == 27 else ""),
                         ItemColor=-rng.randrange(1, 1 << 24) if category == 2 else 0)
        for num, (abbr, last, first, suffix, specialty, hyg) in enumerate(_PROVIDERS, 1):
            self.add("provider", ProvNum=num, Abbr=abbr, ItemOrder=num - 1, LName=last, FName=first,
                     Suffix=suffix, FeeSched=1, Specialty=self.defs["ProviderSpecialties", specialty],
                     SSN=f"9{rng.randrange(10**7, 10**8)}", StateLicense=f"OR{rng.randrange(10**4, 10**5)}",
                     DEANum="" if hyg else f"B{last[0]}{rng.randrange(10**6, 10**7)}", IsSecondary=hyg,
                     ProvColor=-rng.randrange(1, 1 << 24), NationalProvID=f"1{rng.randrange(10**8, 10**9)}",
                     Birthdate=dt.date(rng.randrange(1962, 1992), rng.randrange(1, 13), rng.randrange(1, 29)),
                     PreferredName="", SchedNote="", WebSchedDescript="")
        for num, (name, abbr, dentist, hygienist) in enumerate(_OPERATORIES, 1):
            self.add("operatory", OperatoryNum=num, OpName=name, Abbrev=abbr, ItemOrder=num - 1,
                     ProvDentist=dentist, ProvHygienist=hygienist, IsHygiene=int(hygienist > 0))
        for num, name in enumerate(_USERS, 1):
            salt = rng.randbytes(16)
            digest = hashlib.sha3_512(salt + name.encode()).digest()
            self.add("userod", UserNum=num, UserName=name, UserGroupNum=1 if num == 1 else 2,
                     Password="SHA3-512$" + base64.b64encode(salt).decode() + "$"
                     + base64.b64encode(digest).decode(), ProvNum=num - 1 if 1 < num <= 6 else 0,
                     DateTLastLogin=self.moment(TODAY))
        for proc_code, abbr, descript, category, pattern, area, _fee, hygiene in _CODES:
            num = self.new_id("procedurecode")
            self.codes[proc_code] = (num, (proc_code, abbr, descript, category, pattern, area, _fee, hygiene))
            self.add("procedurecode", CodeNum=num, ProcCode=proc_code, Descript=descript,
                     AbbrDesc=abbr, ProcTime=pattern, ProcCat=self.defs["ProcCodeCats", category],
                     TreatArea=area, IsHygiene=hygiene, DefaultNote="", LaymanTerm="",
                     DateTStamp=dt.datetime(2023, 1, 9, 7, 45))
        self.insurance()
        self.preferences(doc_path)
        self.schedules()
        for num in range(1, max(2, round(12 * self.scale)) + 1):
            self.add("files", DocNum=num, Data=rng.randbytes(rng.randrange(2_000, 40_000)),
                     Thumbnail=rng.randbytes(rng.randrange(500, 3_000)) if num % 3 else None)

    def insurance(self) -> None:
        rng = self.rng
        for num, name in enumerate(_CARRIERS, 1):
            city, state, zip_ = rng.choice((("Portland", "OR", "97208"), ("Seattle", "WA", "98101"),
                                            ("Lexington", "KY", "40512"), ("Atlanta", "GA", "30348")))
            self.add("carrier", CarrierNum=num, CarrierName=name, Address=f"PO Box {rng.randrange(1000, 99999)}",
                     City=city, State=state, Zip=zip_, Phone=f"(800)555-{rng.randrange(1000, 10000)}",
                     ElectID=f"{rng.randrange(10000, 99999)}", SecDateEntry=dt.date(2019, 4, 2),
                     SecDateTEdit=dt.datetime(2019, 4, 2, 10, 0), TIN="")
        for num in range(1, max(8, round(40 * self.scale)) + 1):
            carrier, ppo = rng.randrange(1, len(_CARRIERS) + 1), rng.random() < 0.6
            self.plans.append((num, ppo, _CARRIERS[carrier - 1]))
            self.add("insplan", PlanNum=num, GroupName=rng.choice(_EMPLOYERS),
                     GroupNum=str(rng.randrange(10**5, 10**6)), PlanNote="", FeeSched=0,
                     PlanType="p" if ppo else "", CarrierNum=carrier, MonthRenew=1,
                     SecDateEntry=dt.date(2020, 1, 2), SecDateTEdit=dt.datetime(2023, 1, 3, 9, 30))

    def preferences(self, doc_path: str) -> None:
        prefs = (
            ("DataBaseVersion", DATABASE_VERSION), ("ProgramVersion", DATABASE_VERSION),
            ("DocPath", doc_path), ("AtoZfolderUsed", "1"),
            ("PracticeTitle", "Willamette Valley Family Dental (sample)"),
            ("PracticeAddress", "1450 Commercial St SE"), ("PracticeCity", "Salem"),
            ("PracticeST", "OR"), ("PracticeZip", "97302"), ("PracticePhone", "5035550142"),
            ("PracticeDefaultProv", "1"),
            ("PracticeDefaultBillType", str(self.defs["BillingTypes", "Standard Account"])),
            ("RecallDaysPast", "1095"), ("RecallDaysFuture", "7"), ("MySqlVersion", "10.11"),
            ("DatabaseMode", "0"), ("CorruptedDatabase", "0"), ("RandomPrimaryKeys", "0"),
            ("UpdateInProgressOnComputerName", ""), ("DateLastAging", TODAY.isoformat()),
            ("TreatmentPlanNote", "This is an estimate only. Insurance may pay less than estimated."),
        )
        for num, (name, value) in enumerate(prefs, 1):
            self.add("preference", PrefName=name, ValueString=value, PrefNum=num, Comments="")

    def schedules(self) -> None:
        """Provider schedules for every open day, holidays, and staff log-ons."""
        rng, day = self.rng, FIRST_DAY
        while day <= LAST_DAY:
            if day.weekday() <= 3:
                holiday = _holiday(day)
                working = () if holiday else (1, 2, 3, 4) + ((5,) if day.weekday() == 1 else ())
                if holiday:
                    self.add("schedule", ScheduleNum=self.new_id("schedule"), SchedDate=day,
                             StartTime="00:00:00", StopTime="00:00:00", SchedType=0, ProvNum=0,
                             Note="Closed - holiday", DateTStamp=dt.datetime.combine(day, dt.time(7)))
                for prov in working:
                    self.add("schedule", ScheduleNum=self.new_id("schedule"), SchedDate=day,
                             StartTime="08:00:00", StopTime="17:00:00" if prov != 5 else "13:00:00",
                             SchedType=1, ProvNum=prov, Note="",
                             DateTStamp=dt.datetime.combine(day, dt.time(7)))
                if not holiday and day <= TODAY:
                    for user in rng.sample(range(1, len(_USERS) + 1), 3 if self.scale >= 0.5 else 1):
                        self.add_logon(user, self.moment(day, 7, 9), "on")
                        self.add_logon(user, self.moment(day, 16, 18), "off")
            day += _days(1)

    def add_logon(self, user: int, when: dt.datetime, how: str) -> None:
        num = self.new_id("securitylog")
        text = f"User: {_USERS[user - 1]} has logged {how}."
        self.add("securitylog", SecurityLogNum=num, PermType=_PERM["LogOnOff"], UserNum=user,
                 LogDateTime=when, LogText=text, PatNum=0, CompName=self.rng.choice(_COMPUTERS),
                 FKey=0, DateTPrevious=dt.datetime(1, 1, 1))
        self.add("securityloghash", SecurityLogHashNum=self.new_id("securityloghash"),
                 SecurityLogNum=num, LogHash=_log_hash(_PERM["LogOnOff"], user, when, text, 0, None))

    # -- families and patients

    def family(self) -> None:
        """A household: a guarantor, perhaps a spouse and children, their shared insurance."""
        rng = self.rng
        room = self.patients_total - self.patients_done
        size = min(room, rng.choices((1, 2, 3, 4, 5), (34, 26, 17, 16, 7))[0])
        status = rng.choices((0, 2, 3), (80, 16, 4))[0]
        lname = rng.choice(_LAST)
        town, zip_ = rng.choice(_TOWNS)
        home = {"Address": f"{rng.randrange(100, 9999)} {rng.choice(_STREETS)} "
                           f"{rng.choice(('St', 'Ave', 'Dr', 'Ln', 'Ct', 'Rd', 'Way'))} "
                           f"{rng.choice(('NE', 'SE', 'NW', 'S'))}",
                "City": town, "State": "OR", "Zip": zip_, "HmPhone": self.phone()}
        members = [self.person(lname, status, 1 if size > 1 else rng.choice((0, 3, 4)), 0)]
        members[0].guarantor = members[0].num
        for index in range(1, size):
            spouse = index == 1 and rng.random() < 0.75
            members.append(self.person(lname, status, 1 if spouse else 2, members[0].num))
        if rng.random() < 0.68 and self.plans:
            plan_num, ppo, carrier = rng.choice(self.plans)
            sub = self.new_id("inssub")
            self.add("inssub", InsSubNum=sub, PlanNum=plan_num, Subscriber=members[0].num,
                     DateEffective=dt.date(rng.randrange(2012, 2023), rng.randrange(1, 13), 1),
                     ReleaseInfo=1, AssignBen=1, SubscriberID=f"{rng.randrange(10**8, 10**9)}",
                     BenefitNotes="", SubscNote="", SecUserNumEntry=self.user(),
                     SecDateEntry=dt.date(2022, 11, 14), SecDateTEdit=dt.datetime(2022, 11, 14, 11, 5))
            for pat in members:
                relation = 0 if pat is members[0] else (1 if pat.position == 1 else 2)
                pat.plan = (plan_num, sub, relation, ppo, carrier)
                self.add("patplan", PatPlanNum=self.new_id("patplan"), PatNum=pat.num, Ordinal=1,
                         Relationship=relation, InsSubNum=sub, PatID="",
                         SecDateTEntry=dt.datetime(2022, 11, 14, 11, 6), SecDateTEdit=dt.datetime(2022, 11, 14, 11, 6))
        if len(members) > 1 and rng.random() < 0.1:
            members[0].status = 1  # a parent who is not a patient here
        for pat in members:
            self.history(pat)
        family_balance = round(sum(p.balance for p in members), 2)
        for pat in members:
            self.write_patient(pat, home, family_balance if pat is members[0] else 0.0)

    def phone(self) -> str:
        return f"(503)555-{self.rng.randrange(10000):04d}"

    def person(self, lname: str, status: int, position: int, guarantor: int) -> _Patient:
        rng = self.rng
        gender = rng.randrange(2)
        age = rng.randrange(2, 18) if position == 2 else min(95, int(rng.triangular(19, 90, 42)))
        birth = TODAY - _days(age * 365 + rng.randrange(365))
        return _Patient(num=self.new_id("patient"), lname=lname, fname=rng.choice(_FIRST[gender].split()),
                        gender=gender, birth=birth, position=position, status=status,
                        guarantor=guarantor, dentist=rng.choice((1, 1, 2)), hygienist=rng.choice((3, 4)),
                        perio=age > 35 and rng.random() < 0.12)

    def write_patient(self, pat: _Patient, home: dict, balance: float) -> None:
        rng = self.rng
        adult = pat.age(TODAY) >= 18
        done = pat.done
        since = max(2005, pat.birth.year + 2)
        if pat.new or since >= 2023:
            first = done[0] if done else FIRST_DAY
        else:
            first = dt.date(rng.randrange(since, 2023), rng.randrange(1, 13), rng.randrange(1, 29))
        deceased = pat.status in (2, 3) and pat.age(TODAY) > 70 and rng.random() < 0.15
        died = dt.datetime.combine(min(TODAY, (done[-1] if done else FIRST_DAY) + _days(rng.randrange(30, 300))),
                                   dt.time(0))
        email = ""
        if adult and rng.random() < 0.65:
            plain = "".join(ch for ch in (pat.fname + "." + pat.lname).lower() if ch.isascii() and ch != "'")
            email = f"{plain}{rng.randrange(1, 99)}@{rng.choice(('example.com', 'example.net', 'example.org'))}"
        medical = rng.choice(_MEDICAL) if rng.random() < 0.06 else ""
        self.add("patient", PatNum=pat.num, LName=pat.lname, FName=pat.fname,
                 MiddleI=chr(65 + rng.randrange(26)) if rng.random() < 0.4 else "",
                 Preferred="", PatStatus=5 if deceased else pat.status, Gender=pat.gender,
                 Position=pat.position, Birthdate=pat.birth, SSN=f"9{rng.randrange(10**7, 10**8)}" if adult else "",
                 **home, WkPhone="", WirelessPhone=self.phone() if adult else "", Guarantor=pat.guarantor,
                 Email=email, EstBalance=balance, PriProv=pat.dentist, SecProv=pat.hygienist,
                 BillingType=self.defs["BillingTypes", "Standard Account"], ImageFolder=pat.folder,
                 MedUrgNote=medical, Premed=int("Premedicate" in medical), Bal_0_30=balance,
                 BalTotal=balance, HasIns="I" if pat.plan else "", DateFirstVisit=first,
                 PreferConfirmMethod=rng.choice((0, 4, 5, 8)), PreferContactMethod=rng.choice((0, 2, 4, 8)),
                 PreferRecallMethod=rng.choice((0, 5, 7, 8)), TxtMsgOk=rng.choice((0, 1, 1, 2)),
                 SchoolName="", SmokingSnoMed="", Country="", SecUserNumEntry=self.user(),
                 SecDateEntry=first, DateTStamp=self.moment(done[-1] if done else first),
                 DateTimeDeceased=died if deceased else dt.datetime(1, 1, 1))

    # -- a patient's two years

    def history(self, pat: _Patient) -> None:
        """Visits, then the chart, images, forms, plans and notes that follow from them."""
        rng = self.rng
        if pat.status == 1:
            return
        new = pat.new = pat.status == 0 and rng.random() < 0.15
        day = FIRST_DAY + _days(rng.randrange(0, 600 if new else 190))
        last = LAST_DAY if pat.status == 0 else FIRST_DAY + _days(300)
        while (day := _workday(day)) <= last:
            self.hygiene_visit(pat, day, new)
            new = False
            day += _days(rng.randrange(165, 200))
        if pat.age(TODAY) > 25:
            self.existing(pat)
        self.recall(pat)
        done = pat.done
        if done:
            self.chart(pat, done)
        self.commlogs(pat)

    def hygiene_visit(self, pat: _Patient, day: dt.date, new: bool) -> None:
        rng = self.rng
        child = pat.age(day) < 14
        codes = ["D0150" if new else ("D0180" if pat.perio and rng.random() < 0.5 else "D0120"),
                 "D1120" if child else ("D4910" if pat.perio else "D1110")]
        if new or rng.random() < 0.5:
            codes.append("D0272" if child else "D0274")
        if new and not child and rng.random() < 0.6:
            codes.append("D0210" if rng.random() < 0.6 else "D0330")
        if child:
            codes.append("D1206")
        status = self.appointment(pat, day, [(c, "", "") for c in codes], True, new)
        if status != 2 or rng.random() > (0.12 if child else 0.3):
            return
        findings = self.findings(child)
        later = _workday(day + _days(rng.randrange(10, 50)))
        if rng.random() < 0.72 and later <= LAST_DAY:
            if self.appointment(pat, later, findings, False, False) == 2:
                pat.restorative.append(later)
        else:
            self.planned(pat, day, findings)

    def findings(self, child: bool) -> list[tuple[str, str, str]]:
        """What an exam found: (code, tooth, surfaces)."""
        rng, found = self.rng, []
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            code = rng.choice(("D2391", "D2392", "D1351")) if child else rng.choices(_FINDINGS, _FINDING_WEIGHTS)[0]
            area = self.codes[code][1][5]
            front = code in ("D2330", "D2331", "D3310")
            tooth = str(rng.choice(_ANTERIOR if front else _POSTERIOR)) if area in (1, 2) else ""
            surfaces = {"D2391": 1, "D2330": 1, "D2140": 1, "D2392": 2, "D2331": 2, "D2150": 2, "D2393": 3}
            surf = "".join(sorted(rng.sample("MIDFL" if front else "MODBL", surfaces.get(code, 0)), key="MODIBFL".index))
            found.append((code, tooth, rng.choice(("UR", "UL", "LR", "LL")) if area == 4 else surf))
        return found

    def appointment(self, pat: _Patient, day: dt.date, procs: list, hygiene: bool, new: bool) -> int:
        """One appointment with its procedures, notes, claim and payment; returns AptStatus."""
        rng = self.rng
        num = self.new_id("appointment")
        status = 1 if day > TODAY else (5 if rng.random() < 0.04 else 2)
        infos = [self.codes[code][1] for code, _, _ in procs]
        pattern = "".join(info[4] for info in infos)[:48]
        start = self.moment(day, 8, 16)
        made = self.moment(min(TODAY, max(FIRST_DAY - _days(60), day - _days(rng.randrange(3, 190)))))
        end = start + dt.timedelta(minutes=5 * len(pattern))
        descript = ", ".join(info[1] for info in infos)
        provider = pat.hygienist if hygiene else (5 if procs[0][0].startswith("D33") else pat.dentist)
        confirmed = rng.choice(("Confirmed", "Texted", "Left Message", "Unconfirmed"))
        never = dt.datetime(1, 1, 1)
        self.add("appointment", AptNum=num, PatNum=pat.num, AptStatus=status, Pattern=pattern,
                 Confirmed=self.defs["ApptConfirmed", "Arrived" if status == 2 else confirmed],
                 Op=rng.choice((4, 5, 6) if hygiene else (1, 2, 3)),
                 Note=rng.choice(("", "", "", "Prefers mornings.", "Needs premed.", "Bring insurance card.")),
                 ProvNum=pat.dentist, ProvHyg=pat.hygienist if hygiene else 0, AptDateTime=start,
                 IsNewPatient=int(new), ProcDescript=descript, IsHygiene=int(hygiene),
                 DateTStamp=end if status == 2 else made,
                 DateTimeArrived=start - dt.timedelta(minutes=rng.randrange(0, 15)) if status == 2 else never,
                 DateTimeSeated=start if status == 2 else never,
                 DateTimeDismissed=end if status == 2 else never,
                 InsPlan1=pat.plan[0] if pat.plan else 0, ProcsColored="",
                 SecUserNumEntry=self.user(), SecDateTEntry=made, ProvBarText="", PatternSecondary="")
        pat.visits.append((day, num, status, hygiene))
        self.log("ApptCreate", pat.num, made, f"{pat.name}, {start:%m/%d/%Y %I:%M %p}, {descript}", num)
        if status == 5:
            self.log("ApptEdit", pat.num, start, f"{pat.name}, appointment broken.", num, made)
            return status
        lines = [self.procedure(pat, num, day, status, made, code, tooth, surf, provider)
                 for code, tooth, surf in procs]
        if status != 2:
            return status
        fees = sum(line[2] for line in lines)
        self.log("ProcComplete", pat.num, end, f"{pat.name}, {descript}, fee ${fees:.2f}", num)
        portion = self.claim(pat, day, lines) if pat.plan else [(n, fee, p) for n, _, fee, p in lines]
        self.payment(pat, day, portion)
        return status

    def procedure(self, pat: _Patient, apt: int, day: dt.date, apt_status: int, made: dt.datetime,
                  code: str, tooth: str, surf: str, provider: int) -> tuple[int, str, float, int]:
        rng = self.rng
        code_num, info = self.codes[code]
        num = self.new_id("procedurelog")
        done = apt_status == 2
        self.add("procedurelog", ProcNum=num, PatNum=pat.num, AptNum=apt, ProcDate=day, ProcFee=info[6],
                 Surf=surf, ToothNum=tooth, ProcStatus=2 if done else 1, ProvNum=provider,
                 CodeNum=code_num, UnitQty=1, DateTP=made.date(), DateEntryC=day if done else dt.date(1, 1, 1),
                 DateComplete=day if done else dt.date(1, 1, 1), SecUserNumEntry=self.user(),
                 SecDateEntry=made.date(), DateTStamp=self.moment(day) if done else made,
                 BillingNote="", SnomedBodySite="", DiagnosticCode2="", DiagnosticCode3="",
                 DiagnosticCode4="", CanadianTypeCodes="", IcdVersion=10)
        if done and rng.random() < (0.45 if info[7] else 0.85):
            template = rng.choice(_PROC_NOTES)
            extra = rng.choice(_PROC_EXTRAS).format(tooth=tooth or rng.choice(_POSTERIOR))
            note = template.format(what=info[2].capitalize(), extra=extra, carps=rng.choice((1, 2, 3)),
                                   aid=rng.choice(("floss picks", "an electric toothbrush", "a water flosser")))
            signed = rng.random() < 0.4
            self.add("procnote", ProcNoteNum=self.new_id("procnote"), PatNum=pat.num, ProcNum=num,
                     EntryDateTime=self.moment(day, 12, 18), UserNum=self.user(), Note=note,
                     SigIsTopaz=int(signed and rng.random() < 0.3), Signature=self.signature() if signed else "")
        return num, code, info[6], provider

    def claim(self, pat: _Patient, day: dt.date, lines: list) -> list:
        """The insurance claim for a completed visit; returns what the patient still owes per procedure."""
        rng = self.rng
        plan_num, sub, relation, ppo, carrier = pat.plan
        num = self.new_id("claim")
        sent = day + _days(rng.randrange(0, 3))
        received = sent + _days(rng.randrange(9, 40))
        status = "W" if sent > TODAY else ("R" if received <= TODAY else "S")
        zero = dt.date(1, 1, 1)
        owed, totals = [], [0.0, 0.0, 0.0, 0.0]  # fee, estimate, paid, write-off
        for line_number, (proc, code, fee, provider) in enumerate(lines, 1):
            write_off = round(fee * 0.18, 2) if ppo else 0.0
            share = _coverage(code)
            estimate = round((fee - write_off) * share, 2)
            paid = (estimate if rng.random() < 0.93 else round(estimate * 0.8, 2)) if status == "R" else 0.0
            for i, value in enumerate((fee, estimate, paid, write_off)):
                totals[i] += value
            owed.append((proc, round(fee - write_off - (paid if status == "R" else estimate), 2), provider))
            self.add("claimproc", ClaimProcNum=self.new_id("claimproc"), ProcNum=proc, ClaimNum=num,
                     PatNum=pat.num, ProvNum=provider, FeeBilled=fee, InsPayEst=estimate,
                     Status=1 if status == "R" else 0, InsPayAmt=paid, PlanNum=plan_num,
                     DateCP=received if status == "R" else day, WriteOff=write_off, CodeSent=code,
                     AllowedOverride=-1.0, Percentage=int(share * 100), BaseEst=estimate, ProcDate=day,
                     DateEntry=day, LineNumber=line_number, DedEstOverride=-1.0, InsEstTotal=estimate,
                     InsEstTotalOverride=-1.0, PaidOtherInsOverride=-1.0, EstimateNote="",
                     WriteOffEst=write_off, WriteOffEstOverride=-1.0, InsSubNum=sub,
                     SecUserNumEntry=self.user(), SecDateEntry=day, SecDateTEdit=self.moment(min(received, TODAY)),
                     DateInsFinalized=received if status == "R" else zero)
        fee, estimate, paid, write_off = (round(t, 2) for t in totals)
        self.add("claim", ClaimNum=num, PatNum=pat.num, DateService=day,
                 DateSent=sent if status != "W" else zero, ClaimStatus=status,
                 DateReceived=received if status == "R" else zero, PlanNum=plan_num,
                 ProvTreat=lines[0][3], ClaimFee=fee, InsPayEst=estimate, InsPayAmt=paid,
                 ClaimType="P", ProvBill=pat.dentist, PatRelat=relation, WriteOff=write_off,
                 InsSubNum=sub, SecUserNumEntry=self.user(), SecDateEntry=day,
                 SecDateTEdit=self.moment(min(received, TODAY)), DateSentOrig=sent if status != "W" else zero,
                 ClaimIdentifier=f"{pat.num}/{num}", CanadianMaterialsForwarded="",
                 CanadianReferralProviderNum="", CanadianIsInitialLower="", CanadianIsInitialUpper="",
                 CanadaTransRefNum="", PriorAuthorizationNumber="", UniformBillType="",
                 AdmissionTypeCode="", AdmissionSourceCode="", PatientStatusCode="", OrigRefNum="")
        if status != "W":
            self.log("ClaimSend", pat.num, self.moment(sent), f"{pat.name}, claim to {carrier}, ${fee:.2f}", num)
        return owed

    def payment(self, pat: _Patient, day: dt.date, owed: list) -> None:
        rng = self.rng
        owed = [(proc, amount, prov) for proc, amount, prov in owed if amount > 0]
        total = round(sum(amount for _, amount, _ in owed), 2)
        if not owed:
            return
        if rng.random() < 0.12:
            pat.balance += total
            return
        paid = day if rng.random() < 0.7 else min(TODAY, day + _days(rng.randrange(5, 40)))
        kind = rng.choices(("Check", "Cash", "Credit Card", "CareCredit"), (20, 10, 65, 5))[0]
        num = self.new_id("payment")
        when = self.moment(paid)
        self.add("payment", PayNum=num, PayType=self.defs["PaymentTypes", kind], PayDate=paid, PayAmt=total,
                 CheckNum=str(rng.randrange(1000, 9999)) if kind == "Check" else "",
                 PayNote=rng.choice(("", "", "Paid at checkout.")), IsSplit=int(len(owed) > 1),
                 PatNum=pat.guarantor, DateEntry=paid, Receipt="", SecUserNumEntry=self.user(),
                 SecDateTEdit=when, ExternalId="")
        for proc, amount, prov in owed:
            self.add("paysplit", SplitNum=self.new_id("paysplit"), SplitAmt=amount, PatNum=pat.num,
                     ProcDate=paid, PayNum=num, ProvNum=prov, DatePay=paid, ProcNum=proc, DateEntry=paid,
                     SecUserNumEntry=self.user(), SecDateTEdit=when)
        self.log("PaymentCreate", pat.num, when, f"{pat.name}, ${total:.2f}, {kind}", num)

    def planned(self, pat: _Patient, day: dt.date, findings: list) -> None:
        """Treatment found but not (yet) done: treatment-planned procedures and their estimates."""
        rng = self.rng
        for code, tooth, surf in findings:
            code_num, info = self.codes[code]
            num = self.new_id("procedurelog")
            self.add("procedurelog", ProcNum=num, PatNum=pat.num, AptNum=0, ProcDate=day, ProcFee=info[6],
                     Surf=surf, ToothNum=tooth, ProcStatus=1, ProvNum=pat.dentist, CodeNum=code_num,
                     UnitQty=1, DateTP=day, DateEntryC=dt.date(1, 1, 1), DateComplete=dt.date(1, 1, 1),
                     SecUserNumEntry=self.user(), SecDateEntry=day, DateTStamp=self.moment(day),
                     BillingNote="", SnomedBodySite="", DiagnosticCode2="", DiagnosticCode3="",
                     DiagnosticCode4="", CanadianTypeCodes="", IcdVersion=10,
                     Priority=self.defs["TxPriorities", rng.choice(("Priority 1", "Priority 2", "Priority 3"))])
            if pat.plan:
                write_off = round(info[6] * 0.18, 2) if pat.plan[3] else 0.0
                estimate = round((info[6] - write_off) * _coverage(code), 2)
                self.add("claimproc", ClaimProcNum=self.new_id("claimproc"), ProcNum=num, ClaimNum=0,
                         PatNum=pat.num, ProvNum=pat.dentist, FeeBilled=0.0, InsPayEst=estimate, Status=6,
                         InsPayAmt=0.0, PlanNum=pat.plan[0], DateCP=day, WriteOff=0.0, CodeSent=code,
                         AllowedOverride=-1.0, Percentage=int(_coverage(code) * 100), BaseEst=estimate,
                         ProcDate=day, DateEntry=day, LineNumber=0, DedEstOverride=-1.0,
                         InsEstTotal=estimate, InsEstTotalOverride=-1.0, PaidOtherInsOverride=-1.0,
                         EstimateNote="", WriteOffEst=write_off, WriteOffEstOverride=-1.0,
                         InsSubNum=pat.plan[1], SecUserNumEntry=self.user(), SecDateEntry=day,
                         SecDateTEdit=self.moment(day), DateInsFinalized=dt.date(1, 1, 1))
        pat.planned = day

    def existing(self, pat: _Patient) -> None:
        """Work done elsewhere before: existing-other procedures, some from an old import with
        DateTP '0000-00-00'."""
        rng = self.rng
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            code = rng.choice(("D2750", "D2740", "D2150", "D2392", "D3330"))
            code_num, info = self.codes[code]
            tooth = str(rng.choice(_POSTERIOR))
            self.add("procedurelog", ProcNum=self.new_id("procedurelog"), PatNum=pat.num, AptNum=0,
                     ProcDate=FIRST_DAY, ProcFee=0.0, Surf="MO" if code in ("D2150", "D2392") else "",
                     ToothNum=tooth, ProcStatus=4, ProvNum=0, CodeNum=code_num, UnitQty=1, DateTP="0000-00-00",
                     DateEntryC=dt.date(1, 1, 1), DateComplete=dt.date(1, 1, 1), SecUserNumEntry=0,
                     SecDateEntry=FIRST_DAY, DateTStamp=dt.datetime.combine(FIRST_DAY, dt.time(6)),
                     BillingNote="", SnomedBodySite="", DiagnosticCode2="", DiagnosticCode3="",
                     DiagnosticCode4="", CanadianTypeCodes="", IcdVersion=0, Priority=0)

    def recall(self, pat: _Patient) -> None:
        hygiene = [v for v in pat.visits if v[3]]
        done = [v[0] for v in hygiene if v[2] == 2]
        booked = [v[0] for v in hygiene if v[2] == 1]
        previous = done[-1] if done else dt.date(1, 1, 1)
        due = previous + _days(182) if done else FIRST_DAY
        status = ("Scheduled" if booked else
                  self.rng.choice(("Left Message", "Call Back", "Will Call Us", "")) if due < TODAY else "")
        self.add("recall", RecallNum=self.new_id("recall"), PatNum=pat.num, DateDueCalc=due, DateDue=due,
                 DatePrevious=previous, RecallInterval=6 << 16, Note="",  # Interval packs months in bits 16-23
                 RecallStatus=self.defs["RecallUnschedStatus", status] if status else 0,
                 DateTStamp=self.moment(min(TODAY, due)), RecallTypeNum=1,
                 DateScheduled=booked[0] if booked else dt.date(1, 1, 1), TimePatternOverride="")

    def chart(self, pat: _Patient, done: list) -> None:
        """Missing teeth, perio charts, forms, images and treatment plans."""
        rng = self.rng
        if pat.age(TODAY) >= 18:
            missing = [t for t in (1, 16, 17, 32) if rng.random() < 0.5]
            missing += [t for t in (3, 14, 19, 30) if rng.random() < 0.06]
            for tooth in missing:
                when = self.moment(done[0])
                self.add("toothinitial", ToothInitialNum=self.new_id("toothinitial"), PatNum=pat.num,
                         ToothNum=str(tooth), InitialType=0, SecDateTEntry=when, SecDateTEdit=when, DrawText="")
        if pat.perio or (pat.age(TODAY) > 30 and rng.random() < 0.04):
            for day in rng.sample(done, min(len(done), rng.choice((1, 2)))):
                self.perio_exam(pat, day)
        if rng.random() < 0.7:
            self.medical_history(pat, done[0])
        if rng.random() < _FOLDER_SHARE:
            self.images(pat, done)
        if pat.planned:
            self.treatment_plan(pat, pat.planned, 1)
        for day in pat.restorative:
            if rng.random() < 0.5:
                self.treatment_plan(pat, day - _days(rng.randrange(7, 40)), 0)

    def perio_exam(self, pat: _Patient, day: dt.date) -> None:
        rng = self.rng
        exam, when = self.new_id("perioexam"), self.moment(day)
        self.add("perioexam", PerioExamNum=exam, PatNum=pat.num, ExamDate=day, ProvNum=pat.hygienist,
                 DateTMeasureEdit=when, Note="")
        base = rng.choice((2, 3, 3, 4))
        for tooth in range(2, 32):
            if tooth in (16, 17):
                continue
            depths = [max(1, base + rng.choice((-1, 0, 0, 0, 1, 1, 2))) for _ in range(6)]
            rows = ((4, -1, depths), (6, -1, [int(d >= 4 and rng.random() < 0.6) for d in depths]),
                    (2, -1, [rng.choice((0, 0, 1, 2)) for _ in depths]), (0, int(rng.random() < 0.05), [-1] * 6))
            for sequence, value, sites in rows:
                self.add("periomeasure", PerioMeasureNum=self.new_id("periomeasure"), PerioExamNum=exam,
                         SequenceType=sequence, IntTooth=tooth, ToothValue=value, MBvalue=sites[0],
                         Bvalue=sites[1], DBvalue=sites[2], MLvalue=sites[3], Lvalue=sites[4],
                         DLvalue=sites[5], SecDateTEntry=when, SecDateTEdit=when)
        self.log("PerioEdit", pat.num, when, f"{pat.name}, perio chart {day:%m/%d/%Y}", exam)

    def medical_history(self, pat: _Patient, day: dt.date) -> None:
        rng = self.rng
        sheet, when = self.new_id("sheet"), self.moment(day, 7, 10)
        self.add("sheet", SheetNum=sheet, SheetType=11, PatNum=pat.num, DateTimeSheet=when, FontSize=11.0,
                 FontName="Microsoft Sans Serif", Width=850, Height=1100, InternalNote="",
                 Description="Medical History", DateTSheetEdited=when)
        fields = [(2, "", "Medical History", 300, 30, 250, 24), (1, "FName", pat.fname, 60, 80, 200, 20),
                  (1, "LName", pat.lname, 300, 80, 200, 20), (1, "Birthdate", f"{pat.birth:%m/%d/%Y}", 560, 80, 100, 20),
                  (2, "", _SHEET_INTRO, 40, 120, 760, 80)]
        for index, condition in enumerate(_SHEET_CONDITIONS):
            fields.append((8, f"problem:{condition}", "X" if rng.random() < 0.12 else "",
                           60 + 380 * (index % 2), 220 + 24 * (index // 2), 14, 14))
        fields += [(1, "inputMed1", rng.choice(("", "", "Lisinopril 10mg", "Metformin 500mg", "Atorvastatin")), 60, 500, 400, 20),
                   (1, "Allergies", rng.choice(("None", "None", "Penicillin", "Codeine", "Latex")), 60, 530, 400, 20),
                   (9, "", self.signature(), 60, 900, 364, 81)]
        for order, (kind, name, value, x, y, width, height) in enumerate(fields):
            self.add("sheetfield", SheetFieldNum=self.new_id("sheetfield"), SheetNum=sheet, FieldType=kind,
                     FieldName=name, FieldValue=value, FontSize=11.0 if kind != 2 else 12.0,
                     FontName="Microsoft Sans Serif", FontIsBold=int(kind == 2 and order == 0), XPos=x, YPos=y,
                     Width=width, Height=height, RadioButtonValue="", RadioButtonGroup="", TabOrder=order,
                     ReportableName="", DateTimeSig=when if kind == 9 else dt.datetime(1, 1, 1),
                     UiLabelMobile="", UiLabelMobileRadioButton="")
        self.log("SheetEdit", pat.num, when, f"{pat.name}, Medical History imported", sheet)

    def images(self, pat: _Patient, done: list) -> None:
        """The patient's A to Z folder and the documents in it."""
        rng = self.rng
        pat.folder = _folder_name(pat)
        for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
            kind, _, low, high, ext = rng.choices(_DOC_KINDS, [k[1] for k in _DOC_KINDS])[0]
            title, category = rng.choice(_DOC_TITLES[kind])
            when = self.moment(rng.choice(done))
            num = self.new_id("document")
            name = f"{pat.folder}_{num}{ext}"
            self.add("document", DocNum=num, Description=title, DateCreated=when,
                     DocCategory=self.defs["ImageCats", category], PatNum=pat.num, FileName=name,
                     ImgType={"xray": 1, "scan": 3, "text": 0}[kind], DegreesRotated=0,
                     ToothNumbers=str(rng.choice(_POSTERIOR)) if title == "Periapical" else "",
                     Note="", DateTStamp=when, RawBase64="", Thumbnail="", ExternalGUID="",
                     ExternalSource="", ProvNum=pat.dentist)
            self.documents.append(_Document(num, f"{pat.folder[0].upper()}/{pat.folder}/{name}", kind,
                                            rng.randrange(low, high + 1), f"{title}, {pat.name}", when))
            self.log("ImageEdit", pat.num, when, f"Document Created: {name}, category {category}", num)

    def treatment_plan(self, pat: _Patient, day: dt.date, status: int) -> None:
        """An active plan (status 1) or a saved, signed one (status 0)."""
        rng = self.rng
        num, when = self.new_id("treatplan"), self.moment(day)
        signed = status == 0
        self.add("treatplan", TreatPlanNum=num, PatNum=pat.num, DateTP=day,
                 Heading="Active Treatment Plan" if status else "Treatment Plan",
                 Note="" if status else self.sentence(rng.randrange(8, 30)),
                 Signature=self.signature() if signed else "", TPStatus=status,
                 ResponsParty=0, SecUserNumEntry=self.user(), SecDateEntry=day, SecDateTEdit=when,
                 SignaturePractice="", DateTSigned=when if signed else dt.datetime(1, 1, 1),
                 SignatureText=pat.name if signed else "", SignaturePracticeText="")
        self.log("TreatPlanEdit", pat.num, when, f"{pat.name}, treatment plan {day:%m/%d/%Y}", num)

    def commlogs(self, pat: _Patient) -> None:
        """Reminders, insurance calls, money talk and recall notices."""
        rng = self.rng
        notes = [(day, "Appointment") for day, _, _, _ in pat.visits if rng.random() < 0.45]
        if pat.plan and rng.random() < 0.15:
            notes.append((FIRST_DAY + _days(rng.randrange(700)), "Insurance"))
        if pat.balance > 0 and rng.random() < 0.6:
            notes.append((TODAY - _days(rng.randrange(60)), "Financial"))
        if pat.status != 0 or rng.random() < 0.1:
            notes += [(FIRST_DAY + _days(rng.randrange(700)), "Recall") for _ in range(rng.randrange(1, 4))]
        if rng.random() < 0.05:
            notes.append((FIRST_DAY + _days(rng.randrange(700)), "Misc"))
        for day, kind in notes:
            _, mode, direction, text = rng.choice([n for n in _COMMLOG_NOTES if n[0] == kind])
            note = text.format(day=f"{day:%m/%d/%Y}", carrier=pat.plan[4] if pat.plan else "",
                               amount=f"{max(pat.balance, 25.0):.2f}", email=pat.fname.lower() + "@example.com")
            if kind == "Appointment":
                day -= _days(rng.randrange(1, 4))
            when = self.moment(min(day, TODAY))
            legacy = rng.random() < 0.003  # rows from an old import keep a zero date
            num = self.new_id("commlog")
            self.add("commlog", CommlogNum=num, PatNum=pat.num, CommType=self.defs["CommLogTypes", kind],
                     CommDateTime="0000-00-00 00:00:00" if legacy else when, Note=note, Mode_=mode,
                     SentOrReceived=direction, UserNum=self.user(), Signature="", DateTStamp=when)


# --- the images folder --------------------------------------------------------


def _document_bytes(doc: _Document, seed: int, pages: list[bytes]) -> bytes:
    """A document file's content: random "x-ray" bytes, a compressible "scan" or a letter."""
    rng = random.Random(f"{seed}/{doc.num}")
    if doc.kind == "xray":
        return _XRAY_HEADER + rng.randbytes(doc.size - len(_XRAY_HEADER) - 2) + b"\xff\xd9"
    if doc.kind == "scan":
        body = bytearray(b"%PDF-1.4\n% " + doc.title.encode() + b"\n")
        while len(body) < doc.size:
            body += rng.choice(pages)
        return bytes(body[: doc.size - 6]) + b"\n%%EOF"
    head = f"{doc.title}\nDate: {doc.created:%m/%d/%Y}\n\n".encode()
    words = " ".join(rng.choices(_WORDS, k=doc.size // 5)).encode()
    return (head + words)[: doc.size]


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _make_images_dir(images_dir: str) -> list[str]:
    """Create the images folder and its 26 letter folders (as Open Dental does); return
    what to remove to undo that: the topmost folder created, or the letter folders."""
    path = os.path.abspath(images_dir)
    top = path
    while not os.path.exists(os.path.dirname(top)):
        top = os.path.dirname(top)
    created = not os.path.exists(path)
    os.makedirs(path, exist_ok=True)
    letters = [os.path.join(path, letter) for letter in _LETTERS]
    for letter in letters:
        os.mkdir(letter)
    return [top] if created else letters


def _write_images(images_dir: str, documents: list[_Document], seed: int, progress) -> int:
    """Write every document file (never over an existing one); returns the bytes written."""
    rng = random.Random(f"{seed}/pages")
    pages = [(" ".join(rng.choices(_WORDS, k=600)) + "\n").encode() for _ in range(6)]
    total, written = sum(d.size for d in documents), 0
    for doc in documents:
        path = os.path.join(images_dir, *doc.path.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "xb") as out:
            out.write(_document_bytes(doc, seed, pages))
        stamp = doc.created.replace(tzinfo=dt.UTC).timestamp()
        os.utime(path, (stamp, stamp))
        written += doc.size
        progress(written, total)
    return written


# --- the entry point ----------------------------------------------------------


class _Progress:
    """Sends ``DemoProgress`` at most a few times a second (always the last of a phase)."""

    def __init__(self, sink: EventSink, phase: str, cancel: threading.Event | None) -> None:
        self.sink, self.phase, self.cancel, self.last = sink, phase, cancel, 0.0

    def __call__(self, done: int, total: int) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("The sample practice was cancelled; what it had created was removed.")
        now = time.monotonic()
        if done >= total or now - self.last >= _PROGRESS_SECONDS:
            self.last = now
            self.sink(DemoProgress(self.phase, done, total))


def _refuse_if_used(cursor, database: str, images_dir: str | None) -> bool:
    """Raise ``DemoRefused`` unless both places are new or empty; True if the database exists."""
    cursor.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s", (database,))
    if cursor.fetchone()[0]:
        raise DemoRefused(f"The database '{database}' already exists and holds tables. "
                          "The sample practice never writes over an existing database.")
    if images_dir and os.path.lexists(images_dir):
        if not os.path.isdir(images_dir) or any(os.scandir(images_dir)):
            raise DemoRefused(f"The folder {images_dir} is not empty. "
                              "The sample practice never writes into a folder that holds files.")
    cursor.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=%s", (database,))
    return bool(cursor.fetchone()[0])


def _undo(cursor, database: str, created_db: bool, tables: list[str], removals: list[str]) -> None:
    """Remove what this run created (best effort; the original error is what matters)."""
    try:
        if created_db:
            cursor.execute(f"DROP DATABASE `{database}`")
        for name in tables if not created_db else ():
            cursor.execute(f"DROP TABLE `{database}`.`{name}`")
    except pymysql.Error:
        pass
    for path in removals:
        shutil.rmtree(path, ignore_errors=True)


def create_demo(conn: pymysql.connections.Connection, database: str, images_dir: str | None, *,
                scale: float = 1.0, seed: int = 1, on_event: EventSink = ignore_events,
                cancel: threading.Event | None = None) -> DemoResult:
    """Create the sample practice: database ``database`` on ``conn``'s server and, unless
    ``images_dir`` is None, its A to Z images folder there.

    Refuses (``DemoRefused``) if the database holds tables or the folder holds anything;
    raises ``Cancelled`` when ``cancel`` is set. On any failure it removes what it created.
    """
    started = time.monotonic()
    if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", database):
        raise UsageError("A database name may use only letters, digits and underscores.")
    if not scale > 0:
        raise UsageError("The scale must be more than 0.")
    cursor = conn.cursor()
    db_existed = _refuse_if_used(cursor, database, images_dir)
    cursor.execute("SELECT @@SESSION.sql_mode")
    old_mode = cursor.fetchone()[0]
    created_db, tables, removals = False, [], []
    try:
        cursor.execute("SET SESSION sql_mode=''")
        if not db_existed:
            cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8")
            created_db = True
        for table in TABLES.values():
            cursor.execute(create_table_sql(table, database))
            tables.append(table.name)
            cursor.execute(f"ALTER TABLE `{database}`.`{table.name}` DISABLE KEYS")
        if images_dir:
            removals = _make_images_dir(images_dir)
        doc_path = os.path.join(os.path.abspath(images_dir), "") if images_dir else ""
        sender = _Sender(cursor)
        try:
            practice = _Practice(sender.send, database, scale, seed)
            practice.setup(doc_path)
            progress = _Progress(on_event, "database", cancel)
            while practice.patients_done < practice.patients_total:
                practice.family()
                progress(practice.patients_done, practice.patients_total)
            practice.flush()
        except BaseException:
            sender.close(abandon=True)
            raise
        sender.close()
        progress = _Progress(on_event, "indexes", cancel)
        for done, name in enumerate(tables, 1):
            cursor.execute(f"ALTER TABLE `{database}`.`{name}` ENABLE KEYS")
            progress(done, len(tables))
        image_bytes = 0
        if images_dir:
            image_bytes = _write_images(images_dir, practice.documents, seed,
                                        _Progress(on_event, "images", cancel))
        cursor.execute("SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES"
                       " WHERE TABLE_SCHEMA=%s", (database,))
        size = int(cursor.fetchone()[0])
    except BaseException:
        _undo(cursor, database, created_db, tables, removals)
        raise
    finally:
        try:
            cursor.execute("SET SESSION sql_mode=%s", (old_mode,))
            cursor.close()
        except pymysql.Error:
            pass
    return DemoResult(database=database, tables=len(tables), rows=practice.rows, bytes=size,
                      images_dir=os.path.abspath(images_dir) if images_dir else "",
                      image_files=len(practice.documents) if images_dir else 0,
                      image_bytes=image_bytes, seconds=round(time.monotonic() - started, 2))
