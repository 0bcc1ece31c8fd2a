# Copyright: mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SMTP test client of the qmail scenario: real SMTP sessions from the controller.

Used by prepare.yml (traffic through the DEBUG-era setup) and by tests/test_qmail.py.
    smtp_client.py HOST PORT COUNT [MARKER]
sends COUNT messages, one session each, and prints the number of accepted messages.
"""

import smtplib
import sys
from email.message import EmailMessage

SENDER = "alice.sender@example.net"
RECIPIENT = "bob.recipient@{host}"


def send_messages(host, port, count, marker="mp-qmail-test", timeout=30):
    """Send `count` messages in separate sessions; return how many were accepted."""
    accepted = 0
    for number in range(count):
        msg = EmailMessage()
        msg["From"] = SENDER
        msg["To"] = RECIPIENT.format(host="mp-qmail.example.org")
        msg["Subject"] = "%s message %d" % (marker, number)
        msg.set_content("Personal data in a message body: %s #%d\n" % (marker, number))
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.ehlo("client.example.net")
            refused = smtp.send_message(msg)
            if not refused:
                accepted += 1
    return accepted


def main(argv):
    host, port, count = argv[1], int(argv[2]), int(argv[3])
    marker = argv[4] if len(argv) > 4 else "mp-qmail-test"
    print(send_messages(host, port, count, marker))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
