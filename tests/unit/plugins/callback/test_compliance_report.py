"""Tests for the mailprivacy.gdpr.compliance_report callback."""
import json
import os
import subprocess
import sys
import textwrap

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
                                 "fleet_compliant": False}
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
