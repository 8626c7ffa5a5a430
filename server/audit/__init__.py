"""Audit log: one record per policy decision, in the key database, readable by the session's owner."""

from server.audit.reader import read_session_audit
from server.audit.records import AuditRecord
from server.audit.writer import AuditLog

__all__ = ["AuditLog", "AuditRecord", "read_session_audit"]
