# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A real attacker against the log engine (issue 12). Run: pytest tests/reliability

A process running as an unprivileged user (uid 65534, as qmaill owns /var/log/qmail) owns a
directory inside the log globs and, in a loop, swaps its subdirectory for a symbolic link to a
root-only directory (which holds root-only logs with the subject's lines and a secret canary,
under the same names) and its files for FIFOs, while it reads every file it can for the canary.
Meanwhile root runs the real code over and over: LogStore locate, export and erase,
log_redact.redact_file by path, the log_redact module's run() in the same process, and the
module through main() in separate processes. Afterwards:

* no run hung (every operation reports progress; a silent one is a hang);
* the root-only files are unchanged byte for byte, nothing was added next to them;
* the attacker never read the canary, and no file it owns holds it; no bundle holds it;
* no temporary file of ours is left anywhere;
* nothing outside the log tree (and the bundles the exports wrote) was created or modified.

Environment: LOG_RACES_SECONDS (default 8) per phase.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLL = os.path.join(ROOT, '.build', 'collections')
LINK = os.path.join(COLL, 'ansible_collections', 'mailprivacy', 'gdpr')
if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)

NOBODY = 65534
SECONDS = float(os.environ.get('LOG_RACES_SECONDS', '8'))
NAMES = ['current', '@400000006543a1b2c3d4e5f6.s', 'old.log.1', 'old.log.2.gz']
HANG = 30.0  # seconds without progress that count as a hang

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root (an attacker process as uid 65534)')


def log_data(canary=b''):
    lines = []
    for i in range(3000):
        who = b'ann@example.com' if i % 9 == 0 else b'bob@example.org'
        lines.append(b'Nov 23 10:00:%02d mx1 qmail: %06d delivery to=<%s> status=ok\n' % (i % 60, i, who))
        if canary and i % 500 == 0:
            lines.append(b'Nov 23 10:00:00 mx1 root-only: ' + canary + b'\n')
    return b''.join(lines)


def gz(data):
    import gzip  # pylint: disable=import-outside-toplevel
    return gzip.compress(data, 6)


