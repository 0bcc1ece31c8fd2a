# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The controller-side action plugins of the subject playbooks, run with a mocked task:
subject_request (validation), request_audit (the record) and bundle_join (the archive)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from unittest import mock

import pytest

from ansible.playbook.play_context import PlayContext
from ansible_collections.mailprivacy.gdpr.plugins.action import bundle_join, erasure_report, request_audit, subject_request

KEY = 'unit-test-key-0123456789'
SUBJECT = {'addresses': ['ann.lee@example.com'], 'logins': ['annlogin']}
FORBIDDEN = ['ann.lee', 'annlogin']


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Relative default directories (audit/, exports/) land in the test's directory."""
    monkeypatch.chdir(tmp_path)


def run_action(module, args, task_vars=None, check_mode=False):
    task = mock.MagicMock()
    task.args = dict(args)
    task.async_val = 0
    task.check_mode = check_mode
    task.action = 'mailprivacy.gdpr.test'
    action = module.ActionModule(task, connection=mock.MagicMock(), play_context=PlayContext(),
                                 loader=mock.MagicMock(), templar=mock.MagicMock(),
                                 shared_loader_obj=mock.MagicMock())
    return action.run(task_vars=task_vars or {})


def assert_clean(result):
    text = json.dumps(result).lower()
    for value in FORBIDDEN:
        assert value not in text


def test_subject_request_valid(tmp_path):
    result = run_action(subject_request, {'subject': SUBJECT, 'hmac_key': KEY, 'action': 'export',
                                          'stores': ['logs'], 'audit_dir': str(tmp_path / 'a'),
                                          'export_dir': str(tmp_path / 'e')},
                        task_vars={'awx_user_name': 'awx-op'})
    assert not result.get('failed') and result['changed'] is False
    request = result['request']
    assert request['operator'] == 'awx-op' and request['operator_source'] == 'awx_user_name'
    assert request['staging_dir'] == str(tmp_path / 'e' / ('.%s.partial' % request['request_id']))
    assert request['audit_dir'] == str(tmp_path / 'a') and request['check_mode'] is False
    assert_clean(result)


def test_subject_request_refuses_with_partial_request():
    result = run_action(subject_request, {'subject': {'logins': ['annlogin*']}, 'action': 'find'})
    assert result['failed'] is True
    assert result['msg'].startswith('the request was refused before any host was touched: invalid subject: logins[0]')
    assert 'gdpr_hmac_key is not set' in result['msg']
    assert result['request']['request_id'] and result['request']['subject_hmac'] is None
    assert_clean(result)


def test_subject_request_refuses_to_overwrite_an_archive(tmp_path):
    (tmp_path / 'e').mkdir(mode=0o700)
    (tmp_path / 'e' / 'case-1.tar.gz').write_bytes(b'')
    args = {'subject': SUBJECT, 'hmac_key': KEY, 'action': 'export', 'request_id': 'case-1',
            'export_dir': str(tmp_path / 'e'), 'audit_dir': str(tmp_path / 'a'), 'stores': ['logs']}
    result = run_action(subject_request, args)
    assert result['failed'] is True and 'exists already' in result['msg']
    assert not run_action(subject_request, dict(args, force=True)).get('failed')
    assert not run_action(subject_request, args, check_mode=True).get('failed')
    assert not run_action(subject_request, dict(args, action='find')).get('failed')


def test_subject_request_records_check_mode():
    result = run_action(subject_request, {'subject': SUBJECT, 'hmac_key': KEY, 'stores': ['logs']}, check_mode=True)
    assert result['request']['check_mode'] is True


def host_result(hmac_value, **kw):
    res = {'changed': False, 'subject_hmac': hmac_value, 'kind': 'user', 'failed_stores': [],
           'stores': {'logs': {'available': True, 'found': 2, 'units': 'lines', 'detail': {'live': 2},
                               'reason': '', 'manual_steps': [], 'files': []}}}
    res.update(kw)
    return res


