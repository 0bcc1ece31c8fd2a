# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the Dovecot store against a fake doveadm.

The fake reproduces the output formats and exit codes of doveadm 2.3.19.1 as observed on
Debian bookworm (tab formatter with a header line, pager ``text:`` prefix, 68 for a missing
mailbox, hidden lazy-expunge namespace that ``*`` does not list) for mail commands given the
user with ``-F -`` on stdin: a ``Username`` column in tab output, the user name on a line of
its own before the pager's ``text:``, exit 0 and no rows for a user that does not exist. It
refuses a mail command with ``-u`` and ``doveadm user`` with anything but ``*``: the user name
must never be an argument."""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import json
import os
import stat

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_dovecot import DovecotStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject

from fake_runner import FakeRunner

LAZY = '.EXPUNGED/'


class FakeDoveadm(FakeRunner):
    """The fake runner with doveadm and doveconf over ``users``: name -> {'home': str, 'boxes':
    {name: {'guid': str, 'msgs': {uid: (flags, bytes)}}}}. Every program is found in /usr/bin;
    ``calls``, ``inputs`` and ``signals`` are the fake runner's records."""

    def __init__(self, users, lazy=LAZY, iterate=True, rc_overrides=None, sessions=None):
        FakeRunner.__init__(self, tools={'doveadm': self.answer, 'doveconf': self.answer}, installed=True,
                            on_signal=self.end_session)
        self.users = users
        self.lazy = lazy
        self.iterate = iterate
        # (user name, pid) of each IMAP/POP3 connection, as anvil lists them
        self.sessions = list(sessions or [])
        self.rc_overrides = rc_overrides or {}
        self.guid_seq = 100
        self.cache_purged = []
        self.settings = {'auth_debug': 'no', 'auth_verbose': 'no', 'mail_debug': 'no'}

    def _user(self, name):
        # Dovecot's default auth_username_format=%Lu
        return self.users.get(name.lower())

    def _status(self, user, pattern):
        rows = []
        for name, box in user['boxes'].items():
            hidden = self.lazy and name.startswith(self.lazy)
            if pattern == '*' and hidden:
                continue
            if fnmatch.fnmatchcase(name, pattern):
                rows.append('%s\t%d\t%s' % (name, len(box['msgs']), box['guid']))
        return rows

    def _box(self, user, query):
        """Like doveadm 2.3.19: 'mailbox NAME' selects by name (hidden namespaces too), a
        'mailbox-guid' without 'mailbox' only searches listable mailboxes."""
        name = query[query.index('mailbox') + 1] if 'mailbox' in query else None
        guid = query[query.index('mailbox-guid') + 1] if 'mailbox-guid' in query else None
        for bname, box in user['boxes'].items():
            if name is None and self.lazy and bname.startswith(self.lazy):
                continue
            if (name is None or fnmatch.fnmatchcase(bname, name)) and (guid is None or box['guid'] == guid):
                return bname, box
        return None, {'msgs': {}}

    def end_session(self, pid, _signum):
        alive = any(p == pid for _n, p in self.sessions)
        self.sessions = [(n, p) for n, p in self.sessions if p != pid]
        return alive

    def answer(self, argv, data):
        prog = os.path.basename(argv[0])
        args = list(argv[1:])
        if prog == 'doveconf':
            if args == ['-h', 'plugin/lazy_expunge']:
                return 0, (self.lazy + '\n').encode(), b''
            if args[:1] == ['-h'] and args[1] in self.settings:
                return 0, (self.settings[args[1]] + '\n').encode(), b''
            return 1, b'', b''
        fmt = None
        if args[:1] == ['-f']:
            fmt = args[1]
            args = args[2:]
        cmd = args[0]
        if cmd in self.rc_overrides:
            return self.rc_overrides[cmd], b'', b'error with user name ann@example.org'
        if cmd == 'user':
            # doveadm user takes names only as arguments: the store may list the userdb only
            assert args[1:] == ['*'], 'doveadm user with a name: %r' % (argv,)
            if not self.iterate:
                return 75, b'', b'Error: User listing returned failure\n'
            return 0, ''.join(n + '\n' for n in sorted(self.users)).encode(), b''
        if cmd == 'who':
            assert args[1:] == ['-1'] and fmt == 'tab'
            rows = ''.join('%s\timap\t%d\t192.0.2.1\n' % (n, p) for n, p in self.sessions)
            return 0, ('username\tproto\tpid\tip\n' + rows).encode(), b''
        if cmd == 'kick':
            raise AssertionError('doveadm kick takes the user name as an argument: %r' % (argv,))
        if '-u' in args or args[-1:] == ['-F'] or '-F' not in args or args[args.index('-F') + 1] != '-':
            raise AssertionError('doveadm mail command without -F -: %r' % (argv,))
        fpos = args.index('-F')
        rest = args[fpos + 2:]
        assert data is not None and data.endswith(b'\n') and data.count(b'\n') == 1, 'one user on stdin'
        uname = data[:-1].decode()
        user = self._user(uname)
        prefix = 'Username\t'
        if user is None:
            # -F: "User no longer exists, skipping", exit 0, the header only
            headers = {'status': 'mailbox\tmessages\tguid', 'path': 'path', 'fetch': 'uid\tflags'}
            head = headers.get(args[1] if cmd == 'mailbox' else cmd)
            return 0, ((prefix + head + '\n') if head and fmt == 'tab' else '').encode(), b''
        if cmd == 'mailbox' and args[1] == 'cache':
            # mailbox cache purge -F - NAME...: names only, no pattern (a '*' is exit 68)
            assert args[2] == 'purge' and rest
            missing = [name for name in rest if name not in user['boxes']]
            self.cache_purged.append((uname, list(rest)))
            return (68, b'', b"Mailbox doesn't exist\n") if missing else (0, b'', b'')
        if cmd == 'mailbox' and args[1] == 'path':
            assert rest == ['INBOX'] and fmt == 'tab'
            return 0, ('Username\tpath\n%s\t%s/Maildir\n' % (uname, user['home'])).encode(), b''
        if cmd == 'mailbox':
            # mailbox status -F - 'messages guid' PATTERN
            assert args[1] == 'status' and rest[0] == 'messages guid'
            pattern = rest[1]
            rows = self._status(user, pattern)
            header = prefix + 'mailbox\tmessages\tguid\n'
            if not rows and '*' not in pattern:
                return 68, header.encode(), b"Mailbox doesn't exist\n"
            return 0, (header + ''.join(uname + '\t' + r + '\n' for r in rows)).encode(), b''
        if cmd == 'fetch':
            fields = rest[0]
            _name, box = self._box(user, rest[1:])
            if fields == 'uid flags':
                rows = ''.join('%s\t%d\t%s\n' % (uname, uid, m[0]) for uid, m in sorted(box['msgs'].items()))
                out = prefix + 'uid\tflags\n' + rows
                return 0, out.encode(), b''
            if fields == 'text':
                assert fmt == 'pager'
                uid = int(rest[rest.index('uid') + 1])
                if uid not in box['msgs']:
                    return 0, b'', b''
                return 0, data + b'text:\n' + box['msgs'][uid][1], b''
        if cmd == 'expunge':
            if rest[:3] == ['mailbox', '*', 'all']:
                for name in list(user['boxes']):
                    box = user['boxes'][name]
                    if self.lazy and name.startswith(self.lazy):
                        continue
                    if self.lazy and box['msgs']:
                        lazy = user['boxes'].setdefault(self.lazy + name, {'guid': 'g%d' % self.guid_seq, 'msgs': {}})
                        self.guid_seq += 1
                        for uid, m in box['msgs'].items():
                            lazy['msgs'][len(lazy['msgs']) + 1] = m
                    box['msgs'] = {}
                return 0, b'', b''
            _name, box = self._box(user, rest)
            box['msgs'] = {}
            return 0, b'', b''
        if cmd == 'purge':
            return 0, b'', b''
        raise AssertionError('unexpected doveadm call %r' % (argv,))


