# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The log engine as root over directories other users own (issue 12): discovery and reading
from directory handles (a FIFO, a symbolic link or another file swapped in is refused and
counted, never followed, never opened blocking), no memory map of a file others can truncate,
and redaction that keeps ACLs, extended attributes and holes, refuses hard-linked files, checks
free space and never leaves a live file cut (injected ENOSPC and write errors). Real file
systems, real FIFOs, links owned by an unprivileged user, real processes."""

from __future__ import annotations

import bz2
import errno
import gzip
import hashlib
import json
import lzma
import mmap
import os
import signal
import stat
import struct
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fsops, log_engine, log_redact
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_logs import LogStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject

from log_races import (  # pylint: disable=import-error
    NOBODY,
    fifo_after_first_lstat,
    replace_by_copy,
    replace_by_fifo,
    run_bounded,
    swap_after,
    user_link,
)

ANN = Subject.from_params(addresses=['ann@example.com'], ips=['192.0.2.7'])
OWN = [b'Nov 23 10:00:01 mx1 postfix/smtp[1]: to=<ann@example.com>, status=sent\n',
       b'Nov 23 10:00:02 mx1 dovecot: imap-login: Login: user=<x>, rip=192.0.2.7, lip=10.0.0.1\n']
OTHER = [b'Nov 23 10:00:03 mx1 postfix/smtp[1]: to=<joann@example.com>, status=sent\n',
         b'Nov 23 10:00:04 mx1 postfix/smtp[1]: to=<bob@example.org>, status=sent\n',
         b'Nov 23 10:00:05 mx1 dovecot: imap-login: Login: user=<y>, rip=192.0.2.70, lip=10.0.0.1\n']
DATA = b''.join(OWN + OTHER)
KEPT = b''.join(OTHER)
OPENERS = {'gz': gzip.open, 'bz2': bz2.open, 'xz': lzma.open}

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='needs root (files owned by another user)')


def write(path, data, kind=None):
    path = str(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with OPENERS.get(kind, open)(path, 'wb') as handle:
        handle.write(data)
    return path


def read(path, kind=None):
    with OPENERS.get(kind, open)(str(path), 'rb') as handle:
        return handle.read()


def digest(path):
    with open(str(path), 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def temps(root):
    return [os.path.join(d, n) for d, _dirs, names in os.walk(str(root)) for n in names
            if n.startswith(log_redact.TMP_PREFIX)]


def operation(store, op, bundle):
    if op == 'locate':
        return lambda: store.locate(ANN)
    if op == 'export':
        return lambda: store.export(ANN, str(bundle))
    return lambda: store.erase(ANN, False)


@pytest.fixture
def bundle(tmp_path):
    path = tmp_path / 'bundle'
    path.mkdir(mode=0o700)
    return path


# ------------------------------------------------------------------------------ FIFOs
@pytest.mark.parametrize('op', ['locate', 'export', 'erase'])
def test_fifo_swapped_in_during_discovery_never_blocks(tmp_path, monkeypatch, bundle, op):
    """The file is listed as a regular file, then a FIFO takes its place before it is opened:
    the store opens it without blocking, refuses it and counts it; the other file is done."""
    root = tmp_path / 'log'
    write(root / 'mail.log', DATA)
    target = write(root / 'mail.log.1', DATA)
    store = LogStore({'paths': [str(root / 'mail.log*')]})
    state = fifo_after_first_lstat(monkeypatch, target)
    res = run_bounded(operation(store, op, bundle), [target])
    monkeypatch.undo()
    assert state['fired'] and stat.S_ISFIFO(os.lstat(target).st_mode)
    assert '1 files replaced during the scan skipped' in res['reason']
    assert res['detail']['live'] == 2 and res['detail']['rotated'] == 0
    assert str(tmp_path) not in json.dumps(res)


@pytest.mark.parametrize('op', ['locate', 'export', 'erase'])
def test_fifo_swapped_in_after_discovery_is_refused_promptly(tmp_path, monkeypatch, bundle, op):
    root = tmp_path / 'log'
    write(root / 'mail.log', DATA)
    target = write(root / 'mail.log.1', DATA)
    store = LogStore({'paths': [str(root / 'mail.log*')]})
    swap_after(monkeypatch, store, 'files', lambda: replace_by_fifo(target))
    res = run_bounded(operation(store, op, bundle), [target])
    assert 'not a regular file' in res['reason'] or 'not regular files' in res['reason']
    assert res['detail']['live'] == 2 and res['detail']['rotated'] == 0


def test_fifo_in_the_globs_is_counted(tmp_path):
    root = tmp_path / 'log'
    write(root / 'mail.log', DATA)
    os.mkfifo(str(root / 'mail.log.1'))
    res = run_bounded(lambda: LogStore({'paths': [str(root / 'mail.log*')]}).locate(ANN), [str(root / 'mail.log.1')])
    assert res['found'] == 2 and res['reason'] == '1 files that are not regular files skipped'


# ------------------------------------------------------------------------------ swaps
@pytest.mark.parametrize('op', ['locate', 'erase'])
def test_file_replaced_after_discovery_is_refused(tmp_path, monkeypatch, bundle, op):
    root = tmp_path / 'log'
    write(root / 'mail.log', DATA)
    target = write(root / 'mail.log.1', b''.join(OTHER))
    store = LogStore({'paths': [str(root / 'mail.log*')]})
    swap_after(monkeypatch, store, 'files', lambda: replace_by_copy(target, DATA * 3))
    res = run_bounded(operation(store, op, bundle))
    assert 'replaced since' in res['reason']
    assert res['detail'] == {'live': 2, 'rotated': 0, 'compressed': 0, 'multilog': 0}
    assert read(target) == DATA * 3  # the file that was not the one found is left alone


def _secret_dir(tmp_path, names, canary):
    """A root-only directory with root-only logs that carry the subject and a canary."""
    secret = tmp_path / 'secret'
    secret.mkdir(mode=0o700)
    for name in names:
        path = write(secret / name, DATA + canary + b'\n' + DATA)
        os.chmod(path, 0o600)
    return secret


def _state(directory):
    out = {}
    for dirpath, _dirs, names in os.walk(str(directory)):
        for name in names:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            out[full] = (st.st_ino, st.st_uid, st.st_mode, st.st_size, st.st_mtime_ns, digest(full))
    return out


def _no_canary_in_user_files(top, canary):
    for dirpath, _dirs, names in os.walk(str(top)):
        for name in names:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            if st.st_uid == NOBODY and stat.S_ISREG(st.st_mode):
                assert canary not in read(full), 'a file the user owns holds root-only data'


@needs_root
@pytest.mark.parametrize('op', ['locate', 'export', 'erase'])
def test_directory_swapped_for_a_link_after_discovery_is_refused(tmp_path, monkeypatch, bundle, op):
    """qmaill owns /var/log/qmail: after discovery it swaps a subdirectory for a link to a
    root-only directory holding files of the same names. Nothing there is read or written."""
    canary = b'CANARY-%s' % os.urandom(8).hex().encode()
    names = ['@400000006543a1b2c3d4e5f6.s', 'current']
    secret = _secret_dir(tmp_path, names, canary)
    qmail = tmp_path / 'log' / 'qmail'
    for name in names:
        write(qmail / 'smtpd' / name, DATA)
    for path in (qmail, qmail / 'smtpd'):
        os.chown(str(path), NOBODY, NOBODY)
    before = _state(secret)
    store = LogStore({'paths': [str(qmail / '**')]})

    def swap():
        os.rename(str(qmail / 'smtpd'), str(qmail / 'smtpd.real'))
        user_link(str(secret), str(qmail / 'smtpd'))

    swap_after(monkeypatch, store, 'files', swap)
    res = run_bounded(operation(store, op, bundle))
    assert res['found'] == 0
    assert 'symbolic link' in res['reason'] and str(tmp_path) not in res['reason']
    assert _state(secret) == before
    assert [read(qmail / 'smtpd.real' / n) for n in names] == [DATA, DATA]
    _no_canary_in_user_files(tmp_path, canary)
    if op == 'export':
        assert res['files'] == []


@needs_root
def test_user_link_in_the_static_root_is_not_followed(tmp_path):
    """A pattern whose fixed part passes through a link that a user owns: nothing below it is
    read (the old glob + realpath check followed such a link)."""
    canary = b'CANARY-%s' % os.urandom(8).hex().encode()
    secret = _secret_dir(tmp_path, ['current'], canary)
    qmail = tmp_path / 'log' / 'qmail'
    qmail.mkdir(parents=True)
    os.chown(str(qmail), NOBODY, NOBODY)
    user_link(str(secret), str(qmail / 'smtpd'))
    before = _state(secret)
    store = LogStore({'paths': [str(qmail / 'smtpd' / '*')]})
    res = store.locate(ANN)
    assert res['found'] == 0 and res['reason'].endswith('(1 paths behind a symbolic link skipped)')
    assert store.erase(ANN, False)['erased'] == 0
    assert _state(secret) == before


@needs_root
def test_redact_file_refuses_a_path_through_a_user_link(tmp_path):
    secret = _secret_dir(tmp_path, ['mail.log.1'], b'CANARY')
    logs = tmp_path / 'logs'
    logs.mkdir()
    os.chown(str(logs), NOBODY, NOBODY)
    user_link(str(secret), str(logs / 'sub'))
    before = _state(secret)
    with pytest.raises(log_redact.RedactError, match='symbolic link'):
        log_redact.redact_file(str(logs / 'sub' / 'mail.log.1'), log_redact.SubjectMatcher(ANN))
    assert _state(secret) == before


def test_hidden_names_are_not_matched_by_wildcards(tmp_path):
    """glob's rule kept by the handle walk: '*' and '**' never match a name starting with '.'
    (the engine's own temporary files), a pattern component starting with '.' does."""
    root = tmp_path / 'log'
    write(root / 'qmail' / 'current', DATA)
    write(root / 'qmail' / '.mailprivacy-redact.x.tmp', DATA)
    write(root / 'qmail' / '.hidden' / 'current', DATA)
    write(root / '.mail.log', DATA)
    found = sorted(os.path.relpath(f.path, str(root)) for f in
                   LogStore({'paths': [str(root / 'qmail' / '**'), str(root / '*')]}).files())
    assert found == ['qmail/current']
    assert [os.path.basename(f.path) for f in LogStore({'paths': [str(root / '.mail*')]}).files()] == ['.mail.log']


# ------------------------------------------------------------------------------ reading
def test_mmap_option_is_accepted_and_no_file_is_mapped(tmp_path, monkeypatch):
    real = mmap.mmap

    def no_file_maps(fileno, *args, **kwargs):
        if fileno != -1:
            raise AssertionError('a log file was memory-mapped')
        return real(fileno, *args, **kwargs)

    root = tmp_path / 'log'
    write(root / 'mail.log.1', DATA * 1000)
    write(root / 'qmail' / '@400000006543a1b2c3d4e5f6.s', DATA)
    monkeypatch.setattr(mmap, 'mmap', no_file_maps)
    for value in (True, False):
        res = LogStore({'paths': [str(root / '**')], 'mmap': value}).locate(ANN)
        assert res['found'] == 2002 and res['reason'] == ''


def test_file_truncated_while_read_is_a_problem_not_a_crash(tmp_path, monkeypatch):
    """The owner truncates a rotated file while it is scanned: a reported problem, the process
    lives (a memory map of it would have been killed by SIGBUS)."""
    path = write(tmp_path / 'mail.log.1', (DATA + b''.join(OTHER) * 20) * 4000)
    assert os.path.getsize(path) > 16 * 1024 * 1024
    real_hits = log_engine.LineMatcher.hits
    state = {'done': False}

    def truncating_hits(self, buf, start=0, end=None):
        if not state['done']:
            state['done'] = True
            os.truncate(path, 4096)
        return real_hits(self, buf, start, end)

    monkeypatch.setattr(log_engine.LineMatcher, 'hits', truncating_hits)
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 3
        try:
            os.close(rfd)
            res = LogStore({'paths': [path], 'workers': 1}).locate(ANN)
            os.write(wfd, json.dumps(res['reason']).encode())
            code = 0
        finally:
            os._exit(code)  # pylint: disable=protected-access
    os.close(wfd)
    out = b''
    while True:
        more = os.read(rfd, 4096)
        if not more:
            break
        out += more
    os.close(rfd)
    _pid, status = os.waitpid(pid, 0)
    assert not os.WIFSIGNALED(status), 'killed by signal %d' % os.WTERMSIG(status)
    assert os.WEXITSTATUS(status) == 0
    assert json.loads(out) == '1 files truncated while they were read (counted up to the truncation)'


def test_iter_file_chunks_reads_from_the_handle_it_is_given(tmp_path):
    path = write(tmp_path / 'x.gz', DATA, 'gz')
    fd, _st = fsops.open_path(path)
    try:
        os.unlink(path)  # the name is gone: the handle still reads the file it names
        assert b''.join(log_engine.iter_file_chunks(fd, 65536, 'auto')) == DATA
        assert b''.join(log_engine.iter_file_chunks(fd, 65536, 'gz')) == DATA  # again, from offset 0
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------ redaction: metadata
def _acl(entries):
    data = struct.pack('<I', 2)
    for tag, perm, ident in entries:
        data += struct.pack('<HHI', tag, perm, ident)
    return data


ANY = 0xFFFFFFFF
ACL = _acl([(0x01, 6, ANY), (0x02, 4, 1000), (0x04, 4, ANY), (0x10, 4, ANY), (0x20, 0, ANY)])


def _set_xattrs(path):
    try:
        os.setxattr(path, 'system.posix_acl_access', ACL)
        os.setxattr(path, 'user.mailprivacy', b'label')
    except OSError as err:
        pytest.skip('no ACL/xattr support here (errno %s)' % err.errno)


@pytest.mark.parametrize('kind', [None, 'gz', 'bz2', 'xz'])
def test_redacted_rotated_and_compressed_files_keep_acl_and_xattrs(tmp_path, kind):
    path = write(tmp_path / ('mail.log.2' + ('.' + kind if kind else '')), DATA * 50, kind)
    os.chmod(path, 0o640)
    _set_xattrs(path)
    acl = os.getxattr(path, 'system.posix_acl_access')
    before = os.stat(path)
    res = log_redact.redact_file(path, log_redact.SubjectMatcher(ANN))
    assert res['lines_changed'] == 100
    after = os.stat(path)
    assert after.st_ino != before.st_ino  # replaced by rename
    assert os.getxattr(path, 'system.posix_acl_access') == acl
    assert os.getxattr(path, 'user.mailprivacy') == b'label'
    assert (after.st_mode, after.st_uid, after.st_gid, after.st_mtime_ns) == (
        before.st_mode, before.st_uid, before.st_gid, before.st_mtime_ns)
    assert read(path, kind) == KEPT * 50
    assert temps(tmp_path) == []


def test_directory_default_acl_does_not_reach_the_redacted_file(tmp_path):
    """A file without an ACL in a directory with a default ACL: the temporary copy inherits the
    default ACL; the replaced file must not (the original's mode alone applies)."""
    directory = tmp_path / 'd'
    directory.mkdir()
    path = write(directory / 'mail.log.1', DATA)
    os.chmod(path, 0o600)
    default = _acl([(0x01, 7, ANY), (0x02, 7, 1000), (0x04, 5, ANY), (0x10, 7, ANY), (0x20, 5, ANY)])
    try:
        os.setxattr(str(directory), 'system.posix_acl_default', default)
    except OSError as err:
        pytest.skip('no ACL support here (errno %s)' % err.errno)
    assert 'system.posix_acl_access' not in os.listxattr(path)
    log_redact.redact_file(path, log_redact.SubjectMatcher(ANN))
    assert 'system.posix_acl_access' not in os.listxattr(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and read(path) == KEPT


def test_sparse_rotated_file_keeps_holes_and_content(tmp_path):
    path = str(tmp_path / 'mail.log.1')
    hole = 16 * 1024 * 1024
    head = DATA * 20
    tail = b'\n' + b''.join(OTHER) * 10 + DATA * 10
    with open(path, 'wb') as handle:
        handle.write(head)
        handle.seek(hole, os.SEEK_CUR)
        handle.write(tail)
    st = os.stat(path)
    if st.st_blocks * 512 >= hole:
        pytest.skip('this file system does not keep holes')
    logical = read(path)
    expected = b''.join(line for line in logical.splitlines(True) if not ANN.regex().search(line))
    res = log_redact.redact_file(path, log_redact.SubjectMatcher(ANN))
    assert res['lines_changed'] == 60
    assert read(path) == expected
    assert os.stat(path).st_blocks * 512 < 1024 * 1024, 'the hole was written out'


@pytest.mark.parametrize('name,check_mode', [('mail.log.1', False), ('mail.log', False), ('mail.log.1', True)])
def test_hard_linked_file_is_refused(tmp_path, name, check_mode):
    """A user may hard-link another file into their log directory: rewriting in place would
    change that other file, a rename would split the link. Refused, both names untouched."""
    path = write(tmp_path / 'logs' / name, DATA)
    other = str(tmp_path / 'elsewhere')
    os.link(path, other)
    with pytest.raises(log_redact.RedactError, match='hard link'):
        log_redact.redact_file(path, log_redact.SubjectMatcher(ANN), check_mode=check_mode)
    assert os.stat(path).st_ino == os.stat(other).st_ino and os.stat(path).st_nlink == 2
    assert read(path) == DATA and temps(tmp_path) == []


def test_store_counts_a_hard_linked_file_as_refused(tmp_path):
    root = tmp_path / 'log'
    write(root / 'mail.log', DATA)
    os.link(str(root / 'mail.log'), str(tmp_path / 'other'))
    res = LogStore({'paths': [str(root / 'mail.log*')]}).erase(ANN, False)
    assert res['erased'] == 0 and 'hard link' in res['reason']
    assert read(root / 'mail.log') == DATA


@pytest.mark.parametrize('live', [False, True])
def test_not_enough_free_space_refuses_before_writing(tmp_path, monkeypatch, live):
    path = write(tmp_path / 'mail.log.1', DATA * 100)
    before = os.stat(path)
    monkeypatch.setattr(fsops, 'free_bytes', lambda fd, reserved=True: 1024 * 1024)
    with pytest.raises(log_redact.RedactError, match='not enough free space'):
        log_redact.redact_file(path, log_redact.SubjectMatcher(ANN), live=live)
    after = os.stat(path)
    assert read(path) == DATA * 100 and (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert temps(tmp_path) == []


# ------------------------------------------------------------------------------ redaction: live files
HOLDER = textwrap.dedent('''
    import os, sys, time
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
    open(sys.argv[2], 'w').close()
    time.sleep(60)
''')


@pytest.fixture
def holder(tmp_path):
    """A process that holds the live file open for writing (so the engine pauses it)."""
    procs = []

    def start(path):
        ready = str(tmp_path / ('ready%d' % len(procs)))
        proc = subprocess.Popen([sys.executable, '-c', HOLDER, path, ready])
        procs.append(proc)
        deadline = time.monotonic() + 10
        while not os.path.exists(ready):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        return proc

    yield start
    for proc in procs:
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
        proc.wait()


def _proc_state(pid):
    with open('/proc/%d/stat' % pid, 'rb') as handle:
        data = handle.read()
    return data[data.rfind(b')') + 2:data.rfind(b')') + 3]


def _live_file(tmp_path, copies=2000):
    return write(tmp_path / 'mail.log', DATA * copies)


LONG_TOKEN = b'[redacted:this-token-is-much-longer-than-what-it-replaces]'


def test_masking_that_grows_a_live_file_with_enospc_from_reserve_leaves_it_identical(tmp_path, monkeypatch, holder):
    path = _live_file(tmp_path)
    proc = holder(path)
    before = os.stat(path)
    calls = []

    def no_space(fd, offset, length):
        calls.append((offset, length))
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(os, 'posix_fallocate', no_space)
    matcher = log_redact.SubjectMatcher(ANN, LONG_TOKEN)
    with pytest.raises(log_redact.RedactError, match='free space'):
        log_redact.redact_file(path, matcher, mode='mask')
    monkeypatch.undo()
    assert calls and calls[0][0] == before.st_size  # the growth, from the current end
    after = os.stat(path)
    assert read(path) == DATA * 2000
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    assert _proc_state(proc.pid) not in (b'T', b't'), 'the writer was left paused'
    assert temps(tmp_path) == []


def test_masking_that_grows_a_live_file_reserves_the_growth_first(tmp_path, monkeypatch, holder):
    path = _live_file(tmp_path, 50)
    holder(path)
    size = os.path.getsize(path)
    calls = []
    real = os.posix_fallocate

    def spy(fd, offset, length):
        calls.append((os.fstat(fd).st_ino, offset, length))
        return real(fd, offset, length)

    monkeypatch.setattr(os, 'posix_fallocate', spy)
    res = log_redact.redact_file(path, log_redact.SubjectMatcher(ANN, LONG_TOKEN), mode='mask')
    monkeypatch.undo()
    expected = (OWN[0].replace(b'ann@example.com', LONG_TOKEN) + OWN[1].replace(b'192.0.2.7', LONG_TOKEN)
                + b''.join(OTHER))
    assert res['lines_changed'] == 100 and read(path) == expected * 50
    assert calls == [(os.stat(path).st_ino, size, len(expected * 50) - size)]


class Interrupted(BaseException):
    """Stands for an exception that can arrive anywhere (KeyboardInterrupt, SystemExit)."""


def _failing_pwrite(monkeypatch, path, fails, exc):
    """os.pwrite raising ``exc`` for the live file ``path`` on the calls (numbered from 1) for
    which ``fails(number)`` is true."""
    ino = os.stat(path).st_ino
    real = os.pwrite
    count = [0]

    def fake(fd, data, offset):
        if os.fstat(fd).st_ino == ino:
            count[0] += 1
            if fails(count[0]):
                raise exc
        return real(fd, data, offset)

    monkeypatch.setattr(os, 'pwrite', fake)
    monkeypatch.setattr(log_redact, 'CHUNK', 64 * 1024)
    return count


@pytest.mark.parametrize('exc', [OSError(errno.EIO, 'I/O error'), Interrupted()], ids=['eio', 'interrupt'])
def test_failure_mid_copy_back_never_leaves_the_live_file_cut(tmp_path, monkeypatch, holder, exc):
    """A write error (or an exception) after the first piece was written back: the copy-back
    is done again from the complete temporary copy, so the file is whole and redacted."""
    path = _live_file(tmp_path)
    proc = holder(path)
    count = _failing_pwrite(monkeypatch, path, lambda n: n == 2, exc)
    matcher = log_redact.SubjectMatcher(ANN)
    if isinstance(exc, Interrupted):
        with pytest.raises(Interrupted):
            log_redact.redact_file(path, matcher)
    else:
        assert log_redact.redact_file(path, matcher)['lines_changed'] == 4000
    monkeypatch.undo()
    assert count[0] > 2
    assert read(path) == KEPT * 2000
    assert _proc_state(proc.pid) not in (b'T', b't')
    assert temps(tmp_path) == []


def test_persistent_copy_back_failure_keeps_the_redacted_copy(tmp_path, monkeypatch, holder):
    path = _live_file(tmp_path)
    proc = holder(path)
    _failing_pwrite(monkeypatch, path, lambda n: n >= 2, OSError(errno.EIO, 'I/O error'))
    with pytest.raises(log_redact.RedactError, match='kept beside it'):
        log_redact.redact_file(path, log_redact.SubjectMatcher(ANN))
    monkeypatch.undo()
    assert _proc_state(proc.pid) not in (b'T', b't')
    kept = [n for n in os.listdir(str(tmp_path)) if n.endswith(log_redact.KEPT_SUFFIX)]
    assert len(kept) == 1 and read(tmp_path / kept[0]) == KEPT * 2000
    st = os.stat(str(tmp_path / kept[0]))
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (os.geteuid(), 0o600)
    assert not [n for n in os.listdir(str(tmp_path)) if n.endswith(log_redact.TMP_SUFFIX)]


# ------------------------------------------------------------------------------ journal rewrite
@needs_root
def test_journal_temp_dir_is_never_made_through_a_user_link(tmp_path):
    """The journal rewrite's hidden temporary directory is created from a handle of the journal
    directory: a path through a link a user owns is refused, nothing is created behind it."""
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils import store_journal_rewrite as jr  # pylint: disable=import-outside-toplevel
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError  # pylint: disable=import-outside-toplevel
    target = tmp_path / 'elsewhere'
    (target / 'journal').mkdir(parents=True)
    owned = tmp_path / 'owned'
    owned.mkdir()
    os.chown(str(owned), NOBODY, NOBODY)
    user_link(str(target), str(owned / 'link'))
    with pytest.raises(StoreError):
        jr.JournalRewriter.temp_dir(str(owned / 'link' / 'journal'))
    assert os.listdir(str(target / 'journal')) == []
    good = tmp_path / 'journal'
    good.mkdir()
    assert jr.JournalRewriter.temp_dir(str(good)) == str(good / jr.TEMP_DIR)
    assert stat.S_IMODE(os.stat(str(good / jr.TEMP_DIR)).st_mode) == 0o700
