# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A mail user races root over its own Maildir (issue 12, root-run file handling).

An attacker process runs as an unprivileged user (uid/gid 65534, the owner of the subject's
Maildir tree after a chown) and, in a loop, swaps

* ``cur`` for a symbolic link to a root-only directory that holds a canary ``shadow`` file,
  and for a FIFO;
* the message file ``cur/shadow`` for a symbolic link to the canary, and for a FIFO;
* the whole ``Maildir`` for a symbolic link to another user's Maildir;
* and plants a symbolic link where the erasure's tombstone goes,

while root runs the real store code over and over: ``MaildirStore`` locate and export, the
export path of the ``subject_export`` module (``run_stores`` into a bundle with its budget),
``subject_erase``'s erasure (``Request.run('erase')``) in check mode, and a real erasure at the end of every
round. Every operation runs under a timer.

Asserted: no operation hangs; no bundle file ever holds the canary; every files[] entry's
SHA-256 and size match the file; the root-only files and everything outside the subject's
Maildir are byte for byte unchanged after the erasures; and the race did happen (the attacker
made swaps and some operations saw them: skipped files, refusals).

Environment: TREE_RACE_SECONDS (default 24, the whole test), TREE_RACE_SEED (default: time).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import stat
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.join(ROOT, '.build', 'collections')
LINK = os.path.join(COLLECTIONS, 'ansible_collections', 'mailprivacy', 'gdpr')
if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.bundle import close_budget, open_budget  # noqa: E402
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError, run_stores  # noqa: E402
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_maildir import MaildirStore  # noqa: E402
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject  # noqa: E402
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.request import Request, remaining_stores  # noqa: E402


def erase_subject(subject, classes, options, check_mode):
    """subject_erase's erasure (module_utils/request.py): (results, failed, remaining)."""
    results, failed = Request(subject, None, classes, options).run('erase', check_mode=check_mode)
    return results, failed, remaining_stores(results)


SECONDS = float(os.environ.get('TREE_RACE_SECONDS', '24'))
SEED = int(os.environ.get('TREE_RACE_SEED', str(int(time.time()))))
OP_LIMIT = 30           # seconds one store operation may take before it counts as a hang
ROUNDS = 4
MESSAGES = 150
USER = 65534
CANARY = b'root:$6$CANARY-TREE-RACE$:19000:0:99999:7:::\n'
SUBJECT = dict(addresses=['ann@example.org'])

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='the race needs root (the store) and a second uid (the attacker)')


class Hang(Exception):
    pass


def _alarm(_signum, _frame):
    raise Hang()


