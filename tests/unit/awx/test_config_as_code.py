# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""awx/config-as-code.yml and awx/execution-environment.yml, read as data (no AWX is reachable):
every identifier question of every survey is secret, the drift check runs in check mode and
fails on drift, its schedule is nightly, the job templates name playbooks that exist (or that
issue 6 delivers), and the extra variables turn the answers into the playbooks' variables."""

from __future__ import annotations

import os
import re

import jinja2
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CONFIG = os.path.join(ROOT, "awx", "config-as-code.yml")
EE = os.path.join(ROOT, "awx", "execution-environment.yml")

# survey variables that carry an identifier of a data subject
IDENTIFIER_VARIABLE = re.compile(r"^gdpr_survey_(addresses|logins|ips|domain)$")
PLAYBOOKS_OF_OTHER_ISSUES = {"playbooks/subject_erase.yml", "playbooks/customer_erase.yml"}  # issue 6


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


@pytest.fixture(scope="module")
def play():
    with open(CONFIG, encoding="utf-8") as handle:
        plays = yaml.load(handle, Loader=_Loader)
    assert len(plays) == 1
    return plays[0]


def _surveys(play):
    v = play["vars"]
    return {
        "subject": v["__subject_survey"]["spec"],
        "subject_erase": v["__subject_survey"]["spec"] + v["__erase_confirmation"],
        "customer": v["__customer_survey"]["spec"],
        "customer_erase": v["__customer_survey"]["spec"] + v["__erase_confirmation"],
    }


def _task(play, module, name=None):
    tasks = [t for t in play["tasks"] if module in t and (name is None or t[module].get("name") == name)]
    assert len(tasks) == 1, module
    return tasks[0]


def test_every_identifier_question_is_secret(play):
    surveys = _surveys(play)
    seen = set()
    for name, spec in surveys.items():
        variables = [q["variable"] for q in spec]
        assert len(variables) == len(set(variables)), name
        for question in spec:
            assert question["type"] in ("text", "textarea", "password", "integer", "float",
                                        "multiplechoice", "multiselect")
            if IDENTIFIER_VARIABLE.match(question["variable"]):
                seen.add(question["variable"])
                assert question["type"] == "password", (name, question["variable"])
            else:
                # a non-secret question must not ask for anything that identifies a person
                text = (question["question_name"] + " " + question.get("question_description", "")).lower()
                for word in ("address", "login", "domain", "user", "name of"):
                    assert word not in text, (name, question["variable"])
    assert seen == {"gdpr_survey_addresses", "gdpr_survey_logins", "gdpr_survey_ips", "gdpr_survey_domain"}


def test_every_subject_template_has_a_survey_and_the_hmac_credential(play):
    templates = play["vars"]["__job_templates"]
    by_name = dict((t["name"], t) for t in templates)
    assert set(by_name) >= {"configure", "drift check", "export", "erase preview", "erase"}
    for name in ("export", "erase preview", "erase", "customer export", "customer erase"):
        assert by_name[name]["survey"] in play["vars"]["__surveys"], name
        assert by_name[name]["hmac"] is True
    assert by_name["erase"]["survey"] == "subject_erase" and by_name["customer erase"]["survey"] == "customer_erase"
    # the confirmation variable of playbooks/subject_erase.yml and customer_erase.yml
    confirm = [q for q in _surveys(play)["subject_erase"] if q["variable"] == "gdpr_confirm_erase"]
    assert len(confirm) == 1 and confirm[0]["required"] is True
    erase = os.path.join(ROOT, "playbooks", "subject_erase.yml")
    if os.path.exists(erase):
        assert "gdpr_confirm_erase" in open(erase, encoding="utf-8").read()
    assert by_name["erase preview"]["job_type"] == "check"
    assert by_name["erase"]["job_type"] == "run"
    for name in ("configure", "drift check", "records of processing"):
        assert "survey" not in by_name[name]
    jt = _task(play, "awx.awx.job_template")["awx.awx.job_template"]
    assert jt["survey_enabled"] == "{{ item.survey is defined }}"
    assert "__surveys[item.survey]" in jt["survey_spec"]


def test_playbooks_exist(play):
    for template in play["vars"]["__job_templates"]:
        path = template["playbook"]
        if path in PLAYBOOKS_OF_OTHER_ISSUES and not os.path.exists(os.path.join(ROOT, path)):
            continue
        assert os.path.isfile(os.path.join(ROOT, path)), path


