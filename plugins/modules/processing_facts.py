#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: processing_facts
short_description: Records of processing (GDPR Art. 30) of a mail host, read from its live configuration
version_added: 0.4.0
description:
  - Collects from one host what personal data it stores, where, for how long and who can read it, one record
    per data store, in the shape of the vendors' data tables (data type, location, retention, protection).
  - "Retention is read from the live configuration: journald (C(MaxRetentionSec), C(SystemMaxUse), C(Storage)
    with its drop-ins, as systemd reads them: C(systemd-analyze cat-config) when O(root) is C(/), else the files
    under O(root); the journal erasure reads the same settings the same way), rsyslog's file rules and
    logrotate (C(rotate), C(daily)/C(weekly)/C(monthly), C(maxage)), Dovecot (C(doveconf -n): C(mail_location),
    C(autoexpunge), file logs), Courier (C(IMAP_EMPTYTRASH), C(queuetime), the track directory's tmpfiles.d
    age), qmail (C(queuelifetime), multilog C(n)/C(s) and an age-based cleanup unit), Horde (C(conf.php),
    C(conf.d/), C(conf.local.php): log, session lifetime, SQL database; IMP sent-mail log; read as PHP ends up
    with them, without running PHP) and KLMS (Backup, traces, dumps, temporary files) when present."
  - Protection is the owner, group and mode of the file or directory, and who can read it.
  - What is not installed is skipped (listed in RV(ansible_facts.mailprivacy_processing.services) as absent).
  - Read-only; it behaves the same in check mode. It never reads mail, log lines or account entries, only
    configuration and file metadata.
author:
  - mailprivacy.gdpr contributors (!UNKNOWN)
attributes:
  check_mode:
    support: full
    description: The module only reads.
  diff_mode:
    support: none
    description: Nothing is changed.
  facts:
    support: full
    description: Returns C(ansible_facts.mailprivacy_processing).
options:
  root:
    description:
      - Directory that stands for C(/) when files are read (a mounted image, or a fixture tree in tests).
        Commands (C(doveconf), C(systemd-analyze)) are only run when it is C(/).
    type: path
    default: /
  services:
    description:
      - Services to describe (V(system_logging), V(dovecot), V(courier), V(qmail), V(horde), V(klms)).
        Empty means all of them; each is skipped when it is not installed.
    type: list
    elements: str
    choices: [system_logging, dovecot, courier, qmail, horde, klms]
    default: []
notes:
  - Needs root to read every configuration file (C(doveconf -n), C(/etc/courier)).
  - Retention figures are upper bounds derived from the configuration (for example logrotate's period times
    the number of kept copies); a size-bound store has no time limit and says so.
"""

EXAMPLES = r"""
- name: Collect the records of processing of this host
  mailprivacy.gdpr.processing_facts:

- name: Show them
  ansible.builtin.debug:
    var: ansible_facts.mailprivacy_processing.records
"""

RETURN = r"""
ansible_facts:
  description: Facts set by the module.
  returned: always
  type: complex
  contains:
    mailprivacy_processing:
      description: The host's records of processing.
      type: dict
      contains:
        services:
          description: Per service, whether it is present on the host.
          type: dict
          sample: {system_logging: true, dovecot: true, courier: false, qmail: false, horde: false, klms: false}
        records:
          description: One record per data store.
          type: list
          elements: dict
          sample:
            - service: system_logging
              store: journal
              data_type: Log entries of every service, mail included (user names, e-mail addresses, client IP addresses)
              location: /var/log/journal
              retention: 14 days (MaxRetentionSec=14day); at most 1G (SystemMaxUse)
              retention_days: 14
              retention_basis: /etc/systemd/journald.conf.d/80-mailprivacy-gdpr-mail-logging.conf
              protection: root:systemd-journal 2755 (owner, group systemd-journal)
              owner: root
              group: systemd-journal
              mode: '2755'
              readers: owner, group systemd-journal
              present: true
        problems:
          description: What could not be read (no personal data).
          type: list
          elements: str
          sample: []
