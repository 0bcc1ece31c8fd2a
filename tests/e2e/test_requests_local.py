# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The subject playbooks end to end on this machine, fast enough for the unit stage.

ansible-runner (the engine AWX uses) runs playbooks/subject_find.yml, subject_export.yml and
customer_export.yml against ``localhost`` (``ansible_connection=local``), with the log store and
the Maildir store pointed at a fixture tree of three users (two of one customer domain): logs
live, rotated and gzip-compressed, and Maildirs with INBOX and Trash. Proven here:

* the export archive holds every fixture line and message of the subject and nothing of the
  others; the customer export holds both users of the domain and nothing of the third;
* every checksum verifies (SHA256SUMS, the top manifest, each host manifest), modes are 0600/0700;
* the audit record exists for find, export, check mode, refused and failed requests, with the
  subject's HMAC and never an identifier;
* no identifier (addresses, local parts, logins, IPs, domains) appears anywhere in the runner's
  artifacts (stdout, job events, everything), at -vvv too, and the HMAC does.
"""

from __future__ import annotations

import gzip
import json
import os
import stat
import sys

import pytest

from e2e_helpers import (
    HMAC_KEY,
    audit_records,
    files_under,
    leaks,
    read_archive,
    run_playbook,
    verify_archive,
    write_yaml,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_registry import store_names
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject

MAILDIR = 'maildir' in store_names()
STORES = ['logs'] + (['maildir'] if MAILDIR else [])

USERS = {
    'a': {'addresses': ['zoequill@kunde.example'], 'logins': ['zquill7'], 'ips': ['192.0.2.77']},
    'b': {'addresses': ['maxumber@kunde.example'], 'logins': ['mumber8'], 'ips': ['198.51.100.23']},
    'c': {'addresses': ['evekraus@andere.example'], 'logins': ['ekraus9'], 'ips': ['203.0.113.45']},
}
DOMAIN = 'kunde.example'
FORBIDDEN = sorted(set(
    [v for u in USERS.values() for key in ('addresses', 'logins', 'ips') for v in u[key]]
    + [a.split('@')[0] for u in USERS.values() for a in u['addresses']]
    + ['kunde.example', 'andere.example']))


def log_lines():
    """[(line, owner, domain of the address in it or None)]; owner None for lines of nobody,
    'lookalike' for a line that only looks like user a's."""
    out = []
    for uid, user in sorted(USERS.items()):
        addr, login, ip = user['addresses'][0], user['logins'][0], user['ips'][0]
        dom = addr.split('@')[1]
        out += [
            ('Nov 23 10:00:01 mx dovecot: imap-login: Login: user=<%s>, method=PLAIN, rip=%s, '
             'session=<s-%s-1>' % (addr, ip, uid), uid, dom),
            ('Nov 23 10:00:02 mx postfix/smtpd[12]: connect from unknown[%s] s-%s-2' % (ip, uid), uid, None),
            ('Nov 23 10:00:03 mx courierpop3login: LOGIN, user=%s, ip=[%s], port=[4711] s-%s-3'
             % (login, ip, uid), uid, None),
            ('Nov 23 10:00:04 mx qmail: 1700000000.1 delivery 12: success: %s s-%s-4.' % (addr, uid), uid, dom),
            ('Nov 23 10:00:05 mx dovecot: pop3(%s): Disconnected: Logged out s-%s-5' % (login, uid), uid, None),
        ]
    out += [
        ('Nov 23 10:00:06 mx postfix/qmgr[9]: 4711ABC: removed s-n-1', None, None),
        ('Nov 23 10:00:07 mx postfix/smtp[9]: to=<joe.zoequill@kunde.example>, status=sent s-l-1',
         'lookalike', DOMAIN),
        ('Nov 23 10:00:08 mx postfix/smtp[9]: to=<zoequill@kunde.example.evil>, status=sent s-l-2',
         'lookalike', None),
    ]
    return out


def messages(uid):
    addr = USERS[uid]['addresses'][0]
    out = []
    for i, (folder, state, name) in enumerate([('', 'new', '1700000001.M1P1.mx'),
                                               ('', 'cur', '1700000002.M2P2.mx:2,S'),
                                               ('.Trash', 'cur', '1700000003.M3P3.mx:2,ST')], 1):
        body = ('From: Shop <shop@example.net>\nTo: <%s>\nSubject: order %s-%d\nMessage-ID: <m-%s-%d@example.net>\n'
                '\nYour order %s-%d has shipped.\n' % (addr, uid, i, uid, i, uid, i)).encode('ascii')
        out.append((folder, state, name, body))
    return out


