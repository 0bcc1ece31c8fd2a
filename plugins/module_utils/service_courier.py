# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service descriptor ``courier``: the Courier mail server (courier-mta, courier-imap,
courier-authlib). Its stores (the mail queue, the userdb accounts), its record of processing
(Maildirs with IMAP_EMPTYTRASH, the queue with queuetime, the delivery track directory, userdb),
the log lines with auth debug output (courier-authlib's ``authdaemond:`` traces, DEBUG_LOGIN's
``LOGIN: ip=[``) and the debug patterns that log_redact's debug_traces mode removes. See
module_utils/service.py."""

from __future__ import annotations

import re

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.processing import days_of, fmt_days, home_dirs, record, tmpfiles_age
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.service import Descriptor
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_accounts import CourierUserdbStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_queues import CourierQueueStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.systemd_conf import parse_timespan


def shell_value(text, name):
    value = None
    for raw in (text or '').splitlines():
        match = re.match(r'^\s*(?:export\s+)?%s\s*=\s*(.*)$' % re.escape(name), raw)
        if match:
            value = match.group(1).strip().strip('"\'')
    return value


def collect_courier(host, logrotate):
    if not host.isdir('/etc/courier'):
        return None
    rows = []
    imapd = host.read('/etc/courier/imapd')
    maildir = shell_value(imapd, 'MAILDIRPATH') or 'Maildir'
    trash = shell_value(imapd, 'IMAP_EMPTYTRASH')
    if imapd is None:
        retention = 'until deleted by the user or the account is closed'
    elif trash:
        retention = 'until deleted by the user or the account is closed; IMAP_EMPTYTRASH=%s (days)' % trash
    else:
        retention = 'until deleted by the user or the account is closed; no IMAP_EMPTYTRASH: Trash kept too'
    rows.append(record(host, 'courier', 'maildirs', 'Mail messages and Courier IMAP metadata (addresses, '
                       'subjects, bodies)', '~/%s (home directories)' % maildir, retention, None,
                       '/etc/courier/imapd (MAILDIRPATH, IMAP_EMPTYTRASH)', stat_path='/home',
                       sample=home_dirs(host, maildir)))
    if host.isdir('/var/lib/courier/msgs') or host.isfile('/etc/courier/courierd'):
        raw = (host.read('/etc/courier/queuetime') or '').strip()
        seconds = parse_timespan(raw) if raw else 7 * 86400
        text = '%s (queuetime%s)' % (fmt_days(days_of(seconds)), '=' + raw if raw else ' absent: 1w default')
        rows.append(record(host, 'courier', 'mta_queue', 'Queued messages (envelope addresses, headers, bodies)',
                           '/var/lib/courier/msgs, /var/lib/courier/msgq', text, days_of(seconds),
                           '/etc/courier/queuetime', stat_path='/var/lib/courier/msgs'))
    if host.isdir('/var/lib/courier/track'):
        age, days, conf = tmpfiles_age(host, '/var/lib/courier/track')
        if age:
            text = '%s (tmpfiles.d age %s; courierd itself deletes files after about 3 hours)' % (fmt_days(days), age)
        else:
            text = 'about 3 hours while courierd runs; no tmpfiles.d rule for files it leaves behind'
        rows.append(record(host, 'courier', 'delivery_track', 'Recipient addresses and delivery status per hour',
                           '/var/lib/courier/track', text, days if age else None, conf or 'courierd (TRACK_NHOURS)'))
    for path in ('/etc/courier/userdb',):
        if host.exists(path):
            rows.append(record(host, 'courier', 'userdb', 'Accounts: addresses, home directories, password hashes',
                               path + ' (+ userdb.dat, userdbshadow.dat)',
                               'until the account is removed (userdb del, makeuserdb)', None, path,
                               stat_path=path))
    return rows, []


DESCRIPTOR = Descriptor(
    'courier',
    'Courier mail server (courier-mta, courier-imap, courier-authlib)',
    stores=((CourierQueueStore, 300), (CourierUserdbStore, 400)),
    collector=collect_courier,
    log_patterns={
        'auth_debug': (
            rb'\bauthdaemond(?:\[[0-9]+\])?: (?:received auth request|auth[a-z]+: |Authenticated: |'
            rb'authentication error|trying this module|DEBUG: )',
            rb'\bLOGIN: (?:DEBUG: )?ip=\[',
        ),
    },
    debug_patterns=(
        ('courier_debug_login', 'Courier DEBUG_LOGIN traces: LOGIN: DEBUG: / DEBUG: LOGIN: lines',
         rb'\bLOGIN: DEBUG: |\bDEBUG: LOGIN: '),
        ('courier_authdaemond', 'courier-authlib debug traces (authdaemond: ... password ..., '
         'received auth request, trying this module)',
         rb'\bauthdaemond(?:\[[0-9]+\])?: (?:[^\n]*(?i:password|passwd)|received auth request|'
         rb'auth[a-z]+: trying this module|DEBUG: )'),
    ),
)
