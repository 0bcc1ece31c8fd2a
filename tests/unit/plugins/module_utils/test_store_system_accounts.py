# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the system (passwd) account store, with a temporary passwd copy and a fake
Runner whose userdel edits that copy."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError, run_stores
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_system_accounts import (
    DISABLED_REASON,
    SystemAccountStore,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject

from fake_runner import FakeRunner

PASSWD = (
    'root:x:0:0:root:/root:/bin/bash\n'
    'mail:x:8:8:mail:/var/mail:/usr/sbin/nologin\n'
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n'
    'ann:x:1001:1001:Ann Example,,,:/home/ann:/bin/bash\n'
    'joann:x:1002:1002:Jo Ann:/home/joann:/bin/bash\n'
    'bob:x:1003:1003:Bob:/home/bob:/bin/bash\n'
    'carol:x:1004:1004:Carol:/home/carol:/bin/bash\n'
    'carol2:x:1004:1004:Carol alias:/home/carol2:/bin/bash\n'
    'dave:x:1005:1005:Dave:/home/shared:/bin/bash\n'
    'erin:x:1006:1006:Erin:/home/shared:/bin/bash\n'
)
GROUP = (
    'root:x:0:\n'
    'ann:x:1001:\n'
    'bob:x:1003:\n'
    'staff:x:50:bob,ann\n'
    'audio:x:29:bob\n'
)


def shadow_runner(passwd, tools=('usermod', 'userdel', 'pkill', 'loginctl'), rcs=None):
    """The fake runner with usermod/userdel/pkill/loginctl (exit ``rcs[tool]``, default 0);
    userdel removes the line from the passwd copy."""
    rcs = rcs or {}

    def userdel(argv, _data):
        if rcs.get('userdel', 0):
            return rcs['userdel']
        name = argv[-1]
        with open(passwd) as fh:
            lines = fh.readlines()
        if not any(l.split(':')[0] == name for l in lines):
            return 6
        with open(passwd, 'w') as fh:
            fh.writelines(l for l in lines if l.split(':')[0] != name)
        return 0

    return FakeRunner(dict((tool, userdel if tool == 'userdel' else rcs.get(tool, 0)) for tool in tools),
                      bindir='/usr/sbin')


@pytest.fixture
def host(tmp_path):
    passwd = tmp_path / 'passwd'
    passwd.write_text(PASSWD)
    group = tmp_path / 'group'
    group.write_text(GROUP)
    spool = tmp_path / 'spool'
    spool.mkdir()
    return {'passwd_file': str(passwd), 'group_file': str(group), 'enabled': True, 'mail_spool': str(spool)}


def store(opts, runner=None, **extra):
    options = dict(opts)
    options.update(extra)
    return SystemAccountStore(options, runner or shadow_runner(opts['passwd_file']))


def names(path):
    with open(path) as fh:
        return [l.split(':')[0] for l in fh]


def test_disabled_by_default(host):
    opts = dict(host)
    del opts['enabled']
    st = SystemAccountStore(opts, shadow_runner(host['passwd_file']))
    assert st.available() == (False, DISABLED_REASON)
    subject = Subject.from_params(logins=['ann'])
    results, failed = run_stores([SystemAccountStore], 'erase', subject,
                                 {'system_accounts': opts}, runner=shadow_runner(host['passwd_file']),
                                 check_mode=False)
    assert failed == []
    assert results['system_accounts']['available'] is False
    assert results['system_accounts']['reason'] == DISABLED_REASON
    assert 'ann' in names(host['passwd_file'])


def test_locate_logins_exact(host):
    st = store(host)
    assert st.locate(Subject.from_params(logins=['ann']))['found'] == 1
    # 'joann' is not 'ann', an address without local_domains is not a login
    assert st.locate(Subject.from_params(logins=['nn']))['found'] == 0
    assert st.locate(Subject.from_params(addresses=['ann@example.org']))['found'] == 0


def test_local_domains_map_addresses(host):
    st = store(host, local_domains=['Example.ORG'])
    assert st.locate(Subject.from_params(addresses=['ann@example.org']))['found'] == 1
    assert st.locate(Subject.from_params(addresses=['ann@example.org.evil']))['found'] == 0
    assert st.locate(Subject.from_params(addresses=['ann@other.org']))['found'] == 0
    both = st.locate(Subject.from_params(addresses=['ann@example.org'], logins=['ann', 'bob']))
    assert both['found'] == 2


def test_export_without_password_and_other_members(host, tmp_path):
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    res = store(host).export(Subject.from_params(logins=['ann']), str(bundle))
    assert res['found'] == 1
    path = bundle / 'system_accounts' / 'accounts.json'
    assert oct(os.stat(str(path)).st_mode & 0o777) == '0o600'
    data = json.loads(path.read_text())
    row = data['accounts'][0]
    assert row['account'] == 'ann' and row['uid'] == 1001 and row['gecos'] == 'Ann Example,,,'
    assert row['password'].startswith('(not exported')
    assert sorted(g['group'] for g in row['groups']) == ['ann', 'staff']
    assert 'bob' not in path.read_text()


def test_erase_locks_kills_then_deletes(host):
    runner = shadow_runner(host['passwd_file'])
    st = store(host, runner)
    subject = Subject.from_params(logins=['ann'])
    res = st.erase(subject, check_mode=False)
    assert res['found'] == 1 and res['erased'] == 1
    assert [c[0] for c in runner.named] == ['usermod', 'loginctl', 'pkill', 'userdel']
    assert runner.named[0] == ['usermod', '-L', '-e', '1', '--', 'ann']
    assert runner.named[1] == ['loginctl', 'terminate-user', '1001']
    assert runner.named[2] == ['pkill', '-KILL', '-u', '1001']
    assert runner.named[3] == ['userdel', '--', 'ann']
    left = names(host['passwd_file'])
    assert 'ann' not in left and 'joann' in left and 'bob' in left
    assert st.locate(subject)['found'] == 0
    # a second run changes nothing
    again = st.erase(subject, check_mode=False)
    assert again['found'] == 0 and again['erased'] == 0


def test_remove_home_option_and_no_loginctl(host):
    runner = shadow_runner(host['passwd_file'], tools=('usermod', 'userdel', 'pkill'))
    store(host, runner, remove_home=True).erase(Subject.from_params(logins=['ann']), check_mode=False)
    assert [c[0] for c in runner.named] == ['usermod', 'pkill', 'userdel']
    assert runner.named[-1] == ['userdel', '-r', '--', 'ann']


def test_check_mode_touches_nothing(host):
    runner = shadow_runner(host['passwd_file'])
    before = open(host['passwd_file']).read()
    res = store(host, runner).erase(Subject.from_params(logins=['ann', 'bob']), check_mode=True)
    assert res['found'] == 2 and res['erased'] == 2
    assert runner.named == []
    assert open(host['passwd_file']).read() == before


@pytest.mark.parametrize('login,extra', [
    ('root', {}),
    ('mail', {}),
    ('nobody', {}),
    ('bob', {'protected': ['bob']}),
    ('ann', {'min_uid': 1002}),
    ('carol', {}),       # uid shared with carol2
    ('dave', {}),        # home shared with erin
])
def test_refusals_touch_nothing(host, login, extra):
    runner = shadow_runner(host['passwd_file'])
    before = open(host['passwd_file']).read()
    st = store(host, runner, **extra)
    subject = Subject.from_params(logins=['joann', login])
    assert st.locate(subject)['detail']['refused'] == 1
    with pytest.raises(StoreError) as err:
        st.erase(subject, check_mode=False)
    assert login not in str(err.value)
    with pytest.raises(StoreError):
        st.erase(subject, check_mode=True)
    assert runner.named == []
    assert open(host['passwd_file']).read() == before


def test_missing_tools_refuse(host):
    runner = shadow_runner(host['passwd_file'], tools=('usermod',))
    with pytest.raises(StoreError):
        store(host, runner).erase(Subject.from_params(logins=['ann']), check_mode=False)
    assert runner.named == []
    assert 'ann' in names(host['passwd_file'])


def test_userdel_failure_reports_no_name(host):
    runner = shadow_runner(host['passwd_file'], rcs={'userdel': 8})
    with pytest.raises(StoreError) as err:
        store(host, runner).erase(Subject.from_params(logins=['ann']), check_mode=False)
    assert 'exit 8' in str(err.value) and 'ann' not in str(err.value)


def test_pkill_failure_stops_before_userdel(host):
    runner = shadow_runner(host['passwd_file'], rcs={'pkill': 3})
    with pytest.raises(StoreError):
        store(host, runner).erase(Subject.from_params(logins=['ann']), check_mode=False)
    assert 'userdel' not in [c[0] for c in runner.named]


def test_bad_options():
    with pytest.raises(StoreError):
        SystemAccountStore({'protected': 'bob'}, shadow_runner('/nonexistent'))
    with pytest.raises(StoreError):
        SystemAccountStore({'min_uid': 0}, shadow_runner('/nonexistent'))
    with pytest.raises(StoreError):
        SystemAccountStore({'bogus': 1}, shadow_runner('/nonexistent'))


def test_domain_subject_gets_manual_step(host):
    st = store(host, local_domains=['example.org'])
    res = st.locate(Subject.from_params(domain='example.org'))
    assert res['found'] == 0
    assert res['manual_steps'] and 'example.org' not in res['manual_steps'][0]


FOLDER_DATA = (b"From MAILER_DAEMON Mon Nov 23 10:00:00 2026\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n"
               b"From: Mail System Internal Data <MAILER-DAEMON@h>\n"
               b"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\nX-IMAP: 1700000000 0000000002\n\n"
               b"This text is part of the internal format of your mail folder, and is not\na real message.\n")
MESSAGE = b"From newsletter@example.net Mon Nov 23 10:00:00 2026\nSubject: hi\n\nFrom the start\n"


@pytest.mark.parametrize('content, removed', [
    (b'', True),
    (FOLDER_DATA, True),
    (FOLDER_DATA + b'\n' + MESSAGE, False),
    (MESSAGE, False),
    (b'not an mbox\n', False),
])
def test_mail_spool_of_the_removed_account(host, content, removed):
    """userdel without -r leaves /var/mail/<login>: removed when it holds no message (Dovecot's
    folder-data pseudo message aside), kept with a manual step otherwise; others untouched."""
    spool = host['mail_spool']
    for name, uid in (('ann', 1001), ('joann', 1002)):
        path = os.path.join(spool, name)
        with open(path, 'wb') as fh:
            fh.write(content)
        os.chown(path, uid, 8)
    res = store(host).erase(Subject.from_params(logins=['ann']), check_mode=False)
    assert res['erased'] == 1
    assert os.path.exists(os.path.join(spool, 'ann')) is not removed
    assert open(os.path.join(spool, 'joann'), 'rb').read() == content
    steps = [s for s in res['manual_steps'] if 'mail spool' in s]
    assert len(steps) == (0 if removed else 1) and not any('ann' in s for s in steps)


def test_mail_spool_of_another_owner_or_a_link_is_kept(host):
    spool = host['mail_spool']
    path = os.path.join(spool, 'ann')
    with open(path, 'wb') as fh:
        fh.write(b'')
    os.chown(path, 1003, 8)
    res = store(host).erase(Subject.from_params(logins=['ann']), check_mode=False)
    assert os.path.exists(path) and any('not a regular file of that account' in s for s in res['manual_steps'])


def test_check_mode_keeps_the_mail_spool(host):
    path = os.path.join(host['mail_spool'], 'ann')
    with open(path, 'wb') as fh:
        fh.write(FOLDER_DATA)
    os.chown(path, 1001, 8)
    store(host).erase(Subject.from_params(logins=['ann']), check_mode=True)
    assert os.path.exists(path)


@pytest.mark.parametrize('remove_home', [False, True])
def test_a_kept_home_directory_is_a_manual_step(host, tmp_path, remove_home):
    """userdel without -r keeps the home (named after the login, holding e.g. Dovecot's index
    files); the result says so, without the name. With remove_home, userdel -r removes it."""
    home = tmp_path / 'home' / 'ann'
    home.mkdir(parents=True)
    with open(host['passwd_file'], 'w') as fh:
        fh.write(PASSWD.replace(':/home/ann:', ':%s:' % home))
    res = store(host, remove_home=remove_home).erase(Subject.from_params(logins=['ann']), check_mode=False)
    steps = [step for step in res['manual_steps'] if 'home director' in step]
    if remove_home:
        assert steps == []
    else:
        assert len(steps) == 1 and '1 removed account' in steps[0] and 'ann' not in steps[0]


# --------------------------------------------------------------------------------- plus separator (issue 12)

EXTENDED = 'ann-marie:x:1011:1011:Ann-Marie:/home/ann-marie:/bin/bash\nann+work:x:1012:1012:W:/home/ann+work:/bin/bash\n'


@pytest.mark.parametrize('sep, count', [('-', 1), ('+', 1), ('', 0)])
def test_extended_accounts_and_erasure_leave_them(host, sep, count):
    with open(host['passwd_file'], 'a') as fh:
        fh.write(EXTENDED)
    for ann in (Subject.from_params(logins=['ann'], plus_separator=sep),
                Subject.from_params(addresses=['Ann@Example.org'], plus_separator=sep)):
        st = store(host, local_domains=['example.org'])
        assert st.extended_accounts(ann) == count
        assert st.locate(ann)['found'] == 1        # 'Ann@' is the account ann (local part without case)
    runner = shadow_runner(host['passwd_file'])
    res = store(host, runner).erase(Subject.from_params(logins=['ann'], plus_separator=sep), check_mode=False)
    assert res['erased'] == 1
    assert 'ann-marie' in names(host['passwd_file']) and 'ann+work' in names(host['passwd_file'])
    assert not any('ann-marie' in c or 'ann+work' in c for call in runner.named for c in call)


# ------------------------------------------------------------------ root-run file handling
# /var/mail is writable by the group mail: a member can swap the removed account's spool file
# for a FIFO or a symbolic link right after the store looked at it.

def swap_spool_after_the_first_look(monkeypatch, spool, action):
    """Run ``action`` once, right after the store's first lstat of the spool file (by path
    in older code, relative to the directory's handle now)."""
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fsops
    path = os.path.join(spool, 'ann')
    done = []
    real_lstat = os.lstat
    real_dir_lstat = fsops.Dir.lstat

    def fire():
        if not done:
            done.append(1)
            action()

    def lstat(name, *args, **kwargs):
        res = real_lstat(name, *args, **kwargs)
        if name == path and not kwargs.get('dir_fd'):
            fire()
        return res

    def dir_lstat(self, name):
        res = real_dir_lstat(self, name)
        if name == 'ann':
            fire()
        return res
    monkeypatch.setattr(os, 'lstat', lstat)
    monkeypatch.setattr(fsops.Dir, 'lstat', dir_lstat)
    return done


def bounded(func, fifo, seconds=20):
    import threading
    out = {}
    worker = threading.Thread(target=lambda: out.update(res=func()), daemon=True)
    worker.start()
    worker.join(seconds)
    blocked = worker.is_alive()
    if blocked:     # release a blocked open of the FIFO so that the test run goes on
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(seconds)
    assert not blocked, 'blocked on a FIFO'
    return out['res']


def test_mail_spool_swapped_for_a_fifo_after_the_check_does_not_block(host, monkeypatch):
    path = os.path.join(host['mail_spool'], 'ann')
    with open(path, 'wb') as fh:
        fh.write(FOLDER_DATA)
    os.chown(path, 1001, 8)

    def swap():
        os.unlink(path)
        os.mkfifo(path)
    done = swap_spool_after_the_first_look(monkeypatch, host['mail_spool'], swap)
    res = bounded(lambda: store(host).erase(Subject.from_params(logins=['ann']), check_mode=False), path)
    assert done and res['erased'] == 1
    assert stat.S_ISFIFO(os.lstat(path).st_mode)
    assert any('not a regular file of that account' in s for s in res['manual_steps'])


def test_mail_spool_swapped_for_a_link_after_the_check_is_not_followed(host, tmp_path, monkeypatch):
    secret = tmp_path / 'secret'
    secret.mkdir(mode=0o700)
    (secret / 'file').write_bytes(FOLDER_DATA)
    path = os.path.join(host['mail_spool'], 'ann')
    with open(path, 'wb') as fh:
        fh.write(FOLDER_DATA)
    os.chown(path, 1001, 8)

    def swap():
        os.unlink(path)
        os.symlink(str(secret / 'file'), path)
    done = swap_spool_after_the_first_look(monkeypatch, host['mail_spool'], swap)
    res = store(host).erase(Subject.from_params(logins=['ann']), check_mode=False)
    assert done and os.path.islink(path) and (secret / 'file').read_bytes() == FOLDER_DATA
    assert any('not a regular file of that account' in s for s in res['manual_steps'])


def test_passwd_file_that_is_a_fifo_does_not_block(host):
    os.unlink(host['passwd_file'])
    os.mkfifo(host['passwd_file'])
    st = store(host)

    def locate():
        try:
            st.locate(Subject.from_params(logins=['ann']))
        except OSError as err:
            return err
        return None
    err = bounded(locate, host['passwd_file'])
    assert err is not None
