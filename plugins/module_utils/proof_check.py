# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The independent check after an erasure: a second, deliberately broad search of the logs.

The proof of an erasure used to be the matcher (``Subject.regex``, ``LineMatcher``) run
again: a line the matcher misses is never erased *and* certified clean. This module searches
the same log files and the journal again with a method that shares no code with the matcher
and errs the other way: it reports lines that *may* name the subject, as candidates for a
person to review. It never keeps, returns or logs a line; only counts and file names (or
their hashes) leave it.

Per line (a log file line, or a journal entry's field value):

1. forms: the raw line, and the line with its escapes decoded (rsyslog's ``#ooo``, C's
   ``\\xHH`` and ``\\ooo``, JSON's ``\\u00HH``, percent-encoding ``%HH`` (twice, for
   ``%2540``), HTML's ``&#NN;`` and ``&#xHH;``); each form is read as UTF-8, NFKC-normalised
   and case-folded. A line is a candidate when one of its forms is.
2. tokens: an identifier occurs "as a token" when it is neither preceded nor followed by a
   letter or digit (``ann`` in ``ann-marie``, ``"ann"``, ``.ann.`` and ``/home/ann/``, not in
   ``hartmann`` or ``ann1``).
3. rules:

   * an address: in one run of non-space characters (an address is written without spaces,
     whatever its encoding) the domain occurs as a domain token (its A-label or U-label, also
     as the last labels of a subdomain; not followed by another label or a letter) and, once
     every host name that ends in the domain is blanked out of the run, the local part occurs
     as a token (``ANN@example.com``, ``"ann"@example.com``, ``example.com-ann@example.com``,
     ``ann%40example.com``, ``ann+x@``, ``ann-marie@`` and ``ann@mail.example.com`` are
     candidates; ``hartmann@example.com`` and the host name ``ann.example.com`` are not);
   * a login: the login occurs as a token anywhere in the line;
   * an IP address: a token that looks like one (dotted quads, also zero-padded; IPv6 in any
     spelling: upper case, zeros written out, ``::ffff:`` IPv4-mapped, in brackets, with a zone
     index) parses to the same address (an IPv4 address also equals its IPv4-mapped and
     IPv4-compatible IPv6 forms), or a reverse-DNS or host-name spelling of it
     (``4.2.0.192.in-addr.arpa``, ``192-0-2-4.pool.example.net``, the ``ip6.arpa`` nibbles);
   * a customer account (domain): the domain occurs as a domain token.

Speed: the whole log is read once more, in big chunks (plain, gzip, bzip2 and xz files; the
journal through ``journalctl -o export``). Each chunk's lower-case copy is searched for what
every candidate of a rule must hold, and only the lines around those hits go through the rule:
a local part or a login where it may be a token (a literal-first regex), and for an address
also the domain somewhere in the line (its A-label, U-label, the U-label's longest ASCII run,
the domain with its dots as ``%2e``); a customer domain in those forms; for an IP address each
spelling that has a fixed text (the dotted, zero-padded, reversed and dashed quads, the high
group of the IPv4-mapped hexadecimal form, for IPv6 its rarest group of the first six followed
by ``:``, the ``ip6.arpa`` nibbles), and only the tokens that hold one are parsed.

Standard library only; runs on the target host as root. Only the *matching* is its own: the
files are read with the log engine's readers (``store_logs``: each file opened once through
the handle checked at discovery, :meth:`LogFile.open`, and decompressed by the engine's chunk
producers into regions of whole lines) and the journal's export stream with the journal
store's parser (``store_journal_rewrite.iter_entries``).
"""

from __future__ import annotations

import bisect
import ipaddress
import lzma
import os
import re
import time
import unicodedata
import zlib

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fsops
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import safe_error
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.log_engine import fork_map, iter_file_chunks, iter_regions
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_journal_rewrite import field_value, iter_entries
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_logs import RefusedFile, bundle_name, path_hash, refusal

CHUNK = 8 * 1024 * 1024
JOURNAL_BATCH = 4 * 1024 * 1024

# ------------------------------------------------------------------------------ decoding
_ESCAPE_RE = re.compile(
    rb'#([0-3][0-7][0-7])'              # rsyslog control character escape
    rb'|\\x([0-9A-Fa-f]{2})'            # C / systemd
    rb'|\\u00([0-9A-Fa-f]{2})'          # JSON
    rb'|\\([0-3][0-7][0-7])'            # C octal
    rb'|%([0-9A-Fa-f]{2})'              # URL (percent) encoding
    rb'|&#([0-9]{1,3});'                # HTML decimal entity
    rb'|&#[xX]([0-9A-Fa-f]{1,2});'      # HTML hexadecimal entity
)
_BASES = (8, 16, 16, 8, 16, 10, 16)


def _unescape(match):
    for index, base in enumerate(_BASES, 1):
        value = match.group(index)
        if value is not None:
            number = int(value, base)
            return bytes((number,)) if number < 256 else match.group(0)
    return match.group(0)  # pragma: no cover - one group always matches


def decode_escapes(data):
    """``data`` with its escapes decoded, at most three rounds (``%2540`` is ``@``)."""
    for _round in range(3):
        if b'#' not in data and b'\\' not in data and b'%' not in data and b'&#' not in data:
            break
        new = _ESCAPE_RE.sub(_unescape, data)
        if new == data:
            break
        data = new
    return data


def fold(data):
    """Bytes as NFKC-normalised, case-folded text (invalid UTF-8 replaced)."""
    return unicodedata.normalize('NFKC', data.decode('utf-8', 'replace')).casefold()


def line_forms(line):
    """The folded forms of a line that the rules look at: raw and decoded."""
    raw = fold(line)
    decoded = decode_escapes(line)
    if decoded == line:
        return (raw,)
    other = fold(decoded)
    return (raw,) if other == raw else (raw, other)


# ------------------------------------------------------------------------------ identifiers
_NOT_LETTER_DIGIT_BEFORE = r'(?<![^\W_])'
_NOT_LETTER_DIGIT_AFTER = r'(?![^\W_])'


def _token_re(text):
    return re.compile(_NOT_LETTER_DIGIT_BEFORE + re.escape(text) + _NOT_LETTER_DIGIT_AFTER)


def _domain_token_re(domain):
    """The domain as a token: not preceded by a letter, digit, '_' or '-' (a dot is fine: a
    subdomain), not followed by a letter, digit or '_' nor by another label."""
    return re.compile(r'(?<![\w-])' + re.escape(domain) + r'(?!\w)(?!\.[^\W_])')


def _host_re(domain):
    """A host name that ends in the domain (subdomain labels included), to blank out."""
    return re.compile(r'(?<![\w.-])(?:[\w-]+\.)*' + re.escape(domain) + r'(?!\w)(?!\.[^\W_])')


def _fold_text(text):
    return unicodedata.normalize('NFKC', text).casefold()


def domain_forms(domain):
    """(A-label, U-label) of a domain, folded (one element when they are the same)."""
    dom = _fold_text(domain).rstrip('.')
    forms = [dom]
    try:
        if dom.startswith('xn--') or '.xn--' in dom:
            forms.append(_fold_text(dom.encode('ascii').decode('idna')))
        elif any(ord(ch) > 127 for ch in dom):
            forms.append(dom.encode('idna').decode('ascii').lower())
    except (UnicodeError, ValueError):
        pass
    out = []
    for form in forms:
        if form and form not in out:
            out.append(form)
    return tuple(out)


def _text_needles(text):
    """Byte needles (lower-case) for a folded text: its UTF-8 bytes and, when it has non-ASCII
    letters (which bytes.lower() does not fold), its longest ASCII run of 4 or more too."""
    raw = text.encode('utf-8')
    out = [raw]
    if any(ch > 127 for ch in raw):
        runs = re.findall(rb'[\x00-\x7f]+', raw)
        longest = max(runs, key=len) if runs else b''
        if len(longest) >= 4:
            out.append(longest)
    return out


def _domain_needles(forms):
    """Byte needles (lower-case) such that a line holding the domain holds one of them."""
    out = []
    for form in forms:
        out += _text_needles(form)
        if '.' in form:
            out += _text_needles(form.replace('.', '%2e'))    # dots percent-encoded too
    return out


def _parse_quad(parts):
    """An IPv4Address from four decimal strings (leading zeros allowed), or None."""
    values = []
    for part in parts:
        number = int(part)
        if number > 255:
            return None
        values.append(number)
    return ipaddress.IPv4Address('.'.join(str(v) for v in values))


def _canonical(addr):
    """The address an IPv6 spelling stands for: IPv4-mapped and IPv4-compatible addresses as
    their IPv4 address."""
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return addr.ipv4_mapped
        packed = addr.packed
        if packed[:12] == b'\x00' * 12 and int.from_bytes(packed[12:], 'big') > 1:
            return ipaddress.IPv4Address(packed[12:])
    return addr


_QUAD_RE = re.compile(r'(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?!\d)(?!\.\d)(\.[^\W\d_])?')
_DASHED_RE = re.compile(r'(?<!\d)(?<!\d-)(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})(?!\d)(?!-\d)')
_IPV6_RE = re.compile(r'[0-9a-f:.]*:[0-9a-f:.]*')
_NIBBLES_RE = re.compile(r'(?<![\w.])((?:[0-9a-f]\.){32})ip6\.arpa(?!\w)')


def ips_in(text, pieces=None, quads=True):
    """Every address a line (lower-case text) spells, canonical (IPv4-mapped as IPv4). With
    ``pieces``, only the tokens that hold one of these texts are parsed (each spelling of the
    addresses looked for holds one). ``quads=False`` skips the IPv4 spellings (dotted and
    dashed quads), for a search of IPv6 addresses only."""
    found = set()

    def wanted(token):
        return pieces is None or any(piece in token for piece in pieces)

    if quads and '.' in text:
        for match in _QUAD_RE.finditer(text):
            parts = match.group(1, 2, 3, 4)
            if not wanted(match.group(0)):
                continue
            addr = _parse_quad(parts)
            if addr is not None:
                found.add(addr)
            if match.group(5):
                # followed by a DNS label: maybe a reverse-DNS or DNSBL name (d.c.b.a.in-addr.arpa)
                rev = _parse_quad(parts[::-1])
                if rev is not None:
                    found.add(rev)
    if 'ip6.arpa' in text:
        for match in _NIBBLES_RE.finditer(text):
            if wanted(match.group(1)):
                digits = match.group(1).replace('.', '')[::-1]
                found.add(_canonical(ipaddress.IPv6Address(int(digits, 16))))
    if quads and '-' in text:
        for match in _DASHED_RE.finditer(text):
            if not wanted(match.group(0)):
                continue
            parts = match.group(1, 2, 3, 4)
            for quad in (parts, parts[::-1]):
                addr = _parse_quad(quad)
                if addr is not None:
                    found.add(addr)
    if ':' in text:
        for match in _IPV6_RE.finditer(text):
            run = match.group(0).rstrip('.')
            if run.count(':') < 2 or not wanted(run):
                continue
            # a separator glued to the address ('ip:2001:db8::1', '2001:db8::1: text')
            if run.endswith(':') and not run.endswith('::'):
                run = run[:-1]
            if run.startswith(':') and not run.startswith('::'):
                run = run[1:]
            try:
                addr = ipaddress.IPv6Address(run)
            except ValueError:
                continue
            found.add(_canonical(addr))
    return found


def _ipv4_needles(addr):
    parts = addr.packed
    dec = [str(p) for p in parts]
    out = [
        '.'.join(dec),
        '.'.join('%03d' % p for p in parts),
        '.'.join(reversed(dec)),
        '-'.join(dec),
        '-'.join(reversed(dec)),
    ]
    # the IPv4-mapped IPv6 address in hexadecimal (::ffff:c000:204): its high group, with or
    # without leading zeros (the parser decides on the rest)
    out.append('%x:' % int.from_bytes(parts[:2], 'big'))
    return [n.encode('ascii') for n in out]


def _ipv6_needles(addr):
    groups = ['%x' % int(g, 16) for g in addr.exploded.split(':')]
    # each of the first six groups is in every spelling, followed by ':' (the last two may be
    # written as a dotted quad), without or with leading zeros: so the group without them. The
    # rarest: a long one, as far right as possible (the first groups are shared by whole
    # networks, 2001: by a good part of the Internet)
    ranked = sorted((len(g) >= 3, i, len(g)) for i, g in enumerate(groups[:6]) if g != '0')
    out = [groups[ranked[-1][1]] + ':'] if ranked else []
    out.append('.'.join(reversed(addr.exploded.replace(':', ''))))
    return [n.encode('ascii') for n in out]


def _token_finders(text):
    """Finders over lower-case bytes for ``text`` (folded) where it may be a token: a bytes
    regex that finds it not followed by an ASCII letter or digit, not preceded by an ASCII
    letter unless that letter ends an escape (a digit may end one too: ``#011``), literal
    first so that the regex engine searches for the literal. A text with non-ASCII letters
    (which bytes.lower() does not fold): its bytes and its longest ASCII run of 4 or more, as
    literals."""
    raw = text.encode('utf-8')
    if any(ch > 127 for ch in raw):
        return [_literal(n) for n in _text_needles(text)]
    escaped = re.escape(raw)
    # a letter before it may be the last hex digit of an escape (login%3dann, \\x2cann, \\u002cann)
    return [re.compile(escaped + rb'(?![a-z0-9])(?:(?<![a-z]' + escaped + rb')|(?<=[%x0][0-9a-f][a-f]' + escaped + rb'))')]


def _literal(needle):
    """A literal finder: bytes, searched with bytes.find (faster than a regex for a literal)."""
    return bytes(needle)


class _Rule(object):
    """One identifier's rule: where a line may hold it (``finders``, regexes over the block's
    lower-case copy; ``within``, texts of which the line's lower-case copy must hold one), and the
    rule itself (``check``, on the line's bytes)."""

    __slots__ = ('finders', 'within', 'check')

    def __init__(self, finders, within, check):
        self.finders = finders
        self.within = within
        self.check = check


class BroadCheck(object):
    """The independent, broad line check for one subject. Built from a validated subject's
    identifiers only (its addresses, logins, IPs and domain); none of the subject's matching
    code is used."""

    def __init__(self, addresses=(), logins=(), ips=(), domain=None):
        self.rules = []
        self.pieces = set()     # folded texts whose presence in a file name hides the name
        for address in list(addresses) + [x for x in logins if '@' in x]:
            local, dom = address.rsplit('@', 1)
            local = _fold_text(local)
            forms = domain_forms(dom)
            self.rules.append(_Rule(_token_finders(local), _domain_needles(forms),
                                    self._address_check(_token_re(local), [(f, _host_re(f)) for f in forms])))
            self.pieces.update((local,) + forms)
        for login in logins:
            if '@' in login:
                continue
            folded = _fold_text(login)
            self.rules.append(_Rule(_token_finders(folded), (), self._login_check(_token_re(folded))))
            self.pieces.add(folded)
        if domain:
            forms = domain_forms(domain)
            self.rules.append(_Rule([_literal(n) for n in _domain_needles(forms)], (),
                                    self._domain_check([(f, _domain_token_re(f)) for f in forms])))
            self.pieces.update(forms)
        self.ips = set()
        ip_needles = []
        self.ip_pieces = ()
        for value in ips:
            addr = _canonical(ipaddress.ip_address(value))
            self.ips.add(addr)
            ip_needles += _ipv4_needles(addr) if addr.version == 4 else _ipv6_needles(addr)
        self.has_ipv4 = any(addr.version == 4 for addr in self.ips)
        if self.ips:
            self.ip_pieces = tuple(sorted(set(n.decode('ascii') for n in ip_needles)))
            self.rules.append(_Rule([_literal(n) for n in sorted(set(ip_needles))], (), self._ip_check))
            self.pieces.update(self.ip_pieces)

    @classmethod
    def from_subject(cls, subject):
        """From a :class:`Subject`'s validated identifier lists (data only)."""
        return cls(addresses=subject.addresses, logins=subject.logins, ips=subject.ips, domain=subject.domain)

    # -------------------------------------------------------------- the rules
    @staticmethod
    def _address_check(local_re, hosts):
        def check(line):
            for text in line_forms(line):
                for word in text.split():
                    for form, host_re in hosts:
                        if form not in word:
                            continue
                        blanked = host_re.sub(' ', word)
                        if blanked != word and local_re.search(blanked):
                            return True
            return False
        return check

    @staticmethod
    def _login_check(login_re):
        def check(line):
            return any(login_re.search(text) for text in line_forms(line))
        return check

    @staticmethod
    def _domain_check(domains):
        def check(line):
            return any(form in text and regex.search(text) for text in line_forms(line) for form, regex in domains)
        return check

    def _ip_check(self, line):
        # IP addresses are ASCII: lower case is enough, no Unicode folding
        forms = [line.lower().decode('latin-1')]
        decoded = decode_escapes(line)
        if decoded != line:
            forms.append(decoded.lower().decode('latin-1'))
        quads = self.has_ipv4
        return any(not self.ips.isdisjoint(ips_in(text, self.ip_pieces, quads)) for text in forms)

    # -------------------------------------------------------------- one line
    def mentioned_in(self, folded):
        """True when a piece of an identifier occurs anywhere in a folded text (a plain
        substring test, for file names)."""
        return any(piece and piece in folded for piece in self.pieces)

    def is_candidate(self, line):
        """True when the line (bytes) may name the subject."""
        return any(rule.check(line) for rule in self.rules)

    # -------------------------------------------------------------- many lines
    def candidate_lines(self, block):
        """Sorted start offsets of the candidate lines of ``block`` (bytes of whole lines)."""
        if not self.rules:
            return []
        hay = block.lower()
        size = len(hay)
        found = set()
        rfind = hay.rfind
        find = hay.find
        for rule in self.rules:
            checked = set()
            within = rule.within
            for finder in rule.finders:
                if isinstance(finder, bytes):
                    pos = find(finder)
                    search = None
                else:
                    search = finder.search
                    match = search(hay)
                    pos = -1 if match is None else match.start()
                while pos != -1:
                    start = rfind(b'\n', 0, pos) + 1
                    end = find(b'\n', pos)
                    if end == -1:
                        end = size
                    if start not in found and start not in checked:
                        checked.add(start)
                        if (not within or any(n in hay[start:end] for n in within)) and rule.check(block[start:end]):
                            found.add(start)
                    if search is None:
                        pos = find(finder, end)
                    else:
                        match = search(hay, end)
                        pos = -1 if match is None else match.start()
        return sorted(found)

    def count(self, block):
        return len(self.candidate_lines(block))


# ------------------------------------------------------------------------------ reading
def scan_file(source, check, chunk_size=CHUNK):
    """(candidate lines, readable to the end?) of one log file (plain or compressed).
    ``source``: a :class:`store_logs.LogFile` found by the store (reopened through the handles
    checked at discovery) or a path (opened with the trusted-path rules). A file that can no
    longer be opened as found raises OSError."""
    if isinstance(source, str):
        fd, _st = fsops.open_path(os.path.abspath(source))
        compression = 'auto'
    else:
        try:
            fd, _st = source.open()
        except OSError as err:
            raise RefusedFile(refusal(err))
        compression = source.compression
    chunks = iter_file_chunks(fd, chunk_size, compression)
    count = 0
    try:
        for buf, start, end, _hits in iter_regions(chunks):
            count += check.count(bytes(memoryview(buf)[start:end]))
    except (OSError, EOFError, zlib.error, lzma.LZMAError):
        return count, False
    finally:
        chunks.close()
        os.close(fd)
    return count, True


def iter_export_values(handle, chunk_size=1024 * 1024):
    """(entry number, field value) of a journal export stream (``journalctl -o export``),
    parsed by the journal store's parser. Field names are not returned."""
    for number, fields in enumerate(iter_entries(handle, chunk_size)):
        for name, record in fields:
            yield number, field_value(name, record)


def scan_journal(handle, check, batch=JOURNAL_BATCH):
    """Number of journal entries one of whose field values is a candidate."""
    marked = set()
    parts = []
    owners = []     # (offset, entry) where each value starts
    size = 0

    def flush():
        block = b''.join(parts)
        offsets = [o for o, _e in owners]
        for start in check.candidate_lines(block):
            marked.add(owners[bisect.bisect_right(offsets, start) - 1][1])

    for entry, value in iter_export_values(handle):
        value = value.replace(b'\n', b' ') + b'\n'
        owners.append((size, entry))
        parts.append(value)
        size += len(value)
        if size >= batch:
            flush()
            parts, owners, size = [], [], 0
    if parts:
        flush()
    return len(marked)


# ------------------------------------------------------------------------------ the check
def file_label(logfile, check, subject=None):
    """(name, hashed): the path when it is a default Debian location with harmless components
    (store_logs.bundle_name's rule, which also screens it with the subject's matcher) and no
    piece of an identifier (a local part, login, domain, IP spelling) occurs in it, folded, nor
    does this check find a candidate in it; otherwise a hash of the path (store_logs.path_hash:
    the first 32 hex digits of its SHA-256)."""
    raw = os.fsencode(logfile.path)
    folded = fold(raw)
    if bundle_name(logfile, subject).startswith('other/') or check.mentioned_in(folded) \
            or check.is_candidate(raw):
        return path_hash(logfile.path), True
    return logfile.path, False


def check_logs(store, check, subject=None):
    """Candidates in the files of a LogStore. Returns a dict (lines, files, unreadable)."""
    files = store.files()
    weights = [f.size * (6 if f.compression else 1) for f in files]

    def one(logfile):
        try:
            count, whole = scan_file(logfile, check)
        except OSError:
            return 0, False
        return count, whole

    outcomes = fork_map(one, files, store.options['workers'], weights)
    out = {'lines': 0, 'files': [], 'unreadable': 0}
    for logfile, (count, whole) in zip(files, outcomes):
        if not whole:
            out['unreadable'] += 1
        if count:
            name, hashed = file_label(logfile, check, subject)
            out['lines'] += count
            out['files'].append({'category': logfile.category, 'name': name, 'hashed': hashed,
                                 'candidates': count})
    return out


def check_journal(store, check):
    """Candidate entries in the journal, read as the JournalStore reads it (same journalctl,
    same arguments), every field value (``-o export``)."""
    ok, _why = store.available()
    if not ok:
        return 0
    with store.runner.stream(store.argv(output='export')) as handle:
        return scan_journal(handle, check)


def run_check(subject, stores, clock=time.monotonic):
    """The independent check over the given store instances (a LogStore and/or a
    JournalStore, built with the request's options). Returns the result dict::

        {ran, candidates, lines, journal, files: [{category, name, hashed, candidates}],
         unreadable, seconds, error?}

    ``candidates`` is ``lines`` (log file lines) plus ``journal`` (journal entries). Never raises
    for a store that fails: its error (no personal data) is in ``error``."""
    began = clock()
    check = BroadCheck.from_subject(subject)
    out = {'ran': False, 'candidates': 0, 'lines': 0, 'journal': 0, 'files': [], 'unreadable': 0}
    errors = []
    for store in stores:
        try:
            if store.name == 'logs':
                found = check_logs(store, check, subject)
                out['lines'] += found['lines']
                out['files'] += found['files']
                out['unreadable'] += found['unreadable']
            elif store.name == 'journal':
                out['journal'] += check_journal(store, check)
            else:
                continue
            out['ran'] = True
        except Exception as err:  # pylint: disable=broad-except
            msg = safe_error(err)
            errors.append(msg if msg.startswith(store.name + ':') else '%s: %s' % (store.name, msg))
    out['candidates'] = out['lines'] + out['journal']
    out['seconds'] = round(clock() - began, 3)
    if errors:
        out['error'] = '; '.join(errors)
    return out
