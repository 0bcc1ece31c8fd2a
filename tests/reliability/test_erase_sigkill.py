# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SIGKILL at random points during an erasure, then a re-run (GDPR Art. 17, issue 6).

A child process runs subject_erase's erasure (``Request.run('erase')``, module_utils/request.py)
over the fixture host of tests/unit/plugins/modules/test_subject_erase.py (Maildirs with a few hundred messages per
user, Courier userdb, qmail users/assign, logs) and is killed with SIGKILL after a random delay
within the measured duration of a whole erasure; some iterations kill the re-run too. Then an
uninterrupted run must complete and leave exactly the state of an uninterrupted erasure: the
subject's files gone, no tombstone, every account file whole (the other users' lines byte for
byte, the compiled databases rebuilt from them), the other users' files byte for byte.

Also checks that the kills did land in the middle of erasures (some states after a kill are
neither the start nor the end), so the test cannot pass by killing too early or too late.

Environment: ERASE_SIGKILL_ITERATIONS (default 40), ERASE_SIGKILL_SEED (default: time).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.join(ROOT, '.build', 'collections')
LINK = os.path.join(COLLECTIONS, 'ansible_collections', 'mailprivacy', 'gdpr')
if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
# test_subject_erase and the unit tests' shared helpers (tests/unit/fake_runner.py) it imports
for path in (COLLECTIONS, os.path.join(ROOT, 'tests', 'unit'), os.path.join(ROOT, 'tests', 'unit', 'plugins', 'modules')):
    if path not in sys.path:
        sys.path.insert(0, path)

