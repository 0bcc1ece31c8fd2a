# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the log stores and of the region scanner they share with redaction."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import lzma
import os
import stat
import threading
import zlib

import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import log_engine, store_logs
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError
from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fileutil
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.log_engine import (
    LineMatcher,
    category_of,
    iter_file_chunks,
    iter_regions,
    prefetch,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_journal import JournalStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_logs import (
    CATEGORIES,
    LogFile,
    LogStore,
    MAIL_LOG_PATHS,
    bundle_name,
    matches_pattern,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject

from fake_runner import FakeRunner

ANN = Subject.from_params(addresses=['ann@example.com'])

SUBJECT_LINES = [
    b'Nov 23 10:00:01 mx1 postfix/smtp[11]: 4A1: to=<ann@example.com>, relay=local, status=sent',
    b'Nov 23 10:00:02 mx1 dovecot: imap-login: Login: user=<ann@EXAMPLE.com>, method=PLAIN',
    b'Nov 23 10:00:03 mx1 postfix/qmgr[12]: 4A2: from=<ann+news@example.com>, size=1200',
]
OTHER_LINES = [
    b'Nov 23 10:00:04 mx1 postfix/smtp[11]: 4A3: to=<joann@example.com>, relay=local',
    b'Nov 23 10:00:05 mx1 postfix/smtp[11]: 4A4: to=<ann@example.com.evil>, relay=mx',
    b'Nov 23 10:00:06 mx1 postfix/smtp[11]: 4A5: to=<hartmann@example.com>, relay=mx',
    b'Nov 23 10:00:07 mx1 dovecot: imap(bob@example.org): Logged out in=10 out=200',
    b'Nov 23 10:00:08 mx1 postfix/smtp[11]: 4A6: to=<ann-marie@example.com>, relay=mx',
]


def log_text(subject_lines=1, other_lines=5, seed=0):
    """Lines in a fixed pseudo-random order; returns (bytes, number of subject lines)."""
    lines = []
    for i in range(other_lines):
        lines.append(OTHER_LINES[(i + seed) % len(OTHER_LINES)])
    for i in range(subject_lines):
        lines.insert((i * 7 + seed) % (len(lines) + 1), SUBJECT_LINES[i % len(SUBJECT_LINES)])
    return b'\n'.join(lines) + b'\n', subject_lines


def write(path, data, kind=None):
    path = str(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    opener = {'gz': gzip.open, 'bz2': bz2.open, 'xz': lzma.open}.get(kind, open)
    with opener(path, 'wb') as handle:
        handle.write(data)
    return path


# ------------------------------------------------------------------------------ matcher
def test_matcher_finds_subject_lines_only():
    data = b'\n'.join(SUBJECT_LINES + OTHER_LINES) + b'\n'
    hits = LineMatcher(ANN).hits(data)
    assert [data[s:e].rstrip(b'\n') for s, e in hits] == SUBJECT_LINES


def test_matcher_line_without_newline_and_several_hits_in_a_line():
    data = b'a ann@example.com b ann@example.com\nno\nlast ann@example.com'
    hits = LineMatcher(ANN).hits(data)
    assert hits == [(0, 36), (39, len(data))]


def test_matcher_domain_kind_and_folding():
    sub = Subject.from_params(domain='example.com')
    data = b'to=<x@EXAMPLE.COM>\nto=<y@example.com.evil>\nrelay=mx.example.com\nto=<z@Example.Com>\n'
    hits = LineMatcher(sub).hits(data)
    assert [data[s:e] for s, e in hits] == [b'to=<x@EXAMPLE.COM>\n', b'to=<z@Example.Com>\n']


def test_matcher_logins_and_ips():
    sub = Subject.from_params(logins=['ann'], ips=['192.0.2.1', '2001:db8::a'])
    data = (b'user=ann, rip=10.0.0.1\nuser=joann\nrip=192.0.2.10\nrip=192.0.2.1, x\n'
            b'rip=2001:DB8::A lip\nrip=2001:db8::ab\n')
    hits = LineMatcher(sub).hits(data)
    assert [data[s:e] for s, e in hits] == [
        b'user=ann, rip=10.0.0.1\n', b'rip=192.0.2.1, x\n', b'rip=2001:DB8::A lip\n']


_line = st.binary(max_size=60).map(lambda b: b.replace(b'\n', b' '))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.one_of(_line, st.sampled_from(SUBJECT_LINES + OTHER_LINES)), max_size=40),
       chunk=st.integers(min_value=1, max_value=200), trailing=st.booleans())
def test_property_regions_cover_every_byte_and_hit_exactly_the_regex_lines(lines, chunk, trailing):
    data = b'\n'.join(lines) + (b'\n' if trailing and lines else b'')
    chunks = [data[i:i + chunk] for i in range(0, len(data), chunk)]
    matcher = LineMatcher(ANN)
    joined = []
    found = []
    for buf, start, end, hits in iter_regions(chunks, matcher):
        joined.append(bytes(buf[start:end]))
        for s, e in hits:
            assert start <= s < e <= end
            found.append(bytes(buf[s:e]).rstrip(b'\n'))
    assert b''.join(joined) == data
    expected = [line for line in data.split(b'\n') if ANN.regex().search(line)]
    assert found == expected


# ------------------------------------------------------------------------------ files
def test_iter_file_chunks_every_format(tmp_path):
    data, _n = log_text(3, 2000)
    for kind in (None, 'gz', 'bz2', 'xz'):
        path = write(tmp_path / ('f.%s' % kind), data, kind)
        for reuse in (False, True):
            got = b''.join(bytes(c) for c in iter_file_chunks(path, 64 * 1024, 'auto', reuse=reuse))
            assert got == data, kind


def test_multi_member_gzip_and_multi_stream_bz2_xz(tmp_path):
    part1 = log_text(1, 50)[0]
    part2 = log_text(2, 50, seed=3)[0]
    gz = tmp_path / 'multi.gz'
    gz.write_bytes(gzip.compress(part1) + gzip.compress(part2))
    bz = tmp_path / 'multi.bz2'
    bz.write_bytes(bz2.compress(part1) + bz2.compress(part2))
    xz = tmp_path / 'multi.xz'
    xz.write_bytes(lzma.compress(part1) + lzma.compress(part2))
    for path in (gz, bz, xz):
        assert b''.join(iter_file_chunks(str(path), 65536, 'auto')) == part1 + part2


def test_large_compressed_output_is_bounded_per_chunk(tmp_path):
    data = (SUBJECT_LINES[0] + b'\n') * 200000  # ~18 MB, compresses to almost nothing
    for kind in ('gz', 'bz2', 'xz'):
        path = write(tmp_path / ('big.' + kind), data, kind)
        sizes = [len(c) for c in iter_file_chunks(path, 1 << 20, kind)]
        assert sum(sizes) == len(data)
        assert max(sizes) <= 1 << 20


def test_prefetch_passes_items_and_errors():
    assert list(prefetch(iter([b'a', b'b', b'c']))) == [b'a', b'b', b'c']

    def broken():
        yield b'x'
        raise OSError(5, 'boom')

    got = []
    with pytest.raises(OSError):
        for item in prefetch(broken()):
            got.append(item)
    assert got == [b'x']
    gen = prefetch(iter(range(1000)))
    assert next(gen) == 0
    gen.close()


@pytest.mark.parametrize('name,comp,expected', [
    ('/var/log/mail.log', None, 'live'),
    ('/var/log/mail.log.1', None, 'rotated'),
    ('/var/log/mail.log-20250101', None, 'rotated'),
    ('/var/log/mail.log.2.gz', 'gz', 'compressed'),
    ('/var/log/syslog.3.xz', 'xz', 'compressed'),
    ('/var/log/qmail/smtpd/current', None, 'multilog'),
    ('/var/log/qmail/send/@400000006543a1b2c3d4e5f6.s', None, 'multilog'),
    ('/var/log/qmail/send/@400000006543a1b2c3d4e5f6.u', None, 'multilog'),
    ('/var/log/dovecot.log', None, 'live'),
])
def test_category_of(name, comp, expected):
    assert category_of(name, comp) == expected


def test_matches_pattern():
    assert matches_pattern('/var/log/mail.log.1', '/var/log/mail.log*')
    assert not matches_pattern('/var/log/x/mail.log', '/var/log/mail.log*')
    assert matches_pattern('/var/log/qmail/send/current', '/var/log/qmail/**')
    assert matches_pattern('/var/log/horde/horde.log', '/var/log/horde/*.log*')
    assert not matches_pattern('/var/log/horde/sub/horde.log', '/var/log/horde/*.log*')


def make_tree(root):
    """A /var/log lookalike with every kind of source; returns {category: subject lines}."""
    counts = dict((c, 0) for c in CATEGORIES)
    specs = [
        ('mail.log', None, 'live', 3),
        ('mail.log.1', None, 'rotated', 2),
        ('mail.log.2.gz', 'gz', 'compressed', 4),
        ('mail.log.3.bz2', 'bz2', 'compressed', 1),
        ('mail.log.4.xz', 'xz', 'compressed', 2),
        ('syslog', None, 'live', 0),
        ('qmail/send/current', None, 'multilog', 2),
        ('qmail/send/@400000006543a1b2c3d4e5f6.s', None, 'multilog', 3),
        ('qmail/smtpd/@400000006543a1b2c3d4e5f7.s', None, 'multilog', 1),
    ]
    for i, (name, kind, cat, n) in enumerate(specs):
        data = log_text(n, 30, seed=i)[0]
        if cat == 'multilog':
            data = b''.join(b'@400000006543a1b2%08x ' % j + line + b'\n'
                            for j, line in enumerate(data.splitlines()))
        write(os.path.join(root, name), data, kind)
        counts[cat] += n
    # multilog control files are never read
    write(os.path.join(root, 'qmail/send/lock'), b'ann@example.com\n')
    write(os.path.join(root, 'qmail/send/state'), b'ann@example.com\n')
    return counts


def tree_store(root, **extra):
    opts = {'paths': [os.path.join(root, 'mail.log*'), os.path.join(root, 'syslog*'),
                      os.path.join(root, 'qmail/**')]}
    opts.update(extra)
    return LogStore(opts)


def test_compressed_files_are_inflated_in_a_reader_thread(tmp_path, monkeypatch):
    """Inflating releases the GIL: compressed files are always read through prefetch (the
    search overlaps with it); plain files only with the threads option."""
    expected = make_tree(str(tmp_path))
    used = []
    real = store_logs.prefetch

    def counting(gen, depth=3):
        used.append(threading.current_thread().name)
        return real(gen, depth)

    monkeypatch.setattr(store_logs, 'prefetch', counting)
    assert tree_store(str(tmp_path), workers=1).locate(ANN)['detail'] == expected
    assert len(used) == 3                                   # .gz, .bz2, .xz
    del used[:]
    assert tree_store(str(tmp_path), workers=1, threads=True).locate(ANN)['detail'] == expected
    assert len(used) == len(tree_store(str(tmp_path)).files())


def test_locate_counts_per_category(tmp_path):
    expected = make_tree(str(tmp_path))
    res = tree_store(str(tmp_path)).locate(ANN)
    assert res['store'] == 'logs' and res['units'] == 'lines' and res['available']
    assert res['detail'] == expected
    assert res['found'] == sum(expected.values()) == 18
    assert res['files'] == [] and res['reason'] == ''


def test_locate_with_reader_thread_and_small_chunks_gives_the_same(tmp_path):
    expected = make_tree(str(tmp_path))
    res = tree_store(str(tmp_path), threads=True, chunk_size=65536).locate(ANN)
    assert res['detail'] == expected


def test_locate_reads_nothing_it_should_not(tmp_path):
    make_tree(str(tmp_path))
    target = tmp_path / 'secret'
    write(target, b'ann@example.com\n' * 5)
    os.symlink(str(target), str(tmp_path / 'mail.log.9'))
    os.makedirs(str(tmp_path / 'elsewhere'))
    write(tmp_path / 'elsewhere' / 'current', b'ann@example.com\n' * 7)
    os.symlink(str(tmp_path / 'elsewhere'), str(tmp_path / 'qmail' / 'linked'))
    store = tree_store(str(tmp_path))
    res = store.locate(ANN)
    assert res['found'] == 18
    assert 'symbolic link' in res['reason']
    assert str(tmp_path) not in res['reason']


def test_locate_is_read_only(tmp_path):
    make_tree(str(tmp_path))
    before = {}
    for root, _dirs, files in os.walk(str(tmp_path)):
        for name in files:
            path = os.path.join(root, name)
            st = os.stat(path)
            before[path] = (st.st_mtime_ns, st.st_size, hashlib.sha256(open(path, 'rb').read()).hexdigest())
    tree_store(str(tmp_path)).locate(ANN)
    for path, state in before.items():
        st = os.stat(path)
        assert (st.st_mtime_ns, st.st_size, hashlib.sha256(open(path, 'rb').read()).hexdigest()) == state


@pytest.mark.parametrize('compress,garbage', [
    (gzip.compress, b'\x00garbage' * 100), (gzip.compress, b''), (bz2.compress, b''), (lzma.compress, b''),
])
def test_damaged_compressed_file_is_reported_not_fatal(tmp_path, compress, garbage):
    data = log_text(2, 3000)[0]
    blob = compress(data)
    (tmp_path / 'mail.log.2.gz').write_bytes(blob[:len(blob) // 2] + garbage)
    write(tmp_path / 'mail.log', log_text(1, 3)[0])
    res = LogStore({'paths': [str(tmp_path / 'mail.log*')]}).locate(ANN)
    assert res['detail']['live'] == 1
    assert 'damaged' in res['reason']


def test_unavailable_without_files(tmp_path):
    store = LogStore({'paths': [str(tmp_path / 'none*')]})
    assert store.available() == (False, 'no log file matches the configured paths')
    res = store.locate(ANN)
    assert res['available'] is False and res['found'] == 0


@pytest.mark.parametrize('opts', [
    {'paths': ['relative/*.log']}, {'extra_paths': ['/var/log/../etc/*']}, {'paths': '/var/log/*'},
    {'chunk_size': 10}, {'unknown': 1}, {'threads': 'yes'},
])
def test_bad_options(opts):
    with pytest.raises(StoreError):
        LogStore(opts)


def test_default_paths_are_debian_mail_logs():
    paths = LogStore().options['paths']
    for expected in ('/var/log/mail.log*', '/var/log/syslog*', '/var/log/dovecot*.log*',
                     '/var/log/horde/*.log*', '/var/log/qmail/**'):
        assert expected in paths
    assert LogStore({'extra_paths': ['/srv/log/*.log']}).options['paths'] == paths
    # PAM's lines for the mail logins and userdel's name the subject in Debian's auth,authpriv sink
    assert '/var/log/auth.log*' in paths and '/var/log/auth.log*' not in MAIL_LOG_PATHS
    assert set(MAIL_LOG_PATHS) < set(paths)


def test_auth_log_lines_of_the_subject_are_found_and_erased_others_kept(tmp_path):
    """The default pattern matched against a /var/log lookalike: PAM and userdel lines that
    name the subject go, the other users' and the system's stay (rotated and gzip too)."""
    auth = [b'2026-11-20T10:00:00 mx1 dovecot[9]: pam_unix(dovecot:auth): authentication failure; '
            b'logname= uid=0 euid=0 tty=dovecot ruser=ann rhost=192.0.2.7  user=ann',
            b'2026-11-20T10:00:01 mx1 userdel[10]: delete user \'ann\'',
            b'2026-11-20T10:00:02 mx1 sshd[11]: pam_unix(sshd:session): session opened for user joann(uid=1001)',
            b'2026-11-20T10:00:03 mx1 sudo: bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/ls',
            b'2026-11-20T10:00:04 mx1 CRON[12]: pam_unix(cron:session): session closed for user root']
    write(str(tmp_path / 'auth.log'), b'\n'.join(auth) + b'\n')
    write(str(tmp_path / 'auth.log.2.gz'), b'\n'.join(auth[1:]) + b'\n', 'gz')
    pattern = [p for p in LogStore().options['paths'] if p.startswith('/var/log/auth')][0]
    store = LogStore({'paths': [str(tmp_path) + pattern[len('/var/log'):]]})
    ann = Subject.from_params(addresses=['ann@example.com'], logins=['ann'])
    assert store.locate(ann)['detail'] == {'live': 2, 'rotated': 0, 'compressed': 1, 'multilog': 0}
    res = store.erase(ann, False)
    assert res['erased'] == 3 and store.locate(ann)['found'] == 0
    assert (tmp_path / 'auth.log').read_bytes() == b'\n'.join(auth[2:]) + b'\n'


def _tree_state(root):
    state = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            with fileutil.open_maybe_compressed(path, 'rb') as handle:
                state[os.path.relpath(path, root)] = handle.read().splitlines(True)
    return state


def test_erase_check_mode_counts_and_touches_nothing(tmp_path):
    expected = make_tree(str(tmp_path))
    before = _tree_state(str(tmp_path))
    mtimes = dict((p, os.stat(str(tmp_path / p)).st_mtime_ns) for p in before)
    res = tree_store(str(tmp_path)).erase(ANN, True)
    assert res['detail'] == expected and res['found'] == res['erased'] == 18
    assert _tree_state(str(tmp_path)) == before
    assert dict((p, os.stat(str(tmp_path / p)).st_mtime_ns) for p in before) == mtimes


def test_erase_removes_the_subject_lines_everywhere_and_nothing_else(tmp_path):
    expected = make_tree(str(tmp_path))
    before = _tree_state(str(tmp_path))
    res = tree_store(str(tmp_path)).erase(ANN, False)
    assert res['detail'] == expected and res['erased'] == 18 and res['reason'] == ''
    assert tree_store(str(tmp_path)).locate(ANN)['found'] == 0
    after = _tree_state(str(tmp_path))
    assert sorted(after) == sorted(before)
    scanned = set(os.path.relpath(f.path, str(tmp_path)) for f in tree_store(str(tmp_path)).files())
    assert len(scanned) > 5
    for rel, lines in before.items():
        if rel in scanned:
            assert after[rel] == [line for line in lines if not ANN.matches(line)], rel
        else:  # not a log (multilog lock/state, other files): never touched
            assert after[rel] == lines, rel
    # a second erasure finds and changes nothing
    again = tree_store(str(tmp_path)).erase(ANN, False)
    assert again['found'] == 0 and again['erased'] == 0
    assert _tree_state(str(tmp_path)) == after


# ------------------------------------------------------------------------------ export
def test_export_writes_matching_lines_per_source(tmp_path):
    root = tmp_path / 'log'
    expected = make_tree(str(root))
    bundle = tmp_path / 'bundle'
    bundle.mkdir(mode=0o700)
    res = tree_store(str(root)).export(ANN, str(bundle))
    assert res['detail'] == expected and res['found'] == 18
    assert len(res['files']) == 8  # every source with a hit, syslog has none
    total = 0
    for entry in res['files']:
        path = bundle / entry['path']
        assert entry['path'].startswith('logs/other/')  # not a default source: hashed names
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry['sha256'] and len(data) == entry['size']
        lines = data.splitlines()
        assert len(lines) == entry['count']
        for line in lines:
            assert ANN.regex().search(line)
            assert b'joann@' not in line and b'.evil' not in line
        total += entry['count']
    assert total == 18
    for dirpath, _dirs, _files in os.walk(str(bundle / 'logs')):
        assert stat.S_IMODE(os.stat(dirpath).st_mode) == 0o700


def test_export_names_default_sources_literally_and_hashes_user_named_paths(monkeypatch):
    plain = LogFile('/var/log/mail.log.2.gz', 'compressed', 'gz', 1, True)
    assert bundle_name(plain, ANN) == 'var/log/mail.log.2.gz.txt'
    multilog = LogFile('/var/log/qmail/send/@400000006543a1b2c3d4e5f6.s', 'multilog', None, 1, True)
    assert bundle_name(multilog, ANN) == 'var/log/qmail/send/@400000006543a1b2c3d4e5f6.s.txt'
    for path in ('/var/log/qmail/ann/current', '/var/log/qmail/ann@example.com/current',
                 '/var/log/horde/ann@example.com.log', '/var/log/qmail/a b/current'):
        named = LogFile(path, 'multilog', None, 1, True)
        name = bundle_name(named, Subject.from_params(addresses=['ann@example.com'], logins=['ann']))
        assert name.startswith('other/') and 'ann' not in name and name.endswith('.txt')
    custom = LogFile('/srv/logs/mail.log', 'live', None, 1, False)
    assert bundle_name(custom, ANN).startswith('other/')


def test_export_of_a_missing_bundle_dir_fails(tmp_path):
    make_tree(str(tmp_path / 'log'))
    with pytest.raises(StoreError):
        tree_store(str(tmp_path / 'log')).export(ANN, str(tmp_path / 'missing'))


def test_export_writes_no_file_without_hits(tmp_path):
    write(tmp_path / 'log' / 'mail.log', log_text(0, 20)[0])
    bundle = tmp_path / 'b'
    bundle.mkdir()
    res = LogStore({'paths': [str(tmp_path / 'log' / '*')]}).export(ANN, str(bundle))
    assert res['found'] == 0 and res['files'] == []
    assert not (bundle / 'logs').exists() or not any(os.scandir(str(bundle / 'logs')))


# ------------------------------------------------------------------------------ journal
def journal_runner(output, rc=0, present=True, export=b''):
    """journalctl: ``output`` (exit ``rc``) for the text lines, ``export`` for ``--output=export``."""
    return FakeRunner(streams={'journalctl': (rc, output), ('journalctl', '--no-pager', '--quiet', '--output=export'): export},
                      installed=None if present else ())


def test_journal_locate_and_export(tmp_path):
    out = (b'2025-01-01T10:00:00+0000 mx1 dovecot[1]: imap-login: Login: user=<ann@example.com>\n'
           b'2025-01-01T10:00:01+0000 mx1 dovecot[1]: imap-login: Login: user=<joann@example.com>\n'
           b'2025-01-01T10:00:02+0000 mx1 postfix/smtp[2]: to=<ann+x@example.com>')
    journal_dir = tmp_path / 'journal'
    journal_dir.mkdir()
    runner = journal_runner(out)
    store = JournalStore({'directories': [str(journal_dir)], 'args': ['--since', '2025-01-01']}, runner)
    res = store.locate(ANN)
    assert res['found'] == 2 and res['detail'] == {'journal': 2} and res['units'] == 'entries'
    assert runner.calls[0][:4] == ['/usr/bin/journalctl', '--no-pager', '--quiet', '--output=short-iso']
    assert runner.calls[0][-2:] == ['--since', '2025-01-01']
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    res = store.export(ANN, str(bundle))
    assert res['files'][0]['path'] == 'journal/journal.txt'
    lines = (bundle / 'journal' / 'journal.txt').read_bytes().splitlines()
    assert len(lines) == 2 and all(b'joann' not in line for line in lines)
    # no entry in the export stream: no entries file
    assert [f['path'] for f in res['files']] == ['journal/journal.txt']
    assert runner.calls[-1] == ['/usr/bin/journalctl', '--no-pager', '--quiet', '--output=export',
                                '--since', '2025-01-01']


ANN_LOGIN = Subject.from_params(addresses=['ann@example.com'], logins=['ann'])
MULTILINE = b'Login: ann@example.com\nx\n'
JOURNAL_EXPORT = (
    # the subject only in a field the text lines do not show
    b'__CURSOR=s=1\n__REALTIME_TIMESTAMP=1700000000000000\n_BOOT_ID=b1\nSYSLOG_IDENTIFIER=userdel\n'
    b'_CMDLINE=userdel ann\nMESSAGE=delete user\n\n'
    # the subject in the message; a binary (multi-line) message and a control character
    b'__CURSOR=s=2\nSYSLOG_IDENTIFIER=dovecot\nMESSAGE\n' + len(MULTILINE).to_bytes(8, 'little')
    + MULTILINE + b'\nCODE=\x01\x02\n\n'
    # look-alike and another user: not exported
    b'__CURSOR=s=3\nMESSAGE=Login: joann@example.com\n\n'
    b'__CURSOR=s=4\nMESSAGE=Login: bob@example.org\n_CMDLINE=imap\n_CMDLINE=imap2\n\n'
)


def test_journal_export_writes_every_field_of_the_subjects_entries(tmp_path):
    (tmp_path / 'journal').mkdir()
    runner = journal_runner(b'2025-01-01T10:00:00+0000 mx1 dovecot[1]: Login: ann@example.com\n', export=JOURNAL_EXPORT)
    store = JournalStore({'directories': [str(tmp_path / 'journal')]}, runner)
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    res = store.export(ANN_LOGIN, str(bundle))
    assert res['found'] == 1
    files = dict((f['path'], f) for f in res['files'])
    entries_file = bundle / 'journal' / 'journal-entries.jsonl'
    assert files['journal/journal-entries.jsonl']['count'] == 2
    assert files['journal/journal-entries.jsonl']['kind'] == 'journal-entries'
    data = entries_file.read_bytes()
    assert files['journal/journal-entries.jsonl']['sha256'] == hashlib.sha256(data).hexdigest()
    assert oct(entries_file.stat().st_mode & 0o777) == '0o600'
    entries = [json.loads(line) for line in data.splitlines()]
    assert entries[0]['_CMDLINE'] == 'userdel ann' and entries[0]['__CURSOR'] == 's=1'
    assert entries[1]['MESSAGE'] == 'Login: ann@example.com\nx\n'
    assert entries[1]['CODE'] == [1, 2]
    assert b'joann' not in data and b'bob' not in data


def test_journal_export_of_entries_can_be_switched_off(tmp_path):
    (tmp_path / 'journal').mkdir()
    runner = journal_runner(b'2025-01-01T10:00:00+0000 mx1 dovecot[1]: Login: ann@example.com\n', export=JOURNAL_EXPORT)
    store = JournalStore({'directories': [str(tmp_path / 'journal')], 'export_entries': False}, runner)
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    res = store.export(ANN_LOGIN, str(bundle))
    assert [f['path'] for f in res['files']] == ['journal/journal.txt']
    assert not any('--output=export' in argv for argv in runner.calls)


def test_journal_unavailable_and_failure(tmp_path):
    assert JournalStore({}, journal_runner(b'', present=False)).locate(ANN)['available'] is False
    assert JournalStore({'directories': [str(tmp_path / 'no')]}, journal_runner(b'')).available() == (
        False, 'no journal directory')
    (tmp_path / 'j').mkdir()
    with pytest.raises(StoreError):
        JournalStore({'directories': [str(tmp_path / 'j')]}, journal_runner(b'x\n', rc=1)).locate(ANN)
    with pytest.raises(StoreError):
        JournalStore({'args': [1]})


def test_chunk_boundaries_never_lose_a_line(tmp_path):
    data, n = log_text(40, 4000, seed=2)
    path = write(tmp_path / 'mail.log', data)
    for chunk in (65536, 65536 + 7, 1 << 20):
        res = LogStore({'paths': [path], 'chunk_size': chunk}).locate(ANN)
        assert res['found'] == n
    gzpath = tmp_path / 'g' / 'mail.log.1.gz'
    write(gzpath, data, 'gz')
    assert LogStore({'paths': [str(gzpath)], 'chunk_size': 65536}).locate(ANN)['found'] == n
    assert zlib  # the gzip path uses zlib directly
    assert log_engine.COMPRESSED_READ >= 64 * 1024


# ------------------------------------------------------------------------------ prefilter = regex
_frag_local = st.sampled_from(['ann', 'an', 'jo', 'x', 'hartm', 'ann.b', 'user1', 'user12'])
_frag_dom = st.sampled_from(['example.com', 'EXAMPLE.com', 'example.com.evil', 'ex.org', 'bücher.de',
                             'xn--bcher-kva.de'])
_frag = st.one_of(
    st.builds(lambda l, s, t, d: '%s%s@%s' % (l, s + t if s else '', d), _frag_local,
              st.sampled_from(['', '+', '-']), st.sampled_from(['', 'tag']), _frag_dom),
    _frag_local, st.sampled_from(['192.0.2.1', '192.0.2.10', '10.192.0.2.1', '2001:db8::1', '2001:DB8::1',
                                  '2001:db8::12', ' ', '<', '>', '=', '.', ',', '@', '+', '\t', 'ä']),
    # issue 12: the spellings real logs hold, and pieces of them
    st.sampled_from(['::ffff:192.0.2.1', '::FFFF:c000:201', '0:0:0:0:0:ffff:c000:0201', '2001:0db8:0:0::1',
                     '2001:db8:0:0:0:0:0:1', '2001:db8::0.0.0.1', 'db8::', 'ffff:c000:', '%40', '%2B', '%2b', '%22',
                     '%3A', '%20', '"', 'ANN', 'Ann', 'vd-', 'example.com-', '[', ']', '#011']),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.lists(_frag, max_size=6).map(''.join), max_size=12),
       addresses=st.lists(st.builds('{}@{}'.format, _frag_local,
                                    st.sampled_from(['example.com', 'bücher.de'])), max_size=2),
       logins=st.lists(_frag_local, max_size=2),
       ips=st.lists(st.sampled_from(['192.0.2.1', '2001:db8::1', '::ffff:192.0.2.1', '2001:0DB8:0::1']), max_size=2),
       domain=st.sampled_from([None, None, 'example.com']),
       plus=st.sampled_from(['+', '-', '']),
       short=st.sampled_from([0, 8, 100]),
       case=st.sampled_from(['insensitive', 'sensitive']))
def test_property_matcher_hits_exactly_the_regex_lines(lines, addresses, logins, ips, domain, plus, short, case):
    if not (addresses or logins or ips or domain):
        logins = ['ann']
    sub = Subject.from_params(addresses=addresses, logins=logins, ips=ips, domain=domain, plus_separator=plus,
                              local_part_case=case, qmail_virtualdomains=['example.com:vd', ':example.com'])
    saved = log_engine.SHORT_NEEDLE
    log_engine.SHORT_NEEDLE = short
    try:
        matcher = LineMatcher(sub)
    finally:
        log_engine.SHORT_NEEDLE = saved
    data = ('\n'.join(lines) + '\n').encode('utf-8')
    hits = matcher.hits(data)
    got = [data[s:e].rstrip(b'\n') for s, e in hits]
    expected = [line for line in data.split(b'\n')[:-1] if sub.regex().search(line)]
    assert got == expected


# issue 13: the case-fold prefilter without a lower-cased copy (every letter-case spelling of
# needles with few letters, searched in the text as it is) and the lower-cased copy of a whole
# buffer (regions that start after a newline inside it)
_few_letters = st.sampled_from(['x1', '1a', 'a7', 'q', '42', 'ab1'])
_cased_frag = st.one_of(
    st.builds(lambda l, d: '%s@%s' % (l, d), _few_letters, st.sampled_from(['example.com', 'EXAMPLE.COM', 'ex.org'])),
    _few_letters,
    st.sampled_from(['192.0.2.1', '192.0.2.10', '::ffff:c000:201', '::ffff:192.0.2.1', '0:0:0:0:0:ffff:c000:0201',
                     '2001:db8::1', 'c000:201', ' ', '<', '>', '=', '.', '@', '+', '-', '_', '%40', '%2B', '"', 'Z', 'ä']),
)


def _mangle_case(text, flips):
    return ''.join(c.swapcase() if c.isascii() and c.isalpha() and flips[i % len(flips)] else c
                   for i, c in enumerate(text))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.lists(_cased_frag, max_size=6).map(''.join), max_size=12),
       flips=st.lists(st.booleans(), min_size=1, max_size=7),
       addresses=st.lists(st.builds('{}@example.com'.format, _few_letters), max_size=2),
       ips=st.lists(st.sampled_from(['192.0.2.1', '::ffff:192.0.2.1', '2001:db8::1']), max_size=1),
       chunk=st.integers(1, 64),
       case=st.sampled_from(['insensitive', 'sensitive']))
