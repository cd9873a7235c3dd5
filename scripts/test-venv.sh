#!/usr/bin/env bash
# Creates (or reuses) .build/test-venv with Tests/requirements.txt installed
# and prints its python. Needs python3-venv; the packages come from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build/test-venv
stamp="$venv/requirements.installed"
if [ ! -x "$venv/bin/python" ] || ! cmp -s Tests/requirements.txt "$stamp"; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r Tests/requirements.txt >&2
    cp Tests/requirements.txt "$stamp"
fi
echo "$PWD/$venv/bin/python"