def verb(call):
    """The doveadm command of a call: 'expunge', 'who', 'mailbox', ..."""
    return call[3] if call[1] == '-f' else call[1]


def acted_on(runner):
    """[(command, user on stdin)] of the calls that gave a user."""
    return [(verb(call), data[:-1].decode()) for call, data in zip(runner.calls, runner.inputs)
            if data is not None]


def mailboxes(tag):
    return {
        'INBOX': {'guid': 'i-' + tag, 'msgs': {1: ('\\Seen', b'Subject: one ' + tag.encode() + b'\n\nx\n'),
                                               2: ('', b'Subject: two\n\n\xe9\n')}},
        'Trash': {'guid': 't-' + tag, 'msgs': {1: ('\\Deleted', b'Subject: trash\n\ny\n')}},
        'Private': {'guid': 'p-' + tag, 'msgs': {}},
        LAZY + 'INBOX': {'guid': 'l-' + tag, 'msgs': {1: ('', b'Subject: lazy\n\nz\n')}},
    }


@pytest.fixture
def users():
    return {
        'ann@example.org': {'home': '/var/vmail/example.org/ann', 'boxes': mailboxes('ann')},
        'bob@example.org': {'home': '/var/vmail/example.org/bob', 'boxes': mailboxes('bob')},
        'joann@example.org': {'home': '/var/vmail/example.org/joann', 'boxes': mailboxes('joann')},
        'ann@example.org.evil': {'home': '/var/vmail/example.org.evil/ann', 'boxes': mailboxes('evil')},
    }


