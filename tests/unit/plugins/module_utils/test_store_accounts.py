# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the account stores: Courier userdb, qmail users/assign, vpopmail."""

from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_accounts import (
    CourierUserdbStore,
    QmailAssignStore,
    VpopmailStore,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject

from fake_runner import FakeRunner


def snapshot(top):
    out = {}
    for dirpath, dirnames, filenames in os.walk(str(top)):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, str(top))
            if os.path.islink(path) or os.path.isdir(path):
                out[rel] = 'dir'
            else:
                with open(path, 'rb') as fh:
                    out[rel] = hashlib.sha256(fh.read()).hexdigest()
    return out


def write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), 'wb') as fh:
        fh.write(data)
    os.chmod(str(path), mode)


def home(path):
    os.makedirs(os.path.join(str(path), 'Maildir', 'cur'), exist_ok=True)
    write(os.path.join(str(path), 'Maildir', 'cur', '1:2,S'), b'Subject: x\n\nbody\n')


# --------------------------------------------------------------------------------- userdb

USERDB = (
    b'# local accounts\n'
    b'ann@example.org\tmail=HOME/ann/Maildir|gid=5000|uid=5000|home=HOME/ann|systempw=$1$abc$def\n'
    b'bob@example.org\thome=HOME/bob|uid=5000|gid=5000|systempw=$1$bob$x\n'
    b'joann@example.org\thome=HOME/joann|uid=5000|gid=5000\n'
    b'ann@example.org.evil\thome=HOME/evil-ann|uid=5000|gid=5000\n'
    b'\n'
)


@pytest.fixture
def courier(tmp_path):
    homes = tmp_path / 'vmail'
    for user in ('ann', 'bob', 'joann', 'evil-ann'):
        home(homes / user)
    etc = tmp_path / 'etc' / 'courier'
    write(etc / 'userdb', USERDB.replace(b'HOME', str(homes).encode()), 0o600)
    write(etc / 'userdb.dat', b'compiled', 0o644)
    os.utime(str(etc / 'userdb'), (1000000000, 1000000000))
    return tmp_path


def userdb_store(tmp, runner, **opts):
    options = {'userdb': str(tmp / 'etc' / 'courier' / 'userdb'), 'roots': [str(tmp / 'vmail')]}
    options.update(opts)
    return CourierUserdbStore(options, runner)


def makeuserdb_runner(rc=0):
    return FakeRunner({'makeuserdb': rc}, bindir='/usr/sbin')


ANN = dict(addresses=['ann@example.org'])


def test_userdb_locate_is_exact(courier):
    st = userdb_store(courier, makeuserdb_runner())
    res = st.locate(Subject.from_params(**ANN))
    assert res['found'] == 1 and res['units'] == 'entries'
    assert res['detail'] == {'entries': 1, 'home_dirs': 1}
    assert st.locate(Subject.from_params(addresses=['nn@example.org']))['found'] == 0
    assert st.locate(Subject.from_params(addresses=['ann@example.com']))['found'] == 0
    assert 'ann@' not in json.dumps(res) and 'example' not in json.dumps(res)


def test_userdb_export_hides_password_hashes(courier, tmp_path):
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    res = userdb_store(courier, makeuserdb_runner()).export(Subject.from_params(**ANN), str(bundle))
    assert res['found'] == 1
    (entry,) = res['files']
    assert entry['path'] == 'courier_userdb/entries.json'
    data = (bundle / entry['path']).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry['sha256']
    assert stat.S_IMODE(os.stat(str(bundle / entry['path'])).st_mode) == 0o600
    doc = json.loads(data)
    assert doc['entries'][0]['account'] == 'ann@example.org'
    assert doc['entries'][0]['fields']['uid'] == '5000'
    assert '$1$abc' not in data.decode()


def test_userdb_erase_check_mode_touches_nothing(courier):
    before = snapshot(courier)
    runner = makeuserdb_runner()
    res = userdb_store(courier, runner).erase(Subject.from_params(**ANN), check_mode=True)
    assert res['found'] == 1 and res['erased'] == 1 and res['detail']['home_dirs'] == 1
    assert runner.calls == []
    assert snapshot(courier) == before


