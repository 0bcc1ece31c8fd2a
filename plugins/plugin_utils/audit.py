# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of a data-subject request (find, export, later erase).

* :func:`prepare_request` validates the playbook's inputs once, before any host is touched,
  with the parsing steps of module_utils/request.py that the modules run on the hosts (minus
  the host-only parts: qmail control files, accounts): the subject, the HMAC key, the request
  id (generated when absent), the stores and their options; it returns the request context,
  which holds the subject's HMAC and counts, never an identifier.
* :func:`host_entry` turns the registered results of a host's tasks into counts and an outcome
  (the stores with request.store_summary, the one summary of the audit, archive and report).
* :class:`Screen` withholds any free text that carries an identifier of the subject.
* :func:`build_record` and :func:`write_record` write the audit record: one line appended to
  ``audit.jsonl`` and one JSON file per request, mode 0600 in a 0700 directory.

Controller-only code (plugin_utils): used by the action plugins subject_request and request_audit.
"""

from __future__ import annotations

import datetime
import errno
import fcntl
import getpass
import json
import os
import platform
import pwd
import re
import secrets
import shutil
import stat

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import request as pipeline
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import SubjectError
from ansible_collections.mailprivacy.gdpr.plugins.plugin_utils import audit_chain

AUDIT_FORMAT = 'mailprivacy.gdpr/audit'
AUDIT_VERSION = 1
JOURNAL = 'audit.jsonl'
ACTIONS = ('find', 'export', 'erase')
KINDS = ('user', 'domain', 'any')
SUBJECT_KEYS = ('addresses', 'logins', 'ips')
MIN_KEY = 16
WITHHELD = '[withheld: matched the subject]'
HOST_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9._:@+-]{0,252}$')
# error messages kept in a record are cut to this length
MAX_TEXT = 1000


class RequestError(ValueError):
    """The request is not valid. The message names the variable and the problem, never a value."""


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def timestamp(when=None):
    return (when or utc_now()).strftime('%Y-%m-%dT%H:%M:%SZ')


def new_request_id(when=None, token=None):
    """``<UTC timestamp>-<8 random hex digits>``, for example ``20250101T120000Z-1a2b3c4d``."""
    return '%s-%s' % ((when or utc_now()).strftime('%Y%m%dT%H%M%SZ'), token or secrets.token_hex(4))


def check_request_id(value):
    if value is None:
        value = ''     # a request id is required here
    try:
        return pipeline.check_request_id(value, 'gdpr_request_id')
    except StoreError as err:
        raise RequestError(str(err))


def _as_list(value, name):
    """A string or a list of strings as a list (the playbook passes ``[value] | flatten``)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value != '' else []
    if isinstance(value, (list, tuple)):
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise RequestError('%s[%d] must be a string' % (name, i))
            out.append(item)
        return out
    raise RequestError('%s must be a string or a list of strings' % name)


def subject_input(subject=None, domain=None):
    """The identifiers of ``gdpr_subject`` and ``gdpr_subject_domain`` as plain lists.
    Only the shape is checked here; :meth:`Subject.from_params` checks the values."""
    if subject is None:
        subject = {}
    if not isinstance(subject, dict):
        raise RequestError('gdpr_subject must be a dictionary with the keys addresses, logins and ips')
    if any(key not in SUBJECT_KEYS for key in subject):
        # never name the key: a mistyped dictionary may hold an identifier as a key
        raise RequestError('gdpr_subject may only hold the keys addresses, logins and ips')
    out = dict((key, _as_list(subject.get(key), 'gdpr_subject.%s' % key)) for key in SUBJECT_KEYS)
    if domain is not None and not isinstance(domain, str):
        raise RequestError('gdpr_subject_domain must be a string')
    out['domain'] = domain or None
    return out


def operator_of(explicit=None, task_vars=None):
    """(operator, source): gdpr_operator, else AWX's or Tower's user name, else the login
    user of the controller."""
    task_vars = task_vars or {}
    if explicit:
        return str(explicit), 'gdpr_operator'
    for var in ('awx_user_name', 'tower_user_name'):
        value = task_vars.get(var)
        if isinstance(value, str) and value:
            return value, var
    try:
        return getpass.getuser(), 'controller_user'
    except (KeyError, OSError, ImportError):
        try:
            return pwd.getpwuid(os.getuid()).pw_name, 'controller_user'
        except KeyError:
            return 'uid-%d' % os.getuid(), 'controller_user'


