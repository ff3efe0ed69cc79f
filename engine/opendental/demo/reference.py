"""The practice's reference data: its calendar, staff, procedure codes, insurers, and the
names and texts written for this demo (none taken from a real practice)."""
from __future__ import annotations

import datetime as dt

DATABASE_VERSION = "21.1.9.0"  # the version whose layouts demo_schema describes
PATIENTS_PER_SCALE = 1850
FIRST_DAY = dt.date(2023, 7, 3)  # two years of history ...
TODAY = dt.date(2025, 6, 30)  # ... up to the practice's "today" ...
LAST_DAY = TODAY + dt.timedelta(days=90)  # ... and three months booked ahead
STAMP = dt.datetime(2025, 6, 30, 18, 5)  # what unset timestamp columns hold

# --- the practice's reference data (names and texts written for this demo) ---

LAST = (
    "Adams Allen Alvarez Baker Bennett Brooks Brown Campbell Carter Chen Clark Collins Cook Cooper "
    "Davis Diaz Edwards Evans Fischer Flores Foster Garcia Gomez Gray Green Hall Harris Hernandez "
    "Hill Hughes Ito Jackson James Jensen Johnson Jones Kelly Kim King Kowalski Lee Lewis Lopez "
    "Martin Martinez Miller Mitchell Moore Morgan Morris Muñoz Murphy Nelson Nguyen O'Brien "
    "Olsen Ortiz Parker Patel Perez Peterson Phillips Price Quinn Ramirez Reed Reyes Richardson "
    "Rivera Roberts Robinson Rodriguez Rogers Ross Sanchez Schmidt Scott Smith Stewart Sullivan "
    "Taylor Thomas Thompson Torres Tran Turner Vasquez Walker Ward Watson White Williams Wilson "
    "Wright Xiong Young Yoder Zimmerman"
).split()
FIRST = (
    "James John Robert Michael William David Richard Joseph Thomas Daniel Matthew Anthony Mark "
    "Steven Andrew Joshua Kevin Brian Ryan Jacob Noah Liam Ethan Mason Lucas Logan José Wei Omar",
    "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Nancy Lisa Emily "
    "Ashley Michelle Amanda Olivia Emma Ava Sophia Mia Chloé Zoë Renée Priya Mei Fatima Grace Lily",
)
STREETS = (
    "Oak Maple Cedar Pine Elm Willow Birch Chestnut Spruce Hawthorne Madison Liberty Mission "
    "Commercial Center Church Court Capitol Summer Winter River Orchard Lancaster Fairview"
).split()
TOWNS = (
    ("Salem", "97301"), ("Salem", "97302"), ("Salem", "97304"), ("Keizer", "97303"),
    ("Silverton", "97381"), ("Woodburn", "97071"), ("Dallas", "97338"), ("Monmouth", "97361"),
    ("Independence", "97351"), ("Stayton", "97383"), ("Turner", "97392"), ("Aumsville", "97325"),
)
DEFINITIONS = (  # (category number, category, items)
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
CODES = (
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
FINDINGS = ("D2391", "D2392", "D2393", "D2330", "D2331", "D2140", "D2150", "D2740", "D2750",
            "D2950", "D3330", "D3310", "D7140", "D7210", "D9944", "D4341")
FINDING_WEIGHTS = (14, 12, 6, 5, 3, 2, 2, 6, 3, 3, 2, 1, 2, 1, 2, 2)
POSTERIOR = (2, 3, 4, 5, 12, 13, 14, 15, 18, 19, 20, 21, 28, 29, 30, 31)
ANTERIOR = (6, 7, 8, 9, 10, 11, 22, 23, 24, 25, 26, 27)
PROVIDERS = (  # (Abbr, LName, FName, Suffix, specialty, hygienist)
    ("DOC1", "Halvorsen", "Ingrid", "DDS", "General", 0),
    ("DOC2", "Okafor", "Samuel", "DMD", "General", 0),
    ("HYG1", "Lindqvist", "Tara", "RDH", "Hygienist", 1),
    ("HYG2", "Marsh", "Colin", "RDH", "Hygienist", 1),
    ("ENDO", "Brandt", "Leona", "DDS", "Endodontics", 0),
)
OPERATORIES = (("Op 1", "OP1", 1, 0), ("Op 2", "OP2", 2, 0), ("Op 3", "OP3", 1, 0),
               ("Hyg 1", "HYG1", 1, 3), ("Hyg 2", "HYG2", 2, 4), ("Hyg 3", "HYG3", 1, 3))
USERS = ("Admin", "ingrid", "samuel", "tara", "colin", "leona", "frontdesk", "billing")
COMPUTERS = ("FRONT1", "FRONT2", "OP1", "OP2", "OP3", "HYG1", "HYG2", "HYG3", "OFFICE")
CARRIERS = ("Delta Dental of Oregon", "MetLife Dental", "Cigna Dental", "Aetna Dental",
            "Guardian", "Principal Financial", "Ameritas", "United Concordia", "Humana Dental",
            "Moda Health", "Regence BlueCross", "Lincoln Financial")
EMPLOYERS = ("State of Oregon", "Salem Health", "School District 24J", "Marion County",
             "Willamette University", "Garmin", "NORPAC Foods", "Kettle Foods", "Costco")
MEDICAL = ("Allergic to penicillin.", "Takes blood thinner (warfarin).", "Latex allergy.",
           "Premedicate: joint replacement 2019.", "Type 2 diabetes.", "High blood pressure.")
WORDS = (
    "patient tooth molar premolar crown bridge implant root canal bitewing panoramic occlusal "
    "mesial distal buccal lingual caries restoration composite extraction hygiene gingival probing "
    "depth insurance claim procedure fee estimate signature provider appointment recall allergy "
    "medication history consent referral radiograph the of and to in for with on at by is was "
    "not no yes left right upper lower sensitivity cold biting pain floss brush fluoride"
).split()
COMMLOG_NOTES = (
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
PROC_NOTES = (
    "Pt presents for {what}. Med hx reviewed, no changes. {extra}",
    "{what} completed. Pt tolerated procedure well. {extra}",
    "Topical applied, {carps} carpules lidocaine 2% with epi 1:100k. {what}. {extra}",
    "Reviewed OHI with pt, recommended {aid}. {what}. {extra}",
)
PROC_EXTRAS = (
    "Light calculus, moderate plaque.", "Bleeding on probing UL and LR.", "No complaints.",
    "Pt reports cold sensitivity #{tooth}.", "Next visit: recall 6 months.", "Rx: none.",
    "Discussed treatment plan and fees, pt will call.", "Shade A2.", "Margins checked, contacts good.",
)
# securitylog PermType values (Open Dental's Permissions enum)
PERM = {"ApptCreate": 25, "ApptEdit": 27, "ProcComplete": 23, "PaymentCreate": 15,
        "ClaimSend": 104, "CommlogEdit": 43, "ImageEdit": 89, "PerioEdit": 45,
        "SheetEdit": 42, "TreatPlanEdit": 38, "ProcNote": 53, "LogOnOff": 83}

FOLDER_SHARE = 0.25  # patients with an images folder
DOC_KINDS = (("xray", 0.125, 60_000, 400_000, ".jpg"), ("scan", 0.03, 100_000, 600_000, ".pdf"),
             ("text", 0.845, 1_000, 8_000, ".txt"))
DOC_TITLES = {
    "xray": (("Bitewings", "X-Rays"), ("Periapical", "X-Rays"), ("Panoramic", "X-Rays"),
             ("Full mouth series", "X-Rays"), ("Intraoral photo", "Photos")),
    "scan": (("Insurance card", "Insurance"), ("Signed consent", "Forms"),
             ("Referral letter", "Letters"), ("Explanation of benefits", "Insurance")),
    "text": (("Post-op instructions", "Letters"), ("Treatment notes", "Treatment Plans"),
             ("Letter to patient", "Letters"), ("Medical history update", "Forms")),
}
SHEET_INTRO = ("Please mark any condition you have now or had in the past, and list your medications "
               "and allergies. Your answers are confidential and help us treat you safely. Tell us "
               "at every visit if anything has changed.")
SHEET_CONDITIONS = ("Diabetes", "Heart disease", "High blood pressure", "Asthma", "Hepatitis",
                    "Arthritis", "Joint replacement", "Pregnant", "Smoker", "Bleeding problems")

