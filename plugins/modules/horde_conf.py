#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: horde_conf
short_description: Read and set values of a PHP configuration array in a Horde configuration file
version_added: 0.2.0
author:
  - mailprivacy.gdpr maintainers (!UNKNOWN)
description:
  - Sets or removes entries of a PHP array variable, by default C($conf), in a Horde configuration
    file such as C(/etc/horde/horde/conf.php), C(/etc/horde/imp/conf.php) or
    C(/etc/horde/imp/backends.local.php) (variable C($servers)).
  - The file is read with the collection's PHP reader (a tokenizer and literal parser, the one
    M(mailprivacy.gdpr.processing_facts) uses too); PHP is not run to read it. An existing unconditional
    top-level assignment of the exact key path, for example C($conf['log']['priority'] = 'INFO';),
    gets the new value in place. Otherwise a new assignment is inserted after the last statement
    that touches the key path, or next to the assignments of its siblings, or before Horde's
    C(/* CONFIG END. ... */) marker, or at the end of the file; so the new value is the one PHP ends
    up with.
  - The current value is worked out from the literals in the file (strings, numbers, booleans,
    C(null), constants such as C(LOG_USER), nested C(array()) and C([]) literals, including assignments
    of parent and child key paths), so a second run with the same settings changes nothing.
  - The module refuses, without changing the file, when it cannot be certain of the result - for
    example when the value of the key is a computed expression (C($_SERVER['SERVER_NAME']),
    C(E_ALL & ~E_NOTICE)), when the key is also assigned inside a condition, function or loop, passed to
    a function, unset, or when the file uses C(include), C(eval), C(extract) or variable variables
    that could change the key.
  - Before a changed file replaces the original, the candidate is written to a temporary file in the
    same directory and checked with C(php -l). When PHP is missing or the check fails, the module fails
    and the original stays untouched. The replacement is atomic and keeps owner, group and mode.
  - Results name the changed key paths only, never values. In the diff, values of keys whose names
    look like secrets (C(password), C(secret_key), ...) are masked.
options:
  path:
    description:
      - The PHP configuration file.
    type: path
    required: true
    aliases: [dest]
  settings:
    description:
      - The entries to set (O(state=present)) or remove (O(state=absent)).
      - Either a dictionary of dotted key paths to values, for example key C(log.priority) with value C(WARNING),
        or a list of dictionaries with C(key) (a dotted string or a list of path segments; use the
        list form when a segment contains a dot or must be an integer) and either C(value) or
        C(constant) (the name of a PHP constant written without quotes, for example C(LOG_MAIL)).
      - Values may be strings, integers, floats, booleans, C(null) (V(None)) and lists or dictionaries
        of those, which are written as PHP C(array()) literals. Strings are written as PHP single-quoted
        literals, so quotes, backslashes, dollar signs and newlines are kept exactly.
      - Key segments that are decimal integers become integer keys, as in PHP.
      - With O(state=absent) the values are ignored.
    type: raw
    required: true
  state:
    description:
      - V(present) sets the entries, V(absent) removes every assignment of the key paths and of keys
        below them.
    type: str
    choices: [present, absent]
    default: present
  variable:
    description:
      - Name of the PHP array variable, without C($).
    type: str
    default: conf
  create:
    description:
      - Create the file (C(<?php) followed by the assignments) when it does not exist. Otherwise a
        missing file is an error.
    type: bool
    default: false
  backup:
    description:
      - Keep a time-stamped copy of the original file next to it before changing it.
    type: bool
    default: false
  php_path:
    description:
      - The PHP command line interpreter used for C(php -l). Default is C(php) from E(PATH).
    type: path
extends_documentation_fragment:
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    description: Reports the keys that would change and the diff; nothing is written.
  diff_mode:
    support: full
    description: Shows the file before and after, with secret-looking values masked.
