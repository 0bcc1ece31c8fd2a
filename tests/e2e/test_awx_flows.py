# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The AWX job flows of issue 7 through ansible-runner, the engine AWX uses, on this machine.

* The drift check (playbooks/compliance_check.yml --check --diff, as the "drift check" job
  template runs it) against ``localhost`` (``ansible_connection=local``) whose log audit points
  at fixture logs full of personal data: the run fails because of mailprivacy_fail_on_drift,
  the JSON, Markdown and JUnit reports (fleet and per host) say which patterns drifted, the job
  artifacts carry the counts (set_stats), and no identifier of the fixtures appears anywhere in
  the runner's artifacts or in the reports. With clean logs the same job passes.
* The records of processing (playbooks/records_of_processing.yml) against a fixture tree: the
  CSV, JSON and Markdown records hold one row per data store with the retention read from the
  fixture configuration, and the run writes no compliance report.

Run: pytest tests/e2e/test_awx_flows.py (about a minute; no containers needed).
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import sys
import xml.etree.ElementTree as ET

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "mailprivacy", "gdpr")
PLAYBOOKS = os.path.join(ROOT, "playbooks")

if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)

ansible_runner = pytest.importorskip("ansible_runner")

# identifiers in the fixture logs; none may reach an artifact or a report
IDENTIFIERS = ["zoe.quill@kunde.example", "zoe.quill", "kunde.example", "zquill7", "192.0.2.77",
               "2001:db8::77", "hunter2secret", "AHpxdWlsbDcAaHVudGVyMnNlY3JldA==", "maxumber@andere.example"]
LOG_PATTERNS = ["email", "ipv4", "ipv6", "login", "password", "auth_debug", "auth_payload", "smtp_transcript"]


def stamp(offset=0):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - offset))


def pii_logs(root):
    os.makedirs(os.path.join(root, "qmail", "smtpd"), exist_ok=True)
    with open(os.path.join(root, "mail.log"), "w") as handle:
        handle.write(
            "%s mx dovecot: imap-login: Login: user=<zquill7>, method=PLAIN, rip=192.0.2.77, session=<a>\n"
            "%s mx dovecot: imap(zoe.quill@kunde.example)<12><a>: Logged out in=10 out=20\n"
            "%s mx postfix/smtp[9]: to=<maxumber@andere.example>, relay=local, status=sent\n"
            "%s mx imapd: Connection, ip=[2001:db8::77], port=[51234]\n"
            % (stamp(300), stamp(200), stamp(100), stamp(50)))
    with gzip.open(os.path.join(root, "mail.log.1.gz"), "wt") as handle:
        handle.write("%s mx imapd: LOGIN: ip=[::ffff:192.0.2.77], password=hunter2secret\n"
                     "%s mx dovecot: auth: Debug: client in: AUTH\t1\tPLAIN\tresp=AHpxdWlsbDcAaHVudGVyMnNlY3JldA==\n"
                     % (stamp(86400), stamp(86300)))
    with open(os.path.join(root, "qmail", "smtpd", "current"), "w") as handle:
        handle.write("4242 < AUTH PLAIN AHpxdWlsbDcAaHVudGVyMnNlY3JldA==\n4242 > 235 ok\n")


def clean_logs(root):
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "mail.log"), "w") as handle:
        handle.write("%s mx dovecot: imap-login: Login: method=PLAIN, session=<a>\n"
                     "%s mx dovecot: lmtp(42): msgid=<abc.123@mx.kunde.example>: saved mail to INBOX\n"
                     % (stamp(60), stamp(30)))


def inventory(tmp_path, logs, **extra):
    host = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        # the roles have nothing to do here: only the log audit is exercised against real data
        "mail_logging_enabled": False,
        "mailprivacy_log_audit_paths": [os.path.join(logs, "mail.log*"), os.path.join(logs, "qmail", "**")],
        "mailprivacy_log_audit_journal": False,
    }
    host.update(extra)
    path = tmp_path / "hosts.json"
    # JSON is YAML
    path.write_text(json.dumps({"all": {"children": {"mail_servers": {"hosts": {"localhost": host}}}}}))
    return str(path)


