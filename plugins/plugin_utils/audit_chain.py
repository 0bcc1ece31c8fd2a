# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The audit journal (``audit.jsonl``) as a tamper-evident chain.

Every record appended carries ``chain``::

    {"v": 1, "seq": N, "prev": "<link of record N-1>", "kid": "<key id>", "mac": "<hex>"}

    mac = HMAC-SHA256(k, prev + "\\n" + str(seq) + "\\n" + canonical JSON of the record without "chain")
    k   = HMAC-SHA256(gdpr_hmac_key, "mailprivacy.gdpr audit chain v1")     (never the raw key)
    kid = the first 16 hex digits of HMAC-SHA256(k, "key id")

The link of a record is its ``mac``; the first chained record's ``prev`` is :data:`GENESIS`. The
canonical JSON is the record as the journal line holds it (sorted keys, no spaces, ASCII). A
record written without a usable key (a request refused because the key was missing or too short)
carries ``sha256`` (a plain SHA-256 of the same input) instead of ``kid`` and ``mac``: it keeps its
place in the chain (the next authenticated record covers its link) but proves nothing itself, so
the check lists it as unauthenticated.

Records of older versions, without ``chain``, before the first chained record are legacy
records: counted, not checked. The journal alone is enough to check the chain; the per-request
files ``<request id>.<action>.json`` carry the same ``chain`` and are compared with the
journal's record. Removing records at the end of the journal leaves a shorter chain that is
valid: only a head (``seq`` and ``mac`` of the last record) kept elsewhere shows it.

Controller-only code (plugin_utils), standard library only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import stat

VERSION = 1
LABEL = b'mailprivacy.gdpr audit chain v1'
GENESIS = '0' * 64
MIN_KEY = 16
MAX_PROBLEMS = 50
HEX64 = re.compile(r'^[0-9a-f]{64}$')
KID = re.compile(r'^[0-9a-f]{16}$')
ANCHOR = re.compile(r'^\s*(\d{1,12})\s*:\s*([0-9a-fA-F]{64})\s*$')

# the kinds of problem the check reports (the playbook's message names the first)
EDITED = 'edited'
REMOVED = 'removed or reordered'
INSERTED = 'inserted'
BAD_JSON = 'bad JSON'
KEY_MISMATCH = 'key mismatch'
TRUNCATED = 'truncated'
ANCHOR_MISMATCH = 'anchor mismatch'
FILE_DIFFERS = 'per-request file differs'
FILE_NOT_IN_JOURNAL = 'per-request file not in the journal'


class ChainError(ValueError):
    """A bad argument of the check (a malformed anchor). The message holds no secret."""


def usable_key(secret):
    """True for a key the request would accept (a string of at least MIN_KEY bytes)."""
    return isinstance(secret, str) and len(secret.encode('utf-8')) >= MIN_KEY


def derive_key(secret):
    """The chain key: HMAC-SHA256 of the fixed label under the request HMAC key."""
    return hmac.new(secret.encode('utf-8'), LABEL, hashlib.sha256).digest()


def key_id(key):
    return hmac.new(key, b'key id', hashlib.sha256).hexdigest()[:16]


def canonical(record):
    """The bytes of ``record`` without its ``chain``, as the journal line writes them."""
    body = dict((k, v) for k, v in record.items() if k != 'chain')
    return json.dumps(body, sort_keys=True, separators=(',', ':'), ensure_ascii=True).encode('ascii')


def _message(prev, seq, record):
    return ('%s\n%d\n' % (prev, seq)).encode('ascii') + canonical(record)


def seal(record, seq, prev, key=None):
    """The ``chain`` of ``record`` at position ``seq`` after the link ``prev``; ``key`` is
    the derived chain key or None (an unauthenticated record)."""
    msg = _message(prev, seq, record)
    chain = {'v': VERSION, 'seq': seq, 'prev': prev}
    if key is None:
        chain['sha256'] = hashlib.sha256(msg).hexdigest()
    else:
        chain['kid'] = key_id(key)
        chain['mac'] = hmac.new(key, msg, hashlib.sha256).hexdigest()
    return chain


def link_of(chain):
    return chain.get('mac') or chain.get('sha256')


