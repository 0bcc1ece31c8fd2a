# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""File operations from handles, for code that runs as root over directories other users own.

The stores read, copy, rewrite and remove files in directories that a service user owns
(``/var/log/qmail`` belongs to ``qmaill``, a Maildir to its mail user). Such a user can swap a
subdirectory for a symbolic link, or a file for a FIFO, between two system calls of ours. So
nothing here looks a path up twice:

* :meth:`Dir.open` opens an absolute directory one component at a time from ``/``, each
  relative to the handle of its parent with ``O_NOFOLLOW``. A symbolic link on the way is
  followed only when it is a *trusted* link: owned by root, in a directory owned by root that
  neither group nor others can write (``/var/run -> /run``, an operator's ``/var/vmail ->
  /srv/vmail``). Any other link makes it refuse (:class:`FsError`, ``ELOOP``).
* Below an open :class:`Dir`, every name is a single component opened relative to the
  directory's handle (``dir_fd=``) with ``O_NOFOLLOW``: children (:meth:`Dir.sub`), files
  (:meth:`Dir.open_file`), temporary files (:meth:`Dir.create_temp`), rename, unlink and
  tree removal (:meth:`Dir.rmtree`) never leave the directory the handle names.
* :meth:`Dir.open_file` opens with ``O_NONBLOCK`` (a FIFO put in place of a file cannot block
  us), checks on the handle that it is a regular file, and only then clears ``O_NONBLOCK``.
  Callers read the content from that handle, the one they checked, never from the path.
* Metadata travels from handle to handle: owner, mode, extended attributes (POSIX ACLs are
  ``system.posix_acl_access``), times (:func:`copy_metadata`). Sparse files keep their holes
  (:func:`copy_sparse`, :class:`SparseWriter`). Free space is read from the handle
  (:func:`free_bytes`) and space can be reserved before a rewrite (:func:`reserve`).

Messages of :class:`FsError` name no path (paths may name people). Python standard library
only.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat

__all__ = ['FsError', 'Dir', 'open_regular', 'open_path', 'read_file', 'copy_metadata', 'copy_xattrs',
           'copy_sparse', 'SparseWriter', 'free_bytes', 'fs_bytes', 'reserve', 'is_zero', 'walk', 'BLOCK']

_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)
_DIRECTORY = getattr(os, 'O_DIRECTORY', 0)
_NOCTTY = getattr(os, 'O_NOCTTY', 0)
_NONBLOCK = getattr(os, 'O_NONBLOCK', 0)
DIR_FLAGS = os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC
FILE_FLAGS = _NOFOLLOW | _NOCTTY | _CLOEXEC | _NONBLOCK
MAX_LINKS = 16
BLOCK = 4096
_ZERO_BLOCK = bytes(BLOCK)


class FsError(OSError):
    """A file operation was refused. The message holds no path."""

    def __init__(self, code, message):
        super(FsError, self).__init__(code, message)


def _trusted_dir(st):
    """A directory only root can change entries of."""
    return st.st_uid == 0 and not (st.st_mode & 0o022)


def _components(path):
    parts = [p for p in path.split('/') if p not in ('', '.')]
    return parts


def _open_sub(fd, name):
    """Open the child directory ``name`` of ``fd`` without following a link: a symbolic link
    raises FsError(ELOOP), anything else that is not a directory FsError(ENOTDIR)."""
    try:
        return os.open(name, DIR_FLAGS, dir_fd=fd)
    except OSError as err:
        if err.errno in (errno.ELOOP, errno.EMLINK):
            raise FsError(errno.ELOOP, 'a path component is a symbolic link; refusing to follow it')
        if err.errno == errno.ENOTDIR:
            # Linux: O_DIRECTORY|O_NOFOLLOW on a link fails with ENOTDIR, not ELOOP
            try:
                is_link = stat.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
            except OSError:
                is_link = False
            if is_link:
                raise FsError(errno.ELOOP, 'a path component is a symbolic link; refusing to follow it')
            raise FsError(errno.ENOTDIR, 'a path component is not a directory')
        raise


def _check_name(name):
    if not name or name in ('.', '..') or '/' in name or '\x00' in name:
        raise FsError(errno.EINVAL, 'a file name is empty, a dot entry or contains a slash')