def test_property_case_fold_prefilter_hits_exactly_the_regex_lines(lines, flips, addresses, ips, chunk, case):
    if not (addresses or ips):
        ips = ['192.0.2.1']
    sub = Subject.from_params(addresses=addresses, ips=ips, local_part_case=case)
    matcher = LineMatcher(sub)
    data = ('\n'.join(_mangle_case(line, flips) for line in lines) + '\n').encode('utf-8')
    got = []
    for buf, start, end, hits in iter_regions((data[i:i + chunk] for i in range(0, len(data), chunk)), matcher):
        assert all(start <= ls < le <= end for ls, le in hits)
        got.extend(bytes(buf[ls:le]).rstrip(b'\n') for ls, le in hits)
    assert got == [line for line in data.split(b'\n')[:-1] if sub.regex().search(line)]


def test_few_letter_needles_are_searched_in_every_case_without_a_lower_cased_copy():
    assert log_engine.case_variants(b'a1b') == [b'a1b', b'a1B', b'A1b', b'A1B']
    # many letters: the lower-cased copy is cheaper (an address, the mapped IPv4 chain ffff:c000:),
    # decided without spelling out 2 ** letters variants (a long domain needle has dozens of letters)
    assert LineMatcher(Subject.from_params(addresses=['ann@example.com'])).fold is True
    assert LineMatcher(Subject.from_params(ips=['192.0.2.1'])).fold is True
    assert LineMatcher(Subject.from_params(domain='a-very-long-customer-domain-name.example.com')).fold is True
    # a neighbour set meant for lower-cased text covers both cases of a letter
    one = LineMatcher(Subject.from_params(addresses=['1a@example.com']))
    assert one.fold is False and sorted(p[0] for p in one.plan) == [b'1A', b'1a']
    data = b'<1A@example.com>\n<x1A@example.com>\n<Q1a@example.com>\n<1a@EXAMPLE.com>\n'
    assert [data[s:e] for s, e in one.hits(data)] == [b'<1A@example.com>\n', b'<1a@EXAMPLE.com>\n']


