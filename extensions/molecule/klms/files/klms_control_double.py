# Copyright: mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TEST DOUBLE of klms-control -- NOT Kaspersky software.

This script stands in for /opt/kaspersky/klms/bin/klms-control of Kaspersky Security 8 for
Linux Mail Server (KLMS 8), which is proprietary and cannot be installed in the test
containers. It contains no Kaspersky code. It implements only the command-line interface that
the mailprivacy.gdpr.klms role uses, as far as it is documented, so that the Molecule scenario
can check WHAT the role sends. Passing against this double proves the role's behaviour against
the documented interface, not against the real product.

Interface, and where each part comes from:
  --get-rule-list                              seen in published scripts (artica-postfix);
                                               output "Name: <name>" / "ID: <id>" blocks
  --get-rule-settings <id> -f <file>           documented: support.kaspersky.com/KLMS/8.2/en-US/73184.htm
  --get-rule-settings <name> -n -f <file>      documented (same page)
  --set-rule-settings <id> -f <file>           documented (same page)
  --set-rule-settings <name> -n -f <file>      documented (same page)
  --set-settings <task id> -f <file>           seen (artica-postfix: --set-settings 1 -f ldap.xml)
  --set-settings <task name> -n -f <file>      seen (--set-settings EventLogger -n -f, Updater -n -f)
  --set-app-settings -f <file>                 seen (klms-docker Dockerfile)
  --get-task-list                              seen; output "Name:" / "ID:" / "State:" blocks
  --get-settings <task> [-n] -f <file>         ASSUMED by symmetry with --get-rule-settings (not confirmed)
  --get-app-settings -f <file>                 ASSUMED by symmetry (not confirmed)
  -h, --help                                   usage
Anything else is rejected (exit code 2), as is a target without -n that is not a number.

XML checks on every set command (the document must be well-formed, root element <root>):
  EventLogger task   exactly <facility> and <logLevel>, once each, no children; facility
                     Mail (seen) or User, Daemon, Local0..Local7 (ASSUMED); logLevel Error or
                     Info (the two levels of the KLMS event log documentation).
  rules              <belongingCriteria> and <scanSettings> present; the documented backup
                     flags only in their documented section (asScanSettings: backupSpam,
                     backupProbableSpam, backupBlacklisted, backupMassMail; apScanSettings:
                     backupPhishing; cfScanSettings: backupSizeExceeded, backupBannedFileName,
                     backupBannedFileFormat), each 0 or 1.
  application        <tracerSettings> with enable 0/1, level Error/Warning/Info/Debug (only
                     Warning is seen), destination Syslog/File (only Syslog is seen), rotation
                     size and file count positive integers (element names seen in a real
                     --set-app-settings file). <backupSettings><maxSize> (MB, at least 1024) is an
                     ASSUMPTION of this double: the real element for the Backup size cap is not
                     documented.

State: /var/lib/klms-test-double/state/ (index.json, task-<id>.xml, rule-<id>.xml, app.xml);
a get command returns exactly what the last accepted set command stored. Every invocation is
appended to /var/lib/klms-test-double/record.jsonl as one JSON object per line: argv, command,
target, by_name, rc, error, and the XML received (set) or returned (get).
"""

import datetime
import fcntl
import json
import os
import re
import sys
import tempfile
import xml.etree.ElementTree as ET

BASE = "/var/lib/klms-test-double"
STATE_DIR = os.path.join(BASE, "state")
RECORD = os.path.join(BASE, "record.jsonl")
LOCK = os.path.join(BASE, ".lock")

USAGE = """\
klms-control TEST DOUBLE (mailprivacy.gdpr Molecule scenario) -- not Kaspersky software
  --get-task-list
  --get-settings <task ID> -f <file> | --get-settings <task name> -n -f <file>
  --set-settings <task ID> -f <file> | --set-settings <task name> -n -f <file>
  --get-rule-list
  --get-rule-settings <rule ID> -f <file> | --get-rule-settings <rule name> -n -f <file>
  --set-rule-settings <rule ID> -f <file> | --set-rule-settings <rule name> -n -f <file>
  --get-app-settings -f <file>
  --set-app-settings -f <file>