# ---------------------------------------------------------------------------- the attacker
def attacker(qmail, secret, canary, leak_w, stop_r, seed):  # pragma: no cover - child
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    rnd = random.Random(seed)
    sub = os.path.join(qmail, 'smtpd')
    real = sub + '.real'

    def pause():
        time.sleep(rnd.choice([0, 0, 0.00005, 0.0002, 0.001]))

    def repair():
        try:
            if os.path.lexists(real):
                if os.path.islink(sub):
                    os.unlink(sub)
                if not os.path.lexists(sub):
                    os.rename(real, sub)
            for name in NAMES:
                path = os.path.join(sub, name)
                if os.path.lexists(path + '.bak'):
                    if os.path.lexists(path) and stat.S_ISFIFO(os.lstat(path).st_mode):
                        os.unlink(path)
                    if os.path.lexists(path):
                        os.unlink(path + '.bak')
                    else:
                        os.rename(path + '.bak', path)
        except OSError:
            pass

    def peek():
        for dirpath, _dirs, names in os.walk(qmail):
            for name in names:
                try:
                    fd = os.open(os.path.join(dirpath, name), os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
                except OSError:
                    continue
                try:
                    if stat.S_ISREG(os.fstat(fd).st_mode):
                        data = b''
                        while True:
                            more = os.read(fd, 1 << 20)
                            if not more:
                                break
                            data += more
                        if canary in data:
                            os.write(leak_w, b'L')
                except OSError:
                    pass
                finally:
                    os.close(fd)

    rounds = 0
    while not select.select([stop_r], [], [], 0)[0]:
        rounds += 1
        try:
            if rnd.random() < 0.6:
                os.rename(sub, real)
                os.symlink(secret, sub)
                pause()
                os.unlink(sub)
                os.rename(real, sub)
            else:
                path = os.path.join(sub, rnd.choice(NAMES))
                os.rename(path, path + '.bak')
                os.mkfifo(path)
                pause()
                os.unlink(path)
                os.rename(path + '.bak', path)
        except OSError:
            repair()
        if rounds % 50 == 0:
            peek()
    repair()
    peek()


# ---------------------------------------------------------------------------- root's runs
VICTIM = textwrap.dedent('''
    import json, os, sys, time
    sys.path.insert(0, %(coll)r)
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fsops, log_redact
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_logs import LogStore
    from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject
    from ansible_collections.mailprivacy.gdpr.plugins.modules import log_redact as module
    with open(sys.argv[1]) as handle:
        cfg = json.load(handle)
    subject = Subject.from_params(addresses=['ann@example.com'])
    data = cfg['data'].encode('latin-1')
    gzdata = cfg['gz'].encode('latin-1')
    params = {'mode': 'subject', 'action': 'remove', 'mask_token': 'hmac', 'paths': [cfg['tree'] + '/**'],
              'extra_paths': [], 'exclude': [], 'debug_patterns': [], 'addresses': ['ann@example.com'],
              'logins': [], 'ips': [], 'domain': None, 'plus_separator': '+',
              'hmac_key': 'test-hmac-key-0123456789', 'request_id': None}

    def say(*words):
        sys.stdout.write(' '.join(str(w) for w in words) + '\\n')
        sys.stdout.flush()

    def refill():
        """The logs get the subject's lines again, written from handles (never through a link)."""
        try:
            with fsops.Dir.open(cfg['qmail']) as q, q.sub('smtpd') as d:
                for name in cfg['names']:
                    fd, tmp = d.create_temp('.logrefill.', '', 0o644)
                    try:
                        os.write(fd, gzdata if name.endswith('.gz') else data)
                        os.fchown(fd, %(nobody)d, %(nobody)d)
                    finally:
                        os.close(fd)
                    try:
                        d.rename(tmp, name)
                    except OSError:
                        d.unlink(tmp, missing_ok=True)
        except OSError:
            pass

    def store():
        return LogStore({'paths': [cfg['tree'] + '/**'], 'workers': 2})

    counter = [0]

    def export():
        counter[0] += 1
        target = os.path.join(cfg['bundles'], 'b%%d' %% counter[0])
        os.mkdir(target, 0o700)
        return store().export(subject, target)

    def redact_paths():
        out = 0
        for name in cfg['names']:
            for path in (os.path.join(cfg['qmail'], 'smtpd', name), os.path.join(cfg['tree'], name)):
                try:
                    out += log_redact.redact_file(path, log_redact.SubjectMatcher(subject))['lines_changed']
                except log_redact.RedactError:
                    pass
        return out

    ops = [('refill', refill), ('locate', lambda: store().locate(subject)), ('export', export),
           ('erase', lambda: store().erase(subject, False)), ('refill', refill), ('redact_file', redact_paths),
           ('refill', refill), ('module', lambda: module.run(params, False)),
           ('refill', refill), ('check_mode', lambda: store().erase(subject, True))]
    deadline = time.monotonic() + cfg['seconds']
    runs = 0
    while time.monotonic() < deadline:
        for name, func in ops:
            say('start', name)
            try:
                func()
            except Exception as err:  # reported, not fatal: the parent fails the test
                say('error', name, type(err).__name__, getattr(err, 'errno', ''))
            say('end', name)
            runs += 1
    say('done', runs)
''')

MODULE = textwrap.dedent('''
    import json, sys
    sys.path.insert(0, %(coll)r)
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.mailprivacy.gdpr.plugins.modules import log_redact
    args = json.loads(sys.argv[1])
    with patch_module_args(args):
        log_redact.main()
''')


def snapshot(top, skip=()):
    """{path: (type, ino, uid, gid, mode, size, mtime, sha256)} of everything below ``top``."""
    out = {}
    for dirpath, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if os.path.join(dirpath, d) not in skip]
        for name in names + dirs:
            full = os.path.join(dirpath, name)
            if full in skip:
                continue
            st = os.lstat(full)
            data = b''
            if stat.S_ISREG(st.st_mode):
                with open(full, 'rb') as handle:
                    data = handle.read()
            out[full] = (stat.S_IFMT(st.st_mode), st.st_ino, st.st_uid, st.st_gid, st.st_mode, st.st_size,
                         st.st_mtime_ns, hashlib.sha256(data).hexdigest())
    return out


def files_holding(top, needle, uid=None):
    found = []
    for dirpath, _dirs, names in os.walk(top):
        for name in names:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            if not stat.S_ISREG(st.st_mode) or (uid is not None and st.st_uid != uid):
                continue
            with open(full, 'rb') as handle:
                if needle in handle.read():
                    found.append(full)
    return found


def watch(proc, label, deadline):
    """Read the victim's progress lines; fail on silence (a hang) or on an error line."""
    last = time.monotonic()
    current = None
    errors = []
    done = None
    buf = b''
    while True:
        ready = select.select([proc.stdout], [], [], 1.0)[0]
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                words = line.decode().split()
                last = time.monotonic()
                if words[0] == 'start':
                    current = words[1]
                elif words[0] == 'error':
                    errors.append(' '.join(words[1:]))
                elif words[0] == 'done':
                    done = int(words[1])
        if time.monotonic() - last > HANG or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise AssertionError('%s: no progress for %.0f s during %s: a run hangs' % (label, HANG, current))
    proc.wait()
    return done, errors


