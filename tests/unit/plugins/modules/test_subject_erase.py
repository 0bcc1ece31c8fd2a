# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""subject_erase run through AnsibleModule on a fixture host: Maildirs, a Courier userdb, a
qmail users/assign and logs of two users (A and B) plus a look-alike of A. Erasing A removes
every item of A, leaves B and the look-alike byte for byte, a second run changes nothing, check
mode touches nothing, a missing confirmation is refused, and no identifier is printed. After the
erasure the independent check (module_utils/proof_check.py) counts what a weak matcher left.

``build_host`` and ``snapshot`` are shared with tests/reliability/test_erase_sigkill.py and
tests/e2e/test_erase_local.py."""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import re

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import request as pipeline
from ansible_collections.mailprivacy.gdpr.plugins.module_utils import store_logs
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import NOT_SUPPORTED, Store, StoreError
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject
from ansible_collections.mailprivacy.gdpr.plugins.modules import subject_erase

from fake_runner import FakeRunner
from module_main import run_main

KEY = 'test-hmac-key-0123456789'
DOMAIN = 'example.org'
USERS = {
    # A is erased; B and the look-alike L (whose name contains A's) must stay byte for byte
    'a': {'addresses': ['zoequill@example.org'], 'logins': ['zquill7'], 'ips': ['192.0.2.77'], 'uid': 1201},
    'b': {'addresses': ['maxumber@example.org'], 'logins': ['mumber8'], 'ips': ['198.51.100.23'], 'uid': 1202},
    'l': {'addresses': ['jo.zoequill@example.org'], 'logins': ['zquill70'], 'ips': ['192.0.2.177'], 'uid': 1203},
}
SUBJECT_A = dict((k, USERS['a'][k]) for k in ('addresses', 'logins', 'ips'))
FORBIDDEN = ['zoequill', 'zquill7', '192.0.2.77', 'maxumber', 'mumber8', '198.51.100.23']
STORES = ['maildir', 'courier_userdb', 'qmail_assign', 'logs']
MASKS = ['VALUE_SPECIFIED_IN_NO_LOG_PARAMETER', '********']


# ------------------------------------------------------------------------------ fixture host
def _write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as handle:
        handle.write(data)
    os.chmod(path, mode)


def messages(uid):
    addr = USERS[uid]['addresses'][0]
    out = []
    for i, (folder, state, name) in enumerate([('', 'new', '1700000001.M1P1.mx'),
                                               ('', 'cur', '1700000002.M2P2.mx:2,S'),
                                               ('.Trash', 'cur', '1700000003.M3P3.mx:2,ST'),
                                               ('.Work', 'cur', '1700000004.M4P4.mx:2,')], 1):
        body = ('From: Shop <shop@example.net>\nTo: <%s>\nSubject: order %s-%d\n\nOrder %s-%d shipped.\n'
                % (addr, uid, i, uid, i)).encode('ascii') * (1 + 200 * (i == 4))
        out.append((folder, state, name, body))
    return out


def log_lines():
    """[(line, owner)]: owner 'a', 'b', 'l' or None."""
    out = []
    for uid in ('a', 'b', 'l'):
        user = USERS[uid]
        addr, login, ip = user['addresses'][0], user['logins'][0], user['ips'][0]
        out += [
            ('Nov 23 10:00:01 mx dovecot: imap-login: Login: user=<%s>, rip=%s s-%s-1' % (addr, ip, uid), uid),
            ('Nov 23 10:00:02 mx courierpop3login: LOGIN, user=%s, ip=[%s] s-%s-2' % (login, ip, uid), uid),
            ('Nov 23 10:00:03 mx qmail: delivery 12: success: %s s-%s-3.' % (addr, uid), uid),
        ]
    out.append(('Nov 23 10:00:09 mx postfix/qmgr[9]: 4711ABC: removed s-n-1', None))
    return out


def build_host(root):
    """A fixture host under ``root``; returns the module's store_options."""
    root = str(root)
    home = os.path.join(root, 'home')
    assign = ['=%s:%s:%d:%d:%s:::\n' % (
        USERS[u]['logins'][0], USERS[u]['logins'][0], USERS[u]['uid'], USERS[u]['uid'],
        os.path.join(home, USERS[u]['logins'][0])) for u in ('a', 'b', 'l')]
    userdb = ['# Courier userdb\n'] + [
        '%s\tuid=%d|gid=%d|home=%s|mail=%s|systempw=$1$x$y\n' % (
            USERS[u]['addresses'][0], USERS[u]['uid'], USERS[u]['uid'], os.path.join(home, USERS[u]['logins'][0]),
            os.path.join(home, USERS[u]['logins'][0], 'Maildir')) for u in ('a', 'b', 'l')]
    for uid in ('a', 'b', 'l'):
        maildir = os.path.join(home, USERS[uid]['logins'][0], 'Maildir')
        for folder, state, name, body in messages(uid):
            for sub in ('cur', 'new', 'tmp'):
                os.makedirs(os.path.join(maildir, folder, sub), exist_ok=True)
            _write(os.path.join(maildir, folder, state, name), body, 0o600)
        _write(os.path.join(home, USERS[uid]['logins'][0], '.profile'), b'# profile\n', 0o600)
    _write(os.path.join(root, 'qmail', 'users', 'assign'), (''.join(assign) + '.\n').encode('ascii'), 0o644)
    # a qmail host with users/assign has it compiled (qmail reads users/cdb only)
    _write(os.path.join(root, 'qmail', 'users', 'cdb'), (''.join(assign) + '.\n').encode('ascii'), 0o644)
    _write(os.path.join(root, 'qmail', 'control', 'locals'), b'example.org\n')
    _write(os.path.join(root, 'qmail', 'bin', 'qmail-newu'),
           b'#!/bin/sh\nd=$(dirname "$0")/../users\ncp "$d/assign" "$d/cdb.tmp" && mv "$d/cdb.tmp" "$d/cdb"\n', 0o755)
    _write(os.path.join(root, 'etc', 'userdb'), ''.join(userdb).encode('ascii'), 0o600)
    # a Courier host has run makeuserdb: the database exists before any erasure
    _write(os.path.join(root, 'etc', 'userdb.dat'), ''.join(userdb).encode('ascii'), 0o600)
    _write(os.path.join(root, 'bin', 'makeuserdb'),
           b'#!/bin/sh\nd=$(dirname "$0")/../etc\ncp "$d/userdb" "$d/userdb.tmp" && mv "$d/userdb.tmp" "$d/userdb.dat"\n',
           0o755)
    lines = log_lines()
    live = [line for i, (line, _o) in enumerate(lines) if i % 2 == 0]
    rotated = [line for i, (line, _o) in enumerate(lines) if i % 2 == 1]
    _write(os.path.join(root, 'log', 'mail.log'), ('\n'.join(live) + '\n').encode('ascii'), 0o640)
    _write(os.path.join(root, 'log', 'mail.log.1.gz'), gzip.compress(('\n'.join(rotated) + '\n').encode('ascii')), 0o640)
    return store_options(root)


