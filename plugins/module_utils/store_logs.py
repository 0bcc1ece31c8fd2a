# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Log stores: log files (live, rotated, compressed, multilog archives) and the journal.

The scanning engine is shared by counting, export and (issue 6) redaction:

* :func:`iter_file_chunks` / :func:`iter_stream_chunks` produce the decompressed bytes of a
  source in big chunks (gzip through ``zlib`` directly, with large reads; bzip2 and xz
  through their stdlib decompressors); :func:`prefetch` runs such a producer in a thread so
  that reading and decompressing (which release the GIL) overlap with searching;
* :func:`iter_regions` turns chunks into regions ``(buf, start, end, hits)``: ``buf[start:end]``
  holds whole lines, the regions of a source follow each other without gap or overlap (so
  that joining every ``buf[start:end]`` gives the source's bytes back), and ``hits`` lists
  the ``(line_start, line_end)`` spans, inside the region, of the lines that carry an
  identifier of the subject;
* :class:`LineMatcher` finds those lines: ``bytes.find`` of the subject's needles over the
  whole region, and the boundary regex only on the lines that contain a needle.

A redactor rewrites a source by writing ``buf[start:end]`` without (or with masked) hit lines.
"""

from __future__ import annotations

import bz2
import errno
import fnmatch
import glob
import hashlib
import json
import lzma
import os
import re
import stat
import sys
import threading
import zlib

try:
    import queue
except ImportError:  # pragma: no cover - Python 2 is not supported on targets
    import Queue as queue  # type: ignore

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fileutil, fsops
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.bundle import LazyExtract
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_journal_retention import journal_erase_step
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_journal_rewrite import (
    MAX_ROTATIONS,
    JournalRewriter,
    entry_json,
    find_remote,
    is_active,
    iter_classified,
    journal_files,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import (
    Store,
    StoreError,
    safe_error,
)

CHUNK = 1024 * 1024
COMPRESSED_READ = 128 * 1024
MAX_CARRY = 64 * 1024 * 1024

CATEGORIES = ('live', 'rotated', 'compressed', 'multilog')

# The mail services' own logs: what the roles control, so what the drift check (log_audit)
# reads by default.
MAIL_LOG_PATHS = [
    '/var/log/mail.log*',
    '/var/log/mail.info*',
    '/var/log/mail.warn*',
    '/var/log/mail.err*',
    '/var/log/syslog*',
    '/var/log/dovecot*.log*',
    '/var/log/horde/*.log*',
    '/var/log/qmail/**',
]
# Where a subject's lines are searched, exported and erased: the mail logs and Debian's
# auth,authpriv sink, which holds PAM's lines for the mail logins (pam_unix
# 'authentication failure; ... user=alice') and the account tools' (userdel). No role can
# keep those lines out, so the drift check leaves the file alone.
DEFAULT_PATHS = MAIL_LOG_PATHS + ['/var/log/auth.log*']

# multilog control files, never log data
_MULTILOG_CONTROL = frozenset(('lock', 'state', 'newstate', 'processed', 'previous'))
_MULTILOG_RE = re.compile(r'^(current|@[0-9a-fA-F]{24}\.[su])$')
_ROTATED_RE = re.compile(r'(\.[0-9]+|-[0-9]{8}([-_]?[0-9]{2,10})?|\.old)$')
_COMP_SUFFIX_RE = re.compile(r'\.(gz|bz2|xz)$')
_SAFE_COMPONENT_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$')


# ------------------------------------------------------------------------------ matching
# needles up to this length, and needles that end in a digit (IPs, numbered logins: their
# neighbours 192.0.2.10, user12 are frequent), are searched with a compiled literal-first
# regex that checks the bytes around them in C; longer ones with bytes.find. A short needle
# occurs often inside other words ('ann' in 'hartmann@'), and a Python-level check per
# occurrence would dominate.
SHORT_NEEDLE = 8


def _byte_class(values):
    return b'[' + b''.join(re.escape(bytes([c])) for c in sorted(values)) + b']'


def _candidate_regex(needle, forbid_before, forbid_after):
    """``needle`` not preceded by a byte of ``forbid_before`` nor followed by one of
    ``forbid_after``, literal first so that the regex engine uses its fast literal search."""
    pat = re.escape(needle)
    if forbid_before:
        pat += b'(?<!' + _byte_class(forbid_before) + re.escape(needle) + b')'
    if forbid_after:
        pat += b'(?!' + _byte_class(forbid_after) + b')'
    return re.compile(pat)


class LineMatcher(object):
    """Finds the lines of a buffer that carry an identifier of a subject.

    Every needle of the subject's prefilter is looked for over the whole region (long ones
    with ``bytes.find``, short ones with a literal-first regex that rejects a needle glued to
    a neighbouring word character); at an anchored needle the subject regex is only tried at
    that position (``match``), otherwise it searches the needle's line."""

    def __init__(self, subject):
        self.regex = subject.regex()
        self.fold = bool(subject.fold_needles)
        self.plan = []
        for needle, anchored, forbid, after in subject.prefilter():
            if anchored and (len(needle) <= SHORT_NEEDLE or needle[-1:].isdigit()):
                self.plan.append((needle, anchored, forbid, _candidate_regex(needle, forbid, after)))
            else:
                self.plan.append((needle, anchored, forbid if anchored else frozenset(), None))

    def _positions(self, hay, needle, forbid, cand, lo, hi):
        """Start positions in hay[lo:hi] where the needle may start a match."""
        if cand is not None:
            for found in cand.finditer(hay, lo, hi):
                yield found.start()
            return
        find = hay.find
        pos = find(needle, lo, hi)
        while pos != -1:
            if not (forbid and pos > 0 and hay[pos - 1] in forbid):
                yield pos
            pos = find(needle, pos + 1, hi)

    def hits(self, buf, start=0, end=None):
        """Sorted (line_start, line_end) of the matching lines in buf[start:end]; line_end
        is after the newline (or ``end``). ``buf[start:end]`` must hold whole lines."""
        if end is None:
            end = len(buf)
        if self.fold:
            hay = buf[start:end].lower()
            off = start
        else:
            hay = buf
            off = 0
        match = self.regex.match
        search = self.regex.search
        rfind = buf.rfind
        nfind = buf.find
        found = {}
        for needle, anchored, forbid, cand in self.plan:
            line_end = -1
            for pos in self._positions(hay, needle, forbid, cand, start - off, end - off):
                at = pos + off
                if at < line_end:
                    continue  # this needle's line is done
                if anchored and match(buf, at, end) is None:
                    continue
                ls = rfind(b'\n', start, at) + 1
                if ls == 0:
                    ls = start
                le = nfind(b'\n', at, end)
                le = end if le == -1 else le + 1
                line_end = le
                if ls not in found and (anchored or search(buf, ls, le) is not None):
                    found[ls] = le
        if not found:
            return []
        return sorted(found.items())

    def count(self, buf, start=0, end=None):
        return len(self.hits(buf, start, end))


