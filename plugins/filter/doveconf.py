# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: doveconf_overrides
short_description: Find Dovecot settings that leak personal data into logs or override a logging profile
version_added: 0.1.0
author: mailprivacy.gdpr maintainers
description:
  - Parses the configuration dump printed by C(doveconf -a) or C(doveconf -n) (Dovecot 2.3) and
    returns every setting, in any block (C(protocol), C(remote), C(local), C(local_name), C(passdb),
    C(plugin), C(service), ...), that would put personal data into logs or that differs from the
    O(expected) profile.
  - Three kinds of findings are reported.
    Protocol transcripts - a non-empty C(rawlog_dir) or C(*_rawlog_dir) anywhere, or a service
    C(executable) that runs C(rawlog) or passes C(-R) to a login process. These are always reported.
    Personal data - debug and verbose switches set to C(yes) (C(auth_verbose), C(auth_debug),
    C(auth_debug_passwords), C(mail_debug), C(verbose_ssl), C(verbose_proctitle)), C(auth_verbose_passwords)
    other than C(no), a non-empty C(log_debug), C(login_log_format_elements), C(login_log_format),
    C(mail_log_prefix) or C(deliver_log_format) containing user, domain, home or client IP variables
    (or From, Subject and envelope addresses for C(deliver_log_format)), and C(mail_log_fields) with
    C(from) or C(subject). Not reported when O(personal_data=true).
    Profile - a setting named in O(expected) whose value differs from the expected one, at the top
    level or in any block except C(service) blocks (where C(ssl) means a listener property).
    C(auth_verbose = default) in C(passdb) and C(userdb) blocks means "inherit" and is not a finding.
  - Findings name the block and the setting, never the value, so they can be printed safely.
  - The filter is pure Python and does no I/O; run C(doveconf) on the host and pass its output. It reads the
    output with the collection's one doveconf parser (module_utils C(doveconf)), which the
    C(mailprivacy.gdpr.processing_facts) module uses too.
options:
  _input:
    description:
      - The standard output of C(doveconf -a) or C(doveconf -n), as one string.
      - Or a dictionary of top-level settings (name to value), for example the profile a role is
        about to write. Booleans become C(yes)/C(no), lists are joined with spaces.
    type: raw
    required: true
  expected:
    description:
      - Settings the profile enforces, name to value. Values are compared after removing quotes and
        surrounding white space.
    type: dict
    default: {}
  allow:
    description:
      - Findings to accept deliberately, each a dictionary with C(block) and C(setting).
      - C(block) is written like the RV(_value[].block) of a finding, for example C(local 127.0.0.1)
        or C(remote 10.0.0.0/8 > protocol imap); an empty C(block) means the top level.
    type: list
    elements: dict
    default: []
  personal_data:
    description:
      - Set to V(true) when personal data in logs was accepted deliberately (for example for
        fail2ban). Only the transcript and profile checks are then applied.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Read the effective Dovecot configuration
  ansible.builtin.command: doveconf -a
  register: __doveconf
  changed_when: false
  check_mode: false

- name: Fail on settings that override the logging profile
  ansible.builtin.fail:
    msg: "{{ item.block or 'top level' }}: {{ item.setting }} ({{ item.reason }})"
  loop: "{{ __doveconf.stdout | mailprivacy.gdpr.doveconf_overrides(expected={'mail_debug': 'no'}) }}"

# Check a profile before writing it: a dictionary is read as top-level settings.
- name: Refuse a profile that logs user names
  ansible.builtin.assert:
    that:
      - profile | mailprivacy.gdpr.doveconf_overrides | length == 0
  vars:
    profile:
      mail_log_prefix: "%s(%u): "
"""

RETURN = r"""
_value:
  description: One entry per offending setting, in the order found.
  type: list
  elements: dict
  contains:
    block:
      description:
        - Path of the block that holds the setting, outer blocks first, joined with C( > ),
          for example C(protocol imap) or C(remote 10.0.0.0/8 > protocol imap). Empty at the top level.
      type: str
    setting:
      description: Name of the setting.
      type: str
    kind:
      description: C(transcript), C(personal_data) or C(profile).
      type: str
    reason:
      description: Fixed explanation; it never contains the value.
      type: str