def store_options(root):
    root = str(root)
    home = os.path.join(root, 'home')
    return {
        'maildir': {'paths': [os.path.join(home, '%n', 'Maildir')], 'roots': [home], 'check_shared_home': False},
        'courier_userdb': {'userdb': os.path.join(root, 'etc', 'userdb'),
                           'makeuserdb': os.path.join(root, 'bin', 'makeuserdb'), 'roots': [home]},
        'qmail_assign': {'qmail_dir': os.path.join(root, 'qmail'), 'roots': [home]},
        'logs': {'paths': [os.path.join(root, 'log', '*')]},
    }


def _read_lines(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as handle:
        return handle.read().decode('ascii').splitlines()


def snapshot(root):
    """{relative path: sha256} of every file and {relative path: lines} of the shared text files."""
    root = str(root)
    digests = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, 'rb') as handle:
                digests[os.path.relpath(path, root)] = hashlib.sha256(handle.read()).hexdigest()
    texts = {}
    for rel in ('qmail/users/assign', 'etc/userdb', 'log/mail.log', 'log/mail.log.1.gz'):
        texts[rel] = _read_lines(os.path.join(root, rel))
    return digests, texts


def owned_by(line, uid):
    user = USERS[uid]
    needles = user['addresses'] + user['ips'] + [':%s:' % user['logins'][0], ' user=%s,' % user['logins'][0]]
    if uid == 'a':
        # the look-alike's values contain A's; only whole tokens belong to A
        return Subject.from_params(**SUBJECT_A).matches(line)
    return any(n in line for n in needles)


