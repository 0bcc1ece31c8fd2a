# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify mailprivacy.gdpr.dovecot with a real IMAP client run from the controller.

The client logs in over the podman bridge: plaintext (must be refused), STARTTLS
with the right password, IMAPS with a wrong one. The log lines Dovecot wrote for
these sessions must show the events but no user name, address or client IP.
"""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
import time

import pytest

# Created by prepare.yml (SHA-512 crypt hashes of these passwords).
USERS = {"mpalice": "Correct-Horse-42", "mpbob": "Battery-Staple-7"}
UNKNOWN_USER = "mpnobody"
INFO_LOG = "/var/log/dovecot-info.log"
ERROR_LOG = "/var/log/dovecot.log"
MARKER = "# mailprivacy.gdpr:dovecot"


def line_count(ct, path):
    return int(ct.check_output("wc -l < %s" % path).strip())


def new_lines(ct, path, since):
    return ct.check_output("tail -n +%d %s" % (since + 1, path)).splitlines()


def tls_context():
    # Debian's dovecot-core uses a self-signed snakeoil certificate: no verification
    # here, for this test only.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@pytest.fixture(scope="module")
def sessions(ct, server_ip):
    """Run the client sessions once; return what the server logged meanwhile."""
    address = server_ip
    before = {path: line_count(ct, path) for path in (INFO_LOG, ERROR_LOG)}
    result = {"address": address, "client_ips": set()}

    # 1. Plaintext, no TLS: LOGINDISABLED advertised and LOGIN refused.
    plain = imaplib.IMAP4(address, 143, timeout=20)
    result["client_ips"].add(plain.sock.getsockname()[0])
    result["plain_capabilities"] = plain.capabilities
    try:
        plain.login("mpalice", USERS["mpalice"])
        result["plain_login"] = "accepted"
    except imaplib.IMAP4.error as exc:
        result["plain_login"] = "refused: %s" % exc
    plain.logout()

    # 2. STARTTLS, right password, SELECT INBOX, LOGOUT.
    good = imaplib.IMAP4(address, 143, timeout=20)
    result["client_ips"].add(good.sock.getsockname()[0])
    result["starttls"] = good.starttls(ssl_context=tls_context())[0]
    result["login"] = good.login("mpalice", USERS["mpalice"])[0]
    result["select"] = good.select("INBOX")[0]
    result["logout"] = good.logout()[0]

    # 3. IMAPS (993), wrong password for an existing and for an unknown user.
    for user in ("mpbob", UNKNOWN_USER):
        bad = imaplib.IMAP4_SSL(address, 993, ssl_context=tls_context(), timeout=30)
        result["client_ips"].add(bad.sock.getsockname()[0])
        try:
            bad.login(user, "not-the-password")
            result["bad_login_" + user] = "accepted"
        except imaplib.IMAP4.error:
            result["bad_login_" + user] = "refused"
        bad.logout()

    # Wait until Dovecot's log process has written the lines of all sessions.
    deadline = time.time() + 20
    while True:
        info = new_lines(ct, INFO_LOG, before[INFO_LOG])
        if sum("auth failed" in line for line in info) >= 3 or time.time() > deadline:
            break
        time.sleep(0.5)
    result["info_lines"] = info
    result["error_lines"] = new_lines(ct, ERROR_LOG, before[ERROR_LOG])
    return result


def test_plaintext_login_is_refused(sessions):
    assert "LOGINDISABLED" in sessions["plain_capabilities"]
    assert sessions["plain_login"].startswith("refused")


def test_starttls_login_select_logout(sessions):
    assert sessions["starttls"] == "OK"
    assert sessions["login"] == "OK"
    assert sessions["select"] == "OK"
    assert sessions["logout"] == "BYE"


def test_wrong_password_is_refused(sessions):
    assert sessions["bad_login_mpbob"] == "refused"
    assert sessions["bad_login_" + UNKNOWN_USER] == "refused"


def test_log_records_the_sessions(sessions):
    """The checks below are only meaningful if Dovecot really logged the sessions."""
    lines = sessions["info_lines"]
    assert sum("imap-login: Info: Login:" in line for line in lines) == 1, lines
    assert sum("Logged out" in line for line in lines) == 1, lines
    # The refused plaintext LOGIN counts as a failed attempt too.
    assert sum("auth failed" in line for line in lines) == 3, lines


def test_log_has_no_personal_data(sessions):
    lines = sessions["info_lines"] + sessions["error_lines"]
    assert lines
    client_ips = sessions["client_ips"]
    assert client_ips and sessions["address"] not in client_ips
    for line in lines:
        for user in list(USERS) + [UNKNOWN_USER]:
            assert user not in line, "user name in log line: %s" % line
        assert not re.search(r"\S@\S", line), "address in log line: %s" % line
        for client_ip in client_ips:
            assert not re.search(r"(?<![\d.])%s(?![\d.])" % re.escape(client_ip), line), (
                "client IP in log line: %s" % line
            )
        assert "user=<" not in line and "rip=" not in line, line


def test_client_ip_is_what_dovecot_sees(ct, sessions):
    """The forbidden IP is the real peer address: Dovecot's own view of the connection."""
    address = sessions["address"]
    client_ip = next(iter(sessions["client_ips"]))
    # A connection kept open shows up in ss inside the container with our source address.
    conn = imaplib.IMAP4(address, 143, timeout=20)
    try:
        peers = ct.check_output("ss -Htn state established '( sport = :143 )'")
    finally:
        conn.logout()
    assert client_ip in peers


