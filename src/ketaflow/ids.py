"""Record ids in request bodies and forms: within the database's integer range.

Integer primary keys are 32-bit on PostgreSQL. An id beyond that range names no record, and
looking it up would fail in the database (an overflow, a 500) instead of answering 422 naming
the field. Ids in the URL path are checked by the web layer; these are the ones a body or a
form names (a course, a session, a witness, a ledger entry).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_RECORD_ID = 2**31 - 1

RecordId = Annotated[int, Field(ge=1, le=MAX_RECORD_ID)]
