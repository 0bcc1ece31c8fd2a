# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tools/role_docs.py: the README variable tables are generated from meta/argument_specs.yml.

The check over the real roles fails when a README table differs from its spec, or when
defaults/main.yml and the spec do not hold the same variables with the same literal defaults.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCRIPT = os.path.join(ROOT, "tools", "role_docs.py")
ROLES = sorted(name for name in os.listdir(os.path.join(ROOT, "roles"))
               if os.path.isfile(os.path.join(ROOT, "roles", name, "meta", "argument_specs.yml")))


def _load_tool():
    spec = importlib.util.spec_from_file_location("role_docs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


role_docs = _load_tool()


def run_tool(*args):
    return subprocess.run([sys.executable, SCRIPT] + list(args), capture_output=True, text=True, check=False, cwd=ROOT)


# --- the real roles ---------------------------------------------------------------------------
def test_every_role_has_a_spec_and_a_generated_table():
    assert ROLES == ["courier", "dovecot", "horde", "klms", "mail_logging", "qmail"]
    for role in ROLES:
        with open(os.path.join(ROOT, "roles", role, "README.md"), encoding="utf-8") as handle:
            text = handle.read()
        assert text.count(role_docs.BEGIN) == 1 and text.count(role_docs.END) == 1, role


def test_readme_tables_match_the_specs():
    """`make role-docs` has been run after the last change of a spec."""
    proc = run_tool("--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_spec_hold_the_same_variables(role):
    assert role_docs.defaults_mismatches(os.path.join(ROOT, "roles", role)) == []


@pytest.mark.parametrize("role", ROLES)
def test_every_variable_has_a_row(role):
    """One row per option of the spec, in the spec's order, and nothing else."""
    role_dir = os.path.join(ROOT, "roles", role)
    options = role_docs.load_specs(role_dir)["main"]["options"]
    with open(os.path.join(role_dir, "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    block = text[text.index(role_docs.BEGIN):text.index(role_docs.END)]
    names = [line.split("|")[1].strip().strip("`") for line in block.splitlines() if line.startswith("| `")]
    assert [name for name in names if "." not in name] == list(options)


# --- the generator on a fixture ---------------------------------------------------------------
SPEC = textwrap.dedent("""\
    ---
    argument_specs:
      main:
        short_description: A fixture.
        options:
          demo_enabled:
            type: bool
            default: true
            description: Master switch. V(false) skips the role.
          demo_days:
            type: int
            default: 14
            description:
              - Days, see O(demo_enabled) and C(maxage (days\\)).
              - Second paragraph with a | pipe and <angle> brackets.
          demo_level:
            type: str
            default: "no"
            choices: ["no", info]
            description: I(Level) of B(detail).
          demo_items:
            type: list
            elements: dict
            default: []
            description: Items.
            options:
              name:
                type: str
                required: true
                description: Name of an item.
    """)
DEFAULTS = textwrap.dedent("""\
    ---
    demo_enabled: true
    demo_days: "{{ policy_days | default(14) }}"
    demo_level: "no"
    demo_items: []
    """)
README = textwrap.dedent("""\
    # demo

    Prose before.

    ## Role variables

    <!-- BEGIN_ARGUMENT_SPECS -->
    <!-- END_ARGUMENT_SPECS -->

    Prose after.
    """)


@pytest.fixture()
def role(tmp_path):
    for sub in ("meta", "defaults"):
        (tmp_path / "demo" / sub).mkdir(parents=True)
    (tmp_path / "demo" / "meta" / "argument_specs.yml").write_text(SPEC)
    (tmp_path / "demo" / "defaults" / "main.yml").write_text(DEFAULTS)
    (tmp_path / "demo" / "README.md").write_text(README)
    return tmp_path / "demo"


def test_generates_the_table_between_the_markers(role):
    proc = run_tool(str(role))
    assert proc.returncode == 0, proc.stderr
    text = (role / "README.md").read_text()
    assert text.startswith("# demo\n\nProse before.\n\n## Role variables\n\n<!-- BEGIN_ARGUMENT_SPECS -->\n")
    assert text.endswith("<!-- END_ARGUMENT_SPECS -->\n\nProse after.\n")
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows == [
        "| Variable | Type | Default | Description |",
        "| --- | --- | --- | --- |",
        "| `demo_enabled` | bool | `true` | Master switch. `false` skips the role. |",
        "| `demo_days` | int | `14` | Days, see `demo_enabled` and `maxage (days)`."
        " Second paragraph with a \\| pipe and &lt;angle&gt; brackets. |",
        "| `demo_level` | str | `'no'` | Choices: `'no'`, `info`. *Level* of **detail**. |",
        "| `demo_items` | list of dict | `[]` | Items. |",
        "| `demo_items[].name` | str |  | Required. Name of an item. |",
    ]
    # Idempotent: a second run and the check change nothing.
    assert run_tool(str(role)).stdout == ""
    assert (role / "README.md").read_text() == text
    check = run_tool("--check", str(role))
    assert check.returncode == 0 and check.stdout == ""


def test_check_prints_a_diff_when_the_spec_changed(role):
    assert run_tool(str(role)).returncode == 0
    before = (role / "README.md").read_text()
    spec = role / "meta" / "argument_specs.yml"
    spec.write_text(SPEC.replace("description: Items.", "description: Items to keep."))
    check = run_tool("--check", str(role))
    assert check.returncode == 1
    assert "-| `demo_items` | list of dict | `[]` | Items. |" in check.stdout
    assert "+| `demo_items` | list of dict | `[]` | Items to keep. |" in check.stdout
    assert "run `make role-docs`" in check.stderr
    # --check changes nothing; the write mode brings the README in line.
    assert (role / "README.md").read_text() == before
    assert run_tool(str(role)).returncode == 0
    assert run_tool("--check", str(role)).returncode == 0


def test_check_fails_on_a_hand_edited_table(role):
    assert run_tool(str(role)).returncode == 0
    readme = role / "README.md"
    readme.write_text(readme.read_text().replace("Master switch.", "Main switch."))
    check = run_tool("--check", str(role))
    assert check.returncode == 1
    assert "+| `demo_enabled` | bool | `true` | Master switch. `false` skips the role. |" in check.stdout


def test_defaults_and_spec_must_agree(role):
    defaults = role / "defaults" / "main.yml"
    defaults.write_text(DEFAULTS.replace('demo_level: "no"', 'demo_level: info') + "demo_extra: 1\n")
    other = "      demo_other:\n        type: str\n        description: Only in the spec.\n      demo_items:"
    (role / "meta" / "argument_specs.yml").write_text(SPEC.replace("      demo_items:", other))
    assert role_docs.defaults_mismatches(str(role)) == [
        "demo_extra is in defaults/main.yml but not in meta/argument_specs.yml",
        "demo_other is in meta/argument_specs.yml but not in defaults/main.yml",
        "demo_level: default 'no' in meta/argument_specs.yml, 'info' in defaults/main.yml",
    ]
    proc = run_tool("--check", str(role))
    assert proc.returncode == 1
    assert "demo_extra is in defaults/main.yml but not in meta/argument_specs.yml" in proc.stderr


def test_readme_without_markers_is_an_error(role):
    (role / "README.md").write_text("# demo\n\nNo table here.\n")
    proc = run_tool("--check", str(role))
    assert proc.returncode == 2
    assert "needs exactly one <!-- BEGIN_ARGUMENT_SPECS -->" in proc.stderr
    proc = run_tool(str(role))
    assert proc.returncode == 2
    assert (role / "README.md").read_text() == "# demo\n\nNo table here.\n"


def test_markup():
    convert = role_docs.markup_to_markdown
    assert convert("C(a) O(b=c) V(d) M(e.f) E(HOME) RV(g)") == "`a` `b=c` `d` `e.f` `HOME` `g`"
    assert convert("C(x(1\\)) tail") == "`x(1)` tail"
    assert convert("L(the docs, https://example.org/x) and U(https://example.org)") == \
        "[the docs](https://example.org/x) and <https://example.org>"
    assert convert("C(a`b)") == "`` a`b ``"
    assert convert("RC(not markup)") == "RC(not markup)"
    assert role_docs.format_value({"a": [1, "0640"]}) == "`{a: [1, '0640']}`"
    assert role_docs.format_value("") == "`''`"
