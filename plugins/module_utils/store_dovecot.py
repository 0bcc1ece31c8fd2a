# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Dovecot store: the subject's mailboxes through ``doveadm`` (any mail_location format).

* users: ``doveadm -f tab mailbox path -F - INBOX`` for every address and login of the subject
  (no row = no such user: the userdb decides, exactly, never by a plus tag; the INBOX path tells
  two names of one mailbox apart); kind ``domain`` lists ``doveadm user '*'`` and keeps the names
  that match ``*@DOMAIN`` as doveadm does (``*``, ``?``, ASCII case-insensitive); it needs a userdb that can
  iterate (passwd-file, SQL ``iterate_query``, LDAP ``iterate_*``), else the store refuses;
  the customer's explicit ``logins`` are added (each one verified in the userdb), which
  is how a customer is resolved when the user names carry no domain (passwd/PAM users); with
  such a userdb and no logins the store refuses;
* counts: ``doveadm -f tab mailbox status -F - 'messages guid' '*'``, plus the mailboxes of
  the lazy-expunge namespace, which are hidden from ``*`` (``doveconf -h plugin/lazy_expunge``);
* export: ``doveadm -f pager fetch -F - text mailbox NAME mailbox-guid GUID uid N`` per
  message, written
  as ``.eml`` byte for byte as Dovecot stores it;
* erase: the user's sessions end (``doveadm -f tab who -1``, then SIGTERM to the processes
  that serve this user only, as ``doveadm kick USER`` does), ``doveadm expunge -F - mailbox
  '*' all``, then the lazy-expunge copies that expunge just made, then ``doveadm purge -F -``
  (frees mdbox storage), then the count again.

The user name never goes on a command line, where every local user can read it
(/proc/PID/cmdline): mail commands get ``-F -`` (doveadm reads the user from stdin, where
``-u USER`` would put it in argv), and ``doveadm user NAME`` and ``doveadm kick NAME``, which
take names only as arguments, are replaced as above. Mailbox names and GUIDs still are
arguments.

``extended_accounts`` lists the userdb (``doveadm user '*'``) for users whose names extend the
subject's with the plus separator (the request is refused while one exists); a userdb that
cannot iterate makes it refuse, as nothing can be ruled out then.

Command output may carry user names and is never put into results or error messages.
"""

from __future__ import annotations

import re
import signal

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.doveconf import setting as doveconf_setting
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import (
    Option,
    Store,
    StoreError,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_maildir import (
    BundleWriter,
)

EX_NOUSER = 67
EX_NOTFOUND = 68      # doveadm: mailbox does not exist / no users kicked


def _tab_rows(out):
    """Rows of doveadm's tab formatter as dicts (the first line is the header)."""
    text = out.decode('utf-8', 'surrogateescape')
    lines = [line for line in text.split('\n') if line != '']
    if not lines:
        return []
    header = lines[0].split('\t')
    rows = []
    for line in lines[1:]:
        values = line.split('\t')
        if len(values) != len(header):
            continue
        rows.append(dict(zip(header, values)))
    return rows


def _drop_user_line(text):
    """Pager output of ``doveadm fetch -F``: the user name comes first, on a line of its
    own, then ``text:``; keep what follows the name."""
    if text.startswith(b'text:\n'):
        return text
    _name, sep, rest = text.partition(b'\n')
    if sep and rest.startswith(b'text:\n'):
        return rest
    return text


def _wildcard_match_icase(name, mask):
    """Dovecot's wildcard_match_icase: ``*`` any run, ``?`` one character, ASCII letters
    in either case, everything else literal."""
    parts = []
    for char in mask:
        if char == '*':
            parts.append('.*')
        elif char == '?':
            parts.append('.')
        else:
            parts.append(re.escape(char))
    return re.fullmatch(''.join(parts), name, re.IGNORECASE | re.ASCII | re.DOTALL) is not None


def _box_query(name, guid):
    """Search keys for exactly one mailbox: ``mailbox NAME`` reaches the hidden lazy-expunge
    namespace (``mailbox-guid`` alone only searches listable mailboxes, as doveadm 2.3.19
    does), ``mailbox-guid GUID`` makes a name with ``*`` or ``%`` match only itself."""
    return ['mailbox', name, 'mailbox-guid', guid]


