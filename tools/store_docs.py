# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The store options of the subject modules' documentation, generated from the stores.

Every store declares its options in ``OPTIONS`` (``store_base.Option``: default, type,
description), beside the code that reads them; that is their one source. This script renders
them, for every store of the registry, as the ``suboptions`` of ``store_options`` in
plugins/doc_fragments/subject.py, between the lines ``# BEGIN_STORE_OPTIONS`` and
``# END_STORE_OPTIONS`` (everything outside them is written by hand and left alone). The
store's own description is the first paragraph of its class docstring.

    python tools/store_docs.py            # rewrite the block
    python tools/store_docs.py --check    # exit 1 and print a diff when the fragment differs

``make store-docs`` runs the first form. Needs the Python standard library only.
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import json
import os
import re
import sys
import tempfile
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FRAGMENT = os.path.join(ROOT, 'plugins', 'doc_fragments', 'subject.py')
BEGIN = '# BEGIN_STORE_OPTIONS'
END = '# END_STORE_OPTIONS'
NOTICE = '# generated from the stores\' OPTIONS by tools/store_docs.py (make store-docs): edit the declarations'
WIDTH = 110


class DocsError(Exception):
    """The fragment or a declaration this script cannot work with (the message says which)."""


def load_stores():
    """The store classes of the registry, imported from this checkout (through a temporary
    ``ansible_collections/mailprivacy/gdpr`` link when the collection is not importable)."""
    try:
        from ansible_collections.mailprivacy.gdpr.plugins.module_utils import store_registry  # pylint: disable=import-outside-toplevel
    except ImportError:
        top = tempfile.mkdtemp(prefix='store-docs-')
        os.makedirs(os.path.join(top, 'ansible_collections', 'mailprivacy'))
        os.symlink(ROOT, os.path.join(top, 'ansible_collections', 'mailprivacy', 'gdpr'))
        sys.path.insert(0, top)
        from ansible_collections.mailprivacy.gdpr.plugins.module_utils import store_registry  # pylint: disable=import-outside-toplevel
    return store_registry.get_stores()


def _markup(text):
    """A docstring paragraph in ansible-doc markup (``x`` becomes C(x))."""
    return re.sub(r'``(.+?)``', r'C(\1)', ' '.join(text.split()))


def summary(cls):
    """The first paragraph of the store class's docstring."""
    doc = inspect.getdoc(cls) or ''
    first = doc.split('\n\n', 1)[0].strip()
    if not first:
        raise DocsError('store %s: its class has no docstring to describe it' % cls.name)
    return _markup(first)


def _scalar(value):
    # JSON scalars are YAML scalars; strings double-quoted so that none reads as another type
    return json.dumps(value, ensure_ascii=False)


def _description(text, indent):
    pad = ' ' * indent
    lines = textwrap.wrap(text, WIDTH - indent - 4, break_long_words=False, break_on_hyphens=False)
    return [pad + 'description:', pad + '  - >-'] + [pad + '    ' + line for line in lines]


def _default(value, indent):
    pad = ' ' * indent
    if isinstance(value, (list, tuple)) and value:
        return [pad + 'default:'] + [pad + '  - ' + _scalar(item) for item in value]
    if isinstance(value, dict) and value:
        return [pad + 'default:'] + [pad + '  %s: %s' % (_scalar(k), _scalar(v)) for k, v in sorted(value.items())]
    if isinstance(value, (list, tuple)):
        return [pad + 'default: []']
    if isinstance(value, dict):
        return [pad + 'default: {}']
    return [pad + 'default: ' + _scalar(value)]


def render(stores, indent=6):
    """The YAML lines of the ``suboptions`` entries of ``store_options`` (at ``indent``)."""
    pad = ' ' * indent
    out = [pad + BEGIN, pad + NOTICE]
    for cls in sorted(stores, key=lambda c: c.name):
        out.append(pad + cls.name + ':')
        out += _description(summary(cls), indent + 2)
        out.append(pad + '  type: dict')
        if not cls.OPTIONS:
            continue
        out.append(pad + '  suboptions:')
        for name in sorted(cls.OPTIONS):
            decl = cls.OPTIONS[name]
            for attr in ('default', 'type', 'description'):
                if not hasattr(decl, attr):
                    raise DocsError('store %s: option %s is not declared with store_base.Option' % (cls.name, name))
            out.append(pad + '    ' + name + ':')
            out += _description(decl.description, indent + 6)
            out.append(pad + '      type: ' + decl.type)
            if decl.elements:
                out.append(pad + '      elements: ' + decl.elements)
            out += _default(decl.default, indent + 6)
    out.append(pad + END)
    return out


def rewrite(text, stores):
    """``text`` (the fragment's source) with the generated block replaced."""
    lines = text.split('\n')
    begins = [i for i, line in enumerate(lines) if line.strip() == BEGIN]
    ends = [i for i, line in enumerate(lines) if line.strip() == END]
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise DocsError('%s: needs exactly one %s line and one %s line after it' % (FRAGMENT, BEGIN, END))
    start, stop = begins[0], ends[0]
    indent = len(lines[start]) - len(lines[start].lstrip())
    return '\n'.join(lines[:start] + render(stores, indent) + lines[stop + 1:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', 1)[0])
    parser.add_argument('--check', action='store_true', help='exit 1 and print a diff when the fragment differs')
    parser.add_argument('--fragment', default=FRAGMENT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        with open(args.fragment, encoding='utf-8') as handle:
            old = handle.read()
        new = rewrite(old, load_stores())
    except DocsError as err:
        print('store_docs: %s' % err, file=sys.stderr)
        return 2
    if old == new:
        return 0
    if args.check:
        sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                                   args.fragment, args.fragment + ' (generated)'))
        print('store_docs: %s is out of date: run tools/store_docs.py (make store-docs)' % args.fragment)
        return 1
    with open(args.fragment, 'w', encoding='utf-8') as handle:
        handle.write(new)
    return 0


if __name__ == '__main__':
    sys.exit(main())
