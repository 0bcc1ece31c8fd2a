# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The store options of the subject modules' documentation (plugins/doc_fragments/subject.py)
are the stores' declarations (``OPTIONS``: store_base.Option), as tools/store_docs.py renders
them: every option of every registered store is documented with its type and default, and no
documented store option is missing from the code."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest
import yaml

from ansible_collections.mailprivacy.gdpr.plugins.doc_fragments.subject import ModuleDocFragment
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import Option, StoreError, check_options
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_registry import get_stores

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
FRAGMENT = os.path.join(ROOT, 'plugins', 'doc_fragments', 'subject.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('store_docs', os.path.join(ROOT, 'tools', 'store_docs.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def documented():
    """{store name: {option: its documentation}} of store_options in the doc fragment."""
    docs = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options']['store_options']
    return dict((name, spec.get('suboptions') or {}) for name, spec in (docs.get('suboptions') or {}).items())


def test_every_store_option_is_documented_and_every_documented_option_exists():
    docs = documented()
    stores = dict((cls.name, cls) for cls in get_stores())
    assert sorted(docs) == sorted(stores), 'documented stores differ from the registry'
    problems = []
    for name, cls in sorted(stores.items()):
        undocumented = sorted(set(cls.OPTIONS) - set(docs[name]))
        nonexistent = sorted(set(docs[name]) - set(cls.OPTIONS))
        problems += ['%s.%s is not documented' % (name, key) for key in undocumented]
        problems += ['%s.%s is documented but the store has no such option' % (name, key) for key in nonexistent]
        for key in sorted(set(cls.OPTIONS) & set(docs[name])):
            decl, doc = cls.OPTIONS[key], docs[name][key]
            if (doc.get('type'), doc.get('elements'), doc.get('default')) != (decl.type, decl.elements, decl.default):
                problems.append('%s.%s: documented type/elements/default differ from the declaration' % (name, key))
            if doc.get('description') != [decl.description]:
                problems.append('%s.%s: documented description differs from the declaration' % (name, key))
    assert not problems, problems


def test_the_fragment_is_what_the_tool_generates():
    assert load_tool().main(['--check']) == 0, 'run tools/store_docs.py (make store-docs)'


def test_every_store_declares_its_options():
    for cls in get_stores():
        assert cls.__doc__, cls.name
        for key, decl in cls.OPTIONS.items():
            assert isinstance(decl, Option), '%s.%s is not declared with store_base.Option' % (cls.name, key)
            assert decl.description.endswith('.') and '"""' not in decl.description, (cls.name, key)
            # the default passes the store's own option check, and so does every other value of its type
            assert check_options({key: decl.default}, cls.OPTIONS, cls.name)[key] == decl.default
            wrong = 'text' if decl.type != 'str' else 1
            with pytest.raises(StoreError, match='%s: option %s must be a' % (cls.name, key)):
                check_options({key: wrong}, cls.OPTIONS, cls.name)


@pytest.mark.parametrize('change, expected', [
    # a store option nobody documented: the tool adds it
    (lambda cls: cls.OPTIONS.update(new_option=Option(3, 'int', 'A new option.')), '+          new_option:'),
    # a documented option the store no longer has: the tool removes it
    (lambda cls: cls.OPTIONS.pop('exclude'), '-          exclude:'),
    # a changed default
    (lambda cls: cls.OPTIONS.update(workers=Option(4, 'int', cls.OPTIONS['workers'].description)),
     '+            default: 4'),
])
def test_check_fails_on_an_undocumented_a_nonexistent_or_a_changed_option(tmp_path, capsys, monkeypatch, change, expected):
    tool = load_tool()
    fragment = tmp_path / 'subject.py'
    shutil.copyfile(FRAGMENT, str(fragment))
    stores = get_stores()
    logs = [cls for cls in stores if cls.name == 'logs'][0]
    monkeypatch.setattr(logs, 'OPTIONS', dict(logs.OPTIONS))
    change(logs)
    monkeypatch.setattr(tool, 'load_stores', lambda: stores)
    assert tool.main(['--check', '--fragment', str(fragment)]) == 1
    out = capsys.readouterr().out
    assert expected in out and 'out of date' in out
    # without --check the block is rewritten, and then it checks clean
    assert tool.main(['--fragment', str(fragment)]) == 0
    assert tool.main(['--check', '--fragment', str(fragment)]) == 0
    text = fragment.read_text()
    assert text.count('# BEGIN_STORE_OPTIONS') == 1 and text.count('# END_STORE_OPTIONS') == 1


def test_the_tool_refuses_a_fragment_without_its_markers(tmp_path, capsys):
    fragment = tmp_path / 'subject.py'
    fragment.write_text('DOCUMENTATION = ""\n')
    assert load_tool().main(['--check', '--fragment', str(fragment)]) == 2
    assert 'BEGIN_STORE_OPTIONS' in capsys.readouterr().err
