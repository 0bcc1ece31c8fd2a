# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: compliance_report
type: aggregate
short_description: Per-host compliance (drift) report of a playbook run
description:
  - Records, for every host, which tasks of the collection's roles reported a change or failed.
  - Run against a playbook in check mode (for example C(playbooks/compliance_check.yml)), every
    change is a control that is not in its compliant state, so the report is a drift report.
    Run against a normal apply, it lists what was changed.
  - At the end of the run it prints a summary table and writes C(compliance-<stamp>.json) and
    C(compliance-<stamp>.md) (plus C(compliance-latest.json) and C(compliance-latest.md)) to O(report_dir).
  - Only task names, role names and host names are recorded. Task results (messages, diffs,
    command output) are never copied, so the report cannot carry personal data from a host.
requirements:
  - Enable it with C(callbacks_enabled = mailprivacy.gdpr.compliance_report) in C(ansible.cfg)
    or C(ANSIBLE_CALLBACKS_ENABLED).
options:
  report_dir:
    description: Directory the reports are written to. Created with mode C(0750) when missing.
    type: path
    default: ./reports
    env:
      - name: MAILPRIVACY_REPORT_DIR
    ini:
      - section: mailprivacy_compliance_report
        key: report_dir
  roles_only:
    description:
      - Count only tasks that belong to a role of this collection (C(mailprivacy.gdpr.*)).
      - Set to V(false) to count every task of the run.
    type: bool
    default: true
    env:
      - name: MAILPRIVACY_REPORT_ROLES_ONLY
    ini:
      - section: mailprivacy_compliance_report
        key: roles_only
