"""A patient's chart beyond the visits: missing teeth, perio charts, the medical history
form, documents in the images folder, treatment plans and the communication log."""
from __future__ import annotations

import datetime as dt

from .base import Patient, PracticeBase, days, folder_name
from .images import Document
from .reference import (
    COMMLOG_NOTES,
    DOC_KINDS,
    DOC_TITLES,
    FIRST_DAY,
    FOLDER_SHARE,
    POSTERIOR,
    SHEET_CONDITIONS,
    SHEET_INTRO,
    TODAY,
)


class Chart(PracticeBase):
    """Charts, forms, documents, treatment plans and notes."""

    def chart(self, pat: Patient, done: list) -> None:
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
        if rng.random() < FOLDER_SHARE:
            self.images(pat, done)
        if pat.planned:
            self.treatment_plan(pat, pat.planned, 1)
        for day in pat.restorative:
            if rng.random() < 0.5:
                self.treatment_plan(pat, day - days(rng.randrange(7, 40)), 0)

    def perio_exam(self, pat: Patient, day: dt.date) -> None:
        """A perio chart: probing depths, bleeding and gingival margin at six sites a tooth, mobility."""
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

    def medical_history(self, pat: Patient, day: dt.date) -> None:
        """The signed medical history form and its fields."""
        rng = self.rng
        sheet, when = self.new_id("sheet"), self.moment(day, 7, 10)
        self.add("sheet", SheetNum=sheet, SheetType=11, PatNum=pat.num, DateTimeSheet=when, FontSize=11.0,
                 FontName="Microsoft Sans Serif", Width=850, Height=1100, InternalNote="",
                 Description="Medical History", DateTSheetEdited=when)
        fields = [(2, "", "Medical History", 300, 30, 250, 24), (1, "FName", pat.fname, 60, 80, 200, 20),
                  (1, "LName", pat.lname, 300, 80, 200, 20), (1, "Birthdate", f"{pat.birth:%m/%d/%Y}", 560, 80, 100, 20),
                  (2, "", SHEET_INTRO, 40, 120, 760, 80)]
        for index, condition in enumerate(SHEET_CONDITIONS):
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

    def images(self, pat: Patient, done: list) -> None:
        """The patient's A to Z folder and the documents in it."""
        rng = self.rng
        pat.folder = folder_name(pat)
        for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
            kind, _, low, high, ext = rng.choices(DOC_KINDS, [k[1] for k in DOC_KINDS])[0]
            title, category = rng.choice(DOC_TITLES[kind])
            when = self.moment(rng.choice(done))
            num = self.new_id("document")
            name = f"{pat.folder}_{num}{ext}"
            self.add("document", DocNum=num, Description=title, DateCreated=when,
                     DocCategory=self.defs["ImageCats", category], PatNum=pat.num, FileName=name,
                     ImgType={"xray": 1, "scan": 3, "text": 0}[kind], DegreesRotated=0,
                     ToothNumbers=str(rng.choice(POSTERIOR)) if title == "Periapical" else "",
                     Note="", DateTStamp=when, RawBase64="", Thumbnail="", ExternalGUID="",
                     ExternalSource="", ProvNum=pat.dentist)
            self.documents.append(Document(num, f"{pat.folder[0].upper()}/{pat.folder}/{name}", kind,
                                           rng.randrange(low, high + 1), f"{title}, {pat.name}", when))
            self.log("ImageEdit", pat.num, when, f"Document Created: {name}, category {category}", num)

    def treatment_plan(self, pat: Patient, day: dt.date, status: int) -> None:
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

    def commlogs(self, pat: Patient) -> None:
        """Reminders, insurance calls, money talk and recall notices."""
        rng = self.rng
        notes = [(day, "Appointment") for day, _, _, _ in pat.visits if rng.random() < 0.45]
        if pat.plan and rng.random() < 0.15:
            notes.append((FIRST_DAY + days(rng.randrange(700)), "Insurance"))
        if pat.balance > 0 and rng.random() < 0.6:
            notes.append((TODAY - days(rng.randrange(60)), "Financial"))
        if pat.status != 0 or rng.random() < 0.1:
            notes += [(FIRST_DAY + days(rng.randrange(700)), "Recall") for _ in range(rng.randrange(1, 4))]
        if rng.random() < 0.05:
            notes.append((FIRST_DAY + days(rng.randrange(700)), "Misc"))
        for day, kind in notes:
            _, mode, direction, text = rng.choice([n for n in COMMLOG_NOTES if n[0] == kind])
            note = text.format(day=f"{day:%m/%d/%Y}", carrier=pat.plan[4] if pat.plan else "",
                               amount=f"{max(pat.balance, 25.0):.2f}", email=pat.fname.lower() + "@example.com")
            if kind == "Appointment":
                day -= days(rng.randrange(1, 4))
            when = self.moment(min(day, TODAY))
            legacy = rng.random() < 0.003  # rows from an old import keep a zero date
            num = self.new_id("commlog")
            self.add("commlog", CommlogNum=num, PatNum=pat.num, CommType=self.defs["CommLogTypes", kind],
                     CommDateTime="0000-00-00 00:00:00" if legacy else when, Note=note, Mode_=mode,
                     SentOrReceived=direction, UserNum=self.user(), Signature="", DateTStamp=when)
