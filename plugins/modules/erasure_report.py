#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: erasure_report
short_description: Write the report of an erasure request on the controller (JSON and Markdown)
version_added: 0.4.0
description:
  - Runs on the controller (an action plugin) at the end of the playbooks C(subject_erase.yml) and
    C(customer_erase.yml).
  - Reads, for every host in O(hosts), the registered results C(<result_prefix>erase) of
    M(mailprivacy.gdpr.subject_erase) and C(<result_prefix>proof) of the proof search
    (M(mailprivacy.gdpr.subject_find) run again after the erasure).
  - "The report holds the request id, the subject's HMAC, the operator, the start and end times (UTC), per
    host the erasure's start and end times and per store the counts before, erased, after and found by the
    proof search, per host the candidates of the independent check (counts, and the names of the log files
    that hold them or hashes of their paths; never a line), the manual steps still open, and a verdict:
    V(erased everywhere), V(candidates for review) (everything is erased and proven, but the independent
    check found lines that may still name the subject, could not read a file to the end or failed in part: a
    person reviews them, as the report describes), V(manual steps open), V(incomplete) (with the reasons:
    which host and store failed or still holds data) or V(preview) (check mode)."
  - Written as C(<request id>.erasure.json) and C(<request id>.erasure.md) (C(.erasure.preview.*) in check
    mode; a number is added when they exist) in O(report_dir), files mode 0600, directory 0700. Never an
    identifier; free texts that match the subject are withheld.
author:
  - mailprivacy.gdpr maintainers (!UNKNOWN)
attributes:
  check_mode:
    support: none
    description: Run the task with C(check_mode=false); the report says whether the request ran in check mode.
  diff_mode:
    support: none
    description: The report is new data; no diff is shown.
  action:
    support: full
    description: Runs on the controller; no connection to a host is made.
extends_documentation_fragment:
  - mailprivacy.gdpr.request
options:
  request:
    description: The C(gdpr_request) fact of M(mailprivacy.gdpr.subject_request).
    type: raw
    default: {}
  subject:
    description: The subject as given to M(mailprivacy.gdpr.subject_request); used only to screen the report.
    type: raw
  domain:
    description: The customer domain; used only to screen the report.
    type: raw
  plus_separator:
    description: Recipient delimiter, as given to M(mailprivacy.gdpr.subject_request).
    type: str
    default: '+'
  local_part_case:
    description: Local-part letter case (V(insensitive) or V(sensitive)), as given to M(mailprivacy.gdpr.subject_request).
    type: str
    default: insensitive
    choices: ['insensitive', 'sensitive']
  hmac_key:
    description:
      - The request's HMAC key, as given to M(mailprivacy.gdpr.subject_request). When set (and O(request) holds
        C(subject_hmac)), the HMAC of O(subject) must be the request's, so that the report is screened for the
        subject of the request; otherwise the task fails and no report is written.
    type: str
    version_added: 0.6.0
  hosts:
    description: The hosts the request ran on.
    type: list
    elements: str
    default: []
  result_prefix:
    description: Prefix of the registered variables to read.
    type: str
    default: __gdpr_
  report_dir:
    description: Directory of the reports on the controller (created with mode 0700).
    type: str
    default: reports/erasure
seealso:
  - module: mailprivacy.gdpr.subject_erase
  - module: mailprivacy.gdpr.request_audit
"""

EXAMPLES = r"""
- name: Write the erasure report
  mailprivacy.gdpr.erasure_report:
    request: "{{ gdpr_request }}"
    subject: "{{ gdpr_subject | default(omit) }}"
    domain: "{{ gdpr_subject_domain | default(omit) }}"
    hosts: "{{ gdpr_request_hosts | default([]) }}"
    report_dir: "{{ gdpr_report_dir | default('reports/erasure') }}"
  check_mode: false
  register: report
"""

RETURN = r"""
verdict:
  description: V(erased everywhere), V(candidates for review), V(manual steps open), V(incomplete) or V(preview).
  returned: success
  type: str
json_path:
  description: Path of the JSON report.
  returned: success
  type: str
markdown_path:
  description: Path of the Markdown report.
  returned: success
  type: str
report:
  description: The report (counts, HMAC, timestamps, manual steps, verdict and reasons; no identifier).
  returned: success
  type: dict
summary:
  description: A short summary for the play output.
  returned: success
  type: list
  elements: str
"""
