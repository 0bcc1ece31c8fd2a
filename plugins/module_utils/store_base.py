# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Base classes of the stores: one adapter per place where a data subject's data lives.

Every adapter subclasses :class:`Store` and implements ``available``, ``locate``, ``export``
and ``erase``; results are :class:`Result` dicts that hold counts, never data. Commands go
through a :class:`Runner` so unit tests can fake them. Python standard library only.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import subprocess

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import bundle
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.errors import StoreError

RESULT_KEYS = ('store', 'available', 'reason', 'found', 'units', 'detail', 'erased', 'files',
               'manual_steps')


class Result(dict):
    """The outcome of one store operation; a plain dict so it serialises into module JSON.

    Keys: store, available, reason, found, units, detail (counts by non-PII category),
    erased, files (list of {path, sha256, size, kind, count}), manual_steps.
    """

    def __init__(self, *args, **kwargs):
        super(Result, self).__init__()
        self.update({
            'store': '',
            'available': True,
            'reason': '',
            'found': 0,
            'units': 'items',
            'detail': {},
            'erased': 0,
            'files': [],
            'manual_steps': [],
        })
        self.update(*args, **kwargs)

    def add(self, category, count=1):
        """Add ``count`` to ``found`` and to ``detail[category]``."""
        self['found'] += count
        self['detail'][category] = self['detail'].get(category, 0) + count


class Option(object):
    """The declaration of one store option: its default, its type and what it does.

    ``type`` is one of TYPES (``list`` with ``elements``, the type of its items, for the
    documentation); a value given for the option must be of that type (check_options). The
    ``description`` (ansible-doc markup) is the option's documentation: tools/store_docs.py
    renders every store's declarations into the subject modules' documentation
    (plugins/doc_fragments/subject.py). A store lists its options in ``OPTIONS`` as
    ``{name: Option(default, type, description)}``."""

    TYPES = ('bool', 'int', 'str', 'list', 'dict')
    __slots__ = ('default', 'type', 'description', 'elements')

    def __init__(self, default, type_name, description, elements=None):
        if type_name not in self.TYPES:
            raise ValueError('unknown option type %r' % (type_name,))
        if elements is not None and type_name != 'list':
            raise ValueError('elements are for list options')
        if not isinstance(description, str) or not description.strip():
            raise ValueError('an option needs a description')
        if _type_problem(type_name, default):
            raise ValueError('the default is not a %s' % type_name)
        self.default = default
        self.type = type_name
        self.description = description
        self.elements = elements

    def __repr__(self):
        return 'Option(%r, %r, ...)' % (self.default, self.type)


_TYPE_WORDS = {'bool': 'a boolean', 'int': 'an integer', 'str': 'a string', 'list': 'a list', 'dict': 'a dictionary'}


def _type_problem(type_name, value):
    """True when ``value`` is not of the option type ``type_name`` (None: any value)."""
    if type_name == 'bool':
        return not isinstance(value, bool)
    if type_name == 'int':
        return isinstance(value, bool) or not isinstance(value, int)
    if type_name == 'list':
        return isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple))
    if type_name == 'str':
        return not isinstance(value, str)
    if type_name == 'dict':
        return not isinstance(value, dict)
    return False


def _declared(value):
    """(default, type name or None) of an OPTIONS entry: an Option, or (test doubles) a
    plain default whose Python type is the option's type."""
    if isinstance(value, Option):
        return value.default, value.type
    for type_name, types in (('bool', bool), ('int', int), ('list', (list, tuple)), ('str', str), ('dict', dict)):
        if isinstance(value, types):
            return value, type_name
    return value, None


def option_defaults(declarations):
    """{name: default} of a store's OPTIONS."""
    return dict((key, _declared(value)[0]) for key, value in declarations.items())


