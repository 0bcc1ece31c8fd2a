# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real IMAP and POP3 clients run from the controller against both hosts; then the logs
are searched: no password anywhere, debug connection lines only in the journal, the IMAP
and POP3 lines under the configured facility."""

from __future__ import annotations

import pytest
from conftest import (
    ALL_HOSTS,
    DEBUG_ERA_HOST,
    FACILITY_NUMBER,
    LEAK_PASSWORD,
    PASSWORD,
    WRONG_PASSWORD,
    file_has,
    hostname,
    journal_entries,
    wait_for,
)

testinfra_hosts = ALL_HOSTS

LOG_FILES = ["/var/log/mail.log", "/var/log/syslog"]


def test_clients_log_in(sessions):
    assert sessions["imap_login"] == "OK"
    assert sessions["imap_select"] == "OK"
    assert sessions["imap_logout"] == "BYE"
    assert sessions["imap_failed_login"] == "refused"
    assert sessions["pop_pass"].startswith(b"+OK")
    assert sessions["pop_stat"] == (0, 0)
    assert sessions["pop_quit"].startswith(b"+OK")


@pytest.mark.parametrize("password", [PASSWORD, WRONG_PASSWORD], ids=["right", "wrong"])
def test_no_password_in_any_log_file(host, sessions, password):
    """The core assertion: every file under /var/log (text logs, rotated copies and the
    journal's binary files, read raw), searched for the passwords the clients sent."""
    found = host.run("grep -r -a -l -F -e %s /var/log", password)
    assert found.rc == 1, "password found in (rc %d): %s %s" % (
        found.rc,
        found.stdout,
        found.stderr,
    )


@pytest.mark.parametrize("password", [PASSWORD, WRONG_PASSWORD], ids=["right", "wrong"])
def test_no_password_in_the_journal(host, sessions, password):
    """Every field of every journal entry, as journalctl decodes it."""
    found = host.run("journalctl --no-pager -q -o verbose | grep -c -F -e %s", password)
    assert found.rc == 1, "password found in %s journal lines" % found.stdout.strip()


def test_the_leak_canary_was_logged_before_converge(host):
    """Sensitivity of the two tests above: prepare.yml logged in with DEBUG_LOGIN=2 (its
    password tasks are no_log, so only Courier can have written it) and the same searches
    find that password in mail.log, syslog and the journal."""
    if hostname(host) != DEBUG_ERA_HOST:
        pytest.skip("only the debug-era host was leaking")
    found = host.run("grep -r -a -l -F -e %s /var/log", LEAK_PASSWORD).stdout.split()
    assert "/var/log/mail.log" in found
    assert "/var/log/syslog" in found
    assert file_has(host, "/var/log/mail.log", "password=" + LEAK_PASSWORD)
    assert host.run("journalctl --no-pager -q -o verbose | grep -q -F -e %s", LEAK_PASSWORD).rc == 0
    courier_lines = [
        e
        for identifier in ("imapd", "authdaemond")
        for e in journal_entries(host, identifier)
        if LEAK_PASSWORD in str(e.get("MESSAGE", ""))
    ]
    assert courier_lines


@pytest.mark.parametrize("session", ["imap_port", "imap_failed_port", "pop_port"])
def test_debug_connection_lines_reach_the_journal(host, sessions, session):
    """Courier still produces its debug "Connection, ip=" line for every session (so the
    file checks below can fail); the journal keeps it."""
    identifier = "pop3d" if session == "pop_port" else "imapd"
    needle = "Connection, ip=[::ffff:"
    port = "port=[%d]" % sessions[session]
    lines = [
        e
        for e in journal_entries(host, identifier)
        if str(e.get("MESSAGE", "")).startswith(needle) and port in str(e["MESSAGE"])
    ]
    assert lines, "no %s ... %s line in the journal" % (needle, port)
    assert all(e["PRIORITY"] == "7" for e in lines)


@pytest.mark.parametrize("path", LOG_FILES)
@pytest.mark.parametrize("session", ["imap_port", "imap_failed_port", "pop_port"])
def test_debug_connection_lines_stay_out_of_log_files(host, sessions, path, session):
    if hostname(host) != DEBUG_ERA_HOST:
        pytest.skip("no rsyslog on the fresh host")
    port = "port=[%d]" % sessions[session]
    # The session's LOGOUT line (info) reached /var/log/syslog: rsyslog has processed it.
    assert wait_for(lambda: file_has(host, "/var/log/syslog", port)), (
        "session %s not in syslog" % port
    )
    lines = host.run("grep -F -e %s %s", port, path).stdout.splitlines()
    assert not [line for line in lines if "Connection, ip=" in line], lines


@pytest.mark.parametrize("identifier,session", [("imapd", "imap_port"), ("pop3d", "pop_port")])
def test_login_lines_use_the_configured_facility(host, sessions, identifier, session):
    port = "port=[%d]" % sessions[session]
    entries = [e for e in journal_entries(host, identifier) if port in str(e.get("MESSAGE", ""))]
    logins = [e for e in entries if str(e["MESSAGE"]).startswith("LOGIN, user=")]
    assert logins, "no LOGIN line for %s" % port
    assert {e["SYSLOG_FACILITY"] for e in entries} == {FACILITY_NUMBER}


@pytest.mark.parametrize("session", ["imap_port", "imap_failed_port", "pop_port"])
def test_login_lines_leave_mail_log(host, sessions, session):
    """local1 moves the IMAP and POP3 lines out of /var/log/mail.log (they still reach
    /var/log/syslog through Debian's *.* rule, which proves rsyslog received them)."""
    if hostname(host) != DEBUG_ERA_HOST:
        pytest.skip("no rsyslog on the fresh host")
    port = "port=[%d]" % sessions[session]
    assert wait_for(lambda: file_has(host, "/var/log/syslog", port))
    assert not file_has(host, "/var/log/mail.log", port)


def test_no_log_files_on_the_journal_only_host(host):
    if hostname(host) == DEBUG_ERA_HOST:
        pytest.skip("the debug-era host has rsyslog")
    assert not host.package("rsyslog").is_installed
    assert not host.file("/var/log/mail.log").exists
    assert not host.file("/etc/rsyslog.d").exists
