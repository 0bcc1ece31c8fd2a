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

The trees belong to mail users, who can swap a directory for a link or a file for a FIFO while
root reads them, so nothing is looked up twice (:class:`TreeRef`): the root is opened with
:meth:`fsops.Dir.open` (a link on the way only when root controls it), every directory below
it with ``O_NOFOLLOW`` from its parent's handle; messages are listed with :func:`fsops.walk`,
counted by their lstat, opened relative to the directory that listed them
(:meth:`fsops.Dir.open_file`: ``O_NOFOLLOW``, ``O_NONBLOCK``, a regular file and the listed
inode, checked on the handle) and copied from that handle (``BundleWriter.copy_fd``). A message
file whose owner is neither the tree's owner nor root, or whose hard links are not all in the
subject's trees (a hard link to a root-only file), is not the subject's message: neither
counted nor exported (``reason``: files skipped: owner or links). Erasure renames a tree to its
tombstone and removes it through its parent's handle (:func:`erase_tree`); removing such a
hard link there only removes a name in the subject's tree, never the other file.

Also holds the small helpers the account stores share (confinement from handles, crash-safe
tree removal; the bundle writer, from module_utils/bundle.py).
"""

from __future__ import annotations

import base64
import collections
import errno
import os
import pwd
import stat

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import fsops
# the bundle writer lives in module_utils/bundle.py; the stores import it from here too
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.bundle import BundleWriter
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import (
    Option,
    Store,
    StoreError,
)

TOMBSTONE_PREFIX = '.mailprivacy-erasing.'
CHUNK = 1024 * 1024


# --------------------------------------------------------------------------------------
# helpers shared by the mailbox and account stores
# --------------------------------------------------------------------------------------

class ConfineError(StoreError):
    """A path of the subject cannot be reached safely below the configured roots. The
    message is the reason (no PII: never the path)."""


def _missing(err):
    return isinstance(err, FileNotFoundError) or getattr(err, 'errno', None) in (errno.ENOENT, errno.ENOTDIR)


def existing_roots(roots):
    """The normalised configured roots that exist as directories (opened as
    :meth:`fsops.Dir.open` opens them: no symbolic link a user other than root controls)."""
    out = []
    for root in roots:
        if not root or not os.path.isabs(root):
            continue
        norm = os.path.normpath(root)
        try:
            with fsops.Dir.open(norm):
                out.append(norm)
        except OSError:
            continue
    return out


def _is_below(path, root):
    return path != root and path.startswith(root.rstrip('/') + '/')


def root_of(path, roots):
    """(normalised root, [components of ``path`` below it]) for the first configured root
    that the normalised absolute ``path`` lies strictly below; None when it lies below none."""
    for root in roots:
        if not root or not os.path.isabs(root):
            continue
        norm_root = os.path.normpath(root)
        if _is_below(path, norm_root):
            return norm_root, [p for p in os.path.relpath(path, norm_root).split('/') if p]
    return None


def open_parent(path, roots):
    """(open :class:`fsops.Dir` of the parent directory of ``path``, last component of
    ``path``), reached from handles only: the configured root that holds ``path`` is opened
    with :meth:`fsops.Dir.open` (a symbolic link on the way to the root is followed only when
    root controls it), every directory below it with :meth:`fsops.Dir.sub` (``O_NOFOLLOW``).
    None when a directory on the way does not exist. Raises :class:`ConfineError` when the
    path is not absolute, lies outside the roots or passes through a symbolic link."""
    norm = os.path.normpath(path)
    if not os.path.isabs(norm):
        raise ConfineError('a path is not absolute')
    found = root_of(norm, roots)
    if found is None:
        raise ConfineError('a path of the subject lies outside the configured roots')
    root, parts = found
    try:
        cur = fsops.Dir.open(root)
    except OSError as err:
        if _missing(err):
            return None
        if err.errno == errno.ELOOP:
            raise ConfineError('a configured root passes through a symbolic link that a user other '
                               'than root can change')
        raise
    try:
        for part in parts[:-1]:
            try:
                nxt = cur.sub(part)
            except OSError as err:
                if _missing(err):
                    cur.close()
                    return None
                if err.errno == errno.ELOOP:
                    raise ConfineError('a path of the subject is or passes through a symbolic link')
                raise
            cur.close()
            cur = nxt
    except BaseException:
        cur.close()
        raise
    return cur, parts[-1]


class TreeRef(object):
    """A directory tree of the subject below a configured root, held by the handle of its
    parent directory (:func:`open_parent`): ``parent`` (:class:`fsops.Dir`), ``name`` (the
    tree's last component), ``tomb_name`` (its tombstone's), and the lstat of both at opening
    (``tree``, ``tomb``; None when missing). Nothing is ever looked up by path again: the
    tree is opened with :meth:`open_tree` (``O_NOFOLLOW``, checked against ``tree``), renamed
    and removed through ``parent``. A context manager; :meth:`open` returns None when a
    directory above the tree does not exist."""

    __slots__ = ('parent', 'name', 'tomb_name', 'tree', 'tomb')

    def __init__(self, parent, name):
        self.parent = parent
        self.name = name
        self.tomb_name = TOMBSTONE_PREFIX + name
        self.tree = parent.lstat(name)
        self.tomb = parent.lstat(self.tomb_name)

    @classmethod
    def open(cls, path, roots):
        """The TreeRef of ``path`` (None when its parent does not exist). Raises
        :class:`ConfineError` when ``path`` lies outside the roots or passes through a
        symbolic link, and when the tree or its tombstone is a symbolic link or not a
        directory."""
        got = open_parent(path, roots)
        if got is None:
            return None
        ref = cls(*got)
        try:
            for st in (ref.tree, ref.tomb):
                if st is None:
                    continue
                if stat.S_ISLNK(st.st_mode):
                    raise ConfineError('a path of the subject is or passes through a symbolic link')
                if not stat.S_ISDIR(st.st_mode):
                    raise ConfineError('a path of the subject is not a directory')
        except BaseException:
            ref.close()
            raise
        return ref

    def exists(self):
        return self.tree is not None or self.tomb is not None

    def _sub(self, name, expect):
        if expect is None:
            return None
        try:
            handle = self.parent.sub(name)
        except OSError as err:
            if _missing(err):
                return None
            if err.errno == errno.ELOOP:
                raise ConfineError('a path of the subject is or passes through a symbolic link')
            raise
        st = handle.stat()
        if (st.st_dev, st.st_ino) != (expect.st_dev, expect.st_ino):
            handle.close()
            raise ConfineError('a directory of the subject was replaced while it was read')
        return handle

    def open_tree(self):
        """:class:`fsops.Dir` of the tree (None when it did not exist at opening)."""
        return self._sub(self.name, self.tree)

    def open_tomb(self):
        """:class:`fsops.Dir` of the tombstone (None when there was none at opening)."""
        return self._sub(self.tomb_name, self.tomb)

    def erase(self):
        """:func:`erase_tree` of this tree."""
        erase_tree(self.parent, self.name)

    def close(self):
        self.parent.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def confine(path, roots):
    """None when ``path`` lies strictly below a root with no symbolic link on the way
    (checked from handles, :func:`open_parent`), else the reason (no PII). A check only: code
    that then reads or removes the tree works from a :class:`TreeRef`."""
    try:
        ref = TreeRef.open(path, roots)
    except ConfineError as err:
        return str(err)
    if ref is not None:
        ref.close()
    return None


def tombstone_path(path):
    path = os.path.normpath(path)
    return os.path.join(os.path.dirname(path), TOMBSTONE_PREFIX + os.path.basename(path))


def erase_tree(parent, name):
    """Remove the directory tree ``name`` of the open :class:`fsops.Dir` ``parent`` so that a
    kill at any point leaves either the whole tree or a tombstone (``TOMBSTONE_PREFIX +
    name``) that the next run removes: the tree is renamed to the tombstone through the
    parent's handle, then removed with :meth:`fsops.Dir.rmtree` (from handles, never through a
    link). Refuses (StoreError) when ``name`` is there but is not a directory."""
    tomb = TOMBSTONE_PREFIX + name
    st = parent.lstat(name)
    if st is not None:
        if not stat.S_ISDIR(st.st_mode):
            raise StoreError('refusing to remove something that is not a directory')
        parent.rmtree(tomb)     # an older tombstone: the tree was restored meanwhile
        parent.rename(name, tomb)
        parent.fsync()
    if parent.lstat(tomb) is not None:
        parent.rmtree(tomb)
        parent.fsync()


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


def _foreign(st, owner, links):
    """True when a message file (its lstat or fstat ``st``) is not taken as the subject's
    message: its owner is neither the tree's owner (``owner``) nor root, or it has hard links
    that are not all among the names ``links`` counted in the subject's trees (a hard link to
    a file elsewhere, e.g. a root-only file: copying it would export that file). Hard links
    inside the subject's trees (Dovecot copies messages between folders and into the
    lazy-expunge tree as hard links) keep the message the subject's."""
    if st.st_uid not in (owner, 0):
        return True
    return st.st_nlink > 1 and links.get((st.st_dev, st.st_ino), 0) < st.st_nlink