# ------------------------------------------------------------------------------ chunk producers
def _gzip_chunks(handle, chunk_size):
    """gzip through zlib directly (several members allowed), bounded output per call.
    A truncated stream raises EOFError after yielding what could be read."""
    decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
    fed = False
    read = handle.read
    while True:
        data = read(COMPRESSED_READ)
        if not data:
            break
        while data:
            fed = True
            out = decomp.decompress(data, chunk_size)
            if out:
                yield out
            if decomp.eof:
                # a further gzip member follows (concatenated gzip files)
                data = decomp.unused_data
                decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
                fed = False
                if data and not data.strip(b'\x00'):
                    data = b''
            else:
                data = decomp.unconsumed_tail
    tail = decomp.flush()
    if tail:
        yield tail
    if fed and not decomp.eof:
        raise EOFError('compressed stream is truncated')


def _stream_chunks(handle, make_decomp, chunk_size):
    """bzip2 / xz streams (several concatenated streams allowed), bounded output per call.
    A truncated stream raises EOFError after yielding what could be read."""
    decomp = make_decomp()
    fed = False
    read = handle.read
    while True:
        if decomp.eof:
            data = decomp.unused_data
            decomp = make_decomp()
            fed = False
            if data and not data.strip(b'\x00'):
                data = b''
            if not data:
                data = read(COMPRESSED_READ)
                if not data:
                    break
        elif decomp.needs_input:
            data = read(COMPRESSED_READ)
            if not data:
                if fed:
                    raise EOFError('compressed stream is truncated')
                break
        else:
            data = b''
        fed = True
        out = decomp.decompress(data, chunk_size)
        if out:
            yield out


class TruncatedError(OSError):
    """A plain file got shorter while it was read (its owner truncated it, or logrotate's
    copytruncate did): what was read is only part of it. Carries no path."""

    def __init__(self):
        super(TruncatedError, self).__init__(errno.EIO, 'a file was truncated while it was read')


def _plain_chunks(handle, chunk_size, reuse=False, expect=0):
    """Chunks of a plain file, read with plain reads (never a memory map: a file its owner
    truncates under a map kills the process with SIGBUS). With ``reuse`` one bytearray is filled
    again for every chunk (no allocation, no page faults): a chunk is only valid until the next
    one is asked for. At the end :class:`TruncatedError` when fewer than ``expect`` bytes (the
    size when the file was opened) could be read, or the file is now shorter than what was read."""
    total = 0
    if not reuse:
        read = handle.read
        while True:
            data = read(chunk_size)
            if not data:
                break
            total += len(data)
            yield data
    else:
        buf = bytearray(chunk_size)
        readinto = handle.readinto
        while True:
            got = readinto(buf)
            if not got:
                break
            total += got
            if got == chunk_size:
                yield buf
            else:
                yield bytes(buf[:got])
    if total < expect or os.fstat(handle.fileno()).st_size < total:
        raise TruncatedError()


def iter_file_chunks(source, chunk_size=CHUNK, compression=None, reuse=False):
    """The decompressed bytes of a regular file in chunks of about ``chunk_size``.

    ``source``: an open file descriptor (an int: read from offset 0 through that handle, the
    one the caller checked; it is left open) or a path (opened with :func:`fsops.open_path`: no
    symbolic link a user controls on the way, a regular file only, a FIFO never blocks).
    ``compression``: 'gz', 'bz2', 'xz', None (plain) or 'auto' (magic bytes, read from the same
    handle). ``reuse`` (plain files): chunks share one buffer, each valid until the next."""
    if isinstance(source, int):
        fd = source
        owned = False
        name = ''
    else:
        fd, _st = fsops.open_path(os.path.abspath(source))
        owned = True
        name = os.path.basename(source)
    try:
        if compression == 'auto':
            compression = fileutil.compression_of_fd(fd, name)
        os.lseek(fd, 0, os.SEEK_SET)
        with os.fdopen(fd, 'rb', buffering=0, closefd=False) as handle:
            if compression == 'gz':
                yield from _gzip_chunks(handle, chunk_size)
            elif compression == 'bz2':
                yield from _stream_chunks(handle, bz2.BZ2Decompressor, chunk_size)
            elif compression == 'xz':
                yield from _stream_chunks(handle, lzma.LZMADecompressor, chunk_size)
            else:
                yield from _plain_chunks(handle, chunk_size, reuse, os.fstat(fd).st_size)
    finally:
        if owned:
            os.close(fd)


