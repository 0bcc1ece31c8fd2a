# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 12: with the plus separator set, an account whose name extends the subject's
(``zoequill+work@`` for ``zoequill@`` with ``+``, ``zoequill-marie@`` with ``-``) has mail and
log lines that read as the subject's tags. subject_find, subject_export and subject_erase
(check mode too) refuse the request on such a host, before anything is read or written, with
an error that names no account; with ``plus_separator: ''`` the request runs and the other
account keeps every entry, file and log line."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import request as pipeline
from ansible_collections.mailprivacy.gdpr.plugins.module_utils import store_registry
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import Store, StoreError
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject
from ansible_collections.mailprivacy.gdpr.plugins.modules import subject_erase, subject_export, subject_find

from module_main import run_main
from test_subject_erase import KEY, SUBJECT_A, USERS, build_host, snapshot, store_options

STORES = ['maildir', 'courier_userdb', 'qmail_assign', 'logs']
OTHER = {'+': 'zoequill+work', '-': 'zoequill-marie'}


def add_extended_account(root, sep):
    """An account of its own whose name extends A's address: userdb entry, Maildir, a log line."""
    root = str(root)
    local = OTHER[sep]
    addr = '%s@example.org' % local
    home = os.path.join(root, 'home', local)
    md = os.path.join(home, 'Maildir')
    for sub in ('cur', 'new', 'tmp'):
        os.makedirs(os.path.join(md, sub))
    with open(os.path.join(md, 'cur', '1700000009.M9P9.mx:2,S'), 'wb') as handle:
        handle.write(b'Subject: the other account\n\nnot the subject\n')
    with open(os.path.join(root, 'etc', 'userdb'), 'ab') as handle:
        handle.write(('%s\tuid=1301|gid=1301|home=%s|mail=%s\n' % (addr, home, md)).encode('ascii'))
    with open(os.path.join(root, 'log', 'mail.log'), 'ab') as handle:
        handle.write(('Nov 23 10:00:07 mx qmail: delivery 13: success: %s s-x-1.\n' % addr).encode('ascii'))
    return addr


run = run_main


def args_for(root, sep, **extra):
    args = dict(SUBJECT_A, hmac_key=KEY, stores=list(STORES), store_options=store_options(root),
                request_id='req-ext-1', plus_separator=sep)
    args.update(extra)
    return args


def assert_refused(result, raw, sep):
    assert result['failed'] is True and result.get('changed') in (None, False)
    msg = result['msg']
    assert msg.startswith('refusing: an account whose name extends') and 'plus separator' in msg
    assert "plus_separator ''" in msg and 'nothing was touched' in msg
    # the userdb entry and the Maildir user directory of the other account
    assert '(2 account(s) in store(s) courier_userdb, maildir)' in msg
    result.pop('invocation', None)
    own = json.dumps(result)
    for value in ('zoequill', 'zquill7', OTHER[sep], 'example.org', '192.0.2.77'):
        assert value not in own and value not in msg
    assert 'stores' not in result


@pytest.fixture(params=['+', '-'])
def host(request, tmp_path):
    root = tmp_path / 'host'
    build_host(root)
    add_extended_account(root, request.param)
    return root, request.param


@pytest.mark.parametrize('module, extra, check_mode', [
    (subject_find, {}, False),
    (subject_find, {}, True),
    (subject_export, {}, False),
    (subject_export, {}, True),
    (subject_erase, {'confirm': True}, False),
    (subject_erase, {}, True),                  # the erase preview
])
def test_refused_with_nothing_touched(host, tmp_path, capsys, module, extra, check_mode):
    root, sep = host
    before = snapshot(root)
    dest = tmp_path / 'exports'
    result, raw = run(module, capsys, args_for(root, sep, dest=str(dest), **extra) if module is subject_export
                      else args_for(root, sep, **extra), check_mode)
    assert_refused(result, raw, sep)
    assert snapshot(root) == before
    assert not dest.exists()
    assert not (root / 'etc' / '.lock.userdb').exists()


def test_logs_only_request_is_refused_too(host, capsys):
    """The accounts of the host matter even when the request reads only the logs: the log
    line of the other account would be counted and exported as the subject's."""
    root, sep = host
    before = snapshot(root)
    opts = store_options(root)
    result, raw = run(subject_find, capsys, args_for(root, sep, stores=['logs'], store_options=opts))
    assert_refused(result, raw, sep)
    assert snapshot(root) == before


