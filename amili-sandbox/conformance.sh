#!/usr/bin/env bash
# Conformance check: run the amili-sandbox binary and let schemathesis test it against
# openapi/autocollect.yaml. Exits non-zero when schemathesis reports a failure.
#
# Environment (all optional):
#   SCHEMATHESIS          schemathesis executable (default: .venv/bin/schemathesis, installed
#                         into the repository's .venv on first use)
#   SCHEMATHESIS_VERSION  version installed on first use (default 4.32.5)
#   EXAMPLES              max examples per operation and phase (default 200)
#   SEED                  schemathesis seed (default 1, so runs reproduce)
#   AMILI_SANDBOX_BIN     a prebuilt binary (default: cargo build -p amili-sandbox)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

examples="${EXAMPLES:-200}"
seed="${SEED:-1}"

if [[ -z "${SCHEMATHESIS:-}" ]]; then
    SCHEMATHESIS="$root/.venv/bin/schemathesis"
    if [[ ! -x "$SCHEMATHESIS" ]]; then
        echo "conformance: installing schemathesis ${SCHEMATHESIS_VERSION:-4.32.5} into .venv" >&2
        python3 -m venv "$root/.venv"
        "$root/.venv/bin/pip" install --quiet "schemathesis==${SCHEMATHESIS_VERSION:-4.32.5}"
    fi
fi

if [[ -z "${AMILI_SANDBOX_BIN:-}" ]]; then
    cargo build --quiet -p amili-sandbox --bin amili-sandbox
    AMILI_SANDBOX_BIN="$(cargo metadata --format-version 1 --no-deps \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/amili-sandbox"
fi

work="$(mktemp -d)"
sandbox_pid=""
cleanup() {
    if [[ -n "$sandbox_pid" ]] && kill -0 "$sandbox_pid" 2>/dev/null; then
        kill -TERM "$sandbox_pid" 2>/dev/null || true
        wait "$sandbox_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# The sandbox sends its default, undocumented batch type PAYMENT: the spec's enums are open.
"$AMILI_SANDBOX_BIN" --addr 127.0.0.1:0 \
    >"$work/banner.txt" 2>"$work/sandbox.log" &
sandbox_pid=$!

field() { sed -n "s/^  $1 *\([^ ]*\).*/\1/p" "$work/banner.txt" | head -n1; }
for _ in $(seq 1 100); do
    grep -q '^Try it' "$work/banner.txt" 2>/dev/null && break
    kill -0 "$sandbox_pid" 2>/dev/null || { cat "$work/sandbox.log" >&2; exit 1; }
    sleep 0.1
done
api_url="$(field 'API base URL')"
token_url="$(field 'token URL')"
client_id="$(field 'client id')"
client_secret="$(field 'client secret')"
org="$(field 'organization id')"
[[ -n "$api_url" && -n "$org" ]] || { echo "conformance: no banner from the sandbox" >&2; exit 1; }

token="$(python3 - "$token_url" "$client_id" "$client_secret" <<'PY'
import json, sys, urllib.parse, urllib.request
url, client_id, secret = sys.argv[1:4]
form = urllib.parse.urlencode({"grant_type": "client_credentials",
                               "client_id": client_id, "client_secret": secret}).encode()
with urllib.request.urlopen(urllib.request.Request(url, data=form)) as answer:
    print(json.load(answer)["access_token"])
PY
)"

echo "conformance: schemathesis against $api_url (examples=$examples, seed=$seed)" >&2
# Checks: all of them except positive_data_acceptance, which demands 2xx for any value the
# schema allows; the spec types SortDirection and PageToken as free strings, and the sandbox
# (deliberately, like a real server) refuses unknown sort directions and foreign cursors
# with 400.
# (Run from the scratch directory: schemathesis keeps a .schemathesis/ cache in its working
# directory.)
cd "$work"
AMILI_SANDBOX_ORG="$org" "$SCHEMATHESIS" --config-file "$here/schemathesis.toml" --no-color \
    run "$root/openapi/autocollect.yaml" \
    --url "$api_url" \
    -H "Authorization: Bearer $token" \
    --checks all --exclude-checks positive_data_acceptance \
    --max-examples "$examples" --seed "$seed" \
    --generation-database none
