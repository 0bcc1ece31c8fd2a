# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A writer appends thousands of lines per second through an O_APPEND descriptor that it keeps
open while the live log is redacted in place: afterwards every line it wrote is present exactly
once, in order, and no line of the subject is left. Run: pytest tests/reliability"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, '.build', 'collections'))
if not os.path.exists(os.path.join(ROOT, '.build', 'collections', 'ansible_collections', 'mailprivacy', 'gdpr')):
    os.makedirs(os.path.join(ROOT, '.build', 'collections', 'ansible_collections', 'mailprivacy'), exist_ok=True)
    os.symlink(ROOT, os.path.join(ROOT, '.build', 'collections', 'ansible_collections', 'mailprivacy', 'gdpr'))

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import log_redact  # noqa: E402
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject  # noqa: E402

WRITER = textwrap.dedent('''
    import os, sys, time
    path, seconds, ready = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    open(ready, 'w').close()
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        for _i in range(20):
            os.write(fd, b'Nov 23 10:00:00 mx1 postfix/smtp[9]: writer line %08d to=<bob@example.org>\\n' % n)
            n += 1
        time.sleep(0.002)
    os.close(fd)
    print(n)
''')


def _initial(path, lines):
    with open(path, 'wb') as handle:
        for i in range(lines):
            if i % 7 == 0:
                handle.write(b'Nov 23 09:00:00 mx1 postfix/smtp[1]: old %08d to=<ann@example.com>, status=sent\n' % i)
            else:
                handle.write(b'Nov 23 09:00:00 mx1 postfix/smtp[1]: old %08d to=<joann@example.com>, status=sent\n' % i)


@pytest.mark.parametrize('mode', ['remove', 'mask'])
def test_live_writer_loses_nothing(tmp_path, mode):
    path = str(tmp_path / 'mail.log')
    initial = 300000
    _initial(path, initial)
    before = open(path, 'rb').read().splitlines()
    ready = str(tmp_path / 'ready')
    writer = subprocess.Popen([sys.executable, '-c', WRITER, path, '4', ready], stdout=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(ready):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.3)
        subject = Subject.from_params(addresses=['ann@example.com'])
        matcher = log_redact.SubjectMatcher(subject, b'[redacted]')
        runs = []
        started = time.monotonic()
        while time.monotonic() - started < 2.5:
            # several redactions while the writer runs (the first one does the work; the later
            # ones find nothing and must not touch the file)
            runs.append(log_redact.redact_file(path, matcher, mode=mode))
        out, _err = writer.communicate(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
    written = int(out)
    assert written > 4000, 'the writer must have written thousands of lines'
    assert runs[0]['changed'] and runs[0]['lines_matched'] == len([x for x in before if b'<ann@' in x])
    assert all(not r['changed'] for r in runs[1:])
    after = open(path, 'rb').read()
    assert after.endswith(b'\n')
    lines = after.splitlines()
    writer_lines = [x for x in lines if b'writer line' in x]
    expected = [b'Nov 23 10:00:00 mx1 postfix/smtp[9]: writer line %08d to=<bob@example.org>' % n
                for n in range(written)]
    assert writer_lines == expected, 'a line of the writer was lost, duplicated or reordered'
    old = [x for x in lines if b' old ' in x]
    if mode == 'remove':
        assert old == [x for x in before if b'<ann@' not in x]
    else:
        assert old == [x.replace(b'<ann@example.com>', b'<[redacted]>') for x in before]
    assert b'ann@example.com' not in after.replace(b'joann@example.com', b'')
    assert len(lines) == len(old) + written
    assert not [n for n in os.listdir(str(tmp_path)) if n.startswith('.mailprivacy-redact.')]
