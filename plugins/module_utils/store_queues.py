# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Queued messages of a data subject: the Courier MTA queue and the qmail queue.

A queued message is the subject's when its envelope sender or one of its envelope recipients
is an address the subject owns (``Subject.owns_login``: exact, 'joann@' is not 'ann@').

* Courier (``/var/lib/courier/msgs``): control files ``C<id>`` hold the envelope (lines
  ``s<sender>``, ``r<recipient>``, ``M<message id>``), data files ``D<id>`` the message.
  Erasure goes through ``cancelmsg <message id>`` (the queue belongs to courierd); without it
  the store refuses. Note: Courier returns a cancelled message to its sender as undeliverable.
* qmail (``/var/qmail/queue``): ``mess/*/<n>`` (message), ``info/*/<n>`` (``F<sender>``),
  ``local/*/<n>`` and ``remote/*/<n>`` (``T<recipient>``, ``D<recipient>`` when done),
  ``todo``/``intd`` (whole envelopes). Files may only be removed while qmail-send is stopped:
  erasure refuses unless ``allow_stopped_queue_edit`` is true and qmail-send is not running
  (svstat, pgrep and its ``lock/sendmutex``, held during the edit); otherwise it reports a
  manual step. Removal order: the message first, the envelope files that name the subject
  last, so that a run killed half-way is completed by the next one.
"""

from __future__ import annotations

import fcntl
import os

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import (
    Store,
    StoreError,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_maildir import BundleWriter


def _dec(raw):
    return raw.decode('utf-8', 'surrogateescape')


def _owned(subject, address):
    if not address:
        return False
    try:
        return bool(subject.owns_login(address.strip('<>')))
    except (ValueError, UnicodeError):
        return False


def _regular_files(top):
    """Regular files below ``top`` (no symlinks followed), sorted."""
    out = []
    if not os.path.isdir(top) or os.path.islink(top):
        return out
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if not os.path.islink(os.path.join(dirpath, d)))
        for fname in sorted(filenames):
            path = os.path.join(dirpath, fname)
            if os.path.isfile(path) and not os.path.islink(path):
                out.append(path)
    return out


def _envelope_json(subject, sender, recipients):
    """The envelope as exported: only the subject's own addresses, others counted."""
    return {
        'sender': sender if _owned(subject, sender) else None,
        'recipients': [r for r in recipients if _owned(subject, r)],
        'other_recipients': len([r for r in recipients if not _owned(subject, r)]),
    }


# --------------------------------------------------------------------------------------
# Courier
# --------------------------------------------------------------------------------------

