# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Erasure of one subject's entries from the systemd journal by rewriting its files.

journald cannot delete single entries, but an *archived* journal file is never written again,
so it can be replaced by a copy without them:

1. ``journalctl --file=F -o export`` streams the file in the journal export format; every
   entry whose field values carry an identifier of the subject is dropped (structural fields
   such as ``__CURSOR``, ``_BOOT_ID`` or timestamps are not looked at);
2. the other entries go to ``systemd-journal-remote --split-mode=none --output=T -``, which
   writes a new journal file T (timestamps, boot IDs and every field kept; sequence numbers
   and the file ID are new), in a hidden directory on the same file system that journalctl
   does not read;
3. T is read back with ``journalctl --file=T -o export`` and must hold exactly the kept
   entries (compared field by field, sorted, without cursor and sequence numbers); otherwise
   T is removed, F is kept and the store reports the file as refused;
4. T gets F's owner, group, mode, extended attributes (the ACL journald's tmpfiles gives the
   ``adm`` group) and times, is fsynced and renamed over F; the directory is fsynced. A file
   that held only the subject's entries is removed.

Active files (``system.journal``, ``user-1000.journal``) are rotated first with
``journalctl --rotate``, after ``journalctl --sync`` so that lines already logged (by the
erasure's own commands, such as ``userdel``) are in the files. Lines naming the subject that
arrive after a rotation lead to another rotation, at most ``MAX_ROTATIONS`` in all. Sealed files (Forward Secure Sealing) are never rewritten: the copy
could not carry the seal, so they are left with a manual step. A file still ONLINE after the
rotation is left too. An interrupted run leaves at most a temporary file in the hidden
directory (only other entries, never the subject's), removed by the next run.
"""

from __future__ import annotations

import bisect
import errno
import fcntl
import hashlib
import json
import os
import re
import stat

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fsops
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.log_engine import iter_regions, iter_stream_chunks
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError

TEMP_DIR = '.mailprivacy-rewrite'
# rotations per erasure: the first one, and more while lines naming the subject keep arriving
MAX_ROTATIONS = 3
CHUNK = 1024 * 1024
BATCH = 1024 * 1024
REMOTE_CANDIDATES = ('/lib/systemd/systemd-journal-remote', '/usr/lib/systemd/systemd-journal-remote')

# fields that are not looked at for identifiers (journald's own bookkeeping: IDs, timestamps)
STRUCTURAL = frozenset([
    b'__CURSOR', b'__REALTIME_TIMESTAMP', b'__MONOTONIC_TIMESTAMP', b'__SEQNUM', b'__SEQNUM_ID',
    b'_BOOT_ID', b'_MACHINE_ID', b'_SYSTEMD_INVOCATION_ID', b'MESSAGE_ID', b'INVOCATION_ID',
    b'_SOURCE_REALTIME_TIMESTAMP', b'_SOURCE_MONOTONIC_TIMESTAMP', b'_STREAM_ID',
])
# fields that differ between a file and its rewritten copy by design
NOT_COMPARED = frozenset([b'__CURSOR', b'__SEQNUM', b'__SEQNUM_ID'])

_TEMP_NAME = re.compile(r'^(\d+)-[0-9a-f]{16}\.journal$')


class JournalFormatError(StoreError):
    """The export stream is not in the journal export format."""


def is_active(path):
    """An active journal file (written by journald): archived ones carry '@' in their name."""
    name = os.path.basename(path)
    return name.endswith('.journal') and '@' not in name


def journal_files(directories):
    """Sorted paths of the journal files (``*.journal``, ``*.journal~``) under the
    directories, hidden directories (our temporary one) skipped, symbolic links ignored."""
    found = []
    for top in directories:
        if not os.path.isdir(top) or os.path.islink(top):
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith('.')
                                 and not os.path.islink(os.path.join(dirpath, d)))
            for name in filenames:
                path = os.path.join(dirpath, name)
                if (name.endswith('.journal') or name.endswith('.journal~')) and not name.startswith('.') \
                        and not os.path.islink(path) and os.path.isfile(path):
                    found.append(path)
    return sorted(found)


def iter_entries(handle, chunk_size=CHUNK):
    """Entries of a journal export stream, each a list of (field name, raw record) where the
    raw record is the field exactly as exported (``NAME=value\\n`` or the binary form
    ``NAME\\n<le64 size><data>\\n``)."""
    buf = b''
    pos = 0
    eof = False
    fields = []

    def more(need):
        # make buf[pos:] hold at least `need` bytes when the stream has them; False at EOF
        nonlocal buf, pos, eof
        while len(buf) - pos < need and not eof:
            data = handle.read(chunk_size)
            if not data:
                eof = True
            buf = buf[pos:] + data
            pos = 0
        return len(buf) - pos >= need

    while True:
        nl = buf.find(b'\n', pos)
        if nl == -1:
            if eof:
                if pos < len(buf):
                    raise JournalFormatError('journal: the export stream ends inside a field')
                if fields:
                    yield fields
                return
            more(len(buf) - pos + 1)
            continue
        if nl == pos:
            if fields:
                yield fields
                fields = []
            pos = nl + 1
            continue
        eq = buf.find(b'=', pos, nl)
        if eq != -1:
            fields.append((buf[pos:eq], buf[pos:nl + 1]))
            pos = nl + 1
            continue
        # binary field: NAME\n, little-endian 64-bit size, data, \n
        head = nl + 1 - pos
        if not more(head + 8):
            raise JournalFormatError('journal: the export stream ends inside a field')
        start = pos
        size = int.from_bytes(buf[start + head:start + head + 8], 'little')
        total = head + 8 + size + 1
        if size > 1 << 31 or not more(total):
            raise JournalFormatError('journal: a binary field of the export stream is truncated')
        start = pos
        record = buf[start:start + total]
        if record[-1:] != b'\n':
            raise JournalFormatError('journal: a binary field of the export stream is malformed')
        fields.append((record[:head - 1], record))
        pos = start + total


def field_value(name, record):
    """The value of a raw record (text or binary form)."""
    if record[len(name):len(name) + 1] == b'=':
        return record[len(name) + 1:-1]
    return record[len(name) + 9:-1]


def entry_json(fields):
    """One entry as a line of JSON, in the shape ``journalctl -o json`` uses: a field's value is
    a string when it is UTF-8 without control characters (tab and newline allowed), otherwise
    an array of byte values; a field that occurs more than once has an array of its values."""
    values = {}
    for name, rec in fields:
        raw = field_value(name, rec)
        try:
            value = raw.decode('utf-8')
        except UnicodeDecodeError:
            value = None
        if value is None or any(ord(c) < 32 and c not in '\t\n' for c in value) or '\x7f' in value:
            value = list(raw)
        values.setdefault(name.decode('ascii', 'replace'), []).append(value)
    obj = dict((key, vals[0] if len(vals) == 1 else vals) for key, vals in values.items())
    return (json.dumps(obj, ensure_ascii=False, sort_keys=True) + '\n').encode('utf-8')


def entry_key(fields):
    """What must survive a rewrite unchanged: the sorted raw records but cursor and
    sequence numbers."""
    return b''.join(sorted(rec for name, rec in fields if name not in NOT_COMPARED))


def classify(entries, matcher):
    """[(fields, carries the subject?)] for a batch of entries: the searchable field values
    of the batch are joined line by line into one buffer and searched once."""
    parts = []
    starts = []
    size = 0
    for fields in entries:
        starts.append(size)
        for name, rec in fields:
            if name in STRUCTURAL:
                continue
            value = field_value(name, rec).replace(b'\n', b' ') + b'\n'
            parts.append(value)
            size += len(value)
    buf = b''.join(parts)
    marked = set()
    if buf:
        for line_start, _line_end in matcher.hits(buf):
            marked.add(bisect.bisect_right(starts, line_start) - 1)
    return [(fields, index in marked) for index, fields in enumerate(entries)]


def iter_classified(handle, matcher, batch=BATCH):
    """(fields, carries the subject?) for every entry of an export stream, in order."""
    pending = []
    size = 0
    for fields in iter_entries(handle):
        pending.append(fields)
        size += sum(len(rec) for _name, rec in fields)
        if size >= batch:
            yield from classify(pending, matcher)
            pending = []
            size = 0
    if pending:
        yield from classify(pending, matcher)


def parse_header(text):
    """{'sealed': bool, 'state': 'ONLINE'|'OFFLINE'|'ARCHIVED'|...} from
    ``journalctl --file=F --header``."""
    sealed = False
    state = ''
    for line in text.splitlines():
        key, _sep, value = line.partition(':')
        key = key.strip()
        if key == 'State':
            state = value.strip().split(' ')[0].upper()
        elif key == 'Compatible flags' and 'SEALED' in value.upper():
            sealed = True
    return {'sealed': sealed, 'state': state}


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except OSError as err:
        return err.errno == errno.EPERM
    return True


class JournalRewriter(object):
    """Rewrites journal files without the entries a matcher finds (see the module docstring)."""

    def __init__(self, runner, journalctl, remote, matcher):
        self.runner = runner
        self.journalctl = journalctl
        self.remote = remote
        self.matcher = matcher

    def _export(self, path):
        return self.runner.stream([self.journalctl, '--no-pager', '--file=' + path, '--output=export'])

    def may_hold(self, path):
        """Whether the export stream has a line the matcher finds (a fast pre-check over the
        raw stream, field names included: it may say yes where no entry carries the subject,
        never the other way round). Stops reading at the first hit."""
        with self.runner.stream([self.journalctl, '--no-pager', '--file=' + path, '--output=export'],
                                check=False) as handle:
            return any(hits for _buf, _start, _end, hits in
                       iter_regions(iter_stream_chunks(handle, CHUNK), self.matcher))

    def count(self, path):
        """Number of entries of the file that carry the subject."""
        if not self.may_hold(path):
            return 0
        with self._export(path) as handle:
            return sum(1 for _fields, hit in iter_classified(handle, self.matcher) if hit)

    def header(self, path):
        _rc, out, _err = self.runner.run([self.journalctl, '--no-pager', '--file=' + path, '--header'])
        return parse_header(out.decode('utf-8', 'replace'))

    def rotate(self):
        self.runner.run([self.journalctl, '--rotate'])

    def sync(self):
        """``journalctl --sync``: journald writes what it has queued (messages already sent to
        its sockets, such as the lines the other stores' commands just logged) before this
        returns. Best effort: without a running journald there is nothing queued."""
        self.runner.run([self.journalctl, '--sync'], check=False)

    @staticmethod
    def temp_dir(top):
        """The hidden temporary directory under the journal directory ``top``, created 0700
        from a handle of ``top`` (never through a symbolic link)."""
        try:
            with fsops.Dir.open(top) as handle:
                handle.mkdir(TEMP_DIR, 0o700).close()
        except fsops.FsError:
            raise StoreError('journal: the temporary directory is not a directory')
        return os.path.join(top, TEMP_DIR)

    @staticmethod
    def lock(tmpdir):
        """An exclusive lock held while rewriting (one erasure at a time per journal)."""
        with fsops.Dir.open(tmpdir) as handle:
            fd = os.open('lock', os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600,
                         dir_fd=handle.fd)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    @staticmethod
    def remove_stale(tmpdir):
        """Temporary files of runs that died (their process is gone), removed from a handle
        of the temporary directory."""
        removed = 0
        with fsops.Dir.open(tmpdir) as handle:
            for name, st in handle.entries():
                match = _TEMP_NAME.match(name)
                if match and stat.S_ISREG(st.st_mode) and not _pid_alive(int(match.group(1))):
                    handle.unlink(name, missing_ok=True)
                    removed += 1
        return removed

    def rewrite(self, path, tmpdir):
        """Replace ``path`` by a copy without the subject's entries; the number dropped.

        The journal tools read and write by path; everything else happens from handles: the
        original is opened once (a regular file, no link) for its metadata, the copy gets owner,
        mode, extended attributes (ACLs) and times from handle to handle, and is renamed from the
        temporary directory's handle into the journal directory's handle."""
        directory, name = os.path.split(path)
        tmp_name = '%d-%s.journal' % (os.getpid(), os.urandom(8).hex())
        tmp = os.path.join(tmpdir, tmp_name)
        try:
            jdir = fsops.Dir.open(directory)
        except fsops.FsError:
            raise StoreError('journal: a journal directory passes through a symbolic link; it is kept')
        try:
            tdir = fsops.Dir.open(tmpdir)
            try:
                try:
                    src_fd, before = jdir.open_file(name)
                except fsops.FsError:
                    raise StoreError('journal: a journal file is not a regular file; it is kept')
                try:
                    return self._rewrite(path, tmp, jdir, name, tdir, tmp_name, src_fd, before)
                finally:
                    os.close(src_fd)
            finally:
                tdir.close()
        finally:
            jdir.close()

    def _rewrite(self, path, tmp, jdir, name, tdir, tmp_name, src_fd, before):
        kept_digest = hashlib.sha256()
        kept = dropped = 0
        try:
            with self._export(path) as src:
                with self.runner.sink([self.remote, '--split-mode=none', '--output=' + tmp, '-']) as dst:
                    for fields, hit in iter_classified(src, self.matcher):
                        if hit:
                            dropped += 1
                            continue
                        kept += 1
                        dst.write(b''.join(rec for _name, rec in fields) + b'\n')
                        kept_digest.update(hashlib.sha256(entry_key(fields)).digest())
            if not dropped:
                tdir.unlink(tmp_name, missing_ok=True)
                return 0
            if kept:
                self._verify(tmp, kept, kept_digest.hexdigest())
                try:
                    fd, _st = tdir.open_file(tmp_name)
                except fsops.FsError:
                    raise StoreError('journal: the rewritten journal file is not a regular file; the original is kept')
                try:
                    fsops.copy_metadata(before, fd, src_fd, times=True)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            now = jdir.lstat(name)
            same = (before.st_ino, before.st_size, before.st_mtime_ns)
            if now is None or (now.st_ino, now.st_size, now.st_mtime_ns) != same:
                raise StoreError('journal: a journal file changed while it was rewritten; it is kept')
            if kept:
                tdir.rename(tmp_name, name, dst_dir=jdir)
            else:
                tdir.unlink(tmp_name, missing_ok=True)
                jdir.unlink(name)
            jdir.fsync()
        except BaseException:
            tdir.unlink(tmp_name, missing_ok=True)
            raise
        return dropped

    def _verify(self, tmp, kept, expected):
        digest = hashlib.sha256()
        count = hits = 0
        with self._export(tmp) as handle:
            for fields, hit in iter_classified(handle, self.matcher):
                count += 1
                hits += 1 if hit else 0
                digest.update(hashlib.sha256(entry_key(fields)).digest())
        if count != kept or hits or digest.hexdigest() != expected:
            raise StoreError('journal: the rewritten journal file did not read back with exactly the '
                             'entries kept; the original is kept')


def find_remote(option, which):
    """The systemd-journal-remote binary: the option (a path or a name) or the usual paths."""
    if option:
        return which(option)
    for path in REMOTE_CANDIDATES:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None
