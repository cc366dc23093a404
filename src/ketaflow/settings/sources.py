"""The project's clinical sources document (docs/clinical-sources.md) rendered as HTML.

Every heading gets an id equal to its GitHub-style slug, so the settings page (and any other
page) links a threshold to its entry as `/sources#<slug>`. Raw HTML in the document is not
rendered (html=False); tables are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

# src/ketaflow/settings/sources.py -> the repository root is three folders up from src/ketaflow.
SOURCES_PATH = Path(__file__).resolve().parents[3] / "docs" / "clinical-sources.md"


def slugify(text: str) -> str:
    """GitHub's heading anchor: lowercase, punctuation other than hyphens and spaces removed,
    spaces to hyphens ("Vital-sign criteria" -> "vital-sign-criteria")."""
    lowered = text.strip().lower()
    kept = re.sub(r"[^\w\- ]", "", lowered)
    return kept.replace(" ", "-")


def _heading_open(renderer: RendererHTML, tokens: Sequence[Token], idx: int,
                  options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    inline = tokens[idx + 1]
    title = "".join(child.content for child in inline.children or ()
                    if child.type in ("text", "code_inline"))
    seen: dict[str, int] = env.setdefault("slugs", {})
    slug = slugify(title)
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    token.attrSet("id", slug if count == 0 else f"{slug}-{count}")
    return renderer.renderToken(tokens, idx, options, env)


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")
    parser.add_render_rule("heading_open", _heading_open)
    return parser


_PARSER = _parser()


@dataclass(frozen=True)
class SourcesDocument:
    html: str | None  # None when the document is missing
    path: Path


def render_markdown(text: str) -> str:
    env: dict[str, Any] = {}
    html: str = _PARSER.render(text, env)
    return html


def load_sources(path: Path = SOURCES_PATH) -> SourcesDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        return SourcesDocument(None, path)
    return SourcesDocument(render_markdown(text), path)
