#!/usr/bin/env bash
# End-to-end data-subject requests on the container lab (issues 5 and 6): bring up a fresh
# lab, seed it (users alice and bob at example.org with mail, Horde rows and log lines on
# every host), then run the lab tests: export of one subject and of the customer account,
# erasure of one subject. The lab is removed afterwards. Run through `make lab-e2e` or
# tests/run-all.sh, which set the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
inv=inventories/lab/hosts.yml
trap 'ansible-playbook -i "$inv" lab/down.yml >/dev/null 2>&1 || true' EXIT
ansible-playbook -i "$inv" lab/down.yml >/dev/null
ansible-playbook -i "$inv" lab/up.yml
ansible-playbook -i "$inv" lab/seed.yml
# The export on the lab (DEBUG era, as seeded), then the erasure of one subject (it applies
# playbooks/site.yml first, as an operator has before answering requests).
MAILPRIVACY_LAB=1 MAILPRIVACY_LAB_SEEDED=1 pytest -p no:cacheprovider -v \
  tests/e2e/test_lab_export.py tests/e2e/test_lab_erase.py