class CourierQueueStore(Store):
    """Messages in the Courier MTA queue whose envelope names the subject."""

    name = 'courier_queue'
    units = 'messages'
    OPTIONS = {
        'msgs_dir': '/var/lib/courier/msgs',
        'cancelmsg': 'cancelmsg',
    }

    def available(self):
        if not os.path.isdir(self.options['msgs_dir']):
            return False, 'no Courier queue directory'
        return True, ''

    @staticmethod
    def _parse(path):
        """(message id or None, sender, [recipients]) of a control file."""
        with open(path, 'rb') as fh:
            lines = fh.read().split(b'\n')
        msgid = None
        sender = ''
        recipients = []
        for raw in lines:
            if not raw:
                continue
            tag, value = raw[:1], _dec(raw[1:])
            if tag == b's':
                sender = value
            elif tag == b'r':
                recipients.append(value)
            elif tag == b'M' and msgid is None:
                msgid = value.strip()
        return msgid, sender, recipients

    def _scan(self, subject):
        """[(control path, data path, queue id, sender, recipients)] of the subject's messages."""
        root = self.options['msgs_dir']
        if os.path.islink(root):
            raise StoreError('courier_queue: the queue directory is a symbolic link; refusing')
        hits = []
        for path in _regular_files(root):
            base = os.path.basename(path)
            if not base.startswith('C') or len(base) < 2:
                continue
            try:
                msgid, sender, recipients = self._parse(path)
            except OSError:
                continue  # delivered and removed while we read
            if not (_owned(subject, sender) or any(_owned(subject, r) for r in recipients)):
                continue
            qid = msgid or base[1:]
            data = os.path.join(os.path.dirname(path), 'D' + base[1:])
            hits.append((path, data, qid, sender, recipients))
        return hits

    def locate(self, subject):
        hits = self._scan(subject)
        return self.result(found=len(hits), detail={'messages': len(hits)})

    def export(self, subject, bundle_dir):
        hits = self._scan(subject)
        writer = BundleWriter(self, bundle_dir)
        envelopes = []
        for seq, (_ctl, data, _qid, sender, recipients) in enumerate(hits, 1):
            env = _envelope_json(subject, sender, recipients)
            env['file'] = None
            if os.path.isfile(data) and not os.path.islink(data):
                name = '%04d.eml' % seq
                writer.copy_file(data, ['messages', name], kind='message')
                env['file'] = 'messages/' + name
            envelopes.append(env)
        if envelopes:
            writer.write_json(['envelopes.json'], {'store': self.name, 'messages': envelopes},
                              kind='rows', count=len(envelopes))
        return self.result(found=len(hits), detail={'messages': len(hits)}, files=writer.files)

    def erase(self, subject, check_mode):
        hits = self._scan(subject)
        found = len(hits)
        detail = {'messages': found}
        if check_mode or not hits:
            return self.result(found=found, detail=detail, erased=found if check_mode else 0)
        cancelmsg = self.runner.which(self.options['cancelmsg'])
        if not cancelmsg:
            raise StoreError('courier_queue: cancelmsg not found; refusing to edit the queue')
        erased = 0
        for _ctl, _data, qid, _sender, _recipients in hits:
            rc, _out, _err = self.runner.run([cancelmsg, qid], check=False)
            if rc != 0:
                raise StoreError('courier_queue: cancelmsg failed (exit %d) after %d of %d message(s)'
                                 % (rc, erased, found))
            erased += 1
        return self.result(found=found, detail=detail, erased=erased)


# --------------------------------------------------------------------------------------
# qmail
# --------------------------------------------------------------------------------------

QMAIL_MANUAL = ('qmail_queue: queued messages of the subject are left in place: run qmail-remove '
                '(or stop qmail-send and set store_options.qmail_queue.allow_stopped_queue_edit) '
                'and erase again')
QMAIL_ENVELOPE_DIRS = ('info', 'local', 'remote', 'todo', 'intd', 'bounce')


