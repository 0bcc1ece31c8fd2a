"""Shared helpers for the mailprivacy.gdpr.mail_logging verifier (testinfra).

The tests talk to the containers with testinfra's podman backend (``podman exec``) rather
than through Ansible: it is many times faster, and Ansible modules log their arguments to
syslog, which would put the test markers into /var/log/syslog by another path.
"""

import time
import uuid

import pytest

# Values set in ../converge.yml.
RETENTION_DAYS = 10
# daily rotation: live file + (RETENTION_DAYS - 1) rotated copies = RETENTION_DAYS days.
ROTATE = RETENTION_DAYS - 1
SYSTEM_MAX_USE = "256M"
SYSTEM_MAX_FILE_SIZE = "32M"
RUNTIME_MAX_USE = "48M"

MARKER = "# mailprivacy.gdpr:mail_logging"
JOURNALD_DROPIN = "/etc/systemd/journald.conf.d/80-mailprivacy-gdpr-mail-logging.conf"
RSYSLOG_DROPIN = "/etc/rsyslog.d/00-mailprivacy-gdpr-mail-logging.conf"
LOGROTATE_FILE = "/etc/logrotate.d/rsyslog"
ROTATE_SCRIPT = "/usr/lib/rsyslog/rsyslog-rotate"


def wait_for(predicate, timeout=20.0, interval=0.5):
    """Poll predicate() until it is true or the timeout expires; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(interval)


def file_has(host, path, text):
    """True when the file exists and contains text (fixed string)."""
    return host.run("grep -qF -- %s %s", text, path).rc == 0


def journal_has(host, tag, text):
    """True when the journal holds a line with this syslog identifier and text."""
    out = host.run("journalctl --no-pager -q -o cat -t %s", tag)
    return out.rc == 0 and text in out.stdout


@pytest.fixture
def unique():
    """A unique token for log markers, so reruns never match old lines."""
    return uuid.uuid4().hex[:12]
