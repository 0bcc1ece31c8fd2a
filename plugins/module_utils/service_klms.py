# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service descriptor ``klms``: Kaspersky Linux Mail Server 8. Its store (the Backup: a manual
step, KLMS has no documented command to remove one person's copies) and its record of processing
(Backup, traces, dumps, temporary files, with the cleanup the klms role installs). See
module_utils/service.py."""

from __future__ import annotations

import os
import re

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.processing import days_of, fmt_days, record
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.service import Descriptor
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_klms import KlmsBackupStore


_PRUNE = re.compile(r"^prune\s+(\S+)\s+'?([^'\s]+)'?\s+([0-9]+)\s+([0-9]+)\s*$")


def collect_klms(host, logrotate):
    if not (host.isdir('/opt/kaspersky/klms') or host.isdir('/etc/opt/kaspersky/klms')):
        return None
    limits = {}
    script = '/usr/local/sbin/mailprivacy-klms-cleanup'
    for raw in (host.read(script) or '').splitlines():
        match = _PRUNE.match(raw.strip())
        if match:
            limits[match.group(2)] = (match.group(1), int(match.group(3)), int(match.group(4)))
    rows = [record(host, 'klms', 'backup', 'Copies of scanned messages (addresses, headers, bodies, '
                   'attachments) and their metadata', '/var/opt/kaspersky/klms (Backup storage, klms-postgres)',
                   'no time limit: size-bound, oldest copies removed first (7.32 GB by default; not read: '
                   'klms-control has no documented read-back)', None, 'KLMS 8 documentation',
                   stat_path='/var/opt/kaspersky/klms')]
    defaults = (('trace', '/var/log/kaspersky/klms', 'Trace files (sender and recipient addresses, client IPs, '
                 'message content at high levels)'),
                ('dump', '/var/opt/kaspersky/klms/dumps', 'Crash dumps (memory of message processing)'),
                ('temporary', '/tmp/klmstmp', 'Temporary copies of messages being scanned'))
    for kind, directory, data in defaults:
        if not host.isdir(directory) and directory not in limits:
            continue
        if directory in limits:
            _kind, minutes, kib = limits[directory]
            days = days_of(minutes * 60)
            text = '%s (%s%s)' % (fmt_days(days), os.path.basename(script),
                                  ', at most %d MiB' % (kib // 1024) if kib else '')
            basis = script
        else:
            days, text, basis = None, 'no time limit (no cleanup found)', 'none'
        rows.append(record(host, 'klms', kind, data, directory, text, days, basis))
    return rows, []


DESCRIPTOR = Descriptor(
    'klms',
    'Kaspersky Linux Mail Server (KLMS 8)',
    stores=((KlmsBackupStore, 600),),
    collector=collect_klms,
)