def test_attacker_swapping_directories_and_fifos(tmp_path):
    base = tempfile.mkdtemp(prefix='mailprivacy-lograces-', dir='/tmp')
    os.chmod(base, 0o755)
    canary = b'CANARY-%s' % os.urandom(12).hex().encode()
    attacker_pid = None
    try:
        tree = os.path.join(base, 'log')
        qmail = os.path.join(tree, 'qmail')
        smtpd = os.path.join(qmail, 'smtpd')
        secret = os.path.join(base, 'secret')
        bundles = os.path.join(base, 'bundles')
        os.makedirs(smtpd)
        os.mkdir(secret, 0o700)
        os.mkdir(bundles, 0o700)
        data = log_data()
        for name in NAMES:
            with open(os.path.join(smtpd, name), 'wb') as handle:
                handle.write(gz(data) if name.endswith('.gz') else data)
            os.chown(os.path.join(smtpd, name), NOBODY, NOBODY)
            # a root-only file of the same name in the root-owned part of the tree
            with open(os.path.join(tree, name), 'wb') as handle:
                handle.write(gz(data) if name.endswith('.gz') else data)
            # the root-only directory the link points to: the subject's lines and the canary
            path = os.path.join(secret, name)
            with open(path, 'wb') as handle:
                secret_data = log_data(canary)
                handle.write(gz(secret_data) if name.endswith('.gz') else secret_data)
            os.chmod(path, 0o600)
        for path in (qmail, smtpd):
            os.chown(path, NOBODY, NOBODY)
        outside = snapshot(base, skip=(tree, bundles))
        assert len([p for p in outside if p.startswith(secret + '/')]) == len(NAMES)

        leak_r, leak_w = os.pipe()
        stop_r, stop_w = os.pipe()
        attacker_pid = os.fork()
        if attacker_pid == 0:  # pragma: no cover - child
            code = 1
            try:
                os.close(leak_r)
                os.close(stop_w)
                attacker(qmail, secret, canary, leak_w, stop_r, int.from_bytes(os.urandom(4), 'big'))
                code = 0
            finally:
                os._exit(code)  # pylint: disable=protected-access
        os.close(leak_w)
        os.close(stop_r)

        cfg = {'tree': tree, 'qmail': qmail, 'bundles': bundles, 'names': NAMES, 'seconds': SECONDS,
               'data': data.decode('latin-1'), 'gz': gz(data).decode('latin-1')}
        cfg_path = str(tmp_path / 'victim.json')  # tmp_path: root's, outside the attacked tree
        with open(cfg_path, 'w') as handle:
            json.dump(cfg, handle)
        victim = subprocess.Popen([sys.executable, '-c', VICTIM % {'coll': COLL, 'nobody': NOBODY}, cfg_path],
                                  stdout=subprocess.PIPE)
        # the module through main(), as Ansible runs it, several times during the attack
        args = {'paths': [tree + '/**'], 'addresses': ['ann@example.com'], 'hmac_key': 'test-hmac-key-0123456789',
                '_ansible_check_mode': False, '_ansible_diff': False}
        module_runs = []
        started = time.monotonic()
        while time.monotonic() - started < SECONDS:
            try:
                out = subprocess.run([sys.executable, '-c', MODULE % {'coll': COLL}, json.dumps(args)],
                                     capture_output=True, timeout=HANG, check=False)
            except subprocess.TimeoutExpired:
                raise AssertionError('the log_redact module hung')
            result = json.loads(out.stdout)
            assert canary.decode() not in out.stdout.decode() + out.stderr.decode()
            assert base not in json.dumps(dict((k, v) for k, v in result.items() if k != 'invocation'))
            module_runs.append(result)
        done, errors = watch(victim, 'engine runs', time.monotonic() + SECONDS + 5 * HANG)
        assert victim.returncode == 0 and done, 'the engine runs did not finish'
        assert not errors, 'unexpected errors: %s' % sorted(set(errors))

        os.write(stop_w, b'x')
        _pid, status = os.waitpid(attacker_pid, 0)
        attacker_pid = None
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        leaks = b''
        while True:
            more = os.read(leak_r, 4096)
            if not more:
                break
            leaks += more
        assert not leaks, 'the attacker read the canary %d time(s)' % len(leaks)

        # the attack did happen and root did refuse things
        refused = sum(sum(r.get('refused', {}).values()) for r in module_runs)
        assert module_runs and done >= 10
        assert refused > 0, 'the module never met a swapped file: the attack did not land'
        assert snapshot(base, skip=(tree, bundles)) == outside, 'something outside the tree changed'
        assert files_holding(base, canary, uid=NOBODY) == [], 'a file the attacker owns holds root-only data'
        assert files_holding(bundles, canary) == [], 'an export bundle holds root-only data'
        left = [os.path.join(d, n) for d, _ds, ns in os.walk(base) for n in ns
                if n.startswith(('.mailprivacy-', '.logrefill.'))]
        assert left == [], 'temporary files left: %s' % left
        assert not os.path.lexists(smtpd + '.real') and stat.S_ISDIR(os.lstat(smtpd).st_mode)
    finally:
        if attacker_pid:
            os.kill(attacker_pid, signal.SIGKILL)
            os.waitpid(attacker_pid, 0)
        shutil.rmtree(base, ignore_errors=True)