def test_drift_check_runs_in_check_mode_fails_on_drift_and_is_nightly(play):
    drift = [t for t in play["vars"]["__job_templates"] if t["name"] == "drift check"][0]
    assert drift["playbook"] == "playbooks/compliance_check.yml"
    assert drift["job_type"] == "check" and drift["diff_mode"] is True
    assert drift["extra_vars"] == {"mailprivacy_fail_on_drift": True}
    schedule = _task(play, "awx.awx.schedule", "{{ mailprivacy_awx_prefix }}nightly drift check")["awx.awx.schedule"]
    assert schedule["unified_job_template"] == "{{ mailprivacy_awx_prefix }}drift check"
    assert schedule["enabled"] is True
    rrule = play["vars"]["mailprivacy_awx_drift_schedule_rrule"]
    match = re.match(r"^DTSTART(;TZID=[A-Za-z_/]+)?:(\d{8})T(\d{2})(\d{2})(\d{2})Z? RRULE:(.*)$", rrule)
    assert match, rrule
    parts = dict(p.split("=", 1) for p in match.group(6).split(";"))
    assert parts["FREQ"] == "DAILY" and parts.get("INTERVAL", "1") == "1"
    assert "COUNT" not in parts and "UNTIL" not in parts
    assert 0 <= int(match.group(3)) <= 5, "nightly: between midnight and 05:59"


def _render(value, variables):
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    if isinstance(value, dict):
        return dict((k, _render(v, variables)) for k, v in value.items())
    return env.from_string(value).render(**variables) if isinstance(value, str) else value


def test_extra_vars_turn_survey_answers_into_the_playbook_variables(play):
    v = play["vars"]
    answers = {"gdpr_survey_addresses": " ann@example.com, Ann.Alias@example.com ,",
               "gdpr_survey_logins": "", "gdpr_survey_ips": "192.0.2.7", "awx_job_id": 42}
    rendered = _render(v["__subject_vars"], answers)
    assert rendered["gdpr_subject"] == {
        "addresses": "['ann@example.com', 'Ann.Alias@example.com']", "logins": "[]", "ips": "['192.0.2.7']"}
    assert rendered["gdpr_request_id"] == "awx-42"
    assert _render(v["__subject_vars"]["gdpr_request_id"], {"gdpr_survey_reference": "case-7", "awx_job_id": 1}) == "case-7"
    customer = _render(v["__customer_vars"], {"gdpr_survey_domain": " example.com ", "awx_job_id": 9})
    assert customer == {"gdpr_subject_domain": "example.com", "gdpr_request_id": "awx-9"}


def test_the_values_stay_templates_in_the_file():
    """!unsafe: Ansible must not evaluate the job templates' Jinja while configuring AWX."""
    text = open(CONFIG, encoding="utf-8").read()
    for line in text.splitlines():
        if "gdpr_survey_" in line and "{{" in line:
            assert "!unsafe" in line, line
    assert 'gdpr_hmac_key: !unsafe "{{ hmac_key }}"' in text


def test_no_secret_in_the_file():
    text = open(CONFIG, encoding="utf-8").read()
    assert not re.search(r"(?i)(token|password|hmac_key)\s*:\s*['\"]?[A-Za-z0-9]{8,}", text)
    hmac = [t for t in yaml.load(text, Loader=_Loader)[0]["tasks"] if "awx.awx.credential" in t][0]
    assert hmac["no_log"] is True and hmac["when"] == "vault_gdpr_hmac_key is defined"


def test_execution_environment_definition():
    with open(EE, encoding="utf-8") as handle:
        ee = yaml.safe_load(handle)
    assert ee["version"] == 3
    deps = ee["dependencies"]
    assert deps["ansible_core"]["package_pip"].startswith("ansible-core==2.19.")
    assert deps["ansible_runner"]["package_pip"].startswith("ansible-runner==")
    names = [c["name"] for c in deps["galaxy"]["collections"]]
    assert "collections/mailprivacy-gdpr.tar.gz" in names
    assert [f["dest"] for f in ee["additional_build_files"]] == ["collections"]
    with open(os.path.join(ROOT, "meta", "runtime.yml"), encoding="utf-8") as handle:
        assert yaml.safe_load(handle)["requires_ansible"] == ">=2.19.0"


def test_audit_trail_check_template_and_schedule(play):
    """The audit trail check (issue 12): audit_verify.yml with the HMAC key credential, an
    optional anchor question that asks for nothing personal, a nightly schedule."""
    by_name = dict((t["name"], t) for t in play["vars"]["__job_templates"])
    check = by_name["audit trail check"]
    assert check["playbook"] == "playbooks/audit_verify.yml" and check["hmac"] is True
    assert check["job_type"] == "run" and check["extra_vars"] == {}
    spec = play["vars"]["__audit_survey"]["spec"]
    assert [q["variable"] for q in spec] == ["gdpr_audit_expected_head"] and spec[0]["required"] is False
    assert check["survey"] in play["vars"]["__surveys"]
    text = (spec[0]["question_name"] + " " + spec[0]["question_description"]).lower()
    assert not [w for w in ("address", "login", "domain", "user", "name of") if w in text]
    schedule = _task(play, "awx.awx.schedule", "{{ mailprivacy_awx_prefix }}nightly audit trail check")["awx.awx.schedule"]
    assert schedule["unified_job_template"] == "{{ mailprivacy_awx_prefix }}audit trail check"
    assert schedule["enabled"] is True
    assert "FREQ=DAILY" in play["vars"]["mailprivacy_awx_audit_schedule_rrule"]
