# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The export bundle of one host: every file a store writes into it goes through here.

* :class:`Budget` bounds one bundle: the total of the bytes written (``max_bundle_size`` of
  subject_export; the logical size, holes of sparse files included) and the free space of the
  file system it is written to. The bundle may use the space that users (not only root) can
  still write, less a margin (5 % of the file system or 1 GiB, whichever is smaller), and it
  leaves room for the packed copy that the playbook makes next to it: each byte written needs
  two free bytes. The free space is read from the bundle directory's handle before the first
  write and again every :data:`RECHECK_BYTES` bytes or :data:`RECHECK_FILES` files, never per
  byte. When a limit is hit the write raises :class:`BundleLimitError` and the budget stays
  failed: every later write fails at once, and subject_export removes the partial bundle.
  The counters live in a small anonymous file shared by the processes that the log store
  forks, so the workers of one export share one budget.
* :class:`BundleFile` is one new file of the bundle (0600, directories 0700): created with
  ``O_EXCL`` relative to the handle of its directory, written in chunks of :data:`CHUNK` bytes
  through the budget, SHA-256 and size counted as written. :meth:`BundleFile.copy_fd` copies an
  already open file and keeps its holes (:func:`fsops.copy_sparse`); its checksum covers the
  logical content, zeros of the holes included.
* :class:`BundleWriter` writes the files of one store under ``<bundle>/<store name>/`` and
  collects their entries for ``Result.files``; :class:`LazyExtract` is a file created on the
  first write (log and journal extracts).

A bundle directory finds its budget by path (:func:`budget_for`): subject_export registers one
with its ``max_bundle_size`` (:func:`open_budget`); a store run without it (unit tests) gets
the default budget. Python standard library only; messages name no path.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import stat
import struct
import tempfile
import threading

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fsops
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.errors import StoreError

MIB = 1024 * 1024
GIB = 1024 * MIB
DEFAULT_MAX_SIZE = 20 * GIB
MARGIN_SHARE = 0.05
MARGIN_MAX = GIB
CHUNK = MIB
RECHECK_BYTES = 16 * MIB
RECHECK_FILES = 256
# a new file costs at least a block on disk (and its tar header in the packed copy)
FILE_COST = fsops.BLOCK

SIZE = 1
SPACE = 2
WRITE = 3

_STATE = struct.Struct('<9q')
_FIELDS = ('logical', 'physical', 'allowance', 'since_bytes', 'since_files', 'failure', 'fail_free', 'fail_errno',
           'fail_keep')
_ZEROS = bytes(CHUNK)


class BundleLimitError(StoreError):
    """The bundle cannot take more data (size cap, free space, a write error). The export
    must fail and its partial bundle be removed. The message holds sizes only."""


