# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of fileutil: atomic replacement, checksums, compressed files, private dirs."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import stat

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fileutil


def test_atomic_write_keeps_mode_owner_and_times(tmp_path):
    path = tmp_path / 'mail.log'
    path.write_bytes(b'old\n')
    os.chmod(path, 0o640)
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_500_000_000_123_456_789))
    before = os.stat(path)
    digest = fileutil.atomic_write(str(path), [b'new ', 'line\n'])
    after = os.stat(path)
    assert path.read_bytes() == b'new line\n'
    assert digest == hashlib.sha256(b'new line\n').hexdigest()
    assert stat.S_IMODE(after.st_mode) == 0o640
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert after.st_mtime_ns == before.st_mtime_ns
    assert after.st_ino != before.st_ino
    assert [p.name for p in tmp_path.iterdir()] == ['mail.log']


def test_atomic_write_like_other_file_and_new_file(tmp_path):
    like = tmp_path / 'like'
    like.write_bytes(b'')
    os.chmod(like, 0o604)
    fileutil.atomic_write(str(tmp_path / 'new'), [b'x'], like=str(like))
    assert stat.S_IMODE(os.stat(tmp_path / 'new').st_mode) == 0o604
    fileutil.atomic_write(str(tmp_path / 'fresh'), [b'y'])
    assert stat.S_IMODE(os.stat(tmp_path / 'fresh').st_mode) == 0o600


def test_atomic_write_error_leaves_original_and_no_temp(tmp_path):
    path = tmp_path / 'f'
    path.write_bytes(b'keep\n')

    def chunks():
        yield b'partial'
        raise RuntimeError('boom')

    with pytest.raises(RuntimeError):
        fileutil.atomic_write(str(path), chunks())
    assert path.read_bytes() == b'keep\n'
    assert os.listdir(tmp_path) == ['f']


def test_atomic_write_refuses_symlink(tmp_path):
    target = tmp_path / 'target'
    target.write_bytes(b't')
    link = tmp_path / 'link'
    link.symlink_to(target)
    with pytest.raises(OSError):
        fileutil.atomic_write(str(link), [b'x'])
    assert target.read_bytes() == b't'


def test_sha256_file(tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_path / 'blob'
    path.write_bytes(data)
    assert fileutil.sha256_file(str(path)) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize('name,opener,kind', [
    ('a.log', open, None), ('a.log.gz', gzip.open, 'gz'), ('a.log.bz2', bz2.open, 'bz2'),
    ('a.log.xz', lzma.open, 'xz'), ('misnamed.log', gzip.open, 'gz'),
])
def test_open_maybe_compressed(tmp_path, name, opener, kind):
    path = str(tmp_path / name)
    with opener(path, 'wb') as handle:
        handle.write('line one\nlíne two\n'.encode('utf-8'))
    assert fileutil.compression_of(path) == kind
    with fileutil.open_maybe_compressed(path) as handle:
        assert handle.read() == 'line one\nlíne two\n'.encode('utf-8')
    with fileutil.open_maybe_compressed(path, 'rt') as handle:
        assert handle.read().splitlines() == ['line one', 'líne two']
    with pytest.raises(ValueError):
        fileutil.open_maybe_compressed(path, 'wb')


def test_safe_mkdir(tmp_path):
    path = tmp_path / 'a' / 'b' / 'c'
    fileutil.safe_mkdir(str(path), 0o700)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    os.chmod(path, 0o755)
    fileutil.safe_mkdir(str(path), 0o700)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    (tmp_path / 'file').write_bytes(b'')
    with pytest.raises(OSError):
        fileutil.safe_mkdir(str(tmp_path / 'file' / 'x'))
    (tmp_path / 'ln').symlink_to(path)
    with pytest.raises(OSError):
        fileutil.safe_mkdir(str(tmp_path / 'ln'))


def test_write_new_file(tmp_path):
    path = str(tmp_path / 'out')
    digest, size = fileutil.write_new_file(path, [b'ab', 'c'])
    assert (digest, size) == (hashlib.sha256(b'abc').hexdigest(), 3)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(FileExistsError):
        fileutil.write_new_file(path, [b'x'])
    os.symlink(str(tmp_path / 'elsewhere'), str(tmp_path / 'sl'))
    with pytest.raises(OSError):
        fileutil.write_new_file(str(tmp_path / 'sl'), [b'x'])
    assert not os.path.exists(str(tmp_path / 'elsewhere'))