def test_userdb_erase_removes_entry_and_home_only(courier):
    path = courier / 'etc' / 'courier' / 'userdb'
    old = path.read_bytes()
    before = snapshot(courier / 'vmail')
    runner = makeuserdb_runner()
    res = userdb_store(courier, runner).erase(Subject.from_params(**ANN), check_mode=False)
    assert res['found'] == 1 and res['erased'] == 1
    assert runner.calls == [['/usr/sbin/makeuserdb']]
    new = path.read_bytes()
    assert new == b''.join(l for l in old.splitlines(True) if not l.startswith(b'ann@example.org\t'))
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    after = snapshot(courier / 'vmail')
    assert after == dict((k, v) for k, v in before.items() if not k.startswith('ann'))
    # second run: nothing left, the compiled db is fresh, nothing runs
    runner2 = makeuserdb_runner()
    os.utime(str(courier / 'etc' / 'courier' / 'userdb.dat'), None)
    res = userdb_store(courier, runner2).erase(Subject.from_params(**ANN), check_mode=False)
    assert res['found'] == 0 and runner2.calls == []


def test_userdb_stale_compiled_db_is_rebuilt(courier):
    # killed after the source was rewritten but before makeuserdb: the next run rebuilds
    dat = courier / 'etc' / 'courier' / 'userdb.dat'
    os.utime(str(dat), (900000000, 900000000))
    runner = makeuserdb_runner()
    res = userdb_store(courier, runner).erase(Subject.from_params(addresses=['nobody@example.org']),
                                              check_mode=False)
    assert res['found'] == 0 and runner.calls == [['/usr/sbin/makeuserdb']]


def test_userdb_rebuilt_by_the_rerun_after_a_failed_or_killed_rebuild(courier):
    """The database was compiled after its source was last edited (as on a real host); the
    erasure edits the source, then makeuserdb fails (or the run is killed): the re-run finds
    nothing in the source but must still rebuild, or the subject could still log in."""
    dat = courier / 'etc' / 'courier' / 'userdb.dat'
    os.utime(str(dat), None)  # compiled just now, after every source edit
    with pytest.raises(StoreError):
        userdb_store(courier, makeuserdb_runner(rc=1), remove_home=False).erase(
            Subject.from_params(**ANN), check_mode=False)
    runner = makeuserdb_runner()
    res = userdb_store(courier, runner, remove_home=False).erase(Subject.from_params(**ANN), check_mode=False)
    assert res['found'] == 0 and runner.calls == [['/usr/sbin/makeuserdb']]


def test_userdb_shared_home_is_refused(courier):
    path = courier / 'etc' / 'courier' / 'userdb'
    data = path.read_bytes() + b'ann-alias@example.org\thome=' + str(courier / 'vmail' / 'ann').encode() + b'\n'
    write(path, data, 0o600)
    before = snapshot(courier)
    with pytest.raises(StoreError) as exc:
        userdb_store(courier, makeuserdb_runner()).erase(Subject.from_params(**ANN), check_mode=False)
    assert 'shared' in str(exc.value) and 'ann@' not in str(exc.value) and 'example' not in str(exc.value)
    assert snapshot(courier) == before
    # without home removal the entry alone can go
    res = userdb_store(courier, makeuserdb_runner(), remove_home=False).erase(
        Subject.from_params(**ANN), check_mode=False)
    assert res['erased'] == 1 and os.path.isdir(str(courier / 'vmail' / 'ann'))


def test_userdb_home_outside_roots_is_refused(courier):
    before = snapshot(courier)
    with pytest.raises(StoreError) as exc:
        userdb_store(courier, makeuserdb_runner(), roots=[str(courier / 'elsewhere')]).erase(
            Subject.from_params(**ANN), check_mode=False)
    assert 'outside the configured roots' in str(exc.value)
    assert snapshot(courier) == before


def test_userdb_symlinked_home_is_refused(courier):
    ann = courier / 'vmail' / 'ann'
    os.rename(str(ann), str(courier / 'vmail' / 'ann-real'))
    os.symlink(str(courier / 'vmail' / 'bob'), str(ann))
    before = snapshot(courier)
    with pytest.raises(StoreError) as exc:
        userdb_store(courier, makeuserdb_runner()).erase(Subject.from_params(**ANN), check_mode=False)
    assert 'symbolic link' in str(exc.value)
    assert snapshot(courier) == before