"""

# command -> (takes a task/rule target, needs -f <file>)
COMMANDS = {
    "--get-task-list": (None, False),
    "--get-rule-list": (None, False),
    "--get-settings": ("task", True),
    "--set-settings": ("task", True),
    "--get-rule-settings": ("rule", True),
    "--set-rule-settings": ("rule", True),
    "--get-app-settings": (None, True),
    "--set-app-settings": (None, True),
}

FACILITIES = ["Mail", "User", "Daemon"] + ["Local%d" % n for n in range(8)]
EVENT_LOG_LEVELS = ["Error", "Info"]
TRACE_LEVELS = ["Error", "Warning", "Info", "Debug"]
TRACE_DESTINATIONS = ["Syslog", "File"]
BACKUP_FLAGS = {
    "asScanSettings": ["backupSpam", "backupProbableSpam", "backupBlacklisted", "backupMassMail"],
    "apScanSettings": ["backupPhishing"],
    "cfScanSettings": ["backupSizeExceeded", "backupBannedFileName", "backupBannedFileFormat"],
}


class Refused(Exception):
    """The invocation is refused; `code` is the exit code."""

    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


def parse_args(argv):
    """Validate argv exactly; return (command, target, by_name, file)."""
    if argv in (["-h"], ["--help"]):
        return "--help", None, False, None
    if not argv:
        raise Refused("no command given (see --help)", 2)
    command = argv[0]
    if command not in COMMANDS:
        raise Refused("unknown option %r" % command, 2)
    kind, needs_file = COMMANDS[command]
    rest = argv[1:]
    target = None
    if kind:
        if not rest or rest[0].startswith("-"):
            raise Refused("%s needs a %s ID or name" % (command, kind), 2)
        target, rest = rest[0], rest[1:]
    by_name = False
    path = None
    while rest:
        option = rest.pop(0)
        if option == "-n" and kind and not by_name:
            by_name = True
        elif option == "-f" and needs_file and path is None:
            if not rest or rest[0].startswith("-") or not rest[0]:
                raise Refused("-f needs a file name", 2)
            path = rest.pop(0)
        else:
            raise Refused("unknown or repeated option %r for %s" % (option, command), 2)
    if needs_file and path is None:
        raise Refused("%s needs -f <file>" % command, 2)
    if kind and not by_name and not re.match(r"^[0-9]+$", target):
        raise Refused("%s %r: a name needs -n, an ID must be a number" % (command, target), 2)
    return command, target, by_name, path


def load_index():
    with open(os.path.join(STATE_DIR, "index.json"), encoding="utf-8") as handle:
        return json.load(handle)


def find(entries, target, by_name, kind):
    for entry in entries:
        if (by_name and entry["name"] == target) or (not by_name and str(entry["id"]) == target):
            return entry
    raise Refused("no %s with %s %r" % (kind, "name" if by_name else "ID", target))


def state_file(kind, entry=None):
    if kind == "app":
        return os.path.join(STATE_DIR, "app.xml")
    return os.path.join(STATE_DIR, "%s-%d.xml" % (kind, entry["id"]))


def read_text(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def write_atomic(path, text):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def parse_xml(text):
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise Refused("settings file is not well-formed XML: %s" % exc)
    if root.tag != "root":
        raise Refused("settings file: root element is <%s>, expected <root>" % root.tag)
    return root


def leaf_value(parent, name, where):
    matches = parent.findall(name)
    if len(matches) != 1:
        raise Refused("%s: expected exactly one <%s>, found %d" % (where, name, len(matches)))
    if len(matches[0]):
        raise Refused("%s: <%s> must not have child elements" % (where, name))
    return (matches[0].text or "").strip()


def check_choice(value, allowed, what):
    if value not in allowed:
        raise Refused("%s: %r is not one of %s" % (what, value, ", ".join(allowed)))


def check_positive_int(value, what, minimum=1):
    if not re.match(r"^[0-9]+$", value) or int(value) < minimum:
        raise Refused("%s: %r is not an integer >= %d" % (what, value, minimum))


def validate_event_logger(root):
    names = sorted(child.tag for child in root)
    if names != ["facility", "logLevel"]:
        raise Refused("EventLogger settings must hold exactly <facility> and <logLevel>, got %s" % names)
    check_choice(leaf_value(root, "facility", "EventLogger"), FACILITIES, "EventLogger facility")
    check_choice(leaf_value(root, "logLevel", "EventLogger"), EVENT_LOG_LEVELS, "EventLogger logLevel")


def validate_rule(root):
    for name in ("belongingCriteria", "scanSettings"):
        if len(root.findall(name)) != 1:
            raise Refused("rule settings need exactly one <%s>" % name)
    scan = root.find("scanSettings")
    for section in scan:
        for child in section:
            if not child.tag.startswith("backup"):
                continue
            if child.tag not in BACKUP_FLAGS.get(section.tag, []):
                raise Refused("rule settings: <%s> is not a backup flag of <%s>" % (child.tag, section.tag))
            check_choice(leaf_value(section, child.tag, section.tag), ["0", "1"], child.tag)


def validate_app(root):
    tracer = root.findall("tracerSettings")
    if len(tracer) != 1:
        raise Refused("application settings need exactly one <tracerSettings>")
    tracer = tracer[0]
    check_choice(leaf_value(tracer, "enable", "tracerSettings"), ["0", "1"], "tracerSettings enable")
    check_choice(leaf_value(tracer, "level", "tracerSettings"), TRACE_LEVELS, "tracerSettings level")
    check_choice(leaf_value(tracer, "destination", "tracerSettings"), TRACE_DESTINATIONS, "tracerSettings destination")
    check_positive_int(leaf_value(tracer, "rotationFileSize", "tracerSettings"), "tracerSettings rotationFileSize")
    check_positive_int(leaf_value(tracer, "maxFileCount", "tracerSettings"), "tracerSettings maxFileCount")
    backup = root.findall("backupSettings")
    if len(backup) > 1:
        raise Refused("application settings: more than one <backupSettings>")
    if backup:
        check_positive_int(leaf_value(backup[0], "maxSize", "backupSettings"), "backupSettings maxSize", 1024)


def listing(entries, with_state):
    lines = []
    for entry in entries:
        lines.append("Name: %s" % entry["name"])
        lines.append("ID: %d" % entry["id"])
        if with_state:
            lines.append("State: %s" % entry.get("state", "Started"))
        lines.append("")
    return "\n".join(lines)


def execute(command, target, by_name, path, entry_log):
    """Run one validated command; return its standard output."""
    if command == "--help":
        return USAGE
    index = load_index()
    if command == "--get-task-list":
        return listing(index["tasks"], True)
    if command == "--get-rule-list":
        return listing(index["rules"], False)
    kind = {"--get-settings": "task", "--set-settings": "task",
            "--get-rule-settings": "rule", "--set-rule-settings": "rule"}.get(command, "app")
    entry = None
    if kind != "app":
        entry = find(index["tasks"] if kind == "task" else index["rules"], target, by_name, kind)
        entry_log["resolved_id"] = entry["id"]
    stored = state_file(kind, entry)
    if command.startswith("--get-"):
        text = read_text(stored)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        entry_log["xml"] = text
        return ""
    try:
        text = read_text(path)
    except OSError as exc:
        raise Refused("cannot read %s: %s" % (path, exc.strerror))
    entry_log["xml"] = text
    root = parse_xml(text)
    if kind == "task" and entry["name"] == "EventLogger":
        validate_event_logger(root)
    elif kind == "rule":
        validate_rule(root)
    elif kind == "app":
        validate_app(root)
    write_atomic(stored, text)
    return ""


def main(argv):
    entry_log = {
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "argv": argv,
        "command": None,
        "target": None,
        "by_name": False,
        "rc": 0,
        "error": None,
    }
    os.makedirs(BASE, exist_ok=True)
    with open(LOCK, "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        output = ""
        try:
            command, target, by_name, path = parse_args(argv)
            entry_log.update(command=command, target=target, by_name=by_name)
            output = execute(command, target, by_name, path, entry_log)
        except Refused as exc:
            entry_log["rc"] = exc.code
            entry_log["error"] = str(exc)
        with open(RECORD, "a", encoding="utf-8") as record:
            record.write(json.dumps(entry_log, sort_keys=True) + "\n")
    if entry_log["rc"]:
        sys.stderr.write("klms-control (test double): %s\n" % entry_log["error"])
        return entry_log["rc"]
    sys.stdout.write(output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
