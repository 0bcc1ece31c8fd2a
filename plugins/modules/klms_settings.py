#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: klms_settings
short_description: Read and set Kaspersky Security 8 for Linux Mail Server settings with klms-control
version_added: 0.2.0
description:
  - Reads the XML settings of a KLMS task, of message processing rules or of the application
    with C(klms-control), changes only the elements named in O(values), and writes the document back
    with the matching C(klms-control) set command when, and only when, a value differs
    (read, modify, write; every other element is sent back unchanged).
  - "Invocations per O(scope). V(task): C(--get-settings <task> -n -f <file>) and
    C(--set-settings <task> -n -f <file>). V(rule): C(--get-rule-list), then per rule ID
    C(--get-rule-settings <id> -f <file>) and C(--set-rule-settings <id> -f <file>).
    V(app): C(--get-app-settings -f <file>) and C(--set-app-settings -f <file>)."
  - C(--set-settings <task> -n -f), C(--set-app-settings -f), C(--get-rule-list) and the two rule commands
    are documented by Kaspersky or used in published scripts. C(--get-settings) and C(--get-app-settings)
    are B(not) confirmed by a primary source; they follow the documented rule pattern. When a read
    command fails, the module refuses to change anything and says which command failed.
  - After a set command the settings are read again; the module fails when they do not carry the new values.
  - Results and diffs name element paths, values of those elements and rule IDs only. Rule documents hold
    sender and recipient addresses; they are never returned. Temporary XML files are private (mode 0600 in
    a 0700 directory) and removed afterwards.
author:
  - mailprivacy.gdpr maintainers (!UNKNOWN)
attributes:
  check_mode:
    support: full
    description: Runs the read commands and reports what would change; never runs a set command.
  diff_mode:
    support: full
    description: Shows C(path = value) lines of the managed elements before and after, per task, rule or application.
options:
  klms_control:
    description: Path of C(klms-control).
    type: path
    default: /opt/kaspersky/klms/bin/klms-control
  scope:
    description: Which settings document to manage.
    type: str
    required: true
    choices: [task, rule, app]
  task:
    description:
      - Task name for O(scope=task), for example C(EventLogger). Passed with C(-n) (name, not ID).
    type: str
  rules:
    description:
      - "Rule IDs for O(scope=rule). Empty means every rule that C(klms-control --get-rule-list) lists
        (lines of the form C(ID: <number>))."
    type: list
    elements: int
    default: []
  values:
    description:
      - Element path below the root element (child names separated by C(/), for example
        C(scanSettings/asScanSettings/backupSpam)) mapped to the wanted text.
      - Booleans become C(1) and C(0), numbers their decimal form.
      - Each path must name exactly one element; a path that matches several elements is refused.
    type: dict
    required: true
  missing:
    description:
      - What to do when a path of O(values) is not in a document.
      - V(fail) refuses. V(skip) leaves it out and reports it in RV(settings[].missing), but still fails when
        none of the paths is found in a document (then the document is not the expected kind).
    type: str
    choices: [fail, skip]
    default: fail
notes:
  - Needs root on a host with KLMS 8 installed. Uses the Python standard library only.
seealso:
  - name: Kaspersky Security 8 for Linux Mail Server, rule settings from the command line
    description: Documents C(--get-rule-settings) and C(--set-rule-settings) and the C(backup*) elements.
    link: https://support.kaspersky.com/KLMS/8.2/en-US/73184.htm
"""

EXAMPLES = r"""
- name: Keep addresses and client IPs out of the KLMS event log
  mailprivacy.gdpr.klms_settings:
    scope: task
    task: EventLogger
    values:
      facility: Mail
      logLevel: Error

- name: Keep no copies of spam and phishing messages in Backup
  mailprivacy.gdpr.klms_settings:
    scope: rule
    values:
      scanSettings/asScanSettings/backupSpam: false
      scanSettings/asScanSettings/backupProbableSpam: false
      scanSettings/apScanSettings/backupPhishing: false
    missing: skip

- name: Limit the size of trace files
  mailprivacy.gdpr.klms_settings:
    scope: app
    values:
      tracerSettings/rotationFileSize: 52428800
      tracerSettings/maxFileCount: 5
"""

RETURN = r"""
settings:
  description: One entry per settings document that was read.
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: C(task <name>), C(rule <id>) or C(app).
      type: str
      sample: task EventLogger
    changed:
      description: Whether a value differed (and, outside check mode, was set).
      type: bool
      sample: true
    changes:
      description: Managed elements whose value differed, with the old and the new value.
      type: list
      elements: dict
      sample: [{path: logLevel, before: Info, after: Error}]
    missing:
      description: Paths of O(values) that the document does not have (only with O(missing=skip)).
      type: list
      elements: str
      sample: [scanSettings/asScanSettings/backupMassMail]
  sample:
    - target: task EventLogger
      changed: true
      changes: [{path: logLevel, before: Info, after: Error}]
      missing: []
