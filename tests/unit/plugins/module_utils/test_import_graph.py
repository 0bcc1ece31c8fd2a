# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The module_utils import graph (issue 13): no cycle, no import hidden inside a function or a
class, and every file imports on its own in a fresh interpreter.

The graph is read from the AST of every plugins/module_utils/*.py file: an edge for every
``from ansible_collections.mailprivacy.gdpr.plugins.module_utils[.x] import ...`` and
``import ansible_collections.mailprivacy.gdpr.plugins.module_utils.x``, wherever it stands."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..', '..'))
MODULE_UTILS = os.path.join(REPO, 'plugins', 'module_utils')
PACKAGE = 'ansible_collections.mailprivacy.gdpr.plugins.module_utils'
COLLECTIONS = os.path.join(REPO, '.build', 'collections')


def _files():
    return sorted(name[:-3] for name in os.listdir(MODULE_UTILS) if name.endswith('.py') and name != '__init__.py')


def _targets(node, names):
    """module_utils names an import node refers to."""
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        if node.module == PACKAGE:
            return [alias.name for alias in node.names if alias.name in names]
        if node.module.startswith(PACKAGE + '.'):
            return [node.module[len(PACKAGE) + 1:].split('.')[0]]
    if isinstance(node, ast.ImportFrom) and node.level > 0:
        if node.module:
            return [node.module.split('.')[0]]
        return [alias.name for alias in node.names if alias.name in names]
    if isinstance(node, ast.Import):
        return [alias.name[len(PACKAGE) + 1:].split('.')[0] for alias in node.names
                if alias.name.startswith(PACKAGE + '.')]
    return []


def _imports(node, inside=False):
    """(import node, whether it stands inside a function or class) of every import below node;
    a module-level ``try: import x`` / ``except ImportError`` counts as module level."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, inside
        else:
            scope = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
            yield from _imports(child, inside or isinstance(child, scope))


def import_graph(directory=MODULE_UTILS):
    """({module: set of module_utils modules it imports}, [(module, line) of imports that are
    not at module level])."""
    names = set(name[:-3] for name in os.listdir(directory) if name.endswith('.py'))
    graph = {}
    nested = []
    for name in sorted(names):
        with open(os.path.join(directory, name + '.py'), 'rb') as handle:
            tree = ast.parse(handle.read(), name)
        edges = set()
        for node, inside in _imports(tree):
            edges.update(t for t in _targets(node, names) if t in names and t != name)
            if inside:
                nested.append((name, node.lineno))
        graph[name] = edges
    return graph, nested


def find_cycle(graph):
    """One cycle as a list of modules [a, b, ..., a], or None."""
    state = {}
    stack = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_graph_reader_sees_cycles_and_nested_imports(tmp_path):
    """The checks below can fail: a two-module loop hidden by an import inside a function is
    found, as the loop store_logs -> log_redact -> store_logs was before issue 13."""
    (tmp_path / 'a.py').write_text('from %s import b\n' % PACKAGE)
    (tmp_path / 'b.py').write_text('def f():\n    from %s.a import x\n    return x\n' % PACKAGE)
    (tmp_path / 'c.py').write_text('import os\ntry:\n    import syslog\nexcept ImportError:\n    syslog = None\n'
                                   'class K(object):\n    def m(self):\n        import json\n')
    graph, nested = import_graph(str(tmp_path))
    assert graph == {'a': {'b'}, 'b': {'a'}, 'c': set()}
    assert nested == [('b', 2), ('c', 8)]
    assert find_cycle(graph) == ['a', 'b', 'a']
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': set()}) is None


def test_module_utils_import_graph_is_acyclic():
    graph, _nested = import_graph()
    assert 'log_engine' in graph and 'store_journal' in graph
    assert find_cycle(graph) is None, 'import cycle: %s' % ' -> '.join(find_cycle(graph))


def test_no_import_inside_a_function_or_class():
    _graph, nested = import_graph()
    assert nested == [], 'imports below module level (they hide cycles): %s' % nested


def test_log_engine_depends_only_on_low_level_modules():
    graph, _nested = import_graph()
    assert graph['log_engine'] <= {'fsops', 'fileutil', 'store_base', 'errors', 'bundle'}
    assert 'store_logs' not in graph['log_redact']
    assert 'store_logs' not in graph['store_journal_rewrite']


@pytest.mark.parametrize('name', _files())
def test_each_module_util_imports_alone_in_a_fresh_interpreter(name):
    """A cycle that Python resolves only in one import order fails when the file is the first
    one imported; so every file is imported first, in its own interpreter."""
    env = dict(os.environ, PYTHONPATH=COLLECTIONS + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run([sys.executable, '-c', 'import %s.%s' % (PACKAGE, name)], env=env, cwd='/',
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode('utf-8', 'replace')[-2000:]
