"""Import every model module so metadata and mappers are complete (used by the factory and Alembic)."""

from training.audit.models import AuditEvent
from training.auth.models import Department, PasswordReset, RecoveryCode, User, UserSession
from training.certificates.models import Certificate, CertificateFile, CertificateRevocation
from training.compliance.models import (
    ApiToken,
    Attestation,
    Obligation,
    Policy,
    PolicyCourse,
    PolicyReading,
    PolicyVersion,
    Reminder,
    Requirement,
)
from training.courses.models import AttemptAllowance, Completion, Course, ModuleProgress, TrainingModule
from training.quizzes.models import (
    AttemptAnswer,
    AttemptQuestion,
    Question,
    QuestionOption,
    QuestionVersion,
    QuizAttempt,
)
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
    "Course",
    "Department",
    "ModuleProgress",
    "Obligation",
    "PasswordReset",
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
