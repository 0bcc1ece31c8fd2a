# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The data subject of a search, export or erasure, and how to recognise it in bytes.

A :class:`Subject` holds normalised identifiers (addresses, login names, IP addresses, or a
whole mail domain for a customer account). It is built only through
:meth:`Subject.from_params`, which validates every value and raises :class:`SubjectError`
before anything is touched. Error messages name the field and position and say why a
value is refused; they never contain the value.

Matching rules (see :meth:`Subject.regex`; for operators: docs/erasure.md, "Matching rules"):

* an address matches only as a whole address: not preceded by ``[A-Za-z0-9._%+-]`` (so
  ``joann@example.com`` is not ``ann@example.com``) and not followed by a domain character
  (``ann@example.com.evil`` is not ``ann@example.com``; a final dot that ends a sentence
  is allowed); an rsyslog ``#ooo`` escape or a URL percent-escape of a separator before it
  (``mailto%3Aann%40...``) is a boundary; the domain is case-insensitive and found in its
  A-label (punycode) and U-label (UTF-8) forms; the local part without ASCII letter case
  unless ``local_part_case`` is ``sensitive`` (:attr:`Subject.case_sensitive_local`);
* an address is also found percent-encoded (``ann%40example.com``, ``%2B`` tags, encoded
  UTF-8), with a quoted local part (``"ann"@``, ``%22ann%22%40``) and, given qmail's
  control/virtualdomains, as qmail-send's delivery name ``<prefix>-ann@example.com``;
* with ``plus_separator`` set, ``ann+tag@example.com`` counts as ``ann@example.com``;
* kind ``domain`` matches every address ``<anything>@domain``;
* login names match as whole tokens, exactly; IP addresses as whole tokens in every textual
  form of the same address (IPv6 spellings, IPv4-mapped forms both ways).

