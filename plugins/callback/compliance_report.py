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
  - The log scan of the drift check (M(mailprivacy.gdpr.log_audit)) becomes one control per
    personal-data pattern on each host; a pattern found in recent logs (and not accepted) is drift.
  - At the end of the run it prints a summary table and writes the fleet report to O(report_dir)
    as JSON, Markdown and JUnit XML (C(compliance-<stamp>.{json,md,xml}) and
    C(compliance-latest.{json,md,xml})), and one report per host in the same three formats
    (C(hosts/<host>.{json,md,xml})). The JUnit file has one testcase per host and control;
    drift is a failure (in check mode), a failed task an error, so CI and AWX can show it.
  - Only task names, role names and host names are recorded. Task results (messages, diffs,
    command output) are never copied, so the report cannot carry personal data from a host.
    The one exception is the result of M(mailprivacy.gdpr.log_audit), from which only counts are
    read (integers under known pattern and category names, the names of accepted patterns and
    the start of the window, a timestamp). Any other key or value of that result is ignored.
  - While the run goes on, the summary counts so far (hosts, drift, errors; numbers only) are
    kept in the environment variable C(MAILPRIVACY_COMPLIANCE_STATE), which the workers of later
    tasks inherit. C(playbooks/compliance_check.yml) reads it in its last play to fail the run
    on drift when C(mailprivacy_fail_on_drift) is true.
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
import re
import tempfile
import xml.etree.ElementTree as ET

from ansible.plugins.callback import CallbackBase

try:
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils.pii_patterns import (
        DESCRIPTIONS as PATTERN_DESCRIPTIONS,
        PATTERN_NAMES,
    )
except ImportError:  # pragma: no cover - the collection is always importable where this runs
    PATTERN_NAMES = ()
    PATTERN_DESCRIPTIONS = {}

COLLECTION_PREFIX = "mailprivacy.gdpr."
LOG_AUDIT_ACTIONS = frozenset(("mailprivacy.gdpr.log_audit",))
LOG_AUDIT_CATEGORIES = ("live", "rotated", "compressed", "multilog", "journal")
STATE_ENV = "MAILPRIVACY_COMPLIANCE_STATE"
_SINCE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]")


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


def _count(value):
    """A non-negative int, or None (bools and anything else are not counts)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def log_audit_counts(result):
    """The part of a log_audit result the report may hold: counts under known names only.

    This is the one place where the callback reads a task's result. Everything it keeps is an
    integer under a pattern or category name of a fixed list, a known pattern name, or the
    window's start as a bare UTC timestamp; strings or keys that do not fit are dropped, so
    no value from a host's logs can reach a report even if the module misbehaved."""
    if not isinstance(result, dict):
        result = {}
    known = tuple(PATTERN_NAMES)

    def counts_of(raw):
        out = {}
        if isinstance(raw, dict):
            for name in known:
                value = _count(raw.get(name))
                if value is not None:
                    out[name] = value
        return out

    findings = counts_of(result.get("findings"))
    by_category = {}
    raw_categories = result.get("by_category")
    if isinstance(raw_categories, dict):
        for category in LOG_AUDIT_CATEGORIES:
            counts = counts_of(raw_categories.get(category))
            if any(counts.values()):
                by_category[category] = counts
    accepted = result.get("accepted")
    accepted = [n for n in known if isinstance(accepted, list) and n in accepted]
    patterns = result.get("patterns")
    patterns = [n for n in known if isinstance(patterns, list) and n in patterns] or sorted(findings, key=known.index)
    out = {"findings": findings, "by_category": by_category, "accepted": accepted, "patterns": patterns}
    for key in ("files_scanned", "files_with_findings", "files_skipped_old", "lines_scanned"):
        value = _count(result.get(key))
        out[key] = value if value is not None else 0
    journal = result.get("journal")
    out["journal_scanned"] = isinstance(journal, dict) and journal.get("scanned") is True
    window = result.get("window")
    window = window if isinstance(window, dict) else {}
    since = window.get("since")
    out["window_since"] = since if isinstance(since, str) and _SINCE_RE.match(since) else None
    out["window_days"] = _count(window.get("days"))
    return out