def build_fixture(root):
    logs = root / 'log'
    logs.mkdir()
    lines = log_lines()
    files = {'mail.log': [], 'mail.log.1': [], 'mail.log.2.gz': []}
    names = sorted(files)
    for i, (line, _owner, _dom) in enumerate(lines):
        files[names[i % 3]].append(line)
    for name, content in files.items():
        data = ('\n'.join(content) + '\n').encode('ascii')
        if name.endswith('.gz'):
            data = gzip.compress(data)
        (logs / name).write_bytes(data)
    vmail = root / 'vmail'
    for uid, user in USERS.items():
        local, dom = user['addresses'][0].split('@')
        maildir = vmail / dom / local / 'Maildir'
        for folder, state, name, body in messages(uid):
            for sub in ('cur', 'new', 'tmp'):
                (maildir / folder / sub).mkdir(parents=True, exist_ok=True)
            (maildir / folder / state / name).write_bytes(body)
    return lines


@pytest.fixture
def env(tmp_path, key_file):
    lines = build_fixture(tmp_path)
    inventory = tmp_path / 'inventory.ini'
    inventory.write_text('[mail_servers]\nlocalhost ansible_connection=local ansible_python_interpreter=%s\n'
                         % sys.executable)
    options = {'logs': {'paths': [str(tmp_path / 'log' / '*')]}}
    if MAILDIR:
        options['maildir'] = {'paths': [str(tmp_path / 'vmail' / '%d' / '%n' / 'Maildir')],
                              'roots': [str(tmp_path / 'vmail')], 'check_shared_home': False}
    settings = write_yaml(tmp_path / 'settings.yml', {
        'gdpr_stores': STORES,
        'gdpr_store_options': options,
        'gdpr_export_dir': str(tmp_path / 'exports'),
        'gdpr_audit_dir': str(tmp_path / 'audit'),
        'gdpr_remote_export_dir': str(tmp_path / 'remote'),
        'gdpr_operator': 'e2e-operator',
    })
    return {'tmp': tmp_path, 'lines': lines, 'inventory': inventory, 'settings': settings, 'key': key_file}


def subject_file(env, name, data):
    return write_yaml(env['tmp'] / ('%s.yml' % name), data)


def hmac_of(**params):
    return Subject.from_params(**params).hmac(HMAC_KEY)


def assert_no_leak(env, run):
    """No identifier anywhere in the artifacts, the audit trail or the names of what the run
    left on the controller and the 'host'; the HMAC is there."""
    paths = list(run.artifact_files())
    assert any('job_events' in p for p in paths), 'the runner wrote no job events'
    found = leaks(paths + list(files_under(env['tmp'] / 'audit')), FORBIDDEN)
    assert not found, 'identifiers leaked: %s' % sorted(set(v for _p, v in found))
    names = '\n'.join(os.path.relpath(p, str(env['tmp'])) for p in
                      files_under(env['tmp'] / 'exports', env['tmp'] / 'remote', env['tmp'] / 'audit'))
    assert not [v for v in FORBIDDEN if v.lower() in names.lower()]


def artifacts_text(run):
    out = []
    for path in run.artifact_files():
        with open(path, 'rb') as handle:
            out.append(handle.read().decode('utf-8', 'replace'))
    return '\n'.join(out)


def exported_lines(contents, top):
    lines = []
    for name, data in contents.items():
        if name.startswith(top + 'hosts/localhost/logs/') and name.endswith('.txt'):
            lines += data.decode('ascii').splitlines()
    return lines


def exported_messages(contents, top):
    return sorted(data for name, data in contents.items()
                  if name.startswith(top + 'hosts/localhost/maildir/') and name.endswith('.eml'))


