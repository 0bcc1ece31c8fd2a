# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""fsops: handle-based file operations on real file systems, with symbolic links and FIFOs
that a non-root user owns."""

from __future__ import annotations

import errno
import os
import stat
import struct
import threading
import time

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fsops
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.fsops import Dir, FsError

NOBODY = 65534

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='needs root (chown of links to another user)')


def _user_link(target, path, uid=NOBODY):
    os.symlink(target, path)
    os.lchown(path, uid, uid)


# ------------------------------------------------------------------------------ Dir.open
def test_open_plain_directory(tmp_path):
    (tmp_path / 'a' / 'b').mkdir(parents=True)
    (tmp_path / 'a' / 'b' / 'f').write_bytes(b'x')
    with Dir.open(str(tmp_path / 'a' / 'b')) as handle:
        assert handle.names() == ['f']


def test_open_refuses_relative_and_dotdot(tmp_path):
    with pytest.raises(FsError):
        Dir.open('relative/dir')
    with pytest.raises(FsError):
        Dir.open(str(tmp_path) + '/../x')


@needs_root
def test_open_refuses_link_owned_by_a_user(tmp_path):
    real = tmp_path / 'real'
    real.mkdir()
    _user_link(str(real), str(tmp_path / 'link'))
    with pytest.raises(FsError) as err:
        Dir.open(str(tmp_path / 'link'))
    assert err.value.errno == errno.ELOOP
    assert str(tmp_path) not in str(err.value)


@needs_root
def test_open_refuses_root_link_in_a_directory_others_can_write(tmp_path):
    shared = tmp_path / 'shared'
    shared.mkdir()
    os.chmod(str(shared), 0o777)
    real = tmp_path / 'real'
    real.mkdir()
    os.symlink(str(real), str(shared / 'link'))  # root's link, but anybody could replace it
    with pytest.raises(FsError):
        Dir.open(str(shared / 'link'))


@needs_root
def test_open_follows_trusted_root_links_absolute_and_relative(tmp_path):
    os.chmod(str(tmp_path), 0o755)
    (tmp_path / 'srv' / 'vmail').mkdir(parents=True)
    (tmp_path / 'srv' / 'vmail' / 'marker').write_bytes(b'')
    os.symlink(str(tmp_path / 'srv' / 'vmail'), str(tmp_path / 'abs'))
    os.symlink('srv/../srv/vmail', str(tmp_path / 'rel'))
    trusted = all(os.stat(p).st_uid == 0 and not os.stat(p).st_mode & 0o022
                  for p in [str(tmp_path)] + [os.path.dirname(str(tmp_path))])
    if not trusted:
        pytest.skip('the temporary directory is not in a root-only directory')
    with Dir.open(str(tmp_path / 'abs')) as handle:
        assert handle.names() == ['marker']
    with Dir.open(str(tmp_path / 'rel')) as handle:
        assert handle.names() == ['marker']
    with pytest.raises(FsError):
        Dir.open(str(tmp_path / 'abs'), trust_root_links=False)


def test_open_refuses_a_file_component(tmp_path):
    (tmp_path / 'file').write_bytes(b'')
    with pytest.raises(FsError) as err:
        Dir.open(str(tmp_path / 'file' / 'x'))
    assert err.value.errno == errno.ENOTDIR


def test_sub_refuses_symlink(tmp_path):
    (tmp_path / 'real').mkdir()
    os.symlink(str(tmp_path / 'real'), str(tmp_path / 'link'))
    with Dir.open(str(tmp_path)) as handle:
        with pytest.raises(FsError):
            handle.sub('link')
        with pytest.raises(FsError):
            handle.sub('../etc')


def test_sub_tells_a_link_from_a_file(tmp_path):
    # callers refuse a link (ELOOP) and treat a file where a directory was expected (ENOTDIR)
    # as a missing directory: a link to a directory, a link to a file and a dangling link are
    # all links, whatever errno the kernel gives for O_DIRECTORY|O_NOFOLLOW
    (tmp_path / 'real').mkdir()
    (tmp_path / 'file').write_bytes(b'')
    os.symlink(str(tmp_path / 'real'), str(tmp_path / 'dirlink'))
    os.symlink(str(tmp_path / 'file'), str(tmp_path / 'filelink'))
    os.symlink(str(tmp_path / 'nowhere'), str(tmp_path / 'dangling'))
    with Dir.open(str(tmp_path)) as handle:
        for name in ('dirlink', 'filelink', 'dangling'):
            with pytest.raises(FsError) as err:
                handle.sub(name)
            assert err.value.errno == errno.ELOOP, name
        with pytest.raises(FsError) as err:
            handle.sub('file')
        assert err.value.errno == errno.ENOTDIR


# ------------------------------------------------------------------------------ files
def test_open_file_refuses_fifo_without_blocking(tmp_path):
    os.mkfifo(str(tmp_path / 'fifo'))
    result = {}

    def opener():
        try:
            with Dir.open(str(tmp_path)) as handle:
                handle.open_file('fifo')
        except FsError as err:
            result['err'] = err

    thread = threading.Thread(target=opener)
    thread.daemon = True
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), 'opening a FIFO blocked'
    assert 'err' in result


def test_open_file_refuses_symlink_and_clears_nonblock(tmp_path):
    (tmp_path / 'f').write_bytes(b'data')
    os.symlink(str(tmp_path / 'f'), str(tmp_path / 'l'))
    with Dir.open(str(tmp_path)) as handle:
        with pytest.raises(FsError):
            handle.open_file('l')
        fd, st = handle.open_file('f')
    try:
        import fcntl
        assert not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK
        assert stat.S_ISREG(st.st_mode)
        assert os.read(fd, 10) == b'data'
    finally:
        os.close(fd)


def test_open_file_expect_detects_replacement(tmp_path):
    (tmp_path / 'f').write_bytes(b'one')
    with Dir.open(str(tmp_path)) as handle:
        old = handle.lstat('f')
        os.rename(str(tmp_path / 'f'), str(tmp_path / 'g'))
        (tmp_path / 'f').write_bytes(b'two')
        with pytest.raises(FsError) as err:
            handle.open_file('f', expect=old)
        assert err.value.errno == errno.ESTALE


def test_open_path(tmp_path):
    (tmp_path / 'f').write_bytes(b'abc')
    fd, st = fsops.open_path(str(tmp_path / 'f'))
    os.close(fd)
    assert st.st_size == 3


# ------------------------------------------------------------------------------ writing
def test_create_temp_rename_unlink(tmp_path):
    with Dir.open(str(tmp_path)) as handle:
        fd, name = handle.create_temp('.t.', '.tmp', 0o640)
        os.write(fd, b'x')
        os.close(fd)
        assert stat.S_IMODE(os.stat(str(tmp_path / name)).st_mode) == 0o640
        handle.rename(name, 'final')
        assert (tmp_path / 'final').read_bytes() == b'x'
        handle.unlink('final')
        handle.unlink('final', missing_ok=True)
        with pytest.raises(FileNotFoundError):
            handle.unlink('final')


def test_rmtree_removes_links_not_targets(tmp_path):
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'keep').write_bytes(b'keep')
    tree = tmp_path / 'tree'
    (tree / 'a' / 'b').mkdir(parents=True)
    (tree / 'a' / 'b' / 'f').write_bytes(b'x')
    os.symlink(str(outside), str(tree / 'a' / 'link'))
    with Dir.open(str(tmp_path)) as handle:
        handle.rmtree('tree')
    assert not tree.exists()
    assert (outside / 'keep').read_bytes() == b'keep'


def test_mkdir_existing_and_new(tmp_path):
    with Dir.open(str(tmp_path)) as handle:
        with handle.mkdir('new', 0o700) as sub:
            assert sub.names() == []
        assert stat.S_IMODE(os.stat(str(tmp_path / 'new')).st_mode) == 0o700
        os.symlink(str(tmp_path / 'new'), str(tmp_path / 'link'))
        with pytest.raises(FsError):
            handle.mkdir('link')


# ------------------------------------------------------------------------------ walk
def test_walk_lists_links_without_following(tmp_path):
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'secret').write_bytes(b's')
    top = tmp_path / 'top'
    (top / 'cur').mkdir(parents=True)
    (top / 'cur' / 'm1').write_bytes(b'1')
    os.symlink(str(outside), str(top / 'new'))
    seen = []
    with Dir.open(str(top)) as handle:
        for rel, _dir, entries in fsops.walk(handle):
            for name, st in entries:
                seen.append(('/'.join(rel + (name,)), stat.S_ISLNK(st.st_mode)))
    assert ('cur/m1', False) in seen
    assert ('new', True) in seen
    assert not any(name.endswith('secret') for name, _l in seen)


def test_walk_under_directory_swap_race_never_leaves_the_tree(tmp_path):
    """An attacker swaps a subdirectory for a symbolic link to a secret directory in a loop;
    the walk must never list or open what is behind the link."""
    secret = tmp_path / 'secret'
    secret.mkdir()
    (secret / 'shadow').write_bytes(b'root:x:secret')
    top = tmp_path / 'top'
    top.mkdir()
    stop = threading.Event()

    def attacker():
        while not stop.is_set():
            for step in range(2):
                try:
                    if step == 0:
                        os.mkdir(str(top / 'cur'))
                        (top / 'cur' / 'mail').write_bytes(b'm')
                    else:
                        os.unlink(str(top / 'cur' / 'mail'))
                        os.rmdir(str(top / 'cur'))
                        os.symlink(str(secret), str(top / 'cur'))
                        os.unlink(str(top / 'cur'))
                except OSError:
                    pass

    thread = threading.Thread(target=attacker)
    thread.daemon = True
    thread.start()
    leaked = 0
    deadline = time.monotonic() + 1.5
    try:
        while time.monotonic() < deadline:
            with Dir.open(str(top)) as handle:
                for _rel, directory, entries in fsops.walk(handle):
                    for name, st in entries:
                        if stat.S_ISREG(st.st_mode):
                            try:
                                fd, _fst = directory.open_file(name)
                            except (FsError, OSError):
                                continue
                            try:
                                if b'secret' in os.read(fd, 100):
                                    leaked += 1
                            finally:
                                os.close(fd)
    finally:
        stop.set()
        thread.join(5)
    assert leaked == 0


# ------------------------------------------------------------------------------ metadata
def _acl(entries):
    data = struct.pack('<I', 2)
    for tag, perm, ident in entries:
        data += struct.pack('<HHI', tag, perm, ident)
    return data


def test_copy_metadata_keeps_acl_xattr_owner_mode_times(tmp_path):
    src = tmp_path / 'src'
    src.write_bytes(b'x')
    os.chmod(str(src), 0o640)
    acl = _acl([(0x01, 6, 0xFFFFFFFF), (0x02, 4, 1000), (0x04, 4, 0xFFFFFFFF), (0x10, 4, 0xFFFFFFFF),
                (0x20, 0, 0xFFFFFFFF)])
    try:
        os.setxattr(str(src), 'system.posix_acl_access', acl)
        os.setxattr(str(src), 'user.mailprivacy', b'label')
    except OSError as err:
        pytest.skip('no ACL/xattr support here (errno %s)' % err.errno)
    os.utime(str(src), ns=(1000000000, 2000000000))
    dst = tmp_path / 'dst'
    dst.write_bytes(b'y')
    sfd = os.open(str(src), os.O_RDONLY)
    dfd = os.open(str(dst), os.O_RDWR)
    try:
        fsops.copy_metadata(os.fstat(sfd), dfd, sfd)
    finally:
        os.close(sfd)
        os.close(dfd)
    assert os.getxattr(str(dst), 'system.posix_acl_access') == os.getxattr(str(src), 'system.posix_acl_access')
    assert os.getxattr(str(dst), 'user.mailprivacy') == b'label'
    assert stat.S_IMODE(os.stat(str(dst)).st_mode) == stat.S_IMODE(os.stat(str(src)).st_mode)
    assert os.stat(str(dst)).st_mtime_ns == 2000000000


# ------------------------------------------------------------------------------ sparse
def test_copy_sparse_keeps_holes_and_content(tmp_path):
    src = tmp_path / 'sparse'
    with open(str(src), 'wb') as handle:
        handle.write(b'head\n')
        handle.seek(8 * 1024 * 1024)
        handle.write(b'tail\n')
    src_blocks = os.stat(str(src)).st_blocks
    dst = tmp_path / 'copy'
    sfd = os.open(str(src), os.O_RDONLY)
    dfd = os.open(str(dst), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        length = fsops.copy_sparse(sfd, dfd)
    finally:
        os.close(sfd)
        os.close(dfd)
    assert length == os.stat(str(src)).st_size
    assert dst.read_bytes() == src.read_bytes()
    assert os.stat(str(dst)).st_blocks <= src_blocks + 16
    assert os.stat(str(dst)).st_blocks * 512 < 1024 * 1024


def test_sparse_writer_turns_zero_blocks_into_holes(tmp_path):
    path = tmp_path / 'out'
    fd = os.open(str(path), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        out = fsops.SparseWriter(fd)
        out.write(b'a' * 10)
        out.write(bytes(4 * 1024 * 1024))
        out.write(b'b' * 10)
        out.write(bytes(100))
        length = out.close()
    finally:
        os.close(fd)
    data = path.read_bytes()
    assert length == len(data) == 10 + 4 * 1024 * 1024 + 10 + 100
    assert data[:10] == b'a' * 10 and data[-110:-100] == b'b' * 10 and data[-100:] == bytes(100)
    assert os.stat(str(path)).st_blocks * 512 < 1024 * 1024


def test_is_zero():
    assert fsops.is_zero(b'')
    assert fsops.is_zero(bytes(10000))
    assert not fsops.is_zero(bytes(9999) + b'\x01')
    assert not fsops.is_zero(b'\x00' * 5000 + b'x' + b'\x00' * 5000)


def test_free_bytes_and_reserve(tmp_path):
    path = tmp_path / 'r'
    path.write_bytes(b'0123456789')
    fd = os.open(str(path), os.O_RDWR)
    try:
        assert fsops.free_bytes(fd) > 0
        assert fsops.reserve(fd, 10, 1 << 16) in (True, False)
        assert os.fstat(fd).st_size in (10, 10 + (1 << 16))
    finally:
        os.close(fd)


def test_reserve_failure_restores_the_length(tmp_path, monkeypatch):
    """A failed allocation must not leave the file longer (never tried for real here: ext4
    keeps the blocks a failed fallocate got, which would fill the test machine's disk)."""
    path = tmp_path / 'r'
    path.write_bytes(b'0123456789')

    def fake_fallocate(fd, offset, length):
        os.ftruncate(fd, offset + length // 2)  # what a partial allocation leaves
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(os, 'posix_fallocate', fake_fallocate)
    fd = os.open(str(path), os.O_RDWR)
    try:
        with pytest.raises(FsError) as err:
            fsops.reserve(fd, 10, 1 << 20)
        assert err.value.errno == errno.ENOSPC
        assert os.fstat(fd).st_size == 10
    finally:
        os.close(fd)
    assert path.read_bytes() == b'0123456789'


def test_copy_sparse_observer_sees_the_logical_content_and_can_stop_the_copy(tmp_path):
    src = tmp_path / 'sparse'
    with open(str(src), 'wb') as handle:
        handle.write(b'head\n')
        handle.seek(8 * 1024 * 1024)
        handle.write(b'tail\n')
    pieces = []

    def observe(piece):
        pieces.append(piece)

    sfd = os.open(str(src), os.O_RDONLY)
    try:
        dfd = os.open(str(tmp_path / 'copy'), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fsops.copy_sparse(sfd, dfd, chunk=64 * 1024, observe=observe)
        finally:
            os.close(dfd)
        logical = b''.join(bytes(p) if isinstance(p, int) else p for p in pieces)
        assert logical == src.read_bytes()
        assert any(isinstance(p, int) and p >= 4 * 1024 * 1024 for p in pieces), 'the hole is not one piece'
        assert all(len(p) <= 64 * 1024 for p in pieces if not isinstance(p, int))

        class Stop(Exception):
            pass

        def refuse(piece):
            if isinstance(piece, int):
                raise Stop()

        dfd = os.open(str(tmp_path / 'stopped'), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            with pytest.raises(Stop):
                fsops.copy_sparse(sfd, dfd, observe=refuse)
        finally:
            os.close(dfd)
        assert os.path.getsize(str(tmp_path / 'stopped')) < 8 * 1024 * 1024
    finally:
        os.close(sfd)


def test_free_bytes_with_and_without_the_root_reserve(monkeypatch):
    class Vfs(object):
        f_frsize = 4096
        f_blocks = 1000
        f_bfree = 300
        f_bavail = 250

    monkeypatch.setattr(os, 'fstatvfs', lambda fd: Vfs())
    assert fsops.free_bytes(0) == 300 * 4096
    assert fsops.free_bytes(0, reserved=False) == 250 * 4096
    assert fsops.fs_bytes(0) == 1000 * 4096


def test_read_file_limit_fifo_and_link(tmp_path):
    (tmp_path / 'f').write_bytes(b'0123456789')
    assert fsops.read_file(str(tmp_path / 'f')) == b'0123456789'
    assert fsops.read_file(str(tmp_path / 'f'), limit=10) == b'0123456789'
    with pytest.raises(FsError) as err:
        fsops.read_file(str(tmp_path / 'f'), limit=9)
    assert err.value.errno == errno.EFBIG
    os.mkfifo(str(tmp_path / 'fifo'))
    with pytest.raises(FsError):
        fsops.read_file(str(tmp_path / 'fifo'))
    os.symlink(str(tmp_path / 'f'), str(tmp_path / 'link'))
    with pytest.raises(FsError):
        fsops.read_file(str(tmp_path / 'link'))
