# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one fake of store_base.Runner for the unit tests (tests/unit/conftest.py exposes it as
the ``fake_runner`` fixture; modules that build runners in helpers import the class).

A FakeRunner has the methods of the real Runner (run, stream, sink, signal, which) and
behaves like it where the stores can tell: ``check=True`` turns a non-zero exit into the
same StoreError, ``stream`` raises it after the block, ``sink`` after the input is closed.
What the commands answer is scripted:

``tools`` (for ``run``), ``streams`` (for ``stream``) and ``sinks`` (for ``sink``) map a key
to an answer. A key is a program (compared with the base name of ``argv[0]``, so
``'journalctl'`` matches ``/usr/bin/journalctl``) or a tuple: an argv prefix whose first item
is such a program, for example ``('journalctl', '--no-pager', '--quiet', '--output=export')``.
The longest matching key wins. An answer is:

* for ``run``: ``(rc, stdout, stderr)``, ``bytes`` (stdout, exit 0) or an ``int`` (the exit,
  no output);
* for ``stream``: ``bytes`` (stdout, exit 0) or ``(rc, stdout)``;
* for ``sink``: an ``int`` exit (default 0); the bytes written are kept in ``sunk``;
* or a callable ``answer(argv, data)`` (``data``: stdin for ``run``, None for ``stream``,
  the bytes written for ``sink``) returning one of the above, or an exception instance
  (raised), or ``PASS`` to hand the command to ``real``.

A command without an answer gets ``default`` (for ``run`` only); without a default it is
handed to ``real`` (a real Runner, for tests that run real tools and fake some), and
without one it fails the test (AssertionError naming the program).

``which(name)``: an absolute name is returned as it is when its base name is installed,
another name as ``bindir/<base name>``; ``installed`` is the set of base names found (default:
the programs named in ``tools``, ``streams`` and ``sinks``; ``True``: every name; with
``real``, a name not installed here is asked of ``real``).