def iter_stream_chunks(handle, chunk_size=CHUNK):
    """Chunks of an open binary stream (a pipe), as they come."""
    read = getattr(handle, 'read1', None) or handle.read
    pending = []
    size = 0
    while True:
        data = read(chunk_size)
        if not data:
            break
        pending.append(data)
        size += len(data)
        if size >= chunk_size:
            yield b''.join(pending)
            pending = []
            size = 0
    if pending:
        yield b''.join(pending)


_END = object()


def prefetch(generator, depth=3):
    """Run a chunk generator in a thread, ``depth`` chunks ahead; re-raise its errors."""
    items = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work():
        try:
            for item in generator:
                while not stop.is_set():
                    try:
                        items.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put((_END, None))
        except BaseException as err:  # pylint: disable=broad-except
            items.put((_END, err))
        finally:
            close = getattr(generator, 'close', None)
            if close is not None and stop.is_set():
                try:
                    close()
                except Exception:  # pylint: disable=broad-except
                    pass

    thread = threading.Thread(target=work, name='mailprivacy-prefetch')
    thread.daemon = True
    thread.start()
    try:
        while True:
            item, err = items.get()
            if item is _END:
                if err is not None:
                    raise err
                return
            yield item
    finally:
        stop.set()
        # drain so the worker can finish its put and see the flag
        try:
            while True:
                items.get_nowait()
        except queue.Empty:
            pass
        thread.join(5)


def iter_regions(chunks, matcher=None):
    """Regions (buf, start, end, hits) of whole lines, in order, covering every byte.

    ``hits`` is None without a matcher. The last region may end without a newline."""
    carry = b''
    for chunk in chunks:
        if not chunk:
            continue
        first = chunk.find(b'\n')
        if first == -1:
            carry += chunk
            if len(carry) > MAX_CARRY:
                yield carry, 0, len(carry), matcher.hits(carry) if matcher else None
                carry = b''
            continue
        begin = 0
        if carry:
            head = carry + chunk[:first + 1]
            carry = b''
            begin = first + 1
            yield head, 0, len(head), matcher.hits(head) if matcher else None
        last = chunk.rfind(b'\n') + 1
        if last > begin:
            yield chunk, begin, last, matcher.hits(chunk, begin, last) if matcher else None
        if last < len(chunk):
            carry = chunk[last:]
    if carry:
        yield carry, 0, len(carry), matcher.hits(carry) if matcher else None


# ------------------------------------------------------------------------------ parallel files
def _deal(weights, workers):
    """Indexes per worker, largest first to the least loaded worker."""
    loads = [0] * workers
    groups = [[] for _i in range(workers)]
    for idx in sorted(range(len(weights)), key=lambda i: -weights[i]):
        target = loads.index(min(loads))
        groups[target].append(idx)
        loads[target] += weights[idx]
    return [g for g in groups if g]


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        done = os.write(fd, view)
        view = view[done:]


def fork_map(func, items, workers=1, weights=None):
    """``[func(item) for item in items]``, computed by up to ``workers`` forked processes
    (each takes a share of the items, by weight). Results must be JSON-serialisable; they
    come back as lists where func returned tuples. An exception in a worker raises
    StoreError with a message that holds no personal data."""
    items = list(items)
    if workers <= 1 or len(items) <= 1 or not hasattr(os, 'fork'):
        return [func(item) for item in items]
    groups = _deal(weights or [1] * len(items), min(workers, len(items)))
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # pylint: disable=broad-except
            pass
    children = []
    try:
        for group in groups:
            rfd, wfd = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child, which never returns
                code = 0
                try:
                    os.close(rfd)
                    out = []
                    for idx in group:
                        try:
                            out.append([idx, True, func(items[idx])])
                        except BaseException as err:  # pylint: disable=broad-except
                            out.append([idx, False, safe_error(err)])
                            break
                    _write_all(wfd, json.dumps(out).encode('utf-8'))
                except BaseException:  # pylint: disable=broad-except
                    code = 1
                finally:
                    os._exit(code)  # pylint: disable=protected-access
            os.close(wfd)
            children.append((pid, rfd, group))
    except OSError:
        for pid, rfd, _group in children:
            os.close(rfd)
            os.waitpid(pid, 0)
        return [func(item) for item in items]
    results = [None] * len(items)
    errors = []
    for pid, rfd, group in children:
        chunks = []
        while True:
            data = os.read(rfd, 1 << 16)
            if not data:
                break
            chunks.append(data)
        os.close(rfd)
        _pid, status = os.waitpid(pid, 0)
        try:
            decoded = json.loads(b''.join(chunks).decode('utf-8')) if chunks else None
        except ValueError:
            decoded = None
        if status != 0 or decoded is None or len(decoded) != len(group):
            if decoded:
                errors.extend(msg for _idx, ok, msg in decoded if not ok)
            if not errors:
                errors.append('a scan worker ended abnormally')
            continue
        for idx, ok, value in decoded:
            if not ok:
                errors.append(value)
            results[idx] = value
    if errors:
        raise StoreError('logs: %s' % errors[0])
    return results


