# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hostile identifiers: every one must be refused by Subject validation with nothing touched.
Each entry: (field, value, what it tries)."""

HOSTILE = [
    # wildcards and globs
    ('addresses', '*@example.com', 'wildcard local part'),
    ('addresses', 'ann@*.com', 'wildcard domain'),
    ('addresses', 'a?n@example.com', 'single-character wildcard'),
    ('logins', '*', 'bare wildcard'),
    ('logins', '[a-z]*', 'glob class'),
    ('domain', '*', 'wildcard domain'),
    ('domain', '*.example.com', 'wildcard subdomain'),
    # regex metacharacters
    ('addresses', '.*@example.com', 'regex dot-star'),
    ('addresses', 'ann|bob@example.com', 'regex alternation'),
    ('addresses', 'a(n)n@example.com', 'regex group'),
    ('addresses', 'ann@example.com$', 'regex anchor'),
    ('addresses', '^ann@example.com', 'regex caret'),
    ('logins', '.*', 'regex everything'),
    ('logins', 'ann|root', 'regex alternation'),
    ('logins', '(ann)', 'regex group'),
    ('logins', 'a{1,9}', 'regex repetition'),
    ('logins', 'ann\\d', 'regex escape'),
    ('domain', 'example.(com|org)', 'regex in domain'),
    # path separators and traversal
    ('addresses', '../../etc/passwd@example.com', 'path traversal'),
    ('addresses', 'ann/..@example.com', 'path separator'),
    ('logins', '/etc/shadow', 'absolute path'),
    ('logins', '..', 'parent directory'),
    ('logins', 'ann\\root', 'backslash'),
    ('domain', 'example.com/..', 'path in domain'),
    # control characters, NUL, whitespace
    ('addresses', 'ann\x00@example.com', 'NUL'),
    ('addresses', 'ann@example.com\n', 'newline'),
    ('addresses', 'ann@example.com\r', 'carriage return'),
    ('logins', 'ann\tbob', 'tab'),
    ('logins', 'ann bob', 'space'),
    ('logins', '\x1b[31mann', 'escape sequence'),
    ('ips', '192.0.2.1\x00', 'NUL after IP'),
    ('domain', 'exa\x7fmple.com', 'DEL'),
    # empty and overlong
    ('addresses', '', 'empty address'),
    ('logins', '', 'empty login'),
    ('ips', '', 'empty IP'),
    ('addresses', 'a' * 65 + '@example.com', 'local part over 64'),
    ('addresses', 'ann@' + 'a' * 250 + '.com', 'address over 254'),
    ('logins', 'x' * 300, 'overlong login'),
    ('domain', ('a' * 63 + '.') * 5 + 'com', 'overlong domain'),
    # unicode tricks
    ('addresses', 'ann\u200b@example.com', 'zero-width space'),
    ('addresses', 'ann@exam\u200dple.com', 'zero-width joiner in domain'),
    ('addresses', '\u202eann@example.com', 'right-to-left override'),
    ('logins', 'ann\ufeff', 'byte-order mark'),
    ('addresses', 'ann\u00a0@example.com', 'no-break space'),
    ('logins', 'ann\u2028', 'line separator'),
    # shell metacharacters
    ('addresses', 'ann;rm -rf /@example.com', 'command separator'),
    ('addresses', '$(reboot)@example.com', 'command substitution'),
    ('addresses', '`id`@example.com', 'backticks'),
    ('logins', 'ann&&id', 'and-list'),
    ('logins', 'ann>out', 'redirection'),
    ('logins', '-rf', 'option injection'),
    ('logins', "ann'", 'single quote'),
    ('logins', 'ann"', 'double quote'),
    ('domain', 'example.com;id', 'separator in domain'),
    # malformed
    ('addresses', 'ann', 'no at sign'),
    ('addresses', 'ann@@example.com', 'two at signs'),
    ('addresses', '@example.com', 'empty local part'),
    ('addresses', 'ann@', 'empty domain'),
    ('addresses', 'ann@example..com', 'empty label'),
    ('addresses', 'ann@-example.com', 'label starting with dash'),
    ('ips', '999.1.1.1', 'not an IP'),
    ('ips', '127.0.0.1', 'loopback'),
    ('ips', '0.0.0.0', 'unspecified'),
    ('ips', 'fe80::1%eth0', 'zone index'),
    ('ips', '192.0.2.0/24', 'network instead of address'),
    ('domain', '192.0.2.1', 'IP as domain'),
    ('domain', 'ann@example.com', 'address as domain'),
    # spellings that logs hold but an operator must not give (issue 12): the subject is given
    # plainly and every such form is matched; a value in one of them is refused, not guessed at
    ('addresses', 'ann%40example.com', 'percent-encoded at sign'),
    ('addresses', '"ann"@example.com', 'quoted local part'),
    ('addresses', 'ann%2Btag@example.com', 'percent-encoded tag separator'),
    ('ips', '%', 'percent sign alone'),
    ('ips', '192.0.2.1%25', 'percent-encoded zone suffix'),
    ('ips', '[::ffff:192.0.2.4]', 'bracketed IPv6 address'),
    ('ips', '::ffff:127.0.0.1', 'IPv4-mapped loopback'),
    ('ips', '::ffff:0.0.0.0', 'IPv4-mapped unspecified'),
    ('ips', '192.000.002.004', 'IPv4 with leading zeros (octal in some parsers)'),
]