def assert_only_a_gone(root, before, logs_erased):
    """Every file of B and L is byte for byte what it was; shared files lost exactly A's lines."""
    digests, texts = snapshot(root)
    a_login = USERS['a']['logins'][0]
    for rel, digest in before[0].items():
        if rel.startswith('home/%s/' % a_login):
            assert rel not in digests, 'a file of the subject is still there'
        elif rel.startswith('home/'):
            assert digests.get(rel) == digest, 'a file of another user changed'
    assert not [r for r in digests if r.startswith('home/%s/' % a_login)]
    assert not [r for r in digests if '.mailprivacy-erasing.' in r]
    for rel in ('qmail/users/assign', 'etc/userdb'):
        assert texts[rel] == [line for line in before[1][rel] if not owned_by(line, 'a')]
    for rel in ('log/mail.log', 'log/mail.log.1.gz'):
        if logs_erased:
            assert texts[rel] == [line for line in before[1][rel] if not owned_by(line, 'a')]
        else:
            assert texts[rel] == before[1][rel]


def log_redaction_available(root):
    """Whether LogStore.erase is wired to the redaction engine yet (issue 6, another helper)."""
    store = store_logs.LogStore(store_options(root)['logs'])
    try:
        store.erase(Subject.from_params(**SUBJECT_A), True)
    except NotImplementedError:
        return False
    return True


# ------------------------------------------------------------------------------ module runs
run = functools.partial(run_main, subject_erase)


def base_args(root, **extra):
    args = dict(SUBJECT_A, hmac_key=KEY, stores=list(STORES), store_options=store_options(root),
                request_id='req-erase-1', confirm=True)
    args.update(extra)
    return args


def assert_no_identifier(raw):
    for value in FORBIDDEN:
        assert value.lower() not in raw.lower(), 'an identifier leaked into the module output'
    result = json.loads(raw)
    result.pop('invocation', None)
    own = json.dumps(result)
    for value in MASKS:
        assert value not in own


@pytest.fixture
def host(tmp_path):
    root = tmp_path / 'host'
    build_host(root)
    return root


def test_erase_removes_the_subject_and_keeps_the_others_byte_for_byte(host, capsys):
    before = snapshot(host)
    logs_ok = log_redaction_available(host)
    result, raw = run(capsys, base_args(host))
    assert_no_identifier(raw)
    stores = result['stores']
    assert result['subject_hmac'] == Subject.from_params(**SUBJECT_A).hmac(KEY)
    assert result['check_mode'] is False and result['changed'] is True
    assert stores['maildir']['before'] == 4 and stores['maildir']['erased'] == 4 and stores['maildir']['after'] == 0
    assert stores['maildir']['detail'].get('trash') == 1
    for name in ('courier_userdb', 'qmail_assign'):
        assert (stores[name]['before'], stores[name]['erased'], stores[name]['after']) == (1, 1, 0), name
    lines_a = len([1 for line, owner in log_lines() if owner == 'a'])
    assert stores['logs']['before'] == lines_a
    if logs_ok:
        assert not result.get('failed') and result['failed_stores'] == []
        assert (stores['logs']['erased'], stores['logs']['after']) == (lines_a, 0)
    else:
        # the log store cannot erase yet: reported as a failed store, the others still erased
        assert result['failed'] is True and result['failed_stores'] == ['logs']
        assert stores['logs']['error'] == NOT_SUPPORTED
        assert stores['logs']['after'] is None
        assert 'logs (erasure is not supported by this store yet)' in result['msg']
    assert result['found'] == 4 + 1 + 1 + lines_a
    assert_only_a_gone(host, before, logs_ok)
    # the compiled databases were rebuilt from the edited sources
    assert (host / 'qmail' / 'users' / 'cdb').read_bytes() == (host / 'qmail' / 'users' / 'assign').read_bytes()
    assert (host / 'etc' / 'userdb.dat').read_bytes() == (host / 'etc' / 'userdb').read_bytes()