def run(tmp_path, playbook, inv, cmdline="", name="run", verbosity=0):
    private = tmp_path / ("runner-" + name)
    private.mkdir()
    reports = tmp_path / ("reports-" + name)
    result = ansible_runner.run(
        private_data_dir=str(private),
        project_dir=PLAYBOOKS,
        playbook=playbook,
        inventory=inv,
        cmdline=cmdline,
        envvars={
            "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
            "ANSIBLE_NOCOLOR": "1",
            "MAILPRIVACY_REPORT_DIR": str(reports),
        },
        verbosity=verbosity,
        quiet=True,
        timeout=900,
    )
    return result, private, reports


def all_files(*dirs):
    for top in dirs:
        for root, _dirs, files in os.walk(str(top)):
            for name in files:
                yield os.path.join(root, name)


def leaks(paths):
    found = []
    for path in paths:
        with open(path, "rb") as handle:
            data = handle.read().lower().replace(b"\\/", b"/")
        for value in IDENTIFIERS:
            if value.lower().encode() in data:
                found.append((os.path.basename(path), value))
    return found


def stats_artifacts(result):
    for event in result.events:
        if event.get("event") == "playbook_on_stats":
            return (event.get("event_data") or {}).get("artifact_data") or {}
    return {}


def test_drift_check_job_fails_on_drift_with_counts_only(tmp_path):
    logs = str(tmp_path / "logs")
    pii_logs(logs)
    inv = inventory(tmp_path, logs)
    result, private, reports = run(tmp_path, "compliance_check.yml", inv,
                                   "--check --diff -e mailprivacy_fail_on_drift=true", "drift", verbosity=3)
    assert result.status == "failed" and result.rc != 0
    stdout = result.stdout.read()
    assert "Drift: 1 of 1 hosts drifted (8 controls)" in stdout

    report = json.loads((reports / "compliance-latest.json").read_text())
    assert report["mode"] == "check" and report["summary"]["fleet_compliant"] is False
    host = report["hosts"]["localhost"]
    assert host["status"] == "drift"
    findings = host["log_audit"]["findings"]
    assert findings == {"email": 2, "ipv4": 2, "ipv6": 1, "login": 2, "password": 1, "auth_debug": 2,
                        "auth_payload": 2, "smtp_transcript": 2}
    assert host["log_audit"]["by_category"]["compressed"]["password"] == 1
    assert host["log_audit"]["by_category"]["multilog"]["auth_payload"] == 1
    assert len(host["drifted_controls"]) == len(LOG_PATTERNS)

    junit = ET.parse(reports / "compliance-latest.xml").getroot()
    assert junit.get("failures") == str(len(LOG_PATTERNS)) and junit.get("errors") == "0"
    suite = junit.find("testsuite")
    assert suite.get("name") == "localhost"
    failed = sorted(tc.get("name").split(" ")[0] for tc in suite.findall("testcase") if tc.find("failure") is not None)
    assert failed == sorted(LOG_PATTERNS)
    assert (reports / "hosts" / "localhost.xml").is_file() and (reports / "hosts" / "localhost.md").is_file()
    md = (reports / "compliance-latest.md").read_text()
    assert "**NOT COMPLIANT**" in md and "Personal data in recent logs" in md

    # AWX job artifacts: the counts of the run (set_stats), numbers only
    artifacts = stats_artifacts(result)
    assert artifacts["mailprivacy_compliance"]["drift"] == 1
    assert artifacts["mailprivacy_compliance"]["drifted_controls"] == len(LOG_PATTERNS)

    # nothing of the fixtures anywhere: job events, stdout, runner files, reports (at -vvv);
    # the scan covers the log audit's full result as the job events hold it
    files = list(all_files(private, reports))
    events = [f for f in files if os.sep + "job_events" + os.sep in f]
    assert len(events) > 20
    assert any(b'"files_with_findings"' in open(f, "rb").read() for f in events)
    assert leaks(files) == []