# ------------------------------------------------------------------------------ files
class _Ident(object):
    """A (st_dev, st_ino) pair in the shape of a stat result (for ``Dir.open_file(expect=)``)."""

    __slots__ = ('st_dev', 'st_ino')

    def __init__(self, dev, ino):
        self.st_dev = dev
        self.st_ino = ino


class LogFile(object):
    """A source log file found on the host.

    ``dir_id`` and ``file_id`` are the (st_dev, st_ino) of its directory and of the file when
    it was found (None for a LogFile built by hand): :meth:`open_dir` and :meth:`open` refuse
    a directory or a file that is no longer the one found (a user who owns a directory on the
    way can swap a subdirectory for a symbolic link, or a file for a FIFO, at any time)."""

    __slots__ = ('path', 'category', 'compression', 'size', 'default_source', 'dir_id', 'file_id')

    def __init__(self, path, category, compression, size, default_source, dir_id=None, file_id=None):
        self.path = path
        self.category = category
        self.compression = compression
        self.size = size
        self.default_source = default_source
        self.dir_id = dir_id
        self.file_id = file_id

    @property
    def name(self):
        return os.path.basename(self.path)

    def expect(self):
        """The identity the file must still have (for ``Dir.open_file(expect=)``), or None."""
        return _Ident(*self.file_id) if self.file_id else None

    def open_dir(self):
        """The file's directory, opened with :meth:`fsops.Dir.open` (no symbolic link a user
        other than root controls on the way) and checked to be the directory the file was found
        in (FsError ESTALE otherwise). The caller closes it."""
        handle = fsops.Dir.open(os.path.dirname(self.path) or '/')
        if self.dir_id is not None:
            st = handle.stat()
            if (st.st_dev, st.st_ino) != tuple(self.dir_id):
                handle.close()
                raise fsops.FsError(errno.ESTALE, 'a directory was replaced since the file was found')
        return handle

    def open(self, flags=os.O_RDONLY):
        """(fd, fstat) of the file: its directory through :meth:`open_dir`, the file through
        :meth:`fsops.Dir.open_file` (regular files only, never blocking on a FIFO, the same
        file as found). Read only from this handle; the caller closes it."""
        with self.open_dir() as handle:
            return handle.open_file(self.name, flags, expect=self.expect())

    def __repr__(self):
        return '<LogFile %s>' % self.category


class RefusedFile(OSError):
    """A found file could not be opened as it was found; ``reason`` is the problem text."""

    def __init__(self, reason):
        super(RefusedFile, self).__init__(errno.EPERM, reason)
        self.reason = reason


def refusal(err):
    """The problem text (no path) for a found file that could not be opened as it was found."""
    code = getattr(err, 'errno', None)
    if code == errno.ESTALE:
        return 'files replaced since they were found (refused)'
    if code in (errno.ELOOP, errno.EMLINK):
        return 'files behind a symbolic link refused'
    if code in (errno.EINVAL, errno.ENXIO, errno.EISDIR):
        return 'files that are not regular files refused'
    if code == errno.ENOTDIR:
        return 'files whose directory was replaced (refused)'
    if code == errno.ENOENT:
        return 'files that vanished since they were found'
    return 'unreadable files'


def category_of(path, compression):
    base = os.path.basename(path)
    stripped = _COMP_SUFFIX_RE.sub('', base)
    if _MULTILOG_RE.match(stripped):
        return 'multilog'
    if compression:
        return 'compressed'
    if _ROTATED_RE.search(base):
        return 'rotated'
    return 'live'


MAX_DEPTH = 64


def _split_pattern(pattern):
    """(static root directory, [glob components below it]) of an absolute glob: the root is the
    leading components without a glob character, the file name component always in the rest."""
    parts = [p for p in pattern.split('/') if p not in ('', '.')]
    if not parts:
        return '/', []
    cut = len(parts) - 1
    for i, part in enumerate(parts):
        if glob.has_magic(part):
            cut = min(cut, i)
            break
    return '/' + '/'.join(parts[:cut]), parts[cut:]


def _closure(pat, states):
    """States (indexes into ``pat``) plus those a '**' reaches by matching nothing."""
    out = set(states)
    todo = list(states)
    while todo:
        i = todo.pop()
        if i < len(pat) and pat[i] == '**' and i + 1 not in out:
            out.add(i + 1)
            todo.append(i + 1)
    return out


def _advance(pat, states, name):
    """The states after matching one path component ``name``, with glob's rules: '*' never
    crosses '/', '**' spans directories, and a name starting with '.' is matched only by a
    pattern component starting with '.' (never by '**')."""
    hidden = name.startswith('.')
    out = set()
    for i in states:
        if i >= len(pat):
            continue
        part = pat[i]
        if part == '**':
            if not hidden:
                out.add(i)
            continue
        if hidden and not part.startswith('.'):
            continue
        if fnmatch.fnmatchcase(name, part):
            out.add(i + 1)
    return _closure(pat, out)