def check_options(options, declarations, store_name):
    """Merge ``options`` over a deep copy of the defaults of ``declarations`` (a store's
    OPTIONS). Unknown keys and values of the wrong type raise StoreError (the message names
    the option, never its value); None keeps the default."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise StoreError('%s: store options must be a dictionary' % store_name)
    unknown = sorted(set(options) - set(declarations))
    if unknown:
        raise StoreError('%s: unknown store option(s): %s' % (store_name, ', '.join(str(k) for k in unknown)))
    merged = copy.deepcopy(option_defaults(declarations))
    for key, value in options.items():
        if value is None:
            continue
        type_name = _declared(declarations[key])[1]
        if _type_problem(type_name, value):
            raise StoreError('%s: option %s must be %s' % (store_name, key, _TYPE_WORDS[type_name]))
        if type_name == 'list':
            value = list(value)
        merged[key] = copy.deepcopy(value)
    return merged


class Runner(object):
    """Runs commands without a shell, in the C locale. Unit tests replace it with a fake
    that has the same methods.

    A subject's identifiers (address, login, uid) go to a command on its stdin (``data``),
    never into ``argv``: every local user can read a process's command line
    (/proc/PID/cmdline, ``ps``). The few tools that take them only as arguments are listed in
    docs/erasure.md ("Hardening the hosts")."""

    def __init__(self, env=None, timeout=None):
        self.env = dict(os.environ)
        self.env.update({'LC_ALL': 'C', 'LANG': 'C'})
        if env:
            self.env.update(env)
        self.timeout = timeout

    @staticmethod
    def _label(argv):
        # only the program's base name: arguments may hold personal data
        return os.path.basename(str(argv[0])) if argv else '?'

    def run(self, argv, data=None, check=True):
        """(rc, stdout, stderr) as bytes. ``check``: a non-zero exit raises StoreError."""
        try:
            proc = subprocess.run(list(argv), input=data, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=self.env, timeout=self.timeout,
                                  stdin=None if data is not None else subprocess.DEVNULL,
                                  check=False)
        except OSError:
            raise StoreError('%s: cannot be run' % self._label(argv))
        except subprocess.TimeoutExpired:
            raise StoreError('%s: timed out' % self._label(argv))
        if check and proc.returncode != 0:
            raise StoreError('%s failed (exit %d)' % (self._label(argv), proc.returncode))
        return proc.returncode, proc.stdout, proc.stderr

    @contextlib.contextmanager
    def stream(self, argv, check=True):
        """A binary file object reading the command's stdout as it runs (for output too big
        to hold in memory). On leaving the block the command is waited for; with ``check``
        a non-zero exit raises StoreError. Leaving early terminates the command."""
        with self._piped(argv, check, reading=True) as handle:
            yield handle

    @contextlib.contextmanager
    def sink(self, argv, check=True):
        """A binary file object writing to the command's stdin (its stdout and stderr are
        discarded). On leaving the block stdin is closed and the command waited for; with
        ``check`` a non-zero exit raises StoreError. Leaving by an exception kills the
        command."""
        with self._piped(argv, check, reading=False) as handle:
            yield handle

    @contextlib.contextmanager
    def _piped(self, argv, check, reading):
        """The command with one pipe: its stdout (``reading``) or its stdin; stderr and the
        other stream are discarded. Leaving the block early ends the command (SIGTERM for a
        reader, SIGKILL for a writer, whose half-fed input must not be acted on)."""
        if reading:
            pipes = dict(stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        else:
            pipes = dict(stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        try:
            proc = subprocess.Popen(list(argv), stderr=subprocess.DEVNULL, env=self.env, **pipes)
        except OSError:
            raise StoreError('%s: cannot be run' % self._label(argv))
        pipe = proc.stdout if reading else proc.stdin
        finished = False
        try:
            yield pipe
            finished = True
        finally:
            if not finished and proc.poll() is None:
                if reading:
                    proc.terminate()
                else:
                    proc.kill()
            try:
                pipe.close()
            except OSError:  # a command that died early: its exit status tells
                pass
            rc = proc.wait()
        if check and rc != 0:
            raise StoreError('%s failed (exit %d)' % (self._label(argv), rc))

    def signal(self, pid, signum):
        """Send ``signum`` to process ``pid`` (work a command would otherwise do with the
        user's name on its command line, such as ``doveadm kick``). False when the process
        is gone."""
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return False
        return True

    def which(self, name):
        """Absolute path of an executable (``name`` may be absolute), or None."""
        if not name:
            return None
        if os.path.isabs(name):
            return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
        path = os.environ.get('PATH', '') + ':/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
        return shutil.which(name, path=path)


class Store(object):
    """One place where a subject's data lives. Subclasses set name, units and OPTIONS
    (``{name: Option(default, type, description)}``: every option declared, see Option)."""

    name = 'abstract'
    units = 'items'
    OPTIONS = {}

    def __init__(self, options=None, runner=None):
        self.options = check_options(options, self.OPTIONS, self.name)
        self.runner = runner if runner is not None else Runner()

    def result(self, **kwargs):
        """A Result with this store's name and units."""
        res = Result(store=self.name, units=self.units)
        res.update(kwargs)
        return res

    def unavailable(self, reason):
        return self.result(available=False, reason=reason)

    def available(self):
        """(present on this host?, reason when not)."""
        return True, ''

    def locate(self, subject):
        """Read-only counts."""
        raise NotImplementedError

    def export(self, subject, bundle_dir):
        """Write the subject's data under bundle_dir/<name>/ (dirs 0700, files 0600)."""
        raise NotImplementedError

    def erase(self, subject, check_mode):
        """Remove the subject's data; found = before, erased = removed."""
        raise NotImplementedError

    def extended_accounts(self, subject):
        """How many accounts this store knows whose name extends one of the subject's
        addresses or logins with the plus separator (``Subject.extends_account``:
        ``ann-marie@`` for ``ann@`` with ``-``, ``ann+work@`` with ``+``). Read-only; called
        once per request, before anything else, by ``request.check_extended_accounts``,
        which refuses the request while a store reports one (their mail and log lines would
        pass for tags of the subject's address). A store that knows no accounts keeps this
        default; a new account store implements it and nothing else changes."""
        return 0

    # ---------------------------------------------------------------- bundle helpers
    # (module_utils/bundle.py: every write goes through the bundle's size and free-space budget)
    def bundle_root(self, bundle_dir):
        """bundle_dir/<name>, created with mode 0700 through the bundle directory's handle
        (refuses symbolic links); sets up the bundle's budget."""
        return bundle.store_root(self.name, bundle_dir)

    def write_bundle_file(self, bundle_dir, relpath, chunks, kind, count):
        """Write a new file bundle_dir/<name>/<relpath> (0600, parents 0700) through the
        bundle's budget and return its files[] entry {path (relative to bundle_dir), sha256,
        size, kind, count}."""
        return bundle.write_file(self.name, bundle_dir, relpath, chunks, kind, count)


# ------------------------------------------------------------------------------ running stores
def safe_error(err):
    """A message for an error that holds no personal data: StoreError messages as they are
    (no PII by contract), anything else by class name and errno only (an OSError's text
    names paths, which may name users)."""
    if isinstance(err, StoreError):
        return str(err)
    errno_ = getattr(err, 'errno', None)
    if errno_ is not None:
        return 'unexpected %s (errno %s)' % (type(err).__name__, errno_)
    return 'unexpected %s' % type(err).__name__


def store_options_for(cls, store_options, context):
    """The options of one store class: ``store_options[name]``, with the options of its
    OPTIONS that are named in ``context`` and not set by the caller filled from it."""
    opts = dict((store_options or {}).get(cls.name) or {})
    for key, value in (context or {}).items():
        if key in cls.OPTIONS and opts.get(key) in (None, ''):
            opts[key] = value
    return opts


def _normalise_result(res, cls):
    out = Result(store=cls.name, units=cls.units)
    if isinstance(res, dict):
        out.update(res)
    out['store'] = cls.name
    return out


NOT_SUPPORTED = 'erasure is not supported by this store yet'


def _count(res):
    try:
        return int((res or {}).get('found') or 0)
    except (TypeError, ValueError):
        return 0


def erase_store(store, subject, check_mode):
    """Count, erase (or preview) and count again in one available store. Returns a Result with
    the keys before (also found), erased, after (None in check mode or when the store failed
    before it could count again) and, when it failed, error ('<phase>: <why>', the phase being
    locate, erase or proof). Never raises."""
    res = Result(store=store.name, units=store.units, before=0, after=None)
    phase = 'locate'
    try:
        before = store.locate(subject)
        res['before'] = res['found'] = _count(before)
        res['detail'] = dict((before or {}).get('detail') or {})
        res['manual_steps'] = list((before or {}).get('manual_steps') or [])
        if before and before.get('reason'):
            res['reason'] = before['reason']
        phase = 'erase'
        erased = store.erase(subject, check_mode) or {}
        res['erased'] = int(erased.get('erased') or 0)
        res['detail'] = dict(erased.get('detail') or res['detail'])
        res['manual_steps'] = list(erased.get('manual_steps') or [])
        if check_mode:
            return res
        phase = 'proof'
        res['after'] = _count(store.locate(subject))
    except NotImplementedError:
        res['error'] = NOT_SUPPORTED if phase == 'erase' else '%s is not supported by this store' % phase
    except Exception as err:  # pylint: disable=broad-except
        res['error'] = '%s: %s' % (phase, safe_error(err))
    return res


def run_stores(classes, operation, subject, store_options=None, runner=None, context=None, **kwargs):
    """Run ``operation`` ('locate', 'export' or 'erase') of every store class in order; every
    store runs even when an earlier one failed.

    Each store gets its options from ``store_options`` and ``context`` (store_options_for).
    An unavailable store gives a Result with available=False and its reason. ``export``
    passes ``bundle_dir``. ``erase`` (with ``check_mode``) is, per store, a count, the
    erasure (or its preview) and a count again (erase_store: the keys before, erased, after;
    an unavailable store has before and after 0). A store that fails gives a Result with
    ``error`` set (no PII) and is listed in the second return value. Returns ({name: Result},
    [failed names])."""
    runner = runner if runner is not None else Runner()
    results = {}
    failed = []
    for cls in classes:
        phase = 'setup: ' if operation == 'erase' else ''
        try:
            store = cls(store_options_for(cls, store_options, context), runner)
            ok, reason = store.available()
            if not ok:
                res = Result(store=cls.name, units=cls.units, available=False, reason=reason or 'not available')
                if operation == 'erase':
                    res.update(before=0, after=0)
            elif operation == 'erase':
                res = erase_store(store, subject, kwargs.get('check_mode', False))
            else:
                res = _normalise_result(getattr(store, operation)(subject, **kwargs), cls)
        except NotImplementedError:
            res = Result(store=cls.name, units=cls.units, error='%s is not supported by this store yet' % operation)
        except Exception as err:  # pylint: disable=broad-except
            res = Result(store=cls.name, units=cls.units, error=phase + safe_error(err))
            if operation == 'erase':
                res.update(before=0, after=None)
        if res.get('error'):
            failed.append(cls.name)
        results[cls.name] = res
    return results, failed
