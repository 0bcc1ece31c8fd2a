#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: horde_config_info
short_description: Compare Horde's and IMP's effective configuration with expected values, without running PHP
version_added: 0.6.0
author:
  - mailprivacy.gdpr maintainers (!UNKNOWN)
description:
  - Reads the configuration files of Horde applications the way Horde loads them
    (C(Horde_Registry_Loadconfig)) - C(conf.php), then C(conf.d/*.php) in file-name order, then
    C(conf.local.php); an application's files on top of Horde's own when O(conf[].base) is given - and
    reports which of the expected keys do not hold. For IMP's C(backends.php), C(backends.d/*.php) and
    C(backends.local.php) it reports, per backend, which of the given keys are switched on.
  - The files are read with the collection's PHP reader (C(module_utils/php_conf.py), a tokenizer, literal
    values and a statement analysis); B(PHP is never run). Horde's web setup lets the web server user write
    these files in many installations, so running them as root would hand root to whoever controls the web
    server.
  - A value the reader cannot work out without running PHP (a function call, for example of C(getenv), an
    expression, an assignment inside a condition, loop or function, C(include), C(eval), variable
    variables) is never guessed. For a key of O(conf[].expect) it is an error (RV(errors), RV(unknown)), because the
    values are set in C(conf.php), which Horde reads first, so a later file's computed value can neither be
    checked nor overridden there. For a key of O(backends.keys) in a backend that certainly exists it counts
    as switched on (RV(backends), RV(backends_unknown)), because C(backends.local.php) is read last, and a literal
    V(false) written there decides the value whatever the earlier code computes. A backend whose existence or
    settings cannot be worked out at all (a computed backend name, the whole C($servers) array from a function call, an
    unknown value of the array that holds a key) is an error.
  - Files are opened relative to their directory's handle without following a symbolic link, and only
    regular files are read (a FIFO cannot block the module). A symbolic link, FIFO, device or directory
    among the files Horde would read is refused with an error, because Horde would read through it and the
    result could differ. The directories themselves are opened one component at a time; only symbolic links
    that only root can change are followed on the way.
  - Results hold key paths, backend names and file names, never configuration values (the files hold
    database passwords and secret keys).
options:
  conf:
    description:
      - The applications whose C(conf.php) to read, in order. An application with O(conf[].base) builds on
        the configuration of an earlier entry, as Horde loads an application's C($conf) on top of its own.
    type: list
    elements: dict
    default: []
    suboptions:
      dir:
        description:
          - The application's configuration directory, for example C(/etc/horde/horde) or C(/etc/horde/imp).
        type: path
        required: true
      label:
        description:
          - The name under which results are reported, for example V(horde) or V(imp). Unique.
        type: str
        required: true
      base:
        description:
          - The O(conf[].label) of an earlier entry whose configuration this one starts from (IMP starts from
            Horde's). When that entry has no configuration files, the application starts from nothing.
        type: str
      expect:
        description:
          - The keys to check and the values they must hold (compared as PHP's C(===) does).
        type: list
        elements: dict
        default: []
        suboptions:
          key:
            description:
              - A dotted key path such as C(log.priority), or a list of path segments (for a segment with a
                dot, or an integer key).
            type: raw
            required: true
          value:
            description:
              - The expected value (string, integer, float, boolean, null, or a list or dictionary of those).
                Not given means C(null).
            type: raw
          constant:
            description:
              - The name of a PHP constant whose value the key must hold, for example C(LOG_MAIL). The module
                knows PHP's syslog constants (C(LOG_*)); another name is an error in RV(errors).
            type: str
  backends:
    description:
      - IMP's backend list to check. Not given means no backend check.
    type: dict
    suboptions:
      dir:
        description:
          - The directory of C(backends.php), for example C(/etc/horde/imp).
        type: path
        required: true
      keys:
        description:
          - Key paths inside each backend (dotted strings or lists of segments), for example C([debug]),
            C([debug_raw]), C([smtp, debug]). A key counts as switched on when PHP's C(empty()) would be false
            for it, or when its value cannot be worked out.
        type: list
        elements: raw
        required: true
attributes:
  check_mode:
    support: full
    description: The module only reads; it behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed.
notes:
  - Per-virtual-host files (C(conf-<host>.php), C(backends-<host>.php), read by Horde when C($conf['vhosts'])
    is true) are listed in RV(vhost_files), not read.
  - Only the Python standard library is used on the target; PHP does not need to be installed.
seealso:
  - module: mailprivacy.gdpr.horde_conf
  - name: Horde configuration
    description: How Horde reads conf.php, conf.d and conf.local.php.
    link: https://wiki.horde.org/Doc/Dev/HordeConfig
"""

EXAMPLES = r"""
- name: Check Horde's log settings and IMP's protocol logs
  mailprivacy.gdpr.horde_config_info:
    conf:
      - dir: /etc/horde/horde
        label: horde
        expect:
          - key: log.priority
            value: WARNING
          - key: log.name
            constant: LOG_MAIL
      - dir: /etc/horde/imp
        label: imp
        base: horde
        expect:
          - key: sentmail.driver
            value: "Null"
    backends:
      dir: /etc/horde/imp
      keys: [[debug], [debug_raw], [smtp, debug]]
  register: horde_config

- name: Fail when the configuration cannot be read with certainty
  ansible.builtin.fail:
    msg: "{{ horde_config.errors | join('; ') }}"
  when: horde_config.errors | length > 0
"""

RETURN = r"""
mismatch:
  description: Per O(conf[].label), the dotted key paths whose effective value is not the expected one (also unset keys).
  returned: always
  type: dict
  sample: {horde: [log.priority, log.name]}
unknown:
  description:
    - Per O(conf[].label), the dotted key paths whose effective value cannot be worked out without running PHP.
      Each of them has a message in RV(errors).
  returned: always
  type: dict
  sample: {horde: [log.type]}
backends:
  description:
    - Per backend name, the dotted key paths of O(backends.keys) that are switched on, or whose value cannot
      be worked out (those are in RV(backends_unknown) too). Backends without such keys are left out.
  returned: always
  type: dict
  sample: {imap: [debug, debug_raw]}
backends_unknown:
  description: Per backend name, the key paths of RV(backends) whose value cannot be worked out without running PHP.
  returned: always
  type: dict
  sample: {imap: [debug_raw]}
names:
  description: The names of every backend in IMP's effective backend list, in PHP's order.
  returned: always
  type: list
  elements: str
  sample: [imap, pop, advanced]
vhost_files:
  description: Per-virtual-host configuration files (C(conf-*.php), C(backends-*.php)) that were found and not read.
  returned: always
  type: list
  elements: str
  sample: [/etc/horde/horde/conf-mail.example.org.php]
missing:
  description: The O(conf[].label)s whose directory has none of the configuration files.
  returned: always
  type: list
  elements: str
  sample: [imp]
errors:
  description:
    - What prevents a certain answer, one message each, naming the label, key path, backend name, file name,
      line and reason, never a value. Empty when the answer is certain.
  returned: always
  type: list
  elements: str
  sample:
    - "horde: log.priority: /etc/horde/horde/conf.local.php: line 3: only running PHP could tell (a function call or expression, ...)"
"""

import errno
import fnmatch
import os
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.fsops import Dir, FsError
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.php_conf import (
    UNDEFINED,
    UNKNOWN,
    PhpArray,
    PhpConfig,
    PhpConstant,
    constant_value,
    identical,
    key_label,
    parse_key,
    parse_literal,
    resolve_constants,
    to_php_value,
)

# A configuration file larger than this is refused rather than read into memory.
MAX_FILE_BYTES = 8 * 1024 * 1024


class Refused(Exception):
    """A file Horde would read that the module does not read; the message names no value."""


# --------------------------------------------------------------------------------------------
# Files, in Horde_Registry_Loadconfig's order, from directory handles
# --------------------------------------------------------------------------------------------


def _kind(st):
    if stat.S_ISLNK(st.st_mode):
        return "a symbolic link"
    if stat.S_ISFIFO(st.st_mode):
        return "a FIFO"
    if stat.S_ISDIR(st.st_mode):
        return "a directory"
    if stat.S_ISSOCK(st.st_mode):
        return "a socket"
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return "a device"
    return "not a regular file"


def _read(handle, name, st, path):
    """The text of the regular file ``name`` of the open directory ``handle`` (lstat ``st``),
    read from the handle that was checked (never through a link, never blocking on a FIFO)."""
    if not stat.S_ISREG(st.st_mode):
        raise Refused("%s is %s; Horde would read it, the module reads only regular files and follows no link"
                      % (path, _kind(st)))
    try:
        fd, fst = handle.open_file(name, expect=st)
    except FsError as exc:
        raise Refused("%s: %s" % (path, exc.strerror))
    except OSError as exc:
        raise Refused("%s: cannot be opened (%s)" % (path, os.strerror(exc.errno) if exc.errno else "error"))
    try:
        if fst.st_size > MAX_FILE_BYTES:
            raise Refused("%s is larger than %d bytes; not read" % (path, MAX_FILE_BYTES))
        data = bytearray()
        while True:
            chunk = os.read(fd, 1024 * 1024)
            if not chunk:
                break
            data += chunk
            if len(data) > MAX_FILE_BYTES:
                raise Refused("%s is larger than %d bytes; not read" % (path, MAX_FILE_BYTES))
    finally:
        os.close(fd)
    return bytes(data).decode("utf-8", "surrogateescape")


def _read_if_there(handle, directory, name, files):
    """Append (path, text) of ``name`` to files when the directory has an entry of that name."""
    st = handle.lstat(name)
    if st is not None:
        path = os.path.join(directory, name)
        files.append((path, _read(handle, name, st, path)))


def _visible(names, pattern):
    """The names a PHP glob() of ``pattern`` lists (no hidden names), in its order."""
    return [name for name in names if not name.startswith(".") and fnmatch.fnmatchcase(name, pattern)]


def _open_dir(directory):
    """The open directory, or None when it does not exist; Refused when it cannot be opened."""
    try:
        return Dir.open(directory)
    except FsError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise Refused("%s: %s" % (directory, exc.strerror))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Refused("%s: cannot be opened (%s)" % (directory, os.strerror(exc.errno) if exc.errno else "error"))


def layered_texts(directory, file_name):
    """The files Horde runs for ``directory/file_name``, as Horde_Registry_Loadconfig finds them
    (FILE, STEM.d/*.php in file-name order, STEM.local.php), and the per-virtual-host files
    STEM-*.php (listed, not read): ([(path, text)] or None when there is none, [vhost paths]).
    Raises Refused for a file it does not read."""
    stem = file_name[:-4] if file_name.endswith(".php") else file_name
    handle = _open_dir(directory)
    if handle is None:
        return None, []
    files = []
    with handle:
        _read_if_there(handle, directory, file_name, files)
        drop_in = stem + ".d"
        drop_in_path = os.path.join(directory, drop_in)
        dst = handle.lstat(drop_in)
        if dst is not None and stat.S_ISLNK(dst.st_mode):
            raise Refused("%s is a symbolic link; Horde would read the files it leads to, the module follows no link"
                          % drop_in_path)
        # Anything else that is not a directory: PHP's glob() finds no files in it.
        if dst is not None and stat.S_ISDIR(dst.st_mode):
            try:
                sub = handle.sub(drop_in)
            except OSError as exc:
                raise Refused("%s: cannot be opened (%s)" % (drop_in_path, exc.strerror or "error"))
            with sub:
                if (sub.stat().st_dev, sub.stat().st_ino) != (dst.st_dev, dst.st_ino):
                    raise Refused("%s was replaced while it was read" % drop_in_path)
                for name in _visible(sub.names(), "*.php"):
                    _read_if_there(sub, drop_in_path, name, files)
        _read_if_there(handle, directory, stem + ".local.php", files)
        vhosts = [os.path.join(directory, name) for name in _visible(handle.names(), stem + "-*.php")]
    return (files or None), vhosts


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


def php_empty(value):
    """PHP's empty() for a known value."""
    if isinstance(value, PhpArray):
        return not value.items
    return value is None or value is False or value == "" or value == "0" or (
        not isinstance(value, bool) and isinstance(value, (int, float)) and value == 0)


def _origin(config, key, what):
    origin = config.unknown_origin(key)
    if origin is None:
        return "%s cannot be read without running PHP" % what
    return "%s: %s: %s" % (what, origin[0], origin[1])


def check_conf(entries, loaded, result):
    """Fill mismatch, unknown, missing, errors and vhost_files for the conf entries."""
    for entry in entries:
        label = entry["label"]
        try:
            own, vhosts = layered_texts(entry["dir"], "conf.php")
        except Refused as exc:
            result["errors"].append("%s: %s" % (label, exc))
            continue
        except OSError as exc:
            result["errors"].append("%s: the configuration cannot be read (%s)" % (label, os.strerror(exc.errno or errno.EIO)))
            continue
        result["vhost_files"].extend(vhosts)
        if own is None:
            result["missing"].append(label)
            continue
        files = loaded.get(entry["base"], []) + own if entry["base"] else own
        loaded[label] = files
        config = PhpConfig(files, "conf")
        bad = []
        unknown = []
        for key, want in entry["expect"]:
            name = key_label(key)
            if isinstance(want, PhpConstant):
                resolved = constant_value(want.name)
                if resolved is UNKNOWN:
                    result["errors"].append("%s: %s: %s is not a PHP constant the module knows (PHP's syslog constants)"
                                            % (label, name, want.name))
                    continue
                want = resolved
            have = config.value(key)
            if have is UNDEFINED:
                bad.append(name)
                continue
            if have is UNKNOWN:
                unknown.append(name)
                result["errors"].append(_origin(config, key, "%s: %s" % (label, name)))
                continue
            resolved = resolve_constants(have)
            if resolved is UNKNOWN:
                unknown.append(name)
                result["errors"].append("%s: %s is set to a PHP constant the module does not know (it knows PHP's "
                                        "syslog constants), or to an array with a value that cannot be read"
                                        % (label, name))
                continue
            if not identical(resolved, want):
                bad.append(name)
        if bad:
            result["mismatch"][label] = bad
        if unknown:
            result["unknown"][label] = unknown


def backend_names(config):
    """(names in PHP's order, None) or (None, reason) when the names cannot be worked out."""
    whole = config.value([])
    if isinstance(whole, PhpArray):
        return [name for name, _value in whole.items], None
    if whole is UNDEFINED:
        return [], None
    names = []
    for file_name, php in config.parsed:
        if php is None:
            return None, "%s cannot be parsed" % file_name
        for statement in php.statements:
            if statement.assignment is not None:
                path, value_tokens = statement.assignment
                if path:
                    names.append(path[0])
                    continue
                # $servers = array(...); replaces the list: a literal array names its backends
                literal = parse_literal(value_tokens)
                if not isinstance(literal, PhpArray):
                    return None, ("%s: line %d sets the whole backend list to a value that cannot be read without "
                                  "running PHP" % (file_name, statement.tokens[0].line))
                names.extend(name for name, _value in literal.items)
            for path, line, dummy in statement.events:
                if not path:
                    return None, ("%s: line %d may add or change backends under names that cannot be read without "
                                  "running PHP" % (file_name, line))
                names.append(path[0])
    ordered = []
    for name in names:
        if not any(identical(name, seen) for seen in ordered):
            ordered.append(name)
    return ordered, None


def check_backends(request, result):
    """Fill names, backends, backends_unknown, errors and vhost_files for IMP's backend list."""
    try:
        files, vhosts = layered_texts(request["dir"], "backends.php")
    except Refused as exc:
        result["errors"].append("backends: %s" % exc)
        return
    except OSError as exc:
        result["errors"].append("backends: the configuration cannot be read (%s)" % os.strerror(exc.errno or errno.EIO))
        return
    result["vhost_files"].extend(vhosts)
    if files is None:
        return
    config = PhpConfig(files, "servers")
    names, reason = backend_names(config)
    if names is None:
        result["errors"].append("backends: the backend names cannot be worked out without running PHP: %s" % reason)
        return
    for name in names:
        kind = config.container([name])
        if kind is UNDEFINED:
            continue
        label = str(name)
        if kind is UNKNOWN:
            # Writing a key of a backend that may not exist would create one.
            result["errors"].append(_origin(config, [name], "backends: %s" % label)
                                    + "; so whether this backend exists is not known")
            continue
        result["names"].append(label)
        if kind != "array":
            continue
        switched_on = []
        unknown = []
        for key in request["keys"]:
            path = [name] + key
            # The arrays on the way: a key below something that is not an array is not set;
            # one that cannot be worked out cannot be set to false safely.
            kinds = [config.container(path[:depth]) for depth in range(2, len(path))]
            if UNKNOWN in kinds:
                depth = kinds.index(UNKNOWN) + 2
                result["errors"].append(_origin(config, path[:depth], "backends: %s" % key_label([label] + key[:depth - 1]))
                                        + "; so %s.%s cannot be checked or turned off" % (label, key_label(key)))
                continue
            if any(kind_below != "array" for kind_below in kinds):
                continue
            value = config.value(path)
            if value is UNDEFINED:
                continue
            value = resolve_constants(value)
            if value is UNKNOWN:
                switched_on.append(key_label(key))
                unknown.append(key_label(key))
            elif not php_empty(value):
                switched_on.append(key_label(key))
        if switched_on:
            result["backends"][label] = switched_on
        if unknown:
            result["backends_unknown"][label] = unknown


# --------------------------------------------------------------------------------------------
# Module
# --------------------------------------------------------------------------------------------


def parse_request(module):
    """The conf entries with parsed keys and values; fail_json on bad input (no value in messages)."""
    entries = []
    labels = set()
    for index, raw in enumerate(module.params["conf"]):
        label = raw["label"]
        if not label or label in labels:
            module.fail_json(msg="conf[%d]: label must be given and unique" % index)
        if raw.get("base") is not None and raw["base"] not in labels:
            module.fail_json(msg="conf[%d]: base must be the label of an earlier entry" % index)
        if not raw["dir"].startswith("/"):
            module.fail_json(msg="conf[%d]: dir must be an absolute path" % index)
        expect = []
        for position, item in enumerate(raw["expect"] or []):
            try:
                key = parse_key(item["key"])
                if item.get("constant") is not None:
                    want = PhpConstant(item["constant"])
                else:
                    want = to_php_value(item.get("value"))
            except ValueError as exc:
                module.fail_json(msg="conf[%d].expect[%d]: %s" % (index, position, to_native(exc)))
            expect.append((key, want))
        labels.add(label)
        entries.append(dict(dir=raw["dir"], label=label, base=raw.get("base"), expect=expect))
    backends = module.params["backends"]
    if backends:
        if not backends["dir"].startswith("/"):
            module.fail_json(msg="backends: dir must be an absolute path")
        keys = []
        for position, raw in enumerate(backends["keys"]):
            try:
                keys.append(parse_key(raw))
            except ValueError as exc:
                module.fail_json(msg="backends.keys[%d]: %s" % (position, to_native(exc)))
        backends = dict(dir=backends["dir"], keys=keys)
    return entries, backends


def probe(entries, backends):
    """The result for parsed conf entries and the backend request (or None)."""
    result = dict(mismatch={}, unknown={}, backends={}, backends_unknown={}, names=[], vhost_files=[], missing=[],
                  errors=[])
    check_conf(entries, {}, result)
    if backends:
        check_backends(backends, result)
    unique = []
    for path in result["vhost_files"]:
        if path not in unique:
            unique.append(path)
    result["vhost_files"] = unique
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            conf=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    dir=dict(type="path", required=True),
                    label=dict(type="str", required=True),
                    base=dict(type="str"),
                    expect=dict(
                        type="list",
                        elements="dict",
                        default=[],
                        options=dict(
                            key=dict(type="raw", required=True, no_log=False),
                            value=dict(type="raw"),
                            constant=dict(type="str"),
                        ),
                        mutually_exclusive=[["value", "constant"]],
                    ),
                ),
            ),
            backends=dict(
                type="dict",
                options=dict(
                    dir=dict(type="path", required=True),
                    keys=dict(type="list", elements="raw", required=True, no_log=False),
                ),
            ),
        ),
        supports_check_mode=True,
    )
    entries, backends = parse_request(module)
    result = probe(entries, backends)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
