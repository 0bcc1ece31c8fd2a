# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The request pipeline: one data-subject request, parsed once, run over the stores.

* :data:`SUBJECT_ARGUMENT_SPEC` / :func:`argument_spec`: the parameters every subject module
  takes (subject_find, subject_export, subject_erase, log_redact), in one place; they are the
  action group ``mailprivacy.gdpr.subject`` of meta/runtime.yml, so a play passes them once with
  ``module_defaults``.
* :class:`Request`: built once from those parameters on the host: the subject (with its
  ``local_part_case`` and the host's qmail control data), its HMAC, the request id, the ordered
  store classes, each store's options merged with the request context (``subject_hmac``,
  ``request_id``) and the refusal of accounts that extend the subject's names
  (:func:`check_extended_accounts`). Then one operation: :meth:`Request.run` (locate, export or
  erase; an erasure is count, erase, count again per store, see store_base.run_stores) and
  :meth:`Request.summary`.
* The parsing steps (:func:`parse_subject`, :func:`check_request_id`, :func:`parse_stores`,
  :func:`check_store_options`) are also what the controller runs (plugin_utils/audit.py) to
  validate a request before any host is touched, minus the host-only parts (qmail control
  files, accounts).
* :func:`store_summary`: one store's result reduced to counts, the one shape the controller
  keeps in the audit record, the archive manifest and the erasure report.