def digest(users):
    return hashlib.sha256(json.dumps(users, sort_keys=True, default=repr).encode()).hexdigest()


ANN = dict(addresses=['ann@example.org'])


def test_locate_counts_all_mailboxes_including_hidden_lazy_expunge(users):
    runner = FakeDoveadm(users)
    res = DovecotStore({}, runner).locate(Subject.from_params(**ANN))
    assert res['found'] == 4
    assert res['detail'] == {'inbox': 2, 'trash': 1, 'folders': 0, 'lazy_expunge': 1, 'users': 1}
    assert all(c[1] not in ('expunge', 'kick', 'purge') for c in runner.calls)
    assert runner.cache_purged == []


def test_login_and_address_of_one_mailbox_count_once(users):
    users['ann'] = users['ann@example.org']            # same userdb entry under two names
    res = DovecotStore({}, FakeDoveadm(users)).locate(
        Subject.from_params(addresses=['ann@example.org'], logins=['ann']))
    assert res['found'] == 4 and res['detail']['users'] == 1


def test_lookalikes_never_match(users):
    res = DovecotStore({}, FakeDoveadm(users)).locate(Subject.from_params(addresses=['nn@example.org']))
    assert res['found'] == 0 and res['detail']['users'] == 0


def test_export_writes_each_message_byte_for_byte(users, tmp_path):
    res = DovecotStore({}, FakeDoveadm(users)).export(Subject.from_params(**ANN), str(tmp_path))
    assert res['found'] == 4
    emls = sorted((tmp_path / f['path']).read_bytes() for f in res['files'] if f['kind'] == 'eml')
    expected = sorted(m[1] for b in users['ann@example.org']['boxes'].values() for m in b['msgs'].values())
    assert emls == expected
    for entry in res['files']:
        path = tmp_path / entry['path']
        assert 'ann' not in entry['path'] and 'example' not in entry['path']
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry['sha256']
        assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(tmp_path / 'dovecot')).st_mode) == 0o700


def test_erase_check_mode_runs_nothing_that_changes(users):
    before = digest(users)
    runner = FakeDoveadm(users)
    res = DovecotStore({}, runner).erase(Subject.from_params(**ANN), check_mode=True)
    assert res['found'] == 4 and res['erased'] == 4
    assert digest(users) == before
    assert all(c[1] not in ('expunge', 'kick', 'purge') for c in runner.calls)


