"""Shared helpers for the mailprivacy.gdpr.mail_logging verifier (testinfra).

The tests talk to the containers with testinfra's podman backend (``podman exec``) rather
than through Ansible: it is many times faster, and Ansible modules log their arguments to
syslog, which would put the test markers into /var/log/syslog by another path.
"""

import functools
import pathlib
import sys
import uuid

import pytest

# the helpers shared by every scenario's verifier (verify_helpers, live_redaction)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))

import verify_helpers  # noqa: E402  pylint: disable=wrong-import-position
from verify_helpers import file_has  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

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


# verify_helpers.wait_for, 20 seconds unless told
wait_for = functools.partial(verify_helpers.wait_for, timeout=20.0)


def journal_has(host, tag, text):
    """True when the journal holds a line with this syslog identifier and text."""
    out = host.run("journalctl --no-pager -q -o cat -t %s", tag)
    return out.rc == 0 and text in out.stdout


@pytest.fixture
def unique():
    """A unique token for log markers, so reruns never match old lines."""
    return uuid.uuid4().hex[:12]
