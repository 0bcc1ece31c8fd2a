# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one fake runner of the unit tests behaves like store_base.Runner where a store can
tell (exits, errors, streams, sinks, which), answers from its script and records everything."""

from __future__ import annotations

import shutil
import signal
import subprocess

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import Runner, StoreError

from fake_runner import PASS, FakeRunner


def test_exits_and_errors_are_the_real_runners():
    real, fake = Runner(), FakeRunner({'false': 1, 'true': 0}, streams={'false': (1, b'')})
    for runner in (real, fake):
        with pytest.raises(StoreError) as exc:
            runner.run([shutil.which('false')])
        assert str(exc.value) == 'false failed (exit 1)'
        assert runner.run([shutil.which('false')], check=False)[0] == 1
        assert runner.run([shutil.which('true')]) == (0, b'', b'')
        with pytest.raises(StoreError) as exc:
            with runner.stream([shutil.which('false')]) as handle:
                assert handle.read() == b''
        assert str(exc.value) == 'false failed (exit 1)'


def test_answers_by_program_and_longest_argv_prefix():
    runner = FakeRunner({'doveadm': b'any\n', ('doveadm', 'user'): (0, b'ann\n', b''),
                         ('/usr/bin/doveadm', 'user', '*'): lambda argv, data: (0, data or b'', b'')},
                        streams={'journalctl': (3, b'x\n'), ('journalctl', '--output=export'): b'e\n'})
    assert runner.run(['/usr/sbin/doveadm', 'who']) == (0, b'any\n', b'')
    assert runner.run(['doveadm', 'user', 'x']) == (0, b'ann\n', b'')
    assert runner.run(['doveadm', 'user', '*'], data=b'stdin') == (0, b'stdin', b'')
    with runner.stream(['/bin/journalctl', '--output=export']) as handle:
        assert handle.read() == b'e\n'
    with runner.stream(['journalctl', '--output=cat'], check=False) as handle:
        assert handle.read() == b'x\n'
    assert runner.calls == [['/usr/sbin/doveadm', 'who'], ['doveadm', 'user', 'x'], ['doveadm', 'user', '*'],
                            ['/bin/journalctl', '--output=export'], ['journalctl', '--output=cat']]
    assert runner.inputs == [None, None, b'stdin', None, None]
    assert runner.named[0] == ['doveadm', 'who'] and runner.last('stream') == ['journalctl', '--output=cat']


def test_unscripted_commands_fail_the_test_unless_a_default_or_a_real_runner_answers():
    with pytest.raises(AssertionError, match='unexpected command'):
        FakeRunner().run(['rm', '-rf', '/x'])
    with pytest.raises(AssertionError, match='unexpected command'):
        with FakeRunner().stream(['cat']):
            pass
    assert FakeRunner(default=1).run(['anything'], check=False) == (1, b'', b'')
    runner = FakeRunner({'echo': PASS}, real=Runner())
    assert runner.run(['echo', 'hi']) == (0, b'hi\n', b'')
    with runner.stream(['printf', 'a\\nb']) as handle:
        assert handle.read() == b'a\nb'
    assert runner.programs == ['echo', 'printf']
    with pytest.raises(StoreError, match='boom'):
        FakeRunner({'x': StoreError('boom')}).run(['x'])


def test_sinks_keep_what_was_written_and_fail_like_the_real_runner():
    runner = FakeRunner(sinks={'systemd-journal-remote': 0, 'bad': 2})
    with runner.sink(['/lib/systemd/systemd-journal-remote', '-']) as handle:
        handle.write(b'one ')
        handle.write(b'two')
    assert runner.sunk == [b'one two'] and runner.records[0].kind == 'sink'
    with pytest.raises(StoreError, match='bad failed'):
        with runner.sink(['bad']) as handle:
            handle.write(b'x')
    real = FakeRunner(real=Runner())
    with real.sink(['cat']) as handle:
        handle.write(b'x')
    assert real.calls == [['cat']]


def test_which_and_signal():
    runner = FakeRunner({'doveadm': 0}, bindir='/usr/sbin')
    assert runner.which('doveadm') == '/usr/sbin/doveadm'
    assert runner.which('/opt/bin/doveadm') == '/opt/bin/doveadm'
    assert runner.which('makeuserdb') is None and FakeRunner(installed=True).which('x') == '/usr/bin/x'
    assert FakeRunner(installed=(), real=Runner()).which('sh') == Runner().which('sh')
    assert runner.signal(4242, 15) is True and runner.signals == [(4242, 15)]
    assert FakeRunner(on_signal=lambda pid, signum: False).signal(1, 15) is False
    child = subprocess.Popen(['sleep', '30'])
    try:
        assert FakeRunner(real=Runner()).signal(child.pid, signal.SIGTERM) is True
        assert child.wait(timeout=10) == -signal.SIGTERM
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