def test_erase_expunges_lazy_copies_too_and_keeps_other_users(users):
    others = copy.deepcopy(dict((k, v) for k, v in users.items() if k != 'ann@example.org'))
    runner = FakeDoveadm(users)
    res = DovecotStore({}, runner).erase(Subject.from_params(**ANN), check_mode=False)
    assert res['found'] == 4 and res['erased'] == 4 and res['detail']['remaining'] == 0
    assert all(not b['msgs'] for b in users['ann@example.org']['boxes'].values())
    assert dict((k, v) for k, v in users.items() if k != 'ann@example.org') == others
    verbs = [verb(c) for c in runner.calls]
    assert verbs.index('who') < verbs.index('expunge') < verbs.index('purge')
    i = runner.calls.index(['/usr/bin/doveadm', 'expunge', '-F', '-', 'mailbox', '*', 'all'])
    assert runner.inputs[i] == b'ann@example.org\n'
    # every command that changed something was given the subject's user only
    changed = [user for cmd, user in acted_on(runner) if cmd in ('expunge', 'purge')]
    assert changed and set(changed) == {'ann@example.org'}
    assert DovecotStore({}, FakeDoveadm(users)).locate(Subject.from_params(**ANN))['found'] == 0


def test_domain_kind_lists_users_of_the_domain_only(users):
    res = DovecotStore({}, FakeDoveadm(users)).locate(Subject.from_params(domain='example.org'))
    assert res['detail']['users'] == 3
    assert res['found'] == 12


def test_domain_kind_refuses_without_userdb_iteration(users):
    with pytest.raises(StoreError) as exc:
        DovecotStore({}, FakeDoveadm(users, iterate=False)).locate(Subject.from_params(domain='example.org'))
    assert 'iteration' in str(exc.value)


def test_domain_kind_refuses_when_user_names_have_no_domain():
    users = {'ann': {'home': '/home/ann', 'boxes': mailboxes('ann')}}
    with pytest.raises(StoreError) as exc:
        DovecotStore({}, FakeDoveadm(users)).erase(Subject.from_params(domain='example.org'), check_mode=False)
    assert 'no domain' in str(exc.value)
    assert users['ann']['boxes']['INBOX']['msgs']


@pytest.fixture
def passwd_users():
    """A userdb of system users (passwd): names carry no domain. alice and bob are the
    customer's, carol is not, alice2 looks like alice."""
    return dict((name, {'home': '/home/' + name, 'boxes': mailboxes(name)})
                for name in ('alice', 'bob', 'carol', 'alice2'))


CUSTOMER = dict(domain='example.org', logins=['alice', 'bob'])


def test_customer_logins_are_the_users_on_a_passwd_userdb(passwd_users):
    runner = FakeDoveadm(passwd_users)
    res = DovecotStore({}, runner).locate(Subject.from_params(**CUSTOMER))
    assert res['detail']['users'] == 2 and res['found'] == 8
    # each login was verified to exist; no other user was ever asked for its mailboxes
    assert ('mailbox', 'alice') in acted_on(runner)
    asked = set(user for _cmd, user in acted_on(runner))
    assert asked == {'alice', 'bob'}
    # a login the userdb does not know is left out, not an error
    res = DovecotStore({}, FakeDoveadm(passwd_users)).locate(
        Subject.from_params(domain='example.org', logins=['alice', 'dave']))
    assert res['detail']['users'] == 1 and res['found'] == 4


def test_customer_export_holds_both_users_only(passwd_users, tmp_path):
    res = DovecotStore({}, FakeDoveadm(passwd_users)).export(Subject.from_params(**CUSTOMER), str(tmp_path))
    assert res['found'] == 8 and res['detail']['users'] == 2
    emls = sorted((tmp_path / f['path']).read_bytes() for f in res['files'] if f['kind'] == 'eml')
    expected = sorted(m[1] for u in ('alice', 'bob') for b in passwd_users[u]['boxes'].values()
                      for m in b['msgs'].values())
    assert emls == expected
    assert all('alice' not in f['path'] and 'bob' not in f['path'] for f in res['files'])


