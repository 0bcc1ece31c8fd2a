# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' variables as Ansible itself resolves them, on localhost, changing nothing.

One ansible-playbook run in check mode: every role is included with ``tasks_from: assert.yml``
and ``public: true`` (its defaults and vars enter the play, its checks run: facts gathering
and assertions only, nothing else of the role). Then, per scenario (task variables, which rank
above role defaults as play and host variables do), ``validate_argument_spec`` checks every
role's variables against its meta/argument_specs.yml, the action and arguments Ansible runs
first when a role starts, with the templated defaults rendered; the values are kept. Each case
of CASES runs the spec check or assert.yml with its variables and records the refusal.

* every default of defaults/main.yml, rendered, equals the spec's default (the spec is the
  one source of the README tables, see tools/role_docs.py);
* the collection-wide log retention policy ``mailprivacy_log_retention_days`` sets every log
  retention variable of every role, an explicit role variable wins over it, and retention
  variables that are not about logs keep their own defaults.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLES = ["mail_logging", "dovecot", "courier", "qmail", "horde", "klms"]

# The log retention variable(s) of each role: their default is the policy.
LOG_RETENTION = {
    "mail_logging_retention_days": "mail_logging",
    "qmail_log_retention_days": "qmail",
    "dovecot_logrotate_maxage": "dovecot",
    "horde_logrotate_maxage": "horde",
    "klms_trace_max_age_days": "klms",
}
# Retention variables that are not log retention, with their defaults: the policy leaves them alone.
OTHER_RETENTION = {
    "dovecot_autoexpunge_days": 30,
    "dovecot_logrotate_rotate": 14,
    "horde_logrotate_rotate": 14,
    "horde_imp_sentmail_threshold": 14,
    "horde_cache_max_age": "7d",
    "horde_session_files_max_age": "1d",
    "klms_dump_max_age_days": 7,
    "klms_tmp_max_age_hours": 24,
    "qmail_queuelifetime": 432000,
    "courier_imap_emptytrash": "Trash:7",
    "courier_mta_queuetime": "1w",
    "courier_track_max_age": "1d",
}
POLICY = 45


def spec_options(role):
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["argument_specs"]["main"]["options"]


ALL_OPTIONS = {name: (role, option) for role in ROLES for name, option in spec_options(role).items()}


def run_playbook(tmp_path, plays, *extra):
    """Run plays (a list) against localhost in check mode; return the process."""
    (tmp_path / "pb.yml").write_text(yaml.safe_dump(plays, sort_keys=False))
    (tmp_path / "ansible.cfg").write_text("[defaults]\ninject_facts_as_vars = False\n")
    env = dict(os.environ,
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
               ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
           "--check", "-e", "ansible_python_interpreter=" + sys.executable, str(tmp_path / "pb.yml")]
    return subprocess.run(cmd + list(extra), env=env, capture_output=True, text=True, check=False, timeout=600)


def validate_task(role):
    """What Ansible runs first when a role starts: validation of the role's variables, as the
    play sees them, against its spec (the same action and arguments)."""
    path = os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")
    return {"name": "Validate the variables of " + role,
            "ansible.builtin.validate_argument_spec": {
                "argument_spec": "{{ (lookup('ansible.builtin.file', '%s') | from_yaml).argument_specs.main.options }}" % path}}


def load_roles_task():
    """Every role's defaults and vars in the play (public), and its assert.yml run once."""
    return {"name": "Load the roles' variables and run their checks",
            "ansible.builtin.include_role": {"name": "mailprivacy.gdpr.{{ item }}", "tasks_from": "assert.yml", "public": True},
            "loop": ROLES}


def scenario_tasks(scenario, variables):
    """Validate every role's variables with these variables set (task vars, above the role
    defaults and below extra vars) and keep their values in the fact __values_<scenario>."""
    names = sorted(ALL_OPTIONS)
    return [{
        "name": "Scenario " + scenario,
        "vars": dict(variables, __names=names),
        "block": [validate_task(role) for role in ROLES] + [
            {"name": "Keep the values of " + scenario, "ansible.builtin.set_fact": {
                "__values_" + scenario: "{{ dict(__names | zip(query('ansible.builtin.vars', *__names))) }}"}}],
    }]


