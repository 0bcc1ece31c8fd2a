#!/usr/bin/env bash
# Run `ansible-test sanity` offline on a clean copy of the collection.
# ansible-test must run from .../ansible_collections/<namespace>/<name>, and only on
# files git knows about, so the tracked (and untracked, not ignored) files are staged there.
set -euo pipefail
top="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$top"

pip_version="$(python -c 'import re, ansible_test, os; p=os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py"); print(re.search(r"pip=.([0-9.]+).", open(p).read()).group(1))')"
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cp tests/sanity/get_pip_offline.py "$cache"

# One staging tree per run: concurrent runs must not delete each other's copy.
root="$top/.build/sanity/run-$$"
stage="$root/ansible_collections/mailprivacy/gdpr"
rm -rf "$root"
trap 'rm -rf "$root"' EXIT
mkdir -p "$stage"
git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} "$stage/" 2>/dev/null || true
cd "$stage"
git init -q . && git add -A >/dev/null 2>&1
python_version="$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
ansible-test sanity --venv --python "$python_version" --color no "$@"