def _match_components(path_parts, pattern_parts):
    if not pattern_parts:
        return not path_parts
    head = pattern_parts[0]
    if head == '**':
        for i in range(len(path_parts) + 1):
            if _match_components(path_parts[i:], pattern_parts[1:]):
                return True
        return False
    if not path_parts:
        return False
    return fnmatch.fnmatchcase(path_parts[0], head) and _match_components(path_parts[1:], pattern_parts[1:])


def matches_pattern(path, pattern):
    """Glob semantics per path component ('*' never crosses '/', '**' spans directories)."""
    return _match_components(path.strip('/').split('/'), pattern.strip('/').split('/'))


def path_hash(path):
    return hashlib.sha256(os.fsencode(path)).hexdigest()[:32]


def bundle_name(logfile, subject):
    """Relative name of a source's extract in the bundle: the source path when it is one of
    the default Debian locations with harmless names, else a hash of the path."""
    path = logfile.path
    literal = logfile.default_source
    if literal:
        parts = path.strip('/').split('/')
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if not (_SAFE_COMPONENT_RE.match(part) or (last and _MULTILOG_RE.match(_COMP_SUFFIX_RE.sub('', part)))):
                literal = False
                break
    if literal and subject is not None:
        raw = os.fsencode(path)
        hay = raw.lower() if subject.fold_needles else raw
        if any(n in hay for n in subject.needles()) or subject.regex().search(raw):
            literal = False
    if literal:
        return path.strip('/') + '.txt'
    return 'other/%s.txt' % path_hash(path)


# the lazily created extract file lives in module_utils/bundle.py (every write through the
# bundle's size and free-space budget); the old name stays for the stores below and the tests
_LazyExtract = LazyExtract