def _size(value):
    """A size for a message: whole MiB, or bytes below 1 MiB."""
    value = int(value)
    if value < MIB:
        return '%d bytes' % value
    return '%d MiB' % (value // MIB)


def margin_for(fs_size):
    """The free space an export leaves on a file system of ``fs_size`` bytes."""
    return min(int(fs_size * MARGIN_SHARE), MARGIN_MAX)


class Budget(object):
    """The size cap and free-space check of one bundle (see the module docstring).

    ``root``: an open :class:`fsops.Dir` of the bundle directory (the budget closes it);
    ``max_size``: cap on the logical bytes written, 0 for none; ``check_space``: check the
    free space of ``root``'s file system."""

    def __init__(self, root, max_size=DEFAULT_MAX_SIZE, check_space=True, registered=False):
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0:
            raise StoreError('max_bundle_size must be a number of bytes, 0 for no cap')
        self.root = root
        self.max_size = max_size
        self.check_space = check_space
        self.registered = registered
        self.margin = margin_for(fsops.fs_bytes(root.fd)) if check_space else 0
        self._lock = threading.Lock()
        self._fd = self._state_file()
        os.pwrite(self._fd, _STATE.pack(*([0] * len(_FIELDS))), 0)

    @staticmethod
    def _state_file():
        if hasattr(os, 'memfd_create'):
            try:
                return os.memfd_create('mailprivacy-bundle-budget', getattr(os, 'MFD_CLOEXEC', 0))
            except OSError:
                pass
        handle = tempfile.TemporaryFile()  # pylint: disable=consider-using-with
        fd = os.dup(handle.fileno())
        handle.close()
        return fd

    @classmethod
    def open(cls, path, max_size=DEFAULT_MAX_SIZE, check_space=True, registered=False, what='bundle'):
        """The budget of the bundle directory ``path`` (the last component must be a
        directory, not a symbolic link). Missing or a link: StoreError naming ``what``."""
        path = os.path.abspath(path)
        parent, name = os.path.split(path)
        try:
            with fsops.Dir.open(parent or '/') as handle:
                root = handle.sub(name)
        except fsops.FsError as err:
            raise StoreError('%s: the bundle directory is missing or a symbolic link (%s)' % (what, err.strerror))
        except (OSError, ValueError):
            raise StoreError('%s: the bundle directory is missing or a symbolic link' % what)
        try:
            return cls(root, max_size, check_space, registered)
        except BaseException:
            root.close()
            raise

    # ---------------------------------------------------------------- shared state
    def _read(self):
        return dict(zip(_FIELDS, _STATE.unpack(os.pread(self._fd, _STATE.size, 0))))

    def _write(self, state):
        os.pwrite(self._fd, _STATE.pack(*[int(state[f]) for f in _FIELDS]), 0)

    def _locked(self, func):
        with self._lock:
            fcntl.lockf(self._fd, fcntl.LOCK_EX)
            try:
                state = self._read()
                try:
                    return func(state)
                finally:
                    self._write(state)
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN)

    # ---------------------------------------------------------------- checks
    def _available(self):
        return fsops.free_bytes(self.root.fd, reserved=False)

    def _recheck(self, state):
        free = self._available()
        # what may still be written: the free space less the margin, less the packed copy of
        # what is written already, halved (each further byte needs room for its packed copy)
        state['allowance'] = max(0, (free - self.margin - state['physical']) // 2)
        state['since_bytes'] = 0
        state['since_files'] = 0
        return free

    def _fail(self, state, kind, free=0, err=0):
        state['failure'] = kind
        state['fail_free'] = free
        state['fail_errno'] = err
        state['fail_keep'] = self.margin
        return BundleLimitError(self._message(state))

    def _message(self, state):
        kind = state['failure']
        if kind == SIZE:
            return ('the export would exceed max_bundle_size (%s; %s written)'
                    % (_size(self.max_size), _size(state['logical'])))
        if kind == SPACE and state['fail_free'] < 0:
            return ('not enough free space on the host for the export bundle (%s written; the file system '
                    'refused a write)' % _size(state['logical']))
        if kind == SPACE:
            return ('not enough free space on the host for the export bundle (%s written, %s free; the '
                    'export keeps %s free and room for the packed copy of the bundle)'
                    % (_size(state['logical']), _size(state['fail_free']), _size(state['fail_keep'])))
        if kind == WRITE:
            return 'the export bundle cannot be written (errno %d)' % state['fail_errno']
        return ''

    def charge(self, logical, physical=None):
        """Account for ``logical`` bytes of content of which ``physical`` (default: all) take
        space, before they are written. BundleLimitError when they do not fit."""
        physical = logical if physical is None else physical

        def apply(state):
            if state['failure']:
                raise BundleLimitError(self._message(state))
            if self.max_size and state['logical'] + logical > self.max_size:
                raise self._fail(state, SIZE)
            if self.check_space and physical:
                state['since_bytes'] += physical
                if (physical > state['allowance'] or state['since_bytes'] >= RECHECK_BYTES
                        or state['since_files'] >= RECHECK_FILES):
                    free = self._recheck(state)
                    if physical > state['allowance']:
                        raise self._fail(state, SPACE, free)
                state['allowance'] -= physical
            state['logical'] += logical
            state['physical'] += physical

        self._locked(apply)

    def new_file(self):
        """Account for a new file (a block on disk, a header in the packed copy)."""
        def count(state):
            state['since_files'] += 1
        self._locked(count)
        self.charge(0, FILE_COST)

    def check_start(self):
        """Before the first write: BundleLimitError when the file system has no room beyond
        the margin."""
        def check(state):
            if state['failure']:
                raise BundleLimitError(self._message(state))
            if self.check_space:
                free = self._recheck(state)
                if state['allowance'] <= 0:
                    raise self._fail(state, SPACE, free)
        self._locked(check)

    def write_failed(self, err):
        """A write into the bundle failed with the OSError ``err``: the budget fails (ENOSPC
        and EDQUOT as lack of space). Returns the BundleLimitError to raise."""
        code = getattr(err, 'errno', None) or 0

        def fail(state):
            if state['failure']:
                return BundleLimitError(self._message(state))
            if code in (errno.ENOSPC, getattr(errno, 'EDQUOT', errno.ENOSPC)):
                return self._fail(state, SPACE, -1)
            return self._fail(state, WRITE, err=code)

        return self._locked(fail)

    def failure(self):
        """The message of the limit that was hit, or None."""
        state = self._locked(dict)
        return self._message(state) if state['failure'] else None

    def written(self):
        """(logical bytes, bytes that take space) accounted so far."""
        state = self._locked(dict)
        return state['logical'], state['physical']

    def matches(self, path):
        """Whether ``path`` is still the directory this budget's handle names."""
        try:
            st = os.lstat(path)
        except OSError:
            return False
        own = self.root.stat()
        return stat.S_ISDIR(st.st_mode) and (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.root.close()


# ------------------------------------------------------------------------------ registry
_BUDGETS = {}
# default budgets kept at most (stores run without subject_export: unit tests); each holds two
# file descriptors, the oldest is closed first
MAX_DEFAULT_BUDGETS = 16


def open_budget(bundle_dir, max_size=DEFAULT_MAX_SIZE, check_space=True):
    """Register and return the budget of ``bundle_dir`` for the stores that write into it
    (subject_export); :func:`close_budget` ends it."""
    key = os.path.abspath(bundle_dir)
    old = _BUDGETS.pop(key, None)
    if old is not None:
        old.close()
    budget = Budget.open(key, max_size, check_space, registered=True)
    _BUDGETS[key] = budget
    return budget


def close_budget(budget):
    for key, value in list(_BUDGETS.items()):
        if value is budget:
            del _BUDGETS[key]
    budget.close()


def budget_for(bundle_dir, what='bundle'):
    """The budget registered for ``bundle_dir``, else a default one (the default cap and the
    free-space check), kept for later writes into the same directory. StoreError messages
    start with ``what``."""
    key = os.path.abspath(bundle_dir)
    budget = _BUDGETS.get(key)
    if budget is not None:
        if budget.matches(key):
            return budget
        if budget.registered:
            raise StoreError('%s: the bundle directory was replaced during the export; refusing' % what)
        del _BUDGETS[key]
        budget.close()
    defaults = [k for k, value in _BUDGETS.items() if not value.registered]
    for old in defaults[:max(0, len(defaults) - MAX_DEFAULT_BUDGETS + 1)]:
        _BUDGETS.pop(old).close()
    budget = Budget.open(key, what=what)
    _BUDGETS[key] = budget
    return budget


# ------------------------------------------------------------------------------ files
def check_parts(relparts, what):
    """``relparts`` as a list of plain names, or StoreError naming ``what``."""
    parts = list(relparts)
    if not parts:
        raise StoreError('%s: invalid bundle file name' % what)
    for part in parts:
        if not isinstance(part, str) or not part or part in ('.', '..') or '/' in part or '\x00' in part:
            raise StoreError('%s: invalid bundle file name' % what)
    return parts


def split_relpath(relpath, what):
    """A relative bundle path as its parts; StoreError when it is absolute or escapes."""
    rel = os.path.normpath(relpath)
    if rel.startswith('..') or os.path.isabs(rel) or rel == '.':
        raise StoreError('%s: a bundle path escapes the bundle' % what)
    return check_parts(rel.split(os.sep), what)


def _as_bytes(chunk):
    if isinstance(chunk, str):
        return chunk.encode('utf-8', 'surrogateescape')
    return chunk


class BundleFile(object):
    """One new file ``<bundle>/<relparts>`` (0600; missing directories are created 0700),
    written through ``budget``. Use :meth:`write` (buffered, in chunks) or :meth:`copy_fd`,
    then :meth:`close` (or :meth:`abort`, which removes it)."""

    def __init__(self, budget, relparts, what='bundle'):
        parts = check_parts(relparts, what)
        self.budget = budget
        self.parts = parts
        self.relpath = '/'.join(parts)
        self.digest = hashlib.sha256()
        self.size = 0
        self.buffer = bytearray()
        self.fd = None
        self.dir = None
        self.name = parts[-1]
        budget.new_file()
        directory = budget.root
        try:
            for part in parts[:-1]:
                child = directory.mkdir(part, 0o700)
                if directory is not budget.root:
                    directory.close()
                directory = child
            self.fd = directory.create(self.name, 0o600)
        except fsops.FsError:
            if directory is not budget.root:
                directory.close()
            raise StoreError('%s: a bundle path is taken by a link or a file' % what)
        except OSError as err:
            if directory is not budget.root:
                directory.close()
            if err.errno == errno.EEXIST:
                raise StoreError('%s: a bundle file exists already' % what)
            raise budget.write_failed(err)
        self.dir = directory

    def _write(self, data):
        try:
            with memoryview(data) as view:
                while view:
                    done = os.write(self.fd, view)
                    view = view[done:]
        except OSError as err:
            raise self.budget.write_failed(err)

    def _flush(self):
        if not self.buffer:
            return
        data = self.buffer
        self.buffer = bytearray()
        self.budget.charge(len(data))
        self._write(data)
        self.digest.update(data)
        self.size += len(data)

    def write(self, data):
        data = _as_bytes(data)
        if not len(data):
            return
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self._flush()

    def write_chunks(self, chunks):
        for chunk in chunks:
            self.write(chunk)

    def copy_fd(self, src_fd, length=None):
        """Copy the open regular file ``src_fd`` (from offset 0, ``length`` bytes or to its
        end) into this new, still empty file, keeping its holes; the checksum covers the
        logical content. The file offset of ``src_fd`` is left where it was."""
        if self.size or self.buffer:
            raise StoreError('a bundle file is copied into after a write')
        budget = self.budget
        digest = self.digest

        def observe(piece):
            if isinstance(piece, int):
                budget.charge(piece, 0)
                left = piece
                while left:
                    step = min(left, CHUNK)
                    digest.update(memoryview(_ZEROS)[:step])
                    left -= step
            else:
                budget.charge(len(piece))
                digest.update(piece)

        offset = os.lseek(src_fd, 0, os.SEEK_CUR)
        try:
            self.size = fsops.copy_sparse(src_fd, self.fd, length, CHUNK, observe=observe)
        except OSError as err:
            if err.errno in (errno.ENOSPC, getattr(errno, 'EDQUOT', errno.ENOSPC), errno.EFBIG):
                raise budget.write_failed(err)
            raise
        finally:
            os.lseek(src_fd, offset, os.SEEK_SET)  # copy_sparse seeks for data and holes
        return self.size

    def close(self):
        """Write what is buffered, fsync and close; returns (sha256 hex, size)."""
        if self.fd is not None:
            try:
                self._flush()
                try:
                    os.fsync(self.fd)
                except OSError as err:
                    raise self.budget.write_failed(err)
            finally:
                os.close(self.fd)
                self.fd = None
                self._close_dir()
        return self.digest.hexdigest(), self.size

    def _close_dir(self):
        if self.dir is not None and self.dir is not self.budget.root:
            self.dir.close()
        self.dir = None

    def abort(self):
        """Close and remove the file (also after :meth:`close`)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        try:
            if self.dir is None:
                directory = self.budget.root
                for part in self.parts[:-1]:
                    child = directory.sub(part)
                    if directory is not self.budget.root:
                        directory.close()
                    directory = child
                self.dir = directory
            self.dir.unlink(self.name, missing_ok=True)
        except OSError:
            pass
        finally:
            self._close_dir()


class FdSource(object):
    """The content of an open regular file, for :func:`write_file` (``chunks``): copied with
    its holes kept. The caller opened and checked ``fd`` and closes it."""

    __slots__ = ('fd', 'length')

    def __init__(self, fd, length=None):
        self.fd = fd
        self.length = length


def write_file(store_name, bundle_dir, relpath, chunks, kind, count):
    """Write ``<bundle_dir>/<store_name>/<relpath>`` from ``chunks`` (bytes or str, or an
    :class:`FdSource`) and return its files[] entry {path (relative to the bundle), sha256,
    size, kind, count}. ``Store.write_bundle_file`` calls it: the one way a store's file
    gets into the bundle."""
    parts = [store_name] + split_relpath(relpath, store_name)
    out = BundleFile(budget_for(bundle_dir, store_name), parts, store_name)
    try:
        if isinstance(chunks, FdSource):
            out.copy_fd(chunks.fd, chunks.length)
        else:
            out.write_chunks(chunks)
        digest, size = out.close()
    except BaseException:
        out.abort()
        raise
    return {'path': out.relpath, 'sha256': digest, 'size': size, 'kind': kind, 'count': count}


def store_root(store_name, bundle_dir):
    """Create ``<bundle_dir>/<store_name>`` (0700) through the bundle's handle and return its
    path; the bundle's budget is set up here (before the log store forks its workers)."""
    budget = budget_for(bundle_dir, store_name)
    check_parts([store_name], store_name)
    try:
        budget.root.mkdir(store_name, 0o700).close()
    except fsops.FsError:
        raise StoreError('%s: the store directory of the bundle is a link or a file' % store_name)
    return os.path.join(os.path.abspath(bundle_dir), store_name)


class BundleWriter(object):
    """Writes the files of one store under ``<bundle_dir>/<store name>/`` (dirs 0700, new files
    0600, never through a symbolic link, every byte through the bundle's budget) and collects
    their entries for Result.files. Callers pass path parts that carry no personal data
    (sequence numbers, table names)."""

    def __init__(self, store, bundle_dir):
        self.store = store
        self.bundle_dir = bundle_dir
        self.files = []
        store.bundle_root(bundle_dir)

    def _rel(self, relparts):
        return os.path.join(*check_parts(relparts, self.store.name))

    def write_chunks(self, relparts, chunks, kind, count=1):
        entry = self.store.write_bundle_file(self.bundle_dir, self._rel(relparts), chunks, kind, count)
        self.files.append(entry)
        return entry

    def write_bytes(self, relparts, data, kind, count=1):
        return self.write_chunks(relparts, [data], kind, count)

    def write_json(self, relparts, obj, kind='json', count=1):
        data = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False).encode('utf-8') + b'\n'
        return self.write_bytes(relparts, data, kind, count)

    def copy_fd(self, fd, relparts, kind, count=1):
        """Copy the already opened (and checked) regular file ``fd`` from its start to its
        current end, keeping holes (the checksum covers the logical content, zeros included).
        ``fd`` stays open. Returns the files[] entry."""
        return self.write_chunks(relparts, FdSource(fd), kind, count)

    def copy_file(self, src, relparts, kind, count=1):
        """Copy the regular file at the absolute path ``src``: opened through
        :func:`fsops.open_path` (no symbolic link a user controls on the way, none at the end,
        no FIFO or device), then :meth:`copy_fd`. A missing file raises FileNotFoundError."""
        try:
            fd, _st = fsops.open_path(os.path.abspath(src))
        except fsops.FsError as err:
            if err.errno == errno.ENOENT:
                raise FileNotFoundError(errno.ENOENT, 'a file to export vanished')
            raise
        try:
            return self.copy_fd(fd, relparts, kind, count)
        finally:
            os.close(fd)


class LazyExtract(object):
    """A bundle file ``<bundle_dir>/<store name>/<relpath>`` created on the first write
    (0600, dirs 0700), written in chunks through the bundle's budget."""

    def __init__(self, store, bundle_dir, relpath):
        self.store = store
        self.bundle_dir = bundle_dir
        self.relpath = relpath
        self.file = None
        self.target = None
        self.digest = None
        self.size = 0

    def write(self, data):
        if self.file is None:
            parts = [self.store.name] + split_relpath(self.relpath, self.store.name)
            self.file = BundleFile(budget_for(self.bundle_dir, self.store.name), parts, self.store.name)
            self.target = os.path.join(os.path.abspath(self.bundle_dir), *parts)
        self.file.write(data)

    def close(self):
        if self.file is not None and self.file.fd is not None:
            self.digest, self.size = self.file.close()

    def abort(self):
        if self.file is not None:
            self.file.abort()

    def entry(self, kind, count):
        """The files[] entry of the written file (None when nothing was written)."""
        if self.target is None:
            return None
        if self.digest is None:
            self.close()
        return {'path': self.file.relpath, 'sha256': self.digest, 'size': self.size, 'kind': kind, 'count': count}
