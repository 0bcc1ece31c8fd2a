# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Account-database stores: Courier userdb, qmail ``users/assign`` and vpopmail.

Each is its own Store class. An entry belongs to the subject only when its key is exactly one
of the subject's logins or an address the subject owns (``Subject.owns_address``): 'joann' is
not 'ann', 'ann@example.com.evil' is not 'ann@example.com', and whatever the plus separator,
'ann+work@example.com' and 'ann-marie@example.com' are other people's accounts, never the
subject's (the domain compares in any IDNA form and letter case, the local part without letter
case unless the subject is case-sensitive). ``extended_accounts`` counts those accounts, whose
names extend the subject's with the plus separator; the request flow refuses the request while
one exists (``request.check_extended_accounts``).

Erasure removes the entries (atomic rewrite, same owner, group and mode, every other line
byte for byte), rebuilds the compiled database (``makeuserdb``, ``qmail-newu``) and, with
``remove_home`` (default), the entries' home directories. Before anything changes it refuses
when a home is shared with an entry that is not the subject's, lies outside ``roots`` or
passes through a symbolic link. Order: homes, then entries, then the rebuild, so a run killed
at any point is completed by the next run (a rebuild is also run when the compiled database
is older than its source).
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import (
    Option,
    Store,
    StoreError,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fileutil
from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fsops
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_maildir import (
    BundleWriter,
    ConfineError,
    TreeRef,
    _is_below,
    confine,
    root_of,
    tombstone_path,
)

DEFAULT_ROOTS = ['/home', '/var/vmail', '/var/mail']


def _dec(raw):
    return raw.decode('utf-8', 'surrogateescape')


def _check_roots(store):
    roots = store.options['roots']
    if not all(isinstance(r, str) and r.startswith('/') and os.path.normpath(r) != '/' for r in roots):
        raise StoreError('%s: option roots takes absolute directories other than /' % store.name)


def _owned(subject, key):
    """Exact ownership of an account key (login or address)."""
    if not key:
        return False
    try:
        return bool(subject.owns_login(key))
    except (ValueError, UnicodeError):
        return False


def _homes_conflict(home, others):
    """True when ``home`` equals or contains a home in ``others`` (removing it would remove
    another account's files). A home inside another account's tree (a vpopmail-style domain
    directory) is not a conflict: only the subject's subdirectory goes."""
    norm = os.path.normpath(home)
    for other in others:
        if not other:
            continue
        onorm = os.path.normpath(other)
        if onorm == norm or _is_below(onorm, norm):
            return True
    return False


def _check_homes(store, homes, other_homes, roots):
    """Refuse (StoreError) unless every existing home can be removed safely.
    Returns the homes (or their tombstones) that exist."""
    todo = []
    for home in sorted(set(homes)):
        if not home:
            continue
        if not os.path.isabs(home):
            raise StoreError('%s: an entry of the subject has a relative home directory; refusing'
                             % store.name)
        if _homes_conflict(home, other_homes):
            raise StoreError('%s: a home directory of the subject is shared with an account that '
                             'is not the subject\'s; refusing' % store.name)
        norm = os.path.normpath(home)
        if root_of(norm, roots) is None:
            # only whether it exists: a home outside the roots is never read or removed
            if os.path.lexists(norm) or os.path.lexists(tombstone_path(norm)):
                raise StoreError('%s: a path of the subject lies outside the configured roots (home '
                                 'directory); refusing' % store.name)
            continue
        ref = _home_ref(store, norm, roots)
        if ref is None:
            continue
        with ref:
            if ref.exists():
                todo.append(norm)
    # a home inside another home of the subject goes with the outer one
    return [h for h in todo if not any(_is_below(h, o) for o in todo if o != h)]


def _home_ref(store, home, roots):
    """The :class:`TreeRef` of a home directory, reached from the handle of its root without
    following a link (None when its parent does not exist); refusals as StoreError."""
    try:
        return TreeRef.open(home, roots)
    except ConfineError as err:
        raise StoreError('%s: %s (home directory); refusing' % (store.name, err))


def _erase_home(store, home, roots):
    """Remove a home directory checked by :func:`_check_homes`: opened again from the handle
    of its root (a link swapped in meanwhile is refused), renamed to its tombstone and removed
    through its parent's handle (``TreeRef.erase``)."""
    ref = _home_ref(store, home, roots)
    if ref is None:
        return
    with ref:
        ref.erase()


def _read(store_name, path):
    """The bytes of the regular file ``path`` (:func:`fsops.open_path`: no symbolic link
    that a user other than root controls, O_NOFOLLOW and O_NONBLOCK, checked on the handle:
    a FIFO cannot block the read). A missing file raises FileNotFoundError; a link or
    anything but a regular file StoreError."""
    try:
        return fsops.read_file(os.path.abspath(path))
    except fsops.FsError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            raise FileNotFoundError(errno.ENOENT, 'a file to read does not exist')
        raise StoreError('%s: a file it reads is a symbolic link or not a regular file; refusing'
                         % store_name)


def _count_homes(homes):
    dirs = sorted(set(os.path.normpath(h) for h in homes if h and os.path.isdir(h)))
    return len([h for h in dirs if not any(_is_below(h, o) for o in dirs if o != h)])


def _stale(compiled, sources, missing_ok=False):
    """True when the compiled database is older than one of its sources (or missing, unless
    ``missing_ok``: a host that never built it is not this store's business)."""
    try:
        cmtime = os.stat(compiled).st_mtime
    except OSError:
        return not missing_ok
    for src in sources:
        try:
            if os.stat(src).st_mtime > cmtime:
                return True
        except OSError:
            continue
    return False


class _FileLock(object):
    def __init__(self, path):
        self.path = path
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | getattr(os, 'O_NOFOLLOW', 0), 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _rewrite(path, keep_lines):
    # a new mtime, as any edit gives: the compiled database (userdb.dat, users/cdb) is rebuilt
    # when it is older than its sources, also by a re-run after a kill before the rebuild
    fileutil.atomic_write(path, keep_lines, like=path, keep_times=False)


# --------------------------------------------------------------------------------------
# Courier userdb
# --------------------------------------------------------------------------------------

class CourierUserdbStore(Store):
    """Courier authlib userdb: ``/etc/courier/userdb`` (a file, or a directory of files as
    makeuserdb reads it: recursive, names starting with a dot skipped), then ``makeuserdb``."""

    name = 'courier_userdb'
    units = 'entries'
    OPTIONS = {
        'userdb': Option('/etc/courier/userdb', 'str', "Courier's userdb source: a file, or a directory of files "
                         'as C(makeuserdb) reads it.'),
        'makeuserdb': Option('makeuserdb', 'str', 'The C(makeuserdb) command, which rebuilds C(userdb.dat).'),
        'remove_home': Option(True, 'bool', "Remove the home directories of the subject's entries too."),
        'roots': Option(DEFAULT_ROOTS, 'list', 'Directories below which a home directory must lie (with no symbolic '
                        'link on the way) to be removed.', elements='str'),
    }

    def __init__(self, options=None, runner=None):
        super(CourierUserdbStore, self).__init__(options, runner)
        _check_roots(self)

    def available(self):
        path = self.options['userdb']
        if not os.path.exists(path):
            return False, 'no Courier userdb at the configured path'
        return True, ''

    def _files(self):
        path = self.options['userdb']
        if os.path.islink(path):
            raise StoreError('courier_userdb: the userdb path is a symbolic link; refusing')
        if os.path.isdir(path):
            # from handles (fsops.walk: no directory through a link); a file that is a link or
            # not a regular file is refused: makeuserdb would read what it points to
            files = []
            with fsops.Dir.open(os.path.abspath(path)) as top:
                for relparts, _handle, entries in fsops.walk(top):
                    if any(part.startswith('.') for part in relparts):
                        continue
                    for fname, fst in entries:
                        if fname.startswith('.') or stat.S_ISDIR(fst.st_mode):
                            continue
                        if not stat.S_ISREG(fst.st_mode):
                            raise StoreError('courier_userdb: a file in the userdb directory is a '
                                             'symbolic link or not a regular file; refusing')
                        files.append(os.path.join(path, *(relparts + (fname,))))
            return files
        if os.path.isfile(path):
            return [path]
        return []

    @staticmethod
    def _parse_line(line):
        """(key, fields dict) for an entry line, None for comments and blank lines."""
        if line.startswith(b'#') or line in (b'\n', b'') or b'\t' not in line:
            return None
        key, _tab, rest = line.rstrip(b'\n').partition(b'\t')
        fields = {}
        for item in rest.split(b'|'):
            name, _eq, value = item.partition(b'=')
            fields[_dec(name)] = _dec(value)
        return _dec(key), fields

    def _scan(self, subject):
        """[(file, lines, [matching line indexes])], homes of the subject, homes of others."""
        plan = []
        homes = []
        others = []
        for fpath in self._files():
            lines = _read(self.name, fpath).splitlines(True)
            hits = []
            for idx, line in enumerate(lines):
                parsed = self._parse_line(line)
                if not parsed:
                    continue
                key, fields = parsed
                paths = [fields.get('home', ''), fields.get('mail', '')]
                if _owned(subject, key):
                    hits.append(idx)
                    homes.extend(p for p in paths if p)
                else:
                    others.extend(p for p in paths if p)
            plan.append((fpath, lines, hits))
        return plan, homes, others

    def _entries(self, plan):
        out = []
        for _fpath, lines, hits in plan:
            for idx in hits:
                key, fields = self._parse_line(lines[idx])
                shown = {}
                for name, value in fields.items():
                    shown[name] = '(not exported: password hash)' if name.endswith('pw') else value
                out.append({'account': key, 'fields': shown})
        return out

    def locate(self, subject):
        plan, homes, _others = self._scan(subject)
        found = sum(len(h) for _f, _l, h in plan)
        detail = {'entries': found, 'home_dirs': _count_homes(homes)}
        return self.result(found=found, detail=detail)

    def extended_accounts(self, subject):
        """Entries whose key extends an address or login of the subject with the plus
        separator (``ann+work@example.com`` for ``ann@example.com``)."""
        plan, _homes, _others = self._scan(subject)
        count = 0
        for _fpath, lines, _hits in plan:
            for line in lines:
                parsed = self._parse_line(line)
                if parsed and subject.extends_account(parsed[0]):
                    count += 1
        return count

    def export(self, subject, bundle_dir):
        plan, _homes, _others = self._scan(subject)
        entries = self._entries(plan)
        writer = BundleWriter(self, bundle_dir)
        if entries:
            writer.write_json(['entries.json'], {'store': self.name, 'entries': entries},
                              kind='rows', count=len(entries))
        return self.result(found=len(entries), detail={'entries': len(entries)},
                           files=writer.files)

    def _erase_plan(self, subject):
        plan, homes, others = self._scan(subject)
        found = sum(len(h) for _f, _l, h in plan)
        todo_homes = []
        if self.options['remove_home'] and found:
            todo_homes = _check_homes(self, homes, others, self.options['roots'])
        detail = {'entries': found, 'home_dirs': len(todo_homes)}
        sources = [f for f, _l, _h in plan]
        rebuild = found > 0 or _stale(self.options['userdb'] + '.dat', sources, missing_ok=True)
        if rebuild:
            detail['rebuild'] = 1
        return plan, found, todo_homes, rebuild, detail

    def erase(self, subject, check_mode):
        # every refusal happens before anything is written (not even the lock file)
        plan, found, todo_homes, rebuild, detail = self._erase_plan(subject)
        if check_mode:
            return self.result(found=found, detail=detail, erased=found)
        makeuserdb = self.runner.which(self.options['makeuserdb'])
        if rebuild and not makeuserdb:
            raise StoreError('courier_userdb: makeuserdb not found; refusing to edit the userdb')
        lockdir = os.path.dirname(os.path.normpath(self.options['userdb']))
        with _FileLock(os.path.join(lockdir, '.lock.userdb')):
            # the same lock as Courier's userdb command; plan again under it
            plan, found, todo_homes, rebuild, detail = self._erase_plan(subject)
            for home in todo_homes:
                _erase_home(self, home, self.options['roots'])
            for fpath, lines, hits in plan:
                if hits:
                    drop = set(hits)
                    _rewrite(fpath, [line for idx, line in enumerate(lines) if idx not in drop])
            if rebuild:
                rc, _out, _err = self.runner.run([makeuserdb], check=False)
                if rc != 0:
                    raise StoreError('courier_userdb: makeuserdb failed (exit %d); the entries are '
                                     'removed from the source, run makeuserdb by hand' % rc)
        return self.result(found=found, detail=detail, erased=found)


# --------------------------------------------------------------------------------------
# qmail users/assign
# --------------------------------------------------------------------------------------

class QmailAssignStore(Store):
    """qmail ``users/assign`` (``=local:user:uid:gid:home:dash:ext:`` and ``+prefix:...`` lines,
    ended by ``.``), then ``qmail-newu``.

    A line is the subject's when its user field is a login of the subject, or (``=`` lines)
    its local part is a login, or the local part qmail derives from an address of the subject:
    the local part itself for a domain in ``control/locals``, ``PREFIX-local`` for a domain
    mapped to PREFIX in ``control/virtualdomains`` (compared without letter case, as
    qmail-lspawn lowercases the address before the lookup, unless the subject is
    case-sensitive). Never by a plus tag: ``=ann-marie:...`` is another user's line. For kind
    ``domain`` the ``=`` lines of the domain's virtualdomains prefix; the domain's ``+``
    wildcard line is left to the administrator (reported as a manual step).

    ``extended_accounts`` counts the lines (before the ``.``) of users other than the
    subject's (its logins and the users of its own lines) whose local part extends one of
    those names with the plus separator (``=ann-marie:`` or a ``+ann-:bob:`` wildcard for
    ``ann`` with ``-``)."""

    name = 'qmail_assign'
    units = 'entries'
    OPTIONS = {
        'qmail_dir': Option('/var/qmail', 'str', "qmail's directory (C(users/assign), C(control/locals), "
                            'C(control/virtualdomains)).'),
        'qmail_newu': Option('', 'str', 'The C(qmail-newu) command, which rebuilds C(users/cdb); empty: '
                             'C(<qmail_dir>/bin/qmail-newu).'),
        'remove_home': Option(True, 'bool', "Remove the home directories of the subject's lines too."),
        'roots': Option(DEFAULT_ROOTS, 'list', 'Directories below which a home directory must lie (with no symbolic '
                        'link on the way) to be removed.', elements='str'),
    }

    def __init__(self, options=None, runner=None):
        super(QmailAssignStore, self).__init__(options, runner)
        _check_roots(self)

    def _path(self, *parts):
        return os.path.join(self.options['qmail_dir'], *parts)

    def _newu(self):
        return self.options['qmail_newu'] or self._path('bin', 'qmail-newu')

    def available(self):
        if not os.path.isfile(self._path('users', 'assign')):
            return False, 'no qmail users/assign file'
        return True, ''

    def _control_lines(self, name):
        try:
            return [_dec(line).strip() for line in _read(self.name, self._path('control', name)).splitlines()]
        except OSError:
            return []

    def _locals(self, subject):
        """Local names qmail derives from the subject's addresses, and the domain prefixes."""
        locals_ = set(d.lower() for d in self._control_lines('locals') if d)
        virtual = {}
        for line in self._control_lines('virtualdomains'):
            if ':' in line and not line.startswith('#'):
                dom, _c, prefix = line.partition(':')
                if dom and '@' not in dom and not dom.startswith('.'):
                    virtual[dom.lower()] = prefix
        names = set()
        prefixes = set()
        if subject.kind == 'domain':
            dom = (subject.domain or '').lower()
            if dom in virtual and virtual[dom]:
                prefixes.add(virtual[dom] + '-')
            return names, prefixes
        for addr in tuple(getattr(subject, 'address_variants', ()) or ()) + tuple(subject.addresses):
            local, _at, dom = addr.rpartition('@')
            dom = dom.lower()
            if dom in virtual and virtual[dom]:
                names.add(virtual[dom] + '-' + local)
            elif dom in locals_:
                names.add(local)
        return names, prefixes

    @staticmethod
    def _parse_line(line):
        text = _dec(line.rstrip(b'\n'))
        if not text or text[0] not in '=+':
            return None
        fields = text[1:].split(':')
        if len(fields) < 7:
            return None
        return text[0], fields

    def _scan(self, subject):
        path = self._path('users', 'assign')
        if os.path.islink(path):
            raise StoreError('qmail_assign: users/assign is a symbolic link; refusing')
        lines = _read(self.name, path).splitlines(True)
        names, prefixes = self._locals(subject)
        folded = set(subject.fold_local(n) for n in names)
        hits = []
        homes = []
        others = []
        wildcard = 0
        for idx, kind, fields in self._entries(lines):
            local, user, home = fields[0], fields[1], fields[4]
            mine = user in subject.logins
            if kind == '=':
                if local in subject.logins or subject.fold_local(local) in folded:
                    mine = True
                if any(local.startswith(p) and len(local) > len(p) for p in prefixes):
                    mine = True
            elif kind == '+' and subject.kind == 'domain' and local in prefixes:
                wildcard += 1
                others.append(home)
                continue
            if mine:
                hits.append(idx)
                homes.append(home)
            else:
                others.append(home)
        return path, lines, hits, homes, others, wildcard

    def _entries(self, lines):
        """(index, kind, fields) of every entry line before the line ``.``."""
        out = []
        for idx, line in enumerate(lines):
            if line.rstrip(b'\n') == b'.':
                break
            parsed = self._parse_line(line)
            if parsed:
                out.append((idx, parsed[0], parsed[1]))
        return out

    def extended_accounts(self, subject):
        _path, lines, hits, _homes, _others, _wildcard = self._scan(subject)
        names, _prefixes = self._locals(subject)
        bare = [l for l in subject.logins if '@' not in l]
        entries = self._entries(lines)
        # the users of the subject's own lines: their extension and wildcard lines are the
        # subject's too, not another account
        own_users = set(subject.logins) | set(fields[1] for idx, _kind, fields in entries if idx in hits)
        count = 0
        for _idx, _kind, fields in entries:
            local, user = fields[0], fields[1]
            if user in own_users:
                continue
            if any(subject.extends_name(local, n, fold=True) for n in names) or \
                    any(subject.extends_name(local, l) or subject.extends_name(user, l) for l in bare):
                count += 1
        return count

    def _manual(self, wildcard):
        if not wildcard:
            return []
        return ['qmail users/assign: the wildcard (+) line of the customer domain is left in place; '
                'remove it with the tool that manages the domain (for example vdeldomain) once the '
                'domain is given up']

    def locate(self, subject):
        _path, _lines, hits, homes, _others, wildcard = self._scan(subject)
        detail = {'entries': len(hits), 'home_dirs': _count_homes(homes)}
        if wildcard:
            detail['domain_wildcard_lines'] = wildcard
        return self.result(found=len(hits), detail=detail, manual_steps=self._manual(wildcard))

    def export(self, subject, bundle_dir):
        _path, lines, hits, _homes, _others, _wildcard = self._scan(subject)
        rows = []
        for idx in hits:
            kind, fields = self._parse_line(lines[idx])
            rows.append({'type': 'exact' if kind == '=' else 'prefix', 'local': fields[0],
                         'user': fields[1], 'uid': fields[2], 'gid': fields[3], 'home': fields[4],
                         'dash': fields[5], 'ext': fields[6]})
        writer = BundleWriter(self, bundle_dir)
        if rows:
            writer.write_json(['entries.json'], {'store': self.name, 'entries': rows},
                              kind='rows', count=len(rows))
        return self.result(found=len(rows), detail={'entries': len(rows)}, files=writer.files)

    def erase(self, subject, check_mode):
        path, lines, hits, homes, others, wildcard = self._scan(subject)
        todo_homes = []
        if self.options['remove_home'] and hits:
            todo_homes = _check_homes(self, homes, others, self.options['roots'])
        found = len(hits)
        detail = {'entries': found, 'home_dirs': len(todo_homes)}
        # qmail reads users/cdb, never users/assign: rebuild only a compiled database that
        # exists (creating one would switch on assign entries the host never used); a stale one
        # (an erasure killed between the rewrite and qmail-newu) is rebuilt on the re-run.
        cdb = self._path('users', 'cdb')
        rebuild = os.path.exists(cdb) and (found > 0 or _stale(cdb, [path]))
        if rebuild:
            detail['rebuild'] = 1
        manual = self._manual(wildcard)
        if check_mode:
            return self.result(found=found, detail=detail, erased=found, manual_steps=manual)
        newu = self._newu()
        if rebuild and not (os.path.isfile(newu) and os.access(newu, os.X_OK)):
            raise StoreError('qmail_assign: qmail-newu not found; refusing to edit users/assign')
        for home in todo_homes:
            _erase_home(self, home, self.options['roots'])
        if hits:
            drop = set(hits)
            _rewrite(path, [line for idx, line in enumerate(lines) if idx not in drop])
        if rebuild:
            rc, _out, _err = self.runner.run([newu], check=False)
            if rc != 0:
                raise StoreError('qmail_assign: qmail-newu failed (exit %d); the lines are removed '
                                 'from users/assign, run qmail-newu by hand' % rc)
        return self.result(found=found, detail=detail, erased=found, manual_steps=manual)


# --------------------------------------------------------------------------------------
# vpopmail
# --------------------------------------------------------------------------------------

class VpopmailStore(Store):
    """vpopmail accounts through ``vuserinfo`` (lookup, export) and ``vdeluser`` (removes the
    account from its auth backend and deletes its directory under ``domains/``). An account is
    the subject's only by its exact address (``vuserinfo -n`` must name the same user);
    ``extended_accounts`` lists the subject's domains (``vuserinfo -n -D``) for accounts whose
    name extends the subject's with the plus separator."""

    name = 'vpopmail'
    units = 'entries'
    OPTIONS = {
        'vpopmail_dir': Option('/home/vpopmail', 'str', "vpopmail's directory (C(bin/), C(domains/))."),
        'vuserinfo': Option('', 'str', 'The C(vuserinfo) command; empty: C(<vpopmail_dir>/bin/vuserinfo).'),
        'vdeluser': Option('', 'str', 'The C(vdeluser) command; empty: C(<vpopmail_dir>/bin/vdeluser).'),
    }
    SECRET_KEYS = ('passwd', 'clear passwd')

    def _bin(self, name):
        return self.options[name] or os.path.join(self.options['vpopmail_dir'], 'bin', name)

    def _domains_dir(self):
        return os.path.join(self.options['vpopmail_dir'], 'domains')

    def available(self):
        tool = self._bin('vuserinfo')
        if not (os.path.isfile(tool) and os.access(tool, os.X_OK)):
            return False, 'vpopmail (vuserinfo) not found'
        return True, ''

    def _users(self, subject):
        tool = self._bin('vuserinfo')
        users = []
        if subject.kind == 'domain':
            rc, out, _err = self.runner.run([tool, '-n', '-D', subject.domain], check=False)
            if rc != 0:
                return users
            for line in _dec(out).split('\n'):
                name = line.strip()
                if not name or name.startswith('---') or '@' in name or ' ' in name:
                    continue
                addr = '%s@%s' % (name, subject.domain)
                if subject.owns_address(addr) and addr not in users:
                    users.append(addr)
            return users
        cands = []
        for ident in tuple(subject.addresses) + tuple(getattr(subject, 'address_variants', ()) or ()) \
                + tuple(l for l in subject.logins if '@' in l):
            if ident.lower() not in cands:
                cands.append(ident.lower())
        for cand in cands:
            rc, out, _err = self.runner.run([tool, '-n', cand], check=False)
            if rc != 0 or not out.strip():
                continue
            name = _dec(out).strip().split('\n')[0].strip()
            if name.lower() != cand.rpartition('@')[0]:
                continue
            if cand not in users:
                users.append(cand)
        return users

    def _dir(self, user):
        rc, out, _err = self.runner.run([self._bin('vuserinfo'), '-d', user], check=False)
        if rc != 0:
            raise StoreError('vpopmail: vuserinfo failed (exit %d)' % rc)
        return _dec(out).strip().split('\n')[0].strip()

    def _info(self, user):
        rc, out, _err = self.runner.run([self._bin('vuserinfo'), user], check=False)
        if rc != 0:
            raise StoreError('vpopmail: vuserinfo failed (exit %d)' % rc)
        fields = {}
        last = None
        for line in _dec(out).split('\n'):
            if not line.strip():
                continue
            if line.startswith((' ', '\t')) and last:
                fields[last] = (fields[last] + '\n' + line.strip()).strip()
                continue
            key, sep, value = line.partition(':')
            if not sep:
                continue
            key = key.strip()
            last = key
            fields[key] = '(not exported: password)' if key in self.SECRET_KEYS else value.strip()
        return fields

    def locate(self, subject):
        users = self._users(subject)
        return self.result(found=len(users), detail={'entries': len(users)})

    def extended_accounts(self, subject):
        """Accounts of the subject's domains (``vuserinfo -n -D DOMAIN``, the A-label form in
        which vpopmail keeps a domain) whose name extends an address of the subject with the
        plus separator; a domain vpopmail does not know has none."""
        tool = self._bin('vuserinfo')
        domains = []
        for ident in tuple(subject.addresses) + tuple(l for l in subject.logins if '@' in l):
            dom = ident.rpartition('@')[2]
            if dom != subject.domain and dom not in domains:
                domains.append(dom)
        seen = set()
        for dom in domains:
            rc, out, _err = self.runner.run([tool, '-n', '-D', dom], check=False)
            if rc != 0:
                continue
            for line in _dec(out).split('\n'):
                name = line.strip()
                if not name or name.startswith('---') or '@' in name or ' ' in name:
                    continue
                addr = '%s@%s' % (name, dom)
                if subject.extends_account(addr):
                    seen.add(addr.lower())
        return len(seen)

    def export(self, subject, bundle_dir):
        users = self._users(subject)
        writer = BundleWriter(self, bundle_dir)
        rows = [{'account': u, 'fields': self._info(u)} for u in users]
        if rows:
            writer.write_json(['entries.json'], {'store': self.name, 'entries': rows},
                              kind='rows', count=len(rows))
        return self.result(found=len(rows), detail={'entries': len(rows)}, files=writer.files)

    def erase(self, subject, check_mode):
        users = self._users(subject)
        roots = [self._domains_dir()]
        for user in users:
            udir = self._dir(user)
            if udir and os.path.lexists(udir):
                reason = confine(udir, roots)
                if reason:
                    raise StoreError('vpopmail: %s (user directory); refusing' % reason)
        found = len(users)
        detail = {'entries': found}
        if check_mode:
            return self.result(found=found, detail=detail, erased=found)
        tool = self._bin('vdeluser')
        if users and not (os.path.isfile(tool) and os.access(tool, os.X_OK)):
            raise StoreError('vpopmail: vdeluser not found')
        erased = 0
        for user in users:
            rc, _out, _err = self.runner.run([tool, user], check=False)
            if rc != 0:
                raise StoreError('vpopmail: vdeluser failed (exit %d) after %d of %d account(s)'
                                 % (rc, erased, found))
            erased += 1
        return self.result(found=found, detail=detail, erased=erased)