class DovecotStore(Store):
    """Mailboxes of the subject through doveadm."""

    name = 'dovecot'
    units = 'messages'
    OPTIONS = {
        'doveadm': Option('doveadm', 'str', 'The C(doveadm) command (a name looked up on the PATH, or a path).'),
        'doveconf': Option('doveconf', 'str', 'The C(doveconf) command, which reads the lazy_expunge namespace and whether '
                           'Dovecot logs user lookups (C(auth_debug), C(auth_verbose), C(mail_debug)).'),
        'lazy_expunge': Option('auto', 'str', "The lazy_expunge plugin's namespace prefix (such as V(.EXPUNGED/)) or "
                               'mailbox, whose copies of expunged messages are counted, exported and expunged too. '
                               "V(auto) reads the plugin's setting with C(doveconf); an empty string: none."),
        'kick': Option(True, 'bool', "End the user's IMAP and POP3 sessions (the processes anvil lists for the user) "
                       'before the expunge.'),
        'purge': Option(True, 'bool', 'Run C(doveadm purge) after the expunge, so that mdbox storage frees the messages.'),
        # doveadm expunge leaves the expunged messages' cached headers (From, Subject,
        # Message-ID) in dovecot.index.cache until Dovecot compresses the file: compress it now
        'cache_purge': Option(True, 'bool', "Compress each mailbox's C(dovecot.index.cache) after the expunge, which "
                              "otherwise keeps the expunged messages' cached headers (From, Subject, Message-ID) until "
                              'Dovecot compresses it.'),
        'trash_mailboxes': Option(['Trash', 'Deleted Messages', 'Deleted Items', 'INBOX.Trash', 'INBOX/Trash'], 'list',
                                  'Mailbox names counted as trash in the C(detail) counts.', elements='str'),
    }

    def __init__(self, options=None, runner=None):
        super(DovecotStore, self).__init__(options, runner)
        self._lazy = None

    # ---------------------------------------------------------------- helpers

    def _doveadm(self):
        path = self.runner.which(self.options['doveadm'])
        if not path:
            raise StoreError('dovecot: doveadm not found')
        return path

    def _run(self, argv, _what, user=None):
        """(rc, stdout) of a doveadm command; ``user``: the user a mail command called with
        ``-F -`` acts on, written to its stdin. With ``-F`` a user that does not exist (any
        more) gives exit 0 and no rows."""
        data = None if user is None else user.encode('utf-8', 'surrogateescape') + b'\n'
        rc, out, _err = self.runner.run(argv, data=data, check=False)
        return rc, out

    def available(self):
        if not self.runner.which(self.options['doveadm']):
            return False, 'doveadm not found'
        return True, ''

    def _lazy_expunge(self):
        """The lazy_expunge setting: a namespace prefix ('.EXPUNGED/') or one mailbox name."""
        if self._lazy is not None:
            return self._lazy
        value = self.options['lazy_expunge']
        if value == 'auto':
            value = ''
            doveconf = self.runner.which(self.options['doveconf'])
            if doveconf:
                value = doveconf_setting(self.runner, doveconf, 'plugin/lazy_expunge') or ''
        self._lazy = value
        return value

    def _userdb_names(self, doveadm, pattern):
        # the userdb lists every user either way (doveadm user matches a mask itself, after the
        # listing): list them all and match here, so that no domain goes on a command line
        rc, out = self._run([doveadm, 'user', '*'], 'user')
        if rc != 0:
            return None
        names = [line.strip() for line in out.decode('utf-8', 'surrogateescape').split('\n') if line.strip()]
        return [name for name in names if _wildcard_match_icase(name, pattern)]

    def _mail_root(self, doveadm, name):
        """The path of the user's INBOX (``doveadm mailbox path``), '' when doveadm prints
        none, None when the userdb has no such user. In place of ``doveadm user -f home NAME``,
        which takes the name only as an argument."""
        rc, out = self._run([doveadm, '-f', 'tab', 'mailbox', 'path', '-F', '-', 'INBOX'], 'path', user=name)
        if rc != 0:
            raise StoreError('dovecot: doveadm mailbox path failed (exit %d)' % rc)
        rows = _tab_rows(out)
        if not rows:
            return None
        return rows[0].get('path', '')

    def _kick(self, doveadm, user):
        """End the user's sessions as ``doveadm kick USER`` does, without the name in argv:
        ``doveadm who -1`` lists every connection (user, pid), and each process whose
        connections are all the user's gets SIGTERM. A process that also serves another user
        is not signalled, and then none is (doveadm kick without -f). 0 when sessions were
        ended, EX_NOTFOUND when there were none, another exit code on failure."""
        rc, out = self._run([doveadm, '-f', 'tab', 'who', '-1'], 'who')
        if rc != 0:
            return rc
        wanted = user.encode('utf-8', 'surrogateescape').lower()
        pids = {}
        for row in _tab_rows(out):
            pid = row.get('pid', '')
            if not pid.isdigit() or int(pid) <= 1:
                continue
            name = row.get('username', '').encode('utf-8', 'surrogateescape').lower()
            pids.setdefault(int(pid), set()).add(name == wanted)
        mine = [pid for pid, matches in pids.items() if True in matches]
        if not mine:
            return EX_NOTFOUND
        if any(False in pids[pid] for pid in mine):
            return 1
        failed = False
        for pid in sorted(mine):
            try:
                self.runner.signal(pid, signal.SIGTERM)
            except OSError:
                failed = True
        return 1 if failed else 0

    def _users(self, subject):
        """Dovecot user names of the subject, one per mailbox (deduplicated by home)."""
        doveadm = self._doveadm()
        users = []
        if subject.kind == 'domain':
            domains = list(subject.domain_variants)
            listed_any = False
            for dom in domains:
                names = self._userdb_names(doveadm, '*@' + dom)
                if names is None:
                    raise StoreError("dovecot: the userdb cannot list its users (no iteration "
                                     "support), so kind 'domain' cannot be resolved; refusing")
                for name in names:
                    listed_any = True
                    if subject.owns_address(name) and name not in users:
                        users.append(name)
            if not listed_any:
                every = self._userdb_names(doveadm, '*')
                if every is None:
                    raise StoreError("dovecot: the userdb cannot list its users, so kind 'domain' "
                                     "cannot be resolved; refusing")
                if every and not any('@' in n for n in every) and not subject.logins:
                    raise StoreError("dovecot: the userdb's user names carry no domain, so kind "
                                     "'domain' cannot be mapped to users without the logins of "
                                     "the customer; refusing")
            # explicit logins of the customer: verified below with doveadm user, like a user
            # request (never a listed name that merely looks like one)
            candidates = list(users)
            for name in subject.logins:
                if name not in candidates:
                    candidates.append(name)
        else:
            candidates = []
            for name in tuple(getattr(subject, 'address_variants', ()) or ()) + \
                    tuple(subject.addresses) + tuple(subject.logins):
                if name not in candidates:
                    candidates.append(name)
        homes = set()
        out_users = []
        for name in candidates:
            home = self._mail_root(doveadm, name)
            if home is None:
                continue
            key = home or name.lower()
            if key in homes:
                continue
            homes.add(key)
            out_users.append(name)
        return out_users

    def extended_accounts(self, subject):
        """Users of the userdb (``doveadm user '*'``) whose name extends an address or login of
        the subject with the plus separator (``ann+work@example.com`` for ``ann@example.com``).
        A userdb that cannot list its users cannot rule them out: the store refuses (StoreError),
        and so does the request."""
        names = self._userdb_names(self._doveadm(), '*')
        if names is None:
            raise StoreError('dovecot: the userdb cannot list its users (no iteration support), so '
                             'users whose names extend the subject\'s with the plus separator cannot '
                             'be ruled out')
        return len(set(n for n in names if subject.extends_account(n)))

    def _mailboxes(self, doveadm, user):
        """[(name, guid, messages, category)] including lazy-expunge mailboxes."""
        rc, out = self._run([doveadm, '-f', 'tab', 'mailbox', 'status', '-F', '-',
                             'messages guid', '*'], 'status', user=user)
        if rc != 0:
            raise StoreError('dovecot: doveadm mailbox status failed (exit %d)' % rc)
        boxes = []
        names = []
        for row in _tab_rows(out):
            name = row.get('mailbox', '')
            names.append(name)
            boxes.append((name, row.get('guid', ''), int(row.get('messages', '0') or 0),
                          self._category(name)))
        lazy = self._lazy_expunge()
        if lazy:
            if lazy[-1] in './':
                lazy_names = [lazy + n for n in names if not n.startswith(lazy)]
            else:
                lazy_names = [lazy] if lazy not in names else []
            for lname in lazy_names:
                if '*' in lname or '%' in lname:
                    # doveadm treats the name as a pattern, and patterns never reach a hidden
                    # (list = no) namespace: this lazy-expunge mailbox cannot be addressed
                    boxes.append((lname, '', 0, 'unreachable'))
                    continue
                rc, out = self._run([doveadm, '-f', 'tab', 'mailbox', 'status', '-F', '-',
                                     'messages guid', lname], 'status', user=user)
                if rc == EX_NOTFOUND:
                    continue
                if rc != 0:
                    raise StoreError('dovecot: doveadm mailbox status failed (exit %d)' % rc)
                for row in _tab_rows(out):
                    boxes.append((row.get('mailbox', ''), row.get('guid', ''),
                                  int(row.get('messages', '0') or 0), 'lazy_expunge'))
        return boxes

    def _category(self, name):
        if name == 'INBOX':
            return 'inbox'
        if name in self.options['trash_mailboxes']:
            return 'trash'
        lazy = self._lazy_expunge()
        if lazy and (name == lazy or name.startswith(lazy)):
            return 'lazy_expunge'
        return 'folders'

    def _count(self, doveadm, users):
        found = 0
        detail = {}
        for user in users:
            for _name, _guid, messages, category in self._mailboxes(doveadm, user):
                if category == 'unreachable':
                    detail['unreachable_mailboxes'] = detail.get('unreachable_mailboxes', 0) + 1
                    continue
                found += messages
                detail[category] = detail.get(category, 0) + messages
        detail['users'] = len(users)
        return found, detail

    LOOKUP_LOGGING = ('auth_debug', 'auth_verbose', 'mail_debug')

    def _lookup_logging_step(self):
        """A manual step when Dovecot logs user lookups (auth_debug, auth_verbose or mail_debug
        on): every doveadm command of the request, the proof search's included, then writes new
        lines that name the subject, after the log and journal stores have erased theirs."""
        doveconf = self.runner.which(self.options['doveconf'])
        if not doveconf:
            return []
        on = []
        for name in self.LOOKUP_LOGGING:
            if (doveconf_setting(self.runner, doveconf, name) or '').lower() in ('yes', 'plain', 'sha1'):
                on.append(name)
        if not on:
            return []
        return ['Dovecot: %s is on, so Dovecot logs every user lookup, the lookups of this erasure and '
                'of its proof search included: new lines that name the subject reach the mail logs and '
                'the journal after they were erased. Apply the mailprivacy.gdpr.dovecot role (it turns '
                'these off), then run the request again' % ', '.join(on)]

    @staticmethod
    def _unreachable_step(detail):
        if not detail.get('unreachable_mailboxes'):
            return []
        return ['Dovecot: %d lazy-expunge mailbox(es) of the subject have * or %% in their name and '
                'cannot be reached with doveadm; check them on disk (maildir store with the '
                'lazy-expunge location in extra_paths)' % detail['unreachable_mailboxes']]

    # ---------------------------------------------------------------- operations

    def locate(self, subject):
        doveadm = self._doveadm()
        users = self._users(subject)
        found, detail = self._count(doveadm, users)
        return self.result(found=found, detail=detail, manual_steps=self._unreachable_step(detail))

    def export(self, subject, bundle_dir):
        doveadm = self._doveadm()
        users = self._users(subject)
        writer = BundleWriter(self, bundle_dir)
        found = 0
        detail = {'users': len(users)}
        for uno, user in enumerate(users, 1):
            index = []
            for bno, (name, guid, messages, category) in enumerate(self._mailboxes(doveadm, user), 1):
                if not messages or not guid:
                    continue
                bdir = 'mailbox-%d' % bno
                rc, out = self._run([doveadm, '-f', 'tab', 'fetch', '-F', '-', 'uid flags']
                                    + _box_query(name, guid) + ['all'], 'fetch', user=user)
                if rc != 0:
                    raise StoreError('dovecot: doveadm fetch failed (exit %d)' % rc)
                entries = []
                for row in _tab_rows(out):
                    uid = row.get('uid', '')
                    if not uid.isdigit():
                        continue
                    rc, text = self._run([doveadm, '-f', 'pager', 'fetch', '-F', '-', 'text']
                                         + _box_query(name, guid) + ['uid', uid], 'fetch', user=user)
                    if rc != 0:
                        raise StoreError('dovecot: doveadm fetch failed (exit %d)' % rc)
                    text = _drop_user_line(text)
                    if text.startswith(b'text:\n'):
                        text = text[len(b'text:\n'):]
                    if not text:
                        continue      # expunged meanwhile
                    eml = '%06d.eml' % (len(entries) + 1)
                    writer.write_bytes(['user-%d' % uno, bdir, eml], text, 'eml', 1)
                    entries.append({'file': eml, 'uid': int(uid), 'flags': row.get('flags', '')})
                    found += 1
                    detail[category] = detail.get(category, 0) + 1
                index.append({'dir': bdir, 'name': name, 'category': category, 'messages': entries})
            writer.write_json(['user-%d' % uno, 'index.json'], {'store': self.name, 'mailboxes': index},
                              kind='index', count=sum(len(b['messages']) for b in index))
        return self.result(found=found, detail=detail, files=writer.files)

    def _purge_caches(self, doveadm, user, boxes):
        """Compress the index cache of every mailbox of the user (``doveadm mailbox cache
        purge``, Dovecot 2.3.14 and later), so that no cached header of an expunged message
        stays. False when that failed or a mailbox could not be named."""
        names = [name for name, _guid, _messages, category in boxes if category != 'unreachable']
        # a name doveadm would take for an option cannot be given safely
        ok = all(name and not name.startswith('-') for name in names)
        names = [name for name in names if name and not name.startswith('-')]
        if names:
            rc, _out = self._run([doveadm, 'mailbox', 'cache', 'purge', '-F', '-'] + names, 'cache purge', user=user)
            ok = ok and rc == 0
        return ok

    def erase(self, subject, check_mode):
        doveadm = self._doveadm()
        users = self._users(subject)
        found, detail = self._count(doveadm, users)
        if check_mode:
            return self.result(found=found, detail=detail, erased=found,
                               manual_steps=self._unreachable_step(detail) + self._lookup_logging_step())
        manual = self._lookup_logging_step()
        cache_left = 0
        for user in users:
            if self.options['kick']:
                rc = self._kick(doveadm, user)
                if rc not in (0, EX_NOTFOUND):
                    detail['kick_failed'] = detail.get('kick_failed', 0) + 1
            rc, _out = self._run([doveadm, 'expunge', '-F', '-', 'mailbox', '*', 'all'], 'expunge', user=user)
            if rc != 0:
                raise StoreError('dovecot: doveadm expunge failed (exit %d)' % rc)
            # expunge copied the messages into the lazy-expunge namespace: expunge those too
            boxes = self._mailboxes(doveadm, user)
            for name, guid, messages, _category in boxes:
                if messages and guid:
                    rc, _out = self._run([doveadm, 'expunge', '-F', '-'] + _box_query(name, guid)
                                         + ['all'], 'expunge', user=user)
                    if rc != 0:
                        raise StoreError('dovecot: doveadm expunge failed (exit %d)' % rc)
            if self.options['purge']:
                rc, _out = self._run([doveadm, 'purge', '-F', '-'], 'purge', user=user)
                if rc != 0:
                    raise StoreError('dovecot: doveadm purge failed (exit %d)' % rc)
            if self.options['cache_purge'] and not self._purge_caches(doveadm, user, boxes):
                cache_left += 1
        after, after_detail = self._count(doveadm, users)
        manual.extend(self._unreachable_step(after_detail))
        if cache_left:
            manual.append('Dovecot: the index caches (dovecot.index.cache) of %d user(s) could not be compressed '
                          'with doveadm mailbox cache purge, so they may still hold cached headers (From, Subject) '
                          'of the expunged messages until Dovecot compresses them: run the erasure again, or '
                          'remove those files while the user is logged out' % cache_left)
        if after:
            manual.append('Dovecot: %d message(s) of the subject remain after expunge (new deliveries '
                          'or a namespace doveadm cannot reach); run the erasure again' % after)
        detail['remaining'] = after
        return self.result(found=found, detail=detail, erased=max(found - after, 0),
                           manual_steps=manual)
