"""The sample practice behind ``odbackup demo``.

:func:`create_demo` builds a realistic Open Dental practice on a MySQL/MariaDB
server: 31 core tables with Open Dental's column layouts (see
:mod:`engine.database.demo_schema`), all MyISAM and created under
``SQL_MODE=''``, filled with synthetic patients and two years of their
appointments, procedures, claims, payments, notes and audit log, plus a
matching A to Z images folder (``S/SmithJohn1234/SmithJohn1234_57.jpg``) whose
files are the ``document`` rows.

Everything derives from ``seed``: the same seed and scale give the same rows
(equal ``CHECKSUM TABLE``) and the same files. Scale 1 is a practice of about
2,500 patients: ~50 MB of tables and ~45 MB of images. ``scale`` multiplies the
patients and everything that hangs off them, so 100 gives a few GB of each.

It never overwrites anything: it refuses a database that already holds tables
and an images folder that is not empty, writes files only with exclusive
create, and on failure or cancel removes only what it created itself.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field

from engine.database.demo_schema import TABLES, Column, Table
from engine.errors import OdbackupError
from engine.events import Event

DATABASE_VERSION = "21.1.9.0"  # the version whose layouts demo_schema describes
PATIENTS_PER_SCALE = 2500
FIRST_DAY = dt.date(2023, 7, 3)  # two years of history ...
TODAY = dt.date(2025, 6, 30)  # ... up to the practice's "today" ...
LAST_DAY = TODAY + dt.timedelta(days=90)  # ... and three months booked ahead
STAMP = dt.datetime(2025, 6, 30, 18, 5)  # what unset timestamp columns hold
_BATCH_BYTES = 1 << 20
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


class _Writer:
    """One table's pending rows, sent as multi-row INSERTs of about 1 MB."""

    def __init__(self, cursor, database: str, table: Table) -> None:
        self.cursor = cursor
        self.table = table
        self.head = f"INSERT INTO `{database}`.`{table.name}` VALUES "
        self.template = ""
        self.width = 0
        self.pending: list[str] = []
        self.size = 0
        self.rows = 0

    def _compile(self, names: dict) -> None:
        unknown = set(names) - {c.name for c in self.table.columns}
        if unknown:
            raise ValueError(f"{self.table.name} has no column {sorted(unknown)}")
        parts = ["{" + c.name + "}" if c.name in names
                 else _filler(c).replace("{", "{{").replace("}", "}}") for c in self.table.columns]
        self.template = "(" + ",".join(parts) + ")"
        self.width = len(names)

    def add(self, row: dict) -> None:
        """Queue one row (column name -> value); every row of a table names the same columns."""
        if not self.template:
            self._compile(row)
        if len(row) != self.width:
            raise ValueError(f"{self.table.name}: rows must all give the same columns")
        text = self.template.format_map({k: _sql(v) for k, v in row.items()})
        self.pending.append(text)
        self.size += len(text)
        self.rows += 1
        if self.size >= _BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Send the queued rows."""
        if self.pending:
            self.cursor.execute(self.head + ",".join(self.pending))
            self.pending, self.size = [], 0


# --- the practice ---------------------------------------------------------------


@dataclass
class _Patient:
    num: int
    lname: str
    fname: str
    gender: int
    birth: dt.date
    position: int
    status: int
    guarantor: int = 0
    plan: tuple | None = None  # (PlanNum, InsSubNum, relationship, is_ppo, carrier)
    folder: str = ""
    balance: float = 0.0
    visits: list = field(default_factory=list)  # (day, AptNum, ProvNum) of completed visits
    perio: bool = False

    def age(self, day: dt.date) -> int:
        return (day - self.birth).days // 365


@dataclass(frozen=True)
class _Document:
    num: int
    letter: str
    folder: str
    name: str
    kind: str
    size: int
    created: dt.datetime


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def _folder_name(pat: _Patient) -> str:
    """Open Dental's patient folder name: last and first name letters, then PatNum."""
    return "".join(ch for ch in pat.lname + pat.fname if ch.isalnum()) + str(pat.num)


def _log_hash(perm: int, user: int, when: dt.datetime, text: str, pat: int) -> str:
    """The ``securityloghash.LogHash`` Open Dental computes for a securitylog row."""
    data = f"{perm}{user}{when:%Y-%m-%d %H:%M:%S}{text}{pat}".encode("utf-16-le")
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class _Practice:
    """Generates the rows, family by family, into one writer per table."""

    def __init__(self, cursor, database: str, scale: float, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.writers = {name: _Writer(cursor, database, t) for name, t in TABLES.items()}
        self.ids = dict.fromkeys(TABLES, 0)
        self.patients_total = max(5, round(PATIENTS_PER_SCALE * scale))
        self.patients_done = 0
        self.scale = scale
        self.defs: dict[tuple[str, str], int] = {}
        self.codes: dict[str, tuple[int, tuple]] = {}
        self.plans: list[tuple[int, int, bool, str]] = []  # (PlanNum, CarrierNum, is_ppo, carrier)
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

    def moment(self, day: dt.date, start: int = 8, stop: int = 17) -> dt.datetime:
        """A working-hours time on ``day``, in 10-minute steps."""
        minutes = self.rng.randrange(start * 6, stop * 6) * 10
        return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60))

    def log(self, perm: str, pat: int, when: dt.datetime, text: str, fkey: int = 0,
            previous: dt.datetime | None = None) -> None:
        """One audit trail row and its tamper-evidence hash."""
        user = self.rng.randrange(1, len(_USERS) + 1)
        num = self.new_id("securitylog")
        self.add("securitylog", SecurityLogNum=num, PermType=_PERM[perm], UserNum=user,
                 LogDateTime=when, LogText=text, PatNum=pat, CompName=self.rng.choice(_COMPUTERS),
                 FKey=fkey, DateTPrevious=previous or dt.datetime(1, 1, 1))
        logged = f"{when:%Y-%m-%d %H:%M:%S}" + (f"{previous:%Y-%m-%d %H:%M:%S}" if previous else "")
        self.add("securityloghash", SecurityLogHashNum=self.new_id("securityloghash"),
                 SecurityLogNum=num, LogHash=_log_hash(_PERM[perm], user, when, text, pat)
                 if previous is None else _log_hash(_PERM[perm], user, when, text, pat) + logged[:0])
