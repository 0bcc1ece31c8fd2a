# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Maildir store: the Maildir trees of one data subject (Courier, qmail, Dovecot maildir).

A tree is found through path templates (``store_options.maildir.paths``):

* ``~`` at the start is the home directory of a *login* of the subject in the system
  password database (``~/Maildir`` for PAM/passwd users of Courier and qmail);
* ``%u`` is the whole user name (an address or a login), ``%n`` its local part, ``%d`` its
  domain (both the A-label and the U-label form are tried).

Kind ``domain`` (a customer account): templates with ``%d`` and ``%n`` (or ``%u``) list every
user directory of the domain. System (passwd/PAM) user names carry no domain, so ``~``
templates cannot be enumerated from the domain: they are expanded for the subject's explicit
``logins`` and for the local parts of its explicit ``addresses`` at the subject's domain, as
for a user request; without any of them the ``~`` templates are skipped (``reason`` and
``detail.skipped_home_templates`` say so) instead of failing the store.

``extra_paths`` names further trees of the same user that go with the mailbox: Dovecot's
lazy-expunge namespace (``/var/vmail/%d/%n/expunged``), ``INDEX=``/``CONTROL=`` directories.

A user directory is the subject's only by its exact name (never by a plus tag:
``/var/vmail/example.org/ann-marie`` is not ann's). ``extended_accounts`` counts the user
directories (and passwd accounts of ``~`` templates) whose name extends the subject's with the
plus separator; the request is refused while one exists.