class LogStore(Store):
    """Log files: live, rotated (plain and .gz/.bz2/.xz) and multilog archives.

    Options: ``paths`` (absolute globs; ``**`` recurses; default: Debian's mail logs,
    syslog, Dovecot, Horde and qmail multilog directories), ``extra_paths`` (added to
    ``paths``), ``exclude`` (globs), ``chunk_size`` (bytes per read), ``threads`` (read and
    decompress in a helper thread; off by default: measured slower, the search holds the GIL),
    ``workers`` (scan that many files at once in forked processes; default 2, which keeps
    the scan at grep's pace on plain logs (benchmarks/scan_logs.py); 1 is gentler on a busy
    single-core host), ``mmap`` (accepted for compatibility and ignored since files are read
    with plain reads only: a file its owner truncates under a memory map kills the process).

    Files are found and opened from directory handles (:meth:`files`, :meth:`LogFile.open`):
    a symbolic link, a FIFO or a file swapped in after discovery is refused and counted in
    ``reason``, never followed, opened blocking or named."""

    name = 'logs'
    units = 'lines'
    OPTIONS = {
        'paths': list(DEFAULT_PATHS),
        'extra_paths': [],
        'exclude': [],
        'chunk_size': CHUNK,
        'threads': False,
        'workers': 2,
        'mmap': True,  # ignored (see the class docstring)
    }

    def __init__(self, options=None, runner=None):
        super(LogStore, self).__init__(options, runner)
        for key in ('paths', 'extra_paths', 'exclude'):
            for pattern in self.options[key]:
                if not isinstance(pattern, str) or not pattern.startswith('/'):
                    raise StoreError('logs: every entry of option %s must be an absolute path or glob' % key)
                if '..' in pattern.split('/'):
                    raise StoreError("logs: option %s must not contain '..'" % key)
        if not 64 * 1024 <= self.options['chunk_size'] <= 256 * 1024 * 1024:
            raise StoreError('logs: option chunk_size must be between 64 KiB and 256 MiB')
        if not 1 <= self.options['workers'] <= 64:
            raise StoreError('logs: option workers must be between 1 and 64')
        self.problems = {}

    # -------------------------------------------------------------- discovery
    def files(self):
        """The regular log files the globs name, each once.

        Each pattern is walked from its static root (opened with :meth:`fsops.Dir.open`: no
        symbolic link a user other than root controls on the way) one directory handle at a
        time, never through a symbolic link; every match is opened from its directory's handle
        (O_NOFOLLOW|O_NONBLOCK, checked to be the regular file listed), the compression is read
        from that handle, and the identities of the file and its directory are recorded so that
        later opens (:meth:`LogFile.open`) refuse anything swapped in meanwhile. Symbolic links,
        FIFOs and other non-regular files, and files swapped during the walk are skipped and
        counted in :meth:`_reason` (never named)."""
        seen = set()
        out = []
        self.problems = {}
        for pattern in self.options['paths'] + self.options['extra_paths']:
            found = []
            for path, handle, name, st in self._walk_pattern(pattern):
                if any(fnmatch.fnmatchcase(path, ex) for ex in self.options['exclude']):
                    continue
                if name in _MULTILOG_CONTROL:
                    continue
                if stat.S_ISLNK(st.st_mode):
                    self._problem('symbolic links skipped')
                    continue
                if not stat.S_ISREG(st.st_mode):
                    self._problem('files that are not regular files skipped')
                    continue
                if (st.st_dev, st.st_ino) in seen:
                    continue
                try:
                    fd, fst = handle.open_file(name, expect=st)
                except FileNotFoundError:
                    continue
                except fsops.FsError:
                    self._problem('files replaced during the scan skipped')
                    continue
                except OSError:
                    self._problem('unreadable files')
                    continue
                try:
                    comp = fileutil.compression_of_fd(fd, name)
                except OSError:
                    self._problem('unreadable files')
                    continue
                finally:
                    os.close(fd)
                dst = handle.stat()
                found.append((path, comp, fst, (dst.st_dev, dst.st_ino)))
            found.sort(key=lambda item: item[0])
            for path, comp, fst, dir_id in found:
                key = (fst.st_dev, fst.st_ino)
                if key in seen:
                    continue
                seen.add(key)
                default = any(matches_pattern(path, d) for d in DEFAULT_PATHS)
                out.append(LogFile(path, category_of(path, comp), comp, fst.st_size, default, dir_id, key))
        return out

    def _walk_pattern(self, pattern):
        """(path, Dir, name, lstat) of the entries that match ``pattern`` (directories left
        out), each yielded while its directory's handle is open."""
        root, pat = _split_pattern(pattern)
        if not pat:
            return
        try:
            top = fsops.Dir.open(root)
        except (FileNotFoundError, NotADirectoryError):
            return
        except fsops.FsError as err:
            if err.errno == errno.ELOOP:
                self._problem('paths behind a symbolic link skipped')
            return
        except OSError:
            self._problem('unreadable directories')
            return
        with top:
            yield from self._walk(top, root.rstrip('/'), pat, _closure(pat, {0}), 0, set())

    def _walk(self, handle, dirpath, pat, states, depth, visited):
        st = handle.stat()
        if (st.st_dev, st.st_ino) in visited:
            return
        visited.add((st.st_dev, st.st_ino))
        try:
            entries = handle.entries()
        except OSError:
            self._problem('unreadable directories')
            return
        end = len(pat)
        for name, est in entries:
            nxt = _advance(pat, states, name)
            if not nxt:
                continue
            path = dirpath + '/' + name
            deeper = set(i for i in nxt if i < end)
            if stat.S_ISDIR(est.st_mode):
                if not deeper or depth >= MAX_DEPTH:
                    continue
                try:
                    child = handle.sub(name)
                except FileNotFoundError:
                    continue
                except OSError:
                    self._problem('directories replaced during the scan skipped')
                    continue
                with child:
                    cst = child.stat()
                    if (cst.st_dev, cst.st_ino) != (est.st_dev, est.st_ino):
                        self._problem('directories replaced during the scan skipped')
                        continue
                    yield from self._walk(child, path, pat, deeper, depth + 1, visited)
            elif end in nxt or (stat.S_ISLNK(est.st_mode) and deeper):
                yield path, handle, name, est

    def _problem(self, what):
        self.problems[what] = self.problems.get(what, 0) + 1

    def _reason(self):
        return '; '.join('%d %s' % (n, what) for what, n in sorted(self.problems.items()))

    def _none_found(self):
        why = 'no log file matches the configured paths'
        if self.problems:
            why += ' (%s)' % self._reason()
        return why

    def available(self):
        if self.files():
            return True, ''
        return False, 'no log file matches the configured paths'

    # -------------------------------------------------------------- scanning
    def chunks(self, logfile, fd):
        """Decompressed chunks of ``logfile`` read from ``fd`` (the handle :meth:`LogFile.open`
        checked), in a reader thread with the ``threads`` option. Close the generator before
        the handle."""
        threads = self.options['threads']
        gen = iter_file_chunks(fd, self.options['chunk_size'], logfile.compression, reuse=not threads)
        if threads:
            return prefetch(gen)
        return gen

    def scan(self, logfile, matcher):
        """Regions of one source file (see :func:`iter_regions`), read with plain reads from
        the handle :meth:`LogFile.open` checked (the ``mmap`` option is ignored: a file its owner
        truncates under a memory map kills the process). :class:`RefusedFile` when the file is
        no longer the one found; :class:`TruncatedError` at the end when it shrank meanwhile."""
        try:
            fd, _st = logfile.open()
        except OSError as err:
            raise RefusedFile(refusal(err))
        try:
            gen = self.chunks(logfile, fd)
            try:
                yield from iter_regions(gen, matcher)
            finally:
                gen.close()
        finally:
            os.close(fd)

    def _empty(self):
        res = self.result()
        res['detail'] = dict((c, 0) for c in CATEGORIES)
        return res

    def _locate_one(self, logfile, matcher):
        """(count, problem or None) for one source."""
        count = 0
        regions = self.scan(logfile, matcher)
        try:
            for _buf, _start, _end, hits in regions:
                count += len(hits)
        except RefusedFile as err:
            return 0, err.reason
        except TruncatedError:
            return count, 'files truncated while they were read (counted up to the truncation)'
        except (OSError, EOFError, zlib.error, lzma.LZMAError):
            return count, 'files unreadable or damaged (counted up to the damage)'
        finally:
            regions.close()
        return count, None

    def _export_one(self, logfile, matcher, bundle_dir, rel):
        """(count, files[] entry or None, problem or None) for one source."""
        out = _LazyExtract(self, bundle_dir, rel)
        count = 0
        problem = None
        try:
            for buf, _start, _end, hits in self.scan(logfile, matcher):
                for ls, le in hits:
                    line = buf[ls:le]
                    if not line.endswith(b'\n'):
                        line += b'\n'
                    out.write(line)
                count += len(hits)
            out.close()
        except RefusedFile as err:
            out.close()
            problem = err.reason
        except TruncatedError:
            out.close()
            problem = 'files truncated while they were read (exported up to the truncation)'
        except (OSError, EOFError, zlib.error, lzma.LZMAError):
            out.close()
            problem = 'files unreadable or damaged (exported up to the damage)'
        except BaseException:
            out.abort()
            raise
        return count, out.entry(logfile.category, count), problem

    def _map(self, func, files):
        weights = [f.size * (6 if f.compression else 1) for f in files]
        return fork_map(func, files, self.options['workers'], weights)

    def locate(self, subject):
        matcher = LineMatcher(subject)
        res = self._empty()
        files = self.files()
        if not files:
            res.update(available=False, reason=self._none_found())
            return res
        outcomes = self._map(lambda logfile: self._locate_one(logfile, matcher), files)
        for logfile, (count, problem) in zip(files, outcomes):
            if problem:
                self._problem(problem)
            res.add(logfile.category, count)
        res['reason'] = self._reason()
        return res

    def export(self, subject, bundle_dir):
        matcher = LineMatcher(subject)
        res = self._empty()
        files = self.files()
        if not files:
            res.update(available=False, reason=self._none_found())
            return res
        self.bundle_root(bundle_dir)
        names = {}
        for logfile in files:
            rel = bundle_name(logfile, subject)
            if rel in names.values():
                rel = 'other/%s.txt' % path_hash(logfile.path)
            names[logfile.path] = rel
        outcomes = self._map(lambda logfile: self._export_one(logfile, matcher, bundle_dir, names[logfile.path]),
                             files)
        for logfile, (count, entry, problem) in zip(files, outcomes):
            if problem:
                self._problem(problem)
            res.add(logfile.category, count)
            if entry is not None:
                res['files'].append(entry)
        res['reason'] = self._reason()
        return res

    def erase(self, subject, check_mode):
        """Remove the subject's lines from every log file through the log_redact engine: live
        files are rewritten in place (their writers paused, no appended line lost), rotated and
        compressed ones replaced atomically with owner, mode and times kept. A refused or
        damaged file is left untouched and named by category in ``reason``; the proof search
        after the erasure then still counts it, so the request is reported incomplete."""
        # imported here: log_redact builds on this module's scanner
        from ansible_collections.mailprivacy.gdpr.plugins.module_utils.log_redact import (  # pylint: disable=import-outside-toplevel
            RedactError,
            SubjectMatcher,
            redact_logfile,
        )
        res = self._empty()
        files = self.files()
        if not files:
            res.update(available=False, reason=self._none_found())
            return res
        matcher = SubjectMatcher(subject)
        erased = 0
        for logfile in files:
            try:
                outcome = redact_logfile(logfile, matcher, 'remove', check_mode=check_mode)
            except RedactError as err:  # its message names no path and no data (the engine's contract)
                self._problem('%s files refused (%s)' % (logfile.category, err))
                continue
            res.add(logfile.category, outcome['lines_matched'])
            erased += outcome['lines_changed'] if not check_mode else outcome['lines_matched']
        res['erased'] = erased
        res['reason'] = self._reason()
        return res