def test_request_audit_writes_a_screened_record(tmp_path):
    prepared = run_action(subject_request, {'subject': SUBJECT, 'hmac_key': KEY, 'stores': ['logs'],
                                            'audit_dir': str(tmp_path / 'audit'), 'operator': 'op'})['request']
    hmac_value = prepared['subject_hmac']
    hostvars = {
        'mx1': {'__gdpr_find': host_result(hmac_value)},
        'mx2': {'__gdpr_find': host_result(hmac_value, failed=True, msg='user annlogin has no home')},
        'mx3': {},
    }
    result = run_action(request_audit, {'request': prepared, 'subject': SUBJECT, 'hosts': ['mx1', 'mx2', 'mx3'],
                                        'steps': ['find']}, task_vars={'hostvars': hostvars})
    assert result['changed'] is True and result['outcome'] == 'failed'
    assert result['failed_hosts'] == ['mx2', 'mx3']
    record = result['record']
    assert record['hosts']['mx1']['found'] == 2 and record['hosts']['mx2']['error'] == '[withheld: matched the subject]'
    assert record['hosts']['mx3']['outcome'] == 'not run'
    assert record['error'] == 'the request failed on 2 of 3 host(s): mx2, mx3'
    with open(result['record_path']) as handle:
        assert json.load(handle) == record
    with open(result['journal']) as handle:
        assert [json.loads(line) for line in handle] == [record]
    assert_clean(result)
    assert_clean(open(result['journal']).read())


def test_request_audit_rejected(tmp_path):
    result = run_action(request_audit, {'request': {'request_id': 'r-1', 'action': 'find'},
                                        'subject': {'logins': ['annlogin*']}, 'rejected': True,
                                        'error': 'refused: annlogin* is not valid',
                                        'audit_dir': str(tmp_path)})
    assert result['outcome'] == 'rejected' and result['record']['error'] == '[withheld: matched the subject]'
    assert os.path.basename(result['record_path']) == 'r-1.find.json'


def test_bundle_join_refuses_when_a_host_did_not_export(tmp_path):
    staging = tmp_path / 'e' / '.r-1.partial'
    os.makedirs(str(staging), 0o700)
    (staging / 'mx1.tar.gz').write_bytes(b'data of mx1')
    request = {'request_id': 'r-1', 'subject_hmac': 'ab' * 32, 'kind': 'user', 'export_dir': str(tmp_path / 'e'),
               'staging_dir': str(staging)}
    hostvars = {'mx1': {'__gdpr_export': {'complete': True, 'manifest_sha256': 'x'},
                        '__gdpr_fetch': {'dest': str(staging / 'mx1.tar.gz')}},
                'mx2': {'__gdpr_export': {'failed': True, 'complete': False}}}
    result = run_action(bundle_join, {'request': request, 'hosts': ['mx1', 'mx2']}, task_vars={'hostvars': hostvars})
    assert result['failed'] is True and result['msg'] == 'nothing was joined: mx2: the export did not complete'
    assert not staging.exists(), 'the fetched copies are removed when nothing is joined'


