# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The independent broad check (module_utils/proof_check.py) on real files.

The six spellings the matcher of issue 12 missed (IPv4-mapped IPv6, non-canonical IPv6, a
percent-encoded address, a qmail virtual-domain delivery name, a quoted local part, an upper-case
local part) are left in plain, gzip, bzip2, xz and multilog files by a deliberately weak matcher
(it removes only the canonical spellings, as the old one did); the check counts exactly those
lines, while the lines of other users (``hartmann@``, ``192.0.2.40``, ``joann``) are no
candidates and a look-alike (``ann-marie@``) is. The result holds counts and file names or
hashes only, never a line."""

from __future__ import annotations

import ast
import bz2
import gzip
import io
import json
import lzma
import os
import re

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import proof_check
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.proof_check import (
    BroadCheck,
    file_label,
    iter_export_values,
    run_check,
    scan_file,
    scan_journal,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_journal import JournalStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_logs import LogFile, LogStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject

from fake_runner import FakeRunner

ANN = Subject.from_params(addresses=['ann@example.com'], ips=['192.0.2.4', '2001:db8::1'])
ANN_LOGIN = Subject.from_params(addresses=['ann@example.com'], logins=['ann'], ips=['192.0.2.4'])
IDENTIFIERS = ['ann', 'example.com', '192.0.2.4', '2001:db8', '2001:0db8', 'c000:204', 'hartmann']

# what the matcher of issue 12 missed (one line each), and what it found
MISSES = {
    'ipv4-mapped': b'Nov 23 10:00:01 mx dovecot: imap-login: Login: user=<x7>, rip=::ffff:c000:204, lip=10.0.0.1',
    'ipv6-non-canonical': b'Nov 23 10:00:02 mx dovecot: pop3-login: Aborted login (no auth attempts): rip=2001:0db8:0:0::1',
    'percent-encoded': b'Nov 23 10:00:03 mx horde: Login success for ANN%40EXAMPLE.COM to imap',
    'qmail-virtual-domain': b'Nov 23 10:00:04 mx qmail: 1700000004.1 delivery 7: success: example.com-ann@example.com',
    'quoted-local-part': b'Nov 23 10:00:05 mx postfix/smtp[2]: to=<"ann"@example.com>, relay=local',
    'local-part-case': b'Nov 23 10:00:06 mx postfix/local[3]: to=<ANN@example.com>, status=sent',
}
CANONICAL = [
    b'Nov 23 09:00:01 mx dovecot: imap-login: Login: user=<ann@example.com>, rip=192.0.2.4',
    b'Nov 23 09:00:02 mx dovecot: imap-login: Login: user=<x7>, rip=2001:db8::1',
]
OTHERS = [
    b'Nov 23 11:00:01 mx dovecot: imap-login: Login: user=<hartmann@example.com>, rip=192.0.2.40',
    b'Nov 23 11:00:02 mx dovecot: imap-login: Login: user=<joann@example.com>, rip=192.0.2.44',
    b'Nov 23 11:00:03 mx postfix/smtpd[4]: connect from mail.example.com[198.51.100.4]',
    b'Nov 23 11:00:04 mx dovecot: imap-login: Login: user=<x8>, rip=2001:db8::10',
    b'Nov 23 11:00:05 mx postfix/smtp[5]: to=<ann@example.community>, relay=1.192.0.2.4',
    b'Nov 23 11:00:06 mx postfix/qmgr[9]: 4711ABC: removed',
]


# the matcher before issue 12 (plugins/module_utils/subject.py at 0.4), written out for ANN: the
# local part exact, the domain case-insensitive, IPs as written; whatever MATCH's fixed matcher does,
# this one misses the six spellings
OLD_MATCHER = re.compile(
    rb'(?<![A-Za-z0-9._%+\x80-\xff-])ann@(?i:example\.com)(?![A-Za-z0-9_\x80-\xff-])(?!\.[A-Za-z0-9_\x80-\xff-])'
    rb'|(?<![0-9.])192\.0\.2\.4(?![0-9])(?!\.[0-9])'
    rb'|(?<![0-9A-Fa-f:])(?i:2001:db8::1)(?![0-9A-Fa-f:])')


def weak_matcher_leaves(line):
    """Whether the old matcher leaves the line (an erasure with it keeps the line)."""
    return OLD_MATCHER.search(line) is None


def _compress(kind, data):
    return {'plain': lambda d: d, 'gz': gzip.compress, 'bz2': bz2.compress, 'xz': lzma.compress}[kind](data)


def _layout(tmp_path, kind):
    """(path of the file to write, LogStore paths) for a kind of log file."""
    if kind == 'multilog':
        directory = tmp_path / 'qmail' / 'smtpd'
        directory.mkdir(parents=True)
        return directory / '@4000000065123456789abcde.s', [str(tmp_path / 'qmail' / '**')]
    (tmp_path / 'log').mkdir()
    name = {'plain': 'mail.log', 'gz': 'mail.log.2.gz', 'bz2': 'mail.log.3.bz2', 'xz': 'mail.log.4.xz'}[kind]
    return tmp_path / 'log' / name, [str(tmp_path / 'log' / '*')]


@pytest.mark.parametrize('kind', ['plain', 'gz', 'bz2', 'xz', 'multilog'])
@pytest.mark.parametrize('miss', sorted(MISSES))
def test_every_miss_of_the_matcher_is_a_candidate_in_every_kind_of_file(tmp_path, kind, miss):
    lines = CANONICAL + [MISSES[miss]] + OTHERS
    left = [line for line in lines if weak_matcher_leaves(line)]
    assert MISSES[miss] in left and not [c for c in CANONICAL if c in left]
    path, paths = _layout(tmp_path, kind)
    path.write_bytes(_compress(kind if kind != 'multilog' else 'plain', b'\n'.join(left) + b'\n'))
    out = run_check(ANN, [LogStore({'paths': paths})])
    assert out['ran'] is True and 'error' not in out
    assert (out['candidates'], out['lines'], out['journal'], out['unreadable']) == (1, 1, 0, 0)
    category = {'plain': 'live', 'multilog': 'multilog'}.get(kind, 'compressed')
    assert [(f['category'], f['candidates'], f['hashed']) for f in out['files']] == [(category, 1, True)]
    text = json.dumps(out).lower()
    assert not [v for v in IDENTIFIERS if v in text] and str(tmp_path).lower() not in text


def test_an_ipv4_mapped_subject_address_is_found_in_its_ipv4_spellings():
    check = BroadCheck.from_subject(Subject.from_params(ips=['::ffff:192.0.2.4']))
    for line in (b'rip=::ffff:192.0.2.4', b'rip=192.0.2.4', b'rip=[::FFFF:C000:204]', b'ip=[::ffff:192.0.2.4]:993'):
        assert check.count(line + b'\n') == 1, line
    assert check.count(b'rip=192.0.2.40\nrip=::ffff:192.0.2.40\n') == 0


def test_the_lines_of_other_users_are_no_candidates_and_a_look_alike_is(tmp_path):
    for line in OTHERS:
        assert not BroadCheck.from_subject(ANN).is_candidate(line), line
    check = BroadCheck.from_subject(ANN_LOGIN)
    # the login is a token in the look-alike domain's line, in no other
    assert [line for line in OTHERS if check.is_candidate(line)] == [OTHERS[4]]
    for line in (b'to=<ann-marie@example.com>', b'to=<marie-ann@example.com>', b'to=<ann.smith@example.com>',
                 b'to=<ann+news@example.com>', b'to=<ann@mail.example.com>', b'user=ann, method=PLAIN',
                 b'/home/ann/Maildir: quota exceeded', b'USER#011ann#011method=PLAIN'):
        assert check.is_candidate(line), line
    # an address's local part alone, or in another word than the domain, or as a host name is not one
    address_only = BroadCheck.from_subject(ANN)
    for line in (b'user=ann', b'Info: ann: imap(bob@example.com)', b'connect from ann.example.com[198.51.100.1]',
                 b'ann1@example.com', b'hartmann@example.com', b'joann@example.com', b'ann@example.com.evil'):
        assert not address_only.is_candidate(line), line
    # a real file: one line of the look-alike among other users
    (tmp_path / 'log').mkdir()
    (tmp_path / 'log' / 'mail.log').write_bytes(b'\n'.join(OTHERS + [b'x to=<ann-marie@example.com>']) + b'\n')
    assert run_check(ANN, [LogStore({'paths': [str(tmp_path / 'log' / '*')]})])['lines'] == 1


@pytest.mark.parametrize('line', [
    b'rip=192.0.2.4', b'ip=[192.0.2.4]:25', b'tcpserver: ok 1 0:10.0.0.1:25 :192.0.2.4::40001',
    b'rip=::ffff:192.0.2.4', b'rip=[::FFFF:C000:204]', b'rip=::ffff:c000:0204', b'rip=::192.0.2.4',
    b'rip=192.000.002.004', b'reverse 4.2.0.192.in-addr.arpa', b'dnsbl 4.2.0.192.zen.example.net',
    b'connect from dsl-192-0-2-4.pool.example.net', b'ppp-4-2-0-192.example.net',
    b'rip=2001:DB8::1', b'rip=2001:0db8:0000:0000:0000:0000:0000:0001', b'rip=[2001:db8::1]:993',
    b'rip=2001:db8:0:0:0:0:0.0.0.1', b'ip:2001:db8::1 ok', b'rip=2001:db8::1%eth0',
    b'1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa',
])
def test_every_spelling_of_an_ip_address_is_a_candidate(line):
    assert BroadCheck(ips=['192.0.2.4', '2001:db8::1']).count(b'x\n' + line + b'\ny\n') == 1


@pytest.mark.parametrize('line', [
    b'rip=192.0.2.40', b'rip=192.0.2.41', b'rip=1.192.0.2.4', b'rip=192.0.2.4.5', b'v192.0.2.45',
    b'rip=2001:db8::10', b'rip=2001:db8::1:0', b'rip=::ffff:192.0.2.40', b'10:00:01 dovecot',
    b'dsl-192-0-2-40.example.net', b'id 2001-01-02',
])
def test_neighbouring_addresses_are_no_candidates(line):
    assert BroadCheck(ips=['192.0.2.4', '2001:db8::1']).count(line + b'\n') == 0


def test_an_internationalised_domain_in_both_forms_and_every_case():
    check = BroadCheck(addresses=['ann@xn--bcher-kva.example'])
    for line in ('to=<ann@xn--bcher-kva.example>', 'to=<ann@bücher.example>', 'to=<ANN@BÜCHER.EXAMPLE>',
                 'to=<ann%40b%C3%BCcher.example>'):
        assert check.count(line.encode('utf-8') + b'\n') == 1, line
    assert check.count('to=<ann@bucher.example>\n'.encode('utf-8')) == 0


def test_a_customer_domain_is_a_candidate_as_a_domain_token():
    check = BroadCheck.from_subject(Subject.from_params(domain='kunde.example'))
    for line in (b'to=<bob@kunde.example>', b'connect from mail.KUNDE.example[198.51.100.9]',
                 b'kunde.example-bob@kunde.example', b'user=bob%40kunde.example', b'end of kunde.example.'):
        assert check.is_candidate(line), line
    for line in (b'to=<bob@notkunde.example>', b'to=<bob@kunde.example.evil>', b'my-kunde.example',
                 b'kunde.examples'):
        assert not check.is_candidate(line), line


def test_candidate_lines_are_counted_once_across_chunks(tmp_path):
    # many lines, several needles per line, a candidate line astride a chunk boundary
    body = []
    for i in range(5000):
        body.append(b'line %d user=<hartmann@example.com> rip=192.0.2.40' % i)
        if i % 500 == 0:
            body.append(b'line %d to=<ANN@example.com> rip=::ffff:192.0.2.4 dsl-192-0-2-4' % i)
    data = b'\n'.join(body)            # no final newline
    path = tmp_path / 'mail.log'
    path.write_bytes(data)
    check = BroadCheck.from_subject(ANN)
    for chunk in (64, 4096, 1 << 20):
        assert scan_file(str(path), check, chunk_size=chunk) == (10, True)


def test_a_damaged_file_is_counted_up_to_the_damage_and_reported_unreadable(tmp_path):
    (tmp_path / 'log').mkdir()
    good = b'\n'.join([MISSES['local-part-case']] * 3 + [b'x' * 200] * 2000) + b'\n'
    packed = gzip.compress(good)
    (tmp_path / 'log' / 'mail.log.2.gz').write_bytes(packed[:len(packed) // 2])
    out = run_check(ANN, [LogStore({'paths': [str(tmp_path / 'log' / '*')]})])
    assert out['unreadable'] == 1 and out['lines'] == 3 and 'error' not in out


def test_a_symbolic_link_or_a_fifo_is_not_read(tmp_path):
    (tmp_path / 'secret').write_bytes(MISSES['local-part-case'] + b'\n')
    os.symlink(str(tmp_path / 'secret'), str(tmp_path / 'mail.log'))
    with pytest.raises(OSError):
        scan_file(str(tmp_path / 'mail.log'), BroadCheck.from_subject(ANN))
    os.mkfifo(str(tmp_path / 'fifo.log'))
    with pytest.raises(OSError):
        scan_file(str(tmp_path / 'fifo.log'), BroadCheck.from_subject(ANN))


def test_file_names_are_shown_only_for_harmless_default_locations():
    check = BroadCheck.from_subject(ANN_LOGIN)
    shown = LogFile('/var/log/mail.log.2.gz', 'compressed', 'gz', 10, True)
    assert file_label(shown, check, ANN_LOGIN) == ('/var/log/mail.log.2.gz', False)
    for path, default in (('/var/log/qmail/ann/current', True),            # the login
                          ('/var/log/qmail/hannah/current', True),         # a piece of it
                          ('/var/log/dovecot-example.com.log', True),      # the domain
                          ('/var/log/mail-192.0.2.4.log', False),
                          ('/srv/log/mail.log', False),                    # not a default location
                          ('/var/log/mail.log', False)):
        name, hashed = file_label(LogFile(path, 'live', None, 10, default), check, ANN_LOGIN)
        assert hashed and len(name) == 32 and all(c in '0123456789abcdef' for c in name), path


def test_escapes_are_decoded_but_the_raw_line_counts_too():
    check = BroadCheck.from_subject(ANN)
    for line in (b'to=<ann%2540example.com>', b'to=<ann&#64;example.com>', b'to=<ann\\x40example.com>',
                 b'to=<ann\\100example.com>', b'{"to": "ann\\u0040example.com"}', b'to=<ann#100example.com>',
                 b'to=<ann@example%2ecom>', b'to=<ann%40example%2Ecom>'):
        assert check.count(line + b'\n') == 1, line
    # a percent sign that is no escape leaves the raw line as it is
    assert check.is_candidate(b'100% sure: ann@example.com')
    # an escape whose last hex digit is a letter, right before the local part or login
    login = BroadCheck(logins=['ann'])
    for line in (b'GET /login?user%3Dann%26x=1', b'args: user\\x3dann', b'{"u": "x\\u002cann"}', b'USER%0AANN'):
        assert login.count(line + b'\n') == 1, line
    assert login.count(b'user=hartmann\nuser=anna\nuser=ann7\nuser%3Dhartmann\n') == 0


# ------------------------------------------------------------------------------ journal
def _export(*entries):
    out = b''
    for fields in entries:
        for name, value in fields:
            if b'\n' in value or b'\x01' in value:
                out += name + b'\n' + len(value).to_bytes(8, 'little') + value + b'\n'
            else:
                out += name + b'=' + value + b'\n'
        out += b'\n'
    return out


JOURNAL = _export(
    [(b'__CURSOR', b's=1'), (b'_BOOT_ID', b'b1'), (b'SYSLOG_IDENTIFIER', b'dovecot'),
     (b'MESSAGE', b'imap-login: Login: user=<ANN@EXAMPLE.COM>')],
    [(b'__CURSOR', b's=2'), (b'MESSAGE', b'multi\nline rip=::ffff:192.0.2.4\n')],            # binary field
    [(b'__CURSOR', b's=3'), (b'_CMDLINE', b'doveadm -u ann%40example.com expunge'), (b'MESSAGE', b'done')],
    [(b'__CURSOR', b's=4'), (b'MESSAGE', b'imap-login: Login: user=<hartmann@example.com>, rip=192.0.2.40')],
    [(b'__CURSOR', b's=5'), (b'MESSAGE', b'to=<ANN@example.com>'), (b'CODE', b'\x01\x02 ann@example.com')],
)


def test_journal_entries_with_a_candidate_in_any_field_are_counted_once():
    values = list(iter_export_values(io.BytesIO(JOURNAL), chunk_size=7))
    assert values[5] == (1, b'multi\nline rip=::ffff:192.0.2.4\n') and values[-1][0] == 4
    for batch in (16, 1 << 20):
        assert scan_journal(io.BytesIO(JOURNAL), BroadCheck.from_subject(ANN), batch=batch) == 4


def test_run_check_reads_the_journal_as_the_journal_store_does(tmp_path):
    runner = FakeRunner(streams={'journalctl': JOURNAL})
    store = JournalStore({'directories': [str(tmp_path)], 'args': ['--since', '2026-01-01']}, runner)
    out = run_check(ANN, [store])
    assert (out['ran'], out['candidates'], out['journal'], out['lines'], out['files']) == (True, 4, 4, 0, [])
    assert runner.calls == [['/usr/bin/journalctl', '--no-pager', '--quiet', '--output=export',
                             '--since', '2026-01-01']]
    # a failing journalctl: the error names the store, not a value; the log files still count
    (tmp_path / 'log').mkdir()
    (tmp_path / 'log' / 'mail.log').write_bytes(MISSES['ipv4-mapped'] + b'\n')
    out = run_check(ANN, [LogStore({'paths': [str(tmp_path / 'log' / '*')]}),
                          JournalStore({'directories': [str(tmp_path)]}, FakeRunner(streams={'journalctl': (1, JOURNAL)}))])
    assert out['ran'] is True and out['lines'] == 1 and out['error'] == 'journal: journalctl failed (exit 1)'
    # a journal read that failed counts nothing: the error itself is for review
    assert out['journal'] == 0 and out['candidates'] == 1


def test_the_check_shares_no_code_with_the_matcher():
    """It reads with the log engine's readers (files, decompression, whole-line regions, the
    journal export parser) but never matches with the matcher: no matcher class, method or
    module, and the engine's region splitter is only ever called without a matcher."""
    tree = ast.parse(open(proof_check.__file__, encoding='utf-8').read())
    used = set()
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.ImportFrom):
            modules.add(node.module)
            used.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, 'id', None) == 'iter_regions':
            assert len(node.args) == 1 and not node.keywords, 'iter_regions called with a matcher'
    matcher = {'LineMatcher', 'SubjectMatcher', 'regex', 'prefilter', 'needles', 'matches', 'fold_needles',
               'iter_classified', 'classify', 'Subject', 'hits', 'scan', 'redact_file'}
    assert not used & matcher
    assert not [m for m in modules if m.endswith(('.subject', '.log_redact'))]