notes:
  - Horde also reads C(conf.d/*.php) and C(conf.local.php) (likewise C(backends.d/) and
    C(backends.local.php)) after the main file; values set there win. This module edits one file;
    check the effective configuration separately (the C(mailprivacy.gdpr.horde) role does).
  - Only the Python standard library is used on the target; PHP is needed only to check a changed file.
seealso:
  - name: Horde configuration
    description: How Horde reads conf.php, conf.d and conf.local.php.
    link: https://wiki.horde.org/Doc/Dev/HordeConfig
"""

EXAMPLES = r"""
- name: Keep successful logins out of Horde's log
  mailprivacy.gdpr.horde_conf:
    path: /etc/horde/horde/conf.php
    settings:
      log.enabled: true
      log.priority: WARNING
      log.type: syslog
      log.ident: HORDE

- name: Log to the mail facility (a PHP constant, so the list form)
  mailprivacy.gdpr.horde_conf:
    path: /etc/horde/horde/conf.php
    settings:
      - key: log.name
        constant: LOG_MAIL

- name: Turn IMAP protocol debugging off for the backend "imap"
  mailprivacy.gdpr.horde_conf:
    path: /etc/horde/imp/backends.local.php
    variable: servers
    create: true
    mode: "0644"
    settings:
      - key: [imap, debug]
        value: false
      - key: [imap, debug_raw]
        value: false

- name: Remove a setting
  mailprivacy.gdpr.horde_conf:
    path: /etc/horde/horde/conf.php
    state: absent
    settings:
      - sql.logqueries
"""

RETURN = r"""
changed_keys:
  description: Dotted key paths whose assignment was (or in check mode would be) added, changed or removed.
  returned: always
  type: list
  elements: str
  sample: [log.priority, log.name]
applied:
  description:
    - Whether the changes in RV(changed_keys) were written to the file. V(false) in check mode (also when
      check mode comes from the play or task keyword, which does not set C(ansible_check_mode)).
  returned: always
  type: bool
  sample: true
backup_file:
  description: Name of the backup file.
  returned: changed and O(backup=true)
  type: str
  sample: /etc/horde/horde/conf.php.1234.2025-01-01@10:00:00~
"""

import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.php_conf import (
    CONTINUATIONS,
    UNDEFINED,
    UNKNOWN,
    PhpArray,
    PhpConstant,
    PhpFile,
    PhpParseError,
    identical,
    key_label,
    lookup,
    parse_key,
    parse_literal,
    to_php_value,
    tokenize,
)

# --------------------------------------------------------------------------------------------
# Values written by the module (the reader is module_utils/php_conf.py)
# --------------------------------------------------------------------------------------------

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED_CONSTANTS = ("true", "false", "null")


def php_string(text):
    """A PHP single-quoted literal for text (every backslash and quote escaped)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def php_literal(value):
    """PHP source for a value of the model."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if text in ("inf", "-inf", "nan"):
            raise ValueError("NaN and infinite floats cannot be written as PHP literals")
        if "." not in text and "e" not in text and "E" not in text:
            text += ".0"
        return text
    if isinstance(value, str):
        return php_string(value)
    if isinstance(value, PhpConstant):
        return value.name
    if isinstance(value, PhpArray):
        sequential = all(identical(k, index) for index, (k, dummy) in enumerate(value.items))
        parts = []
        for key, item in value.items:
            if sequential:
                parts.append(php_literal(item))
            else:
                parts.append("%s => %s" % (php_literal(key), php_literal(item)))
        return "array(" + ", ".join(parts) + ")"
    raise ValueError("cannot write %r as a PHP literal" % (value,))


# --------------------------------------------------------------------------------------------
# Positions (where the editor may insert a statement)
# --------------------------------------------------------------------------------------------


def insertion_after(php, statement):
    """Offset to insert a new line after a statement, or None when that is not safe."""
    if statement.terminator.kind == "close":
        return None
    following = php.statements[statement.index + 1] if statement.index + 1 < len(php.statements) else None
    if following is not None and following.tokens[0].is_word(*CONTINUATIONS):
        return None
    text = php.text
    offset = statement.end
    newline = text.find("\n", offset)
    rest = text[offset:] if newline < 0 else text[offset:newline]
    stripped = rest.strip()
    if "?>" not in rest and (
        stripped == "" or stripped.startswith("//") or (stripped.startswith("#") and not stripped.startswith("#["))
    ):
        return len(text) if newline < 0 else newline + 1
    return offset


def marker_offset(php, word):
    """Start of the line of Horde's CONFIG START/END marker comment, or None."""
    for token in php.tokens:
        if token.kind == "comment" and token.text.startswith("/*") and ("CONFIG %s." % word) in token.text:
            return php.text.rfind("\n", 0, token.start) + 1
    return None


def gap_is_safe(php, offset):
    """True when a statement can be inserted at offset (PHP code, between top-level statements)."""
    in_php = False
    for token in php.tokens:
        if token.start >= offset:
            break
        if token.kind == "open":
            in_php = True
        elif token.kind == "close" or token.kind == "inline":
            in_php = False
        if token.start < offset < token.end and token.kind not in ("ws",):
            return False
    if not in_php:
        return False
    for statement in php.statements:
        if statement.start < offset < statement.end:
            return False
        if statement.start >= offset:
            return not statement.tokens[0].is_word(*CONTINUATIONS)
    return True


# --------------------------------------------------------------------------------------------
# Editing
# --------------------------------------------------------------------------------------------


def lhs(variable, key):
    return "$" + variable + "".join("[%s]" % php_literal(segment) for segment in key)


class ConfEditor(object):
    """Applies settings to the text of a configuration file, one key at a time."""

    def __init__(self, text, variable):
        self.text = text
        self.variable = variable
        self.changed_keys = []

    def _parse(self):
        php = PhpFile(self.text, self.variable)
        php.check_flow()
        return php

    def _ensure_open_tag(self):
        if not any(t.kind == "open" for t in tokenize(self.text)):
            if self.text.strip():
                raise PhpParseError("the file has no <?php opening tag")
            self.text = "<?php\n"

    def set(self, key, value):
        """Make the key path hold value; False when it already does."""
        self._ensure_open_tag()
        php = self._parse()
        current = php.effective(key)
        if current is not UNKNOWN and current is not UNDEFINED and identical(current, value):
            return False
        events = php.events_for(key)
        for statement, kind, payload in events:
            if kind == "floating":
                raise PhpParseError(
                    "%s is changed inside a function, class or closure (line %d), which may run at any "
                    "time; change it by hand" % (key_label(key), payload)
                )
        statement_text = "%s = %s;" % (lhs(self.variable, key), php_literal(value))
        if events:
            last, kind, payload = events[-1]
            if kind == "exact":
                if parse_literal(payload) is UNKNOWN:
                    raise PhpParseError(
                        "%s is set to an expression the module cannot evaluate (line %d); change it by hand"
                        % (key_label(key), last.tokens[0].line)
                    )
                start, end = payload[0].start, payload[-1].end
                self.text = self.text[:start] + php_literal(value) + self.text[end:]
                self.changed_keys.append(key_label(key))
                return True
            # A parent array, a child key or a statement the module cannot evaluate comes last:
            # a new assignment right after it decides the value.
            offset = insertion_after(php, last)
            if offset is None:
                raise PhpParseError(
                    "%s is changed by the statement on line %d and no safe place follows it"
                    % (key_label(key), last.tokens[0].line)
                )
        else:
            offset = self._place_for_new(php, key)
        self._insert(offset, statement_text)
        self.changed_keys.append(key_label(key))
        return True

    def _place_for_new(self, php, key):
        """Where a key the file does not touch yet goes: next to its siblings, else before
        Horde's CONFIG END marker, else after the last statement."""
        start = marker_offset(php, "START")
        end = marker_offset(php, "END")
        best = None
        best_len = 0
        for statement in php.statements:
            if statement.assignment is None:
                continue
            if start is not None and statement.start < start:
                continue
            if end is not None and statement.start > end:
                continue
            common = 0
            for a, b in zip(statement.assignment[0], key):
                if not identical(a, b):
                    break
                common += 1
            if common >= 1 and common >= best_len:
                best, best_len = statement, common
        if best is not None:
            offset = insertion_after(php, best)
            if offset is not None and gap_is_safe(php, offset):
                return offset
        if end is not None and gap_is_safe(php, end):
            return end
        for statement in reversed(php.statements):
            if statement.terminator.kind == "close" and len(statement.tokens) == 1:
                continue
            offset = insertion_after(php, statement)
            if offset is None:
                raise PhpParseError("no safe place to add %s at the end of the file" % key_label(key))
            return offset
        for token in php.tokens:
            if token.kind == "open":
                return token.end
        raise PhpParseError("no PHP code section to add %s to" % key_label(key))

    def _insert(self, offset, statement_text):
        before = self.text[:offset]
        prefix = "" if before == "" or before.endswith("\n") else "\n"
        self.text = before + prefix + statement_text + "\n" + self.text[offset:]

    def remove(self, key):
        """Remove every assignment of the key path and of keys below it; False when there is none."""
        php = self._parse()
        doomed = []
        for statement, kind, payload in php.events_for(key):
            if kind in ("exact", "child"):
                doomed.append(statement)
            elif kind in ("uncertain", "floating"):
                raise PhpParseError(
                    "%s is changed on line %d in a way the module cannot evaluate; remove it by hand"
                    % (key_label(key), payload)
                )
            elif lookup(parse_literal(payload), key[len(statement.assignment[0]):]) is not UNDEFINED:
                raise PhpParseError(
                    "%s is part of the array assigned to %s on line %d; remove it by hand"
                    % (key_label(key), key_label(statement.assignment[0]), statement.tokens[0].line)
                )
        if not doomed:
            return False
        for statement in sorted(doomed, key=lambda s: s.start, reverse=True):
            self._delete_statement(statement)
        self.changed_keys.append(key_label(key))
        return True

    def _delete_statement(self, statement):
        text = self.text
        line_start = text.rfind("\n", 0, statement.start) + 1
        line_end = text.find("\n", statement.end)
        line_end = len(text) if line_end < 0 else line_end + 1
        if text[line_start:statement.start].strip() == "" and text[statement.end:line_end].strip() == "":
            self.text = text[:line_start] + text[line_end:]
        else:
            self.text = text[:statement.start] + text[statement.end:]


# --------------------------------------------------------------------------------------------
# Diff masking
# --------------------------------------------------------------------------------------------

_SECRET = re.compile(r"pass|secret|token|credential|private|bindpw|pwd|apikey|api_key|salt", re.IGNORECASE)


def mask_secrets(text, variable):
    """The text with the values of secret-looking keys replaced, for the diff only."""
    try:
        php = PhpFile(text, variable)
    except PhpParseError:
        return "(the file cannot be shown: the module could not parse it)\n"
    spans = []
    for statement in php.statements:
        tokens = statement.tokens
        start_index = None
        for index, token in enumerate(tokens):
            if token.is_op("=") and start_index is None:
                start_index = index + 1
        if start_index is None or start_index >= len(tokens):
            continue
        lhs_tokens = tokens[:start_index - 1]
        rhs_tokens = tokens[start_index:-1] if tokens[-1].is_op(";") else tokens[start_index:]
        if not rhs_tokens:
            continue
        secret = any(t.kind in ("sq", "dq", "ident", "var") and _SECRET.search(t.text) for t in lhs_tokens)
        if not secret:
            for index, token in enumerate(rhs_tokens[:-1]):
                if token.kind in ("sq", "dq") and rhs_tokens[index + 1].is_op("=>") and _SECRET.search(token.text):
                    secret = True
                    break
        if secret:
            spans.append((rhs_tokens[0].start, rhs_tokens[-1].end))
    for start, end in reversed(spans):
        text = text[:start] + "'********'" + text[end:]
    return text


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------


def parse_settings(raw, state):
    """[(key path, value)] from the settings option."""
    result = []
    if isinstance(raw, dict):
        for key, value in raw.items():
            result.append((parse_key(key), None if state == "absent" else to_php_value(value)))
    elif isinstance(raw, list):
        for item in raw:
            if state == "absent" and isinstance(item, (str, list)):
                result.append((parse_key(item), None))
                continue
            if not isinstance(item, dict) or "key" not in item:
                raise ValueError("each item of settings must be a dictionary with key and value or constant")
            unknown = set(item) - set(["key", "value", "constant"])
            if unknown:
                raise ValueError("unknown item options: %s" % ", ".join(sorted(unknown)))
            key = parse_key(item["key"])
            if state == "absent":
                result.append((key, None))
                continue
            if "constant" in item and "value" in item:
                raise ValueError("%s: value and constant are mutually exclusive" % key_label(key))
            if "constant" in item:
                name = item["constant"]
                if not isinstance(name, str) or not _IDENT.match(name) or name.lower() in _RESERVED_CONSTANTS:
                    raise ValueError("%s: %r is not a PHP constant name" % (key_label(key), name))
                result.append((key, PhpConstant(name)))
            elif "value" in item:
                result.append((key, to_php_value(item["value"])))
            else:
                raise ValueError("%s: give value or constant" % key_label(key))
    else:
        raise ValueError("settings must be a dictionary or a list")
    seen = set()
    for key, dummy in result:
        label = repr(key)
        if label in seen:
            raise ValueError("%s is given twice" % key_label(key))
        seen.add(label)
    return result


def apply_settings(text, variable, settings, state):
    """(new text, changed key labels) for the settings; raises PhpParseError when unsure."""
    editor = ConfEditor(text, variable)
    for key, value in settings:
        if state == "present":
            editor.set(key, value)
        else:
            editor.remove(key)
    if editor.changed_keys:
        # Read the result back: every setting must now hold with certainty.
        check = PhpFile(editor.text, variable)
        for key, value in settings:
            result = check.effective(key)
            if state == "present" and (result is UNKNOWN or result is UNDEFINED or not identical(result, value)):
                raise PhpParseError("%s does not hold after the change (conflicting settings?)" % key_label(key))
            if state == "absent" and result is not UNDEFINED:
                raise PhpParseError("%s is still set after the change" % key_label(key))
    return editor.text, editor.changed_keys


# --------------------------------------------------------------------------------------------
# Module
# --------------------------------------------------------------------------------------------

_LINT_MESSAGE = re.compile(r"(Parse error|Fatal error|error):\s*(.*?)\s+in\s+.*?\s+on line\s+(\d+)", re.IGNORECASE)


def lint_message(output):
    """php -l output without the file name and quoted source fragments."""
    match = _LINT_MESSAGE.search(output)
    if match is None:
        return "php -l reported an error"
    message = re.sub(r"\"[^\"]*\"|'[^']*'|`[^`]*`", '"..."', match.group(2))
    return "%s: %s on line %s" % (match.group(1), message, match.group(3))


def php_lint(module, php, path):
    rc, out, err = module.run_command([php, "-n", "-l", path], environ_update={"LC_ALL": "C"})
    return rc == 0, lint_message(out + "\n" + err)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True, aliases=["dest"]),
            settings=dict(type="raw", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            variable=dict(type="str", default="conf"),
            create=dict(type="bool", default=False),
            backup=dict(type="bool", default=False),
            php_path=dict(type="path"),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    path = module.params["path"]
    variable = module.params["variable"]
    state = module.params["state"]
    result = dict(changed=False, changed_keys=[], applied=False, path=path)

    if not _IDENT.match(variable) or variable in ("GLOBALS", "this"):
        module.fail_json(msg="variable must be a PHP variable name without $", **result)
    try:
        settings = parse_settings(module.params["settings"], state)
    except ValueError as exc:
        module.fail_json(msg="invalid settings: %s" % to_native(exc), **result)

    exists = os.path.exists(path)
    if exists and not os.path.isfile(path):
        module.fail_json(msg="%s is not a regular file" % path, **result)
    if not exists and not module.params["create"]:
        if state == "absent":
            module.exit_json(**result)
        module.fail_json(msg="%s does not exist (set create=true to create it)" % path, **result)

    if exists:
        with open(path, "rb") as handle:
            original = handle.read().decode("utf-8", "surrogateescape")
    else:
        original = ""

    try:
        new_text, changed_keys = apply_settings(original, variable, settings, state)
    except PhpParseError as exc:
        module.fail_json(msg="%s: not changed, the module is not certain of the result: %s" % (path, to_native(exc)), **result)
    except ValueError as exc:
        module.fail_json(msg="%s: %s" % (path, to_native(exc)), **result)

    changed = new_text != original or not exists
    result["changed_keys"] = changed_keys
    if module._diff:
        result["diff"] = dict(
            before_header=path,
            after_header=path,
            before=mask_secrets(original, variable) if exists else "",
            after=mask_secrets(new_text, variable),
        )

    directory = os.path.dirname(os.path.abspath(path))
    if changed:
        php = module.params["php_path"] or module.get_bin_path("php")
        if not php:
            module.fail_json(
                msg="%s: not changed: php was not found, so the new file cannot be checked with php -l" % path,
                **result
            )
        if module.check_mode:
            handle, candidate = tempfile.mkstemp(prefix="horde_conf.", suffix=".php")
        else:
            if not os.path.isdir(directory):
                module.fail_json(msg="%s: the directory does not exist" % path, **result)
            handle, candidate = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(new_text.encode("utf-8", "surrogateescape"))
                out.flush()
                os.fsync(out.fileno())
            ok, message = php_lint(module, php, candidate)
            if not ok:
                original_ok = True
                if exists:
                    original_ok = php_lint(module, php, path)[0]
                module.fail_json(
                    msg="%s: not changed: the new file fails php -l (%s)%s"
                    % (path, message, "" if original_ok else "; the current file fails php -l too"),
                    **result
                )
            if not module.check_mode:
                if exists and module.params["backup"]:
                    result["backup_file"] = module.backup_local(path)
                module.atomic_move(candidate, path, unsafe_writes=False)
                candidate = None
                result["applied"] = True
        finally:
            if candidate is not None and os.path.exists(candidate):
                os.unlink(candidate)

    result["changed"] = changed
    if os.path.exists(path):
        # Owner, group and mode when given (in check mode only reported).
        file_args = module.load_file_common_arguments(module.params, path=path)
        result["changed"] = module.set_fs_attributes_if_different(file_args, result["changed"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
