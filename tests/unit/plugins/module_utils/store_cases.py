# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One fixture host per store for the store contract test (test_store_contract.py).

``CASES`` maps a store name (``Store.name``) to a factory ``factory(tmp_path) -> Case``: real
files under ``tmp_path`` and the one FakeRunner, built with what the store's own unit tests
build (their writers, tool fakes and data are imported from the sibling test modules). Each
host holds data of the subject and, beside it, data of another person (often a look-alike of
the subject), which the erasure must leave as it is.

A store registered without a factory here makes the contract test fail: add one."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil

from fake_runner import FakeRunner
import test_store_accounts as t_accounts
import test_store_dovecot as t_dovecot
import test_store_horde as t_horde
import test_store_journal_rewrite as t_journal
import test_store_maildir as t_maildir
import test_store_system_accounts as t_system

ANN = {'addresses': ['ann@example.org']}
BOB = {'addresses': ['bob@example.org']}
HMAC = 'a3' * 32


class Case(object):
    """A store's fixture host.

    options, runner: what the store is built with. subject, other: Subject.from_params
    arguments of the data subject and of the other person whose data sits beside. trees: the
    directories the store reads and writes (snapshotted: bytes, modes, mtimes). state: a
    callable returning what a tool fake holds outside the trees (compared like them).
    read_only(argv): whether a command may run in check mode (every other command is taken
    as one that changes something). changes_with: the programs of the commands by which the
    real erasure changes something (their presence proves that ``read_only`` tells them
    apart). manual_only: the store only gives manual steps. other_kinds: the kinds of export
    files compared for the other person (None: all)."""

    def __init__(self, options, runner, subject, other, trees=(), state=None, read_only=None, changes_with=(),
                 manual_only=False, other_kinds=None):
        self.options = options
        self.runner = runner
        self.subject = subject
        self.other = other
        self.trees = [str(t) for t in trees]
        self.state = state or (lambda: None)
        self.read_only = read_only or (lambda argv: False)
        self.changes_with = set(changes_with)
        self.manual_only = manual_only
        self.other_kinds = other_kinds


def program(argv):
    return os.path.basename(str(argv[0]))


def digest(value):
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=repr).encode()).hexdigest()


# ------------------------------------------------------------------------------ mailboxes
def dovecot(tmp):
    users = {
        'ann@example.org': {'home': '/var/vmail/example.org/ann', 'boxes': t_dovecot.mailboxes('ann')},
        'bob@example.org': {'home': '/var/vmail/example.org/bob', 'boxes': t_dovecot.mailboxes('bob')},
        'joann@example.org': {'home': '/var/vmail/example.org/joann', 'boxes': t_dovecot.mailboxes('joann')},
    }
    runner = t_dovecot.FakeDoveadm(users, sessions=[('ann@example.org', 4242), ('bob@example.org', 4343)])

    def read_only(argv):
        if program(argv) == 'doveconf':
            return True
        args = list(argv[1:])
        if args[:1] == ['-f']:
            args = args[2:]
        return args[:1] in (['user'], ['who'], ['fetch']) or args[:2] in (['mailbox', 'status'], ['mailbox', 'path'])

    return Case({}, runner, ANN, {'addresses': ['joann@example.org']}, state=lambda: digest(users),
                read_only=read_only, changes_with={'doveadm'})


def maildir(tmp):
    root = tmp / 'vmail'
    for user in ('ann', 'bob', 'joann'):
        t_maildir.make_maildir(str(root / 'example.org' / user), user.encode(), extra=False)
    options = {'paths': [str(root / '%d' / '%n' / 'Maildir')], 'roots': [str(root)]}
    return Case(options, FakeRunner(), ANN, {'addresses': ['joann@example.org']}, trees=[root])


