# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""systemd configuration read the way systemd reads it: time spans and a daemon's
configuration file with its drop-ins (journald.conf). Python standard library only.

The one reader of journald's settings: the record of processing (processing_facts) and the
journal store's erasure step (store_journal_retention) both use it, so they report the same
retention.

Time spans follow systemd's ``parse_sec()``: components such as ``2w 3d``, ``1d12h`` or
``1.5h``, the units of ``systemd.time(7)`` (case-sensitive: ``M`` is a month, ``m`` a minute;
a month is 30.44 days, a year 365.25 days), ``infinity``, and a bare number in the caller's
default unit (seconds for every ``...Sec=`` setting).

Configuration files follow systemd's rules (``systemd-analyze cat-config`` shows the same
files): the main file is the first of ``/etc/systemd/NAME``, ``/run/systemd/NAME``,
``/usr/local/lib/systemd/NAME`` and ``/usr/lib/systemd/NAME`` that exists; the drop-ins are the
``*.conf`` files of every ``NAME.d`` directory of those four; a drop-in in ``/etc`` replaces
one of the same name in ``/run``, which replaces one in ``/usr/local/lib``, which replaces one
in ``/usr/lib`` (a link to ``/dev/null`` or an empty file so masks it); the main file is
applied first, then the drop-ins in the lexicographic order of their file names, whatever
their directory. An assignment that systemd refuses (for a time span: anything
``parse_timespan`` refuses, the empty value included) is ignored and the earlier value stays.
On the running system (root ``/``) the output of ``systemd-analyze cat-config systemd/NAME``
is read first, so the installed systemd decides; the files are read when it cannot be run
and under any other root (a mounted image, a fixture tree in tests).
"""

from __future__ import annotations

import os
import re
import stat

INFINITY = float('inf')
MONTH = 2629800  # systemd's USEC_PER_MONTH: 30.44 days
YEAR = 31557600  # systemd's USEC_PER_YEAR: 365.25 days

# systemd's extract_multiplier(): the first of these suffixes that the text starts with.
_SUFFIXES = (
    ('seconds', 1), ('second', 1), ('sec', 1), ('s', 1),
    ('minutes', 60), ('minute', 60), ('min', 60),
    ('months', MONTH), ('month', MONTH), ('M', MONTH),
    ('msec', 1e-3), ('ms', 1e-3), ('m', 60),
    ('hours', 3600), ('hour', 3600), ('hr', 3600), ('h', 3600),
    ('days', 86400), ('day', 86400), ('d', 86400),
    ('weeks', 604800), ('week', 604800), ('w', 604800),
    ('years', YEAR), ('year', YEAR), ('y', YEAR),
    ('usec', 1e-6), ('us', 1e-6), ('\u03bcs', 1e-6), ('\u00b5s', 1e-6),
)
UNITS = dict(_SUFFIXES)
_WHITESPACE = ' \t\n\r'
_DIGITS = re.compile(r'[0-9]*')

SEARCH_PATH = ('/etc/systemd', '/run/systemd', '/usr/local/lib/systemd', '/usr/lib/systemd')
CAT_CONFIG = 'systemd-analyze'
READ_LIMIT = 4 * 1024 * 1024
_COMMENTS = '#;'


def parse_timespan(text, default_unit='s'):
    """Seconds (a float; INFINITY for ``infinity``) of a systemd time span, or None where
    systemd refuses the text (empty, unknown unit, sign, ``5mins``). A number without a unit
    is in ``default_unit`` (one of UNITS)."""
    if text is None:
        return None
    factor_default = UNITS[default_unit]
    text = text.lstrip(_WHITESPACE)
    if text.startswith('infinity'):
        return INFINITY if not text[8:].strip(_WHITESPACE) else None
    total = 0.0
    pos = 0
    length = len(text)
    while True:
        whole = _DIGITS.match(text, pos)
        end = whole.end()
        fraction = ''
        if end < length and text[end] == '.':
            frac = _DIGITS.match(text, end + 1)
            fraction, end = frac.group(), frac.end()
        elif end == pos:
            return None  # no number (empty text, a sign, a unit without a number)
        unit_at = end
        while unit_at < length and text[unit_at] in _WHITESPACE:
            unit_at += 1
        factor = factor_default
        after = unit_at
        for suffix, multiplier in _SUFFIXES:
            if text.startswith(suffix, unit_at):
                factor, after = multiplier, unit_at + len(suffix)
                break
        if after == end and end < length:
            return None  # '12.34.56', '5x': something that is neither a unit nor a space
        total += (int(whole.group() or '0') + (float('0.' + fraction) if fraction else 0.0)) * factor
        pos = after
        while pos < length and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= length:
            return total


def parse_section(text, section):
    """[(key, value)] of the assignments in ``[section]`` of a systemd configuration text,
    in file order: comment lines (``#``, ``;``) skipped, a line ending in a backslash joined
    with the next (the backslash becomes a space), key and value stripped; assignments
    outside the section, and lines without a key and ``=``, ignored."""
    out = []
    current = None
    continued = None
    lines = (text or '').split('\n')
    if lines and lines[0].startswith('\ufeff'):
        lines[0] = lines[0][1:]
    for index, raw in enumerate(lines):
        raw = raw.rstrip('\r')
        stripped = raw.lstrip(_WHITESPACE)
        if stripped[:1] and stripped[0] in _COMMENTS:
            continue
        line = raw if continued is None else continued + raw
        if _ends_escaped(line) and index + 1 < len(lines):
            continued = line[:-1] + ' '
            continue
        continued = None
        if _ends_escaped(line):
            line = line[:-1] + ' '
        line = line.strip(_WHITESPACE)
        if not line:
            continue
        if line.startswith('['):
            current = line[1:-1] if line.endswith(']') else None
            continue
        key, equals, value = line.partition('=')
        key = key.strip(_WHITESPACE)
        if current == section and equals and key:
            out.append((key, value.strip(_WHITESPACE)))
    return out


def _ends_escaped(line):
    """True when the line ends in a backslash that is not itself escaped."""
    count = len(line) - len(line.rstrip('\\'))
    return count % 2 == 1


class SystemdConfig(object):
    """The assignments of one section of a configuration file and its drop-ins, in the
    order systemd applies them: ``assignments`` [(key, value, file)], ``files`` (those read,
    in order) and ``source`` ('systemd-analyze cat-config' or 'files')."""

    def __init__(self, assignments, files, source):
        self.assignments = list(assignments)
        self.files = list(files)
        self.source = source

    def get(self, key, valid=None):
        """(value, file) of the last assignment of ``key`` that ``valid`` accepts (default: a
        non-empty value; systemd ignores an assignment it cannot parse), else (None, None)."""
        for name, value, path in reversed(self.assignments):
            if name == key and (valid(value) if valid is not None else value != ''):
                return value, path
        return None, None

    def value(self, key, valid=None):
        return self.get(key, valid)[0]

    def origin(self, key, valid=None):
        return self.get(key, valid)[1]

    def timespan(self, key, default_unit='s'):
        """(seconds, text, file) of the last assignment of ``key`` that is a valid time span,
        else (None, None, None)."""
        text, path = self.get(key, lambda value: parse_timespan(value, default_unit) is not None)
        if text is None:
            return None, None, None
        return parse_timespan(text, default_unit), text, path


def _under(root, path):
    return path if root in (None, '', '/') else os.path.join(root, path.lstrip('/'))


def _read(root, path):
    """Text of a configuration file under root ('' for a link to /dev/null, a device or an
    empty file), or None when it cannot be opened. Never blocks on a FIFO."""
    full = _under(root, path)
    try:
        if os.path.islink(full) and os.readlink(full) == '/dev/null':
            return ''
        fd = os.open(full, os.O_RDONLY | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return '' if stat.S_ISCHR(info.st_mode) else None
        with os.fdopen(fd, 'rb') as handle:
            fd = None
            return handle.read(READ_LIMIT).decode('utf-8', 'replace')
    except OSError:
        return None
    finally:
        if fd is not None:
            os.close(fd)


def config_files(name, root='/'):
    """(main file or None, [drop-in files in the order systemd applies them]) of
    ``systemd/NAME`` under root, by systemd's search path and override rules."""
    main = None
    for directory in SEARCH_PATH:
        candidate = '%s/%s' % (directory, name)
        if os.path.exists(_under(root, candidate)):
            main = candidate
            break
    chosen = {}
    for directory in SEARCH_PATH:  # highest priority first: the first of a name wins
        dropin_dir = '%s/%s.d' % (directory, name)
        try:
            entries = os.listdir(_under(root, dropin_dir))
        except OSError:
            continue
        for entry in entries:
            if entry.startswith('.') or not entry.endswith('.conf') or entry in chosen:
                continue
            full = _under(root, '%s/%s' % (dropin_dir, entry))
            if os.path.isdir(full) and not os.path.islink(full):
                continue
            chosen[entry] = '%s/%s' % (dropin_dir, entry)
    dropins = [chosen[entry] for entry in sorted(chosen)]
    if main is not None and _same_file(root, main, dropins):
        main = None  # a main file linked to a drop-in is read once, as the drop-in
    return main, dropins


def _same_file(root, main, dropins):
    try:
        info = os.stat(_under(root, main))
    except OSError:
        return False
    for path in dropins:
        try:
            other = os.stat(_under(root, path))
        except OSError:
            continue
        if (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino):
            return True
    return False


def _split_cat_config(text, name):
    """[(file, text)] of ``systemd-analyze cat-config`` output: each file starts with a
    ``# PATH`` line naming a main file (``.../NAME``) or a drop-in (``.../NAME.d/*.conf``); any
    directory, so that a systemd with other search paths (split /usr: /lib) is read too."""
    parts = []
    for line in text.split('\n'):
        path = line[2:].strip() if line.startswith('# /') else None
        if path is not None and (os.path.basename(path) == name or (
                os.path.basename(os.path.dirname(path)) == name + '.d' and path.endswith('.conf'))):
            parts.append((path, []))
            continue
        if parts:
            parts[-1][1].append(line)
    return [(path, '\n'.join(lines)) for path, lines in parts]


def read_config(name, section, root='/', run=None):
    """SystemdConfig of ``[section]`` of ``systemd/NAME`` (for example 'journald.conf',
    'Journal'). ``run`` (argv -> (rc, stdout text) or None) runs ``systemd-analyze cat-config``
    when root is ``/``; without it, or when that fails, the files under root are read."""
    if run is not None and root in (None, '', '/'):
        try:
            answer = run([CAT_CONFIG, 'cat-config', 'systemd/' + name])
        except Exception:  # pylint: disable=broad-except
            answer = None
        if answer is not None and answer[0] == 0 and answer[1]:
            parts = _split_cat_config(answer[1], name)
            assignments = [(key, value, path) for path, text in parts for key, value in parse_section(text, section)]
            return SystemdConfig(assignments, [path for path, _text in parts], 'systemd-analyze cat-config')
    main, dropins = config_files(name, root)
    assignments = []
    files = []
    for path in ([main] if main else []) + dropins:
        text = _read(root, path)
        if text is None:
            continue
        files.append(path)
        assignments.extend((key, value, path) for key, value in parse_section(text, section))
    return SystemdConfig(assignments, files, 'files')


def journald_config(root='/', run=None):
    """journald's ``[Journal]`` settings (see read_config)."""
    return read_config('journald.conf', 'Journal', root, run)


def runner_run(runner):
    """A ``run`` callable for read_config from a store Runner (which(), run() with bytes),
    or None when there is no runner."""
    if runner is None:
        return None

    def run(argv):
        program = runner.which(argv[0])
        if not program:
            return None
        rc, out, _err = runner.run([program] + list(argv[1:]), check=False)
        return rc, out.decode('utf-8', 'replace') if isinstance(out, bytes) else out
    return run
