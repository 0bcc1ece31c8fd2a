# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Queued messages of a data subject: the Courier MTA queue and the qmail queue.

A queued message is the subject's when its envelope sender or one of its envelope recipients
is an address or login of the subject (``Subject.owns_login``): envelope addresses are queue
keys and compare exactly, as account keys do ('joann@' is not 'ann@'; the domain in any IDNA
form and letter case, the local part without letter case unless the subject is
case-sensitive). Never by a plus tag, whatever the separator: ``ann+work@`` or ``ann-marie@``
may be another person's account (qmail itself delivers ``ann-marie@`` to a user of that name
when there is one, and only otherwise to ann with the extension ``marie``), and this store
cannot see every account of the host. A message queued for one of the subject's own tagged
addresses is found when that address is named in ``addresses``. (The separator applies only to
recipient tags in log lines and mail headers, where the request flow refuses while an account
with such a name exists: ``request.check_extended_accounts``.)

A message that also goes to other people is their mail too: erasure never deletes it for them.

* Courier (``/var/lib/courier/msgs``): control files ``C<id>`` hold the envelope (lines
  ``s<sender>``, ``r<recipient>``, ``M<message id>``), data files ``D<id>`` the message.
  Erasure goes through ``cancelmsg <message id>`` (the queue belongs to courierd; without it
  the store refuses), only for a message whose every recipient is the subject's: cancelmsg
  cancels a message for all its recipients and returns it to its sender as undeliverable.
  A message that also goes to someone else is left in the queue with a manual step (counts
  only); its envelope still names the subject, so the count after the erasure (and the proof
  search) still finds it until it is delivered.
