# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the Maildir store (temp dirs, fake runner)."""

from __future__ import annotations

import collections
import hashlib
import json
import os
import stat

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import store_maildir
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_maildir import (
    MaildirStore,
    tombstone_path,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject

from fake_runner import FakeRunner


def snapshot(top):
    """Every path under top with its type and, for files, the sha256 of its bytes."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, top)
            if os.path.islink(path):
                out[rel] = ('link', os.readlink(path))
            elif os.path.isdir(path):
                out[rel] = ('dir', None)
            else:
                with open(path, 'rb') as fh:
                    out[rel] = ('file', hashlib.sha256(fh.read()).hexdigest())
    return out


def msg(path, body):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as fh:
        fh.write(body)


def make_maildir(base, user, extra=True):
    md = os.path.join(base, 'Maildir')
    for sub in ('cur', 'new', 'tmp'):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    msg(os.path.join(md, 'cur', '1700000000.M1P1.host,S=20:2,S'), b'Subject: one ' + user + b'\n\nbody\n')
    msg(os.path.join(md, 'new', '1700000001.M2P1.host,S=20'), b'Subject: two ' + user + b'\n\n\xe9 8bit\n')
    msg(os.path.join(md, 'tmp', '1700000002.M3P1.host'), b'partial')
    msg(os.path.join(md, '.Trash', 'cur', '1700000003.M4P1.host:2,ST'), b'Subject: trashed\n\nx\n')
    msg(os.path.join(md, '.Private stuff', 'cur', '1700000004.M5P1.host:2,'), b'Subject: private\n\nx\n')
    msg(os.path.join(md, '.EXPUNGED', 'cur', '1700000005.M6P1.host:2,'), b'Subject: lazy\n\nx\n')
    msg(os.path.join(md, 'courierimapuiddb'), b'1 1\n')
    if extra:
        msg(os.path.join(base, 'expunged', '.INBOX', 'new', '1700000006.M7P1.host'), b'Subject: exp\n\nx\n')
    return md


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / 'vmail'
    for dom, user in (('example.org', b'ann'), ('example.org', b'bob'), ('example.org', b'joann'),
                      ('example.org.evil', b'ann'), ('example.net', b'ann')):
        make_maildir(str(root / dom / user.decode()), user)
    return tmp_path


def store(tree, **opts):
    options = {'paths': [str(tree / 'vmail' / '%d' / '%n' / 'Maildir')],
               'extra_paths': [str(tree / 'vmail' / '%d' / '%n' / 'expunged')],
               'roots': [str(tree / 'vmail')]}
    options.update(opts)
    return MaildirStore(options, FakeRunner())


ANN = dict(addresses=['ann@example.org'])


def test_locate_counts_every_folder_and_the_extra_tree(tree):
    res = store(tree).locate(Subject.from_params(**ANN))
    assert res['store'] == 'maildir' and res['units'] == 'messages'
    assert res['found'] == 6
    assert res['detail']['inbox'] == 2
    assert res['detail']['trash'] == 1
    assert res['detail']['folders'] == 1
    assert res['detail']['lazy_expunge'] == 1
    assert res['detail']['lazy_expunge_or_extra'] == 1
    assert res['detail']['tmp'] == 1
    assert res['detail']['trees'] == 2


def test_lookalikes_are_not_the_subject(tree):
    # joann, ann@example.org.evil and ann@example.net exist on disk; none of them is found for
    # a subject that owns only ann@example.org, and nothing at all is found for unknown users
    res = store(tree).locate(Subject.from_params(addresses=['nobody@example.org']))
    assert res['found'] == 0
    res = store(tree).locate(Subject.from_params(addresses=['ann@example.com']))
    assert res['found'] == 0
    res = store(tree).locate(Subject.from_params(addresses=['ann@example.org', 'joann@example.org']))
    assert res['found'] == 12


def test_result_carries_no_identifier(tree):
    res = store(tree).locate(Subject.from_params(**ANN))
    text = json.dumps(res)
    assert 'ann@' not in text and 'example' not in text


def test_export_writes_private_files_without_pii_names(tree, tmp_path):
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    res = store(tree).export(Subject.from_params(**ANN), str(bundle))
    assert res['found'] == 6
    emls = [f for f in res['files'] if f['kind'] == 'eml']
    assert len(emls) == 6
    sources = set()
    for dirpath, _d, files in os.walk(str(tree / 'vmail' / 'example.org' / 'ann')):
        if os.path.basename(dirpath) in ('cur', 'new'):
            for name in files:
                with open(os.path.join(dirpath, name), 'rb') as fh:
                    sources.add(fh.read())
    exported = set()
    for entry in res['files']:
        path = bundle / entry['path']
        assert entry['path'].startswith('maildir/')
        assert 'ann' not in entry['path'] and 'example' not in entry['path']
        assert 'Private' not in entry['path'] and 'Trash' not in entry['path']
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry['sha256']
        assert entry['size'] == len(data)
        assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
        if entry['kind'] == 'eml':
            exported.add(data)
    assert exported == sources
    for dirpath, dirnames, _f in os.walk(str(bundle / 'maildir')):
        assert stat.S_IMODE(os.stat(dirpath).st_mode) == 0o700
    index = json.loads((bundle / 'maildir' / 'mailbox-1' / 'index.json').read_text())
    names = sorted(f['name'] for f in index['folders'])
    assert names == ['.EXPUNGED', '.Private stuff', '.Trash', 'INBOX']
    flags = [m['flags'] for f in index['folders'] for m in f['messages'] if f['name'] == '.Trash']
    assert flags == ['ST']


def test_erase_check_mode_touches_nothing(tree):
    before = snapshot(str(tree))
    res = store(tree).erase(Subject.from_params(**ANN), check_mode=True)
    assert res['found'] == 6 and res['erased'] == 6
    assert snapshot(str(tree)) == before


def test_erase_removes_the_subject_and_keeps_the_others_byte_for_byte(tree):
    before = snapshot(str(tree))
    res = store(tree).erase(Subject.from_params(**ANN), check_mode=False)
    assert res['found'] == 6 and res['erased'] == 6
    after = snapshot(str(tree))
    ann = os.path.join('vmail', 'example.org', 'ann') + os.sep
    expected = dict((k, v) for k, v in before.items()
                    if not k.startswith(ann + 'Maildir') and not k.startswith(ann + 'expunged'))
    assert after == expected
    assert not any('mailprivacy-erasing' in k for k in after)
    # proof of erasure: the same search finds nothing
    assert store(tree).locate(Subject.from_params(**ANN))['found'] == 0
    # a second run changes nothing
    res = store(tree).erase(Subject.from_params(**ANN), check_mode=False)
    assert res['found'] == 0 and res['erased'] == 0
    assert snapshot(str(tree)) == after


def test_interrupted_erase_is_completed_by_the_next_run(tree):
    md = str(tree / 'vmail' / 'example.org' / 'ann' / 'Maildir')
    os.rename(md, tombstone_path(md))       # as if killed right after the rename
    subject = Subject.from_params(**ANN)
    res = store(tree).locate(subject)
    assert res['detail']['pending_erase'] == 1 and res['found'] == 6
    store(tree).erase(subject, check_mode=False)
    assert not os.path.lexists(tombstone_path(md))
    assert store(tree).locate(subject)['found'] == 0


def test_symlinked_maildir_pointing_elsewhere_is_refused(tree):
    ann = tree / 'vmail' / 'example.org' / 'ann'
    bob_md = str(tree / 'vmail' / 'example.org' / 'bob' / 'Maildir')
    os.rename(str(ann / 'Maildir'), str(ann / 'Maildir.old'))
    os.symlink(bob_md, str(ann / 'Maildir'))
    before = snapshot(str(tree))
    for call in (lambda s: s.locate(Subject.from_params(**ANN)),
                 lambda s: s.erase(Subject.from_params(**ANN), check_mode=False)):
        with pytest.raises(StoreError) as exc:
            call(store(tree))
        assert 'symbolic link' in str(exc.value)
        assert 'ann@' not in str(exc.value) and 'example' not in str(exc.value)
    assert snapshot(str(tree)) == before


def test_maildir_outside_the_roots_is_refused(tree):
    other = tree / 'elsewhere' / 'example.org' / 'ann'
    make_maildir(str(other), b'ann', extra=False)
    st = store(tree, paths=[str(tree / 'elsewhere' / '%d' / '%n' / 'Maildir')], extra_paths=[])
    before = snapshot(str(tree))
    with pytest.raises(StoreError) as exc:
        st.erase(Subject.from_params(**ANN), check_mode=False)
    assert 'outside the configured roots' in str(exc.value)
    assert snapshot(str(tree)) == before


def test_a_directory_that_is_not_a_maildir_is_refused(tree):
    ann_md = tree / 'vmail' / 'example.org' / 'ann' / 'Maildir'
    for sub in ('cur', 'new'):
        for name in os.listdir(str(ann_md / sub)):
            os.unlink(str(ann_md / sub / name))
        os.rmdir(str(ann_md / sub))
    with pytest.raises(StoreError) as exc:
        store(tree).erase(Subject.from_params(**ANN), check_mode=False)
    assert 'not a Maildir' in str(exc.value)
    assert os.path.isdir(str(ann_md / '.Trash'))


def test_domain_kind_takes_every_user_of_the_domain_only(tree):
    subject = Subject.from_params(domain='example.org')
    before = snapshot(str(tree))
    res = store(tree).erase(subject, check_mode=True)
    assert res['found'] == 18          # ann, bob, joann
    assert snapshot(str(tree)) == before
    store(tree).erase(subject, check_mode=False)
    assert sorted(os.listdir(str(tree / 'vmail' / 'example.org'))) == ['ann', 'bob', 'joann']
    for user in ('ann', 'bob', 'joann'):
        assert os.listdir(str(tree / 'vmail' / 'example.org' / user)) == []
    after = snapshot(str(tree))
    for key in ('vmail/example.org.evil', 'vmail/example.net'):
        assert dict((k, v) for k, v in after.items() if k.startswith(key)) == \
            dict((k, v) for k, v in before.items() if k.startswith(key))


def test_domain_kind_needs_a_template_with_domain_and_user(tree):
    # a template that neither names the domain nor is a home template cannot be enumerated
    with pytest.raises(StoreError):
        store(tree, paths=[str(tree / 'vmail' / '%n' / 'Maildir')], extra_paths=[]).locate(
            Subject.from_params(domain='example.org'))


Pw = collections.namedtuple('Pw', 'pw_name pw_dir')


@pytest.fixture
def passwd_host(tmp_path, monkeypatch):
    """A host whose mail users are system users (names without a domain): the customer's
    alice and bob, a third user carol, and lookalikes alice2 and bo."""
    homes = tmp_path / 'home'
    for user in ('alice', 'bob', 'carol', 'alice2', 'bo'):
        make_maildir(str(homes / user), user.encode(), extra=False)
    entries = [Pw(u, str(homes / u)) for u in ('alice', 'bob', 'carol', 'alice2', 'bo')]
    entries.append(Pw('mail', '/var/mail'))
    monkeypatch.setattr(store_maildir.pwd, 'getpwall', lambda: entries)

    def getpwnam(name):
        for entry in entries:
            if entry.pw_name == name:
                return entry
        raise KeyError(name)
    monkeypatch.setattr(store_maildir.pwd, 'getpwnam', getpwnam)
    return homes


def home_store(homes, **opts):
    options = {'paths': ['~/Maildir'], 'roots': [str(homes)]}
    options.update(opts)
    return MaildirStore(options, FakeRunner())


def maildir_messages(md):
    out = set()
    for dirpath, _d, files in os.walk(md):
        if os.path.basename(dirpath) in ('cur', 'new'):
            for name in files:
                with open(os.path.join(dirpath, name), 'rb') as fh:
                    out.add(fh.read())
    return out


# alice by login, bob by an address at the customer's domain; an address of another domain
# never stands for a system user
CUSTOMER = dict(domain='example.org', logins=['alice'], addresses=['bob@example.org', 'carol@example.net'])


def test_customer_logins_find_both_users_on_a_passwd_host(passwd_host):
    res = home_store(passwd_host).locate(Subject.from_params(**CUSTOMER))
    assert res['found'] == 10 and res['detail']['trees'] == 2
    assert res['detail']['inbox'] == 4 and res['detail']['tmp'] == 2
    assert res['reason'] == '' and 'skipped_home_templates' not in res['detail']
    # each user alone: 5 messages; lookalikes (alice2, bo) and carol are never included
    assert home_store(passwd_host).locate(Subject.from_params(domain='example.org', logins=['alice']))['found'] == 5
    assert home_store(passwd_host).locate(Subject.from_params(domain='example.org', logins=['alic']))['found'] == 0
    assert 'alice' not in json.dumps(res) and 'example' not in json.dumps(res)


def test_customer_export_holds_both_users_and_nothing_else(passwd_host, tmp_path):
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    res = home_store(passwd_host).export(Subject.from_params(**CUSTOMER), str(bundle))
    assert res['found'] == 10
    exported = set()
    for entry in res['files']:
        assert 'alice' not in entry['path'] and 'bob' not in entry['path']
        data = (bundle / entry['path']).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry['sha256']
        if entry['kind'] == 'eml':
            exported.add(data)
    assert exported == (maildir_messages(str(passwd_host / 'alice' / 'Maildir'))
                        | maildir_messages(str(passwd_host / 'bob' / 'Maildir')))
    assert len([f for f in res['files'] if f['kind'] == 'index']) == 2


def test_customer_erase_check_mode_then_erase_keeps_the_others_byte_for_byte(passwd_host):
    subject = Subject.from_params(**CUSTOMER)
    before = snapshot(str(passwd_host))
    res = home_store(passwd_host).erase(subject, check_mode=True)
    assert res['found'] == 10 and res['erased'] == 10
    assert snapshot(str(passwd_host)) == before
    res = home_store(passwd_host).erase(subject, check_mode=False)
    assert res['found'] == 10 and res['erased'] == 10
    after = snapshot(str(passwd_host))
    expected = dict((k, v) for k, v in before.items()
                    if not k.startswith(('alice' + os.sep + 'Maildir', 'bob' + os.sep + 'Maildir')))
    assert after == expected
    assert any(k.startswith('carol' + os.sep + 'Maildir' + os.sep) for k in after)
    assert any(k.startswith('alice2' + os.sep + 'Maildir' + os.sep) for k in after)
    assert home_store(passwd_host).locate(subject)['found'] == 0


def test_customer_without_logins_skips_home_templates_with_a_reason(passwd_host, tmp_path):
    subject = Subject.from_params(domain='example.org', addresses=['carol@example.net'])
    before = snapshot(str(passwd_host))
    st = home_store(passwd_host, extra_paths=['~/expunged'])
    res = st.locate(subject)
    assert res['found'] == 0 and res['detail']['skipped_home_templates'] == 2
    assert 'skipped' in res['reason'] and 'logins' in res['reason']
    assert 'example' not in json.dumps(res)
    res = st.erase(subject, check_mode=False)
    assert res['found'] == 0 and res['erased'] == 0 and res['reason']
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    res = st.export(subject, str(bundle))
    assert res['found'] == 0 and res['files'] == [] and res['reason']
    assert snapshot(str(passwd_host)) == before


def test_customer_domain_templates_still_enumerate_next_to_skipped_home_templates(tree):
    st = store(tree, paths=['~/Maildir', str(tree / 'vmail' / '%d' / '%n' / 'Maildir')])
    res = st.locate(Subject.from_params(domain='example.org'))
    assert res['found'] == 18 and res['detail']['skipped_home_templates'] == 1 and res['reason']


def test_home_template_uses_the_password_database(tree, monkeypatch):
    homes = tree / 'home'
    make_maildir(str(homes / 'ann'), b'ann', extra=False)
    make_maildir(str(homes / 'bob'), b'bob', extra=False)
    entries = [Pw('ann', str(homes / 'ann')), Pw('bob', str(homes / 'bob')), Pw('mail', '/var/mail')]
    monkeypatch.setattr(store_maildir.pwd, 'getpwall', lambda: entries)

    def getpwnam(name):
        for entry in entries:
            if entry.pw_name == name:
                return entry
        raise KeyError(name)
    monkeypatch.setattr(store_maildir.pwd, 'getpwnam', getpwnam)
    st = MaildirStore({'paths': ['~/Maildir'], 'roots': [str(homes)]}, FakeRunner())
    assert st.locate(Subject.from_params(logins=['ann']))['found'] == 5
    assert st.locate(Subject.from_params(logins=['an']))['found'] == 0
    # addresses are never looked up in the password database
    assert st.locate(Subject.from_params(addresses=['ann@example.org']))['found'] == 0
    # a home shared with another account is refused, before anything is read or removed
    entries.append(Pw('ann2', str(homes / 'ann')))
    before = snapshot(str(homes))
    with pytest.raises(StoreError) as exc:
        st.erase(Subject.from_params(logins=['ann']), check_mode=False)
    assert 'shared' in str(exc.value)
    assert snapshot(str(homes)) == before


def test_unknown_option_is_an_error(tree):
    with pytest.raises(StoreError):
        MaildirStore({'bogus': 1}, FakeRunner())


def test_available_needs_a_root(tmp_path):
    ok, reason = MaildirStore({'roots': [str(tmp_path / 'nope')]}, FakeRunner()).available()
    assert not ok and reason
    ok, _reason = MaildirStore({'roots': [str(tmp_path)]}, FakeRunner()).available()
    assert ok


@pytest.mark.parametrize('opts', [{'paths': ['relative/%n']}, {'paths': ['/var/vmail/../etc/%n']},
                                  {'roots': ['/']}, {'roots': [1]}, {'extra_paths': 'not-a-list'}])
def test_unsafe_options_are_refused(opts):
    with pytest.raises(StoreError):
        MaildirStore(opts, FakeRunner())


# ------------------------------------------------------------------ root-run file handling
# The store runs as root over trees that a mail user owns. These tests play the user: they
# swap a directory or a file between the store's listing and its use (through a hook that runs
# after a message was exported, or after the count that precedes an erasure) and check that
# root never reads or removes anything outside the subject's tree.

CANARY = b'root:$6$CANARY-NEVER-EXPORT$:19000:0:99999:7:::\n'


def secret_dir(tmp_path):
    """A root-only directory with a 'shadow' file, as /etc holds /etc/shadow."""
    secret = tmp_path / 'secret'
    secret.mkdir(mode=0o700)
    (secret / 'shadow').write_bytes(CANARY)
    os.chmod(str(secret / 'shadow'), 0o600)
    return secret


def bundle_files(bundle):
    out = {}
    for dirpath, _dirs, files in os.walk(str(bundle)):
        for name in files:
            with open(os.path.join(dirpath, name), 'rb') as handle:
                out[os.path.relpath(os.path.join(dirpath, name), str(bundle))] = handle.read()
    return out


FIRST_CUR = '1700000000.M1P1.host,S=20:2,S'


def hook_after_message(monkeypatch, fname, action):
    """Run ``action`` once, right after the export copied the message ``fname``: its
    directory is listed, the messages named after it are not opened yet."""
    original = store_maildir._message_flags
    done = []

    def message_flags(name):
        if name == fname and not done:
            done.append(1)
            action()
        return original(name)
    monkeypatch.setattr(store_maildir, '_message_flags', message_flags)
    return done


def ann_cur(tree):
    return tree / 'vmail' / 'example.org' / 'ann' / 'Maildir' / 'cur'


def test_export_never_follows_cur_swapped_for_a_symlink_during_the_export(tree, tmp_path, monkeypatch):
    # the user names a message after the file it wants (shadow), then swaps cur for a link to
    # the directory that holds it once the store has listed cur
    secret = secret_dir(tmp_path)
    cur = ann_cur(tree)
    msg(str(cur / 'shadow'), b'Subject: bait\n\nmine\n')

    def swap():
        os.rename(str(cur), str(cur) + '.real')
        os.symlink(str(secret), str(cur))
    done = hook_after_message(monkeypatch, FIRST_CUR, swap)
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    res = store(tree).export(Subject.from_params(**ANN), str(bundle))
    assert done
    files = bundle_files(bundle)
    assert not any(CANARY in data for data in files.values())
    assert (secret / 'shadow').read_bytes() == CANARY
    for entry in res['files']:
        assert hashlib.sha256(files[entry['path']]).hexdigest() == entry['sha256']
    # the message that was listed is exported from the directory the store opened
    assert b'Subject: bait\n\nmine\n' in files.values()


def test_export_skips_a_hard_link_to_a_file_outside_the_trees(tree, tmp_path):
    secret = secret_dir(tmp_path)
    os.link(str(secret / 'shadow'), str(ann_cur(tree) / '1700000009.M9P1.host:2,S'))
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    st = store(tree)
    res = st.export(Subject.from_params(**ANN), str(bundle))
    assert not any(CANARY in data for data in bundle_files(bundle).values())
    assert res['found'] == 6 and res['detail']['skipped_owner_or_links'] == 1
    assert 'files skipped: owner or links' in res['reason']
    located = st.locate(Subject.from_params(**ANN))
    assert located['found'] == 6 and located['detail']['skipped_owner_or_links'] == 1
    assert 'example' not in res['reason'] and 'ann' not in res['reason']


def test_export_skips_a_message_file_of_another_owner(tree, tmp_path):
    path = ann_cur(tree) / '1700000010.M10P1.host:2,S'
    msg(str(path), b'Subject: planted\n\nnot the subject\'s\n')
    os.chown(str(path), 12345, 12345)
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    res = store(tree).export(Subject.from_params(**ANN), str(bundle))
    assert res['found'] == 6 and res['detail']['skipped_owner_or_links'] == 1
    assert not any(b'planted' in data for data in bundle_files(bundle).values())
    # the tree's owner's own files are the subject's: give the tree and its files to the user
    for dirpath, dirs, files in os.walk(str(tree / 'vmail' / 'example.org' / 'ann')):
        for name in dirs + files:
            os.chown(os.path.join(dirpath, name), 12345, 12345)
    os.chown(str(tree / 'vmail' / 'example.org' / 'ann' / 'Maildir'), 12345, 12345)
    assert store(tree).locate(Subject.from_params(**ANN))['found'] == 7


def test_hard_links_inside_the_subjects_trees_stay_the_subjects(tree, tmp_path):
    # Dovecot copies between folders and into the lazy-expunge tree with hard links
    md = tree / 'vmail' / 'example.org' / 'ann' / 'Maildir'
    src = md / 'cur' / '1700000000.M1P1.host,S=20:2,S'
    os.link(str(src), str(md / '.Trash' / 'cur' / '1700000000.M1P1.host,S=20:2,ST'))
    os.link(str(src), str(tree / 'vmail' / 'example.org' / 'ann' / 'expunged' / '.INBOX' / 'new' / '1700000000.M1P1'))
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    res = store(tree).export(Subject.from_params(**ANN), str(bundle))
    assert res['found'] == 8 and 'skipped_owner_or_links' not in res['detail'] and res['reason'] == ''
    # a third link outside the subject's trees makes all three names foreign
    os.link(str(src), str(tmp_path / 'elsewhere-link'))
    res = store(tree).locate(Subject.from_params(**ANN))
    assert res['found'] == 5 and res['detail']['skipped_owner_or_links'] == 3


def test_a_fifo_swapped_in_during_the_export_does_not_block(tree, tmp_path, monkeypatch):
    import threading
    cur = ann_cur(tree)
    victim = cur / 'shadow'
    msg(str(victim), b'Subject: soon a fifo\n\nx\n')

    def swap():
        os.unlink(str(victim))
        os.mkfifo(str(victim))
    hook_after_message(monkeypatch, FIRST_CUR, swap)
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    out = {}

    def run():
        out['res'] = store(tree).export(Subject.from_params(**ANN), str(bundle))
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(20)
    blocked = worker.is_alive()
    if blocked:     # release the old code's blocked open() so that the test run can go on
        fd = os.open(str(victim), os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        worker.join(20)
    assert not blocked, 'the export blocked on a FIFO'
    res = out['res']
    assert res['found'] == 6 and res['detail']['skipped_changed'] == 1 and 'replaced' in res['reason']


def test_erase_never_removes_outside_the_tree_when_a_directory_is_swapped_after_the_check(tree, monkeypatch):
    # after the store checked ann's tree, ann's directory becomes a link to bob's
    users = tree / 'vmail' / 'example.org'
    original = MaildirStore._count
    calls = []

    def count(self, trees):
        res = original(self, trees)
        if not calls:
            os.rename(str(users / 'ann'), str(users / 'ann.real'))
            os.symlink(str(users / 'bob'), str(users / 'ann'))
        calls.append(1)
        return res
    monkeypatch.setattr(MaildirStore, '_count', count)
    bob_before = snapshot(str(users / 'bob'))
    try:
        store(tree).erase(Subject.from_params(**ANN), check_mode=False)
        refused = None
    except StoreError as exc:
        refused = str(exc)
    assert snapshot(str(users / 'bob')) == bob_before, 'another user\'s Maildir was removed'
    assert refused and 'symbolic link' in refused and 'example' not in refused


def test_a_symlinked_tombstone_is_refused_and_its_target_kept(tree, tmp_path):
    secret = secret_dir(tmp_path)
    ann = tree / 'vmail' / 'example.org' / 'ann'
    os.symlink(str(secret), str(ann / '.mailprivacy-erasing.Maildir'))
    with pytest.raises(StoreError) as exc:
        store(tree).erase(Subject.from_params(**ANN), check_mode=False)
    assert 'symbolic link' in str(exc.value)
    assert (secret / 'shadow').read_bytes() == CANARY and os.path.isdir(str(ann / 'Maildir'))


def test_a_root_through_a_link_another_user_controls_is_refused(tree, tmp_path):
    # /var/vmail -> somewhere, where the link belongs to a user: the user picks the tree
    link_dir = tmp_path / 'links'
    link_dir.mkdir()
    os.symlink(str(tree / 'vmail'), str(link_dir / 'vmail'))
    os.chown(str(link_dir / 'vmail'), 65534, 65534, follow_symlinks=False)
    st = store(tree, paths=[str(link_dir / 'vmail' / '%d' / '%n' / 'Maildir')], extra_paths=[],
               roots=[str(link_dir / 'vmail')])
    assert st.available()[0] is False
    with pytest.raises(StoreError) as exc:
        st.locate(Subject.from_params(**ANN))
    assert 'symbolic link' in str(exc.value)
    # a link that root owns in a directory only root can change is followed
    os.chown(str(link_dir / 'vmail'), 0, 0, follow_symlinks=False)
    os.chmod(str(link_dir), 0o755)
    assert st.locate(Subject.from_params(**ANN))['found'] == 5


# --------------------------------------------------------------------------------- plus separator (issue 12)

@pytest.mark.parametrize('sep, count', [('+', 1), ('-', 1), ('', 0)])
def test_extended_user_directories(tree, sep, count):
    """ann-marie and ann+work are user directories of their own next to ann's: never ann's,
    counted by extended_accounts (the request is then refused)."""
    for user in (b'ann-marie', b'ann+work'):
        make_maildir(str(tree / 'vmail' / 'example.org' / user.decode()), user)
    others = dict((k, v) for k, v in snapshot(str(tree / 'vmail')).items()
                  if not k.startswith('example.org/ann/') and k != 'example.org/ann')
    ann = Subject.from_params(addresses=['ann@example.org'], plus_separator=sep)
    st = store(tree)
    assert st.extended_accounts(ann) == count
    assert st.locate(ann)['found'] == 6
    st.erase(ann, check_mode=False)
    assert dict((k, v) for k, v in snapshot(str(tree / 'vmail')).items() if k in others) == others
    # a %u layout names whole addresses
    flat = tree / 'flat'
    for user in ('ann@example.org', 'ann-marie@example.org', 'ann+work@example.org', 'ann-x@example.net'):
        make_maildir(str(flat / user), b'x', extra=False)
    st = MaildirStore({'paths': [str(flat / '%u' / 'Maildir')], 'roots': [str(flat)]}, FakeRunner())
    assert st.extended_accounts(ann) == count


@pytest.mark.parametrize('sep, count', [('-', 1), ('+', 0), ('', 0)])
def test_extended_system_users_of_home_templates(passwd_host, monkeypatch, sep, count):
    entries = store_maildir.pwd.getpwall() + [Pw('alice-old', str(passwd_host / 'alice-old'))]
    monkeypatch.setattr(store_maildir.pwd, 'getpwall', lambda: entries)
    alice = Subject.from_params(logins=['alice'], plus_separator=sep)
    assert home_store(passwd_host).extended_accounts(alice) == count
    # alice2 is a look-alike, not an extension
    assert home_store(passwd_host).extended_accounts(Subject.from_params(logins=['alice2'], plus_separator=sep)) == 0