def test_second_run_finds_nothing_and_changes_nothing(host, capsys):
    stores = ['maildir', 'courier_userdb', 'qmail_assign'] + (['logs'] if log_redaction_available(host) else [])
    first, _raw = run(capsys, base_args(host, stores=stores))
    assert first['changed'] is True and not first.get('failed')
    after_first = snapshot(host)
    second, raw = run(capsys, base_args(host, stores=stores))
    assert_no_identifier(raw)
    assert second['changed'] is False and not second.get('failed')
    assert second['found'] == 0 and second['erased'] == 0 and second['remaining'] == 0
    assert all(s['before'] == 0 and s['after'] == 0 for s in second['stores'].values())
    assert snapshot(host) == after_first


def test_check_mode_touches_nothing_and_needs_no_confirmation(host, capsys):
    before = snapshot(host)
    stat_before = dict((p, os.stat(os.path.join(str(host), p)).st_mtime_ns) for p in before[0])
    result, raw = run(capsys, base_args(host, confirm=False), check_mode=True)
    assert_no_identifier(raw)
    assert result['check_mode'] is True and result['changed'] is True
    assert result['remaining'] is None
    assert result['stores']['maildir']['erased'] == 4 and result['stores']['maildir']['after'] is None
    assert result['stores']['qmail_assign']['erased'] == 1
    assert snapshot(host) == before
    assert dict((p, os.stat(os.path.join(str(host), p)).st_mtime_ns) for p in before[0]) == stat_before
    assert not (host / 'etc' / '.lock.userdb').exists()


def test_missing_confirmation_is_refused_and_touches_nothing(host, capsys):
    before = snapshot(host)
    args = base_args(host)
    del args['confirm']
    result, raw = run(capsys, args)
    assert_no_identifier(raw)
    assert result['failed'] is True and result['changed'] is False
    assert 'confirm=true' in result['msg'] and 'stores' not in result
    assert snapshot(host) == before
    result, _raw = run(capsys, base_args(host, confirm=False))
    assert result['failed'] is True and snapshot(host) == before


@pytest.mark.parametrize('ident', [
    {'addresses': ['zoequill*@example.org']},
    {'addresses': ['../zoequill@example.org']},
    {'logins': ['zquill7/..']},
    {'logins': ['zq(uill7']},
    {'addresses': ['zoequill@example.org\n']},
    {'addresses': ['']},
    {'addresses': ['z' * 65 + '@example.org']},
])
def test_hostile_identifiers_touch_nothing(host, capsys, ident):
    before = snapshot(host)
    args = base_args(host)
    args.update({'addresses': [], 'logins': [], 'ips': []})
    args.update(ident)
    result, raw = run(capsys, args)
    assert result['failed'] is True and result['msg'].startswith('invalid subject')
    assert 'zoequill' not in result['msg'] and 'zquill7' not in result['msg']
    assert snapshot(host) == before