class Dir(object):
    """An open directory handle. Every operation takes one name relative to it."""

    __slots__ = ('fd',)

    def __init__(self, fd):
        self.fd = fd

    # ---------------------------------------------------------------- opening
    @classmethod
    def open(cls, path, trust_root_links=True):
        """Open the absolute directory ``path`` component by component (see the module
        docstring). ``trust_root_links=False`` refuses every symbolic link on the way."""
        if not isinstance(path, str) or not path.startswith('/'):
            raise FsError(errno.EINVAL, 'a path is not absolute')
        todo = list(reversed(_components(path)))
        if '..' in todo:
            raise FsError(errno.EINVAL, "a path contains '..'")
        # the handles from / down to the current directory: '..' in a trusted link's target
        # goes back up this stack, never through the file system's own '..'
        stack = [os.open('/', DIR_FLAGS)]
        links = 0
        try:
            while todo:
                name = todo.pop()
                if name == '..':
                    if len(stack) > 1:
                        os.close(stack.pop())
                    continue
                cur = stack[-1]
                try:
                    st = os.stat(name, dir_fd=cur, follow_symlinks=False)
                except FileNotFoundError:
                    raise FsError(errno.ENOENT, 'a directory does not exist')
                if stat.S_ISLNK(st.st_mode):
                    if not trust_root_links or st.st_uid != 0 or not _trusted_dir(os.fstat(cur)):
                        raise FsError(errno.ELOOP, 'a path passes through a symbolic link that a user other '
                                                   'than root can change; refusing to follow it')
                    links += 1
                    if links > MAX_LINKS:
                        raise FsError(errno.ELOOP, 'too many symbolic links in a path')
                    target = os.readlink(name, dir_fd=cur)
                    if target.startswith('/'):
                        while len(stack) > 1:
                            os.close(stack.pop())
                    todo.extend(reversed(_components(target)))
                    continue
                if not stat.S_ISDIR(st.st_mode):
                    raise FsError(errno.ENOTDIR, 'a path component is not a directory')
                stack.append(_open_sub(cur, name))
            fd = stack.pop()
        finally:
            for other in stack:
                os.close(other)
        return cls(fd)

    def sub(self, name):
        """The child directory ``name`` (never through a symbolic link)."""
        _check_name(name)
        return Dir(_open_sub(self.fd, name))

    def mkdir(self, name, mode=0o700):
        """The child directory ``name``, created with ``mode`` when missing (an existing one
        must be a real directory; its mode is left alone)."""
        _check_name(name)
        try:
            os.mkdir(name, mode, dir_fd=self.fd)
        except FileExistsError:
            pass
        return self.sub(name)

    # ---------------------------------------------------------------- reading
    def stat(self):
        return os.fstat(self.fd)

    def lstat(self, name):
        """lstat of ``name``; None when it does not exist."""
        _check_name(name)
        try:
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def names(self):
        """The entry names, sorted (no dot entries)."""
        with os.scandir(self.fd) as it:
            return sorted(entry.name for entry in it)

    def entries(self):
        """[(name, lstat)] of the entries, sorted by name; entries that vanish are left out."""
        out = []
        for name in self.names():
            st = self.lstat(name)
            if st is not None:
                out.append((name, st))
        return out

    def open_file(self, name, flags=os.O_RDONLY, expect=None):
        """(fd, fstat) of the regular file ``name``, opened with ``flags`` (see
        :func:`open_regular`). ``expect``: an lstat result the opened file must be (same
        device and inode), or FsError."""
        _check_name(name)
        fd, st = open_regular(self.fd, name, flags)
        if expect is not None and (st.st_dev, st.st_ino) != (expect.st_dev, expect.st_ino):
            os.close(fd)
            raise FsError(errno.ESTALE, 'a file was replaced while it was opened')
        return fd, st

    def readlink(self, name):
        _check_name(name)
        return os.readlink(name, dir_fd=self.fd)

    # ---------------------------------------------------------------- writing
    def create_temp(self, prefix, suffix='', mode=0o600, random_bytes=6):
        """(fd, name) of a new empty file ``<prefix><2 x random_bytes hex digits><suffix>``
        in this directory (O_EXCL, never through a link), opened read-write with ``mode``."""
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
        for _attempt in range(100):
            name = '%s%s%s' % (prefix, os.urandom(random_bytes).hex(), suffix)
            _check_name(name)
            try:
                fd = os.open(name, flags, mode, dir_fd=self.fd)
            except FileExistsError:
                continue
            try:
                os.fchmod(fd, mode)
            except BaseException:
                os.close(fd)
                self.unlink(name, missing_ok=True)
                raise
            return fd, name
        raise FsError(errno.EEXIST, 'no free temporary file name')

    def create(self, name, mode=0o600):
        """fd of the new file ``name`` (O_EXCL, never through a link), opened for writing."""
        _check_name(name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
        fd = os.open(name, flags, mode, dir_fd=self.fd)
        try:
            os.fchmod(fd, mode)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def rename(self, src, dst, dst_dir=None):
        """Rename ``src`` of this directory to ``dst`` of ``dst_dir`` (default: this one)."""
        _check_name(src)
        _check_name(dst)
        os.rename(src, dst, src_dir_fd=self.fd, dst_dir_fd=(dst_dir or self).fd)

    def unlink(self, name, missing_ok=False):
        _check_name(name)
        try:
            os.unlink(name, dir_fd=self.fd)
        except FileNotFoundError:
            if not missing_ok:
                raise

    def rmdir(self, name):
        _check_name(name)
        os.rmdir(name, dir_fd=self.fd)

    def rmtree(self, name, missing_ok=True):
        """Remove the entry ``name`` and, when it is a directory, everything below it, from
        handles only (a symbolic link is removed, never followed)."""
        st = self.lstat(name)
        if st is None:
            if missing_ok:
                return
            raise FsError(errno.ENOENT, 'nothing to remove')
        if not stat.S_ISDIR(st.st_mode):
            self.unlink(name, missing_ok=True)
            return
        with self.sub(name) as child:
            if (child.stat().st_dev, child.stat().st_ino) != (st.st_dev, st.st_ino):
                raise FsError(errno.ESTALE, 'a directory was replaced during removal')
            for entry, _est in child.entries():
                child.rmtree(entry)
        try:
            self.rmdir(name)
        except FileNotFoundError:
            pass

    def fsync(self):
        try:
            os.fsync(self.fd)
        except OSError:
            pass

    # ---------------------------------------------------------------- lifetime
    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return '<Dir fd=%s>' % self.fd


def open_regular(dir_fd, name, flags=os.O_RDONLY):
    """(fd, fstat) of ``name`` relative to ``dir_fd`` (None: the working directory),
    opened with ``flags`` plus ``O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC``; refused
    (FsError) unless the handle is a regular file. ``O_NONBLOCK`` is cleared after the check,
    so the handle reads and writes normally."""
    try:
        fd = os.open(name, flags | FILE_FLAGS, dir_fd=dir_fd)
    except OSError as err:
        if err.errno in (errno.ELOOP, errno.EMLINK):
            raise FsError(errno.ELOOP, 'refusing a symbolic link')
        if err.errno == errno.ENXIO:
            raise FsError(errno.ENXIO, 'refusing a file that is not a regular file')
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FsError(errno.EINVAL, 'refusing a file that is not a regular file')
        if _NONBLOCK and not flags & _NONBLOCK:
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def open_path(path, flags=os.O_RDONLY, trust_root_links=True):
    """(fd, fstat) of the regular file at the absolute ``path``: its directory through
    :meth:`Dir.open`, the file through :meth:`Dir.open_file`."""
    directory, name = os.path.split(path)
    with Dir.open(directory or '/', trust_root_links) as handle:
        return handle.open_file(name, flags)


def read_file(path, limit=None, trust_root_links=True):
    """The bytes of the regular file at the absolute ``path``, read from the handle
    :func:`open_path` checked (no symbolic link a user other than root controls, never blocking
    on a FIFO). With ``limit``, a longer file raises FsError(EFBIG) (the size is checked on the
    handle and while reading, so a file that grows meanwhile is caught too)."""
    fd, st = open_path(path, os.O_RDONLY, trust_root_links)
    with os.fdopen(fd, 'rb') as handle:
        if limit is None:
            return handle.read()
        if st.st_size > limit:
            raise FsError(errno.EFBIG, 'a file is larger than the limit')
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FsError(errno.EFBIG, 'a file is larger than the limit')
    return data


def walk(top, max_depth=64, _rel=(), _seen=None):
    """Top-down walk below the open :class:`Dir` ``top``: yields ``(relparts, dir, entries)``
    where ``entries`` is [(name, lstat)] of the directory (sorted). Subdirectories are opened
    relative to their parent's handle without following links, checked against the lstat
    that listed them, and closed after their subtree; symbolic links are listed, never
    followed; a directory seen twice (bind mounts) is not entered again."""
    if _seen is None:
        _seen = set()
    st = top.stat()
    key = (st.st_dev, st.st_ino)
    if key in _seen:
        return
    _seen.add(key)
    entries = top.entries()
    yield _rel, top, entries
    if len(_rel) >= max_depth:
        return
    for name, est in entries:
        if not stat.S_ISDIR(est.st_mode):
            continue
        try:
            child = top.sub(name)
        except (FsError, FileNotFoundError):
            continue
        with child:
            cst = child.stat()
            if (cst.st_dev, cst.st_ino) != (est.st_dev, est.st_ino):
                continue  # replaced between the listing and the open: not what was listed
            yield from walk(child, max_depth, _rel + (name,), _seen)


# ------------------------------------------------------------------------------ metadata
_XATTR_SKIP = ('system.nfs4_acl',)


def copy_xattrs(src_fd, dst_fd):
    """Copy every extended attribute (POSIX ACLs, SELinux labels, user attributes) from one
    handle to another. Attributes the file system or the kernel refuse are skipped; returns
    the number copied."""
    if not hasattr(os, 'listxattr'):
        return 0
    try:
        names = os.listxattr(src_fd)
    except OSError:
        return 0
    copied = 0
    for name in names:
        if name in _XATTR_SKIP:
            continue
        try:
            os.setxattr(dst_fd, name, os.getxattr(src_fd, name))
            copied += 1
        except OSError:
            continue
    return copied


def copy_metadata(src_st, dst_fd, src_fd=None, times=True):
    """Give ``dst_fd`` the owner, group and mode of ``src_st`` (in that order: chown clears
    set-id bits), the extended attributes of ``src_fd`` (when given) and, with ``times``,
    its access and modification times."""
    try:
        os.fchown(dst_fd, src_st.st_uid, src_st.st_gid)
    except PermissionError:
        pass
    os.fchmod(dst_fd, stat.S_IMODE(src_st.st_mode))
    if src_fd is not None:
        copy_xattrs(src_fd, dst_fd)
    if times:
        os.utime(dst_fd, ns=(src_st.st_atime_ns, src_st.st_mtime_ns))


# ------------------------------------------------------------------------------ sparse files
def is_zero(data):
    """True when ``data`` (bytes-like) holds only NUL bytes."""
    view = memoryview(data)
    if not len(view):
        return True
    if view[0] or view[-1]:
        return False
    if len(view) <= BLOCK:
        return bytes(view) == bytes(len(view))
    pos = 0
    while pos < len(view):
        piece = view[pos:pos + BLOCK]
        if piece != _ZERO_BLOCK[:len(piece)]:
            return False
        pos += BLOCK
    return True


def _write_all(fd, data, offset=None):
    view = memoryview(data)
    while view:
        done = os.write(fd, view) if offset is None else os.pwrite(fd, view, offset)
        view = view[done:]
        if offset is not None:
            offset += done


class SparseWriter(object):
    """Writes a stream to ``fd`` from offset 0, leaving a hole instead of every whole block
    (:data:`BLOCK` bytes, aligned in the output) of NUL bytes; :meth:`close` sets the final
    length. Output that has no such block is written as it comes."""

    def __init__(self, fd, block=BLOCK):
        self.fd = fd
        self.block = block
        self.offset = 0
        self.pending = bytearray()

    def write(self, data):
        if not len(data):
            return
        self.pending += data
        block = self.block
        whole = len(self.pending) - len(self.pending) % block
        if whole < 8 * block and len(self.pending) < 1024 * 1024:
            return
        self._flush(whole)

    def _flush(self, upto):
        pending = self.pending
        block = self.block
        ranges = []
        pos = 0
        start = 0
        while pos + block <= upto:
            # cheap test first: log data seldom has NUL bytes at both ends of a block
            if pending[pos] == 0 and pending[pos + block - 1] == 0 and pending[pos:pos + block] == _ZERO_BLOCK[:block]:
                if pos > start:
                    ranges.append((start, pos))
                start = pos + block
            pos += block
        if upto > start:
            ranges.append((start, upto))
        with memoryview(pending) as view:
            for lo, hi in ranges:
                with view[lo:hi] as piece:
                    _write_all(self.fd, piece, self.offset + lo)
        self.offset += upto
        del pending[:upto]

    def skip(self, count):
        """Leave a hole of ``count`` bytes (the output is a new file: unwritten bytes read
        as NUL)."""
        self._flush(len(self.pending))
        self.offset += count

    def close(self):
        """Write what is pending and set the file's length; returns the length."""
        self._flush(len(self.pending))
        os.ftruncate(self.fd, self.offset)
        return self.offset


def copy_sparse(src_fd, dst_fd, length=None, chunk=1024 * 1024, observe=None):
    """Copy ``src_fd`` (from offset 0, ``length`` bytes or to its end) to ``dst_fd`` (from
    offset 0), keeping holes: data ranges are found with SEEK_DATA/SEEK_HOLE where the file
    system supports them, and whole NUL blocks become holes too. Returns bytes copied.

    ``observe``: called with every piece in order before it is written: the bytes of a data
    piece (at most ``chunk``), or the length (int) of a hole, whose bytes read as NUL. Together
    the pieces are the logical content (for a checksum); an exception it raises stops the copy
    (for a size budget)."""
    if length is None:
        length = os.fstat(src_fd).st_size
    out = SparseWriter(dst_fd)
    seek_data = getattr(os, 'SEEK_DATA', None)
    seek_hole = getattr(os, 'SEEK_HOLE', None)
    pos = 0
    while pos < length:
        data_start = pos
        data_end = length
        if seek_data is not None:
            try:
                data_start = min(os.lseek(src_fd, pos, seek_data), length)
                data_end = min(os.lseek(src_fd, data_start, seek_hole), length)
            except OSError as err:
                if err.errno == errno.ENXIO:  # only a hole up to the end
                    data_start = data_end = length
                else:
                    seek_data = None
                    data_start, data_end = pos, length
        if data_start > pos:
            if observe is not None:
                observe(data_start - pos)
            out.skip(data_start - pos)
            pos = data_start
        while pos < data_end:
            data = os.pread(src_fd, min(chunk, data_end - pos), pos)
            if not data:
                data_end = pos
                length = pos
                break
            if observe is not None:
                observe(data)
            out.write(data)
            pos += len(data)
    return out.close()


# ------------------------------------------------------------------------------ space
def free_bytes(fd, reserved=True):
    """Bytes available to root on the file system of ``fd``; with ``reserved=False`` the
    bytes available to other users (the blocks the file system keeps for root left out:
    what the services that run as users can still write)."""
    st = os.fstatvfs(fd)
    return (st.f_bfree if reserved else st.f_bavail) * st.f_frsize


def fs_bytes(fd):
    """Size in bytes of the file system of ``fd``."""
    st = os.fstatvfs(fd)
    return st.f_blocks * st.f_frsize


def reserve(fd, offset, length):
    """Allocate ``length`` bytes from ``offset`` of ``fd`` (posix_fallocate), so that writing
    them cannot fail for lack of space. The file grows to ``offset + length`` when that is
    beyond its end: call it only where nobody else writes the file meanwhile. True when
    reserved; False when the file system cannot reserve (the caller must then rely on a
    free-space check). Raises FsError(ENOSPC) when the space is not there; the file then gets
    its old length back (a failed allocation can leave blocks and a longer file behind)."""
    if length <= 0:
        return True
    if not hasattr(os, 'posix_fallocate'):
        return False
    before = os.fstat(fd).st_size
    try:
        os.posix_fallocate(fd, offset, length)
    except OSError as err:
        if err.errno == errno.ENOSPC:
            os.ftruncate(fd, before)
            raise FsError(errno.ENOSPC, 'not enough free space')
        if err.errno in (errno.EOPNOTSUPP, errno.EINVAL, getattr(errno, 'ENOTSUP', errno.EOPNOTSUPP)):
            return False
        raise
    return True
