# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Molecule verifiers without containers: every scenario's testinfra tests import and
collect with the helpers they share (extensions/molecule/shared), and the live-redaction
verifier's own logic (the writer's lines, their parsing, the intact-others checks) holds."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOLECULE = os.path.join(ROOT, 'extensions', 'molecule')
SHARED = os.path.join(MOLECULE, 'shared')
SCENARIOS = sorted(name for name in os.listdir(MOLECULE) if os.path.isfile(os.path.join(MOLECULE, name, 'molecule.yml')))

pytest.importorskip('testinfra', reason='pytest-testinfra (requirements-dev.txt) runs the Molecule verifiers')


def test_every_scenario_collects_its_verifier():
    # one pytest process per scenario (their test modules share names), all at once
    procs = {}
    for name in SCENARIOS:
        procs[name] = subprocess.Popen(
            [sys.executable, '-m', 'pytest', '--collect-only', '-q', '-p', 'no:cacheprovider', 'tests'],
            cwd=os.path.join(MOLECULE, name), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=dict(os.environ, PY_COLORS='0'))
    failed = {}
    for name, proc in procs.items():
        out = proc.communicate(timeout=300)[0].decode('utf-8', 'replace')
        counted = re.search(r'^(\d+) tests? collected', out, re.M)
        if proc.returncode != 0 or not counted or int(counted.group(1)) == 0:
            failed[name] = out[-2000:]
    assert not failed, failed
    assert len(SCENARIOS) >= 6


def _load(name):
    if SHARED not in sys.path:
        sys.path.insert(0, SHARED)
    spec = importlib.util.spec_from_file_location(name, os.path.join(SHARED, name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_live_redaction_writer_and_its_lines(tmp_path):
    lr = _load('live_redaction')
    lines = []
    script = ("import time\nrun, n, burst, pause, done = 'abcdef012345', 25, 10, 0, %r\n" % str(tmp_path / 'done')
              + 'def emit(msg):\n    lines.append(msg)\n' + lr.WRITER_LOOP)
    exec(compile(script, 'writer', 'exec'), {'lines': lines})  # pylint: disable=exec-used
    assert (tmp_path / 'done').exists() and len(lines) == 25
    line_re = re.compile(r'^@[0-9a-f]{24} ' + lr.LINE_BODY)
    seqs = [lr.writer_seq('@' + 'a' * 24 + ' ' + line, line_re, 'abcdef012345') for line in lines]
    assert seqs == list(range(25))
    subject = [s for s in seqs if lr.is_subject(s)]
    assert subject == [0, 1, 10, 11, 20, 21]
    assert all(lr.SUBJECT_RE.search(lines[s]) for s in subject)
    assert not [line for s, line in enumerate(lines) if s not in subject and lr.SUBJECT_RE.search(line)]
    # another run's line, an altered address, a torn line: not the writer's
    assert lr.writer_seq('@' + 'a' * 24 + ' ' + lines[2], line_re, 'ffffffffffff') is None
    assert lr.writer_seq('@' + 'a' * 24 + ' ' + lines[2].replace('joann@', 'ann@'), line_re, 'abcdef012345') is None
    assert lr.writer_seq('@' + 'a' * 24 + ' ' + lines[2][:40], line_re, 'abcdef012345') is None


def test_the_intact_others_checks():
    lr = _load('live_redaction')
    expected = [2, 3, 4, 5]
    lr.assert_others_intact([2, 3, 4, 5], expected, 'f: ', 'rsyslog')
    for seqs, message in (([2, 3, 3, 4, 5], 'duplicated'), ([0, 2, 3, 4, 5], 'subject remain'),
                          ([2, 3, 5], 'lost by redaction'), ([2, 4, 3, 5], 'out of the order rsyslog')):
        with pytest.raises(AssertionError, match=message):
            lr.assert_others_intact(seqs, expected, 'f: ', 'rsyslog')
    assert lr.lines_removed([({'lines_changed': 3}, True), ({'lines_changed': 1}, False)], {'lines_changed': 2}) == 6
    with pytest.raises(AssertionError, match='names the subject'):
        lr.assert_clean_result({'refused': {}, 'subject_hmac': 'x', 'msg': 'ann@example.net'})