class Screen(object):
    """Withholds text that carries an identifier of the subject: the subject's own regex
    (with its boundaries) and, for values of at least three characters, a case-insensitive
    substring test of every raw identifier and of the local part of every address."""

    def __init__(self, subject=None, raw=None):
        self.subject = subject
        needles = set()
        raw = raw or {}
        for key in SUBJECT_KEYS + ('domain',):
            values = raw.get(key) or []
            if isinstance(values, str):
                values = [values]
            for value in values:
                if not isinstance(value, str):
                    continue
                forms = [value]
                if '@' in value:
                    forms.append(value.rsplit('@', 1)[0])
                for form in forms:
                    form = form.strip().lower()
                    if len(form) >= 3:
                        needles.add(form)
        self.needles = sorted(needles)

    def hits(self, text):
        if not isinstance(text, str) or not text:
            return False
        low = text.lower()
        if any(n in low for n in self.needles):
            return True
        if self.subject is not None:
            try:
                return self.subject.matches(text)
            except (ValueError, TypeError):
                return True
        return False

    def text(self, value):
        if not isinstance(value, str):
            return value
        if self.hits(value):
            return WITHHELD
        return value[:MAX_TEXT]

    def clean(self, obj, keep=frozenset()):
        """A copy of ``obj`` with every string (keys included) that is not in ``keep`` screened."""
        if isinstance(obj, dict):
            out = {}
            for key, value in obj.items():
                key = key if key in keep or not isinstance(key, str) else self.text(key)
                out[key] = self.clean(value, keep)
            return out
        if isinstance(obj, (list, tuple)):
            return [self.clean(v, keep) for v in obj]
        if isinstance(obj, str):
            return obj if obj in keep else self.text(obj)
        return obj


def build_subject(ident, plus_separator='+', local_part_case='insensitive'):
    """The Subject of a request on the controller, built as the modules build it on the hosts
    (request.parse_subject: same identifiers, plus separator and local-part case; the hosts'
    qmail virtual-domain prefixes are not known here: the Screen's substring test covers those
    names)."""
    return pipeline.parse_subject(dict(ident, plus_separator=plus_separator, local_part_case=local_part_case))


def check_stores(stores, store_options, context):
    """Validate store names and options the way the modules will (request.parse_stores, then
    every store's constructor: they check option names, types and values and touch nothing).
    Returns the names of the request's stores."""
    classes, store_options = pipeline.parse_stores(stores, store_options, prefix='gdpr_')
    pipeline.check_store_options(store_options, context)
    return [cls.name for cls in classes]


def prepare_request(params, task_vars=None, when=None):
    """Validate a request; return ``(request, problems)``.

    ``request`` always holds what is known (request id, operator, start time) so that a
    rejected request can be recorded; ``problems`` is an empty list when the request is
    valid. Nothing in ``request`` or in ``problems`` is an identifier of the subject."""
    when = when or utc_now()
    operator, source = operator_of(params.get('operator'), task_vars)
    action = params.get('action') or 'find'
    request = {
        'request_id': None,
        'action': action,
        'kind': None,
        'subject_hmac': None,
        'identifiers': None,
        'operator': operator,
        'operator_source': source,
        'started': timestamp(when),
        'check_mode': bool(params.get('check_mode')),
        'stores': [],
        'plus_separator': params.get('plus_separator', '+'),
        'local_part_case': params.get('local_part_case') or 'insensitive',
    }
    problems = []

    request_id = params.get('request_id')
    generated = request_id in (None, '')
    try:
        request['request_id'] = new_request_id(when) if generated else check_request_id(request_id)
    except RequestError as err:
        problems.append(str(err))
    request['request_id_generated'] = generated

    subject = None
    ident = None
    try:
        ident = subject_input(params.get('subject'), params.get('domain'))
        subject = build_subject(ident, params.get('plus_separator', '+'), params.get('local_part_case') or 'insensitive')
    except (RequestError, SubjectError) as err:
        problems.append('invalid subject: %s' % err)

    key = params.get('hmac_key')
    if key in (None, ''):
        problems.append('gdpr_hmac_key is not set: keep the key in a vault variable (for example '
                        'vault_gdpr_hmac_key, created with ansible-vault encrypt_string) and pass it '
                        'as gdpr_hmac_key')
    elif not isinstance(key, str) or len(key.encode('utf-8')) < MIN_KEY:
        problems.append('gdpr_hmac_key must be a secret of at least %d characters' % MIN_KEY)
    elif subject is not None:
        request['subject_hmac'] = subject.hmac(key)

    if subject is not None:
        request['kind'] = subject.kind
        request['identifiers'] = {
            'addresses': len(subject.addresses), 'logins': len(subject.logins), 'ips': len(subject.ips),
            'domain': 1 if subject.domain else 0,
        }
        expect = params.get('expect_kind') or 'any'
        if expect == 'domain' and subject.kind != 'domain':
            problems.append('a customer request needs gdpr_subject_domain (the mail domain of the customer)')
        if expect == 'user' and subject.kind != 'user':
            problems.append('gdpr_subject_domain is set: run the customer playbook for a whole mail domain')
        if request['request_id'] and not generated:
            if Screen(subject, ident).hits(request['request_id']):
                problems.append('gdpr_request_id must not contain an identifier of the subject '
                                '(it names files and appears in every output)')
                request['request_id'] = None

    context = pipeline.request_context(request['subject_hmac'], request['request_id'])
    try:
        request['stores'] = check_stores(params.get('stores'), params.get('store_options'), context)
    except (RequestError, StoreError) as err:
        problems.append(str(err))
    if action not in ACTIONS:
        problems.append('action must be one of %s' % ', '.join(ACTIONS))
    problems += prepare_directories(request, params, problems)
    if problems:
        # the messages name fields, never values; screen them all the same
        try:
            screen = Screen(subject, subject_input(params.get('subject'), params.get('domain')))
        except RequestError:
            screen = Screen(subject)
        problems = [screen.text(p) for p in problems]
    return request, problems