commands:
  description: The klms-control commands run, as option names (no file names or values), in order.
  returned: always
  type: list
  elements: str
  sample: [--get-settings, --set-settings, --get-settings]
"""

import os
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET

from ansible.module_utils.basic import AnsibleModule

PATH_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*(/[A-Za-z_][A-Za-z0-9_.-]*)*$")
RULE_ID_RE = re.compile(r"^\s*ID\s*:\s*([0-9]+)\s*$", re.MULTILINE)


class KlmsSettingsError(Exception):
    """A refusal; the message names commands, paths and rule IDs, never values of documents."""


def normalise_value(value):
    """Text that klms-control expects for a value: booleans as 1/0, numbers in decimal."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != int(value):
            raise KlmsSettingsError("fractional numbers are not supported in values")
        return str(int(value))
    if value is None:
        raise KlmsSettingsError("values must not be null")
    if isinstance(value, (dict, list)):
        raise KlmsSettingsError("values must be text, numbers or booleans")
    return str(value)


def normalise_values(values):
    """Validate the paths of `values` and return [(path, text)] in a stable order."""
    if not values:
        raise KlmsSettingsError("values is empty: name at least one element to manage")
    result = []
    for path in sorted(values):
        if not isinstance(path, str) or not PATH_RE.match(path):
            raise KlmsSettingsError(
                "invalid element path %r: use child element names separated by '/'" % (path,)
            )
        result.append((path, normalise_value(values[path])))
    return result


def parse_document(data, what):
    """Parse an XML settings document (bytes); refuse anything that is not well-formed."""
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else 0
        raise KlmsSettingsError("%s is not well-formed XML (error at line %d)" % (what, line))


def find_element(root, path):
    """The one element at `path` below root, None when absent; refuse ambiguous paths."""
    element = root
    for name in path.split("/"):
        matches = [child for child in element if child.tag == name]
        if not matches:
            return None
        if len(matches) > 1:
            raise KlmsSettingsError("element path %s matches %d elements" % (path, len(matches)))
        element = matches[0]
    return element


def element_text(element):
    return (element.text or "").strip()


def plan_changes(root, wanted, missing_mode, target):
    """Compare the document with the wanted values.

    Returns (changes, missing): changes as dicts path/before/after, missing as paths.
    """
    changes = []
    missing = []
    for path, text in wanted:
        element = find_element(root, path)
        if element is None:
            missing.append(path)
            continue
        if len(element):
            raise KlmsSettingsError("%s: element %s has child elements, not a value" % (target, path))
        before = element_text(element)
        if before != text:
            changes.append({"path": path, "before": before, "after": text})
    if missing and (missing_mode == "fail" or len(missing) == len(wanted)):
        raise KlmsSettingsError(
            "%s: the settings read back have no element %s; the document does not have the expected "
            "structure for this KLMS version. Check the element names with klms-control on this host."
            % (target, ", ".join(missing))
        )
    return changes, missing


def apply_changes(root, changes):
    for change in changes:
        find_element(root, change["path"]).text = change["after"]


def serialise(root):
    """The document as UTF-8 bytes without an XML declaration (the form klms-control is fed in
    published scripts)."""
    return ET.tostring(root, encoding="unicode").encode("utf-8")


def diff_lines(wanted, root, missing):
    lines = []
    for path, dummy in wanted:
        if path in missing:
            continue
        lines.append("%s = %s" % (path, element_text(find_element(root, path))))
    return "\n".join(lines) + "\n"


class KlmsControl:
    """Runs klms-control with private temporary files."""

    def __init__(self, module, binary, workdir):
        self.module = module
        self.binary = binary
        self.workdir = workdir
        self.commands = []
        self.counter = 0

    def _file(self):
        self.counter += 1
        return os.path.join(self.workdir, "settings-%d.xml" % self.counter)

    def run(self, args, what, show_stderr=True):
        self.commands.append(args[0])
        rc, out, err = self.module.run_command(
            [self.binary] + args, environ_update={"LC_ALL": "C", "LANG": "C"}
        )
        if rc != 0:
            detail = ""
            if show_stderr and err.strip():
                detail = ": " + err.strip().splitlines()[0][:200]
            raise KlmsSettingsError(
                "klms-control %s failed with exit code %d (%s)%s" % (args[0], rc, what, detail)
            )
        return out

    def read(self, args, what, show_stderr=True):
        path = self._file()
        self.run(args + ["-f", path], what, show_stderr)
        if not os.path.isfile(path):
            raise KlmsSettingsError("klms-control %s wrote no settings file (%s)" % (args[0], what))
        with open(path, "rb") as handle:
            data = handle.read()
        os.unlink(path)
        return parse_document(data, "the output of klms-control %s (%s)" % (args[0], what))

    def write(self, args, root, what, show_stderr=True):
        path = self._file()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(serialise(root))
        self.run(args + ["-f", path], what, show_stderr)
        os.unlink(path)


