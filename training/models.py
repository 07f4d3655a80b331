"""Import every model module so metadata and mappers are complete (used by the factory and Alembic)."""

from training.api.models import ApiToken
from training.audit.models import AuditEvent
from training.auth.models import (
    Department,
    PasswordReset,
    PersonWord,
    PersonWordPending,
    RecoveryCode,
    User,
    UserSession,
)
from training.certificates.models import Certificate, CertificateFile, CertificateRevocation
from training.completions.models import Completion, ModuleProgress
from training.compliance.models import FirstBreachCount, Obligation, ObligationCount, PeopleCount, Requirement
from training.content.models import ContentVersion, Course, Question, QuestionOption, QuestionVersion, TrainingModule
from training.jobs.models import Job
from training.policies.models import Attestation, Policy, PolicyCourse, PolicyReading, PolicyVersion
from training.quizzes.models import AttemptAllowance, AttemptAnswer, AttemptQuestion, QuizAttempt
from training.reminders.models import Reminder
from training.scim.models import ScimToken
from training.sso.models import SsoIdentity
from training.sso.saml.models import SamlAssertionUsed

__all__ = [
    "ApiToken",
    "AttemptAllowance",
    "AttemptAnswer",
    "AttemptQuestion",
    "Attestation",
    "AuditEvent",
    "Certificate",
    "CertificateFile",
    "CertificateRevocation",
    "Completion",
    "ContentVersion",
    "Course",
    "Department",
    "FirstBreachCount",
    "Job",
    "ModuleProgress",
    "Obligation",
    "ObligationCount",
    "PasswordReset",
    "PeopleCount",
    "PersonWord",
    "PersonWordPending",
    "Policy",
    "PolicyCourse",
    "PolicyReading",
    "PolicyVersion",
    "Question",
    "QuestionOption",
    "QuestionVersion",
    "QuizAttempt",
    "RecoveryCode",
    "Reminder",
    "Requirement",
    "SamlAssertionUsed",
    "ScimToken",
    "SsoIdentity",
    "TrainingModule",
    "User",
    "UserSession",
]
