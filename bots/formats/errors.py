"""Errors of the file formats room: one root, itself a business error of the SDK.

    BusinessError (backroom.bots.sdk.errors)
    └── FormatError              a file's content is not what its format promises
        ├── EncodingError        the bytes are neither the declared encoding nor UTF-8/GBK/GB18030
        ├── TabularFileError     a CSV or Excel list cannot be read as a whole (no header, bad bytes)
        ├── StatementError       a bank statement cannot be read as promised (file, line, field)
        ├── PayrollSheetError    a payroll sheet cannot be read as promised (file, sheet, column)
        └── AmountError          a cell is not an amount or a date (also a ValueError, as before)

Every one of them is about the data, never the machinery: a caller rejects the file (or the line)
with the message and reads on; none is worth a retry. Callers that need only "this file is bad"
catch :class:`FormatError`.
"""

from __future__ import annotations

from backroom.bots.sdk.errors import BusinessError

__all__ = ["EncodingError", "FormatError"]


class FormatError(BusinessError):
    """The root of the formats room: the file's content does not fit its format."""


class EncodingError(FormatError):
    """The bytes cannot be decoded as any encoding tried; says which, and where decoding stopped.

    ``offset`` is the byte where decoding failed (or the first suspicious character began) and
    ``line`` its 1-based line, so a caller can point a person at the place in the file. ``foreign``
    is True when the bytes did decode, but into characters that say "another encoding" (Big5 read
    as GB18030), False when they are not valid in any encoding tried.
    """

    def __init__(self, message: str, *, tried: tuple[str, ...], offset: int, line: int, foreign: bool) -> None:
        self.tried = tried
        self.offset = offset
        self.line = line
        self.foreign = foreign
        super().__init__(message)
