"""Errors a bot raises, split the way RPA practice splits them — the one tree of ``backroom.bots``.

    BotError
    ├── BusinessError            the data is wrong: record it, report it, carry on; never retried
    │   ├── FormatError          formats: a file's content is not what its format promises
    │   │   ├── EncodingError        the bytes fit none of the encodings tried
    │   │   ├── TabularFileError     a spreadsheet/CSV cannot be read as a whole
    │   │   ├── StatementError       a bank statement cannot be read (file, line, field)
    │   │   ├── PayrollSheetError    a payroll sheet or HR roster cannot be read (file, sheet, column)
    │   │   └── AmountError          a cell is not an amount or a date (also a ValueError)
    │   ├── TicketError          systems.helpdesk: one ticket cannot be handled
    │   │   ├── TicketNotFound       no ticket with that id
    │   │   ├── TicketChanged        someone changed it since it was read (never overwritten)
    │   │   └── ChangeRefused        the helpdesk kept a value the bot asked to change
    │   ├── AccountRefused       systems.accounts: the system refused a value for one account
    │   ├── DoNotCall            systems.dialer: the number is on the do-not-call list
    │   ├── FormRejected         systems.form: the form refused the record's values
    │   ├── FieldError           migrate: a record's field fails its mapping or check
    │   ├── LedgerError          reconcile: a ledger file cannot be read
    │   └── ClaimsSheetError     expenses: a claims sheet cannot be read
    └── ApplicationError         the machinery is wrong: the run fails unless it is transient
        ├── TransientError       worth retrying (timeouts, 429/5xx, lost sessions, half downloads)
        ├── ConfigError          the deployment is wrong (unknown system or backend, bad option)
        │   ├── PathRefused          sdk.paths: a path lies outside the run's roots
        │   └── InputFolderMissing   sdk.paths: a configured input folder does not exist (never created)
        ├── MissingSecretError   a referenced secret is absent; names the reference, never a value
        ├── SchemaError          sdk.db: Backroom's own tables are not what their migrations expect
        ├── NotifyError          sdk.notify: a message could not be delivered
        ├── HelpdeskError        systems.helpdesk: the helpdesk answered something unusable
        ├── AccountSystemError   systems.accounts: the account system answered something unusable
        ├── DialerError          systems.dialer: the call platform answered something unusable
        ├── MetricSourceError    systems.metric_sources: a source could not be read
        │   └── LayoutError          a page or file lacks a column the mapping names
        └── ProofError           migrate: the target holds something else than was written

No class is both: an adapter converts what it sees at its boundary (an HTTP 404 or 412, a page's
message) into exactly one branch, as httpx maps transport errors into its own tree. So
``except ApplicationError`` never swallows a data problem, and ``except BusinessError`` never hides
a broken system. The runner retries a run only when it ends in a ``TransientError``.
"""

from __future__ import annotations

__all__ = [
    "ApplicationError",
    "BotError",
    "BusinessError",
    "ConfigError",
    "MissingSecretError",
    "TransientError",
]


class BotError(Exception):
    """Base of every error a bot raises on purpose."""


class BusinessError(BotError):
    """A problem with the data itself: report it and go on with the next item."""


class ApplicationError(BotError):
    """A problem with the machinery: the run fails unless it is transient and retried."""


class TransientError(ApplicationError):
    """A passing fault (timeout, 429, 5xx, expired session): the runner may retry the run."""


class ConfigError(ApplicationError):
    """The configuration does not describe a usable system or option."""


class MissingSecretError(ApplicationError):
    """A secret reference could not be resolved. The message names the reference only."""

    def __init__(self, ref: str, why: str = "not set") -> None:
        super().__init__(f"secret {ref!r} is {why}")
        self.ref = ref
