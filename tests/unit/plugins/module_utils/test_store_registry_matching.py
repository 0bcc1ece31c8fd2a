# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The target-side request preparation and the matching options of issue 12: local_part_case in
the shared argument spec, qmail's control/virtualdomains read on the host (real files and a FIFO)."""

from __future__ import annotations

import os
import threading

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import store_registry
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError

KEY = 'test-hmac-key-0123456789'


def control(tmp_path, **files):
    root = tmp_path / 'control'
    root.mkdir(exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return str(root)


def params(**extra):
    base = dict(addresses=['ann@example.com'], logins=[], ips=[], domain=None, plus_separator='+',
                hmac_key=KEY, stores=['logs'], store_options={})
    base.update(extra)
    return base


def test_argument_spec_has_local_part_case():
    spec = store_registry.SUBJECT_ARGUMENT_SPEC['local_part_case']
    assert spec == dict(type='str', default='insensitive', choices=['insensitive', 'sensitive'])


def test_local_part_case_reaches_the_subject(tmp_path):
    missing = str(tmp_path / 'none')
    subject = store_registry.prepare_request(params(), qmail_control_dir=missing)[0]
    assert subject.case_sensitive_local is False and subject.matches(b'to=<ANN@example.com>')
    subject = store_registry.prepare_request(params(local_part_case='sensitive'), qmail_control_dir=missing)[0]
    assert subject.case_sensitive_local is True and not subject.matches(b'to=<ANN@example.com>')


def test_without_virtualdomains_nothing_is_read_and_nothing_changes(tmp_path):
    root = control(tmp_path, locals='example.com\n')
    assert store_registry.read_qmail_control(root) == {'virtualdomains': None, 'locals': None}
    subject = store_registry.prepare_request(params(), qmail_control_dir=root)[0]
    assert subject.qmail_prefixes == {}
    assert not subject.matches(b'starting delivery 12: msg 4711 to local example.com-ann@example.com')


def test_virtualdomains_of_the_host_make_the_delivery_names_the_subjects(tmp_path):
    root = control(tmp_path, virtualdomains='example.com:example.com\n.example.net:vnet\n', locals='mx.example.org\n')
    assert store_registry.read_qmail_control(root) == {
        'virtualdomains': ['example.com:example.com', '.example.net:vnet'], 'locals': ['mx.example.org']}
    subject = store_registry.prepare_request(params(addresses=['ann@example.com', 'bob@mail.example.net']),
                                             qmail_control_dir=root)[0]
    assert subject.qmail_prefixes == {('ann', 'example.com'): 'example.com', ('bob', 'mail.example.net'): 'vnet'}
    assert subject.matches(b'@4000 starting delivery 12: msg 4711 to local example.com-ann@example.com')
    assert subject.matches(b'@4000 starting delivery 13: msg 4712 to local vnet-bob@mail.example.net')
    assert not subject.matches(b'@4000 starting delivery 14: msg 4713 to local example.com-joann@example.com')


def test_locals_fall_back_to_me_and_win_over_virtualdomains(tmp_path):
    root = control(tmp_path, virtualdomains='example.com:example.com\n', me='example.com\n')
    assert store_registry.read_qmail_control(root)['locals'] == ['example.com']
    subject = store_registry.prepare_request(params(), qmail_control_dir=root)[0]
    assert subject.qmail_prefixes == {}


def test_a_control_file_that_is_not_a_regular_file_is_refused_without_hanging(tmp_path):
    root = control(tmp_path)
    os.mkfifo(os.path.join(root, 'virtualdomains'))
    result = {}

    def work():
        try:
            store_registry.read_qmail_control(root)
        except StoreError as err:
            result['err'] = str(err)

    thread = threading.Thread(target=work)
    thread.daemon = True
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), 'reading a FIFO hung'
    assert result['err'] == 'the qmail control file virtualdomains is not a regular file'
    os.unlink(os.path.join(root, 'virtualdomains'))
    os.mkdir(os.path.join(root, 'virtualdomains'))
    with pytest.raises(StoreError, match='not a regular file'):
        store_registry.prepare_request(params(), qmail_control_dir=root)


def test_an_oversized_control_file_is_refused(tmp_path, monkeypatch):
    root = control(tmp_path, virtualdomains='example.com:example.com\n' * 10)
    monkeypatch.setattr(store_registry, 'MAX_CONTROL_FILE', 64)
    with pytest.raises(StoreError, match='larger than 64 bytes'):
        store_registry.read_qmail_control(root)


def test_log_redact_takes_local_part_case(tmp_path, monkeypatch):
    from ansible_collections.mailprivacy.gdpr.plugins.modules import log_redact as module
    spec = module.argument_spec()['local_part_case']
    assert spec['default'] == 'insensitive' and spec['choices'] == ['insensitive', 'sensitive']
    monkeypatch.setattr(store_registry, 'QMAIL_CONTROL_DIR', str(tmp_path / 'none'))
    base = dict((name, opts.get('default')) for name, opts in module.argument_spec().items())
    base.update(addresses=['ann@example.com'], hmac_key=KEY)
    for case, expected in (('insensitive', True), ('sensitive', False)):
        factory, _hmac = module.make_matcher(dict(base, local_part_case=case))
        found = factory().regex.search(b'to=<ANN@example.com>') is not None
        assert found is expected, case
