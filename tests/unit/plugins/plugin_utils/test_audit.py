# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of a subject request: validation, host outcomes, screening, the audit record."""

from __future__ import annotations

import datetime
import json
import os
import stat

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject
from ansible_collections.mailprivacy.gdpr.plugins.plugin_utils import audit

KEY = 'unit-test-key-0123456789'
SUBJECT = {'addresses': ['ann.lee@example.com'], 'logins': ['annlogin'], 'ips': ['192.0.2.77']}
FORBIDDEN = ['ann.lee@example.com', 'ann.lee', 'annlogin', '192.0.2.77']


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Relative default directories (audit/, exports/) land in the test's directory."""
    monkeypatch.chdir(tmp_path)


def params(**kw):
    out = dict(subject=dict(SUBJECT), hmac_key=KEY, action='export', stores=['logs'], store_options={})
    out.update(kw)
    return out


def assert_clean(obj):
    text = json.dumps(obj).lower()
    for value in FORBIDDEN:
        assert value.lower() not in text


# ------------------------------------------------------------------------------ request ids
def test_generated_request_id_is_timestamp_and_random_suffix():
    when = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    rid = audit.new_request_id(when)
    assert rid.startswith('20250102T030405Z-') and len(rid.split('-')[1]) == 8
    assert audit.check_request_id(rid) == rid
    assert audit.new_request_id(when) != audit.new_request_id(when)


@pytest.mark.parametrize('bad', ['', '-x', 'a/b', 'a b', 'x' * 65, '../x', 'ä', None, 5])
def test_bad_request_ids_are_refused(bad):
    with pytest.raises(audit.RequestError):
        audit.check_request_id(bad)


# ------------------------------------------------------------------------------ subject input
def test_subject_input_accepts_strings_and_lists():
    out = audit.subject_input({'addresses': 'a@example.com', 'logins': ['x', 'y']}, None)
    assert out == {'addresses': ['a@example.com'], 'logins': ['x', 'y'], 'ips': [], 'domain': None}
    assert audit.subject_input(None, 'example.com')['domain'] == 'example.com'


@pytest.mark.parametrize('subject, fragment', [
    ('ann.lee@example.com', 'must be a dictionary'),
    (['ann.lee@example.com'], 'must be a dictionary'),
    ({'ann.lee@example.com': []}, 'may only hold the keys'),
    ({'addresses': [['ann.lee@example.com']]}, 'gdpr_subject.addresses[0] must be a string'),
    ({'logins': {'annlogin': 1}}, 'gdpr_subject.logins must be a string or a list'),
])
def test_subject_input_shape_errors_never_echo_values(subject, fragment):
    with pytest.raises(audit.RequestError) as err:
        audit.subject_input(subject, None)
    assert fragment in str(err.value)
    assert_clean(str(err.value))


# ------------------------------------------------------------------------------ operator
def test_operator_precedence(monkeypatch):
    assert audit.operator_of('lead', {'awx_user_name': 'awx'}) == ('lead', 'gdpr_operator')
    assert audit.operator_of(None, {'awx_user_name': 'awx', 'tower_user_name': 't'}) == ('awx', 'awx_user_name')
    assert audit.operator_of(None, {'tower_user_name': 't'}) == ('t', 'tower_user_name')
    monkeypatch.setenv('LOGNAME', 'someone')
    monkeypatch.setenv('USER', 'someone')
    assert audit.operator_of(None, {}) == ('someone', 'controller_user')


# ------------------------------------------------------------------------------ prepare_request
def test_valid_request():
    request, problems = audit.prepare_request(params(operator='op'))
    assert problems == []
    assert request['subject_hmac'] == Subject.from_params(**SUBJECT).hmac(KEY)
    assert request['kind'] == 'user' and request['action'] == 'export'
    assert request['identifiers'] == {'addresses': 1, 'logins': 1, 'ips': 1, 'domain': 0}
    assert request['request_id_generated'] is True and audit.check_request_id(request['request_id'])
    assert request['operator'] == 'op' and request['stores'] == ['logs']
    assert request['started'].endswith('Z')
    assert_clean(request)


def test_domain_request_and_expected_kind():
    request, problems = audit.prepare_request(params(subject=None, domain='Example.COM', expect_kind='domain'))
    assert problems == [] and request['kind'] == 'domain'
    _request, problems = audit.prepare_request(params(expect_kind='domain'))
    assert problems == ['a customer request needs gdpr_subject_domain (the mail domain of the customer)']
    _request, problems = audit.prepare_request(params(domain='example.com', expect_kind='user'))
    assert 'customer playbook' in problems[0]