* qmail (``/var/qmail/queue``, read qmail's INTERNALS): ``mess/*/<n>`` (message),
  ``info/*/<n>`` (``F<sender>``), ``local/*/<n>`` and ``remote/*/<n>`` (``T<recipient>``,
  ``D<recipient>`` once done; local recipients of a virtual domain appear as qmail-send
  rewrote them, ``PREFIX-local@domain`` from ``control/virtualdomains``), ``todo/<n>`` and
  ``intd/<n>`` (the whole envelope ``u``, ``p``, ``F``, ``T`` records, two links of one file
  until qmail-send preprocesses the message). Records end with a NUL byte. Files may only be
  changed while qmail-send is stopped (it keeps positions into local/remote files to mark
  recipients done): erasure refuses unless ``allow_stopped_queue_edit`` is true and
  qmail-send is not running (svstat, pgrep), and holds ``lock/sendmutex`` during the edit;
  otherwise it reports a manual step.

  - A message whose envelope names no recipient other than the subject's (also one the
    subject sent to itself) is removed: the message first, the envelope files that name the
    subject last, so that a run killed half-way still finds it by its envelope.
  - A message that also goes to others (pending or done) is kept: the subject's ``T``/``D``
    records are removed from every envelope file (todo, intd, local, remote), each file
    rewritten atomically in its own directory (temporary file, fsync, rename; owner, group,
    mode and times kept); a local/remote file left without records is removed after the
    rewrites. A kill leaves each file either old or new: the next run finds the old ones by
    the subject's records and finishes them (and removes the temporary files a kill left).
    A manual step says how many were kept: their headers and body may still name the subject
    until qmail-send delivers them.
  - A message the subject sent to others is the recipients' mail: kept as above (only the
    subject's own recipient records go); its sender stays in ``info``, so the count after
    the erasure still finds it, with a manual step.
  - A message still being queued (``intd`` without ``todo``: qmail-queue has not finished
    writing the envelope) that names someone else is never edited (qmail-queue may still
    write to that file): left with a manual step; one that names only the subject is removed
    as before (qmail-queue then fails and the client retries).

The queues belong to service users (``qmailq``, ``daemon``), so queue files are listed from
directory handles (no link followed), read from the handle that was checked (a FIFO or a link
swapped in is skipped without blocking, like a message delivered meanwhile), copied into a
bundle from a handle, and removed by name relative to a handle of their directory (a queue
directory swapped for a link a user controls is refused, never followed).
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fileutil
from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fsops
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import (
    Option,
    Store,
    StoreError,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_maildir import BundleWriter


def _dec(raw):
    return raw.decode('utf-8', 'surrogateescape')


def _owned(subject, address):
    """Whether an envelope address is the subject's: exactly one of its addresses or logins
    (a queue key, never a plus tag)."""
    if not address:
        return False
    try:
        return bool(subject.owns_login(address.strip('<>')))
    except (ValueError, UnicodeError):
        return False


def _regular_files(top):
    """Regular files below ``top``, listed from directory handles (:func:`fsops.walk`: the
    directory opened with the trusted-path rules, no link below it followed; a file is
    regular by its lstat), sorted. A queue directory that is missing or passes through a
    link a user controls has none."""
    out = []
    try:
        handle = fsops.Dir.open(os.path.abspath(top))
    except OSError:
        return out
    with handle:
        for relparts, _dir, entries in fsops.walk(handle):
            for name, st in entries:
                if stat.S_ISREG(st.st_mode):
                    out.append(os.path.join(top, *(relparts + (name,))))
    return out


def _read_file(path):
    """The bytes of the queue file ``path``, read from the handle that was checked
    (:func:`fsops.open_path`: no link followed, a FIFO swapped in is refused without
    blocking). OSError (FileNotFoundError, fsops.FsError) when it is gone or not a regular
    file: the caller skips it, as a message delivered while it was read."""
    return fsops.read_file(os.path.abspath(path))


def _unlink(path):
    """Remove the queue file ``path`` by its name relative to a handle of its directory (the
    directory opened with the trusted-path rules: a queue directory swapped for a link is
    refused, never followed); a missing file is no error."""
    directory, name = os.path.split(path)
    try:
        handle = fsops.Dir.open(os.path.abspath(directory))
    except fsops.FsError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return
        raise StoreError('queue: a queue directory passes through a symbolic link; refusing')
    except FileNotFoundError:
        return
    with handle:
        if handle.lstat(name) is None:
            return
        try:
            os.unlink(name, dir_fd=handle.fd)
        except FileNotFoundError:
            pass


def _copy_message(writer, path, relparts):
    """Copy a queued message into the bundle from a handle (``BundleWriter.copy_file``);
    False when it was delivered meanwhile or is no longer a regular file (a link or a FIFO
    swapped in)."""
    try:
        writer.copy_file(path, relparts, kind='message')
    except FileNotFoundError:
        return False
    except fsops.FsError:
        return False
    return True


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
    """Messages in the Courier MTA queue whose envelope names the subject; only those whose
    every recipient is the subject's are cancelled."""

    name = 'courier_queue'
    units = 'messages'
    OPTIONS = {
        'msgs_dir': Option('/var/lib/courier/msgs', 'str', "Courier's queue directory (the store is available when it "
                           'exists).'),
        'cancelmsg': Option('cancelmsg', 'str', 'The C(cancelmsg) command, through which the erasure cancels the '
                            "messages that go to the subject alone."),
    }

    def available(self):
        if not os.path.isdir(self.options['msgs_dir']):
            return False, 'no Courier queue directory'
        return True, ''

    @staticmethod
    def _parse(path):
        """(message id or None, sender, [recipients]) of a control file."""
        lines = _read_file(path).split(b'\n')
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
            name = '%04d.eml' % seq
            if _copy_message(writer, data, ['messages', name]):
                env['file'] = 'messages/' + name
            envelopes.append(env)
        if envelopes:
            writer.write_json(['envelopes.json'], {'store': self.name, 'messages': envelopes},
                              kind='rows', count=len(envelopes))
        return self.result(found=len(hits), detail={'messages': len(hits)}, files=writer.files)

    @staticmethod
    def _shared(subject, sender, recipients):
        """Whether the message also goes to someone other than the subject."""
        return any(not _owned(subject, r) for r in recipients)

    @staticmethod
    def _manual(kept, sent):
        if not kept:
            return []
        return ['courier_queue: %d queued message(s) of the subject also go to other recipients (%d of them sent by '
                'the subject) and were not cancelled: cancelmsg would cancel them for every recipient and return '
                'them to their senders. They leave the queue when delivered (or after queuetime); until then their '
                'envelopes name the subject and the count after the erasure still finds them. Cancel them by hand '
                'only when the other recipients may lose them.' % (kept, sent)]

    def erase(self, subject, check_mode):
        hits = self._scan(subject)
        found = len(hits)
        cancel = [h for h in hits if not self._shared(subject, h[3], h[4])]
        kept = [h for h in hits if self._shared(subject, h[3], h[4])]
        sent = len([h for h in kept if _owned(subject, h[3])])
        detail = {'messages': found}
        if kept:
            detail['kept_shared'] = len(kept)
        manual = self._manual(len(kept), sent)
        if check_mode or not cancel:
            return self.result(found=found, detail=detail, erased=len(cancel) if check_mode else 0,
                               manual_steps=manual)
        cancelmsg = self.runner.which(self.options['cancelmsg'])
        if not cancelmsg:
            raise StoreError('courier_queue: cancelmsg not found; refusing to edit the queue')
        erased = 0
        for _ctl, _data, qid, _sender, _recipients in cancel:
            rc, _out, _err = self.runner.run([cancelmsg, qid], check=False)
            if rc != 0:
                raise StoreError('courier_queue: cancelmsg failed (exit %d) after %d of %d message(s)'
                                 % (rc, erased, len(cancel)))
            erased += 1
        return self.result(found=found, detail=detail, erased=erased, manual_steps=manual)


# --------------------------------------------------------------------------------------
# qmail
# --------------------------------------------------------------------------------------

QMAIL_MANUAL = ('qmail_queue: queued messages of the subject are left in place: stop qmail-send, set '
                'store_options.qmail_queue.allow_stopped_queue_edit and erase again (qmail-remove would also '
                'remove the messages that go to other recipients as well)')
QMAIL_ENVELOPE_DIRS = ('info', 'local', 'remote', 'todo', 'intd', 'bounce')
# the envelope files that hold recipient records (T, D), and the order they are read in
QMAIL_RECIPIENT_DIRS = ('todo', 'intd', 'local', 'remote')
_RECIPIENT_TAGS = (b'T', b'D')


def _records(data):
    """The NUL-terminated records of a qmail envelope file as (tag, value, raw) with ``raw``
    the record's bytes including its NUL (a last record without one is kept as it is)."""
    out = []
    pos = 0
    while pos < len(data):
        end = data.find(b'\0', pos)
        if end < 0:
            raw, pos = data[pos:], len(data)
            value = raw[1:]
        else:
            raw, pos = data[pos:end + 1], end + 1
            value = raw[1:-1]
        out.append((raw[:1], value, raw))
    return out


class _QueuedMessage(object):
    """One qmail message of the subject: its files, the envelope files with their records and
    the indexes of the records that name the subject."""

    __slots__ = ('num', 'parts', 'files', 'sender', 'recipients', 'others', 'sent', 'queuing')

    def __init__(self, num, parts):
        self.num = num
        self.parts = parts
        self.files = []         # [(sub, path, records, [indexes of the subject's records])]
        self.sender = None
        self.recipients = []    # every recipient as the subject knows it (virtual prefix removed)
        self.others = set()     # recipients that are not the subject's (folded)
        self.sent = False       # the envelope sender is the subject
        self.queuing = 'intd' in parts and 'todo' not in parts

    @property
    def matching(self):
        return [path for _sub, path, _recs, mine in self.files if mine]


class QmailQueueStore(Store):
    """Messages in the qmail queue whose envelope names the subject; a message that also goes
    to others keeps them (only the subject's recipient records go)."""

    name = 'qmail_queue'
    units = 'messages'
    OPTIONS = {
        'queue_dir': Option('/var/qmail/queue', 'str', "qmail's queue directory (the store is available when it "
                            'holds C(mess/)).'),
        # control/locals and control/virtualdomains: '' is <queue_dir>/../control
        'control_dir': Option('', 'str', "qmail's C(control) directory (C(locals), C(virtualdomains)); empty: "
                              'C(control) beside the queue directory.'),
        'allow_stopped_queue_edit': Option(False, 'bool', 'Let the erasure edit the queue while qmail-send is stopped '
                                           '(checked with C(svstat) and C(pgrep), C(lock/sendmutex) held); otherwise '
                                           'it reports a manual step.'),
        'svstat': Option('svstat', 'str', "The C(svstat) command (daemontools), asked whether qmail-send's service "
                         'is up.'),
        'service_dir': Option('/etc/service/qmail-send', 'str', "qmail-send's daemontools service directory."),
        'pgrep': Option('pgrep', 'str', 'The C(pgrep) command, asked whether a qmail-send process runs.'),
    }

    def available(self):
        if not os.path.isdir(os.path.join(self.options['queue_dir'], 'mess')):
            return False, 'no qmail queue directory'
        return True, ''

    # ------------------------------------------------------------------ reading
    def _control(self, name):
        directory = self.options['control_dir'] or os.path.join(
            os.path.dirname(os.path.normpath(self.options['queue_dir'])), 'control')
        try:
            return [_dec(line).strip() for line in _read_file(os.path.join(directory, name)).splitlines()]
        except OSError:
            return []

    def _virtual(self):
        """(local domains, {virtualdomains key: prefix}) with keys lower-cased, as qmail-send
        looks them up (constmap compares without letter case)."""
        locals_ = set(d.lower() for d in self._control('locals') if d)
        virtual = {}
        for line in self._control('virtualdomains'):
            if ':' in line and not line.startswith('#'):
                key, _c, prefix = line.partition(':')
                virtual.setdefault(key.lower(), prefix)
        return locals_, virtual

    @staticmethod
    def _unrewrite(address, virtual):
        """The address a local recipient had before qmail-send's rewrite() put a
        virtualdomains prefix on it (``PREFIX-ann@example.org`` -> ``ann@example.org``), or
        None when no rule of ``control/virtualdomains`` applies."""
        locals_, vdoms = virtual
        local, at, dom = address.rpartition('@')
        if not at or not local:
            return None
        ldom = dom.lower()
        if ldom in locals_:
            return None
        for key, prefix in vdoms.items():
            # a rule for one whole address: PREFIX-local@domain
            if '@' in key and prefix and key.rpartition('@')[2] == ldom and \
                    local.lower() == ('%s-%s' % (prefix, key.rpartition('@')[0])).lower():
                return '%s@%s' % (local[len(prefix) + 1:], dom)
        keys = [ldom] + [ldom[i:] for i in range(len(ldom)) if ldom[i] == '.'] + ['']
        for key in keys:
            if key in vdoms:
                prefix = vdoms[key]
                if prefix and local.lower().startswith(prefix.lower() + '-'):
                    return '%s@%s' % (local[len(prefix) + 1:], dom)
                return None
        return None

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
        """[_QueuedMessage] of the messages whose envelope names the subject, by number."""
        virtual = self._virtual()
        hits = []
        for num, parts in sorted(self._messages().items(), key=lambda kv: int(kv[0])):
            msg = _QueuedMessage(num, parts)
            for sub in ('info',) + QMAIL_RECIPIENT_DIRS:
                for path in parts.get(sub, []):
                    try:
                        records = _records(_read_file(path))
                    except OSError:
                        continue    # delivered and removed while we read (or not a regular file)
                    mine = []
                    for idx, (tag, value, _raw) in enumerate(records):
                        text = _dec(value)
                        if tag == b'F':
                            msg.sender = text if msg.sender is None else msg.sender
                            if _owned(subject, text):
                                msg.sent = True
                                mine.append(idx)
                        elif tag in _RECIPIENT_TAGS and sub != 'info':
                            orig = self._unrewrite(text, virtual) if sub == 'local' else None
                            shown = orig or text
                            msg.recipients.append(shown)
                            if _owned(subject, text) or (orig and _owned(subject, orig)):
                                mine.append(idx)
                            else:
                                msg.others.add(shown.lower())
                    msg.files.append((sub, path, records, mine))
            if msg.matching:
                hits.append(msg)
        return hits

    def locate(self, subject):
        hits = self._scan(subject)
        return self.result(found=len(hits), detail={'messages': len(hits)})

    def export(self, subject, bundle_dir):
        hits = self._scan(subject)
        writer = BundleWriter(self, bundle_dir)
        envelopes = []
        for seq, msg in enumerate(hits, 1):
            env = _envelope_json(subject, msg.sender or '', sorted(set(msg.recipients)))
            env['file'] = None
            for mess in msg.parts.get('mess', [])[:1]:
                name = '%04d.eml' % seq
                if _copy_message(writer, mess, ['messages', name]):
                    env['file'] = 'messages/' + name
            envelopes.append(env)
        if envelopes:
            writer.write_json(['envelopes.json'], {'store': self.name, 'messages': envelopes},
                              kind='rows', count=len(envelopes))
        return self.result(found=len(hits), detail={'messages': len(hits)}, files=writer.files)

    # ------------------------------------------------------------------ erasure
    @staticmethod
    def _plan(hits):
        """(remove whole, rewrite without the subject's recipients, leave while queuing)."""
        remove = [m for m in hits if not m.others]
        queuing = [m for m in hits if m.others and m.queuing]
        rewrite = [m for m in hits if m.others and not m.queuing]
        return remove, rewrite, queuing

    @staticmethod
    def _outcome(found, remove, rewrite, queuing):
        """(erased, detail, manual steps) of a plan: a message counts as erased when its
        envelope no longer names the subject afterwards."""
        sent = [m for m in rewrite if m.sent]
        detail = {'messages': found}
        if remove:
            detail['removed'] = len(remove)
        if rewrite:
            detail['kept_shared'] = len(rewrite)
        if sent:
            detail['kept_sent_by_subject'] = len(sent)
        if queuing:
            detail['kept_being_queued'] = len(queuing)
        manual = []
        if rewrite:
            manual.append('qmail_queue: %d queued message(s) also go to other recipients and were kept for them '
                          '(the subject\'s recipients were removed from their envelopes); their headers and body '
                          'may still name the subject until qmail-send delivers or bounces them '
                          '(control/queuelifetime)' % len(rewrite))
        if sent:
            manual.append('qmail_queue: %d of them were sent by the subject: they are the recipients\' mail and stay '
                          'queued with the subject as their sender (the count after the erasure still finds them) '
                          'until delivered; remove them by hand only when the recipients may lose them' % len(sent))
        if queuing:
            manual.append('qmail_queue: %d message(s) naming the subject and others were still being queued '
                          '(qmail-queue had not finished their envelope) and were left untouched: erase again'
                          % len(queuing))
        erased = len(remove) + len([m for m in rewrite if not m.sent])
        return erased, detail, manual

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
        try:
            # a handle, never through a link, never blocking on a FIFO put in its place
            fd, _st = fsops.open_path(os.path.abspath(path), os.O_WRONLY)
        except FileNotFoundError:
            return None
        except fsops.FsError as err:
            if err.errno in (errno.ENOENT, errno.ENOTDIR):
                return None
            raise StoreError('qmail_queue: lock/sendmutex is a symbolic link or not a regular file; refusing')
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StoreError('qmail_queue: qmail-send holds the queue lock; refusing')
        return fd

    def _remove_stale_temps(self):
        """Temporary files of a rewrite a kill interrupted (never read by qmail: their names
        are not numbers)."""
        for sub in QMAIL_RECIPIENT_DIRS:
            top = os.path.join(self.options['queue_dir'], sub)
            if not os.path.isdir(top) or os.path.islink(top):
                continue
            for dirpath, dirnames, _files in os.walk(top):
                dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
                fileutil.remove_stale_temps(dirpath)

    @staticmethod
    def _remove_message(msg):
        # the message first, the envelope files that name the subject last: a run killed in
        # between still finds the message by its envelope
        matching = msg.matching
        order = list(msg.parts.get('mess', []))
        others = [p for sub in QMAIL_ENVELOPE_DIRS for p in msg.parts.get(sub, [])]
        order += [p for p in others if p not in matching] + list(matching)
        for path in order:
            _unlink(path)

    @staticmethod
    def _remove_recipients(msg):
        """Rewrite every envelope file without the subject's recipient records (each one
        atomically, owner, group, mode and times kept); a local/remote file left without
        recipients is removed after all rewrites. Sender records stay."""
        emptied = []
        for sub, path, records, mine in msg.files:
            drop = set(i for i in mine if records[i][0] in _RECIPIENT_TAGS)
            if sub not in QMAIL_RECIPIENT_DIRS or not drop:
                continue
            keep = [raw for i, (_tag, _value, raw) in enumerate(records) if i not in drop]
            if sub in ('local', 'remote') and not any(r[:1] in _RECIPIENT_TAGS for r in keep):
                emptied.append(path)
                continue
            fileutil.atomic_write(path, keep)
        for path in emptied:
            _unlink(path)

    def erase(self, subject, check_mode):
        hits = self._scan(subject)
        found = len(hits)
        erased, detail, manual = self._outcome(found, *self._plan(hits))
        allowed = self.options['allow_stopped_queue_edit']
        if check_mode or not hits:
            return self.result(found=found, detail=detail, erased=erased if check_mode else 0,
                               manual_steps=([QMAIL_MANUAL] if hits and not allowed else []) + (manual if hits else []))
        if not allowed or self._send_running():
            return self.result(found=found, detail={'messages': found}, erased=0, manual_steps=[QMAIL_MANUAL])
        fd = self._sendmutex()
        try:
            self._remove_stale_temps()
            hits = self._scan(subject)
            remove, rewrite, queuing = self._plan(hits)
            erased, detail, manual = self._outcome(len(hits), remove, rewrite, queuing)
            for msg in remove:
                self._remove_message(msg)
            for msg in rewrite:
                self._remove_recipients(msg)
        finally:
            if fd is not None:
                os.close(fd)
        return self.result(found=len(hits), detail=detail, erased=erased, manual_steps=manual)
