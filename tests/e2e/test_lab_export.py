# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The subject playbooks against the container lab (inventories/lab), through ansible-runner.

Runs only when the lab is up and MAILPRIVACY_LAB=1 is set:

    ansible-playbook -i inventories/lab/hosts.yml lab/up.yml && ansible-playbook -i inventories/lab/hosts.yml lab/seed.yml
    MAILPRIVACY_LAB=1 pytest tests/e2e/test_lab_export.py

The lab (lab/seed.yml) has the users alice and bob of the domain example.org on every host, mail
delivered to both (Message-ID <lab-N-user@example.net>) and logins that left log lines. Proven:

* the export for alice holds, from every mail host, exactly the messages of her mailbox (read
  independently from the host), her log lines (for mail.log: exactly the lines of the live file
  that name her), and nothing of bob's;
* the customer export of example.org (with the customer's logins, which carry no domain in the
  lab's passwd user database) holds the mail of both users from every host;
* the archive, every host manifest and SHA256SUMS verify; the audit records hold the HMAC and
  no identifier; nothing of the lab users (names, addresses, passwords) is in the runner's
  artifacts, at -vvv for alice's export.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from e2e_helpers import (
    HMAC_KEY,
    ROOT,
    audit_records,
    files_under,
    leaks,
    read_archive,
    run_playbook,
    verify_archive,
    write_yaml,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject

pytestmark = pytest.mark.skipif(os.environ.get('MAILPRIVACY_LAB') != '1',
                                reason='the container lab tests run with MAILPRIVACY_LAB=1 (lab up and seeded)')

INVENTORY = os.path.join(ROOT, 'inventories', 'lab', 'hosts.yml')
DOMAIN = 'example.org'
ALICE = {'addresses': ['alice@example.org'], 'logins': ['alice']}
BOB = {'addresses': ['bob@example.org'], 'logins': ['bob']}
# everything of the lab users that must never reach the runner's output
FORBIDDEN = ['alice', 'bob', 'example.org', 'lab-Alice-2026', 'lab-Bob-2026']
MSGID_RE = re.compile(rb'^Message-ID:\s*<(lab-\d+-(\w+)@example\.net)>', re.I | re.M)


def podman(host, script):
    proc = subprocess.run(['podman', 'exec', host, 'sh', '-c', script], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=False)
    return proc.returncode, proc.stdout


def inventory_groups():
    out = subprocess.run(['ansible-inventory', '-i', INVENTORY, '--list'], stdout=subprocess.PIPE, check=True,
                         env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg')))
    data = json.loads(out.stdout)

    def hosts_of(group):
        entry = data.get(group, {})
        found = list(entry.get('hosts', []))
        for child in entry.get('children', []):
            found += hosts_of(child)
        return sorted(set(found))
    return hosts_of


def mailbox_message_ids(host, user):
    """Message-IDs of the lab mail in the user's mailbox, read on the host (mbox in /var/mail
    or ~/Maildir), independently of the stores."""
    _rc, out = podman(host, 'cat /var/mail/%s 2>/dev/null; find /home/%s/Maildir -type f -path "*/cur/*" '
                            '-o -type f -path "*/new/*" 2>/dev/null | xargs -r cat' % (user, user))
    return sorted(set(m[0].decode() for m in MSGID_RE.findall(out)))


@pytest.fixture(scope='module')
def lab():
    rc, _out = podman('lab-dovecot1', 'true')
    if rc != 0:
        pytest.fail('MAILPRIVACY_LAB=1 but the lab is not running (ansible-playbook lab/up.yml lab/seed.yml)')
    hosts_of = inventory_groups()
    hosts = hosts_of('mail_servers')
    mail = dict((h, {u: mailbox_message_ids(h, u) for u in ('alice', 'bob')}) for h in hosts)
    # the seed delivers mail to both users on every Dovecot, Courier and qmail host
    for host in hosts_of('dovecot_servers') + hosts_of('courier_servers') + hosts_of('qmail_servers'):
        assert mail[host]['alice'] and mail[host]['bob'], '%s: the lab seed left no mail; reseed the lab' % host
    return {'hosts': hosts, 'mail': mail}


def settings(tmp_path):
    return write_yaml(tmp_path / 'settings.yml', {
        'gdpr_export_dir': str(tmp_path / 'exports'),
        'gdpr_audit_dir': str(tmp_path / 'audit'),
        'gdpr_operator': 'lab-e2e',
    })


def assert_no_leak(tmp_path, run):
    found = leaks(list(run.artifact_files()) + list(files_under(tmp_path / 'audit')), FORBIDDEN)
    assert not found, 'lab user data leaked: %s' % sorted(set(v for _p, v in found))


def host_files(contents, top, host):
    prefix = '%shosts/%s/' % (top, host)
    return dict((name[len(prefix):], data) for name, data in contents.items() if name.startswith(prefix))


def message_ids(files):
    out = []
    for name, data in files.items():
        if name.endswith('.eml'):
            out += [m[0].decode() for m in MSGID_RE.findall(data)]
    return sorted(out)


def log_lines(data):
    """A log line ends at LF, as the stores read them (recordio keeps the SMTP session's CR
    inside a line: splitlines() would cut such a line in two)."""
    if isinstance(data, str):
        data = data.encode('utf-8', 'surrogateescape')
    return [line for line in data.split(b'\n') if line]


def test_export_of_one_user_from_every_host(tmp_path, key_file, lab):
    subject = write_yaml(tmp_path / 'subject.yml', {'gdpr_subject': ALICE})
    run = run_playbook(tmp_path, 'subject_export.yml', INVENTORY, [settings(tmp_path), key_file, subject],
                       verbosity=3, name='user')
    assert run.rc == 0, run.stdout[-4000:]
    record = audit_records(tmp_path / 'audit')[-1]
    alice = Subject.from_params(**ALICE)
    bob = Subject.from_params(**BOB)
    assert record['outcome'] == 'ok' and record['subject_hmac'] == alice.hmac(HMAC_KEY)
    assert sorted(record['hosts']) == lab['hosts']

    contents, _modes = read_archive(record['archive']['path'])
    top = record['request_id'] + '/'
    manifest = verify_archive(contents, record['request_id'])
    assert sorted(manifest['hosts']) == lab['hosts']

    for host in lab['hosts']:
        files = host_files(contents, top, host)
        # mail: exactly the messages of her mailbox on this host, none of bob's
        expected = lab['mail'][host]['alice']
        assert message_ids(files) == expected, host
        if lab['mail'][host]['bob']:
            assert not set(message_ids(files)) & set(lab['mail'][host]['bob'])
        # log lines: some on every host, each one names her and none is only bob's
        lines = []
        for name, data in files.items():
            if name.startswith(('logs/', 'journal/')) and name.endswith('.txt'):
                lines += log_lines(data)
        assert lines, '%s: no log line of the subject was exported' % host
        for line in lines:
            assert alice.matches(line), '%s: an exported line does not name the subject' % host
        # the journal's entries with every field: each one names her in some field
        if 'journal/journal.txt' in files:
            entries = files['journal/journal-entries.jsonl'].splitlines()
            assert entries, host
            for entry in entries:
                values = json.loads(entry).values()
                assert alice.matches('\n'.join(str(v) for v in values).encode()), \
                    '%s: an exported journal entry does not name the subject' % host
        # the live mail.log: exactly the lines that name her (as read from the host now)
        if 'logs/var/log/mail.log.txt' in files:
            _rc, live = podman(host, 'cat /var/log/mail.log')
            want = [line for line in log_lines(live) if alice.matches(line)]
            got = log_lines(files['logs/var/log/mail.log.txt'])
            assert got == want, host
        # nothing of bob: no message of his, no file whose every line is his
        for name, data in files.items():
            if name.endswith('.eml'):
                assert not bob.matches(data) or alice.matches(data), '%s: %s is bob\'s' % (host, name)
    # bundles gone from the hosts
    for host in lab['hosts']:
        rc, _out = podman(host, 'test -e /var/lib/mailprivacy/exports/%s' % record['request_id'])
        assert rc != 0, '%s kept the bundle' % host
    assert_no_leak(tmp_path, run)
    assert record['subject_hmac'] in '\n'.join(open(p, encoding='utf-8', errors='replace').read()
                                               for p in run.artifact_files())


def test_customer_export_of_the_lab_domain_holds_both_users(tmp_path, key_file, lab):
    # the lab's user database (passwd) has no domains: the customer's logins go with the domain
    subject = write_yaml(tmp_path / 'customer.yml', {'gdpr_subject_domain': DOMAIN,
                                                     'gdpr_subject': {'logins': ['alice', 'bob']}})
    run = run_playbook(tmp_path, 'customer_export.yml', INVENTORY, [settings(tmp_path), key_file, subject],
                       verbosity=1, name='customer')
    assert run.rc == 0, run.stdout[-4000:]
    record = audit_records(tmp_path / 'audit')[-1]
    assert record['outcome'] == 'ok' and record['kind'] == 'domain'
    contents, _modes = read_archive(record['archive']['path'])
    top = record['request_id'] + '/'
    verify_archive(contents, record['request_id'])
    for host in lab['hosts']:
        files = host_files(contents, top, host)
        assert message_ids(files) == sorted(lab['mail'][host]['alice'] + lab['mail'][host]['bob']), host
    assert_no_leak(tmp_path, run)


def test_find_in_check_mode_counts_the_mailboxes(tmp_path, key_file, lab):
    subject = write_yaml(tmp_path / 'subject.yml', {'gdpr_subject': ALICE})
    run = run_playbook(tmp_path, 'subject_find.yml', INVENTORY, [settings(tmp_path), key_file, subject],
                       check=True, name='find')
    assert run.rc == 0, run.stdout[-4000:]
    record = audit_records(tmp_path / 'audit')[-1]
    assert record['outcome'] == 'ok' and record['check_mode'] is True
    for host in lab['hosts']:
        stores = record['hosts'][host]['stores']
        mail = sum(s['found'] for name, s in stores.items() if s['units'] == 'messages')
        assert mail == len(lab['mail'][host]['alice']), host
    assert_no_leak(tmp_path, run)
