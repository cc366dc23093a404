"""Every clinical setting is bounded and traced to an entry in docs/clinical-sources.md.

The doc is the project's own list of sources: code cites it by anchor, the doc cites the primary
literature. These tests keep the two in step: every setting has sane bounds and an anchor that
exists, no source string still points at the old, missing "clinical reference", and every
`docs/clinical-sources.md#anchor` written anywhere in src/ or docs/ resolves to a heading.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ketaflow.settings.service import DEFAULTS, GROUPS, SettingsGroup
from ketaflow.sourced import SettingInfo, describe

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "clinical-sources.md"
DOC_LINK = re.compile(r"(?:docs/)?clinical-sources\.md#([A-Za-z0-9_-]+)")

# Anchors other parts of the code cite; they must exist whoever writes the code.
REQUIRED_ANCHORS = (
    "contraindications", "interactions", "pregnancy-and-breastfeeding", "substance-use-disorder",
    "benzodiazepine-load", "treatment-resistance", "codes", "vital-sign-criteria", "ymrs",
    "suicidality-pathway", "course-baseline", "crisis-lines",
)  # fmt: skip


def slug(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation other than hyphens and underscores
    dropped, each space a hyphen."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def doc_anchors() -> set[str]:
    anchors: set[str] = set()
    in_code = False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        match = re.match(r"#{1,6}\s+(.+?)\s*#*$", line)
        if match and not in_code:
            anchor = slug(match.group(1))
            assert anchor not in anchors, f"two headings share the anchor #{anchor}"
            anchors.add(anchor)
    return anchors


def settings_groups() -> tuple[SettingsGroup, ...]:
    """The shipped defaults of every settings group, as the settings page lists them."""
    return tuple(SettingsGroup(group.key, group.title, group.purpose,
                               describe(getattr(DEFAULTS, group.key))) for group in GROUPS)


ANCHORS = doc_anchors()
SETTINGS = [
    pytest.param(group.title, info, id=f"{group.title}:{info.name}")
    for group in settings_groups()
    for info in group.settings
]


def test_slug_matches_github_style() -> None:
    assert slug("Vital-sign criteria") == "vital-sign-criteria"
    assert slug("C-SSRS screener") == "c-ssrs-screener"
    assert slug("The treatment and dose") == "the-treatment-and-dose"
    assert slug("BPRS positive items") == "bprs-positive-items"


@pytest.mark.parametrize("anchor", REQUIRED_ANCHORS)
def test_required_anchor_exists(anchor: str) -> None:
    assert anchor in ANCHORS


@pytest.mark.parametrize(("group", "info"), SETTINGS)
def test_setting_is_bounded_and_points_to_its_entry(group: str, info: SettingInfo) -> None:
    assert info.minimum is not None and info.maximum is not None, (
        f"{group}: {info.name} needs minimum= and maximum="
    )
    assert info.minimum <= info.default <= info.maximum, f"{group}: {info.name}"
    assert info.minimum <= info.value <= info.maximum, f"{group}: {info.name}"
    assert info.ref, f"{group}: {info.name} needs ref="
    assert info.ref in ANCHORS, f"{group}: {info.name} ref #{info.ref} is not a heading"
    assert "clinical reference, section" not in info.source


def test_there_are_settings_in_every_group() -> None:
    assert all(group.settings for group in settings_groups())


def _text_files(*folders: str) -> list[Path]:
    found: list[Path] = []
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in {".py", ".md", ".html", ".jinja", ".txt", ".j2"}:
                found.append(path)
    return found


def test_no_source_cites_the_missing_clinical_reference() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in _text_files("src")
        if re.search(r"clinical\s+reference,?\s+sections?\b", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_every_link_into_clinical_sources_resolves() -> None:
    broken = [
        f"{path.relative_to(ROOT)}: #{anchor}"
        for path in _text_files("src", "docs")
        for anchor in DOC_LINK.findall(path.read_text(encoding="utf-8"))
        if anchor not in ANCHORS
    ]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    broken += [f"README.md: #{a}" for a in DOC_LINK.findall(readme) if a not in ANCHORS]
    assert broken == []
    # Links inside the doc itself.
    inner = re.findall(r"\]\(#([A-Za-z0-9_-]+)\)", DOC.read_text(encoding="utf-8"))
    assert [anchor for anchor in inner if anchor not in ANCHORS] == []
