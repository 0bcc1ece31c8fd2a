# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action plugins audit_verify (the check of the audit chain) and request_audit (the
chained append), run with a mocked task on real files."""

from __future__ import annotations

import json
import os
from unittest import mock

from ansible.playbook.play_context import PlayContext
from ansible_collections.mailprivacy.gdpr.plugins.action import audit_verify, request_audit

KEY = 'unit-test-key-0123456789'
SUBJECT = {'addresses': ['ann.lee@example.com'], 'logins': ['annlogin']}


def run_action(module, args, task_vars=None):
    task = mock.MagicMock()
    task.args = dict(args)
    task.async_val = 0
    task.check_mode = False
    task.action = 'mailprivacy.gdpr.test'
    action = module.ActionModule(task, connection=mock.MagicMock(), play_context=PlayContext(),
                                 loader=mock.MagicMock(), templar=mock.MagicMock(),
                                 shared_loader_obj=mock.MagicMock())
    return action.run(task_vars=task_vars or {})


def append(directory, n, key=KEY, rejected=False):
    request = {'request_id': 'REQ-%d' % n, 'action': 'find', 'kind': 'user', 'subject_hmac': 'cd' * 32,
               'operator': 'op', 'started': '2025-01-01T00:00:00Z'}
    args = {'request': request, 'subject': SUBJECT, 'audit_dir': str(directory), 'rejected': rejected,
            'error': 'refused' if rejected else None}
    if key is not None:
        args['hmac_key'] = key
    return run_action(request_audit, args)


def test_request_audit_chains_each_record_and_returns_its_anchor(tmp_path):
    first = append(tmp_path, 1)
    second = append(tmp_path, 2)
    assert first['record']['chain']['seq'] == 1 and second['record']['chain']['seq'] == 2
    assert second['record']['chain']['prev'] == first['record']['chain']['mac']
    assert second['chain_anchor'] == '2:' + second['record']['chain']['mac'] and second['authenticated'] is True
    with open(second['record_path']) as handle:
        assert json.load(handle) == second['record']
    # a request refused for its key is still recorded, unauthenticated
    refused = append(tmp_path, 3, key=None, rejected=True)
    assert refused['authenticated'] is False and 'sha256' in refused['record']['chain']
    assert KEY not in json.dumps([first, second, refused])


def test_audit_verify_passes_on_an_intact_trail_and_prints_the_head(tmp_path):
    for n in (1, 2, 3):
        last = append(tmp_path, n)
    result = run_action(audit_verify, {'audit_dir': str(tmp_path), 'hmac_key': KEY})
    assert not result.get('failed') and result['ok'] and result['changed'] is False
    assert result['records'] == 3 and result['files_checked'] == 3
    assert result['head_anchor'] == last['chain_anchor']
    assert any(last['chain_anchor'] in line for line in result['summary'])
    anchored = run_action(audit_verify, {'audit_dir': str(tmp_path), 'hmac_key': KEY,
                                         'expected_head': last['chain_anchor']})
    assert anchored['ok']


def test_audit_verify_fails_and_names_the_record(tmp_path):
    for n in (1, 2, 3, 4):
        append(tmp_path, n)
    journal = tmp_path / 'audit.jsonl'
    lines = journal.read_bytes().splitlines(True)
    assert b'"operator":"op"' in lines[2]
    lines[2] = lines[2].replace(b'"operator":"op"', b'"operator":"oq"')
    journal.write_bytes(b''.join(lines))
    result = run_action(audit_verify, {'audit_dir': str(tmp_path), 'hmac_key': KEY})
    assert result['failed'] is True and result['ok'] is False
    assert result['msg'].startswith('audit journal check failed at record 3, seq 3: edited')
    # the per-request file still holds the record as written: it differs from the journal now
    assert {'kind': 'per-request file differs', 'record': 3, 'seq': 3, 'file': 'REQ-3.find.json'} in result['problems']
    text = json.dumps(result)
    assert 'ann.lee' not in text and 'annlogin' not in text and KEY not in text


def test_audit_verify_refuses_without_key_or_journal_and_with_a_bad_anchor(tmp_path):
    result = run_action(audit_verify, {'audit_dir': str(tmp_path), 'hmac_key': KEY})
    assert result['failed'] and 'no audit journal' in result['msg']
    append(tmp_path, 1)
    result = run_action(audit_verify, {'audit_dir': str(tmp_path)})
    assert result['failed'] and 'hmac_key is not set' in result['msg']
    result = run_action(audit_verify, {'audit_dir': str(tmp_path), 'hmac_key': KEY, 'expected_head': 'latest'})
    assert result['failed'] and 'SEQ:MAC' in result['msg']
    result = run_action(audit_verify, {'audit_dir': str(tmp_path), 'hmac_key': 'another-key-0123456789'})
    assert result['failed'] and 'key mismatch' in result['msg']
    os.unlink(str(tmp_path / 'audit.jsonl'))
    os.symlink('/etc/passwd', str(tmp_path / 'audit.jsonl'))
    result = run_action(audit_verify, {'audit_dir': str(tmp_path), 'hmac_key': KEY})
    assert result['failed'] and 'cannot be read' in result['msg'] and 'root' not in json.dumps(result)
