#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: log_audit
short_description: Count personal-data patterns in a mail host's recent logs, never reading them out
version_added: 0.4.0
description:
  - Scans the recent log files of a mail host (live, rotated, C(.gz), C(.bz2), C(.xz) and multilog
    archives) and the systemd journal for personal-data patterns and returns, per pattern and per
    file category, how many lines carry them. It never returns a matched value, a line or a file name.
  - "Patterns: V(email) (addresses; Message-IDs after C(msgid=<) do not count), V(ipv4) and V(ipv6)
    (client addresses; loopback, unspecified and the host's own addresses do not count), V(login)
    (C(user=), C(username=), C(imap(user)) prefixes), V(password) (C(password=), C(passwd=),
    C(given password:), vchkpw's C(pass:), C(PASS) in transcripts), V(auth_debug) (Dovecot
    C(auth: Debug:), courier-authlib traces, Courier C(LOGIN: ip=) debug lines), V(auth_payload)
    (C(AUTH PLAIN <base64>), Dovecot C(resp=<base64>)) and V(smtp_transcript) (recordio output)."
  - A pattern with at least one line is drift, unless it is listed in O(accept). The compliance report
    callback (M(mailprivacy.gdpr.compliance_report)) turns each pattern into a control of the host.
  - "The window: files last modified before O(since) (default: O(days) days ago) are skipped; inside a
    file, lines stamped before it are skipped (RFC 3339, traditional syslog and TAI64N timestamps are
    recognised; a file without any timestamp counts whole). The journal is read with
    C(journalctl --since)."
  - Read-only; it behaves the same in check mode.
author:
  - mailprivacy.gdpr contributors (!UNKNOWN)
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode changes nothing about what it does.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to show.
options:
  days:
    description: The window in days, when O(since) is not given.
    type: int
    default: 7
  since:
    description:
      - Start of the window, overriding O(days). C(@<seconds since the epoch>), C(YYYY-MM-DD) (UTC midnight)
        or C(YYYY-MM-DDTHH:MM:SS) with an optional C(Z) or C(+hh:mm) offset (UTC when absent).
    type: str
  paths:
    description:
      - Absolute globs of the log files (C(**) recurses). Empty means Debian's mail logs, C(syslog),
        Dovecot and Horde file logs and C(/var/log/qmail/**) (the log store's defaults without
        C(/var/log/auth.log*), whose PAM lines name users by design, which no role can change).
    type: list
    elements: str
    default: []
  extra_paths:
    description: Absolute globs added to O(paths), for example a KLMS trace directory.
    type: list
    elements: str
    default: []
  exclude:
    description: Globs of files to leave out.
    type: list
    elements: str
    default: []
  journal:
    description: Scan the systemd journal too (skipped with a reason when C(journalctl) or the journal is absent).
    type: bool
    default: true
  journal_matches:
    description:
      - C(journalctl) match arguments that select the entries to scan. The default selects the mail syslog
        facility (Dovecot, Courier, Postfix, Horde with C(LOG_MAIL)). An empty list scans the whole journal.
    type: list
    elements: str
    default: ['SYSLOG_FACILITY=2']
  journalctl:
    description: The C(journalctl) command (name or absolute path).
    type: str
    default: journalctl
  patterns:
    description: Patterns to count; empty means all of them.
    type: list
    elements: str
    choices: [email, ipv4, ipv6, login, password, auth_debug, auth_payload, smtp_transcript]
    default: []
  accept:
    description:
      - Patterns that are counted and reported but are not drift on this host (a documented decision, for
        example V(login) and V(ipv4) on a Courier host, whose login lines always carry them).
    type: list
    elements: str
    choices: [email, ipv4, ipv6, login, password, auth_debug, auth_payload, smtp_transcript]
    default: []
  ignore_networks:
    description: Networks (CIDR) whose addresses do not count, in addition to loopback and unspecified addresses.
    type: list
    elements: str
    default: []
  ignore_own_addresses:
    description: The host's own addresses (read from C(/proc/net)) do not count (Dovecot's C(lip=) field).
    type: bool
    default: true
notes:
  - Needs root to read every log. Uses the Python standard library only.
  - Files are found and opened from directory handles, never through a symbolic link that a user other than root
    controls and never blocking (a service user who owns a log directory can put a FIFO or a link in place of a log
    file); each is read through the handle that was checked, with plain reads. A FIFO or other non-regular file, a
    link, a file replaced since it was found and a file truncated while it was read are counted in RV(problems).
  - Counts are of lines, per pattern; one line with an address and an IP counts once for V(email) and once
    for V(ipv4). An IPv4-mapped IPv6 address counts as V(ipv4).
seealso:
  - module: mailprivacy.gdpr.subject_find
"""

EXAMPLES = r"""
- name: Count personal data in the last 7 days of logs
  mailprivacy.gdpr.log_audit:
  register: audit

- name: Only what was logged since the last apply, Courier's login lines accepted
  mailprivacy.gdpr.log_audit:
    since: "2026-05-01T12:00:00Z"
    accept: [login, ipv4, ipv6]
    extra_paths: [/var/log/kaspersky/klms/*.log*]
"""

RETURN = r"""
findings:
  description: Per pattern, the number of lines in the window that carry it (files and journal together).
  returned: always
  type: dict
  sample: {email: 12, ipv4: 30, ipv6: 0, login: 8, password: 2, auth_debug: 5, auth_payload: 0, smtp_transcript: 0}
by_category:
  description: The same counts per source category (V(live), V(rotated), V(compressed), V(multilog), V(journal)).
  returned: always
  type: dict
  sample: {live: {email: 10, ipv4: 20}, journal: {email: 2, ipv4: 10}}
drift:
  description: Whether a pattern that is not in O(accept) was found.
  returned: always
  type: bool
  sample: true
drift_patterns:
  description: The patterns found that are not accepted.
  returned: always
  type: list
  elements: str
  sample: [email, password]
accepted:
  description: The patterns of O(accept).
  returned: always
  type: list
  elements: str
  sample: []
patterns:
  description: The patterns counted.
  returned: always
  type: list
  elements: str
  sample: [email, ipv4, ipv6, login, password, auth_debug, auth_payload, smtp_transcript]
files_scanned:
  description: Log files read (modified inside the window).
  returned: always
  type: int
  sample: 4
files_with_findings:
  description: Log files with at least one finding.
  returned: always
  type: int
  sample: 2
files_skipped_old:
  description: Log files last modified before the window.
  returned: always
  type: int
  sample: 6
lines_scanned:
  description: Lines inside the window (files and journal).
  returned: always
  type: int
  sample: 10234
journal:
  description: Whether the journal was scanned, why not, and how many entries were read.
  returned: always
  type: dict
  sample: {scanned: true, reason: '', entries: 812}
window:
  description: Start of the window (UTC, ISO 8601) and the days it spans (null when O(since) was given).
  returned: always
  type: dict
  sample: {since: '2026-05-01T12:00:00Z', days: 7}
problems:
  description: Counts of sources that could not be read completely, by reason (no names).
  returned: always
  type: dict
  sample: {}
"""

import calendar
import datetime
import os
import re
import time
import zlib
import lzma

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import pii_patterns
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.log_engine import TruncatedError, iter_file_chunks, iter_regions, iter_stream_chunks
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import Runner, StoreError
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_logs import MAIL_LOG_PATHS, LogStore, refusal

JOURNAL_DIRS = ('/var/log/journal', '/run/log/journal')
CATEGORIES = ('live', 'rotated', 'compressed', 'multilog', 'journal')
_SINCE_RE = re.compile(r'^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?'
                       r'(Z|[+-]\d{2}:?\d{2})?$')
_MATCH_RE = re.compile(r'^(?:[A-Z0-9_]+=[^\x00-\x1f]*|\+)$')


class AuditError(ValueError):
    """A parameter is wrong. The message names the parameter."""


def parse_since(text):
    """Seconds since the epoch for the O(since) forms."""
    text = text.strip()
    if text.startswith('@'):
        try:
            return float(int(text[1:]))
        except ValueError:
            raise AuditError('since: @ must be followed by whole seconds since the epoch')
    match = _SINCE_RE.match(text)
    if not match:
        raise AuditError('since: expected @<epoch>, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|+hh:mm]')
    fields = [int(match.group(i) or 0) for i in range(1, 7)]
    try:
        datetime.datetime(*fields)
    except ValueError:
        raise AuditError('since: not a valid date and time')
    stamp = calendar.timegm((fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], 0, 0, 0))
    zone = match.group(7)
    if zone and zone != 'Z':
        sign = -1 if zone[0] == '-' else 1
        digits = zone[1:].replace(':', '')
        stamp -= sign * (int(digits[:2]) * 3600 + int(digits[2:4]) * 60)
    return float(stamp)


def iso(stamp):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(stamp))


def _empty(names):
    return dict((n, 0) for n in names)


def audit(params, runner=None, now=None, proc='/proc'):
    """The module's work, without AnsibleModule (unit tests call it). Returns the result dict."""
    runner = runner if runner is not None else Runner()
    now = time.time() if now is None else now
    if params.get('since'):
        since = parse_since(params['since'])
        days = None
    else:
        days = params.get('days', 7)
        if days is None or not 1 <= days <= 3660:
            raise AuditError('days must be between 1 and 3660')
        since = now - days * 86400
    own = pii_patterns.own_addresses(proc) if params.get('ignore_own_addresses', True) else ()
    try:
        networks = pii_patterns.parse_networks(params.get('ignore_networks') or [])
        counter = pii_patterns.LineCounter(params.get('patterns') or None, networks, own)
    except pii_patterns.PatternError as err:
        raise AuditError(str(err))
    accept = list(params.get('accept') or [])
    for pos, name in enumerate(accept):
        if name not in pii_patterns.PATTERN_NAMES:
            raise AuditError('accept[%d] is not a known pattern' % pos)
    names = counter.names

    store_opts = {
        'paths': list(params.get('paths') or MAIL_LOG_PATHS),
        'extra_paths': list(params.get('extra_paths') or []),
        'exclude': list(params.get('exclude') or []),
    }
    try:
        store = LogStore(store_opts, runner)
    except StoreError as err:
        raise AuditError(str(err))

    findings = _empty(names)
    by_category = dict((c, _empty(names)) for c in CATEGORIES)
    problems = {}
    files_scanned = files_with = skipped_old = lines_total = 0

    def problem(what):
        problems[what] = problems.get(what, 0) + 1

    for logfile in store.files():
        # opened from the directory handle the file was found in, never blocking (a FIFO
        # swapped in is refused), and read only from that handle
        try:
            fd, st = logfile.open()
        except OSError as err:
            problem(refusal(err))
            continue
        try:
            if st.st_mtime < since:
                skipped_old += 1
                continue
            window = pii_patterns.Window(since, now)
            regions = iter_regions(iter_file_chunks(fd, compression=logfile.compression, reuse=True))
            counts, lines = pii_patterns.scan_regions(regions, counter, window)
        except TruncatedError:
            problem('files truncated while they were read (skipped)')
            continue
        except (OSError, EOFError, zlib.error, lzma.LZMAError):
            problem('files unreadable or damaged (skipped)')
            continue
        finally:
            os.close(fd)
        files_scanned += 1
        lines_total += lines
        if any(counts.values()):
            files_with += 1
        pii_patterns.merge(findings, counts)
        pii_patterns.merge(by_category[logfile.category], counts)
    for what, count in store.problems.items():
        problems[what] = problems.get(what, 0) + count

    journal = {'scanned': False, 'reason': '', 'entries': 0}
    if not params.get('journal', True):
        journal['reason'] = 'disabled'
    else:
        exe = runner.which(params.get('journalctl') or 'journalctl')
        matches = list(params.get('journal_matches') or [])
        for pos, match in enumerate(matches):
            if not isinstance(match, str) or not _MATCH_RE.match(match):
                raise AuditError('journal_matches[%d] must be FIELD=value or +' % pos)
        if not exe:
            journal['reason'] = 'journalctl not found'
        elif not any(os.path.isdir(d) for d in JOURNAL_DIRS):
            journal['reason'] = 'no journal directory'
        else:
            argv = [exe, '--no-pager', '--quiet', '--output=short-iso', '--since=@%d' % int(since)] + matches
            try:
                with runner.stream(argv) as handle:
                    counts, lines = pii_patterns.scan_regions(iter_regions(iter_stream_chunks(handle)), counter)
            except StoreError as err:
                journal['reason'] = str(err)
                problem('journal unreadable')
            else:
                journal.update(scanned=True, entries=lines)
                lines_total += lines
                pii_patterns.merge(findings, counts)
                pii_patterns.merge(by_category['journal'], counts)

    drift_patterns = [n for n in names if findings.get(n) and n not in accept]
    return {
        'findings': findings,
        'by_category': by_category,
        'drift': bool(drift_patterns),
        'drift_patterns': drift_patterns,
        'accepted': [n for n in pii_patterns.PATTERN_NAMES if n in accept],
        'patterns': names,
        'files_scanned': files_scanned,
        'files_with_findings': files_with,
        'files_skipped_old': skipped_old,
        'lines_scanned': lines_total,
        'journal': journal,
        'window': {'since': iso(since), 'days': days},
        'problems': problems,
    }


def main():
    choices = list(pii_patterns.PATTERN_NAMES)
    module = AnsibleModule(
        argument_spec=dict(
            days=dict(type='int', default=7),
            since=dict(type='str'),
            paths=dict(type='list', elements='str', default=[]),
            extra_paths=dict(type='list', elements='str', default=[]),
            exclude=dict(type='list', elements='str', default=[]),
            journal=dict(type='bool', default=True),
            journal_matches=dict(type='list', elements='str', default=['SYSLOG_FACILITY=2']),
            journalctl=dict(type='str', default='journalctl'),
            patterns=dict(type='list', elements='str', choices=choices, default=[]),
            accept=dict(type='list', elements='str', choices=choices, default=[]),
            ignore_networks=dict(type='list', elements='str', default=[]),
            ignore_own_addresses=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    try:
        result = audit(module.params)
    except AuditError as err:
        module.fail_json(msg=str(err))
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