Every command is recorded, in order, in ``records`` (:class:`Call`: kind, argv, data); the
views ``calls`` (argv lists), ``inputs`` (stdin of each, None when none), ``named`` (argv with
the program's base name) and ``sunk`` (bytes written to each sink) are derived from it.
``signals`` holds the (pid, signum) of each ``signal``; its answer is ``on_signal(pid,
signum)``, else ``real``'s (the signal is sent), else True (the process existed)."""

from __future__ import annotations

import collections
import contextlib
import io
import os

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError

PASS = object()

Call = collections.namedtuple('Call', 'kind argv data')


def program(argv):
    """The base name of the program of ``argv``."""
    return os.path.basename(str(argv[0])) if argv else ''


def _key_matches(key, argv):
    if isinstance(key, str):
        return program(argv) == key
    key = tuple(key)
    if not key or len(argv) < len(key) or program(argv) != os.path.basename(key[0]):
        return False
    return [str(a) for a in argv[1:len(key)]] == [str(k) for k in key[1:]]


def _key_length(key):
    return 1 if isinstance(key, str) else len(tuple(key))


def _key_program(key):
    return key if isinstance(key, str) else os.path.basename(tuple(key)[0])


class _Sink(io.BytesIO):
    """The stdin of a faked command: what was written is kept when it is closed."""

    def __init__(self, keep):
        io.BytesIO.__init__(self)
        self._keep = keep

    def close(self):
        if not self.closed:
            self._keep(self.getvalue())
        io.BytesIO.close(self)


class FakeRunner(object):
    """A store_base.Runner that answers from a script and records every command (see the
    module's docstring)."""

    def __init__(self, tools=None, streams=None, sinks=None, default=None, installed=None, bindir='/usr/bin',
                 real=None, on_signal=None):
        self.tools = dict(tools or {})
        self.streams = dict(streams or {})
        self.sinks = dict(sinks or {})
        self.default = default
        if installed is None:
            installed = set(_key_program(k) for k in list(self.tools) + list(self.streams) + list(self.sinks))
        self.installed = installed if installed is True else set(installed)
        self.bindir = bindir
        self.real = real
        self.on_signal = on_signal
        self.records = []
        self.signals = []

    # ------------------------------------------------------------------ what was run
    @property
    def calls(self):
        """The argv (a list) of every command, in order."""
        return [list(c.argv) for c in self.records]

    @property
    def inputs(self):
        """The stdin of every command (parallel to ``calls``; None when it had none)."""
        return [c.data for c in self.records]

    @property
    def named(self):
        """Every argv with the program's base name instead of its path."""
        return [[program(c.argv)] + [str(a) for a in c.argv[1:]] for c in self.records]

    @property
    def sunk(self):
        """The bytes written into each sink, in order."""
        return [c.data for c in self.records if c.kind == 'sink']

    @property
    def programs(self):
        """The base name of the program of every command, in order."""
        return [program(c.argv) for c in self.records]

    def last(self, kind=None):
        """The argv of the last command (of this kind: 'run', 'stream' or 'sink')."""
        for call in reversed(self.records):
            if kind is None or call.kind == kind:
                return list(call.argv)
        return None

    # ------------------------------------------------------------------ the Runner's methods
    def which(self, name):
        if not name:
            return None
        base = os.path.basename(str(name))
        if self.installed is True or base in self.installed:
            return str(name) if os.path.isabs(str(name)) else os.path.join(self.bindir, base)
        if self.real is not None:
            return self.real.which(name)
        return None

    def run(self, argv, data=None, check=True):
        argv = list(argv)
        self.records.append(Call('run', argv, data))
        answer = self._answer(self.tools, argv, data, 'run')
        if answer is PASS:
            return self.real.run(argv, data=data, check=check)
        if isinstance(answer, bytes):
            answer = (0, answer, b'')
        elif isinstance(answer, int):
            answer = (answer, b'', b'')
        rc, out, err = answer
        if check and rc != 0:
            raise StoreError('%s failed (exit %d)' % (program(argv), rc))
        return rc, out, err

    @contextlib.contextmanager
    def stream(self, argv, check=True):
        argv = list(argv)
        self.records.append(Call('stream', argv, None))
        answer = self._answer(self.streams, argv, None, 'stream')
        if answer is PASS:
            with self.real.stream(argv, check=check) as handle:
                yield handle
            return
        rc, out = (0, answer) if isinstance(answer, bytes) else answer
        yield io.BytesIO(out)
        if check and rc != 0:
            raise StoreError('%s failed (exit %d)' % (program(argv), rc))

    @contextlib.contextmanager
    def sink(self, argv, check=True):
        argv = list(argv)
        index = len(self.records)
        self.records.append(Call('sink', argv, b''))
        key = self._key(self.sinks, argv)
        if key is None and self.real is not None:
            with self.real.sink(argv, check=check) as handle:
                yield handle
            return
        if key is None:
            raise AssertionError('unexpected command (sink): %s' % program(argv))

        def keep(data):
            self.records[index] = Call('sink', argv, data)

        handle = _Sink(keep)
        try:
            yield handle
        finally:
            handle.close()
        answer = self.sinks[key]
        if callable(answer):
            answer = answer(argv, self.records[index].data)
        if isinstance(answer, BaseException):
            raise answer
        rc = answer or 0
        if check and rc != 0:
            raise StoreError('%s failed (exit %d)' % (program(argv), rc))

    def signal(self, pid, signum):
        self.signals.append((pid, signum))
        if self.on_signal is not None:
            return self.on_signal(pid, signum)
        if self.real is not None:
            return self.real.signal(pid, signum)
        return True

    # ------------------------------------------------------------------ scripting
    @staticmethod
    def _key(table, argv):
        best = None
        for key in table:
            if _key_matches(key, argv) and (best is None or _key_length(key) > _key_length(best)):
                best = key
        return best

    def _answer(self, table, argv, data, kind):
        key = self._key(table, argv)
        if key is None:
            if kind == 'run' and self.default is not None:
                answer = self.default
            elif self.real is not None:
                return PASS
            else:
                raise AssertionError('unexpected command (%s): %s' % (kind, program(argv)))
        else:
            answer = table[key]
        if callable(answer):
            answer = answer(argv, data)
        if isinstance(answer, BaseException):
            raise answer
        if answer is PASS and self.real is None:
            raise AssertionError('no real runner to pass %s to' % program(argv))
        return answer
