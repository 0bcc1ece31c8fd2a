# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The contract every registered store keeps, over a fixture host per store (store_cases.py).

For every store class of the registry (a new store is covered, or the test fails because it
has no fixture host):

* locate finds the subject's data (> 0);
* the export holds it, and erase in check mode touches nothing: the fixture's trees (every
  file's bytes, every entry's mode and mtime, links, directories) and the tool fakes' state are
  what they were, and the runner saw no command that changes something (only the store's
  read-only commands), no signal and no input written to a command;
* check mode is a trustworthy preview: it announces what the real erasure then removes;
* the real erasure removes the data: locate again is 0, and a second erasure finds nothing;
* the other person's data (often a look-alike of the subject) is unchanged: the same count and
  the same exported content before and after;
* no identifier of the subject or of the other person (address in any case, percent-encoded,
  local part, domain, login, IP address in any textual form) appears anywhere in any Result.

A store that only gives manual steps (klms_backup) keeps the assertions that apply: nothing
found and nothing erased (found = erased = 0) but a manual step in every result, check mode and
the real erasure touch nothing at all and run no command, and no identifier in any result."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import stat

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_registry import get_stores
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject

from store_cases import CASES

REGISTERED = [cls.name for cls in get_stores()]


def tree_snapshot(top):
    """{path relative to top: (type, mode, mtime_ns, size, sha256 or link target)} of top and
    everything below it."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in ['.'] + dirnames + filenames:
            path = os.path.normpath(os.path.join(dirpath, name))
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                content = os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                with open(path, 'rb') as handle:
                    content = hashlib.sha256(handle.read()).hexdigest()
            else:
                content = None
            out[os.path.relpath(path, top)] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode),
                                               info.st_mtime_ns, info.st_size, content)
    return out


def host_state(case):
    return [tree_snapshot(top) for top in case.trees], case.state()


def identifier_patterns(params):
    """Regular expressions for every form of the identifiers in Subject.from_params arguments."""
    words = set()
    for address in params.get('addresses') or []:
        local, domain = address.lower().rsplit('@', 1)
        words.update([address.lower(), address.lower().replace('@', '%40'), local, domain])
    words.update(login.lower() for login in params.get('logins') or [])
    if params.get('domain'):
        words.add(params['domain'].lower())
    for text in params.get('ips') or []:
        ip = ipaddress.ip_address(text)
        words.update([str(ip), ip.exploded])
        if ip.version == 4:
            words.update(['::ffff:' + str(ip), str(ipaddress.IPv6Address('::ffff:' + str(ip)))])
    return [re.compile(r'(?<![a-z0-9])' + re.escape(w) + r'(?![a-z0-9])') for w in sorted(words)]


def assert_no_identifier(result, case, what):
    text = json.dumps(result, sort_keys=True, default=str).lower()
    for params in (case.subject, case.other):
        found = [p.pattern for p in identifier_patterns(params) if p.search(text)]
        assert not found, '%s: the result names an identifier (%s)' % (what, ', '.join(found))


def export_view(store, subject, bundle, kinds):
    """(found, detail, sorted (kind, count, sha256) of the exported files)."""
    os.mkdir(bundle)
    res = store.export(subject, bundle)
    files = sorted((f['kind'], f['count'], f['sha256']) for f in res['files'] if kinds is None or f['kind'] in kinds)
    return res, (res['found'], files)


def make_case(name, tmp_path):
    assert name in CASES, (
        'store %r is registered but has no fixture host in tests/unit/plugins/module_utils/store_cases.py: '
        'add a factory to CASES (a tmp_path tree with data of the subject and of another person, and the '
        'FakeRunner answering its tools) so that the store contract test covers it' % name)
    tmp_path.mkdir()
    case = CASES[name](tmp_path)
    if case is None:
        if os.environ.get('CI'):
            pytest.fail('%s: the tools its fixture host needs are not installed (make deps installs them)' % name)
        pytest.skip('%s: the tools its fixture host needs are not installed' % name)
    return case


def test_every_store_has_a_fixture_host_and_every_fixture_a_store():
    missing = [name for name in REGISTERED if name not in CASES]
    assert not missing, 'registered stores without a fixture host in store_cases.CASES: %s' % ', '.join(missing)
    stale = sorted(set(CASES) - set(REGISTERED))
    assert not stale, 'fixture hosts of stores the registry does not have: %s' % ', '.join(stale)


@pytest.mark.parametrize('name', REGISTERED)
def test_store_contract(name, tmp_path):
    cls = dict((c.name, c) for c in get_stores())[name]
    case = make_case(name, tmp_path / 'host')
    subject = Subject.from_params(**case.subject)
    other = Subject.from_params(**case.other)
    runner = case.runner

    def store():
        return cls(case.options, runner)

    results = []

    def check(result, what):
        assert result['store'] == name, what
        assert_no_identifier(result, case, what)
        results.append(result)
        return result

    assert store().available() == (True, ''), 'the fixture host does not make the store available'
    located = check(store().locate(subject), 'locate')
    exported, _view = export_view(store(), subject, str(tmp_path / 'bundle-subject'), None)
    check(exported, 'export')
    if case.manual_only:
        assert located['found'] == 0 and located['manual_steps'], 'a manual-steps store found data or gave no step'
    else:
        assert located['found'] > 0, 'locate found nothing of the subject on the fixture host'
        assert exported['files'], 'the export wrote nothing of the subject'
        other_res, other_before = export_view(store(), other, str(tmp_path / 'bundle-other-before'), case.other_kinds)
        check(other_res, 'export of the other person')
        assert other_before[0] > 0, 'the fixture host holds nothing of the other person'

    # check mode: a preview that touches nothing
    before = host_state(case)
    ran = len(runner.records)
    signals = len(runner.signals)
    preview = check(store().erase(subject, check_mode=True), 'erase in check mode')
    assert host_state(case) == before, 'erase in check mode changed the fixture host'
    changing = [runner.named[i] for i in range(ran, len(runner.records))
                if runner.records[i].kind == 'sink' or not case.read_only(runner.records[i].argv)]
    assert not changing, 'erase in check mode ran commands that change something: %r' % (
        sorted(set(argv[0] for argv in changing)),)
    assert len(runner.signals) == signals, 'erase in check mode signalled a process'

    ran = len(runner.records)
    erased = check(store().erase(subject, check_mode=False), 'erase')
    changed_with = set(runner.named[i][0] for i in range(ran, len(runner.records))
                       if runner.records[i].kind == 'sink' or not case.read_only(runner.records[i].argv))
    assert changed_with == case.changes_with, 'the erasure changed things with %r, the fixture host expects %r' % (
        sorted(changed_with), sorted(case.changes_with))
    after = check(store().locate(subject), 'locate after the erasure')
    again = check(store().erase(subject, check_mode=False), 'a second erasure')
    if case.manual_only:
        for res in (preview, erased, again):
            assert res['found'] == 0 and res['erased'] == 0 and res['manual_steps']
        assert host_state(case) == before, 'a manual-steps store changed the fixture host'
        assert runner.records == [], 'a manual-steps store ran commands'
    else:
        assert erased['erased'] > 0, 'the erasure removed nothing'
        assert preview['erased'] == erased['erased'], 'check mode announced %d, the erasure removed %d' % (
            preview['erased'], erased['erased'])
        assert after['found'] == 0, 'locate finds %d item(s) of the subject after the erasure' % after['found']
        assert again['found'] == 0 and again['erased'] == 0
        other_res, other_after = export_view(store(), other, str(tmp_path / 'bundle-other-after'), case.other_kinds)
        check(other_res, 'export of the other person after the erasure')
        assert other_after == other_before, "the erasure changed the other person's data"