def test_folded_search_of_a_region_inside_a_buffer_stays_in_the_region():
    """The lower-cased copy is made of the whole buffer when the region is most of it: hits
    before ``start`` or after ``end`` (the neighbouring regions' lines) are not the region's."""
    matcher = LineMatcher(ANN)
    assert matcher.fold is True
    head = b'tail of a line: ann@example.com\n'
    body = b'x\nfrom=<ANN@example.com> y\n' * 40
    tail = b'next line start ann@example.com'
    buf = bytearray(head + body + tail)
    start, end = len(head), len(head) + len(body)
    hits = matcher.hits(buf, start, end)
    assert len(hits) == 40 and all(start <= ls < le <= end for ls, le in hits)
    assert matcher.hits(buf, start, start + 2) == []
    assert matcher.hits(bytes(buf), 0, len(head)) == [(0, len(head))]


# ------------------------------------------------------------------------------ workers
def test_fork_map_matches_serial_and_reports_worker_errors():
    items = list(range(7))
    assert log_engine.fork_map(lambda x: (x, x * x), items, 3, [1, 5, 2, 8, 1, 1, 3]) == [
        [x, x * x] for x in items]
    assert log_engine.fork_map(lambda x: x + 1, items, 1) == [x + 1 for x in items]

    def boom(x):
        if x == 4:
            raise OSError(13, 'denied', '/home/ann@example.com/x')
        return x

    with pytest.raises(StoreError) as err:
        log_engine.fork_map(boom, items, 2)
    assert 'errno 13' in str(err.value) and 'ann' not in str(err.value)