def test_bundle_join_verifies_and_joins(tmp_path):
    bundle = tmp_path / 'host' / 'r-1'
    (bundle / 'logs').mkdir(parents=True)
    (bundle / 'logs' / 'a.txt').write_bytes(b'line\n')
    manifest = {'format': 'mailprivacy.gdpr/subject-export', 'request_id': 'r-1', 'subject_hmac': 'ab' * 32,
                'complete': True, 'stores': {'logs': {'found': 1, 'units': 'lines', 'available': True}},
                'files': [{'path': 'logs/a.txt', 'size': 5, 'sha256': hashlib.sha256(b'line\n').hexdigest()}]}
    raw = json.dumps(manifest).encode()
    (bundle / 'manifest.json').write_bytes(raw)
    staging = tmp_path / 'e' / '.r-1.partial'
    os.makedirs(str(staging), 0o700)
    os.chmod(str(tmp_path / 'e'), 0o700)
    subprocess.run(['tar', 'czf', str(staging / 'mx1.tar.gz'), '-C', str(tmp_path / 'host'), 'r-1'], check=True)
    request = {'request_id': 'r-1', 'subject_hmac': 'ab' * 32, 'kind': 'user', 'export_dir': str(tmp_path / 'e'),
               'staging_dir': str(staging)}
    hostvars = {'mx1': {'__gdpr_export': {'complete': True, 'manifest_sha256': hashlib.sha256(raw).hexdigest()},
                        '__gdpr_fetch': {'changed': True, 'dest': str(staging / 'mx1.tar.gz')}}}
    result = run_action(bundle_join, {'request': request, 'hosts': ['mx1']}, task_vars={'hostvars': hostvars})
    assert not result.get('failed'), result
    assert result['archive']['path'] == str(tmp_path / 'e' / 'r-1.tar.gz') and result['archive']['found'] == 1
    # a manifest that does not match what the module returned fails the join
    staging.mkdir(mode=0o700)
    subprocess.run(['tar', 'czf', str(staging / 'mx1.tar.gz'), '-C', str(tmp_path / 'host'), 'r-1'], check=True)
    hostvars['mx1']['__gdpr_export']['manifest_sha256'] = '0' * 64
    result = run_action(bundle_join, {'request': request, 'hosts': ['mx1'], 'force': True},
                        task_vars={'hostvars': hostvars})
    assert result['failed'] is True
    assert result['msg'] == ('the bundles were not joined: mx1: manifest.json does not match the SHA-256 '
                             'the export returned')


@pytest.mark.parametrize('request_arg', [{}, {'request_id': 'r-1'}, {'request_id': '../x', 'subject_hmac': 'a'}])
def test_bundle_join_needs_a_complete_request(request_arg):
    result = run_action(bundle_join, {'request': request_arg, 'hosts': ['mx1']})
    assert result['failed'] is True


def test_the_actions_take_local_part_case(tmp_path):
    for module in (subject_request, request_audit):
        spec = module.ARGUMENT_SPEC['local_part_case']
        assert spec == dict(type='str', default='insensitive', choices=['insensitive', 'sensitive'])
    mixed = dict(SUBJECT, addresses=['Ann.Lee@example.com'])
    hmacs = []
    for case in ('insensitive', 'sensitive'):
        result = run_action(subject_request, {'subject': mixed, 'hmac_key': KEY, 'action': 'find', 'stores': ['logs'],
                                              'audit_dir': str(tmp_path / 'a'), 'local_part_case': case})
        assert not result.get('failed') and result['request']['local_part_case'] == case
        hmacs.append(result['request']['subject_hmac'])
    plain = run_action(subject_request, {'subject': SUBJECT, 'hmac_key': KEY, 'action': 'find', 'stores': ['logs'],
                                         'audit_dir': str(tmp_path / 'a')})
    assert hmacs[0] == plain['request']['subject_hmac'] != hmacs[1]


def test_erasure_report_takes_the_request_groups_hmac_key(tmp_path):
    """erasure_report is in the action group mailprivacy.gdpr.request, whose module_defaults set
    hmac_key: with it, the subject that screens the report must be the request's (issue 13)."""
    request = run_action(subject_request, {'subject': SUBJECT, 'hmac_key': KEY, 'action': 'erase', 'stores': ['logs'],
                                           'audit_dir': str(tmp_path / 'a')})['request']
    args = {'request': request, 'subject': SUBJECT, 'hmac_key': KEY, 'hosts': [], 'report_dir': str(tmp_path / 'r')}
    result = run_action(erasure_report, args)
    assert not result.get('failed') and result['verdict'] == 'incomplete' and os.path.isfile(result['json_path'])
    other = dict(args, subject={'addresses': ['bob@example.com']}, report_dir=str(tmp_path / 'r2'))
    result = run_action(erasure_report, other)
    assert result['failed'] is True and "is not the request's" in result['msg']
    assert not os.path.exists(str(tmp_path / 'r2'))
    assert_clean(result)
    # without the key the subject is used as given (as before issue 13)
    del other['hmac_key']
    assert not run_action(erasure_report, other).get('failed')
