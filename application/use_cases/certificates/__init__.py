"""Certificates: who may be certified (eligibility), issuing, batches, revocation and reinstatement,
verification, and the notices that tell holders."""

from arccm.application.use_cases.certificates.batches import (
    BatchIssueCertificatesHandler,
    BatchProgress,
    BatchReport,
    Candidate,
    ResumeBatchHandler,
)
from arccm.application.use_cases.certificates.eligibility import Candidates, CompletionSource, Eligible, Ineligible
from arccm.application.use_cases.certificates.issuing import IssueCertificateHandler, Issued
from arccm.application.use_cases.certificates.revocation import ReinstateCertificateHandler, RevokeCertificateHandler
from arccm.application.use_cases.certificates.verification import Verification, VerifyCertificateHandler

__all__ = [
    "BatchIssueCertificatesHandler",
    "BatchProgress",
    "BatchReport",
    "Candidate",
    "Candidates",
    "CompletionSource",
    "Eligible",
    "Ineligible",
    "IssueCertificateHandler",
    "Issued",
    "ReinstateCertificateHandler",
    "ResumeBatchHandler",
    "RevokeCertificateHandler",
    "Verification",
    "VerifyCertificateHandler",
]