def test_workers_give_the_same_counts_and_export(tmp_path):
    expected = make_tree(str(tmp_path / 'log'))
    serial = tree_store(str(tmp_path / 'log')).locate(ANN)
    parallel = tree_store(str(tmp_path / 'log'), workers=3).locate(ANN)
    assert serial['detail'] == parallel['detail'] == expected
    b1 = tmp_path / 'b1'
    b2 = tmp_path / 'b2'
    b1.mkdir()
    b2.mkdir()
    one = tree_store(str(tmp_path / 'log')).export(ANN, str(b1))
    two = tree_store(str(tmp_path / 'log'), workers=4).export(ANN, str(b2))
    assert one['files'] == two['files'] and one['detail'] == two['detail']
    for entry in two['files']:
        assert (b2 / entry['path']).read_bytes() == (b1 / entry['path']).read_bytes()


# ------------------------------------------------------------------------------ issue 12: forms real logs hold
# Each of these stayed on disk while subject_erase reported remaining: 0 (issue 12).
REAL_SUBJECT_LINES = [
    # Courier logs IPv4 clients of a dual-stack socket in the IPv4-mapped IPv6 form
    b'Nov 23 10:00:01 mx1 imapd: Connection, ip=[::ffff:192.0.2.4], port=[51234]',
    b'Nov 23 10:00:02 mx1 imapd: LOGIN FAILED, user=nobody, ip=[::ffff:192.0.2.4], port=[51234]',
    # Dovecot's rip= in the compressed form, the subject given expanded
    b'Nov 23 10:00:03 mx1 dovecot: imap-login: Login: user=<bob@example.org>, method=PLAIN, '
    b'rip=2001:db8::1, lip=2001:db8::25, mpid=4242, TLS, session=<Xy1Z>',
    # Apache / Horde access logs: the address percent-encoded in the URL
    b'192.0.2.9 - - [23/Nov/2026:10:00:04 +0100] "GET /horde/imp/dynamic.php?page=mailbox&to=ann%40example.com '
    b'HTTP/1.1" 200 1234 "-" "Mozilla/5.0"',
    b'192.0.2.9 - - [23/Nov/2026:10:00:05 +0100] "GET /horde/imp/compose.php?to=%22ANN%2Bnews%22%40EXAMPLE.COM '
    b'HTTP/1.1" 200 88 "https://webmail.example.com/horde/" "Mozilla/5.0"',
    b'192.0.2.9 - - [23/Nov/2026:10:00:06 +0100] "GET /horde/services/go.php?url=mailto%3Aann%40example.com HTTP/1.1" 302 0',
    # qmail-send: a delivery to a virtual domain under its rewritten name (control/virtualdomains)
    b'@400000006560a1b20a1b2c3d starting delivery 12: msg 4711 to local example.com-ann@example.com',
    b'@400000006560a1b20a1b2c3e delivery 12: deferral: Uh-oh:_.qmail_file_is_writable._'
    b'<example.com-ann@example.com>_(#4.7.0)/',
    # a quoted local part, and the local part in another letter case
    b'Nov 23 10:00:07 mx1 courieresmtpd: error,relay=::ffff:198.51.100.7,port=25,msg="550 User unknown.",'
    b'cmd: RCPT TO:<"ann"@example.com>',
    b'Nov 23 10:00:08 mx1 postfix/smtp[11]: 4A7: to=<ANN@example.com>, relay=mx, status=sent',
]
REAL_OTHER_LINES = [
    b'Nov 23 10:00:11 mx1 imapd: Connection, ip=[::ffff:192.0.2.40], port=[51234]',
    b'Nov 23 10:00:12 mx1 imapd: Connection, ip=[::ffff:10.192.0.2], port=[51234]',
    b'Nov 23 10:00:13 mx1 dovecot: imap-login: Login: user=<bob@example.org>, method=PLAIN, '
    b'rip=2001:db8::10, lip=2001:db8::25, mpid=4243, TLS, session=<Xy2Z>',
    b'192.0.2.9 - - [23/Nov/2026:10:00:14 +0100] "GET /horde/imp/compose.php?to=joann%40example.com HTTP/1.1" 200 88',
    b'192.0.2.9 - - [23/Nov/2026:10:00:15 +0100] "GET /horde/imp/compose.php?to=ann-marie%40example.com HTTP/1.1" 200 8',
    b'@400000006560a1b20a1b2c3f starting delivery 13: msg 4712 to local example.com-joann@example.com',
    b'@400000006560a1b20a1b2c40 starting delivery 14: msg 4713 to local example.com-ann-marie@example.com',
    b'Nov 23 10:00:16 mx1 courieresmtpd: error,relay=::ffff:198.51.100.7,port=25,msg="550 User unknown.",'
    b'cmd: RCPT TO:<"joe ann"@example.com>',
    b'Nov 23 10:00:17 mx1 postfix/smtp[11]: 4A8: to=<joann@example.com>, relay=mx, status=sent',
    b'Nov 23 10:00:18 mx1 postfix/smtp[11]: 4A9: to=<ann-marie@example.com>, relay=mx, status=sent',
]


