#!/bin/sh
# Copyright: mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# TEST DOUBLE of the KLMS service (mailprivacy.gdpr Molecule scenario) -- NOT Kaspersky
# software. klms.service runs it with "start" and "stop"; it only appends the event to the
# test double's record so that the verifier can count restarts.
case "$1" in
    start | stop) ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
printf '{"service": "%s", "time": "%s"}\n' "$1" "$(date -u +%FT%T.%NZ)" >> /var/lib/klms-test-double/record.jsonl
