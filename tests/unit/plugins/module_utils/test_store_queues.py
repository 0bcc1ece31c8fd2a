# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the queue stores (Courier, qmail) on fixture queue trees."""

from __future__ import annotations

import fcntl
import json
import os

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_queues import (
    QMAIL_MANUAL,
    CourierQueueStore,
    QmailQueueStore,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject

ANN = Subject.from_params(addresses=['ann@example.org'])


class FakeRunner(object):
    def __init__(self, tools=None):
        self.tools = tools or {}
        self.calls = []

    def which(self, name):
        base = os.path.basename(name)
        return '/usr/bin/' + base if base in self.tools else None

    def run(self, argv, data=None, check=True):
        self.calls.append([os.path.basename(argv[0])] + list(argv[1:]))
        return self.tools[os.path.basename(argv[0])](argv)


def write(path, data):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), 'wb') as fh:
        fh.write(data)


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
    assert st.locate(ANN)['found'] == 2
    assert st.locate(Subject.from_params(addresses=['carol@example.net']))['found'] == 2
    # joann@example.org (sender of C103) is of the customer domain too
    assert st.locate(Subject.from_params(domain='example.org'))['found'] == 3
    assert CourierQueueStore({'msgs_dir': courier + '/none'}, FakeRunner()).available()[0] is False


def test_courier_export(courier, tmp_path):
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    res = CourierQueueStore({'msgs_dir': courier}, FakeRunner()).export(ANN, str(bundle))
    assert res['found'] == 2 and len(res['files']) == 3
    root = bundle / 'courier_queue'
    assert (root / 'messages' / '0001.eml').read_bytes() == b'Subject: one\n\nfrom ann\n'
    assert (root / 'messages' / '0002.eml').read_bytes() == b'Subject: two\n\nto ann\n'
    env = json.loads((root / 'envelopes.json').read_text())['messages']
    assert env[0]['sender'] == 'ann@example.org' and env[0]['recipients'] == []
    assert env[0]['other_recipients'] == 1
    assert env[1]['sender'] is None and env[1]['recipients'] == ['ann+news@example.org']
    assert 'bob' not in (root / 'envelopes.json').read_text()


def test_courier_erase_with_cancelmsg(courier):
    cancelled = []

    def cancelmsg(argv):
        cancelled.append(argv[1])
        return 0, b'', b''

    runner = FakeRunner({'cancelmsg': cancelmsg})
    st = CourierQueueStore({'msgs_dir': courier}, runner)
    preview = st.erase(ANN, check_mode=True)
    assert preview['found'] == 2 and preview['erased'] == 2 and runner.calls == []
    res = st.erase(ANN, check_mode=False)
    assert res['erased'] == 2
    # the M line when present, else the id from the file name
    assert cancelled == ['0000065.1.1', '102']


def test_courier_refuses_without_cancelmsg(courier):
    before = tree(courier)
    with pytest.raises(StoreError):
        CourierQueueStore({'msgs_dir': courier}, FakeRunner()).erase(ANN, check_mode=False)
    assert tree(courier) == before


def test_courier_cancelmsg_failure(courier):
    runner = FakeRunner({'cancelmsg': lambda argv: (1, b'', b'')})
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
    return lambda argv: (0, ('%s: %s (pid 12) 5 seconds\n' % (argv[1], state)).encode(), b'')


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
    runner = FakeRunner({'svstat': svstat('down'), 'pgrep': lambda argv: (1, b'', b'')})
    res = QmailQueueStore(opts(qmail, tmp_path), runner).erase(ANN, check_mode=False)
    assert res['found'] == 3 and res['erased'] == 0 and res['manual_steps'] == [QMAIL_MANUAL]
    assert tree(qmail) == before
    preview = QmailQueueStore(opts(qmail, tmp_path), runner).erase(ANN, check_mode=True)
    assert preview['erased'] == 3 and preview['manual_steps'] == [QMAIL_MANUAL]
    assert tree(qmail) == before


@pytest.mark.parametrize('tools', [
    {'svstat': svstat('up')},
    {'pgrep': lambda argv: (0, b'123\n', b'')},
    {'svstat': svstat('down'), 'pgrep': lambda argv: (0, b'123\n', b'')},
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
    runner = FakeRunner({'pgrep': lambda argv: (1, b'', b'')})
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
    runner = FakeRunner({'svstat': svstat('down'), 'pgrep': lambda argv: (1, b'', b'')})
    st = QmailQueueStore(opts(qmail, tmp_path, allow_stopped_queue_edit=True), runner)
    res = st.erase(ANN, check_mode=False)
    assert res['found'] == 3 and res['erased'] == 3 and res['manual_steps'] == []
    left = tree(qmail)
    assert left == sorted(['info/3/1003', 'info/4/1004', 'local/4/1004', 'lock/sendmutex',
                           'mess/3/1003', 'mess/4/1004', 'remote/3/1003'])
    assert st.locate(ANN)['found'] == 0
    assert st.erase(ANN, check_mode=False)['erased'] == 0


def test_qmail_interrupted_erase_is_completed(qmail, tmp_path):
    # a run killed after the message and the non-matching envelope file went
    os.unlink(os.path.join(qmail, 'mess', '1', '1001'))
    os.unlink(os.path.join(qmail, 'remote', '1', '1001'))
    runner = FakeRunner({'pgrep': lambda argv: (1, b'', b'')})
    st = QmailQueueStore(opts(qmail, tmp_path, allow_stopped_queue_edit=True), runner)
    assert st.locate(ANN)['found'] == 3
    st.erase(ANN, check_mode=False)
    assert not [p for p in tree(qmail) if p.endswith('/1001')]
