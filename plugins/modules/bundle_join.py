#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: bundle_join
short_description: Verify the bundles fetched from every host and join them into one archive per subject
version_added: 0.3.0
description:
  - Runs on the controller (an action plugin) in C(subject_export.yml) after every host wrote its bundle with
    M(mailprivacy.gdpr.subject_export), packed it and the controller fetched it.
  - Unpacks each host's bundle into a private staging directory (regular files and directories only,
    nothing outside the request directory), checks its C(manifest.json) against the SHA-256 the module
    returned, then every file against the manifest (size and SHA-256), and that no file is missing or
    unlisted. Any mismatch fails the task and nothing is joined.
  - "Writes C(<export_dir>/<request id>.tar.gz) (mode 0600) holding C(<request id>/hosts/<host>/) per host,
    a top-level C(manifest.json) (format C(mailprivacy.gdpr/subject-archive): request id, subject HMAC,
    per host and store the counts, every file with its SHA-256), a C(README.md) for a person (what was
    found where, the counts, how to verify) and C(SHA256SUMS) for C(sha256sum -c). Members are 0600 files
    and 0700 directories. C(<request id>.tar.gz.sha256) is written next to it."
  - All hosts or none; the fetched copies are removed from the controller in every case.
author:
  - mailprivacy.gdpr maintainers (!UNKNOWN)
attributes:
  check_mode:
    support: none
    description: There is nothing to join in check mode; the playbook skips the task.
  diff_mode:
    support: none
    description: The archive is new data; no diff is shown.
  action:
    support: full
    description: Runs on the controller; no connection to a host is made.
options:
  request:
    description: The C(gdpr_request) fact of M(mailprivacy.gdpr.subject_request).
    type: dict
    required: true
  hosts:
    description: The hosts whose bundles are joined; each must have exported and fetched successfully.
    type: list
    elements: str
    required: true
  export_var:
    description: Name of the registered result of M(mailprivacy.gdpr.subject_export) on every host.
    type: str
    default: __gdpr_export
  fetch_var:
    description: Name of the registered result of M(ansible.builtin.fetch) on every host.
    type: str
    default: __gdpr_fetch
  export_dir:
    description: Directory of the archive; default the C(export_dir) of O(request).
    type: str
  staging_dir:
    description: Directory of the fetched bundles; default the C(staging_dir) of O(request). Removed afterwards.
    type: str
  force:
    description: Replace an existing archive of the same request.
    type: bool
    default: false
seealso:
  - module: mailprivacy.gdpr.subject_export
  - module: mailprivacy.gdpr.request_audit
"""

EXAMPLES = r"""
- name: Verify and join the fetched bundles
  mailprivacy.gdpr.bundle_join:
    request: "{{ gdpr_request }}"
    hosts: "{{ gdpr_request_hosts }}"
  register: joined
"""

RETURN = r"""
archive:
  description: The archive written.
  returned: success
  type: dict
  contains:
    path:
      description: Path of C(<request id>.tar.gz).
      type: str
    sha256:
      description: SHA-256 of the archive.
      type: str
    size:
      description: Size of the archive in bytes.
      type: int
    checksum_file:
      description: Path of C(<request id>.tar.gz.sha256).
      type: str
    hosts:
      description: The hosts joined.
      type: list
      elements: str
    files:
      description: Number of data files in the archive.
      type: int
    found:
      description: Items found over every host and store.
      type: int
    total_size:
      description: Size of the data files in bytes.
      type: int
    by_store:
      description: Per store name, the items found and on how many hosts.
      type: dict
"""