@pytest.mark.parametrize('key, fragment', [
    (None, 'gdpr_hmac_key is not set'), ('', 'gdpr_hmac_key is not set'),
    ('short', 'at least 16 characters'), (12345, 'at least 16 characters'),
])
def test_missing_or_short_key(key, fragment):
    request, problems = audit.prepare_request(params(hmac_key=key))
    assert len(problems) == 1 and fragment in problems[0]
    assert request['subject_hmac'] is None and request['request_id']


@pytest.mark.parametrize('bad', [
    {'addresses': ['ann.lee*@example.com']}, {'addresses': ['ann.lee@exa/mple.com']},
    {'logins': ['annlogin.*']}, {'logins': ['ann\nlogin']}, {'ips': ['192.0.2.777']}, {},
    {'addresses': ['%s@example.com' % ('a' * 65)]},
])
def test_invalid_identifiers_are_refused_without_echo(bad):
    request, problems = audit.prepare_request(params(subject=bad))
    assert len(problems) == 1 and problems[0].startswith('invalid subject: ')
    assert request['subject_hmac'] is None and request['kind'] is None
    assert 'ann.lee' not in problems[0] and 'annlogin' not in problems[0] and '192.0.2.777' not in problems[0]


def test_given_request_id_is_kept_or_refused():
    request, problems = audit.prepare_request(params(request_id='case-2025-17'))
    assert problems == [] and request['request_id'] == 'case-2025-17' and request['request_id_generated'] is False
    request, problems = audit.prepare_request(params(request_id='bad id'))
    assert request['request_id'] is None and 'gdpr_request_id must be' in problems[0]


@pytest.mark.parametrize('rid', ['annlogin-export', 'ANN.LEE-2025', '192.0.2.77'])
def test_request_id_naming_the_subject_is_refused(rid):
    request, problems = audit.prepare_request(params(request_id=rid))
    assert request['request_id'] is None
    assert problems == ['gdpr_request_id must not contain an identifier of the subject '
                        '(it names files and appears in every output)']


@pytest.mark.parametrize('stores, options, fragment', [
    (['nosuch'], {}, 'unknown store'),
    (['logs'], {'nosuch': {}}, 'names unknown stores'),
    (['logs'], {'logs': {'paths': ['relative/*.log']}}, 'absolute path'),
    (['logs'], {'logs': {'bogus': 1}}, 'unknown store option'),
    (['logs'], {'logs': 'x'}, 'must be a dictionary'),
    (['logs'], ['x'], 'must be a dictionary'),
    ('logs', {}, 'list of store names'),
])
def test_store_names_and_options_are_checked_up_front(stores, options, fragment):
    _request, problems = audit.prepare_request(params(stores=stores, store_options=options))
    assert len(problems) == 1 and fragment in problems[0]


def test_problems_are_screened():
    # a message that would carry an identifier is withheld (defence in depth)
    screen = audit.Screen(Subject.from_params(**SUBJECT), audit.subject_input(SUBJECT, None))
    assert screen.text('no such user annlogin') == audit.WITHHELD
    assert screen.text('store logs failed (exit 2)') == 'store logs failed (exit 2)'


# ------------------------------------------------------------------------------ screening
def test_screen_uses_the_subject_regex_and_raw_values():
    subject = Subject.from_params(domain='kunde.example')
    screen = audit.Screen(subject, {'domain': 'kunde.example'})
    assert screen.hits('mail for bob@kunde.example bounced')
    assert screen.hits('KUNDE.EXAMPLE')
    assert not screen.hits('mail for bob@other.example bounced')
    screen = audit.Screen(None, {'addresses': ['Ann.Lee@Example.com']})
    assert screen.hits('x ann.lee y') and screen.hits('ANN.LEE@EXAMPLE.COM')
    # values shorter than 3 characters are left to the subject's regex (with boundaries)
    screen = audit.Screen(Subject.from_params(logins=['al']), {'logins': ['al']})
    assert screen.hits('user=al logged in') and not screen.hits('journal')