def test_userdb_directory_form(courier):
    etc = courier / 'etc' / 'courier'
    data = (etc / 'userdb').read_bytes()
    os.unlink(str(etc / 'userdb'))
    lines = data.splitlines(True)
    write(etc / 'userdb' / 'a', b''.join(lines[:2]), 0o600)
    write(etc / 'userdb' / 'sub' / 'b', b''.join(lines[2:]), 0o600)
    write(etc / 'userdb' / '.hidden', lines[1], 0o600)          # makeuserdb skips dot files
    res = userdb_store(courier, makeuserdb_runner(), remove_home=False).erase(
        Subject.from_params(**ANN), check_mode=False)
    assert res['erased'] == 1
    assert (etc / 'userdb' / 'a').read_bytes() == lines[0]
    assert (etc / 'userdb' / 'sub' / 'b').read_bytes() == b''.join(lines[2:])
    assert (etc / 'userdb' / '.hidden').read_bytes() == lines[1]


def test_userdb_makeuserdb_failure_is_reported(courier):
    with pytest.raises(StoreError) as exc:
        userdb_store(courier, makeuserdb_runner(rc=1), remove_home=False).erase(
            Subject.from_params(**ANN), check_mode=False)
    assert 'makeuserdb failed' in str(exc.value)


def test_userdb_domain_kind(courier):
    res = userdb_store(courier, makeuserdb_runner()).locate(Subject.from_params(domain='example.org'))
    assert res['found'] == 3


# --------------------------------------------------------------------------------- qmail

ASSIGN = (
    b'=ann:ann:1001:1001:HOME/ann:::\n'
    b'+ann-:ann:1001:1001:HOME/ann:-::\n'
    b'=joann:joann:1002:1002:HOME/joann:::\n'
    b'=bob:bob:1003:1003:HOME/bob:::\n'
    b'=example.com-carol:vpopmail:89:89:HOME/vdom/carol:::\n'
    b'+example.com-:example.com:89:89:HOME/vdom:-::\n'
    b'.\n'
    b'=ann:after-the-end:1:1:/:::\n'
)


@pytest.fixture
def qmail(tmp_path):
    homes = tmp_path / 'home'
    for user in ('ann', 'joann', 'bob', 'vdom/carol'):
        home(homes / user)
    q = tmp_path / 'qmail'
    write(q / 'users' / 'assign', ASSIGN.replace(b'HOME', str(homes).encode()), 0o644)
    write(q / 'users' / 'cdb', b'cdb')
    write(q / 'control' / 'locals', b'example.org\nlocalhost\n')
    write(q / 'control' / 'virtualdomains', b'example.com:example.com\n')
    os.utime(str(q / 'users' / 'assign'), (1000000000, 1000000000))
    write(q / 'bin' / 'qmail-newu', b'#!/bin/sh\n', 0o755)
    return tmp_path


def qmail_store(tmp, runner, **opts):
    options = {'qmail_dir': str(tmp / 'qmail'), 'roots': [str(tmp / 'home')]}
    options.update(opts)
    return QmailAssignStore(options, runner)


def newu_runner(rc=0):
    return FakeRunner({'qmail-newu': rc})


def test_qmail_locate_by_login_and_by_local_address(qmail):
    st = qmail_store(qmail, newu_runner())
    assert st.locate(Subject.from_params(logins=['ann']))['found'] == 2
    assert st.locate(Subject.from_params(addresses=['ann@example.org']))['found'] == 1
    assert st.locate(Subject.from_params(addresses=['ann@example.net']))['found'] == 0
    assert st.locate(Subject.from_params(addresses=['carol@example.com']))['found'] == 1
    assert st.locate(Subject.from_params(logins=['an']))['found'] == 0


def test_qmail_erase_check_mode_touches_nothing(qmail):
    before = snapshot(qmail)
    runner = newu_runner()
    res = qmail_store(qmail, runner).erase(Subject.from_params(logins=['ann']), check_mode=True)
    assert res['found'] == 2 and res['erased'] == 2
    assert runner.calls == [] and snapshot(qmail) == before