def test_effective_profile(ct):
    names = [
        "auth_verbose", "auth_verbose_passwords", "auth_debug", "auth_debug_passwords",
        "mail_debug", "verbose_ssl", "verbose_proctitle", "log_debug",
        "login_log_format_elements", "mail_log_prefix", "deliver_log_format",
        "ssl", "disable_plaintext_auth", "log_path", "info_log_path",
    ]
    out = ct.check_output("doveconf %s" % " ".join(names))
    values = dict(
        (key.strip(), value.strip().strip('"').strip())
        for key, value in (line.split("=", 1) for line in out.splitlines())
    )
    assert values["auth_verbose"] == "no"
    assert values["auth_verbose_passwords"] == "no"
    assert values["auth_debug"] == "no"
    assert values["auth_debug_passwords"] == "no"
    assert values["mail_debug"] == "no"
    assert values["verbose_ssl"] == "no"
    assert values["verbose_proctitle"] == "no"
    assert values["log_debug"] == ""
    assert values["login_log_format_elements"] == "method=%m lip=%l mpid=%e %c session=<%{session}>"
    assert values["mail_log_prefix"] == "%s<%{pid}><%{session}>:"
    assert values["deliver_log_format"] == "%$"
    assert values["ssl"] == "required"
    assert values["disable_plaintext_auth"] == "yes"
    assert values["log_path"] == ERROR_LOG
    assert values["info_log_path"] == INFO_LOG


def test_doveconf_n_shows_profile_and_retention(ct):
    out = ct.check_output("doveconf -n")
    assert re.search(r"^ssl = required$", out, re.M)
    assert re.search(r"^  mail_log_fields = uid box size$", out, re.M)
    for mailbox in ("Trash", "Junk"):
        block = re.search(r"^  mailbox %s \{\n(.*?)^  \}" % mailbox, out, re.M | re.S)
        assert block, out
        assert "autoexpunge = 30 days" in block.group(1)
    assert "rawlog" not in out


def test_local_conf(ct):
    conf = ct.file("/etc/dovecot/local.conf")
    assert conf.is_file
    assert conf.user == "root"
    assert conf.group == "root"
    assert conf.mode == 0o644
    assert MARKER in conf.content_string
    # Read last: the include line is the last statement of dovecot.conf.
    main = [
        line.strip()
        for line in ct.file("/etc/dovecot/dovecot.conf").content_string.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert main[-1] == "!include_try local.conf"


@pytest.mark.parametrize("path", [INFO_LOG, ERROR_LOG])
def test_log_file_permissions(ct, path):
    log = ct.file(path)
    assert log.is_file
    assert log.user == "root"
    assert log.group == "adm"
    assert log.mode == 0o640


def test_mail_spool_permissions(ct):
    spool = ct.file("/var/mail")
    assert spool.user == "root"
    assert spool.group == "mail"
    assert spool.mode == 0o2775
    # prepare.yml left this mailbox world-readable.
    assert ct.file("/var/mail/mpbob").mode == 0o600
    assert ct.check_output("find /var/mail -maxdepth 1 -type f -perm /7177") == ""


def test_service_running(ct, server_ip):
    service = ct.service("dovecot")
    assert service.is_running
    assert service.is_enabled
    for port in (143, 993):
        with socket.create_connection((server_ip, port), timeout=10):
            pass
