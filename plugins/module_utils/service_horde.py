# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service descriptor ``horde``: the Horde groupware (webmail IMP, address books, calendars).
Its store (the Horde SQL database), its record of processing (the effective $conf of conf.php,
conf.d/ and conf.local.php as PHP ends up with it: log, sessions, SQL, IMP's sent-mail log, the
cache) and the log lines that name users (``FAILED LOGIN for ann``, ``Login success for ann``).
See module_utils/service.py."""

from __future__ import annotations

import os
import re

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.php_conf import (
    UNDEFINED,
    UNKNOWN,
    PhpArray,
    PhpConfig,
    PhpConstant,
    layered_files,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.processing import days_of, fmt_days, record, tmpfiles_age
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.service import Descriptor
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_horde import HordeSqlStore


_PHP_LINE = re.compile(r'line ([0-9]+)')


class HordeConf(object):
    """The effective $conf of a Horde application as PHP ends up with it after conf.php,
    conf.d/*.php and conf.local.php, read with the collection's PHP reader (PHP is not run:
    root does not execute files a web application can change). ``get`` gives the value as
    text, or the default when it is unset or null; a value the reader cannot work out
    (computed, set in a condition) gives the default and a problem."""

    def __init__(self, host, app, problems):
        paths = layered_files('/etc/horde/%s/conf.php' % app, host.glob, host.isfile)
        files = [(path, host.read(path)) for path in paths]
        self.config = PhpConfig([(path, text) for path, text in files if text is not None])
        self.problems = problems
        for path, reason in self.config.problems:
            line = _PHP_LINE.search(reason)
            problems.append('horde: %s%s cannot be read with certainty; the settings it may change are taken as '
                            'unknown' % (path, ' (line %s)' % line.group(1) if line else ''))

    def get(self, key, default=None):
        value = self.config.value(key)
        if value is UNKNOWN or isinstance(value, PhpArray):
            self.problems.append('horde: %s is computed or set conditionally; the record assumes %s'
                                 % ('.'.join(key), 'the default' if default is not None else 'it is unset'))
            return default
        if value is UNDEFINED or value is None:
            return default
        if isinstance(value, bool):
            return 'true' if value else 'false'
        if isinstance(value, PhpConstant):
            return value.name
        return str(value)


def collect_horde(host, logrotate):
    conf_path = '/etc/horde/horde/conf.php'
    if not host.isfile(conf_path):
        return None
    problems = []
    conf = HordeConf(host, 'horde', problems)
    rows = []
    enabled = conf.get(('log', 'enabled'), 'true').lower() != 'false'
    kind = conf.get(('log', 'type'), 'syslog')
    name = conf.get(('log', 'name'), 'LOG_USER')
    priority = conf.get(('log', 'priority'), 'INFO')
    data = 'Horde log lines at %s and above (user names and client IPs of logins at NOTICE/INFO)' % priority
    if not enabled:
        rows.append(record(host, 'horde', 'horde_log', 'Horde log: disabled', 'none', 'nothing is logged', 0,
                           conf_path, stat_path=conf_path))
    elif kind == 'file' and name.startswith('/'):
        text, days, basis = logrotate.retention(name)
        rows.append(record(host, 'horde', 'horde_log', data, name + ' (and rotated copies)', text, days,
                           basis, stat_path=name, fallback_dirs=(os.path.dirname(name),),
                           present=host.exists(name)))
    else:
        rows.append(record(host, 'horde', 'horde_log', data, 'syslog facility %s (see the system logging rows)'
                           % name, 'as the syslog sinks of that facility', None, conf_path,
                           stat_path=conf_path))
    max_time = conf.get(('session', 'max_time'))
    handler = conf.get(('sessionhandler', 'type'), 'Builtin')
    session_dir = '/var/lib/php/sessions'
    age, age_days, tmpconf = tmpfiles_age(host, session_dir)
    parts = []
    if max_time and max_time.isdigit():
        parts.append('session max_time %s s' % max_time)
    if age:
        parts.append('files removed after %s (tmpfiles.d)' % age)
    days = age_days if age else (days_of(int(max_time)) if max_time and max_time.isdigit() else None)
    text = '%s (%s)' % (fmt_days(days), '; '.join(parts)) if parts else 'PHP session.gc_maxlifetime'
    rows.append(record(host, 'horde', 'sessions', 'Web sessions (user name, client IP, encrypted credentials)',
                       session_dir if handler.lower() == 'builtin' else 'session handler %s' % handler,
                       text, days, tmpconf or conf_path, stat_path=session_dir))
    phptype = conf.get(('sql', 'phptype'))
    database = conf.get(('sql', 'database'))
    if phptype:
        rows.append(record(host, 'horde', 'sql', 'Preferences and identities, address books, calendars, tasks, '
                           'notes, filters, histories, alarms', 'SQL database (%s%s)'
                           % (phptype, ', ' + database if database and '/' not in database else ''),
                           'until the user data is removed (horde-remove-user-data)', None, conf_path,
                           stat_path=database if database and database.startswith('/') else conf_path))
    imp = HordeConf(host, 'imp', problems)
    driver = imp.get(('sentmail', 'driver'), 'Null')
    if driver.lower() != 'null':
        threshold = imp.get(('sentmail', 'params', 'threshold'), '60')
        tdays = int(threshold) if threshold.isdigit() else None
        rows.append(record(host, 'horde', 'imp_sentmail', 'Sent-mail log (recipient addresses, Message-IDs)',
                           'SQL table imp_sentmail', '%s (sentmail threshold)' % fmt_days(tdays), tdays,
                           '/etc/horde/imp/conf.php', stat_path='/etc/horde/imp/conf.php'))
    cache_age, cache_days, cache_conf = tmpfiles_age(host, '/var/cache/horde')
    if host.isdir('/var/cache/horde'):
        rows.append(record(host, 'horde', 'cache', 'Cached pages and IMAP data of users', '/var/cache/horde',
                           '%s (tmpfiles.d age %s)' % (fmt_days(cache_days), cache_age) if cache_age
                           else 'no time limit (no tmpfiles.d rule)', cache_days if cache_age else None,
                           cache_conf or 'none'))
    return rows, problems


DESCRIPTOR = Descriptor(
    'horde',
    'Horde groupware and IMP webmail',
    stores=((HordeSqlStore, 500),),
    collector=collect_horde,
    log_patterns={
        # Horde login.php and IMP's Auth: 'FAILED LOGIN for ann [192.0.2.4] to Horde',
        # 'FAILED LOGIN for ann@example.com (192.0.2.4) to {imap...}', 'Login success for ann ...'
        'login': (rb'\b(?:FAILED LOGIN|Login success) for (?![\[(])[^\s\[\]()<>]{1,255}',),
    },
)
