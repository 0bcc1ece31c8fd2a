# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""File helpers shared by the stores: atomic replacement, checksums, compressed files,
private directories and private new files. Python standard library only."""

from __future__ import annotations

import bz2
import errno
import gzip
import hashlib
import lzma
import os
import re
import stat
import time

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fsops

CHUNK = 1024 * 1024

_MAGIC = (
    (b'\x1f\x8b', 'gz'),
    (b'BZh', 'bz2'),
    (b'\xfd7zXZ\x00', 'xz'),
)
_SUFFIX = {'.gz': 'gz', '.bz2': 'bz2', '.xz': 'xz'}


class FileUtilError(OSError):
    """A file operation was refused. The message holds no path."""


def _as_bytes(chunk):
    if isinstance(chunk, str):
        return chunk.encode('utf-8', 'surrogateescape')
    return bytes(chunk)


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path, chunks, like=None, mode=None, keep_times=True):
    """Replace ``path`` with the concatenated ``chunks`` (bytes or str) atomically.

    The directory is opened once (:meth:`fsops.Dir.open`: no symbolic link a user other than
    root controls) and everything after happens relative to that handle. The new file is
    written to a temporary file in the same directory, gets owner, group, mode and extended
    attributes (ACLs) of ``like`` (default: ``path`` itself when it exists, else mode 0600 or
    ``mode``) before any data is written, is fsynced, gets the atime/mtime of ``like``
    (``keep_times``) and is renamed over ``path``; the directory is fsynced. On any error the
    temporary file is removed and ``path`` is unchanged. Returns the sha256 (hex) of what was
    written.
    """
    directory, name = os.path.split(os.path.abspath(path))
    digest = hashlib.sha256()
    with fsops.Dir.open(directory) as handle:
        cur = handle.lstat(name)
        if cur is not None and stat.S_ISLNK(cur.st_mode):
            raise FileUtilError(errno.ELOOP, 'refusing to replace a symbolic link')
        like_fd = None
        st = None
        try:
            if like is None or os.path.abspath(like) == os.path.join(directory, name):
                if cur is not None:
                    like_fd, st = handle.open_file(name, os.O_RDONLY, expect=cur)
            else:
                try:
                    like_fd, st = fsops.open_path(os.path.abspath(like))
                except FileNotFoundError:
                    st = None
            fd, tmp = handle.create_temp('.%s.' % name[:64], '.mailprivacy-tmp', 0o600, random_bytes=4)
            try:
                if st is not None:
                    fsops.copy_metadata(st, fd, like_fd, times=False)
                    if mode is not None:
                        os.fchmod(fd, mode)
                elif mode is not None:
                    os.fchmod(fd, mode)
                with os.fdopen(fd, 'wb') as out:
                    fd = None
                    for chunk in chunks:
                        data = _as_bytes(chunk)
                        if data:
                            digest.update(data)
                            out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                    if st is not None and keep_times:
                        os.utime(out.fileno(), ns=(st.st_atime_ns, st.st_mtime_ns))
                handle.rename(tmp, name)
                tmp = None
                handle.fsync()
            finally:
                if fd is not None:
                    os.close(fd)
                if tmp is not None:
                    handle.unlink(tmp, missing_ok=True)
        finally:
            if like_fd is not None:
                os.close(like_fd)
    return digest.hexdigest()


# The temporary name atomic_write uses: '.<name[:64]>.' + 8 hex digits + '.mailprivacy-tmp'
# (older releases used tempfile.mkstemp, 8 characters of [a-z0-9_]: both match).
STALE_TEMP_RE = re.compile(r'\A\.[^/]{1,64}\.[a-z0-9_]{8}\.mailprivacy-tmp\Z', re.DOTALL)


def remove_stale_temps(directory, older_than=0):
    """Remove the temporary files that an interrupted ``atomic_write`` left in ``directory``
    (not below it): regular files whose name matches ``STALE_TEMP_RE`` and that were last
    changed at least ``older_than`` seconds ago (the later of mtime and ctime: atomic_write
    gives its temporary file the old mtime of the file it replaces just before renaming it).
    Symbolic links and anything else are left alone; everything happens relative to one
    handle of the directory. Returns the number removed."""
    limit = time.time() - older_than
    removed = 0
    try:
        handle = fsops.Dir.open(os.path.abspath(directory))
    except FileNotFoundError:
        return 0
    except fsops.FsError as err:
        if err.errno == errno.ENOENT:
            return 0
        raise
    with handle:
        for name, st in handle.entries():
            if not STALE_TEMP_RE.match(name) or not stat.S_ISREG(st.st_mode):
                continue
            if older_than > 0 and max(st.st_mtime, st.st_ctime) > limit:
                continue
            try:
                handle.unlink(name)
            except FileNotFoundError:
                continue
            removed += 1
        if removed:
            handle.fsync()
    return removed


def sha256_file(path, chunk_size=CHUNK):
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        while True:
            data = handle.read(chunk_size)
            if not data:
                break
            digest.update(data)
    return digest.hexdigest()


def compression_of(path):
    """'gz', 'bz2', 'xz' or None, from the file's magic bytes (the name as a fallback for
    empty files)."""
    with open(path, 'rb') as handle:
        head = handle.read(6)
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if not head:
        return _SUFFIX.get(os.path.splitext(path)[1])
    return None


def compression_of_fd(fd, name=''):
    """:func:`compression_of` for an open file: the magic bytes are read from the handle (pread at
    offset 0, the file offset is left alone); ``name`` gives the suffix fallback for empty files."""
    head = os.pread(fd, 6, 0)
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if not head:
        return _SUFFIX.get(os.path.splitext(name)[1])
    return None


def open_maybe_compressed(path, mode='rb'):
    """Open a plain, gzip, bzip2 or xz file for reading (decompressed); the format comes
    from the magic bytes, not the name. Text modes ('rt', 'r') decode UTF-8 with
    surrogateescape. Only reading is supported."""
    if mode not in ('r', 'rb', 'rt'):
        raise ValueError('open_maybe_compressed only reads')
    kind = compression_of(path)
    binary = mode == 'rb'
    opener = {'gz': gzip.open, 'bz2': bz2.open, 'xz': lzma.open}.get(kind)
    if opener is None:
        if binary:
            return open(path, 'rb')
        return open(path, 'r', encoding='utf-8', errors='surrogateescape')
    if binary:
        return opener(path, 'rb')
    return opener(path, 'rt', encoding='utf-8', errors='surrogateescape')


def safe_mkdir(path, mode=0o700):
    """Create ``path`` (and missing parents) with ``mode``; an existing directory gets
    ``mode``. Refuses when the path or an existing component is a symbolic link to
    something that is not a directory, or when the path is a symbolic link."""
    path = os.path.abspath(path)
    if os.path.islink(path):
        raise FileUtilError(errno.ELOOP, 'refusing a directory that is a symbolic link')
    missing = []
    cur = path
    while not os.path.lexists(cur):
        missing.append(cur)
        parent = os.path.dirname(cur)
        if parent == cur:
            break
        cur = parent
    if os.path.lexists(cur) and not os.path.isdir(cur):
        raise FileUtilError(errno.ENOTDIR, 'a path component is not a directory')
    for item in reversed(missing):
        try:
            os.mkdir(item, mode)
        except FileExistsError:
            if os.path.islink(item) or not os.path.isdir(item):
                raise FileUtilError(errno.EEXIST, 'a path component appeared and is not a directory')
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise FileUtilError(errno.ENOTDIR, 'not a directory')
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)
    return path


def write_new_file(path, chunks, mode=0o600):
    """Create a new file (never an existing one, never through a symlink) with ``mode`` and
    the concatenated chunks; fsync it. Returns (sha256 hex, size)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0)
    fd = os.open(path, flags, mode)
    digest = hashlib.sha256()
    size = 0
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, 'wb') as handle:
            fd = None
            for chunk in chunks:
                data = _as_bytes(chunk)
                if data:
                    digest.update(data)
                    size += len(data)
                    handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        if fd is not None:
            os.close(fd)
        try:
            os.unlink(path)
        except OSError:
            pass
        raise
    return digest.hexdigest(), size
