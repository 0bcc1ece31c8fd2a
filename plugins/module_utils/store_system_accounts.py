# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""System (passwd/PAM) accounts of a data subject: Courier with ``authpam`` and qmail's
``~/Maildir`` users log in with an operating-system account.

An account is the subject's when its name is one of the subject's logins (exactly), or the
local part of one of the subject's addresses whose domain is listed in ``local_domains``
(default: none, logins only; compared without letter case unless the subject is
case-sensitive). Never by a plus tag: ``ann-marie`` is not ``ann``; ``extended_accounts``
counts such accounts and the request is refused while one exists. Customer domains (kind
``domain``) are not enumerated: name the accounts in ``logins``.

Deleting operating-system accounts must be an explicit operator decision: the store is
disabled unless ``enabled`` is true. Erasure locks the account (``usermod -L -e 1``), ends its
sessions and processes (``loginctl terminate-user``, ``pkill -KILL -u``) and deletes it with
``userdel`` (``-r`` only with ``remove_home``: the mail stores remove the Maildirs). It refuses,
before anything is touched, root, uid 65534, uids below ``min_uid``, the names in
``protected`` and accounts shared with another passwd entry (same uid or same home), which
would be the account of several subjects.
"""

from __future__ import annotations

import errno
import os
import stat

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import (
    Option,
    Store,
    StoreError,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fsops
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_maildir import BundleWriter

NOBODY_UID = 65534
DISABLED_REASON = 'disabled: set store_options.system_accounts.enabled'
# homes that many system accounts share; not a sign of a shared personal account
NON_HOMES = ('', '/', '/nonexistent', '/dev/null', '/var/empty', '/run/sshd')


def _dec(raw):
    return raw.decode('utf-8', 'surrogateescape')


def _a_label(domain):
    domain = domain.strip().rstrip('.').lower()
    try:
        return domain.encode('idna').decode('ascii')
    except UnicodeError:
        return domain


class PasswdEntry(object):
    __slots__ = ('name', 'uid', 'gid', 'gecos', 'home', 'shell')

    def __init__(self, name, uid, gid, gecos, home, shell):
        self.name = name
        self.uid = uid
        self.gid = gid
        self.gecos = gecos
        self.home = home
        self.shell = shell


def _read(path):
    """The bytes of the regular file ``path``, read from a handle (:func:`fsops.open_path`:
    no symbolic link that a user other than root controls, no FIFO opened blocking)."""
    return fsops.read_file(os.path.abspath(path))


def read_passwd(path):
    """Entries of a passwd(5) file (comments, NIS ``+``/``-`` lines and malformed lines are
    skipped). The password field is never kept."""
    entries = []
    for raw in _read(path).splitlines():
        line = _dec(raw)
        if not line or line.startswith(('#', '+', '-')):
            continue
        fields = line.split(':')
        if len(fields) != 7:
            continue
        try:
            uid, gid = int(fields[2]), int(fields[3])
        except ValueError:
            continue
        entries.append(PasswdEntry(fields[0], uid, gid, fields[4], fields[5], fields[6]))
    return entries


def read_groups(path):
    """[(name, gid, members)] of a group(5) file; the password field is never kept."""
    groups = []
    try:
        data = _read(path)
    except OSError:
        return groups
    for raw in data.splitlines():
        line = _dec(raw)
        if not line or line.startswith(('#', '+', '-')):
            continue
        fields = line.split(':')
        if len(fields) != 4:
            continue
        try:
            gid = int(fields[2])
        except ValueError:
            continue
        groups.append((fields[0], gid, [m for m in fields[3].split(',') if m]))
    return groups


class SystemAccountStore(Store):
    """Operating-system accounts (passwd/PAM) of the subject; disabled unless ``enabled``."""

    name = 'system_accounts'
    units = 'accounts'
    OPTIONS = {
        'enabled': Option(False, 'bool', 'Use the store: deleting operating-system accounts must be an explicit '
                          'decision.'),
        'passwd_file': Option('/etc/passwd', 'str', 'The password database (the store is available when it exists).'),
        'group_file': Option('/etc/group', 'str', 'The group database (the export lists the groups of the account).'),
        'local_domains': Option([], 'list', "Domains whose addresses' local parts are also account names of the "
                                'subject (default: none, logins only).', elements='str'),
        'min_uid': Option(1000, 'int', 'Accounts with a lower uid are refused (system accounts).'),
        'protected': Option([], 'list', 'Account names that are never deleted.', elements='str'),
        'remove_home': Option(False, 'bool', 'Run C(userdel -r) (remove the home directory); the mail stores remove the '
                              'Maildirs. Kept homes are reported with a manual step.'),
        # the directory of the accounts' mail spool files (login.defs MAIL_DIR); '' leaves them
        'mail_spool': Option('/var/mail', 'str', "The directory of the accounts' mail spool files (login.defs "
                             "C(MAIL_DIR)): a removed account's spool file without messages is removed, one with "
                             'messages kept with a manual step; empty: spool files are left alone.'),
        'userdel': Option('userdel', 'str', 'The C(userdel) command.'),
        'usermod': Option('usermod', 'str', 'The C(usermod) command (locks the account first).'),
        'pkill': Option('pkill', 'str', "The C(pkill) command (ends the account's processes)."),
        'loginctl': Option('loginctl', 'str', "The C(loginctl) command (ends the account's sessions)."),
    }

    def __init__(self, options=None, runner=None):
        super(SystemAccountStore, self).__init__(options, runner)
        for key in ('local_domains', 'protected'):
            if not all(isinstance(v, str) and v for v in self.options[key]):
                raise StoreError('system_accounts: option %s must be a list of non-empty strings' % key)
        if self.options['min_uid'] < 1:
            raise StoreError('system_accounts: option min_uid must be at least 1')

    def available(self):
        if not self.options['enabled']:
            return False, DISABLED_REASON
        if not os.path.isfile(self.options['passwd_file']):
            return False, 'no passwd file at the configured path'
        return True, ''

    # ------------------------------------------------------------------ matching
    def _wanted_names(self, subject):
        """(bare logins, local parts of the addresses at ``local_domains``)."""
        names = set(l for l in subject.logins if '@' not in l)
        domains = set(_a_label(d) for d in self.options['local_domains'])
        addrs = tuple(subject.addresses) + tuple(getattr(subject, 'address_variants', ()) or ()) \
            + tuple(l for l in subject.logins if '@' in l)
        locals_ = set()
        for addr in addrs:
            local, _at, dom = addr.rpartition('@')
            if local and _a_label(dom) in domains:
                locals_.add(local)
        return names, locals_

    @staticmethod
    def _wanted(subject, name, logins, locals_):
        """A login compares exactly (system user names are case-sensitive), a local part as
        the subject compares local parts (``Subject.fold_local``); never by a plus tag."""
        return name in logins or subject.fold_local(name) in set(subject.fold_local(l) for l in locals_)

    def _read(self):
        path = self.options['passwd_file']
        if os.path.islink(path):
            raise StoreError('system_accounts: the passwd file is a symbolic link; refusing')
        return read_passwd(path)

    def _scan(self, subject):
        """(entries of the subject, every entry)."""
        entries = self._read()
        logins, locals_ = self._wanted_names(subject)
        mine = []
        seen = set()
        for entry in entries:
            if self._wanted(subject, entry.name, logins, locals_) and entry.name not in seen:
                seen.add(entry.name)
                mine.append(entry)
        return mine, entries

    def extended_accounts(self, subject):
        """Accounts that are not the subject's but whose name extends one of its logins, or
        the local part of one of its addresses at ``local_domains``, with the plus separator
        (``ann-marie`` for ``ann`` with ``-``)."""
        logins, locals_ = self._wanted_names(subject)
        count = 0
        for entry in self._read():
            if self._wanted(subject, entry.name, logins, locals_):
                continue
            if any(subject.extends_name(entry.name, l) for l in logins) or \
                    any(subject.extends_name(entry.name, l, fold=True) for l in locals_):
                count += 1
        return count

    def _refusal(self, entry, entries):
        """Why this account must not be deleted (no PII), or None."""
        if entry.uid == 0 or entry.name == 'root':
            return 'the superuser account'
        if entry.uid == NOBODY_UID:
            return 'the overflow account (uid 65534)'
        if entry.uid < self.options['min_uid']:
            return 'a system account (uid below min_uid)'
        if entry.name in self.options['protected']:
            return 'an account in the protected list'
        for other in entries:
            if other is entry or other.name == entry.name:
                continue
            if other.uid == entry.uid:
                return 'an account whose uid another passwd entry shares'
            if entry.home not in NON_HOMES and os.path.normpath(other.home or '/') == os.path.normpath(entry.home):
                return 'an account whose home directory another passwd entry shares'
        return None

    def _manual(self, subject):
        if subject.kind == 'domain' and _a_label(subject.domain or '') in set(
                _a_label(d) for d in self.options['local_domains']):
            return ['system_accounts: the accounts of a customer domain are not enumerated; name '
                    'them in logins to erase them']
        return []

    def locate(self, subject):
        mine, entries = self._scan(subject)
        refused = len([e for e in mine if self._refusal(e, entries)])
        detail = {'accounts': len(mine)}
        if refused:
            detail['refused'] = refused
        return self.result(found=len(mine), detail=detail, manual_steps=self._manual(subject))

    def export(self, subject, bundle_dir):
        mine, _entries = self._scan(subject)
        groups = read_groups(self.options['group_file'])
        rows = []
        for entry in mine:
            member_of = [{'group': name, 'gid': gid, 'primary': gid == entry.gid}
                         for name, gid, members in groups
                         if gid == entry.gid or entry.name in members]
            rows.append({'account': entry.name, 'uid': entry.uid, 'gid': entry.gid,
                         'gecos': entry.gecos, 'home': entry.home, 'shell': entry.shell,
                         'password': '(not exported: password hash)', 'groups': member_of})
        writer = BundleWriter(self, bundle_dir)
        if rows:
            writer.write_json(['accounts.json'], {'store': self.name, 'accounts': rows},
                              kind='rows', count=len(rows))
        return self.result(found=len(rows), detail={'accounts': len(rows)}, files=writer.files)

    # ------------------------------------------------------------------ erasure
    def _tool(self, key):
        return self.runner.which(self.options[key])

    def erase(self, subject, check_mode):
        mine, entries = self._scan(subject)
        found = len(mine)
        for entry in mine:
            why = self._refusal(entry, entries)
            if why:
                raise StoreError('system_accounts: refusing to delete %s; nothing was changed' % why)
        detail = {'accounts': found}
        manual = self._manual(subject)
        if check_mode or not mine:
            return self.result(found=found, detail=detail, erased=found if check_mode else 0,
                               manual_steps=manual)
        userdel = self._tool('userdel')
        usermod = self._tool('usermod')
        if not userdel or not usermod:
            raise StoreError('system_accounts: userdel or usermod not found; nothing was changed')
        pkill = self._tool('pkill')
        loginctl = self._tool('loginctl')
        erased = 0
        kept_homes = 0
        for entry in mine:
            # lock first (password and expiry: key logins end too), so no new session starts
            rc, _out, _err = self.runner.run([usermod, '-L', '-e', '1', '--', entry.name], check=False)
            if rc != 0:
                raise StoreError('system_accounts: usermod failed (exit %d) after %d of %d account(s)'
                                 % (rc, erased, found))
            uid = str(entry.uid)
            if loginctl:
                # no session or no logind: a non-zero exit is not an error
                self.runner.run([loginctl, 'terminate-user', uid], check=False)
            if pkill:
                rc, _out, _err = self.runner.run([pkill, '-KILL', '-u', uid], check=False)
                if rc not in (0, 1):
                    raise StoreError('system_accounts: pkill failed (exit %d) after %d of %d account(s)'
                                     % (rc, erased, found))
            argv = [userdel] + (['-r'] if self.options['remove_home'] else []) + ['--', entry.name]
            rc, _out, _err = self.runner.run(argv, check=False)
            if rc == 6:
                # the account is already gone (a run interrupted after userdel)
                rc = 0
            if rc != 0:
                raise StoreError('system_accounts: userdel failed (exit %d) after %d of %d account(s); '
                                 'the account is locked' % (rc, erased, found))
            erased += 1
            step = self._remove_spool(entry)
            if step:
                manual.append(step)
            if not self.options['remove_home'] and entry.home not in NON_HOMES and os.path.isdir(entry.home):
                kept_homes += 1
        if kept_homes:
            manual.append('system_accounts: the home directories of %d removed account(s) were kept (remove_home '
                          'is false); their names are the logins and they may hold more of the subject\'s files '
                          '(for example Dovecot index files), now owned by an unused uid: check them and remove '
                          'them' % kept_homes)
        return self.result(found=found, detail=detail, erased=erased, manual_steps=manual)

    SPOOL_MAX = 1024 * 1024
    FOLDER_DATA = b"DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA"

    def _remove_spool(self, entry):
        """Remove the removed account's mail spool file (``userdel`` without ``-r`` leaves
        it; its name is the login) when it holds no message but the folder-data pseudo message
        Dovecot and UW-IMAP keep at the top of an mbox. Otherwise keep it and return a manual
        step (no PII)."""
        top = self.options['mail_spool']
        if not top:
            return None
        # the spool directory (root:mail, group-writable on Debian) from a handle: the file is
        # judged on the handle it is read from (a link or a FIFO swapped in is never followed
        # or opened blocking) and removed only while its name still names that file
        try:
            spool = fsops.Dir.open(os.path.abspath(top))
        except OSError as err:
            if isinstance(err, FileNotFoundError) or err.errno in (errno.ENOENT, errno.ENOTDIR):
                return None
            return ('system_accounts: the mail spool directory passes through a symbolic link that a user '
                    'other than root can change; the spool file of a removed account was kept, check it by hand')
        with spool:
            return self._remove_spool_in(spool, entry)

    def _remove_spool_in(self, spool, entry):
        not_regular = ('system_accounts: the mail spool file named after a removed account is not a regular '
                       'file of that account; it was kept, check it by hand')
        try:
            st = spool.lstat(entry.name)
        except fsops.FsError:
            return not_regular      # a name no file can have
        if st is None:
            return None
        if not stat.S_ISREG(st.st_mode) or st.st_uid != entry.uid:
            return not_regular
        try:
            fd, fst = spool.open_file(entry.name, expect=st)
        except FileNotFoundError:
            return None
        except fsops.FsError:
            return not_regular
        with os.fdopen(fd, 'rb') as handle:
            if fst.st_uid != entry.uid:
                return not_regular
            if fst.st_size > self.SPOOL_MAX:
                return ('system_accounts: the mail spool file of a removed account still holds mail (%d bytes) '
                        'that no mail store erased; it was kept' % fst.st_size)
            data = handle.read(self.SPOOL_MAX + 1)
        if len(data) > self.SPOOL_MAX:
            return ('system_accounts: the mail spool file of a removed account still holds mail that no mail '
                    'store erased; it was kept')
        messages = (1 if data.startswith(b'From ') else 0) + data.count(b'\nFrom ')
        if messages == 0 and data.strip():
            return ('system_accounts: the mail spool file of a removed account is not an empty mbox; it '
                    'was kept, check it by hand')
        if messages > 1 or (messages == 1 and self.FOLDER_DATA not in data):
            return ('system_accounts: the mail spool file of a removed account still holds messages that no '
                    'mail store erased; it was kept')
        now = spool.lstat(entry.name)
        if now is None:
            return None
        if (now.st_dev, now.st_ino) != (fst.st_dev, fst.st_ino):
            return ('system_accounts: the mail spool file of a removed account was replaced while it was '
                    'checked; it was kept, check it by hand')
        spool.unlink(entry.name, missing_ok=True)
        spool.fsync()
        return None