"""

import datetime
import json
import os
import tempfile

from ansible.plugins.callback import CallbackBase

COLLECTION_PREFIX = "mailprivacy.gdpr."


def _role_name(task):
    role = getattr(task, "_role", None)
    if role is None:
        return None
    name = role.get_name(include_role_fqcn=True) if hasattr(role, "get_name") else str(role)
    return name


def _atomic_write(path, text):
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".compliance-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class HostRecord:
    """What one host did: counts per outcome and the names of drifted/failed controls."""

    def __init__(self):
        self.ok = 0
        self.changed = []
        self.failed = []
        self.skipped = 0
        self.unreachable = False

    def status(self):
        if self.unreachable:
            return "unreachable"
        if self.failed:
            return "error"
        if self.changed:
            return "drift"
        return "compliant"

    def as_dict(self):
        return {
            "status": self.status(),
            "controls_checked": self.ok + len(self.changed) + len(self.failed),
            "compliant": self.ok,
            "drift": len(self.changed),
            "errors": len(self.failed),
            "skipped": self.skipped,
            "unreachable": self.unreachable,
            "drifted_controls": self.changed,
            "failed_controls": self.failed,
        }


def build_report(records, check_mode, playbook, started, finished):
    """Return the report dictionary for ``records`` (host name -> HostRecord)."""
    hosts = {name: rec.as_dict() for name, rec in sorted(records.items())}
    statuses = [h["status"] for h in hosts.values()]
    return {
        "report": "mailprivacy.gdpr compliance",
        "mode": "check" if check_mode else "apply",
        "playbook": playbook,
        "started": started,
        "finished": finished,
        "summary": {
            "hosts": len(hosts),
            "compliant": statuses.count("compliant"),
            "drift": statuses.count("drift"),
            "error": statuses.count("error"),
            "unreachable": statuses.count("unreachable"),
            "fleet_compliant": bool(hosts) and all(s == "compliant" for s in statuses),
        },
        "hosts": hosts,
    }


def render_markdown(report):
    """Human-readable rendering of ``build_report``'s result."""
    s = report["summary"]
    verdict = "COMPLIANT" if s["fleet_compliant"] else "NOT COMPLIANT"
    lines = [
        "# Compliance report (mailprivacy.gdpr)",
        "",
        "- Mode: %s" % report["mode"],
        "- Playbook: %s" % report["playbook"],
        "- Started: %s" % report["started"],
        "- Finished: %s" % report["finished"],
        "- Fleet: **%s** (%d hosts: %d compliant, %d drift, %d error, %d unreachable)"
        % (verdict, s["hosts"], s["compliant"], s["drift"], s["error"], s["unreachable"]),
        "",
        "| Host | Status | Controls | Drift | Errors |",
        "|---|---|---|---|---|",
    ]
    for name, h in report["hosts"].items():
        lines.append("| %s | %s | %d | %d | %d |" % (name, h["status"], h["controls_checked"], h["drift"], h["errors"]))
    for name, h in report["hosts"].items():
        if h["drifted_controls"] or h["failed_controls"]:
            lines += ["", "## %s" % name, ""]
            lines += ["- drift: %s" % c for c in h["drifted_controls"]]
            lines += ["- error: %s" % c for c in h["failed_controls"]]
    return "\n".join(lines) + "\n"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "mailprivacy.gdpr.compliance_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self._records = {}
        self._playbook = None
        self._started = None
        self._check_mode = False

    def _now(self):
        return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()

    def _record(self, host):
        return self._records.setdefault(host, HostRecord())

    def _counted(self, task):
        if not self.get_option("roles_only"):
            return True
        role = _role_name(task)
        return bool(role) and role.startswith(COLLECTION_PREFIX)

    @staticmethod
    def _label(task):
        role = _role_name(task)
        name = task.get_name().strip()
        if not role:
            return name
        # ansible-core already prefixes the role (FQCN or short name) to a role task's name.
        for prefix in (role, role.split(".")[-1]):
            if name.startswith(prefix + " : "):
                name = name[len(prefix) + 3:]
                break
        return "%s : %s" % (role, name)

    def v2_playbook_on_start(self, playbook):
        self._playbook = os.path.basename(playbook._file_name)
        self._started = self._now()

    def v2_playbook_on_play_start(self, play):
        from ansible import context
        if context.CLIARGS.get("check"):
            self._check_mode = True

    def _outcome(self, result, kind):
        task = result._task
        if not self._counted(task):
            return
        if task.action in ("ansible.builtin.debug", "debug"):
            return  # messages, not controls
        if task.check_mode is True:  # templated play/task keyword, e.g. compliance_check.yml
            self._check_mode = True
        rec = self._record(result._host.get_name())
        if kind == "failed":
            rec.failed.append(self._label(task))
        elif kind == "skipped":
            rec.skipped += 1
        elif kind == "ignored":  # an ignored failure is a probe by intent, not a drifted control
            rec.ok += 1
        elif result._result.get("changed"):
            rec.changed.append(self._label(task))
        else:
            rec.ok += 1

    def v2_runner_on_ok(self, result):
        self._outcome(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._outcome(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._outcome(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result._host.get_name()).unreachable = True

    def v2_playbook_on_stats(self, stats):
        if not self._records:
            return  # no task of the collection's roles ran: nothing to report on
        report = build_report(self._records, self._check_mode, self._playbook, self._started, self._now())
        directory = os.path.abspath(os.path.expanduser(self.get_option("report_dir")))
        os.makedirs(directory, mode=0o750, exist_ok=True)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        text_json = json.dumps(report, indent=2, sort_keys=True) + "\n"
        text_md = render_markdown(report)
        for name, text in (("compliance-%s.json" % stamp, text_json), ("compliance-%s.md" % stamp, text_md),
                           ("compliance-latest.json", text_json), ("compliance-latest.md", text_md)):
            _atomic_write(os.path.join(directory, name), text)

        s = report["summary"]
        self._display.banner("COMPLIANCE REPORT (%s mode)" % report["mode"])
        for name, h in report["hosts"].items():
            self._display.display("%-28s %-12s controls=%-4d drift=%-4d errors=%d"
                                  % (name, h["status"], h["controls_checked"], h["drift"], h["errors"]))
        where = os.path.join(directory, "compliance-latest.md")
        if report["mode"] == "apply":
            # An apply changes what drifted; only a check run can say the fleet is compliant.
            self._display.display("apply: %d of %d hosts changed, %d with errors; verify with "
                                  "compliance_check.yml --check; report: %s"
                                  % (s["drift"], s["hosts"], s["error"], where))
            return
        verdict = "COMPLIANT" if s["fleet_compliant"] else "NOT COMPLIANT"
        self._display.display("fleet: %s (%d of %d hosts compliant); report: %s"
                              % (verdict, s["compliant"], s["hosts"], where))