# ------------------------------------------------------------------------------ queues
def courier_queue(tmp):
    msgs = tmp / 'msgs'
    w = t_accounts.write
    # to ann alone (cancelled); to bob alone (stays)
    w(msgs / '1700' / 'C101', b'sdave@example.com\nrann@example.org\nM0000065.1.1\n')
    w(msgs / '1700' / 'D101', b'Subject: one\n\nto ann\n')
    w(msgs / '1701' / 'C102', b'scarol@example.net\nrbob@example.org\n')
    w(msgs / '1701' / 'D102', b'Subject: two\n\nto bob\n')

    def cancelmsg(argv, _data):
        """Courier's cancelmsg ID: the message leaves the queue (here: its files go)."""
        qid = argv[1]
        for dirpath, _dirs, files in os.walk(str(msgs)):
            for name in files:
                if not name.startswith('C'):
                    continue
                with open(os.path.join(dirpath, name), 'rb') as fh:
                    lines = fh.read().decode().splitlines()
                if name[1:] == qid or 'M' + qid in lines:
                    os.unlink(os.path.join(dirpath, name))
                    os.unlink(os.path.join(dirpath, 'D' + name[1:]))
                    return 0
        return 1

    return Case({'msgs_dir': str(msgs)}, FakeRunner({'cancelmsg': cancelmsg}), ANN, BOB, trees=[msgs],
                changes_with={'cancelmsg'})


def qmail_queue(tmp):
    q = tmp / 'queue'
    w = t_accounts.write
    # 1001: dave sends to ann alone (goes); 1002: carol sends to bob alone (stays)
    w(q / 'mess' / '1' / '1001', b'Subject: one\n\nto ann\n')
    w(q / 'info' / '1' / '1001', b'Fdave@example.com\0')
    w(q / 'local' / '1' / '1001', b'Tann@example.org\0')
    w(q / 'mess' / '2' / '1002', b'Subject: two\n\nto bob\n')
    w(q / 'info' / '2' / '1002', b'Fcarol@example.net\0')
    w(q / 'remote' / '2' / '1002', b'Tbob@example.org\0')
    w(q / 'lock' / 'sendmutex', b'')
    service = tmp / 'service' / 'qmail-send'
    service.mkdir(parents=True)
    # qmail-send is stopped: svstat says down, pgrep finds no qmail-send
    runner = FakeRunner({'svstat': lambda argv, _data: ('%s: down 5 seconds, normally up\n' % argv[1]).encode(),
                         'pgrep': 1})
    options = {'queue_dir': str(q), 'service_dir': str(service), 'allow_stopped_queue_edit': True}
    return Case(options, runner, ANN, BOB, trees=[q],
                read_only=lambda argv: program(argv) in ('svstat', 'pgrep'))


# ------------------------------------------------------------------------------ accounts
def _copy(src, dst):
    """A compile step (makeuserdb, qmail-newu) that rebuilds ``dst`` from ``src``."""
    def tool(_argv, _data):
        shutil.copyfile(str(src), str(dst) + '.tmp')
        os.replace(str(dst) + '.tmp', str(dst))
        return 0
    return tool


def courier_userdb(tmp):
    homes = tmp / 'vmail'
    for user in ('ann', 'bob', 'joann', 'evil-ann'):
        t_accounts.home(homes / user)
    etc = tmp / 'etc' / 'courier'
    t_accounts.write(etc / 'userdb', t_accounts.USERDB.replace(b'HOME', str(homes).encode()), 0o600)
    t_accounts.write(etc / 'userdb.dat', b'compiled', 0o644)
    os.utime(str(etc / 'userdb'), (1000000000, 1000000000))
    runner = FakeRunner({'makeuserdb': _copy(etc / 'userdb', etc / 'userdb.dat')}, bindir='/usr/sbin')
    options = {'userdb': str(etc / 'userdb'), 'roots': [str(homes)]}
    return Case(options, runner, ANN, {'addresses': ['joann@example.org']}, trees=[homes, etc],
                changes_with={'makeuserdb'})


