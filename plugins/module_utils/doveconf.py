# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one reader of Dovecot's configuration output (``doveconf -n``, ``doveconf -a``,
``doveconf -h``), used by the doveconf_overrides filter, processing_facts and the Dovecot
store. Python standard library only, no I/O except through the caller's runner."""

from __future__ import annotations

import re

_SETTING_RE = re.compile(r"^([A-Za-z0-9_.:-]+)\s*=\s?(.*)$")


def unquote(value):
    """Remove doveconf quoting from a value and surrounding white space."""
    value = value.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        out = []
        escaped = False
        for char in value[1:-1]:
            if escaped:
                out.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            else:
                out.append(char)
        value = "".join(out).strip()
    return value


def section_name(line):
    """'mailbox "Sent Messages" {' -> 'mailbox Sent Messages'."""
    header = line[:-1].strip()
    parts = header.split(None, 1)
    if len(parts) == 2:
        return "%s %s" % (parts[0], unquote(parts[1]))
    return parts[0] if parts else ""


def parse_doveconf(text):
    """Parse doveconf output into a list of (block_path, name, value) tuples.

    block_path is a tuple of section names, outer first, unquoted; () is the top level.
    Values are unquoted. Comment lines, blank lines and lines that are neither a setting
    nor a section delimiter (warnings, continuation lines) are ignored. Raises TypeError
    when ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError("doveconf output must be a string")
    path = []
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line == "}":
            if path:
                path.pop()
            continue
        match = _SETTING_RE.match(line)
        if match:
            found.append((tuple(path), match.group(1), unquote(match.group(2))))
            continue
        if line.endswith("{"):
            path.append(section_name(line))
    return found


def top_level(settings):
    """{name: value} of the top-level settings of parse_doveconf's result."""
    return dict((name, value) for path, name, value in settings if not path)


def setting(runner, doveconf, name):
    """The value of one setting as ``doveconf -h NAME`` prints it (stripped), or None when
    doveconf fails. ``runner`` is a store Runner, ``doveconf`` the program's path."""
    rc, out, _err = runner.run([doveconf, "-h", name], check=False)
    if rc != 0:
        return None
    return (out.decode("utf-8", "replace") if isinstance(out, bytes) else out).strip()