def timed(func, *args, **kwargs):
    """func(*args, **kwargs) under a timer: Hang when it takes longer than OP_LIMIT."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, OP_LIMIT)
    try:
        return func(*args, **kwargs)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def write(path, data, mode=0o600):
    with open(path, 'wb') as handle:
        handle.write(data)
    os.chmod(path, mode)


def maildir(path, tag, uid):
    for folder in ('', '.Trash'):
        for sub in ('cur', 'new', 'tmp'):
            os.makedirs(os.path.join(path, folder, sub), exist_ok=True)
    for i in range(MESSAGES):
        folder = '.Trash' if i % 5 == 0 else ''
        write(os.path.join(path, folder, 'cur', '17%08d.M%dP1.mx:2,S' % (i, i)),
              b'Subject: %s %d\n\n' % (tag, i) + b'x' * 512 + b'\n')
    write(os.path.join(path, 'cur', 'shadow'), b'Subject: %s bait\n\nnamed like the target\n' % tag)
    for dirpath, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(dirpath, name), uid, uid)
    os.chown(path, uid, uid)


def snapshot(top, skip=None):
    """{relative path: ('dir'|'link'|sha256, mode, uid)} below ``top`` (``skip``: a
    relative subtree left out)."""
    out = {}
    for dirpath, dirs, files in os.walk(top):
        rel_dir = os.path.relpath(dirpath, top)
        if skip and (rel_dir == skip or rel_dir.startswith(skip + os.sep)):
            dirs[:] = []
            continue
        for name in dirs + files:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, top)
            if skip and rel == skip:
                continue
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                kind = 'link:' + os.readlink(path)
            elif stat.S_ISDIR(st.st_mode):
                kind = 'dir'
            else:
                with open(path, 'rb') as handle:
                    kind = hashlib.sha256(handle.read()).hexdigest()
            out[rel] = (kind, stat.S_IMODE(st.st_mode), st.st_uid)
    return out


# ------------------------------------------------------------------------------ the attacker
def attacker(home, secret, other_maildir, seed, report_fd):
    """The loop of the unprivileged user (runs in a forked child, never returns)."""
    try:
        os.setgroups([])
        os.setgid(USER)
        os.setuid(USER)
        rng = random.Random(seed)
        md = os.path.join(home, 'Maildir')
        cur = os.path.join(md, 'cur')
        swaps = 0
        reported = 0

        def quiet(func, *args):
            try:
                func(*args)
                return True
            except OSError:
                return False

        def pause():
            time.sleep(rng.choice((0, 0, 0.0002, 0.001, 0.003)))

        while os.getppid() != 1:
            move = rng.randrange(6)
            if move in (0, 1):           # cur -> link to the root-only directory, or a FIFO
                if quiet(os.rename, cur, os.path.join(md, '.hold-cur')):
                    made = quiet(os.symlink, secret, cur) if move == 0 else quiet(os.mkfifo, cur)
                    swaps += made
                    pause()
                    quiet(os.unlink, cur)
                    quiet(os.rename, os.path.join(md, '.hold-cur'), cur)
            elif move in (2, 3):         # cur/shadow -> link to the canary, or a FIFO
                bait = os.path.join(cur, 'shadow')
                if quiet(os.rename, bait, os.path.join(cur, '.hold-shadow')):
                    made = quiet(os.symlink, os.path.join(secret, 'shadow'), bait) if move == 2 else quiet(os.mkfifo, bait)
                    swaps += made
                    pause()
                    quiet(os.unlink, bait)
                    quiet(os.rename, os.path.join(cur, '.hold-shadow'), bait)
            elif move == 4:              # the whole Maildir -> link to another user's
                if quiet(os.rename, md, os.path.join(home, '.hold-Maildir')):
                    swaps += quiet(os.symlink, other_maildir, md)
                    pause()
                    quiet(os.unlink, md)
                    quiet(os.rename, os.path.join(home, '.hold-Maildir'), md)
            else:                        # a link where the erasure's tombstone goes
                tomb = os.path.join(home, '.mailprivacy-erasing.Maildir')
                if quiet(os.symlink, secret, tomb):
                    swaps += 1
                    pause()
                    quiet(os.unlink, tomb)
            if swaps >= reported + 64:    # a few lines only: the pipe is read at the end
                reported = swaps
                os.write(report_fd, b'%d\n' % swaps)
            pause()
    finally:
        os._exit(0)


def start_attacker(home, secret, other_maildir, seed):
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        attacker(home, secret, other_maildir, seed, write_fd)
    os.close(write_fd)
    os.set_blocking(read_fd, False)
    return pid, read_fd


def restore(home):
    """Undo a swap the attacker was killed in the middle of (as it would have itself)."""
    md = os.path.join(home, 'Maildir')
    for parent, name in ((os.path.join(md, 'cur'), 'shadow'), (md, 'cur'), (home, 'Maildir')):
        hold = os.path.join(parent, '.hold-' + name)
        if os.path.lexists(hold):
            path = os.path.join(parent, name)
            if os.path.lexists(path) and not os.path.isdir(path) or os.path.islink(path):
                os.unlink(path)
            os.rename(hold, path)
    tomb = os.path.join(home, '.mailprivacy-erasing.Maildir')
    if os.path.islink(tomb):
        os.unlink(tomb)


def stop_attacker(pid, read_fd):
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    data = b''
    while True:
        try:
            chunk = os.read(read_fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    os.close(read_fd)
    counts = [int(x) for x in data.split()]
    return max(counts) if counts else 0


# ------------------------------------------------------------------------------ checks
def check_bundle(bundle, files):
    """No file holds the canary; every files[] entry matches its file."""
    for dirpath, _dirs, names in os.walk(bundle):
        for name in names:
            with open(os.path.join(dirpath, name), 'rb') as handle:
                assert b'CANARY-TREE-RACE' not in handle.read(), 'a bundle file holds the root-only canary'
    for entry in files:
        with open(os.path.join(bundle, entry['path']), 'rb') as handle:
            data = handle.read()
        assert hashlib.sha256(data).hexdigest() == entry['sha256'] and len(data) == entry['size'], entry['path']


def saw_the_race(res):
    detail = res.get('detail') or {}
    return bool(res.get('error') or detail.get('skipped_changed') or detail.get('skipped_owner_or_links'))


@pytest.fixture
def world():
    """A world-traversable scratch root (pytest's temporary directories are root-only)."""
    top = tempfile.mkdtemp(prefix='tree-race-', dir='/tmp')
    os.chmod(top, 0o755)
    try:
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_a_mail_user_racing_root_over_its_maildir(world):
    rng = random.Random(SEED)
    print('TREE_RACE_SEED=%d' % SEED)
    vmail = os.path.join(world, 'vmail')
    users = os.path.join(vmail, 'example.org')
    os.makedirs(users, mode=0o755)
    secret = os.path.join(world, 'secret')
    os.mkdir(secret, 0o700)
    write(os.path.join(secret, 'shadow'), CANARY)
    bob = os.path.join(users, 'bob')
    os.mkdir(bob, 0o700)
    maildir(os.path.join(bob, 'Maildir'), b'bob', 0)
    secret_before = snapshot(secret)
    options = {'maildir': {'paths': [os.path.join(vmail, '%d', '%n', 'Maildir')], 'roots': [vmail],
                           'check_shared_home': False}}
    subject = Subject.from_params(**SUBJECT)
    classes = [MaildirStore]
    runs = {'locate': 0, 'export': 0, 'module_export': 0, 'erase_preview': 0, 'erase': 0}
    saw = 0
    swaps = 0
    deadline_per_round = SECONDS / ROUNDS

    for round_no in range(ROUNDS):
        home = os.path.join(users, 'ann')
        if os.path.lexists(home):
            shutil.rmtree(home)
        os.mkdir(home, 0o700)
        maildir(os.path.join(home, 'Maildir'), b'ann', USER)
        write(os.path.join(home, '.profile'), b'# not part of the Maildir\n')
        os.chown(os.path.join(home, '.profile'), USER, USER)
        os.chown(home, USER, USER)
        outside_before = snapshot(world, skip=os.path.join('vmail', 'example.org', 'ann'))
        pid, read_fd = start_attacker(home, secret, os.path.join(bob, 'Maildir'), rng.randrange(1 << 30))
        try:
            end = time.monotonic() + deadline_per_round
            n = 0
            while time.monotonic() < end:
                n += 1
                kind = ('locate', 'export', 'module_export', 'erase_preview')[n % 4]
                bundle = os.path.join(world, 'bundle-%d-%d' % (round_no, n))
                os.mkdir(bundle, 0o700)
                store = MaildirStore(options['maildir'])
                try:
                    if kind == 'locate':
                        res = timed(store.locate, subject)
                    elif kind == 'export':
                        res = timed(store.export, subject, bundle)
                        check_bundle(bundle, res['files'])
                    elif kind == 'module_export':
                        budget = open_budget(bundle)
                        try:
                            results, _failed = timed(run_stores, classes, 'export', subject, options, bundle_dir=bundle)
                        finally:
                            close_budget(budget)
                        res = results['maildir']
                        check_bundle(bundle, res.get('files') or [])
                    else:
                        results, _failed, _remaining = timed(erase_subject, subject, classes, options, True)
                        res = results['maildir']
                except StoreError as err:
                    res = {'error': str(err)}
                except Hang:
                    pytest.fail('a %s run hung (round %d, run %d, seed %d)' % (kind, round_no, n, SEED))
                runs[kind] += 1
                saw += saw_the_race(res)
                assert 'example' not in str(res.get('error', '')) and 'ann' not in str(res.get('error', ''))
                check_bundle(bundle, [])
                shutil.rmtree(bundle)
            # the real erasure, with the attacker still at work
            try:
                results, _failed, _remaining = timed(erase_subject, subject, classes, options, False)
            except Hang:
                pytest.fail('an erasure hung (round %d, seed %d)' % (round_no, SEED))
            runs['erase'] += 1
            saw += saw_the_race(results['maildir'])
        finally:
            swaps += stop_attacker(pid, read_fd)
            restore(home)
        assert snapshot(secret) == secret_before, 'a root-only file changed'
        assert snapshot(world, skip=os.path.join('vmail', 'example.org', 'ann')) == outside_before, \
            'something outside the subject\'s tree changed'
        # inside the subject's directory, only the Maildir (or its tombstone) may have gone
        assert open(os.path.join(home, '.profile'), 'rb').read() == b'# not part of the Maildir\n'
        # a calm re-run finishes what a refusal under the race left
        results, failed, remaining = timed(erase_subject, subject, classes, options, False)
        assert failed == [] and remaining == [], results
        leftover = [n for n in os.listdir(home) if n != '.profile']
        assert leftover == [], leftover

    print('runs: %s; attacker swaps: %d; runs that saw a swap: %d' % (runs, swaps, saw))
    assert swaps > 100, 'the attacker made too few swaps for a race'
    assert saw > 0, 'no run saw a swap: the race did not happen'
    assert sum(runs.values()) > 4 * ROUNDS


if __name__ == '__main__':
    sys.exit(pytest.main([__file__, '-q', '-s']))
