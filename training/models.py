"""Import every model module so metadata and mappers are complete (used by the factory and Alembic)."""

from training.audit.models import AuditEvent
from training.auth.models import Department, User, UserSession
from training.certificates.models import Certificate, CertificateFile, CertificateRevocation
from training.courses.models import Completion, Course, ModuleProgress, TrainingModule
from training.quizzes.models import (
    AttemptAnswer,
    AttemptQuestion,
    Question,
    QuestionOption,
    QuestionVersion,
    QuizAttempt,
)

__all__ = [
    "AttemptAnswer",
    "AttemptQuestion",
    "AuditEvent",
    "Certificate",
    "CertificateFile",
    "CertificateRevocation",
    "Completion",
    "Course",
    "Department",
    "ModuleProgress",
    "Question",
    "QuestionOption",
    "QuestionVersion",
    "QuizAttempt",
    "TrainingModule",
    "User",
    "UserSession",
]
