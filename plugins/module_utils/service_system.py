# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service descriptor ``system``: what a mail host keeps as an operating system, whichever mail
service runs on it: the mailboxes in Maildir format under the users' homes or a virtual mail
tree (any server that delivers to Maildirs: Courier, qmail, Dovecot) and the system accounts
(/etc/passwd, /etc/shadow; off unless ``store_options.system_accounts.enabled``). No record of
processing of its own (the mail services' collectors describe their Maildirs) and no log
patterns. See module_utils/service.py."""

from __future__ import annotations

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.service import Descriptor
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_maildir import MaildirStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_system_accounts import SystemAccountStore

DESCRIPTOR = Descriptor(
    'system',
    'The operating system: Maildir mailboxes and system accounts',
    stores=((MaildirStore, 200), (SystemAccountStore, 450)),
)