class HostRecord:
    """What one host did: counts per outcome and the names of drifted/failed controls."""

    def __init__(self):
        self.ok = 0
        self.passed = []
        self.changed = []
        self.failed = []
        self.skipped = 0
        self.skipped_controls = []
        self.unreachable = False
        self.log_audit = None
        self.order = []  # (label, outcome) in the order the controls ran

    def add(self, label, outcome):
        """outcome: 'passed', 'drift', 'error' or 'skipped'."""
        self.order.append((label, outcome))
        if outcome == "passed":
            self.ok += 1
            self.passed.append(label)
        elif outcome == "drift":
            self.changed.append(label)
        elif outcome == "error":
            self.failed.append(label)
        else:
            self.skipped += 1
            self.skipped_controls.append(label)

    def status(self):
        if self.unreachable:
            return "unreachable"
        if self.failed:
            return "error"
        if self.changed:
            return "drift"
        return "compliant"

    def add_log_audit(self, counts):
        """One control per pattern: drift when lines were found and the pattern is not accepted."""
        self.log_audit = counts
        for name in counts["patterns"]:
            label = log_audit_label(name)
            found = counts["findings"].get(name, 0)
            self.add(label, "drift" if found and name not in counts["accepted"] else "passed")

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
            "passed_controls": self.passed,
            "skipped_controls": self.skipped_controls,
            "log_audit": self.log_audit,
            "controls": [{"control": label, "outcome": outcome} for label, outcome in self.order],
        }


def log_audit_label(name):
    return "mailprivacy.gdpr.log_audit : %s (%s)" % (name, PATTERN_DESCRIPTIONS.get(name, name))


def build_report(records, check_mode, playbook, started, finished):
    """Return the report dictionary for ``records`` (host name -> HostRecord)."""
    hosts = {name: rec.as_dict() for name, rec in sorted(records.items())}
    statuses = [h["status"] for h in hosts.values()]
    log_findings = {}
    for h in hosts.values():
        for name, value in ((h.get("log_audit") or {}).get("findings") or {}).items():
            log_findings[name] = log_findings.get(name, 0) + value
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
            "controls": sum(h["controls_checked"] for h in hosts.values()),
            "drifted_controls": sum(h["drift"] for h in hosts.values()),
            "failed_controls": sum(h["errors"] for h in hosts.values()),
            "log_audit_findings": log_findings,
        },
        "hosts": hosts,
    }


def host_report(report, name):
    """The report of one host: the fleet report's header and that host only."""
    h = report["hosts"][name]
    out = dict((k, v) for k, v in report.items() if k not in ("hosts", "summary"))
    out["host"] = name
    out["summary"] = {"hosts": 1, "status": h["status"], "compliant": h["status"] == "compliant",
                      "controls": h["controls_checked"], "drifted_controls": h["drift"],
                      "failed_controls": h["errors"]}
    out["hosts"] = {name: h}
    return out


def _log_audit_lines(report):
    rows = [(name, h["log_audit"]) for name, h in report["hosts"].items() if h.get("log_audit")]
    if not rows:
        return []
    patterns = [p for p in PATTERN_NAMES if any(p in la["patterns"] for _n, la in rows)]
    lines = ["", "## Personal data in recent logs (lines per pattern; counts only)", "",
             "| Host | " + " | ".join(patterns) + " | Files | Lines | Window from |",
             "|---|" + "---|" * (len(patterns) + 3)]
    for name, la in rows:
        cells = []
        for p in patterns:
            value = la["findings"].get(p, 0)
            mark = " (accepted)" if value and p in la["accepted"] else ""
            cells.append("**%d**%s" % (value, mark) if value and not mark else "%d%s" % (value, mark))
        lines.append("| %s | %s | %d | %d | %s |" % (name, " | ".join(cells), la["files_scanned"],
                                                     la["lines_scanned"], la["window_since"] or "-"))
    lines += ["", "Patterns: " + "; ".join("%s = %s" % (p, PATTERN_DESCRIPTIONS.get(p, p)) for p in patterns) + "."]
    return lines


