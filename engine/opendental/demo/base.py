"""What every part of the practice shares: the patient record, the practice's calendar,
and :class:`PracticeBase`, the row plumbing (ids, writers, times, the audit log) the
generator writes through."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from .images import Document
from .reference import COMPUTERS, PATIENTS_PER_SCALE, PERM, USERS, WORDS
from .schema import TABLES
from .sql import Writer


@dataclass
class Patient:
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
        """Age in whole years on ``day``."""
        return (day - self.birth).days // 365

    @property
    def name(self) -> str:
        """First and last name, as the audit log writes them."""
        return f"{self.fname} {self.lname}"

    @property
    def done(self) -> list:
        """The days of completed visits."""
        return [v[0] for v in self.visits if v[2] == 2]


def days(n: int) -> dt.timedelta:
    """``n`` days, as a timedelta."""
    return dt.timedelta(days=n)


def folder_name(pat: Patient) -> str:
    """Open Dental's patient folder name: last and first name letters, then PatNum."""
    return "".join(ch for ch in pat.lname + pat.fname if ch.isalnum()) + str(pat.num)


def log_hash(perm: int, user: int, when: dt.datetime, text: str, pat: int,
             previous: dt.datetime | None) -> str:
    """The ``securityloghash.LogHash`` Open Dental computes for a securitylog row:
    base64 SHA-256 of the UTF-16 text of type, user, time, text, patient (and previous time)."""
    data = f"{perm}{user}{when:%Y-%m-%d %H:%M:%S}{text}{pat}"
    if previous is not None:
        data += f"{previous:%Y-%m-%d %H:%M:%S}"
    return base64.b64encode(hashlib.sha256(data.encode("utf-16-le")).digest()).decode()


def is_holiday(day: dt.date) -> bool:
    """New Year, Independence Day, Thanksgiving, Christmas."""
    return (day.month, day.day) in ((1, 1), (7, 4), (12, 25)) or (
        day.month == 11 and day.weekday() == 3 and 22 <= day.day <= 28)


def workday(day: dt.date) -> dt.date:
    """``day`` or the next day the practice is open (Monday to Thursday, not holidays)."""
    while day.weekday() > 3 or is_holiday(day):
        day += days(1)
    return day


def coverage(code: str) -> float:
    """Share of the allowed fee insurance pays: preventive, basic, major."""
    if code[:2] in ("D0", "D1"):
        return 1.0
    if code[:3] in ("D27", "D29") or code[:2] in ("D5", "D6", "D9"):
        return 0.5 if code != "D9944" else 0.0
    return 0.8


class PracticeBase:
    """The generator's state (ids, writers, what later rows refer to) and the helpers
    every part of it writes rows through."""

    def __init__(self, send: Callable[[str], None], database: str, scale: float, seed: int) -> None:
        self.rng = random.Random(seed)
        self.writers = {name: Writer(send, database, t) for name, t in TABLES.items()}
        self.ids = dict.fromkeys(TABLES, 0)
        self.patients_total = max(5, round(PATIENTS_PER_SCALE * scale))
        self.scale = scale
        self.defs: dict[tuple[str, str], int] = {}
        self.codes: dict[str, tuple[int, tuple]] = {}
        self.plans: list[tuple[int, bool, str]] = []  # (PlanNum, is_ppo, carrier)
        self.documents: list[Document] = []

    # -- plumbing

    def add(self, table: str, **row) -> None:
        """Queue one row of ``table`` (column name -> value)."""
        self.writers[table].add(row)

    def new_id(self, table: str) -> int:
        """The next primary key of ``table`` (1, 2, ...)."""
        self.ids[table] += 1
        return self.ids[table]

    def flush(self) -> None:
        """Send every table's queued rows."""
        for writer in self.writers.values():
            writer.flush()

    @property
    def rows(self) -> int:
        """Rows generated so far, all tables together."""
        return sum(w.rows for w in self.writers.values())

    @property
    def patients_done(self) -> int:
        """Patients generated so far."""
        return self.ids["patient"]

    def moment(self, day: dt.date, start: int = 8, stop: int = 17) -> dt.datetime:
        """A working-hours time on ``day``, in 10-minute steps."""
        minutes = self.rng.randrange(start * 6, stop * 6) * 10
        return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60))

    def user(self) -> int:
        """A random staff user (``UserNum``)."""
        return self.rng.randrange(1, len(USERS) + 1)

    def signature(self) -> str:
        """A random signature blob, as Open Dental stores one (hex text)."""
        return self.rng.randbytes(self.rng.randrange(90, 300)).hex().upper()

    def sentence(self, words: int) -> str:
        """A sentence of ``words`` random dental words."""
        return " ".join(self.rng.choices(WORDS, k=words)).capitalize() + "."

    def log(self, perm: str, pat: int, when: dt.datetime, text: str, fkey: int = 0,
            previous: dt.datetime | None = None) -> None:
        """One audit trail row and its tamper-evidence hash."""
        user, perm_type = self.user(), PERM[perm]
        num = self.new_id("securitylog")
        self.add("securitylog", SecurityLogNum=num, PermType=perm_type, UserNum=user,
                 LogDateTime=when, LogText=text, PatNum=pat, CompName=self.rng.choice(COMPUTERS),
                 FKey=fkey, DateTPrevious=previous or dt.datetime(1, 1, 1))
        self.add("securityloghash", SecurityLogHashNum=self.new_id("securityloghash"),
                 SecurityLogNum=num, LogHash=log_hash(perm_type, user, when, text, pat, previous))
