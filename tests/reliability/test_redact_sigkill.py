# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SIGKILL at random points while a set of files is redacted in a subprocess, then a re-run:
right after the kill every file is the original or fully redacted (compressed files decompress
cleanly); the re-run completes, every file is redacted and no temporary file is left."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLL = os.path.join(ROOT, '.build', 'collections')
OPENERS = {'.gz': gzip.open, '.bz2': bz2.open, '.xz': lzma.open}
NAMES = ['mail.log', 'mail.log.1', 'mail.log.2.gz', 'mail.log.3.bz2', 'mail.log.4.xz',
         'qmail/@400000006500000000000000.s', 'qmail/current']

RUNNER = textwrap.dedent('''
    import sys
    sys.path.insert(0, %r)
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils import log_redact
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject
    matcher = log_redact.SubjectMatcher(Subject.from_params(addresses=['ann@example.com']))
    for path in sys.argv[1:]:
        log_redact.redact_file(path, matcher)
''' % COLL)


def content(seed):
    rnd = random.Random(seed)
    lines = []
    for i in range(15000):
        who = 'ann@example.com' if rnd.random() < 0.05 else rnd.choice(['joann@example.com', 'bob@example.org'])
        lines.append(b'Nov 23 10:%02d:%02d mx1 postfix/smtp[%d]: to=<%s>, status=sent\n' % (i % 60, i % 60, i, who.encode()))
    data = b''.join(lines)
    return data, b''.join(x for x in lines if b'<ann@' not in x)


def decompressed(path):
    with OPENERS.get(os.path.splitext(path)[1], open)(path, 'rb') as handle:
        return handle.read()


def make(root, data):
    os.makedirs(os.path.join(root, 'qmail'), exist_ok=True)
    for name in NAMES:
        path = os.path.join(root, name)
        with OPENERS.get(os.path.splitext(path)[1], open)(path, 'wb') as handle:
            handle.write(data)


def wait_state(paths, ok, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        bad = [p for p in paths if not ok(p)]
        if not bad or time.monotonic() > deadline:
            return bad
        time.sleep(0.05)


def test_sigkill_then_rerun(tmp_path):
    data, redacted = content(1)
    good = {hashlib.sha256(data).hexdigest(), hashlib.sha256(redacted).hexdigest()}
    rnd = random.Random(7)
    iterations = 12
    killed_mid = 0
    started = time.monotonic()
    for it in range(iterations):
        root = str(tmp_path / ('run%d' % it))
        make(root, data)
        paths = [os.path.join(root, n) for n in NAMES]
        rnd.shuffle(paths)
        proc = subprocess.Popen([sys.executable, '-c', RUNNER] + paths)
        time.sleep(rnd.uniform(0.02, 0.5))
        if proc.poll() is None:
            killed_mid += 1
        proc.send_signal(signal.SIGKILL)
        proc.wait()

        def intact(path):
            try:
                return hashlib.sha256(decompressed(path)).hexdigest() in good
            except (OSError, EOFError):
                return False
        # a live file's copy-back may still be finishing in the watchdog: wait for it
        assert wait_state(paths, intact) == [], 'a file is corrupt or half-written after SIGKILL'
        rerun = subprocess.run([sys.executable, '-c', RUNNER] + paths, timeout=120, check=False)
        assert rerun.returncode == 0
        for path in paths:
            assert decompressed(path) == redacted
        for dirpath, _dirs, names in os.walk(root):
            assert not [n for n in names if n.startswith('.mailprivacy-redact.')], 'temporary file left'
    assert killed_mid >= iterations // 3, 'the kills must land while the redaction runs'
    assert time.monotonic() - started < 100