def prepare_directories(request, params, problems):
    """Resolve the controller's directories into ``request`` and check them up front, so that
    the archive and the audit record can be written at the end. For an export (not in check
    mode) this creates the export directory and a fresh staging directory for the fetched
    bundles, both 0700. Returns the problems found."""
    found = []
    request['audit_dir'] = os.path.abspath(os.path.expanduser(params.get('audit_dir') or 'audit'))
    request['export_dir'] = os.path.abspath(os.path.expanduser(params.get('export_dir') or 'exports'))
    rid = request.get('request_id')
    if rid:
        request['staging_dir'] = os.path.join(request['export_dir'], '.%s.partial' % rid)
    try:
        private_dir(request['audit_dir'], 'gdpr_audit_dir')
    except (RequestError, OSError) as err:
        found.append(str(err) if isinstance(err, RequestError) else
                     'gdpr_audit_dir cannot be created (%s)' % type(err).__name__)
    if params.get('action') != 'export' or request.get('check_mode') or not rid or problems:
        return found
    archive = os.path.join(request['export_dir'], '%s.tar.gz' % rid)
    if os.path.lexists(archive) and not params.get('force'):
        found.append('the archive of request %s exists already in %s; choose another gdpr_request_id or set '
                     'gdpr_export_force=true to replace it' % (rid, request['export_dir']))
        return found
    try:
        private_dir(request['export_dir'], 'gdpr_export_dir')
        staging = request['staging_dir']
        if os.path.islink(staging) or (os.path.lexists(staging) and not os.path.isdir(staging)):
            raise RequestError('the staging directory %s is not a directory' % staging)
        if os.path.isdir(staging):
            shutil.rmtree(staging)        # left over by an interrupted run of this request
        os.mkdir(staging, 0o700)
    except (RequestError, OSError) as err:
        found.append(str(err) if isinstance(err, RequestError) else
                     'gdpr_export_dir cannot be prepared (%s)' % type(err).__name__)
    return found


# ------------------------------------------------------------------------------ host results
def _nonneg(value):
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


def _failure_text(step, res):
    if res.get('unreachable'):
        return '%s: the host could not be reached' % step
    msg = res.get('msg')
    if not isinstance(msg, str) or not msg:
        msg = 'failed'
    return '%s: %s' % (step, msg)


def registered(task_vars, host, name):
    """A host's registered result, or None when the host never ran the task."""
    hostvars = task_vars.get('hostvars') or {}
    try:
        values = hostvars[host]
    except Exception:  # pylint: disable=broad-except
        return None
    try:
        value = values.get(name) if hasattr(values, 'get') else None
    except Exception:  # pylint: disable=broad-except
        return None
    return dict(value) if isinstance(value, dict) else None


