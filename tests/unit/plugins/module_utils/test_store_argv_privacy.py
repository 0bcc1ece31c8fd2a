# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""No identifier of the subject on a command line.

Every local user can read the command line of our child processes (/proc/PID/cmdline,
``ps``), so a store gives a command the subject's address, login, uid or customer domain on
stdin or not at all. One host holds data of the subject in every store of the registry; a
recording runner answers every tool as the stores' own unit tests do (their fakes are reused)
and records each argv; locate, export and erase (preview and real) run over all stores.

The tools that take an identifier only as an argument are the known exceptions, listed here
and in docs/erasure.md ("Hardening the hosts"), where the mitigation (``hidepid=2``) is."""

from __future__ import annotations

import os
import re

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import run_stores
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_registry import get_stores
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject

# the shared fake runner, the stores' own tool fakes and fixture data (sibling test modules)
from fake_runner import FakeRunner
import test_store_accounts as t_accounts
import test_store_dovecot as t_dovecot
import test_store_horde as t_horde
import test_store_maildir as t_maildir
import test_store_system_accounts as t_system

STORES = get_stores()  # every store of the registry (the service catalog), in erase order

# tool -> why it gets the identifier as an argument (docs/erasure.md lists the same tools)
KNOWN_EXCEPTIONS = {
    'vuserinfo': 'vpopmail: the account (or the customer domain with -D) is an argument only',
    'vdeluser': 'vpopmail: the account is an argument only',
    'usermod': 'shadow: the login is an argument only (lock before deletion)',
    'userdel': 'shadow: the login is an argument only',
    'loginctl': 'systemd: terminate-user takes the uid or login as an argument only',
    'pkill': 'procps: -u takes the uid as an argument only',
}

ADDRESS = 'ann@example.org'
LOGIN = 'ann'
UID = '1001'            # ann's uid in test_store_system_accounts.PASSWD
DOMAIN = 'example.org'

JOURNAL_LINES = (b'2025-01-01T10:00:00+0000 mx1 dovecot[1]: imap-login: Login: user=<ann@example.org>\n'
                 b'2025-01-01T10:00:01+0000 mx1 dovecot[1]: imap-login: Login: user=<bob@example.org>\n')
JOURNAL_EXPORT = (b'__CURSOR=s=1\nMESSAGE=Login: user=<ann@example.org>\n\n'
                  b'__CURSOR=s=2\nMESSAGE=Login: user=<bob@example.org>\n\n')


TOOLS = ('doveadm', 'doveconf', 'makeuserdb', 'cancelmsg', 'svstat', 'pgrep', 'usermod', 'userdel',
         'pkill', 'loginctl', 'journalctl')


def recording_runner(host):
    """The fake runner answering every tool of every store as the stores' own unit tests do
    (their tool fakes are reused); every other command exits 1. ``doveadm``: the Dovecot fake."""
    doveadm = t_dovecot.FakeDoveadm({
        ADDRESS: {'home': '/var/vmail/example.org/ann', 'boxes': t_dovecot.mailboxes('ann')},
        'bob@example.org': {'home': '/var/vmail/example.org/bob', 'boxes': t_dovecot.mailboxes('bob')},
    }, sessions=[(ADDRESS, 4242), ('bob@example.org', 4343)])
    vpopmail = t_accounts.FakeVpopmail(host['vpopmail_dir'], host['vpopmail_accounts'])
    horde_tool = t_horde.fake_remove_user_data(host['horde_db'])

    def horde(argv, data):
        rc, out, err = horde_tool(argv, data)
        return 0 if rc == 1 else rc, out, err

    tools = dict(t_system.shadow_runner(host['passwd_file']).tools)
    tools.update({
        'doveadm': doveadm.answer, 'doveconf': doveadm.answer,
        'vuserinfo': vpopmail.vuserinfo, 'vdeluser': vpopmail.vdeluser,
        'horde-remove-user-data': horde,
        'svstat': lambda argv, _data: ('%s: down 5 seconds, normally up\n' % argv[1]).encode(),
        'makeuserdb': 0, 'qmail-newu': 0, 'cancelmsg': 0,
    })
    # and the tools the host fixture installs under tmp_path
    installed = set(TOOLS) | {'vuserinfo', 'vdeluser', 'horde-remove-user-data', 'qmail-newu', 'klms-control'}
    runner = FakeRunner(tools, streams={'journalctl': JOURNAL_LINES,
                                        ('journalctl', '--no-pager', '--quiet', '--output=export'): JOURNAL_EXPORT},
                        default=1, installed=installed, on_signal=doveadm.end_session)
    runner.doveadm = doveadm
    return runner


def command_lines(runner):
    """Every command line the runner was given, as strings."""
    return [[str(a) for a in argv] for argv in runner.calls]


@pytest.fixture
def host(tmp_path):
    """One host with data of ann@example.org (login ann, uid 1001) in every store."""
    w = t_accounts.write
    # maildir
    for user in ('ann', 'bob'):
        t_maildir.make_maildir(str(tmp_path / 'vmail' / DOMAIN / user), user.encode(), extra=False)
    # Courier queue: ann sends to bob; bob sends to ann only (cancelled)
    msgs = tmp_path / 'msgs'
    w(msgs / '1700' / 'C101', b'sann@example.org\nrbob@example.net\nM0000065.1.1\n')
    w(msgs / '1700' / 'D101', b'Subject: one\n\nfrom ann\n')
    w(msgs / '1700' / 'C102', b'sbob@example.net\nrann@example.org\n')
    w(msgs / '1700' / 'D102', b'Subject: two\n\nto ann\n')
    # qmail queue: ann sends (qmail-send is down: svstat, pgrep)
    queue = tmp_path / 'queue'
    w(queue / 'mess' / '1' / '1001', b'Subject: one\n\nfrom ann\n')
    w(queue / 'info' / '1' / '1001', b'Fann@example.org\0')
    w(queue / 'remote' / '1' / '1001', b'Tbob@example.net\0')
    w(queue / 'lock' / 'sendmutex', b'')
    (tmp_path / 'service' / 'qmail-send').mkdir(parents=True)
    # Courier userdb and qmail users/assign (homes under roots)
    homes = tmp_path / 'homes'
    for user in ('ann', 'bob', 'joann', 'evil-ann', 'vdom/carol'):
        t_accounts.home(homes / user)
    w(tmp_path / 'courier' / 'userdb', t_accounts.USERDB.replace(b'HOME', str(homes).encode()), 0o600)
    w(tmp_path / 'courier' / 'userdb.dat', b'compiled')
    w(tmp_path / 'qmail' / 'users' / 'assign', t_accounts.ASSIGN.replace(b'HOME', str(homes).encode()))
    w(tmp_path / 'qmail' / 'users' / 'cdb', b'cdb')
    w(tmp_path / 'qmail' / 'control' / 'locals', b'example.org\nlocalhost\n')
    w(tmp_path / 'qmail' / 'bin' / 'qmail-newu', b'#!/bin/sh\n', 0o755)
    # vpopmail
    vdir = tmp_path / 'vpopmail'
    accounts = {}
    for addr in (ADDRESS, 'bob@example.org'):
        user, dom = addr.split('@')
        t_accounts.home(vdir / 'domains' / dom / user)
        accounts[addr] = str(vdir / 'domains' / dom / user)
    for tool in ('vuserinfo', 'vdeluser'):
        w(vdir / 'bin' / tool, b'#!/bin/sh\n', 0o755)
    # system accounts
    (tmp_path / 'passwd').write_text(t_system.PASSWD)
    (tmp_path / 'group').write_text(t_system.GROUP)
    (tmp_path / 'spool').mkdir()
    # Horde (SQLite) with Horde's tool
    horde_db = str(tmp_path / 'horde.db')
    t_horde.seed(horde_db)
    (tmp_path / 'conf.php').write_text("<?php\n$conf['sql']['database'] = '%s';\n"
                                       "$conf['sql']['phptype'] = 'sqlite';\n" % horde_db)
    w(tmp_path / 'horde-remove-user-data', b'#!/bin/sh\n', 0o755)
    # KLMS (a manual step only) and logs
    w(tmp_path / 'klms' / 'klms-control', b'#!/bin/sh\n', 0o755)
    mail_log = (b'Nov 23 10:00:01 mx1 postfix/smtp[11]: to=<ann@example.org>, status=sent\n'
                b'Nov 23 10:00:02 mx1 postfix/smtp[11]: to=<bob@example.org>, status=sent\n')
    w(tmp_path / 'log' / 'mail.log', mail_log)
    (tmp_path / 'journal').mkdir()
    (tmp_path / 'bundle').mkdir()
    return {
        'tmp': tmp_path, 'vpopmail_dir': str(vdir), 'vpopmail_accounts': accounts,
        'passwd_file': str(tmp_path / 'passwd'), 'horde_db': horde_db,
        'options': {
            'maildir': {'paths': [str(tmp_path / 'vmail' / '%d' / '%n' / 'Maildir')], 'extra_paths': [],
                        'roots': [str(tmp_path / 'vmail')]},
            'courier_queue': {'msgs_dir': str(msgs)},
            'qmail_queue': {'queue_dir': str(queue), 'allow_stopped_queue_edit': True,
                            'service_dir': str(tmp_path / 'service' / 'qmail-send')},
            'courier_userdb': {'userdb': str(tmp_path / 'courier' / 'userdb'), 'roots': [str(homes)]},
            'qmail_assign': {'qmail_dir': str(tmp_path / 'qmail'), 'roots': [str(homes)]},
            'vpopmail': {'vpopmail_dir': str(vdir)},
            'system_accounts': {'enabled': True, 'passwd_file': str(tmp_path / 'passwd'),
                                'group_file': str(tmp_path / 'group'), 'mail_spool': str(tmp_path / 'spool')},
            'horde_sql': {'conf_php': str(tmp_path / 'conf.php'),
                          'remove_user_data': str(tmp_path / 'horde-remove-user-data')},
            'klms_backup': {'klms_control': str(tmp_path / 'klms' / 'klms-control'), 'klms_dirs': []},
            'logs': {'paths': [str(tmp_path / 'log' / 'mail.log*')]},
            'journal': {'directories': [str(tmp_path / 'journal')], 'rewrite': False},
        },
    }


def leaks(argv, subject):
    """The identifiers of ``subject`` that ``argv`` carries: an address or domain anywhere in
    an argument (any case), a login or uid as an argument or as a word of one."""
    found = set()
    needles = [a.lower() for a in subject.addresses] + ([subject.domain.lower()] if subject.domain else [])
    words = set(subject.logins) | {UID}
    for arg in argv[1:]:
        low = arg.lower()
        found.update(n for n in needles if n in low)
        found.update(w for w in words if w == arg or w in re.split(r'[^A-Za-z0-9_.-]+', arg))
    return found


def run_everything(host, subject):
    runner = recording_runner(host)
    context = {'request_id': 'REQ-1', 'subject_hmac': 'a3' * 32}
    outcome = {}
    for op, kwargs in (('locate', {}), ('export', {'bundle_dir': str(host['tmp'] / 'bundle')}),
                       ('erase', {'check_mode': True}), ('erase', {'check_mode': False})):
        results, failed = run_stores(STORES, op, subject, host['options'], runner=runner, context=context, **kwargs)
        outcome[(op, kwargs.get('check_mode'))] = (results, failed)
    return runner, outcome


def test_no_identifier_on_any_command_line_but_the_known_exceptions(host):
    subject = Subject.from_params(addresses=[ADDRESS], logins=[LOGIN])
    runner, outcome = run_everything(host, subject)
    # every store ran every operation, and the stores that run commands had data to act on
    for (op, _mode), (results, failed) in outcome.items():
        assert failed == [], (op, dict((n, results[n].get('error')) for n in failed))
        assert all(results[cls.name]['available'] for cls in STORES), op
    located = outcome[('locate', None)][0]
    for name in ('dovecot', 'courier_queue', 'qmail_queue', 'courier_userdb', 'qmail_assign', 'vpopmail',
                 'system_accounts', 'horde_sql', 'maildir', 'logs', 'journal'):
        assert located[name]['found'] > 0, name
    tools = set(os.path.basename(a[0]) for a in command_lines(runner))
    assert {'doveadm', 'horde-remove-user-data', 'makeuserdb', 'qmail-newu', 'cancelmsg', 'journalctl'} <= tools
    assert runner.signals == [(4242, 15)]       # ann's session ended, bob's kept

    offenders = {}
    for argv in command_lines(runner):
        found = leaks(argv, subject)
        if found:
            offenders.setdefault(os.path.basename(argv[0]), set()).update(found)
    unexpected = dict((tool, ids) for tool, ids in offenders.items() if tool not in KNOWN_EXCEPTIONS)
    assert unexpected == {}
    # the exceptions are real (each one still carries an identifier), so the list stays exact
    assert set(offenders) == set(KNOWN_EXCEPTIONS)


def test_no_customer_domain_on_any_command_line_but_the_known_exceptions(host):
    subject = Subject.from_params(domain=DOMAIN, logins=[LOGIN])
    runner, outcome = run_everything(host, subject)
    for (op, _mode), (results, failed) in outcome.items():
        assert failed == [], (op, dict((n, results[n].get('error')) for n in failed))
    located = outcome[('locate', None)][0]
    assert located['dovecot']['found'] > 0 and located['vpopmail']['found'] > 0
    # Dovecot lists its userdb and matches *@DOMAIN itself (doveadm user '*@DOMAIN' before)
    assert ['/usr/bin/doveadm', 'user', '*'] in command_lines(runner)
    offenders = set(os.path.basename(argv[0]) for argv in command_lines(runner) if leaks(argv, subject))
    assert 'vuserinfo' in offenders and offenders <= set(KNOWN_EXCEPTIONS)
