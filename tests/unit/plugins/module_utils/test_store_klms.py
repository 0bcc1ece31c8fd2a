# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the KLMS backup store (manual steps only)."""

from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_klms import KlmsBackupStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject

from fake_runner import FakeRunner

HMAC = 'a3' * 32


@pytest.fixture
def klms(tmp_path):
    tool = tmp_path / 'opt' / 'kaspersky' / 'klms' / 'bin' / 'klms-control'
    tool.parent.mkdir(parents=True)
    tool.write_text('#!/bin/sh\n')
    return {'klms_control': str(tool), 'klms_dirs': [], 'request_id': 'REQ-2025-0042', 'subject_hmac': HMAC}


SUBJECT = dict(addresses=['xqann7@kx7mail.test', 'xqann7.other@kx7mail.test'], logins=['xqann7'],
               ips=['192.0.2.7'])


def test_available_only_when_installed(tmp_path, klms):
    assert KlmsBackupStore(klms, FakeRunner()).available() == (True, '')
    ok, reason = KlmsBackupStore({'klms_control': str(tmp_path / 'nope'), 'klms_dirs': [str(tmp_path / 'x')]},
                                 FakeRunner()).available()
    assert not ok and 'not installed' in reason
    (tmp_path / 'etc-klms').mkdir()
    assert KlmsBackupStore({'klms_control': '', 'klms_dirs': [str(tmp_path / 'etc-klms')]},
                           FakeRunner()).available()[0]


@pytest.mark.parametrize('op', ['locate', 'erase', 'erase_check'])
def test_manual_step_names_filters_request_and_hmac_never_identifiers(klms, op):
    runner = FakeRunner()
    st = KlmsBackupStore(klms, runner)
    subject = Subject.from_params(**SUBJECT)
    if op == 'locate':
        res = st.locate(subject)
    else:
        res = st.erase(subject, check_mode=(op == 'erase_check'))
    assert res['available'] is True and res['found'] == 0 and res['erased'] == 0
    (step,) = res['manual_steps']
    assert 'REQ-2025-0042' in step and HMAC in step
    assert "'Sender email address'" in step and "'Recipient email address'" in step
    assert "'Sender IP address'" in step
    assert 'each of the 2 address(es)' in step and 'each of the 1 IP address(es)' in step
    text = json.dumps(res)
    for ident in ('xqann7', 'kx7mail', '192.0.2.7'):
        assert ident not in text
    if op == 'erase':
        assert "'Delete'" in step
    assert runner.calls == []


def test_domain_kind_names_the_domain_filter_without_the_domain(klms):
    res = KlmsBackupStore(klms, FakeRunner()).locate(Subject.from_params(domain='kx7mail.test'))
    (step,) = res['manual_steps']
    assert 'customer account' in step and 'kx7mail' not in step


def test_export_writes_the_manual_step_into_the_bundle(klms, tmp_path):
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    res = KlmsBackupStore(klms, FakeRunner()).export(Subject.from_params(**SUBJECT), str(bundle))
    (entry,) = res['files']
    path = bundle / entry['path']
    assert entry['path'] == 'klms_backup/manual-steps.json'
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry['sha256']
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert doc['manual_steps'] == res['manual_steps'] and "'Save to file'" in res['manual_steps'][0]
    assert 'xqann7' not in path.read_text() and 'kx7mail' not in path.read_text()


def test_without_request_context_the_step_points_to_the_record(tmp_path, klms):
    klms.update(request_id='', subject_hmac='')
    (step,) = KlmsBackupStore(klms, FakeRunner()).locate(Subject.from_params(**SUBJECT))['manual_steps']
    assert 'see the request record' in step


@pytest.mark.parametrize('bad', [{'request_id': 'xqann7@kx7mail.test'}, {'request_id': 'a b'},
                                 {'subject_hmac': 'not-hex'}, {'unknown': 1}])
def test_option_values_that_could_carry_identifiers_are_rejected(klms, bad):
    klms.update(bad)
    with pytest.raises(StoreError):
        KlmsBackupStore(klms, FakeRunner())