def check_archive(env, record, expected_lines, expected_messages, other_needles):
    request_id = record['request_id']
    path = env['tmp'] / 'exports' / ('%s.tar.gz' % request_id)
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(env['tmp'] / 'exports')).st_mode) == 0o700
    assert record['archive']['path'] == str(path)
    contents, modes = read_archive(str(path))
    for name, (kind, mode) in modes.items():
        assert mode == (0o700 if kind == b'5' else 0o600), name
    top = request_id + '/'
    manifest = verify_archive(contents, request_id)
    assert manifest['subject_hmac'] == record['subject_hmac']
    assert list(manifest['hosts']) == ['localhost']
    readme = contents[top + 'README.md'].decode('utf-8')
    assert record['subject_hmac'] in readme and 'sha256sum -c SHA256SUMS' in readme
    assert '| localhost | logs | %d | lines |' % len(expected_lines) in readme

    lines = exported_lines(contents, top)
    assert sorted(lines) == sorted(expected_lines)
    assert manifest['hosts']['localhost']['stores']['logs']['found'] == len(expected_lines)
    if MAILDIR:
        assert exported_messages(contents, top) == sorted(expected_messages)
        assert manifest['hosts']['localhost']['stores']['maildir']['found'] == len(expected_messages)
    everything = b'\n'.join(contents.values()).lower()
    for needle in other_needles:
        assert needle.lower().encode() not in everything, 'another user\'s data is in the archive'
    return manifest


def test_find_then_export_one_user_at_vvv(env):
    subject = subject_file(env, 'subject-a', {'gdpr_subject': USERS['a']})
    expected_hmac = hmac_of(**USERS['a'])
    expected_lines = [line for line, owner, _dom in env['lines'] if owner == 'a']
    expected_messages = [body for _f, _s, _n, body in messages('a')]

    found = run_playbook(env['tmp'], 'subject_find.yml', env['inventory'],
                         [env['settings'], env['key'], subject], verbosity=3, name='find')
    assert found.rc == 0, found.stdout[-3000:]
    record = audit_records(env['tmp'] / 'audit')[-1]
    assert record['action'] == 'find' and record['outcome'] == 'ok' and record['kind'] == 'user'
    assert record['subject_hmac'] == expected_hmac and record['operator'] == 'e2e-operator'
    assert record['identifiers'] == {'addresses': 1, 'logins': 1, 'ips': 1, 'domain': 0}
    host = record['hosts']['localhost']
    assert host['outcome'] == 'ok' and host['stores']['logs']['found'] == len(expected_lines)
    if MAILDIR:
        assert host['stores']['maildir']['found'] == len(expected_messages)
        assert host['stores']['maildir']['detail'].get('trash') == 1
    assert not (env['tmp'] / 'remote').exists() and not (env['tmp'] / 'exports').exists()
    assert_no_leak(env, found)
    assert expected_hmac in artifacts_text(found)

    export = run_playbook(env['tmp'], 'subject_export.yml', env['inventory'],
                          [env['settings'], env['key'], subject], verbosity=3, name='export')
    assert export.rc == 0, export.stdout[-3000:]
    records = audit_records(env['tmp'] / 'audit')
    assert [r['action'] for r in records] == ['find', 'export']
    record = records[-1]
    assert record['outcome'] == 'ok' and record['subject_hmac'] == expected_hmac
    assert record['request_id'] != records[0]['request_id']
    assert record['hosts']['localhost']['steps'] == {'export': 'changed', 'pack': 'changed',
                                                     'fetch': 'changed', 'cleanup': 'changed'}
    others = [v for uid in ('b', 'c') for key in ('addresses', 'logins', 'ips') for v in USERS[uid][key]]
    others += ['s-l-1', 's-l-2', 's-n-1', 'maxumber', 'evekraus']
    manifest = check_archive(env, record, expected_lines, expected_messages, others)
    assert record['archive']['sha256'] == \
        (env['tmp'] / 'exports' / ('%s.tar.gz.sha256' % record['request_id'])).read_text().split()[0]
    assert manifest['kind'] == 'user'
    # the bundle and its packed copy are gone from the host, the staging copies from the controller
    assert os.listdir(str(env['tmp'] / 'remote')) == []
    assert sorted(os.listdir(str(env['tmp'] / 'exports'))) == [
        '%s.tar.gz' % record['request_id'], '%s.tar.gz.sha256' % record['request_id']]
    # one JSON per request next to the journal, mode 0600 in a 0700 directory
    audit = env['tmp'] / 'audit'
    assert stat.S_IMODE(os.stat(str(audit)).st_mode) == 0o700
    for name in os.listdir(str(audit)):
        assert stat.S_IMODE(os.stat(str(audit / name)).st_mode) == 0o600
    own = json.loads((audit / ('%s.export.json' % record['request_id'])).read_text())
    assert own == record
    assert_no_leak(env, export)
    assert expected_hmac in artifacts_text(export)


