# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Role variable tables of the README files, generated from meta/argument_specs.yml.

``meta/argument_specs.yml`` is the one source of each role variable's type, default, choices
and description. This script renders them as Markdown tables between the markers
``<!-- BEGIN_ARGUMENT_SPECS -->`` and ``<!-- END_ARGUMENT_SPECS -->`` of the role's README.md
(everything outside the markers is prose and left alone), and checks that the variables of
``defaults/main.yml`` and of the spec are the same, with the same literal defaults.

    python tools/role_docs.py             # rewrite the tables of every role under roles/
    python tools/role_docs.py --check     # exit 1 and print a diff when a README differs
    python tools/role_docs.py --check roles/dovecot

``make role-docs`` runs the first form. Needs the Python standard library and PyYAML only.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys

import yaml

BEGIN = "<!-- BEGIN_ARGUMENT_SPECS -->"
END = "<!-- END_ARGUMENT_SPECS -->"
NOTICE = ("<!-- Generated from meta/argument_specs.yml by tools/role_docs.py (make role-docs). "
          "Edit the spec, not this table. -->")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Ansible's documentation markup (as ansible-doc reads it). The content of C(), O(), V(), RV(),
# E() and P() may escape ")" and "\" with a backslash; the others end at the first ")".
_MARKUP = re.compile(
    r"\b(?P<kind>RV|[CIBMOVEUPL])\((?P<body>(?:[^)\\]|\\.)*)\)"
    r"|\bHORIZONTALLINE\b"
)
_UNESCAPE = re.compile(r"\\(.)")


class SpecError(Exception):
    """A spec or README this script cannot work with (the message says which and why)."""


def _code(text):
    """Markdown code span for text (double backticks when it holds one)."""
    if "`" in text:
        return "`` %s ``" % text
    return "`%s`" % text


def _plain(text):
    """Text outside code spans: characters that Markdown would read as HTML."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markup_to_markdown(text):
    """One description paragraph in ansible-doc markup as Markdown (no table escaping yet)."""
    out = []
    pos = 0
    for match in _MARKUP.finditer(text):
        out.append(_plain(text[pos:match.start()]))
        pos = match.end()
        kind = match.group("kind")
        if kind is None:
            out.append(" ")
            continue
        body = _UNESCAPE.sub(r"\1", match.group("body"))
        if kind in ("C", "O", "V", "RV", "E", "M", "P"):
            out.append(_code(body))
        elif kind == "I":
            out.append("*%s*" % _plain(body))
        elif kind == "B":
            out.append("**%s**" % _plain(body))
        elif kind == "U":
            out.append("<%s>" % body)
        elif kind == "L":
            label, _sep, url = body.rpartition(",")
            out.append("[%s](%s)" % (_plain(label.strip()), url.strip()))
    out.append(_plain(text[pos:]))
    return "".join(out)


def _description(option):
    value = option.get("description", "")
    paragraphs = value if isinstance(value, list) else [value]
    return " ".join(markup_to_markdown(" ".join(str(p).split())) for p in paragraphs if p)


def format_value(value):
    """A default or choice as YAML flow text in a code span."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 30, sort_keys=False).strip()
    if text.endswith("\n..."):
        text = text[:-4].rstrip()
    return _code(text)


def _type(option):
    kind = option.get("type", "str")
    if "elements" in option:
        kind = "list of %s" % option["elements"] if kind == "list" else "%s of %s" % (kind, option["elements"])
    return kind


def _cell(text):
    """Table cells: a pipe ends a cell even inside a code span, newlines end the row."""
    return text.replace("|", "\\|").replace("\n", " ")


def _rows(options, prefix=""):
    for name, option in options.items():
        option = option or {}
        if not isinstance(option, dict):
            raise SpecError("option %s%s is not a mapping" % (prefix, name))
        described = _description(option)
        notes = []
        if option.get("required"):
            notes.append("Required.")
        if "choices" in option:
            notes.append("Choices: %s." % ", ".join(format_value(c) for c in option["choices"]))
        default = format_value(option["default"]) if "default" in option else ""
        text = " ".join(part for part in notes + [described] if part)
        yield "| %s | %s | %s | %s |" % (_cell(_code(prefix + name)), _cell(_type(option)), _cell(default), _cell(text))
        if option.get("options"):
            inner = prefix + name + ("[]." if option.get("type") == "list" else ".")
            yield from _rows(option["options"], inner)


