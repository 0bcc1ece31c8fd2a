# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The HMAC chain of the audit journal: appends through audit.write_record (real files, real
locks, real processes for the concurrent case) and the check of audit_chain.verify against a
journal edited the ways an attacker or an accident would."""

from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
import os

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.plugin_utils import audit, audit_chain

KEY = 'audit-chain-test-key-0123456789'
OTHER_KEY = 'another-key-of-the-vault-987654'


def record(n, **extra):
    rec = audit.build_record({'request_id': 'REQ-%d' % n, 'action': 'find', 'kind': 'user',
                              'subject_hmac': 'ab' * 32, 'operator': 'op', 'started': '2025-01-01T00:00:00Z'},
                             {'mx1': {'outcome': 'ok', 'found': n, 'stores': {}, 'steps': {'find': 'ok'}}},
                             finished='2025-01-01T00:00:01Z')
    rec.update(extra)
    return rec


def trail(tmp_path, count=5, key=KEY, name='audit'):
    directory = tmp_path / name
    for n in range(1, count + 1):
        audit.write_record(str(directory), record(n), key=key)
    return directory


def lines_of(directory):
    with open(str(directory / audit.JOURNAL), 'rb') as handle:
        return handle.read().splitlines(True)


def rewrite(directory, lines):
    with open(str(directory / audit.JOURNAL), 'wb') as handle:
        handle.writelines(lines)


def check(directory, keys=(KEY,), **kwargs):
    kwargs.setdefault('files_dir', None)
    return audit_chain.verify(str(directory / audit.JOURNAL), list(keys), **kwargs)


def first(report):
    return (report['first_problem']['kind'], report['first_problem']['record'])


def test_appends_form_one_chain_that_checks(tmp_path):
    directory = trail(tmp_path, 5)
    report = check(directory, files_dir=str(directory))
    assert report['ok'] and report['problem_count'] == 0
    assert (report['records'], report['chained'], report['legacy'], report['unauthenticated']) == (5, 5, 0, 0)
    assert report['files_checked'] == 5
    chains = [json.loads(line)['chain'] for line in lines_of(directory)]
    assert [c['seq'] for c in chains] == [1, 2, 3, 4, 5]
    assert chains[0]['prev'] == audit_chain.GENESIS
    assert all(chains[i]['prev'] == chains[i - 1]['mac'] for i in range(1, 5))
    assert report['head'] == {'record': 5, 'seq': 5, 'mac': chains[4]['mac'], 'authenticated': True}
    assert report['head_anchor'] == '5:' + chains[4]['mac']


def test_the_mac_is_keyed_with_a_derived_key_never_the_raw_one(tmp_path):
    directory = trail(tmp_path, 1)
    rec = json.loads(lines_of(directory)[0])
    chain = rec.pop('chain')
    body = json.dumps(rec, sort_keys=True, separators=(',', ':')).encode()
    msg = ('%s\n%d\n' % (audit_chain.GENESIS, 1)).encode() + body
    derived = hmac.new(KEY.encode(), b'mailprivacy.gdpr audit chain v1', hashlib.sha256).digest()
    assert chain['mac'] == hmac.new(derived, msg, hashlib.sha256).hexdigest()
    assert chain['mac'] != hmac.new(KEY.encode(), msg, hashlib.sha256).hexdigest()
    assert KEY not in json.dumps(chain) and derived.hex() not in json.dumps(chain)


def test_one_byte_edited_in_a_middle_record(tmp_path):
    directory = trail(tmp_path, 5)
    lines = lines_of(directory)
    assert lines[2].count(b'"found":3') >= 1
    lines[2] = lines[2].replace(b'"found":3', b'"found":4', 1)
    rewrite(directory, lines)
    report = check(directory)
    assert not report['ok'] and first(report) == ('edited', 3) and report['first_problem']['seq'] == 3
    assert report['problem_count'] == 1


def test_a_removed_line(tmp_path):
    directory = trail(tmp_path, 5)
    lines = lines_of(directory)
    del lines[1]
    rewrite(directory, lines)
    report = check(directory)
    assert first(report) == ('removed or reordered', 2) and report['first_problem']['seq'] == 3
    assert report['problem_count'] == 1


def test_two_lines_swapped(tmp_path):
    directory = trail(tmp_path, 5)
    lines = lines_of(directory)
    lines[1], lines[2] = lines[2], lines[1]
    rewrite(directory, lines)
    report = check(directory)
    assert first(report) == ('removed or reordered', 2)
    assert all(p['kind'] == 'removed or reordered' for p in report['problems'])


def test_a_truncated_tail_needs_the_anchor_or_the_per_request_files(tmp_path):
    directory = trail(tmp_path, 5)
    anchor = check(directory)['head_anchor']
    lines = lines_of(directory)
    rewrite(directory, lines[:3])
    # the shorter chain is valid in itself: that is what the anchor is for
    assert check(directory)['ok']
    report = check(directory, expected_head=anchor)
    assert not report['ok'] and report['first_problem'] == {'kind': 'truncated', 'record': None, 'seq': 5}
    # the per-request files of the removed records are not in the journal any more
    report = check(directory, files_dir=str(directory))
    assert sorted((p['kind'], p['seq'], p['file']) for p in report['problems']) == [
        ('per-request file not in the journal', 4, 'REQ-4.find.json'),
        ('per-request file not in the journal', 5, 'REQ-5.find.json')]
    # the anchor of a record still there passes, a forged MAC for it does not
    still = '3:' + json.loads(lines[2])['chain']['mac']
    assert check(directory, expected_head=still)['ok']
    report = check(directory, expected_head='3:' + 'f' * 64)
    assert report['first_problem']['kind'] == 'anchor mismatch'
    with pytest.raises(audit_chain.ChainError):
        check(directory, expected_head='three')


def test_legacy_records_before_the_chain_are_counted_not_reported(tmp_path):
    directory = tmp_path / 'audit'
    directory.mkdir(mode=0o700)
    legacy = [json.dumps(record(n), sort_keys=True, separators=(',', ':')).encode() + b'\n' for n in (1, 2)]
    rewrite(directory, legacy)
    for n in (3, 4):
        audit.write_record(str(directory), record(n), key=KEY)
    report = check(directory)
    assert report['ok'] and (report['legacy'], report['chained']) == (2, 2)
    assert json.loads(lines_of(directory)[2])['chain']['seq'] == 1
    # an unchained record after the chain began is an insertion
    lines = lines_of(directory)
    rewrite(directory, lines[:3] + [legacy[0]] + lines[3:])
    report = check(directory)
    assert first(report) == ('inserted', 4) and report['problem_count'] == 1


def test_the_wrong_key_is_a_key_mismatch_and_an_earlier_key_is_accepted(tmp_path):
    directory = trail(tmp_path, 3)
    report = check(directory, keys=(OTHER_KEY,))
    assert first(report) == ('key mismatch', 1)
    # records written after a key change: the new key first, the earlier one as a previous key
    audit.write_record(str(directory), record(4), key=OTHER_KEY)
    assert first(check(directory, keys=(OTHER_KEY,))) == ('key mismatch', 1)
    report = check(directory, keys=(OTHER_KEY, KEY))
    assert report['ok'] and report['key_id'] == audit_chain.key_id(audit_chain.derive_key(OTHER_KEY))
    with pytest.raises(audit_chain.ChainError):
        check(directory, keys=('short',))


def test_bad_json_and_a_line_cut_by_a_crash(tmp_path):
    directory = trail(tmp_path, 3)
    lines = lines_of(directory)
    # a crash in the middle of the last append: a line without its end
    rewrite(directory, lines + [lines[2][:40]])
    audit.write_record(str(directory), record(4), key=KEY)
    lines = lines_of(directory)
    assert len(lines) == 5 and json.loads(lines[4])['chain']['seq'] == 4
    report = check(directory)
    assert first(report) == ('bad JSON', 4) and report['problem_count'] == 1
    assert report['head']['seq'] == 4


def test_records_without_a_usable_key_are_linked_and_listed(tmp_path):
    directory = trail(tmp_path, 2)
    audit.write_record(str(directory), record(3), key=None)       # refused: no key
    audit.write_record(str(directory), record(4), key='short')    # refused: key too short
    audit.write_record(str(directory), record(5), key=KEY)
    report = check(directory)
    assert report['ok'] and report['unauthenticated'] == 2 and report['unauthenticated_records'] == [3, 4]
    # an edit of an unauthenticated record is seen, also when its hash is recomputed: the next
    # authenticated record covers its link
    lines = lines_of(directory)
    rec = json.loads(lines[2])
    rec['outcome'] = 'ok-forged'
    chain = rec.pop('chain')
    forged = dict(rec)
    forged['chain'] = dict(chain, sha256=hashlib.sha256(
        ('%s\n%d\n' % (chain['prev'], chain['seq'])).encode() + audit_chain.canonical(rec)).hexdigest())
    rewrite(directory, lines[:2] + [json.dumps(forged, sort_keys=True, separators=(',', ':')).encode() + b'\n']
            + lines[3:])
    report = check(directory)
    assert first(report) == ('removed or reordered', 4)


def test_a_per_request_file_that_differs_from_the_journal(tmp_path):
    directory = trail(tmp_path, 3)
    path = directory / 'REQ-2.find.json'
    rec = json.loads(path.read_text())
    rec['totals']['found'] = 99
    path.write_text(json.dumps(rec, indent=2))
    report = check(directory, files_dir=str(directory))
    assert report['first_problem'] == {'kind': 'per-request file differs', 'record': 2, 'seq': 2,
                                       'file': 'REQ-2.find.json'}


def test_the_append_reads_only_the_end_of_the_journal(tmp_path, monkeypatch):
    directory = tmp_path / 'audit'
    directory.mkdir(mode=0o700)
    key = audit_chain.derive_key(KEY)
    lines, prev = [], audit_chain.GENESIS
    for n in range(1, 301):
        rec = record(n)
        rec['chain'] = audit_chain.seal(rec, n, prev, key)
        prev = rec['chain']['mac']
        lines.append(json.dumps(rec, sort_keys=True, separators=(',', ':')).encode() + b'\n')
    rewrite(directory, lines)
    assert check(directory)['ok']
    size = os.path.getsize(str(directory / audit.JOURNAL))
    read = []
    real = os.pread

    def counting(fd, n, offset):
        data = real(fd, n, offset)
        read.append(len(data))
        return data
    monkeypatch.setattr(os, 'pread', counting)
    audit.write_record(str(directory), record(301), key=KEY)
    assert size > 200000 and sum(read) <= 65536 + 1
    monkeypatch.undo()
    report = check(directory)
    assert report['ok'] and report['head']['seq'] == 301


def _append_many(directory, start, count):
    for n in range(start, start + count):
        audit.write_record(directory, record(n), key=KEY)


def test_two_processes_appending_at_once_keep_one_chain(tmp_path):
    directory = tmp_path / 'audit'
    audit.private_dir(str(directory))
    ctx = multiprocessing.get_context('fork')
    workers = [ctx.Process(target=_append_many, args=(str(directory), 1 + 1000 * i, 40)) for i in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    report = check(directory, files_dir=str(directory))
    assert report['ok'] and report['records'] == 80 and report['head']['seq'] == 80
    seqs = [json.loads(line)['chain']['seq'] for line in lines_of(directory)]
    assert seqs == list(range(1, 81))
    # both writers' records are there, interleaved or not
    ids = set(json.loads(line)['request_id'] for line in lines_of(directory))
    assert len(ids) == 80


def test_the_report_holds_no_record_content(tmp_path):
    directory = trail(tmp_path, 3)
    lines = lines_of(directory)
    lines[1] = lines[1].replace(b'"operator":"op"', b'"operator":"mallory"')
    rewrite(directory, lines)
    report = check(directory, files_dir=str(directory))
    text = json.dumps(report)
    assert 'mallory' not in text and 'ab' * 32 not in text and 'REQ-1' not in text
    assert first(report) == ('edited', 2)
