# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The log file store: log files (live, rotated, compressed, multilog archives) found by globs
from directory handles (:class:`LogFile`), their bundle names and categories, and
:class:`LogStore` (locate, export, erase).

Reading and matching are the log engine's (log_engine: chunk readers, regions, the line
matcher, worker processes); erasure is log_redact's one redaction path (:func:`log_redact.redact_logfiles`).
The journal store is in store_journal.
"""

from __future__ import annotations

import errno
import fnmatch
import glob
import hashlib
import lzma
import os
import re
import stat
import zlib

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fileutil, fsops
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.bundle import LazyExtract
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.log_engine import (
    CHUNK,
    COMPRESSED_SUFFIX_RE,
    MULTILOG_NAME_RE,
    LineMatcher,
    TruncatedError,
    category_of,
    fork_map,
    iter_file_chunks,
    iter_regions,
    prefetch,
    write_hit_lines,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.log_redact import SubjectMatcher, redact_logfiles
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import Option, Store, StoreError

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
_SAFE_COMPONENT_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$')


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
            if not (_SAFE_COMPONENT_RE.match(part) or (last and MULTILOG_NAME_RE.match(COMPRESSED_SUFFIX_RE.sub('', part)))):
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
    ``paths``), ``exclude`` (globs), ``chunk_size`` (bytes per read), ``threads`` (read plain
    files in a helper thread too; off by default: measured slower, the search holds the GIL;
    compressed files are always decompressed in a helper thread, which overlaps inflating with
    the search), ``workers`` (scan that many files at once in forked processes; default 2;
    1 is gentler on a busy single-core host; figures in docs/benchmarks.md), ``mmap``
    (accepted for compatibility and ignored since files are read with plain reads only: a file
    its owner truncates under a memory map kills the process).

    Files are found and opened from directory handles (:meth:`files`, :meth:`LogFile.open`):
    a symbolic link, a FIFO or a file swapped in after discovery is refused and counted in
    ``reason``, never followed, opened blocking or named."""

    name = 'logs'
    units = 'lines'
    OPTIONS = {
        'paths': Option(list(DEFAULT_PATHS), 'list',
                        'Absolute globs of the log files (C(**) recurses): live, rotated (plain, C(.gz), C(.bz2), '
                        "C(.xz)) and multilog archives. The default: Debian's mail logs, syslog, Dovecot's and Horde's "
                        "logs, qmail's multilog directories and C(/var/log/auth.log*) (PAM's lines for the mail logins).",
                        elements='str'),
        'extra_paths': Option([], 'list', 'Globs added to C(paths).', elements='str'),
        'exclude': Option([], 'list', 'Globs of files left out.', elements='str'),
        'chunk_size': Option(CHUNK, 'int', 'Bytes per read (64 KiB to 256 MiB).'),
        'threads': Option(False, 'bool', 'Read plain files in a helper thread too (measured slower: the search holds '
                          'the GIL); compressed files are always decompressed in a helper thread.'),
        'workers': Option(2, 'int', 'Files scanned at once, in forked processes (1 to 64); 1 is gentler on a busy '
                          'single-core host (figures in docs/benchmarks.md).'),
        'mmap': Option(True, 'bool', 'Ignored (accepted for compatibility): files are read with plain reads only, since '
                       'a file its owner truncates under a memory map would kill the process.'),
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
        checked), in a reader thread for compressed files (inflating releases the GIL, so it
        overlaps with the search) and, with the ``threads`` option, for plain files too. Close
        the generator before the handle."""
        threads = self.options['threads'] or bool(logfile.compression)
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
            for written in write_hit_lines(self.scan(logfile, matcher), out.write):
                count += written
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

    def redact(self, make_matcher, mode='remove', check_mode=False):
        """The one redaction path (erase here, and the log_redact module): (files, outcomes),
        the files found and, per file in that order, ``(logfile, outcome, error)`` from
        :func:`log_redact.redact_logfiles` (``outcome`` None and ``error`` the problem text,
        which names no path and no data, when the file was refused or failed: it is untouched).
        Files that discovery skipped are in :attr:`problems`."""
        files = self.files()
        return files, list(redact_logfiles(files, make_matcher, mode, check_mode=check_mode))

    def erase(self, subject, check_mode):
        """Remove the subject's lines from every log file through the log_redact engine: live
        files are rewritten in place (their writers paused, no appended line lost), rotated and
        compressed ones replaced atomically with owner, mode and times kept. A refused or
        damaged file is left untouched and named by category in ``reason``; the proof search
        after the erasure then still counts it, so the request is reported incomplete."""
        res = self._empty()
        matchers = []

        def make_matcher():  # one matcher for every file, built when the first file is redacted
            if not matchers:
                matchers.append(SubjectMatcher(subject))
            return matchers[0]

        files, outcomes = self.redact(make_matcher, 'remove', check_mode)
        if not files:
            res.update(available=False, reason=self._none_found())
            return res
        erased = 0
        for logfile, outcome, error in outcomes:
            if error is not None:  # its message names no path and no data (the engine's contract)
                self._problem('%s files refused (%s)' % (logfile.category, error))
                continue
            res.add(logfile.category, outcome['lines_matched'])
            erased += outcome['lines_changed'] if not check_mode else outcome['lines_matched']
        res['erased'] = erased
        res['reason'] = self._reason()
        return res
