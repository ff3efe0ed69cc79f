"""A patient's visits: hygiene appointments, what the exams find, the treatment that
follows, and the claims and payments of each completed visit."""
from __future__ import annotations

import datetime as dt

from .base import Patient, PracticeBase, coverage, days, workday
from .reference import (
    ANTERIOR,
    FINDING_WEIGHTS,
    FINDINGS,
    FIRST_DAY,
    LAST_DAY,
    POSTERIOR,
    PROC_EXTRAS,
    PROC_NOTES,
    TODAY,
)


class Visits(PracticeBase):
    """Appointments, procedures, claims and payments."""

    def hygiene_visit(self, pat: Patient, day: dt.date, new: bool) -> None:
        """A recall visit: exam, cleaning, x-rays, and the treatment it finds."""
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
        later = workday(day + days(rng.randrange(10, 50)))
        if rng.random() < 0.72 and later <= LAST_DAY:
            if self.appointment(pat, later, findings, False, False) == 2:
                pat.restorative.append(later)
        else:
            self.planned(pat, day, findings)

    def findings(self, child: bool) -> list[tuple[str, str, str]]:
        """What an exam found: (code, tooth, surfaces)."""
        rng, found = self.rng, []
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            code = rng.choice(("D2391", "D2392", "D1351")) if child else rng.choices(FINDINGS, FINDING_WEIGHTS)[0]
            area = self.codes[code][1][5]
            front = code in ("D2330", "D2331", "D3310")
            tooth = str(rng.choice(ANTERIOR if front else POSTERIOR)) if area in (1, 2) else ""
            surfaces = {"D2391": 1, "D2330": 1, "D2140": 1, "D2392": 2, "D2331": 2, "D2150": 2, "D2393": 3}
            surf = "".join(sorted(rng.sample("MIDFL" if front else "MODBL", surfaces.get(code, 0)), key="MODIBFL".index))
            found.append((code, tooth, rng.choice(("UR", "UL", "LR", "LL")) if area == 4 else surf))
        return found

    def appointment(self, pat: Patient, day: dt.date, procs: list, hygiene: bool, new: bool) -> int:
        """One appointment with its procedures, notes, claim and payment; returns AptStatus."""
        rng = self.rng
        num = self.new_id("appointment")
        status = 1 if day > TODAY else (5 if rng.random() < 0.04 else 2)
        infos = [self.codes[code][1] for code, _, _ in procs]
        pattern = "".join(info[4] for info in infos)[:48]
        start = self.moment(day, 8, 16)
        made = self.moment(min(TODAY, max(FIRST_DAY - days(60), day - days(rng.randrange(3, 190)))))
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

    def procedure(self, pat: Patient, apt: int, day: dt.date, apt_status: int, made: dt.datetime,
                  code: str, tooth: str, surf: str, provider: int) -> tuple[int, str, float, int]:
        """One procedure of an appointment and its note; returns (ProcNum, code, fee, provider)."""
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
            template = rng.choice(PROC_NOTES)
            extra = rng.choice(PROC_EXTRAS).format(tooth=tooth or rng.choice(POSTERIOR))
            note = template.format(what=info[2].capitalize(), extra=extra, carps=rng.choice((1, 2, 3)),
                                   aid=rng.choice(("floss picks", "an electric toothbrush", "a water flosser")))
            signed = rng.random() < 0.4
            self.add("procnote", ProcNoteNum=self.new_id("procnote"), PatNum=pat.num, ProcNum=num,
                     EntryDateTime=self.moment(day, 12, 18), UserNum=self.user(), Note=note,
                     SigIsTopaz=int(signed and rng.random() < 0.3), Signature=self.signature() if signed else "")
        return num, code, info[6], provider

    def claim(self, pat: Patient, day: dt.date, lines: list) -> list:
        """The insurance claim for a completed visit; returns what the patient still owes per procedure."""
        rng = self.rng
        assert pat.plan is not None  # claims are made only for insured patients
        plan_num, sub, relation, ppo, carrier = pat.plan
        num = self.new_id("claim")
        sent = day + days(rng.randrange(0, 3))
        received = sent + days(rng.randrange(9, 40))
        status = "W" if sent > TODAY else ("R" if received <= TODAY else "S")
        zero = dt.date(1, 1, 1)
        owed, totals = [], [0.0, 0.0, 0.0, 0.0]  # fee, estimate, paid, write-off
        for line_number, (proc, code, fee, provider) in enumerate(lines, 1):
            write_off = round(fee * 0.18, 2) if ppo else 0.0
            share = coverage(code)
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

    def payment(self, pat: Patient, day: dt.date, owed: list) -> None:
        """What the patient pays for a visit (or leaves as balance), split by procedure."""
        rng = self.rng
        owed = [(proc, amount, prov) for proc, amount, prov in owed if amount > 0]
        total = round(sum(amount for _, amount, _ in owed), 2)
        if not owed:
            return
        if rng.random() < 0.12:
            pat.balance += total
            return
        paid = day if rng.random() < 0.7 else min(TODAY, day + days(rng.randrange(5, 40)))
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

    def planned(self, pat: Patient, day: dt.date, findings: list) -> None:
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
                estimate = round((info[6] - write_off) * coverage(code), 2)
                self.add("claimproc", ClaimProcNum=self.new_id("claimproc"), ProcNum=num, ClaimNum=0,
                         PatNum=pat.num, ProvNum=pat.dentist, FeeBilled=0.0, InsPayEst=estimate, Status=6,
                         InsPayAmt=0.0, PlanNum=pat.plan[0], DateCP=day, WriteOff=0.0, CodeSent=code,
                         AllowedOverride=-1.0, Percentage=int(coverage(code) * 100), BaseEst=estimate,
                         ProcDate=day, DateEntry=day, LineNumber=0, DedEstOverride=-1.0,
                         InsEstTotal=estimate, InsEstTotalOverride=-1.0, PaidOtherInsOverride=-1.0,
                         EstimateNote="", WriteOffEst=write_off, WriteOffEstOverride=-1.0,
                         InsSubNum=pat.plan[1], SecUserNumEntry=self.user(), SecDateEntry=day,
                         SecDateTEdit=self.moment(day), DateInsFinalized=dt.date(1, 1, 1))
        pat.planned = day

    def existing(self, pat: Patient) -> None:
        """Work done elsewhere before: existing-other procedures, some from an old import with
        DateTP '0000-00-00'."""
        rng = self.rng
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            code = rng.choice(("D2750", "D2740", "D2150", "D2392", "D3330"))
            code_num, info = self.codes[code]
            tooth = str(rng.choice(POSTERIOR))
            self.add("procedurelog", ProcNum=self.new_id("procedurelog"), PatNum=pat.num, AptNum=0,
                     ProcDate=FIRST_DAY, ProcFee=0.0, Surf="MO" if code in ("D2150", "D2392") else "",
                     ToothNum=tooth, ProcStatus=4, ProvNum=0, CodeNum=code_num, UnitQty=1, DateTP="0000-00-00",
                     DateEntryC=dt.date(1, 1, 1), DateComplete=dt.date(1, 1, 1), SecUserNumEntry=0,
                     SecDateEntry=FIRST_DAY, DateTStamp=dt.datetime.combine(FIRST_DAY, dt.time(6)),
                     BillingNote="", SnomedBodySite="", DiagnosticCode2="", DiagnosticCode3="",
                     DiagnosticCode4="", CanadianTypeCodes="", IcdVersion=0, Priority=0)

    def recall(self, pat: Patient) -> None:
        """The patient's six-month recall: when it is due and whether it is booked."""
        hygiene = [v for v in pat.visits if v[3]]
        done = [v[0] for v in hygiene if v[2] == 2]
        booked = [v[0] for v in hygiene if v[2] == 1]
        previous = done[-1] if done else dt.date(1, 1, 1)
        due = previous + days(182) if done else FIRST_DAY
        status = ("Scheduled" if booked else
                  self.rng.choice(("Left Message", "Call Back", "Will Call Us", "")) if due < TODAY else "")
        self.add("recall", RecallNum=self.new_id("recall"), PatNum=pat.num, DateDueCalc=due, DateDue=due,
                 DatePrevious=previous, RecallInterval=6 << 16, Note="",  # Interval packs months in bits 16-23
                 RecallStatus=self.defs["RecallUnschedStatus", status] if status else 0,
                 DateTStamp=self.moment(min(TODAY, due)), RecallTypeNum=1,
                 DateScheduled=booked[0] if booked else dt.date(1, 1, 1), TimePatternOverride="")
