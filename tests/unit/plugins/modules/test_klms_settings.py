# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the mailprivacy.gdpr.klms_settings module.

The module is run end to end against a small fake klms-control written into a temporary
directory (a stored XML document per target and a log of its argv), independent of the
Molecule scenario's test double.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible.module_utils.testing import patch_module_args
from ansible_collections.mailprivacy.gdpr.plugins.modules import klms_settings
from ansible_collections.mailprivacy.gdpr.plugins.modules.klms_settings import (
    KlmsSettingsError,
    find_element,
    normalise_value,
    normalise_values,
    parse_rule_list,
    plan_changes,
    serialise,
)

EVENT_LOGGER = "<root>\n  <facility>Mail</facility>\n  <logLevel>Info</logLevel>\n  <extra>keep</extra>\n</root>\n"
RULE_1 = textwrap.dedent("""\
    <root>
      <belongingCriteria><sender><item><type>EMailMask</type><value>ann@example.org</value></item></sender></belongingCriteria>
      <scanSettings>
        <asScanSettings><backupSpam>1</backupSpam><backupMassMail>1</backupMassMail><spamMark>[Spam]</spamMark></asScanSettings>
      </scanSettings>
    </root>
    """)
# A KLMS 8.0-style rule without backupMassMail.
RULE_7 = textwrap.dedent("""\
    <root>
      <belongingCriteria><recipient><item><type>EMailMask</type><value>bob@example.org</value></item></recipient></belongingCriteria>
      <scanSettings><asScanSettings><backupSpam>0</backupSpam></asScanSettings></scanSettings>
    </root>
    """)
RULE_LIST = "Name: Default rule for ann@example.org\nID: 1\n\nName: Old\nID: 7\n\n"

# The fake klms-control: documents in $FAKE_KLMS_DIR/<target>.xml, argv log in calls.jsonl.
# FAKE_KLMS_FAIL=<option> makes that option fail; FAKE_KLMS_IGNORE_SET=1 accepts set
# commands without storing them; FAKE_KLMS_GARBAGE=1 returns a broken document.
FAKE = textwrap.dedent("""\
    import json, os, shutil, sys
    base = os.environ["FAKE_KLMS_DIR"]
    argv = sys.argv[1:]
    with open(os.path.join(base, "calls.jsonl"), "a") as log:
        log.write(json.dumps(argv) + "\\n")
    command = argv[0]
    if os.environ.get("FAKE_KLMS_FAIL") == command:
        sys.stderr.write("fake failure of " + command + "\\n")
        sys.exit(3)
    if command == "--get-rule-list":
        sys.stdout.write(open(os.path.join(base, "rule-list.txt")).read())
        sys.exit(0)
    target = {"--get-settings": "task-" + argv[1], "--set-settings": "task-" + argv[1],
              "--get-rule-settings": "rule-" + argv[1], "--set-rule-settings": "rule-" + argv[1],
              "--get-app-settings": "app", "--set-app-settings": "app"}[command]
    stored = os.path.join(base, target + ".xml")
    path = argv[argv.index("-f") + 1]
    if command.startswith("--get-"):
        if os.environ.get("FAKE_KLMS_GARBAGE"):
            open(path, "w").write("<root><unclosed></root>")
        else:
            shutil.copyfile(stored, path)
    elif not os.environ.get("FAKE_KLMS_IGNORE_SET"):
        shutil.copyfile(path, stored)
    """)


