# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of fileutil.remove_stale_temps: only atomic_write's own leftovers go."""

from __future__ import annotations

import os
import time

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fileutil


def killed_atomic_write(path):
    """Run atomic_write in a child that dies (os._exit) between creating its temporary file
    and the rename, as a SIGKILL would: the temporary file stays."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        def chunks():
            yield b'partial\n'
            os._exit(0)
        try:
            fileutil.atomic_write(path, chunks())
        finally:
            os._exit(1)
    _pid, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


def test_removes_the_leftovers_of_a_killed_atomic_write(tmp_path):
    target = tmp_path / 'mail.log'
    target.write_bytes(b'original\n')
    long_name = tmp_path / ('x' * 100 + '.log')
    long_name.write_bytes(b'long\n')
    killed_atomic_write(str(target))
    killed_atomic_write(str(target))
    killed_atomic_write(str(long_name))
    temps = sorted(n for n in os.listdir(str(tmp_path)) if n.endswith('.mailprivacy-tmp'))
    assert len(temps) == 3 and all(fileutil.STALE_TEMP_RE.match(n) for n in temps)
    # look-alikes and other files stay
    keep = ['.mail.log.short.mailprivacy-tmp', '.mail.log.ABCDEFGH.mailprivacy-tmp',
            'mail.log.abcdefgh.mailprivacy-tmp', '.mail.log.abcdefgh.mailprivacy-tmp.gz',
            '.mail.log.abcdefgh.mailprivacy-tmp~', '..abcdefgh.mailprivacy-tmp', 'other']
    for name in keep:
        (tmp_path / name).write_bytes(b'keep\n')
    os.symlink(str(target), str(tmp_path / '.link.abcdefgh.mailprivacy-tmp'))
    (tmp_path / '.dir.abcdefgh.mailprivacy-tmp').mkdir()
    sub = tmp_path / 'sub'
    sub.mkdir()
    (sub / '.mail.log.abcdefgh.mailprivacy-tmp').write_bytes(b'below: not touched\n')

    assert fileutil.remove_stale_temps(str(tmp_path)) == 3
    left = set(os.listdir(str(tmp_path)))
    assert not left & set(temps)
    assert set(keep) <= left
    assert '.link.abcdefgh.mailprivacy-tmp' in left and '.dir.abcdefgh.mailprivacy-tmp' in left
    assert (sub / '.mail.log.abcdefgh.mailprivacy-tmp').exists()
    assert target.read_bytes() == b'original\n'
    assert fileutil.remove_stale_temps(str(tmp_path)) == 0


def test_older_than_spares_recent_temps(tmp_path):
    fresh = tmp_path / '.a.log.abcd_123.mailprivacy-tmp'
    fresh.write_bytes(b'x')
    # an old mtime is not enough: atomic_write sets it just before the rename (ctime is new)
    os.utime(str(fresh), (time.time() - 7200, time.time() - 7200))
    assert fileutil.remove_stale_temps(str(tmp_path), older_than=3600) == 0
    assert fresh.exists()
    assert fileutil.remove_stale_temps(str(tmp_path), older_than=0) == 1
    assert not fresh.exists()


def test_missing_directory(tmp_path):
    assert fileutil.remove_stale_temps(str(tmp_path / 'missing')) == 0
