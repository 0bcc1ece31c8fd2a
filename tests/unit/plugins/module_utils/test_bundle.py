# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The export bundle's writer and budget: size cap, free-space check, sparse copies, handles."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import bundle
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.bundle import (
    GIB,
    MIB,
    BundleLimitError,
    BundleWriter,
    LazyExtract,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.fsops import FsError
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import Store, StoreError


class DemoStore(Store):
    name = 'demo'


@pytest.fixture
def work(tmp_path):
    path = tmp_path / 'bundle'
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def budget_of(work):
    """open_budget on the bundle directory, closed (and unregistered) afterwards."""
    opened = []

    def make(max_size=bundle.DEFAULT_MAX_SIZE, check_space=True):
        budget = bundle.open_budget(str(work), max_size, check_space)
        opened.append(budget)
        return budget
    yield make
    for budget in opened:
        bundle.close_budget(budget)


def fake_space(monkeypatch, free, size=100 * GIB, calls=None):
    """The bundle's file system has ``free`` bytes for users (a callable: asked each time)."""
    def free_bytes(fd, reserved=True):
        assert reserved is False, 'the budget must not count the blocks reserved for root'
        if calls is not None:
            calls.append(1)
        return free() if callable(free) else free
    monkeypatch.setattr(bundle.fsops, 'free_bytes', free_bytes)
    monkeypatch.setattr(bundle.fsops, 'fs_bytes', lambda fd: size)


def files_below(path):
    return sorted(os.path.relpath(os.path.join(root, name), str(path))
                  for root, _dirs, names in os.walk(str(path)) for name in names)


def sparse_file(path, hole, head=b'head\n', tail=b'tail\n'):
    with open(str(path), 'wb') as handle:
        handle.write(head)
        handle.seek(hole)
        handle.write(tail)
    return path


# ------------------------------------------------------------------------------ defaults
def test_defaults():
    assert bundle.DEFAULT_MAX_SIZE == 20 * 1024 ** 3
    assert bundle.margin_for(10 * GIB) == 512 * MIB       # 5 %
    assert bundle.margin_for(4 * 1024 * GIB) == GIB       # capped at 1 GiB
    assert bundle.RECHECK_BYTES >= bundle.CHUNK


def test_writes_without_a_registered_budget_get_the_default_one(work):
    entry = DemoStore().write_bundle_file(str(work), 'a/b.txt', [b'x' * 10], 'live', 1)
    budget = bundle.budget_for(str(work))
    assert budget.max_size == bundle.DEFAULT_MAX_SIZE and budget.check_space and not budget.registered
    assert budget.written()[0] == 10
    assert entry == {'path': 'demo/a/b.txt', 'sha256': hashlib.sha256(b'x' * 10).hexdigest(), 'size': 10,
                     'kind': 'live', 'count': 1}


@pytest.mark.parametrize('value', [-1, 1.5, '20G', True])
def test_bad_cap_is_refused(work, value):
    with pytest.raises(StoreError, match='max_bundle_size'):
        bundle.open_budget(str(work), value)


# ------------------------------------------------------------------------------ the cap
def test_cap_hit_mid_file_removes_the_file_and_fails_every_later_write(work, budget_of):
    budget = budget_of(max_size=3 * MIB)
    writer = BundleWriter(DemoStore(), str(work))
    writer.write_bytes(['small.txt'], b'x' * 1000, 'live')
    written = []

    def chunks():
        for _round in range(8):
            written.append(1)
            yield b'y' * MIB
    with pytest.raises(BundleLimitError) as err:
        writer.write_chunks(['big.txt'], chunks(), 'live')
    assert 'the export would exceed max_bundle_size (3 MiB; 2 MiB written)' == str(err.value)
    assert len(written) <= 4, 'the cap is checked as the data comes, not at the end'
    assert files_below(work) == ['demo/small.txt'], 'the partial file must go'
    assert budget.failure() == str(err.value)
    # sticky: nothing more gets in, however small
    with pytest.raises(BundleLimitError, match='exceed max_bundle_size'):
        writer.write_bytes(['later.txt'], b'z', 'live')
    assert files_below(work) == ['demo/small.txt']


def test_zero_means_no_cap(work, budget_of, monkeypatch):
    monkeypatch.setattr(bundle, 'DEFAULT_MAX_SIZE', 1)
    budget = budget_of(max_size=0)
    BundleWriter(DemoStore(), str(work)).write_chunks(['big.txt'], [b'y' * MIB] * 3, 'live')
    assert budget.failure() is None and budget.written()[0] == 3 * MIB


def test_cap_counts_the_holes_of_a_sparse_copy(tmp_path, work, budget_of):
    src = sparse_file(tmp_path / 'sparse', 64 * MIB)
    budget_of(max_size=8 * MIB)
    fd = os.open(str(src), os.O_RDONLY)
    try:
        with pytest.raises(BundleLimitError, match='exceed max_bundle_size'):
            BundleWriter(DemoStore(), str(work)).copy_fd(fd, ['m.eml'], 'eml')
    finally:
        os.close(fd)
    assert files_below(work) == []


# ------------------------------------------------------------------------------ free space
def test_no_free_space_before_the_first_write(work, budget_of, monkeypatch):
    fake_space(monkeypatch, free=400 * MIB, size=10 * GIB)   # margin 512 MiB: nothing may be written
    budget = budget_of()
    with pytest.raises(BundleLimitError) as err:
        budget.check_start()
    assert str(err.value).startswith('not enough free space on the host for the export bundle (0 bytes written, '
                                     '400 MiB free; the export keeps 512 MiB free')


def test_free_space_running_out_mid_file(work, budget_of, monkeypatch):
    # 1 GiB margin; 1 GiB + 5 MiB free leaves room for 2 MiB (and its packed copy)
    state = {'free': GIB + 5 * MIB}
    fake_space(monkeypatch, free=lambda: state['free'])
    budget = budget_of()
    budget.check_start()
    writer = LazyExtract(DemoStore(), str(work), 'var/log/mail.log.txt')

    with pytest.raises(BundleLimitError) as err:
        for _round in range(4 * 1024):
            writer.write(b'l' * 1023 + b'\n')   # 4 MiB in lines
            state['free'] = GIB + 5 * MIB - (writer.file.size if writer.file else 0)
    writer.abort()
    assert 'not enough free space on the host for the export bundle' in str(err.value)
    assert files_below(work) == []
    assert budget.failure() == str(err.value)


def disk_use(path):
    return sum(os.path.getsize(os.path.join(root, name)) for root, _dirs, names in os.walk(str(path)) for name in names)


def test_packed_copy_and_margin_are_kept_free(work, budget_of, monkeypatch):
    fake_space(monkeypatch, free=lambda: GIB + 10 * MIB - disk_use(work))
    budget_of()
    writer = BundleWriter(DemoStore(), str(work))
    writer.write_chunks(['a.txt'], [b'a' * MIB] * 4, 'live')     # 4 MiB + its copy: fits in 10 MiB
    with pytest.raises(BundleLimitError, match='not enough free space'):
        writer.write_chunks(['b.txt'], [b'b' * MIB] * 2, 'live')   # 6 + 6 > 10 MiB
    assert files_below(work) == ['demo/a.txt']


def test_free_space_is_checked_per_chunk_not_per_line(work, budget_of, monkeypatch):
    calls = []
    fake_space(monkeypatch, free=100 * GIB, calls=calls)
    budget_of()
    out = LazyExtract(DemoStore(), str(work), 'x.txt')
    line = b'Nov 23 10:00:01 mx1 postfix/smtp[1]: to=<ann@example.com>, status=sent\n'
    for _round in range(100000):
        out.write(line)
    out.close()
    assert out.size == 100000 * len(line) == os.path.getsize(str(work / 'demo' / 'x.txt'))
    assert 1 <= len(calls) <= 3


def test_write_error_fails_the_budget_not_the_source(work, budget_of):
    """A write error of the bundle (here /dev/full: ENOSPC) must not pass for an unreadable
    source, which the log store tolerates: it is a BundleLimitError, and the budget fails."""
    budget = budget_of(check_space=False)
    out = bundle.BundleFile(budget, ['demo', 'x.txt'])
    full = os.open('/dev/full', os.O_WRONLY)
    try:
        os.dup2(full, out.fd)
    finally:
        os.close(full)
    with pytest.raises(BundleLimitError, match='not enough free space.*the file system refused a write'):
        out.write(b'x' * (2 * MIB))
        out.close()
    out.abort()
    assert files_below(work) == []
    assert isinstance(BundleLimitError('x'), StoreError) and not isinstance(BundleLimitError('x'), OSError)
    assert budget.failure()


def test_one_budget_across_forked_workers(work, budget_of):
    """The log store exports in forked workers: what one child writes counts for the parent
    and the other children."""
    budget = budget_of(max_size=3 * MIB, check_space=False)
    pids = []
    for _round in range(2):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            code = 0
            try:
                bundle.budget_for(str(work)).charge(MIB)
            except BaseException:  # pylint: disable=broad-except
                code = 1
            os._exit(code)  # pylint: disable=protected-access
        pids.append(pid)
    for pid in pids:
        assert os.waitpid(pid, 0)[1] == 0
    assert budget.written()[0] == 2 * MIB
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            bundle.budget_for(str(work)).charge(2 * MIB)
        except BundleLimitError:
            os._exit(3)  # pylint: disable=protected-access
        os._exit(0)  # pylint: disable=protected-access
    assert os.WEXITSTATUS(os.waitpid(pid, 0)[1]) == 3
    assert 'exceed max_bundle_size' in budget.failure()


# ------------------------------------------------------------------------------ sparse copies
def test_copy_fd_keeps_holes_and_checksums_the_logical_content(tmp_path, work, budget_of):
    src = sparse_file(tmp_path / 'sparse', 32 * MIB)
    budget = budget_of()
    fd = os.open(str(src), os.O_RDONLY)
    try:
        os.lseek(fd, 3, os.SEEK_SET)
        entry = BundleWriter(DemoStore(), str(work)).copy_fd(fd, ['mailbox-1', '000001.eml'], 'eml')
        # the caller's handle stays open, its offset where it was
        assert os.lseek(fd, 0, os.SEEK_CUR) == 3 and os.read(fd, 2) == b'd\n'
    finally:
        os.close(fd)
    data = src.read_bytes()
    out = work / 'demo' / 'mailbox-1' / '000001.eml'
    assert entry == {'path': 'demo/mailbox-1/000001.eml', 'sha256': hashlib.sha256(data).hexdigest(),
                     'size': len(data), 'kind': 'eml', 'count': 1}
    assert out.read_bytes() == data
    assert os.stat(str(out)).st_blocks * 512 < MIB, 'the hole was written out'
    assert stat.S_IMODE(os.stat(str(out)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(work / 'demo' / 'mailbox-1')).st_mode) == 0o700
    logical, physical = budget.written()
    assert logical == len(data) and physical < MIB


def test_copy_file_opens_through_handles(tmp_path, work):
    src = tmp_path / 'msg'
    src.write_bytes(b'Subject: x\n\nbody\n')
    writer = BundleWriter(DemoStore(), str(work))
    entry = writer.copy_file(str(src), ['1.eml'], 'eml')
    assert entry['size'] == len(src.read_bytes()) and (work / 'demo' / '1.eml').read_bytes() == src.read_bytes()
    os.symlink(str(src), str(tmp_path / 'link'))
    with pytest.raises(FsError):
        writer.copy_file(str(tmp_path / 'link'), ['2.eml'], 'eml')
    os.mkfifo(str(tmp_path / 'fifo'))
    with pytest.raises(FsError):
        writer.copy_file(str(tmp_path / 'fifo'), ['3.eml'], 'eml')
    with pytest.raises(FileNotFoundError):
        writer.copy_file(str(tmp_path / 'gone' / 'x'), ['4.eml'], 'eml')
    assert files_below(work) == ['demo/1.eml']


# ------------------------------------------------------------------------------ handles
def test_names_and_links_are_refused(tmp_path, work):
    writer = BundleWriter(DemoStore(), str(work))
    for parts in (['..', 'x'], ['a/b'], [''], ['.'], ['a\x00']):
        with pytest.raises(StoreError, match='invalid bundle file name'):
            writer.write_bytes(parts, b'x', 'live')
    with pytest.raises(StoreError, match='escapes'):
        DemoStore().write_bundle_file(str(work), '../x', [b'x'], 'live', 1)
    # a link planted below the bundle is never followed
    os.symlink(str(tmp_path), str(work / 'demo' / 'sub'))
    with pytest.raises(StoreError, match='link or a file'):
        writer.write_bytes(['sub', 'x.txt'], b'x', 'live')
    assert not (tmp_path / 'x.txt').exists()
    with pytest.raises(StoreError, match='exists already'):
        writer.write_bytes(['y.txt'], b'1', 'live')
        writer.write_bytes(['y.txt'], b'2', 'live')
    os.symlink(str(tmp_path), str(tmp_path / 'linked-bundle'))
    with pytest.raises(StoreError, match='missing or a symbolic link'):
        BundleWriter(DemoStore(), str(tmp_path / 'linked-bundle'))


def test_a_replaced_bundle_directory_is_noticed(tmp_path, work, budget_of):
    budget_of()
    BundleWriter(DemoStore(), str(work))
    os.rename(str(work), str(tmp_path / 'moved'))
    work.mkdir()
    with pytest.raises(StoreError, match='replaced'):
        DemoStore().write_bundle_file(str(work), 'x.txt', [b'x'], 'live', 1)
    assert os.listdir(str(work)) == []


def test_log_export_fails_on_a_bundle_write_error(tmp_path, work, budget_of, monkeypatch):
    """The log store tolerates unreadable sources (it exports up to the damage); a bundle it
    cannot write must fail the store instead of leaving a shortened extract behind."""
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_logs import LogStore  # pylint: disable=import-outside-toplevel
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject  # pylint: disable=import-outside-toplevel
    log = tmp_path / 'mail.log'
    log.write_bytes(b'Nov 23 10:00:01 mx1 postfix/smtp[1]: to=<ann@example.com>, status=sent\n' * 20000)
    budget = budget_of(check_space=False)
    original = bundle.BundleFile.__init__

    def on_full_disk(self, *args, **kwargs):
        original(self, *args, **kwargs)
        full = os.open('/dev/full', os.O_WRONLY)
        os.dup2(full, self.fd)
        os.close(full)
    monkeypatch.setattr(bundle.BundleFile, '__init__', on_full_disk)
    store = LogStore({'paths': [str(log)], 'workers': 1})
    with pytest.raises(BundleLimitError, match='not enough free space'):
        store.export(Subject.from_params(addresses=['ann@example.com']), str(work))
    assert files_below(work) == [] and budget.failure()


def test_default_budgets_do_not_pile_up(tmp_path):
    before = len(os.listdir('/proc/self/fd'))
    for i in range(3 * bundle.MAX_DEFAULT_BUDGETS):
        path = tmp_path / ('b%d' % i)
        path.mkdir()
        DemoStore().write_bundle_file(str(path), 'x.txt', [b'x'], 'live', 1)
    assert len([b for b in bundle._BUDGETS.values() if not b.registered]) <= bundle.MAX_DEFAULT_BUDGETS  # pylint: disable=protected-access
    assert len(os.listdir('/proc/self/fd')) <= before + 2 * bundle.MAX_DEFAULT_BUDGETS
