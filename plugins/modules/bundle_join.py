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
  - Before anything of a host's bundle is extracted, lists its members and checks them against the
    C(manifest.json) it holds, which must match the SHA-256 the module returned - every member is a regular
    file or a directory (no symbolic or hard link, device or FIFO) with a plain path inside the request
    directory, no member comes twice, every file is listed in the manifest with the size the manifest says
    and every listed file is there - and that the files stay within O(max_bundle_size) and the free space of
    the staging directory (twice their size, for the extracted files and the archive, plus 5% of the file
    system or 1 GiB, whichever is smaller). Any mismatch refuses the whole bundle, nothing is extracted and
    the message names the host and the kind of mismatch, never a file.
  - Then unpacks it into a private staging directory through directory handles (files 0600, directories
    0700, holes of sparse files kept) and checks every file against the manifest again (size and SHA-256).
    Any mismatch fails the task and nothing is joined.
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
  max_bundle_size:
    description:
      - Cap on the files of each host's bundle (the total of their sizes), checked before anything is extracted.
        A number of bytes or a size with a unit (V(20G)); V(0) for no cap. Use the value the hosts exported
        with (O(mailprivacy.gdpr.subject_export#module:max_bundle_size)).
    type: bytes
    default: 20G
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
