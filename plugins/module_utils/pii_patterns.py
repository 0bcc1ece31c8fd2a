# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Personal-data patterns in log lines, counted per pattern, never extracted.

Used by the ``log_audit`` module (the drift check's log scan). Every function returns counts
of *lines*; no matched value ever leaves this module. Python standard library only.

Patterns (names are stable: the compliance report and its tests use them):

``email``            an e-mail address (not a Message-ID after ``msgid=<`` / ``message-id=<``)
``ipv4``             an IPv4 address that is not loopback, unspecified or the host's own
``ipv6``             an IPv6 address, same exclusions; IPv4-mapped ones count as ``ipv4``
``login``            a user-name field: ``user=<x>``, ``user=x``, ``username=``, ``sysusername=``,
                     ``ruser=``, Dovecot's ``imap(x)`` prefix and ``passwd-file(x,`` auth prefix,
                     Horde's and IMP's ``FAILED LOGIN for x`` / ``Login success for x``
``password``         a password or password hash: ``password=``, ``passwd=``, ``clearpasswd=``,
                     ``(given password: ...)``, vchkpw's ``(pass: '...')``, POP3 ``PASS x`` in a
                     transcript (``<hidden>``, ``None``, ``****`` and Ansible's no_log
                     placeholders in its "Invoked with" syslog lines do not count)
``auth_debug``       authentication debug output: Dovecot ``auth: Debug:`` / ``auth-worker``,
                     courier-authlib's ``authdaemond:`` module traces, Courier's ``LOGIN: ip=[``
                     (DEBUG_LOGIN) lines
``auth_payload``     SASL payloads: ``AUTH PLAIN|LOGIN|CRAM-MD5|XOAUTH2 <base64>``, Dovecot's
                     ``resp=<base64>`` (auth_debug_passwords)
``smtp_transcript``  recordio output (``<pid> < ...`` / ``<pid> > ...``): whole SMTP sessions

``email``, ``ipv4`` and ``ipv6`` are this module's own. Of the others this module holds the
forms of no particular service (``user=``-style fields, ``password=``-style fields, SMTP ``AUTH``
payloads); every service adds its own forms in its descriptor (``log_patterns`` in
module_utils/service_<name>.py: Dovecot's ``imap(x)`` and ``auth: Debug:``, Courier's
``authdaemond:`` traces, Horde's login lines, qmail's recordio transcripts), read from the
service catalog when a :class:`LineCounter` is made (:func:`regexes`).
"""

from __future__ import annotations

import calendar
import ipaddress
import os
import re
import time

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import service, service_catalog

PATTERN_NAMES = ('email', 'ipv4', 'ipv6', 'login', 'password', 'auth_debug', 'auth_payload',
                 'smtp_transcript')

DESCRIPTIONS = {
    'email': 'e-mail addresses',
    'ipv4': 'IPv4 client addresses',
    'ipv6': 'IPv6 client addresses',
    'login': 'user names',
    'password': 'passwords or password hashes',
    'auth_debug': 'authentication debug output',
    'auth_payload': 'SASL authentication payloads',
    'smtp_transcript': 'SMTP session transcripts',
}

_EMAIL = re.compile(
    rb'(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}@'
    rb'(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![A-Za-z0-9\-])')
_MSGID_PREFIXES = (b'msgid=<', b'message-id=<', b'message-id: <', b'msgid <', b'message-id <')

_IPV4 = re.compile(rb'(?<![0-9A-Za-z.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9A-Za-z+~]|\.[0-9])')
_IPV6 = re.compile(
    rb'(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|[0-9]{1,3}(?:\.[0-9]{1,3}){3})?'
    rb'(?![0-9A-Za-z:.])')

# The forms of no particular service; the services' own forms are in their descriptors.
_BASE = {
    'login': (
        rb'(?<![A-Za-z0-9_])(?:user|username|sysusername|ruser|login_user)=(?:<[^\s,<>]+>|[^\s,<>()\[\]]+)',
    ),
    'password': (
        rb'(?<![A-Za-z0-9_])(?i:(?:clear)?(?:password|passwd|pass|pwd))[ \t]?[=:][ \t]?'
        rb'(?!<hidden>|<null>|NOT_LOGGING_PARAMETER|VALUE_SPECIFIED_IN_NO_LOG_PARAMETER|None\b|\*{3,}|[ \t\r\n,)]|$)',
    ),
    'auth_debug': (),
    'auth_payload': (
        rb'(?i:\bAUTH[ \t]+(?:PLAIN|LOGIN|CRAM-MD5|DIGEST-MD5|XOAUTH2|OAUTHBEARER|SCRAM-SHA-[0-9]+)[ \t]+)'
        rb'[A-Za-z0-9+/]{4,}={0,2}',
    ),
    'smtp_transcript': (),
}
_OWN = {'email': _EMAIL, 'ipv4': _IPV4, 'ipv6': _IPV6}
_NEVER = re.compile(rb'(?!)')
_CACHE = {}


def regexes(catalog=None):
    """{pattern name: compiled regex}: this module's patterns with the alternatives of every
    service of ``catalog`` (default: the service catalog as it is now), each pattern one regex
    (``re.M``). A pattern that no service fills matches nothing."""
    catalog = service_catalog.SERVICES if catalog is None else catalog
    key = tuple(catalog)
    if key not in _CACHE:
        extra = service.log_patterns(catalog)
        out = dict(_OWN)
        for name in service.LOG_PATTERN_NAMES:
            alternatives = list(_BASE[name]) + list(extra[name])
            out[name] = re.compile(b'|'.join(b'(?:' + alt + b')' for alt in alternatives), re.M) if alternatives \
                else _NEVER
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[key] = out
    return _CACHE[key]


ALWAYS_IGNORED = ('127.0.0.0/8', '0.0.0.0/32', '255.255.255.255/32', '::1/128', '::/128')


class PatternError(ValueError):
    """A bad pattern name or network. The message names the option, never a log value."""


def parse_networks(values):
    """ip_network objects for ``values`` (CIDR or single addresses)."""
    out = []
    for pos, value in enumerate(values or ()):
        try:
            out.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            raise PatternError('ignore_networks[%d] is not an IP network' % pos)
    return out


def own_addresses(proc='/proc'):
    """The host's own IP addresses (Linux /proc), as ip_address objects; empty when unknown."""
    found = set()
    try:
        with open(os.path.join(proc, 'net', 'fib_trie'), 'r') as handle:
            prev = None
            for line in handle:
                text = line.strip()
                if text.startswith('|--') or text.startswith('+--'):
                    prev = text[3:].strip().split('/')[0]
                elif text.startswith('/32 host LOCAL') and prev:
                    try:
                        found.add(ipaddress.ip_address(prev))
                    except ValueError:
                        pass
    except (OSError, UnicodeDecodeError):
        pass
    try:
        with open(os.path.join(proc, 'net', 'if_inet6'), 'r') as handle:
            for line in handle:
                raw = line.split()[0] if line.split() else ''
                if len(raw) == 32:
                    try:
                        found.add(ipaddress.ip_address(':'.join(raw[i:i + 4] for i in range(0, 32, 4))))
                    except ValueError:
                        pass
    except (OSError, UnicodeDecodeError):
        pass
    return found


class LineCounter(object):
    """Counts, for each pattern, the lines of a buffer that contain it at least once."""

    def __init__(self, patterns=None, ignore_networks=(), own=()):
        names = list(patterns) if patterns else list(PATTERN_NAMES)
        self.regexes = regexes()
        for pos, name in enumerate(names):
            if name not in self.regexes:
                raise PatternError('patterns[%d] is not a known pattern (known: %s)'
                                   % (pos, ', '.join(PATTERN_NAMES)))
        self.names = [n for n in PATTERN_NAMES if n in names]
        self.networks = parse_networks(ALWAYS_IGNORED) + list(ignore_networks)
        self.own = frozenset(own)
        self._ip_cache = {}

    def _ip_counts(self, addr):
        if addr in self.own:
            return False
        if getattr(addr, 'ipv4_mapped', None) is not None:
            return False  # counted by the ipv4 pattern on the same line
        for net in self.networks:
            if addr.version == net.version and addr in net:
                return False
        return True

    def _valid_ip(self, raw, version):
        key = (raw, version)
        cached = self._ip_cache.get(key)
        if cached is not None:
            return cached
        try:
            text = raw.decode('ascii')
            addr = ipaddress.IPv4Address(text) if version == 4 else ipaddress.IPv6Address(text)
        except ValueError:
            ok = False
        else:
            ok = self._ip_counts(addr)
        if len(self._ip_cache) > 65536:
            self._ip_cache.clear()
        self._ip_cache[key] = ok
        return ok

    def _accept(self, name, buf, match):
        if name == 'email':
            before = buf[max(0, match.start() - 13):match.start()].lower()
            return not before.endswith(_MSGID_PREFIXES)
        if name == 'ipv4':
            return self._valid_ip(match.group(0), 4)
        if name == 'ipv6':
            raw = match.group(0)
            if raw.count(b':') < 2 or raw.endswith(b':') and not raw.endswith(b'::'):
                return False
            return self._valid_ip(raw, 6)
        return True

    def count(self, buf, start=0, end=None):
        """{pattern: number of lines of buf[start:end] with at least one match}.
        ``buf[start:end]`` must hold whole lines."""
        if end is None:
            end = len(buf)
        out = dict((n, 0) for n in self.names)
        if end <= start:
            return out
        nfind = buf.find
        for name in self.names:
            regex = self.regexes[name]
            search = regex.search
            pos = start
            lines = 0
            while pos < end:
                match = search(buf, pos, end)
                if match is None:
                    break
                if self._accept(name, buf, match):
                    lines += 1
                    nl = nfind(b'\n', match.end(), end)
                    if nl == -1:
                        break
                    pos = nl + 1
                else:
                    pos = match.start() + 1
            out[name] = lines
        return out


# ------------------------------------------------------------------------------ timestamps
_MONTHS = dict((m.encode('ascii'), i) for i, m in enumerate(
    ('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'), 1))
_RFC3339 = re.compile(
    rb'(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,]\d+)?(Z|[+-]\d{2}:?\d{2})?')
_SYSLOG = re.compile(rb'([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})\b')
_TAI64N = re.compile(rb'@(4000000[0-9a-fA-F]{9})[0-9a-fA-F]{8}')
_TAI_OFFSET = 2 ** 62 + 10


def line_timestamp(line, now=None):
    """Seconds since the epoch of a log line's leading timestamp, or None.

    Knows RFC 3339 (rsyslog on bookworm, journalctl -o short-iso, Horde), the traditional
    syslog ``Mon dd hh:mm:ss`` (local time, year guessed: never more than a day ahead of
    ``now``) and multilog's TAI64N ``@4000...``."""
    head = line[:40]
    match = _TAI64N.match(head)
    if match:
        return float(int(match.group(1), 16) - _TAI_OFFSET)
    match = _RFC3339.match(head)
    if match:
        try:
            fields = [int(match.group(i)) for i in range(1, 7)]
            stamp = calendar.timegm((fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], 0, 0, 0))
        except (ValueError, OverflowError):
            return None
        zone = match.group(7)
        if zone is None:
            return float(time.mktime((fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], 0, 0, -1)))
        if zone != b'Z':
            sign = -1 if zone[:1] == b'-' else 1
            digits = zone[1:].replace(b':', b'')
            stamp -= sign * (int(digits[:2]) * 3600 + int(digits[2:4]) * 60)
        return float(stamp)
    match = _SYSLOG.match(head)
    if match:
        month = _MONTHS.get(match.group(1))
        if month is None:
            return None
        now = time.time() if now is None else now
        year = time.localtime(now).tm_year
        parts = (int(match.group(2)), int(match.group(3)), int(match.group(4)), int(match.group(5)))
        for guess in (year, year - 1):
            try:
                stamp = time.mktime((guess, month, parts[0], parts[1], parts[2], parts[3], 0, 0, -1))
            except (ValueError, OverflowError):
                return None
            if stamp <= now + 86400:
                return float(stamp)
        return None
    return None


