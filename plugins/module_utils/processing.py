# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Records of processing (GDPR Art. 30): what the collectors of the service descriptors share.

A service descriptor (module_utils/service.py) may have a collector, ``collect(host,
logrotate)``, that returns None when the service is not installed, else ``(records, problems)``:
one :func:`record` per data store (data type, location, retention read from the live
configuration, protection from the file modes) and what could not be read (no personal data).
The processing_facts module runs the collectors of every descriptor of the catalog.

* :class:`Host`: the file system under a root and command access (replaceable in tests);
* :class:`Logrotate`: which logrotate rule keeps a log file for how long;
* :func:`record`, :func:`protection`: a record with its owner, group, mode and readers
  (personal accounts are never named);
* :func:`days_of`, :func:`fmt_days`, :func:`home_dirs`, :func:`tmpfiles_age`.

Python standard library only; nothing here reads mail, log lines or account entries.
"""

from __future__ import annotations

import fnmatch
import glob
import grp
import os
import pwd
import stat
import subprocess

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fsops
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.systemd_conf import parse_timespan

LOG_DATA = 'user names, e-mail addresses, client IP addresses'
PERIOD_DAYS = {'daily': 1, 'weekly': 7, 'monthly': 31, 'yearly': 366, 'hourly': 1.0 / 24}


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
            fd, _st = fsops.open_path(os.path.abspath(self.path(path)))
        except (OSError, ValueError):
            return None
        with os.fdopen(fd, 'rb') as handle:
            try:
                return handle.read(limit).decode('utf-8', 'replace')
            except OSError:
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


# ------------------------------------------------------------------------------ tmpfiles.d
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
