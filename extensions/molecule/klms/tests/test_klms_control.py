# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the role sent to the klms-control test double, per run, and the resulting state."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from conftest import (
    BACKUP_FLAG_SECTIONS,
    DOUBLE_HOST,
    EVENT_LOGGER_ID,
    KLMS_CONTROL,
    ROLE_VARS,
    RULE_IDS,
    SEED_DIR,
    STATE_DIR,
    canonical,
    invocations,
    leaf,
    mark_verifier_probes,
    parse,
    sets,
)

testinfra_hosts = [DOUBLE_HOST]

APP_PATHS = {
    "tracerSettings/level": ROLE_VARS["klms_trace_level"],
    "tracerSettings/rotationFileSize": str(ROLE_VARS["klms_trace_rotation_file_size"]),
    "tracerSettings/maxFileCount": str(ROLE_VARS["klms_trace_max_file_count"]),
    ROLE_VARS["klms_backup_max_size_element"]: str(ROLE_VARS["klms_backup_max_size_mb"]),
}


def flag_path(flag):
    return "scanSettings/%s/%s" % (BACKUP_FLAG_SECTIONS[flag], flag)


def test_the_double_is_labelled_and_in_place(host):
    mark_verifier_probes(host)
    control = host.file(KLMS_CONTROL)
    assert control.is_file and control.mode == 0o755
    assert "TEST DOUBLE of klms-control -- NOT Kaspersky software" in control.content_string
    assert "not Kaspersky software" in host.check_output("%s --help", KLMS_CONTROL)


def test_the_double_rejects_what_is_not_documented(host):
    """The double is strict, so a role that sent anything else would have failed."""
    mark_verifier_probes(host)
    assert host.run("%s --get-settings EventLogger -f /tmp/x.xml", KLMS_CONTROL).rc == 2  # name without -n
    assert host.run("%s --set-settings EventLogger -n", KLMS_CONTROL).rc == 2  # no -f
    assert host.run("%s --set-trace-level Debug", KLMS_CONTROL).rc == 2  # unknown option
    assert host.run("%s --get-rule-list --verbose", KLMS_CONTROL).rc == 2


def test_runs_are_check_converge_idempotence(runs):
    assert [marker["check_mode"] for marker, dummy in runs] == [True, False, False]
    for dummy, entries in runs:
        assert all(e["rc"] == 0 for e in invocations(entries)), [e for e in invocations(entries) if e["rc"]]


def test_check_mode_read_everything_and_set_nothing(runs):
    dummy, entries = runs[0]
    commands = [(e["command"], e["target"], e["by_name"]) for e in invocations(entries)]
    assert ("--get-settings", "EventLogger", True) in commands
    assert ("--get-rule-list", None, False) in commands
    for rule_id in RULE_IDS:
        assert ("--get-rule-settings", str(rule_id), False) in commands
    assert ("--get-app-settings", None, False) in commands
    assert sets(entries) == []


def test_converge_sent_event_logger_settings_once(runs):
    dummy, entries = runs[1]
    sent = [e for e in sets(entries) if e["command"] == "--set-settings"]
    assert len(sent) == 1
    entry = sent[0]
    # The confirmed invocation: --set-settings EventLogger -n -f <file>.
    assert entry["argv"][:4] == ["--set-settings", "EventLogger", "-n", "-f"] and len(entry["argv"]) == 5
    assert entry["resolved_id"] == EVENT_LOGGER_ID
    root = parse(entry["xml"])
    assert root.tag == "root"
    assert sorted(child.tag for child in root) == ["facility", "logLevel"]
    assert leaf(root, "logLevel") == ROLE_VARS["klms_eventlogger_log_level"]
    assert leaf(root, "facility") == ROLE_VARS["klms_eventlogger_facility"]


def test_converge_sent_each_rule_once_with_the_flags(runs):
    dummy, entries = runs[1]
    sent = {e["target"]: e for e in sets(entries) if e["command"] == "--set-rule-settings"}
    # Both fixture rules differ from the wanted flags.
    assert sorted(sent) == [str(i) for i in RULE_IDS]
    for rule_id in RULE_IDS:
        entry = sent[str(rule_id)]
        assert entry["argv"][:3] == ["--set-rule-settings", str(rule_id), "-f"] and not entry["by_name"]
        root = parse(entry["xml"])
        for flag, wanted in ROLE_VARS["klms_backup_flags"].items():
            element = root.find(flag_path(flag))
            if element is None:
                # Rule 2 has the shape of KLMS 8.0: no backupMassMail, and the role must not add it.
                assert (rule_id, flag) == (2, "backupMassMail")
                continue
            assert element.text.strip() == ("1" if wanted else "0"), (rule_id, flag)


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rules_kept_everything_but_the_flags(host, rule_id):
    """Read, modify, write: criteria (with addresses), actions and marks are sent back unchanged."""
    seed = ET.fromstring((SEED_DIR / ("rule-%d.xml" % rule_id)).read_text())
    stored = parse(host.file("%s/rule-%d.xml" % (STATE_DIR, rule_id)).content_string)
    skip = {"root/" + flag_path(flag) for flag in BACKUP_FLAG_SECTIONS}
    assert canonical(stored, skip) == canonical(seed, skip)


def test_converge_sent_the_app_settings_once(runs):
    dummy, entries = runs[1]
    sent = [e for e in sets(entries) if e["command"] == "--set-app-settings"]
    assert len(sent) == 1
    assert sent[0]["argv"][:2] == ["--set-app-settings", "-f"] and len(sent[0]["argv"]) == 3
    root = parse(sent[0]["xml"])
    for path, wanted in APP_PATHS.items():
        assert leaf(root, path) == wanted, path
    seed = ET.fromstring((SEED_DIR / "app.xml").read_text())
    assert canonical(root, {"root/" + p for p in APP_PATHS}) == canonical(seed, {"root/" + p for p in APP_PATHS})


def test_converge_read_back_what_it_set(runs):
    """After each set command the role read the settings again (the module's read-back check)."""
    dummy, entries = runs[1]
    calls = invocations(entries)
    for index, entry in enumerate(calls):
        if entry["command"] in ("--set-settings", "--set-rule-settings", "--set-app-settings"):
            follow = calls[index + 1]
            assert follow["command"] == entry["command"].replace("--set-", "--get-")
            assert follow["target"] == entry["target"]
            assert follow["xml"] == entry["xml"]


def test_idempotence_run_set_nothing(runs):
    dummy, entries = runs[2]
    assert invocations(entries), "the idempotence run did not even read the settings"
    assert sets(entries) == []


def test_state_carries_the_role_values(host):
    event_logger = parse(host.file("%s/task-%d.xml" % (STATE_DIR, EVENT_LOGGER_ID)).content_string)
    assert leaf(event_logger, "logLevel") == ROLE_VARS["klms_eventlogger_log_level"]
    assert leaf(event_logger, "facility") == ROLE_VARS["klms_eventlogger_facility"]
    app = parse(host.file("%s/app.xml" % STATE_DIR).content_string)
    for path, wanted in APP_PATHS.items():
        assert leaf(app, path) == wanted, path


def test_no_other_tasks_were_touched(runs):
    for dummy, entries in runs:
        for entry in invocations(entries):
            if entry["command"] in ("--get-settings", "--set-settings"):
                assert entry["target"] == "EventLogger"
