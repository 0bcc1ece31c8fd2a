# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action groups of meta/runtime.yml and the module_defaults of the request playbooks
(issue 13): the subject is defined once (playbooks/vars/subject.yml) and reaches every module
of a group through ``module_defaults``; every member takes every parameter the defaults set
(Ansible passes a group's defaults to each member unfiltered: one unknown parameter fails the
task); no task repeats the identifier block. ansible-runner runs of these playbooks are in
tests/e2e."""

from __future__ import annotations

import importlib
import os

import pytest
import yaml

from ansible_collections.mailprivacy.gdpr.plugins.action import erasure_report, request_audit, subject_request
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.request import SUBJECT_ARGUMENT_SPEC
from ansible_collections.mailprivacy.gdpr.plugins.modules import log_redact

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOKS = os.path.join(ROOT, 'playbooks')
ACTIONS = {'subject_request': subject_request, 'request_audit': request_audit, 'erasure_report': erasure_report}
IDENTIFIERS = ('addresses', 'logins', 'ips', 'domain', 'subject', 'hmac_key')


def load(path):
    with open(path, encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def groups():
    return load(os.path.join(ROOT, 'meta', 'runtime.yml'))['action_groups']


def group_defaults():
    data = load(os.path.join(PLAYBOOKS, 'vars', 'subject.yml'))
    return {'subject': data['__gdpr_subject_args'], 'request': data['__gdpr_request_args']}


def module_options(name):
    """The options a module documents (its doc fragments included) and its documentation."""
    doc = yaml.safe_load(importlib.import_module('ansible_collections.mailprivacy.gdpr.plugins.modules.' + name).DOCUMENTATION)
    options = dict(doc.get('options') or {})
    attributes = dict(doc.get('attributes') or {})
    for fragment in doc.get('extends_documentation_fragment') or []:
        if fragment.startswith('mailprivacy.gdpr.'):
            module = importlib.import_module('ansible_collections.mailprivacy.gdpr.plugins.doc_fragments.'
                                             + fragment.split('.')[-1])
            part = yaml.safe_load(module.ModuleDocFragment.DOCUMENTATION)
            options.update(part.get('options') or {})
            attributes.update(part.get('attributes') or {})
    doc['attributes'] = attributes
    return options, doc


def test_the_groups_and_their_members():
    assert groups() == {'subject': ['subject_find', 'subject_export', 'subject_erase', 'log_redact'],
                        'request': ['subject_request', 'request_audit', 'erasure_report']}


@pytest.mark.parametrize('group', ['subject', 'request'])
def test_every_member_takes_every_default_of_its_group(group):
    keys = set(group_defaults()[group])
    for name in groups()[group]:
        options, doc = module_options(name)
        assert keys <= set(options), (name, sorted(keys - set(options)))
        assert doc['attributes']['action_group']['membership'] == ['mailprivacy.gdpr.%s' % group], name
        if name in ACTIONS:
            # what the action plugin accepts (its _VALID_ARGS) is what it documents
            assert keys <= set(ACTIONS[name].ARGUMENT_SPEC), name
            assert set(ACTIONS[name].ARGUMENT_SPEC) == set(options), name
    if group == 'subject':
        assert keys == set(SUBJECT_ARGUMENT_SPEC)
        assert set(log_redact.argument_spec()) >= keys


def _plays_and_tasks():
    for name in sorted(os.listdir(PLAYBOOKS)) + ['tasks/%s' % n for n in sorted(os.listdir(os.path.join(PLAYBOOKS, 'tasks')))]:
        if not name.endswith('.yml'):
            continue
        for item in load(os.path.join(PLAYBOOKS, name)) or []:
            yield name, item


def _tasks(item):
    for key in ('tasks', 'block', 'rescue', 'always', 'pre_tasks', 'post_tasks', 'handlers'):
        for task in item.get(key) or []:
            yield task
            yield from _tasks(task)


def _members():
    return dict(('mailprivacy.gdpr.%s' % member, group) for group, names in groups().items() for member in names)


def test_no_task_repeats_the_subject():
    members = _members()
    seen = set()
    for name, item in _plays_and_tasks():
        for task in _tasks(item):
            for action, group in members.items():
                if action in task:
                    seen.add(action)
                    args = task[action] or {}
                    passed = sorted(set(args) & (set(group_defaults()[group]) | set(IDENTIFIERS)))
                    assert passed in ([], ['request_id']) if action == 'mailprivacy.gdpr.subject_request' else passed == [], \
                        (name, task.get('name'), passed)
    # log_redact is used without a subject (purge_debug_logs); every other member is used
    assert seen >= set(members) - {'mailprivacy.gdpr.log_redact'}


def test_every_play_with_a_member_sets_its_group_defaults():
    members = _members()
    tasks_files = {}
    for name, item in _plays_and_tasks():
        if name.startswith('tasks/'):
            tasks_files.setdefault(name, []).append(item)
    checked = 0
    for name in sorted(os.listdir(PLAYBOOKS)):
        if not name.endswith('.yml'):
            continue
        for play in load(os.path.join(PLAYBOOKS, name)) or []:
            if 'hosts' not in play:
                continue
            used = set()
            items = list(_tasks(play))
            for task in list(items):
                imported = task.get('ansible.builtin.import_tasks')
                if imported:
                    for sub in tasks_files[imported]:
                        items += [sub] + list(_tasks(sub))
            for task in items:
                used.update(members[a] for a in members if a in task)
            # purge_debug_logs runs log_redact without a subject: no defaults there
            if name == 'purge_debug_logs.yml':
                used.discard('subject')
            defaults = play.get('module_defaults') or {}
            for group in used:
                assert defaults.get('group/mailprivacy.gdpr.%s' % group) == '{{ __gdpr_%s_args }}' % group, \
                    (name, play['name'], group)
                assert 'vars/subject.yml' in play.get('vars_files', []), (name, play['name'])
                checked += 1
    assert checked >= 9
