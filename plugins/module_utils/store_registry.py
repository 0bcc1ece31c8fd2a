# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The list of stores the subject modules iterate (module_utils/request.py runs them). Adding a
service = one adapter module and one entry in STORES; the modules never change."""

from __future__ import annotations

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_accounts import (
    CourierUserdbStore,
    QmailAssignStore,
    VpopmailStore,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_dovecot import DovecotStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_horde import HordeSqlStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_klms import KlmsBackupStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_journal import JournalStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_logs import LogStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_maildir import MaildirStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_queues import CourierQueueStore, QmailQueueStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_system_accounts import SystemAccountStore

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
