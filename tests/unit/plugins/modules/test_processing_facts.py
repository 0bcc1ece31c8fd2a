# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""processing_facts against fixture trees: one record per data store with the retention read from
the configuration files (and doveconf -n through a fake runner), protection from modes."""

from __future__ import annotations

import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.mailprivacy.gdpr.plugins.modules import processing_facts as pf

DOVECONF = """\
# 2.3.19.1 (9b53102964): /etc/dovecot/dovecot.conf
log_path = /var/log/dovecot.log
mail_location = mbox:~/mail:INBOX=/var/mail/%u
namespace inbox {
  inbox = yes
  location =
  mailbox Drafts {
    special_use = \\Drafts
  }
  mailbox Junk {
    autoexpunge = 30d
    special_use = \\Junk
  }
  mailbox Trash {
    autoexpunge = 30d
    special_use = \\Trash
  }
  prefix =
}
protocols = " imap"
"""

RSYSLOG = """\
module(load="imuxsock")
$FileOwner root
*.*;auth,authpriv.none\t\t-/var/log/syslog
auth,authpriv.*\t\t\t/var/log/auth.log
cron.*\t\t\t\t-/var/log/cron.log
kern.*\t\t\t\t-/var/log/kern.log
mail.*\t\t\t\t-/var/log/mail.log
user.*\t\t\t\t-/var/log/user.log
*.emerg\t\t\t\t:omusrmsg:*
"""

LOGROTATE_RSYSLOG = """\
# mailprivacy.gdpr:mail_logging
/var/log/syslog
/var/log/mail.log
{
\tdaily
\trotate 13
\tmaxage 14
\tmissingok
\tcompress
\tsharedscripts
\tpostrotate
\t\t/usr/lib/rsyslog/rsyslog-rotate
\tendscript
}

