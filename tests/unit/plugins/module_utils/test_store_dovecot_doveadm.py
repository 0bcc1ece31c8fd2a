# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Dovecot store against the real doveadm (Debian's dovecot-core): a private Dovecot
(temporary base_dir, passwd-file userdb, Maildir, no protocols, so no port) started for the
test. Checks what the fake in test_store_dovecot.py assumes of doveadm 2.3 with ``-F -``: the
user read from stdin by every mail command the store runs, the output formats, the sessions
ended without ``doveadm kick``, and that no command line names the user."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import Runner
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_dovecot import DovecotStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject

from fake_runner import FakeRunner

DOVECOT = shutil.which('dovecot', path='/usr/sbin:/usr/bin:/sbin:/bin')
DOVEADM = shutil.which('doveadm', path='/usr/bin:/usr/sbin:/bin:/sbin')
MAIL_UID = 65534        # nobody: Dovecot drops to the user's uid for mail access

# CI installs dovecot-core (make deps): there a missing tool fails, it does not skip
pytestmark = [
    pytest.mark.skipif((DOVECOT is None or DOVEADM is None) and not os.environ.get('CI'),
                       reason='dovecot-core (dovecot, doveadm) is not installed'),
    pytest.mark.skipif(os.geteuid() != 0, reason='Dovecot starts as root and drops to the mail uid'),
]

CONF = """\
base_dir = {top}/run
state_dir = {top}/state
log_path = {top}/dovecot.log
protocols =
listen = 127.0.0.1
ssl = no
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = {top}/passwd
}}
userdb {{
  driver = passwd-file
  args = {top}/passwd
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  mailbox Trash {{
    special_use = \\Trash
    auto = create
  }}
}}
"""

MESSAGES = {
    ('ann@example.org', 'INBOX'): [b'From: x@example.net\nSubject: one\n\nfirst\n',
                                   b'From: y@example.net\nSubject: two\n\n\xe9 8bit\n'],
    ('ann@example.org', 'Trash'): [b'From: z@example.net\nSubject: gone\n\nthird\n'],
    ('bob@example.org', 'INBOX'): [b'From: x@example.net\nSubject: bob\n\nbob\n'],
}


@pytest.fixture
def dovecot():
    top = tempfile.mkdtemp(prefix='mailprivacy-dovecot-')
    os.chmod(top, 0o755)          # the mail uid reaches its home below
    conf = os.path.join(top, 'dovecot.conf')
    with open(conf, 'w') as fh:
        fh.write(CONF.format(top=top))
    for name in ('run', 'state'):
        os.mkdir(os.path.join(top, name))
    with open(os.path.join(top, 'passwd'), 'w') as fh:
        # alias@ is a second name of ann's mailbox
        for name, home in (('ann@example.org', 'ann'), ('alias@example.org', 'ann'), ('bob@example.org', 'bob')):
            fh.write('%s:{PLAIN}x:%d:%d::%s/home/%s::\n' % (name, MAIL_UID, MAIL_UID, top, home))
    for home in ('ann', 'bob'):
        os.makedirs(os.path.join(top, 'home', home))
        os.chown(os.path.join(top, 'home', home), MAIL_UID, MAIL_UID)
    env = dict(os.environ, CONFIG_FILE=conf)
    subprocess.run([DOVECOT, '-c', conf], check=True, env=env)
    children = []
    try:
        for _attempt in range(100):
            if os.path.exists(os.path.join(top, 'run', 'anvil')):
                break
            time.sleep(0.05)
        for (user, box), bodies in MESSAGES.items():
            for body in bodies:
                subprocess.run([DOVEADM, 'save', '-u', user, '-m', box], input=body, check=True, env=env)
        yield {'top': top, 'conf': conf, 'env': env, 'children': children}
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
            child.wait()
        with open(os.path.join(top, 'run', 'master.pid')) as fh:
            master = int(fh.read().strip())
        os.kill(master, signal.SIGTERM)
        for _attempt in range(100):
            try:
                os.kill(master, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        shutil.rmtree(top, ignore_errors=True)


def session(dovecot, user):
    """A process that anvil lists as the user's IMAP connection (as imap-login registers one)."""
    child = subprocess.Popen(['sleep', '60'])
    dovecot['children'].append(child)
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(os.path.join(dovecot['top'], 'run', 'anvil'))
    sock.sendall(('VERSION\tanvil\t1\t0\nCONNECT\t%d\timap/192.0.2.7/%s\n' % (child.pid, user)).encode())
    sock.close()
    return child


def mailbox_counts(dovecot, user):
    out = subprocess.run([DOVEADM, '-f', 'tab', 'mailbox', 'status', '-u', user, 'messages', '*'],
                         stdout=subprocess.PIPE, check=True, env=dovecot['env']).stdout.decode()
    return dict(line.split('\t') for line in out.splitlines()[1:])


def test_real_doveadm_locate_export_erase_without_names_on_command_lines(dovecot, tmp_path):
    # the real Runner behind the fake one, which records every command line
    runner = FakeRunner(real=Runner(env={'CONFIG_FILE': dovecot['conf']}))
    store = DovecotStore({}, runner)
    assert store.available() == (True, '')
    # two names of one mailbox count once; a name the userdb does not know is no error
    ann = Subject.from_params(addresses=['ann@example.org', 'alias@example.org', 'nobody@example.org'])
    res = store.locate(ann)
    assert res['found'] == 3 and res['detail'] == {'inbox': 2, 'trash': 1, 'users': 1}

    res = store.export(ann, str(tmp_path))
    emls = sorted((tmp_path / f['path']).read_bytes() for f in res['files'] if f['kind'] == 'eml')
    assert emls == sorted(b for (user, _box), bodies in MESSAGES.items() if user == 'ann@example.org'
                          for b in bodies)

    ann_session = session(dovecot, 'Ann@Example.org')
    bob_session = session(dovecot, 'bob@example.org')
    res = store.erase(ann, check_mode=False)
    assert res['erased'] == 3 and res['detail']['remaining'] == 0 and 'kick_failed' not in res['detail']
    assert ann_session.wait(timeout=10) == -signal.SIGTERM
    assert bob_session.poll() is None
    assert set(mailbox_counts(dovecot, 'ann@example.org').values()) == {'0'}
    assert mailbox_counts(dovecot, 'bob@example.org')['INBOX'] == '1'

    res = DovecotStore({}, runner).locate(Subject.from_params(domain='example.org'))
    assert res['detail']['users'] == 2 and res['found'] == 1

    assert len(runner.calls) > 20
    for argv in runner.calls:
        assert not [a for a in argv if 'example.org' in a.lower() or 'ann' in a.lower()], argv
