# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""subject_find run through AnsibleModule with patched module arguments; the JSON it prints is
parsed and searched for every form of every identifier."""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import store_registry
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import Store
from ansible_collections.mailprivacy.gdpr.plugins.modules import subject_find

from module_main import run_main

KEY = 'test-hmac-key-0123456789'

IDENTIFIERS = {
    'addresses': ['ann@example.com', 'Ann.Alias@Bücher.Example'],
    'logins': ['annlogin'],
    'ips': ['192.0.2.77'],
}
# every spelling that must never appear in module output
FORBIDDEN = ['ann@example.com', 'Ann.Alias', 'ann.alias', 'xn--bcher-kva', 'bücher', 'Bücher',
             'b\\u00fccher', 'annlogin', '192.0.2.77']
# no_log masks: the module's own result must never have needed them
MASKS = ['VALUE_SPECIFIED_IN_NO_LOG_PARAMETER', '********']


def make_logs(root):
    os.makedirs(os.path.join(root, 'qmail', 'send'))
    lines = [
        'Nov 23 10:00:01 mx1 postfix/smtp[1]: to=<ann@example.com>, status=sent',
        'Nov 23 10:00:02 mx1 dovecot: imap-login: Login: user=<annlogin>, rip=192.0.2.77',
        'Nov 23 10:00:03 mx1 postfix/smtp[1]: to=<Ann.Alias@xn--bcher-kva.example>, status=sent',
        'Nov 23 10:00:04 mx1 postfix/smtp[1]: to=<joann@example.com>, status=sent',
        'Nov 23 10:00:05 mx1 postfix/smtp[1]: to=<bob@example.org>, status=sent',
    ]
    text = ('\n'.join(lines) + '\n').encode('utf-8')
    with open(os.path.join(root, 'mail.log'), 'wb') as handle:
        handle.write(text)
    with gzip.open(os.path.join(root, 'mail.log.2.gz'), 'wb') as handle:
        handle.write(text * 2)
    with open(os.path.join(root, 'qmail', 'send', 'current'), 'wb') as handle:
        handle.write(b'@4000000065000000 delivery 1: to remote ann@example.com\n')
    return {'live': 3, 'compressed': 6, 'multilog': 1, 'rotated': 0}


# run the module's main() like Ansible does; (parsed JSON, raw stdout)
run = functools.partial(run_main, subject_find)


def store_opts(root):
    return {'logs': {'paths': [os.path.join(root, 'mail.log*'), os.path.join(root, 'qmail', '**')]}}


def assert_no_identifier(raw):
    """No identifier anywhere in the printed JSON (module_args included), and no no_log mask
    outside the echoed module_args (a mask would mean the result carried an identifier)."""
    for value in FORBIDDEN:
        assert value.lower() not in raw.lower(), 'an identifier leaked into the module output'
    result = json.loads(raw)
    result.pop('invocation', None)
    own = json.dumps(result)
    for value in MASKS + FORBIDDEN:
        assert value.lower() not in own.lower()


@pytest.mark.parametrize('check_mode', [False, True])
def test_find_counts_and_leaks_nothing(tmp_path, capsys, check_mode):
    expected = make_logs(str(tmp_path))
    args = dict(IDENTIFIERS, hmac_key=KEY, stores=['logs'], store_options=store_opts(str(tmp_path)),
                request_id='req-0001')
    result, raw = run(capsys, args, check_mode)
    assert result['changed'] is False and not result.get('failed')
    logs = result['stores']['logs']
    assert logs['detail'] == expected and logs['found'] == 10 and result['found'] == 10
    assert result['kind'] == 'user'
    assert result['identifiers'] == {'addresses': 2, 'logins': 1, 'ips': 0 + 1, 'domain': 0}
    assert len(result['subject_hmac']) == 64
    assert_no_identifier(raw)


def test_find_is_read_only(tmp_path, capsys):
    make_logs(str(tmp_path))
    before = dict((p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in tmp_path.iterdir() if p.is_file())
    run(capsys, dict(IDENTIFIERS, hmac_key=KEY, stores=['logs'], store_options=store_opts(str(tmp_path))))
    after = dict((p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in tmp_path.iterdir() if p.is_file())
    assert before == after


def test_hmac_is_stable_and_keyed(tmp_path, capsys):
    make_logs(str(tmp_path))
    base = dict(IDENTIFIERS, stores=['logs'], store_options=store_opts(str(tmp_path)))
    first = run(capsys, dict(base, hmac_key=KEY))[0]
    again = run(capsys, dict(base, hmac_key=KEY, addresses=list(reversed(IDENTIFIERS['addresses']))))[0]
    other = run(capsys, dict(base, hmac_key=KEY + 'x'))[0]
    assert first['subject_hmac'] == again['subject_hmac'] != other['subject_hmac']


HOSTILE = [
    {'addresses': ['*@example.com']},
    {'addresses': ['ann@example.com', '../../etc/passwd']},
    {'addresses': ['ann@example.com\nX: y']},
    {'logins': ['ann|root']},
    {'logins': ['-oProxyCommand']},
    {'ips': ['192.0.2.0/24']},
    {'domain': '*.example.com'},
    {'addresses': ['']},
    {'addresses': ['a' * 300 + '@example.com']},
    {},
]


@pytest.mark.parametrize('ident', HOSTILE)
def test_hostile_identifiers_fail_without_echo(tmp_path, capsys, ident):
    make_logs(str(tmp_path))
    result, raw = run(capsys, dict(ident, hmac_key=KEY, stores=['logs'], store_options=store_opts(str(tmp_path))))
    assert result['failed'] is True
    assert 'stores' not in result
    for values in ident.values():
        for value in (values if isinstance(values, list) else [values]):
            if len(value) >= 3:
                assert value not in raw


@pytest.mark.parametrize('args,msg', [
    ({'stores': ['nope']}, 'unknown store'),
    ({'store_options': {'nope': {}}}, 'unknown stores'),
    ({'store_options': {'logs': {'bad_option': 1}}}, 'unknown store option'),
    ({'request_id': '../x'}, 'request_id'),
    ({'hmac_key': 'short'}, 'hmac_key'),
])
def test_bad_arguments(capsys, args, msg):
    base = dict(addresses=['ann@example.com'], hmac_key=KEY, stores=['logs'])
    base.update(args)
    result, raw = run(capsys, base)
    assert result['failed'] is True and msg in result['msg']
    assert 'ann@example.com' not in raw


class FakeStore(Store):
    name = 'fake'
    units = 'widgets'
    OPTIONS = {'request_id': '', 'subject_hmac': '', 'explode': False}
    seen = {}

    def locate(self, subject):
        FakeStore.seen = dict(self.options)
        if self.options['explode']:
            raise OSError(13, 'Permission denied', '/home/ann@example.com/secret')
        res = self.result()
        res.add('things', 2)
        return res


class AbsentStore(Store):
    name = 'absent'

    def available(self):
        return False, 'not installed'


def test_new_store_needs_no_module_change(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(store_registry, 'STORES', [FakeStore, AbsentStore])
    result, raw = run(capsys, dict(addresses=['ann@example.com'], hmac_key=KEY, request_id='r-1'))
    assert result['stores']['fake']['found'] == 2 and result['stores']['fake']['units'] == 'widgets'
    assert result['stores']['fake']['detail'] == {'things': 2}
    assert result['stores']['absent'] == dict(result['stores']['absent'], available=False, reason='not installed')
    # request id and HMAC are filled into the store options that ask for them
    assert FakeStore.seen['request_id'] == 'r-1' and FakeStore.seen['subject_hmac'] == result['subject_hmac']
    assert 'ann@example.com' not in raw


def test_failing_store_fails_the_module_without_leaking(monkeypatch, capsys):
    monkeypatch.setattr(store_registry, 'STORES', [FakeStore, AbsentStore])
    result, raw = run(capsys, dict(addresses=['ann@example.com'], hmac_key=KEY,
                                   store_options={'fake': {'explode': True}}))
    assert result['failed'] is True and result['failed_stores'] == ['fake']
    assert result['stores']['fake']['error'] == 'unexpected PermissionError (errno 13)'
    assert result['stores']['absent']['available'] is False
    assert 'ann@example.com' not in raw and '/home/' not in raw


# ------------------------------------------------------------------------------ issue 12
@pytest.mark.parametrize('field, value, words', [
    ('addresses', '*', 'contains a wildcard character (asterisk or question mark)'),
    ('addresses', '?', 'contains a wildcard character (asterisk or question mark)'),
    ('logins', '*', 'contains a wildcard character (asterisk or question mark)'),
    ('ips', '*', 'contains a wildcard character (asterisk or question mark)'),
    ('ips', '%', 'is not an IPv4 or IPv6 address (a percent sign is not allowed)'),
    ('ips', '%%', 'is not an IPv4 or IPv6 address (a percent sign is not allowed)'),
    ('logins', '/', 'contains a path separator (slash or backslash)'),
    ('logins', '..', 'contains two dots in a row'),
    ('logins', '-', 'starts with a dash (would read as a command option)'),
    ('addresses', '@@', 'must contain exactly one at sign'),
])
def test_identifier_errors_read_correctly_through_no_log_masking(capsys, field, value, words):
    """Ansible's no_log replaces every occurrence of the refused value in the output, inside our
    own message too: the message must name the character in words and still read correctly."""
    result, raw = run(capsys, {field: [value], 'hmac_key': KEY, 'stores': ['logs']})
    assert result['failed'] is True
    assert result['msg'] == 'invalid subject: %s[0]: %s' % (field, words)
    assert '********' not in result['msg'] and 'zone index' not in result['msg']


def test_local_part_case_option_through_the_module(tmp_path, capsys):
    os.makedirs(str(tmp_path / 'qmail'))
    (tmp_path / 'mail.log').write_bytes(b'Nov 23 10:00:01 mx1 postfix/smtp[1]: to=<ANN@example.com>, status=sent\n'
                                        b'Nov 23 10:00:02 mx1 postfix/smtp[1]: to=<ann@example.com>, status=sent\n'
                                        b'Nov 23 10:00:03 mx1 imapd: LOGIN, user=x, ip=[::ffff:192.0.2.77], port=[1]\n')
    base = dict(addresses=['ann@example.com'], ips=['192.0.2.77'], hmac_key=KEY, stores=['logs'],
                store_options=store_opts(str(tmp_path)))
    default, raw = run(capsys, base)
    assert default['found'] == 3
    exact, raw2 = run(capsys, dict(base, local_part_case='sensitive'))
    assert exact['found'] == 2
    assert default['subject_hmac'] == exact['subject_hmac']      # lower case given: one HMAC
    for text in (raw, raw2):
        assert 'ann@example.com' not in text.lower() and '192.0.2.77' not in text
