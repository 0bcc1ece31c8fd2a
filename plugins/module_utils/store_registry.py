# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The list of stores the subject modules iterate. Adding a service = one adapter module and
one entry in STORES; the modules never change."""

from __future__ import annotations

import errno
import os
import re
import stat

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_accounts import (
    CourierUserdbStore,
    QmailAssignStore,
    VpopmailStore,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import (
    Runner,
    Store,
    StoreError,
    safe_error,
    store_options_for,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_dovecot import DovecotStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_horde import HordeSqlStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_klms import KlmsBackupStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_journal import JournalStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_logs import LogStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_maildir import MaildirStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_queues import CourierQueueStore, QmailQueueStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_system_accounts import SystemAccountStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject

# Order matters for erasure: mailboxes (Dovecot before plain Maildir, so that doveadm can kick
# sessions and expunge through its indexes) before the account databases that point at them;
# logs last, so that the lines the other stores' commands leave are redacted too.
STORES = [
    DovecotStore,
    MaildirStore,
    CourierQueueStore,
    QmailQueueStore,
    CourierUserdbStore,
    QmailAssignStore,
    VpopmailStore,
    SystemAccountStore,
    HordeSqlStore,
    KlmsBackupStore,
    LogStore,
    JournalStore,
]


def store_names():
    return [cls.name for cls in STORES]


def get_stores(names=None):
    """The store classes, all of them or those named (in the order given). Unknown names
    raise StoreError; duplicates are dropped."""
    by_name = dict((cls.name, cls) for cls in STORES)
    if names is None:
        return list(STORES)
    out = []
    for name in names:
        if name not in by_name:
            raise StoreError('unknown store %r; known stores: %s' % (str(name)[:40], ', '.join(sorted(by_name))))
        if by_name[name] not in out:
            out.append(by_name[name])
    return out


# ------------------------------------------------------------------------------ module helpers
# shared by subject_find, subject_export (and the erasure modules of issue 6)
REQUEST_ID_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$')

SUBJECT_ARGUMENT_SPEC = dict(
    addresses=dict(type='list', elements='str', default=[], no_log=True),
    logins=dict(type='list', elements='str', default=[], no_log=True),
    ips=dict(type='list', elements='str', default=[], no_log=True),
    domain=dict(type='str', no_log=True),
    plus_separator=dict(type='str', default='+', choices=['+', '-', '=', '']),
    local_part_case=dict(type='str', default='insensitive', choices=['insensitive', 'sensitive']),
    stores=dict(type='list', elements='str', default=[]),
    store_options=dict(type='dict', default={}),
    hmac_key=dict(type='str', required=True, no_log=True),
    request_id=dict(type='str'),
)


QMAIL_CONTROL_DIR = '/var/qmail/control'
MAX_CONTROL_FILE = 4 * 1024 * 1024


def _read_control_file(control_dir, name):
    """The lines of one qmail control file, or None when it does not exist. Refuses (StoreError,
    no path or content in the message) a file that is not a regular file, is too big or cannot
    be read. Opened once, non-blocking (a FIFO planted there cannot hang the request)."""
    path = os.path.join(control_dir, name)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_CLOEXEC', 0) | getattr(os, 'O_NONBLOCK', 0)
                     | getattr(os, 'O_NOCTTY', 0))
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise StoreError('cannot read the qmail control file %s (%s)' % (name, errno.errorcode.get(err.errno, err.errno)))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise StoreError('the qmail control file %s is not a regular file' % name)
        if info.st_size > MAX_CONTROL_FILE:
            raise StoreError('the qmail control file %s is larger than %d bytes' % (name, MAX_CONTROL_FILE))
        chunks = []
        total = 0
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
            total += len(data)
            if total > MAX_CONTROL_FILE:
                raise StoreError('the qmail control file %s is larger than %d bytes' % (name, MAX_CONTROL_FILE))
            chunks.append(data)
    except OSError as err:
        raise StoreError('cannot read the qmail control file %s (%s)' % (name, errno.errorcode.get(err.errno, err.errno)))
    finally:
        os.close(fd)
    return b''.join(chunks).decode('utf-8', 'replace').splitlines()


def read_qmail_control(control_dir=None):
    """{'virtualdomains': lines or None, 'locals': lines or None} of a qmail host (for the
    virtual-domain delivery names qmail-send logs, ``<prefix>-<local>@<domain>``; see
    Subject.from_params). Without ``control/virtualdomains`` nothing is read and nothing
    changes. ``locals`` (or, without it, ``me``, qmail's default) lists the domains for which
    virtualdomains does not apply. ``control_dir`` defaults to QMAIL_CONTROL_DIR (tests
    point it elsewhere)."""
    control_dir = control_dir or QMAIL_CONTROL_DIR
    vdoms = _read_control_file(control_dir, 'virtualdomains')
    if vdoms is None:
        return {'virtualdomains': None, 'locals': None}
    local_domains = _read_control_file(control_dir, 'locals')
    if local_domains is None:
        local_domains = _read_control_file(control_dir, 'me') or []
    return {'virtualdomains': vdoms, 'locals': local_domains}


def prepare_request(params, qmail_control_dir=None):
    """(subject, subject_hmac, store classes, context) from module parameters.

    Raises SubjectError (invalid identifier) or StoreError (unknown store, bad options,
    bad request id, or an account that extends the subject's names with the plus separator:
    check_extended_accounts) before anything is touched; the messages hold no identifier.
    The one place where subject_find, subject_export and subject_erase (check mode too)
    validate a request."""
    qmail = read_qmail_control(qmail_control_dir)
    subject = Subject.from_params(addresses=params.get('addresses') or [], logins=params.get('logins') or [],
                                  ips=params.get('ips') or [], domain=params.get('domain'),
                                  plus_separator=params.get('plus_separator', '+'),
                                  local_part_case=params.get('local_part_case') or 'insensitive',
                                  qmail_virtualdomains=qmail['virtualdomains'], qmail_locals=qmail['locals'])
    subject_hmac = subject.hmac(params.get('hmac_key') or '')
    request_id = params.get('request_id')
    if request_id is not None and not REQUEST_ID_RE.match(request_id):
        raise StoreError('request_id must be 1 to 64 letters, digits, dots, underscores or dashes')
    classes = get_stores(params.get('stores') or None)
    store_options = params.get('store_options') or {}
    if not isinstance(store_options, dict):
        raise StoreError('store_options must be a dictionary')
    unknown = sorted(set(store_options) - set(store_names()))
    if unknown:
        raise StoreError('store_options names unknown stores: %s' % ', '.join(str(n)[:40] for n in unknown))
    for name, opts in store_options.items():
        if opts is not None and not isinstance(opts, dict):
            raise StoreError('store_options.%s must be a dictionary' % name)
    context = {'subject_hmac': subject_hmac}
    if request_id:
        context['request_id'] = request_id
    check_extended_accounts(subject, classes, store_options, context)
    return subject, subject_hmac, classes, context


EXTENDED_WHAT = 'an account whose name extends an address or login of the subject with the plus separator'
EXTENDED_WHAT_TO_DO = ("run the request with plus_separator '' (tags then do not count as the subject's: name the "
                       "subject's own tagged addresses in addresses); nothing was touched")


def check_extended_accounts(subject, classes, store_options=None, context=None, runner=None):
    """Refuse the request (StoreError) while an account on this host has a name that extends
    one of the subject's addresses or logins with the plus separator (``ann-marie@`` for
    ``ann@`` with ``-``, ``ann+work@`` with ``+``): with the separator set, that account's
    mail, queued messages and log lines carry what reads as a tag of the subject's address,
    so a search would count them, an export would hand them to the subject and an erasure
    would remove them.

    Asked (``Store.extended_accounts``, read-only): every available store of the request,
    then every other store of the registry that knows accounts, with the request's store
    options: the accounts of the host matter even when the request reads only the logs. A
    store of the request that cannot answer refuses the request too (nothing can be ruled
    out); another store that cannot answer (left out of the request, typically because it
    is broken) is skipped. Stores without accounts are not even opened. Nothing is asked
    without a separator. Messages name stores and counts, never an account. Returns
    {store name: count} (all zero when it returns)."""
    if not subject.plus_separator:
        return {}
    runner = runner if runner is not None else Runner()
    selected = set(cls.name for cls in classes)
    candidates = list(classes) + [cls for cls in STORES if cls.name not in selected]
    counts = {}
    problems = []
    for cls in candidates:
        if getattr(cls, 'extended_accounts', None) is Store.extended_accounts:
            continue
        try:
            store = cls(store_options_for(cls, store_options, context), runner)
            ok, _reason = store.available()
            if not ok:
                continue
            counts[cls.name] = int(store.extended_accounts(subject) or 0)
        except Exception as err:  # pylint: disable=broad-except
            if cls.name in selected:
                problems.append('%s (%s)' % (cls.name, safe_error(err)))
    found = dict((name, n) for name, n in counts.items() if n)
    if found:
        raise StoreError('refusing: %s exists on this host (%d account(s) in store(s) %s): its mail and log lines '
                         "would be taken for the subject's; %s" % (
                             EXTENDED_WHAT, sum(found.values()), ', '.join(sorted(found)), EXTENDED_WHAT_TO_DO))
    if problems:
        raise StoreError('refusing: cannot tell whether %s exists on this host (store(s) %s); %s' % (
            EXTENDED_WHAT, '; '.join(problems), EXTENDED_WHAT_TO_DO))
    return counts


def summarise(subject, subject_hmac, results, failed):
    """The module result common to the subject modules: counts only, never identifiers."""
    return dict(
        subject_hmac=subject_hmac,
        kind=subject.kind,
        identifiers=dict(addresses=len(subject.addresses), logins=len(subject.logins),
                         ips=len(subject.ips), domain=1 if subject.domain else 0),
        found=sum(int(r.get('found') or 0) for r in results.values()),
        stores=results,
        failed_stores=list(failed),
    )


def failure_message(verb, results, failed):
    """'the <verb> failed in store(s): name (why); ...' (store errors hold no PII)."""
    return 'the %s failed in store(s): %s' % (verb, '; '.join(
        '%s (%s)' % (name, results.get(name, {}).get('error', 'failed')) for name in failed))
