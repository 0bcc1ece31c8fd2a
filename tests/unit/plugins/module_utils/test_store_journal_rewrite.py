# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Erasure from the systemd journal by rewriting its files, against the real tools:
journal files are made with systemd-journal-remote from export streams, read with journalctl
and rewritten by JournalStore.erase. Only ``journalctl --rotate`` (which would rotate this
machine's journal) is simulated."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shutil
import subprocess

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import store_journal_rewrite as jr
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import Runner
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.log_engine import LineMatcher
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_journal import JournalStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject

from fake_runner import PASS, FakeRunner

REMOTE = jr.find_remote('', shutil.which)
JOURNALCTL = shutil.which('journalctl')
# CI installs systemd-journal-remote (make deps): there a missing tool fails, it does not skip
needs_tools = pytest.mark.skipif((REMOTE is None or JOURNALCTL is None) and not os.environ.get('CI'),
                                 reason='systemd-journal-remote or journalctl not installed')

ANN = Subject.from_params(addresses=['ann@example.net'], logins=['ann'])
MACHINE = '0123456789abcdef0123456789abcdef'
BOOT = 'fedcba9876543210fedcba9876543210'
ARCHIVED = 'system@00112233445566778899aabbccddeeff-0000000000000001-0005f0a0b0c0d0e0.journal'


def archived_name(n):
    return ARCHIVED.replace('0000000000000001', '%016x' % n)


def text_field(name, value):
    return b'%s=%s\n' % (name, value)


def binary_field(name, value):
    return name + b'\n' + len(value).to_bytes(8, 'little') + value + b'\n'


def entry(i, message, extra=b'', binary=False):
    """One export-format entry with realistic fields."""
    rec = [text_field(b'__REALTIME_TIMESTAMP', b'%d' % (1700000000000000 + i * 1000)),
           text_field(b'__MONOTONIC_TIMESTAMP', b'%d' % (5000000 + i * 1000)),
           text_field(b'_BOOT_ID', BOOT.encode()),
           text_field(b'_MACHINE_ID', MACHINE.encode()),
           text_field(b'PRIORITY', b'6'),
           text_field(b'SYSLOG_IDENTIFIER', b'dovecot'),
           text_field(b'_PID', b'%d' % (100 + i % 7)),
           text_field(b'_HOSTNAME', b'mx1')]
    rec.append(binary_field(b'MESSAGE', message) if binary else text_field(b'MESSAGE', message))
    return b''.join(rec) + extra + b'\n'


SUBJECT_MESSAGES = [
    b'imap-login: Login: user=<ann@example.net>, method=PLAIN, rip=192.0.2.7',
    b'lda(ann@EXAMPLE.net): msgid=<1@x>: saved mail to INBOX',
    b'smtp: to=<ann+news@example.net>, status=sent',
]
OTHER_MESSAGES = [
    b'imap-login: Login: user=<joann@example.net>, method=PLAIN',
    b'smtp: to=<ann@example.net.evil>, status=sent',
    b'imap(bob@example.org): Logged out in=10 out=200',
    b'smtp: to=<hartmann@example.net>, status=sent',
    b'auth: user ann2 unknown',
]


def corpus(n=400, seed=7):
    """(export stream, number of subject entries) with text and binary fields, multi-line
    messages and an entry whose only identifier sits in a field journalctl does not show."""
    rnd = random.Random(seed)
    out = []
    subject = 0
    for i in range(n):
        kind = rnd.random()
        if kind < 0.1:
            out.append(entry(i, rnd.choice(SUBJECT_MESSAGES)))
            subject += 1
        elif kind < 0.13:
            out.append(entry(i, b'deliver:\n' + rnd.choice(SUBJECT_MESSAGES) + b'\n\ndone', binary=True))
            subject += 1
        elif kind < 0.15:
            out.append(entry(i, b'delivery finished', extra=text_field(b'_CMDLINE', b'/usr/lib/dovecot/dovecot-lda -d ann')))
            subject += 1
        elif kind < 0.2:
            out.append(entry(i, b'multi\nline ' + rnd.choice(OTHER_MESSAGES) + b'\n\n=x', binary=True))
        else:
            out.append(entry(i, rnd.choice(OTHER_MESSAGES)))
    return b''.join(out), subject


def make_journal(path, stream):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    subprocess.run([REMOTE, '--split-mode=none', '--output=' + str(path), '-'], input=stream,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def export(path):
    out = subprocess.run([JOURNALCTL, '--no-pager', '--file=' + str(path), '--output=export'],
                         check=True, stdout=subprocess.PIPE).stdout
    return list(jr.iter_entries(io.BytesIO(out)))


def keys(entries):
    return [jr.entry_key(fields) for fields in entries]


def sha(path):
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


def store(root, runner=None):
    # the Spy (below): this machine's own journald is never synced or rotated by a test
    return JournalStore({'directories': [str(root)], 'args': ['--directory=' + str(root)]}, runner or Spy())


# ------------------------------------------------------------------------------ the format
def test_iter_entries_text_and_binary_fields_and_chunk_boundaries():
    stream, _count = corpus(60)
    whole = list(jr.iter_entries(io.BytesIO(stream)))
    assert len(whole) == 60
    for size in (1, 7, 64, 4096):  # a field split over reads must not change anything
        assert list(jr.iter_entries(io.BytesIO(stream), chunk_size=size)) == whole
    rebuilt = b''.join(b''.join(rec for _n, rec in fields) + b'\n' for fields in whole)
    assert rebuilt == stream
    binary = [f for fields in whole for f in fields if f[1][len(f[0]):len(f[0]) + 1] == b'\n']
    assert binary and all(jr.field_value(n, rec).count(b'\n') >= 1 for n, rec in binary)


@pytest.mark.parametrize('stream', [
    b'MESSAGE=no end',
    b'MESSAGE\n\x05\x00\x00\x00\x00\x00\x00\x00ab',
    b'MESSAGE\n\x02\x00\x00\x00\x00\x00\x00\x00abc\n\n',
])
def test_iter_entries_refuses_truncated_or_malformed(stream):
    with pytest.raises(jr.JournalFormatError):
        list(jr.iter_entries(io.BytesIO(stream)))


def test_classify_looks_at_values_only_and_not_at_structural_fields():
    login = Subject.from_params(logins=['message'])
    matcher = LineMatcher(login)
    plain = jr.classify(list(jr.iter_entries(io.BytesIO(entry(1, b'hello')))), matcher)
    assert [hit for _f, hit in plain] == [False]  # the field name MESSAGE is not a value
    boot = Subject.from_params(logins=[BOOT])  # a value only in _BOOT_ID
    assert [hit for _f, hit in jr.classify(list(jr.iter_entries(io.BytesIO(entry(1, b'x')))),
                                           LineMatcher(boot))] == [False]


def test_parse_header():
    assert jr.parse_header('State: ARCHIVED\nCompatible flags: SEALED\n') == {'sealed': True, 'state': 'ARCHIVED'}
    assert jr.parse_header('State: ONLINE\nCompatible flags:\n') == {'sealed': False, 'state': 'ONLINE'}


# ------------------------------------------------------------------------------ real files
@needs_tools
def test_erase_rewrites_archived_file_keeping_everything_else(tmp_path):
    stream, n_subject = corpus()
    root = tmp_path / 'journal'
    path = root / MACHINE / ARCHIVED
    make_journal(path, stream)
    os.chmod(path, 0o640)
    os.setxattr(path, 'user.crtime_usec', b'\x01\x02\x03\x04\x05\x06\x07\x08')
    os.utime(path, ns=(1600000000000000000, 1600000000123456789))
    before = export(path)
    others = [fields for fields, hit in jr.classify(before, LineMatcher(ANN)) if not hit]
    assert len(before) == 400 and len(others) == 400 - n_subject

    digest = sha(path)
    preview = store(root).erase(ANN, check_mode=True)
    assert preview['erased'] == n_subject and preview['found'] > 0
    assert sha(path) == digest  # check mode touches nothing

    res = store(root).erase(ANN, check_mode=False)
    assert res['erased'] == n_subject and not res['manual_steps'] and not res.get('reason')
    after = export(path)
    assert keys(after) == keys(others)  # every other entry, in order, field for field
    assert not any(hit for _f, hit in jr.classify(after, LineMatcher(ANN)))
    st = os.stat(path)
    assert (st.st_mode & 0o7777, st.st_mtime_ns) == (0o640, 1600000000123456789)
    assert os.getxattr(path, 'user.crtime_usec') == b'\x01\x02\x03\x04\x05\x06\x07\x08'
    assert store(root).locate(ANN)['found'] == 0
    assert os.listdir(root / jr.TEMP_DIR) == ['lock']

    digest = sha(path)
    again = store(root).erase(ANN, check_mode=False)
    assert again['erased'] == 0 and sha(path) == digest  # a second run changes nothing


@needs_tools
def test_file_of_only_the_subject_is_removed_and_untouched_files_stay(tmp_path):
    root = tmp_path / 'journal'
    only = root / MACHINE / ARCHIVED
    other = root / MACHINE / ARCHIVED.replace('0001-', '0002-')
    make_journal(only, b''.join(entry(i, SUBJECT_MESSAGES[i % 3]) for i in range(5)))
    make_journal(other, b''.join(entry(i, OTHER_MESSAGES[i % 5]) for i in range(5)))
    digest = sha(other)
    res = store(root).erase(ANN, check_mode=False)
    assert res['erased'] == 5 and not only.exists() and sha(other) == digest


class Spy(FakeRunner):
    """The real runner behind the fake one, but ``journalctl --rotate`` and ``--sync`` are
    simulated (journald's rename of the active file to an archived name; ``late``: export
    streams that journald writes to a new active file when the n-th sync after a rotation is
    asked for, as lines the erasure's own commands logged) and some outputs can be altered.
    ``named`` holds every command line with the program's base name."""

    def __init__(self, header=None, alter_copy=False, late=()):
        FakeRunner.__init__(self, tools={'journalctl': self.journalctl}, streams={'journalctl': self.read},
                            installed=(), real=Runner())
        self.header = header
        self.alter_copy = alter_copy
        self.active = None
        self.rotations = 0
        self.late = list(late)

    def journalctl(self, argv, _data):
        if '--rotate' in argv:
            assert self.active, 'a rotation nobody expected'
            self.rotations += 1
            if os.path.exists(self.active):
                os.rename(self.active, os.path.join(os.path.dirname(self.active), archived_name(self.rotations)))
            return 0
        if '--sync' in argv:
            if self.rotations and self.late:
                make_journal(self.active, self.late.pop(0))
            return 0
        if self.header is not None and '--header' in argv:
            return self.header.encode()
        return PASS

    def read(self, argv, _data):
        if self.alter_copy and any(jr.TEMP_DIR in str(a) for a in argv):
            with self.real.stream(argv) as handle:
                data = handle.read()
            return data.replace(b'MESSAGE=imap(bob@example.org)', b'MESSAGE=imap(bob@example.org)!', 1)
        return PASS


@needs_tools
def test_active_file_is_rotated_first(tmp_path):
    stream, n_subject = corpus(100)
    root = tmp_path / 'journal'
    active = root / MACHINE / 'system.journal'
    make_journal(active, stream)
    spy = Spy()
    spy.active = str(active)
    res = store(root, spy).erase(ANN, check_mode=False)
    assert ['journalctl', '--rotate'] in spy.named
    assert res['erased'] == n_subject and not active.exists()
    assert not any(hit for _f, hit in jr.classify(export(root / MACHINE / ARCHIVED), LineMatcher(ANN)))


@needs_tools
def test_lines_logged_around_the_rotation_are_erased_by_another_rotation(tmp_path):
    """The lines the erasure's own commands log (userdel, doveadm) reach journald's socket
    before the erasure, but journald may write them after the first rotation: the store
    syncs, finds them in the new active file and rotates again."""
    stream, n_subject = corpus(100)
    late, n_late = corpus(30, seed=11)
    root = tmp_path / 'journal'
    active = root / MACHINE / 'system.journal'
    make_journal(active, stream)
    spy = Spy(late=[late])
    spy.active = str(active)
    res = store(root, spy).erase(ANN, check_mode=False)
    assert n_late and spy.rotations == 2 and ['journalctl', '--sync'] in spy.named
    assert res['erased'] == n_subject + n_late and not res['manual_steps']
    for n in (1, 2):
        assert not any(hit for _f, hit in jr.classify(export(root / MACHINE / archived_name(n)), LineMatcher(ANN)))
    assert store(root, Spy()).locate(ANN)['found'] == 0


@needs_tools
def test_a_subject_logged_after_every_rotation_is_left_with_a_manual_step(tmp_path):
    stream, n_subject = corpus(60)
    late, n_late = corpus(20, seed=11)
    root = tmp_path / 'journal'
    active = root / MACHINE / 'system.journal'
    make_journal(active, stream)
    spy = Spy(late=[late] * (jr.MAX_ROTATIONS + 1))
    spy.active = str(active)
    res = store(root, spy).erase(ANN, check_mode=False)
    assert spy.rotations == jr.MAX_ROTATIONS
    assert res['erased'] == n_subject + (jr.MAX_ROTATIONS - 1) * n_late
    assert len(res['manual_steps']) == 1 and 'still writes' in res['manual_steps'][0]
    assert '%d entries' % n_late in res['manual_steps'][0] and 'ann' not in res['manual_steps'][0]
    assert active.exists()  # the file journald writes is never rewritten


@needs_tools
def test_a_real_erasure_classifies_each_file_once(tmp_path):
    """A file that holds the subject is read by the fast pre-check (which stops at the first
    hit) and then classified once, by the rewrite; a file without it only by the pre-check."""
    stream, n_subject = corpus(200)
    root = tmp_path / 'journal'
    path = root / MACHINE / ARCHIVED
    other = root / MACHINE / archived_name(2)
    make_journal(path, stream)
    make_journal(other, b''.join(entry(i, OTHER_MESSAGES[i % 5]) for i in range(50)))
    spy = Spy()
    res = store(root, spy).erase(ANN, check_mode=False)
    assert res['erased'] == n_subject
    reads = [call for call in spy.named if '--output=export' in call]
    assert sum(1 for call in reads if '--file=' + str(path) in call) == 2
    assert sum(1 for call in reads if '--file=' + str(other) in call) == 1


@needs_tools
def test_check_mode_does_not_rotate(tmp_path):
    stream, n_subject = corpus(50)
    root = tmp_path / 'journal'
    active = root / MACHINE / 'system.journal'
    make_journal(active, stream)
    spy = Spy()
    spy.active = str(active)
    res = store(root, spy).erase(ANN, check_mode=True)
    assert res['erased'] == n_subject and ['journalctl', '--rotate'] not in spy.named and active.exists()


@needs_tools
@pytest.mark.parametrize('header, step', [
    ('State: ARCHIVED\nCompatible flags: SEALED\n', 'sealed'),
    ('State: ONLINE\nCompatible flags:\n', 'still writes'),
])
def test_sealed_or_online_files_are_left_with_a_manual_step(tmp_path, header, step):
    stream, n_subject = corpus(80)
    path = tmp_path / 'journal' / MACHINE / ARCHIVED
    make_journal(path, stream)
    digest = sha(path)
    res = store(tmp_path / 'journal', Spy(header=header)).erase(ANN, check_mode=False)
    assert res['erased'] == 0 and sha(path) == digest
    assert len(res['manual_steps']) == 1 and step in res['manual_steps'][0]
    assert '%d entries' % n_subject in res['manual_steps'][0]
    assert 'ann' not in ' '.join(res['manual_steps'])


@needs_tools
def test_copy_that_does_not_read_back_identical_is_refused(tmp_path):
    stream, n_subject = corpus(80)
    root = tmp_path / 'journal'
    path = root / MACHINE / ARCHIVED
    make_journal(path, stream)
    digest = sha(path)
    res = store(root, Spy(alter_copy=True)).erase(ANN, check_mode=False)
    assert res['erased'] == 0 and sha(path) == digest
    assert 'refused' in res['reason'] and '%d entries' % n_subject in res['reason']
    assert os.listdir(root / jr.TEMP_DIR) == ['lock']  # the copy is gone


@needs_tools
def test_stale_temporary_file_of_a_dead_run_is_removed(tmp_path):
    stream, _count = corpus(40)
    root = tmp_path / 'journal'
    make_journal(root / MACHINE / ARCHIVED, stream)
    dead = subprocess.Popen(['true'])
    dead.wait()
    os.makedirs(root / jr.TEMP_DIR)
    stale = root / jr.TEMP_DIR / ('%d-0123456789abcdef.journal' % dead.pid)
    stale.write_bytes(b'x')
    assert str(stale) not in jr.journal_files([str(root)])  # journalctl does not read it either
    store(root).erase(ANN, check_mode=False)
    assert not stale.exists()


@needs_tools
def test_without_journal_remote_nothing_changes_and_a_manual_step_says_why(tmp_path):
    stream, _count = corpus(40)
    root = tmp_path / 'journal'
    path = root / MACHINE / ARCHIVED
    make_journal(path, stream)
    digest = sha(path)
    res = JournalStore({'directories': [str(root)], 'args': ['--directory=' + str(root)],
                        'journal_remote': str(tmp_path / 'missing')}).erase(ANN, check_mode=False)
    assert res['erased'] == 0 and sha(path) == digest and res['found'] > 0
    assert any('systemd-journal-remote is not installed' in step for step in res['manual_steps'])
    off = JournalStore({'directories': [str(root)], 'args': ['--directory=' + str(root)],
                        'rewrite': False}).erase(ANN, check_mode=False)
    assert off['erased'] == 0 and sha(path) == digest
    assert not any('not installed' in step for step in off['manual_steps'])


def test_journal_files_skips_hidden_dirs_and_links(tmp_path):
    (tmp_path / MACHINE).mkdir()
    (tmp_path / '.mailprivacy-rewrite').mkdir()
    for name in ('system.journal', 'user-1000@x.journal', 'system@y.journal~', 'notes.txt'):
        (tmp_path / MACHINE / name).write_bytes(b'')
    (tmp_path / '.mailprivacy-rewrite' / '1-0123456789abcdef.journal').write_bytes(b'')
    os.symlink(tmp_path / MACHINE / 'system.journal', tmp_path / MACHINE / 'link.journal')
    names = [os.path.basename(p) for p in jr.journal_files([str(tmp_path)])]
    assert names == ['system.journal', 'system@y.journal~', 'user-1000@x.journal']
    assert jr.is_active('/x/system.journal') and not jr.is_active('/x/system@a-b-c.journal')


@needs_tools
def test_export_holds_every_entry_an_erasure_removes_with_all_fields(tmp_path):
    """The text lines miss entries whose identifier sits in a field journalctl does not show
    (``_CMDLINE``); journal-entries.jsonl holds exactly the entries the erasure removes."""
    stream, n_subject = corpus(300, seed=11)
    root = tmp_path / 'journal'
    make_journal(root / MACHINE / ARCHIVED, stream)
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    res = store(root).export(ANN, str(bundle))
    files = dict((f['path'], f) for f in res['files'])
    assert files['journal/journal-entries.jsonl']['count'] == n_subject
    entries = [json.loads(line) for line in (bundle / 'journal' / 'journal-entries.jsonl').read_bytes().splitlines()]
    assert len(entries) == n_subject
    # what the file holds is the subject's entries as journald stored them
    wanted = set(m.decode() for m in SUBJECT_MESSAGES)
    for item in entries:
        message = item['MESSAGE']
        assert (message in wanted or message == 'delivery finished'
                or (message.startswith('deliver:\n') and message.split('\n')[1] in wanted)), message
        assert item['_HOSTNAME'] == 'mx1' and item['_BOOT_ID'] == BOOT
    cmdline_only = [item for item in entries if item['MESSAGE'] == 'delivery finished']
    assert cmdline_only and all(item['_CMDLINE'].endswith(' -d ann') for item in cmdline_only)
    # the text lines hold fewer: the _CMDLINE-only entries are not among them
    assert res['found'] < n_subject
    # the erasure removes exactly these entries
    assert store(root).erase(ANN, check_mode=False)['erased'] == n_subject