def render_markdown(report):
    """Human-readable rendering of ``build_report``'s (or ``host_report``'s) result."""
    hosts = report["hosts"]
    statuses = [h["status"] for h in hosts.values()]
    compliant = bool(hosts) and all(x == "compliant" for x in statuses)
    verdict = "COMPLIANT" if compliant else "NOT COMPLIANT"
    title = "# Compliance report (mailprivacy.gdpr)"
    if "host" in report:
        title = "# Compliance report of %s (mailprivacy.gdpr)" % report["host"]
    lines = [
        title,
        "",
        "- Mode: %s" % report["mode"],
        "- Playbook: %s" % report["playbook"],
        "- Started: %s" % report["started"],
        "- Finished: %s" % report["finished"],
        "- Fleet: **%s** (%d hosts: %d compliant, %d drift, %d error, %d unreachable)"
        % (verdict, len(hosts), statuses.count("compliant"), statuses.count("drift"),
           statuses.count("error"), statuses.count("unreachable")),
        "",
        "| Host | Status | Controls | Drift | Errors |",
        "|---|---|---|---|---|",
    ]
    if report["mode"] == "apply":
        lines[6] = "- Apply run: %d of %d hosts changed (no compliance verdict; run the check)" % (
            statuses.count("drift"), len(hosts))
    for name, h in hosts.items():
        lines.append("| %s | %s | %d | %d | %d |" % (name, h["status"], h["controls_checked"], h["drift"], h["errors"]))
    lines += _log_audit_lines(report)
    for name, h in hosts.items():
        if h["drifted_controls"] or h["failed_controls"] or h["unreachable"]:
            lines += ["", "## %s" % name, ""]
            if h["unreachable"]:
                lines.append("- unreachable")
            lines += ["- drift: %s" % c for c in h["drifted_controls"]]
            lines += ["- error: %s" % c for c in h["failed_controls"]]
    return "\n".join(lines) + "\n"


def _split_label(label):
    """(role or play part, task name) of a control label."""
    if " : " in label:
        role, name = label.split(" : ", 1)
        return role, name
    return "play", label


def render_junit(report):
    """JUnit XML: a testsuite per host, a testcase per host and control. In check mode drift is a
    failure; a failed task is an error; an unreachable host is one error; skipped tasks are
    skipped testcases. Log-audit failures carry counts only."""
    check = report["mode"] == "check"
    root = ET.Element("testsuites", name="mailprivacy.gdpr compliance (%s mode)" % report["mode"])
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for host, h in report["hosts"].items():
        suite = ET.SubElement(root, "testsuite", name=host, timestamp=str(report["finished"] or ""))
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="status", value=h["status"])
        ET.SubElement(props, "property", name="playbook", value=str(report["playbook"] or ""))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        audit = h.get("log_audit") or {}

        def case(label, outcome=None, message=""):
            role, name = _split_label(label)
            node = ET.SubElement(suite, "testcase", classname="%s.%s" % (host, role), name=name)
            counts["tests"] += 1
            if outcome == "failure":
                ET.SubElement(node, "failure", type="drift", message=message)
                counts["failures"] += 1
            elif outcome == "error":
                ET.SubElement(node, "error", type="error", message=message)
                counts["errors"] += 1
            elif outcome == "skipped":
                ET.SubElement(node, "skipped", message=message)
                counts["skipped"] += 1
            elif message:
                ET.SubElement(node, "system-out").text = message

        def audit_message(label):
            for name in audit.get("patterns", ()):
                if log_audit_label(name) == label:
                    parts = ["%s: %d" % (cat, c[name]) for cat, c in sorted(audit.get("by_category", {}).items())
                             if c.get(name)]
                    return "%d line(s) in recent logs (%s)" % (audit["findings"].get(name, 0), ", ".join(parts))
            return None

        if h["unreachable"]:
            case("host : reachable", "error", "host unreachable")
        for item in h.get("controls") or []:
            label, outcome = item["control"], item["outcome"]
            msg = audit_message(label)
            if outcome == "passed":
                case(label, None, (msg + "; accepted") if msg and not msg.startswith("0 ") else "")
            elif outcome == "drift":
                if msg is not None:
                    case(label, "failure", msg)
                elif check:
                    case(label, "failure", "not in its compliant state (would change in check mode)")
                else:
                    case(label, None, "changed")
            elif outcome == "error":
                case(label, "error", "task failed")
            else:
                case(label, "skipped", "skipped")
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    if hasattr(ET, "indent"):
        ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def safe_file_name(host):
    name = _UNSAFE_FILE_CHARS.sub("_", host)[:200]
    return name if name not in ("", ".", "..") else "_"


