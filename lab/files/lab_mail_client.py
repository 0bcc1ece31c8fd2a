# Lab seed client (not part of the collection). Reads {"host": ..., "users": [{name, password}]}
# as JSON on stdin, then, for every user:
#   default:        sends two mails over SMTP to 127.0.0.1:25 and waits until they are in the
#                   user's Maildir, logs in over IMAP and POP3, and tries one wrong password;
#   --maildir-only: writes two messages into ~/Maildir/new the way qmail-local does (for hosts
#                   whose SMTP server is a stand-in that discards mail), then runs one SMTP
#                   session per user so that the logs hold the envelope and the client IP.
# Run by lab/seed.yml with no_log: it handles the lab users' passwords.
import imaplib
import json
import os
import poplib
import pwd
import smtplib
import socket
import sys
import time

seed = json.load(sys.stdin)
host = seed["host"]
maildir_only = "--maildir-only" in sys.argv


def message(user, number):
    return (
        "From: Newsletter <newsletter@example.net>\r\n"
        "To: {u}@{h}\r\n"
        "Subject: Lab message {n} for {u}\r\n"
        "Message-ID: <lab-{n}-{u}@example.net>\r\n"
        "\r\n"
        "Seed message {n} for {u} on {h}.\r\n"
    ).format(u=user, h=host, n=number)


def deliver_to_maildir(user, number):
    entry = pwd.getpwnam(user)
    new = os.path.join(entry.pw_dir, "Maildir", "new")
    name = "%d.M%dP%d.%s" % (time.time(), number, os.getpid(), socket.gethostname())
    path = os.path.join(new, name)
    with open(path, "w") as handle:
        handle.write(message(user, number).replace("\r\n", "\n"))
    os.chown(path, entry.pw_uid, entry.pw_gid)
    os.chmod(path, 0o600)


def smtp_session(user, number):
    # Retry for a minute: right after a restart the SMTP server may refuse or answer 4xx.
    for attempt in range(30):
        try:
            with smtplib.SMTP("127.0.0.1", 25, timeout=60) as smtp:
                smtp.sendmail("newsletter@example.net", ["%s@%s" % (user, host)], message(user, number))
            return
        except (OSError, smtplib.SMTPException) as error:
            if attempt == 29:
                raise
            print("SMTP attempt %d failed (%s), retrying" % (attempt + 1, type(error).__name__), file=sys.stderr)
            time.sleep(2)


def wait_for_delivery(user, count):
    new = os.path.join(pwd.getpwnam(user).pw_dir, "Maildir", "new")
    for _attempt in range(120):
        if len(os.listdir(new)) >= count:
            return
        time.sleep(0.5)
    sys.exit("mail for lab user %d did not arrive" % ([u["name"] for u in seed["users"]].index(user) + 1))


for user in seed["users"]:
    if maildir_only:
        for number in (1, 2):
            deliver_to_maildir(user["name"], number)
        smtp_session(user["name"], 3)
        continue
    for number in (1, 2):
        smtp_session(user["name"], number)
    wait_for_delivery(user["name"], 2)
    imap = imaplib.IMAP4("127.0.0.1", 143, timeout=60)
    imap.login(user["name"], user["password"])
    imap.select("INBOX")
    imap.logout()
    pop = poplib.POP3("127.0.0.1", 110, timeout=60)
    pop.user(user["name"])
    pop.pass_(user["password"])
    pop.quit()

if not maildir_only:
    imap = imaplib.IMAP4("127.0.0.1", 143, timeout=180)
    try:
        imap.login(seed["users"][-1]["name"], "wrong-password")
    except imaplib.IMAP4.error:
        pass