def test_qmail_erase_removes_lines_and_home_keeps_the_rest(qmail):
    path = qmail / 'qmail' / 'users' / 'assign'
    old_lines = path.read_bytes().splitlines(True)
    st_before = os.stat(str(path))
    homes_before = snapshot(qmail / 'home')
    runner = newu_runner()
    res = qmail_store(qmail, runner).erase(Subject.from_params(logins=['ann']), check_mode=False)
    assert res['erased'] == 2
    assert runner.calls == [[str(qmail / 'qmail' / 'bin' / 'qmail-newu')]]
    assert path.read_bytes().splitlines(True) == old_lines[2:]       # line after '.' kept too
    st_after = os.stat(str(path))
    assert stat.S_IMODE(st_after.st_mode) == stat.S_IMODE(st_before.st_mode)
    assert snapshot(qmail / 'home') == dict((k, v) for k, v in homes_before.items()
                                            if not k.startswith('ann'))


def test_qmail_shared_home_is_refused(qmail):
    path = qmail / 'qmail' / 'users' / 'assign'
    data = path.read_bytes().replace(b'=bob:bob:1003:1003:' + str(qmail / 'home' / 'bob').encode(),
                                     b'=bob:bob:1003:1003:' + str(qmail / 'home' / 'ann').encode())
    write(path, data)
    before = snapshot(qmail)
    with pytest.raises(StoreError) as exc:
        qmail_store(qmail, newu_runner()).erase(Subject.from_params(logins=['ann']), check_mode=False)
    assert 'shared' in str(exc.value)
    assert snapshot(qmail) == before


def test_qmail_domain_kind_leaves_the_wildcard_line_as_a_manual_step(qmail):
    res = qmail_store(qmail, newu_runner()).erase(Subject.from_params(domain='example.com'), check_mode=False)
    assert res['erased'] == 1 and res['manual_steps']
    assert b'+example.com-:' in (qmail / 'qmail' / 'users' / 'assign').read_bytes()
    assert not os.path.exists(str(qmail / 'home' / 'vdom' / 'carol'))
    assert os.path.isdir(str(qmail / 'home' / 'vdom'))


def test_qmail_newu_failure_is_reported(qmail):
    with pytest.raises(StoreError) as exc:
        qmail_store(qmail, newu_runner(rc=111), remove_home=False).erase(
            Subject.from_params(logins=['ann']), check_mode=False)
    assert 'qmail-newu failed' in str(exc.value)


# --------------------------------------------------------------------------------- vpopmail

class FakeVpopmail(FakeRunner):
    """vpopmail's vuserinfo and vdeluser over ``accounts`` (the shared fake runner runs them)."""

    def __init__(self, vdir, accounts):
        FakeRunner.__init__(self, {'vuserinfo': self.vuserinfo, 'vdeluser': self.vdeluser}, bindir='/usr/sbin')
        self.vdir = vdir
        self.accounts = accounts        # 'user@domain' -> dir

    def vuserinfo(self, argv, _data=None):
        args = argv[1:]
        if args[:2] == ['-n', '-D']:
            names = [a.split('@')[0] for a in sorted(self.accounts) if a.split('@')[1] == args[2]]
            out = ''.join('------------------------------------------\n%s\n' % n for n in names)
            return 0, out.encode(), b''
        addr = args[-1].lower()
        if addr not in self.accounts:
            return 255, ('no such user %s\n' % addr).encode(), b''
        if args[0] == '-n':
            return 0, (addr.split('@')[0] + '\n').encode(), b''
        if args[0] == '-d':
            return 0, (self.accounts[addr] + '\n').encode(), b''
        out = ('name:   %s\npasswd: $1$secret\nclear passwd: hunter2\ncomment/gecos: Ann\n'
               'uid:    89\ngid:    89\nflags:  0\ngecos: Ann\nlimits: No user limits set.\n'
               'dir:       %s\nquota:     NOQUOTA\nusage:     NOQUOTA\nlast auth: Never logged in\n'
               % (addr.split('@')[0], self.accounts[addr]))
        return 0, out.encode(), b''

    def vdeluser(self, argv, _data=None):
        addr = argv[1]
        import shutil
        shutil.rmtree(self.accounts.pop(addr))
        return 0, b'', b''


