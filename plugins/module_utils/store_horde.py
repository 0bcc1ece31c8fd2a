# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Horde store: the rows of Horde Groupware 5 / IMP 6 SQL tables that belong to the subject.

Horde user ids are the subject's logins and addresses (Horde keys its data by the login name,
often the full address): a login exactly, an address in any letter case of its domain (and of
its local part unless the subject is case-sensitive), never with a plus tag
(``ann+work@example.org`` is another user; ``extended_accounts`` counts such ids and the
request is refused while one exists). A row is the subject's when

* a user column holds one of those ids (``horde_prefs.pref_uid``, ``imp_sentmail.sentmail_who``,
  ``horde_alarms.alarm_uid``, ``horde_histories.history_who``, ``ingo_*.*_owner``, share owners
  and share permissions, ActiveSync state, VFS owner, ...), or
* an owner column of Turba, Kronolith, Nag, Mnemo or Ingo holds the name of a share the
  subject owns (address books, calendars, task lists, notepads), or
* it hangs off such a row (``kronolith_events_geo``, IMAP client cache, share groups, content
  tags), or it is a history entry of an object in one of the subject's shares.

Tables are checked for existence (and their columns) before any query. SQLite through the
standard ``sqlite3`` module, in a helper process that runs as the owner of the database file
after the file was checked on a handle (``_SqliteBackend``: the web server's user owns the
directory and could swap the file for a link or a FIFO); MySQL/MariaDB through the ``mysql``
client in batch mode, with credentials from a client option file (``defaults_file``) or from
``$conf['sql']`` as Horde ends up with it after ``conf.php``, ``conf.d/*.php`` and
``conf.local.php`` (plain literals only, read with module_utils/php_conf.py), identifiers sent
as hex literals on standard input.

Erasure: ``horde-remove-user-data -f`` for each id with data (when installed; the id on its
standard input, where the tool prompts for it, never on its command line), then every
row it left behind (``imp_sentmail``, ``horde_histories``, ``horde_alarms``, and anything an
application failed to remove) in one transaction. Share names are collected before Horde's
tool runs, because it deletes the shares but writes new history entries for their objects.
"""

from __future__ import annotations

import base64
import errno
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fsops
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.php_conf import PhpArray, PhpConfig, layered_files, type_tag
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import (
    Option,
    Store,
    StoreError,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_maildir import (
    BundleWriter,
    bytes_to_json,
)

SHARE_APPS = ('turba', 'kronolith', 'nag', 'mnemo', 'ingo', 'gollem', 'trean')

# table -> columns that hold a Horde user id
USER_COLUMNS = [
    ('horde_prefs', 'pref_uid'),
    ('horde_alarms', 'alarm_uid'),
    ('horde_histories', 'history_who'),
    ('imp_sentmail', 'sentmail_who'),
    ('horde_users', 'user_uid'),
    ('horde_signups', 'user_name'),
    ('horde_groups_members', 'user_uid'),
    ('horde_vfs', 'vfs_owner'),
    ('horde_muvfs', 'vfs_owner'),
    ('horde_locks', 'lock_owner'),
    ('horde_imap_client_data', 'username'),
    ('horde_activesync_device_users', 'device_user'),
    ('horde_activesync_state', 'sync_user'),
    ('horde_activesync_map', 'sync_user'),
    ('horde_activesync_mailmap', 'sync_user'),
    ('horde_activesync_cache', 'cache_user'),
    ('kronolith_storage', 'vfb_owner'),
    ('rampage_users', 'user_name'),
]
for _app in SHARE_APPS:
    USER_COLUMNS += [
        ('%s_sharesng' % _app, 'share_owner'),
        ('%s_sharesng_users' % _app, 'user_uid'),
        ('%s_shares' % _app, 'share_owner'),
        ('%s_shares_users' % _app, 'user_uid'),
    ]

# table -> owner column matched against the ids and the subject's share names of an app
OWNER_COLUMNS = [
    ('turba_objects', 'owner_id', 'turba'),
    ('kronolith_events', 'calendar_id', 'kronolith'),
    ('nag_tasks', 'task_owner', 'nag'),
    ('mnemo_memos', 'memo_owner', 'mnemo'),
    ('ingo_rules', 'rule_owner', 'ingo'),
    ('ingo_lists', 'list_owner', 'ingo'),
    ('ingo_forwards', 'forward_owner', 'ingo'),
    ('ingo_vacations', 'vacation_owner', 'ingo'),
    ('ingo_spam', 'spam_owner', 'ingo'),
]

# child table, column, parent table, parent column: rows that hang off the subject's rows
CHILDREN = [
    ('kronolith_events_geo', 'event_id', 'kronolith_events', 'event_id'),
    ('horde_imap_client_message', 'messageid', 'horde_imap_client_data', 'messageid'),
    ('horde_imap_client_metadata', 'messageid', 'horde_imap_client_data', 'messageid'),
    ('rampage_tagged', 'user_id', 'rampage_users', 'user_id'),
    ('rampage_user_tag_stats', 'user_id', 'rampage_users', 'user_id'),
    ('trean_bookmarks', 'user_id', 'rampage_users', 'user_id'),
]
for _app in SHARE_APPS:
    CHILDREN += [
        ('%s_sharesng_users' % _app, 'share_id', '%s_sharesng' % _app, 'share_id'),
        ('%s_sharesng_groups' % _app, 'share_id', '%s_sharesng' % _app, 'share_id'),
        ('%s_shares_users' % _app, 'share_id', '%s_shares' % _app, 'share_id'),
        ('%s_shares_groups' % _app, 'share_id', '%s_shares' % _app, 'share_id'),
    ]

# columns never copied into an export
SECRET_COLUMNS = {('horde_users', 'user_pass')}

# the tables horde-remove-user-data is known to leave behind (services.md 4.6, checked on
# php-horde 5.2.23: it also writes new history rows for the objects it deletes)
LEFT_BEHIND = ('imp_sentmail', 'horde_histories', 'horde_alarms')

# the $conf['sql'] settings the store uses (others that are plain literals are kept too)
SQL_KEYS = ('phptype', 'database', 'username', 'password', 'protocol', 'socket', 'hostspec', 'port')


def sql_settings(files):
    """``$conf['sql'][KEY]`` values as PHP ends up with them after ``files`` ([(name, text)],
    run one after the other: conf.php, conf.d/*.php, conf.local.php), read with the
    collection's PHP reader (PHP is not run); only plain strings, integers and booleans;
    anything computed or conditional is left out."""
    config = PhpConfig(files)
    block = config.value(['sql'])
    names = [key for key, _value in block.items if isinstance(key, str)] if isinstance(block, PhpArray) else []
    out = {}
    for name in names + [key for key in SQL_KEYS if key not in names]:
        value = config.value(['sql', name])
        if type_tag(value) in ('string', 'int', 'bool'):
            out[name] = value
    return out


# --------------------------------------------------------------------------------------
# conditions
#   ('in', column, [values])                  exact (byte for byte)
#   ('in_ci', column, [values])               case-insensitive
#   ('prefix', column, [prefixes])
#   ('suffix', column, suffix)
#   ('sub', column, table, column, [conditions])   column IN (SELECT col FROM table WHERE ...)
# a list of conditions is OR-ed
# --------------------------------------------------------------------------------------

def _q(name):
    if not re.match(r'^[a-z0-9_]+$', name):
        raise StoreError('horde_sql: invalid identifier')
    return name


# The SQLite work runs in a helper: a fresh interpreter (no copy of this process's memory, no
# inherited descriptor) running as the owner of the database file. It opens the database with
# SQLite (which looks the path up itself and creates -journal/-wal files next to it), checks
# that the file SQLite opened is the inode the parent checked, and answers one JSON request per
# line: {"op": "query", "sql", "params"} -> {"ok", "rows"}, {"op": "delete", "batches"} ->
# {"ok", "total"} (one transaction). Values: JSON, bytes as {"b64": ...}. Errors name the
# exception class only (an SQLite message may quote data).
_SQLITE_HELPER = r"""
import base64, json, os, sqlite3, stat, sys
from urllib.parse import quote

def enc(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {'b64': base64.b64encode(bytes(value)).decode('ascii')}
    return value

def reply(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()

def opened(dev, ino):
    for name in os.listdir('/proc/self/fd'):
        try:
            st = os.stat('/proc/self/fd/' + name)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) == (dev, ino):
            return True
    return False

def main():
    spec = json.loads(sys.stdin.readline())
    try:
        conn = sqlite3.connect('file:%s?mode=rw' % quote(spec['path']), uri=True, timeout=30,
                               isolation_level=None)
        conn.execute('SELECT count(*) FROM sqlite_master').fetchone()
    except Exception as err:
        reply({'ok': False, 'error': type(err).__name__})
        return
    if not opened(spec['dev'], spec['ino']):
        reply({'ok': False, 'error': 'replaced'})
        return
    reply({'ok': True})
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req['op'] == 'query':
                rows = conn.execute(req['sql'], req['params']).fetchall()
                reply({'ok': True, 'rows': [[enc(v) for v in row] for row in rows]})
            elif req['op'] == 'delete':
                total = 0
                conn.execute('BEGIN IMMEDIATE')
                try:
                    for sql, params in req['batches']:
                        total += conn.execute(sql, params).rowcount
                    conn.execute('COMMIT')
                except BaseException:
                    conn.execute('ROLLBACK')
                    raise
                reply({'ok': True, 'total': total})
            else:
                break
        except Exception as err:
            reply({'ok': False, 'error': type(err).__name__})
    conn.close()

main()
"""


def _trusted_dir(st):
    """A directory whose entries only root can change."""
    return st.st_uid == 0 and not st.st_mode & 0o022


class _SqliteBackend(object):
    """Horde's SQLite database, worked on from a helper process.

    The database lives in a directory the web server's user owns (``/var/lib/horde``), and
    Python's sqlite3 opens by path (SQLite resolves symbolic links in it itself) and creates
    ``-journal``/``-wal``/``-shm`` files next to the database. Run as root, a ``www-data``
    that swapped the file for a symbolic link to another SQLite file (or a FIFO) between our
    check and SQLite's open would make root read, export or delete rows of that file, create
    journal files where it points, or hang. So:

    * the directory is opened with :meth:`fsops.Dir.open` (no symbolic link a user other than
      root controls on the way) and the file is checked on a handle
      (:meth:`fsops.Dir.open_file`: not a link, not a FIFO, a regular file) with exactly one
      hard link; a database owned by root must lie in a directory only root can change;
    * the SQLite work runs in a fresh interpreter (``_SQLITE_HELPER``) that runs as the
      file's owner and group (no supplementary groups): whatever the directory's owner swaps
      in, the helper can reach nothing its owner could not already reach, and the journal
      files are the owner's, as Horde's own are. The helper gets no copy of this process's
      memory (module arguments, keys) and no open descriptor;
    * the helper refuses unless the file SQLite opened (found in ``/proc/self/fd``) is the
      inode checked here, so a swap between the check and SQLite's open is refused too;
    * every answer must arrive within ``TIMEOUT`` seconds, or the helper is killed (a FIFO
      swapped in after the check, a database locked for ever).

    Only JSON crosses the pipe (the helper runs as a user who may trace it: nothing it sends
    is executed). SQL statements are built here (identifiers checked by ``_q``); values are
    parameters.
    """

    TIMEOUT = 600
    MAX_REPLY = 1024 * 1024 * 1024

    def __init__(self, path):
        self.path = path
        self.proc = None
        self._buf = bytearray()

    def open(self):
        path = os.path.abspath(self.path)
        directory, name = os.path.split(path)
        try:
            handle = fsops.Dir.open(directory)
        except OSError as err:
            if isinstance(err, FileNotFoundError) or err.errno in (errno.ENOENT, errno.ENOTDIR):
                raise StoreError('horde_sql: the SQLite database does not exist')
            if err.errno == errno.ELOOP:
                raise StoreError('horde_sql: the directory of the SQLite database passes through a '
                                 'symbolic link that a user other than root can change; refusing')
            raise
        with handle:
            try:
                fd, st = handle.open_file(name)
            except FileNotFoundError:
                raise StoreError('horde_sql: the SQLite database does not exist')
            except fsops.FsError:
                raise StoreError('horde_sql: the SQLite database is a symbolic link or not a regular '
                                 'file; refusing')
            os.close(fd)
            dst = handle.stat()
        if st.st_nlink != 1:
            raise StoreError('horde_sql: the SQLite database has more than one hard link; refusing')
        if st.st_uid == 0 and not _trusted_dir(dst):
            raise StoreError('horde_sql: the SQLite database belongs to root but lies in a directory '
                             'another user can change; refusing')
        self._start(path, st)
        return self

    def _start(self, path, st):
        kwargs = {}
        if st.st_uid != os.geteuid() or st.st_gid != os.getegid():
            kwargs = {'user': st.st_uid, 'group': st.st_gid, 'extra_groups': []}
        # this interpreter, or the system's when the database's owner cannot run this one
        # (a virtualenv below /root); the helper needs the standard library only
        for python in [p for p in (sys.executable, '/usr/bin/python3') if p]:
            try:
                self.proc = subprocess.Popen(
                    [python, '-I', '-S', '-c', _SQLITE_HELPER], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True, cwd='/',
                    env={'PATH': '/usr/bin:/bin', 'LC_ALL': 'C'}, **kwargs)
                break
            except (OSError, ValueError):
                continue
        else:
            raise StoreError('horde_sql: the SQLite helper cannot be started as the owner of the '
                             'database (no Python interpreter that user can run)')
        reply = self._call({'path': path, 'dev': st.st_dev, 'ino': st.st_ino})
        if reply.get('error') == 'replaced':
            self.close()
            raise StoreError('horde_sql: the SQLite database was replaced while it was opened; refusing')
        self._check(reply)

    def close(self):
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()

    def _kill(self):
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                try:
                    pipe.close()
                except OSError:
                    pass

    def _check(self, reply):
        if not isinstance(reply, dict) or reply.get('ok') is not True:
            error = reply.get('error') if isinstance(reply, dict) else None
            self.close()
            raise StoreError('horde_sql: SQLite failed (%s)' % (
                error if isinstance(error, str) and re.match(r'^[A-Za-z]{1,64}$', error) else 'bad answer'))
        return reply

    def _call(self, request):
        """Send one request, return the helper's answer (a dict), within TIMEOUT."""
        if self.proc is None:
            raise StoreError('horde_sql: the SQLite helper is not running')
        deadline = time.monotonic() + self.TIMEOUT
        data = memoryview(json.dumps(request).encode('utf-8') + b'\n')
        wfd = self.proc.stdin.fileno()
        rfd = self.proc.stdout.fileno()
        try:
            while data:
                if not select.select([], [wfd], [], self._left(deadline))[1]:
                    continue
                data = data[os.write(wfd, data[:65536]):]
            while b'\n' not in self._buf:
                if not select.select([rfd], [], [], self._left(deadline))[0]:
                    continue
                chunk = os.read(rfd, 1024 * 1024)
                if not chunk:
                    raise StoreError('horde_sql: the SQLite helper ended unexpectedly')
                self._buf += chunk
                if len(self._buf) > self.MAX_REPLY:
                    raise StoreError('horde_sql: the SQLite helper sent too much')
        except (StoreError, OSError) as err:
            self._kill()
            if isinstance(err, StoreError):
                raise
            raise StoreError('horde_sql: the SQLite helper ended unexpectedly')
        end = self._buf.index(b'\n')
        line = bytes(self._buf[:end])
        del self._buf[:end + 1]
        try:
            return json.loads(line.decode('utf-8'))
        except ValueError:
            self._kill()
            raise StoreError('horde_sql: the SQLite helper sent a bad answer')

    def _left(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise StoreError('horde_sql: the SQLite database did not answer within %d s (a FIFO in '
                             'its place, or locked); refusing' % self.TIMEOUT)
        return left

    @staticmethod
    def _value(value):
        if isinstance(value, dict):
            return base64.b64decode(value.get('b64', ''))
        return value

    def _query(self, sql, params=()):
        reply = self._check(self._call({'op': 'query', 'sql': sql, 'params': list(params)}))
        rows = reply.get('rows')
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            self.close()
            raise StoreError('horde_sql: the SQLite helper sent a bad answer')
        return [[self._value(v) for v in row] for row in rows]

    def tables(self):
        rows = self._query("SELECT name FROM sqlite_master WHERE type = 'table'")
        return set(r[0] for r in rows)

    def columns(self, table):
        return [r[1] for r in self._query('PRAGMA table_info("%s")' % _q(table))]

    def _render(self, conds, params):
        parts = []
        for cond in conds:
            if cond[0] == 'in':
                if not cond[2]:
                    continue
                parts.append('"%s" IN (%s)' % (_q(cond[1]), ','.join('?' * len(cond[2]))))
                params.extend(cond[2])
            elif cond[0] == 'in_ci':
                if not cond[2]:
                    continue
                parts.append('lower("%s") IN (%s)' % (_q(cond[1]), ','.join(['lower(?)'] * len(cond[2]))))
                params.extend(cond[2])
            elif cond[0] == 'prefix':
                for prefix in cond[2]:
                    parts.append('substr("%s", 1, %d) = ?' % (_q(cond[1]), len(prefix)))
                    params.append(prefix)
            elif cond[0] == 'suffix':
                # domains compare case-insensitively; owns_address() decides afterwards
                parts.append('lower(substr("%s", %d)) = lower(?)' % (_q(cond[1]), -len(cond[2])))
                params.append(cond[2])
            elif cond[0] == 'sub':
                inner = self._render(cond[4], params)
                parts.append('"%s" IN (SELECT "%s" FROM "%s" WHERE %s)'
                             % (_q(cond[1]), _q(cond[3]), _q(cond[2]), inner))
        return '(' + ' OR '.join(parts) + ')' if parts else '(0)'

    def count(self, table, conds):
        params = []
        where = self._render(conds, params)
        return self._query('SELECT COUNT(*) FROM "%s" WHERE %s' % (_q(table), where), params)[0][0]

    def values(self, table, column, conds):
        params = []
        where = self._render(conds, params)
        rows = self._query('SELECT DISTINCT "%s" FROM "%s" WHERE %s' % (_q(column), _q(table), where), params)
        return [r[0] for r in rows if r[0] is not None]

    def rows(self, table, conds):
        cols = self.columns(table)
        params = []
        where = self._render(conds, params)
        rows = self._query('SELECT %s FROM "%s" WHERE %s'
                           % (', '.join('"%s"' % _q(c) for c in cols), _q(table), where), params)
        return [dict(zip(cols, r)) for r in rows]

    def delete(self, batches):
        """batches: [(table, conds)] in order, all in one transaction (in the helper)."""
        stmts = []
        for table, conds in batches:
            params = []
            where = self._render(conds, params)
            stmts.append(['DELETE FROM "%s" WHERE %s' % (_q(table), where), params])
        total = self._check(self._call({'op': 'delete', 'batches': stmts})).get('total')
        if not isinstance(total, int):
            raise StoreError('horde_sql: the SQLite helper sent a bad answer')
        return total


def _hex(value):
    return "X'%s'" % value.encode('utf-8', 'surrogateescape').hex()


def _my_quote(value):
    return '"%s"' % str(value).replace('\\', '\\\\').replace('"', '\\"')


class _MysqlBackend(object):
    def __init__(self, runner, mysql, database, defaults_file, conf):
        self.runner = runner
        self.mysql = mysql
        self.database = database
        self.defaults_file = defaults_file
        self.conf = conf
        self.tmpdir = None

    def open(self):
        if not self.defaults_file:
            # credentials from conf.php go into a private client option file, never argv
            self.tmpdir = tempfile.mkdtemp(prefix='mailprivacy-horde-')
            path = os.path.join(self.tmpdir, 'client.cnf')
            lines = ['[client]']
            for key, opt in (('username', 'user'), ('password', 'password')):
                if self.conf.get(key) not in (None, ''):
                    lines.append('%s=%s' % (opt, _my_quote(self.conf[key])))
            if self.conf.get('protocol') == 'unix' and self.conf.get('socket'):
                lines.append('socket=%s' % _my_quote(self.conf['socket']))
            else:
                if self.conf.get('hostspec'):
                    lines.append('host=%s' % _my_quote(self.conf['hostspec']))
                if self.conf.get('port'):
                    lines.append('port=%d' % int(self.conf['port']))
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'w') as fh:
                fh.write('\n'.join(lines) + '\n')
            self.defaults_file = path
        return self

    def close(self):
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    def _sql(self, sql):
        argv = [self.mysql, '--defaults-extra-file=%s' % self.defaults_file, '--batch',
                '--skip-column-names', '--default-character-set=utf8mb4', self.database]
        rc, out, _err = self.runner.run(argv, data=sql.encode('utf-8'), check=False)
        if rc != 0:
            raise StoreError('horde_sql: the mysql client failed (exit %d)' % rc)
        return [line.split('\t') for line in out.decode('utf-8', 'replace').split('\n') if line != '']

    def tables(self):
        return set(r[0] for r in self._sql('SHOW TABLES;'))

    def columns(self, table):
        rows = self._sql("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE "
                         "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '%s' ORDER BY ORDINAL_POSITION;"
                         % _q(table))
        return [r[0] for r in rows]

    def _render(self, conds):
        """MySQL/MariaDB compare strings with the column's collation, usually case-insensitive
        (and a hex literal is no exception in MariaDB): exact matches also compare the bytes."""
        parts = []
        for cond in conds:
            col = _q(cond[1])
            if cond[0] == 'in':
                if cond[2]:
                    values = ','.join(_hex(v) for v in cond[2])
                    parts.append('(`%s` IN (%s) AND CAST(`%s` AS BINARY) IN (%s))' % (col, values, col, values))
            elif cond[0] == 'in_ci':
                if cond[2]:
                    parts.append('LOWER(`%s`) IN (%s)' % (col, ','.join(
                        'LOWER(CONVERT(%s USING utf8mb4))' % _hex(v) for v in cond[2])))
            elif cond[0] == 'prefix':
                for prefix in cond[2]:
                    parts.append('LEFT(CAST(`%s` AS BINARY), %d) = %s'
                                 % (col, len(prefix.encode('utf-8', 'surrogateescape')), _hex(prefix)))
            elif cond[0] == 'suffix':
                # domains compare case-insensitively; owns_address() decides afterwards
                parts.append('LOWER(RIGHT(`%s`, %d)) = LOWER(CONVERT(%s USING utf8mb4))'
                             % (col, len(cond[2]), _hex(cond[2])))
            elif cond[0] == 'sub':
                # MySQL refuses a DELETE whose subquery reads the same table: materialise
                parts.append('`%s` IN (SELECT x FROM (SELECT `%s` AS x FROM `%s` WHERE %s) AS t)'
                             % (col, _q(cond[3]), _q(cond[2]), self._render(cond[4])))
        return '(' + ' OR '.join(parts) + ')' if parts else '(0)'

    def count(self, table, conds):
        rows = self._sql('SELECT COUNT(*) FROM `%s` WHERE %s;' % (_q(table), self._render(conds)))
        return int(rows[0][0]) if rows else 0

    def values(self, table, column, conds):
        rows = self._sql('SELECT DISTINCT HEX(CAST(`%s` AS BINARY)) FROM `%s` WHERE %s;'
                         % (_q(column), _q(table), self._render(conds)))
        return [bytes.fromhex(r[0]).decode('utf-8', 'surrogateescape') for r in rows
                if r and r[0] != 'NULL']

    def rows(self, table, conds):
        cols = self.columns(table)
        # HEX() of a number is the number in base 16: cast every value to its bytes first
        sel = ', '.join('HEX(CAST(`%s` AS BINARY))' % _q(c) for c in cols)
        out = []
        for row in self._sql('SELECT %s FROM `%s` WHERE %s;' % (sel, _q(table), self._render(conds))):
            values = [None if v == 'NULL' else bytes.fromhex(v) for v in row]
            out.append(dict(zip(cols, values)))
        return out

    def delete(self, batches):
        stmts = ['SET autocommit = 0;', 'START TRANSACTION;']
        for table, conds in batches:
            stmts.append('DELETE FROM `%s` WHERE %s;' % (_q(table), self._render(conds)))
        stmts.append('COMMIT;')
        # the client stops at the first error and the transaction is rolled back on disconnect
        self._sql('\n'.join(stmts))
        return None


class HordeSqlStore(Store):
    """Horde Groupware / IMP SQL tables (SQLite or MySQL/MariaDB)."""

    name = 'horde_sql'
    units = 'rows'
    OPTIONS = {
        'conf_php': Option('/etc/horde/horde/conf.php', 'str',
                           "Horde's C(conf.php): the database settings (C($conf['sql'])) are read from it, "
                           'C(conf.d/*.php) and C(conf.local.php) as Horde reads them (plain literals only).'),
        'driver': Option('auto', 'str', 'V(sqlite), V(mysql) (MySQL or MariaDB), or V(auto): from the C(phptype) of '
                         "Horde's configuration (V(mysql) when only C(defaults_file) is set)."),
        'database': Option('', 'str', "The SQLite file or MySQL database name; empty: from Horde's configuration."),
        'defaults_file': Option('', 'str', 'A MySQL client option file with the credentials; empty: those of '
                                "Horde's configuration."),
        'mysql': Option('mysql', 'str', 'The C(mysql) client command.'),
        'remove_user_data': Option('/usr/bin/horde-remove-user-data', 'str',
                                   "Horde's C(horde-remove-user-data), run for each user id of the subject before the "
                                   'rows it leaves are deleted directly; empty or missing: the rows are deleted '
                                   'directly only.'),
    }

    def __init__(self, options=None, runner=None):
        super(HordeSqlStore, self).__init__(options, runner)
        if self.options['driver'] not in ('auto', 'sqlite', 'mysql'):
            raise StoreError('horde_sql: option driver must be auto, sqlite or mysql')

    # ---------------------------------------------------------------- connection

    def _conf(self):
        path = self.options['conf_php']
        if not path or not os.path.isfile(path):
            return {}
        files = []
        for name in layered_files(path):  # conf.php, conf.d/*.php, conf.local.php as Horde reads them
            try:
                files.append((name, fsops.read_file(os.path.abspath(name)).decode('utf-8', 'replace')))
            except OSError:
                return {}
        return sql_settings(files)

    def _settings(self):
        """(driver, database, conf) or raise StoreError with the reason."""
        conf = self._conf()
        driver = self.options['driver']
        if driver == 'auto':
            phptype = str(conf.get('phptype', '')).lower()
            if phptype.startswith('sqlite'):
                driver = 'sqlite'
            elif phptype in ('mysql', 'mysqli', 'pdo_mysql'):
                driver = 'mysql'
            elif phptype:
                raise StoreError('horde_sql: Horde uses a database type this store does not support')
            elif self.options['defaults_file']:
                driver = 'mysql'
            else:
                raise StoreError('horde_sql: no Horde SQL configuration found')
        database = self.options['database'] or str(conf.get('database', ''))
        if not database:
            raise StoreError('horde_sql: the Horde database is not configured')
        return driver, database, conf

    def _backend(self):
        driver, database, conf = self._settings()
        if driver == 'sqlite':
            return _SqliteBackend(database).open()
        mysql = self.runner.which(self.options['mysql'])
        if not mysql:
            raise StoreError('horde_sql: the mysql client is not installed')
        return _MysqlBackend(self.runner, mysql, database, self.options['defaults_file'], conf).open()

    def available(self):
        try:
            driver, database, _conf = self._settings()
        except StoreError as exc:
            return False, str(exc).replace('horde_sql: ', '')
        if driver == 'sqlite' and not os.path.isfile(database):
            return False, 'the Horde SQLite database does not exist'
        if driver == 'mysql' and not self.runner.which(self.options['mysql']):
            return False, 'the mysql client is not installed'
        return True, ''

    # ---------------------------------------------------------------- planning

    def _ids(self, subject, db, tables):
        """Horde user ids of the subject."""
        if subject.kind == 'domain':
            ids = set()
            domains = set(subject.domain_variants)
            for table, column in USER_COLUMNS:
                if table not in tables or column not in db.columns(table):
                    continue
                for dom in domains:
                    for value in db.values(table, column, [('suffix', column, '@' + dom)]):
                        if subject.owns_address(value):
                            ids.add(value)
            return sorted(ids)
        ids = []
        for ident in tuple(subject.logins) + tuple(subject.addresses) + \
                tuple(getattr(subject, 'address_variants', ()) or ()):
            if ident not in ids:
                ids.append(ident)
        # the spellings of the subject's addresses in the database: letter case of the domain
        # (and of the local part, unless the subject is case-sensitive); owns_login decides,
        # exactly, never by a plus tag
        addresses = [i for i in ids if '@' in i]
        if addresses:
            for table, column in USER_COLUMNS:
                if table not in tables or column not in db.columns(table):
                    continue
                for value in db.values(table, column, [('in_ci', column, addresses)]):
                    if value not in ids and subject.owns_login(value):
                        ids.append(value)
        return ids

    def extended_accounts(self, subject):
        """Horde user ids (in the user columns) that extend an address or login of the subject
        with the plus separator (``ann+work@example.org`` for ``ann@example.org``)."""
        if not subject.plus_separator:
            return 0
        db = self._backend()
        try:
            tables = db.tables()
            domains = set()
            for ident in tuple(subject.addresses) + tuple(getattr(subject, 'address_variants', ()) or ()) + \
                    tuple(subject.logins):
                if '@' in ident:
                    domains.add(ident.rpartition('@')[2])
            prefixes = [l + subject.plus_separator for l in subject.logins if '@' not in l]
            found = set()
            for table, column in USER_COLUMNS:
                if table not in tables or column not in db.columns(table):
                    continue
                conds = [('suffix', column, '@' + dom) for dom in sorted(domains)]
                if prefixes:
                    conds.append(('prefix', column, prefixes))
                if not conds:
                    continue
                for value in db.values(table, column, conds):
                    if subject.extends_account(value):
                        found.add(value)
        finally:
            db.close()
        return len(found)

    def _plan(self, subject, db):
        """[(table, conds)] ordered children first, and the ids that have data."""
        tables = db.tables()
        cols = {}

        def has(table, column):
            if table not in tables:
                return False
            if table not in cols:
                cols[table] = set(db.columns(table))
            return column in cols[table]

        ids = self._ids(subject, db, tables)
        conds = {}

        def add(table, cond):
            conds.setdefault(table, []).append(cond)

        if not ids:
            return [], []
        for table, column in USER_COLUMNS:
            if has(table, column):
                add(table, ('in', column, list(ids)))
        shares = {}
        for app in SHARE_APPS:
            names = set()
            for stable in ('%s_sharesng' % app, '%s_shares' % app):
                if has(stable, 'share_owner') and has(stable, 'share_name'):
                    names.update(db.values(stable, 'share_name', [('in', 'share_owner', list(ids))]))
            shares[app] = sorted(names)
        for table, column, app in OWNER_COLUMNS:
            if has(table, column):
                add(table, ('in', column, sorted(set(ids) | set(shares.get(app, [])))))
        if has('horde_histories', 'object_uid'):
            prefixes = []
            for app in ('turba', 'kronolith', 'nag', 'mnemo'):
                for owner in sorted(set(shares.get(app, [])) | set(ids)):
                    prefixes.append('%s:%s:' % (app, owner))
            add('horde_histories', ('prefix', 'object_uid', prefixes))
        for child, ccol, parent, pcol in CHILDREN:
            if has(child, ccol) and has(parent, pcol) and parent in conds:
                add(child, ('sub', ccol, parent, pcol, list(conds[parent])))
        parents = set(p for _c, _cc, p, _pc in CHILDREN)
        order = sorted(conds, key=lambda t: (t in parents, t))     # children before parents
        return [(t, conds[t]) for t in order], ids

    def _count(self, db, plan):
        found = 0
        detail = {}
        for table, conds in plan:
            n = db.count(table, conds)
            if n:
                detail[table] = n
                found += n
        return found, detail

    # ---------------------------------------------------------------- operations

    def locate(self, subject):
        db = self._backend()
        try:
            plan, _ids = self._plan(subject, db)
            found, detail = self._count(db, plan)
        finally:
            db.close()
        return self.result(found=found, detail=detail)

    def export(self, subject, bundle_dir):
        db = self._backend()
        writer = BundleWriter(self, bundle_dir)
        found = 0
        detail = {}
        try:
            plan, _ids = self._plan(subject, db)
            for table, conds in plan:
                rows = db.rows(table, conds)
                if not rows:
                    continue
                out = []
                for row in rows:
                    item = {}
                    for col, value in row.items():
                        if (table, col) in SECRET_COLUMNS:
                            item[col] = '(not exported: password hash)'
                        else:
                            item[col] = bytes_to_json(value)
                    out.append(item)
                writer.write_json(['%s.json' % table], {'store': self.name, 'table': table, 'rows': out},
                                  kind='rows', count=len(out))
                detail[table] = len(out)
                found += len(out)
        finally:
            db.close()
        return self.result(found=found, detail=detail, files=writer.files)

    def erase(self, subject, check_mode):
        db = self._backend()
        manual = []
        try:
            plan, ids = self._plan(subject, db)     # share names frozen here
            found, detail = self._count(db, plan)
            if check_mode or not found:
                return self.result(found=found, detail=detail, erased=found if check_mode else 0)
            tool = self.options['remove_user_data']
            with_data = [i for i in ids if self._has_data(db, plan, i)]
            if not (tool and os.path.isfile(tool) and os.access(tool, os.X_OK)):
                detail['remove_user_data_missing'] = 1
            elif self._case_variants(db, with_data):
                # Horde's tool deletes with the database's collation: on a case-insensitive
                # MySQL it would also remove user ids that differ from the subject's in case only
                detail['remove_user_data_skipped'] = 1
                manual.append('Horde: the database holds user ids that differ from the subject\'s '
                              'only in letter case; horde-remove-user-data was not run (it would '
                              'remove those too) and the subject\'s rows were deleted directly. '
                              'Check Horde\'s VFS and caches.')
            else:
                for uid in with_data:
                    rc = self._remove_user_data(tool, uid)
                    if rc != 0:
                        detail['remove_user_data_failed'] = detail.get('remove_user_data_failed', 0) + 1
                if detail.get('remove_user_data_failed'):
                    manual.append('Horde: horde-remove-user-data reported errors for the subject; the '
                                  'remaining rows were deleted directly. Check Horde\'s VFS and caches '
                                  'and the application logs.')
                # reconnect: Horde's tool changed the database under this connection
                db.close()
                db = self._backend()
            db.delete(list(plan))
            after, _after_detail = self._count(db, plan)
        finally:
            db.close()
        detail['remaining'] = after
        return self.result(found=found, detail=detail, erased=max(found - after, 0),
                           manual_steps=manual)

    def _remove_user_data(self, tool, uid):
        """Exit code of ``horde-remove-user-data -f`` for one user id, given on stdin, not on
        the command line: without a user argument the tool asks for the user, then for the
        application (an empty answer: all of them, as with an argument); ``-f`` skips the
        confirmation. The prompt trims its answer (PHP trim), so an id that trimming would
        change is passed as an argument, as before."""
        if uid and uid == uid.strip(' \t\n\r\x00\x0b') and '\n' not in uid and '\r' not in uid:
            rc, _out, _err = self.runner.run([tool, '-f'], data=(uid + '\n\n').encode('utf-8', 'surrogateescape'),
                                             check=False)
        else:
            rc, _out, _err = self.runner.run([tool, '-f', uid], check=False)
        return rc

    @staticmethod
    def _case_variants(db, ids):
        """True when a user column holds an id equal to one of ``ids`` but for letter case."""
        if not ids:
            return False
        tables = db.tables()
        for table, column in USER_COLUMNS:
            if table not in tables or column not in db.columns(table):
                continue
            if db.count(table, [('in_ci', column, list(ids))]) > db.count(table, [('in', column, list(ids))]):
                return True
        return False

    @staticmethod
    def _has_data(db, plan, uid):
        for table, column in USER_COLUMNS:
            for ptable, conds in plan:
                if ptable == table and db.count(table, [('in', column, [uid])]):
                    return True
        for table, column, _app in OWNER_COLUMNS:
            for ptable, _conds in plan:
                if ptable == table and db.count(table, [('in', column, [uid])]):
                    return True
        return False
