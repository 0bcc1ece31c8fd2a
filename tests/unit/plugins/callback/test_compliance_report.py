"""Tests for the mailprivacy.gdpr.compliance_report callback."""
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.callback.compliance_report import (
    CallbackModule,
    HostRecord,
    build_report,
    render_markdown,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def _rec(ok=0, changed=(), failed=(), unreachable=False):
    r = HostRecord()
    r.ok, r.changed, r.failed, r.unreachable = ok, list(changed), list(failed), unreachable
    return r


def test_status_precedence():
    assert _rec(ok=3).status() == "compliant"
    assert _rec(ok=3, changed=["a"]).status() == "drift"
    assert _rec(ok=3, changed=["a"], failed=["b"]).status() == "error"
    assert _rec(ok=3, failed=["b"], unreachable=True).status() == "unreachable"


def test_fleet_verdict_and_counts():
    report = build_report({"h1": _rec(ok=4), "h2": _rec(ok=2, changed=["x : y"])}, True, "p.yml", "t0", "t1")
    assert report["mode"] == "check"
    assert report["summary"] == {"hosts": 2, "compliant": 1, "drift": 1, "error": 0, "unreachable": 0,
                                 "fleet_compliant": False, "controls": 7, "drifted_controls": 1,
                                 "failed_controls": 0, "log_audit_findings": {}}
    assert report["hosts"]["h2"]["controls_checked"] == 3
    assert report["hosts"]["h2"]["drifted_controls"] == ["x : y"]
    assert build_report({"h1": _rec(ok=1)}, False, "p", "a", "b")["summary"]["fleet_compliant"] is True
    # an empty run proves nothing
    assert build_report({}, True, "p", "a", "b")["summary"]["fleet_compliant"] is False


def test_markdown_lists_drift_per_host():
    md = render_markdown(build_report({"h1": _rec(ok=1), "h2": _rec(changed=["r : t"], failed=["r : f"])},
                                      True, "p.yml", "a", "b"))
    assert "**NOT COMPLIANT**" in md
    assert "| h2 | error | 2 | 1 | 1 |" in md
    assert "- drift: r : t" in md and "- error: r : f" in md


PLAYBOOK = textwrap.dedent("""\
    - hosts: localhost
      gather_facts: false
      tasks:
        - name: Control that is in place
          ansible.builtin.command: "true"
          changed_when: false
        - name: Control that drifted
          ansible.builtin.command: echo subject alice@example.org from 192.0.2.7
          changed_when: true
        - name: Control that errors but is ignored
          ansible.builtin.command: "false"
          ignore_errors: true
        - name: A message, not a control
          ansible.builtin.debug:
            msg: hello
    """)


@pytest.fixture()
def run_playbook(tmp_path):
    def _run(*extra):
        (tmp_path / "pb.yml").write_text(PLAYBOOK)
        (tmp_path / "ansible.cfg").write_text("[defaults]\n")
        env = dict(os.environ,
                   ANSIBLE_CALLBACKS_ENABLED="mailprivacy.gdpr.compliance_report",
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
                   MAILPRIVACY_REPORT_DIR=str(tmp_path / "reports"),
                   MAILPRIVACY_REPORT_ROLES_ONLY="false",
                   ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
        bindir = os.path.dirname(sys.executable)
        cmd = [os.path.join(bindir, "ansible-playbook"), "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=" + sys.executable, str(tmp_path / "pb.yml")]
        proc = subprocess.run(cmd + list(extra),
                              env=env, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc, tmp_path / "reports"
    return _run


def test_real_run_apply_mode(run_playbook):
    proc, reports = run_playbook()
    data = json.loads((reports / "compliance-latest.json").read_text())
    host = data["hosts"]["localhost"]
    assert data["mode"] == "apply"
    assert host["status"] == "drift"
    assert host["drifted_controls"] == ["Control that drifted"]
    assert host["compliant"] == 2  # the ignored error counts as checked, the debug task does not
    assert "COMPLIANCE REPORT (apply mode)" in proc.stdout
    assert "apply: 1 of 1 hosts changed" in proc.stdout and "NOT COMPLIANT" not in proc.stdout
    # timestamped copies next to the -latest ones, private modes
    names = sorted(os.listdir(reports))
    assert len([n for n in names if n.endswith(".json")]) == 2
    assert oct(os.stat(reports / "compliance-latest.md").st_mode & 0o777) == "0o640"


def test_real_run_check_mode_and_no_payloads(run_playbook):
    _proc, reports = run_playbook("--check")
    text = (reports / "compliance-latest.json").read_text() + (reports / "compliance-latest.md").read_text()
    assert json.loads((reports / "compliance-latest.json").read_text())["mode"] == "check"
    # the drifted task's output held an address and an IP: the report must hold neither
    assert "alice" not in text and "example.org" not in text and "192.0.2.7" not in text


class _FakeRole:
    def get_name(self, include_role_fqcn=True):
        return "mailprivacy.gdpr.courier" if include_role_fqcn else "courier"


class _FakeTask:
    def __init__(self, name, role=True):
        self._name, self._role = name, (_FakeRole() if role else None)

    def get_name(self):
        return self._name


@pytest.mark.parametrize("task_name", [
    "mailprivacy.gdpr.courier : Set DEBUG_LOGIN",  # what ansible-core 2.19 returns
    "courier : Set DEBUG_LOGIN",
    "Set DEBUG_LOGIN",
])
def test_label_names_the_role_once(task_name):
    assert CallbackModule._label(_FakeTask(task_name)) == "mailprivacy.gdpr.courier : Set DEBUG_LOGIN"


def test_label_of_a_play_task_is_its_name():
    assert CallbackModule._label(_FakeTask("Control that drifted", role=False)) == "Control that drifted"


# ---------------------------------------------------------------------------------------------
# Log audit controls, JUnit XML, per-host reports and the drift state (issue 7)

import gzip  # noqa: E402
import re  # noqa: E402
import xml.etree.ElementTree as ET  # noqa: E402

from ansible_collections.mailprivacy.gdpr.plugins.callback import compliance_report as cr  # noqa: E402
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.pii_patterns import PATTERN_NAMES  # noqa: E402

PII = ["alice@example.org", "alice", "192.0.2.7", "2001:db8::7", "hunter2", "AGFsaWNlAGh1bnRlcjI="]


def _audit_result(**over):
    result = {
        "changed": False,
        "findings": dict((n, 0) for n in PATTERN_NAMES),
        "by_category": {"live": dict((n, 0) for n in PATTERN_NAMES)},
        "accepted": [],
        "patterns": list(PATTERN_NAMES),
        "files_scanned": 2, "files_with_findings": 1, "files_skipped_old": 3, "lines_scanned": 40,
        "journal": {"scanned": True, "reason": "", "entries": 5},
        "window": {"since": "2026-01-01T00:00:00Z", "days": 7},
    }
    result.update(over)
    return result


def test_log_audit_counts_keeps_only_counts_under_known_names():
    hostile = _audit_result(
        findings={"email": 3, "password": 1, "alice@example.org": 9, "ipv4": "192.0.2.7", "ipv6": True,
                  "login": -1},
        by_category={"live": {"email": 3, "hunter2": 4}, "alice": {"email": 1}, "journal": "2001:db8::7"},
        accepted=["ipv4", "alice"],
        patterns=list(PATTERN_NAMES) + ["AGFsaWNlAGh1bnRlcjI="],
        files_scanned="alice", lines_scanned=12,
        window={"since": "alice@example.org", "days": 7},
        msg="alice@example.org logged in from 192.0.2.7 with hunter2",
        stdout="alice", invocation={"module_args": {"paths": ["/home/alice/log"]}},
    )
    counts = cr.log_audit_counts(hostile)
    assert counts["findings"] == {"email": 3, "password": 1}
    assert counts["by_category"] == {"live": {"email": 3}}
    assert counts["accepted"] == ["ipv4"]
    assert counts["patterns"] == list(PATTERN_NAMES)
    assert counts["files_scanned"] == 0 and counts["lines_scanned"] == 12
    assert counts["window_since"] is None and counts["window_days"] == 7
    text = json.dumps(counts)
    for value in PII + ["/home/alice"]:
        assert value not in text
    # the same through a whole report, all three formats
    rec = cr.HostRecord()
    rec.add_log_audit(counts)
    report = build_report({"mx1": rec}, True, "p.yml", "a", "b")
    for out in (json.dumps(report), render_markdown(report), cr.render_junit(report)):
        for value in PII:
            assert value not in out


def test_log_audit_patterns_become_controls_accepted_ones_pass():
    counts = cr.log_audit_counts(_audit_result(
        findings=dict(dict((n, 0) for n in PATTERN_NAMES), email=4, ipv4=2),
        by_category={"live": {"email": 3}, "journal": {"email": 1, "ipv4": 2}},
        accepted=["ipv4"]))
    rec = cr.HostRecord()
    rec.add_log_audit(counts)
    assert rec.status() == "drift"
    assert rec.changed == [cr.log_audit_label("email")]
    assert cr.log_audit_label("ipv4") in rec.passed
    assert rec.ok == len(PATTERN_NAMES) - 1
    clean = cr.HostRecord()
    clean.add_log_audit(cr.log_audit_counts(_audit_result()))
    assert clean.status() == "compliant" and clean.ok == len(PATTERN_NAMES)


def _junit(report):
    return ET.fromstring(cr.render_junit(report).split("\n", 1)[1])


def test_junit_one_testcase_per_host_and_control():
    a = cr.HostRecord()
    a.add("mailprivacy.gdpr.dovecot : Deploy local.conf", "drift")
    a.add("mailprivacy.gdpr.dovecot : Probe doveconf", "passed")
    a.add("mailprivacy.gdpr.dovecot : Restart", "skipped")
    a.add_log_audit(cr.log_audit_counts(_audit_result(
        findings=dict(dict((n, 0) for n in PATTERN_NAMES), password=2),
        by_category={"compressed": {"password": 2}})))
    b = cr.HostRecord()
    b.add("mailprivacy.gdpr.courier : Set DEBUG_LOGIN", "error")
    c = cr.HostRecord()
    c.unreachable = True
    report = build_report({"mx-a": a, "mx-b": b, "mx-c": c}, True, "compliance_check.yml", "t0", "t1")
    root = _junit(report)
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert sorted(suites) == ["mx-a", "mx-b", "mx-c"]
    cases_a = suites["mx-a"].findall("testcase")
    assert len(cases_a) == 3 + len(PATTERN_NAMES)
    assert suites["mx-a"].get("tests") == str(len(cases_a))
    failed = [(tc.get("classname"), tc.get("name"), tc.find("failure").get("message"))
              for tc in cases_a if tc.find("failure") is not None]
    assert ("mx-a.mailprivacy.gdpr.dovecot", "Deploy local.conf",
            "not in its compliant state (would change in check mode)") in failed
    assert ("mx-a.mailprivacy.gdpr.log_audit", "password (passwords or password hashes)",
            "2 line(s) in recent logs (compressed: 2)") in failed
    assert len(failed) == 2 and suites["mx-a"].get("failures") == "2"
    assert suites["mx-a"].get("skipped") == "1"
    assert suites["mx-b"].find("testcase/error").get("message") == "task failed"
    assert suites["mx-c"].find("testcase/error").get("message") == "host unreachable"
    assert root.get("tests") == str(len(cases_a) + 2)
    assert (root.get("failures"), root.get("errors")) == ("2", "2")


def test_junit_apply_mode_changes_are_not_failures():
    a = cr.HostRecord()
    a.add("mailprivacy.gdpr.dovecot : Deploy local.conf", "drift")
    root = _junit(build_report({"mx": a}, False, "site.yml", "t0", "t1"))
    assert root.get("failures") == "0"
    assert root.find("testsuite/testcase/system-out").text == "changed"


def test_junit_escapes_names():
    a = cr.HostRecord()
    a.add('mailprivacy.gdpr.x : Set <a> & "b"', "drift")
    text = cr.render_junit(build_report({"h<1>": a}, True, "p", "t0", "t1"))
    root = ET.fromstring(text.split("\n", 1)[1])
    assert root.find("testsuite").get("name") == "h<1>"
    assert root.find("testsuite/testcase").get("name") == 'Set <a> & "b"'


def test_state_summary_holds_numbers_only():
    a = cr.HostRecord()
    a.add("x : y", "drift")
    b = cr.HostRecord()
    b.add("x : y", "passed")
    state = cr.state_summary({"alice-host": a, "b": b}, True)
    assert state == {"mode": "check", "hosts": 2, "compliant": 1, "drift": 1, "error": 0, "unreachable": 0,
                     "drifted_controls": 1}


def test_safe_file_name():
    assert cr.safe_file_name("mx1.example.org") == "mx1.example.org"
    assert cr.safe_file_name("../etc/passwd") == ".._etc_passwd"
    assert cr.safe_file_name("..") == "_"


def test_the_callback_reads_results_in_two_places_only():
    """The rule: task names only, never results; the one exception is the log_audit counts."""
    source = open(cr.__file__, encoding="utf-8").read()
    reads = re.findall(r"[A-Za-z_.]*_result\b[^\n]*", source)
    reads = [r for r in reads if "._result" in r]
    assert sorted(reads) == sorted([
        'result._result.get("changed"):',
        "result._result))",
    ]), reads
    assert "rec.add_log_audit(log_audit_counts(result._result))" in source


AUDIT_PLAYBOOK = textwrap.dedent("""\
    - name: Audit
      hosts: localhost
      gather_facts: false
      tasks:
        - name: Count personal data in the fixture logs
          mailprivacy.gdpr.log_audit:
            paths: ["{logs}/*.log*"]
            journal: false
            accept: [ipv6]
    - name: Read the state the callback keeps
      hosts: localhost
      gather_facts: false
      tasks:
        - name: Show it
          ansible.builtin.debug:
            msg: "STATE {{{{ s.hosts }}}} {{{{ s.drift }}}} {{{{ s.drifted_controls }}}} {{{{ s.mode }}}}"
          vars:
            s: "{{{{ lookup('ansible.builtin.env', 'MAILPRIVACY_COMPLIANCE_STATE') | from_json }}}}"
    """)


def test_real_run_log_audit_reports_counts_never_values(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    # syslog stamps inside log_audit's default window (7 days): an hour and a day ago
    hour_ago = time.strftime("%b %e %H:%M:%S", time.localtime(time.time() - 3600))
    day_ago = time.strftime("%b %e %H:%M:%S", time.localtime(time.time() - 86400))
    (logs / "mail.log").write_text(
        hour_ago + " mx dovecot: imap-login: Login: user=<alice>, rip=192.0.2.7\n"
        + hour_ago + " mx postfix/smtp[1]: to=<alice@example.org>, status=sent\n"
        + hour_ago + " mx imapd: Connection, ip=[2001:db8::7]\n")
    with gzip.open(logs / "mail.log.1.gz", "wt") as handle:
        handle.write(day_ago + " mx imapd: LOGIN: ip=[::ffff:192.0.2.7], password=hunter2\n"
                     "@400000006500000012345678 2892 < AUTH PLAIN AGFsaWNlAGh1bnRlcjI=\n")
    (tmp_path / "pb.yml").write_text(AUDIT_PLAYBOOK.format(logs=logs))
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = dict(os.environ,
               ANSIBLE_CALLBACKS_ENABLED="mailprivacy.gdpr.compliance_report",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
               MAILPRIVACY_REPORT_DIR=str(tmp_path / "reports"),
               ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env.pop("MAILPRIVACY_COMPLIANCE_STATE", None)
    bindir = os.path.dirname(sys.executable)
    proc = subprocess.run([os.path.join(bindir, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=" + sys.executable, "--check",
                           str(tmp_path / "pb.yml")], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    reports = tmp_path / "reports"
    data = json.loads((reports / "compliance-latest.json").read_text())
    host = data["hosts"]["localhost"]
    la = host["log_audit"]
    assert la["findings"]["email"] == 1 and la["findings"]["password"] == 1
    assert la["findings"]["login"] == 1 and la["findings"]["ipv4"] == 2 and la["findings"]["ipv6"] == 1
    assert la["findings"]["auth_payload"] == 1 and la["findings"]["smtp_transcript"] == 1
    assert la["by_category"]["compressed"]["password"] == 1
    assert host["status"] == "drift"
    assert cr.log_audit_label("ipv6") in host["passed_controls"]  # accepted
    assert sorted(host["drifted_controls"]) == sorted(cr.log_audit_label(n) for n in
                                                      ("email", "ipv4", "login", "password", "auth_debug",
                                                       "auth_payload", "smtp_transcript"))
    # the callback's state reached the next play's worker: numbers only
    assert "STATE 1 1 7 check" in proc.stdout
    junit = ET.parse(reports / "compliance-latest.xml").getroot()
    assert junit.get("failures") == "7"
    names = sorted(os.listdir(reports / "hosts"))
    assert names == ["localhost.json", "localhost.md", "localhost.xml"]
    everything = "".join(p.read_text() for p in reports.rglob("*") if p.is_file())
    for value in PII:
        assert value not in everything, value


def test_no_report_from_a_playbook_without_controls_even_with_an_unreachable_host(tmp_path):
    """records_of_processing.yml and the like must not overwrite the compliance report."""
    (tmp_path / "pb.yml").write_text(textwrap.dedent("""\
        - hosts: all
          gather_facts: false
          tasks:
            - name: Not a control
              ansible.builtin.ping:
        """))
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    (tmp_path / "inv.ini").write_text("ghost ansible_host=192.0.2.250 ansible_connection=ssh "
                                      "ansible_ssh_common_args='-o ConnectTimeout=1'\n")
    env = dict(os.environ, ANSIBLE_CALLBACKS_ENABLED="mailprivacy.gdpr.compliance_report",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
               MAILPRIVACY_REPORT_DIR=str(tmp_path / "reports"), ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"))
    bindir = os.path.dirname(sys.executable)
    proc = subprocess.run([os.path.join(bindir, "ansible-playbook"), "-i", str(tmp_path / "inv.ini"),
                           str(tmp_path / "pb.yml")], env=env, capture_output=True, text=True, check=False)
    assert "UNREACHABLE" in proc.stdout or "unreachable=1" in proc.stdout, proc.stdout + proc.stderr
    assert not (tmp_path / "reports").exists()