@pytest.fixture
def vpop(tmp_path):
    vdir = tmp_path / 'vpopmail'
    accounts = {}
    for addr in ('ann@example.org', 'joann@example.org', 'bob@example.org', 'ann@example.net'):
        user, dom = addr.split('@')
        path = vdir / 'domains' / dom / user
        home(path)
        accounts[addr] = str(path)
    for tool in ('vuserinfo', 'vdeluser'):
        write(vdir / 'bin' / tool, b'#!/bin/sh\n', 0o755)
    return vdir, accounts


def test_vpopmail_locate_export_erase(vpop, tmp_path):
    vdir, accounts = vpop
    runner = FakeVpopmail(str(vdir), accounts)
    st = VpopmailStore({'vpopmail_dir': str(vdir)}, runner)
    subject = Subject.from_params(**ANN)
    assert st.locate(subject)['found'] == 1
    (tmp_path / 'bundle').mkdir()
    res = st.export(subject, str(tmp_path / 'bundle'))
    data = (tmp_path / 'bundle' / res['files'][0]['path']).read_text()
    assert 'hunter2' not in data and '$1$secret' not in data
    assert json.loads(data)['entries'][0]['fields']['quota'] == 'NOQUOTA'
    before = snapshot(vdir)
    res = st.erase(subject, check_mode=True)
    assert res['erased'] == 1 and snapshot(vdir) == before
    assert not any(os.path.basename(c[0]) == 'vdeluser' for c in runner.calls)
    res = st.erase(subject, check_mode=False)
    assert res['erased'] == 1
    assert sorted(accounts) == ['ann@example.net', 'bob@example.org', 'joann@example.org']
    assert snapshot(vdir) == dict((k, v) for k, v in before.items()
                                  if not k.startswith('domains/example.org/ann'))


def test_vpopmail_domain_kind(vpop):
    vdir, accounts = vpop
    st = VpopmailStore({'vpopmail_dir': str(vdir)}, FakeVpopmail(str(vdir), accounts))
    assert st.locate(Subject.from_params(domain='example.org'))['found'] == 3


def test_vpopmail_user_dir_outside_domains_is_refused(vpop, tmp_path):
    vdir, accounts = vpop
    outside = tmp_path / 'elsewhere' / 'ann'
    home(outside)
    accounts['ann@example.org'] = str(outside)
    runner = FakeVpopmail(str(vdir), accounts)
    with pytest.raises(StoreError):
        VpopmailStore({'vpopmail_dir': str(vdir)}, runner).erase(Subject.from_params(**ANN), check_mode=False)
    assert not any(os.path.basename(c[0]) == 'vdeluser' for c in runner.calls)
    assert os.path.isdir(str(outside))


def test_unavailable_stores(tmp_path):
    runner = FakeRunner()
    assert not CourierUserdbStore({'userdb': str(tmp_path / 'x')}, runner).available()[0]
    assert not QmailAssignStore({'qmail_dir': str(tmp_path)}, runner).available()[0]
    assert not VpopmailStore({'vpopmail_dir': str(tmp_path)}, runner).available()[0]


def test_qmail_without_a_compiled_database_runs_no_qmail_newu(qmail):
    # qmail reads users/cdb only: on a host that never compiled users/assign, the erasure
    # edits the source and creates no cdb (that would switch on entries the host never used)
    os.unlink(str(qmail / 'qmail' / 'users' / 'cdb'))
    os.unlink(str(qmail / 'qmail' / 'bin' / 'qmail-newu'))
    before = snapshot(qmail)
    runner = newu_runner()
    res = qmail_store(qmail, runner).erase(Subject.from_params(logins=['nobody']), check_mode=False)
    assert res['found'] == 0 and runner.calls == [] and snapshot(qmail) == before
    res = qmail_store(qmail, runner).erase(Subject.from_params(logins=['ann']), check_mode=False)
    assert res['erased'] == res['found'] >= 1 and runner.calls == []
    entries = (qmail / 'qmail' / 'users' / 'assign').read_bytes().split(b'\n.\n')[0]
    assert b'=ann:' not in entries.split(b'=joann:')[0] and b'\n=ann:' not in entries
    assert b'=joann:' in entries
    assert not (qmail / 'qmail' / 'users' / 'cdb').exists()


