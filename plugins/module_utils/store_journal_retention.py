# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Erasure step of the journal store: journald cannot delete single entries.

``journal_erase_step`` keeps the count the journal store found, erases nothing and adds a
manual step that says by which date journald's retention removes the entries
(``MaxRetentionSec`` plus ``MaxFileSec``, read from ``systemd-analyze cat-config
systemd/journald.conf`` or the configuration files) and how the operator can remove them at
once, at the price of every other user's and service's entries.
"""

from __future__ import annotations

import datetime
import glob
import os
import re

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import Result

CONFIG_FILES = ('/usr/lib/systemd/journald.conf', '/etc/systemd/journald.conf')
CONFIG_DIRS = ('/usr/lib/systemd/journald.conf.d', '/run/systemd/journald.conf.d',
               '/etc/systemd/journald.conf.d')
DEFAULT_MAX_FILE_SEC = 30 * 86400 + 37800  # systemd: 1month = 30.44 days

_UNITS = (
    (('usec', 'us', '\u00b5s'), 1e-6),
    (('msec', 'ms'), 1e-3),
    (('seconds', 'second', 'sec', 's'), 1),
    (('minutes', 'minute', 'min', 'm'), 60),
    (('hours', 'hour', 'hr', 'h'), 3600),
    (('days', 'day', 'd'), 86400),
    (('weeks', 'week', 'w'), 7 * 86400),
    (('months', 'month', 'M'), 30 * 86400 + 37800),
    (('years', 'year', 'y'), 365 * 86400 + 21600),
)
_UNIT = dict((name, factor) for names, factor in _UNITS for name in names)
_SPAN = re.compile(r'\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z\u00b5]*)')


def parse_timespan(text):
    """Seconds of a systemd time span ('1month', '2w 3d', '3600'); None when invalid."""
    text = (text or '').strip()
    if not text:
        return None
    total = 0.0
    pos = 0
    while pos < len(text):
        match = _SPAN.match(text, pos)
        if not match or match.end() == pos:
            return None
        number, unit = match.groups()
        if unit and unit not in _UNIT:
            return None
        total += float(number) * _UNIT.get(unit or 's', 1)
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return int(total)


def parse_journald_conf(text):
    """{key: value} of the [Journal] section(s); later assignments win."""
    values = {}
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in '#;':
            continue
        if line.startswith('[') and line.endswith(']'):
            section = line[1:-1].strip()
            continue
        if section == 'Journal' and '=' in line:
            key, _eq, value = line.partition('=')
            values[key.strip()] = value.strip()
    return values


def _read_config(runner, config_files, config_dirs):
    analyze = runner.which('systemd-analyze') if runner is not None else None
    if analyze:
        try:
            rc, out, _err = runner.run([analyze, 'cat-config', 'systemd/journald.conf'], check=False)
        except Exception:  # pylint: disable=broad-except
            rc, out = 1, b''
        if rc == 0 and out:
            return out.decode('utf-8', 'replace')
    texts = []
    dropins = {}
    for directory in config_dirs:
        for path in sorted(glob.glob(os.path.join(directory, '*.conf'))):
            dropins[os.path.basename(path)] = path  # later directories override
    main = [p for p in config_files if os.path.isfile(p)]
    for path in main[-1:] + [dropins[name] for name in sorted(dropins)]:
        try:
            with open(path, 'rb') as fh:
                texts.append(fh.read().decode('utf-8', 'replace'))
        except OSError:
            continue
    return '\n'.join(texts)


def journal_retention(runner=None, config_files=CONFIG_FILES, config_dirs=CONFIG_DIRS):
    """(MaxRetentionSec in seconds or 0 when unset/off, MaxFileSec in seconds or 0 when off)."""
    values = parse_journald_conf(_read_config(runner, config_files, config_dirs))
    retention = parse_timespan(values.get('MaxRetentionSec', '')) or 0
    max_file = values.get('MaxFileSec')
    max_file_sec = DEFAULT_MAX_FILE_SEC if max_file in (None, '') else (parse_timespan(max_file) or 0)
    return retention, max_file_sec


def _date(when):
    return when.strftime('%Y-%m-%d %H:%M UTC')


def journal_erase_step(runner, found, now=None, config_files=CONFIG_FILES, config_dirs=CONFIG_DIRS):
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
    retention, max_file = journal_retention(runner, config_files, config_dirs)
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
