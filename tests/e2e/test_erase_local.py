# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/subject_erase.yml and customer_erase.yml end to end on this machine.

ansible-runner (the engine AWX uses) runs the playbooks against ``localhost``
(``ansible_connection=local``) with the stores pointed at the fixture host of
tests/unit/plugins/modules/test_subject_erase.py (Maildirs, Courier userdb, qmail users/assign,
logs of two users and a look-alike). Proven here: the preview (--check) touches nothing and
needs no confirmation; a real run without confirmation is refused before any host is touched
and recorded; the confirmed run erases the subject and nothing else, the proof search finds
nothing, the report (JSON and Markdown, 0600) and the audit record hold the counts and the
HMAC; a second run changes nothing; a store that cannot erase makes the run fail with a report
that says where; the independent check's candidates (spellings the matcher missed, look-alikes)
are in the report with the verdict 'candidates for review', which does not fail the run; no
identifier appears anywhere in the runner's artifacts, the report or the audit trail.
"""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest

from e2e_helpers import HMAC_KEY, audit_records, files_under, leaks, run_playbook, write_yaml

# test_subject_erase and the unit tests' shared helpers (tests/unit/fake_runner.py) it imports
for _path in (os.path.join('unit', 'plugins', 'modules'), 'unit'):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), _path))

from test_subject_erase import (  # noqa: E402  pylint: disable=wrong-import-position
    DOMAIN,
    FORBIDDEN,
    SUBJECT_A,
    USERS,
    assert_only_a_gone,
    build_host,
    log_redaction_available,
    snapshot,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject  # noqa: E402

MAIL_STORES = ['maildir', 'courier_userdb', 'qmail_assign']
ALL_FORBIDDEN = sorted(set(FORBIDDEN + [v for u in USERS.values() for k in ('addresses', 'logins', 'ips')
                                        for v in u[k]] + [DOMAIN]))


@pytest.fixture
def env(tmp_path, key_file):
    options = build_host(tmp_path / 'host')
    inventory = tmp_path / 'inventory.ini'
    inventory.write_text('[mail_servers]\nlocalhost ansible_connection=local ansible_python_interpreter=%s\n'
                         % sys.executable)

    def settings(stores, name='settings'):
        return write_yaml(tmp_path / ('%s.yml' % name), {
            'gdpr_stores': stores,
            'gdpr_store_options': dict((k, v) for k, v in options.items() if k in stores),
            'gdpr_audit_dir': str(tmp_path / 'audit'),
            'gdpr_report_dir': str(tmp_path / 'reports'),
            'gdpr_operator': 'e2e-operator',
        })
    return {'tmp': tmp_path, 'host': tmp_path / 'host', 'inventory': inventory, 'settings': settings,
            'key': key_file}


def subject_file(env, name, data):
    return write_yaml(env['tmp'] / ('%s.yml' % name), data)


def assert_no_leak(env, run):
    paths = list(run.artifact_files())
    assert any('job_events' in p for p in paths), 'the runner wrote no job events'
    found = leaks(paths + list(files_under(env['tmp'] / 'audit', env['tmp'] / 'reports')), ALL_FORBIDDEN)
    assert not found, 'identifiers leaked: %s' % sorted(set(v for _p, v in found))


def reports(env):
    directory = env['tmp'] / 'reports'
    return sorted(os.listdir(str(directory))) if directory.exists() else []


def load_report(env, name):
    path = env['tmp'] / 'reports' / name
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(env['tmp'] / 'reports')).st_mode) == 0o700
    return json.loads(path.read_text()) if name.endswith('.json') else path.read_text()


def test_preview_refusal_erasure_and_second_run(env):
    hmac = Subject.from_params(**SUBJECT_A).hmac(HMAC_KEY)
    stores = MAIL_STORES + (['logs'] if log_redaction_available(env['host']) else [])
    settings = env['settings'](stores)
    before = snapshot(env['host'])

    # 1. the preview: no confirmation needed, nothing touched, a preview report
    subject = subject_file(env, 'subject-a', {'gdpr_subject': SUBJECT_A, 'gdpr_request_id': 'del-0001'})
    run = run_playbook(env['tmp'], 'subject_erase.yml', env['inventory'], [settings, env['key'], subject],
                       check=True, verbosity=3, name='preview')
    assert run.rc == 0, run.stdout[-3000:]
    assert snapshot(env['host']) == before
    preview = load_report(env, 'del-0001.erasure.preview.json')
    assert preview['verdict'] == 'preview' and preview['check_mode'] is True
    assert preview['hosts']['localhost']['stores']['maildir']['erased'] == 4
    assert audit_records(env['tmp'] / 'audit')[-1]['check_mode'] is True
    assert_no_leak(env, run)

    # 2. no confirmation (and a wrong one): refused before any host, recorded
    for name, extra in (('noconfirm', {}), ('wrongconfirm', {'gdpr_confirm_erase': 'del-9999'})):
        data = dict({'gdpr_subject': SUBJECT_A, 'gdpr_request_id': 'del-0001'}, **extra)
        run = run_playbook(env['tmp'], 'subject_erase.yml', env['inventory'],
                           [settings, env['key'], subject_file(env, name, data)], name=name)
        assert run.rc != 0
        assert 'refusing to erase without confirmation' in run.stdout
        assert not run.results('Count, erase and count again in every store (check mode previews)')
        record = audit_records(env['tmp'] / 'audit')[-1]
        assert record['outcome'] == 'rejected' and record['action'] == 'erase'
        assert snapshot(env['host']) == before
        assert_no_leak(env, run)

    # 3. the confirmed erasure, at -vvv
    confirmed = subject_file(env, 'confirmed', {'gdpr_subject': SUBJECT_A, 'gdpr_request_id': 'del-0001',
                                                'gdpr_confirm_erase': 'del-0001'})
    run = run_playbook(env['tmp'], 'subject_erase.yml', env['inventory'], [settings, env['key'], confirmed],
                       verbosity=3, name='erase')
    assert run.rc == 0, run.stdout[-3000:]
    assert_only_a_gone(env['host'], before, 'logs' in stores)
    report = load_report(env, 'del-0001.erasure.json')
    # the look-alike's address lines (jo.zoequill@) stay, and the independent check names them for review
    verdict = 'candidates for review' if 'logs' in stores else 'erased everywhere'
    assert report['verdict'] == verdict and report['reasons'] == []
    assert report['subject_hmac'] == hmac and report['operator'] == 'e2e-operator'
    host = report['hosts']['localhost']
    if 'logs' in stores:
        check = host['independent_check']
        assert (check['ran'], check['candidates'], check['lines'], check['journal']) == (True, 2, 2, 0)
        assert [(f['category'], f['candidates'], f['hashed']) for f in check['files']] == [('live', 2, True)]
    assert host['outcome'] == 'ok' and host['proof_found'] == 0 and host['started'] and host['finished']
    assert host['stores']['maildir'] == {'available': True, 'units': 'messages', 'before': 4, 'erased': 4,
                                         'after': 0, 'proof': 0}
    for name in ('courier_userdb', 'qmail_assign'):
        assert (host['stores'][name]['before'], host['stores'][name]['after'], host['stores'][name]['proof']) == \
            (1, 0, 0)
    markdown = load_report(env, 'del-0001.erasure.md')
    assert '**%s**' % verdict in markdown and hmac in markdown
    assert '| localhost | maildir | messages | 4 | 4 | 0 | 0 |  |' in markdown
    record = audit_records(env['tmp'] / 'audit')[-1]
    assert record['action'] == 'erase' and record['outcome'] == 'ok' and record['subject_hmac'] == hmac
    if 'logs' in stores:
        assert record['hosts']['localhost']['independent_check'] == {'ran': True, 'candidates': 2}
    assert record['hosts']['localhost']['steps'] == {'erase': 'changed', 'proof': 'ok', 'verify': 'ok'}
    assert record['hosts']['localhost']['stores']['maildir']['erased'] == 4
    assert_no_leak(env, run)
    assert hmac in '\n'.join(open(p, encoding='utf-8', errors='replace').read() for p in run.artifact_files())

    # 4. a second run (new request) finds nothing and changes nothing
    after = snapshot(env['host'])
    again = subject_file(env, 'again', {'gdpr_subject': SUBJECT_A, 'gdpr_confirm_erase': 'yes-erase'})
    run = run_playbook(env['tmp'], 'subject_erase.yml', env['inventory'], [settings, env['key'], again],
                       name='again')
    assert run.rc == 0, run.stdout[-3000:]
    assert snapshot(env['host']) == after
    record = audit_records(env['tmp'] / 'audit')[-1]
    assert record['hosts']['localhost']['steps']['erase'] == 'ok' and record['totals']['found'] == 0
    assert_no_leak(env, run)


def test_a_store_that_cannot_erase_fails_the_run_and_the_report_says_where(env):
    # the log store is part of the request; until it can erase (or when it fails), the run fails
    stores = MAIL_STORES + ['logs']
    settings = env['settings'](stores)
    if log_redaction_available(env['host']):
        # make the proof fail instead: a log file that the erasure does not cover (excluded) but
        # the proof search does is not possible with one option set, so make a store fail
        options = build_host(env['tmp'] / 'host')
        options['qmail_assign']['qmail_newu'] = '/nonexistent/qmail-newu'
        settings = write_yaml(env['tmp'] / 'settings-broken.yml', {
            'gdpr_stores': stores, 'gdpr_store_options': options,
            'gdpr_audit_dir': str(env['tmp'] / 'audit'), 'gdpr_report_dir': str(env['tmp'] / 'reports')})
        broken = 'qmail_assign'
    else:
        broken = 'logs'
    data = {'gdpr_subject': SUBJECT_A, 'gdpr_request_id': 'del-0002', 'gdpr_confirm_erase': 'yes-erase'}
    run = run_playbook(env['tmp'], 'subject_erase.yml', env['inventory'],
                       [settings, env['key'], subject_file(env, 'subject', data)], name='incomplete')
    assert run.rc != 0
    report = load_report(env, 'del-0002.erasure.json')
    assert report['verdict'] == 'incomplete'
    host = report['hosts']['localhost']
    assert host['outcome'] == 'incomplete' and 'error' in host['stores'][broken]
    assert any(r.startswith('localhost: store %s: ' % broken) for r in report['reasons'])
    # the proof search still finds the store's data and says so
    assert host['stores'][broken]['proof'] > 0
    assert any('the proof search still finds data in store(s): %s' % broken in r for r in report['reasons'])
    assert 'the erasure is incomplete' in run.stdout or 'failed' in run.stdout
    record = audit_records(env['tmp'] / 'audit')[-1]
    assert record['outcome'] == 'failed' and record['hosts']['localhost']['steps']['verify'] == 'failed'
    assert_no_leak(env, run)


def test_customer_erase_requires_a_domain_and_erases_every_user(env, tmp_path):
    subject = subject_file(env, 'user', {'gdpr_subject': SUBJECT_A, 'gdpr_confirm_erase': 'yes-erase'})
    run = run_playbook(env['tmp'], 'customer_erase.yml', env['inventory'],
                       [env['settings'](['maildir']), env['key'], subject], name='cust-user')
    assert run.rc != 0 and 'a customer request needs gdpr_subject_domain' in run.stdout

    vmail = tmp_path / 'vmail'
    for uid in ('a', 'b'):
        local = USERS[uid]['addresses'][0].split('@', maxsplit=1)[0]
        (vmail / DOMAIN / local / 'Maildir' / 'cur').mkdir(parents=True)
        (vmail / DOMAIN / local / 'Maildir' / 'new').mkdir()
        (vmail / DOMAIN / local / 'Maildir' / 'cur' / '1.mx:2,S').write_bytes(b'Subject: hi\n\n')
    keep = vmail / 'andere.example' / 'evekraus' / 'Maildir' / 'cur'
    keep.mkdir(parents=True)
    (keep / '1.mx:2,').write_bytes(b'Subject: other customer\n\n')
    settings = write_yaml(tmp_path / 'cust-settings.yml', {
        'gdpr_stores': ['maildir'],
        'gdpr_store_options': {'maildir': {'paths': [str(vmail / '%d' / '%n' / 'Maildir')], 'roots': [str(vmail)]}},
        'gdpr_audit_dir': str(tmp_path / 'audit'), 'gdpr_report_dir': str(tmp_path / 'reports')})
    data = {'gdpr_subject_domain': DOMAIN, 'gdpr_request_id': 'cust-0001', 'gdpr_confirm_erase': 'cust-0001'}
    run = run_playbook(env['tmp'], 'customer_erase.yml', env['inventory'],
                       [settings, env['key'], subject_file(env, 'cust', data)], name='cust')
    assert run.rc == 0, run.stdout[-3000:]
    report = load_report(env, 'cust-0001.erasure.json')
    assert report['kind'] == 'domain' and report['verdict'] == 'erased everywhere'
    assert report['hosts']['localhost']['stores']['maildir']['before'] == 2
    assert not list((vmail / DOMAIN).glob('*/Maildir'))
    assert (keep / '1.mx:2,').read_bytes() == b'Subject: other customer\n\n'
    assert_no_leak(env, run)


# the spellings of issue 12 that the matcher missed, and a look-alike that no matcher removes
CHECK_LINES = [
    'Nov 23 10:02:01 mx horde: Login success for ZOEQUILL%40EXAMPLE.ORG to imap',
    'Nov 23 10:02:02 mx dovecot: imap-login: Login: user=<x>, rip=::ffff:c000:24d, lip=10.0.0.1',   # 192.0.2.77
    'Nov 23 10:02:03 mx postfix/smtp[7]: to=<zoequill-marie@example.org>, status=sent',
]


def test_the_report_shows_the_candidates_of_the_independent_check(env):
    """A log holds lines the matcher of issue 12 missed (a percent-encoded address, an IPv4-mapped
    address in hexadecimal) and a look-alike: after the erasure the report names the file (hashed:
    not a default location) with the candidates still in it, the verdict is 'candidates for review'
    and the run does not fail; nothing of the subject is in any artifact."""
    if not log_redaction_available(env['host']):
        pytest.skip('the logs store cannot erase in this checkout')
    extra = env['host'] / 'log' / 'mail.log.3'
    extra.write_text('\n'.join(CHECK_LINES + ['Nov 23 10:02:04 mx postfix/qmgr[9]: 4711ABD: removed']) + '\n')
    settings = env['settings'](['logs'])
    data = {'gdpr_subject': SUBJECT_A, 'gdpr_request_id': 'del-0003', 'gdpr_confirm_erase': 'del-0003'}
    run = run_playbook(env['tmp'], 'subject_erase.yml', env['inventory'],
                       [settings, env['key'], subject_file(env, 'check', data)], name='check')
    assert run.rc == 0, run.stdout[-3000:]
    # whatever the matcher now removes of them, every line of CHECK_LINES it left is a candidate
    left = [line for line in extra.read_text().splitlines() if line in CHECK_LINES]
    assert CHECK_LINES[2] in left
    report = load_report(env, 'del-0003.erasure.json')
    assert report['verdict'] == 'candidates for review' and report['reasons'] == []
    check = report['hosts']['localhost']['independent_check']
    assert check['ran'] is True and check['journal'] == 0
    by_count = sorted(f['candidates'] for f in check['files'])
    # the live file keeps the look-alike's two address lines of the fixture
    assert by_count == sorted([2, len(left)]) and check['candidates'] == 2 + len(left)
    assert all(f['hashed'] and len(f['name']) == 32 for f in check['files'])
    assert report['totals']['candidates'] == check['candidates']
    assert report['hosts']['localhost']['stores']['logs']['after'] == 0
    markdown = load_report(env, 'del-0003.erasure.md')
    assert '**candidates for review**' in markdown and '### What the reviewer does' in markdown
    for item in check['files']:
        assert '| localhost | %s | sha256 `%s` | %d |' % (item['category'], item['name'], item['candidates']) in markdown
    assert 'candidates for review' in run.stdout and 'not an error' in run.stdout
    assert 'the independent check found' in run.stdout
    record = audit_records(env['tmp'] / 'audit')[-1]
    assert record['outcome'] == 'ok' and record['totals']['candidates'] == check['candidates']
    assert_no_leak(env, run)
    # turned off: no candidates, and the report says the check did not run
    data = {'gdpr_subject': SUBJECT_A, 'gdpr_request_id': 'del-0004', 'gdpr_confirm_erase': 'del-0004',
            'gdpr_independent_check': False}
    run = run_playbook(env['tmp'], 'subject_erase.yml', env['inventory'],
                       [settings, env['key'], subject_file(env, 'off', data)], name='off')
    assert run.rc == 0, run.stdout[-3000:]
    report = load_report(env, 'del-0004.erasure.json')
    assert report['verdict'] == 'erased everywhere'
    assert report['hosts']['localhost']['independent_check']['ran'] is False
    assert 'turned off' in load_report(env, 'del-0004.erasure.md')
    assert_no_leak(env, run)