def test_qmail_compiled_database_without_qmail_newu_is_refused(qmail):
    os.unlink(str(qmail / 'qmail' / 'bin' / 'qmail-newu'))
    before = snapshot(qmail)
    with pytest.raises(StoreError) as exc:
        qmail_store(qmail, newu_runner()).erase(Subject.from_params(logins=['ann']), check_mode=False)
    assert 'qmail-newu not found' in str(exc.value)
    assert snapshot(qmail) == before


def test_qmail_stale_compiled_database_is_rebuilt_on_the_rerun(qmail):
    # an erasure killed between the rewrite of users/assign and qmail-newu: the cdb still
    # holds the subject; the re-run finds nothing in assign but must rebuild the cdb
    cdb = qmail / 'qmail' / 'users' / 'cdb'
    # the killed run: assign rewritten, qmail-newu never ran (the cdb keeps its old bytes)
    killed = qmail_store(qmail, FakeRunner({'qmail-newu': 0}))
    assert killed.erase(Subject.from_params(logins=['ann']), check_mode=False)['found'] >= 1
    assert cdb.read_bytes() == b'cdb'
    os.utime(str(cdb), (1, 1))
    runner = newu_runner()
    res = qmail_store(qmail, runner).erase(Subject.from_params(logins=['ann']), check_mode=False)
    assert res['found'] == 0 and res['detail'].get('rebuild') == 1
    assert len(runner.calls) == 1 and os.path.basename(runner.calls[0][0]) == 'qmail-newu'


def test_qmail_home_containing_another_home_is_refused(qmail):
    path = qmail / 'qmail' / 'users' / 'assign'
    home_dir = str(qmail / 'home').encode()
    data = path.read_bytes().replace(b'=joann:joann:1002:1002:' + home_dir + b'/joann',
                                     b'=joann:joann:1002:1002:' + home_dir + b'/ann/joann')
    write(path, data)
    before = snapshot(qmail)
    with pytest.raises(StoreError):
        qmail_store(qmail, newu_runner()).erase(Subject.from_params(logins=['ann']), check_mode=False)
    assert snapshot(qmail) == before


@pytest.mark.parametrize('cls', [CourierUserdbStore, QmailAssignStore])
def test_root_slash_is_refused(cls):
    with pytest.raises(StoreError):
        cls({'roots': ['/']}, FakeRunner())


# --------------------------------------------------------------------------------- root-run file handling

def run_bounded(func, fifo=None, seconds=20):
    """Run ``func`` in a thread; fail when it is still running after ``seconds`` (a blocked
    open of the FIFO ``fifo`` is released first, so that the test run goes on)."""
    import threading
    out = {}

    def run():
        try:
            out['value'] = func()
        except Exception as exc:  # pylint: disable=broad-except
            out['error'] = exc
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    blocked = worker.is_alive()
    if blocked and fifo:
        os.close(os.open(str(fifo), os.O_WRONLY | os.O_NONBLOCK))
        worker.join(seconds)
    assert not blocked, 'blocked on a FIFO'
    return out


def test_userdb_home_swapped_for_a_link_after_the_check_removes_nothing_else(courier, monkeypatch):
    # between the last check (the plan made again under the userdb lock) and the removal,
    # ann's home becomes a link to bob's
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils import store_accounts
    vmail = courier / 'vmail'
    original = store_accounts._check_homes
    calls = []

    def check_homes(*args, **kwargs):
        res = original(*args, **kwargs)
        calls.append(1)
        if len(calls) == 2:
            os.rename(str(vmail / 'ann'), str(vmail / 'ann.real'))
            os.symlink(str(vmail / 'bob'), str(vmail / 'ann'))
        return res
    monkeypatch.setattr(store_accounts, '_check_homes', check_homes)
    bob_before = snapshot(vmail / 'bob')
    try:
        userdb_store(courier, makeuserdb_runner()).erase(Subject.from_params(**ANN), check_mode=False)
        refused = None
    except StoreError as exc:
        refused = str(exc)
    assert os.path.isdir(str(vmail / 'bob')) and snapshot(vmail / 'bob') == bob_before, \
        'another account\'s home was removed'
    assert refused and 'symbolic link' in refused and 'example' not in refused