def _valid_chain(chain):
    if not isinstance(chain, dict) or chain.get('v') != VERSION:
        return False
    seq = chain.get('seq')
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        return False
    if not isinstance(chain.get('prev'), str) or not HEX64.match(chain['prev']):
        return False
    if 'mac' in chain:
        return (isinstance(chain['mac'], str) and HEX64.match(chain['mac']) is not None
                and isinstance(chain.get('kid'), str) and KID.match(chain['kid']) is not None
                and 'sha256' not in chain)
    return isinstance(chain.get('sha256'), str) and HEX64.match(chain['sha256']) is not None


def _lines_backwards(fd, size, block=65536):
    """The lines of the open file from its end backwards (without their newline)."""
    pos = size
    rest = b''
    while pos > 0:
        step = min(block, pos)
        pos -= step
        rest = os.pread(fd, step, pos) + rest
        parts = rest.split(b'\n')
        rest = parts[0]
        yield from reversed(parts[1:])
    yield rest


def tail(fd):
    """(seq, link, needs_newline) to append after, read from the end of the journal open on
    ``fd`` (the caller holds its lock): the last chained record's seq and link, (0, GENESIS)
    when there is none. Lines that are not chained records (legacy records, a line a crash cut
    short) are passed over, so only a journal without any chained record is read whole.
    ``needs_newline``: the file does not end with a newline (a cut line), so the new record
    must start on a line of its own."""
    size = os.fstat(fd).st_size
    needs_newline = size > 0 and os.pread(fd, 1, size - 1) != b'\n'
    for line in _lines_backwards(fd, size):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode('utf-8'))
        except ValueError:
            continue
        if isinstance(record, dict) and _valid_chain(record.get('chain')):
            return record['chain']['seq'], link_of(record['chain']), needs_newline
    return 0, GENESIS, needs_newline


def parse_anchor(value):
    """``SEQ:MAC`` (as ``head_anchor`` prints it) or a dict {seq, mac}: (seq, mac) or None."""
    if value in (None, ''):
        return None
    if isinstance(value, dict):
        value = '%s:%s' % (value.get('seq'), value.get('mac'))
    match = ANCHOR.match(str(value))
    if not match:
        raise ChainError('expected_head must be SEQ:MAC, the head_anchor a check printed (a number, a colon and '
                         '64 hex digits)')
    return int(match.group(1)), match.group(2).lower()


class _Report(object):
    def __init__(self):
        self.problems = []
        self.count = 0

    def add(self, kind, record=None, seq=None, **extra):
        self.count += 1
        if len(self.problems) < MAX_PROBLEMS:
            item = {'kind': kind, 'record': record, 'seq': seq}
            item.update(extra)
            self.problems.append(item)


def _request_files(directory, journal_name):
    """{seq: [(file name, sha256 of its record)]} of the per-request files that carry a chain,
    and the number of files without one."""
    by_seq = {}
    unchained = 0
    for name in sorted(os.listdir(directory)):
        if not name.endswith('.json') or name == journal_name:
            continue
        path = os.path.join(directory, name)
        try:
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):
                continue
            with open(path, 'rb') as handle:
                record = json.loads(handle.read().decode('utf-8'))
        except (OSError, ValueError):
            by_seq.setdefault(None, []).append((name, None))
            continue
        chain = record.get('chain') if isinstance(record, dict) else None
        if not _valid_chain(chain):
            unchained += 1
            continue
        digest = hashlib.sha256(_message(chain['prev'], chain['seq'], record) + json.dumps(
            chain, sort_keys=True).encode('ascii')).hexdigest()
        by_seq.setdefault(chain['seq'], []).append((name, digest))
    return by_seq, unchained