from test_subject_erase import (  # noqa: E402  pylint: disable=wrong-import-position
    SUBJECT_A,
    USERS,
    assert_only_a_gone,
    build_host,
    log_redaction_available,
    snapshot,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_registry import get_stores  # noqa: E402
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject  # noqa: E402
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.request import Request, remaining_stores  # noqa: E402


def erase_subject(subject, classes, options, check_mode=False):
    """subject_erase's erasure (module_utils/request.py): (results, failed, remaining)."""
    results, failed = Request(subject, None, classes, options).run('erase', check_mode=check_mode)
    return results, failed, remaining_stores(results)


ITERATIONS = int(os.environ.get('ERASE_SIGKILL_ITERATIONS', '40'))
SEED = int(os.environ.get('ERASE_SIGKILL_SEED', str(int(time.time()))))
BULK = 300      # extra messages per user, so that an erasure takes long enough to be hit

CHILD = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_registry import get_stores
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.request import Request, remaining_stores
args = json.loads(sys.argv[2])
subject = Subject.from_params(**args['subject'])
classes = get_stores(args['stores'])
sys.stdout.write('ready\n')
sys.stdout.flush()
results, failed = Request(subject, None, classes, args['options']).run('erase', check_mode=False)
remaining = remaining_stores(results)
sys.stdout.write(json.dumps({'failed': failed, 'remaining': remaining}) + '\n')
'''


def build(root):
    options = build_host(root)
    for uid in ('a', 'b'):
        cur = os.path.join(str(root), 'home', USERS[uid]['logins'][0], 'Maildir', '.Archive', 'cur')
        os.makedirs(cur)
        for sub in ('new', 'tmp'):
            os.makedirs(os.path.join(os.path.dirname(cur), sub))
        for i in range(BULK):
            with open(os.path.join(cur, '17000%05d.M%dP1.mx:2,S' % (i, i)), 'wb') as handle:
                handle.write(b'Subject: archived %s %d\n\n' % (uid.encode(), i) + b'x' * 2000)
    return options


def stores(root):
    names = ['maildir', 'courier_userdb', 'qmail_assign']
    if log_redaction_available(root):
        names.append('logs')
    return names


def child(root, options, names):
    payload = json.dumps({'subject': SUBJECT_A, 'stores': names, 'options': options})
    proc = subprocess.Popen([sys.executable, '-c', CHILD, COLLECTIONS, payload],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(root))
    line = proc.stdout.readline()
    assert line == b'ready\n', proc.stderr.read().decode('utf-8', 'replace')[-2000:]
    return proc


def timed_run(root, options, names):
    proc = child(root, options, names)
    start = time.monotonic()
    out, err = proc.communicate(timeout=120)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, err.decode('utf-8', 'replace')[-2000:]
    return elapsed, json.loads(out.decode('utf-8').strip().splitlines()[-1])


def leftovers(root):
    """Temporary files of an atomic rewrite that a kill left behind: they must never hold the
    subject's data (they hold the new content) and must not be mistaken for the live file."""
    out = []
    for dirpath, _dirs, files in os.walk(str(root)):
        out += [os.path.join(dirpath, f) for f in files if f.endswith('.mailprivacy-tmp')]
    return out


def test_sigkill_at_random_points_then_rerun_completes(tmp_path):
    rng = random.Random(SEED)
    print('ERASE_SIGKILL_SEED=%d' % SEED)
    subject = Subject.from_params(**SUBJECT_A)

    # calibrate: how long a whole erasure takes here, and what it leaves
    ref = tmp_path / 'reference'
    options = build(ref)
    names = stores(ref)
    before_ref = snapshot(ref)
    duration, outcome = timed_run(ref, options, names)
    assert outcome == {'failed': [], 'remaining': []}
    assert_only_a_gone(ref, before_ref, 'logs' in names)
    final_ref = snapshot(ref)
    assert duration > 0.005, 'the erasure is too fast to be interrupted; raise BULK'

    partial = 0
    kills = 0
    for it in range(ITERATIONS):
        root = tmp_path / ('it%03d' % it)
        options = build(root)
        start_state = snapshot(root)
        for _kill in range(rng.choice((1, 1, 1, 2, 3))):
            proc = child(root, options, names)
            time.sleep(rng.uniform(0, duration * 1.1))
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=60)
            kills += 1
            state = snapshot(root)
            if state != start_state and state[1:] + (sorted(state[0]),) != \
                    final_ref_relocated(final_ref, ref, root)[1:] + (sorted(final_ref[0]),):
                partial += 1
        # the re-run, in this process, completes and leaves the state of an uninterrupted run
        results, failed, remaining = erase_subject(subject, get_stores(names), options)
        assert failed == [] and remaining == [], (it, results)
        assert all(r['after'] == 0 for r in results.values())
        assert_only_a_gone(root, start_state, 'logs' in names)
        for path in leftovers(root):
            with open(path, 'rb') as handle:
                data = handle.read()
            assert not subject.matches(data), 'a temporary file holds the subject\'s data'
        state = snapshot(root)
        stray = set(os.path.relpath(p, str(root)) for p in leftovers(root))
        # gzip headers carry the build time: compressed logs are compared by content (state[1])
        assert dict((k, v) for k, v in state[0].items() if k not in stray and not k.endswith('.gz')) == \
            dict((k, v) for k, v in final_ref_relocated(final_ref, ref, root)[0].items()
                 if not k.endswith('.gz')), it
        assert state[1] == final_ref_relocated(final_ref, ref, root)[1], it
        # and one more run finds nothing and changes nothing
        results, failed, remaining = erase_subject(subject, get_stores(names), options)
        assert sum(r['before'] for r in results.values()) == 0 and snapshot(root) == state
    print('kills: %d, landed mid-erasure: %d' % (kills, partial))
    assert partial >= max(1, kills // 10), 'too few kills landed in the middle of an erasure'


_RELOCATED = {}


def final_ref_relocated(final_ref, ref, root):
    """The reference end state with the fixture's absolute paths (inside account files and the
    compiled databases) rewritten from the reference tree to ``root``."""
    key = str(root)
    if key not in _RELOCATED:
        _RELOCATED.clear()
        _RELOCATED[key] = snapshot_with_paths(ref, str(ref), key)
    return _RELOCATED[key]


def snapshot_with_paths(ref, old, new):
    digests, texts = snapshot(ref)
    out = {}
    for rel, digest in digests.items():
        if rel.startswith(('qmail/users/', 'etc/userdb')):
            with open(os.path.join(str(ref), rel), 'rb') as handle:
                data = handle.read().replace(old.encode(), new.encode())
            digest = hashlib.sha256(data).hexdigest()
        out[rel] = digest
    texts = dict((rel, [line.replace(old, new) for line in lines]) for rel, lines in texts.items())
    return out, texts


if __name__ == '__main__':
    sys.exit(pytest.main([__file__, '-q', '-s']))
