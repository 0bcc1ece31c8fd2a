# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared data and helpers for the mailprivacy.gdpr.courier verifier (testinfra)."""

from __future__ import annotations

import imaplib
import pathlib
import poplib
import sys

import pytest
import yaml

SCENARIO_DIR = pathlib.Path(__file__).resolve().parent.parent
# the helpers shared by every scenario's verifier (verify_helpers, live_redaction)
sys.path.insert(0, str(SCENARIO_DIR.parent / "shared"))

# file_has and wait_for: for the test modules (from conftest import ...)
from verify_helpers import (  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import
    container_address,
    file_has,
    journal_json,
    wait_for,
)

TEST_DATA = yaml.safe_load((SCENARIO_DIR / "vars" / "test_data.yml").read_text())

USER = TEST_DATA["courier_test_user"]
PASSWORD = TEST_DATA["courier_test_password"]
WRONG_PASSWORD = TEST_DATA["courier_test_wrong_password"]
LEAK_PASSWORD = TEST_DATA["courier_test_leak_password"]
AGED_TRACK_FILE = TEST_DATA["courier_test_aged_track_file"]

DEBUG_ERA_HOST = "mp-courier"
FRESH_HOST = "mp-courier-fresh"
# podman:// runs `podman exec` directly: about 20 times faster than ansible:// per command,
# and the scenario uses the podman driver anyway (CONTAINERS_CONF from the environment).
ALL_HOSTS = ["podman://" + DEBUG_ERA_HOST, "podman://" + FRESH_HOST]

# Values set in ../converge.yml.
FACILITY = "local1"
FACILITY_NUMBER = "17"  # syslog facility code of local1
EMPTYTRASH = "Trash:14,Sent:90"
QUEUETIME = "3d12h"
TRACK_MAX_AGE = "1d"

MARKER = "# mailprivacy.gdpr:courier"
RSYSLOG_DROPIN = "/etc/rsyslog.d/00-mailprivacy-gdpr-courier.conf"
TMPFILES_CONF = "/etc/tmpfiles.d/mailprivacy-gdpr-courier.conf"
# Seconds a client waits for one server reply. A failed login takes about 7 s on purpose
# (pam_unix delay plus Courier's own); on a loaded CI machine it can take much longer.
CLIENT_TIMEOUT = 180

DAEMON_FILES = ["imapd", "imapd-ssl", "pop3d", "pop3d-ssl", "esmtpd", "esmtpd-ssl", "esmtpd-msa"]


def hostname(host):
    return host.backend.get_hostname()


def journal_entries(host, identifier):
    """Journal entries (dicts) with this syslog identifier."""
    return journal_json(host, "-t %s", identifier)


def journal_messages(host, identifier, needle):
    return [e for e in journal_entries(host, identifier) if needle in str(e.get("MESSAGE", ""))]


def unit_main_pid(host, unit):
    return int(host.check_output("systemctl show -p MainPID --value %s", unit).strip())


def process_environ(host, pid):
    """Environment of a process as a dict (read as root inside the container)."""
    raw = host.check_output("tr '\\0' '\\n' < /proc/%s/environ", str(pid))
    return dict(line.split("=", 1) for line in raw.splitlines() if "=" in line)


def process_cmdline(host, pid):
    return host.check_output("tr '\\0' ' ' < /proc/%s/cmdline", str(pid))


@pytest.fixture(scope="module")
def sessions(host):
    """Run the real client sessions once per host, from the controller.

    IMAP (143): login + SELECT + logout, then a failed login; POP3 (110): login + STAT +
    QUIT. Returns the local (client) ports, which identify each session's log lines.
    Waits until every session's last line reached the journal.
    """
    address = container_address(hostname(host), host)
    result = {"address": address}

    imap = imaplib.IMAP4(address, 143, timeout=CLIENT_TIMEOUT)
    result["imap_port"] = imap.sock.getsockname()[1]
    result["imap_login"] = imap.login(USER, PASSWORD)[0]
    result["imap_select"] = imap.select("INBOX")[0]
    result["imap_logout"] = imap.logout()[0]

    failed = imaplib.IMAP4(address, 143, timeout=CLIENT_TIMEOUT)
    result["imap_failed_port"] = failed.sock.getsockname()[1]
    try:
        failed.login(USER, WRONG_PASSWORD)
        result["imap_failed_login"] = "accepted"
    except imaplib.IMAP4.error:
        result["imap_failed_login"] = "refused"
    failed.logout()

    pop = poplib.POP3(address, 110, timeout=CLIENT_TIMEOUT)
    result["pop_port"] = pop.sock.getsockname()[1]
    pop.user(USER)
    result["pop_pass"] = pop.pass_(PASSWORD)
    result["pop_stat"] = pop.stat()
    result["pop_quit"] = pop.quit()

    for identifier, port in (
        ("imapd", result["imap_port"]),
        ("imapd", result["imap_failed_port"]),
        ("pop3d", result["pop_port"]),
    ):
        assert wait_for(
            lambda i=identifier, p=port: session_logged_out(host, i, p)
        ), "no LOGOUT line for the %s session from port %d in the journal" % (identifier, port)
    return result


def session_logged_out(host, identifier, port):
    """True when the journal holds the LOGOUT line of the session from this client port."""
    return any(
        str(e.get("MESSAGE", "")).startswith("LOGOUT") and "port=[%d]" % port in str(e["MESSAGE"])
        for e in journal_entries(host, identifier)
    )
