#!/usr/bin/env bash
# The main job: bring up the lab, seed it, show drift, make it compliant, show compliance.
# Run through `make demo`, which installs what is missing and sets the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
inv=inventories/lab/hosts.yml
report=reports/compliance-latest.json

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
verdict() { python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; print("compliant" if s["fleet_compliant"] else "not compliant")' "$report"; }

step "1/6 bring up a fresh lab (existing lab containers are replaced)"
ansible-playbook -i "$inv" lab/down.yml >/dev/null
ansible-playbook -i "$inv" lab/up.yml
step "2/6 seed users, mail, DEBUG-era settings and logins"
ansible-playbook -i "$inv" lab/seed.yml
step "3/6 compliance check before the apply (check mode and a log audit of the last 7 days: expect drift)"
ansible-playbook -i "$inv" playbooks/compliance_check.yml --check --diff
before="$(verdict)"
step "4/6 apply playbooks/site.yml"
ansible-playbook -i "$inv" playbooks/site.yml
applied="@$(date +%s)"
step "5/6 everyday traffic under the new settings: deliveries, logins, failed logins"
ansible-playbook -i "$inv" lab/traffic.yml
step "6/6 compliance check after the apply (no drift; the log audit covers the lines written since the apply)"
ansible-playbook -i "$inv" playbooks/compliance_check.yml --check --diff -e mailprivacy_log_audit_since="$applied"
after="$(verdict)"

echo
cat reports/compliance-latest.md
echo "before apply: $before; after apply: $after"
echo "The lab keeps running: explore with 'podman exec -it lab-dovecot1 bash'; remove it with 'make lab-down'."
[ "$before" = "not compliant" ] && [ "$after" = "compliant" ]