/var/log/auth.log
/var/log/cron.log
{
\trotate 4
\tweekly
}
"""


def write(root, path, text="", mode=0o644):
    full = os.path.join(root, path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as handle:
        handle.write(text)
    os.chmod(full, mode)
    return full


def mkdir(root, path, mode=0o755):
    full = os.path.join(root, path.lstrip("/"))
    os.makedirs(full, exist_ok=True)
    os.chmod(full, mode)
    return full


def make_host(root):
    """A host with every service of the collection, configured like after the roles ran."""
    # journald: vendor drop-in, then ours in /etc (later name wins)
    write(root, "/etc/systemd/journald.conf", "[Journal]\n#Storage=auto\n")
    write(root, "/usr/lib/systemd/journald.conf.d/10-vendor.conf", "[Journal]\nMaxRetentionSec=1month\n")
    write(root, "/etc/systemd/journald.conf.d/80-mailprivacy-gdpr-mail-logging.conf",
          "[Journal]\nMaxRetentionSec=14day\nMaxFileSec=1day\nSystemMaxUse=1G\n")
    mkdir(root, "/var/log/journal", 0o2755)
    write(root, "/var/log/journal/0123/system.journal", "x", 0o640)
    # rsyslog + logrotate
    write(root, "/etc/rsyslog.conf", RSYSLOG)
    write(root, "/etc/logrotate.conf", "weekly\nrotate 4\ncreate\ninclude /etc/logrotate.d\n")
    write(root, "/etc/logrotate.d/rsyslog", LOGROTATE_RSYSLOG)
    write(root, "/etc/logrotate.d/rsyslog.dpkg-old", "/var/log/mail.log {\n rotate 99\n}\n")
    write(root, "/var/log/mail.log", "", 0o640)
    write(root, "/var/log/syslog", "", 0o640)
    # dovecot
    mkdir(root, "/etc/dovecot")
    mkdir(root, "/var/mail", 0o2775)
    write(root, "/var/log/dovecot.log", "", 0o640)
    write(root, "/etc/logrotate.d/dovecot", "/var/log/dovecot.log {\n  daily\n  rotate 14\n  maxage 7\n}\n")
    # courier
    write(root, "/etc/courier/imapd", "MAILDIRPATH=Maildir\nIMAP_EMPTYTRASH=Trash:7\n")
    write(root, "/etc/courier/queuetime", "3d\n")
    mkdir(root, "/var/lib/courier/msgs", 0o750)
    mkdir(root, "/var/lib/courier/track", 0o755)
    write(root, "/etc/tmpfiles.d/mailprivacy-gdpr-courier.conf",
          "# mailprivacy.gdpr:courier\ne /var/lib/courier/track - - - m:1d\n")
    write(root, "/etc/courier/userdb", "", 0o600)
    # qmail
    write(root, "/var/qmail/control/queuelifetime", "432000\n")
    write(root, "/var/qmail/users/assign", ".\n")
    write(root, "/var/qmail/supervise/qmail-smtpd/log/run",
          "#!/bin/sh\n# multilog comment\nexec /usr/bin/setuidgid qmaill /usr/bin/multilog t '-* tcpserver: pid *' "
          "s1000000 n20 /var/log/qmail/smtpd\n", 0o755)
    write(root, "/var/qmail/supervise/qmail-send/log/run",
          "#!/bin/sh\nexec setuidgid qmaill multilog t ./main\n", 0o755)
    mkdir(root, "/var/log/qmail/smtpd", 0o750)
    write(root, "/etc/systemd/system/mailprivacy-qmail-log-cleanup.service",
          "[Service]\nExecStart=/usr/bin/find /var/log/qmail/smtpd -maxdepth 1 -type f ( -name @*.s ) "
          "-mmin +20160 -print -delete\n")
    # horde
    write(root, "/etc/horde/horde/conf.php",
          "<?php\n$conf['log']['priority'] = 'NOTICE';\n$conf['log']['type'] = 'syslog';\n"
          "$conf['session']['max_time'] = 72000;\n$conf['sql']['phptype'] = 'mysql';\n"
          "$conf['sql']['database'] = 'horde';\n")
    # conf.local.php is read last and wins
    write(root, "/etc/horde/horde/conf.local.php",
          "<?php\n$conf['log']['type'] = 'file';\n$conf['log']['name'] = '/var/log/horde/horde.log';\n"
          "$conf['log']['priority'] = 'WARNING';\n$conf['session']['max_time'] = 28800;\n")
    write(root, "/var/log/horde/horde.log", "", 0o640)
    write(root, "/etc/logrotate.d/horde", "/var/log/horde/*.log {\n  daily\n  rotate 14\n  maxage 14\n}\n")
    write(root, "/etc/horde/imp/conf.php", "<?php\n$conf['sentmail']['driver'] = 'Sql';\n"
          "$conf['sentmail']['params']['threshold'] = 14;\n")
    mkdir(root, "/var/lib/php/sessions", 0o1733)
    write(root, "/etc/tmpfiles.d/mailprivacy-gdpr-horde.conf",
          "e /var/cache/horde - - - m:7d\ne /var/lib/php/sessions - - - m:1d\n")
    mkdir(root, "/var/cache/horde", 0o750)
    # KLMS
    mkdir(root, "/opt/kaspersky/klms/bin")
    mkdir(root, "/var/opt/kaspersky/klms", 0o750)
    mkdir(root, "/var/log/kaspersky/klms", 0o750)
    write(root, "/usr/local/sbin/mailprivacy-klms-cleanup",
          "#!/usr/bin/env bash\nprune() { :; }\nprune trace /var/log/kaspersky/klms 20160 524288\n"
          "prune dump /var/opt/kaspersky/klms/dumps 10080 1048576\nprune temporary /tmp/klmstmp 1440 0\n", 0o755)


def fake_run(text=DOVECONF, rc=0):
    calls = []

    def run(argv):
        calls.append(list(argv))
        return (rc, text) if text is not None else None
    run.calls = calls
    return run


def by_store(facts):
    return dict(((r["service"], r["store"]), r) for r in facts["records"])


@pytest.fixture()
def host_tree(tmp_path):
    make_host(str(tmp_path))
    return str(tmp_path)


def test_every_service_and_store(host_tree):
    run = fake_run()
    facts = pf.collect(pf.Host(host_tree, run=run))
    assert facts["services"] == dict((s, True) for s in pf.SERVICES)
    assert run.calls == [["doveconf", "-n"]]
    rows = by_store(facts)
    # every record has the data-table columns
    for row in facts["records"]:
        for key in ("data_type", "location", "retention", "retention_days", "protection", "readers", "owner",
                    "group", "mode", "retention_basis"):
            assert key in row
    journal = rows[("system_logging", "journal")]
    assert journal["retention_days"] == 14 and journal["location"] == "/var/log/journal"
    assert "MaxRetentionSec=14day" in journal["retention"] and "1G" in journal["retention"]
    assert journal["retention_basis"].endswith("80-mailprivacy-gdpr-mail-logging.conf")
    assert journal["mode"] == "2755"
    assert journal["readers"] == "owner, group %s" % journal["group"]  # from the 0640 journal file
    mail = rows[("system_logging", "rsyslog:mail.log")]
    assert mail["retention_days"] == 14 and "daily, rotate 13, maxage 14" in mail["retention"]
    assert mail["retention_basis"].endswith("/etc/logrotate.d/rsyslog")
    assert mail["mode"] == "0640" and "everyone" not in mail["readers"]
    assert rows[("system_logging", "rsyslog:syslog")]["retention_days"] == 14
    auth = rows[("system_logging", "rsyslog:auth.log")]
    assert auth["retention_days"] == 35 and auth["present"] is False
    assert auth["protection"].endswith("[of /var/log]")
    user = rows[("system_logging", "rsyslog:user.log")]
    assert user["retention_days"] is None and "no logrotate rule" in user["retention"]
    assert ("system_logging", "rsyslog:kern.log") not in rows and ("system_logging", "rsyslog:cron.log") not in rows
    boxes = rows[("dovecot", "mailboxes")]
    assert "mbox: ~/mail, INBOX=/var/mail/%u" == boxes["location"]
    assert "autoexpunge: Junk 30d, Trash 30d" in boxes["retention"]
    assert boxes["mode"] == "2775"
    dlog = rows[("dovecot", "dovecot_log:dovecot.log")]
    assert dlog["retention_days"] == 8  # daily: 1 + maxage 7 < 15
    maildirs = rows[("courier", "maildirs")]
    assert maildirs["location"] == "~/Maildir (home directories)" and "IMAP_EMPTYTRASH=Trash:7" in maildirs["retention"]
    assert rows[("courier", "mta_queue")]["retention_days"] == 3
    track = rows[("courier", "delivery_track")]
    assert track["retention_days"] == 1 and track["retention_basis"].endswith("mailprivacy-gdpr-courier.conf")
    assert rows[("courier", "userdb")]["mode"] == "0600"
    assert rows[("qmail", "queue")]["retention_days"] == 5
    smtpd = rows[("qmail", "multilog:/var/log/qmail/smtpd")]
    assert smtpd["retention_days"] == 14 and "n20 s1000000" in smtpd["retention"]
    send = rows[("qmail", "multilog:/var/qmail/supervise/qmail-send/log/main")]
    assert send["retention_days"] is None and "n10 s99999" in send["retention"]  # multilog defaults
    assert ("qmail", "users_assign") in rows
    hlog = rows[("horde", "horde_log")]
    assert hlog["location"].startswith("/var/log/horde/horde.log") and hlog["retention_days"] == 15
    assert "WARNING" in hlog["data_type"]
    sessions = rows[("horde", "sessions")]
    assert sessions["retention_days"] == 1 and "28800" in sessions["retention"]
    assert sessions["mode"] == "1733"
    assert rows[("horde", "sql")]["location"] == "SQL database (mysql, horde)"
    assert rows[("horde", "imp_sentmail")]["retention_days"] == 14
    assert rows[("horde", "cache")]["retention_days"] == 7
    assert rows[("klms", "backup")]["retention_days"] is None
    trace = rows[("klms", "trace")]
    assert trace["retention_days"] == 14 and "512 MiB" in trace["retention"]
    assert ("klms", "dump") in rows and ("klms", "temporary") in rows
    assert facts["problems"] == []


def test_absent_services_are_skipped(tmp_path):
    root = str(tmp_path)
    write(root, "/etc/rsyslog.conf", RSYSLOG)
    facts = pf.collect(pf.Host(root, run=fake_run(None)))
    assert facts["services"] == {"system_logging": True, "dovecot": False, "courier": False, "qmail": False,
                                 "horde": False, "klms": False}
    assert all(r["service"] == "system_logging" for r in facts["records"])
    mail = by_store(facts)[("system_logging", "rsyslog:mail.log")]
    assert mail["retention"] == "no time limit (logrotate not installed)"
    assert pf.collect(pf.Host(str(tmp_path / "empty")))["records"] == []


def test_only_some_services(host_tree):
    facts = pf.collect(pf.Host(host_tree, run=fake_run()), ["qmail"])
    assert list(facts["services"]) == ["qmail"]
    assert set(r["service"] for r in facts["records"]) == {"qmail"}


def test_unreadable_dovecot_config_is_reported(host_tree):
    facts = pf.collect(pf.Host(host_tree, run=fake_run(None)), ["dovecot"])
    assert facts["problems"] == ["dovecot: doveconf -n could not be run; retention not read from the configuration"]
    assert by_store(facts)[("dovecot", "mailboxes")]["retention"] == "unknown (configuration not read)"
    facts = pf.collect(pf.Host(host_tree, run=fake_run("", rc=1)), ["dovecot"])
    assert len(facts["problems"]) == 1


def test_no_time_limit_and_volatile_journal(tmp_path):
    root = str(tmp_path)
    write(root, "/etc/systemd/journald.conf", "[Journal]\nStorage=volatile\nRuntimeMaxUse=64M\n")
    mkdir(root, "/run/log/journal")
    write(root, "/etc/rsyslog.conf", "mail.*  -/var/log/mail.log\n")
    write(root, "/etc/logrotate.conf", "include /etc/logrotate.d\n")
    write(root, "/etc/logrotate.d/x", "/var/log/mail.log {\n  rotate -1\n}\n")
    rows = by_store(pf.collect(pf.Host(root)))
    journal = rows[("system_logging", "journal")]
    assert journal["location"] == "/run/log/journal" and journal["retention_days"] is None
    assert "volatile: lost at reboot" in journal["retention"] and "64M (RuntimeMaxUse)" in journal["retention"]
    assert rows[("system_logging", "rsyslog:mail.log")]["retention_days"] is None


def test_everyone_can_read(tmp_path):
    root = str(tmp_path)
    write(root, "/etc/rsyslog.conf", "mail.*  -/var/log/mail.log\n")
    write(root, "/var/log/mail.log", "", 0o644)
    row = by_store(pf.collect(pf.Host(root)))[("system_logging", "rsyslog:mail.log")]
    assert row["readers"].endswith("everyone")


HORDE_CONF_PHP = """<?php
/* CONFIG START. DO NOT CHANGE ANYTHING IN OR AFTER THIS LINE. */
/* Old settings, kept for reference:
$conf['log']['enabled'] = false;
$conf['session']['max_time'] = 1;
*/
$conf['log'] = array(
    'type' => 'file',  // one array for the whole log block
    'name' => '/var/log/horde/horde.log',
    'priority' => 'NOTICE',
);
$conf['session']['max_time'] = 7200; // two hours
$conf['sql']['phptype'] = 'mysql';
$conf['sql']['database'] = getenv('HORDE_DB');
/* CONFIG END. DO NOT CHANGE ANYTHING IN OR BEFORE THIS LINE. */
"""


def test_horde_settings_are_read_as_php_reads_them(tmp_path):
    """Comments, arrays and trailing comments as PHP reads them (the line regex before issue 13
    took the commented-out lines and missed the others); conf.d and conf.local.php of imp too;
    what the reader cannot work out is a problem, never a guess."""
    root = str(tmp_path)
    write(root, "/etc/horde/horde/conf.php", HORDE_CONF_PHP)
    write(root, "/etc/horde/horde/conf.d/10-priority.php", "<?php\n$conf['log']['priority'] = 'WARNING';\n")
    write(root, "/etc/horde/imp/conf.php", "<?php\n$conf['sentmail']['driver'] = 'Null';\n")
    write(root, "/etc/horde/imp/conf.local.php", "<?php\n$conf['sentmail'] = array('driver' => 'Sql', "
          "'params' => array('threshold' => 21));\n")
    facts = pf.collect(pf.Host(root), ["horde"])
    rows = by_store(facts)
    log = rows[("horde", "horde_log")]
    assert log["location"] == "/var/log/horde/horde.log (and rotated copies)"
    assert "WARNING" in log["data_type"]
    assert "session max_time 7200 s" in rows[("horde", "sessions")]["retention"]
    assert rows[("horde", "sessions")]["retention_days"] == 0.08
    assert rows[("horde", "sql")]["location"] == "SQL database (mysql)"
    assert rows[("horde", "imp_sentmail")]["retention_days"] == 21
    assert facts["problems"] == ["horde: sql.database is computed or set conditionally; the record assumes it is unset"]
    write(root, "/etc/horde/horde/conf.local.php", "<?php\n$conf['log']['type'] = 'file\n")
    facts = pf.collect(pf.Host(root), ["horde"])
    assert "horde: /etc/horde/horde/conf.local.php (line 2) cannot be read with certainty; the settings it may " \
        "change are taken as unknown" in facts["problems"]
    assert "syslog facility LOG_USER" in by_store(facts)[("horde", "horde_log")]["location"]  # defaults, said so
    assert "'file" not in json.dumps(facts)


def test_logrotate_blocks_globals_and_includes(tmp_path):
    root = str(tmp_path)
    write(root, "/etc/logrotate.conf", "monthly\nrotate 2\ninclude /etc/logrotate.d\n/var/log/wtmp {\n  rotate 1\n}\n")
    write(root, "/etc/logrotate.d/a", "/var/log/a.log /var/log/b*.log {\n  size 10M\n}\n")
    lr = pf.Logrotate(pf.Host(root))
    text, days, source = lr.retention("/var/log/b2.log")
    assert days == 93 and "monthly, rotate 2, size 10M" in text and source == "/etc/logrotate.d/a"
    assert lr.retention("/var/log/wtmp")[1] == 62
    assert lr.retention("/var/log/none.log")[1] is None


def run_module(capsys, args):
    with patch_module_args(dict(args, _ansible_check_mode=True)):
        with pytest.raises(SystemExit):
            pf.main()
    return json.loads(capsys.readouterr().out)


def test_module_returns_facts(host_tree, capsys):
    result = run_module(capsys, {"root": host_tree, "services": ["courier", "qmail"]})
    assert result["changed"] is False
    facts = result["ansible_facts"]["mailprivacy_processing"]
    assert facts["services"] == {"courier": True, "qmail": True}
    assert len(facts["records"]) == 9
    result = run_module(capsys, {"root": os.path.join(host_tree, "missing")})
    assert result["failed"] is True and result["msg"] == "root: not a directory"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give fixture files to user accounts")
def test_personal_accounts_are_never_named_and_maildirs_are_sampled(tmp_path):
    root = str(tmp_path)
    write(root, "/etc/courier/imapd", "MAILDIRPATH=Maildir\n")
    for uid, user in ((1001, "zoequill"), (1002, "maxumber")):
        home = mkdir(root, "/home/%s" % user, 0o755)
        write(root, "/home/%s/.profile" % user, "", 0o644)  # not mail: must not decide the readers
        msg = write(root, "/home/%s/Maildir/cur/1.mail" % user, "x", 0o600)
        for path in (home, os.path.dirname(msg), os.path.dirname(os.path.dirname(msg)), msg):
            os.chown(path, uid, uid)
    row = by_store(pf.collect(pf.Host(root), ["courier"]))[("courier", "maildirs")]
    assert "zoequill" not in json.dumps(row) and "maxumber" not in json.dumps(row)
    assert row["readers"] == "the user (owner), root"
    assert "2 data directories, files each user's 0600" in row["protection"]


def test_host_read_never_blocks_on_a_fifo_nor_follows_a_link(tmp_path):
    """A FIFO or a symbolic link planted among the configuration files the record reads is
    read as missing (None), without blocking (the reader used to open() it)."""
    import threading
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils.processing import Host
    (tmp_path / 'etc').mkdir()
    os.mkfifo(str(tmp_path / 'etc' / 'conf.php'))
    (tmp_path / 'secret').write_text('x')
    os.symlink(str(tmp_path / 'secret'), str(tmp_path / 'etc' / 'link.php'))
    out = {}
    host = Host(str(tmp_path))

    def read_both():
        out.update(fifo=host.read('/etc/conf.php'), link=host.read('/etc/link.php'))

    thread = threading.Thread(target=read_both)
    thread.daemon = True
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), 'reading a FIFO blocked'
    assert out == {'fifo': None, 'link': None}