def verify(journal, keys, expected_head=None, files_dir=None):
    """Check the chain of the journal at path ``journal`` with the request HMAC key(s)
    ``keys`` (the current one first, then earlier ones). ``expected_head``: an anchor
    ``SEQ:MAC`` kept elsewhere. ``files_dir``: the directory of the per-request files to
    compare with the journal (None: not compared).

    Returns a report (a dict of counts, record numbers, sequence numbers and MACs, never a
    record's content): ``ok``, ``records`` (lines), ``chained``, ``legacy``,
    ``unauthenticated`` (and the first ``unauthenticated_records``), ``problems`` (the first
    MAX_PROBLEMS of {kind, record, seq}), ``problem_count``, ``first_problem``, ``head``
    {record, seq, mac, authenticated} and ``head_anchor`` (``SEQ:MAC``)."""
    derived = []
    for secret in keys:
        if not usable_key(secret):
            raise ChainError('the HMAC key must be a secret of at least %d characters' % MIN_KEY)
        derived.append(derive_key(secret))
    if not derived:
        raise ChainError('the HMAC key is missing')
    by_kid = dict((key_id(k), k) for k in reversed(derived))
    anchor = parse_anchor(expected_head)
    report = _Report()
    files, unchained_files = ({}, 0)
    if files_dir is not None:
        files, unchained_files = _request_files(files_dir, os.path.basename(journal))
    counts = {'records': 0, 'chained': 0, 'legacy': 0, 'unauthenticated': 0}
    unauthenticated = []
    head = None
    started = False
    last_seq = 0
    last_link = GENESIS
    anchor_seen = None
    seen_seqs = set()
    flags = os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0)
    fd = os.open(journal, flags)
    with os.fdopen(fd, 'rb') as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ChainError('the audit journal is not a regular file')
        for number, raw in enumerate(handle, 1):
            counts['records'] += 1
            try:
                record = json.loads(raw.decode('utf-8'))
                if not isinstance(record, dict):
                    raise ValueError('not an object')
            except ValueError:
                report.add(BAD_JSON, number)
                continue
            chain = record.get('chain')
            if chain is None:
                if started:
                    report.add(INSERTED, number)
                else:
                    counts['legacy'] += 1
                continue
            if not _valid_chain(chain):
                report.add(EDITED, number)
                continue
            counts['chained'] += 1
            seq = chain['seq']
            msg = _message(chain['prev'], seq, record)
            authentic = True
            if 'mac' in chain:
                key = by_kid.get(chain['kid'])
                if key is None:
                    report.add(KEY_MISMATCH, number, seq)
                    authentic = False
                elif not hmac.compare_digest(hmac.new(key, msg, hashlib.sha256).hexdigest(), chain['mac']):
                    report.add(EDITED, number, seq)
                    authentic = False
            else:
                counts['unauthenticated'] += 1
                if len(unauthenticated) < MAX_PROBLEMS:
                    unauthenticated.append(number)
                if not hmac.compare_digest(hashlib.sha256(msg).hexdigest(), chain['sha256']):
                    report.add(EDITED, number, seq)
                    authentic = False
            want_seq, want_prev = (last_seq + 1, last_link) if started else (1, GENESIS)
            if authentic and (seq != want_seq or chain['prev'] != want_prev):
                report.add(REMOVED, number, seq)
            started = True
            last_seq, last_link = seq, link_of(chain)
            head = {'record': number, 'seq': seq, 'mac': last_link, 'authenticated': 'mac' in chain}
            if anchor and seq == anchor[0] and anchor_seen is None:
                anchor_seen = last_link
            if seq in files and seq not in seen_seqs:
                digest = hashlib.sha256(msg + json.dumps(chain, sort_keys=True).encode('ascii')).hexdigest()
                for name, file_digest in files[seq]:
                    if file_digest != digest:
                        report.add(FILE_DIFFERS, number, seq, file=name)
            seen_seqs.add(seq)
    for seq, entries in sorted(files.items(), key=lambda item: (item[0] is None, item[0] or 0)):
        if seq is None:
            for name, _digest in entries:
                report.add(BAD_JSON, None, None, file=name)
        elif seq not in seen_seqs:
            for name, _digest in entries:
                report.add(FILE_NOT_IN_JOURNAL, None, seq, file=name)
    if anchor:
        if anchor_seen is None:
            report.add(TRUNCATED, None, anchor[0])
        elif anchor_seen != anchor[1]:
            report.add(ANCHOR_MISMATCH, None, anchor[0])
    result = dict(counts)
    result.update({
        'ok': report.count == 0,
        'unauthenticated_records': unauthenticated,
        'problems': report.problems,
        'problem_count': report.count,
        'first_problem': report.problems[0] if report.problems else None,
        'head': head,
        'head_anchor': '%d:%s' % (head['seq'], head['mac']) if head else None,
        'key_id': key_id(derived[0]),
        'files_checked': sum(len(v) for k, v in files.items() if k is not None),
        'files_unchained': unchained_files,
    })
    return result


def describe(problem):
    """One line about a problem: record number, seq, kind (and the per-request file)."""
    where = []
    if problem.get('record'):
        where.append('record %d' % problem['record'])
    if problem.get('seq'):
        where.append('seq %d' % problem['seq'])
    if problem.get('file'):
        where.append('file %s' % problem['file'])
    return '%s: %s' % (', '.join(where) or 'journal', problem['kind'])