class JournalStore(Store):
    """The systemd journal, read through ``journalctl`` (``-o short-iso``; the export also
    writes every entry whose fields carry the subject with all its fields, from ``-o export``)."""

    name = 'journal'
    units = 'entries'
    OPTIONS = {
        'journalctl': 'journalctl',
        'args': [],
        'directories': ['/var/log/journal', '/run/log/journal'],
        'chunk_size': CHUNK,
        # erase: rewrite the journal files without the subject's entries (needs
        # systemd-journal-remote); false leaves them to journald's retention (a manual step)
        'rewrite': True,
        'journal_remote': '',
        # export: also write the subject's entries with every field (journal-entries.jsonl), so
        # that identifiers in fields journalctl does not show (_CMDLINE, USER_ID, ...) are exported
        'export_entries': True,
    }

    def __init__(self, options=None, runner=None):
        super(JournalStore, self).__init__(options, runner)
        for arg in self.options['args']:
            if not isinstance(arg, str) or '\x00' in arg:
                raise StoreError('journal: option args must be a list of strings')
        if not 64 * 1024 <= self.options['chunk_size'] <= 256 * 1024 * 1024:
            raise StoreError('journal: option chunk_size must be between 64 KiB and 256 MiB')

    def _journalctl(self):
        return self.runner.which(self.options['journalctl'])

    def available(self):
        if not self._journalctl():
            return False, 'journalctl not found'
        if not any(os.path.isdir(d) for d in self.options['directories']):
            return False, 'no journal directory'
        return True, ''

    def argv(self, output='short-iso'):
        return [self._journalctl(), '--no-pager', '--quiet', '--output=' + output] + list(self.options['args'])

    def _regions(self, matcher):
        with self.runner.stream(self.argv()) as handle:
            yield from iter_regions(iter_stream_chunks(handle, self.options['chunk_size']), matcher)

    def locate(self, subject):
        ok, why = self.available()
        if not ok:
            return self.unavailable(why)
        matcher = LineMatcher(subject)
        res = self.result(detail={'journal': 0})
        count = 0
        for _buf, _start, _end, hits in self._regions(matcher):
            count += len(hits)
        res.add('journal', count)
        return res

    def export(self, subject, bundle_dir):
        ok, why = self.available()
        if not ok:
            return self.unavailable(why)
        matcher = LineMatcher(subject)
        res = self.result(detail={'journal': 0})
        out = _LazyExtract(self, bundle_dir, 'journal.txt')
        count = 0
        try:
            for buf, _start, _end, hits in self._regions(matcher):
                for ls, le in hits:
                    line = buf[ls:le]
                    if not line.endswith(b'\n'):
                        line += b'\n'
                    out.write(line)
                count += len(hits)
            out.close()
        except BaseException:
            out.abort()
            raise
        res.add('journal', count)
        if out.target is not None:
            res['files'].append(out.entry('journal', count))
        if self.options['export_entries']:
            self._export_entries(matcher, bundle_dir, res)
        return res

    def _export_entries(self, matcher, bundle_dir, res):
        """journal-entries.jsonl: every entry one of whose field values carries an identifier
        (the entries an erasure removes), with all fields, one JSON object a line."""
        argv = self.argv(output='export')
        out = _LazyExtract(self, bundle_dir, 'journal-entries.jsonl')
        entries = 0
        try:
            with self.runner.stream(argv) as handle:
                for fields, hit in iter_classified(handle, matcher):
                    if hit:
                        out.write(entry_json(fields))
                        entries += 1
            out.close()
        except BaseException:
            out.abort()
            raise
        if out.target is not None:
            res['files'].append(out.entry('journal-entries', entries))

    def erase(self, subject, check_mode):
        """Rewrite the journal files without the subject's entries (store_journal_rewrite):
        active files are rotated first, sealed or still-online files are left with a manual
        step. Without systemd-journal-remote, or with ``rewrite: false``, nothing is erased and
        the result carries a manual step with the date by which journald's retention removes
        the entries. ``found`` counts the lines journalctl shows; ``erased`` the entries
        removed, whose identifiers may also sit in fields journalctl does not show."""
        found = self.locate(subject)
        remote = find_remote(self.options['journal_remote'], self.runner.which)
        if not self.options['rewrite'] or not remote:
            res = journal_erase_step(self.runner, found)
            if found.get('found') and self.options['rewrite']:
                res['manual_steps'].append(
                    'journal: systemd-journal-remote is not installed, so the journal files cannot be '
                    'rewritten without these entries: install it (the mailprivacy.gdpr.mail_logging role '
                    'does with mail_logging_journal_rewrite_tool: true) and run the erasure again')
            return res
        rewriter = JournalRewriter(self.runner, self._journalctl(), remote, LineMatcher(subject))
        res = self.result(found=found.get('found', 0), detail=dict(found.get('detail') or {'journal': 0}),
                          erased=0, manual_steps=[])
        directories = self.options['directories']
        rewriter.sync()
        if check_mode:
            res['erased'] = sum(rewriter.count(path) for path in journal_files(directories))
            return res
        # a real run reads each file fully once more (the rewrite classifies every entry), so
        # here only the fast pre-check: does the file's stream hold an identifier at all?
        flagged = [path for path in journal_files(directories) if rewriter.may_hold(path)]
        erased = 0
        left = {'sealed': 0, 'online': 0, 'refused': 0}
        done = set()
        rotations = 0
        while True:
            erased += self._rewrite_archived(rewriter, flagged, left)
            done.update(path for path in flagged if not is_active(path))
            active = [path for path in flagged if is_active(path)]
            if not active:
                break
            if rotations == MAX_ROTATIONS:
                # still arriving after the last rotation: someone keeps logging the subject
                left['online'] += sum(rewriter.count(path) for path in active)
                break
            rewriter.rotate()
            rotations += 1
            rewriter.sync()
            # only the files the rotation made (and the new active ones) can hold new hits
            flagged = [path for path in journal_files(directories)
                       if path not in done and rewriter.may_hold(path)]
        res['erased'] = erased
        if left['sealed']:
            res['manual_steps'].append(
                'journal: %d entries sit in sealed journal files (Forward Secure Sealing), which are '
                'not rewritten because the copy could not carry the seal: they expire with journald\'s '
                'retention' % left['sealed'])
        if left['online']:
            res['manual_steps'].append(
                'journal: %d entries sit in a journal file journald still writes (logged after the '
                'rotation): run the erasure again' % left['online'])
        if left['refused']:
            res['reason'] = ('%d entries are in journal files whose rewrite was refused (the copy did not '
                             'read back identical, or the file changed); those files are kept' % left['refused'])
        return res

    def _rewrite_archived(self, rewriter, flagged, left):
        """Rewrite the archived files of ``flagged`` (those whose stream may hold the subject);
        the entries dropped. The subject's entries in sealed, still-online and refused files are
        counted in ``left``."""
        erased = 0
        for top in self.options['directories']:
            todo = [p for p in sorted(flagged) if not is_active(p) and p.startswith(top.rstrip('/') + '/')]
            if not todo:
                continue
            tmpdir = rewriter.temp_dir(top)
            lock = rewriter.lock(tmpdir)
            try:
                rewriter.remove_stale(tmpdir)
                for path in todo:
                    header = rewriter.header(path)
                    if header['sealed']:
                        left['sealed'] += rewriter.count(path)
                    elif header['state'] == 'ONLINE':
                        left['online'] += rewriter.count(path)
                    else:
                        try:
                            erased += rewriter.rewrite(path, tmpdir)
                        except StoreError:
                            left['refused'] += rewriter.count(path)
            finally:
                os.close(lock)
        return erased