# (case, role, "spec" or "assert", variables, text of the refusal or None when accepted).
CASES = [
    # Types and choices: meta/argument_specs.yml.
    ("mail_logging frequency", "mail_logging", "spec", {"mail_logging_logrotate_frequency": "monthly"},
     "value of mail_logging_logrotate_frequency must be one of: daily, weekly, got: monthly"),
    ("horde priority", "horde", "spec", {"horde_log_priority": "LOUD"},
     "value of horde_log_priority must be one of: EMERG, ALERT, CRIT, ERR, WARNING, NOTICE, INFO, DEBUG, got: LOUD"),
    ("horde log type", "horde", "spec", {"horde_log_type": "journal"},
     "value of horde_log_type must be one of: syslog, file, got: journal"),
    ("horde sentmail driver", "horde", "spec", {"horde_imp_sentmail_driver": "Mysql"},
     "value of horde_imp_sentmail_driver must be one of: Null, Sql, Nosql, got: Mysql"),
    ("courier facility", "courier", "spec", {"courier_imap_log_facility": "kern"},
     "value of courier_imap_log_facility must be one of: mail, daemon, user, local0"),
    ("courier debug login 2 (spec)", "courier", "spec", {"courier_debug_login": 2},
     "value of courier_debug_login must be one of: 0, 1, got: 2"),
    ("qmail control files list", "qmail", "spec", {"qmail_control_files": ["me"]},
     "argument 'qmail_control_files' is of type list"),
    ("policy not a number: mail_logging", "mail_logging", "spec", {"mailprivacy_log_retention_days": "fortnight"},
     "argument 'mail_logging_retention_days' is of type str and we were unable to convert to int"),
    ("policy not a number: dovecot", "dovecot", "spec", {"mailprivacy_log_retention_days": "fortnight"},
     "argument 'dovecot_logrotate_maxage' is of type str and we were unable to convert to int"),
    ("policy not a number: qmail", "qmail", "spec", {"mailprivacy_log_retention_days": "fortnight"},
     "argument 'qmail_log_retention_days' is of type str and we were unable to convert to int"),
    ("policy not a number: horde", "horde", "spec", {"mailprivacy_log_retention_days": "fortnight"},
     "argument 'horde_logrotate_maxage' is of type str and we were unable to convert to int"),
    ("policy not a number: klms", "klms", "spec", {"mailprivacy_log_retention_days": "fortnight"},
     "argument 'klms_trace_max_age_days' is of type str and we were unable to convert to int"),
    # A "key=value" string passes the spec's dict type (it converts it); assert.yml refuses it.
    ("qmail control files string (spec)", "qmail", "spec", {"qmail_control_files": "me=mx.example.org"}, None),
    ("qmail control files string", "qmail", "assert", {"qmail_control_files": "me=mx.example.org"},
     "Invalid variable for mailprivacy.gdpr.qmail"),
    # Refusals with their reason, and what the spec cannot express: assert.yml.
    ("courier debug login 2", "courier", "assert", {"courier_debug_login": 2},
     "courier_debug_login=2 is refused: with DEBUG_LOGIN=2 Courier's authdaemond and login processes write every password"),
    ("policy 0: mail_logging", "mail_logging", "assert", {"mailprivacy_log_retention_days": 0},
     "mail_logging_retention_days (0) must be at least one logrotate period (daily)"),
    ("policy 0: dovecot", "dovecot", "assert", {"mailprivacy_log_retention_days": 0}, "Invalid variable for mailprivacy.gdpr.dovecot"),
    ("policy 0: qmail", "qmail", "assert", {"mailprivacy_log_retention_days": 0}, "Invalid variable for mailprivacy.gdpr.qmail"),
    ("policy 0: horde", "horde", "assert", {"mailprivacy_log_retention_days": 0}, "Invalid variable for mailprivacy.gdpr.horde"),
    ("policy 0: klms", "klms", "assert", {"mailprivacy_log_retention_days": 0}, "Invalid variable for mailprivacy.gdpr.klms"),
    ("policy 0, role variable 2", "qmail", "assert", {"mailprivacy_log_retention_days": 0, "qmail_log_retention_days": 2}, None),
    ("policy 3, weekly", "mail_logging", "assert",
     {"mailprivacy_log_retention_days": 3, "mail_logging_logrotate_frequency": "weekly"},
     "mail_logging_retention_days (3) must be at least one logrotate period (weekly)"),
    ("policy 7, weekly", "mail_logging", "assert",
     {"mailprivacy_log_retention_days": 7, "mail_logging_logrotate_frequency": "weekly"}, None),
    # The opt-in check of Horde does not rely on the spec's choices (rolespec_validate: false).
    ("horde NOTICE", "horde", "assert", {"horde_log_priority": "NOTICE"}, "horde_log_priority NOTICE logs every successful login"),
    ("horde notice", "horde", "assert", {"horde_log_priority": "notice"}, "horde_log_priority notice logs every successful login"),
    ("horde NOTICE, opted in", "horde", "assert", {"horde_log_priority": "NOTICE", "horde_allow_personal_data_in_logs": True}, None),
]


