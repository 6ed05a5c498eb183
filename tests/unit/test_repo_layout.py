"""The repository keeps its own promises: the README's layout is the tree, the docs link only to
files that exist, the Makefile's .PHONY names only real targets, and generated output stays out of
git (so `make bench` or an install never dirties the tree)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _layout_block() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Layout\n", 1)[1]
    return section.split("```\n", 2)[1].splitlines()


def _git(*args: str) -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    # git reads only the local repository here; no network
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def test_every_path_the_readme_layout_names_exists() -> None:
    named = []
    for line in _layout_block():
        # "rollgate_cdk/   constructs ...", "app.py, cdk.json   CDK entry ...", "  rollgate/aws/ boto3 ..." (a
        # package of functions/); a line indented further continues the description above it
        if not line.strip() or line.startswith("   "):
            continue
        parent = "functions/" if line.startswith("  ") else ""
        words = line.split()
        names = [words[0]]
        while names[-1].endswith(",") and len(names) < len(words):
            names.append(words[len(names)])
        named += [parent + name.rstrip(",") for name in names]
    missing = [name for name in named if not (ROOT / name).exists()]
    assert named, "the README has no layout block"
    assert not missing, f"the README's layout names paths that do not exist: {missing}"


def test_every_top_level_folder_is_in_the_readme_layout() -> None:
    tracked = {path.split("/", 1)[0] for path in _git("ls-files") if "/" in path and not path.startswith(".")}
    layout = "\n".join(_layout_block())
    missing = sorted(folder for folder in tracked if f"{folder}/" not in layout)
    assert not missing, f"top-level folders missing from the README's layout: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_in_the_docs_resolves(doc: Path) -> None:
    targets = re.findall(r"\]\(([^)#\s]+)", doc.read_text())
    broken = [t for t in targets if not t.startswith(("http://", "https://")) and not (doc.parent / t).exists()]
    assert not broken, f"{doc.relative_to(ROOT)} links to files that do not exist: {broken}"


def test_the_makefile_phony_list_names_only_real_targets() -> None:
    makefile = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", makefile, flags=re.MULTILINE)
    assert phony is not None
    rules = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.MULTILINE))
    assert sorted(set(phony.group(1).split()) - rules) == []


def test_generated_output_is_not_tracked() -> None:
    tracked = _git("ls-files")
    generated = [p for p in tracked if p.startswith(("rollgate_bench/results/", "cdk.out/")) or ".egg-info/" in p]
    assert generated == []
    # what `make bench` and `make chaos` write is ignored, so a run leaves `git status` clean
    ignored = _git(
        "check-ignore", "rollgate_bench/results/latest.md", "chaos-report.json", "rollgate.egg-info/PKG-INFO"
    )
    assert len(ignored) == 3
