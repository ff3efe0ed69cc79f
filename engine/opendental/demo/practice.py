"""The practice: its setup (definitions, staff, codes, insurance, preferences, schedules),
then family after family, each patient with two years of history."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib

from .base import Patient, days, is_holiday, log_hash, workday
from .chart import Chart
from .reference import (
    CARRIERS,
    CODES,
    COMPUTERS,
    DATABASE_VERSION,
    DEFINITIONS,
    EMPLOYERS,
    FIRST,
    FIRST_DAY,
    LAST,
    LAST_DAY,
    MEDICAL,
    OPERATORIES,
    PERM,
    PROVIDERS,
    STREETS,
    TODAY,
    TOWNS,
    USERS,
)
from .visits import Visits


class Practice(Visits, Chart):
    """Generates the rows, family by family, into one writer per table."""

    # -- the practice's setup

    def setup(self, doc_path: str) -> None:
        """Definitions, staff, procedure codes, insurance plans, preferences, schedules."""
        rng = self.rng
        for category, cat_name, items in DEFINITIONS:
            for order, item in enumerate(items.split("|")):
                num = self.new_id("definition")
                self.defs[cat_name, item] = num
                value = {"X-Rays": "X", "Photos": "P"}.get(item, "") if category == 18 else ""
                self.add("definition", DefNum=num, Category=category, ItemOrder=order,
                         ItemName=item, ItemValue=value or (item[:6].upper() if category == 27 else ""),
                         ItemColor=-rng.randrange(1, 1 << 24) if category == 2 else 0)
        for num, (abbr, last, first, suffix, specialty, hyg) in enumerate(PROVIDERS, 1):
            self.add("provider", ProvNum=num, Abbr=abbr, ItemOrder=num - 1, LName=last, FName=first,
                     Suffix=suffix, FeeSched=1, Specialty=self.defs["ProviderSpecialties", specialty],
                     SSN=f"9{rng.randrange(10**7, 10**8)}", StateLicense=f"OR{rng.randrange(10**4, 10**5)}",
                     DEANum="" if hyg else f"B{last[0]}{rng.randrange(10**6, 10**7)}", IsSecondary=hyg,
                     ProvColor=-rng.randrange(1, 1 << 24), NationalProvID=f"1{rng.randrange(10**8, 10**9)}",
                     Birthdate=dt.date(rng.randrange(1962, 1992), rng.randrange(1, 13), rng.randrange(1, 29)),
                     PreferredName="", SchedNote="", WebSchedDescript="")
        for num, (name, abbr, dentist, hygienist) in enumerate(OPERATORIES, 1):
            self.add("operatory", OperatoryNum=num, OpName=name, Abbrev=abbr, ItemOrder=num - 1,
                     ProvDentist=dentist, ProvHygienist=hygienist, IsHygiene=int(hygienist > 0))
        for num, name in enumerate(USERS, 1):
            salt = rng.randbytes(16)
            digest = hashlib.sha3_512(salt + name.encode()).digest()
            self.add("userod", UserNum=num, UserName=name, UserGroupNum=1 if num == 1 else 2,
                     Password="SHA3-512$" + base64.b64encode(salt).decode() + "$"
                     + base64.b64encode(digest).decode(), ProvNum=num - 1 if 1 < num <= 6 else 0,
                     DateTLastLogin=self.moment(TODAY))
        for code in CODES:
            proc_code, abbr, descript, code_category, pattern, area, _fee, hygiene = code
            num = self.new_id("procedurecode")
            self.codes[proc_code] = (num, code)
            self.add("procedurecode", CodeNum=num, ProcCode=proc_code, Descript=descript,
                     AbbrDesc=abbr, ProcTime=pattern, ProcCat=self.defs["ProcCodeCats", code_category],
                     TreatArea=area, IsHygiene=hygiene, DefaultNote="", LaymanTerm="",
                     DateTStamp=dt.datetime(2023, 1, 9, 7, 45))
        self.insurance()
        self.preferences(doc_path)
        self.schedules()
        for num in range(1, max(2, round(12 * self.scale)) + 1):
            self.add("files", DocNum=num, Data=rng.randbytes(rng.randrange(2_000, 40_000)),
                     Thumbnail=rng.randbytes(rng.randrange(500, 3_000)) if num % 3 else None)

    def insurance(self) -> None:
        """Carriers and the practice's insurance plans."""
        rng = self.rng
        for num, name in enumerate(CARRIERS, 1):
            city, state, zip_ = rng.choice((("Portland", "OR", "97208"), ("Seattle", "WA", "98101"),
                                            ("Lexington", "KY", "40512"), ("Atlanta", "GA", "30348")))
            self.add("carrier", CarrierNum=num, CarrierName=name, Address=f"PO Box {rng.randrange(1000, 99999)}",
                     City=city, State=state, Zip=zip_, Phone=f"(800)555-{rng.randrange(1000, 10000)}",
                     ElectID=f"{rng.randrange(10000, 99999)}", SecDateEntry=dt.date(2019, 4, 2),
                     SecDateTEdit=dt.datetime(2019, 4, 2, 10, 0), TIN="")
        for num in range(1, max(8, round(40 * self.scale)) + 1):
            carrier, ppo = rng.randrange(1, len(CARRIERS) + 1), rng.random() < 0.6
            self.plans.append((num, ppo, CARRIERS[carrier - 1]))
            self.add("insplan", PlanNum=num, GroupName=rng.choice(EMPLOYERS),
                     GroupNum=str(rng.randrange(10**5, 10**6)), PlanNote="", FeeSched=0,
                     PlanType="p" if ppo else "", CarrierNum=carrier, MonthRenew=1,
                     SecDateEntry=dt.date(2020, 1, 2), SecDateTEdit=dt.datetime(2023, 1, 3, 9, 30))

    def preferences(self, doc_path: str) -> None:
        """Open Dental's preferences: version, images folder (``DocPath``), the practice."""
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
                holiday = is_holiday(day)
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
                    for user in rng.sample(range(1, len(USERS) + 1), 3 if self.scale >= 0.5 else 1):
                        self.add_logon(user, self.moment(day, 7, 9), "on")
                        self.add_logon(user, self.moment(day, 16, 18), "off")
            day += days(1)

    def add_logon(self, user: int, when: dt.datetime, how: str) -> None:
        """A staff log-on or log-off in the audit log."""
        num = self.new_id("securitylog")
        text = f"User: {USERS[user - 1]} has logged {how}."
        self.add("securitylog", SecurityLogNum=num, PermType=PERM["LogOnOff"], UserNum=user,
                 LogDateTime=when, LogText=text, PatNum=0, CompName=self.rng.choice(COMPUTERS),
                 FKey=0, DateTPrevious=dt.datetime(1, 1, 1))
        self.add("securityloghash", SecurityLogHashNum=self.new_id("securityloghash"),
                 SecurityLogNum=num, LogHash=log_hash(PERM["LogOnOff"], user, when, text, 0, None))

    # -- families and patients

    def family(self) -> None:
        """A household: a guarantor, perhaps a spouse and children, their shared insurance."""
        rng = self.rng
        room = self.patients_total - self.patients_done
        size = min(room, rng.choices((1, 2, 3, 4, 5), (34, 26, 17, 16, 7))[0])
        status = rng.choices((0, 2, 3), (80, 16, 4))[0]
        lname = rng.choice(LAST)
        town, zip_ = rng.choice(TOWNS)
        home = {"Address": f"{rng.randrange(100, 9999)} {rng.choice(STREETS)} "
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
        """A Salem phone number of the fictional 555 range."""
        return f"(503)555-{self.rng.randrange(10000):04d}"

    def person(self, lname: str, status: int, position: int, guarantor: int) -> Patient:
        """A new family member (not written yet: their history comes first)."""
        rng = self.rng
        gender = rng.randrange(2)
        age = rng.randrange(2, 18) if position == 2 else min(95, int(rng.triangular(19, 90, 42)))
        birth = TODAY - days(age * 365 + rng.randrange(365))
        return Patient(num=self.new_id("patient"), lname=lname, fname=rng.choice(FIRST[gender].split()),
                        gender=gender, birth=birth, position=position, status=status,
                        guarantor=guarantor, dentist=rng.choice((1, 1, 2)), hygienist=rng.choice((3, 4)),
                        perio=age > 35 and rng.random() < 0.12)

    def write_patient(self, pat: Patient, home: dict, balance: float) -> None:
        """The ``patient`` row, once the history has set balance and dates."""
        rng = self.rng
        adult = pat.age(TODAY) >= 18
        done = pat.done
        since = max(2005, pat.birth.year + 2)
        if pat.new or since >= 2023:
            first = done[0] if done else FIRST_DAY
        else:
            first = dt.date(rng.randrange(since, 2023), rng.randrange(1, 13), rng.randrange(1, 29))
        deceased = pat.status in (2, 3) and pat.age(TODAY) > 70 and rng.random() < 0.15
        died = dt.datetime.combine(min(TODAY, (done[-1] if done else FIRST_DAY) + days(rng.randrange(30, 300))),
                                   dt.time(0))
        email = ""
        if adult and rng.random() < 0.65:
            plain = "".join(ch for ch in (pat.fname + "." + pat.lname).lower() if ch.isascii() and ch != "'")
            email = f"{plain}{rng.randrange(1, 99)}@{rng.choice(('example.com', 'example.net', 'example.org'))}"
        medical = rng.choice(MEDICAL) if rng.random() < 0.06 else ""
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

    def history(self, pat: Patient) -> None:
        """Visits, then the chart, images, forms, plans and notes that follow from them."""
        rng = self.rng
        if pat.status == 1:
            return
        new = pat.new = pat.status == 0 and rng.random() < 0.15
        day = FIRST_DAY + days(rng.randrange(0, 600 if new else 190))
        last = LAST_DAY if pat.status == 0 else FIRST_DAY + days(300)
        while (day := workday(day)) <= last:
            self.hygiene_visit(pat, day, new)
            new = False
            day += days(rng.randrange(165, 200))
        if pat.age(TODAY) > 25:
            self.existing(pat)
        self.recall(pat)
        done = pat.done
        if done:
            self.chart(pat, done)
        self.commlogs(pat)