def host_entry(steps, subject_hmac=None):
    """Outcome and counts of one host from its registered results.

    ``steps`` is a list of ``(step name, registered result or None)``; the first step is the
    subject module (subject_find, subject_export, subject_erase) whose counts are recorded."""
    entry = {'outcome': 'ok', 'found': 0, 'stores': {}, 'steps': {}}
    main_name, main = steps[0]
    if not isinstance(main, dict):
        entry.update(outcome='not run', error='%s: the host did not run the request' % main_name)
        return entry
    if isinstance(main.get('stores'), dict):
        entry['stores'] = pipeline.stores_summary(main['stores'])
        entry['found'] = sum(s['found'] for s in entry['stores'].values())
    for key in ('kind', 'complete', 'manifest_sha256', 'failed_stores'):
        if key in main:
            entry[key] = main[key]
    check = main.get('independent_check')
    if isinstance(check, dict):
        # the erasure's independent check: whether it ran and how many candidates, never names
        entry['independent_check'] = {'ran': bool(check.get('ran')), 'candidates': _nonneg(check.get('candidates'))}
    if subject_hmac and main.get('subject_hmac') and main['subject_hmac'] != subject_hmac:
        entry.update(outcome='failed', error='%s: the host computed another subject HMAC' % main_name)
    for name, res in steps:
        if not isinstance(res, dict):
            entry['steps'][name] = 'not run'
            continue
        if res.get('unreachable'):
            entry['steps'][name] = 'unreachable'
        elif res.get('failed'):
            entry['steps'][name] = 'failed'
        elif res.get('skipped'):
            entry['steps'][name] = 'skipped'
        else:
            entry['steps'][name] = 'changed' if res.get('changed') else 'ok'
        if entry['outcome'] == 'ok' and entry['steps'][name] in ('unreachable', 'failed'):
            entry['outcome'] = entry['steps'][name]
            entry['error'] = _failure_text(name, res)
    if entry['outcome'] == 'ok' and entry['steps'].get(main_name) == 'not run':
        entry.update(outcome='not run', error='%s: the host did not run the request' % main_name)
    return entry


# ------------------------------------------------------------------------------ the record
def build_record(request, hosts, finished=None, error=None, archive=None, extra=None, rejected=False):
    """The audit record (a dict). ``hosts``: {host name: host_entry()}. ``rejected``: the
    request was refused before any host was touched (``error`` says why)."""
    request = dict(request or {})
    hosts = hosts or {}
    outcome = 'ok'
    if rejected:
        outcome = 'rejected'
        error = error or 'the request was refused'
    else:
        problems = []
        bad = sorted(name for name, h in hosts.items() if h.get('outcome') != 'ok')
        if not hosts:
            problems.append('no host of the inventory matched the request')
        elif bad:
            problems.append('the request failed on %d of %d host(s): %s' % (len(bad), len(hosts), ', '.join(bad)))
        if error:
            problems.append(str(error))
        if problems:
            outcome = 'failed'
            error = '; '.join(problems)
    by_store = {}
    for host in hosts.values():
        for name, res in (host.get('stores') or {}).items():
            tot = by_store.setdefault(name, {'found': 0, 'units': res.get('units', ''), 'hosts': 0})
            tot['found'] += int(res.get('found') or 0)
            if res.get('available'):
                tot['hosts'] += 1
    record = {
        'format': AUDIT_FORMAT,
        'version': AUDIT_VERSION,
        'request_id': request.get('request_id'),
        'action': request.get('action'),
        'kind': request.get('kind'),
        'subject_hmac': request.get('subject_hmac'),
        'identifiers': request.get('identifiers'),
        'operator': request.get('operator'),
        'operator_source': request.get('operator_source'),
        'check_mode': bool(request.get('check_mode')),
        'stores_requested': request.get('stores') or [],
        'started': request.get('started'),
        'finished': finished or timestamp(),
        'outcome': outcome,
        'hosts': hosts,
        'totals': {'hosts': len(hosts), 'hosts_ok': sum(1 for h in hosts.values() if h.get('outcome') == 'ok'),
                   'found': sum(int(h.get('found') or 0) for h in hosts.values()), 'by_store': by_store},
        'controller': {'host': platform.node()},
    }
    checked = [h['independent_check'] for h in hosts.values() if isinstance(h.get('independent_check'), dict)]
    if checked:
        record['totals']['candidates'] = sum(c.get('candidates') or 0 for c in checked)
    if error:
        record['error'] = str(error)
    if archive:
        record['archive'] = archive
    if extra:
        record.update(extra)
    return record