Messages name fields, stores and counts, never an identifier. Python standard library only.
"""

from __future__ import annotations

import copy
import errno
import os
import re
import stat

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import store_registry
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import (
    Runner,
    Store,
    StoreError,
    run_stores,
    safe_error,
    store_options_for,
)
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject, SubjectError

REQUEST_ID_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$')

# the parameters of the action group mailprivacy.gdpr.subject (meta/runtime.yml); documented in
# plugins/doc_fragments/subject.py
SUBJECT_ARGUMENT_SPEC = dict(
    addresses=dict(type='list', elements='str', default=[], no_log=True),
    logins=dict(type='list', elements='str', default=[], no_log=True),
    ips=dict(type='list', elements='str', default=[], no_log=True),
    domain=dict(type='str', no_log=True),
    plus_separator=dict(type='str', default='+', choices=['+', '-', '=', '']),
    local_part_case=dict(type='str', default='insensitive', choices=['insensitive', 'sensitive']),
    stores=dict(type='list', elements='str', default=[]),
    store_options=dict(type='dict', default={}),
    hmac_key=dict(type='str', required=True, no_log=True),
    request_id=dict(type='str'),
)


def argument_spec(**changes):
    """A copy of SUBJECT_ARGUMENT_SPEC with ``changes`` applied: a module's own options added,
    or a subject option replaced (a whole new spec dict)."""
    spec = copy.deepcopy(SUBJECT_ARGUMENT_SPEC)
    spec.update(copy.deepcopy(changes))
    return spec


# ------------------------------------------------------------------------------ parsing steps
def parse_subject(params, qmail=None):
    """The Subject of ``params`` (addresses, logins, ips, domain, plus_separator,
    local_part_case). ``qmail``: read_qmail_control() of the host, or None on the controller
    (which does not know the hosts' virtual-domain prefixes). Raises SubjectError."""
    qmail = qmail or {}
    return Subject.from_params(addresses=params.get('addresses') or [], logins=params.get('logins') or [],
                               ips=params.get('ips') or [], domain=params.get('domain'),
                               plus_separator=params.get('plus_separator', '+'),
                               local_part_case=params.get('local_part_case') or 'insensitive',
                               qmail_virtualdomains=qmail.get('virtualdomains'), qmail_locals=qmail.get('locals'))


def check_request_id(value, field='request_id'):
    """``value`` when it is a valid request id (None passes: no id). Raises StoreError naming
    ``field``, never the value."""
    if value is None:
        return None
    if not isinstance(value, str) or not REQUEST_ID_RE.match(value):
        raise StoreError('%s must be 1 to 64 letters, digits, dots, underscores or dashes, starting with a letter '
                         'or digit' % field)
    return value


def parse_stores(stores, store_options, prefix=''):
    """(store classes in registry order or in the order named, store_options as a dict of
    dicts) after checking names and shapes. ``prefix`` names the fields as the caller knows
    them (``gdpr_`` on the controller). Raises StoreError."""
    if stores is None:
        stores = []
    if not isinstance(stores, (list, tuple)) or not all(isinstance(s, str) for s in stores):
        raise StoreError('%sstores must be a list of store names' % prefix)
    try:
        classes = store_registry.get_stores(list(stores) or None)
    except StoreError as err:
        raise StoreError('%sstores: %s' % (prefix, err))
    if store_options is None:
        store_options = {}
    if not isinstance(store_options, dict):
        raise StoreError('%sstore_options must be a dictionary: store name -> options' % prefix)
    known = store_registry.store_names()
    unknown = sorted(set(store_options) - set(known), key=str)
    if unknown:
        raise StoreError('%sstore_options names unknown stores: %s (known: %s)'
                         % (prefix, ', '.join(str(n)[:40] for n in unknown), ', '.join(known)))
    for name in known:
        opts = store_options.get(name)
        if opts is not None and not isinstance(opts, dict):
            raise StoreError('%sstore_options.%s must be a dictionary' % (prefix, name))
    return classes, dict(store_options)


def request_context(subject_hmac=None, request_id=None):
    """The values stores take from the request when their options ask for them."""
    context = {}
    if subject_hmac:
        context['subject_hmac'] = subject_hmac
    if request_id:
        context['request_id'] = request_id
    return context


def check_store_options(store_options, context, runner=None):
    """Build every store of the registry with its options (constructors only: they check
    option names, types and values and touch nothing). Raises StoreError."""
    runner = runner if runner is not None else Runner()
    for cls in store_registry.get_stores():
        cls(store_options_for(cls, store_options, context), runner)


# ------------------------------------------------------------------------------ qmail control (host)
QMAIL_CONTROL_DIR = '/var/qmail/control'
MAX_CONTROL_FILE = 4 * 1024 * 1024


def _read_control_file(control_dir, name):
    """The lines of one qmail control file, or None when it does not exist. Refuses (StoreError,
    no path or content in the message) a file that is not a regular file, is too big or cannot
    be read. Opened once, non-blocking (a FIFO planted there cannot hang the request)."""
    path = os.path.join(control_dir, name)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_CLOEXEC', 0) | getattr(os, 'O_NONBLOCK', 0)
                     | getattr(os, 'O_NOCTTY', 0))
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise StoreError('cannot read the qmail control file %s (%s)' % (name, errno.errorcode.get(err.errno, err.errno)))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise StoreError('the qmail control file %s is not a regular file' % name)
        if info.st_size > MAX_CONTROL_FILE:
            raise StoreError('the qmail control file %s is larger than %d bytes' % (name, MAX_CONTROL_FILE))
        chunks = []
        total = 0
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
            total += len(data)
            if total > MAX_CONTROL_FILE:
                raise StoreError('the qmail control file %s is larger than %d bytes' % (name, MAX_CONTROL_FILE))
            chunks.append(data)
    except OSError as err:
        raise StoreError('cannot read the qmail control file %s (%s)' % (name, errno.errorcode.get(err.errno, err.errno)))
    finally:
        os.close(fd)
    return b''.join(chunks).decode('utf-8', 'replace').splitlines()


def read_qmail_control(control_dir=None):
    """{'virtualdomains': lines or None, 'locals': lines or None} of a qmail host (for the
    virtual-domain delivery names qmail-send logs, ``<prefix>-<local>@<domain>``; see
    Subject.from_params). Without ``control/virtualdomains`` nothing is read and nothing
    changes. ``locals`` (or, without it, ``me``, qmail's default) lists the domains for which
    virtualdomains does not apply. ``control_dir`` defaults to QMAIL_CONTROL_DIR (tests
    point it elsewhere)."""
    control_dir = control_dir or QMAIL_CONTROL_DIR
    vdoms = _read_control_file(control_dir, 'virtualdomains')
    if vdoms is None:
        return {'virtualdomains': None, 'locals': None}
    local_domains = _read_control_file(control_dir, 'locals')
    if local_domains is None:
        local_domains = _read_control_file(control_dir, 'me') or []
    return {'virtualdomains': vdoms, 'locals': local_domains}


# ------------------------------------------------------------------------------ accounts (host)
EXTENDED_WHAT = 'an account whose name extends an address or login of the subject with the plus separator'
EXTENDED_WHAT_TO_DO = ("run the request with plus_separator '' (tags then do not count as the subject's: name the "
                       "subject's own tagged addresses in addresses); nothing was touched")


