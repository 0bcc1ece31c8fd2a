# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retention of Dovecot's file logs: /etc/logrotate.d/dovecot from the role.

Runs after test_dovecot.py (file order), because it rotates the logs that one reads.
"""

from __future__ import annotations

import imaplib
import time

INFO_LOG = "/var/log/dovecot-info.log"
LOGROTATE_CONF = "/etc/logrotate.d/dovecot"
# converge.yml sets dovecot_logrotate_maxage: 7.
MAXAGE_DAYS = 7


def test_logrotate_rules(ct):
    conf = ct.file(LOGROTATE_CONF)
    assert conf.is_file
    assert conf.mode == 0o644
    text = conf.content_string
    assert "# mailprivacy.gdpr:dovecot" in text
    assert "/var/log/dovecot.log /var/log/dovecot-info.log {" in text
    assert "maxage %d" % MAXAGE_DAYS in text
    assert "rotate 14" in text
    assert "create 0640 root adm" in text
    assert "doveadm log reopen" in text
    # logrotate accepts it.
    ct.run_expect([0], "logrotate --debug %s" % LOGROTATE_CONF)


def test_rotation_removes_aged_logs_and_dovecot_reopens(ct, server_ip):
    aged = INFO_LOG + ".3.gz"
    young = INFO_LOG + ".2.gz"
    ct.run_expect([0], "echo old | gzip -n > %s && touch -d '%d days ago' %s" % (aged, MAXAGE_DAYS + 5, aged))
    ct.run_expect([0], "echo new | gzip -n > %s && touch -d '%d days ago' %s" % (young, MAXAGE_DAYS - 5, young))
    # notifempty: make sure the live log has content to rotate.
    assert ct.file(INFO_LOG).size > 0

    ct.run_expect([0], "logrotate -f %s" % LOGROTATE_CONF)

    # logrotate shifts the numbers, so look at the contents of all rotated files.
    rotated = ct.check_output("zcat -f %s.*" % INFO_LOG).splitlines()
    assert "old" not in rotated, "rotated log older than maxage survived"
    assert "new" in rotated, "rotated log younger than maxage was removed"
    assert ct.file(INFO_LOG + ".1").exists
    live = ct.file(INFO_LOG)
    assert live.exists
    assert (live.user, live.group, live.mode) == ("root", "adm", 0o640)

    # postrotate ran `doveadm log reopen`: new sessions are logged to the new file.
    before = live.size
    conn = imaplib.IMAP4(server_ip, 143, timeout=20)
    conn.logout()
    deadline = time.time() + 15
    while ct.file(INFO_LOG).size == before and time.time() < deadline:
        time.sleep(0.5)
    assert ct.file(INFO_LOG).size > before
    assert "imap-login" in ct.file(INFO_LOG).content_string