def render_specs(specs):
    """The generated block (markers included) for the argument_specs mapping of one role."""
    if not isinstance(specs, dict) or not specs:
        raise SpecError("no entry points under argument_specs")
    lines = [BEGIN, NOTICE]
    for entry_point, spec in specs.items():
        spec = spec or {}
        lines.append("")
        if len(specs) > 1:
            lines.append("#### Entry point `%s`" % entry_point)
            lines.append("")
            if spec.get("short_description"):
                lines.append(markup_to_markdown(spec["short_description"]))
                lines.append("")
        lines.append("| Variable | Type | Default | Description |")
        lines.append("| --- | --- | --- | --- |")
        lines.extend(_rows(spec.get("options") or {}))
    lines.append("")
    lines.append(END)
    return "\n".join(lines)


def load_yaml(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_specs(role_dir):
    path = os.path.join(role_dir, "meta", "argument_specs.yml")
    data = load_yaml(path) or {}
    if "argument_specs" not in data:
        raise SpecError("%s has no argument_specs" % path)
    return data["argument_specs"]


def replace_block(text, block, name="README.md"):
    """text with the part between the markers (markers included) replaced by block."""
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        raise SpecError("%s needs exactly one %s and one %s" % (name, BEGIN, END))
    start = text.index(BEGIN)
    end = text.index(END) + len(END)
    if end < start:
        raise SpecError("%s: %s comes before %s" % (name, END, BEGIN))
    return text[:start] + block + text[end:]


def _templated(value):
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(_templated(v) for v in value.values())
    if isinstance(value, list):
        return any(_templated(v) for v in value)
    return False


def defaults_mismatches(role_dir, specs=None):
    """Problems between defaults/main.yml and the spec: variables in only one of them, and
    literal defaults that differ. Templated defaults are compared by the unit tests, which
    render them with Ansible."""
    specs = load_specs(role_dir) if specs is None else specs
    options = {}
    for spec in specs.values():
        options.update((spec or {}).get("options") or {})
    defaults = load_yaml(os.path.join(role_dir, "defaults", "main.yml")) or {}
    problems = []
    for name in sorted(set(defaults) - set(options)):
        problems.append("%s is in defaults/main.yml but not in meta/argument_specs.yml" % name)
    for name in sorted(set(options) - set(defaults)):
        problems.append("%s is in meta/argument_specs.yml but not in defaults/main.yml" % name)
    for name in sorted(set(options) & set(defaults)):
        value = defaults[name]
        if _templated(value):
            continue
        spec_default = (options[name] or {}).get("default")
        if spec_default != value:
            problems.append("%s: default %r in meta/argument_specs.yml, %r in defaults/main.yml" % (name, spec_default, value))
    return problems


def process(role_dir, check):
    """(diff text or "", problems) for one role; writes the README unless check."""
    specs = load_specs(role_dir)
    readme = os.path.join(role_dir, "README.md")
    with open(readme, encoding="utf-8") as handle:
        old = handle.read()
    new = replace_block(old, render_specs(specs), readme)
    diff = ""
    if new != old:
        diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), readme, readme + " (generated)"))
        if not check:
            tmp = readme + ".tmp"
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(new)
            os.replace(tmp, readme)
    return diff, defaults_mismatches(role_dir, specs)


def role_dirs(roles_dir):
    found = []
    for name in sorted(os.listdir(roles_dir)):
        path = os.path.join(roles_dir, name)
        if os.path.isfile(os.path.join(path, "meta", "argument_specs.yml")):
            found.append(path)
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 and print a diff when a README differs from its spec")
    parser.add_argument("roles", nargs="*", help="role directories (default: every role under roles/)")
    args = parser.parse_args(argv)
    roles = args.roles or role_dirs(os.path.join(ROOT, "roles"))
    status = 0
    for role in roles:
        try:
            diff, problems = process(role, args.check)
        except (OSError, SpecError, yaml.YAMLError) as exc:
            print("%s: %s" % (role, exc), file=sys.stderr)
            status = 2
            continue
        if diff:
            if args.check:
                sys.stdout.write(diff)
                print("%s: README.md differs from meta/argument_specs.yml; run `make role-docs`" % os.path.relpath(role), file=sys.stderr)
                status = max(status, 1)
            else:
                print("%s: README.md updated" % os.path.relpath(role))
        for problem in problems:
            print("%s: %s" % (role, problem), file=sys.stderr)
            status = max(status, 1)
    return status


if __name__ == "__main__":
    sys.exit(main())