def check_extended_accounts(subject, classes, store_options=None, context=None, runner=None):
    """Refuse the request (StoreError) while an account on this host has a name that extends
    one of the subject's addresses or logins with the plus separator (``ann-marie@`` for
    ``ann@`` with ``-``, ``ann+work@`` with ``+``): with the separator set, that account's
    mail, queued messages and log lines carry what reads as a tag of the subject's address,
    so a search would count them, an export would hand them to the subject and an erasure
    would remove them.

    Asked (``Store.extended_accounts``, read-only): every available store of the request,
    then every other store of the registry that knows accounts, with the request's store
    options: the accounts of the host matter even when the request reads only the logs. A
    store of the request that cannot answer refuses the request too (nothing can be ruled
    out); another store that cannot answer (left out of the request, typically because it
    is broken) is skipped. Stores without accounts are not even opened. Nothing is asked
    without a separator. Messages name stores and counts, never an account. Returns
    {store name: count} (all zero when it returns)."""
    if not subject.plus_separator:
        return {}
    runner = runner if runner is not None else Runner()
    selected = set(cls.name for cls in classes)
    candidates = list(classes) + [cls for cls in store_registry.get_stores() if cls.name not in selected]
    counts = {}
    problems = []
    for cls in candidates:
        if getattr(cls, 'extended_accounts', None) is Store.extended_accounts:
            continue
        try:
            store = cls(store_options_for(cls, store_options, context), runner)
            ok, _reason = store.available()
            if not ok:
                continue
            counts[cls.name] = int(store.extended_accounts(subject) or 0)
        except Exception as err:  # pylint: disable=broad-except
            if cls.name in selected:
                problems.append('%s (%s)' % (cls.name, safe_error(err)))
    found = dict((name, n) for name, n in counts.items() if n)
    if found:
        raise StoreError('refusing: %s exists on this host (%d account(s) in store(s) %s): its mail and log lines '
                         "would be taken for the subject's; %s" % (
                             EXTENDED_WHAT, sum(found.values()), ', '.join(sorted(found)), EXTENDED_WHAT_TO_DO))
    if problems:
        raise StoreError('refusing: cannot tell whether %s exists on this host (store(s) %s); %s' % (
            EXTENDED_WHAT, '; '.join(problems), EXTENDED_WHAT_TO_DO))
    return counts


# ------------------------------------------------------------------------------ the request
class Request(object):
    """One data-subject request on a host, parsed once.

    Attributes: ``subject``, ``subject_hmac``, ``request_id`` (or None), ``classes`` (the
    store classes of the request, in registry order or as named), ``store_options`` (as
    given, checked for shape), ``context`` ({subject_hmac, request_id}), ``options``
    ({store name: options merged with the context}, for every store of the registry and of
    the request), ``runner`` (one Runner for everything the request runs)."""

    def __init__(self, subject, subject_hmac, classes, store_options=None, request_id=None, runner=None):
        self.subject = subject
        self.subject_hmac = subject_hmac
        self.request_id = request_id
        self.classes = list(classes)
        self.store_options = dict(store_options or {})
        self.context = request_context(subject_hmac, request_id)
        self.runner = runner if runner is not None else Runner()
        self.options = {}
        for cls in self.classes + [c for c in store_registry.get_stores() if c not in self.classes]:
            self.options[cls.name] = store_options_for(cls, self.store_options, self.context)

    @classmethod
    def from_params(cls, params, stores=None, qmail_control_dir=None, runner=None):
        """The request of a subject module's parameters. ``stores`` overrides
        ``params['stores']`` (log_redact works on the logs store). Raises SubjectError (an
        invalid identifier or key) or StoreError (request id, stores, options, the qmail
        control files, an account that extends the subject's names) before anything is
        touched; the messages hold no identifier."""
        qmail = read_qmail_control(qmail_control_dir)
        subject = parse_subject(params, qmail)
        subject_hmac = subject.hmac(params.get('hmac_key') or '')
        request_id = check_request_id(params.get('request_id'))
        classes, store_options = parse_stores(params.get('stores') if stores is None else stores,
                                              params.get('store_options'))
        request = cls(subject, subject_hmac, classes, store_options, request_id, runner)
        check_extended_accounts(subject, request.classes, request.options, request.context, request.runner)
        return request

    @classmethod
    def from_module(cls, module, **kwargs):
        """:meth:`from_params` of an AnsibleModule's parameters; a refused request fails the
        module ('invalid subject: ...' or the store message) with nothing touched."""
        try:
            return cls.from_params(module.params, **kwargs)
        except SubjectError as err:
            module.fail_json(msg='invalid subject: %s' % err)
        except StoreError as err:
            module.fail_json(msg=str(err))
        return None  # not reached: fail_json exits

    def options_for(self, cls):
        """The merged options of one store class."""
        if cls.name not in self.options:
            self.options[cls.name] = store_options_for(cls, self.store_options, self.context)
        return self.options[cls.name]

    def stores(self, names=None):
        """The store classes of the request, or those of them named in ``names``."""
        if names is None:
            return list(self.classes)
        return [cls for cls in self.classes if cls.name in names]

    def run(self, operation, classes=None, **kwargs):
        """Run ``operation`` ('locate', 'export' with bundle_dir=, 'erase' with check_mode=)
        over the request's stores (or ``classes``): ({name: Result}, [failed names])."""
        classes = self.classes if classes is None else classes
        return run_stores(classes, operation, self.subject, self.options, runner=self.runner, **kwargs)

    def summary(self, results, failed, operation='locate', check_mode=False):
        """The module result of an operation (:func:`summarise`)."""
        return summarise(self.subject, self.subject_hmac, results, failed, operation, check_mode)