"""

import re

from ansible.errors import AnsibleFilterError
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.doveconf import parse_doveconf, unquote

BLOCK_SEPARATOR = " > "

# Switches that log user names, client IPs, queries or passwords when enabled.
_VERBOSE_SWITCHES = frozenset(
    (
        "auth_verbose",
        "auth_debug",
        "auth_debug_passwords",
        "mail_debug",
        "verbose_ssl",
        "verbose_proctitle",
    )
)
_TRUE_VALUES = frozenset(("yes", "y", "true", "1", "on"))
_NO_PASSWORDS = frozenset(("", "no", "none"))

# Variables that expand to personal data, per format setting (the letters mean
# different things in different settings: %s is the service in mail_log_prefix
# but the Subject in deliver_log_format).
_IDENTITY_LONG = frozenset(
    (
        "user",
        "username",
        "domain",
        "home",
        "rip",
        "real_rip",
        "orig_user",
        "orig_username",
        "orig_domain",
        "original_user",
        "original_username",
        "original_domain",
        "auth_user",
        "auth_username",
        "auth_domain",
        "master_user",
        "login_user",
        "login_username",
        "login_domain",
    )
)
_DELIVER_LONG = frozenset(
    (
        "subject",
        "from",
        "from_address",
        "from_name",
        "from_envelope",
        "to_envelope",
        "to",
        "to_address",
    )
)
_FORMAT_VARIABLES = {
    "login_log_format_elements": ("undhr", _IDENTITY_LONG),
    "login_log_format": ("undhr", _IDENTITY_LONG),
    "mail_log_prefix": ("undhr", _IDENTITY_LONG),
    "deliver_log_format": ("sfe", _DELIVER_LONG | _IDENTITY_LONG),
}
# Long variables backed by user or password databases can hold anything.
_DATABASE_PREFIXES = ("userdb", "passdb")
_MAIL_LOG_PERSONAL_FIELDS = frozenset(("from", "subject"))

_MODIFIERS = "LUEXRHNMDT"
_TOKEN_RE = re.compile(r"[A-Za-z0-9_]+")


def _normalise(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " ".join(_normalise(item) for item in value)
    return unquote(str(value))


def format_variables(value):
    """Return the variables used in a Dovecot %-format string.

    Short variables come back as one letter, long ones as the text between
    the braces, nested variables (%{if;%u;...}) included.
    """
    found = []
    i = 0
    length = len(value)
    while i < length:
        if value[i] != "%":
            i += 1
            continue
        i += 1
        # [-][0]<width>[.[0][-]<offset>]
        while i < length and (value[i].isdigit() or value[i] in "-."):
            i += 1
        while i < length and value[i] in _MODIFIERS:
            i += 1
        if i >= length:
            break
        if value[i] == "{":
            depth = 1
            j = i + 1
            while j < length and depth:
                if value[j] == "{":
                    depth += 1
                elif value[j] == "}":
                    depth -= 1
                j += 1
            inner = value[i + 1:j - 1] if depth == 0 else value[i + 1:]
            found.append("{" + inner + "}")
            found.extend(format_variables(inner))
            i = j
        else:
            found.append(value[i])
            i += 1
    return found


def format_leaks(setting, value):
    """True when the format string of setting expands to personal data."""
    short, long_names = _FORMAT_VARIABLES[setting]
    for var in format_variables(value):
        if not var.startswith("{"):
            if var in short:
                return True
            continue
        inner = var[1:-1]
        tokens = _TOKEN_RE.findall(inner)
        if tokens and tokens[0] in _DATABASE_PREFIXES:
            return True
        if any(token in long_names for token in tokens):
            return True
    return False


def _personal_data(name, value, path):
    lowered = value.lower()
    if name in _VERBOSE_SWITCHES:
        # passdb/userdb { auth_verbose = default } inherits the global value.
        return lowered in _TRUE_VALUES
    if name == "auth_verbose_passwords":
        return lowered not in _NO_PASSWORDS
    if name == "log_debug":
        return value != ""
    if name in _FORMAT_VARIABLES:
        return format_leaks(name, value)
    if name == "mail_log_fields":
        return bool(_MAIL_LOG_PERSONAL_FIELDS.intersection(lowered.split()))
    return False


def _transcript(name, value, path):
    if (name == "rawlog_dir" or name.endswith("_rawlog_dir")) and value != "":
        return True
    if name == "executable" and path and path[-1].startswith("service "):
        for token in value.split():
            if token.startswith("-R") or token.rsplit("/", 1)[-1] == "rawlog":
                return True
    return False


def _in_service(path):
    return any(block.startswith("service ") for block in path)


def _allow_key(item):
    if not isinstance(item, dict) or "setting" not in item:
        raise AnsibleFilterError("doveconf_overrides: every allow entry needs 'block' and 'setting' keys")
    return (str(item.get("block") or "").strip(), str(item["setting"]).strip())


def doveconf_overrides(config, expected=None, allow=None, personal_data=False):
    """Return the settings that leak personal data or override the profile."""
    if isinstance(config, dict):
        settings = [((), str(name), _normalise(value)) for name, value in config.items()]
    elif isinstance(config, str):
        settings = parse_doveconf(config)
    else:
        raise AnsibleFilterError("doveconf_overrides: the input must be doveconf output as a string or a dict")
    expected = {str(name): _normalise(value) for name, value in (expected or {}).items()}
    allowed = set(_allow_key(item) for item in (allow or []))

    results = []
    seen = set()
    for path, name, value in settings:
        block = BLOCK_SEPARATOR.join(path)
        key = (block, name)
        if key in seen or key in allowed:
            continue
        finding = None
        if _transcript(name, value, path):
            finding = ("transcript", "protocol transcripts (rawlog) record credentials and message content")
        elif not personal_data and _personal_data(name, value, path):
            finding = ("personal_data", "lets user names, addresses, client IPs or passwords into logs")
        elif name in expected and not _in_service(path):
            inherits = value == "default" and path and path[-1].split()[0] in ("passdb", "userdb")
            if not inherits and value != expected[name]:
                finding = ("profile", "differs from the logging profile")
        if finding:
            seen.add(key)
            results.append({"block": block, "setting": name, "kind": finding[0], "reason": finding[1]})
    return results


class FilterModule(object):
    """Dovecot configuration filters."""

    def filters(self):
        return {"doveconf_overrides": doveconf_overrides}