def qmail_assign(tmp):
    homes = tmp / 'home'
    for user in ('ann', 'joann', 'bob', 'vdom/carol'):
        t_accounts.home(homes / user)
    q = tmp / 'qmail'
    t_accounts.write(q / 'users' / 'assign', t_accounts.ASSIGN.replace(b'HOME', str(homes).encode()), 0o644)
    t_accounts.write(q / 'users' / 'cdb', b'cdb')
    t_accounts.write(q / 'control' / 'locals', b'example.org\nlocalhost\n')
    os.utime(str(q / 'users' / 'assign'), (1000000000, 1000000000))
    t_accounts.write(q / 'bin' / 'qmail-newu', b'#!/bin/sh\n', 0o755)
    runner = FakeRunner({'qmail-newu': _copy(q / 'users' / 'assign', q / 'users' / 'cdb')})
    options = {'qmail_dir': str(q), 'roots': [str(homes)]}
    return Case(options, runner, {'logins': ['ann']}, {'logins': ['joann']}, trees=[homes, q],
                changes_with={'qmail-newu'})


def vpopmail(tmp):
    vdir = tmp / 'vpopmail'
    accounts = {}
    for addr in ('ann@example.org', 'joann@example.org', 'bob@example.org'):
        user, dom = addr.split('@')
        t_accounts.home(vdir / 'domains' / dom / user)
        accounts[addr] = str(vdir / 'domains' / dom / user)
    for tool in ('vuserinfo', 'vdeluser'):
        t_accounts.write(vdir / 'bin' / tool, b'#!/bin/sh\n', 0o755)
    runner = t_accounts.FakeVpopmail(str(vdir), accounts)
    return Case({'vpopmail_dir': str(vdir)}, runner, ANN, {'addresses': ['joann@example.org']}, trees=[vdir],
                state=lambda: sorted(accounts.items()), read_only=lambda argv: program(argv) == 'vuserinfo',
                changes_with={'vdeluser'})


def system_accounts(tmp):
    etc = tmp / 'etc'
    etc.mkdir()
    (etc / 'passwd').write_text(t_system.PASSWD)
    (etc / 'group').write_text(t_system.GROUP)
    spool = tmp / 'spool'
    spool.mkdir()
    for name, uid in (('ann', 1001), ('joann', 1002)):
        (spool / name).write_bytes(b'From someone\nSubject: x\n\nmail of %s\n' % name.encode())
        os.chown(str(spool / name), uid, 8)
        os.chmod(str(spool / name), 0o600)
    options = {'enabled': True, 'passwd_file': str(etc / 'passwd'), 'group_file': str(etc / 'group'),
               'mail_spool': str(spool)}
    return Case(options, t_system.shadow_runner(str(etc / 'passwd')), {'logins': ['ann']}, {'logins': ['joann']},
                trees=[etc, spool], changes_with={'usermod', 'loginctl', 'pkill', 'userdel'})


# ------------------------------------------------------------------------------ webmail, antispam
def horde_sql(tmp):
    top = tmp / 'horde'
    top.mkdir()
    db = str(top / 'horde.db')
    t_horde.seed(db)
    (top / 'conf.php').write_text("<?php\n$conf['sql']['database'] = '%s';\n$conf['sql']['phptype'] = 'sqlite';\n" % db)
    t_accounts.write(top / 'horde-remove-user-data', b'#!/bin/sh\n', 0o755)
    tool = t_horde.fake_remove_user_data(db)

    def remove_user_data(argv, data):
        # as on bookworm: kronolith fails (exit 1) after the other applications are done
        rc, out, err = tool(argv, data)
        return 0 if rc == 1 else rc, out, err

    runner = FakeRunner({'horde-remove-user-data': remove_user_data})
    options = {'conf_php': str(top / 'conf.php'), 'remove_user_data': str(top / 'horde-remove-user-data')}
    return Case(options, runner, ANN, {'addresses': ['joann@example.org']}, trees=[top],
                changes_with={'horde-remove-user-data'})


def klms_backup(tmp):
    tool = tmp / 'klms' / 'klms-control'
    t_accounts.write(tool, b'#!/bin/sh\n', 0o755)
    options = {'klms_control': str(tool), 'klms_dirs': [], 'request_id': 'REQ-2025-0042', 'subject_hmac': HMAC}
    return Case(options, FakeRunner(), dict(ANN, ips=['192.0.2.7']), BOB, trees=[tool.parent], manual_only=True)