def test_customer_erase_check_mode_then_erase_keeps_the_third_user(passwd_users):
    subject = Subject.from_params(**CUSTOMER)
    before = digest(passwd_users)
    runner = FakeDoveadm(passwd_users)
    res = DovecotStore({}, runner).erase(subject, check_mode=True)
    assert res['found'] == 8 and res['erased'] == 8
    assert digest(passwd_users) == before
    assert all(c[1] not in ('expunge', 'kick', 'purge') for c in runner.calls)
    others = copy.deepcopy(dict((k, v) for k, v in passwd_users.items() if k in ('carol', 'alice2')))
    runner = FakeDoveadm(passwd_users)
    res = DovecotStore({}, runner).erase(subject, check_mode=False)
    assert res['found'] == 8 and res['erased'] == 8 and res['detail']['remaining'] == 0
    for name in ('alice', 'bob'):
        assert all(not b['msgs'] for b in passwd_users[name]['boxes'].values())
    assert dict((k, v) for k, v in passwd_users.items() if k in ('carol', 'alice2')) == others
    changed = set(user for cmd, user in acted_on(runner) if cmd in ('expunge', 'purge'))
    assert changed == {'alice', 'bob'}


def test_customer_logins_add_to_the_listed_users_of_the_domain(users):
    # a userdb with domains lists ann, bob and joann; the login of a system user is added
    users['postmaster'] = {'home': '/home/postmaster', 'boxes': mailboxes('pm')}
    users['ann'] = users['ann@example.org']            # same mailbox under its bare name
    res = DovecotStore({}, FakeDoveadm(users)).locate(
        Subject.from_params(domain='example.org', logins=['postmaster', 'ann']))
    assert res['detail']['users'] == 4 and res['found'] == 16


def test_customer_without_logins_on_a_passwd_userdb_is_refused(passwd_users):
    before = digest(passwd_users)
    with pytest.raises(StoreError) as exc:
        DovecotStore({}, FakeDoveadm(passwd_users)).locate(
            Subject.from_params(domain='example.org', addresses=['alice@example.org']))
    assert 'no domain' in str(exc.value) and 'logins' in str(exc.value)
    assert 'alice' not in str(exc.value) and 'example' not in str(exc.value)
    assert digest(passwd_users) == before


def test_failure_messages_carry_no_command_output(users):
    with pytest.raises(StoreError) as exc:
        DovecotStore({}, FakeDoveadm(users, rc_overrides={'expunge': 75})).erase(
            Subject.from_params(**ANN), check_mode=False)
    assert 'ann@' not in str(exc.value) and '75' in str(exc.value)


def test_lazy_expunge_can_be_switched_off(users):
    runner = FakeDoveadm(users)
    res = DovecotStore({'lazy_expunge': ''}, runner).locate(Subject.from_params(**ANN))
    assert res['found'] == 3
    assert not any(os.path.basename(c[0]) == 'doveconf' for c in runner.calls)


def test_unavailable_without_doveadm(users):
    class NoDoveadm(FakeDoveadm):
        def which(self, name):
            return None
    ok, reason = DovecotStore({}, NoDoveadm(users)).available()
    assert not ok and 'doveadm' in reason


def test_lazy_copy_of_a_mailbox_with_a_wildcard_in_its_name_is_reported(users):
    # doveadm treats 'a*b' as a pattern and patterns never reach the hidden namespace
    users['ann@example.org']['boxes']['a*b'] = {'guid': 'star', 'msgs': {1: ('', b'Subject: s\n\ns\n')}}
    runner = FakeDoveadm(users)
    res = DovecotStore({}, runner).erase(Subject.from_params(**ANN), check_mode=False)
    assert res['found'] == 5 and res['detail']['remaining'] == 0
    assert res['detail']['unreachable_mailboxes'] == 1
    assert any('cannot be reached' in m for m in res['manual_steps'])
    assert 'ann@' not in json.dumps(res) and 'example' not in json.dumps(res)
    # the copy expunge made is really there, out of doveadm's reach
    assert users['ann@example.org']['boxes'][LAZY + 'a*b']['msgs']


