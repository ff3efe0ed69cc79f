"""Open Dental's table layouts for the sample practice (``odbackup demo``).

The column names, types, order, defaults and keys are the facts of Open Dental's
own schema at version 21.1.9 (its GPL unit-test dump, ``DataBaseVersion``
``21.1.9.0``), written here as a compact description from which
:func:`create_table_sql` builds ``CREATE TABLE ... ENGINE=MyISAM``. Only the
tables the sample practice fills are described (31 of its 379).

Each layout lists ``Column:type`` words, then ``|``, then the secondary keys.

Column types::

    pk      bigint(20) NOT NULL AUTO_INCREMENT (the primary key)
    big     bigint(20)        int   int(11)          int2  int(2)
    tiny    tinyint(4)        utiny tinyint(3) unsigned
    bool    tinyint(1)        ubool tinyint(1) unsigned
    small   smallint(6)       usmall smallint(5) unsigned
    dbl     double            flt   float
    date    date              dt    datetime         time  time
    ts      timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
    text    text              mtext mediumtext       blob  longblob
    vN      varchar(N)        cN    char(N)
    bN      varchar(N) CHARACTER SET utf8 COLLATE utf8_bin

then ``!`` for NOT NULL, then ``=value`` for a default: ``=`` is ``''``, ``=Z``
is Open Dental's zero-ish ``'0001-01-01'`` (``'0001-01-01 00:00:00'`` for a
datetime) and ``=00`` a real zero date (``'0000-00-00'``, ``'0000-00-00
00:00:00'``), which loads only under ``SQL_MODE=''``.

Keys are ``Column`` (a key named after its one column) or ``Name=Col1,Col2``;
``LName(10)`` indexes a prefix.
"""
from __future__ import annotations