def test_qmail_home_parent_swapped_for_a_link_after_the_check_removes_nothing_else(qmail, monkeypatch, tmp_path):
    # vdom/carol: the domain directory (owned by the domain's user) becomes a link to a
    # directory that holds another 'carol'
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils import store_accounts
    other = tmp_path / 'other'
    home(other / 'carol')
    homes = qmail / 'home'
    original = store_accounts._check_homes

    def check_homes(*args, **kwargs):
        res = original(*args, **kwargs)
        if not os.path.islink(str(homes / 'vdom')):
            os.rename(str(homes / 'vdom'), str(homes / 'vdom.real'))
            os.symlink(str(other), str(homes / 'vdom'))
        return res
    monkeypatch.setattr(store_accounts, '_check_homes', check_homes)
    before = snapshot(other)
    try:
        qmail_store(qmail, newu_runner()).erase(Subject.from_params(addresses=['carol@example.com']),
                                                check_mode=False)
        refused = None
    except StoreError as exc:
        refused = str(exc)
    assert snapshot(other) == before, 'a directory outside the roots was removed'
    assert refused and 'symbolic link' in refused


def test_userdb_directory_with_a_fifo_or_a_link_is_refused_without_blocking(courier):
    etc = courier / 'etc' / 'courier'
    data = (etc / 'userdb').read_bytes()
    os.unlink(str(etc / 'userdb'))
    write(etc / 'userdb' / 'a', data, 0o600)
    os.mkfifo(str(etc / 'userdb' / 'b'))
    st = userdb_store(courier, makeuserdb_runner())
    out = run_bounded(lambda: st.locate(Subject.from_params(**ANN)), fifo=etc / 'userdb' / 'b')
    assert isinstance(out.get('error'), StoreError), out
    assert 'not a regular file' in str(out['error'])
    os.unlink(str(etc / 'userdb' / 'b'))
    os.symlink(str(courier / 'secret'), str(etc / 'userdb' / 'b'))
    with pytest.raises(StoreError):
        st.locate(Subject.from_params(**ANN))


def test_qmail_assign_fifo_does_not_block(qmail):
    assign = qmail / 'qmail' / 'users' / 'assign'
    os.unlink(str(assign))
    os.mkfifo(str(assign))
    st = qmail_store(qmail, newu_runner())
    out = run_bounded(lambda: st.locate(Subject.from_params(logins=['ann'])), fifo=assign)
    assert isinstance(out.get('error'), StoreError) and 'not a regular file' in str(out['error'])


# --------------------------------------------------------------------------------- plus separator (issue 12)

def extended_userdb(courier):
    """ann-marie@ and ann+work@ are accounts of their own, with homes; Ann@EXAMPLE.org is a
    second spelling of ann's address (the local part compares without case by default)."""
    homes = courier / 'vmail'
    for user in ('ann-marie', 'ann+work'):
        home(homes / user)
    path = courier / 'etc' / 'courier' / 'userdb'
    extra = b''.join(b'%s@example.org\thome=%s|uid=5001|gid=5001\n' % (u, str(homes / u.decode()).encode())
                     for u in (b'ann-marie', b'ann+work'))
    write(path, path.read_bytes() + extra, 0o600)


@pytest.mark.parametrize('sep', ['+', '-'])
def test_userdb_extended_names_are_other_accounts(courier, sep):
    """Issue 12: erasing ann@ with separator '-' removed ann-marie@'s entry and home (with '+',
    ann+work@'s)."""
    extended_userdb(courier)
    others = dict((k, v) for k, v in snapshot(courier / 'vmail').items() if not k.startswith('ann/') and k != 'ann')
    path = courier / 'etc' / 'courier' / 'userdb'
    lines = path.read_bytes().splitlines(True)
    ann = Subject.from_params(addresses=['ann@example.org'], plus_separator=sep)
    st = userdb_store(courier, makeuserdb_runner())
    assert st.locate(ann)['found'] == 1
    res = st.erase(ann, check_mode=False)
    assert res['erased'] == 1
    assert path.read_bytes().splitlines(True) == [l for l in lines if not l.startswith(b'ann@example.org\t')]
    assert dict((k, v) for k, v in snapshot(courier / 'vmail').items() if k in others) == others