def case_tasks():
    """One block per case of CASES; its rescue records the refusal message in __outcomes."""
    tasks = [{"name": "Start the record", "ansible.builtin.set_fact": {"__outcomes": {}}}]
    for index, (case, role, via, variables, _expected) in enumerate(CASES):
        if via == "spec":
            check = validate_task(role)
        else:
            check = {"name": "Run the checks of " + role,
                     "ansible.builtin.include_role": {"name": "mailprivacy.gdpr." + role, "tasks_from": "assert.yml"}}
        tasks.append({
            "name": "Case %d: %s" % (index, case),
            "vars": variables,
            "block": [check, {"name": "Accepted", "ansible.builtin.set_fact": {
                "__outcomes": "{{ __outcomes | combine({'%d': 'accepted'}) }}" % index}}],
            "rescue": [{"name": "Refused", "ansible.builtin.set_fact": {
                "__outcomes": "{{ __outcomes | combine({'%d': ansible_failed_result.msg}) }}" % index}}],
        })
    return tasks


@pytest.fixture(scope="module")
def resolved(tmp_path_factory):
    """{scenario: {variable: value}} and {"cases": {index: outcome}} from one ansible-playbook run."""
    tmp = tmp_path_factory.mktemp("role_variables")
    out = tmp / "result.json"
    overrides = {name: index + 3 for index, name in enumerate(sorted(LOG_RETENTION))}
    scenarios = {
        "defaults": {},
        "policy": {"mailprivacy_log_retention_days": POLICY},
        # As -e key=value gives it: a string.
        "policy_string": {"mailprivacy_log_retention_days": str(POLICY)},
        "overrides": dict(overrides, mailprivacy_log_retention_days=POLICY),
    }
    tasks = [load_roles_task()]
    for name, variables in scenarios.items():
        tasks.extend(scenario_tasks(name, variables))
    tasks.extend(case_tasks())
    result = "{" + ", ".join("'%s': __values_%s" % (name, name) for name in scenarios) + ", 'cases': __outcomes}"
    tasks.append({"name": "Write the result",
                  "ansible.builtin.copy": {"dest": str(out), "content": "{{ %s | to_json }}" % result, "mode": "0600"},
                  "check_mode": False})
    play = {"name": "Role variables", "hosts": "localhost", "gather_facts": False, "tasks": tasks}
    proc = run_playbook(tmp, [play])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    data["expected_overrides"] = overrides
    return data


def test_every_rendered_default_equals_the_spec_default(resolved):
    """The spec (and so the README table) tells the truth about every default, the templated
    ones included: rendered without a policy, each variable is the spec's default."""
    wrong = {name: (value, (ALL_OPTIONS[name][1] or {}).get("default"))
             for name, value in resolved["defaults"].items()
             if value != (ALL_OPTIONS[name][1] or {}).get("default")}
    assert wrong == {}
    assert len(resolved["defaults"]) == len(ALL_OPTIONS) > 150


def test_without_a_policy_every_log_retention_is_14_days(resolved):
    assert {name: resolved["defaults"][name] for name in LOG_RETENTION} == dict.fromkeys(LOG_RETENTION, 14)


def test_the_policy_sets_every_log_retention(resolved):
    values = resolved["policy"]
    assert {name: values[name] for name in LOG_RETENTION} == dict.fromkeys(LOG_RETENTION, POLICY)
    # Every role of the issue has one.
    assert sorted(set(LOG_RETENTION.values())) == ["dovecot", "horde", "klms", "mail_logging", "qmail"]


def test_the_policy_leaves_other_retention_alone(resolved):
    for scenario in ("defaults", "policy", "overrides"):
        assert {name: resolved[scenario][name] for name in OTHER_RETENTION} == OTHER_RETENTION, scenario


def test_a_role_variable_overrides_the_policy(resolved):
    expected = resolved["expected_overrides"]
    assert {name: resolved["overrides"][name] for name in LOG_RETENTION} == expected
    assert len(set(expected.values())) == len(LOG_RETENTION) and POLICY not in expected.values()


def test_the_policy_is_set_everywhere_else_unchanged(resolved):
    """Only the log retention variables follow the policy."""
    changed = sorted(name for name in ALL_OPTIONS if resolved["policy"][name] != resolved["defaults"][name])
    assert changed == sorted(LOG_RETENTION)


def test_a_policy_given_as_a_string_passes_validation(resolved):
    """-e mailprivacy_log_retention_days=45 gives a string; the specs accept it as an int."""
    values = resolved["policy_string"]
    assert {name: int(values[name]) for name in LOG_RETENTION} == dict.fromkeys(LOG_RETENTION, POLICY)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[case[0] for case in CASES])
def test_refusals(resolved, index):
    """Each refusal of the roles stays, by the spec or by assert.yml; valid values pass both."""
    _case, _role, _via, _variables, expected = CASES[index]
    outcome = resolved["cases"][str(index)]
    if expected is None:
        assert outcome == "accepted"
    else:
        assert expected in outcome