# ------------------------------------------------------------------------------ results
def remaining_stores(results):
    """Names of the stores whose count after an erasure is not zero (not in check mode, where
    ``after`` is None, nor for a store that failed)."""
    return [name for name, res in results.items() if not res.get('error') and res.get('after')]


def summarise(subject, subject_hmac, results, failed, operation='locate', check_mode=False):
    """The module result common to the subject modules: counts only, never identifiers. An
    erasure adds erased, remaining (None in check mode), remaining_stores, check_mode and
    every store's manual steps prefixed with the store name."""
    out = dict(
        subject_hmac=subject_hmac,
        kind=subject.kind,
        identifiers=dict(addresses=len(subject.addresses), logins=len(subject.logins),
                         ips=len(subject.ips), domain=1 if subject.domain else 0),
        found=sum(int(r.get('found') or 0) for r in results.values()),
        stores=results,
        failed_stores=list(failed),
    )
    if operation == 'erase':
        out['erased'] = sum(int(r.get('erased') or 0) for r in results.values())
        out['remaining'] = None if check_mode else sum(int(r.get('after') or 0) for r in results.values())
        out['remaining_stores'] = remaining_stores(results)
        out['check_mode'] = bool(check_mode)
        out['manual_steps'] = ['%s: %s' % (name, step) for name, res in results.items()
                               for step in res.get('manual_steps') or []]
    return out


def failure_message(verb, results, failed):
    """'the <verb> failed in store(s): name (why); ...' (store errors hold no PII)."""
    return 'the %s failed in store(s): %s' % (verb, '; '.join(
        '%s (%s)' % (name, results.get(name, {}).get('error', 'failed')) for name in failed))


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def store_summary(res):
    """One store's result (of any operation, as a module returned it) reduced to what the
    controller keeps: available, found, units, detail (whole numbers only), and when the
    result has them reason, error, erased (when not zero), manual_steps, files (their count),
    before and after (an erasure; after is None in a preview). No other text."""
    out = {
        'available': bool(res.get('available', True)),
        'found': _int(res.get('found')) or 0,
        'units': res.get('units', ''),
        'detail': dict((k, v) for k, v in (res.get('detail') or {}).items()
                       if isinstance(v, int) and not isinstance(v, bool)),
    }
    for key in ('reason', 'error'):
        if res.get(key):
            out[key] = str(res[key])
    if res.get('erased'):
        out['erased'] = _int(res['erased']) or 0
    if res.get('manual_steps'):
        out['manual_steps'] = [str(s) for s in res['manual_steps']]
    if res.get('files'):
        out['files'] = len(res['files'])
    for key in ('before', 'after'):
        if key in res:
            out[key] = _int(res[key])
    return out


def stores_summary(stores):
    """{store name: store_summary()} of a module's ``stores`` (anything else is skipped)."""
    if not isinstance(stores, dict):
        return {}
    return dict((name, store_summary(res)) for name, res in sorted(stores.items()) if isinstance(res, dict))
