"""The vendored front-end files: the manifest (``src/truceline/web/vendor.json``), the files
under ``static/vendor/``, their README and the built wheel all agree."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "src" / "truceline" / "web"
VENDOR = WEB / "static" / "vendor"
MANIFEST: dict[str, dict[str, Any]] = json.loads((WEB / "vendor.json").read_text())
# The pages and scripts of the web room that are not vendored.
OWN_FILES = [
    "static/index.html",
    "static/docs/docs.css",
    "static/docs/swagger-init.js",
    "static/docs/redoc-init.js",
    "docs/swagger.html",
    "docs/redoc.html",
    "vendor.json",
]
BUILD_TIMEOUT = 300  # seconds; an isolated build may first fetch setuptools


def vendored(name: str) -> list[str]:
    """The files under ``static/vendor/`` that the manifest names for package ``name``,
    as ``name/base-name``, with its ``VERSION`` file."""
    files = [f"{name}/{Path(file).name}" for file in MANIFEST[name]["files"]]
    return [*files, f"{name}/VERSION"]


def all_vendored() -> list[str]:
    return [path for name in MANIFEST for path in vendored(name)]


def readme_rows() -> dict[str, tuple[str, set[str]]]:
    """The README's table: package name to its version and the files the row lists."""
    rows: dict[str, tuple[str, set[str]]] = {}
    for line in (VENDOR / "README.md").read_text().splitlines():
        row = re.fullmatch(r"\| `([^`]+)` \| ([^ |]+) \| [^|]+ \| (.+) \|", line)
        if row:
            rows[row[1]] = (row[2], set(re.findall(r"`([^`]+)`", row[3])))
    return rows


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_each_vendored_package_has_its_files_and_pinned_version(name: str) -> None:
    for path in vendored(name):
        assert (VENDOR / path).is_file(), path
    assert (VENDOR / name / "LICENSE").is_file()
    assert (VENDOR / name / "VERSION").read_text().strip() == MANIFEST[name]["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", MANIFEST[name]["version"]), "an exact version"


def test_the_vendor_directory_holds_only_what_the_manifest_names() -> None:
    present = {str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file()}

    assert present == {*all_vendored(), "README.md"}


def test_the_readme_lists_each_package_with_its_version_and_files() -> None:
    rows = readme_rows()

    assert set(rows) == set(MANIFEST)
    for name, (pinned, files) in rows.items():
        assert pinned == MANIFEST[name]["version"], name
        assert files == set(vendored(name)) - {f"{name}/VERSION"}, name
        for path in files:
            assert (VENDOR / path).is_file(), path


@pytest.mark.parametrize(
    "patch",
    [(name, patch) for name, spec in MANIFEST.items() for patch in spec.get("patches", [])],
    ids=lambda patch: f"{patch[0]}/{patch[1]['file']}",
)
def test_each_patch_is_applied(patch: tuple[str, dict[str, str]]) -> None:
    name, change = patch
    text = (VENDOR / name / change["file"]).read_text()

    assert change["replace"] not in text
    assert change["with"] in text


def copy_project(destination: Path) -> Path:
    """Copy what building the wheel reads (pyproject.toml, README.md, src/) to a fresh
    directory, so the build leaves nothing in the work tree and sees no stale build/."""
    destination.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, destination / name)
    shutil.copytree(
        REPO / "src",
        destination / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    return destination


def build_wheel(project: Path, out: Path) -> Path:
    """Build the project's wheel into ``out`` with pip and return its path: with this
    environment's setuptools (a dev dependency), so the build downloads nothing."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    command += ["-q", "-w", str(out)]
    result = subprocess.run(
        [*command, str(project)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = out.glob("truceline-*.whl")
    return wheel


def test_the_wheel_carries_the_page_the_docs_and_every_vendored_file(tmp_path: Path) -> None:
    wheel = build_wheel(copy_project(tmp_path / "project"), tmp_path / "dist")

    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    expected = [
        *(f"truceline/web/{path}" for path in OWN_FILES),
        *(f"truceline/web/static/vendor/{path}" for path in all_vendored()),
        "truceline/web/static/vendor/README.md",
    ]
    assert [path for path in expected if path not in names] == []
    assert {f"truceline/web/static/vendor/{name}/LICENSE" for name in MANIFEST} <= names