def test_many_workers_give_the_same_counts(tmp_path):
    (tmp_path / 'log').mkdir()
    for i in range(6):
        (tmp_path / 'log' / ('mail.log.%d.gz' % (i + 2))).write_bytes(
            gzip.compress(b'\n'.join([MISSES['percent-encoded']] * (i + 1) + OTHERS) + b'\n'))
    for workers in (1, 3):
        out = run_check(ANN, [LogStore({'paths': [str(tmp_path / 'log' / '*')], 'workers': workers})])
        assert out['lines'] == 21 and len(out['files']) == 6


# the table of docs/erasure.md, "The independent check"
DOCS_TABLE = [
    (b'ANN@example.com', True), (b'ann@EXAMPLE.COM', True), (b'ANN%40EXAMPLE.COM', True),
    (b'ann&#64;example.com', True), (b'"ann"@example.com', True), (b'<ann@example.com>', True),
    (b'user=ann@example.com,', True), (b'example.com-ann@example.com', True), (b'ann-marie@example.com', True),
    (b'marie.ann@example.com', True), (b'ann+news@example.com', True), (b'ann@mail.example.com', True),
    (b'hartmann@example.com', False), (b'joann@example.com', False), (b'ann1@example.com', False),
    (b'ann@example.com.evil', False), (b'ann@example.community', False), (b'ann@my-example.com', False),
    (b'ann.example.com', False), (b'user=ann from=<bob@example.com>', False),
    (b'rip=192.0.2.40', False), (b'rip=1.192.0.2.4', False), (b'rip=2001:db8::10', False),
]


@pytest.mark.parametrize('line,expected', DOCS_TABLE)
def test_the_table_of_the_docs(line, expected):
    check = BroadCheck(addresses=['ann@example.com'], ips=['192.0.2.4', '2001:db8::1'])
    assert check.count(b'Nov 23 10:00:00 mx x: ' + line + b'\n') == int(expected)
    assert check.is_candidate(line) is expected


def test_non_ascii_local_parts_and_logins_in_any_case():
    check = BroadCheck(addresses=['jürgen.groß@example.com'], logins=['jürgen'])
    for line in ('to=<JÜRGEN.GROSS@EXAMPLE.COM>', 'to=<jürgen.groß@example.com>', 'user=JÜRGEN', 'user=jürgen'):
        assert check.count(line.encode('utf-8') + b'\n') == 1, line
    assert check.count('user=jürgens\n'.encode('utf-8')) == 0


def test_a_file_without_newlines_is_searched_whole(tmp_path):
    path = tmp_path / 'mail.log'
    path.write_bytes((b'x' * 5000 + b' ANN@example.com ') * 3)
    assert scan_file(str(path), BroadCheck.from_subject(ANN), chunk_size=256 * 1024) == (1, True)
