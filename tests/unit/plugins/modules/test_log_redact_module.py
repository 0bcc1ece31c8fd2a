# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""log_redact through AnsibleModule: check mode previews, real runs, idempotence, debug mode,
refusals, hostile identifiers (tree hashes compared), and no identifier in the output."""

from __future__ import annotations

import bz2
import functools
import gzip
import hashlib
import importlib.util
import json
import lzma
import os
import stat

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_logs import LogStore
from ansible_collections.mailprivacy.gdpr.plugins.modules import log_redact

from module_main import run_main

KEY = 'test-hmac-key-0123456789'
HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, '..', '..', '..', 'reliability', 'hostile_identifiers.py')
_spec = importlib.util.spec_from_file_location('hostile_identifiers', CORPUS)
_hostile = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_hostile)
HOSTILE = _hostile.HOSTILE

SUBJECT_LINES = [
    b'Nov 23 10:00:01 mx1 postfix/smtp[1]: to=<ann@example.com>, status=sent\n',
    b'Nov 23 10:00:02 mx1 dovecot: imap-login: Login: user=<annlogin>, rip=192.0.2.77\n',
    b'Nov 23 10:00:03 mx1 postfix/smtp[1]: to=<ann+news@example.com>, status=sent\n',
]
OTHER_LINES = [
    b'Nov 23 10:00:04 mx1 postfix/smtp[1]: to=<joann@example.com>, status=sent\n',
    b'Nov 23 10:00:05 mx1 postfix/smtp[1]: to=<ann@example.com.evil>, status=sent\n',
    b'Nov 23 10:00:06 mx1 postfix/smtp[1]: to=<bob@example.org>, status=sent\n',
    b'Nov 23 10:00:07 mx1 dovecot: auth: Debug: client in: AUTH\t1\tPLAIN\tservice=imap\tresp=AGJvYgBzZWNyZXQ=\n',
    b'Nov 23 10:00:08 mx1 imapd: LOGIN: DEBUG: ip=[::ffff:192.0.2.9], password=hunter2\n',
    b'1234 < AUTH LOGIN\r\n',
    b'1234 > 334 VXNlcm5hbWU6\r\n',
    b'1234 < Ym9i\r\n',
    b'1234 > 334 UGFzc3dvcmQ6\r\n',
    b'1234 < c2VjcmV0\r\n',
    b'1234 > 235 ok, go ahead\r\n',
    b'1234 < MAIL FROM:<bob@example.org>\r\n',
]
DEBUG_LINES = 8  # of OTHER_LINES: auth Debug, LOGIN DEBUG, AUTH LOGIN + 2 payloads
FORBIDDEN = ['ann@example.com', 'annlogin', '192.0.2.77', 'ann+news']


def make_tree(root):
    data = b''.join(SUBJECT_LINES + OTHER_LINES)
    os.makedirs(os.path.join(root, 'qmail', 'smtpd'))
    with open(os.path.join(root, 'mail.log'), 'wb') as handle:
        handle.write(data)
    with open(os.path.join(root, 'mail.log.1'), 'wb') as handle:
        handle.write(data * 2)
    with gzip.open(os.path.join(root, 'mail.log.2.gz'), 'wb') as handle:
        handle.write(data * 3)
    with bz2.open(os.path.join(root, 'mail.log.3.bz2'), 'wb') as handle:
        handle.write(data)
    with lzma.open(os.path.join(root, 'mail.log.4.xz'), 'wb') as handle:
        handle.write(data)
    with open(os.path.join(root, 'qmail', 'smtpd', '@400000006500000000000000.s'), 'wb') as handle:
        handle.write(data)
    with open(os.path.join(root, 'qmail', 'smtpd', 'current'), 'wb') as handle:
        handle.write(data)
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            os.chmod(os.path.join(dirpath, name), 0o640)
            os.utime(os.path.join(dirpath, name), (1000000, 2000000))


def tree_hash(root):
    digest = hashlib.sha256()
    for dirpath, dirs, names in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            digest.update(full.encode() + b'%o %d %d' % (st.st_mode, st.st_size, st.st_mtime_ns))
            if not stat.S_ISREG(st.st_mode):
                continue
            with open(full, 'rb') as handle:
                digest.update(handle.read())
    return digest.hexdigest()


def args_for(root, **kw):
    base = {'paths': [os.path.join(root, 'mail.log*'), os.path.join(root, 'qmail', '**')],
            'addresses': ['ann@example.com'], 'logins': ['annlogin'], 'ips': ['192.0.2.77'],
            'hmac_key': KEY}
    base.update(kw)
    return base


run = functools.partial(run_main, log_redact)


def read(path):
    opener = {'.gz': gzip.open, '.bz2': bz2.open, '.xz': lzma.open}.get(os.path.splitext(path)[1], open)
    with opener(path, 'rb') as handle:
        return handle.read()


def assert_clean(raw):
    result = json.loads(raw)
    result.pop('invocation', None)
    own = json.dumps(result).lower()
    for value in FORBIDDEN + ['hunter2', 'c2vjcmv0', 'value_specified_in_no_log']:
        assert value.lower() not in own


def test_check_mode_previews_and_touches_nothing(tmp_path, capsys):
    root = str(tmp_path)
    make_tree(root)
    before = tree_hash(root)
    result, raw = run(capsys, args_for(root), check_mode=True, diff=True)
    assert tree_hash(root) == before
    assert result['changed'] is True
    # 3 subject lines per copy: live 1 + current 1 (multilog) + archive 1 + rotated 2 + gz 3 + bz2 1 + xz 1
    assert result['lines_matched'] == 3 * 10
    assert result['detail']['compressed'] == {'files': 3, 'files_changed': 3, 'lines': 15}
    assert result['detail']['multilog'] == {'files': 2, 'files_changed': 2, 'lines': 6}
    assert result['detail']['live']['lines'] == 3 and result['detail']['rotated']['lines'] == 6
    assert 'lines to be removed' not in result['diff']['before']
    assert '3 file(s), 15 line(s) to be removed' in result['diff']['before']
    assert len(result['subject_hmac']) == 64
    assert_clean(raw)


@pytest.mark.parametrize('action', ['remove', 'mask'])
def test_real_run_redacts_everything_and_is_idempotent(tmp_path, capsys, action):
    root = str(tmp_path)
    make_tree(root)
    result, raw = run(capsys, args_for(root, action=action))
    assert_clean(raw)
    assert result['changed'] and result['files_changed'] == 7 and result['lines_changed'] == 30
    token = ('[redacted:%s]' % result['subject_hmac'][:8]).encode()
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            full = os.path.join(dirpath, name)
            st = os.stat(full)
            assert (oct(st.st_mode & 0o777), st.st_mtime) == (oct(0o640), 2000000), name
            data = read(full)
            for line in OTHER_LINES:
                assert line in data
            if action == 'remove':
                assert data.count(b'\n') == len(OTHER_LINES) * data.count(OTHER_LINES[0])
                assert b'annlogin' not in data and b'192.0.2.77' not in data
            else:
                assert data.count(token) == 4 * data.count(OTHER_LINES[0])
                assert b'to=<' + token + b'>, status=sent' in data
    after = tree_hash(root)
    again, _raw = run(capsys, args_for(root, action=action))
    assert again['changed'] is False and again['lines_matched'] == 0
    assert tree_hash(root) == after


def test_debug_traces_mode(tmp_path, capsys):
    root = str(tmp_path)
    make_tree(root)
    result, raw = run(capsys, {'mode': 'debug_traces', 'paths': [os.path.join(root, 'mail.log')]})
    assert 'subject_hmac' not in result
    assert result['lines_changed'] == 5
    data = read(os.path.join(root, 'mail.log'))
    assert b'Debug:' not in data and b'password=' not in data and b'c2VjcmV0' not in data
    assert b'Ym9i' not in data and b'AUTH LOGIN' not in data
    for line in SUBJECT_LINES + [OTHER_LINES[0], OTHER_LINES[2], b'1234 > 235 ok, go ahead\r\n',
                                 b'1234 < MAIL FROM:<bob@example.org>\r\n']:
        assert line in data
    assert 'hunter2' not in raw


def test_debug_mode_refuses_mask_and_identifiers(tmp_path, capsys):
    root = str(tmp_path)
    make_tree(root)
    before = tree_hash(root)
    result, _raw = run(capsys, {'mode': 'debug_traces', 'action': 'mask', 'paths': [root + '/mail.log']})
    assert result['failed'] and 'only removes' in result['msg']
    result, _raw = run(capsys, {'mode': 'debug_traces', 'addresses': ['ann@example.com'], 'paths': [root + '/mail.log']})
    assert result['failed']
    result, _raw = run(capsys, {'mode': 'debug_traces', 'debug_patterns': ['nope'], 'paths': [root + '/mail.log']})
    assert result['failed'] and 'not a known pattern' in result['msg']
    assert tree_hash(root) == before


def test_refuses_symlinks_nonregular_and_bad_compression(tmp_path, capsys):
    root = str(tmp_path / 'logs')
    os.makedirs(root)
    outside = str(tmp_path / 'outside.log')
    with open(outside, 'wb') as handle:
        handle.write(SUBJECT_LINES[0])
    os.symlink(outside, os.path.join(root, 'mail.log'))
    os.mkfifo(os.path.join(root, 'mail.log.fifo'))
    with open(os.path.join(root, 'mail.log.2.gz'), 'wb') as handle:
        handle.write(SUBJECT_LINES[0])  # named .gz, not gzip
    good = gzip.compress(SUBJECT_LINES[0] * 1000)
    with open(os.path.join(root, 'mail.log.3.gz'), 'wb') as handle:
        handle.write(good[:len(good) // 2])  # truncated gzip
    before = tree_hash(root)
    outside_before = open(outside, 'rb').read()
    result, raw = run(capsys, args_for(root, paths=[os.path.join(root, 'mail.log*')]))
    assert result['failed']
    # the link, the FIFO (counted since the log engine works from handles), the two bad gzip files
    assert sum(result['refused'].values()) == 4
    assert result['refused']['files that are not regular files skipped'] == 1
    assert tree_hash(root) == before and open(outside, 'rb').read() == outside_before
    assert root not in raw.replace(json.dumps(root)[1:-1], '') or 'invocation' in raw
    assert_clean(raw)


@pytest.mark.parametrize('field,value,why', HOSTILE, ids=[h[2] for h in HOSTILE])
def test_hostile_identifier_rejected_nothing_touched(tmp_path, capsys, field, value, why):
    root = str(tmp_path)
    make_tree(root)
    before = tree_hash(root)
    args = args_for(root)
    if field == 'domain':
        args['domain'] = value
    else:
        args[field] = [value]
    result, raw = run(capsys, args)
    assert result['failed'] and result['msg'].startswith('invalid subject'), why
    assert tree_hash(root) == before
    if len(value) > 3:
        own = dict(result)
        own.pop('invocation', None)
        assert value not in json.dumps(own, ensure_ascii=False)


def test_the_module_and_the_store_share_one_redaction_path(tmp_path, capsys, monkeypatch):
    """Issue 13: the module redacts through LogStore.redact, the path LogStore.erase takes."""
    root = str(tmp_path)
    make_tree(root)
    calls = []
    real = LogStore.redact

    def spy(self, make_matcher, mode='remove', check_mode=False):
        files, outcomes = real(self, make_matcher, mode, check_mode)
        calls.append((mode, check_mode, len(files)))
        return files, outcomes

    monkeypatch.setattr(LogStore, 'redact', spy)
    result, raw = run(capsys, args_for(root, action='mask'), check_mode=True)
    assert_clean(raw)
    assert calls == [('mask', True, 7)] and result['lines_matched'] == 30
