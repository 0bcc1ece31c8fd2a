# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the queue stores (Courier, qmail) on fixture queue trees."""

from __future__ import annotations

import fcntl
import json
import os
import stat

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_queues import (
    QMAIL_MANUAL,
    CourierQueueStore,
    QmailQueueStore,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject

from fake_runner import FakeRunner

ANN = Subject.from_params(addresses=['ann@example.org'])


def write(path, data):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), 'wb') as fh:
        fh.write(data)


def read(top, rel):
    with open(os.path.join(str(top), rel), 'rb') as fh:
        return fh.read()


def tree(top):
    out = []
    for dirpath, _dirs, files in os.walk(str(top)):
        out.extend(os.path.relpath(os.path.join(dirpath, f), str(top)) for f in files)
    return sorted(out)


# --------------------------------------------------------------------------------- Courier

@pytest.fixture
def courier(tmp_path):
    msgs = tmp_path / 'msgs'
    # ann sends; ann receives among others; look-alikes only; bob only
    write(msgs / '1700' / 'C101', b'sann@example.org\nrbob@example.net\nM0000065.1.1\n')
    write(msgs / '1700' / 'D101', b'Subject: one\n\nfrom ann\n')
    write(msgs / '1700' / 'C102', b'sbob@example.net\nrcarol@example.net\nrann+news@example.org\n')
    write(msgs / '1700' / 'D102', b'Subject: two\n\nto ann\n')
    write(msgs / '1701' / 'C103', b'sjoann@example.org\nrann@example.org.evil\n')
    write(msgs / '1701' / 'D103', b'Subject: three\n\nlook-alikes\n')
    write(msgs / '1701' / 'C104', b'sbob@example.net\nrcarol@example.net\n')
    write(msgs / '1701' / 'D104', b'Subject: four\n\nnot ann\n')
    return str(msgs)


def test_courier_locate(courier):
    st = CourierQueueStore({'msgs_dir': courier}, FakeRunner())
    assert st.available() == (True, '')
    # C101 (ann sends); C102 goes to ann+news@, a queue key that is not ann's unless named
    assert st.locate(ANN)['found'] == 1
    assert st.locate(Subject.from_params(addresses=['ann@example.org', 'ann+news@example.org']))['found'] == 2
    assert st.locate(Subject.from_params(addresses=['carol@example.net']))['found'] == 2
    # joann@example.org (sender of C103) is of the customer domain too
    assert st.locate(Subject.from_params(domain='example.org'))['found'] == 3
    assert CourierQueueStore({'msgs_dir': courier + '/none'}, FakeRunner()).available()[0] is False


def test_courier_export(courier, tmp_path):
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    ann = Subject.from_params(addresses=['ann@example.org', 'ann+news@example.org'])
    res = CourierQueueStore({'msgs_dir': courier}, FakeRunner()).export(ann, str(bundle))
    assert res['found'] == 2 and len(res['files']) == 3
    root = bundle / 'courier_queue'
    assert (root / 'messages' / '0001.eml').read_bytes() == b'Subject: one\n\nfrom ann\n'
    assert (root / 'messages' / '0002.eml').read_bytes() == b'Subject: two\n\nto ann\n'
    env = json.loads((root / 'envelopes.json').read_text())['messages']
    assert env[0]['sender'] == 'ann@example.org' and env[0]['recipients'] == []
    assert env[0]['other_recipients'] == 1
    assert env[1]['sender'] is None and env[1]['recipients'] == ['ann+news@example.org']
    assert env[1]['other_recipients'] == 1
    assert 'bob' not in (root / 'envelopes.json').read_text()
    assert 'carol' not in (root / 'envelopes.json').read_text()


def only_to_ann(courier):
    """A message from bob to ann alone (cancelled), next to the fixture's shared one."""
    write(os.path.join(courier, '1702', 'C105'), b'sbob@example.net\nrann@example.org\nM0000070.1.1\n')
    write(os.path.join(courier, '1702', 'D105'), b'Subject: five\n\nto ann only\n')