def _real_subject():
    return Subject.from_params(addresses=['ann@example.com'], ips=['192.0.2.4', '2001:0DB8:0:0::0001'],
                               qmail_virtualdomains=['example.com:example.com'])


def test_matcher_real_log_lines_of_the_subject_and_of_others():
    lines = []
    for i in range(max(len(REAL_SUBJECT_LINES), len(REAL_OTHER_LINES))):
        lines.extend(REAL_SUBJECT_LINES[i:i + 1] + REAL_OTHER_LINES[i:i + 1])
    data = b'\n'.join(lines) + b'\n'
    for short in (0, 8, 100):
        saved = log_engine.SHORT_NEEDLE
        log_engine.SHORT_NEEDLE = short
        try:
            matcher = LineMatcher(_real_subject())
        finally:
            log_engine.SHORT_NEEDLE = saved
        assert [data[s:e].rstrip(b'\n') for s, e in matcher.hits(data)] == REAL_SUBJECT_LINES


def test_real_log_lines_are_erased_in_every_format_and_the_others_kept(tmp_path):
    data = b'\n'.join(REAL_OTHER_LINES[:5] + REAL_SUBJECT_LINES + REAL_OTHER_LINES[5:]) + b'\n'
    others = b'\n'.join(REAL_OTHER_LINES) + b'\n'
    write(str(tmp_path / 'mail.log'), data)
    write(str(tmp_path / 'mail.log.2.gz'), data, 'gz')
    write(str(tmp_path / 'qmail' / 'current'), data)
    store = LogStore({'paths': [str(tmp_path / 'mail.log*'), str(tmp_path / 'qmail' / '**')]})
    subject = _real_subject()
    n = len(REAL_SUBJECT_LINES)
    assert store.locate(subject)['detail'] == {'live': n, 'rotated': 0, 'compressed': n, 'multilog': n}
    res = store.erase(subject, False)
    assert res['erased'] == 3 * n and store.locate(subject)['found'] == 0
    assert (tmp_path / 'mail.log').read_bytes() == others
    assert (tmp_path / 'qmail' / 'current').read_bytes() == others
    with gzip.open(str(tmp_path / 'mail.log.2.gz'), 'rb') as handle:
        assert handle.read() == others
