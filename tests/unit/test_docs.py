"""The project carries its own rules: docs/ exists, and nothing points outside the repository.

The content rules, design and interface used to live in files beside the repository
that a person who clones only this repository does not have. These tests fail when a
file refers to them again, when the README links to a page of docs/ that is missing, or
when the content rules page loses a rule or a number the checker relies on.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from content.checker import RULES, Settings
from content.loader import CHECKER_FILE, PACKAGE_CONTENT

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = ("README.md", "content-rules.md", "architecture.md", "data-model.md",
         "public-interface.md")
# Files that lived outside the repository, and paths that lead out of it.
OUTSIDE = re.compile(rb"CONTENT-RULES|DESIGN\.md|STYLE\.md|\.\./shared|/work/")
# Not part of the project (what .gitignore lists, and a worktree's .git file, which
# names where its repository is): skipped when git cannot list the files.
SKIPPED = {".git", ".venv", "venv", "instance", "node_modules", "__pycache__", ".mypy_cache",
           ".ruff_cache", ".pytest_cache", ".hypothesis", "build", "dist"}
SKIPPED_PATHS = {ROOT / "bench" / "results"}
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _project_files() -> list[Path]:
    """Every file git tracks or would track (not ignored), else every file on disk."""
    if (ROOT / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, check=True).stdout
        return [ROOT / name for name in listed.decode().split("\0") if name]
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED and not d.endswith(".egg-info")
                   and Path(folder) / d not in SKIPPED_PATHS]
        found += [Path(folder) / name for name in files if name not in SKIPPED]
    return found


def test_no_file_refers_to_anything_outside_the_repository() -> None:
    here = Path(__file__).resolve()
    offenders = []
    for path in _project_files():
        if path.resolve() == here or not path.is_file():
            continue
        for number, line in enumerate(path.read_bytes().splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: "
                                 f"{line.decode(errors='replace').strip()}")
    assert not offenders, ("point these at docs/ instead:\n" + "\n".join(offenders))


def test_every_docs_page_exists_and_is_indexed() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for page in PAGES:
        assert (DOCS / page).is_file(), f"docs/{page} is missing"
        if page != "README.md":
            assert f"]({page})" in index, f"docs/README.md does not link to {page}"


def test_every_docs_page_the_readme_links_to_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = [target.split("#")[0] for target in LINK.findall(readme)
              if target.startswith("docs/")]
    assert "docs/README.md" in linked, "README.md does not link to docs/"
    missing = [target for target in linked if not (ROOT / target).is_file()]
    assert not missing, f"README.md links to missing pages: {missing}"


@pytest.mark.parametrize("page", PAGES)
def test_links_between_pages_lead_to_files_in_the_repository(page: str) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address, or a heading on the same page
        path = (DOCS / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT), f"docs/{page} links outside the repository: {target}"
        assert path.exists(), f"docs/{page} links to a missing file: {target}"


def test_the_content_rules_page_names_every_rule_and_number_the_checker_uses() -> None:
    text = (DOCS / "content-rules.md").read_text(encoding="utf-8")
    for rule in RULES:
        assert f"`{rule}`" in text, f"the checker's rule {rule!r} is not described"
    settings = Settings.load(PACKAGE_CONTENT / CHECKER_FILE)
    for name, profile in settings.profiles.items():
        assert f"`{name}`" in text, f"the checker's profile {name!r} is not described"
        assert f"at most **{profile.max_words_per_sentence}**" in text, (
            f"{name}: at most {profile.max_words_per_sentence} words a sentence")
    assert f"allows **{settings.sms_max_segments}** segment" in text
    for language, most in settings.sms_max_by_language.items():
        assert f"**{most}** for" in text and f"(`{language}`)" in text, language
    for capital in settings.allowed_capitals:
        assert f"`{capital}`" in text, f"the allowed capital {capital!r} is not listed"
