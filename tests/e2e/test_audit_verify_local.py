# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The audit trail's HMAC chain end to end, through ansible-runner on localhost: two requests
(subject_find.yml) append two chained records, the playbook mailprivacy.gdpr.audit_verify (run
by its FQCN, as an operator or an AWX job template does) passes and prints the head; after one
record of audit.jsonl is edited it fails and names the record; after the tail is cut it fails
only against the head kept from the first check. No identifier reaches any artifact."""

from __future__ import annotations

import json

import pytest

from e2e_helpers import leaks, run_playbook, write_yaml

pytest.importorskip('ansible_runner')

ADDRESS = 'ann.chain@verify.example'
LOGIN = 'annchain7'


def verify_results(run):
    return [res for _host, event, res in run.results('Check the HMAC chain of audit.jsonl and the per-request files')
            if event in ('runner_on_ok', 'runner_on_failed')]


def test_audit_verify_passes_then_names_the_edited_record(tmp_path, key_file):
    logs = tmp_path / 'log'
    logs.mkdir()
    (logs / 'mail.log').write_text(
        'Nov 23 10:00:01 mx1 dovecot: imap-login: Login: user=<%s>, method=PLAIN\n'
        'Nov 23 10:00:02 mx1 dovecot: imap(%s): Logged out\n'
        'Nov 23 10:00:03 mx1 dovecot: imap(bob@verify.example): Logged out\n' % (ADDRESS, LOGIN))
    inventory = tmp_path / 'inventory.ini'
    inventory.write_text('[mail_servers]\nlocalhost ansible_connection=local ansible_python_interpreter=%s\n'
                         % __import__('sys').executable)
    audit = tmp_path / 'audit'
    settings = write_yaml(tmp_path / 'settings.yml', {
        'gdpr_stores': ['logs'],
        'gdpr_store_options': {'logs': {'paths': [str(logs / '*')]}},
        'gdpr_audit_dir': str(audit),
        'gdpr_operator': 'e2e-operator',
    })
    subject = write_yaml(tmp_path / 'subject.yml', {'gdpr_subject': {'addresses': [ADDRESS], 'logins': [LOGIN]}})

    runs = []
    for n in (1, 2):
        run = run_playbook(tmp_path, 'subject_find.yml', inventory, [settings, key_file, subject], name='find%d' % n)
        assert run.rc == 0, run.stdout[-3000:]
        assert 'audit chain: %d:' % n in run.stdout
        runs.append(run)

    verified = run_playbook(tmp_path, 'mailprivacy.gdpr.audit_verify', inventory, [settings, key_file], name='verify1')
    runs.append(verified)
    assert verified.rc == 0, verified.stdout[-3000:]
    [result] = verify_results(verified)
    assert result['ok'] and result['records'] == 2 and result['chained'] == 2 and result['files_checked'] == 2
    anchor = result['head_anchor']
    assert anchor.startswith('2:') and anchor in verified.stdout

    # an edited record: the check fails and names it
    journal = audit / 'audit.jsonl'
    lines = journal.read_bytes().splitlines(True)
    record = json.loads(lines[0])
    assert record['operator'] == 'e2e-operator'
    lines[0] = lines[0].replace(b'"operator":"e2e-operator"', b'"operator":"someone-else"')
    journal.write_bytes(b''.join(lines))
    tampered = run_playbook(tmp_path, 'mailprivacy.gdpr.audit_verify', inventory, [settings, key_file],
                            name='verify2')
    runs.append(tampered)
    assert tampered.rc != 0
    assert 'audit journal check failed at record 1, seq 1: edited' in tampered.stdout

    # the journal cut after its first record: valid in itself, caught by the head kept earlier
    # (and by the per-request file of the removed record)
    lines[0] = lines[0].replace(b'"operator":"someone-else"', b'"operator":"e2e-operator"')
    journal.write_bytes(lines[0])
    anchored = write_yaml(tmp_path / 'anchor.yml', {'gdpr_audit_expected_head': anchor})
    cut = run_playbook(tmp_path, 'mailprivacy.gdpr.audit_verify', inventory, [settings, key_file, anchored],
                       name='verify3')
    runs.append(cut)
    assert cut.rc != 0
    [result] = verify_results(cut)
    kinds = sorted(p['kind'] for p in result['problems'])
    assert kinds == ['per-request file not in the journal', 'truncated']

    for run in runs:
        found = leaks(list(run.artifact_files()), [ADDRESS, LOGIN, 'ann.chain', 'verify.example'])
        assert not found, found