def test_customer_export_holds_every_user_of_the_domain(env):
    domain = subject_file(env, 'customer', {'gdpr_subject_domain': DOMAIN, 'gdpr_request_id': 'cust-0001'})
    run = run_playbook(env['tmp'], 'customer_export.yml', env['inventory'],
                       [env['settings'], env['key'], domain], verbosity=1, name='customer')
    assert run.rc == 0, run.stdout[-3000:]
    record = audit_records(env['tmp'] / 'audit')[-1]
    assert record['request_id'] == 'cust-0001' and record['kind'] == 'domain' and record['outcome'] == 'ok'
    assert record['subject_hmac'] == hmac_of(domain=DOMAIN)
    expected_lines = [line for line, _owner, dom in env['lines'] if dom == DOMAIN]
    expected_messages = [body for uid in ('a', 'b') for _f, _s, _n, body in messages(uid)]
    others = USERS['c']['addresses'] + ['evekraus', 's-c-', 's-n-1', 's-l-2']
    manifest = check_archive(env, record, expected_lines, expected_messages, others)
    assert manifest['kind'] == 'domain'
    assert_no_leak(env, run)


def test_customer_playbook_refuses_a_user_subject(env):
    subject = subject_file(env, 'subject-a', {'gdpr_subject': USERS['a']})
    run = run_playbook(env['tmp'], 'customer_export.yml', env['inventory'],
                       [env['settings'], env['key'], subject], name='customer-user')
    assert run.rc != 0
    assert 'a customer request needs gdpr_subject_domain' in run.stdout
    assert audit_records(env['tmp'] / 'audit')[-1]['outcome'] == 'rejected'
    assert not (env['tmp'] / 'remote').exists()
    assert_no_leak(env, run)


def test_export_in_check_mode_counts_and_writes_only_the_audit_record(env):
    subject = subject_file(env, 'subject-b', {'gdpr_subject': USERS['b']})
    run = run_playbook(env['tmp'], 'subject_export.yml', env['inventory'],
                       [env['settings'], env['key'], subject], check=True, name='check')
    assert run.rc == 0, run.stdout[-3000:]
    record = audit_records(env['tmp'] / 'audit')[-1]
    assert record['check_mode'] is True and record['outcome'] == 'ok' and 'archive' not in record
    assert record['hosts']['localhost']['stores']['logs']['found'] == \
        len([1 for _l, owner, _d in env['lines'] if owner == 'b'])
    assert record['hosts']['localhost']['steps']['fetch'] == 'skipped'
    assert not (env['tmp'] / 'remote').exists() and not (env['tmp'] / 'exports').exists()
    assert_no_leak(env, run)


def test_invalid_identifier_is_refused_before_any_host_and_recorded(env):
    bad = {'addresses': ['zoequill*@kunde.example'], 'logins': ['mumber8']}
    subject = subject_file(env, 'subject-bad', {'gdpr_subject': bad})
    run = run_playbook(env['tmp'], 'subject_export.yml', env['inventory'],
                       [env['settings'], env['key'], subject], verbosity=3, name='bad')
    assert run.rc != 0
    assert 'invalid subject: addresses[0]' in run.stdout
    # no host task ran: the playbook stopped in the controller play
    assert not run.results('Write the subject\'s bundle on the host')
    assert not (env['tmp'] / 'remote').exists()
    record = audit_records(env['tmp'] / 'audit')[-1]
    assert record['outcome'] == 'rejected' and record['subject_hmac'] is None and record['hosts'] == {}
    assert record['error'].startswith('the request was refused before any host was touched')
    assert record['request_id']
    assert_no_leak(env, run)


def test_missing_hmac_key_fails_clearly(env):
    subject = subject_file(env, 'subject-a', {'gdpr_subject': USERS['a']})
    run = run_playbook(env['tmp'], 'subject_find.yml', env['inventory'], [env['settings'], subject], name='nokey')
    assert run.rc != 0
    assert 'gdpr_hmac_key is not set' in run.stdout and 'vault' in run.stdout
    assert audit_records(env['tmp'] / 'audit')[-1]['outcome'] == 'rejected'
    assert_no_leak(env, run)


def test_request_id_naming_the_subject_is_refused(env):
    subject = subject_file(env, 'subject-a', {'gdpr_subject': USERS['a'], 'gdpr_request_id': 'zquill7-export'})
    run = run_playbook(env['tmp'], 'subject_find.yml', env['inventory'], [env['settings'], env['key'], subject],
                       name='rid')
    assert run.rc != 0
    assert 'gdpr_request_id must not contain an identifier' in run.stdout
    record = audit_records(env['tmp'] / 'audit')[-1]
    assert record['outcome'] == 'rejected' and record['request_id'] is None
    assert_no_leak(env, run)


