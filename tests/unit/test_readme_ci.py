"""CI runs exactly the test command that README.md tells users to run."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- test-command -->"


def readme_test_command(text: str) -> str:
    """The single command in the fenced block right after the ``test-command`` marker."""
    m = re.search(re.escape(MARKER) + r"\s*```(?:sh|bash)\n(.*?)\n```", text, re.S)
    assert m is not None, f"README.md has no {MARKER} followed by a ```sh block"
    lines = [line for line in m.group(1).splitlines() if line.strip()]
    assert len(lines) == 1, f"the test-command block must hold one line, got {lines}"
    return lines[0].strip()


def ci_commands(text: str) -> list[str]:
    """The lines of a bash script that do something besides setup (shebang, comments, ``set``, ``cd``)."""
    out = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#") or s.startswith(("set ", "cd ")):
            continue
        out.append(s)
    return out


@pytest.mark.parametrize(
    ("readme", "want"),
    [
        pytest.param(f"x\n{MARKER}\n```sh\n./a --test && b\n```\n", "./a --test && b", id="sh"),
        pytest.param(f"{MARKER}\n\n```bash\n  run me  \n\n```", "run me", id="bash-blank-lines"),
    ],
)
def test_readme_parser(readme: str, want: str) -> None:
    assert readme_test_command(readme) == want


@pytest.mark.parametrize(
    "readme",
    [
        pytest.param("```sh\nrun\n```", id="no-marker"),
        pytest.param(f"{MARKER}\n```sh\na\nb\n```", id="two-commands"),
    ],
)
def test_readme_parser_rejects(readme: str) -> None:
    with pytest.raises(AssertionError):
        readme_test_command(readme)


def test_ci_runs_the_readme_test_command() -> None:
    want = readme_test_command((ROOT / "README.md").read_text())
    script = (ROOT / ".ci" / "run").read_text()
    assert ci_commands(script) == [want]
    assert 'cd "$(dirname "${BASH_SOURCE[0]}")/.."' in script  # runs from the repository root


def test_ci_and_install_are_executable_bash() -> None:
    for path in (ROOT / ".ci" / "run", ROOT / "hack" / "install.sh"):
        assert os.access(path, os.X_OK), f"{path} is not executable"
        assert path.read_text().startswith("#!/usr/bin/env bash\n")


def test_readme_command_uses_the_installed_venv() -> None:
    words = shlex.split(readme_test_command((ROOT / "README.md").read_text()))
    assert words[:2] == ["./hack/install.sh", "--test"]
    assert (ROOT / words[0]).is_file()
    assert words[3].startswith(".venv/bin/")
