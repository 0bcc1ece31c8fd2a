# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test client of the horde scenario: a real login through Horde's web stack.

GETs Horde's login page, POSTs the login form (user, password) with the session cookie,
and for a successful login also opens the portal page the login redirects to, checking
that it is served to an authenticated session. Standard library only; runs on the
controller (verifier) and in the container (prepare).

Usage: python3 horde_login.py BASE_URL USER PASSWORD   (prints JSON; exit 0 when the outcome is
       the one --expect names: success or failure)
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def login(base_url, user, password, timeout=60):
    """Log in; return {"status", "location", "portal_status", "authenticated", "client_port"}."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    login_url = base_url.rstrip("/") + "/login.php"
    page = opener.open(login_url, timeout=timeout)
    form = page.read().decode("utf-8", "replace")
    if 'name="horde_user"' not in form:
        raise RuntimeError("no Horde login form at %s" % login_url)
    data = urllib.parse.urlencode(
        {
            "app": "",
            "login_post": "1",
            "url": "",
            "anchor_string": "",
            "horde_user": user,
            "horde_pass": password,
            "login_button": "Log in",
        }
    ).encode()
    result = {"status": None, "location": None, "portal_status": None, "authenticated": False}
    try:
        response = opener.open(login_url, data, timeout=timeout)
        result["status"] = response.status
        response.read()
    except urllib.error.HTTPError as exc:
        result["status"] = exc.code
        result["location"] = exc.headers.get("Location")
    if result["status"] == 302 and result["location"] and "login.php" not in result["location"]:
        # Horde may build the absolute URL from its own idea of the host name: follow the path.
        path = urllib.parse.urlsplit(result["location"]).path
        portal = urllib.parse.urljoin(base_url, path)
        try:
            response = opener.open(portal, timeout=timeout)
            result["portal_status"] = response.status
            body = response.read().decode("utf-8", "replace")
            result["authenticated"] = bool(re.search(r"logout\.php|horde-logout|Log out", body))
        except urllib.error.HTTPError as exc:
            result["portal_status"] = exc.code
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("user")
    parser.add_argument("password")
    parser.add_argument("--expect", choices=["success", "failure"], default="success")
    args = parser.parse_args()
    result = login(args.base_url, args.user, args.password)
    print(json.dumps(result))
    succeeded = result["authenticated"]
    return 0 if succeeded == (args.expect == "success") else 1


if __name__ == "__main__":
    sys.exit(main())
