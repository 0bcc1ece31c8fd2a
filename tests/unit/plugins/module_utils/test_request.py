# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The request pipeline (module_utils/request.py): the target-side request preparation and the
matching options of issue 12: local_part_case in the shared argument spec, qmail's
control/virtualdomains read on the host (real files and a FIFO)."""

from __future__ import annotations

import os
import threading

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import request, store_registry
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import Store, StoreError

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
    spec = request.SUBJECT_ARGUMENT_SPEC['local_part_case']
    assert spec == dict(type='str', default='insensitive', choices=['insensitive', 'sensitive'])


def test_local_part_case_reaches_the_subject(tmp_path):
    missing = str(tmp_path / 'none')
    subject = request.Request.from_params(params(), qmail_control_dir=missing).subject
    assert subject.case_sensitive_local is False and subject.matches(b'to=<ANN@example.com>')
    subject = request.Request.from_params(params(local_part_case='sensitive'), qmail_control_dir=missing).subject
    assert subject.case_sensitive_local is True and not subject.matches(b'to=<ANN@example.com>')


def test_without_virtualdomains_nothing_is_read_and_nothing_changes(tmp_path):
    root = control(tmp_path, locals='example.com\n')
    assert request.read_qmail_control(root) == {'virtualdomains': None, 'locals': None}
    subject = request.Request.from_params(params(), qmail_control_dir=root).subject
    assert subject.qmail_prefixes == {}
    assert not subject.matches(b'starting delivery 12: msg 4711 to local example.com-ann@example.com')


def test_virtualdomains_of_the_host_make_the_delivery_names_the_subjects(tmp_path):
    root = control(tmp_path, virtualdomains='example.com:example.com\n.example.net:vnet\n', locals='mx.example.org\n')
    assert request.read_qmail_control(root) == {
        'virtualdomains': ['example.com:example.com', '.example.net:vnet'], 'locals': ['mx.example.org']}
    subject = request.Request.from_params(params(addresses=['ann@example.com', 'bob@mail.example.net']),
                                          qmail_control_dir=root).subject
    assert subject.qmail_prefixes == {('ann', 'example.com'): 'example.com', ('bob', 'mail.example.net'): 'vnet'}
    assert subject.matches(b'@4000 starting delivery 12: msg 4711 to local example.com-ann@example.com')
    assert subject.matches(b'@4000 starting delivery 13: msg 4712 to local vnet-bob@mail.example.net')
    assert not subject.matches(b'@4000 starting delivery 14: msg 4713 to local example.com-joann@example.com')


def test_locals_fall_back_to_me_and_win_over_virtualdomains(tmp_path):
    root = control(tmp_path, virtualdomains='example.com:example.com\n', me='example.com\n')
    assert request.read_qmail_control(root)['locals'] == ['example.com']
    subject = request.Request.from_params(params(), qmail_control_dir=root).subject
    assert subject.qmail_prefixes == {}


def test_a_control_file_that_is_not_a_regular_file_is_refused_without_hanging(tmp_path):
    root = control(tmp_path)
    os.mkfifo(os.path.join(root, 'virtualdomains'))
    result = {}

    def work():
        try:
            request.read_qmail_control(root)
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
        request.Request.from_params(params(), qmail_control_dir=root)


def test_an_oversized_control_file_is_refused(tmp_path, monkeypatch):
    root = control(tmp_path, virtualdomains='example.com:example.com\n' * 10)
    monkeypatch.setattr(request, 'MAX_CONTROL_FILE', 64)
    with pytest.raises(StoreError, match='larger than 64 bytes'):
        request.read_qmail_control(root)


def test_log_redact_takes_local_part_case(tmp_path, monkeypatch):
    from ansible_collections.mailprivacy.gdpr.plugins.modules import log_redact as module
    spec = module.argument_spec()['local_part_case']
    assert spec['default'] == 'insensitive' and spec['choices'] == ['insensitive', 'sensitive']
    monkeypatch.setattr(request, 'QMAIL_CONTROL_DIR', str(tmp_path / 'none'))
    base = dict((name, opts.get('default')) for name, opts in module.argument_spec().items())
    base.update(addresses=['ann@example.com'], hmac_key=KEY)
    for case, expected in (('insensitive', True), ('sensitive', False)):
        factory, _hmac = module.make_matcher(dict(base, local_part_case=case))
        found = factory().regex.search(b'to=<ANN@example.com>') is not None
        assert found is expected, case


# ------------------------------------------------------------------------------ issue 13: the pipeline
class _Recorder(Store):
    """A store that records what the pipeline asks of it, in order; it holds ``items`` items
    of the subject until an erasure that is not a preview removes them."""
    name = 'recorder'
    units = 'items'
    OPTIONS = {'request_id': '', 'subject_hmac': '', 'items': 3}
    calls = []
    built = []

    def __init__(self, options=None, runner=None):
        super(_Recorder, self).__init__(options, runner)
        _Recorder.built.append(dict(self.options))
        self.left = self.options['items']

    def locate(self, subject):
        _Recorder.calls.append('locate')
        res = self.result()
        res.add('things', self.left)
        return res

    def erase(self, subject, check_mode):
        _Recorder.calls.append('erase(check_mode=%s)' % check_mode)
        erased = self.left
        if not check_mode:
            self.left = 0
        return self.result(found=erased, erased=erased, detail={'things': erased})


class _Absent(Store):
    name = 'absent'

    def available(self):
        return False, 'not installed'


@pytest.fixture
def recorder(monkeypatch):
    monkeypatch.setattr(store_registry, 'STORES', [_Recorder, _Absent])
    _Recorder.calls = []
    _Recorder.built = []
    return _Recorder


def test_argument_spec_is_one_shared_copy():
    spec = request.argument_spec(confirm=dict(type='bool', default=False))
    assert set(spec) == set(request.SUBJECT_ARGUMENT_SPEC) | {'confirm'}
    spec['addresses']['no_log'] = False
    spec['stores']['default'].append('logs')
    assert request.SUBJECT_ARGUMENT_SPEC['addresses']['no_log'] is True
    assert request.SUBJECT_ARGUMENT_SPEC['stores']['default'] == []


def test_request_builds_every_stores_options_once_with_the_context(recorder, tmp_path):
    req = request.Request.from_params(params(stores=[], request_id='r-7', store_options={'recorder': {'items': 5}}),
                                      qmail_control_dir=str(tmp_path / 'none'))
    assert [cls.name for cls in req.classes] == ['recorder', 'absent']
    assert req.options == {'recorder': {'items': 5, 'request_id': 'r-7', 'subject_hmac': req.subject_hmac},
                           'absent': {}}
    assert req.context == {'request_id': 'r-7', 'subject_hmac': req.subject_hmac}
    results, failed = req.run('locate')
    assert failed == [] and results['recorder']['found'] == 5 and results['absent']['available'] is False
    assert recorder.built[-1]['request_id'] == 'r-7' and recorder.built[-1]['subject_hmac'] == req.subject_hmac


def test_erase_is_a_run_stores_operation_count_erase_count(recorder, tmp_path):
    """Erasure is one operation of run_stores: per store a count, the erasure, a count again
    (before the pipeline it called the store's erase alone, and subject_erase had its own loop)."""
    req = request.Request.from_params(params(stores=[]), qmail_control_dir=str(tmp_path / 'none'))
    results, failed = req.run('erase', check_mode=False)
    assert recorder.calls == ['locate', 'erase(check_mode=False)', 'locate']
    assert failed == [] and request.remaining_stores(results) == []
    res = results['recorder']
    assert (res['found'], res['before'], res['erased'], res['after']) == (3, 3, 3, 0)
    assert (results['absent']['available'], results['absent']['before'], results['absent']['after']) == (False, 0, 0)
    out = req.summary(results, failed, 'erase', False)
    assert (out['found'], out['erased'], out['remaining'], out['remaining_stores']) == (3, 3, 0, [])
    recorder.calls = []
    results, _failed = req.run('erase', check_mode=True)
    assert recorder.calls == ['locate', 'erase(check_mode=True)']
    assert results['recorder']['after'] is None and req.summary(results, [], 'erase', True)['remaining'] is None


def test_the_controller_validates_with_the_same_parsing(recorder, tmp_path):
    """subject_request (plugin_utils/audit.py) and the modules refuse the same bad input with the
    same words; the controller names its variables (gdpr_...)."""
    from ansible_collections.mailprivacy.gdpr.plugins.plugin_utils import audit  # pylint: disable=import-outside-toplevel
    cases = [{'stores': ['nosuch']}, {'store_options': {'nosuch': {}}}, {'store_options': {'recorder': 'x'}},
             {'store_options': ['x']}, {'request_id': 'a b'}]
    for case in cases:
        with pytest.raises(StoreError) as exc:
            request.Request.from_params(params(**dict({'stores': []}, **case)), qmail_control_dir=str(tmp_path / 'none'))
        host = str(exc.value)
        subject = {'addresses': ['ann@example.com']}
        controller = dict(subject=subject, hmac_key=KEY, action='find', audit_dir=str(tmp_path / 'audit'),
                          stores=case.get('stores', []), store_options=case.get('store_options', {}),
                          request_id=case.get('request_id'))
        _req, problems = audit.prepare_request(controller)
        assert problems == ['gdpr_' + host], case
    # the subject is built by the same function on both sides
    mixed = {'addresses': ['Ann@Example.com'], 'logins': [], 'ips': [], 'domain': None}
    host = request.Request.from_params(params(addresses=mixed['addresses'], stores=[]),
                                       qmail_control_dir=str(tmp_path / 'none'))
    assert audit.build_subject(mixed).hmac(KEY) == host.subject_hmac


def test_one_store_summary_for_the_audit_the_archive_and_the_report():
    """The audit record, the archive manifest and the erasure report keep a store's result in
    one shape (request.store_summary); before issue 13 the audit and the archive each had a
    copy, and the archive's left out the file count."""
    from ansible_collections.mailprivacy.gdpr.plugins.plugin_utils import audit, erasure_report  # pylint: disable=import-outside-toplevel
    from ansible_collections.mailprivacy.gdpr.plugins.plugin_utils import request_archive  # pylint: disable=import-outside-toplevel
    export = {'logs': {'store': 'logs', 'available': True, 'reason': '', 'found': 3, 'units': 'lines',
                       'detail': {'live': 3, 'bad': 'x'}, 'erased': 0, 'files': [{'path': 'logs/a.txt'}],
                       'manual_steps': []},
              'klms': {'store': 'klms', 'available': False, 'reason': 'not installed', 'found': 0, 'units': 'items',
                       'detail': {}, 'erased': 0, 'files': [], 'manual_steps': ['ask the vendor']}}
    expected = {'logs': {'available': True, 'found': 3, 'units': 'lines', 'detail': {'live': 3}, 'files': 1},
                'klms': {'available': False, 'found': 0, 'units': 'items', 'detail': {}, 'reason': 'not installed',
                         'manual_steps': ['ask the vendor']}}
    assert request.stores_summary(export) == expected
    assert audit.host_entry([('export', {'stores': export})])['stores'] == expected
    manifest = request_archive.archive_manifest('r', 'h', 'user', {'mx1': ('/x', {'stores': export, 'files': []}, 's')})
    assert manifest['hosts']['mx1']['stores'] == expected
    erase = {'maildir': {'store': 'maildir', 'available': True, 'found': 4, 'before': 4, 'erased': 4, 'after': 0,
                         'units': 'messages', 'detail': {'inbox': 4}, 'files': [], 'manual_steps': []}}
    summary = request.store_summary(erase['maildir'])
    assert summary == {'available': True, 'found': 4, 'units': 'messages', 'detail': {'inbox': 4}, 'erased': 4,
                       'before': 4, 'after': 0}
    assert audit.host_entry([('erase', {'stores': erase})])['stores']['maildir'] == summary
    item = erasure_report.host_report({'stores': erase}, {'stores': {'maildir': {'found': 0}}, 'found': 0}, False)
    assert item['stores']['maildir'] == {'available': True, 'units': 'messages', 'before': 4, 'erased': 4, 'after': 0,
                                         'proof': 0}