def targets_for(params, control):
    """[(label, read args, write args, show_stderr)] for the requested scope."""
    scope = params["scope"]
    if scope == "task":
        task = params["task"]
        return [("task %s" % task, ["--get-settings", task, "-n"], ["--set-settings", task, "-n"], True)]
    if scope == "app":
        return [("app", ["--get-app-settings"], ["--set-app-settings"], True)]
    rule_ids = params["rules"]
    if not rule_ids:
        listing = control.run(["--get-rule-list"], "rule list", show_stderr=False)
        rule_ids = parse_rule_list(listing)
    # Rule names are free text set by administrators: errors of rule commands do not quote stderr.
    return [
        ("rule %d" % rule_id, ["--get-rule-settings", str(rule_id)], ["--set-rule-settings", str(rule_id)], False)
        for rule_id in rule_ids
    ]


def parse_rule_list(listing):
    """Rule IDs from `klms-control --get-rule-list` (Name/ID blocks), in order, without duplicates."""
    ids = []
    for match in RULE_ID_RE.finditer(listing):
        rule_id = int(match.group(1))
        if rule_id not in ids:
            ids.append(rule_id)
    if not ids and listing.strip():
        raise KlmsSettingsError(
            "klms-control --get-rule-list printed no line of the form 'ID: <number>'; "
            "list the rule IDs explicitly in the rules option"
        )
    return ids


def manage(module, control):
    params = module.params
    wanted = normalise_values(params["values"])
    settings = []
    before_text = []
    after_text = []
    for label, read_args, write_args, show_stderr in targets_for(params, control):
        root = control.read(read_args, label, show_stderr)
        changes, missing = plan_changes(root, wanted, params["missing"], label)
        before_text.append("[%s]\n%s" % (label, diff_lines(wanted, root, missing)))
        if changes:
            apply_changes(root, changes)
            if not module.check_mode:
                control.write(write_args, root, label, show_stderr)
                check = control.read(read_args, label + ", read back", show_stderr)
                unchanged, dummy = plan_changes(check, wanted, params["missing"], label)
                if unchanged:
                    raise KlmsSettingsError(
                        "%s: klms-control accepted the settings, but reading them back still shows other "
                        "values for %s" % (label, ", ".join(c["path"] for c in unchanged))
                    )
        after_text.append("[%s]\n%s" % (label, diff_lines(wanted, root, missing)))
        settings.append({"target": label, "changed": bool(changes), "changes": changes, "missing": missing})
    diff = {
        "before_header": "klms-control (%s)" % params["scope"],
        "after_header": "klms-control (%s)" % params["scope"],
        "before": "".join(before_text),
        "after": "".join(after_text),
    }
    return settings, diff


def main():
    module = AnsibleModule(
        argument_spec=dict(
            klms_control=dict(type="path", default="/opt/kaspersky/klms/bin/klms-control"),
            scope=dict(type="str", required=True, choices=["task", "rule", "app"]),
            task=dict(type="str"),
            rules=dict(type="list", elements="int", default=[]),
            values=dict(type="dict", required=True),
            missing=dict(type="str", default="fail", choices=["fail", "skip"]),
        ),
        required_if=[("scope", "task", ["task"])],
        supports_check_mode=True,
    )
    binary = module.params["klms_control"]
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        module.fail_json(msg="%s is not an executable file: is KLMS installed?" % binary, settings=[], commands=[])
    if module.params["task"] is not None and not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", module.params["task"]):
        module.fail_json(msg="task must be a KLMS task name such as EventLogger", settings=[], commands=[])

    workdir = tempfile.mkdtemp(prefix="klms-settings-")
    control = KlmsControl(module, binary, workdir)
    try:
        settings, diff = manage(module, control)
    except KlmsSettingsError as exc:
        module.fail_json(msg=str(exc), settings=[], commands=control.commands)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    result = dict(
        changed=any(entry["changed"] for entry in settings),
        settings=settings,
        commands=control.commands,
    )
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
