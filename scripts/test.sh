#!/usr/bin/env bash
# The test suite, as the README and CI run it:
#
#   bash scripts/test.sh            # extra arguments go to `cargo test`
#
# It first installs the bank-file tests' second opinions (Python netsgiro, xmlschema and the
# official camt XSDs, pinned, into .venv: scripts/second-opinions.sh), then runs
# `cargo test --workspace --locked` with a throwaway PostgreSQL (scripts/with-postgres.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/second-opinions.sh"
cd "$here/.."
exec bash "$here/with-postgres.sh" cargo test --workspace --locked "$@"
