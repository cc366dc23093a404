"""Registry of every domain's ORM classes, so Alembic and the mappers see the whole schema."""

from ketaflow.alerts.models import Alert
from ketaflow.assessments.models import Assessment, AssessmentResult
from ketaflow.audit.models import AuditCheckpoint, AuditEvent, AuditSeal
from ketaflow.auth.models import (
    ApiToken,
    DemoCredential,
    StaffSession,
    StaffUser,
    ThrottleCounter,
)
from ketaflow.booking.models import (
    Appointment,
    AppointmentSeries,
    Chair,
    Site,
    SiteClosure,
    StaffShift,
    WaitlistEntry,
)
from ketaflow.clinic.models import ClinicProfile
from ketaflow.courses.models import CourseStateChange, MaintenanceBooster, TreatmentCourse
from ketaflow.db import Base
from ketaflow.fhir.bulk.models import FhirExportJob
from ketaflow.fhir.referrals.models import PatientIdentifier
from ketaflow.fhir.smart.models import SystemClient, SystemToken, UsedAssertion
from ketaflow.infusions.controlled.models import LedgerRow
from ketaflow.infusions.models import (
    Discharge,
    IdempotentRequest,
    InfusionOrder,
    InfusionSession,
    SessionAlert,
    SessionEvent,
    SessionNote,
    VitalsRecord,
)
from ketaflow.jobs.models import OutboxMessage
from ketaflow.moodchart.models import MoodEntry, MoodLink
from ketaflow.outcomes.models import (
    OutcomeBaseline,
    OutcomeCourse,
    OutcomeLow,
    OutcomeSession,
    OutcomeStalePatient,
    OutcomeWeek,
)
from ketaflow.patients.models import (
    Allergy,
    Diagnosis,
    Measurement,
    Medication,
    NoKnownAllergies,
    Patient,
    PatientDemographics,
    TreatmentTrial,
)
from ketaflow.portal.models import PortalLink
from ketaflow.reminders.models import ReminderPlan
from ketaflow.reports.models import ServiceCode
from ketaflow.screening.models import Consent, Screening, ScreeningAnswer
from ketaflow.settings.models import SettingChange
from ketaflow.web.submissions import FormSubmission

__all__ = [
    "Alert",
    "Allergy",
    "ApiToken",
    "Appointment",
    "AppointmentSeries",
    "Assessment",
    "AssessmentResult",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditSeal",
    "Base",
    "Chair",
    "ClinicProfile",
    "Consent",
    "CourseStateChange",
    "DemoCredential",
    "Diagnosis",
    "Discharge",
    "FhirExportJob",
    "FormSubmission",
    "IdempotentRequest",
    "InfusionOrder",
    "InfusionSession",
    "LedgerRow",
    "MaintenanceBooster",
    "Measurement",
    "Medication",
    "MoodEntry",
    "MoodLink",
    "NoKnownAllergies",
    "OutboxMessage",
    "OutcomeBaseline",
    "OutcomeCourse",
    "OutcomeLow",
    "OutcomeSession",
    "OutcomeStalePatient",
    "OutcomeWeek",
    "Patient",
    "PatientDemographics",
    "PatientIdentifier",
    "PortalLink",
    "ReminderPlan",
    "Screening",
    "ScreeningAnswer",
    "ServiceCode",
    "SessionAlert",
    "SessionEvent",
    "SessionNote",
    "SettingChange",
    "Site",
    "SiteClosure",
    "StaffSession",
    "StaffShift",
    "StaffUser",
    "SystemClient",
    "SystemToken",
    "ThrottleCounter",
    "TreatmentCourse",
    "TreatmentTrial",
    "UsedAssertion",
    "VitalsRecord",
    "WaitlistEntry",
]
