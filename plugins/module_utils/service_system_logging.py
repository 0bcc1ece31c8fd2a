# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service descriptor ``system_logging``: the host's logs, the syslog files (rsyslog) and the
systemd journal: their stores (the log files and the journal, erased last so that the lines
other stores' commands leave go too), and their record of processing (journald's retention and
storage as systemd reads them, rsyslog's file rules with logrotate's retention). The patterns of
no particular service (``user=`` and ``password=`` fields, SMTP ``AUTH`` payloads) are the log
engine's own (pii_patterns, log_redact.DEBUG_PATTERNS). See module_utils/service.py."""

from __future__ import annotations

import os
import re

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.processing import LOG_DATA, days_of, fmt_days, record
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.service import Descriptor
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_journal import JournalStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_logs import LogStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.systemd_conf import INFINITY, journald_config

JOURNAL_STORAGE = ('volatile', 'persistent', 'auto', 'none')


def collect_journal(host, logrotate):
    if not (host.exists('/lib/systemd/systemd-journald') or host.exists('/usr/lib/systemd/systemd-journald')
            or host.isdir('/var/log/journal') or host.isdir('/run/log/journal')):
        return []
    # the journal store's erasure step reads the same settings (store_journal_retention)
    config = journald_config(host.root, host.run)
    storage = config.value('Storage', valid=lambda value: value in JOURNAL_STORAGE) or 'auto'
    persistent = storage == 'persistent' or (storage == 'auto' and host.isdir('/var/log/journal'))
    location = '/var/log/journal' if persistent else '/run/log/journal'
    seconds, text, source = config.timespan('MaxRetentionSec')
    limit_key = 'SystemMaxUse' if persistent else 'RuntimeMaxUse'
    limit, limit_source = config.get(limit_key)
    size_text = 'at most %s (%s)' % (limit, limit_key) if limit else \
        'at most 10% of the file system (journald default)'
    if seconds and seconds != INFINITY:
        days = days_of(seconds)
        retention = '%s (MaxRetentionSec=%s); %s' % (fmt_days(days), text, size_text)
        basis = source
    else:
        days = None
        retention = 'no time limit (MaxRetentionSec %s): size-bound, %s' % (
            'infinity' if seconds == INFINITY else 'unset or 0', size_text)
        basis = limit_source or 'journald defaults'
    if not persistent:
        retention += '; volatile: lost at reboot'
    data = 'Log entries of every service, mail included (%s)' % LOG_DATA
    return [record(host, 'system_logging', 'journal', data, location, retention, days, basis)]


_RSYSLOG_ACTION = re.compile(r'^(\S+)\s+-?(/\S+)\s*$')


def rsyslog_files(host):
    """[(path, facilities)] of rsyslog's file actions (legacy selector syntax)."""
    out = []
    for conf in ['/etc/rsyslog.conf'] + host.glob('/etc/rsyslog.d/*.conf'):
        text = host.read(conf) or ''
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith(('#', '$', '&', ':', 'module(', 'input(', 'if ', '*.emerg')):
                continue
            match = _RSYSLOG_ACTION.match(line)
            if not match:
                continue
            facilities = set()
            for selector in match.group(1).split(';'):
                if '.' not in selector:
                    continue
                facs, prio = selector.rsplit('.', 1)
                for fac in facs.split(','):
                    if prio == 'none':
                        facilities.discard(fac)
                    else:
                        facilities.add(fac)
            out.append((match.group(2), facilities))
    return out


def collect_rsyslog(host, logrotate):
    if not host.isfile('/etc/rsyslog.conf'):
        return []
    rows = []
    seen = set()
    for path, facilities in rsyslog_files(host):
        if path in seen:
            continue
        if '*' in facilities:
            data = 'Every syslog message but the excluded facilities, mail included (%s)' % LOG_DATA
        elif 'mail' in facilities:
            data = 'Mail log lines (%s)' % LOG_DATA
        elif facilities & {'auth', 'authpriv'}:
            data = 'Authentication log lines (user names, client IP addresses)'
        elif 'user' in facilities:
            data = 'User-facility log lines, Horde webmail by default (user names, client IP addresses)'
        else:
            continue
        seen.add(path)
        text, days, basis = logrotate.retention(path)
        rows.append(record(host, 'system_logging', 'rsyslog:' + os.path.basename(path), data,
                           path + ' (and rotated copies)', text, days, basis, stat_path=path,
                           fallback_dirs=(os.path.dirname(path),), present=host.exists(path)))
    return rows


def collect(host, logrotate):
    """The journal and rsyslog's files; None when the host has neither."""
    rows = collect_journal(host, logrotate) + collect_rsyslog(host, logrotate)
    return (rows, []) if rows else None


DESCRIPTOR = Descriptor(
    'system_logging',
    'System logging: syslog files (rsyslog, logrotate) and the systemd journal',
    stores=((LogStore, 900), (JournalStore, 910)),
    collector=collect,
)
