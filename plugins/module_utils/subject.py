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

Matching rules (see :meth:`Subject.regex`):

* an address matches only as a whole address: not preceded by ``[A-Za-z0-9._%+-]`` (so
  ``joann@example.com`` is not ``ann@example.com``) and not followed by a domain character
  (``ann@example.com.evil`` is not ``ann@example.com``; a final dot that ends a sentence
  is allowed); the domain is case-insensitive and found in its A-label (punycode) and
  U-label (UTF-8) forms; the local part is compared exactly;
* with ``plus_separator`` set, ``ann+tag@example.com`` counts as ``ann@example.com``;
* kind ``domain`` matches every address ``<anything>@domain``;
* login names and IP addresses match as whole tokens.

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

# characters that may stand before an address without making it another address
_PRE = rb'A-Za-z0-9._%+\x80-\xff-'
# local-part characters of an arbitrary address (kind 'domain', plus tags)
_LOCAL_ANY = rb"A-Za-z0-9!#$%&'*/=?^_`{|}~.\x80-\xff+-"
# what may not follow an address or a domain (a dot is allowed when no label follows)
_POST = rb'(?![A-Za-z0-9_\x80-\xff-])(?!\.[A-Za-z0-9_\x80-\xff-])'
# what may not follow a login name token
_LOGIN_POST = rb'(?![A-Za-z0-9_%+=@\x80-\xff-])(?!\.[A-Za-z0-9_\x80-\xff-])'

# rsyslog writes control characters as '#' and three octal digits ('#011' for a tab, which
# Dovecot's auth debug lines use between fields): such an escape ends the token before it
_ESCAPED = rb'(?<=#[0-3][0-7][0-7])'

