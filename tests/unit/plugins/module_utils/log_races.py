# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers of the log engine's race tests (test_store_logs, test_log_redact, the log_redact and
log_audit module tests): deterministic swaps at the moment an attacker would make them, and a
bounded run that turns a hang on a FIFO into a test failure instead of a stuck test run."""

from __future__ import annotations

import errno
import os
import stat
import threading

NOBODY = 65534


def fifo_after_first_lstat(monkeypatch, target):
    """Replace the regular file ``target`` by a FIFO right after its first lstat (by full path,
    or by name relative to a directory handle): the file has just passed a type check when the
    FIFO takes its place, as when its owner swaps it between two system calls."""
    state = {'fired': False}
    real_stat = os.stat
    real_lstat = os.lstat
    name = os.path.basename(target)

    def ours(path, dir_fd):
        return path == target or (dir_fd is not None and path == name)

    def swap(res):
        if not state['fired'] and stat.S_ISREG(res.st_mode):
            state['fired'] = True
            os.unlink(target)
            os.mkfifo(target)

    def fake_stat(path, *args, dir_fd=None, follow_symlinks=True):
        res = real_stat(path, *args, dir_fd=dir_fd, follow_symlinks=follow_symlinks)
        if not follow_symlinks and ours(path, dir_fd):
            swap(res)
        return res

    def fake_lstat(path, *args, dir_fd=None):
        res = real_lstat(path, *args, dir_fd=dir_fd)
        if ours(path, dir_fd):
            swap(res)
        return res

    monkeypatch.setattr(os, 'stat', fake_stat)
    monkeypatch.setattr(os, 'lstat', fake_lstat)
    return state


def swap_after(monkeypatch, owner, attr, action):
    """Wrap ``owner.attr`` (a function returning the discovered files) so that ``action()`` runs
    right after it returned: a swap between discovery and processing."""
    real = getattr(owner, attr)

    def wrapped(*args, **kwargs):
        out = real(*args, **kwargs)
        action()
        return out

    monkeypatch.setattr(owner, attr, wrapped)


def replace_by_fifo(path):
    os.unlink(path)
    os.mkfifo(path)


def replace_by_copy(path, data):
    """Another regular file (a new inode) in the place of ``path``."""
    tmp = path + '.new'
    with open(tmp, 'wb') as handle:
        handle.write(data)
    os.rename(tmp, path)


def user_link(target, path, uid=NOBODY):
    """A symbolic link that the unprivileged user ``uid`` owns."""
    os.symlink(target, path)
    os.lchown(path, uid, uid)


def _release(fifos):
    """Unblock a reader stuck in open() of one of the FIFOs (a writer opens and closes)."""
    for path in fifos:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as err:
            if err.errno not in (errno.ENXIO, errno.ENOENT):
                raise
            continue
        os.close(fd)


def run_bounded(func, fifos=(), timeout=20.0):
    """func() in a thread; an AssertionError when it has not returned after ``timeout`` seconds
    (a blocking open of a FIFO: the FIFOs are then opened for writing so that the thread ends)."""
    box = {}

    def work():
        try:
            box['result'] = func()
        except BaseException as err:  # pylint: disable=broad-except
            box['error'] = err

    thread = threading.Thread(target=work, name='bounded-run')
    thread.daemon = True
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        for _round in range(20):
            _release(fifos)
            thread.join(0.5)
            if not thread.is_alive():
                break
        raise AssertionError('the run did not return within %.0f s (blocked on a FIFO?)' % timeout)
    if 'error' in box:
        raise box['error']
    return box['result']