def test_courier_erase_with_cancelmsg(courier):
    only_to_ann(courier)
    cancelled = []

    def cancelmsg(argv, _data):
        cancelled.append(argv[1])
        return 0, b'', b''

    runner = FakeRunner({'cancelmsg': cancelmsg})
    st = CourierQueueStore({'msgs_dir': courier}, runner)
    preview = st.erase(ANN, check_mode=True)
    assert preview['found'] == 2 and preview['erased'] == 1 and runner.calls == []
    assert preview['detail'] == {'messages': 2, 'kept_shared': 1} and len(preview['manual_steps']) == 1
    res = st.erase(ANN, check_mode=False)
    assert res['erased'] == 1 and res['detail'] == preview['detail']
    # the M line when present, else the id from the file name; only the message to ann alone
    assert cancelled == ['0000070.1.1']
    # the id from the file name when the control file has no M line
    write(os.path.join(courier, '1702', 'C106'), b'sann@example.org\nrann@example.org\n')
    cancelled[:] = []
    st.erase(ANN, check_mode=False)
    assert cancelled == ['0000070.1.1', '106']


def test_courier_shared_messages_are_not_cancelled(courier):
    """Issue 12: cancelmsg cancels a message for every recipient and bounces it to its
    sender; the message ann sent to bob (C101) and bob's message to carol and ann+news@
    (C102, named here) stay queued, with a manual step that holds counts only."""
    before = tree(courier)
    runner = FakeRunner({'cancelmsg': 0})
    st = CourierQueueStore({'msgs_dir': courier}, runner)
    ann = Subject.from_params(addresses=['ann@example.org', 'ann+news@example.org'])
    res = st.erase(ann, check_mode=False)
    assert res['found'] == 2 and res['erased'] == 0 and runner.calls == []
    assert res['detail'] == {'messages': 2, 'kept_shared': 2}
    (step,) = res['manual_steps']
    assert '2 queued message(s)' in step and '1 of them sent by the subject' in step
    assert 'ann' not in step and 'example' not in step
    assert tree(courier) == before
    # their envelopes still name ann: the count after the erasure says so
    assert st.locate(ann)['found'] == 2
    # no cancelmsg needed when nothing is to be cancelled
    assert CourierQueueStore({'msgs_dir': courier}, FakeRunner()).erase(ann, check_mode=False)['erased'] == 0


@pytest.mark.parametrize('sep', ['+', '-'])
def test_courier_extended_names_are_never_the_subjects(courier, sep):
    """Issue 12: with separator '-' (or '+') a message to ann-marie@ (ann+work@) was taken for
    ann's and cancelled; queue keys compare exactly."""
    write(os.path.join(courier, '1703', 'C107'), b'sbob@example.net\nrann-marie@example.org\nM7.1.1\n')
    write(os.path.join(courier, '1703', 'C108'), b'sbob@example.net\nrann+work@example.org\nM8.1.1\n')
    write(os.path.join(courier, '1703', 'C109'), b'sann-marie@example.org\nrann+work@example.org\nM9.1.1\n')
    cancelled = []
    runner = FakeRunner({'cancelmsg': lambda argv, _data: cancelled.append(argv[1]) or 0})
    st = CourierQueueStore({'msgs_dir': courier}, runner)
    ann = Subject.from_params(addresses=['ann@example.org'], plus_separator=sep)
    assert st.locate(ann)['found'] == 1
    st.erase(ann, check_mode=False)
    assert not [c for c in cancelled if c.startswith(('7.', '8.', '9.'))]


def test_courier_refuses_without_cancelmsg(courier):
    only_to_ann(courier)
    before = tree(courier)
    with pytest.raises(StoreError):
        CourierQueueStore({'msgs_dir': courier}, FakeRunner()).erase(ANN, check_mode=False)
    assert tree(courier) == before


def test_courier_cancelmsg_failure(courier):
    only_to_ann(courier)
    runner = FakeRunner({'cancelmsg': 1})
    with pytest.raises(StoreError) as err:
        CourierQueueStore({'msgs_dir': courier}, runner).erase(ANN, check_mode=False)
    assert 'ann' not in str(err.value) and 'exit 1' in str(err.value)