:meth:`Subject.needles` gives literal byte strings for a fast prefilter: every match of the
regex contains at least one needle (in ``chunk.lower()`` when :attr:`Subject.fold_needles`
is true). Scanners search big chunks for the needles with ``bytes.find`` and run the regex
only on the lines that contain one.
"""

from __future__ import annotations

import hashlib
import hmac as _hmac
import ipaddress
import json
import re
import unicodedata

__all__ = ['Subject', 'SubjectError', 'MAX_ADDRESS', 'MAX_LOCAL', 'MAX_LOGIN', 'MAX_IDENTIFIERS']

MAX_ADDRESS = 254
MAX_LOCAL = 64
MAX_LOGIN = 254
MAX_DOMAIN = 253
MAX_LABEL = 63
MAX_IDENTIFIERS = 100

PLUS_SEPARATORS = ('+', '-', '=')
LOCAL_PART_CASES = ('insensitive', 'sensitive')

# characters that may stand before an address without making it another address
_PRE = rb'A-Za-z0-9._%+\x80-\xff-'
# local-part characters of an arbitrary address (kind 'domain', plus tags)
_LOCAL_ANY = rb"A-Za-z0-9!#$%&'*/=?^_`{|}~.\x80-\xff+-"
# what may not follow an address or a domain (a dot is allowed when no label follows; a
# percent-escape of '-', of a '.' before a label, or of a UTF-8 byte continues the domain)
_POST = (rb'(?![A-Za-z0-9_\x80-\xff-])(?!\.[A-Za-z0-9_\x80-\xff-])'
         rb'(?!%2[Dd])(?!%2[Ee](?:[A-Za-z0-9_\x80-\xff-]|%[89A-Fa-f]))(?!%[89A-Fa-f][0-9A-Fa-f])')

# rsyslog writes control characters as '#' and three octal digits ('#011' for a tab, which
# Dovecot's auth debug lines use between fields): such an escape ends the token before it
_ESCAPED = rb'(?<=#[0-3][0-7][0-7])'
# URLs and web logs percent-encode: an escape of a byte that cannot stand in an address
# ('%3A' in 'mailto%3Aann%40example.com', '%20', '%22', '%3C', ...) ends the token before it
# like a plain separator; an escape of a letter, digit, one of ._%+- or a UTF-8 byte glues
# like the character itself ('foo%2Bann%40...' is foo+ann@, another address)
_PCT_END = rb'%(?:[01][0-9A-Fa-f]|2[0-46-9AaCcFf]|3[A-Fa-f]|40|5[B-Eb-e]|60|7[B-Fb-f])'
# before a login name '@' glues too ('x%40ann' is a domain, not the login)
_PCT_LOGIN_PRE = rb'%(?:[01][0-9A-Fa-f]|2[0-46-9AaCcFf]|3[A-Fa-f]|5[B-Eb-e]|60|7[B-Fb-f])'
# after a login name: the escape of a byte that cannot continue the name ends it
_PCT_LOGIN_END = rb'(?:[01][0-9A-Fa-f]|2[0-46-9AaCcFf]|3[A-Ca-cEeFf]|5[B-Eb-e]|60|7[B-Fb-f])'
# what may not follow a login name token
_LOGIN_POST = (rb'(?![A-Za-z0-9_+=@\x80-\xff-])(?!%(?!' + _PCT_LOGIN_END + rb'))'
               rb'(?!\.[A-Za-z0-9_\x80-\xff-])')
# what may not follow an IPv6 address written in hex groups, or in dotted IPv4 form
_IP6_POST = rb'(?![0-9A-Fa-f:])(?!\.[0-9])'
_IP4_POST = rb'(?![0-9])(?!\.[0-9])'

# bytes of a local part that URL encoders write as '%XX' (the rest of what a local part of a
# subject may hold is unreserved in URLs and stays literal)
_UNRESERVED = frozenset(b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-~')

# byte values that, right before an anchored needle, rule a match out (the prefilter's
# lookbehinds); no digits, which may end an rsyslog escape, and no hex letters, which may end
# a percent-escape: the regex decides there
_HEX_LETTERS = frozenset(b'ABCDEFabcdef')
_PRE_SET = (frozenset(b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._%+-') | frozenset(range(0x80, 0x100))) - _HEX_LETTERS
_ALL_BYTES = frozenset(range(256))
_LOGIN_PRE_SET = _PRE_SET | frozenset(b'@')
_LOGIN_AFTER_SET = frozenset(b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+=@-') | frozenset(range(0x80, 0x100))
_IP4_PRE_SET = frozenset(b'.')
# IPv6 needles longer than this many spellings (leading zeros) are cut shorter
_MAX_SPELLINGS = 8

_LABEL_RE = re.compile(r'^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$')
_WILDCARDS = frozenset('*?')
_PATH_SEPARATORS = frozenset('/\\')
# regex / shell / glob metacharacters that never occur in a legitimate identifier here
_METACHARS = frozenset('[](){}|^$<>"`;,:!#&~\'')
_LOCAL_EXTRA = frozenset('._+-=')
_LOGIN_EXTRA = frozenset('._-')


class SubjectError(ValueError):
    """An identifier is invalid. The message never contains the value."""


def _where(field, index):
    return field if index is None else '%s[%d]' % (field, index)


def _common_checks(value, field, index, maximum):
    """Checks shared by every kind of identifier; returns the value unchanged."""
    where = _where(field, index)
    if not isinstance(value, str):
        raise SubjectError('%s: must be a string' % where)
    if value == '':
        raise SubjectError('%s: is empty' % where)
    if len(value) > maximum:
        raise SubjectError('%s: is longer than %d characters' % (where, maximum))
    for ch in value:
        if ch == '\x00':
            raise SubjectError('%s: contains a NUL character' % where)
        cat = unicodedata.category(ch)
        if cat.startswith('C'):
            raise SubjectError('%s: contains a control or format character' % where)
        if cat.startswith('Z') or ch.isspace():
            raise SubjectError('%s: contains whitespace' % where)
        # the messages name characters in words: Ansible's no_log masks every occurrence of
        # the refused value in the output, so a literal '*' or '/' would be masked too
        if ch in _WILDCARDS:
            raise SubjectError('%s: contains a wildcard character (asterisk or question mark)' % where)
        if ch in _PATH_SEPARATORS:
            raise SubjectError('%s: contains a path separator (slash or backslash)' % where)
    if '..' in value:
        raise SubjectError('%s: contains two dots in a row' % where)
    if value.startswith('-'):
        raise SubjectError('%s: starts with a dash (would read as a command option)' % where)
    return value


def _check_chars(text, allowed_extra, where, part):
    for ch in text:
        if ch in _METACHARS:
            raise SubjectError('%s: the %s contains a regex or shell metacharacter' % (where, part))
        if ch.isalnum() or ch in allowed_extra:
            continue
        raise SubjectError('%s: the %s contains a character that is not allowed '
                           '(allowed: letters, digits and %s)' % (where, part, ' '.join(sorted(allowed_extra))))


def normalise_domain(value, where):
    """(A-label form, U-label form) of a domain, lower-cased. Raises SubjectError."""
    dom = value.rstrip('.') if value.endswith('.') and not value.endswith('..') else value
    if dom == '':
        raise SubjectError('%s: the domain is empty' % where)
    if len(dom) > MAX_DOMAIN:
        raise SubjectError('%s: the domain is longer than %d characters' % (where, MAX_DOMAIN))
    for ch in dom:
        if ch in _METACHARS or ch in '@%+=_':
            raise SubjectError('%s: the domain contains a character that is not allowed' % where)
    dom = dom.lower()
    if dom.startswith('.') or '..' in dom:
        raise SubjectError('%s: the domain has an empty label' % where)
    try:
        if all(ord(ch) < 128 for ch in dom):
            alabel = dom
            ulabel = dom.encode('ascii').decode('idna').lower() if 'xn--' in dom else dom
        else:
            alabel = dom.encode('idna').decode('ascii').lower()
            ulabel = alabel.encode('ascii').decode('idna').lower()
    except (UnicodeError, ValueError):
        raise SubjectError('%s: the domain is not a valid internationalised domain name' % where)
    if len(alabel) > MAX_DOMAIN:
        raise SubjectError('%s: the domain is longer than %d characters' % (where, MAX_DOMAIN))
    labels = alabel.split('.')
    for label in labels:
        if not label:
            raise SubjectError('%s: the domain has an empty label' % where)
        if len(label) > MAX_LABEL:
            raise SubjectError('%s: a domain label is longer than %d characters' % (where, MAX_LABEL))
        if not _LABEL_RE.match(label):
            raise SubjectError('%s: a domain label has characters other than letters, digits '
                               "and inner dashes" % where)
    for ch in ulabel:
        if not (ch.isalnum() or ch in '.-' or unicodedata.category(ch).startswith('M')):
            raise SubjectError('%s: the domain has a character that is not a letter or digit' % where)
    if labels[-1].isdigit():
        raise SubjectError('%s: the domain looks like an IP address; use ips' % where)
    return alabel, ulabel


def normalise_address(value, field='addresses', index=None):
    """(local, A-label domain, U-label domain) of a validated address."""
    where = _where(field, index)
    _common_checks(value, field, index, MAX_ADDRESS)
    if value.count('@') != 1:
        raise SubjectError('%s: must contain exactly one at sign' % where)
    local, dom = value.split('@')
    if local == '':
        raise SubjectError('%s: the local part is empty' % where)
    if len(local) > MAX_LOCAL:
        raise SubjectError('%s: the local part is longer than %d characters' % (where, MAX_LOCAL))
    if local.startswith('.') or local.endswith('.'):
        raise SubjectError('%s: the local part starts or ends with a dot' % where)
    _check_chars(local, _LOCAL_EXTRA, where, 'local part')
    alabel, ulabel = normalise_domain(dom, where)
    if len(local) + 1 + len(alabel) > MAX_ADDRESS:
        raise SubjectError('%s: is longer than %d characters' % (where, MAX_ADDRESS))
    return local, alabel, ulabel


def normalise_login(value, index=None):
    """A validated login name: a bare name or an address."""
    where = _where('logins', index)
    _common_checks(value, 'logins', index, MAX_LOGIN)
    if '@' in value:
        local, alabel, _ulabel = normalise_address(value, 'logins', index)
        return '%s@%s' % (local, alabel)
    if len(value) > MAX_LOCAL:
        raise SubjectError('%s: is longer than %d characters' % (where, MAX_LOCAL))
    if value.startswith('.') or value.endswith('.'):
        raise SubjectError('%s: starts or ends with a dot' % where)
    _check_chars(value, _LOGIN_EXTRA, where, 'login name')
    return value


def normalise_ip(value, index=None):
    where = _where('ips', index)
    _common_checks(value, 'ips', index, 45)
    if '%' in value:
        # 'address%zone' (a link-local IPv6 address with its interface) is named so; any
        # other value with a percent sign is simply not an address
        addr_part, _sep, zone = value.partition('%')
        try:
            ipaddress.IPv6Address(addr_part)
        except ValueError:
            raise SubjectError('%s: is not an IPv4 or IPv6 address (a percent sign is not allowed)' % where)
        if zone and '%' not in zone:
            raise SubjectError('%s: an IPv6 zone index (interface suffix) is not allowed' % where)
        raise SubjectError('%s: is not an IPv4 or IPv6 address (a percent sign is not allowed)' % where)
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        raise SubjectError('%s: is not an IPv4 or IPv6 address' % where)
    if addr.is_unspecified or addr.is_loopback:
        raise SubjectError('%s: an unspecified or loopback address does not identify anybody' % where)
    mapped = getattr(addr, 'ipv4_mapped', None)
    if mapped is not None and (mapped.is_unspecified or mapped.is_loopback):
        raise SubjectError('%s: an unspecified or loopback address does not identify anybody' % where)
    # the compressed form (also for '::ffff:192.0.2.4', kept as '::ffff:c000:204' so that the
    # subject's HMAC does not change); matching finds every spelling (Subject.regex)
    return addr.compressed


def _as_list(value, field):
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        raise SubjectError('%s: must be a list' % field)
    try:
        items = list(value)
    except TypeError:
        raise SubjectError('%s: must be a list' % field)
    if len(items) > MAX_IDENTIFIERS:
        raise SubjectError('%s: more than %d values' % (field, MAX_IDENTIFIERS))
    return items


def _unique(items):
    seen = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return tuple(out)


def _domain_bytes(domain):
    """Regex for a domain form: ASCII letters case-insensitive, the rest literal."""
    return b'(?i:' + re.escape(domain.encode('utf-8')) + b')'


def _before(lead=b'', pre=_PRE, pct=_PCT_END):
    """Zero-width: the identifier starts here, after ``lead`` (a literal such as an opening
    quote) when given, and what stands before (``lead``) is a boundary: an rsyslog '#ooo'
    escape, a percent-escape of a separator, or any byte that is not in ``pre``."""
    lead_re = re.escape(lead)
    check = (b'(?:(?<=#[0-3][0-7][0-7]' + lead_re + b')|(?<=' + pct + lead_re + b')|(?<![' + pre + b']'
             + lead_re + b'))')
    return (b'(?<=' + lead_re + b')' + check) if lead else check


def _hex_digit(nibble):
    digit = b'%X' % nibble
    return digit if digit.isdigit() else b'[' + digit + digit.lower() + b']'


def _pct_text(raw):
    """Regex for bytes as they appear in a URL: unreserved bytes literal, every other byte
    literal or as its percent-escape (either hex case)."""
    out = []
    for byte in bytearray(raw):
        lit = re.escape(bytes([byte]))
        if byte in _UNRESERVED:
            out.append(lit)
        else:
            out.append(b'(?:' + lit + b'|%' + _hex_digit(byte >> 4) + _hex_digit(byte & 15) + b')')
    return b''.join(out)


# ------------------------------------------------------------------------------ IP forms
def _ip_pair(ip):
    """(IPv4Address or None, IPv6Address) of a normalised IP: an IPv4 address with its
    IPv4-mapped IPv6 address, a mapped IPv6 address with its IPv4 address."""
    addr = ipaddress.ip_address(ip)
    if addr.version == 4:
        return addr, ipaddress.IPv6Address('::ffff:' + str(addr))
    return addr.ipv4_mapped, addr


def _ip6_groups(addr):
    return [int(part, 16) for part in addr.exploded.split(':')]


def _group_re(value):
    """One 16-bit group in any spelling: with or without leading zeros."""
    if value == 0:
        return b'0{1,4}'
    digits = b'%x' % value
    return (b'0{0,%d}' % (4 - len(digits)) if len(digits) < 4 else b'') + digits


def _spellings(value):
    digits = '%x' % value
    return [('0' * zeros + digits).encode('ascii') for zeros in range(0, 5 - len(digits))]


def _ip6_forms(groups, dotted):
    """Regexes (lower case; the caller adds case-insensitivity) of every spelling of an IPv6
    address: each group with or without leading zeros, '::' in place of any run of zero
    groups or none; with ``dotted`` the last two groups as a dotted IPv4 tail."""
    count = 6 if dotted else 8

    def seq(lo, hi):
        return b':'.join(_group_re(groups[k]) for k in range(lo, hi))

    tail = b''
    if dotted:
        tail = re.escape(('%d.%d.%d.%d' % (groups[6] >> 8, groups[6] & 255, groups[7] >> 8, groups[7] & 255)).encode('ascii'))
    forms = [seq(0, count) + (b':' + tail if dotted else b'')]
    for i in range(count):
        for j in range(i + 1, count + 1):
            if groups[j - 1]:
                break
            rest = seq(j, count)
            if dotted:
                rest = rest + b':' + tail if rest else tail
            forms.append(seq(0, i) + b'::' + rest)
    return forms


def _ip6_needles(groups, dotted, mapped):
    """Lower-case literals one of which every spelling of an IPv6 address contains (the hex
    spellings of _ip6_forms, and with ``dotted`` also those with a dotted IPv4 tail).

    A candidate is a chain of consecutive non-zero groups: the first in its shortest spelling
    (leading zeros only prepend), each further one in every spelling, then what must follow
    the chain: ':' before another non-zero group (never compressed away); ':' and ':' or '0'
    before a zero group (compressed, or spelled); nothing at the end of the address. A chain
    that ends before group 6 is in the dotted spellings too; one that reaches into the last
    two groups needs ':' and the dotted tail as a further needle. Each needle costs the
    scanner one pass over the text, so the fewest needles win among the selective candidates
    (a needle of 8 or more characters, counting 3 for a zero group or the end that follows);
    then the longest, then the later chain (host bits vary more than network prefixes). The
    lone 'ffff' group of an IPv4-mapped address is never a candidate (every mapped address in
    a Courier log has it)."""
    best = None
    for start in range(8):
        if groups[start] == 0:
            continue
        needles = [b'%x' % groups[start]]
        k = start + 1
        while True:
            if k == 8:
                found, bonus = list(needles), 3
            elif groups[k] == 0:
                found, bonus = [n + b':' + tail for n in needles for tail in (b':', b'0')], 3
            else:
                found, bonus = [n + b':' for n in needles], 0
            if not (mapped and start == 5 and k == 6):
                cost = len(found) + (1 if dotted and k > 6 else 0)
                value = min(len(n) for n in found) + bonus
                key = (value >= 8, -cost if value >= 8 else value, value, start)
                if cost <= _MAX_SPELLINGS and (best is None or key > best[0]):
                    best = (key, found, dotted and k > 6)
            if k == 8 or groups[k] == 0 or len(needles) * len(_spellings(groups[k])) > _MAX_SPELLINGS:
                break
            needles = [n + b':' + sp for n in needles for sp in _spellings(groups[k])]
            k += 1
    if best is None:
        return [], dotted
    return best[1], best[2]


def _ip_patterns(ip):
    """Regexes of every textual form of an IP address of the subject (see the module doc)."""
    v4, v6 = _ip_pair(ip)
    pats = []
    if v4 is not None:
        pats.append(b'(?:' + _ESCAPED + b'|(?<![0-9.]))' + re.escape(str(v4).encode('ascii')) + _IP4_POST)
    groups = _ip6_groups(v6)
    pre = b'(?:' + _ESCAPED + b'|(?<![0-9A-Fa-f:]))'
    pats.append(pre + b'(?i:' + b'|'.join(_ip6_forms(groups, False)) + b')' + _IP6_POST)
    if v4 is None and any(groups[:6]):
        pats.append(pre + b'(?i:' + b'|'.join(_ip6_forms(groups, True)) + b')' + _IP4_POST)
    return pats


def _ip_needles(ip):
    """[(needle, forbid_before or None, forbid_after)] for _ip_patterns(ip): the dotted IPv4
    address anchored; the hex spellings of the IPv6 address through unanchored group chains,
    its spellings with a dotted tail through ':' and the tail."""
    v4, v6 = _ip_pair(ip)
    out = []
    if v4 is not None:
        out.append((str(v4).encode('ascii'), _IP4_PRE_SET, frozenset(b'0123456789')))
    groups = _ip6_groups(v6)
    needles, need_tail = _ip6_needles(groups, v4 is None and any(groups[:6]), v4 is not None)
    for needle in needles:
        out.append((needle, None, frozenset()))
    if need_tail:
        tail = '%d.%d.%d.%d' % (groups[6] >> 8, groups[6] & 255, groups[7] >> 8, groups[7] & 255)
        out.append((b':' + tail.encode('ascii'), None, frozenset()))   # a ':' always stands before the tail
    return out


_QMAIL_PREFIX_RE = re.compile(r'^[!-?A-~]{1,255}$')  # printable ASCII without '@'


def parse_qmail_virtualdomains(lines):
    """[(key, prefix)] from the lines of qmail's ``control/virtualdomains``: ``domain:prefix``,
    ``.domain:prefix`` (every subdomain), ``user@domain:prefix`` (one address), ``:prefix``
    (every domain); an empty prefix makes an exception. Keys are lower-cased; blank lines,
    ``#`` comments and lines without a colon are skipped. Pure: the caller reads the file."""
    out = []
    for line in lines or ():
        if not isinstance(line, str):
            continue
        line = line.strip()
        if not line or line.startswith('#') or ':' not in line:
            continue
        key, prefix = line.split(':', 1)
        out.append((key.strip().lower(), prefix.strip()))
    return out