def screen_record(record, screen):
    """The record with every free text that matches the subject withheld. Host names, store
    names, the request id, the HMAC and the operator are structural and kept."""
    keep = set()
    for value in (record.get('request_id'), record.get('subject_hmac'), record.get('operator'),
                  record.get('kind'), record.get('action'), record.get('outcome')):
        if isinstance(value, str):
            keep.add(value)
    keep.update(h for h in (record.get('hosts') or {}) if isinstance(h, str))
    for host in (record.get('hosts') or {}).values():
        keep.update(s for s in (host.get('stores') or {}) if isinstance(s, str))
    keep.update(('format', 'version', 'request_id', 'action', 'kind', 'subject_hmac', 'identifiers',
                 'operator', 'operator_source', 'check_mode', 'stores_requested', 'started', 'finished',
                 'outcome', 'hosts', 'totals', 'controller', 'error', 'archive', 'independent_check', 'ran',
                 'candidates'))
    return screen.clean(record, frozenset(keep))


def private_dir(path, what='the directory'):
    """Create ``path`` with mode 0700, or check that it is a directory (not a symbolic link)
    that neither group nor others can access and that this user can write. An existing
    directory is never chmodded: it may be shared, and a wrong path must not open or close it."""
    path = os.path.abspath(path)
    if os.path.islink(path):
        raise RequestError('%s %s is a symbolic link; refusing' % (what, path))
    if os.path.lexists(path) and not os.path.isdir(path):
        raise RequestError('%s %s is not a directory' % (what, path))
    if not os.path.isdir(path):
        os.makedirs(path, 0o700)
        os.chmod(path, 0o700)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        raise RequestError('%s %s can be accessed by group or others (mode %04o): chmod 0700 it or choose '
                           'another directory' % (what, path, mode))
    if not os.access(path, os.W_OK | os.X_OK):
        raise RequestError('%s %s is not writable' % (what, path))
    return path


def _safe_name(value):
    return re.sub(r'[^A-Za-z0-9._-]', '_', value or 'request')[:80]


def write_record(audit_dir, record, key=None):
    """Append the record to ``audit.jsonl`` (one line, under an exclusive lock) and write it
    to its own file ``<request id>.<action>.json`` (a number is added when that exists).
    Both mode 0600. Returns (journal path, record path).

    Under the lock the record is chained to the journal's last record (``audit_chain``):
    ``record['chain']`` is set to {v, seq, prev, kid, mac}, the MAC keyed with a key derived
    from ``key`` (the request HMAC key); without a usable key (a request refused for its key)
    the link is a plain SHA-256 and the record counts as unauthenticated."""
    directory = private_dir(audit_dir, 'gdpr_audit_dir')
    chain_key = audit_chain.derive_key(key) if audit_chain.usable_key(key) else None
    record.pop('chain', None)
    journal = os.path.join(directory, JOURNAL)
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0)
    fd = os.open(journal, flags, 0o600)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, 'the audit journal is not a regular file')
        os.fchmod(fd, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        seq, prev, needs_newline = audit_chain.tail(fd)
        record['chain'] = audit_chain.seal(record, seq + 1, prev, chain_key)
        line = (b'\n' if needs_newline else b'') + (
            json.dumps(record, sort_keys=True, separators=(',', ':')) + '\n').encode('utf-8')
        view = memoryview(line)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)

    base = '%s.%s' % (_safe_name(record.get('request_id') or 'rejected-%s' % new_request_id()),
                      _safe_name(record.get('action') or 'request'))
    data = (json.dumps(record, indent=2, sort_keys=True) + '\n').encode('utf-8')
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0)
    for n in range(1, 1000):
        path = os.path.join(directory, '%s.json' % base if n == 1 else '%s.%d.json' % (base, n))
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            continue
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return journal, path
    raise OSError(errno.EEXIST, 'too many records of this request')


def report_lines(record):
    """A short PII-free summary of the record for the play output."""
    lines = ['%s request %s (%s, subject HMAC %s): %s' % (
        record.get('action'), record.get('request_id'), record.get('kind'),
        (record.get('subject_hmac') or '-')[:16], record.get('outcome'))]
    for host, entry in sorted((record.get('hosts') or {}).items()):
        counts = ', '.join('%s %d %s' % (name, s.get('found', 0), s.get('units', ''))
                           for name, s in sorted((entry.get('stores') or {}).items())
                           if s.get('available') or s.get('error'))
        lines.append('%s: %s%s%s' % (host, entry.get('outcome'), ' - ' if counts else '', counts))
        if entry.get('error'):
            lines.append('%s: %s' % (host, entry['error']))
    if record.get('error'):
        lines.append('error: %s' % record['error'])
    return lines
