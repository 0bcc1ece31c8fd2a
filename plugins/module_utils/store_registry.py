# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The list of stores the subject modules iterate. Adding a service = one adapter module and
one entry in STORES; the modules never change."""

from __future__ import annotations

import re

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_accounts import (
    CourierUserdbStore,
    QmailAssignStore,
    VpopmailStore,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_dovecot import DovecotStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_horde import HordeSqlStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_klms import KlmsBackupStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_logs import JournalStore, LogStore
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
    stores=dict(type='list', elements='str', default=[]),
    store_options=dict(type='dict', default={}),
    hmac_key=dict(type='str', required=True, no_log=True),
    request_id=dict(type='str'),
)


def prepare_request(params):
    """(subject, subject_hmac, store classes, context) from module parameters.

    Raises SubjectError (invalid identifier) or StoreError (unknown store, bad options,
    bad request id) before anything is touched; the messages hold no identifier."""
    subject = Subject.from_params(addresses=params.get('addresses') or [], logins=params.get('logins') or [],
                                  ips=params.get('ips') or [], domain=params.get('domain'),
                                  plus_separator=params.get('plus_separator', '+'))
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
    return subject, subject_hmac, classes, context


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
