# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the store base classes."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import (
    RESULT_KEYS,
    Result,
    Runner,
    Store,
    StoreError,
    check_options,
)


class DemoStore(Store):
    name = 'demo'
    units = 'lines'
    OPTIONS = {'paths': ['/a'], 'flag': False, 'size': 3, 'cmd': 'x', 'extra': None}


def test_result_defaults_and_json():
    res = Result()
    assert tuple(res) == RESULT_KEYS
    res.add('live', 2)
    res.add('rotated')
    assert res['found'] == 3 and res['detail'] == {'live': 2, 'rotated': 1}
    assert json.loads(json.dumps(res))['found'] == 3
    other = Result()
    assert other['detail'] == {} and other['files'] == []


def test_options_merge_and_errors():
    st = DemoStore({'paths': ('/b',), 'size': 5}, runner=Runner())
    assert st.options == {'paths': ['/b'], 'flag': False, 'size': 5, 'cmd': 'x', 'extra': None}
    st.options['paths'].append('/c')
    assert DemoStore.OPTIONS['paths'] == ['/a']
    assert DemoStore(None).options['paths'] == ['/a']
    for bad, msg in [({'nope': 1}, 'unknown'), ({'paths': '/x'}, 'list'), ({'flag': 'yes'}, 'boolean'),
                     ({'size': True}, 'integer'), ({'cmd': 3}, 'string'), ('x', 'dictionary')]:
        with pytest.raises(StoreError, match=msg):
            DemoStore(bad)
    with pytest.raises(StoreError) as err:
        check_options({'paths': 'secret@example.com'}, DemoStore.OPTIONS, 'demo')
    assert 'secret' not in str(err.value)


def test_abstract_methods_and_result_helper():
    st = DemoStore()
    assert st.available() == (True, '')
    with pytest.raises(NotImplementedError):
        st.locate(None)
    with pytest.raises(NotImplementedError):
        st.export(None, '/tmp')
    with pytest.raises(NotImplementedError):
        st.erase(None, True)
    res = st.result(found=1)
    assert res['store'] == 'demo' and res['units'] == 'lines' and res['found'] == 1
    un = st.unavailable('not installed')
    assert un['available'] is False and un['reason'] == 'not installed'


def test_runner_run_and_errors():
    runner = Runner()
    rc, out, err = runner.run([sys.executable, '-c', 'import sys; sys.stdout.write(sys.stdin.read().upper())'],
                              data=b'abc')
    assert (rc, out) == (0, b'ABC')
    rc, _out, _err = runner.run([sys.executable, '-c', 'raise SystemExit(3)'], check=False)
    assert rc == 3
    with pytest.raises(StoreError) as exc:
        runner.run([sys.executable, '-c', 'raise SystemExit(3)', 'ann@example.com'])
    assert 'exit 3' in str(exc.value) and 'ann' not in str(exc.value)
    with pytest.raises(StoreError, match='cannot be run'):
        runner.run(['/nonexistent/prog', 'ann@example.com'])


def test_runner_stream():
    runner = Runner()
    code = 'import sys\nfor i in range(100000): sys.stdout.write("line %d\\n" % i)'
    with runner.stream([sys.executable, '-c', code]) as handle:
        lines = handle.read().splitlines()
    assert len(lines) == 100000
    with pytest.raises(StoreError, match='exit 2'):
        with runner.stream([sys.executable, '-c', 'raise SystemExit(2)']) as handle:
            handle.read()
    # leaving early terminates the command without an error about it
    with pytest.raises(StoreError):
        with runner.stream([sys.executable, '-c', 'import time\nwhile True: print(1, flush=True)']) as handle:
            handle.readline()


def test_runner_which():
    runner = Runner()
    assert runner.which('sh')
    assert runner.which(sys.executable) == sys.executable
    assert runner.which('/nonexistent/x') is None
    assert runner.which('') is None


def test_write_bundle_file(tmp_path):
    bundle = tmp_path / 'bundle'
    bundle.mkdir(mode=0o700)
    st = DemoStore()
    entry = st.write_bundle_file(str(bundle), 'var/log/mail.log.txt', [b'a\n', b'b\n'], 'live', 2)
    assert entry['path'] == 'demo/var/log/mail.log.txt'
    assert entry['size'] == 4 and entry['count'] == 2 and entry['kind'] == 'live'
    for sub in ('demo', 'demo/var', 'demo/var/log'):
        assert stat.S_IMODE(os.stat(bundle / sub).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(bundle / entry['path']).st_mode) == 0o600
    with pytest.raises(StoreError):
        st.write_bundle_file(str(bundle), '../escape', [b'x'], 'live', 1)
    with pytest.raises(StoreError):
        st.write_bundle_file(str(tmp_path / 'missing'), 'x', [b'x'], 'live', 1)
