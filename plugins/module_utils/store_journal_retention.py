# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Erasure step of the journal store: journald cannot delete single entries.

``journal_erase_step`` keeps the count the journal store found, erases nothing and adds a
manual step that says by which date journald's retention removes the entries
(``MaxRetentionSec`` plus ``MaxFileSec``, read with systemd_conf's journald reader: ``systemd-analyze
cat-config systemd/journald.conf`` or systemd's configuration files) and how the operator can remove them at
once, at the price of every other user's and service's entries.
"""

from __future__ import annotations

import datetime

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import Result
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.systemd_conf import (
    INFINITY,
    MONTH,
    journald_config,
    runner_run,
)

DEFAULT_MAX_FILE_SEC = MONTH  # journald's default MaxFileSec: 1month = 30.44 days


def journal_retention(runner=None, root='/'):
    """(MaxRetentionSec in seconds or 0 when unset/off, MaxFileSec in seconds or 0 when off),
    read with the one journald reader (systemd_conf.journald_config: ``systemd-analyze
    cat-config`` through ``runner`` on the running system, else systemd's files under root),
    the reader the record of processing (processing_facts) uses too. ``infinity`` is off."""
    config = journald_config(root, runner_run(runner))
    retention = config.timespan('MaxRetentionSec')[0]
    max_file = config.timespan('MaxFileSec')[0]
    if max_file is None:
        max_file = DEFAULT_MAX_FILE_SEC
    return _seconds(retention), _seconds(max_file)


def _seconds(value):
    return 0 if value in (None, INFINITY) else int(value)


def _date(when):
    return when.strftime('%Y-%m-%d %H:%M UTC')


def journal_erase_step(runner, found, now=None, root='/'):
    """The erase Result of the journal store: ``found`` (the Result of ``locate``, or a count)
    is kept, ``erased`` is 0 and, when entries were found, a manual step (no PII) says by
    which date journald's retention removes them and how to remove them at once."""
    if isinstance(found, dict):
        res = Result(found)
    else:
        res = Result(store='journal', units='entries', found=int(found or 0),
                     detail={'journal': int(found or 0)})
    res['erased'] = 0
    res['manual_steps'] = list(res.get('manual_steps') or [])
    if not res.get('available', True) or not res.get('found'):
        return res
    now = now or datetime.datetime.now(datetime.timezone.utc)
    retention, max_file = journal_retention(runner, root)
    vacuum = ('to remove them now run `journalctl --rotate && journalctl --vacuum-time=1s`, which '
              'deletes the archived journal entries of ALL users and services, not only these')
    if retention and max_file:
        gone = now + datetime.timedelta(seconds=retention + max_file)
        after_rotate = now + datetime.timedelta(seconds=retention)
        text = ('journal: journald cannot delete single entries; the %d entries found expire with '
                'journald\'s retention (MaxRetentionSec=%ds, MaxFileSec=%ds): gone by %s at the latest '
                '(by %s after a `journalctl --rotate`); %s'
                % (res['found'], retention, max_file, _date(gone), _date(after_rotate), vacuum))
    elif retention:
        after_rotate = now + datetime.timedelta(seconds=retention)
        text = ('journal: journald cannot delete single entries; the %d entries found expire with '
                'journald\'s retention (MaxRetentionSec=%ds, MaxFileSec off): gone by %s once the '
                'journal file that holds them is rotated (`journalctl --rotate`); %s'
                % (res['found'], retention, _date(after_rotate), vacuum))
    else:
        text = ('journal: journald cannot delete single entries; no time-based retention is set '
                '(MaxRetentionSec unset or 0), so the %d entries found stay until the size limits '
                '(SystemMaxUse) push them out and no date can be given: set MaxRetentionSec in '
                '/etc/systemd/journald.conf.d/; %s' % (res['found'], vacuum))
    res['manual_steps'].append(text)
    return res