class QmailQueueStore(Store):
    """Messages in the qmail queue whose envelope names the subject."""

    name = 'qmail_queue'
    units = 'messages'
    OPTIONS = {
        'queue_dir': '/var/qmail/queue',
        'allow_stopped_queue_edit': False,
        'svstat': 'svstat',
        'service_dir': '/etc/service/qmail-send',
        'pgrep': 'pgrep',
    }

    def available(self):
        if not os.path.isdir(os.path.join(self.options['queue_dir'], 'mess')):
            return False, 'no qmail queue directory'
        return True, ''

    @staticmethod
    def _fields(path):
        """(sender or None, [recipients]) of an info/local/remote/todo/intd file."""
        with open(path, 'rb') as fh:
            data = fh.read()
        sender = None
        recipients = []
        for raw in data.split(b'\0'):
            if not raw:
                continue
            tag, value = raw[:1], _dec(raw[1:])
            if tag == b'F':
                sender = value
            elif tag in (b'T', b'D'):
                recipients.append(value)
        return sender, recipients

    def _messages(self):
        """{message number: {'mess': path, 'info': [paths], ...}} of the whole queue."""
        queue = self.options['queue_dir']
        if os.path.islink(queue):
            raise StoreError('qmail_queue: the queue directory is a symbolic link; refusing')
        msgs = {}
        for sub in ('mess',) + QMAIL_ENVELOPE_DIRS:
            for path in _regular_files(os.path.join(queue, sub)):
                num = os.path.basename(path)
                if not num.isdigit():
                    continue
                msgs.setdefault(num, {}).setdefault(sub, []).append(path)
        return msgs

    def _scan(self, subject):
        """[(number, files, matching envelope files, sender, recipients)], sorted by number."""
        hits = []
        for num, parts in sorted(self._messages().items(), key=lambda kv: int(kv[0])):
            sender = None
            recipients = []
            matching = []
            for sub in QMAIL_ENVELOPE_DIRS:
                if sub == 'bounce':
                    continue  # bounce files hold qmail-send's reports, not the envelope
                for path in parts.get(sub, []):
                    try:
                        fsender, frecips = self._fields(path)
                    except OSError:
                        continue
                    if fsender is not None:
                        sender = sender or fsender
                    recipients.extend(frecips)
                    if _owned(subject, fsender) or any(_owned(subject, r) for r in frecips):
                        matching.append(path)
            if matching:
                hits.append((num, parts, matching, sender or '', recipients))
        return hits

    def locate(self, subject):
        hits = self._scan(subject)
        return self.result(found=len(hits), detail={'messages': len(hits)})

    def export(self, subject, bundle_dir):
        hits = self._scan(subject)
        writer = BundleWriter(self, bundle_dir)
        envelopes = []
        for seq, (_num, parts, _matching, sender, recipients) in enumerate(hits, 1):
            env = _envelope_json(subject, sender, sorted(set(recipients)))
            env['file'] = None
            for mess in parts.get('mess', [])[:1]:
                name = '%04d.eml' % seq
                writer.copy_file(mess, ['messages', name], kind='message')
                env['file'] = 'messages/' + name
            envelopes.append(env)
        if envelopes:
            writer.write_json(['envelopes.json'], {'store': self.name, 'messages': envelopes},
                              kind='rows', count=len(envelopes))
        return self.result(found=len(hits), detail={'messages': len(hits)}, files=writer.files)

    # ------------------------------------------------------------------ erasure
    def _send_running(self):
        """True when qmail-send runs (or when that cannot be told)."""
        told = False
        svstat = self.runner.which(self.options['svstat'])
        service = self.options['service_dir']
        if svstat and service and os.path.isdir(service):
            rc, out, _err = self.runner.run([svstat, service], check=False)
            if rc == 0:
                told = True
                if b': up' in out:
                    return True
        pgrep = self.runner.which(self.options['pgrep'])
        if pgrep:
            rc, _out, _err = self.runner.run([pgrep, '-x', 'qmail-send'], check=False)
            if rc == 0:
                return True
            if rc == 1:
                told = True
        return not told

    def _sendmutex(self):
        """An fd holding qmail-send's lock/sendmutex (qmail-send cannot start while it is
        held), None when the queue has none; StoreError when qmail-send holds it."""
        path = os.path.join(self.options['queue_dir'], 'lock', 'sendmutex')
        if not os.path.isfile(path) or os.path.islink(path):
            return None
        fd = os.open(path, os.O_WRONLY | getattr(os, 'O_NOFOLLOW', 0))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StoreError('qmail_queue: qmail-send holds the queue lock; refusing')
        return fd

    def erase(self, subject, check_mode):
        hits = self._scan(subject)
        found = len(hits)
        detail = {'messages': found}
        if check_mode or not hits:
            manual = [QMAIL_MANUAL] if hits and not self.options['allow_stopped_queue_edit'] else []
            return self.result(found=found, detail=detail, erased=found if check_mode else 0,
                               manual_steps=manual)
        if not self.options['allow_stopped_queue_edit'] or self._send_running():
            return self.result(found=found, detail=detail, erased=0, manual_steps=[QMAIL_MANUAL])
        fd = self._sendmutex()
        try:
            hits = self._scan(subject)
            erased = 0
            for _num, parts, matching, _sender, _recipients in hits:
                # the message first, the envelope files that name the subject last: a run
                # killed in between still finds the message by its envelope
                order = list(parts.get('mess', []))
                others = [p for sub in QMAIL_ENVELOPE_DIRS for p in parts.get(sub, [])]
                order += [p for p in others if p not in matching] + list(matching)
                for path in order:
                    try:
                        os.unlink(path)
                    except FileNotFoundError:
                        pass
                erased += 1
        finally:
            if fd is not None:
                os.close(fd)
        return self.result(found=len(hits), detail={'messages': len(hits)}, erased=erased)