@pytest.mark.parametrize('setting', ['auth_debug', 'auth_verbose', 'mail_debug'])
def test_erase_says_when_dovecot_logs_user_lookups(users, setting):
    """A DEBUG-era Dovecot logs the erasure's own lookups: the result says so, without PII."""
    runner = FakeDoveadm(users)
    runner.settings[setting] = 'yes'
    for check_mode in (True, False):
        res = DovecotStore({}, runner).erase(Subject.from_params(**ANN), check_mode=check_mode)
        steps = [step for step in res['manual_steps'] if 'logs every user lookup' in step]
        assert len(steps) == 1 and setting in steps[0] and 'ann' not in steps[0]


def test_erase_quiet_dovecot_gives_no_lookup_step(users):
    res = DovecotStore({}, FakeDoveadm(users)).erase(Subject.from_params(**ANN), check_mode=False)
    assert not [step for step in res['manual_steps'] if 'user lookup' in step]


def test_erase_compresses_the_index_cache_of_every_mailbox(users):
    """doveadm expunge leaves the expunged messages' cached headers in dovecot.index.cache
    (seen on Dovecot 2.3.19: Subject and Message-ID still in the file); the store compresses
    the cache of each mailbox, the lazy-expunge copies' included, by name."""
    runner = FakeDoveadm(users)
    res = DovecotStore({}, runner).erase(Subject.from_params(**ANN), check_mode=False)
    assert [user for user, _names in runner.cache_purged] == ['ann@example.org']
    assert sorted(runner.cache_purged[0][1]) == sorted(users['ann@example.org']['boxes'])
    assert not [step for step in res['manual_steps'] if 'cache' in step]


def test_a_cache_that_cannot_be_compressed_is_a_manual_step(users):
    runner = FakeDoveadm(users, rc_overrides={})
    users['ann@example.org']['boxes']['-odd'] = {'guid': 'o-ann', 'msgs': {}}
    res = DovecotStore({}, runner).erase(Subject.from_params(**ANN), check_mode=False)
    assert '-odd' not in runner.cache_purged[0][1]  # never passed where doveadm reads options
    steps = [step for step in res['manual_steps'] if 'dovecot.index.cache' in step]
    assert len(steps) == 1 and '1 user(s)' in steps[0]
    assert 'ann' not in steps[0] and 'example.org' not in steps[0]


def test_cache_purge_can_be_switched_off(users):
    runner = FakeDoveadm(users)
    DovecotStore({'cache_purge': False}, runner).erase(Subject.from_params(**ANN), check_mode=False)
    assert runner.cache_purged == []


def test_sessions_end_like_doveadm_kick_without_the_name_on_a_command_line(users):
    """doveadm kick takes the user only as an argument: the store lists the connections
    (doveadm who -1) and sends SIGTERM to the processes of the user, matched as kick does
    (case-insensitive); other users' processes are left alone."""
    runner = FakeDoveadm(users, sessions=[('ann@example.org', 501), ('Ann@Example.ORG', 502),
                                          ('bob@example.org', 503), ('joann@example.org', 504)])
    res = DovecotStore({}, runner).erase(Subject.from_params(**ANN), check_mode=False)
    assert sorted(runner.signals) == [(501, 15), (502, 15)]
    assert 'kick_failed' not in res['detail']
    assert not any('kick' in call for call in runner.calls)
    # nobody logged in: nothing signalled, no failure (doveadm kick: exit 68)
    runner = FakeDoveadm(users, sessions=[('bob@example.org', 503)])
    res = DovecotStore({}, runner).erase(Subject.from_params(**ANN), check_mode=False)
    assert runner.signals == [] and 'kick_failed' not in res['detail']


