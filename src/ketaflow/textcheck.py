"""Refusing invisible characters in person names (patients, staff, witnesses).

Bidirectional override and isolate controls reorder how a name is displayed without changing what
is stored ("Trojan Source", CVE-2021-42574), and zero-width characters make two different stored
names look identical, so a search, a duplicate check or an identity check at the chair can be
fooled by what the eye cannot see. Neither belongs in a name. This module imports nothing from
ketaflow, so the staff-account code can use it as well; callers turn `NameCharacterError` into
their own error type.
"""

from __future__ import annotations

# U+202A-U+202E: LRE, RLE, PDF, LRO, RLO; U+2066-U+2069: LRI, RLI, FSI, PDI.
BIDI_CONTROLS = frozenset(chr(code) for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
# Zero width space, non-joiner, joiner; word joiner; byte-order mark (zero width no-break space).
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
FORBIDDEN_IN_NAMES = BIDI_CONTROLS | ZERO_WIDTH

# Control characters no text may hold, as regular-expression ranges: in a one-line value (a
# path or query parameter) and in a body (where tab and line breaks are allowed, for notes).
# The web guard refuses them in every request; the API's schemas state them as patterns.
CONTROLS_IN_LINE = r"\u0000-\u001f\u007f"
CONTROLS_IN_TEXT = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f"


class NameCharacterError(ValueError):
    """A name holds a forbidden character; the message names the field and the code point
    (never the name itself, which identifies a person)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def forbidden_characters(text: str) -> list[str]:
    """The forbidden code points found in `text`, in order of first appearance ("U+202E")."""
    found = dict.fromkeys(f"U+{ord(char):04X}" for char in text if char in FORBIDDEN_IN_NAMES)
    return list(found)


def check_person_name(text: str | None, *, field: str, label: str | None = None) -> None:
    """Raise NameCharacterError if `text` holds a bidi control or a zero-width character."""
    if not text:
        return
    found = forbidden_characters(text)
    if found:
        raise NameCharacterError(
            f"{label or field.replace('_', ' ')} must not contain invisible or text-direction "
            f"control characters (found {', '.join(found)})",
            field=field,
        )
