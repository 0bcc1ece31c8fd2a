# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The log engine: reading, region iteration, line matching and worker fan-out, shared by the
log store (counting, export), the journal store, log redaction, the drift check and the
independent check. Python standard library only; depends on fsops, fileutil and store_base.

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
  whole region, and the boundary regex only on the lines that contain a needle;
* :func:`fork_map` spreads files over forked worker processes;
* :func:`category_of` names a log file's kind from its name (live, rotated, compressed, multilog).

A redactor (log_redact) rewrites a source by writing ``buf[start:end]`` without (or with
masked) hit lines.
"""

from __future__ import annotations

import bz2
import errno
import json
import lzma
import os
import queue
import re
import sys
import threading
import zlib

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fileutil, fsops
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError, safe_error

CHUNK = 1024 * 1024
COMPRESSED_READ = 128 * 1024
MAX_CARRY = 64 * 1024 * 1024

# log file names: multilog archives and current, rotation suffixes, compression suffixes
MULTILOG_NAME_RE = re.compile(r'^(current|@[0-9a-fA-F]{24}\.[su])$')
ROTATED_NAME_RE = re.compile(r'(\.[0-9]+|-[0-9]{8}([-_]?[0-9]{2,10})?|\.old)$')
COMPRESSED_SUFFIX_RE = re.compile(r'\.(gz|bz2|xz)$')


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


def _raw_set(values):
    """The bytes ``b`` whose ASCII lower case is in ``values``: a neighbour set that was meant
    for lower-cased text, for the same check on the text as it is."""
    return frozenset(b for b in range(256) if bytes([b]).lower()[0] in values)


def _letters(needle):
    return sum(1 for byte in bytearray(needle) if bytes([byte]).isalpha())


def case_variants(needle):
    """Every spelling of a lower-case needle in ASCII letter case (2 ** letters of them)."""
    out = [b'']
    for byte in bytearray(needle):
        char = bytes([byte])
        forms = (char, char.upper()) if char.isalpha() else (char,)
        out = [head + form for head in out for form in forms]
    return out


class LineMatcher(object):
    """Finds the lines of a buffer that carry an identifier of a subject.

    Every needle of the subject's prefilter is looked for over the whole region (long ones
    with ``bytes.find``, short ones with a literal-first regex that rejects a needle glued to
    a neighbouring word character); at an anchored needle the subject regex is only tried at
    that position (``match``), otherwise it searches the needle's line.

    Needles that stand for text without letter case (:attr:`Subject.fold_needles`) are found
    in one of two ways, whichever takes fewer passes over the region: in a lower-cased copy of
    the region (one pass to make it, one per needle), or, when the needles have at most a letter
    or so (a local part such as ``1a``), each spelling of each needle in every letter case in the
    region as it is (:func:`case_variants`, one pass each, no copy)."""

    def __init__(self, subject):
        self.regex = subject.regex()
        self.fold = bool(subject.fold_needles)
        needles = subject.prefilter()
        if self.fold and sum(2 ** _letters(n[0]) for n in needles) <= len(needles) + 1:
            # cheaper without the lower-cased copy: every spelling searched as it is
            self.fold = False
            needles = [(variant, anchored, _raw_set(forbid), _raw_set(after))
                       for needle, anchored, forbid, after in needles for variant in case_variants(needle)]
        self.plan = []
        for needle, anchored, forbid, after in needles:
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
            if (end - start) * 2 >= len(buf) and (start == 0 or buf[start - 1] == 10):
                # lower the whole buffer (no copy of the region first): the bytes before
                # ``start`` end a line, which no needle's neighbour set holds
                hay = buf.lower()
                off = 0
            else:
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


def write_hit_lines(regions, write):
    """Pass every hit line of ``regions`` to ``write`` (a missing final newline added), and yield
    each region's number of hit lines once they are written (the export of the log and journal
    stores: a caller that stops at an error knows how many lines went out)."""
    for buf, _start, _end, hits in regions:
        for ls, le in hits:
            line = buf[ls:le]
            if not line.endswith(b'\n'):
                line += b'\n'
            write(line)
        yield len(hits)


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


# ------------------------------------------------------------------------------ file kinds
def category_of(path, compression):
    base = os.path.basename(path)
    stripped = COMPRESSED_SUFFIX_RE.sub('', base)
    if MULTILOG_NAME_RE.match(stripped):
        return 'multilog'
    if compression:
        return 'compressed'
    if ROTATED_NAME_RE.search(base):
        return 'rotated'
    return 'live'