def test_screen_clean_keeps_structure_and_withholds_text():
    screen = audit.Screen(Subject.from_params(**SUBJECT), audit.subject_input(SUBJECT, None))
    obj = {'mx1': {'error': 'annlogin unknown', 'detail': {'annlogin': 1, 'live': 2}, 'n': 3}}
    out = screen.clean(obj, keep=frozenset(['mx1']))
    assert out == {'mx1': {'error': audit.WITHHELD, 'detail': {audit.WITHHELD: 1, 'live': 2}, 'n': 3}}


# ------------------------------------------------------------------------------ host entries
def find_result(**kw):
    res = {'changed': False, 'subject_hmac': 'h', 'kind': 'user', 'failed_stores': [],
           'invocation': {'module_args': {'addresses': 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'}},
           'stores': {'logs': {'store': 'logs', 'available': True, 'found': 3, 'units': 'lines',
                               'detail': {'live': 3}, 'files': [{'path': 'logs/x.txt'}], 'reason': '',
                               'manual_steps': []},
                      'journal': {'store': 'journal', 'available': False, 'found': 0, 'units': 'entries',
                                  'detail': {}, 'reason': 'journalctl not found', 'manual_steps': []}}}
    res.update(kw)
    return res


def test_host_entry_ok_counts():
    entry = audit.host_entry([('find', find_result())], 'h')
    assert entry['outcome'] == 'ok' and entry['found'] == 3 and entry['steps'] == {'find': 'ok'}
    assert entry['stores']['logs'] == {'available': True, 'found': 3, 'units': 'lines', 'detail': {'live': 3},
                                       'files': 1}
    assert entry['stores']['journal']['reason'] == 'journalctl not found'
    assert 'invocation' not in json.dumps(entry)


def test_host_entry_failures():
    entry = audit.host_entry([('export', find_result(failed=True, msg='the export failed in store(s): logs (x)')),
                              ('fetch', None)], 'h')
    assert entry['outcome'] == 'failed' and entry['error'] == 'export: the export failed in store(s): logs (x)'
    assert entry['steps'] == {'export': 'failed', 'fetch': 'not run'}
    entry = audit.host_entry([('export', {'unreachable': True, 'msg': 'ssh: connect refused'})], 'h')
    assert entry['outcome'] == 'unreachable' and entry['error'] == 'export: the host could not be reached'
    entry = audit.host_entry([('export', None)], 'h')
    assert entry['outcome'] == 'not run'
    entry = audit.host_entry([('export', find_result(changed=True)), ('pack', {'changed': True}),
                              ('fetch', {'failed': True, 'msg': 'file not found'})], 'h')
    assert entry['outcome'] == 'failed' and entry['error'] == 'fetch: file not found'
    entry = audit.host_entry([('export', find_result(subject_hmac='other'))], 'h')
    assert entry['outcome'] == 'failed' and 'another subject HMAC' in entry['error']
    entry = audit.host_entry([('export', find_result()), ('pack', {'skipped': True})], 'h')
    assert entry['outcome'] == 'ok' and entry['steps']['pack'] == 'skipped'


# ------------------------------------------------------------------------------ record
def request():
    req, problems = audit.prepare_request(params(operator='op'))
    assert not problems
    return req


def test_record_outcomes():
    ok = audit.host_entry([('find', find_result(subject_hmac=None))])
    bad = audit.host_entry([('find', find_result(failed=True, msg='boom'))])
    rec = audit.build_record(request(), {'mx1': ok})
    assert rec['outcome'] == 'ok' and 'error' not in rec and rec['totals']['found'] == 3
    assert rec['totals']['by_store']['logs'] == {'found': 3, 'units': 'lines', 'hosts': 1}
    rec = audit.build_record(request(), {'mx1': ok, 'mx2': bad})
    assert rec['outcome'] == 'failed' and rec['error'] == 'the request failed on 1 of 2 host(s): mx2'
    rec = audit.build_record(request(), {'mx1': ok, 'mx2': bad}, error='nothing was joined')
    assert rec['error'] == 'the request failed on 1 of 2 host(s): mx2; nothing was joined'
    rec = audit.build_record(request(), {})
    assert rec['outcome'] == 'failed' and rec['error'] == 'no host of the inventory matched the request'
    rec = audit.build_record(request(), {}, error='refused', rejected=True)
    assert rec['outcome'] == 'rejected' and rec['error'] == 'refused'
    for key in ('request_id', 'action', 'kind', 'subject_hmac', 'operator', 'started', 'finished', 'hosts'):
        assert key in rec


def test_record_is_screened_but_keeps_hosts_and_request():
    subject = Subject.from_params(**SUBJECT)
    screen = audit.Screen(subject, audit.subject_input(SUBJECT, None))
    bad = audit.host_entry([('find', find_result(failed=True, msg='user annlogin: no such mailbox'))])
    rec = audit.screen_record(audit.build_record(request(), {'mx1': bad}, error='ann.lee@example.com?'), screen)
    assert rec['hosts']['mx1']['error'] == audit.WITHHELD and rec['error'] == audit.WITHHELD
    assert rec['operator'] == 'op' and list(rec['hosts']) == ['mx1']
    assert_clean(rec)
    assert_clean(audit.report_lines(rec))


def test_write_record_appends_and_keeps_one_file_per_request(tmp_path):
    directory = tmp_path / 'audit'
    rec = audit.build_record(request(), {'mx1': audit.host_entry([('find', find_result(subject_hmac=None))])})
    journal, first = audit.write_record(str(directory), rec)
    _journal, second = audit.write_record(str(directory), rec)
    assert os.path.basename(first) == '%s.export.json' % rec['request_id']
    assert os.path.basename(second) == '%s.export.2.json' % rec['request_id']
    with open(journal) as handle:
        lines = [json.loads(line) for line in handle.read().splitlines()]
    # the same record twice, each chained to the one before it (unauthenticated: no key given)
    chains = [line.pop('chain') for line in lines]
    rec.pop('chain')
    assert len(lines) == 2 and lines[0] == rec == lines[1]
    assert [c['seq'] for c in chains] == [1, 2] and chains[1]['prev'] == chains[0]['sha256']
    assert stat.S_IMODE(os.stat(str(directory)).st_mode) == 0o700
    for name in os.listdir(str(directory)):
        assert stat.S_IMODE(os.stat(str(directory / name)).st_mode) == 0o600
    rejected = audit.build_record({'request_id': None, 'action': 'find'}, {}, error='x', rejected=True)
    _journal, path = audit.write_record(str(directory), rejected)
    assert os.path.basename(path).startswith('rejected-') and path.endswith('.find.json')


def test_write_record_refuses_open_directories_and_links(tmp_path):
    directory = tmp_path / 'trail'
    directory.mkdir()
    os.chmod(str(directory), 0o755)
    rec = audit.build_record(request(), {}, error='x', rejected=True)
    with pytest.raises(audit.RequestError, match='can be accessed by group or others'):
        audit.write_record(str(directory), rec)
    assert stat.S_IMODE(os.stat(str(directory)).st_mode) == 0o755, 'an existing directory is never chmodded'
    os.chmod(str(directory), 0o700)
    audit.write_record(str(directory), rec)
    link = tmp_path / 'link'
    link.symlink_to(directory)
    with pytest.raises(audit.RequestError, match='symbolic link'):
        audit.write_record(str(link), rec)
    other = tmp_path / 'other'
    other.mkdir(mode=0o700)
    target = tmp_path / 'elsewhere'
    target.write_text('')
    (other / 'audit.jsonl').symlink_to(target)
    with pytest.raises(OSError):
        audit.write_record(str(other), rec)
    assert target.read_text() == ''


def test_export_prepares_private_directories(tmp_path):
    dirs = dict(audit_dir=str(tmp_path / 'a'), export_dir=str(tmp_path / 'e'))
    req, problems = audit.prepare_request(params(request_id='case-1', **dirs))
    assert problems == []
    assert req['staging_dir'] == str(tmp_path / 'e' / '.case-1.partial')
    for path in (tmp_path / 'a', tmp_path / 'e', tmp_path / 'e' / '.case-1.partial'):
        assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o700
    # a staging directory left by an interrupted run is replaced
    (tmp_path / 'e' / '.case-1.partial' / 'mx1.tar.gz').write_bytes(b'old')
    _req, problems = audit.prepare_request(params(request_id='case-1', **dirs))
    assert problems == [] and os.listdir(str(tmp_path / 'e' / '.case-1.partial')) == []
    # an existing archive of the request is refused, unless forced
    (tmp_path / 'e' / 'case-1.tar.gz').write_bytes(b'')
    _req, problems = audit.prepare_request(params(request_id='case-1', **dirs))
    assert len(problems) == 1 and 'exists already' in problems[0]
    assert audit.prepare_request(params(request_id='case-1', force=True, **dirs))[1] == []


def test_find_and_check_mode_create_no_export_directory(tmp_path):
    dirs = dict(audit_dir=str(tmp_path / 'a'), export_dir=str(tmp_path / 'e'))
    assert audit.prepare_request(params(action='find', **dirs))[1] == []
    assert audit.prepare_request(params(check_mode=True, **dirs))[1] == []
    assert (tmp_path / 'a').is_dir() and not (tmp_path / 'e').exists()
    # nothing is created for a request that is refused anyway
    audit.prepare_request(params(hmac_key='short', **dirs))
    assert not (tmp_path / 'e').exists()


@pytest.mark.parametrize('which', ['audit_dir', 'export_dir'])
def test_open_directories_are_refused_up_front(tmp_path, which):
    shared = tmp_path / 'shared'
    shared.mkdir()
    os.chmod(str(shared), 0o755)
    dirs = dict(audit_dir=str(tmp_path / 'a'), export_dir=str(tmp_path / 'e'))
    dirs[which] = str(shared)
    _req, problems = audit.prepare_request(params(**dirs))
    assert len(problems) == 1 and 'gdpr_%s' % which in problems[0] and 'mode 0755' in problems[0]
    assert stat.S_IMODE(os.stat(str(shared)).st_mode) == 0o755


def test_registered_reads_hostvars_and_tolerates_missing_hosts():
    hostvars = {'mx1': {'__gdpr_find': {'changed': False}}, 'mx2': {}}
    assert audit.registered({'hostvars': hostvars}, 'mx1', '__gdpr_find') == {'changed': False}
    assert audit.registered({'hostvars': hostvars}, 'mx2', '__gdpr_find') is None
    assert audit.registered({'hostvars': hostvars}, 'nope', '__gdpr_find') is None
    assert audit.registered({}, 'mx1', '__gdpr_find') is None


def test_an_erasure_record_holds_the_independent_check_count_and_no_file_name():
    check = {'ran': True, 'candidates': 3, 'lines': 2, 'journal': 1, 'unreadable': 0,
             'files': [{'category': 'live', 'name': '/var/log/mail.log', 'hashed': False, 'candidates': 2}]}
    erase = find_result(independent_check=check, changed=True)
    entry = audit.host_entry([('erase', erase), ('proof', find_result()), ('verify', {})], 'h')
    assert entry['outcome'] == 'ok' and entry['independent_check'] == {'ran': True, 'candidates': 3}
    other = audit.host_entry([('erase', find_result(independent_check={'ran': False, 'candidates': 'x'}))], 'h')
    assert other['independent_check'] == {'ran': False, 'candidates': 0}
    rec = audit.build_record(request(), {'mx1': entry, 'mx2': other})
    assert rec['outcome'] == 'ok' and rec['totals']['candidates'] == 3
    assert '/var/log/mail.log' not in json.dumps(rec)
    # a find or export record has no such count
    assert 'candidates' not in audit.build_record(request(), {'mx1': audit.host_entry([('find', find_result())])})['totals']


# ------------------------------------------------------------------------------ issue 12: local_part_case
def test_the_controller_builds_the_subject_with_the_local_part_case():
    """The HMAC the controller records is the one the hosts compute: with the default an
    address in another letter case is the same subject; 'sensitive' keeps the spelling."""
    mixed = dict(SUBJECT, addresses=['Ann.Lee@example.com'])
    request, problems = audit.prepare_request(params(subject=mixed))
    assert problems == [] and request['local_part_case'] == 'insensitive'
    assert request['subject_hmac'] == Subject.from_params(**SUBJECT).hmac(KEY)
    request, problems = audit.prepare_request(params(subject=mixed, local_part_case='sensitive'))
    assert problems == [] and request['local_part_case'] == 'sensitive'
    exact = Subject.from_params(addresses=mixed['addresses'], logins=mixed['logins'], ips=mixed['ips'],
                                local_part_case='sensitive')
    assert request['subject_hmac'] == exact.hmac(KEY)
    assert request['subject_hmac'] != Subject.from_params(**SUBJECT).hmac(KEY)
    _request, problems = audit.prepare_request(params(local_part_case='upper'))
    assert problems == ['invalid subject: local_part_case: must be one of insensitive sensitive']
    subject = audit.build_subject(audit.subject_input(mixed, None), '+', 'sensitive')
    assert subject.case_sensitive_local is True
    screen = audit.Screen(audit.build_subject(audit.subject_input(SUBJECT, None)), audit.subject_input(SUBJECT, None))
    assert screen.hits('x ANN.LEE%40example.com y') and screen.hits('ip=[::ffff:c000:24d]')