# --------------------------------------------------------------------------------- qmail

@pytest.fixture
def qmail(tmp_path):
    q = tmp_path / 'queue'
    # 1001: ann sends to remote bob; 1002: bob sends to local ann (done) and carol;
    # 1003: look-alikes; 1004: only bob and carol; 1005: still in todo, ann receives
    write(q / 'mess' / '1' / '1001', b'Subject: one\n\nfrom ann\n')
    write(q / 'info' / '1' / '1001', b'Fann@example.org\0')
    write(q / 'remote' / '1' / '1001', b'Tbob@example.net\0')
    write(q / 'mess' / '2' / '1002', b'Subject: two\n\nto ann\n')
    write(q / 'info' / '2' / '1002', b'Fbob@example.net\0')
    write(q / 'local' / '2' / '1002', b'Dann@example.org\0Tcarol@example.org\0')
    write(q / 'mess' / '3' / '1003', b'Subject: three\n\n')
    write(q / 'info' / '3' / '1003', b'Fjoann@example.org\0')
    write(q / 'remote' / '3' / '1003', b'Tann@example.org.evil\0')
    write(q / 'mess' / '4' / '1004', b'Subject: four\n\n')
    write(q / 'info' / '4' / '1004', b'Fbob@example.net\0')
    write(q / 'local' / '4' / '1004', b'Tcarol@example.org\0')
    write(q / 'mess' / '5' / '1005', b'Subject: five\n\n')
    write(q / 'todo' / '1005', b'u1000\0p42\0Fbob@example.net\0Tann@example.org\0\0')
    write(q / 'intd' / '1005', b'u1000\0p42\0Fbob@example.net\0Tann@example.org\0\0')
    write(q / 'lock' / 'sendmutex', b'')
    return str(q)


def svstat(state):
    return lambda argv, _data: ('%s: %s (pid 12) 5 seconds\n' % (argv[1], state)).encode()


def opts(q, tmp_path, **kw):
    service = tmp_path / 'service' / 'qmail-send'
    service.mkdir(parents=True, exist_ok=True)
    out = {'queue_dir': q, 'service_dir': str(service)}
    out.update(kw)
    return out


def test_qmail_locate_and_export(qmail, tmp_path):
    st = QmailQueueStore(opts(qmail, tmp_path), FakeRunner())
    assert st.locate(ANN)['found'] == 3
    assert st.locate(Subject.from_params(addresses=['carol@example.org']))['found'] == 2
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    res = st.export(ANN, str(bundle))
    assert res['found'] == 3
    root = bundle / 'qmail_queue'
    assert (root / 'messages' / '0001.eml').read_bytes() == b'Subject: one\n\nfrom ann\n'
    env = json.loads((root / 'envelopes.json').read_text())['messages']
    assert [e['sender'] for e in env] == ['ann@example.org', None, None]
    assert env[1]['recipients'] == ['ann@example.org'] and env[1]['other_recipients'] == 1
    assert 'carol' not in (root / 'envelopes.json').read_text()


def test_qmail_erase_needs_the_option(qmail, tmp_path):
    before = tree(qmail)
    runner = FakeRunner({'svstat': svstat('down'), 'pgrep': 1})
    res = QmailQueueStore(opts(qmail, tmp_path), runner).erase(ANN, check_mode=False)
    assert res['found'] == 3 and res['erased'] == 0 and res['manual_steps'] == [QMAIL_MANUAL]
    assert tree(qmail) == before
    preview = QmailQueueStore(opts(qmail, tmp_path), runner).erase(ANN, check_mode=True)
    # 1005 goes; 1002 loses ann's record (bob's message to carol stays); 1001 (ann to bob) stays
    assert preview['erased'] == 2 and preview['manual_steps'][0] == QMAIL_MANUAL
    assert len(preview['manual_steps']) == 3
    assert tree(qmail) == before