Every tree must lie below one of ``roots`` with no symbolic link between the root and the
tree; a tree whose home is shared with another account of the password database, a symlink
that points elsewhere or a main path that is not a Maildir makes the store refuse, for
reading and for erasing alike (reading another user's mail would be as bad as deleting it).

Also holds the small helpers the account stores share (confinement test, crash-safe tree
removal; the bundle writer, from module_utils/bundle.py).
"""

from __future__ import annotations

import base64
import os
import pwd
import shutil

# the bundle writer lives in module_utils/bundle.py; the stores import it from here too
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.bundle import BundleWriter
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import (
    Store,
    StoreError,
)

TOMBSTONE_PREFIX = '.mailprivacy-erasing.'
CHUNK = 1024 * 1024


# --------------------------------------------------------------------------------------
# helpers shared by the mailbox and account stores
# --------------------------------------------------------------------------------------

def real_roots(roots):
    """(normalised root, real root) for every configured root that exists."""
    out = []
    for root in roots:
        if not root or not os.path.isabs(root):
            continue
        norm = os.path.normpath(root)
        if os.path.isdir(norm):
            out.append((norm, os.path.realpath(norm)))
    return out


def _is_below(path, root):
    return path != root and path.startswith(root.rstrip('/') + '/')


def confine(path, roots):
    """Return None when ``path`` is strictly below a root with no symlink on the way,
    else a reason (no PII: the path is never part of it)."""
    norm = os.path.normpath(path)
    if not os.path.isabs(norm):
        return 'a path is not absolute'
    for root, real_root in real_roots(roots):
        if _is_below(norm, root):
            rel = os.path.relpath(norm, root)
            if os.path.realpath(norm) != os.path.join(real_root, rel):
                return 'a path of the subject is or passes through a symbolic link'
            return None
    return 'a path of the subject lies outside the configured roots'


def tombstone_path(path):
    path = os.path.normpath(path)
    return os.path.join(os.path.dirname(path), TOMBSTONE_PREFIX + os.path.basename(path))


def erase_tree(path):
    """Remove a directory tree so that a kill at any point leaves either the whole tree,
    or a tombstone that the next run removes (``tombstone_path``). Never follows links."""
    tomb = tombstone_path(path)
    if os.path.lexists(path):
        if os.path.islink(path) or not os.path.isdir(path):
            raise StoreError('refusing to remove something that is not a directory')
        if os.path.lexists(tomb):
            shutil.rmtree(tomb)
        os.rename(path, tomb)
    if os.path.lexists(tomb):
        if os.path.islink(tomb):
            os.unlink(tomb)
        else:
            shutil.rmtree(tomb)


def bytes_to_json(value):
    """JSON-safe form of a database or file value: text when it is UTF-8, else base64."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value)
        try:
            return value.decode('utf-8')
        except UnicodeDecodeError:
            return {'base64': base64.b64encode(value).decode('ascii')}
    return value


# --------------------------------------------------------------------------------------
# Maildir store
# --------------------------------------------------------------------------------------

def _idn_forms(domain):
    forms = []
    if not domain:
        return forms
    forms.append(domain.lower())
    try:
        uni = domain.encode('ascii').decode('idna').lower()
        if uni not in forms:
            forms.append(uni)
    except (UnicodeError, ValueError):
        pass
    return forms


def _split(ident):
    if '@' in ident:
        local, _sep, domain = ident.rpartition('@')
        return local, domain
    return ident, ''


def _identities(subject):
    """(user, local, domain, is_login) for every identifier form of the subject."""
    seen = set()
    out = []
    names = []
    for addr in tuple(getattr(subject, 'address_variants', ()) or ()) + tuple(subject.addresses):
        names.append((addr, False))
    for login in subject.logins:
        names.append((login, True))
    for name, is_login in names:
        local, domain = _split(name)
        domains = _idn_forms(domain) if domain else ['']
        for dom in domains:
            user = '%s@%s' % (local, dom) if dom else local
            key = (user, local, dom, is_login)
            if key not in seen:
                seen.add(key)
                out.append(key)
    return out


def _expand(template, user, local, domain):
    if '%d' in template and not domain:
        return None
    out = []
    i = 0
    while i < len(template):
        ch = template[i]
        if ch == '%' and i + 1 < len(template):
            nxt = template[i + 1]
            if nxt == 'u':
                out.append(user)
            elif nxt == 'n':
                out.append(local)
            elif nxt == 'd':
                out.append(domain)
            elif nxt == '%':
                out.append('%')
            else:
                raise StoreError('maildir: unsupported variable in a path template (use %u, %n, %d)')
            i += 2
            continue
        out.append(ch)
        i += 1
    return ''.join(out)


def _message_flags(name):
    if ':2,' in name:
        return name.rsplit(':2,', 1)[1]
    return ''


class MaildirStore(Store):
    """Maildir trees (Courier, qmail, Dovecot maildir) found through path templates."""

    name = 'maildir'
    units = 'messages'
    OPTIONS = {
        'paths': ['~/Maildir'],
        'extra_paths': [],
        'roots': ['/home', '/var/vmail', '/var/mail', '/var/qmail/mailnames'],
        'trash_folders': ['Trash', 'Deleted Messages', 'Deleted Items'],
        'lazy_expunge_folders': ['EXPUNGED'],
        'check_shared_home': True,
    }

    def __init__(self, options=None, runner=None):
        super(MaildirStore, self).__init__(options, runner)
        for key in ('paths', 'extra_paths', 'roots', 'trash_folders', 'lazy_expunge_folders'):
            if not all(isinstance(v, str) and v for v in self.options[key]):
                raise StoreError('maildir: option %s must be a list of non-empty strings' % key)
        for key in ('paths', 'extra_paths'):
            for template in self.options[key]:
                if not (template.startswith('/') or template == '~' or template.startswith('~/')):
                    raise StoreError('maildir: option %s takes absolute templates or ~/...' % key)
                if '..' in template.split('/'):
                    raise StoreError("maildir: option %s must not contain '..'" % key)
        for root in self.options['roots']:
            if not root.startswith('/') or os.path.normpath(root) == '/':
                raise StoreError('maildir: option roots takes absolute directories other than /')

    # ---------------------------------------------------------------- discovery

    def available(self):
        if not real_roots(self.options['roots']):
            return False, 'none of the configured Maildir roots exists'
        return True, ''

    def _home_of(self, login):
        try:
            return pwd.getpwnam(login).pw_dir
        except (KeyError, UnicodeError, ValueError):
            return None

    def _shared_home(self, home, logins):
        """True when another account of the password database has the same home
        or a home inside this one."""
        norm = os.path.normpath(home)
        for entry in pwd.getpwall():
            if entry.pw_name in logins:
                continue
            other = os.path.normpath(entry.pw_dir or '/')
            if other in ('/', '/nonexistent'):
                continue
            if other == norm or _is_below(other, norm):
                return True
        return False

    def _candidates_user(self, subject, templates, identities=None):
        """Paths of the templates for every identity (user, local, domain, is_login); ``~``
        templates look up the logins (is_login) in the password database."""
        paths = []
        if identities is None:
            identities = _identities(subject)
        logins = set(user for user, _local, _domain, is_login in identities if is_login)
        logins.update(subject.logins)
        for template in templates:
            for user, local, domain, is_login in identities:
                if template.startswith('~'):
                    if not is_login or not (template == '~' or template.startswith('~/')):
                        continue
                    home = self._home_of(user)
                    if not home:
                        continue
                    if self.options['check_shared_home'] and self._shared_home(home, logins):
                        raise StoreError('maildir: the home directory of a login of the subject is '
                                         'shared with another account; refusing')
                    rest = _expand(template[1:].lstrip('/'), user, local, domain)
                    if rest is None:
                        continue
                    paths.append(os.path.join(home, rest) if rest else home)
                    continue
                path = _expand(template, user, local, domain)
                if path is not None:
                    paths.append(path)
        return paths

    def _candidates_domain(self, subject, templates):
        paths = []
        for template in templates:
            if template.startswith('~') or '%d' not in template and '%u' not in template:
                raise StoreError('maildir: kind domain needs path templates with %d and %n '
                                 '(or %u), for example /var/vmail/%d/%n/Maildir, or ~ '
                                 'templates with the logins of the customer')
            parts = template.split('/')
            idx = None
            for i, part in enumerate(parts):
                if '%n' in part or '%u' in part:
                    idx = i
                    break
            if idx is None or parts[idx] not in ('%n', '%u'):
                raise StoreError('maildir: kind domain needs %n or %u as a whole path component')
            for domain in subject.domain_variants:
                prefix = '/'.join(parts[:idx])
                parent = _expand(prefix, '', '', domain) if prefix else '/'
                if parent is None or '%' in parent:
                    continue
                if not os.path.isdir(parent) or os.path.islink(parent):
                    continue
                for entry in sorted(os.listdir(parent)):
                    if entry.startswith('.'):
                        continue
                    if parts[idx] == '%n':
                        user, local = '%s@%s' % (entry, domain), entry
                    else:
                        if not subject.owns_address(entry):
                            continue
                        user = entry
                        local = _split(entry)[0]
                    if not subject.owns_address(user):
                        continue
                    path = _expand('/'.join(parts), user, local, domain)
                    if path is not None:
                        paths.append(path)
        return paths

    @staticmethod
    def _domain_logins(subject):
        """Identities that the ``~`` templates of a customer (kind ``domain``) are expanded for:
        its explicit logins, and the local parts of its explicit addresses at its own domain
        (system user names carry no domain). Never anything found by listing."""
        out = []
        seen = set()

        def add(user, local, domain):
            key = (user, local, domain, True)
            if key not in seen:
                seen.add(key)
                out.append(key)

        for ident in _identities(subject):
            user, local, _domain, is_login = ident
            if is_login:
                add(user, local, ident[2])
        domain = subject.domain
        for addr in subject.addresses:
            local, _sep, dom = addr.rpartition('@')
            if local and dom == domain:
                add(local, local, '')
        return out

    def _candidates_customer(self, subject, templates):
        """(paths, number of ``~`` templates skipped) for kind ``domain``."""
        homes = [t for t in templates if t.startswith('~')]
        others = [t for t in templates if not t.startswith('~')]
        paths = self._candidates_domain(subject, others) if others else []
        skipped = 0
        if homes:
            identities = self._domain_logins(subject)
            if identities:
                paths.extend(self._candidates_user(subject, homes, identities))
            else:
                skipped = len(homes)
        return paths, skipped

    def _plan(self, subject):
        """([(path, role)] of existing trees, role 'main' or 'extra', plus tombstones;
        number of ``~`` templates skipped for a customer without logins).
        Raises StoreError when a tree cannot be attributed safely."""
        trees = []
        seen = set()
        skipped = 0
        for role, key in (('main', 'paths'), ('extra', 'extra_paths')):
            templates = self.options[key]
            if subject.kind == 'domain':
                cands, skip = self._candidates_customer(subject, templates)
                skipped += skip
            else:
                cands = self._candidates_user(subject, templates)
            for path in cands:
                norm = os.path.normpath(path)
                if norm in seen:
                    continue
                seen.add(norm)
                tomb = tombstone_path(norm)
                if not os.path.lexists(norm) and not os.path.lexists(tomb):
                    continue
                for check in (norm, tomb):
                    if os.path.lexists(check):
                        reason = confine(check, self.options['roots'])
                        if reason:
                            raise StoreError('maildir: %s; refusing' % reason)
                if os.path.lexists(norm):
                    if not os.path.isdir(norm):
                        raise StoreError('maildir: a path of the subject is not a directory; refusing')
                    if role == 'main' and not (os.path.isdir(os.path.join(norm, 'cur'))
                                               or os.path.isdir(os.path.join(norm, 'new'))):
                        raise StoreError('maildir: a path of the subject is not a Maildir '
                                         '(no cur/ or new/); refusing')
                trees.append((norm, role))
        # a tree inside another one is covered by the outer tree
        paths = [p for p, _role in trees]
        return [(p, r) for p, r in trees
                if not any(_is_below(p, q) for q in paths if q != p)], skipped

    def extended_accounts(self, subject):
        """User directories (and, for ``~`` templates, password-database accounts) whose name
        extends an address or login of the subject with the plus separator: the entries of
        the directory that holds the subject's own directory in a template whose ``%n`` or
        ``%u`` is a whole path component (``/var/vmail/%d/ann-marie`` next to
        ``/var/vmail/%d/ann``), and the passwd names that extend a bare login. Read-only."""
        if not subject.plus_separator:
            return 0
        dirs = set()
        tilde = False
        for template in self.options['paths'] + self.options['extra_paths']:
            if template.startswith('~'):
                tilde = True
                continue
            parts = template.split('/')
            idx = next((i for i, part in enumerate(parts) if '%n' in part or '%u' in part), None)
            if idx is None or parts[idx] not in ('%n', '%u'):
                continue
            for user, local, domain, _is_login in _identities(subject):
                prefix = '/'.join(parts[:idx])
                parent = _expand(prefix, user, local, domain) if prefix else '/'
                if parent is None or '%' in parent or not os.path.isdir(parent) or os.path.islink(parent):
                    continue
                for entry in os.listdir(parent):
                    if entry.startswith('.'):
                        continue
                    # %n of an address is the local part of an address at its domain
                    name = '%s@%s' % (entry, domain) if parts[idx] == '%n' and domain else entry
                    if subject.extends_account(name):
                        dirs.add(os.path.join(os.path.normpath(parent), entry))
        names = set()
        if tilde:
            bare = [l for l in subject.logins if '@' not in l]
            for entry in pwd.getpwall():
                if any(subject.extends_name(entry.pw_name, login) for login in bare):
                    names.add(entry.pw_name)
        return len(dirs) + len(names)

    def _skip_note(self, skipped, detail):
        """Result keys that report skipped ``~`` templates (no PII)."""
        if not skipped:
            return {}
        detail['skipped_home_templates'] = skipped
        return {'reason': "kind 'domain': %d home-directory (~) path template(s) skipped: system "
                          "user names carry no domain and the request names no logins of the "
                          "customer; give them in logins to include their Maildirs" % skipped}

    def _category(self, folder, role):
        if role == 'extra':
            return 'lazy_expunge_or_extra'
        if folder in ('', '.'):
            return 'inbox'
        name = folder.lstrip('.').replace('/', '.')
        top = name.split('.', 1)[0]
        if top in self.options['trash_folders']:
            return 'trash'
        if top in self.options['lazy_expunge_folders']:
            return 'lazy_expunge'
        return 'folders'

    def _walk(self, root, role):
        """Yield (folder, category, state, path, name) for every message file."""
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames.sort()
            base = os.path.basename(dirpath)
            if base not in ('cur', 'new', 'tmp'):
                continue
            folder = os.path.relpath(os.path.dirname(dirpath), root)
            folder = '' if folder == '.' else folder
            category = self._category(folder, role)
            for fname in sorted(filenames):
                if fname.startswith('.'):
                    continue
                path = os.path.join(dirpath, fname)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                yield folder, category, base, path, fname

    def _count(self, trees):
        found = 0
        detail = {}
        for path, role in trees:
            for where in (path, tombstone_path(path)):
                if not os.path.isdir(where) or os.path.islink(where):
                    continue
                detail['trees'] = detail.get('trees', 0) + 1
                if where != path:
                    detail['pending_erase'] = detail.get('pending_erase', 0) + 1
                for _folder, category, state, _p, _n in self._walk(where, role):
                    if state == 'tmp':
                        detail['tmp'] = detail.get('tmp', 0) + 1
                        continue
                    found += 1
                    detail[category] = detail.get(category, 0) + 1
        return found, detail

    # ---------------------------------------------------------------- operations

    def locate(self, subject):
        trees, skipped = self._plan(subject)
        found, detail = self._count(trees)
        note = self._skip_note(skipped, detail)
        return self.result(found=found, detail=detail, **note)

    def export(self, subject, bundle_dir):
        trees, skipped = self._plan(subject)
        writer = BundleWriter(self, bundle_dir)
        found = 0
        detail = {}
        for tree_no, (path, role) in enumerate(trees, 1):
            if not os.path.isdir(path):
                continue
            tree_dir = 'mailbox-%d' % tree_no
            folders = {}
            order = []
            for folder, category, state, src, fname in self._walk(path, role):
                if state == 'tmp':
                    continue
                if folder not in folders:
                    folders[folder] = {'dir': 'folder-%d' % (len(order) + 1), 'name': folder or 'INBOX',
                                       'category': category, 'messages': []}
                    order.append(folder)
                info = folders[folder]
                eml = '%06d.eml' % (len(info['messages']) + 1)
                try:
                    st = os.lstat(src)
                    writer.copy_file(src, [tree_dir, info['dir'], eml], 'eml', 1)
                except FileNotFoundError:
                    continue    # expunged while exporting
                info['messages'].append({'file': eml, 'state': state, 'flags': _message_flags(fname),
                                         'mtime': int(st.st_mtime), 'size': st.st_size})
                found += 1
                detail[category] = detail.get(category, 0) + 1
            writer.write_json([tree_dir, 'index.json'], {
                'store': self.name,
                'role': role,
                'folders': [folders[f] for f in order],
            }, kind='index', count=sum(len(folders[f]['messages']) for f in order))
        note = self._skip_note(skipped, detail)
        return self.result(found=found, detail=detail, files=writer.files, **note)

    def erase(self, subject, check_mode):
        trees, skipped = self._plan(subject)   # every refusal happens here, before anything changes
        found, detail = self._count(trees)
        note = self._skip_note(skipped, detail)
        if check_mode:
            return self.result(found=found, detail=detail, erased=found, **note)
        for path, _role in trees:
            erase_tree(path)
        after, _detail = self._count(trees)
        return self.result(found=found, detail=detail, erased=found - after, **note)