def state_summary(records, check_mode):
    """Counts only: what the last play of compliance_check.yml reads to fail on drift."""
    statuses = [rec.status() for rec in records.values()]
    return {
        "mode": "check" if check_mode else "apply",
        "hosts": len(statuses),
        "compliant": statuses.count("compliant"),
        "drift": statuses.count("drift"),
        "error": statuses.count("error"),
        "unreachable": statuses.count("unreachable"),
        "drifted_controls": sum(len(rec.changed) for rec in records.values()),
    }


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
        self._relevant = False  # a task that the report counts has started
        os.environ.pop(STATE_ENV, None)  # a state left by an enclosing run is not ours

    def _now(self):
        return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()

    def _record(self, host):
        return self._records.setdefault(host, HostRecord())

    def _publish_state(self):
        os.environ[STATE_ENV] = json.dumps(state_summary(self._records, self._check_mode), sort_keys=True)

    @staticmethod
    def _is_log_audit(task):
        return (task.action in LOG_AUDIT_ACTIONS
                or getattr(task, "resolved_action", None) in LOG_AUDIT_ACTIONS)

    def _counted(self, task):
        if self._is_log_audit(task):
            return True
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
        self._publish_state()

    def v2_playbook_on_task_start(self, task, is_conditional):
        if self._counted(task) and task.action not in ("ansible.builtin.debug", "debug"):
            self._relevant = True
        self._publish_state()

    def _outcome(self, result, kind):
        task = result._task
        if not self._counted(task):
            return
        if task.action in ("ansible.builtin.debug", "debug"):
            return  # messages, not controls
        if task.check_mode is True:  # templated play/task keyword, e.g. compliance_check.yml
            self._check_mode = True
        rec = self._record(result._host.get_name())
        if self._is_log_audit(task):
            if kind == "ok":
                # counts only, see log_audit_counts(); nothing else of the result is read
                rec.add_log_audit(log_audit_counts(result._result))
            else:
                rec.add("mailprivacy.gdpr.log_audit : scan of recent logs",
                        "skipped" if kind == "skipped" else "error")
            return
        if kind == "failed":
            rec.add(self._label(task), "error")
        elif kind == "skipped":
            rec.add(self._label(task), "skipped")
        elif kind == "ignored":  # an ignored failure is a probe by intent, not a drifted control
            rec.add(self._label(task), "passed")
        elif result._result.get("changed"):
            rec.add(self._label(task), "drift")
        else:
            rec.add(self._label(task), "passed")

    def v2_runner_on_ok(self, result):
        self._outcome(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._outcome(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._outcome(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result._host.get_name()).unreachable = True

    def write_reports(self, report, directory, stamp):
        """Fleet report (timestamped + latest) and one report per host, each as JSON, Markdown
        and JUnit XML. Returns the fleet Markdown path."""
        os.makedirs(directory, mode=0o750, exist_ok=True)
        outputs = {
            "json": json.dumps(report, indent=2, sort_keys=True) + "\n",
            "md": render_markdown(report),
            "xml": render_junit(report),
        }
        for ext, text in outputs.items():
            _atomic_write(os.path.join(directory, "compliance-%s.%s" % (stamp, ext)), text)
            _atomic_write(os.path.join(directory, "compliance-latest.%s" % ext), text)
        host_dir = os.path.join(directory, "hosts")
        os.makedirs(host_dir, mode=0o750, exist_ok=True)
        for name in report["hosts"]:
            one = host_report(report, name)
            base = os.path.join(host_dir, safe_file_name(name))
            _atomic_write(base + ".json", json.dumps(one, indent=2, sort_keys=True) + "\n")
            _atomic_write(base + ".md", render_markdown(one))
            _atomic_write(base + ".xml", render_junit(one))
        return os.path.join(directory, "compliance-latest.md")

    def v2_playbook_on_stats(self, stats):
        if not self._records or not self._relevant:
            # no task of the collection's roles (or log audit) ran: nothing to report on, even if
            # another playbook met an unreachable host
            return
        report = build_report(self._records, self._check_mode, self._playbook, self._started, self._now())
        directory = os.path.abspath(os.path.expanduser(self.get_option("report_dir")))
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        where = self.write_reports(report, directory, stamp)

        s = report["summary"]
        self._display.banner("COMPLIANCE REPORT (%s mode)" % report["mode"])
        for name, h in report["hosts"].items():
            self._display.display("%-28s %-12s controls=%-4d drift=%-4d errors=%d"
                                  % (name, h["status"], h["controls_checked"], h["drift"], h["errors"]))
        if report["mode"] == "apply":
            # An apply changes what drifted; only a check run can say the fleet is compliant.
            self._display.display("apply: %d of %d hosts changed, %d with errors; verify with "
                                  "compliance_check.yml --check; report: %s"
                                  % (s["drift"], s["hosts"], s["error"], where))
            return
        verdict = "COMPLIANT" if s["fleet_compliant"] else "NOT COMPLIANT"
        self._display.display("fleet: %s (%d of %d hosts compliant); report: %s (JUnit: compliance-latest.xml)"
                              % (verdict, s["compliant"], s["hosts"], where))
