# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Log redaction engine (issue 6): remove or mask the lines of a log file that carry a data
subject's identifiers, or (debug mode) every line that carries a password or authentication
debug output. Python standard library only; no Ansible import.

Entry points: :func:`redact_file` ``(path, matcher, mode='remove'|'mask', check_mode=False)``
and :func:`redact_logfile` ``(logfile, ...)`` (a file :class:`store_logs.LogStore` found) return
``{'lines_matched', 'lines_changed', 'changed'}`` (counts only, never content);
:func:`redact_logfiles` runs it over the files a store found (``LogStore.redact``: the one path of
``LogStore.erase`` and the log_redact module).

Matchers: :class:`SubjectMatcher` (a :class:`~.subject.Subject`, through the needle prefilter
of ``log_engine.LineMatcher``) and :class:`DebugMatcher` (the :data:`DEBUG_PATTERNS` list plus a
small state machine for ``recordio`` SMTP transcripts). A matcher has ``hits(buf, start, end)``
(sorted ``(line_start, line_end)`` of matching lines) and ``mask(line)`` (the line with every
identifier replaced by the token, or None when the matcher can only remove).

How a file is opened
--------------------
The directory is opened with :meth:`fsops.Dir.open` (one component at a time, no symbolic link
that a user other than root controls; :func:`redact_logfile` reopens the directory a
:class:`store_logs.LogFile` was found in and checks its identity), the file once from that handle
with ``O_NOFOLLOW|O_NONBLOCK`` (a FIFO swapped in cannot block; it must be a regular file, and
the file that was found). Everything is read from that handle, and every name (temporary file,
rename, clean-up) is relative to the directory handle: a user who owns a directory on the way
and swaps a subdirectory for a link cannot make root read or write anything else. Refused (the
file untouched, :class:`RedactError`): symbolic links, non-regular files, a file replaced since
it was found, a file with more than one hard link (a user can hard-link another file into their
log directory: rewriting it in place would change that file, a rename would split the link),
a file system without the free space for the temporary copy (its size plus a margin, counted
without root's reserved blocks).

How a file is replaced
----------------------
* Every file is first scanned without writing (it stops at the first matching line); a file
  without a match is never written (idempotence: a second run changes nothing).
* **Rotated plain files, compressed files (.gz/.bz2/.xz, format from the magic bytes,
  recompressed in the same format: gzip through zlib at :data:`GZIP_LEVEL` as independent
  members of :data:`GZIP_BLOCK` bytes deflated by one thread per core (:class:`_BlockCompressor`;
  concatenated members are one valid gzip file), bzip2 level 9, xz preset 6) and multilog archives (``@*.s``)**: the redacted content is written to a
  temporary file in the same directory (``.mailprivacy-redact.<hash>.<random>.tmp``, created
  from the directory handle), which gets owner, group, mode and extended attributes (POSIX
  ACLs, labels; a default ACL it inherited from the directory is dropped when the original has
  none) first, is fsynced, gets the original atime/mtime and is renamed over the file; the
  directory is fsynced. Before the rename the original's size, mtime, link count and identity,
  and the temporary file's identity, are checked again: a file that changed meanwhile is not
  replaced (:class:`RedactError`). A kill at any point leaves the original or the redacted
  file; a later run removes stale temporary files of the files it processes. Plain output is
  written in large aligned pieces by a writer thread, with ``O_DIRECT`` where the file system
  supports it (see :class:`_PlainWriter`): it is fsynced anyway, so it need not pass through the
  page cache. A plain file with holes (sparse) is written through :class:`fsops.SparseWriter`
  instead, so the copy keeps its holes (whole blocks of NUL bytes are left unwritten).
* **Live plain files** (category ``live``, multilog ``current``, or any plain file that a
  process holds open for writing) are rewritten **in place, under the same inode**, because a
  writer that keeps an ``O_APPEND`` descriptor (rsyslog, multilog) would go on writing to the
  old inode after a rename and its lines would be lost. The content up to the current size is
  redacted into a temporary copy (root's, 0600); appended bytes are carried over in rounds until
  little is left; then the processes that hold the file open for writing (found in
  ``/proc/*/fdinfo``) are paused with SIGSTOP (for milliseconds: only the last appended bytes and
  the copy-back of the temporary file remain), the rest is carried over, the copy is written
  back at offset 0, the file is truncated to its new length, gets its times back, and the
  writers get SIGCONT; the file is fsynced after they resumed. Nothing a paused writer wrote can
  fall between the last read and the truncation. When the copy is longer than the file (masking
  can make lines longer) or the file has holes, the blocks the copy-back needs are reserved
  first (``posix_fallocate`` through :func:`fsops.reserve`; where a file system cannot reserve,
  the growth must be free): without the space the file keeps its length, bytes and times and the
  writers resume, so a full disk never stops a copy-back half-way. A write error during the
  copy-back makes it start again from the complete temporary copy (:data:`COPY_BACK_TRIES`), and
  so does any other exception (KeyboardInterrupt) before it is passed on; should every try fail,
  the complete redacted copy is kept beside the file (``.mailprivacy-redact.*.kept``, root's,
  never removed by a later run) and the error says so. A watchdog process (forked before the
  first SIGSTOP, in its own session) resumes the writers if this process dies; if it dies during
  the reservation it gives the file its old length and times back, and if it dies during the
  copy-back it finishes the copy-back first (the temporary copy is complete at that point), so a
  kill never leaves a half-written live file. Limits (documented): a process that opens the file
  for the first time between the last scan of ``/proc`` and the truncation (open-write-close per
  line) could lose that line; PID 1 cannot be paused (the file is refused then); the holes of a
  live sparse file are written out as NUL bytes.
* An ``flock`` on the file serialises concurrent redactions of the same file (and a watchdog
  still finishing a copy-back holds it too).

Debug mode patterns: :data:`DEBUG_PATTERNS` (name, description, regex) and the service descriptors'
(module_utils/service.py, debug_patterns).
"""

from __future__ import annotations

import bz2
import errno
import fcntl
import hashlib
import lzma
import mmap
import os
import re
import signal
import stat
import struct
import threading
import time
import zlib

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fileutil, fsops
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.log_engine import (
    LineMatcher,
    TruncatedError,
    category_of,
    iter_file_chunks,
    iter_regions,
)

__all__ = ['RedactError', 'SubjectMatcher', 'DebugMatcher', 'DEBUG_PATTERNS', 'redact_file',
           'redact_logfile', 'redact_logfiles', 'mask_token', 'writers_of', 'cleanup_temp_files', 'GZIP_LEVEL']

CHUNK = 4 * 1024 * 1024
DIRECT_BLOCK = 4096             # O_DIRECT alignment of buffer address, offsets and lengths
WRITE_BUFFER = 8 * 1024 * 1024  # plain output goes out in pieces of this size (x DIRECT_BLOCK)
GZIP_LEVEL = 6          # gzip's own default (-6): what logrotate's compress produces
GZIP_BLOCK = 4 * 1024 * 1024  # input bytes per gzip member (each deflated on its own, in parallel)
# members deflated at once: the cores this process may run on (at most 8)
GZIP_THREADS = max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (os.cpu_count() or 1), 8))
BZ2_LEVEL = 9
XZ_PRESET = 6
CATCH_UP_ROUNDS = 50
CATCH_UP_SMALL = 256 * 1024
STOP_TIMEOUT = 2.0
TMP_PREFIX = '.mailprivacy-redact.'
TMP_SUFFIX = '.tmp'
KEPT_SUFFIX = '.kept'   # a complete redacted copy kept after a live file could not be written back
MODES = ('remove', 'mask')
SPACE_MARGIN = 16 * 1024 * 1024  # free space left over after the redacted copy (at least)
COPY_BACK_TRIES = 3


class RedactError(Exception):
    """A file was refused or could not be redacted. The message holds no path and no data."""


# ------------------------------------------------------------------------------ matchers
def mask_token(subject_hmac=None):
    """``[redacted:<8 hex>]`` from the subject HMAC, or ``[redacted]``."""
    if subject_hmac:
        if not re.match(r'^[0-9a-f]{8,}$', subject_hmac):
            raise RedactError('the subject HMAC must be hexadecimal')
        return ('[redacted:%s]' % subject_hmac[:8]).encode('ascii')
    return b'[redacted]'


class SubjectMatcher(object):
    """Lines carrying an identifier of a subject (needle prefilter + boundary regex)."""

    def __init__(self, subject, token=b'[redacted]'):
        self.lines = LineMatcher(subject)
        self.regex = subject.regex()
        self.token = token
        if self.regex.search(token):
            raise RedactError('the mask token would itself match the subject; use another token')

    def hits(self, buf, start=0, end=None):
        return self.lines.hits(buf, start, end)

    def mask(self, line):
        return self.regex.sub(lambda _m: self.token, line)


# Debug-era lines removed whoever they belong to (mode debug_traces). Each entry: (name,
# description, regex over one line). A line matching any of them is removed. These are the
# patterns of no particular service; every service adds its own in its descriptor
# (module_utils/service_<name>.py, debug_patterns: Dovecot's, Courier's, qmail's recordio
# transcripts), and service.debug_patterns(service_catalog.SERVICES, DEBUG_PATTERNS) is the whole
# table, which the log_redact module passes to DebugMatcher. (This module does not read the
# catalog itself: the catalog's log store imports this module.)
DEBUG_PATTERNS = (
    ('password_field', 'password=, passwd=, pwd=, clearpasswd= (and : forms) with a value; '
     '<hidden> and empty values are kept',
     # sudo's 'PWD=/home/x' is the working directory, not a password
     rb'(?<![A-Za-z0-9_])(?!PWD=/)(?i:(?:clear)?(?:password|passwd|pwd))[ \t]?[=:][ \t]?'
     # PAM's 'pam_unix(passwd:chauthtok)' names a service and a PAM type, not a password
     rb"(?!<hidden>|<null>|\(null\)|[ \t\r\n,)]|$|(?:auth|account|session|chauthtok|password)\))"),
    ('smtp_auth_payload', 'SMTP AUTH commands with an initial response: AUTH PLAIN <base64>',
     rb'\b(?i:AUTH[ \t]+(?:PLAIN|LOGIN|CRAM-MD5|DIGEST-MD5|XOAUTH2|OAUTHBEARER|SCRAM-SHA-[0-9]+(?:-PLUS)?))'
     rb'[ \t]+[A-Za-z0-9+/]{4,}={0,2}'),
)
# recordio transcript lines: '<pid> < data' (client) and '<pid> > data' (server), optionally
# behind a multilog TAI64N stamp. After a client 'AUTH <mech>' every further client line of
# that pid is an authentication payload (AUTH LOGIN: base64 user name, then password) until
# the server answers with a final code (not 334).
_RECORDIO = re.compile(rb'(?m)^(?:@[0-9a-f]{24} )?([0-9]{1,10}) ([<>]) ([^\n]*)$')
_AUTH_CMD = re.compile(rb'(?i)^AUTH[ \t]+[A-Za-z0-9-]+')
_REPLY = re.compile(rb'^([0-9]{3})[ -]')


class DebugMatcher(object):
    """Lines with passwords or authentication debug output: the entries of ``patterns`` (the
    whole table of the service descriptors, service.debug_patterns(); default this module's
    :data:`DEBUG_PATTERNS` only) that ``names`` names (all when None). Stateful over the regions
    of one file (recordio AUTH LOGIN exchanges span lines): use one matcher per file, or call
    :meth:`reset` between files."""

    def __init__(self, names=None, patterns=None):
        patterns = DEBUG_PATTERNS if patterns is None else patterns
        chosen = [p for p in patterns if names is None or p[0] in names]
        if not chosen:
            raise RedactError('no debug pattern selected')
        self.regex = re.compile(b'|'.join(b'(?:' + p[2] + b')' for p in chosen), re.M)
        self.auth_pids = set()

    def reset(self):
        self.auth_pids = set()

    def hits(self, buf, start=0, end=None):
        if end is None:
            end = len(buf)
        found = {}
        search = self.regex.search
        rfind = buf.rfind
        nfind = buf.find
        pos = start
        while pos < end:
            match = search(buf, pos, end)
            if match is None:
                break
            at = match.start()
            ls = rfind(b'\n', start, at) + 1
            if ls == 0:
                ls = start
            le = nfind(b'\n', at, end)
            le = end if le == -1 else le + 1
            found[ls] = le
            pos = le
        if self.auth_pids or buf.find(b' < ', start, end) != -1:
            for match in _RECORDIO.finditer(buf, start, end):
                pid, way, data = match.group(1), match.group(2), match.group(3)
                ls = match.start()
                le = match.end() + 1 if match.end() < end else match.end()
                if way == b'<':
                    if _AUTH_CMD.match(data):
                        self.auth_pids.add(pid)
                        found[ls] = le
                    elif pid in self.auth_pids:
                        found[ls] = le
                elif pid in self.auth_pids:
                    reply = _REPLY.match(data)
                    if reply and reply.group(1) != b'334':
                        self.auth_pids.discard(pid)
        return sorted(found.items())

    def mask(self, line):  # pylint: disable=unused-argument
        return None


# ------------------------------------------------------------------------------ helpers
def _tmp_prefix(name):
    base = os.path.basename(name)
    return TMP_PREFIX + hashlib.sha256(os.fsencode(base)).hexdigest()[:16] + '.'


def _open_dir(directory):
    """Dir.open of a log file's directory, refusals as RedactError."""
    try:
        return fsops.Dir.open(directory)
    except FileNotFoundError:
        raise RedactError('the file does not exist')
    except fsops.FsError as err:
        if err.errno == errno.ENOENT:
            raise RedactError('the file does not exist')
        if err.errno == errno.ELOOP:
            raise RedactError('the path passes through a symbolic link that a user other than root can change; '
                              'refusing it')
        raise RedactError('a component of the path is not a directory')
    except OSError as err:
        raise RedactError('the directory cannot be opened (errno %s)' % err.errno)


def _open_file(directory, name, flags, expect):
    """(fd, fstat) of the regular file ``name`` (Dir.open_file: O_NOFOLLOW|O_NONBLOCK, checked
    on the handle), refusals as RedactError."""
    try:
        return directory.open_file(name, flags, expect=expect)
    except fsops.FsError as err:
        if err.errno == errno.ELOOP:
            raise RedactError('refusing a symbolic link')
        if err.errno == errno.ESTALE:
            raise RedactError('the file was replaced since it was found; run again')
        raise RedactError('refusing a file that is not a regular file')
    except FileNotFoundError:
        raise RedactError('the file does not exist')
    except OSError as err:
        if err.errno in (errno.EISDIR, errno.ENXIO):
            raise RedactError('refusing a file that is not a regular file')
        raise RedactError('the file cannot be opened (errno %d)' % err.errno)


def cleanup_temp_files(path, directory=None):
    """Remove stale temporary files that an interrupted redaction of ``path`` left in its
    directory (regular files named by this engine only), from the handle ``directory`` (default:
    the directory of ``path``, opened with Dir.open). Returns how many were removed."""
    prefix = _tmp_prefix(path)
    own = directory is None
    if own:
        try:
            directory = fsops.Dir.open(os.path.dirname(os.path.abspath(path)))
        except OSError:
            return 0
    removed = 0
    try:
        for name, st in directory.entries():
            if not (name.startswith(prefix) and name.endswith(TMP_SUFFIX)) or not stat.S_ISREG(st.st_mode):
                continue
            try:
                directory.unlink(name)
                removed += 1
            except OSError:
                pass
    except OSError:
        pass
    finally:
        if own:
            directory.close()
    return removed


def _space_needed(st):
    """Bytes the temporary copy of a file may take: its allocated size (a sparse file's copy
    keeps the holes), never more than its length."""
    return min(st.st_size, st.st_blocks * 512) if st.st_blocks else st.st_size


def _check_space(fd, needed):
    """Refuse (RedactError, nothing written) unless the file system of ``fd`` has ``needed``
    bytes plus a margin free for users other than root (what the services that log can still
    write)."""
    margin = max(SPACE_MARGIN, needed // 50)
    try:
        free = fsops.free_bytes(fd, reserved=False)
    except OSError:
        return
    if free < needed + margin:
        raise RedactError('not enough free space for the redacted copy (%d MiB needed with the margin, %d MiB '
                          'free); free some space and run again' % ((needed + margin) >> 20, free >> 20))


def _has_holes(fd, size):
    """True when the file has a hole before its end (SEEK_HOLE; False where unsupported)."""
    seek_hole = getattr(os, 'SEEK_HOLE', None)
    if seek_hole is None or size == 0:
        return False
    try:
        return os.lseek(fd, 0, seek_hole) < size
    except OSError:
        return False
    finally:
        os.lseek(fd, 0, os.SEEK_SET)


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        done = os.write(fd, view)
        view = view[done:]


def _pwrite_all(fd, data, offset):
    view = memoryview(data)
    while view:
        done = os.pwrite(fd, view, offset)
        view = view[done:]
        offset += done


def _redact_regions(regions, matcher, mode, emit):
    """Feed ``emit`` the redacted bytes of ``regions``; returns the number of matched lines.
    Untouched stretches are passed as memoryviews of the region buffer (no copy)."""
    matched = 0
    for buf, start, end, hits in regions:
        if not hits:
            emit(memoryview(buf)[start:end])
            continue
        view = memoryview(buf)
        pos = start
        for ls, le in hits:
            if ls > pos:
                emit(view[pos:ls])
            matched += 1
            if mode == 'mask':
                line = bytes(buf[ls:le])
                masked = matcher.mask(line)
                if masked is not None:
                    emit(masked)
            pos = le
        if end > pos:
            emit(view[pos:end])
    return matched


def _regions(fd, compression, matcher):
    """Regions of the file read from the handle ``fd`` (from offset 0)."""
    return iter_regions(iter_file_chunks(fd, CHUNK, compression, reuse=True), matcher)


def _pread_chunks(fd, start, limit):
    pos = start
    while pos < limit:
        data = os.pread(fd, min(CHUNK, limit - pos), pos)
        if not data:
            break
        pos += len(data)
        yield data


def _first_hit(fd, compression, matcher):
    """Scan until the first matching line: True when there is one."""
    regions = _regions(fd, compression, matcher)
    try:
        for _buf, _start, _end, hits in regions:
            if hits:
                return True
    finally:
        regions.close()
    return False


def _count(fd, compression, matcher):
    total = 0
    for _buf, _start, _end, hits in _regions(fd, compression, matcher):
        total += len(hits)
    return total


def _gzip_member(data):
    """``data`` as one complete gzip member (zlib releases the GIL while it deflates)."""
    comp = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    return comp.compress(data) + comp.flush()


class _BlockCompressor(object):
    """Writes compressed output in blocks of ``block`` input bytes: ``compress(block)`` gives each
    block's output, ``finish()`` (when given) the trailer after the last block. With ``threads``
    above 1 the blocks are compressed by that many threads at once while the caller goes on
    reading and scanning (``compress`` must then treat each block on its own, as
    :func:`_gzip_member` does: concatenated gzip members are one valid gzip file, which gzip -t,
    zcat and this engine's reader read as one stream; zlib releases the GIL while it deflates).
    Outputs are written in input order; at most one block per thread is in flight, so memory
    stays bounded. A thread's error is raised by the next write or close."""

    def __init__(self, fd, compress, finish=None, threads=1, block=1024 * 1024):
        self.fd = fd
        self.compress = compress
        self.finish = finish
        self.threads = max(1, threads)
        self.block = block
        self.pending = []
        self.size = 0
        self.flight = []  # (thread or None, result dict) in input order

    def write(self, data):
        view = memoryview(data)
        while len(view):
            take = min(len(view), self.block - self.size)
            self.pending.append(bytes(view[:take]))  # a copy: the caller reuses its buffers
            self.size += take
            view = view[take:]
            if self.size >= self.block:
                self._submit()

    def _submit(self):
        if not self.pending:
            return
        data = self.pending[0] if len(self.pending) == 1 else b''.join(self.pending)
        self.pending = []
        self.size = 0
        if self.threads == 1:
            _write_all(self.fd, self.compress(data))
            return
        result = {}

        def work():
            try:
                result['out'] = self.compress(data)
            except BaseException as err:  # pylint: disable=broad-except
                result['err'] = err

        thread = threading.Thread(target=work, name='mailprivacy-redact-compress')
        thread.daemon = True
        thread.start()
        self.flight.append((thread, result))
        if len(self.flight) > self.threads:
            self._finish_one()

    def _finish_one(self):
        thread, result = self.flight.pop(0)
        thread.join()
        if 'err' in result:
            raise result['err']
        _write_all(self.fd, result['out'])

    def close(self):
        self._submit()
        while self.flight:
            self._finish_one()
        if self.finish is not None:
            _write_all(self.fd, self.finish())

    def release(self):
        """Wait for every thread (after an error too, before the descriptor is closed)."""
        for thread, _result in self.flight:
            thread.join()
        self.flight = []


def _compressor(fd, kind):
    """The writer of a compressed file in ``kind``'s format: gzip as independent members of
    :data:`GZIP_BLOCK` bytes deflated by :data:`GZIP_THREADS` threads, bzip2 and xz as one
    stream."""
    if kind == 'gz':
        return _BlockCompressor(fd, _gzip_member, threads=GZIP_THREADS, block=GZIP_BLOCK)
    if kind == 'bz2':
        comp = bz2.BZ2Compressor(BZ2_LEVEL)
    elif kind == 'xz':
        comp = lzma.LZMACompressor(format=lzma.FORMAT_XZ, preset=XZ_PRESET)
    else:
        raise ValueError('unknown compression')
    return _BlockCompressor(fd, comp.compress, comp.flush)


class _PlainWriter(object):
    """Writes the redacted bytes of a plain file. They are collected in page-aligned buffers of
    :data:`WRITE_BUFFER` bytes (a few large writes instead of one per kept span), and each full
    buffer is written by a short-lived thread while the next one fills (``os.write`` releases
    the GIL: scanning and writing overlap; a buffer is never touched while its write is in
    flight). Writes use ``O_DIRECT`` where the file system supports it: the result is fsynced
    anyway, so its bytes go to the disk once, without first filling the page cache with pages
    that the fsync then flushes. The last partial block is written through the page cache.
    Where ``O_DIRECT`` is refused (EINVAL from ``fcntl`` or from a write: tmpfs, some FUSE and
    overlay file systems) or a write comes back short, the rest is written without it. The
    bytes in the file are the same either way; fsync, times and rename stay with the caller,
    which must call :meth:`release` (also after an error) before it closes the descriptor."""

    def __init__(self, fd):
        self.fd = fd
        self.bufs = [mmap.mmap(-1, WRITE_BUFFER), mmap.mmap(-1, WRITE_BUFFER)]  # page-aligned
        self.cur = 0
        self.fill = 0
        self.pending = None
        self.error = None
        self.flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        self.direct = False
        o_direct = getattr(os, 'O_DIRECT', 0)
        if o_direct:
            try:
                fcntl.fcntl(fd, fcntl.F_SETFL, self.flags | o_direct)
                self.direct = True
            except OSError:
                pass

    def write(self, data):
        with memoryview(data) as view:
            size = len(view)
            pos = 0
            while pos < size:
                take = min(size - pos, WRITE_BUFFER - self.fill)
                self.bufs[self.cur][self.fill:self.fill + take] = view[pos:pos + take]
                self.fill += take
                pos += take
                if self.fill == WRITE_BUFFER:
                    self._submit()

    def _submit(self):
        """Hand the full current buffer to a writer thread; continue in the other one."""
        self._wait()
        thread = threading.Thread(target=self._run, args=(self.bufs[self.cur], WRITE_BUFFER),
                                  name='mailprivacy-redact-writer')
        thread.daemon = True
        thread.start()
        self.pending = thread
        self.cur = 1 - self.cur
        self.fill = 0

    def _run(self, buf, length):
        try:
            self._out(buf, length)
        except BaseException as err:  # pylint: disable=broad-except
            self.error = err

    def _wait(self):
        if self.pending is not None:
            self.pending.join()
            self.pending = None
        if self.error is not None:
            err, self.error = self.error, None
            raise err

    def _buffered(self):
        if self.direct:
            fcntl.fcntl(self.fd, fcntl.F_SETFL, self.flags)
            self.direct = False

    def _out(self, buf, length):
        """Write buf[:length] completely."""
        pos = 0
        while pos < length:
            try:
                done = os.write(self.fd, memoryview(buf)[pos:length])
            except OSError as err:
                if not self.direct or err.errno != errno.EINVAL:
                    raise
                self._buffered()  # nothing was written: the same bytes again, buffered
                continue
            pos += done
            if pos < length:
                self._buffered()  # the rest is no longer aligned

    def close(self):
        """Write what is left (waiting for the write in flight first)."""
        self._wait()
        whole = self.fill - self.fill % DIRECT_BLOCK
        if whole:
            self._out(self.bufs[self.cur], whole)
        if self.fill > whole:
            self._buffered()
            _write_all(self.fd, self.bufs[self.cur][whole:self.fill])
        self.fill = 0

    def release(self):
        """Wait for a write in flight (its error is dropped: the caller is failing already or
        has called :meth:`close`), clear ``O_DIRECT`` and free the buffers."""
        if self.pending is not None:
            self.pending.join()
            self.pending = None
        self.error = None
        try:
            self._buffered()
        except OSError:
            pass
        for buf in self.bufs:
            try:
                buf.close()
            except BufferError:
                pass  # a traceback still holds a view of it: freed with the traceback


def _lock(fd):
    fcntl.flock(fd, fcntl.LOCK_EX)


def _compression(fd, name):
    try:
        kind = fileutil.compression_of_fd(fd, name)
    except OSError:
        raise RedactError('the file cannot be read')
    suffix = os.path.splitext(name)[1]
    if suffix in ('.gz', '.bz2', '.xz', '.zst', '.lz4', '.Z', '.lz', '.zip') and kind != suffix[1:]:
        raise RedactError('the file name says compressed but its format is not gzip, bzip2 or xz')
    return kind


# ------------------------------------------------------------------------------ /proc writers
def writers_of(st, proc='/proc', exclude=()):
    """PIDs (other than this process and ``exclude``) that hold the file (st_dev, st_ino)
    open for writing."""
    me = os.getpid()
    found = set()
    try:
        pids = [p for p in os.listdir(proc) if p.isdigit()]
    except OSError:
        return found
    for pid in pids:
        if int(pid) == me or int(pid) in exclude:
            continue
        fd_dir = os.path.join(proc, pid, 'fd')
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fdname in fds:
            try:
                fst = os.stat(os.path.join(fd_dir, fdname))
            except OSError:
                continue
            if fst.st_ino != st.st_ino or fst.st_dev != st.st_dev:
                continue
            try:
                with open(os.path.join(proc, pid, 'fdinfo', fdname), 'r') as handle:
                    flags = 0
                    for line in handle:
                        if line.startswith('flags:'):
                            flags = int(line.split()[1], 8)
                            break
            except (OSError, ValueError):
                flags = os.O_RDWR  # unknown: assume writing
            if flags & os.O_ACCMODE != os.O_RDONLY:
                found.add(int(pid))
                break
    return found


def _all_stopped(pid, proc='/proc'):
    try:
        tasks = os.listdir(os.path.join(proc, str(pid), 'task'))
    except OSError:
        return True  # gone
    for task in tasks:
        try:
            with open(os.path.join(proc, str(pid), 'task', task, 'stat'), 'rb') as handle:
                data = handle.read()
        except OSError:
            continue
        state = data[data.rfind(b')') + 2:data.rfind(b')') + 3]
        if state not in (b'T', b't', b'Z', b'X'):
            return False
    return True


class _Watchdog(object):
    """A forked helper that resumes paused writers if this process dies, and first puts the
    live file in a whole state (see the module docstring). Messages, one a line: ``S<pid>`` a
    writer was paused; ``R<hex>`` space is being reserved (on death: give the file its old length
    and times back); ``C<hex>`` the copy-back began (on death: finish it from the complete
    temporary copy, then remove that copy through the directory handle); ``D`` done (on
    death: only resume the writers)."""

    def __init__(self, fd, tmp_fd, dir_fd, tmp_name):
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            code = 0
            try:
                os.close(wfd)
                os.setsid()
                self._child(rfd, fd, tmp_fd, dir_fd, tmp_name)
            except BaseException:  # pylint: disable=broad-except
                code = 1
            finally:
                os._exit(code)  # pylint: disable=protected-access
        os.close(rfd)
        self.pid = pid
        self.wfd = wfd

    @staticmethod
    def _child(rfd, fd, tmp_fd, dir_fd, tmp_name):  # pragma: no cover - child
        data = b''
        while True:
            try:
                more = os.read(rfd, 4096)
            except InterruptedError:
                continue
            if not more:
                break
            data += more
        pids = set()
        action = None
        done = False
        for msg in data.split(b'\n'):
            if msg.startswith(b'S'):
                pids.add(int(msg[1:]))
            elif msg[:1] in (b'R', b'C'):
                action = (msg[:1], struct.unpack('!QQQ', bytes.fromhex(msg[1:].decode('ascii'))))
            elif msg == b'D':
                done = True
        try:
            if action is not None and not done:
                kind, (length, atime, mtime) = action
                if kind == b'C':
                    _copy_back_retrying(tmp_fd, fd, length, (atime, mtime))
                    mine = os.fstat(tmp_fd)
                    cur = os.stat(tmp_name, dir_fd=dir_fd, follow_symlinks=False)
                    if (cur.st_dev, cur.st_ino) == (mine.st_dev, mine.st_ino):
                        os.unlink(tmp_name, dir_fd=dir_fd)
                else:
                    os.ftruncate(fd, length)
                    os.utime(fd, ns=(atime, mtime))
        finally:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGCONT)
                except OSError:
                    pass

    def send(self, msg):
        _write_all(self.wfd, msg + b'\n')

    def state(self, kind, length, atime_ns, mtime_ns):
        self.send(kind + struct.pack('!QQQ', length, atime_ns, mtime_ns).hex().encode('ascii'))

    def finish(self):
        try:
            self.send(b'D')
        finally:
            os.close(self.wfd)
            os.waitpid(self.pid, 0)


def _copy_back(tmp_fd, fd, length, atime_ns, mtime_ns, sync=True):
    pos = 0
    while pos < length:
        data = os.pread(tmp_fd, min(CHUNK, length - pos), pos)
        if not data:
            raise RedactError('the temporary copy is shorter than expected')
        _pwrite_all(fd, data, pos)
        pos += len(data)
    os.ftruncate(fd, length)
    if sync:
        os.fsync(fd)
    os.utime(fd, ns=(atime_ns, mtime_ns))


def _copy_back_retrying(tmp_fd, fd, length, times, tries=COPY_BACK_TRIES):
    """:func:`_copy_back` (no fsync), tried again from the start after a write error (the
    temporary copy is complete, so every try writes the whole result); the last error is raised."""
    for attempt in range(tries):
        try:
            _copy_back(tmp_fd, fd, length, times[0], times[1], sync=False)
            return
        except OSError:
            if attempt == tries - 1:
                raise
            time.sleep(0.005 * (attempt + 1))


def _exact_acl(src_fd, dst_fd, st):
    """A new file inherits its directory's default ACL: drop an access ACL the original does
    not have (its mode alone then applies, as on the original)."""
    name = 'system.posix_acl_access'
    try:
        if name in os.listxattr(dst_fd) and name not in os.listxattr(src_fd):
            os.removexattr(dst_fd, name)
            os.fchmod(dst_fd, stat.S_IMODE(st.st_mode))
    except (OSError, AttributeError):
        pass


# ------------------------------------------------------------------------------ rewriting
def _replace_by_rename(directory, name, fd, st, compression, matcher, mode):
    """Redacted copy in a temporary file of ``directory`` (the handle the file was opened
    from), renamed over ``name``. Returns matched lines."""
    _check_space(directory.fd, _space_needed(st))
    sparse = compression is None and _has_holes(fd, st.st_size)
    tmp_fd, tmp = directory.create_temp(_tmp_prefix(name), TMP_SUFFIX, 0o600)
    try:
        # owner, group, mode and extended attributes (POSIX ACLs, labels) before any data
        fsops.copy_metadata(st, tmp_fd, fd, times=False)
        _exact_acl(fd, tmp_fd, st)
        if compression:
            out = _compressor(tmp_fd, compression)
            try:
                matched = _redact_regions(_regions(fd, compression, matcher), matcher, mode, out.write)
                out.close()
            finally:
                out.release()  # no thread writes once tmp_fd is closed below
        elif sparse:
            # a file with holes keeps them: whole blocks of NUL bytes are left unwritten
            out = fsops.SparseWriter(tmp_fd)
            matched = _redact_regions(_regions(fd, compression, matcher), matcher, mode, out.write)
            out.close()
        else:
            out = _PlainWriter(tmp_fd)
            try:
                matched = _redact_regions(_regions(fd, compression, matcher), matcher, mode, out.write)
                out.close()
            finally:
                out.release()  # no write in flight once tmp_fd is closed below
        os.fsync(tmp_fd)
        os.utime(tmp_fd, ns=(st.st_atime_ns, st.st_mtime_ns))
        now = os.fstat(fd)
        if now.st_size != st.st_size or now.st_mtime_ns != st.st_mtime_ns:
            raise RedactError('the file changed during redaction; run again')
        if now.st_nlink != 1:
            raise RedactError('refusing a file with more than one hard link')
        cur = directory.lstat(name)
        if cur is None or (cur.st_dev, cur.st_ino) != (st.st_dev, st.st_ino):
            raise RedactError('the file was replaced during redaction; run again')
        mine = os.fstat(tmp_fd)
        cur = directory.lstat(tmp)
        if cur is None or (cur.st_dev, cur.st_ino) != (mine.st_dev, mine.st_ino):
            raise RedactError('the temporary file was replaced during redaction; run again')
        directory.rename(tmp, name)
        tmp = None
        directory.fsync()
    finally:
        os.close(tmp_fd)
        if tmp is not None:
            try:
                directory.unlink(tmp, missing_ok=True)
            except OSError:
                pass
    return matched


def _carry(fd, out_fd, matcher, mode, start, limit, final):
    """Redact fd[start:limit] into out_fd; unless ``final`` stop before a last partial line.
    Returns (new start, matched lines)."""
    pos = start
    pieces = []
    matched = 0
    for region in iter_regions(_pread_chunks(fd, start, limit), matcher):
        buf, rs, rend, _hits = region
        if not final and (rend == rs or buf[rend - 1:rend] != b'\n'):
            break  # an incomplete last line: the writer is still writing it
        matched += _redact_regions([region], matcher, mode, pieces.append)
        _write_all(out_fd, b''.join(pieces))
        pieces = []
        pos += rend - rs
    return pos, matched


def _make_room(fd, final, length, watchdog):
    """Before the first byte of the copy-back: reserve the blocks it needs beyond what the file
    has (its growth when masking made it longer, its holes), so that writing it back cannot stop
    half-way for lack of space. On failure (RedactError) the file has its old length and times:
    unchanged."""
    grow = length - final.st_size
    holes = _has_holes(fd, min(final.st_size, length))
    if grow <= 0 and not holes:
        return
    times = (final.st_atime_ns, final.st_mtime_ns)
    if watchdog is not None:
        watchdog.state(b'R', final.st_size, times[0], times[1])
    try:
        if holes:
            reserved = fsops.reserve(fd, 0, length)
        else:
            reserved = fsops.reserve(fd, final.st_size, grow)
    except OSError as err:
        if os.fstat(fd).st_size != final.st_size:
            os.ftruncate(fd, final.st_size)
        os.utime(fd, ns=times)
        if err.errno == errno.ENOSPC:
            raise RedactError('not enough free space to write the redacted file back (masking makes it longer); '
                              'the file is unchanged: free some space and run again')
        raise RedactError('space for the redacted file could not be reserved (errno %s); the file is unchanged'
                          % err.errno)
    if not reserved and grow > 0:
        # this file system cannot reserve: at least the growth must be free
        _check_space(fd, grow)


def _keep_copy(directory, tmp):
    """Keep the complete redacted copy after a failed copy-back (never removed by a later run)."""
    kept = tmp[:-len(TMP_SUFFIX)] + KEPT_SUFFIX
    try:
        directory.rename(tmp, kept)
        directory.fsync()
    except OSError:
        pass


def _redact_in_place(directory, name, fd, st, matcher, mode, pause_writers=True):
    """Rewrite a live plain file under its inode (see the module docstring). The temporary copy
    stays root's (0600): it is never renamed into place."""
    _check_space(directory.fd, _space_needed(st))
    tmp_fd, tmp = directory.create_temp(_tmp_prefix(name), TMP_SUFFIX, 0o600)
    watchdog = None
    stopped = set()
    copying = False  # the copy-back began and has not completed
    length = 0
    times = (st.st_atime_ns, st.st_mtime_ns)
    try:
        pos = 0
        matched = 0
        for _round in range(CATCH_UP_ROUNDS):
            size = os.fstat(fd).st_size
            if size < pos:
                raise RedactError('the file was truncated during redaction; run again')
            if _round > 0 and size - pos <= CATCH_UP_SMALL:
                break
            pos, got = _carry(fd, tmp_fd, matcher, mode, pos, size, final=False)
            matched += got
        # flush what is carried so far now: the fsync while the writers are paused then only
        # has the last few lines to write (a writer that cannot block, journald forwarding to
        # rsyslog, drops lines while rsyslog is paused)
        os.fsync(tmp_fd)
        if pause_writers:
            watchdog = _Watchdog(fd, tmp_fd, directory.fd, tmp)
            for _attempt in range(5):
                new = writers_of(st, exclude=(watchdog.pid,)) - stopped
                if not new:
                    break
                for pid in sorted(new):
                    if pid == 1:
                        raise RedactError('the file is held open for writing by PID 1, which cannot be paused')
                    watchdog.send(b'S%d' % pid)
                    try:
                        os.kill(pid, signal.SIGSTOP)
                    except OSError:
                        continue
                    stopped.add(pid)
                deadline = time.monotonic() + STOP_TIMEOUT
                while not all(_all_stopped(pid) for pid in stopped):
                    if time.monotonic() > deadline:
                        raise RedactError('a process writing the file could not be paused')
                    time.sleep(0.0005)
            else:
                raise RedactError('processes keep opening the file for writing; try again later')
        final = os.fstat(fd)
        if final.st_size < pos:
            raise RedactError('the file was truncated during redaction; run again')
        pos, got = _carry(fd, tmp_fd, matcher, mode, pos, final.st_size, final=True)
        matched += got
        os.fsync(tmp_fd)
        length = os.fstat(tmp_fd).st_size
        times = (final.st_atime_ns, final.st_mtime_ns)
        _make_room(fd, final, length, watchdog)
        if watchdog is not None:
            watchdog.state(b'C', length, times[0], times[1])
        copying = True
        _copy_back_retrying(tmp_fd, fd, length, times)
        copying = False
    except BaseException as err:
        if copying and not isinstance(err, OSError):
            # interrupted mid-copy (an exception such as KeyboardInterrupt): the temporary copy
            # is complete, so finish the copy-back before anything else; never leave the file cut
            try:
                _copy_back_retrying(tmp_fd, fd, length, times)
                copying = False
            except BaseException:  # pylint: disable=broad-except
                pass
        if copying:
            raise RedactError('writing the redacted file back failed (%s, errno %s): the live file may be incomplete; '
                              'a complete redacted copy is kept beside it as a hidden .mailprivacy-redact.*.kept file '
                              'to restore by hand' % (type(err).__name__, getattr(err, 'errno', None)))
        raise
    finally:
        try:
            if watchdog is not None:
                watchdog.finish()
        finally:
            for pid in stopped:
                try:
                    os.kill(pid, signal.SIGCONT)
                except OSError:
                    pass
            os.close(tmp_fd)
            if copying:
                _keep_copy(directory, tmp)
            else:
                try:
                    directory.unlink(tmp, missing_ok=True)
                except OSError:
                    pass
    os.fsync(fd)  # after the writers resumed: durable, without lengthening their pause
    return matched


def is_live(path, category=None):
    """Live plain files: the current log (no rotation suffix) and multilog ``current``."""
    category = category or category_of(path, None)
    if category == 'live':
        return True
    return category == 'multilog' and os.path.basename(path) == 'current'


def _refuse_links(st):
    if st.st_nlink > 1:
        raise RedactError('refusing a file with more than one hard link (rewriting it would change or split '
                          'the other names)')


def redact_file(path, matcher, mode='remove', check_mode=False, live=None, pause_writers=True,
                directory=None, expect=None):
    """Remove (``mode='remove'``) or mask (``'mask'``) the matching lines of one log file.

    ``directory``: the open :class:`fsops.Dir` of the file's directory (the caller checked it;
    :func:`redact_logfile` passes the one :class:`LogFile` found); default: the directory of
    ``path`` opened with :meth:`fsops.Dir.open` (no symbolic link a user other than root
    controls on the way). The file is opened once from that handle (O_NOFOLLOW|O_NONBLOCK,
    a regular file, the identity ``expect`` when given: a stat result or anything with
    ``st_dev`` and ``st_ino``); everything is read from that handle and written relative to
    the directory handle.

    ``live``: None = decide from the name and from ``/proc`` (a plain file some process holds
    open for writing is live); True/False force it. Returns ``{'lines_matched',
    'lines_changed', 'changed'}``. Raises :class:`RedactError` for refused files (symbolic
    links, non-regular files, files with several hard links, unknown or damaged compression,
    not enough free space, changes during the run); the file is then untouched."""
    if mode not in MODES:
        raise RedactError('mode must be remove or mask')
    if mode == 'mask' and matcher.mask(b'') is None:
        raise RedactError('this matcher can only remove lines')
    if hasattr(matcher, 'reset'):
        matcher.reset()
    name = os.path.basename(path)
    own_dir = directory is None
    if own_dir:
        directory = _open_dir(os.path.dirname(os.path.abspath(path)) or '/')
    try:
        fd, st = _open_file(directory, name, os.O_RDONLY if check_mode else os.O_RDWR, expect)
        try:
            return _redact_open(path, directory, name, fd, st, matcher, mode, check_mode, live, pause_writers)
        finally:
            os.close(fd)
    finally:
        if own_dir:
            directory.close()


def redact_logfile(logfile, matcher, mode='remove', check_mode=False, live=None, pause_writers=True):
    """:func:`redact_file` of a :class:`store_logs.LogFile`: its directory is opened again and
    must be the one the file was found in, the file must be the one found."""
    try:
        directory = logfile.open_dir()
    except fsops.FsError as err:
        if err.errno == errno.ESTALE:
            raise RedactError('the directory was replaced since the file was found; run again')
        if err.errno == errno.ELOOP:
            raise RedactError('the path passes through a symbolic link that a user other than root can change; '
                              'refusing it')
        raise RedactError('the file does not exist' if err.errno == errno.ENOENT else
                          'a component of the path is not a directory')
    except OSError as err:
        raise RedactError('the directory cannot be opened (errno %s)' % err.errno)
    with directory:
        return redact_file(logfile.path, matcher, mode, check_mode, live, pause_writers, directory=directory,
                           expect=logfile.expect())


def redact_logfiles(files, make_matcher, mode='remove', check_mode=False, live=None, pause_writers=True):
    """The one redaction path over found log files, shared by ``LogStore.erase`` and the
    log_redact module: :func:`redact_logfile` of each file with a matcher from ``make_matcher()``
    (a stateful matcher, :class:`DebugMatcher`, gets a fresh one per file). Yields
    ``(logfile, outcome, None)`` or, for a refused or failed file (left untouched),
    ``(logfile, None, message)``; the message names no path and no data."""
    for logfile in files:
        matcher = make_matcher()  # a RedactError here (a bad token) is the caller's, not the file's
        try:
            outcome = redact_logfile(logfile, matcher, mode, check_mode=check_mode, live=live,
                                     pause_writers=pause_writers)
        except RedactError as err:
            yield logfile, None, str(err)
            continue
        yield logfile, outcome, None


def _redact_open(path, directory, name, fd, st, matcher, mode, check_mode, live, pause_writers):
    _refuse_links(st)
    compression = _compression(fd, name)
    try:
        if check_mode:
            matched = _count(fd, compression, matcher)
            return {'lines_matched': matched, 'lines_changed': matched, 'changed': matched > 0}
        _lock(fd)
        cleanup_temp_files(name, directory)
        st = os.fstat(fd)
        _refuse_links(st)
        if hasattr(matcher, 'reset'):
            matcher.reset()
        if not _first_hit(fd, compression, matcher):
            return {'lines_matched': 0, 'lines_changed': 0, 'changed': False}
        if hasattr(matcher, 'reset'):
            matcher.reset()
        if live is None:
            live = compression is None and (is_live(path) or bool(writers_of(st)))
        if live:
            if compression:
                raise RedactError('a compressed file that is open for writing cannot be redacted')
            matched = _redact_in_place(directory, name, fd, st, matcher, mode, pause_writers)
        else:
            matched = _replace_by_rename(directory, name, fd, st, compression, matcher, mode)
    except (EOFError, zlib.error, lzma.LZMAError, OSError, ValueError) as err:
        if isinstance(err, RedactError):
            raise
        if isinstance(err, TruncatedError):
            raise RedactError('the file was truncated while it was read; run again')
        if isinstance(err, (EOFError, zlib.error, lzma.LZMAError)) or 'compressed' in str(err).lower() \
                or 'invalid data stream' in str(err).lower():
            raise RedactError('the compressed data is damaged or truncated')
        raise RedactError('redaction failed (%s, errno %s)' % (type(err).__name__, getattr(err, 'errno', None)))
    return {'lines_matched': matched, 'lines_changed': matched, 'changed': matched > 0}
