# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Dovecot store: the subject's mailboxes through ``doveadm`` (any mail_location format).

* users: ``doveadm user -f home NAME`` for every address and login of the subject (exit 67 =
  no such user); kind ``domain`` lists ``doveadm user '*@DOMAIN'`` and needs a userdb that can
  iterate (passwd-file, SQL ``iterate_query``, LDAP ``iterate_*``), else the store refuses;
  the customer's explicit ``logins`` are added (each one verified with ``doveadm user``), which
  is how a customer is resolved when the user names carry no domain (passwd/PAM users); with
  such a userdb and no logins the store refuses;
* counts: ``doveadm -f tab mailbox status -u USER 'messages guid' '*'``, plus the mailboxes of
  the lazy-expunge namespace, which are hidden from ``*`` (``doveconf -h plugin/lazy_expunge``);
* export: ``doveadm -f pager fetch -u USER text mailbox NAME mailbox-guid GUID uid N`` per
  message, written
  as ``.eml`` byte for byte as Dovecot stores it;
* erase: ``doveadm kick USER``, ``doveadm expunge -u USER mailbox '*' all``, then the
  lazy-expunge copies that expunge just made, then ``doveadm purge -u USER`` (frees mdbox
  storage), then the count again.

Command output may carry user names and is never put into results or error messages.
"""

from __future__ import annotations

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import (
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
        'doveadm': 'doveadm',
        'doveconf': 'doveconf',
        'lazy_expunge': 'auto',
        'kick': True,
        'purge': True,
        # doveadm expunge leaves the expunged messages' cached headers (From, Subject,
        # Message-ID) in dovecot.index.cache until Dovecot compresses the file: compress it now
        'cache_purge': True,
        'trash_mailboxes': ['Trash', 'Deleted Messages', 'Deleted Items', 'INBOX.Trash', 'INBOX/Trash'],
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

    def _run(self, argv, _what):
        rc, out, _err = self.runner.run(argv, check=False)
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
                rc, out, _err = self.runner.run([doveconf, '-h', 'plugin/lazy_expunge'], check=False)
                if rc == 0:
                    value = out.decode('utf-8', 'replace').strip()
        self._lazy = value
        return value

    def _userdb_names(self, doveadm, pattern):
        rc, out = self._run([doveadm, 'user', pattern], 'user')
        if rc != 0:
            return None
        return [line.strip() for line in out.decode('utf-8', 'surrogateescape').split('\n') if line.strip()]

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
            rc, out = self._run([doveadm, 'user', '-f', 'home', name], 'user')
            if rc == EX_NOUSER:
                continue
            if rc != 0:
                raise StoreError('dovecot: doveadm user failed (exit %d)' % rc)
            home = out.decode('utf-8', 'surrogateescape').strip()
            key = home or name.lower()
            if key in homes:
                continue
            homes.add(key)
            out_users.append(name)
        return out_users

    def _mailboxes(self, doveadm, user):
        """[(name, guid, messages, category)] including lazy-expunge mailboxes."""
        rc, out = self._run([doveadm, '-f', 'tab', 'mailbox', 'status', '-u', user,
                             'messages guid', '*'], 'status')
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
                rc, out = self._run([doveadm, '-f', 'tab', 'mailbox', 'status', '-u', user,
                                     'messages guid', lname], 'status')
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
            rc, out, _err = self.runner.run([doveconf, '-h', name], check=False)
            if rc == 0 and out.decode('utf-8', 'replace').strip().lower() in ('yes', 'plain', 'sha1'):
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
                rc, out = self._run([doveadm, '-f', 'tab', 'fetch', '-u', user, 'uid flags']
                                    + _box_query(name, guid) + ['all'], 'fetch')
                if rc != 0:
                    raise StoreError('dovecot: doveadm fetch failed (exit %d)' % rc)
                entries = []
                for row in _tab_rows(out):
                    uid = row.get('uid', '')
                    if not uid.isdigit():
                        continue
                    rc, text = self._run([doveadm, '-f', 'pager', 'fetch', '-u', user, 'text']
                                         + _box_query(name, guid) + ['uid', uid], 'fetch')
                    if rc != 0:
                        raise StoreError('dovecot: doveadm fetch failed (exit %d)' % rc)
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
            rc, _out = self._run([doveadm, 'mailbox', 'cache', 'purge', '-u', user] + names, 'cache purge')
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
                rc, _out = self._run([doveadm, 'kick', user], 'kick')
                if rc not in (0, EX_NOTFOUND):
                    detail['kick_failed'] = detail.get('kick_failed', 0) + 1
            rc, _out = self._run([doveadm, 'expunge', '-u', user, 'mailbox', '*', 'all'], 'expunge')
            if rc != 0:
                raise StoreError('dovecot: doveadm expunge failed (exit %d)' % rc)
            # expunge copied the messages into the lazy-expunge namespace: expunge those too
            boxes = self._mailboxes(doveadm, user)
            for name, guid, messages, _category in boxes:
                if messages and guid:
                    rc, _out = self._run([doveadm, 'expunge', '-u', user] + _box_query(name, guid)
                                         + ['all'], 'expunge')
                    if rc != 0:
                        raise StoreError('dovecot: doveadm expunge failed (exit %d)' % rc)
            if self.options['purge']:
                rc, _out = self._run([doveadm, 'purge', '-u', user], 'purge')
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
