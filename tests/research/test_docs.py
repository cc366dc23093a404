"""docs/research-export.md describes every exported column, and the dictionary is complete."""

from __future__ import annotations

from pathlib import Path

from ketaflow.research import columns
from ketaflow.research.columns import Rule

DOC = Path(__file__).resolve().parents[2] / "docs" / "research-export.md"


def test_the_doc_lists_every_column_of_every_table() -> None:
    text = DOC.read_text()
    missing = [f"{t.name}.{c.name}" for t in columns.TABLES for c in t.columns
               if f"`{c.name}`" not in text.split(f"### `{t.name}.csv`")[1].split("###")[0]]
    assert not missing, f"not in docs/research-export.md: {missing}"


def test_shifted_columns_and_only_they_are_marked_not_safe_harbor() -> None:
    for table in columns.TABLES:
        for column in table.columns:
            assert (column.rule is Rule.SHIFTED) == column.name.endswith("_shifted"), column
            assert column.kind.value in {"date", "datetime"} or column.rule is not Rule.SHIFTED


def test_no_column_can_hold_free_text_or_an_identifier() -> None:
    """Text columns are codes, pseudonyms or grouped ages: none is an open field."""
    banned = ("name", "mrn", "phone", "email", "address", "note", "reason", "birth", "message")
    for table in columns.TABLES:
        assert len(set(table.header)) == len(table.header)
        for column in table.columns:
            assert not any(word in column.name for word in banned), column.name
            if column.kind.value == "string":
                assert column.rule in {Rule.CODED, Rule.PSEUDONYM, Rule.AGE}, column.name


def test_the_markdown_dictionary_has_a_line_per_column() -> None:
    text = columns.dictionary_markdown()
    assert sum(len(t.columns) for t in columns.TABLES) == text.count("\n| `")