LAYOUTS = {
    "patient": """
        PatNum:pk LName:v100= FName:v100= MiddleI:v100= Preferred:v100= PatStatus:utiny!=0
        Gender:utiny!=0 Position:utiny!=0 Birthdate:date!=Z SSN:v100= Address:v100= Address2:v100=
        City:v100= State:v100= Zip:v100= HmPhone:v30= WkPhone:v30= WirelessPhone:v30= Guarantor:big!
        CreditType:c1= Email:v100= Salutation:v100= EstBalance:dbl!=0 PriProv:big! SecProv:big!
        FeeSched:big! BillingType:big! ImageFolder:v100= AddrNote:text FamFinUrgNote:text
        MedUrgNote:v255= ApptModNote:v255= StudentStatus:c1= SchoolName:v255! ChartNumber:v20=
        MedicaidID:v20= Bal_0_30:dbl!=0 Bal_31_60:dbl!=0 Bal_61_90:dbl!=0 BalOver90:dbl!=0
        InsEst:dbl!=0 BalTotal:dbl!=0 EmployerNum:big! EmploymentNote:v255= County:v255=
        GradeLevel:tiny!=0 Urgency:tiny!=0 DateFirstVisit:date!=Z ClinicNum:big! HasIns:v255=
        TrophyFolder:v255= PlannedIsDone:utiny!=0 Premed:utiny! Ward:v255= PreferConfirmMethod:utiny!
        PreferContactMethod:utiny! PreferRecallMethod:utiny! SchedBeforeTime:time SchedAfterTime:time
        SchedDayOfWeek:utiny! Language:v100= AdmitDate:date!=Z Title:v15 PayPlanDue:dbl! SiteNum:big!
        DateTStamp:ts ResponsParty:big! CanadianEligibilityCode:tiny! AskToArriveEarly:int!
        PreferContactConfidential:tiny! SuperFamily:big! TxtMsgOk:tiny! SmokingSnoMed:v32!
        Country:v255! DateTimeDeceased:dt!=Z BillingCycleDay:int!=1 SecUserNumEntry:big!
        SecDateEntry:date!=Z HasSuperBilling:tiny! PatNumCloneFrom:big! DiscountPlanNum:big!
        HasSignedTil:tiny! ShortCodeOptIn:tiny!
        |
        indexLName=LName(10) indexFName=FName(10) indexLFName=LName,FName indexGuarantor=Guarantor
        ResponsParty SuperFamily SiteNum PatStatus ClinicNum Email ChartNumber SecUserNumEntry HmPhone
        WirelessPhone WkPhone PatNumCloneFrom DiscountPlanNum FeeSched SecDateEntry PriProv SecProv
    """,
    "appointment": """
        AptNum:pk PatNum:big! AptStatus:utiny!=0 Pattern:v255= Confirmed:big! TimeLocked:bool! Op:big!
        Note:text ProvNum:big! ProvHyg:big! AptDateTime:dt!=Z NextAptNum:big! UnschedStatus:big!
        IsNewPatient:ubool!=0 ProcDescript:v255= Assistant:big! ClinicNum:big! IsHygiene:utiny!=0
        DateTStamp:ts DateTimeArrived:dt! DateTimeSeated:dt! DateTimeDismissed:dt! InsPlan1:big!
        InsPlan2:big! DateTimeAskedToArrive:dt!=Z ProcsColored:text! ColorOverride:int!
        AppointmentTypeNum:big! SecUserNumEntry:big! SecDateTEntry:dt!=Z Priority:tiny!
        ProvBarText:v60! PatternSecondary:v255!
        |
        indexPatNum=PatNum indexNextAptNum=NextAptNum indexProvNum=ProvNum indexProvHyg=ProvHyg
        indexAptDateTime=AptDateTime InsPlan1 InsPlan2 DateTimeArrived AppointmentTypeNum Op
        SecUserNumEntry StatusDate=AptStatus,AptDateTime,ClinicNum Priority UnschedStatus ClinicNum
    """,
    "procedurelog": """
        ProcNum:pk PatNum:big! AptNum:big! OldCode:b15!= ProcDate:date!=Z ProcFee:dbl!=0 Surf:v10=
        ToothNum:v2= ToothRange:v100= Priority:big! ProcStatus:utiny!=0 ProvNum:big! Dx:big!
        PlannedAptNum:big! PlaceService:utiny!=0 Prosthesis:c1= DateOriginalProsth:date!=Z
        ClaimNote:v80= DateEntryC:date!=Z ClinicNum:big! MedicalCode:b15= DiagnosticCode:v255=
        IsPrincDiag:utiny!=0 ProcNumLab:big! BillingTypeOne:big! BillingTypeTwo:big! CodeNum:big!
        CodeMod1:c2 CodeMod2:c2 CodeMod3:c2 CodeMod4:c2 RevCode:v45 UnitQty:int! BaseUnits:int!
        StartTime:int! StopTime:int! DateTP:date! SiteNum:big! HideGraphics:tiny!
        CanadianTypeCodes:v20! ProcTime:time! ProcTimeEnd:time! DateTStamp:ts Prognosis:big!
        DrugUnit:tiny! DrugQty:flt! UnitQtyType:tiny! StatementNum:big! IsLocked:tiny!
        BillingNote:v255! RepeatChargeNum:big! SnomedBodySite:v255! DiagnosticCode2:v255!
        DiagnosticCode3:v255! DiagnosticCode4:v255! ProvOrderOverride:big! Discount:dbl!
        IsDateProsthEst:tiny! IcdVersion:utiny! IsCpoe:tiny! SecUserNumEntry:big! SecDateEntry:date!=Z
        DateComplete:date!=Z OrderingReferralNum:big! TaxAmt:dbl! Urgency:tiny! DiscountPlanAmt:dbl!
        |
        CodeNum PlannedAptNum BillingTypeOne BillingTypeTwo Prognosis
        procedurelog_ProcNumLab=ProcNumLab ProcDate StatementNum RepeatChargeNum ProvOrderOverride
        indexPNPSCN=PatNum,ProcStatus,ClinicNum indexPNPD=ProvNum,ProcDate SecUserNumEntry ClinicNum
        indexAgingCovering=PatNum,ProcStatus,ProcFee,UnitQty,BaseUnits,ProcDate OrderingReferralNum
        PatStatusCodeDate=PatNum,ProcStatus,CodeNum,ProcDate DateComplete
        RadiologyProcs=AptNum,CodeNum,ProcStatus,IsCpoe,ProvNum Priority
    """,
    "procedurecode": """
        CodeNum:pk ProcCode:b15!= Descript:v255= AbbrDesc:v50= ProcTime:v24= ProcCat:big!
        TreatArea:utiny!=0 NoBillIns:ubool!=0 IsProsth:ubool!=0 DefaultNote:text IsHygiene:ubool!=0
        GTypeNum:usmall!=0 AlternateCode1:v15= MedicalCode:b15= IsTaxed:utiny!=0 PaintType:tiny!=0
        GraphicColor:int! LaymanTerm:v255= IsCanadianLab:utiny! PreExisting:bool!=0 BaseUnits:int!
        SubstitutionCode:v25 SubstOnlyIf:int! DateTStamp:ts IsMultiVisit:tiny! DrugNDC:v255!
        RevenueCodeDefault:v255! ProvNumDefault:big! CanadaTimeUnits:dbl! IsRadiology:tiny!
        DefaultClaimNote:text! DefaultTPNote:text! BypassGlobalLock:tiny! TaxCode:v16! PaintText:v255!
        |
        ProcCode ProvNumDefault
    """,
    "provider": """
        ProvNum:pk Abbr:v255 ItemOrder:usmall!=0 LName:v100= FName:v100= MI:v100= Suffix:v100=
        FeeSched:big! Specialty:big! SSN:v12= StateLicense:v15= DEANum:v15= IsSecondary:ubool!=0
        ProvColor:int!=0 IsHidden:ubool!=0 UsingTIN:ubool!=0 BlueCrossID:v25= SigOnFile:ubool!=1
        MedicaidID:v20= OutlineColor:int!=0 SchoolClassNum:big! NationalProvID:v255=
        CanadianOfficeNum:v100= DateTStamp:ts AnesthProvType:big! TaxonomyCodeOverride:v255!
        IsCDAnet:tiny! EcwID:v255! StateRxID:v255! IsNotPerson:tiny! StateWhereLicensed:v50!
        EmailAddressNum:big! IsInstructor:tiny! EhrMuStage:int! ProvNumBillingOverride:big!
        CustomID:v255! ProvStatus:tiny! IsHiddenReport:tiny! IsErxEnabled:tiny! Birthdate:date!=Z
        SchedNote:v255! WebSchedDescript:text! WebSchedImageLocation:v255! HourlyProdGoalAmt:dbl!
        DateTerm:date!=Z PreferredName:v100!
        |
        EmailAddressNum ProvNumBillingOverride FeeSched
    """,
    "operatory": """
        OperatoryNum:pk OpName:v255= Abbrev:v255= ItemOrder:usmall!=0 IsHidden:utiny!=0
        ProvDentist:big! ProvHygienist:big! IsHygiene:utiny!=0 ClinicNum:big! DateTStamp:ts
        SetProspective:tiny! IsWebSched:tiny! IsNewPatAppt:tiny!
        |
        ProvDentist ProvHygienist ClinicNum
    """,
    "claim": """
        ClaimNum:pk PatNum:big! DateService:date!=Z DateSent:date!=Z ClaimStatus:c1=
        DateReceived:date!=Z PlanNum:big! ProvTreat:big! ClaimFee:dbl!=0 InsPayEst:dbl!=0
        InsPayAmt:dbl!=0 DedApplied:dbl!=0 PreAuthString:v40= IsProsthesis:c1= PriorDate:date!=Z
        ReasonUnderPaid:v255= ClaimNote:v400 ClaimType:v255= ProvBill:big! ReferringProv:big!
        RefNumString:v40= PlaceService:utiny!=0 AccidentRelated:c1= AccidentDate:date!=Z
        AccidentST:v2= EmployRelated:utiny!=0 IsOrtho:ubool!=0 OrthoRemainM:utiny!=0 OrthoDate:date!=Z
        PatRelat:utiny!=0 PlanNum2:big! PatRelat2:utiny!=0 WriteOff:dbl!=0 Radiographs:utiny!=0
        ClinicNum:big! ClaimForm:big! AttachedImages:int! AttachedModels:int! AttachedFlags:v255
        AttachmentID:v255 CanadianMaterialsForwarded:v10! CanadianReferralProviderNum:v20!
        CanadianReferralReason:tiny! CanadianIsInitialLower:v5! CanadianDateInitialLower:date!=Z
        CanadianMandProsthMaterial:tiny! CanadianIsInitialUpper:v5! CanadianDateInitialUpper:date!=Z
        CanadianMaxProsthMaterial:tiny! InsSubNum:big! InsSubNum2:big! CanadaTransRefNum:v255!
        CanadaEstTreatStartDate:date!=Z CanadaInitialPayment:dbl! CanadaPaymentMode:utiny!
        CanadaTreatDuration:utiny! CanadaNumAnticipatedPayments:utiny! CanadaAnticipatedPayAmount:dbl!
        PriorAuthorizationNumber:v255! SpecialProgramCode:tiny! UniformBillType:v255! MedType:tiny!
        AdmissionTypeCode:v255! AdmissionSourceCode:v255! PatientStatusCode:v255! CustomTracking:big!
        DateResent:date!=Z CorrectionType:tiny! ClaimIdentifier:v255! OrigRefNum:v255!
        ProvOrderOverride:big! OrthoTotalM:utiny! ShareOfCost:dbl! SecUserNumEntry:big!
        SecDateEntry:date!=Z SecDateTEdit:ts OrderingReferralNum:big! DateSentOrig:date!=Z
        DateIllnessInjuryPreg:date!=Z DateIllnessInjuryPregQualifier:small! DateOther:date!=Z
        DateOtherQualifier:small! IsOutsideLab:tiny!
        |
        indexPatNum=PatNum indexPlanNum=PlanNum InsSubNum InsSubNum2 CustomTracking ProvOrderOverride
        SecUserNumEntry
        indexOutClaimCovering=PlanNum,ClaimStatus,ClaimType,PatNum,ClaimNum,DateService,ProvTreat,ClaimFee,ClinicNum
        OrderingReferralNum ProvBill ProvTreat ClinicNum
    """,
    "claimproc": """
        ClaimProcNum:pk ProcNum:big! ClaimNum:big! PatNum:big! ProvNum:big! FeeBilled:dbl!=0
        InsPayEst:dbl!=0 DedApplied:dbl!=0 Status:utiny!=0 InsPayAmt:dbl!=0 Remarks:v255=
        ClaimPaymentNum:big! PlanNum:big! DateCP:date!=Z WriteOff:dbl!=0 CodeSent:v15=
        AllowedOverride:dbl! Percentage:tiny!=-1 PercentOverride:tiny!=-1 CopayAmt:dbl!=-1
        NoBillIns:ubool!=0 PaidOtherIns:dbl!=-1 BaseEst:dbl!=0 CopayOverride:dbl!=-1 ProcDate:date!=Z
        DateEntry:date!=Z LineNumber:utiny! DedEst:dbl! DedEstOverride:dbl! InsEstTotal:dbl!
        InsEstTotalOverride:dbl! PaidOtherInsOverride:dbl! EstimateNote:v255! WriteOffEst:dbl!
        WriteOffEstOverride:dbl! ClinicNum:big! InsSubNum:big! PaymentRow:int! PayPlanNum:big!
        ClaimPaymentTracking:big! SecUserNumEntry:big! SecDateEntry:date!=Z SecDateTEdit:ts
        DateSuppReceived:date!=Z DateInsFinalized:date!=Z IsTransfer:tiny!
        |
        indexPatNum=PatNum indexPlanNum=PlanNum indexClaimNum=ClaimNum indexProvNum=ProvNum
        indexProcNum=ProcNum indexClaimPaymentNum=ClaimPaymentNum ClinicNum InsSubNum Status
        PayPlanNum indexCPNSIPA=ClaimPaymentNum,Status,InsPayAmt indexPNPD=ProvNum,ProcDate
        indexPNDCP=ProvNum,DateCP ClaimPaymentTracking SecUserNumEntry
        indexAcctCov=ProcNum,PlanNum,Status,InsPayAmt,InsPayEst,WriteOff,NoBillIns DateCP
        DateSuppReceived
        indexAgingCovering=Status,PatNum,DateCP,PayPlanNum,InsPayAmt,WriteOff,InsPayEst,ProcDate,ProcNum
        indexTxFinder=InsSubNum,ProcNum,Status,ProcDate,PatNum,InsPayAmt,InsPayEst
        indexOutClaimCovering=ClaimNum,ClaimPaymentNum,InsPayAmt,DateCP,IsTransfer
    """,
    "commlog": """
        CommlogNum:pk PatNum:big! CommDateTime:dt!=00 CommType:big! Note:text
        Mode_:utiny!=0 SentOrReceived:utiny!=0 UserNum:big! Signature:text! SigIsTopaz:tiny!
        DateTStamp:ts DateTimeEnd:dt!=Z CommSource:tiny ProgramNum:big!
        |
        PatNum CommDateTime CommType ProgramNum indexPNCDateCType=PatNum,CommDateTime,CommType UserNum
    """,
    "securitylog": """
        SecurityLogNum:pk PermType:utiny!=0 UserNum:big! LogDateTime:dt!=00
        LogText:text PatNum:big! CompName:v255! FKey:big! LogSource:tiny! DefNum:big! DefNumError:big!
        DateTPrevious:dt!=Z
        |
        PatNum FKey DefNum DefNumError UserNum LogDateTime PermType
    """,
    "securityloghash": """
        SecurityLogHashNum:pk SecurityLogNum:big! LogHash:v255!
        |
        SecurityLogNum
    """,
    "document": """
        DocNum:pk Description:v255= DateCreated:dt! DocCategory:big! PatNum:big! FileName:v255=
        ImgType:utiny!=0 IsFlipped:ubool!=0 DegreesRotated:small! ToothNumbers:v255= Note:mtext!
        SigIsTopaz:utiny! Signature:text CropX:int! CropY:int! CropW:int! CropH:int! WindowingMin:int!
        WindowingMax:int! MountItemNum:big! DateTStamp:ts RawBase64:mtext! Thumbnail:text!
        ExternalGUID:v255! ExternalSource:v255! ProvNum:big!
        |
        PatNum PNDC=PatNum,DocCategory
    """,
    "definition": """
        DefNum:pk Category:utiny!=0 ItemOrder:usmall!=0 ItemName:v255= ItemValue:v255=
        ItemColor:int!=0 IsHidden:utiny!=0
        |
    """,
    "preference": """
        PrefName:v255!= ValueString:text! PrefNum:pk Comments:text
        |
        PrefName
    """,
    "userod": """
        UserNum:pk UserName:v255= Password:v255= UserGroupNum:big! EmployeeNum:big! ClinicNum:big!
        ProvNum:big! IsHidden:bool! TaskListInBox:big! AnesthProvType:int2!=3 DefaultHidePopups:tiny!
        PasswordIsStrong:tiny! ClinicIsRestricted:tiny! InboxHidePopups:tiny! UserNumCEMT:big!
        DateTFail:dt!=Z FailedAttempts:utiny! DomainUser:v255! IsPasswordResetRequired:tiny!
        MobileWebPin:v255! MobileWebPinFailedAttempts:utiny! DateTLastLogin:dt!=Z
        |
        UserGroupNum ClinicNum ProvNum
    """,
    "insplan": """
        PlanNum:pk GroupName:v50= GroupNum:v25 PlanNote:text! FeeSched:big! PlanType:c1=
        ClaimFormNum:big! UseAltCode:ubool!=0 ClaimsUseUCR:ubool!=0 CopayFeeSched:big!
        EmployerNum:big! CarrierNum:big! AllowedFeeSched:big! TrojanID:v100= DivisionNo:v255=
        IsMedical:utiny!=0 FilingCode:big! DentaideCardSequence:utiny! ShowBaseUnits:bool!
        CodeSubstNone:bool! IsHidden:tiny! MonthRenew:tiny! FilingCodeSubtype:big!
        CanadianPlanFlag:v5! CanadianDiagnosticCode:v255! CanadianInstitutionCode:v255! RxBIN:v255!
        CobRule:tiny! SopCode:v255! SecUserNumEntry:big! SecDateEntry:date!=Z SecDateTEdit:ts
        HideFromVerifyList:tiny! OrthoType:tiny! OrthoAutoProcFreq:tiny!
        OrthoAutoProcCodeNumOverride:big! OrthoAutoFeeBilled:dbl! OrthoAutoClaimDaysWait:int!
        BillingType:big! HasPpoSubstWriteoffs:tiny! ExclusionFeeRule:tiny! ManualFeeSchedNum:big!=0
        |
        CarrierNum FilingCodeSubtype TrojanID SecUserNumEntry CarrierNumPlanNum=CarrierNum,PlanNum
        OrthoAutoProcCodeNumOverride BillingType FeeSched CopayFeeSched ManualFeeSchedNum
    """,
    "inssub": """
        InsSubNum:pk PlanNum:big! Subscriber:big! DateEffective:date!=Z DateTerm:date!=Z
        ReleaseInfo:tiny! AssignBen:tiny! SubscriberID:v255! BenefitNotes:text! SubscNote:text!
        SecUserNumEntry:big! SecDateEntry:date!=Z SecDateTEdit:ts
        |
        PlanNum Subscriber SecUserNumEntry
    """,
    "carrier": """
        CarrierNum:pk CarrierName:v255= Address:v255= Address2:v255= City:v255= State:v255= Zip:v255=
        Phone:v255= ElectID:v255= NoSendElect:ubool!=0 IsCDA:utiny! CDAnetVersion:v100=
        CanadianNetworkNum:big! IsHidden:tiny! CanadianEncryptionMethod:tiny!
        CanadianSupportedTypes:int! SecUserNumEntry:big! SecDateEntry:date!=Z SecDateTEdit:ts
        TIN:v255! CarrierGroupName:big! ApptTextBackColor:int! IsCoinsuranceInverted:tiny!
        TrustedEtransFlags:tiny! CobInsPaidBehaviorOverride:tiny! EraAutomationOverride:tiny!
        |
        SecUserNumEntry CarrierNumName=CarrierNum,CarrierName CanadianNetworkNum CarrierGroupName
    """,
    "payment": """
        PayNum:pk PayType:big! PayDate:date!=00 PayAmt:dbl!=0 CheckNum:v25= BankBranch:v25=
        PayNote:text! IsSplit:ubool!=0 PatNum:big! ClinicNum:big! DateEntry:date!=Z DepositNum:big!
        Receipt:text! IsRecurringCC:tiny! SecUserNumEntry:big! SecDateTEdit:ts PaymentSource:tiny!
        ProcessStatus:tiny! RecurringChargeDate:date!=Z ExternalId:v255! PaymentStatus:tiny!
        |
        indexPatNum=PatNum DepositNum SecUserNumEntry ClinicNum
    """,
    "paysplit": """
        SplitNum:pk SplitAmt:dbl!=0 PatNum:big! ProcDate:date!=00 PayNum:big!
        IsDiscount:ubool!=0 DiscountType:utiny!=0 ProvNum:big! PayPlanNum:big! DatePay:date!=Z
        ProcNum:big! DateEntry:date!=Z UnearnedType:big! ClinicNum:big! SecUserNumEntry:big!
        SecDateTEdit:ts FSplitNum:big! AdjNum:big! PayPlanChargeNum:big!
        |
        indexPatNum=PatNum ProcNum PayNum ClinicNum DatePay PayPlanNum SecUserNumEntry
        PrepaymentNum=FSplitNum indexPNAmt=ProcNum,SplitAmt AdjNum PayPlanChargeNum ProvNum
    """,
    "recall": """
        RecallNum:pk PatNum:big! DateDueCalc:date!=Z DateDue:date!=Z DatePrevious:date!=Z
        RecallInterval:int!=0 RecallStatus:big! Note:text IsDisabled:utiny!=0 DateTStamp:ts
        RecallTypeNum:big! DisableUntilBalance:dbl! DisableUntilDate:date!=Z DateScheduled:date!=Z
        Priority:tiny! TimePatternOverride:v255!
        |
        PatNum DateDue DatePrevious IsDisabled RecallTypeNum DateScheduled
    """,
    "schedule": """
        ScheduleNum:pk SchedDate:date!=00 StartTime:time!=00:00:00 StopTime:time!=00:00:00
        SchedType:utiny!=0 ProvNum:big! BlockoutType:big! Note:text Status:utiny!=0 EmployeeNum:big!
        DateTStamp:ts ClinicNum:big!
        |
        ProvNum SchedDate ClinicNumSchedType=ClinicNum,SchedType BlockoutType
        EmpDateTypeStopTime=EmployeeNum,SchedDate,SchedType,StopTime
    """,
    "treatplan": """
        TreatPlanNum:pk PatNum:big! DateTP:date!=Z Heading:v255= Note:text Signature:text
        SigIsTopaz:bool! ResponsParty:big! DocNum:big! TPStatus:tiny! SecUserNumEntry:big!
        SecDateEntry:date!=Z SecDateTEdit:ts UserNumPresenter:big! TPType:tiny!
        SignaturePractice:text! DateTSigned:dt!=Z DateTPracticeSigned:dt!=Z SignatureText:v255!
        SignaturePracticeText:v255!
        |
        indexPatNum=PatNum DocNum SecUserNumEntry UserNumPresenter
    """,
    "periomeasure": """
        PerioMeasureNum:pk PerioExamNum:big! SequenceType:utiny!=0 IntTooth:small! ToothValue:small!
        MBvalue:small! Bvalue:small! DBvalue:small! MLvalue:small! Lvalue:small! DLvalue:small!
        SecDateTEntry:dt!=Z SecDateTEdit:ts
        |
        PerioExamNum SecDateTEntry SecDateTEdit
    """,
    "procnote": """
        ProcNoteNum:pk PatNum:big! ProcNum:big! EntryDateTime:dt!=Z UserNum:big! Note:text
        SigIsTopaz:utiny! Signature:text
        |
        PatNum ProcNum UserNum
    """,
    "toothinitial": """
        ToothInitialNum:pk PatNum:big! ToothNum:v2= InitialType:utiny!=0 Movement:flt!=0
        DrawingSegment:text ColorDraw:int! SecDateTEntry:dt!=Z SecDateTEdit:ts DrawText:v255!
        |
        PatNum SecDateTEntry SecDateTEdit
    """,
    "sheetfield": """
        SheetFieldNum:pk SheetNum:big! FieldType:int! FieldName:v255 FieldValue:text FontSize:flt!
        FontName:v255 FontIsBold:tiny! XPos:int! YPos:int! Width:int! Height:int! GrowthBehavior:int!
        RadioButtonValue:v255! RadioButtonGroup:v255! IsRequired:tiny! TabOrder:int!
        ReportableName:v255 TextAlign:tiny! ItemColor:int!=-16777216 DateTimeSig:dt!=Z IsLocked:tiny!
        TabOrderMobile:int! UiLabelMobile:text! UiLabelMobileRadioButton:text!
        |
        SheetNum FieldType SheetNumFieldType=SheetNum,FieldType
    """,
    "perioexam": """
        PerioExamNum:pk PatNum:big! ExamDate:date!=00 ProvNum:big! DateTMeasureEdit:dt!=Z
        Note:text!
        |
        PatNum
    """,
    "patplan": """
        PatPlanNum:pk PatNum:big! Ordinal:utiny!=0 IsPending:utiny!=0 Relationship:utiny!=0
        PatID:v100= InsSubNum:big! OrthoAutoFeeBilledOverride:dbl!=-1 OrthoAutoNextClaimDate:date!=Z
        SecDateTEntry:dt!=Z SecDateTEdit:ts
        |
        indexPatNum=PatNum InsSubNum SecDateTEdit SecDateTEntry
    """,
    "sheet": """
        SheetNum:pk SheetType:int! PatNum:big! DateTimeSheet:dt!=Z FontSize:flt! FontName:v255
        Width:int! Height:int! IsLandscape:tiny! InternalNote:text Description:v255!
        ShowInTerminal:tiny! IsWebForm:tiny! IsMultiPage:tiny! IsDeleted:tiny! SheetDefNum:big!
        DocNum:big! ClinicNum:big! DateTSheetEdited:dt!=Z HasMobileLayout:tiny! RevID:int!
        |
        PatNum SheetDefNum DocNum ClinicNum
    """,
    "files": """
        DocNum:pk Data:blob! Thumbnail:blob
        |
    """,
}