class ModuleExit(Exception):
    def __init__(self, result):
        super().__init__(result.get("msg", ""))
        self.result = result


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A fake klms-control and its document directory."""
    base = tmp_path / "state"
    base.mkdir()
    (base / "task-EventLogger.xml").write_text(EVENT_LOGGER)
    (base / "rule-1.xml").write_text(RULE_1)
    (base / "rule-7.xml").write_text(RULE_7)
    (base / "app.xml").write_text("<root><tracerSettings><level>Debug</level></tracerSettings></root>")
    (base / "rule-list.txt").write_text(RULE_LIST)
    binary = tmp_path / "klms-control"
    binary.write_text("#!%s\n%s" % (sys.executable, FAKE))
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("FAKE_KLMS_DIR", str(base))
    for name in ("FAKE_KLMS_FAIL", "FAKE_KLMS_IGNORE_SET", "FAKE_KLMS_GARBAGE"):
        monkeypatch.delenv(name, raising=False)

    class Fake:
        path = str(binary)
        dir = base

        @staticmethod
        def calls():
            log = base / "calls.jsonl"
            if not log.exists():
                return []
            return [json.loads(line) for line in log.read_text().splitlines()]

        @staticmethod
        def doc(name):
            return ET.fromstring((base / (name + ".xml")).read_text())

    return Fake


def run_module(monkeypatch, args, check_mode=False, diff=False):
    def exit_json(self, **kwargs):
        kwargs.setdefault("failed", False)
        raise ModuleExit(kwargs)

    def fail_json(self, **kwargs):
        kwargs["failed"] = True
        raise ModuleExit(kwargs)

    monkeypatch.setattr(klms_settings.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(klms_settings.AnsibleModule, "fail_json", fail_json)
    args = dict(args)
    args["_ansible_check_mode"] = check_mode
    args["_ansible_diff"] = diff
    with patch_module_args(args):
        with pytest.raises(ModuleExit) as exc:
            klms_settings.main()
    return exc.value.result


def text_at(root, path):
    return (find_element(root, path).text or "").strip()


# --- pure functions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [(True, "1"), (False, "0"), (0, "0"), (52428800, "52428800"), (3.0, "3"), ("Error", "Error")],
)
def test_normalise_value(value, expected):
    assert normalise_value(value) == expected


@pytest.mark.parametrize("value", [None, 2.5, {"a": 1}, [1]])
def test_normalise_value_refuses(value):
    with pytest.raises(KlmsSettingsError):
        normalise_value(value)


@pytest.mark.parametrize("path", ["", "/logLevel", "logLevel/", "a//b", "../etc", "a b", "a/*", "1abc"])
def test_invalid_paths_are_refused(path):
    with pytest.raises(KlmsSettingsError, match="invalid element path"):
        normalise_values({path: "x"})


def test_values_are_sorted_and_normalised():
    assert normalise_values({"b/c": True, "a": 5}) == [("a", "5"), ("b/c", "1")]
    with pytest.raises(KlmsSettingsError, match="empty"):
        normalise_values({})


def test_parse_rule_list():
    assert parse_rule_list(RULE_LIST) == [1, 7]
    assert parse_rule_list("ID: 3\nID: 3\n  ID:  12  \n") == [3, 12]
    assert parse_rule_list("") == []
    with pytest.raises(KlmsSettingsError, match="ID: <number>"):
        parse_rule_list("Rules: Default (1)\n")


def test_plan_changes_reports_differences_and_missing():
    root = ET.fromstring(RULE_7)
    wanted = normalise_values({
        "scanSettings/asScanSettings/backupSpam": True,
        "scanSettings/asScanSettings/backupMassMail": False,
    })
    changes, missing = plan_changes(root, wanted, "skip", "rule 7")
    assert changes == [{"path": "scanSettings/asScanSettings/backupSpam", "before": "0", "after": "1"}]
    assert missing == ["scanSettings/asScanSettings/backupMassMail"]
    with pytest.raises(KlmsSettingsError, match="backupMassMail"):
        plan_changes(root, wanted, "fail", "rule 7")


def test_plan_changes_refuses_a_document_without_any_wanted_element():
    root = ET.fromstring("<root><other>1</other></root>")
    with pytest.raises(KlmsSettingsError, match="expected structure"):
        plan_changes(root, normalise_values({"logLevel": "Error", "facility": "Mail"}), "skip", "task X")


def test_ambiguous_and_non_leaf_paths_are_refused():
    root = ET.fromstring("<root><a><b>1</b></a><a><b>2</b></a><c><d/></c></root>")
    with pytest.raises(KlmsSettingsError, match="matches 2 elements"):
        plan_changes(root, normalise_values({"a/b": "1"}), "fail", "app")
    with pytest.raises(KlmsSettingsError, match="child elements"):
        plan_changes(root, normalise_values({"c": "1"}), "fail", "app")


def test_serialise_has_no_declaration_and_round_trips():
    root = ET.fromstring(RULE_1)
    data = serialise(root)
    assert data.startswith(b"<root>")
    assert ET.tostring(ET.fromstring(data)) == ET.tostring(root)


@given(st.dictionaries(st.sampled_from(["facility", "logLevel", "extra"]),
                       st.one_of(st.booleans(), st.integers(0, 10 ** 9),
                                 st.text(alphabet="AbcZ019 -_", min_size=1, max_size=12).map(str.strip)
                                 .filter(bool)),
                       min_size=1))
def test_applied_values_leave_nothing_to_change(values):
    """Idempotence of the planning: after applying the planned changes, nothing differs."""
    root = ET.fromstring(EVENT_LOGGER)
    wanted = normalise_values(values)
    changes, dummy = plan_changes(root, wanted, "fail", "task EventLogger")
    klms_settings.apply_changes(root, changes)
    reparsed = ET.fromstring(serialise(root))
    assert plan_changes(reparsed, wanted, "fail", "task EventLogger") == ([], [])


# --- the module against the fake klms-control -------------------------------------------


def test_task_settings_are_set_only_when_they_differ(fake, monkeypatch):
    args = {"klms_control": fake.path, "scope": "task", "task": "EventLogger",
            "values": {"logLevel": "Error", "facility": "Mail"}}
    result = run_module(monkeypatch, args)
    assert result["changed"] is True
    assert result["settings"] == [{"target": "task EventLogger", "changed": True, "missing": [],
                                   "changes": [{"path": "logLevel", "before": "Info", "after": "Error"}]}]
    assert result["commands"] == ["--get-settings", "--set-settings", "--get-settings"]
    calls = fake.calls()
    assert calls[0][:3] == ["--get-settings", "EventLogger", "-n"] and calls[0][3] == "-f"
    assert calls[1][:4] == ["--set-settings", "EventLogger", "-n", "-f"]
    doc = fake.doc("task-EventLogger")
    assert text_at(doc, "logLevel") == "Error"
    assert text_at(doc, "facility") == "Mail"
    assert text_at(doc, "extra") == "keep"  # untouched elements are sent back as they were

    again = run_module(monkeypatch, args)
    assert again["changed"] is False
    assert again["commands"] == ["--get-settings"]
    assert [c[0] for c in fake.calls()].count("--set-settings") == 1


def test_temporary_files_are_private_and_removed(fake, monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    seen = []
    original = klms_settings.KlmsControl.run

    def spy(self, args, what, show_stderr=True):
        if "-f" in args:
            directory = os.path.dirname(args[args.index("-f") + 1])
            seen.append(stat.S_IMODE(os.stat(directory).st_mode))
        return original(self, args, what, show_stderr)

    monkeypatch.setattr(klms_settings.KlmsControl, "run", spy)
    monkeypatch.setattr(klms_settings.tempfile, "tempdir", str(tmp_path))
    run_module(monkeypatch, {"klms_control": fake.path, "scope": "task", "task": "EventLogger",
                             "values": {"logLevel": "Error"}})
    assert seen and all(mode == 0o700 for mode in seen)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("klms-settings-")]


def test_check_mode_reads_but_never_sets(fake, monkeypatch):
    result = run_module(monkeypatch, {"klms_control": fake.path, "scope": "task", "task": "EventLogger",
                                      "values": {"logLevel": "Error"}}, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["commands"] == ["--get-settings"]
    assert [c[0] for c in fake.calls()] == ["--get-settings"]
    assert text_at(fake.doc("task-EventLogger"), "logLevel") == "Info"
    assert result["diff"]["before"] == "[task EventLogger]\nlogLevel = Info\n"
    assert result["diff"]["after"] == "[task EventLogger]\nlogLevel = Error\n"


def test_rules_from_the_rule_list_without_names_or_addresses(fake, monkeypatch):
    args = {"klms_control": fake.path, "scope": "rule", "missing": "skip",
            "values": {"scanSettings/asScanSettings/backupSpam": False,
                       "scanSettings/asScanSettings/backupMassMail": False}}
    result = run_module(monkeypatch, args, diff=True)
    assert result["changed"] is True
    by_target = {entry["target"]: entry for entry in result["settings"]}
    assert set(by_target) == {"rule 1", "rule 7"}
    assert by_target["rule 1"]["changed"] is True and by_target["rule 1"]["missing"] == []
    assert by_target["rule 7"] == {"target": "rule 7", "changed": False, "changes": [],
                                   "missing": ["scanSettings/asScanSettings/backupMassMail"]}
    assert [c[:2] for c in fake.calls() if c[0] == "--set-rule-settings"] == [["--set-rule-settings", "1"]]
    rule = fake.doc("rule-1")
    assert text_at(rule, "scanSettings/asScanSettings/backupSpam") == "0"
    assert text_at(rule, "scanSettings/asScanSettings/spamMark") == "[Spam]"
    assert text_at(rule, "belongingCriteria/sender/item/value") == "ann@example.org"
    # Rule names and the addresses in the rules never reach the result.
    dumped = json.dumps(result)
    assert "example.org" not in dumped and "Default rule" not in dumped


def test_explicit_rule_ids_skip_the_rule_list(fake, monkeypatch):
    result = run_module(monkeypatch, {"klms_control": fake.path, "scope": "rule", "rules": [7],
                                      "values": {"scanSettings/asScanSettings/backupSpam": False}})
    assert result["changed"] is False
    assert [c[0] for c in fake.calls()] == ["--get-rule-settings"]


def test_missing_element_fails_by_default(fake, monkeypatch):
    result = run_module(monkeypatch, {"klms_control": fake.path, "scope": "rule", "rules": [7],
                                      "values": {"scanSettings/asScanSettings/backupMassMail": False}})
    assert result["failed"] and "backupMassMail" in result["msg"]
    assert "--set-rule-settings" not in [c[0] for c in fake.calls()]


def test_app_settings(fake, monkeypatch):
    result = run_module(monkeypatch, {"klms_control": fake.path, "scope": "app",
                                      "values": {"tracerSettings/level": "Warning"}})
    assert result["changed"] is True
    assert [c[0] for c in fake.calls()] == ["--get-app-settings", "--set-app-settings", "--get-app-settings"]
    assert text_at(fake.doc("app"), "tracerSettings/level") == "Warning"


def test_failed_read_refuses_to_set(fake, monkeypatch):
    monkeypatch.setenv("FAKE_KLMS_FAIL", "--get-settings")
    result = run_module(monkeypatch, {"klms_control": fake.path, "scope": "task", "task": "EventLogger",
                                      "values": {"logLevel": "Error"}})
    assert result["failed"]
    assert "--get-settings failed with exit code 3" in result["msg"]
    assert "fake failure" in result["msg"]
    assert [c[0] for c in fake.calls()] == ["--get-settings"]


def test_failed_rule_command_does_not_quote_its_output(fake, monkeypatch):
    monkeypatch.setenv("FAKE_KLMS_FAIL", "--get-rule-settings")
    result = run_module(monkeypatch, {"klms_control": fake.path, "scope": "rule", "rules": [1],
                                      "values": {"scanSettings/asScanSettings/backupSpam": False}})
    assert result["failed"] and "rule 1" in result["msg"]
    assert "fake failure" not in result["msg"]


def test_set_that_does_not_stick_fails(fake, monkeypatch):
    monkeypatch.setenv("FAKE_KLMS_IGNORE_SET", "1")
    result = run_module(monkeypatch, {"klms_control": fake.path, "scope": "task", "task": "EventLogger",
                                      "values": {"logLevel": "Error"}})
    assert result["failed"] and "reading them back" in result["msg"]


def test_broken_document_is_refused(fake, monkeypatch):
    monkeypatch.setenv("FAKE_KLMS_GARBAGE", "1")
    result = run_module(monkeypatch, {"klms_control": fake.path, "scope": "app",
                                      "values": {"tracerSettings/level": "Warning"}})
    assert result["failed"] and "not well-formed" in result["msg"]
    assert "--set-app-settings" not in [c[0] for c in fake.calls()]


def test_missing_binary_and_bad_task_name(fake, monkeypatch, tmp_path):
    result = run_module(monkeypatch, {"klms_control": str(tmp_path / "nope"), "scope": "app",
                                      "values": {"a": 1}})
    assert result["failed"] and "is KLMS installed" in result["msg"]
    result = run_module(monkeypatch, {"klms_control": fake.path, "scope": "task", "task": "Event Logger; rm",
                                      "values": {"a": 1}})
    assert result["failed"] and "task name" in result["msg"]
    assert fake.calls() == []