class Window(object):
    """Which lines of a chronological log are recent: those from the first line stamped at or
    after ``since`` on. Lines before any stamped line are held back; they count only if the
    whole source turns out to have no timestamp at all (then the file's mtime decided)."""

    def __init__(self, since, now=None):
        self.since = since
        self.now = time.time() if now is None else now
        self.started = since is None
        self.stamped = False
        self.first_recent = False

    def _stamp_at(self, buf, pos, end):
        nl = buf.find(b'\n', pos, end)
        return line_timestamp(bytes(buf[pos:(end if nl == -1 else nl)]), self.now)

    def _last_stamp(self, buf, start, end, tries=8):
        """Timestamp of one of the last ``tries`` lines of buf[start:end] (from the end)."""
        pos = end
        for _i in range(tries):
            if pos <= start:
                return None
            ls = buf.rfind(b'\n', start, pos - 1) + 1
            if ls <= 0:
                ls = start
            stamp = self._stamp_at(buf, ls, pos)
            if stamp is not None:
                return stamp
            pos = ls
        return None

    def split(self, buf, start, end):
        """(held_end, count_from): buf[start:held_end] are held-back lines (no stamp seen
        yet), buf[count_from:end] are in the window; lines between are too old."""
        if self.started:
            return start, start
        if self.stamped:
            last = self._last_stamp(buf, start, end)
            if last is not None and last < self.since:
                return start, end  # the whole region is older than the window
        pos = start
        held_end = start
        while pos < end:
            nl = buf.find(b'\n', pos, end)
            line_end = end if nl == -1 else nl + 1
            stamp = self._stamp_at(buf, pos, line_end)
            if stamp is not None:
                if not self.stamped:
                    self.stamped = True
                    self.first_recent = stamp >= self.since
                    held_end = pos
                if stamp >= self.since:
                    self.started = True
                    return held_end, pos
            elif not self.stamped:
                held_end = line_end
            pos = line_end
        return held_end, end