def test_customer_account_erases_every_user_of_the_domain(tmp_path, capsys):
    root = tmp_path / 'vhost'
    opts = build_host(root)
    # a virtual-domain layout: /var/vmail/<domain>/<local>/Maildir
    vmail = root / 'vmail'
    for uid in ('a', 'b'):
        local = USERS[uid]['addresses'][0].split('@', maxsplit=1)[0]
        for folder, state, name, body in messages(uid):
            for sub in ('cur', 'new', 'tmp'):
                (vmail / DOMAIN / local / 'Maildir' / folder / sub).mkdir(parents=True, exist_ok=True)
            (vmail / DOMAIN / local / 'Maildir' / folder / state / name).write_bytes(body)
    other = vmail / 'andere.example' / 'zoequill' / 'Maildir' / 'cur'
    other.mkdir(parents=True)
    (other / '1.mx:2,').write_bytes(b'Subject: other customer\n\n')
    opts['maildir'] = {'paths': [str(vmail / '%d' / '%n' / 'Maildir')], 'roots': [str(vmail)]}
    args = dict(domain=DOMAIN, hmac_key=KEY, stores=['maildir'], store_options=opts, confirm=True)
    result, raw = run(capsys, args)
    assert_no_identifier(raw)
    assert result['kind'] == 'domain' and not result.get('failed')
    assert result['stores']['maildir']['before'] == 8 and result['stores']['maildir']['after'] == 0
    # the Maildirs are gone (the store removes the Maildir, not its empty parent)
    assert [os.listdir(str(vmail / DOMAIN / d)) for d in sorted(os.listdir(str(vmail / DOMAIN)))] == [[], []]
    assert (other / '1.mx:2,').read_bytes() == b'Subject: other customer\n\n'


class _Remains(Store):
    name = 'maildir'
    units = 'messages'

    def locate(self, subject):
        return self.result(found=2)

    def erase(self, subject, check_mode):
        return self.result(found=2, erased=0 if not check_mode else 2,
                           manual_steps=['remove the copies by hand (HMAC only)'])


class _Broken(Store):
    name = 'qmail_assign'
    units = 'entries'

    def locate(self, subject):
        return self.result(found=1)

    def erase(self, subject, check_mode):
        raise StoreError('qmail_assign: qmail-newu failed (exit 1)')


class _Unsupported(Store):
    name = 'logs'
    units = 'lines'

    def locate(self, subject):
        return self.result(found=5)

    def erase(self, subject, check_mode):
        raise NotImplementedError('not yet')


class _Oserror(Store):
    name = 'courier_userdb'
    units = 'entries'

    def locate(self, subject):
        raise OSError(13, 'Permission denied', '/home/zoequill/Maildir')


def test_failed_unsupported_and_remaining_stores_fail_after_every_store_ran():
    subject = Subject.from_params(**SUBJECT_A)
    request = pipeline.Request(subject, 'h', [_Remains, _Oserror, _Broken, _Unsupported], {}, 'r1')
    results, failed = request.run('erase', check_mode=False)
    remaining = pipeline.remaining_stores(results)
    assert failed == ['courier_userdb', 'qmail_assign', 'logs'] and remaining == ['maildir']
    assert results['maildir']['after'] == 2 and results['maildir']['manual_steps']
    assert results['courier_userdb']['error'] == 'locate: unexpected PermissionError (errno 13)'
    assert results['qmail_assign']['error'] == 'erase: qmail_assign: qmail-newu failed (exit 1)'
    assert results['qmail_assign']['before'] == 1 and results['qmail_assign']['after'] is None
    assert results['logs']['error'] == NOT_SUPPORTED and results['logs']['before'] == 5
    msg = subject_erase.problems_message(results, failed, remaining, False)
    assert 'data of the subject remains after the erasure in store(s): maildir (2 messages)' in msg
    assert 'zoequill' not in json.dumps(results) + msg
    out = request.summary(results, failed, 'erase', False)
    assert out['remaining_stores'] == remaining
    assert out['manual_steps'] == ['maildir: remove the copies by hand (HMAC only)']
    assert out['remaining'] == 2 and out['found'] == 8
    # in check mode nothing is counted again, so nothing "remains"
    results, _failed = pipeline.Request(subject, 'h', [_Remains]).run('erase', check_mode=True)
    assert pipeline.remaining_stores(results) == []


def test_module_fails_on_a_failed_store(monkeypatch, host, capsys):
    monkeypatch.setattr(store_logs.LogStore, 'erase', _Unsupported.erase)
    result, raw = run(capsys, base_args(host))
    assert_no_identifier(raw)
    assert result['failed'] is True and result['failed_stores'] == ['logs']
    assert result['changed'] is True       # the other stores were erased
    assert result['stores']['maildir']['after'] == 0


