"""Errors the extractor raises, each worded for the person running the sync.

Two families matter to callers: :class:`RunStopped` ends the whole run (API
budget reached, authentication lost, configuration missing) while
:class:`ObjectFailed` ends one object's load, which is rolled back and retried
by the next run. Messages never contain secrets (see ``connection.scrub``).
"""

from __future__ import annotations


class ExtractError(Exception):
    """Base class for extraction errors; the message is safe to show and log."""


class ConfigurationError(ExtractError):
    """The Salesforce connection or the object list is not configured correctly."""


class RunStopped(ExtractError):
    """The run must stop now; objects already committed stay committed."""


class ApiLimitReached(RunStopped):
    """The org's daily API budget is used up (or our configured share of it)."""


class AuthenticationLost(RunStopped):
    """The session expired and re-authenticating did not help."""


class ObjectFailed(ExtractError):
    """One object could not be loaded; its raw table and watermark are unchanged."""


class TransientRetriesExhausted(ObjectFailed):
    """A request kept failing with transient errors after every retry."""


class BulkFailed(ExtractError):
    """A Bulk API 2.0 job failed; the caller falls back to REST."""


class SchemaConflict(ObjectFailed):
    """A field changed type in a way the existing raw column cannot hold without loss."""