def test_refused_then_run_without_separator_keeps_the_other_account(host, capsys):
    """The remedy the error names: the same request with plus_separator '' runs, and the
    other account keeps its entry, Maildir and log line."""
    root, sep = host
    other = OTHER[sep]
    before = snapshot(root)
    result, raw = run(subject_erase, capsys, args_for(root, sep, confirm=True))
    assert_refused(result, raw, sep)
    assert snapshot(root) == before
    result, raw = run(subject_erase, capsys, args_for(root, '', confirm=True))
    assert not result.get('failed'), result.get('msg')
    stores = result['stores']
    assert stores['courier_userdb']['erased'] == 1 and stores['maildir']['erased'] == 4
    digests, texts = snapshot(root)
    # the other account's entry, Maildir and log line are all still there, byte for byte
    assert [l for l in texts['etc/userdb'] if l.startswith(other + '@')] == \
        [l for l in before[1]['etc/userdb'] if l.startswith(other + '@')] != []
    for rel, digest in before[0].items():
        if rel.startswith('home/%s/' % other):
            assert digests[rel] == digest
    if stores['logs'].get('error') is None:
        assert [l for l in texts['log/mail.log'] if other in l] == [l for l in before[1]['log/mail.log'] if other in l]
    assert 'zoequill' not in json.dumps(dict((k, v) for k, v in result.items() if k != 'invocation'))


# ------------------------------------------------------------------------------ the check itself
class _Accounts(Store):
    name = 'maildir'
    units = 'messages'
    answer = 0
    failure = None
    opened = []

    def __init__(self, options=None, runner=None):
        super(_Accounts, self).__init__(options, runner)
        type(self).opened.append(self.name)

    def extended_accounts(self, subject):
        if self.failure is not None:
            raise self.failure
        return self.answer


class _Broken(_Accounts):
    name = 'courier_userdb'
    units = 'entries'
    failure = OSError(13, 'Permission denied', '/home/zoequill+work')


class _NoAccounts(Store):
    name = 'logs'
    units = 'lines'

    def __init__(self, options=None, runner=None):
        raise AssertionError('a store without accounts is never opened for the check')


def test_check_on_a_host_without_extended_accounts(tmp_path):
    root = tmp_path / 'host'
    build_host(root)
    subject = Subject.from_params(plus_separator='-', **SUBJECT_A)
    counts = pipeline.check_extended_accounts(subject, store_registry.get_stores(STORES), store_options(root), {})
    assert counts['courier_userdb'] == counts['qmail_assign'] == counts['maildir'] == 0
    assert 'logs' not in counts


def test_check_asks_every_account_store_of_the_registry(monkeypatch):
    monkeypatch.setattr(store_registry, 'STORES', [_NoAccounts, _Accounts, _Broken])
    subject = Subject.from_params(**SUBJECT_A)
    # a broken store left out of the request is skipped; the request's stores must answer
    _Accounts.opened = []
    assert pipeline.check_extended_accounts(subject, [_NoAccounts], {}, {}) == {'maildir': 0}
    assert _Accounts.opened == ['maildir', 'courier_userdb']
    with pytest.raises(StoreError) as exc:
        pipeline.check_extended_accounts(subject, [_Broken], {}, {})
    msg = str(exc.value)
    assert msg.startswith('refusing: cannot tell whether') and 'courier_userdb (unexpected PermissionError (errno 13))' in msg
    assert 'zoequill' not in msg
    # an account found in a store outside the request refuses it
    monkeypatch.setattr(_Accounts, 'answer', 2)
    with pytest.raises(StoreError) as exc:
        pipeline.check_extended_accounts(subject, [_NoAccounts], {}, {})
    assert '(2 account(s) in store(s) maildir)' in str(exc.value)
    # without a separator nothing is asked
    _Accounts.opened = []
    plain = Subject.from_params(plus_separator='', **SUBJECT_A)
    assert pipeline.check_extended_accounts(plain, [_Accounts, _Broken], {}, {}) == {}
    assert _Accounts.opened == []


def test_users_fixture_has_no_extended_names():
    # the shared fixture's look-alike (jo.zoequill, zquill70) extends nothing with + - or =
    subject = Subject.from_params(**SUBJECT_A)
    for uid in ('b', 'l'):
        for name in USERS[uid]['addresses'] + USERS[uid]['logins']:
            assert not subject.extends_account(name)
