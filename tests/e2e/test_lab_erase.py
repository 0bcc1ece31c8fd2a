# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Erasure of alice on the container lab (inventories/lab), through ansible-runner.

Runs only with MAILPRIVACY_LAB=1 and the lab up. Self-contained: it re-runs lab/seed.yml first
(the lab is shared with other tests, which may have changed it; MAILPRIVACY_LAB_SEEDED=1, set by
tests/lab-e2e.sh on a lab it has just seeded and removes afterwards, skips both seeds), applies
playbooks/site.yml as an operator has before answering requests (the seed leaves the DEBUG era:
Dovecot's auth_debug logs every user lookup, the erasure's own and its proof search's included;
mail_logging installs systemd-journal-remote, with which the journal store rewrites journal
files), then hashes bob's mail, log lines and Horde rows on every host, erases alice with
playbooks/subject_erase.yml and proves:

* alice cannot log in over IMAP (on the hosts that serve IMAP) and IMAP shows nothing of hers;
* no file under the mail roots holds a Message-ID of her mail (Dovecot's index caches included);
* no log file or journal of any host holds a line that names her (every journal field is read);
* Horde's database holds no row that names her;
* bob's messages, log lines and Horde rows are byte for byte what they were (hashes taken before);
* the report says "erased everywhere" (or "manual steps open") and the proof search found nothing;
* nothing of the lab users is in the runner's artifacts, the report or the audit trail.

Afterwards the lab is seeded again (alice is back) so that the other lab tests find her.
"""

from __future__ import annotations

import hashlib
import imaplib
import json
import os
import subprocess

import pytest

from e2e_helpers import ROOT, files_under, leaks, run_playbook, write_yaml

pytestmark = pytest.mark.skipif(os.environ.get('MAILPRIVACY_LAB') != '1',
                                reason='the container lab tests run with MAILPRIVACY_LAB=1 (lab up)')

INVENTORY = os.path.join(ROOT, 'inventories', 'lab', 'hosts.yml')
ALICE = {'addresses': ['alice@example.org'], 'logins': ['alice']}
PASSWORDS = {'alice': 'lab-Alice-2026', 'bob': 'lab-Bob-2026'}
# The lab users' identifiers and passwords. The bare domain is not among them: it is the
# operator's own mail domain and appears as configuration (store_options.system_accounts.
# local_domains) in the module invocation; the subject's address is.
FORBIDDEN = ['alice', 'bob', 'alice@example.org', 'lab-Alice-2026', 'lab-Bob-2026']
LOG_GLOBS = '/var/log/mail.log* /var/log/syslog* /var/log/auth.log* /var/log/dovecot*.log* /var/log/qmail -type f'


def podman(host, script, check=False):
    proc = subprocess.run(['podman', 'exec', host, 'sh', '-c', script], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=check)
    return proc.returncode, proc.stdout


def playbook(path, *args):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'))
    proc = subprocess.run(['ansible-playbook', '-i', INVENTORY, path] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, check=False)
    assert proc.returncode == 0, '%s failed:\n%s' % (path, proc.stdout.decode('utf-8', 'replace')[-3000:])


def seed():
    playbook(os.path.join(ROOT, 'lab', 'seed.yml'))


def apply_site():
    # what an operator has applied before answering requests
    playbook(os.path.join(ROOT, 'playbooks', 'site.yml'))


def hosts_of(group):
    out = subprocess.run(['ansible-inventory', '-i', INVENTORY, '--list'], stdout=subprocess.PIPE, check=True,
                         env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg')))
    data = json.loads(out.stdout)

    def walk(name):
        entry = data.get(name, {})
        found = list(entry.get('hosts', []))
        for child in entry.get('children', []):
            found += walk(child)
        return sorted(set(found))
    return walk(group)


def mail_hashes(host, user):
    """{path: sha256} of the user's mail files (Maildir and mbox), read on the host."""
    _rc, out = podman(host, 'for f in /var/mail/%s $(find /home/%s/Maildir /var/vmail -type f 2>/dev/null '
                            '| grep -E "/(cur|new)/|/var/mail/"); do [ -f "$f" ] && sha256sum "$f"; done' % (user, user))
    result = {}
    for line in out.decode('utf-8', 'replace').splitlines():
        digest, _sp, path = line.partition('  ')
        if '/%s' % user in path:
            result[path] = digest
    return result


def mail_traces(host, user):
    """Files under the mail roots that hold a Message-ID of the user's lab mail: the messages,
    and also what caches their headers (Dovecot's dovecot.index.cache keeps the cached From,
    Subject and Message-ID of expunged messages until it is compressed)."""
    _rc, out = podman(host, "grep -rlaF -e '-%s@example.net>' /home /var/mail /var/vmail /var/lib/dovecot "
                            "/var/lib/courier /var/qmail/queue 2>/dev/null; true" % user)
    return sorted(out.decode('utf-8', 'replace').split())


def log_text(host):
    """Every log line of the host (files, compressed included, and the journal) as bytes."""
    _rc, out = podman(host, 'find %s 2>/dev/null | while read f; do case "$f" in *.gz) zcat "$f";; '
                            '*.bz2) bzcat "$f";; *.xz) xzcat "$f";; *) cat "$f";; esac; done; '
                            'journalctl -q -o cat 2>/dev/null; true' % LOG_GLOBS)
    return out


def journal_export(host):
    """Every field of every journal entry (journalctl -o export), not only the message."""
    _rc, out = podman(host, 'journalctl -q -o export 2>/dev/null; true')
    return out


def password_traces(host, user):
    """(log file lines, journal entries) that hold the user's lab password. Courier's
    DEBUG_LOGIN=2 (the seeded DEBUG era) logs passwords on lines that name no identifier of the
    user, so the matcher leaves them; the lab password holds the user's name as a word
    ('lab-Alice-2026'), so the independent check reports exactly these lines for review."""
    secret = PASSWORDS[user].encode('ascii')
    _rc, files = podman(host, 'find %s 2>/dev/null | while read f; do case "$f" in *.gz) zcat "$f";; '
                              '*.bz2) bzcat "$f";; *.xz) xzcat "$f";; *) cat "$f";; esac; done; true' % LOG_GLOBS)
    entries = journal_export(host).split(b'\n\n')
    return (sum(1 for line in files.splitlines() if secret in line),
            sum(1 for entry in entries if secret in entry))


HORDE_ROWS = r'''
import glob, sqlite3, sys
for db in glob.glob("/var/lib/horde/*.sqlite"):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    for table in sorted(tables):
        for row in con.execute('SELECT * FROM "%s"' % table):
            text = "|".join("" if v is None else (v.decode("latin-1") if isinstance(v, bytes) else str(v))
                            for v in row)
            if sys.argv[1] in text.lower():
                print(table + "\t" + text)
'''


def horde_rows(host, needle):
    """Sorted rows of every table of the host's Horde SQLite databases that contain needle
    (case-insensitive); [] on hosts without Horde."""
    proc = subprocess.run(['podman', 'exec', host, 'python3', '-c', HORDE_ROWS, needle],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return sorted(proc.stdout.decode('utf-8', 'replace').splitlines())


def bob_lines(host):
    lines = [line for line in log_text(host).splitlines() if b'bob' in line]
    return hashlib.sha256(b'\n'.join(sorted(lines))).hexdigest(), len(lines)


def container_ip(host):
    out = subprocess.run(['podman', 'inspect', '-f', '{{.NetworkSettings.IPAddress}}', host],
                         stdout=subprocess.PIPE, check=True)
    return out.stdout.decode().strip()


def imap_login(host, user):
    """'ok' with the number of messages in INBOX, or 'refused'; None when IMAP is not served."""
    rc, _out = podman(host, 'command -v doveadm >/dev/null || command -v imapd >/dev/null || '
                            'test -x /usr/lib/courier/courier/imaplogin')
    if rc != 0:
        return None
    try:
        conn = imaplib.IMAP4(container_ip(host), 143, timeout=10)
    except OSError:
        return None
    try:
        try:
            if 'STARTTLS' in conn.capabilities:
                import ssl
                conn.starttls(ssl_context=ssl._create_unverified_context())  # lab certificates
            conn.login(user, PASSWORDS[user])
        except imaplib.IMAP4.error:
            return ('refused', 0)
        typ, data = conn.select('INBOX', readonly=True)
        count = int(data[0]) if typ == 'OK' else 0
        conn.logout()
        return ('ok', count)
    finally:
        try:
            conn.shutdown()
        except OSError:
            pass


@pytest.fixture(scope='module')
def lab():
    rc, _out = podman('lab-dovecot1', 'true')
    if rc != 0:
        pytest.fail('MAILPRIVACY_LAB=1 but the lab is not running (ansible-playbook lab/up.yml)')
    fresh = os.environ.get('MAILPRIVACY_LAB_SEEDED') == '1'
    if not fresh:
        seed()
    apply_site()
    hosts = hosts_of('mail_servers')
    before = {}
    for host in hosts:
        # bob's IMAP login first: it leaves log lines, which must be in the hashed set
        imap_bob = imap_login(host, 'bob')
        before[host] = {'bob_mail': mail_hashes(host, 'bob'), 'bob_lines': bob_lines(host),
                        'alice_mail': mail_hashes(host, 'alice'), 'imap_bob': imap_bob,
                        'alice_traces': mail_traces(host, 'alice'),
                        'alice_journal': journal_export(host).count(b'alice'),
                        'alice_rows': len(horde_rows(host, 'alice')), 'bob_rows': horde_rows(host, 'bob')}
    yield {'hosts': hosts, 'before': before}
    if not fresh:
        seed()      # give the other lab tests their alice back


def remains(report):
    """For a failed erasure: the lab lines that still name alice on the hosts that failed (the
    lab's made-up users, shown to tell what logged them)."""
    out = []
    for host, entry in sorted(report.get('hosts', {}).items()):
        if entry.get('outcome') != 'ok':
            _rc, text = podman(host, 'journalctl -o short-iso --no-pager | grep -i alice | tail -n 20')
            out.append('\n%s, journal lines naming alice:\n%s' % (host, text.decode('utf-8', 'replace')))
    return ''.join(out)


def test_erase_one_subject_everywhere(tmp_path, key_file, lab):
    # (the name holds no lab user: pytest puts it into tmp_path, which the artifacts name)
    settings = write_yaml(tmp_path / 'settings.yml', {
        'gdpr_audit_dir': str(tmp_path / 'audit'), 'gdpr_report_dir': str(tmp_path / 'reports'),
        'gdpr_operator': 'lab-e2e',
        # the lab users are system (PAM) users: removing the account is part of the erasure
        'gdpr_store_options': {'system_accounts': {'enabled': True, 'local_domains': ['example.org']}}})
    subject = write_yaml(tmp_path / 'subject.yml', {'gdpr_subject': ALICE, 'gdpr_request_id': 'lab-erase-1',
                                                    'gdpr_confirm_erase': 'lab-erase-1'})
    assert any(lab['before'][h]['alice_mail'] for h in lab['hosts']), 'the seed left alice no mail'
    assert any(lab['before'][h]['alice_traces'] for h in lab['hosts']), 'no file holds a Message-ID of alice'
    # the searches below can fail: before the erasure they find her
    assert any(lab['before'][h]['alice_journal'] for h in lab['hosts']), 'alice is in no journal'
    assert any(lab['before'][h]['alice_rows'] for h in lab['hosts']), 'the seed left alice no Horde rows'
    assert any(lab['before'][h]['bob_rows'] for h in lab['hosts']), 'the seed left bob no Horde rows'
    run = run_playbook(tmp_path, 'subject_erase.yml', INVENTORY, [settings, key_file, subject],
                       verbosity=2, name='erase')
    report = json.loads((tmp_path / 'reports' / 'lab-erase-1.erasure.json').read_text())
    assert run.rc == 0, json.dumps(report['reasons']) + remains(report) + run.stdout[-3000:]
    assert sorted(report['hosts']) == lab['hosts']
    # The independent check (issue 12) reports for review exactly the DEBUG-era lines that hold
    # alice's password and no identifier of hers; nothing else on any host is a candidate
    traces = dict((host, password_traces(host, 'alice')) for host in lab['hosts'])
    for host in lab['hosts']:
        check = report['hosts'][host]['independent_check']
        assert check['ran'] and check['unreadable'] == 0, host
        assert (check['lines'], check['journal']) == traces[host], host
    if any(sum(found) for found in traces.values()):
        assert report['verdict'] == 'candidates for review'
    else:
        assert report['verdict'] in ('erased everywhere', 'manual steps open')
    for host in lab['hosts']:
        entry = report['hosts'][host]
        assert entry['outcome'] == 'ok' and entry['proof_found'] == 0, host
        # nothing of alice left: no mail file, no log line, no IMAP login, an empty IMAP view
        assert mail_hashes(host, 'alice') == {}, host
        assert mail_traces(host, 'alice') == [], '%s: files still hold her Message-IDs' % host
        assert not [line for line in log_text(host).splitlines() if b'alice' in line], host
        assert b'alice' not in journal_export(host), '%s: a journal field still names alice' % host
        assert horde_rows(host, 'alice') == [], '%s: Horde still holds rows of alice' % host
        assert horde_rows(host, 'bob') == lab['before'][host]['bob_rows'], host
        login = imap_login(host, 'alice')
        assert login in (None, ('refused', 0)), '%s: alice can still log in over IMAP' % host
        # bob byte for byte
        assert mail_hashes(host, 'bob') == lab['before'][host]['bob_mail'], host
        assert bob_lines(host) == lab['before'][host]['bob_lines'], host
    for host in lab['hosts']:
        assert imap_login(host, 'bob') == lab['before'][host]['imap_bob'], host
    found = leaks(list(run.artifact_files()) + list(files_under(tmp_path / 'audit', tmp_path / 'reports')),
                  FORBIDDEN)
    assert not found, 'lab user data leaked: %s' % sorted(set(v for _p, v in found))
