"""Offline stand-in for ansible-test's get-pip bootstrap script.

ansible-test downloads ``get-pip-<version>.py`` from a host that CI and the lab
machines cannot reach, but it first looks in ``~/.ansible/test/cache/get_pip_<v>.py``.
tests/sanity/run-sanity.sh installs this file there. It bootstraps pip from the
interpreter's bundled wheel (``ensurepip``) and then installs the requested packages
(e.g. ``pip==24.2``) from the package index like the real script would.
"""
import os
import subprocess
import sys

# get-pip.py options that are not ``pip install`` options.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def main():
    args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    cmd = [sys.executable, "-m", "pip", "install", "--quiet"]
    if os.path.exists(CA_BUNDLE):
        cmd += ["--cert", CA_BUNDLE]
    subprocess.check_call(cmd + args)


if __name__ == "__main__":
    main()
