"""How names are compared when staff search for a patient: without case or accents, so
"ELODIE" and "Élodie" find the same person, and "O'Brien" is found by "obrien" or "o brien".

The folded text is stored beside each demographics version (`search_name`) when it is
written, because SQLite's lower() folds ASCII only and neither database removes accents
without extensions; comparing stored folded text works the same on both.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that do not decompose into a base letter and a mark.
_SPECIAL = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l",
                          "þ": "th", "ð": "d", "ı": "i"})
_SEPARATORS = re.compile(r"[\s,;.'’`\-‐‑]+")


def fold(text: str) -> str:
    """Lower case, accents removed, punctuation and runs of spaces as single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_SPECIAL))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", bare).strip()


def search_name(given_name: str, family_name: str) -> str:
    """The stored search text: both names folded, each word bounded by spaces so a query
    word can be matched at the start of a name word (" smi" finds "Smith")."""
    return f" {fold(given_name)} {fold(family_name)} "


def query_words(query: str) -> list[str]:
    """The words of a typed query, folded; "Smith, John" and "John Smith" give the same."""
    return [word for word in fold(query).split(" ") if word]