@pytest.mark.parametrize('sep, count', [('+', 1), ('-', 1), ('=', 0), ('', 0)])
def test_userdb_extended_accounts(courier, sep, count):
    extended_userdb(courier)
    before = snapshot(courier)
    st = userdb_store(courier, makeuserdb_runner())
    assert st.extended_accounts(Subject.from_params(addresses=['ann@example.org'], plus_separator=sep)) == count
    assert st.extended_accounts(Subject.from_params(addresses=['bob@example.org'], plus_separator=sep)) == 0
    # ann@ in another spelling is ann's own account, not an extension
    assert st.extended_accounts(Subject.from_params(addresses=['ANN@EXAMPLE.ORG'], plus_separator=sep)) == count
    assert snapshot(courier) == before


def test_userdb_key_in_another_letter_case_is_the_subjects(courier):
    path = courier / 'etc' / 'courier' / 'userdb'
    write(path, path.read_bytes().replace(b'\nann@example.org\t', b'\nAnn@Example.ORG\t'), 0o600)
    res = userdb_store(courier, makeuserdb_runner(), remove_home=False).erase(
        Subject.from_params(**ANN), check_mode=False)
    assert res['erased'] == 1 and b'\nAnn@' not in path.read_bytes() and b'\njoann@' in path.read_bytes()


ASSIGN_EXTENDED = (
    b'=ann-marie:annmarie:1004:1004:HOME/ann-marie:::\n'
    b'+ann-marie-:annmarie:1004:1004:HOME/ann-marie:-::\n'
    b'=ann-work:ann:1001:1001:HOME/ann:::\n'
)


@pytest.mark.parametrize('sep, count', [('-', 2), ('+', 0), ('', 0)])
def test_qmail_extended_accounts(qmail, sep, count):
    """=ann-marie (and its wildcard line) are annmarie's; =ann-work and +ann- go to ann's own
    user: not another account."""
    home(qmail / 'home' / 'ann-marie')
    path = qmail / 'qmail' / 'users' / 'assign'
    write(path, ASSIGN_EXTENDED.replace(b'HOME', str(qmail / 'home').encode()) + path.read_bytes())
    before = snapshot(qmail)
    st = qmail_store(qmail, newu_runner())
    for ann in (Subject.from_params(logins=['ann'], plus_separator=sep),
                Subject.from_params(addresses=['ann@example.org'], plus_separator=sep)):
        assert st.extended_accounts(ann) == count
    assert st.extended_accounts(Subject.from_params(addresses=['carol@example.com'], plus_separator=sep)) == 0
    assert snapshot(qmail) == before
    # and the erasure of ann (her login: every line of her user) leaves annmarie's lines and home
    res = st.erase(Subject.from_params(logins=['ann'], plus_separator=sep), check_mode=False)
    assert res['erased'] == 3
    assert path.read_bytes().startswith(ASSIGN_EXTENDED[:-len(b'=ann-work:ann:1001:1001:HOME/ann:::\n')]
                                        .replace(b'HOME', str(qmail / 'home').encode()) + b'=joann:')
    assert os.path.isdir(str(qmail / 'home' / 'ann-marie' / 'Maildir'))


@pytest.mark.parametrize('sep, count', [('-', 1), ('+', 1), ('', 0)])
def test_vpopmail_extended_accounts(vpop, sep, count):
    vdir, accounts = vpop
    for addr in ('ann-marie@example.org', 'ann+work@example.org', 'ann-x@example.net'):
        local, dom = addr.split('@')
        path = vdir / 'domains' / dom / local
        home(path)
        accounts[addr] = str(path)
    runner = FakeVpopmail(str(vdir), accounts)
    st = VpopmailStore({'vpopmail_dir': str(vdir)}, runner)
    ann = Subject.from_params(addresses=['ann@example.org'], plus_separator=sep)
    assert st.extended_accounts(ann) == count
    assert st.locate(ann)['found'] == 1
    assert not any(os.path.basename(c[0]) == 'vdeluser' for c in runner.calls)
