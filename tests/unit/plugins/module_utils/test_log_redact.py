# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Property tests of the redaction engine: lines without identifiers never change, every
occurrence goes, look-alikes stay; compressed formats are kept; a second run changes nothing."""

from __future__ import annotations

import bz2
import errno
import fcntl
import gzip
import lzma
import os
import re
import subprocess
import threading
import time
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import log_engine, log_redact, service, service_catalog
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_logs import LogStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject

SUBJECT = Subject.from_params(addresses=['ann@example.com'], logins=['annlogin'], ips=['192.0.2.7'])
OWN = ['ann@example.com', 'ann+tag@example.com', 'ann@EXAMPLE.com', 'ANN@example.com', 'annlogin', '192.0.2.7']
LOOKALIKES = ['joann@example.com', 'ann@example.com.evil', 'ann@example.co', 'xann@example.com',
              'annlogin2', 'myannlogin', '192.0.2.70', '10.192.0.2.7', 'ann@examples.com']
FILLER = st.text(alphabet='abcdefghij klmnop=<>:,[]()0123456789', max_size=30)
LINE = st.tuples(FILLER, st.sampled_from(OWN + LOOKALIKES + ['']), FILLER).map(lambda t: ''.join(t).encode())


def write(path, data, kind=None):
    opener = {'gz': gzip.open, 'bz2': bz2.open, 'xz': lzma.open}.get(kind, open)
    with opener(path, 'wb') as handle:
        handle.write(data)


def read(path, kind=None):
    opener = {'gz': gzip.open, 'bz2': bz2.open, 'xz': lzma.open}.get(kind, open)
    with opener(path, 'rb') as handle:
        return handle.read()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINE, max_size=40), kind=st.sampled_from([None, 'gz', 'bz2', 'xz']),
       mode=st.sampled_from(['remove', 'mask']))
def test_property_only_identifier_lines_change(tmp_path, lines, kind, mode):
    path = str(tmp_path / ('prop.log.1' + ('.' + kind if kind else '')))
    data = b''.join(line + b'\n' for line in lines)
    write(path, data, kind)
    matcher = log_redact.SubjectMatcher(SUBJECT, b'[redacted]')
    expected_hits = [line for line in lines if SUBJECT.matches(line)]
    res = log_redact.redact_file(path, matcher, mode=mode)
    assert res['lines_matched'] == len(expected_hits)
    out = read(path, kind).split(b'\n')[:-1] if lines else read(path, kind).split(b'\n')[:-1]
    if mode == 'remove':
        assert out == [line for line in lines if not SUBJECT.matches(line)]
    else:
        assert len(out) == len(lines)
        for before, after in zip(lines, out):
            if SUBJECT.matches(before):
                assert b'[redacted]' in after
            else:
                assert after == before
    assert not any(SUBJECT.matches(line) for line in out)
    again = log_redact.redact_file(path, matcher, mode=mode)
    assert again == {'lines_matched': 0, 'lines_changed': 0, 'changed': False}
    assert not [n for n in os.listdir(str(tmp_path)) if n.startswith('.mailprivacy-redact.')]
    os.unlink(path)


def test_lookalikes_stay_and_plus_addressing_follows_the_separator(tmp_path):
    path = str(tmp_path / 'mail.log.1')
    lines = [b'to=<%s>' % x.encode() for x in LOOKALIKES + ['ann+tag@example.com', 'ann-tag@example.com']]
    write(path, b'\n'.join(lines) + b'\n')
    plus = Subject.from_params(addresses=['ann@example.com'], plus_separator='+')
    log_redact.redact_file(path, log_redact.SubjectMatcher(plus))
    assert read(path).split(b'\n')[:-1] == [x for x in lines if b'ann+tag' not in x]
    write(path, b'\n'.join(lines) + b'\n')
    none = Subject.from_params(addresses=['ann@example.com'], plus_separator='')
    assert log_redact.redact_file(path, log_redact.SubjectMatcher(none))['changed'] is False
    dash = Subject.from_params(addresses=['ann@example.com'], plus_separator='-')
    log_redact.redact_file(path, log_redact.SubjectMatcher(dash))
    assert read(path).split(b'\n')[:-1] == [x for x in lines if b'ann-tag' not in x]


def test_keeps_owner_mode_times_and_format(tmp_path):
    for kind in (None, 'gz', 'bz2', 'xz'):
        path = str(tmp_path / ('m.log.2' + ('.' + kind if kind else '')))
        write(path, b'a ann@example.com\nb bob@example.org\n' * 100, kind)
        os.chmod(path, 0o640)
        os.utime(path, ns=(111000000000, 222000000000))
        before = os.stat(path)
        assert log_redact.redact_file(path, log_redact.SubjectMatcher(SUBJECT))['lines_changed'] == 100
        after = os.stat(path)
        assert (after.st_mode, after.st_uid, after.st_gid, after.st_mtime_ns) == \
            (before.st_mode, before.st_uid, before.st_gid, before.st_mtime_ns)
        assert read(path, kind) == b'b bob@example.org\n' * 100


def test_check_mode_and_refusals(tmp_path):
    path = str(tmp_path / 'mail.log.1')
    write(path, b'x ann@example.com\n')
    before = os.stat(path)
    assert log_redact.redact_file(path, log_redact.SubjectMatcher(SUBJECT), check_mode=True)['lines_matched'] == 1
    assert read(path) == b'x ann@example.com\n' and os.stat(path).st_mtime_ns == before.st_mtime_ns
    link = str(tmp_path / 'link.log')
    os.symlink(path, link)
    with pytest.raises(log_redact.RedactError):
        log_redact.redact_file(link, log_redact.SubjectMatcher(SUBJECT))
    with pytest.raises(log_redact.RedactError):
        log_redact.redact_file(str(tmp_path), log_redact.SubjectMatcher(SUBJECT))
    with pytest.raises(log_redact.RedactError):
        log_redact.redact_file(path, log_redact.DebugMatcher(), mode='mask')
    with pytest.raises(log_redact.RedactError):
        log_redact.SubjectMatcher(Subject.from_params(logins=['redacted']), b'[redacted]')


def debug_table():
    """The debug patterns of log_redact's debug_traces mode: the engine's own and every service's
    (the service descriptors, as the log_redact module assembles them)."""
    return service.debug_patterns(service_catalog.SERVICES, log_redact.DEBUG_PATTERNS)


def test_debug_patterns_each_documented_example(tmp_path):
    keep = [b'dovecot: imap-login: Login: user=<x>, method=PLAIN', b'password=<hidden>',
            b'1 > 334 VXNlcm5hbWU6', b'1 > 235 ok', b'1 < MAIL FROM:<a@b.example>']
    drop = [b'dovecot: auth: Debug: client in: AUTH\t1\tPLAIN\tresp=AGFubgBzZWNyZXQ=',
            b'dovecot: auth-worker(12): Info: passdb lookup failed, password mismatch',
            b'imapd: LOGIN: DEBUG: ip=[::ffff:192.0.2.1], username=ann',
            b'authdaemond: supplied password does not match encrypted password',
            b'vchkpw: clearpasswd=secret', b'1 < AUTH PLAIN AGFubgBzZWNyZXQ=', b'1 < AUTH LOGIN',
            b'1 < YW5u', b'1 < c2VjcmV0', b'2 < PASS secret', b'3 < a1 LOGIN ann secret',
            b"dovecot: auth: passwd-file(ann): Password mismatch (given password: secret)"]
    lines = [drop[0], keep[0], drop[1], keep[1], drop[2], drop[3], drop[4], drop[5], drop[6],
             keep[2], drop[7], drop[8], keep[3], keep[4], drop[9], drop[10], drop[11]]
    path = str(tmp_path / 'debug.log')
    write(path, b'\n'.join(lines) + b'\n')
    res = log_redact.redact_file(path, log_redact.DebugMatcher(patterns=debug_table()), live=False)
    assert res['lines_changed'] == len(drop)
    assert read(path) == b'\n'.join([lines[1], lines[3], lines[9], lines[12], lines[13]]) + b'\n'
    names = [p[0] for p in debug_table()]
    assert len(set(names)) == len(names)


def test_debug_patterns_keep_sudo_working_directory_but_not_pwd_values(tmp_path):
    """sudo logs 'PWD=/home/x' (the working directory) and PAM 'pam_unix(passwd:chauthtok)':
    no password. A pwd= value that is one is still removed, whatever its case or first
    character."""
    keep = [b'sudo: bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/ls',
            b'passwd[5]: pam_unix(passwd:chauthtok): password changed for bob',
            b'sshd[7]: pam_unix(passwd:session): session opened']
    drop = [b'vpopmail: pwd=/secret', b'app: Pwd=/x', b'app: PWD= hunter2', b'app: PWD=hunter2',
            b'app: passwd:chauthtok2']
    path = str(tmp_path / 'auth.log')
    write(path, b'\n'.join(keep + drop) + b'\n')
    res = log_redact.redact_file(path, log_redact.DebugMatcher(patterns=debug_table()), live=False)
    assert res['lines_changed'] == len(drop) and read(path) == b'\n'.join(keep) + b'\n'


# ------------------------------------------------------------------ plain writer (issue 6, speed)
# The plain rename path writes through log_redact._PlainWriter (aligned buffers, O_DIRECT where
# the file system allows it, a writer thread). These tests hold its output to a plain
# reference: the bytes must be exactly those of a simple line-by-line implementation.
RAW_PART = st.one_of(st.sampled_from([s.encode() for s in OWN + LOOKALIKES]),
                     st.sampled_from([b' ', b'\r', b'@', b'.', b'<', b'>', b'+x', b'\xff\xfe', b'ann',
                                      b'192.0.2.', b'example.com']),
                     st.binary(max_size=12).filter(lambda b: b'\n' not in b))
RAW_LINE = st.lists(RAW_PART, max_size=12).map(b''.join)


def reference_redact(data, subject, mode, token=b'[redacted]'):
    """The redaction written the simplest way: split at LF, test each line with the subject's
    regex, drop it or replace each identifier by the token. Returns (bytes, matched lines)."""
    regex = subject.regex()
    out = []
    matched = 0
    for line in re.findall(rb'[^\n]*\n|[^\n]+\Z', data):
        if regex.search(line) is None:
            out.append(line)
            continue
        matched += 1
        if mode == 'mask':
            out.append(regex.sub(lambda _m: token, line))
    return b''.join(out), matched


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(RAW_LINE, max_size=300), newline_at_end=st.booleans(),
       mode=st.sampled_from(['remove', 'mask']), chunk=st.sampled_from([16, 333, 4096, 1 << 20]),
       buffer_blocks=st.sampled_from([1, 2, 256]), direct=st.booleans())
def test_plain_output_is_byte_identical_to_the_reference(tmp_path, monkeypatch, lines, newline_at_end,
                                                         mode, chunk, buffer_blocks, direct):
    monkeypatch.setattr(log_redact, 'CHUNK', chunk)
    monkeypatch.setattr(log_redact, 'WRITE_BUFFER', buffer_blocks * log_redact.DIRECT_BLOCK)
    if not direct:
        monkeypatch.delattr(os, 'O_DIRECT', raising=False)
    # a first line of text: random bytes could start with a gzip/bzip2/xz magic
    data = b'\n'.join([b'log start'] + lines) + (b'\n' if newline_at_end else b'')
    path = str(tmp_path / 'ref.log.1')
    write(path, data)
    expected, matched = reference_redact(data, SUBJECT, mode)
    res = log_redact.redact_file(path, log_redact.SubjectMatcher(SUBJECT, b'[redacted]'), mode=mode)
    assert res == {'lines_matched': matched, 'lines_changed': matched, 'changed': matched > 0}
    assert read(path) == (expected if matched else data)
    assert not [n for n in os.listdir(str(tmp_path)) if n.startswith('.mailprivacy-redact.')]
    monkeypatch.undo()
    os.unlink(path)


# large pieces (a pattern repeated to up to 20000 bytes) without hypothesis' large-data cost
BIG_PIECE = st.tuples(st.binary(min_size=1, max_size=7), st.integers(0, 20000)).map(
    lambda t: (t[0] * (t[1] // len(t[0]) + 1))[:t[1]])


def _fd_flags(fd):
    return fcntl.fcntl(fd, fcntl.F_GETFL)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.one_of(st.binary(max_size=300), BIG_PIECE), max_size=12),
       fault=st.sampled_from([None, 'einval', 'short']))
def test_plain_writer_writes_every_piece_in_order(tmp_path, monkeypatch, pieces, fault):
    """Whatever the piece sizes, direct or not, refused or short direct writes: the file holds
    the pieces joined, and O_DIRECT is off again after close."""
    monkeypatch.setattr(log_redact, 'WRITE_BUFFER', 2 * log_redact.DIRECT_BLOCK)
    path = str(tmp_path / 'out.tmp')
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    real_write = os.write
    o_direct = getattr(os, 'O_DIRECT', 0)
    seen = []

    def fake_write(target, data):
        if target != fd:
            return real_write(target, data)
        flags = _fd_flags(fd)
        direct = bool(flags & o_direct)
        seen.append((direct, len(data)))
        if threading.current_thread() is not threading.main_thread():
            time.sleep(0.002)  # a slow disk: the next buffer fills while this one is written
        if direct and fault == 'einval':
            raise OSError(errno.EINVAL, 'refused')
        if direct and fault == 'short' and len(data) > 1:
            # a short write of an unaligned count (as at ENOSPC): the rest is unaligned
            fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~o_direct)
            try:
                return real_write(target, memoryview(data)[:len(data) // 2 + 1])
            finally:
                fcntl.fcntl(fd, fcntl.F_SETFL, flags)
        return real_write(target, data)

    monkeypatch.setattr(os, 'write', fake_write)
    try:
        writer = log_redact._PlainWriter(fd)  # pylint: disable=protected-access
        try:
            for piece in pieces:
                writer.write(piece)
            writer.close()
        finally:
            writer.release()
        assert not _fd_flags(fd) & o_direct if o_direct else True
    finally:
        os.close(fd)
        monkeypatch.undo()
    with open(path, 'rb') as handle:
        assert handle.read() == b''.join(pieces)
    if writer.bufs[0].closed is not True:
        raise AssertionError('buffers not released')
    total = sum(len(p) for p in pieces)
    if o_direct and fault is None and total >= 2 * log_redact.DIRECT_BLOCK and seen and seen[0][0] is False:
        pytest.skip('this file system refuses O_DIRECT: only the fallback was exercised')
    if o_direct and fault is not None and any(d for d, _n in seen):
        # after the first refused or short direct write everything else is written buffered
        first = [d for d, _n in seen].index(True)
        assert not any(d for d, _n in seen[first + 1:])
    os.unlink(path)


def test_plain_writer_uses_o_direct_for_whole_buffers(tmp_path, monkeypatch):
    if not getattr(os, 'O_DIRECT', 0):
        pytest.skip('no O_DIRECT on this platform')
    monkeypatch.setattr(log_redact, 'WRITE_BUFFER', 4 * log_redact.DIRECT_BLOCK)
    fd = os.open(str(tmp_path / 'd.tmp'), os.O_RDWR | os.O_CREAT, 0o600)
    real_write = os.write
    seen = []

    def spy(target, data):
        if target == fd:
            seen.append((bool(_fd_flags(fd) & os.O_DIRECT), len(data)))
        return real_write(target, data)

    monkeypatch.setattr(os, 'write', spy)
    try:
        writer = log_redact._PlainWriter(fd)  # pylint: disable=protected-access
        if not writer.direct:
            writer.release()
            pytest.skip('this file system refuses O_DIRECT')
        try:
            writer.write(b'x' * (9 * log_redact.DIRECT_BLOCK + 100))
            writer.close()
        finally:
            writer.release()
    finally:
        os.close(fd)
    size = 4 * log_redact.DIRECT_BLOCK
    assert seen == [(True, size), (True, size), (True, log_redact.DIRECT_BLOCK), (False, 100)]
    assert os.path.getsize(str(tmp_path / 'd.tmp')) == 9 * log_redact.DIRECT_BLOCK + 100


def test_write_error_in_the_writer_thread_leaves_the_file_untouched(tmp_path, monkeypatch):
    monkeypatch.setattr(log_redact, 'WRITE_BUFFER', log_redact.DIRECT_BLOCK)
    path = str(tmp_path / 'full.log.1')
    data = b''.join(b'%06d bob@example.org some text\n' % i for i in range(2000)) + b'x ann@example.com\n'
    write(path, data)
    before = os.stat(path)
    real_write = os.write
    calls = []

    def failing(target, buf):
        try:
            name = os.readlink('/proc/self/fd/%d' % target)
        except OSError:
            name = ''
        if log_redact.TMP_PREFIX in name:
            calls.append(len(buf))
            if len(calls) == 3:
                raise OSError(errno.ENOSPC, 'No space left on device')
        return real_write(target, buf)

    monkeypatch.setattr(os, 'write', failing)
    with pytest.raises(log_redact.RedactError) as info:
        log_redact.redact_file(path, log_redact.SubjectMatcher(SUBJECT), live=False)
    monkeypatch.undo()
    assert 'errno %d' % errno.ENOSPC in str(info.value)
    assert len(calls) >= 3
    assert read(path) == data and os.stat(path).st_ino == before.st_ino
    assert not [n for n in os.listdir(str(tmp_path)) if n.startswith('.mailprivacy-redact.')]


# ------------------------------------------------------------------------------ issue 12: forms real logs hold
REAL_OWN = [
    b'Nov 23 10:00:01 mx1 imapd: LOGIN FAILED, user=nobody, ip=[::ffff:192.0.2.7], port=[51234]',
    b'Nov 23 10:00:02 mx1 dovecot: imap-login: Login: user=<bob@example.org>, method=PLAIN, rip=2001:db8::7, lip=2001:db8::25',
    b'192.0.2.9 - - [23/Nov/2026:10:00:03 +0100] "GET /horde/imp/compose.php?to=ann%40example.com HTTP/1.1" 200 88',
    b'192.0.2.9 - - [23/Nov/2026:10:00:04 +0100] "GET /horde/services/go.php?url=mailto%3AANN%2Btag%40example.com HTTP/1.1" 302 0',
    b'@400000006560a1b20a1b2c3d starting delivery 12: msg 4711 to local example.com-ann@example.com',
    b'Nov 23 10:00:05 mx1 courieresmtpd: error,relay=::ffff:198.51.100.7,port=25,msg="550 User unknown.",'
    b'cmd: RCPT TO:<"ann"@example.com>',
    b'Nov 23 10:00:06 mx1 postfix/smtp[11]: 4A7: to=<Ann@Example.com>, relay=mx, status=sent',
]
REAL_OTHERS = [
    b'Nov 23 10:00:11 mx1 imapd: LOGIN FAILED, user=nobody, ip=[::ffff:192.0.2.70], port=[51234]',
    b'Nov 23 10:00:12 mx1 dovecot: imap-login: Login: user=<bob@example.org>, method=PLAIN, rip=2001:db8::70, lip=2001:db8::25',
    b'192.0.2.9 - - [23/Nov/2026:10:00:13 +0100] "GET /horde/imp/compose.php?to=joann%40example.com HTTP/1.1" 200 88',
    b'@400000006560a1b20a1b2c3f starting delivery 13: msg 4712 to local example.com-joann@example.com',
    b'Nov 23 10:00:14 mx1 postfix/smtp[11]: 4A8: to=<ann-marie@example.com>, relay=mx, status=sent',
    b'Nov 23 10:00:15 mx1 courieresmtpd: error,relay=::ffff:198.51.100.7,port=25,msg="550 User unknown.",'
    b'cmd: RCPT TO:<"joe ann"@example.com>',
]


@pytest.mark.parametrize('kind', [None, 'gz'])
def test_real_log_forms_are_redacted_and_no_other_line_changes(tmp_path, kind):
    subject = Subject.from_params(addresses=['ann@example.com'], ips=['::ffff:192.0.2.7', '2001:0db8::0007'],
                                  qmail_virtualdomains=['example.com:example.com'])
    lines = [line for pair in zip(REAL_OWN, REAL_OTHERS + [b'']) for line in pair if line]
    path = str(tmp_path / ('mail.log.1' + ('.gz' if kind else '')))
    write(path, b'\n'.join(lines) + b'\n', kind)
    res = log_redact.redact_file(path, log_redact.SubjectMatcher(subject), mode='remove')
    assert res['lines_matched'] == len(REAL_OWN)
    assert read(path, kind) == b'\n'.join(REAL_OTHERS) + b'\n'


def test_one_redaction_path_for_the_store_and_the_module(tmp_path):
    """LogStore.redact (the path of LogStore.erase and of the log_redact module): every found
    file through redact_logfile with a matcher per file, a refused file reported by its
    problem text (no path) and left untouched, the others redacted."""
    logdir = tmp_path / 'log'
    logdir.mkdir()
    own = b'x to=<ann@example.com>\n'
    other = b'x to=<joann@example.com>\n'
    write(str(logdir / 'mail.log.1'), own + other)
    write(str(logdir / 'mail.log.2.gz'), own + other + own, 'gz')
    write(str(logdir / 'mail.log.3'), own + other)
    os.link(str(logdir / 'mail.log.3'), str(tmp_path / 'elsewhere'))
    store = LogStore({'paths': [str(logdir) + '/mail.log*']})
    made = []

    def make_matcher():
        made.append(log_redact.SubjectMatcher(SUBJECT))
        return made[-1]

    files, outcomes = store.redact(make_matcher, 'remove', check_mode=True)
    assert [f.name for f in files] == ['mail.log.1', 'mail.log.2.gz', 'mail.log.3']
    assert [(f.name, o and o['lines_matched'], e and 'hard link' in e) for f, o, e in outcomes] == [
        ('mail.log.1', 1, None), ('mail.log.2.gz', 2, None), ('mail.log.3', None, True)]
    assert len(made) == 3
    assert all(str(tmp_path) not in e for _f, _o, e in outcomes if e)
    assert read(str(logdir / 'mail.log.1')) == own + other                 # check mode: untouched
    _files, outcomes = store.redact(make_matcher, 'remove')
    assert [o and o['lines_changed'] for _f, o, _e in outcomes] == [1, 2, None]
    assert read(str(logdir / 'mail.log.1')) == other
    assert read(str(logdir / 'mail.log.2.gz'), 'gz') == other
    assert read(str(logdir / 'mail.log.3')) == own + other                 # refused: untouched
    res = store.erase(SUBJECT, check_mode=True)
    assert res['found'] == 0 and 'hard link' in res['reason']


# ------------------------------------------------------------------------------ parallel gzip output
def _gzip_members(raw):
    """The decompressed members of a gzip file, one by one."""
    out = []
    while raw:
        dec = zlib.decompressobj(31)
        out.append(dec.decompress(raw) + dec.flush())
        assert dec.eof
        raw = dec.unused_data
    return out


def test_gzip_redaction_writes_independent_members_in_parallel_readable_by_every_reader(tmp_path, monkeypatch):
    monkeypatch.setattr(log_redact, 'GZIP_BLOCK', 64 * 1024)
    monkeypatch.setattr(log_redact, 'GZIP_THREADS', 3)
    lock = threading.Lock()
    running = [0, 0]
    real_member = log_redact._gzip_member  # pylint: disable=protected-access

    def slow_member(data):
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        time.sleep(0.02)
        try:
            return real_member(data)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(log_redact, '_gzip_member', slow_member)
    lines = [b'Nov 23 10:00:%02d mx1 postfix/smtp[%d]: to=<%s>, status=sent' % (
        i % 60, i, b'ann@example.com' if i % 7 == 0 else b'user%d@example.org' % i) for i in range(40000)]
    path = str(tmp_path / 'mail.log.2.gz')
    write(path, b'\n'.join(lines) + b'\n', 'gz')
    res = log_redact.redact_file(path, log_redact.SubjectMatcher(SUBJECT))
    expected = b''.join(line + b'\n' for line in lines if b'ann@' not in line)
    assert res['lines_matched'] == len([line for line in lines if b'ann@' in line])
    raw = open(path, 'rb').read()
    members = _gzip_members(raw)
    assert len(members) >= 10 and b''.join(members) == expected
    assert max(len(m) for m in members) == 64 * 1024                # one block of input each
    assert running[1] >= 2                                      # deflated at the same time
    assert read(path, 'gz') == expected                         # Python's gzip reader
    assert b''.join(bytes(c) for c in log_engine.iter_file_chunks(path, 65536, 'auto')) == expected
    assert subprocess.run(['gzip', '-t', path], check=False).returncode == 0
    assert subprocess.run(['zcat', path], stdout=subprocess.PIPE, check=True).stdout == expected
    assert log_redact.redact_file(path, log_redact.SubjectMatcher(SUBJECT))['changed'] is False


def test_a_deflate_error_in_a_thread_leaves_the_gzip_file_untouched(tmp_path, monkeypatch):
    monkeypatch.setattr(log_redact, 'GZIP_BLOCK', 16 * 1024)
    monkeypatch.setattr(log_redact, 'GZIP_THREADS', 2)
    calls = []
    real_member = log_redact._gzip_member  # pylint: disable=protected-access

    def failing_member(data):
        calls.append(len(data))
        if len(calls) == 3:
            raise MemoryError()
        return real_member(data)

    monkeypatch.setattr(log_redact, '_gzip_member', failing_member)
    path = str(tmp_path / 'mail.log.3.gz')
    data = b''.join(b'line %d to=<%s>\n' % (i, b'ann@example.com' if i % 5 == 0 else b'bob@example.org')
                    for i in range(20000))
    write(path, data, 'gz')
    before = open(path, 'rb').read()
    with pytest.raises(MemoryError):
        log_redact.redact_file(path, log_redact.SubjectMatcher(SUBJECT))
    assert open(path, 'rb').read() == before
    assert [n for n in os.listdir(str(tmp_path)) if n.startswith('.mailprivacy')] == []