def qmail_virtual_prefix(local, alabel, entries, local_domains=()):
    """The prefix qmail-send writes before the local part of a delivery to ``local@alabel``
    (``<prefix>-<local>@<domain>``, qmail-send(8)), or None: a domain listed in ``locals``,
    no line for it, an exception (empty prefix) or an unusable prefix. The lookup is
    qmail's: the whole address, the domain, each ``.suffix`` from the longest, then ``:``."""
    alabel = alabel.lower()
    if alabel in local_domains:
        return None
    table = dict(entries or ())
    labels = alabel.split('.')
    keys = ['%s@%s' % (local.lower(), alabel), alabel]
    keys += ['.' + '.'.join(labels[i:]) for i in range(1, len(labels))]
    keys.append('')
    for key in keys:
        if key in table:
            prefix = table[key]
            return prefix if prefix and _QMAIL_PREFIX_RE.match(prefix) else None
    return None


class Subject(object):
    """A validated, normalised data subject. Build it with :meth:`from_params`."""

    __slots__ = ('kind', 'addresses', 'address_variants', 'logins', 'ips', 'domain',
                 'domain_variants', 'plus_separator', 'case_sensitive_local', 'qmail_prefixes',
                 'fold_needles', '_raw_needles', '_regex', '_needles')

    def __init__(self, kind, addresses, address_variants, logins, ips, domain, domain_variants,
                 plus_separator, case_sensitive_local=False, qmail_prefixes=None):
        self.kind = kind
        self.addresses = addresses
        self.address_variants = address_variants
        self.logins = logins
        self.ips = ips
        self.domain = domain
        self.domain_variants = domain_variants
        self.plus_separator = plus_separator
        # local parts of addresses compared with or without ASCII letter case (the option
        # local_part_case); the ownership methods and the account stores read it too
        self.case_sensitive_local = bool(case_sensitive_local)
        # {(local part, A-label domain): qmail virtual-domain prefix} (qmail_virtual_prefix)
        self.qmail_prefixes = dict(qmail_prefixes or {})
        self._regex = None
        self._needles = None
        self._raw_needles, self.fold_needles = self._build_needles()

    def __repr__(self):
        # never the identifiers themselves
        return '<Subject kind=%s addresses=%d logins=%d ips=%d>' % (
            self.kind, len(self.addresses), len(self.logins), len(self.ips))

    __str__ = __repr__

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_params(cls, addresses=(), logins=(), ips=(), domain=None, plus_separator='+',
                    local_part_case='insensitive', qmail_virtualdomains=None, qmail_locals=None):
        """Validate and normalise. ``local_part_case`` is ``insensitive`` (default: ``ANN@``
        and ``ann@`` are one mailbox) or ``sensitive``. ``qmail_virtualdomains`` (lines of
        qmail's control/virtualdomains) and ``qmail_locals`` (its control/locals) are data the
        caller read on the host: with them, qmail's delivery names of the subject's addresses
        (``<prefix>-<local>@<domain>``) count as the subject's."""
        addr_in = _as_list(addresses, 'addresses')
        login_in = _as_list(logins, 'logins')
        ip_in = _as_list(ips, 'ips')
        if plus_separator in (None, ''):
            plus_separator = None
        elif plus_separator not in PLUS_SEPARATORS:
            raise SubjectError('plus_separator: must be one of %s or empty' % ' '.join(PLUS_SEPARATORS))
        if local_part_case in (None, ''):
            local_part_case = 'insensitive'
        if local_part_case not in LOCAL_PART_CASES:
            raise SubjectError('local_part_case: must be one of %s' % ' '.join(LOCAL_PART_CASES))

        addrs = []
        variants = []
        for i, value in enumerate(addr_in):
            local, alabel, ulabel = normalise_address(value, 'addresses', i)
            addrs.append('%s@%s' % (local, alabel))
            variants.append('%s@%s' % (local, alabel))
            if ulabel != alabel:
                variants.append('%s@%s' % (local, ulabel))
        login_list = [normalise_login(v, i) for i, v in enumerate(login_in)]
        ip_list = [normalise_ip(v, i) for i, v in enumerate(ip_in)]

        dom = None
        dom_variants = ()
        if domain not in (None, ''):
            _common_checks(domain, 'domain', None, MAX_DOMAIN + 1)
            if '@' in domain:
                raise SubjectError('domain: must be a domain name without an at sign')
            dom, udom = normalise_domain(domain, 'domain')
            dom_variants = _unique([dom, udom])
        if not (addrs or login_list or ip_list or dom):
            raise SubjectError('no identifier given: set addresses, logins, ips or domain')
        vdoms = parse_qmail_virtualdomains(qmail_virtualdomains)
        local_domains = frozenset(d.strip().lower() for d in (qmail_locals or ()) if isinstance(d, str))
        prefixes = {}
        if vdoms:
            for own in addrs + [x for x in login_list if '@' in x]:
                own_local, own_dom = own.rsplit('@', 1)
                prefix = qmail_virtual_prefix(own_local, own_dom, vdoms, local_domains)
                if prefix:
                    prefixes[(own_local, own_dom)] = prefix
        return cls(kind='domain' if dom else 'user',
                   addresses=_unique(addrs),
                   address_variants=_unique(variants),
                   logins=_unique(login_list),
                   ips=_unique(ip_list),
                   domain=dom,
                   domain_variants=dom_variants,
                   plus_separator=plus_separator,
                   case_sensitive_local=local_part_case == 'sensitive',
                   qmail_prefixes=prefixes)

    # ------------------------------------------------------------------ ownership
    # Account and queue keys (user names of userdb, assign, vpopmail, Dovecot, passwd and
    # Horde, Maildir user directories, queue envelope senders and recipients) are compared
    # with owns_address / owns_login: exactly, never with a plus tag. The separator applies
    # only to recipient tags in log lines and mail headers (regex). extends_account finds the
    # accounts such a tag would confuse with the subject; the request flow refuses while one
    # exists (request.check_extended_accounts).

    def fold_local(self, local):
        """A local part as ownership compares it: lower-cased unless the subject is
        case-sensitive (``case_sensitive_local``)."""
        return local if self.case_sensitive_local else local.lower()

    @staticmethod
    def _split_address(address):
        """(local, A-label domain) of an address in any IDNA form, or None."""
        if not isinstance(address, str) or address.count('@') != 1:
            return None
        local, dom = address.split('@')
        if not local or not dom:
            return None
        try:
            alabel, _ulabel = normalise_domain(dom, 'address')
        except SubjectError:
            return None
        return local, alabel

    def _own_addresses(self):
        """(folded local part, A-label domain) of every address and address login."""
        out = []
        for own in self.addresses + tuple(x for x in self.logins if '@' in x):
            own_local, own_dom = own.rsplit('@', 1)
            out.append((self.fold_local(own_local), own_dom))
        return out

    def owns_address(self, address):
        """True when ``address`` is exactly one of the subject's addresses (or address logins):
        the domain in any IDNA form and any letter case, the local part compared without
        letter case unless the subject is case-sensitive; for kind ``domain`` every address
        of the domain. Never a plus tag: ``ann+work@`` and ``ann-marie@`` are other accounts."""
        parts = self._split_address(address)
        if parts is None:
            return False
        local, alabel = parts
        if self.domain and alabel == self.domain:
            return True
        return (self.fold_local(local), alabel) in self._own_addresses()

    def owns_login(self, login):
        """True when ``login`` is one of the subject's login names (exactly: system user names
        are case-sensitive) or, holding an '@', an address the subject owns (owns_address)."""
        if not isinstance(login, str) or not login:
            return False
        if '@' in login:
            return self.owns_address(login)
        return login in self.logins

    def _is_extension(self, name, base, fold):
        """True when ``name`` is ``base`` + plus separator + anything (an empty tag included,
        as the regex's tag is)."""
        sep = self.plus_separator
        if not sep or not isinstance(name, str):
            return False
        if fold:
            name, base = self.fold_local(name), self.fold_local(base)
        return name.startswith(base + sep)

    def extends_name(self, name, base, fold=False):
        """True when the account name ``name`` is not ``base`` but ``base`` extended with the
        plus separator (``ann-marie`` for ``ann`` with ``-``). For stores that derive bare
        names from the subject (qmail users/assign, passwd names of local domains); ``fold``
        compares without letter case (a name derived from an address's local part)."""
        if not isinstance(name, str) or not isinstance(base, str) or not base:
            return False
        return self._is_extension(name, base, fold)

    def extends_account(self, name):
        """True when the account key ``name`` (a user name of an account database) is not the
        subject's but extends one of its addresses or logins with the plus separator:
        ``local<sep><anything>@domain`` for an address (domain in any IDNA form and letter
        case, local part as owns_address compares it) or ``login<sep><anything>`` for a bare
        login. Such an account's mail and log lines carry what looks like a tag of the
        subject's address; the request flow refuses while one exists. Always False without
        ``plus_separator``."""
        if not self.plus_separator or not isinstance(name, str) or not name:
            return False
        if self.owns_login(name):
            return False
        if '@' in name:
            parts = self._split_address(name)
            if parts is None:
                return False
            local, alabel = parts
            return any(own_dom == alabel and self._is_extension(local, own_local, True)
                       for own_local, own_dom in self._own_addresses())
        return any(self._is_extension(name, login, False) for login in self.logins if '@' not in login)

    # ------------------------------------------------------------------ matching
    def _ci(self, pattern):
        """``pattern`` without ASCII letter case unless the local part is case-sensitive."""
        return pattern if self.case_sensitive_local else b'(?i:' + pattern + b')'

    def _local_pattern(self, local, pct=False):
        """A local part of the subject, with a tag after the plus separator; ``pct``: as in a
        URL, where every byte but the unreserved ones may be percent-encoded."""
        raw = local.encode('utf-8')
        pat = self._ci(_pct_text(raw) if pct else re.escape(raw))
        if self.plus_separator:
            sep = self.plus_separator.encode('ascii')
            tag_chars = _LOCAL_ANY.replace(b'+', b'') if self.plus_separator != '+' else _LOCAL_ANY
            pat += b'(?:' + (_pct_text(sep) if pct else re.escape(sep)) + b'[' + tag_chars + b']*)?'
        return pat

    def _address_parts(self):
        """[(local part, A-label domain, (domain forms))] of every address and address login;
        the forms are the A-label and, for an internationalised domain, the U-label."""
        out = []
        seen = set()
        for own in self.addresses + tuple(x for x in self.logins if '@' in x):
            local, alabel = own.rsplit('@', 1)
            if (local, alabel) in seen:
                continue
            seen.add((local, alabel))
            forms = [alabel]
            if alabel.startswith('xn--') or '.xn--' in alabel:
                try:
                    forms.append(alabel.encode('ascii').decode('idna').lower())
                except UnicodeError:
                    pass
            out.append((local, alabel, _unique(forms)))
        return out

    def _patterns(self):
        pats = []
        for local, alabel, forms in self._address_parts():
            plain = self._local_pattern(local)
            pct = self._local_pattern(local, True)
            prefix = self.qmail_prefixes.get((local, alabel))
            for form in forms:
                dom = _domain_bytes(form) + _POST
                pats.append(_before() + plain + b'@' + dom)
                pats.append(_before(b'"') + plain + b'"@' + dom)
                pats.append(_before() + pct + b'%40' + dom)
                pats.append(_before(b'%22') + pct + b'%22%40' + dom)
                if prefix:
                    pats.append(_before() + self._ci(re.escape(prefix.encode('ascii'))) + b'-' + plain + b'@' + dom)
        for dom in self.domain_variants:
            pats.append(_before() + b'(?:"[' + _LOCAL_ANY + b']+"|[' + _LOCAL_ANY + b']+)(?:@|%40)'
                        + _domain_bytes(dom) + _POST)
        for login in self.logins:
            if '@' in login:
                continue
            pats.append(_before(pre=_PRE + b'@', pct=_PCT_LOGIN_PRE) + re.escape(login.encode('utf-8')) + _LOGIN_POST)
        for ip in self.ips:
            pats.extend(_ip_patterns(ip))
        return pats

    def regex(self):
        """A compiled bytes regex matching any identifier of the subject, with boundaries."""
        if self._regex is None:
            self._regex = re.compile(b'|'.join(self._patterns()))
        return self._regex

    def _build_needles(self):
        """([(needle, forbid_before or None, forbid_after)], fold): the prefilter's raw
        needles, lower-cased when ``fold`` (some needle stands for text the regex matches
        without letter case)."""
        raw = []
        sep = (self.plus_separator or '').encode('ascii')
        # after a local part: '@', the tag's separator, the closing quote, or a percent-escape
        after_local = _ALL_BYTES - frozenset(b'@"%' + sep)
        after_prefixed = _ALL_BYTES - frozenset(b'@' + sep)
        insensitive = not self.case_sensitive_local
        for local, alabel, forms in self._address_parts():
            lraw = local.encode('utf-8')
            raw.append((lraw, _PRE_SET, after_local, insensitive))
            # a byte that a URL may percent-encode ('+', '=', UTF-8): the URL form holds the
            # literal part before it, or, when there is none, '%40' and the domain
            cut = next((i for i, byte in enumerate(bytearray(lraw)) if byte not in _UNRESERVED), None)
            if cut:
                raw.append((lraw[:cut], _PRE_SET, frozenset(), insensitive))
            elif cut == 0:
                for form in forms:
                    raw.append((b'%40' + form.encode('utf-8'), None, frozenset(), True))
            prefix = self.qmail_prefixes.get((local, alabel))
            if prefix:
                raw.append((prefix.encode('ascii') + b'-' + lraw, _PRE_SET, after_prefixed, insensitive))
        for dom in self.domain_variants:
            for lead in (b'@', b'%40'):
                raw.append((lead + dom.encode('utf-8'), None, frozenset(), True))
        for login in self.logins:
            if '@' not in login:
                raw.append((login.encode('utf-8'), _LOGIN_PRE_SET, _LOGIN_AFTER_SET, False))
        for ip in self.ips:
            for needle, before, after in _ip_needles(ip):
                raw.append((needle, before, after, True))
        fold = any(folds and re.search(b'[A-Za-z]', needle) for needle, _b, _a, folds in raw)
        return [(needle.lower() if fold else needle, before, after) for needle, before, after, _f in raw], fold

    def prefilter(self):
        """[(needle, anchored, forbidden_before, forbidden_after)]: literal byte strings such
        that every regex match contains one; ``anchored`` means a match starts exactly where
        the needle starts (addresses, logins, IPv4 addresses), so a scanner can try
        ``regex().match`` at the needle's position instead of searching the whole line, and
        skip at once an anchored needle preceded by a byte of ``forbidden_before`` or followed
        by a byte of ``forbidden_after`` (frozensets of byte values; such a position never
        starts a match). Unanchored needles (a domain, '%40' and a domain, IPv6 group chains)
        make the scanner search the needle's line. Needles are lower-case when
        :attr:`fold_needles` is true (search them in ``chunk.lower()``)."""
        if self._needles is None:
            merged = {}
            for needle, before, after in self._raw_needles:
                if needle in merged:
                    old_before, old_after = merged[needle]
                    before = None if old_before is None or before is None else (old_before & before)
                    after = old_after & after
                merged[needle] = (before, after)
            # a needle that contains another one is dropped when the shorter one serves for
            # it: any unanchored needle, or an anchored prefix (whose neighbour sets then
            # widen to let the longer needle's matches through)
            final = dict(merged)
            for needle, (forbid, after) in sorted(merged.items(), key=lambda item: -len(item[0])):
                anchored = forbid is not None
                for other in sorted(final, key=len):
                    if other == needle or other not in needle or needle not in final:
                        continue
                    other_forbid, other_after = final[other]
                    if other_forbid is None:
                        del final[needle]
                    elif anchored and needle.startswith(other):
                        del final[needle]
                        final[other] = (other_forbid & forbid,
                                        other_after - frozenset(needle[len(other):len(other) + 1]))
            keep = []
            for needle, (forbid, after) in final.items():
                keep.append((needle, forbid is not None, forbid or frozenset(), after))
            self._needles = sorted(keep, key=lambda item: (-len(item[0]), item[0]))
        return list(self._needles)

    def needles(self):
        """Literal byte strings; every regex match contains at least one of them.

        When :attr:`fold_needles` is true the needles are lower-case and must be searched in
        ``chunk.lower()`` (ASCII case folding, the same as the regex's)."""
        return [item[0] for item in self.prefilter()]

    def matches(self, data):
        """True when the bytes (or str) contain an identifier of the subject."""
        if isinstance(data, str):
            data = data.encode('utf-8', 'surrogateescape')
        return self.regex().search(data) is not None

    # ------------------------------------------------------------------ pseudonym
    def _canonical_names(self, names):
        if self.case_sensitive_local:
            return sorted(names)
        folded = set()
        for name in names:
            if '@' in name:
                local, dom = name.rsplit('@', 1)
                name = '%s@%s' % (local.lower(), dom)
            folded.add(name)
        return sorted(folded)

    def canonical(self):
        """A canonical text form (for the HMAC only; never output it)."""
        # without letter case in the local part (the default) 'Ann@' and 'ann@' are one
        # subject with one HMAC: local parts are lower-cased here. An address given in lower
        # case, or any subject with local_part_case 'sensitive', keeps the form (and so the
        # HMAC) it had before the option existed.
        return json.dumps({
            'kind': self.kind,
            'addresses': self._canonical_names(self.addresses),
            'logins': self._canonical_names(self.logins),
            'ips': sorted(self.ips),
            'domain': self.domain,
        }, sort_keys=True, separators=(',', ':'))

    def hmac(self, key):
        """Hex HMAC-SHA256 of the canonical form: the only representation allowed in outputs."""
        if isinstance(key, str):
            key = key.encode('utf-8')
        if not isinstance(key, bytes) or len(key) < 16:
            raise SubjectError('hmac_key: must be a secret of at least 16 characters')
        return _hmac.new(key, self.canonical().encode('utf-8'), hashlib.sha256).hexdigest()
