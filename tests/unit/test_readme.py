"""README.md stays navigable: its contents list every section, and every in-page link lands on a heading."""

import re

from infra import cfn

README = (cfn.DEFAULT_TEMPLATE_PATH.parent / "README.md").read_text(encoding="utf-8")
# Headings outside code blocks (a shell comment in a fenced block starts with "#" too).
PROSE = re.sub(r"^ *```.*?^ *```", "", README, flags=re.MULTILINE | re.DOTALL)
HEADINGS = re.findall(r"^(#{2,6}) (.+)$", PROSE, re.MULTILINE)


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_contents_when_listed_name_every_section_in_order() -> None:
    contents = PROSE.split("## Contents", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^- \[[^\]]+\]\(#([^)]+)\)", contents, re.MULTILINE)
    sections = [_anchor(text) for level, text in HEADINGS if level == "##" and text != "Contents"]

    assert listed == sections


def test_in_page_links_when_followed_land_on_a_heading() -> None:
    anchors = {_anchor(text) for _, text in HEADINGS}
    targets = set(re.findall(r"\]\(#([^)]+)\)", PROSE))

    assert targets <= anchors, targets - anchors
