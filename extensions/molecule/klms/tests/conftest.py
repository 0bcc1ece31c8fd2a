# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared data and helpers for the mailprivacy.gdpr.klms verifier (testinfra).

mp-klms runs a TEST DOUBLE of klms-control (../files/klms_control_double.py): every
invocation is a line of /var/lib/klms-test-double/record.jsonl, and converge.yml writes a
marker line at the start of each run (check, converge, idempotence).
"""

from __future__ import annotations

import json
import pathlib
import xml.etree.ElementTree as ET

import pytest
import yaml

SCENARIO_DIR = pathlib.Path(__file__).resolve().parent.parent
ROLE_VARS = yaml.safe_load((SCENARIO_DIR / "vars" / "klms_test.yml").read_text())
FIXTURES = yaml.safe_load((SCENARIO_DIR / "vars" / "fixtures.yml").read_text())
SEED_DIR = SCENARIO_DIR / "files" / "klms-double-state"

DOUBLE_HOST = "podman://mp-klms"
ABSENT_HOST = "podman://mp-klms-absent"

KLMS_CONTROL = "/opt/kaspersky/klms/bin/klms-control"
RECORD = "/var/lib/klms-test-double/record.jsonl"
STATE_DIR = "/var/lib/klms-test-double/state"
FILTERS_CONF = "/etc/opt/kaspersky/klms/klms_filters.conf"
MARKER = "# mailprivacy.gdpr:klms"
CLEANUP_UNIT = "mailprivacy-klms-cleanup"
CLEANUP_SCRIPT = "/usr/local/sbin/mailprivacy-klms-cleanup"

SET_COMMANDS = {"--set-settings", "--set-rule-settings", "--set-app-settings"}
EVENT_LOGGER_ID = 9
RULE_IDS = [1, 2]

# Role defaults the converge run does not override (roles/klms/defaults/main.yml).
BACKUP_FLAG_SECTIONS = {
    "backupSpam": "asScanSettings",
    "backupProbableSpam": "asScanSettings",
    "backupBlacklisted": "asScanSettings",
    "backupMassMail": "asScanSettings",
    "backupPhishing": "apScanSettings",
    "backupSizeExceeded": "cfScanSettings",
    "backupBannedFileName": "cfScanSettings",
    "backupBannedFileFormat": "cfScanSettings",
}


def read_record(host):
    """All lines of the double's record, parsed."""
    content = host.file(RECORD).content_string
    return [json.loads(line) for line in content.splitlines() if line.strip()]


def split_runs(entries):
    """[(marker, [entries])] of the role runs (check, converge, idempotence) in order.

    Lines before the first marker (prepare) and after a "verifier" marker (the verifier's own
    probes of the double, see mark_verifier_probes) belong to no role run and are dropped.
    """
    runs = []
    current = None
    for entry in entries:
        if "marker" in entry:
            current = (entry, []) if entry["marker"] == "run" else None
            if current:
                runs.append(current)
        elif current:
            current[1].append(entry)
    return runs


def mark_verifier_probes(host):
    """Separate the verifier's own invocations of the double from the role runs."""
    host.run("""printf '{"marker": "verifier"}\\n' >> %s""" % RECORD)


def invocations(entries):
    """Only the klms-control invocations of a run (not the service events)."""
    return [e for e in entries if "argv" in e]


def sets(entries):
    return [e for e in invocations(entries) if e["command"] in SET_COMMANDS]


def parse(text):
    return ET.fromstring(text)


def leaf(root, path):
    element = root.find(path)
    assert element is not None, "no element %s" % path
    return (element.text or "").strip()


def canonical(root, skip=()):
    """The document as a comparable structure, without the elements in `skip` (paths)."""
    def walk(element, prefix):
        path = prefix + "/" + element.tag if prefix else element.tag
        if path in skip:
            return None
        children = [c for c in (walk(child, path) for child in element) if c is not None]
        return (element.tag, (element.text or "").strip(), tuple(children))
    return walk(root, "")


@pytest.fixture(scope="module")
def runs(host):
    result = split_runs(read_record(host))
    assert len(result) >= 3, "expected the check, converge and idempotence runs in the record, got %d" % len(result)
    return result