def test_a_process_shared_with_another_user_is_not_signalled(users):
    # doveadm kick without -f kills nothing when a process also serves another user
    runner = FakeDoveadm(users, sessions=[('ann@example.org', 601), ('bob@example.org', 601),
                                          ('ann@example.org', 602)])
    res = DovecotStore({}, runner).erase(Subject.from_params(**ANN), check_mode=False)
    assert runner.signals == []
    assert res['detail']['kick_failed'] == 1 and res['detail']['remaining'] == 0


def test_no_user_name_in_any_doveadm_argument(users, tmp_path):
    users['ann'] = users['ann@example.org']
    runner = FakeDoveadm(users, sessions=[('ann@example.org', 701)])
    store = DovecotStore({}, runner)
    subject = Subject.from_params(addresses=['ann@example.org'], logins=['ann'])
    store.locate(subject)
    store.export(subject, str(tmp_path))
    store.erase(subject, check_mode=False)
    DovecotStore({}, runner).locate(Subject.from_params(domain='example.org'))
    assert len(runner.calls) > 20
    for call in runner.calls:
        assert not [arg for arg in call if 'example.org' in arg.lower() or arg == 'ann'], call
    assert set(user for _cmd, user in acted_on(runner)) >= {'ann', 'ann@example.org'}


@pytest.mark.parametrize('name, mask, match', [
    ('ann@example.org', '*@example.org', True),
    ('Ann@EXAMPLE.org', '*@example.ORG', True),
    ('ann@example.org.evil', '*@example.org', False),
    ('ann@sub.example.org', '*@example.org', False),
    ('ann@examplexorg', '*@example.org', False),          # '.' is no wildcard
    ('ann@example.org', 'an?@example.org', True),
    ('ÄNN@example.org', 'änn@example.org', False),        # ASCII case folding only, as Dovecot
    ('anything', '*', True),
])
def test_userdb_mask_is_matched_as_doveadm_does(name, mask, match):
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_dovecot import _wildcard_match_icase
    assert _wildcard_match_icase(name, mask) is match


def test_pager_output_of_fetch_with_a_user_list_keeps_the_message_bytes():
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_dovecot import _drop_user_line
    # doveadm 2.3.19 -f pager fetch -F -: the user name on a line of its own, then text:
    assert _drop_user_line(b'ann@example.org\ntext:\nSubject: x\n\nbody\n') == b'text:\nSubject: x\n\nbody\n'
    assert _drop_user_line(b'ann\ntext:\ntext:\nbody\n') == b'text:\ntext:\nbody\n'
    assert _drop_user_line(b'text:\nSubject: x\n') == b'text:\nSubject: x\n'
    assert _drop_user_line(b'') == b''


# --------------------------------------------------------------------------------- plus separator (issue 12)

@pytest.mark.parametrize('sep, count', [('+', 1), ('-', 2), ('', 0)])
def test_extended_accounts_lists_the_userdb(users, sep, count):
    users['ann+work@example.org'] = {'home': '/var/vmail/example.org/ann+work', 'boxes': mailboxes('annwork')}
    users['ann-marie@example.org'] = {'home': '/var/vmail/example.org/ann-marie', 'boxes': mailboxes('annmarie')}
    users['ann-x'] = {'home': '/home/ann-x', 'boxes': mailboxes('annx')}
    before = digest(users)
    runner = FakeDoveadm(users)
    st = DovecotStore({}, runner)
    ann = Subject.from_params(addresses=['ann@example.org'], logins=['ann'], plus_separator=sep)
    assert st.extended_accounts(ann) == count
    # the subject's own mailbox only: ann+work@ and ann-marie@ are never ann's
    assert st.locate(ann)['detail']['users'] == 1
    assert digest(users) == before


def test_extended_accounts_refuses_without_userdb_iteration(users):
    st = DovecotStore({}, FakeDoveadm(users, iterate=False))
    with pytest.raises(StoreError) as exc:
        st.extended_accounts(Subject.from_params(**ANN))
    assert 'cannot list' in str(exc.value) and 'ann@' not in str(exc.value) and 'example' not in str(exc.value)