def test_drift_check_job_passes_on_clean_logs_and_without_fail_on_drift(tmp_path):
    logs = str(tmp_path / "clean")
    clean_logs(logs)
    result, _private, reports = run(tmp_path, "compliance_check.yml", inventory(tmp_path, logs),
                                    "--check -e mailprivacy_fail_on_drift=true", "clean")
    assert result.status == "successful" and result.rc == 0, result.stdout.read()
    report = json.loads((reports / "compliance-latest.json").read_text())
    assert report["summary"]["fleet_compliant"] is True
    junit = ET.parse(reports / "compliance-latest.xml").getroot()
    assert junit.get("failures") == "0" and int(junit.get("tests")) >= len(LOG_PATTERNS)

    pii = str(tmp_path / "pii")
    pii_logs(pii)
    result, _private, reports = run(tmp_path, "compliance_check.yml", inventory(tmp_path, pii), "--check", "nofail")
    assert result.status == "successful" and result.rc == 0
    assert json.loads((reports / "compliance-latest.json").read_text())["summary"]["drift"] == 1

    # accepted patterns are reported but are no drift
    result, _private, reports = run(
        tmp_path, "compliance_check.yml",
        inventory(tmp_path, pii, mailprivacy_log_audit_accept=LOG_PATTERNS),
        "--check -e mailprivacy_fail_on_drift=true", "accepted")
    assert result.rc == 0
    host = json.loads((reports / "compliance-latest.json").read_text())["hosts"]["localhost"]
    assert host["status"] == "compliant" and host["log_audit"]["findings"]["password"] == 1


def test_drift_check_job_refuses_to_run_without_check(tmp_path):
    logs = str(tmp_path / "clean")
    clean_logs(logs)
    result, _private, _reports = run(tmp_path, "compliance_check.yml", inventory(tmp_path, logs), "", "nocheck")
    assert result.status == "failed"
    assert "Run the compliance check with --check" in result.stdout.read()


def write(root, path, text):
    full = os.path.join(root, path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as handle:
        handle.write(text)


def test_records_of_processing_job(tmp_path):
    tree = str(tmp_path / "tree")
    write(tree, "/etc/systemd/journald.conf.d/80-mailprivacy.conf", "[Journal]\nMaxRetentionSec=14day\n")
    os.makedirs(os.path.join(tree, "var/log/journal"))
    write(tree, "/etc/rsyslog.conf", "mail.*  -/var/log/mail.log\n*.*;auth,authpriv.none -/var/log/syslog\n")
    write(tree, "/etc/logrotate.conf", "weekly\nrotate 4\ninclude /etc/logrotate.d\n")
    write(tree, "/etc/logrotate.d/rsyslog", "/var/log/mail.log\n/var/log/syslog\n{\n daily\n rotate 13\n maxage 14\n}\n")
    write(tree, "/var/log/mail.log", "")
    os.chmod(os.path.join(tree, "var/log/mail.log"), 0o640)
    write(tree, "/etc/courier/imapd", "IMAP_EMPTYTRASH=Trash:7\n")
    write(tree, "/etc/courier/queuetime", "1w\n")
    os.makedirs(os.path.join(tree, "var/lib/courier/msgs"))
    write(tree, "/var/qmail/control/queuelifetime", "432000\n")
    inv = inventory(tmp_path, str(tmp_path), mailprivacy_records_root=tree)
    result, private, reports = run(tmp_path, "records_of_processing.yml", inv, "", "records")
    assert result.status == "successful", result.stdout.read()
    data = json.loads((reports / "records-of-processing.json").read_text())
    assert data["hosts"] == ["localhost"] and data["missing_hosts"] == []
    stores = dict(((r["host"], r["service"], r["store"]), r) for r in data["records"])
    assert stores[("localhost", "system_logging", "journal")]["retention_days"] == 14
    assert stores[("localhost", "system_logging", "rsyslog:mail.log")]["retention_days"] == 14
    assert stores[("localhost", "system_logging", "rsyslog:mail.log")]["mode"] == "0640"
    assert stores[("localhost", "courier", "mta_queue")]["retention_days"] == 7
    assert "IMAP_EMPTYTRASH=Trash:7" in stores[("localhost", "courier", "maildirs")]["retention"]
    assert stores[("localhost", "qmail", "queue")]["retention_days"] == 5
    with open(reports / "records-of-processing.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(data["records"])
    assert set(rows[0]) == set(data["columns"]) and set(data["columns"]) >= {
        "host", "data_type", "location", "retention", "protection"}
    assert [r["store"] for r in rows] == [r["store"] for r in data["records"]]
    md = (reports / "records-of-processing.md").read_text()
    assert "| Host | Service | Data type | Location | Retention | Protection (who can read it) |" in md
    assert md.count("\n| localhost |") == len(data["records"])
    # a playbook without controls leaves the compliance report alone
    assert not (reports / "compliance-latest.json").exists()