# ------------------------------------------------------------------------------ logs
LOG_LINES = [
    b'Nov 23 10:00:01 mx dovecot: imap-login: Login: user=<ann@example.org>, rip=192.0.2.7',
    b'Nov 23 10:00:02 mx dovecot: imap-login: Login: user=<joann@example.org>, rip=198.51.100.23',
    b'Nov 23 10:00:03 mx postfix/smtp[11]: to=<ann+news@example.org>, status=sent',
    b'Nov 23 10:00:04 mx postfix/qmgr[9]: 4711ABC: removed',
    b'Nov 23 10:00:05 mx courierpop3login: LOGIN, user=joann@example.org, ip=[198.51.100.23]',
]


def logs(tmp):
    log = tmp / 'log'
    log.mkdir()
    (log / 'mail.log').write_bytes(b'\n'.join(LOG_LINES[::2]) + b'\n')
    (log / 'mail.log.1.gz').write_bytes(gzip.compress(b'\n'.join(LOG_LINES[1::2]) + b'\n'))
    for name in ('mail.log', 'mail.log.1.gz'):
        os.chmod(str(log / name), 0o640)
    subject = dict(ANN, ips=['192.0.2.7'])
    other = {'addresses': ['joann@example.org'], 'ips': ['198.51.100.23']}
    return Case({'paths': [str(log / 'mail.log*')]}, FakeRunner(), subject, other, trees=[log])


JOURNAL_MESSAGES = [
    b'imap-login: Login: user=<ann@example.org>, method=PLAIN, rip=192.0.2.7',
    b'imap-login: Login: user=<joann@example.org>, method=PLAIN, rip=198.51.100.23',
    b'lda(ann@example.org): msgid=<1@x>: saved mail to INBOX',
    b'smtp: to=<carol@example.net>, status=sent',
    b'imap(joann@example.org): Logged out in=10 out=200',
]


def journal(tmp):
    """Real journal files (systemd-journal-remote writes them, journalctl reads them);
    ``journalctl --rotate`` and ``--sync`` are simulated so this host's journald is never
    asked (test_store_journal_rewrite.Spy)."""
    if t_journal.REMOTE is None or t_journal.JOURNALCTL is None:
        return None
    root = tmp / 'journal'
    stream = b''.join(t_journal.entry(i, JOURNAL_MESSAGES[i % len(JOURNAL_MESSAGES)]) for i in range(40))
    t_journal.make_journal(root / t_journal.MACHINE / t_journal.ARCHIVED, stream)
    other = t_journal.archived_name(2)
    t_journal.make_journal(root / t_journal.MACHINE / other,
                           b''.join(t_journal.entry(100 + i, JOURNAL_MESSAGES[1]) for i in range(5)))
    options = {'directories': [str(root)], 'args': ['--directory=' + str(root)]}

    def read_only(argv):
        # reads (-o short-iso, -o export, --header) and --sync (journald writes out what it
        # holds: simulated here); never --rotate and never systemd-journal-remote
        return program(argv) == 'journalctl' and not any(a in ('--rotate', '--vacuum-time', '--flush') for a in argv)

    # the entries' fields (cursors, sequence numbers) change when a file is rewritten: the
    # other person's lines are compared, as journalctl shows them
    return Case(options, t_journal.Spy(), dict(ANN, ips=['192.0.2.7']),
                {'addresses': ['joann@example.org'], 'ips': ['198.51.100.23']}, trees=[root],
                read_only=read_only, changes_with={'systemd-journal-remote'}, other_kinds=('journal',))


CASES = {
    'dovecot': dovecot,
    'maildir': maildir,
    'courier_queue': courier_queue,
    'qmail_queue': qmail_queue,
    'courier_userdb': courier_userdb,
    'qmail_assign': qmail_assign,
    'vpopmail': vpopmail,
    'system_accounts': system_accounts,
    'horde_sql': horde_sql,
    'klms_backup': klms_backup,
    'logs': logs,
    'journal': journal,
}