def merge(total, counts):
    for name, value in counts.items():
        total[name] = total.get(name, 0) + value
    return total


def scan_regions(regions, counter, window=None):
    """Count over ``regions`` ((buf, start, end, _hits) as store_logs.iter_regions yields).
    Returns (counts per pattern, lines in the window)."""
    totals = dict((n, 0) for n in counter.names)
    held = dict((n, 0) for n in counter.names)
    lines = 0
    held_lines = 0
    for region in regions:
        buf, start, end = region[0], region[1], region[2]
        if window is None:
            merge(totals, counter.count(buf, start, end))
            lines += buf.count(b'\n', start, end) + (1 if end > start and buf[end - 1:end] != b'\n' else 0)
            continue
        was_stamped = window.stamped
        held_end, count_from = window.split(buf, start, end)
        if held_end > start:
            merge(held, counter.count(buf, start, held_end))
            held_lines += buf.count(b'\n', start, held_end)
        if window.stamped and not was_stamped:
            if window.first_recent:  # unstamped head of a file whose first entry is recent
                merge(totals, held)
                lines += held_lines
            held = dict((n, 0) for n in counter.names)  # else: continuation of old entries
            held_lines = 0
        if count_from < end:
            merge(totals, counter.count(buf, count_from, end))
            lines += buf.count(b'\n', count_from, end) + (1 if buf[end - 1:end] != b'\n' else 0)
    if window is not None and not window.stamped:
        merge(totals, held)
        lines += held_lines
    return totals, lines