def _message_flags(name):
    if ':2,' in name:
        return name.rsplit(':2,', 1)[1]
    return ''


class MaildirStore(Store):
    """Maildir trees (Courier, qmail, Dovecot maildir) found through path templates."""

    name = 'maildir'
    units = 'messages'
    OPTIONS = {
        'paths': Option(['~/Maildir'], 'list',
                        "Path templates of the subject's Maildir: C(~) at the start is the home directory of a login of "
                        'the subject in the password database, C(%u) the user name (an address or a login), C(%n) its '
                        'local part, C(%d) its domain (A-label and U-label forms); otherwise absolute, without C(..).',
                        elements='str'),
        'extra_paths': Option([], 'list', 'Templates (as in C(paths)) of further trees of the same user that go with '
                              "the mailbox, such as Dovecot's lazy-expunge namespace C(/var/vmail/%d/%n/expunged) or "
                              'C(INDEX=) and C(CONTROL=) directories.', elements='str'),
        'roots': Option(['/home', '/var/vmail', '/var/mail', '/var/qmail/mailnames'], 'list',
                        'Absolute directories (not C(/)) below which every tree must lie, with no symbolic link between '
                        'the root and the tree; a tree of the subject elsewhere makes the store refuse. The store is '
                        'available when one of them exists.', elements='str'),
        'trash_folders': Option(['Trash', 'Deleted Messages', 'Deleted Items'], 'list',
                                'Top-level folder names counted as trash in the C(detail) counts.', elements='str'),
        'lazy_expunge_folders': Option(['EXPUNGED'], 'list', 'Top-level folder names counted as lazy-expunge copies '
                                       'in the C(detail) counts.', elements='str'),
        'check_shared_home': Option(True, 'bool', 'Refuse when the home directory of a login of the subject (C(~) '
                                    'templates) is shared with another account of the password database.'),
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
        if not existing_roots(self.options['roots']):
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
                if root_of(norm, self.options['roots']) is None:
                    # only whether it exists: a path outside the roots is never read
                    if os.path.lexists(norm) or os.path.lexists(tombstone_path(norm)):
                        raise StoreError('maildir: a path of the subject lies outside the configured '
                                         'roots; refusing')
                    continue
                ref = self._ref(norm)
                if ref is None:
                    continue
                with ref:
                    if not ref.exists():
                        continue
                    if ref.tree is not None and role == 'main':
                        handle = self._open(ref.open_tree)
                        if handle is not None:
                            with handle:
                                subs = [handle.lstat(sub) for sub in ('cur', 'new')]
                            if not any(st is not None and stat.S_ISDIR(st.st_mode) for st in subs):
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
        """Result keys that report skipped ``~`` templates and skipped message files (no
        PII)."""
        reasons = []
        if skipped:
            detail['skipped_home_templates'] = skipped
            reasons.append("kind 'domain': %d home-directory (~) path template(s) skipped: system "
                           "user names carry no domain and the request names no logins of the "
                           "customer; give them in logins to include their Maildirs" % skipped)
        files = detail.get('skipped_owner_or_links', 0)
        if files:
            reasons.append('%d files skipped: owner or links (message files owned by another user, or '
                           'hard links to files outside the subject\'s trees, are neither counted nor '
                           'exported; erasing the tree removes these names, not the files they link '
                           'to)' % files)
        changed = detail.get('skipped_changed', 0)
        if changed:
            reasons.append('%d files skipped: replaced while they were exported (a symbolic link, a FIFO '
                           'or another file); export again' % changed)
        return {'reason': '; '.join(reasons)} if reasons else {}

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

    def _ref(self, path):
        """The :class:`TreeRef` of a tree (None when its parent does not exist)."""
        try:
            return TreeRef.open(path, self.options['roots'])
        except ConfineError as err:
            raise StoreError('maildir: %s; refusing' % err)

    @staticmethod
    def _open(opener):
        """``ref.open_tree`` or ``ref.open_tomb``, refusals as StoreError."""
        try:
            return opener()
        except ConfineError as err:
            raise StoreError('maildir: %s; refusing' % err)

    def _walk(self, tree, role):
        """Yield (folder, category, state, dir, name, lstat) for every message file below
        the open tree: a regular file (by its lstat; names starting with a dot are skipped)
        in a ``cur/``, ``new/`` or ``tmp/`` directory. Directories are opened relative to their
        parent's handle without following links (:func:`fsops.walk`); ``dir`` is the open
        :class:`fsops.Dir` that holds the file, valid until the next item."""
        for relparts, handle, entries in fsops.walk(tree):
            if not relparts or relparts[-1] not in ('cur', 'new', 'tmp'):
                continue
            folder = '/'.join(relparts[:-1])
            category = self._category(folder, role)
            for name, st in entries:
                if name.startswith('.') or not stat.S_ISREG(st.st_mode):
                    continue
                yield folder, category, relparts[-1], handle, name, st

    def _count(self, trees):
        """(found, detail, links) over the trees and their tombstones. ``links`` counts the
        names of every message-file inode seen (for :func:`_foreign`); files that are not the
        subject's by :func:`_foreign` are counted in ``detail['skipped_owner_or_links']``, not
        in ``found``."""
        detail = {}
        records = []
        links = collections.Counter()

        def add(key, count=1):
            detail[key] = detail.get(key, 0) + count

        for path, role in trees:
            ref = self._ref(path)
            if ref is None:
                continue
            with ref:
                for opener, pending in ((ref.open_tree, False), (ref.open_tomb, True)):
                    handle = self._open(opener)
                    if handle is None:
                        continue
                    with handle:
                        add('trees')
                        if pending:
                            add('pending_erase')
                        owner = handle.stat().st_uid
                        for _folder, category, state, _dir, _name, st in self._walk(handle, role):
                            links[(st.st_dev, st.st_ino)] += 1
                            records.append((category, state, st, owner))
        found = 0
        for category, state, st, owner in records:
            if state == 'tmp':
                add('tmp')
            elif _foreign(st, owner, links):
                add('skipped_owner_or_links')
            else:
                found += 1
                add(category)
        return found, detail, links

    # ---------------------------------------------------------------- operations

    def locate(self, subject):
        trees, skipped = self._plan(subject)
        found, detail, _links = self._count(trees)
        note = self._skip_note(skipped, detail)
        return self.result(found=found, detail=detail, **note)

    def export(self, subject, bundle_dir):
        trees, skipped = self._plan(subject)
        # the names of every inode in the subject's trees, for the hard-link test
        _found, _detail, links = self._count(trees)
        writer = BundleWriter(self, bundle_dir)
        found = 0
        detail = {}
        for tree_no, (path, role) in enumerate(trees, 1):
            ref = self._ref(path)
            if ref is None:
                continue
            with ref:
                tree = self._open(ref.open_tree)
                if tree is None:
                    continue
                with tree:
                    found += self._export_tree(writer, tree, role, 'mailbox-%d' % tree_no, links, detail)
        note = self._skip_note(skipped, detail)
        return self.result(found=found, detail=detail, files=writer.files, **note)

    def _export_tree(self, writer, tree, role, tree_dir, links, detail):
        """Copy the messages of the open tree into the bundle: each one opened relative to
        its directory's handle (O_NOFOLLOW, O_NONBLOCK, a regular file, the inode the listing
        showed) and copied from that handle; the owner and link count are checked on the
        handle (:func:`_foreign`). Writes the tree's index.json; returns the messages copied."""
        owner = tree.stat().st_uid
        folders = {}
        order = []
        found = 0
        for folder, category, state, handle, fname, est in self._walk(tree, role):
            if state == 'tmp':
                continue
            try:
                fd, st = handle.open_file(fname, expect=est)
            except FileNotFoundError:
                continue    # expunged while exporting
            except fsops.FsError:
                # replaced by a link, a FIFO or another file between the listing and the open
                detail['skipped_changed'] = detail.get('skipped_changed', 0) + 1
                continue
            try:
                if _foreign(st, owner, links):
                    detail['skipped_owner_or_links'] = detail.get('skipped_owner_or_links', 0) + 1
                    continue
                if folder not in folders:
                    folders[folder] = {'dir': 'folder-%d' % (len(order) + 1), 'name': folder or 'INBOX',
                                       'category': category, 'messages': []}
                    order.append(folder)
                info = folders[folder]
                eml = '%06d.eml' % (len(info['messages']) + 1)
                entry = writer.copy_fd(fd, [tree_dir, info['dir'], eml], 'eml', 1)
            finally:
                os.close(fd)
            info['messages'].append({'file': eml, 'state': state, 'flags': _message_flags(fname),
                                     'mtime': int(st.st_mtime), 'size': entry['size']})
            found += 1
            detail[category] = detail.get(category, 0) + 1
        writer.write_json([tree_dir, 'index.json'], {
            'store': self.name,
            'role': role,
            'folders': [folders[f] for f in order],
        }, kind='index', count=sum(len(folders[f]['messages']) for f in order))
        return found

    def erase(self, subject, check_mode):
        trees, skipped = self._plan(subject)   # every refusal happens here, before anything changes
        found, detail, _links = self._count(trees)
        note = self._skip_note(skipped, detail)
        if check_mode:
            return self.result(found=found, detail=detail, erased=found, **note)
        for path, _role in trees:
            ref = self._ref(path)
            if ref is None:
                continue
            with ref:
                ref.erase()
        after, _detail, _links = self._count(trees)
        return self.result(found=found, detail=detail, erased=found - after, **note)