# ------------------------------------------------------------------------------ independent check
# The matcher before issue 12, written out for A (the local part exact, the domain
# case-insensitive, IPs as written): whatever the fixed matcher does, an erasure with this one
# leaves the spellings below, certifies them clean (after == 0), and only the independent check
# finds them.
OLD_RULES = re.compile(
    rb'(?<![A-Za-z0-9._%+\x80-\xff-])zoequill(?:\+[A-Za-z0-9._%+-]*)?@(?i:example\.org)'
    rb'(?![A-Za-z0-9_\x80-\xff-])(?!\.[A-Za-z0-9_\x80-\xff-])'
    rb'|(?<![A-Za-z0-9._%+\x80-\xff@-])zquill7(?![A-Za-z0-9_%+=@\x80-\xff-])(?!\.[A-Za-z0-9_\x80-\xff-])'
    rb'|(?<![0-9.])192\.0\.2\.77(?![0-9])(?!\.[0-9])')
MISSED_BY_OLD = [
    b'Nov 23 10:01:01 mx dovecot: imap-login: Login: user=<x>, rip=::ffff:c000:24d, lip=10.0.0.1',   # 192.0.2.77
    b'Nov 23 10:01:02 mx horde: Login success for ZOEQUILL%40EXAMPLE.ORG',
    b'Nov 23 10:01:03 mx qmail: 1700000005.1 delivery 9: success: example.org-zoequill@example.org',
    b'Nov 23 10:01:04 mx postfix/smtp[2]: to=<"zoequill"@example.org>, status=sent',
    b'Nov 23 10:01:05 mx postfix/local[3]: to=<ZoeQuill@example.org>, status=sent',
]


def warnings_of(capsys, args, monkeypatch, check_mode=False):
    """(result, raw, warning texts) of a run that starts with no warning recorded (warnings are
    global to the process: earlier runs of the module in this test session would leak theirs),
    as on a target host (a controller-side test that ran before may have left the process
    marked as the controller, which sends warnings to the display instead of the result)."""
    from ansible.module_utils import _internal  # pylint: disable=import-outside-toplevel
    from ansible.module_utils.common import warnings as ansible_warnings  # pylint: disable=import-outside-toplevel
    ansible_warnings._global_warnings.clear()  # pylint: disable=protected-access
    monkeypatch.setattr(_internal, 'is_controller', False)
    result, raw = run(capsys, args, check_mode)
    texts = [w if isinstance(w, str) else (w.get('event') or {}).get('msg', '') for w in result.get('warnings') or []]
    return result, raw, texts


class OldMatcher(object):
    """LineMatcher's interface with the old rules (only for subject A)."""

    def __init__(self, subject):
        self.subject = subject

    def hits(self, buf, start=0, end=None):
        end = len(buf) if end is None else end
        out = []
        pos = start
        while pos < end:
            nl = buf.find(b'\n', pos, end)
            le = end if nl == -1 else nl + 1
            if OLD_RULES.search(bytes(buf[pos:le])):
                out.append((pos, le))
            pos = le
        return out

    def count(self, buf, start=0, end=None):
        return len(self.hits(buf, start, end))


def test_the_independent_check_finds_what_a_weak_matcher_left_and_certified(host, capsys, monkeypatch):
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils import log_redact  # pylint: disable=import-outside-toplevel
    monkeypatch.setattr(store_logs, 'LineMatcher', OldMatcher)
    monkeypatch.setattr(log_redact, 'LineMatcher', OldMatcher)
    assert not [line for line in MISSED_BY_OLD if OLD_RULES.search(line)]
    others = [line.encode('ascii') for line, owner in log_lines() if owner == 'b']
    _write(str(host / 'log' / 'mail.log.2.gz'), gzip.compress(b'\n'.join(MISSED_BY_OLD + others) + b'\n'), 0o640)
    result, raw, warned = warnings_of(capsys, base_args(host), monkeypatch)
    assert_no_identifier(raw)
    assert not result.get('failed') and result['failed_stores'] == []
    logs = result['stores']['logs']
    assert logs['before'] == 3 and logs['erased'] == 3 and logs['after'] == 0      # certified clean
    check = result['independent_check']
    assert check['ran'] is True and 'error' not in check and check['unreadable'] == 0
    # the five spellings in the rotated file; the look-alike's two address lines in the live file
    assert (check['candidates'], check['lines'], check['journal']) == (7, 7, 0)
    assert sorted((f['category'], f['candidates'], f['hashed']) for f in check['files']) == \
        [('compressed', 5, True), ('live', 2, True)]
    assert all(len(f['name']) == 32 and str(host) not in f['name'] for f in check['files'])
    assert [w for w in warned if 'independent check found 7 candidate line(s) in 2 log file(s)' in w]
    # the check only reads: the rotated file still holds its lines
    with gzip.open(str(host / 'log' / 'mail.log.2.gz')) as handle:
        assert handle.read().count(b'\n') == len(MISSED_BY_OLD) + len(others)