"""

import fnmatch
import glob
import grp
import os
import pwd
import re
import stat
import subprocess

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.doveconf import parse_doveconf, top_level
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.php_conf import (
    UNDEFINED,
    UNKNOWN,
    PhpArray,
    PhpConfig,
    PhpConstant,
    layered_files,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.systemd_conf import INFINITY, journald_config, parse_timespan

SERVICES = ('system_logging', 'dovecot', 'courier', 'qmail', 'horde', 'klms')

LOG_DATA = 'user names, e-mail addresses, client IP addresses'
PERIOD_DAYS = {'daily': 1, 'weekly': 7, 'monthly': 31, 'yearly': 366, 'hourly': 1.0 / 24}
JOURNAL_STORAGE = ('volatile', 'persistent', 'auto', 'none')


class Host(object):
    """File system (under ``root``) and command access, replaceable in tests."""

    def __init__(self, root='/', run=None):
        self.root = root or '/'
        self._run = run

    def path(self, path):
        return os.path.join(self.root, path.lstrip('/')) if self.root != '/' else path

    def exists(self, path):
        return os.path.lexists(self.path(path))

    def isdir(self, path):
        return os.path.isdir(self.path(path))

    def isfile(self, path):
        return os.path.isfile(self.path(path))

    def read(self, path, limit=4 * 1024 * 1024):
        try:
            with open(self.path(path), 'r', encoding='utf-8', errors='replace') as handle:
                return handle.read(limit)
        except (OSError, ValueError):
            return None

    def glob(self, pattern):
        found = sorted(glob.glob(self.path(pattern)))
        if self.root == '/':
            return found
        cut = len(self.root.rstrip('/'))
        return ['/' + p[cut:].lstrip('/') for p in found]

    def stat(self, path):
        try:
            return os.stat(self.path(path))
        except OSError:
            return None

    def run(self, argv):
        """(rc, stdout text) or None when commands are not run (root is not /) or missing."""
        if self._run is not None:
            return self._run(argv)
        if self.root != '/':
            return None
        try:
            proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  stdin=subprocess.DEVNULL, env=dict(os.environ, LC_ALL='C'),
                                  timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.returncode, proc.stdout.decode('utf-8', 'replace')

    def which(self, name, dirs=('/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin', '/usr/local/sbin')):
        for directory in dirs:
            candidate = os.path.join(directory, name)
            if self.isfile(candidate):
                return candidate
        return None


# ------------------------------------------------------------------------------ helpers
def days_of(seconds):
    if seconds is None:
        return None
    days = seconds / 86400.0
    return int(days) if days == int(days) else round(days, 2)


def fmt_days(days):
    if days is None:
        return 'no time limit'
    if days < 1:
        return '%g hours' % round(days * 24, 1)
    return '%g day%s' % (days, '' if days == 1 else 's')


def _name(getter, ident):
    """The account or group name of a system id; a person's own account (id 1000..65533) is
    never named in the record, only called 'user'."""
    if 1000 <= ident < 65534:
        return 'user'
    try:
        return getter(ident)[0]
    except KeyError:
        return str(ident)


def _sample_files(real_dirs, limit=200, depth=2):
    """stat results of up to ``limit`` regular files within ``depth`` levels of the directories."""
    out = []
    for real_dir in real_dirs:
        base = real_dir.rstrip('/').count('/')
        for current, dirs, files in os.walk(real_dir):
            if current.rstrip('/').count('/') - base >= depth:
                dirs[:] = []
            for name in files:
                try:
                    st = os.lstat(os.path.join(current, name))
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    out.append(st)
                    if len(out) >= limit:
                        return out
    return out


def _readers(owners, entries):
    """Who can read: the owner(s), groups with read permission, everyone (from (group, mode) pairs)."""
    readers = []
    for owner in owners:
        readers.append('owner' if owner == 'root' else 'the user (owner)' if owner == 'user' else 'owner %s' % owner)
    groups = sorted(set(g for g, m in entries if m & stat.S_IRGRP))
    readers += ["the user's group" if g == 'user' else 'group %s' % g for g in groups]
    if any(m & stat.S_IROTH for _g, m in entries):
        readers.append('everyone')
    if 'root' not in owners:
        readers.append('root')
    return readers


def protection(host, path, fallback_dirs=(), sample=None):
    """owner, group, mode, readers and a one-line summary of ``path`` (or of the first existing
    fallback directory). For a directory the readers come from the files in it (a sample of up
    to 200 within two levels of ``sample``, default the directory itself), since those are what
    holds the data. Personal accounts are never named (see _name)."""
    st = None
    used = path
    for candidate in (path,) + tuple(fallback_dirs):
        if candidate and '%' not in candidate and '~' not in candidate:
            st = host.stat(candidate)
            if st is not None:
                used = candidate
                break
    if st is None:
        return {'owner': None, 'group': None, 'mode': None, 'readers': 'not present',
                'protection': 'not present'}
    owner = _name(pwd.getpwuid, st.st_uid)
    group = _name(grp.getgrgid, st.st_gid)
    mode = stat.S_IMODE(st.st_mode)
    text = '%s:%s %04o' % (owner, group, mode)
    entries = [(group, mode)]
    owners = [owner]
    if stat.S_ISDIR(st.st_mode):
        dirs = [host.path(d) for d in (sample if sample is not None else [used])]
        files = _sample_files(dirs)
        if files:
            modes = sorted(set('%04o' % stat.S_IMODE(f.st_mode) for f in files))
            owners = sorted(set(_name(pwd.getpwuid, f.st_uid) for f in files))
            entries = [(_name(grp.getgrgid, f.st_gid), stat.S_IMODE(f.st_mode)) for f in files]
            what = 'files' if sample is None else '%d data directories, files' % len(dirs)
            names = ','.join("each user's" if o == 'user' else o for o in owners)
            text = 'dir %s; %s %s %s' % (text, what, names, ','.join(modes))
        else:
            text = 'dir %s (empty)' % text
    readers = _readers(owners, entries)
    text += ' (readers: %s)' % ', '.join(readers)
    if used != path:
        text += ' [of %s]' % used
    return {'owner': owner, 'group': group, 'mode': '%04o' % mode, 'readers': ', '.join(readers),
            'protection': text}


def record(host, service, store, data_type, location, retention, retention_days, basis, stat_path=None,
           fallback_dirs=(), present=True, sample=None):
    rec = {
        'service': service,
        'store': store,
        'data_type': data_type,
        'location': location,
        'retention': retention,
        'retention_days': retention_days,
        'retention_basis': basis,
        'present': present,
    }
    rec.update(protection(host, stat_path if stat_path is not None else location, fallback_dirs, sample))
    return rec


def home_dirs(host, relative, limit=50):
    """Existing <home>/<relative> directories of the users (for sampling modes, never named)."""
    relative = relative.strip('/')
    return [d for d in host.glob('/home/*/' + relative) if host.isdir(d)][:limit]


# ------------------------------------------------------------------------------ logrotate
class Logrotate(object):
    """logrotate.conf with its includes: which block rotates a path, with what settings."""

    def __init__(self, host, conf='/etc/logrotate.conf'):
        self.host = host
        self.globals = {}
        self.blocks = []  # (patterns, settings, source file)
        self.present = host.isfile(conf)
        if self.present:
            self._parse(conf, self.globals, set())

    def _parse(self, path, defaults, seen):
        if path in seen:
            return
        seen.add(path)
        text = self.host.read(path)
        if text is None:
            return
        pending = []
        block = None
        for raw in text.splitlines():
            line = raw.split('#', 1)[0].strip() if not raw.strip().startswith('#') else ''
            if not line:
                continue
            if block is not None:
                if line.startswith('}'):
                    self.blocks.append((pending, block, path))
                    pending, block = [], None
                    continue
                if block.get('_script'):
                    if line in ('endscript',):
                        block['_script'] = False
                    continue
                if line in ('postrotate', 'prerotate', 'firstaction', 'lastaction', 'preremove'):
                    block['_script'] = True
                    continue
                self._directive(line, block)
                continue
            if line.endswith('{'):
                pending = pending + line[:-1].split()
                block = dict(defaults)
                block['_script'] = False
                continue
            if line.startswith('/') or line.startswith('"/'):
                pending.extend(p.strip('"') for p in line.split())
                continue
            if line.startswith('include '):
                target = line.split(None, 1)[1].strip()
                if self.host.isdir(target):
                    for item in self.host.glob(os.path.join(target, '*')):
                        base = os.path.basename(item)
                        if base.startswith('.') or base.endswith(('.dpkg-old', '.dpkg-dist', '.disabled', '~')):
                            continue
                        self._parse(item, defaults, seen)
                else:
                    self._parse(target, defaults, seen)
                continue
            self._directive(line, defaults)

    @staticmethod
    def _directive(line, into):
        words = line.split()
        key = words[0]
        if key in PERIOD_DAYS:
            into['period'] = key
        elif key in ('rotate', 'maxage') and len(words) > 1 and words[1].lstrip('-').isdigit():
            into[key] = int(words[1])
        elif key in ('size', 'maxsize', 'minsize') and len(words) > 1:
            into[key] = words[1]
        elif key in ('compress', 'nocompress', 'shred', 'noshred'):
            into['compress' if 'compress' in key else 'shred'] = not key.startswith('no')

    def lookup(self, path):
        """(settings, source) of the last block that names ``path``, else (None, None)."""
        found = (None, None)
        for patterns, settings, source in self.blocks:
            if any(fnmatch.fnmatchcase(path, pat) for pat in patterns):
                found = (settings, source)
        return found

    def retention(self, path):
        """(text, days or None, basis) for a log file."""
        settings, source = self.lookup(path)
        if settings is None:
            if not self.present:
                return 'no time limit (logrotate not installed)', None, 'logrotate absent'
            return 'no time limit (no logrotate rule)', None, '/etc/logrotate.conf'
        period = settings.get('period', 'weekly')
        rotate = settings.get('rotate', 0)
        pdays = PERIOD_DAYS[period]
        days = pdays * (rotate + 1)
        parts = ['%s, rotate %d' % (period, rotate)]
        maxage = settings.get('maxage')
        if maxage is not None and maxage >= 0:
            days = min(days, pdays + maxage)
            parts.append('maxage %d' % maxage)
        if settings.get('size') or settings.get('maxsize'):
            parts.append('size %s' % (settings.get('size') or settings.get('maxsize')))
        if rotate < 0:
            return 'no time limit (%s: rotate -1 keeps every copy)' % ', '.join(parts), None, source
        days = days_of(days * 86400)
        return '%s (logrotate: %s)' % (fmt_days(days), ', '.join(parts)), days, source


# ------------------------------------------------------------------------------ system logging
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


# ------------------------------------------------------------------------------ dovecot
def mail_location_paths(location):
    """Human locations of a Dovecot mail_location."""
    if not location:
        return ['mbox:~/mail, /var/mail/%u (Debian default)'], '/var/mail', '/var/mail', 'mail'
    parts = location.split(':')
    fmt = parts[0] if len(parts) > 1 else ''
    rest = ':'.join(parts[1:]) if fmt else location
    fields = rest.split(':')
    paths = [fields[0]]
    spool = None
    for field in fields[1:]:
        key, _sep, value = field.partition('=')
        if key in ('INBOX', 'INDEX', 'CONTROL') and value:
            paths.append('%s=%s' % (key, value))
            if key == 'INBOX':
                spool = os.path.dirname(value)
    stat_dir = spool or '/home'
    home = paths[0][2:] if paths[0].startswith('~/') else None
    return ['%s: %s' % (fmt or 'mail', ', '.join(paths))], stat_dir, spool, home


def collect_dovecot(host, logrotate):
    if not (host.isdir('/etc/dovecot') or host.which('doveconf')):
        return None
    problems = []
    out = host.run(['doveconf', '-n'])
    settings = None
    if out is not None and out[0] == 0:
        settings = parse_doveconf(out[1])
    else:
        problems.append('dovecot: doveconf -n could not be run; retention not read from the configuration')
    top = top_level(settings or [])
    rows = []
    expunge = []
    for blocks, key, value in settings or []:
        if key == 'autoexpunge' and blocks and blocks[-1].startswith('mailbox '):
            expunge.append((blocks[-1][8:], value))
    locations, stat_dir, spool, home = mail_location_paths(top.get('mail_location'))
    sample = ([spool] if spool and host.isdir(spool) else []) + (home_dirs(host, home) if home else [])
    if settings is None:
        retention, days = 'unknown (configuration not read)', None
    else:
        retention = 'until deleted by the user or the account is closed'
        if expunge:
            retention += '; autoexpunge: ' + ', '.join('%s %s' % (box, value) for box, value in expunge)
        days = None
    rows.append(record(host, 'dovecot', 'mailboxes',
                       'Mail messages and mailbox indexes (addresses, subjects, bodies, cached headers)',
                       '; '.join(locations), retention, days,
                       'doveconf -n (mail_location, mailbox autoexpunge)', stat_path=stat_dir, sample=sample,
                       fallback_dirs=('/var/mail',)))
    for key in ('log_path', 'info_log_path', 'debug_log_path'):
        path = top.get(key, '')
        if path.startswith('/') and not any(r['location'].startswith(path + ' ') for r in rows):
            text, ldays, basis = logrotate.retention(path)
            rows.append(record(host, 'dovecot', 'dovecot_log:' + os.path.basename(path),
                               'Dovecot log lines (%s)' % LOG_DATA, path + ' (and rotated copies)',
                               text, ldays, basis, stat_path=path, fallback_dirs=(os.path.dirname(path),),
                               present=host.exists(path)))
    return rows, problems


# ------------------------------------------------------------------------------ courier
def shell_value(text, name):
    value = None
    for raw in (text or '').splitlines():
        match = re.match(r'^\s*(?:export\s+)?%s\s*=\s*(.*)$' % re.escape(name), raw)
        if match:
            value = match.group(1).strip().strip('"\'')
    return value


def tmpfiles_age(host, directory):
    """(age text, days, file) of a tmpfiles.d rule that ages ``directory``, or (None, None, None)."""
    found = (None, None, None)
    for conf in host.glob('/usr/lib/tmpfiles.d/*.conf') + host.glob('/etc/tmpfiles.d/*.conf'):
        for raw in (host.read(conf) or '').splitlines():
            fields = raw.split()
            if len(fields) >= 6 and not raw.lstrip().startswith('#') and fields[1].rstrip('/') == directory:
                age = fields[5]
                seconds = parse_timespan(age.split(':', 1)[-1].lstrip('~'))
                found = (age, days_of(seconds), conf)
    return found


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


# ------------------------------------------------------------------------------ qmail
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


# ------------------------------------------------------------------------------ horde
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


# ------------------------------------------------------------------------------ KLMS
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


COLLECTORS = {
    'dovecot': collect_dovecot,
    'courier': collect_courier,
    'qmail': collect_qmail,
    'horde': collect_horde,
    'klms': collect_klms,
}


def collect(host, services=None):
    """{'services': {name: present}, 'records': [...], 'problems': [...]}."""
    wanted = list(services) if services else list(SERVICES)
    logrotate = Logrotate(host)
    out = {'services': {}, 'records': [], 'problems': []}
    for name in SERVICES:
        if name not in wanted:
            continue
        if name == 'system_logging':
            rows = collect_journal(host, logrotate) + collect_rsyslog(host, logrotate)
            out['services'][name] = bool(rows)
            out['records'].extend(rows)
            continue
        found = COLLECTORS[name](host, logrotate)
        out['services'][name] = found is not None
        if found is not None:
            rows, problems = found
            out['records'].extend(rows)
            out['problems'].extend(problems)
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type='path', default='/'),
            services=dict(type='list', elements='str', choices=list(SERVICES), default=[]),
        ),
        supports_check_mode=True,
    )
    root = module.params['root']
    if not os.path.isdir(root):
        module.fail_json(msg='root: not a directory')
    facts = collect(Host(root), module.params['services'])
    module.exit_json(changed=False, ansible_facts={'mailprivacy_processing': facts})


if __name__ == '__main__':
    main()