# byte values that, right before an anchored needle, rule a match out (the prefilter's
# lookbehinds); no digits, which may end an rsyslog escape: the regex decides there
_PRE_SET = frozenset(b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._%+-') | frozenset(range(0x80, 0x100))
_ALL_BYTES = frozenset(range(256))
_LOGIN_AFTER_SET = frozenset(b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_%+=@-') | frozenset(range(0x80, 0x100))
_IP4_PRE_SET = frozenset(b'.')
_IP6_PRE_SET = frozenset(b'abcdefABCDEF:')
_IP6_AFTER_SET = frozenset(b'0123456789abcdefABCDEF:')

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
        if ch in _WILDCARDS:
            raise SubjectError('%s: contains a wildcard (* or ?)' % where)
        if ch in _PATH_SEPARATORS:
            raise SubjectError('%s: contains a path separator (/ or \\)' % where)
    if '..' in value:
        raise SubjectError("%s: contains '..'" % where)
    if value.startswith('-'):
        raise SubjectError("%s: starts with '-' (would read as a command option)" % where)
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
                               "and inner '-'" % where)
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
        raise SubjectError("%s: must contain exactly one '@'" % where)
    local, dom = value.split('@')
    if local == '':
        raise SubjectError('%s: the local part is empty' % where)
    if len(local) > MAX_LOCAL:
        raise SubjectError('%s: the local part is longer than %d characters' % (where, MAX_LOCAL))
    if local.startswith('.') or local.endswith('.'):
        raise SubjectError("%s: the local part starts or ends with '.'" % where)
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
        raise SubjectError("%s: starts or ends with '.'" % where)
    _check_chars(value, _LOGIN_EXTRA, where, 'login name')
    return value


def normalise_ip(value, index=None):
    where = _where('ips', index)
    _common_checks(value, 'ips', index, 45)
    if '%' in value:
        raise SubjectError('%s: a zone index is not allowed' % where)
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        raise SubjectError('%s: is not an IPv4 or IPv6 address' % where)
    if addr.is_unspecified or addr.is_loopback:
        raise SubjectError('%s: an unspecified or loopback address does not identify anybody' % where)
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


class Subject(object):
    """A validated, normalised data subject. Build it with :meth:`from_params`."""

    __slots__ = ('kind', 'addresses', 'address_variants', 'logins', 'ips', 'domain',
                 'domain_variants', 'plus_separator', 'fold_needles', '_regex', '_needles')

    def __init__(self, kind, addresses, address_variants, logins, ips, domain, domain_variants,
                 plus_separator):
        self.kind = kind
        self.addresses = addresses
        self.address_variants = address_variants
        self.logins = logins
        self.ips = ips
        self.domain = domain
        self.domain_variants = domain_variants
        self.plus_separator = plus_separator
        self.fold_needles = bool(domain) or any(':' in ip and re.search('[a-f]', ip) for ip in ips)
        self._regex = None
        self._needles = None

    def __repr__(self):
        # never the identifiers themselves
        return '<Subject kind=%s addresses=%d logins=%d ips=%d>' % (
            self.kind, len(self.addresses), len(self.logins), len(self.ips))

    __str__ = __repr__

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_params(cls, addresses=(), logins=(), ips=(), domain=None, plus_separator='+'):
        addr_in = _as_list(addresses, 'addresses')
        login_in = _as_list(logins, 'logins')
        ip_in = _as_list(ips, 'ips')
        if plus_separator in (None, ''):
            plus_separator = None
        elif plus_separator not in PLUS_SEPARATORS:
            raise SubjectError('plus_separator: must be one of %s or empty' % ' '.join(PLUS_SEPARATORS))

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
                raise SubjectError("domain: must be a domain name without '@'")
            dom, udom = normalise_domain(domain, 'domain')
            dom_variants = _unique([dom, udom])
        if not (addrs or login_list or ip_list or dom):
            raise SubjectError('no identifier given: set addresses, logins, ips or domain')
        return cls(kind='domain' if dom else 'user',
                   addresses=_unique(addrs),
                   address_variants=_unique(variants),
                   logins=_unique(login_list),
                   ips=_unique(ip_list),
                   domain=dom,
                   domain_variants=dom_variants,
                   plus_separator=plus_separator)

    # ------------------------------------------------------------------ ownership
    def _base_local(self, local):
        if self.plus_separator and self.plus_separator in local:
            return local.split(self.plus_separator, 1)[0]
        return local

    def owns_address(self, address):
        """True when ``address`` (any spelling of its domain) belongs to the subject."""
        if not isinstance(address, str) or address.count('@') != 1:
            return False
        local, dom = address.split('@')
        if not local or not dom:
            return False
        try:
            alabel, _ulabel = normalise_domain(dom, 'address')
        except SubjectError:
            return False
        if self.domain and alabel == self.domain:
            return True
        base = self._base_local(local)
        for own in self.addresses + tuple(x for x in self.logins if '@' in x):
            own_local, own_dom = own.split('@')
            if own_dom != alabel:
                continue
            if local == own_local or base == own_local:
                return True
            if self.plus_separator and local.startswith(own_local + self.plus_separator):
                return True
        return False

    def owns_login(self, login):
        """True when ``login`` is one of the subject's login names or addresses."""
        if not isinstance(login, str):
            return False
        if '@' in login:
            return self.owns_address(login)
        return login in self.logins

    # ------------------------------------------------------------------ matching
    def _local_pattern(self, local):
        pat = re.escape(local.encode('utf-8'))
        if self.plus_separator:
            sep = re.escape(self.plus_separator.encode('ascii'))
            tag_chars = _LOCAL_ANY.replace(b'+', b'') if self.plus_separator != '+' else _LOCAL_ANY
            pat += b'(?:' + sep + b'[' + tag_chars + b']*)?'
        return pat

    def _patterns(self):
        pats = []
        for variant in self.address_variants + tuple(x for x in self.logins if '@' in x):
            local, dom = variant.rsplit('@', 1)
            forms = [dom]
            if dom.startswith('xn--') or '.xn--' in dom:
                try:
                    forms.append(dom.encode('ascii').decode('idna').lower())
                except UnicodeError:
                    pass
            for form in _unique(forms):
                pats.append(b'(?:' + _ESCAPED + b'|(?<![' + _PRE + b']))' + self._local_pattern(local) + b'@'
                            + _domain_bytes(form) + _POST)
        for dom in self.domain_variants:
            pats.append(b'(?:' + _ESCAPED + b'|(?<![' + _PRE + b']))[' + _LOCAL_ANY + b']+@' + _domain_bytes(dom) + _POST)
        for login in self.logins:
            if '@' in login:
                continue
            pats.append(b'(?:' + _ESCAPED + b'|(?<![' + _PRE + b'@]))' + re.escape(login.encode('utf-8')) + _LOGIN_POST)
        for ip in self.ips:
            if ':' in ip:
                pats.append(b'(?:' + _ESCAPED + b'|(?<![0-9A-Fa-f:]))(?i:' + re.escape(ip.encode('ascii'))
                            + b')(?![0-9A-Fa-f:])')
            else:
                pats.append(b'(?:' + _ESCAPED + b'|(?<![0-9.]))' + re.escape(ip.encode('ascii')) + b'(?![0-9])(?!\\.[0-9])')
        return pats

    def regex(self):
        """A compiled bytes regex matching any identifier of the subject, with boundaries."""
        if self._regex is None:
            self._regex = re.compile(b'|'.join(self._patterns()))
        return self._regex

    def prefilter(self):
        """[(needle, anchored, forbidden_before, forbidden_after)]: literal byte strings such
        that every regex match contains one; ``anchored`` means a match starts exactly where
        the needle starts (addresses, logins, IPs), so a scanner can try ``regex().match`` at
        the needle's position instead of searching the whole line, and skip at once an
        anchored needle preceded by a byte of ``forbidden_before`` or followed by a byte of
        ``forbidden_after`` (frozensets of byte values; such a position never starts a
        match). Needles are lower-case when :attr:`fold_needles` is true (search them in
        ``chunk.lower()``)."""
        if self._needles is None:
            raw = []
            not_at_or_sep = _ALL_BYTES - frozenset(b'@' + (self.plus_separator or '@').encode('ascii'))
            for variant in self.address_variants + tuple(x for x in self.logins if '@' in x):
                local = variant.rsplit('@', 1)[0].encode('utf-8')
                if self.plus_separator:
                    # one pass for both forms (local@ and local+tag@)
                    raw.append((local, _PRE_SET, not_at_or_sep))
                else:
                    raw.append((local + b'@', _PRE_SET, frozenset()))
            for dom in self.domain_variants:
                raw.append((b'@' + dom.encode('utf-8'), None, frozenset()))
            for login in self.logins:
                if '@' not in login:
                    raw.append((login.encode('utf-8'), _PRE_SET | frozenset(b'@'), _LOGIN_AFTER_SET))
            for ip in self.ips:
                if ':' in ip:
                    raw.append((ip.encode('ascii'), _IP6_PRE_SET, _IP6_AFTER_SET))
                else:
                    raw.append((ip.encode('ascii'), _IP4_PRE_SET, frozenset(b'0123456789')))
            if self.fold_needles:
                raw = [(n.lower(), b, a) for n, b, a in raw]
            merged = {}
            for needle, before, after in raw:
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
    def canonical(self):
        """A canonical text form (for the HMAC only; never output it)."""
        return json.dumps({
            'kind': self.kind,
            'addresses': sorted(self.addresses),
            'logins': sorted(self.logins),
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