def test_the_independent_check_does_not_run_in_check_mode_when_off_or_without_log_stores(host, capsys, monkeypatch):
    result, raw = run(capsys, base_args(host, confirm=False), check_mode=True)
    assert_no_identifier(raw)
    assert result['independent_check'] == subject_erase.not_run('check mode (nothing was erased)')
    result, _raw, warned = warnings_of(capsys, base_args(host, independent_check=False), monkeypatch)
    assert result['independent_check']['ran'] is False and 'turned off' in result['independent_check']['reason']
    assert not [w for w in warned if 'independent check' in w]
    result, _raw = run(capsys, base_args(host, stores=['maildir']))
    assert result['independent_check']['ran'] is False and result['independent_check']['candidates'] == 0


def test_a_clean_erasure_leaves_no_candidate(tmp_path, capsys, monkeypatch):
    root = tmp_path / 'host'
    options = build_host(root)
    # only A's and B's lines: nothing resembles A after the erasure
    lines = [line for line, owner in log_lines() if owner != 'l']
    _write(str(root / 'log' / 'mail.log'), ('\n'.join(lines) + '\n').encode('ascii'), 0o640)
    os.unlink(str(root / 'log' / 'mail.log.1.gz'))
    args = dict(SUBJECT_A, hmac_key=KEY, stores=['logs'], store_options=options, confirm=True)
    result, raw, warned = warnings_of(capsys, args, monkeypatch)
    assert_no_identifier(raw)
    check = result['independent_check']
    assert check['ran'] is True and check['candidates'] == 0 and check['files'] == [] and 'error' not in check
    assert not [w for w in warned if 'independent check' in w]


# journalctl -o export of three entries: A in upper case, A's IPv4-mapped address, B
JOURNAL_EXPORT = (b'__CURSOR=s=1\nMESSAGE=imap-login: Login: user=<ZOEQUILL@EXAMPLE.ORG>\n\n'
                  b'__CURSOR=s=2\nMESSAGE=rip=[::ffff:192.0.2.77]\n_CMDLINE=doveadm -u x\n\n'
                  b'__CURSOR=s=3\nMESSAGE=imap-login: Login: user=<maxumber@example.org>, rip=198.51.100.23\n\n')


def test_the_independent_check_reads_the_journal_with_the_store_options(tmp_path):
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_registry import get_stores  # pylint: disable=import-outside-toplevel
    subject = Subject.from_params(**SUBJECT_A)
    runner = FakeRunner(streams={'journalctl': JOURNAL_EXPORT})
    options = {'journal': {'directories': [str(tmp_path)], 'args': ['--since', '2026-01-01']}}
    out = subject_erase.independent_check(pipeline.Request(subject, 'h', get_stores(['journal']), options, 'r', runner))
    assert (out['ran'], out['journal'], out['lines'], out['candidates']) == (True, 2, 0, 2)
    assert runner.calls == [['/usr/bin/journalctl', '--no-pager', '--quiet', '--output=export', '--since', '2026-01-01']]
    # options the store refuses: an error that names the store and the option, and nothing read
    out = subject_erase.independent_check(pipeline.Request(subject, 'h', get_stores(['logs']), {'logs': {'paths': ['relative/*']}}))
    assert out['ran'] is False and out['error'].startswith('logs: every entry of option paths')
    assert 'zoequill' not in json.dumps(out)