@pytest.mark.parametrize('tools', [
    {'svstat': svstat('up')},
    {'pgrep': b'123\n'},
    {'svstat': svstat('down'), 'pgrep': b'123\n'},
    {},   # cannot tell: treated as running
])
def test_qmail_erase_refuses_while_running(qmail, tmp_path, tools):
    before = tree(qmail)
    st = QmailQueueStore(opts(qmail, tmp_path, allow_stopped_queue_edit=True), FakeRunner(tools))
    res = st.erase(ANN, check_mode=False)
    assert res['erased'] == 0 and res['manual_steps'] == [QMAIL_MANUAL]
    assert tree(qmail) == before


def test_qmail_erase_refuses_when_sendmutex_is_held(qmail, tmp_path):
    before = tree(qmail)
    runner = FakeRunner({'pgrep': 1})
    st = QmailQueueStore(opts(qmail, tmp_path, allow_stopped_queue_edit=True), runner)
    fd = os.open(os.path.join(qmail, 'lock', 'sendmutex'), os.O_WRONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(StoreError):
            st.erase(ANN, check_mode=False)
    finally:
        os.close(fd)
    assert tree(qmail) == before


def test_qmail_erase_removes_only_the_subjects_messages(qmail, tmp_path):
    runner = FakeRunner({'svstat': svstat('down'), 'pgrep': 1})
    st = QmailQueueStore(opts(qmail, tmp_path, allow_stopped_queue_edit=True), runner)
    untouched = dict((p, read(qmail, p)) for p in tree(qmail) if not p.endswith(('/1002', '/1005')))
    res = st.erase(ANN, check_mode=False)
    assert res['found'] == 3 and res['erased'] == 2
    assert res['detail'] == {'messages': 3, 'removed': 1, 'kept_shared': 2, 'kept_sent_by_subject': 1}
    assert len(res['manual_steps']) == 2
    assert not any('ann' in m or 'bob' in m or 'example' in m for m in res['manual_steps'])
    left = tree(qmail)
    # 1005 (to ann only) is gone; 1002 keeps carol; 1001 (ann's message to bob) stays whole
    assert left == sorted(['info/1/1001', 'info/2/1002', 'info/3/1003', 'info/4/1004', 'local/2/1002',
                           'local/4/1004', 'lock/sendmutex', 'mess/1/1001', 'mess/2/1002', 'mess/3/1003',
                           'mess/4/1004', 'remote/1/1001', 'remote/3/1003'])
    assert read(qmail, 'local/2/1002') == b'Tcarol@example.org\0'
    assert dict((p, read(qmail, p)) for p in untouched) == untouched
    # what is left naming ann: her own message to bob, as its sender
    assert st.locate(ANN)['found'] == 1
    again = st.erase(ANN, check_mode=False)
    assert again['erased'] == 0 and again['detail'] == {'messages': 1, 'kept_shared': 1, 'kept_sent_by_subject': 1}
    assert tree(qmail) == left


def test_qmail_interrupted_erase_is_completed(qmail, tmp_path):
    # a run killed after the message and the non-matching envelope file went
    os.unlink(os.path.join(qmail, 'mess', '1', '1001'))
    os.unlink(os.path.join(qmail, 'remote', '1', '1001'))
    runner = FakeRunner({'pgrep': 1})
    st = QmailQueueStore(opts(qmail, tmp_path, allow_stopped_queue_edit=True), runner)
    assert st.locate(ANN)['found'] == 3
    st.erase(ANN, check_mode=False)
    assert not [p for p in tree(qmail) if p.endswith('/1001')]


# --------------------------------------------------------------------------------- qmail: shared messages (issue 12)

def allowed(q, tmp_path, **kw):
    runner = FakeRunner({'svstat': svstat('down'), 'pgrep': 1})
    return QmailQueueStore(opts(q, tmp_path, allow_stopped_queue_edit=True, **kw), runner)


@pytest.fixture
def shared(tmp_path):
    """2001: carol sends to ann and bob (local, preprocessed, ann's delivery done);
    2002: carol sends to ann (local) and bob (remote); 2003: queued, not yet preprocessed
    (todo and intd, two links of one file), to ann and bob; 2004: carol to ann alone
    (preprocessed); 2005: still being queued (intd only) to ann and bob."""
    q = tmp_path / 'queue'
    for num, sub in (('2001', '1'), ('2002', '2'), ('2003', '3'), ('2004', '4'), ('2005', '5')):
        write(q / 'mess' / sub / num, ('Subject: %s\nTo: ann@example.org\n\nbody\n' % num).encode())
    for num, sub in (('2001', '1'), ('2002', '2'), ('2004', '4')):
        write(q / 'info' / sub / num, b'Fcarol@example.net\0')
    write(q / 'local' / '1' / '2001', b'Dann@example.org\0Tbob@example.org\0')
    write(q / 'local' / '2' / '2002', b'Tann@example.org\0')
    write(q / 'remote' / '2' / '2002', b'Tbob@example.net\0')
    write(q / 'todo' / '2003', b'u1000\0p42\0Fcarol@example.net\0Tbob@example.org\0Tann@example.org\0')
    (q / 'intd').mkdir()
    os.link(str(q / 'todo' / '2003'), str(q / 'intd' / '2003'))
    write(q / 'local' / '4' / '2004', b'Tann@example.org\0Dann@example.org\0')
    write(q / 'intd' / '2005', b'u1000\0p43\0Fcarol@example.net\0Tann@example.org\0Tbob@example.org\0')
    write(q / 'lock' / 'sendmutex', b'')
    for path in tree(q):
        os.chmod(os.path.join(str(q), path), 0o600 if not path.startswith('mess') else 0o644)
    return str(q)


def test_qmail_shared_message_keeps_the_other_recipients(shared, tmp_path):
    """Issue 12: a message to ann and bob was deleted for bob too. Now bob stays: ann's
    records leave every envelope file (atomic rewrite, mode and owner kept), the message stays
    with a manual step; a message to ann alone goes; one still being queued is not touched."""
    if os.geteuid() == 0:
        os.chown(os.path.join(shared, 'local', '1', '2001'), 1234, 5678)
    mtime = os.stat(os.path.join(shared, 'local', '1', '2001')).st_mtime_ns
    before = dict((p, read(shared, p)) for p in tree(shared))
    st = allowed(shared, tmp_path)
    preview = st.erase(ANN, check_mode=True)
    assert dict((p, read(shared, p)) for p in tree(shared)) == before
    res = st.erase(ANN, check_mode=False)
    assert (res['found'], res['erased']) == (5, 4) == (preview['found'], preview['erased'])
    assert res['detail'] == preview['detail'] == {'messages': 5, 'removed': 1, 'kept_shared': 3,
                                                  'kept_being_queued': 1}
    assert res['manual_steps'] == preview['manual_steps'] and len(res['manual_steps']) == 2
    assert not any('ann' in m or 'bob' in m or 'example' in m for m in res['manual_steps'])
    after = dict((p, read(shared, p)) for p in tree(shared))
    # 2001: bob stays pending; ann's done record is gone
    assert after['local/1/2001'] == b'Tbob@example.org\0'
    st1 = os.stat(os.path.join(shared, 'local', '1', '2001'))
    assert stat.S_IMODE(st1.st_mode) == 0o600 and st1.st_mtime_ns == mtime
    if os.geteuid() == 0:
        assert (st1.st_uid, st1.st_gid) == (1234, 5678)
    # 2002: the local file held ann alone and is gone; bob's remote file is untouched
    assert 'local/2/2002' not in after and after['remote/2/2002'] == before['remote/2/2002']
    # 2003: both links of the envelope lost ann, nothing else
    expected = b'u1000\0p42\0Fcarol@example.net\0Tbob@example.org\0'
    assert after['todo/2003'] == after['intd/2003'] == expected
    # 2004 (ann alone) is gone entirely; 2005 (being queued) is untouched
    assert not [p for p in after if p.endswith('/2004')]
    assert after['intd/2005'] == before['intd/2005']
    # every message file and every other envelope file is byte for byte what it was
    for path, data in before.items():
        if not path.endswith(('2004', '/2001', '/2002', '/2003')) or path.startswith(('mess', 'info', 'remote')):
            if not path.endswith('2004'):
                assert after[path] == data, path
    assert not [p for p in after if 'mailprivacy-tmp' in p]
    # what still names ann: the message being queued only
    assert st.locate(ANN)['found'] == 1
    assert allowed(shared, tmp_path).erase(ANN, check_mode=False)['erased'] == 0
    assert dict((p, read(shared, p)) for p in tree(shared)) == after


@pytest.mark.parametrize('sep', ['+', '-'])
def test_qmail_extended_names_are_never_the_subjects(shared, tmp_path, sep):
    """Issue 12: with separator '-' a message to ann-marie@ was taken for ann's and deleted
    (with '+', one to ann+work@); queue keys compare exactly."""
    write(os.path.join(shared, 'mess', '6', '2006'), b'Subject: ann-marie\n\n')
    write(os.path.join(shared, 'info', '6', '2006'), b'Fann+work@example.org\0')
    write(os.path.join(shared, 'local', '6', '2006'), b'Tann-marie@example.org\0Tann+work@example.org\0')
    st = allowed(shared, tmp_path)
    ann = Subject.from_params(addresses=['ann@example.org'], plus_separator=sep)
    assert st.locate(ann)['found'] == 5
    st.erase(ann, check_mode=False)
    assert read(shared, 'local/6/2006') == b'Tann-marie@example.org\0Tann+work@example.org\0'
    assert read(shared, 'info/6/2006') == b'Fann+work@example.org\0'
    assert os.path.exists(os.path.join(shared, 'mess', '6', '2006'))


def test_qmail_message_the_subject_sent_is_kept(shared, tmp_path):
    write(os.path.join(shared, 'mess', '7', '2007'), b'Subject: from ann\n\n')
    write(os.path.join(shared, 'info', '7', '2007'), b'Fann@example.org\0')
    write(os.path.join(shared, 'remote', '7', '2007'), b'Tdave@example.net\0')
    res = allowed(shared, tmp_path).erase(ANN, check_mode=False)
    assert res['detail']['kept_sent_by_subject'] == 1
    assert read(shared, 'remote/7/2007') == b'Tdave@example.net\0'
    assert read(shared, 'info/7/2007') == b'Fann@example.org\0'
    assert any('sent by the subject' in m for m in res['manual_steps'])
    # ann sent it: her sender record stays, and the count says so
    assert allowed(shared, tmp_path).locate(ANN)['found'] == 2


def test_qmail_virtual_domain_recipient_is_found_and_removed(shared, tmp_path):
    """qmail-send rewrites a local recipient of a virtual domain to PREFIX-local@domain:
    that record is ann's (and the prefix is no plus tag)."""
    control = tmp_path / 'qmail-control'
    write(control / 'virtualdomains', b'example.com:vdom\n')
    write(control / 'locals', b'localhost\n')
    write(os.path.join(shared, 'mess', '8', '2008'), b'Subject: virtual\n\n')
    write(os.path.join(shared, 'info', '8', '2008'), b'Fcarol@example.net\0')
    write(os.path.join(shared, 'local', '8', '2008'), b'Tvdom-ann@example.com\0Tvdom-bob@example.com\0')
    ann = Subject.from_params(addresses=['ann@example.com'])
    st = allowed(shared, tmp_path, control_dir=str(control))
    assert st.locate(ann)['found'] == 1
    assert QmailQueueStore(opts(shared, tmp_path), FakeRunner()).locate(ann)['found'] == 0   # no control files
    res = st.erase(ann, check_mode=False)
    assert res['detail']['kept_shared'] == 1
    assert read(shared, 'local/8/2008') == b'Tvdom-bob@example.com\0'
    bob_dash = Subject.from_params(addresses=['dom-ann@example.com'], plus_separator='-')
    assert st.locate(bob_dash)['found'] == 0


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler catches it."""


class _DyingOs(object):
    """The os module as store_queues sees it, except that unlink dies on cue."""

    def __init__(self, real, step):
        self._real = real
        self._step = step

    def __getattr__(self, name):
        return getattr(self._real, name)

    def unlink(self, path, *args, **kwargs):
        full = path
        if kwargs.get('dir_fd') is not None:    # a name relative to a directory handle
            full = os.path.join(os.readlink('/proc/self/fd/%d' % kwargs['dir_fd']), path)
        self._step('unlink', full)
        return self._real.unlink(path, *args, **kwargs)


@pytest.mark.parametrize('kill_at', range(7))
def test_qmail_killed_erase_is_completed_by_the_next_run(shared, tmp_path, monkeypatch, kill_at):
    """A kill before any of the seven file operations of the erasure (three unlinks of the
    message to ann alone, the rewrite of 2001, the removal of 2002's emptied local file, the
    rewrites of 2003's todo and intd), a write killed half-way leaving its temporary file:
    every envelope file is old or new, bob is never lost, and the next run ends where an
    uninterrupted run ends."""
    import shutil
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils import store_queues
    reference = tmp_path / 'reference'
    shutil.copytree(shared, str(reference), symlinks=True)
    allowed(str(reference), tmp_path).erase(ANN, check_mode=False)
    want = dict((p, read(str(reference), p)) for p in tree(str(reference)))

    real_write = store_queues.fileutil.atomic_write
    ops = []

    def step(kind, path, data=b''):
        if len(ops) == kill_at:
            if kind == 'write':
                tmp = os.path.join(os.path.dirname(path), '.%s.a1b2c3d4.mailprivacy-tmp' % os.path.basename(path))
                with open(tmp, 'wb') as fh:
                    fh.write(data[:3])
            raise Killed()
        ops.append((kind, os.path.relpath(path, shared)))

    def dying_write(path, chunks, **kw):
        chunks = list(chunks)
        step('write', path, b''.join(chunks))
        return real_write(path, chunks, **kw)

    monkeypatch.setattr(store_queues.fileutil, 'atomic_write', dying_write)
    monkeypatch.setattr(store_queues, 'os', _DyingOs(os, step))
    with pytest.raises(Killed):
        allowed(shared, tmp_path).erase(ANN, check_mode=False)
    monkeypatch.undo()
    # every envelope file is whole: bob is in every message that had him
    for num in ('2001', '2002', '2003'):
        files = [p for p in tree(shared) if p.endswith('/' + num) and p.startswith(('local', 'remote', 'todo'))]
        assert files and all(b'bob@' in read(shared, p) for p in files if not p.startswith('local/2/')), num
    allowed(shared, tmp_path).erase(ANN, check_mode=False)
    assert dict((p, read(shared, p)) for p in tree(shared)) == want
    assert len(ops) == kill_at
    # and that end state kept bob everywhere
    assert want['local/1/2001'] == b'Tbob@example.org\0' and want['remote/2/2002'] == b'Tbob@example.net\0'
    assert want['todo/2003'] == want['intd/2003'] == b'u1000\0p42\0Fcarol@example.net\0Tbob@example.org\0'


def test_qmail_erase_makes_seven_file_operations(shared, tmp_path, monkeypatch):
    # the kill test above covers every operation: there are exactly seven
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils import store_queues
    ops = []
    monkeypatch.setattr(store_queues, 'os', _DyingOs(os, lambda kind, path: ops.append(path)))
    real_write = store_queues.fileutil.atomic_write
    monkeypatch.setattr(store_queues.fileutil, 'atomic_write',
                        lambda path, chunks, **kw: ops.append(path) or real_write(path, chunks, **kw))
    allowed(shared, tmp_path).erase(ANN, check_mode=False)
    rel = [os.path.relpath(p, shared) for p in ops]
    # the message to ann alone: message first, its envelope last; then the rewrites, an
    # emptied local file removed after its message's rewrites
    assert rel == ['mess/4/2004', 'info/4/2004', 'local/4/2004', 'local/1/2001', 'local/2/2002',
                   'todo/2003', 'intd/2003']


# --------------------------------------------------------------------------------- root-run file handling (issue 12)
# The queues belong to service users (qmailq, daemon): such a user can swap a queue directory
# for a symbolic link, or a queue file for a FIFO, between the store's listing and its use.

def bounded(func, fifo, seconds=20):
    import threading
    out = {}

    def run():
        try:
            out['res'] = func()
        except Exception as exc:  # pylint: disable=broad-except
            out['err'] = exc
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    blocked = worker.is_alive()
    if blocked:     # release a blocked open of the FIFO so that the test run goes on
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(seconds)
    assert not blocked, 'blocked on a FIFO'
    return out


def test_qmail_queue_directory_swapped_for_a_link_before_the_removal_removes_nothing_outside(
        qmail, tmp_path, monkeypatch):
    outside = tmp_path / 'outside'
    write(outside / '1005', b'not a queue file\n')
    real_plan = QmailQueueStore._plan
    calls = []

    def plan(hits):
        calls.append(1)
        if len(calls) == 2:     # the plan made under the lock, right before the removals
            mess5 = os.path.join(qmail, 'mess', '5')
            os.rename(mess5, mess5 + '.real')
            os.symlink(str(outside), mess5)
            os.chown(mess5, 65534, 65534, follow_symlinks=False)   # qmailq's link
        return real_plan(hits)
    monkeypatch.setattr(QmailQueueStore, '_plan', staticmethod(plan))
    runner = FakeRunner({'svstat': svstat('down'), 'pgrep': 1})
    st = QmailQueueStore(opts(qmail, tmp_path, allow_stopped_queue_edit=True), runner)
    try:
        st.erase(ANN, check_mode=False)
        refused = None
    except StoreError as exc:
        refused = str(exc)
    assert read(str(outside), '1005') == b'not a queue file\n', 'a file outside the queue was removed'
    assert refused and 'symbolic link' in refused


def test_qmail_message_swapped_for_a_fifo_after_the_scan_is_skipped_without_blocking(qmail, tmp_path, monkeypatch):
    mess = os.path.join(qmail, 'mess', '1', '1001')
    real_scan = QmailQueueStore._scan

    def scan(self, subject):
        hits = real_scan(self, subject)
        if os.path.isfile(mess):
            os.unlink(mess)
            os.mkfifo(mess)
        return hits
    monkeypatch.setattr(QmailQueueStore, '_scan', scan)
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    st = QmailQueueStore(opts(qmail, tmp_path), FakeRunner())
    out = bounded(lambda: st.export(ANN, str(bundle)), mess)
    assert 'err' not in out, out.get('err')
    res = out['res']
    envelopes = json.loads((bundle / 'qmail_queue' / 'envelopes.json').read_bytes())['messages']
    assert res['found'] == 3 and [e['file'] is None for e in envelopes] == [True, False, False]


def test_qmail_sendmutex_that_is_a_fifo_is_refused_without_blocking(qmail, tmp_path):
    lock = os.path.join(qmail, 'lock', 'sendmutex')
    os.unlink(lock)
    os.mkfifo(lock)
    before = dict((p, read(qmail, p)) for p in tree(qmail) if not p.startswith('lock/'))
    runner = FakeRunner({'svstat': svstat('down'), 'pgrep': 1})
    st = QmailQueueStore(opts(qmail, tmp_path, allow_stopped_queue_edit=True), runner)
    out = bounded(lambda: st.erase(ANN, check_mode=False), lock)
    assert isinstance(out.get('err'), StoreError) and 'sendmutex' in str(out['err'])
    assert dict((p, read(qmail, p)) for p in tree(qmail) if not p.startswith('lock/')) == before


def test_courier_control_file_swapped_for_a_fifo_after_the_listing_does_not_block(courier, monkeypatch):
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils import store_queues
    ctl = os.path.join(courier, '1700', 'C101')
    real_files = store_queues._regular_files

    def regular_files(top):
        files = real_files(top)
        if os.path.isfile(ctl):
            os.unlink(ctl)
            os.mkfifo(ctl)
        return files
    monkeypatch.setattr(store_queues, '_regular_files', regular_files)
    st = CourierQueueStore({'msgs_dir': courier}, FakeRunner())
    out = bounded(lambda: st.locate(ANN), ctl)
    assert 'err' not in out and out['res']['found'] == 0     # C101, ann's only message, was skipped