def test_a_failing_host_fails_the_export_and_is_recorded(env):
    # a second host whose Python does not exist: the module cannot run there
    env['inventory'].write_text(env['inventory'].read_text()
                                + 'broken ansible_connection=local ansible_python_interpreter=/nonexistent/python3\n')
    subject = subject_file(env, 'subject-a', {'gdpr_subject': USERS['a'], 'gdpr_request_id': 'req-partial'})
    run = run_playbook(env['tmp'], 'subject_export.yml', env['inventory'],
                       [env['settings'], env['key'], subject], name='partial')
    assert run.rc != 0
    record = audit_records(env['tmp'] / 'audit')[-1]
    assert record['outcome'] == 'failed' and 'archive' not in record
    assert record['hosts']['broken']['outcome'] == 'failed'
    assert record['hosts']['broken']['error'].startswith('export: ')
    assert record['hosts']['localhost']['outcome'] == 'ok'
    assert record['error'].startswith('the bundles were not joined') or 'broken' in record['error']
    # all or nothing: no archive, no fetched copy left on the controller
    assert os.listdir(str(env['tmp'] / 'exports')) == []
    # the working host keeps its bundle for a rerun with the same request id, not the packed copy
    assert os.listdir(str(env['tmp'] / 'remote')) == ['req-partial']
    assert_no_leak(env, run)


def test_a_limit_without_the_controller_touches_no_host(env):
    env['inventory'].write_text(env['inventory'].read_text()
                                + 'other ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    subject = subject_file(env, 'subject-a', {'gdpr_subject': USERS['a']})
    run = run_playbook(env['tmp'], 'subject_export.yml', env['inventory'], [env['settings'], env['key'], subject],
                       name='limit', limit='other')
    assert run.rc != 0
    assert 'The request was not validated on the controller, so no host is touched' in run.stdout
    assert not run.results("Write the subject's bundle on the host")
    assert not (env['tmp'] / 'remote').exists()
    assert_no_leak(env, run)


def test_a_bundle_over_the_size_cap_fails_and_leaves_nothing(env):
    subject = subject_file(env, 'subject-a', {'gdpr_subject': USERS['a'], 'gdpr_request_id': 'req-cap',
                                              'gdpr_max_bundle_size': '200'})
    run = run_playbook(env['tmp'], 'subject_export.yml', env['inventory'],
                       [env['settings'], env['key'], subject], name='cap')
    assert run.rc != 0
    record = audit_records(env['tmp'] / 'audit')[-1]
    assert record['outcome'] == 'failed' and 'archive' not in record
    host = record['hosts']['localhost']
    assert host['outcome'] == 'failed'
    assert 'the export would exceed max_bundle_size (200 bytes; ' in host['error']
    assert 'the partial bundle was removed' in host['error']
    # nothing on the "host" (no bundle, no partial one, no packed copy), nothing on the controller
    assert os.listdir(str(env['tmp'] / 'remote')) == []
    assert os.listdir(str(env['tmp'] / 'exports')) == []
    assert_no_leak(env, run)


@pytest.mark.skipif(not MAILDIR, reason='the maildir store is not in the registry')
def test_a_sparse_message_arrives_whole_through_the_sparse_pack(env):
    """A message with a 48 MiB hole: copied with its hole, packed with tar --sparse, checked
    and unpacked on the controller; the archive holds it whole and every checksum verifies."""
    maildir = env['tmp'] / 'vmail' / 'kunde.example' / 'zoequill' / 'Maildir' / 'cur'
    path = maildir / '1700000009.M9P9.mx:2,S'
    with open(str(path), 'wb') as handle:
        handle.write(b'From: <shop@example.net>\nSubject: holes\n\n')
        handle.seek(48 * 1024 * 1024)
        handle.write(b'end of the message\n')
    whole = path.read_bytes()
    subject = subject_file(env, 'subject-a', {'gdpr_subject': USERS['a'], 'gdpr_request_id': 'req-sparse'})
    run = run_playbook(env['tmp'], 'subject_export.yml', env['inventory'],
                       [env['settings'], env['key'], subject], name='sparse')
    assert run.rc == 0, run.stdout[-3000:]
    contents, _modes = read_archive(str(env['tmp'] / 'exports' / 'req-sparse.tar.gz'))
    verify_archive(contents, 'req-sparse')
    assert whole in exported_messages(contents, 'req-sparse/')
    assert_no_leak(env, run)
