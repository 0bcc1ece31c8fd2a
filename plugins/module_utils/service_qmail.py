# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service descriptor ``qmail``: netqmail with its add-ons (vpopmail, ucspi-tcp's recordio,
daemontools' multilog). Its stores (the queue, users/assign, vpopmail), its record of processing
(queuelifetime, the multilog directories with their size bounds and age cleanups, users/assign,
vpopmail, the Maildirs), the log lines of recordio SMTP transcripts (``<pid> < ...``, POP3
``PASS`` in them) and the debug pattern that log_redact's debug_traces mode removes. See
module_utils/service.py."""

from __future__ import annotations

import os
import re

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.processing import days_of, fmt_days, home_dirs, record
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.service import Descriptor
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_accounts import QmailAssignStore, VpopmailStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_queues import QmailQueueStore


_MULTILOG_SIZE = re.compile(r"^'?s([0-9]+)'?$")
_MULTILOG_COUNT = re.compile(r"^'?n([0-9]+)'?$")


def multilog_dirs(host):
    """{log dir: (size, count, run file)} from the log/run files of qmail's services."""
    out = {}
    runs = host.glob('/var/qmail/supervise/*/log/run') + host.glob('/etc/service/*/log/run') + \
        host.glob('/service/*/log/run')
    for run in runs:
        text = host.read(run) or ''
        for raw in text.splitlines():
            if raw.lstrip().startswith('#') or 'multilog' not in raw:
                continue
            words = raw.split('multilog', 1)[1].split()
            size, count, directory = 99999, 10, None
            for word in words:
                bare = word.strip('\'"')
                if _MULTILOG_SIZE.match(word):
                    size = int(_MULTILOG_SIZE.match(word).group(1))
                elif _MULTILOG_COUNT.match(word):
                    count = int(_MULTILOG_COUNT.match(word).group(1))
                elif bare.startswith('/') or bare.startswith('./'):
                    directory = bare
            if directory:
                if directory.startswith('./'):
                    directory = os.path.normpath(os.path.join(os.path.dirname(run), directory))
                out.setdefault(directory, (size, count, run))
    return out


def cleanup_age(host, directory):
    """Days of an age-based cleanup (find ... -mmin +N / -mtime +N) that names ``directory``."""
    for unit in host.glob('/etc/systemd/system/*.service') + host.glob('/etc/cron.d/*') + \
            host.glob('/etc/cron.daily/*'):
        text = host.read(unit) or ''
        if directory not in text:
            continue
        match = re.search(r'-mmin \+([0-9]+)', text)
        if match:
            return days_of(int(match.group(1)) * 60), unit
        match = re.search(r'-mtime \+([0-9]+)', text)
        if match:
            return int(match.group(1)) + 1, unit
    return None, None


def collect_qmail(host, logrotate):
    if not host.isdir('/var/qmail'):
        return None
    rows = []
    raw = (host.read('/var/qmail/control/queuelifetime') or '').strip()
    seconds = int(raw) if raw.isdigit() else 604800
    text = '%s (queuelifetime%s)' % (fmt_days(days_of(seconds)), '=' + raw if raw.isdigit() else ' absent: 604800 s')
    rows.append(record(host, 'qmail', 'queue', 'Queued messages (envelope addresses, headers, bodies)',
                       '/var/qmail/queue', text, days_of(seconds), '/var/qmail/control/queuelifetime'))
    for directory, (size, count, run) in sorted(multilog_dirs(host).items()):
        days, unit = cleanup_age(host, directory)
        bound = 'at most %d files of %d bytes (multilog n%d s%d)' % (count, size, count, size)
        if days is not None:
            text = '%s (age cleanup %s); %s' % (fmt_days(days), os.path.basename(unit), bound)
        else:
            text = 'no time limit: size-bound, %s' % bound
        rows.append(record(host, 'qmail', 'multilog:' + directory,
                           'qmail log lines (envelope addresses; client IPs with tcpserver -v; whole SMTP '
                           'sessions with recordio)', directory, text, days, run))
    if host.exists('/var/qmail/users/assign'):
        rows.append(record(host, 'qmail', 'users_assign', 'Address to user and home directory mapping',
                           '/var/qmail/users/assign (+ cdb)', 'until the entry is removed (qmail-newu)', None,
                           '/var/qmail/users/assign', stat_path='/var/qmail/users/assign'))
    for home in ('/home/vpopmail/domains', '/var/vpopmail/domains'):
        if host.isdir(home):
            rows.append(record(host, 'qmail', 'vpopmail', 'vpopmail accounts (vpasswd: password hashes, maybe '
                               'clear-text passwords; last login IP) and Maildirs', home,
                               'until the account is removed (vdeluser)', None, home))
    rows.append(record(host, 'qmail', 'maildirs', 'Mail messages (addresses, subjects, bodies)',
                       '~/Maildir of each user (home from users/assign or passwd)',
                       'until deleted by the user or the account is closed', None, 'qmail-local ./Maildir/',
                       stat_path='/home', sample=home_dirs(host, 'Maildir')))
    return rows, []


DESCRIPTOR = Descriptor(
    'qmail',
    'qmail (netqmail) with vpopmail, recordio and multilog',
    stores=((QmailQueueStore, 310), (QmailAssignStore, 410), (VpopmailStore, 420)),
    collector=collect_qmail,
    log_patterns={
        # POP3 'PASS x' in a recordio transcript
        'password': (rb'^(?:@[0-9a-f]{24} )?[0-9]+ < (?i:pass) [^\r\n]',),
        # recordio output, '<pid> < ...' (client) and '<pid> > ...' (server): whole SMTP sessions
        'smtp_transcript': (rb'^(?:@[0-9a-f]{24} )?[0-9]{1,10} [<>] ',),
    },
    debug_patterns=(
        ('transcript_password', 'recordio/IMAP/POP3 transcripts: < PASS x, < tag LOGIN user pass',
         rb'^(?:@[0-9a-f]{24} )?[0-9]{1,10} < (?:(?i:PASS) |[^ \r\n]{1,64} (?i:LOGIN) )'),
    ),
)
