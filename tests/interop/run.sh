#!/usr/bin/env bash
# Interop test: the official Alipay+/Antom Python SDK (global-open-sdk-python)
# against a real `walletd serve`. See README.md in this directory.
#
#   WALLETD_BIN=/path/to/walletd tests/interop/run.sh
#
# Optional: WALLETD_INTEROP_VENV (virtualenv dir, default
# ~/.cache/walletd/interop-venv), WALLETD_INTEROP_PYTHON (default python3),
# WALLETD_INTEROP_KEEP=1 (keep the temp dir for inspection).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${WALLETD_INTEROP_VENV:-$HOME/.cache/walletd/interop-venv}"
PYTHON="${WALLETD_INTEROP_PYTHON:-python3}"
CLIENT_ID="INTEROPMERCHANT01"
ISV_ID="INTEROPISV01"
HEALTH_TIMEOUT=30

WORK=""
SERVER_PID=""
SUMMARY_DONE=0

log() { printf 'interop: %s\n' "$*" >&2; }

# A setup problem is reported as one failed case, so the summary is always there.
setup_fail() {
    echo "FAIL setup: $*"
    echo "0 passed, 1 failed"
    SUMMARY_DONE=1
    exit 1
}

stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local rc=$?
    stop_server
    if [[ $rc -ne 0 && $SUMMARY_DONE -eq 0 ]]; then
        echo "FAIL setup: run.sh stopped early (exit $rc); see messages above"
        echo "0 passed, 1 failed"
    fi
    if [[ -n "$WORK" && -d "$WORK" ]]; then
        if [[ "${WALLETD_INTEROP_KEEP:-0}" == 1 ]]; then
            log "kept $WORK"
        else
            rm -rf -- "$WORK"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_server_log() {
    if [[ -n "$WORK" && -s "$WORK/server.log" ]]; then
        echo "--- last lines of the walletd server log ---"
        tail -n 40 "$WORK/server.log"
        echo "--- end of server log ---"
    fi
}

# --- inputs -------------------------------------------------------------------
[[ -n "${WALLETD_BIN:-}" ]] || setup_fail "set WALLETD_BIN to the built walletd binary (e.g. target/debug/walletd)"
[[ -x "$WALLETD_BIN" ]] || setup_fail "WALLETD_BIN=$WALLETD_BIN is not an executable file"
# Our explicit flags decide; make sure the caller's environment cannot interfere.
unset WALLETD_DATA_DIR WALLETD_LISTEN

# --- virtualenv with the official SDK ------------------------------------------
command -v "$PYTHON" >/dev/null 2>&1 || setup_fail "$PYTHON not found; install Python 3.9.2+ or set WALLETD_INTEROP_PYTHON"
if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        setup_fail "Python's 'venv' module (with ensurepip) is missing for $PYTHON; install it (Debian/Ubuntu: apt-get install python3-venv) or point WALLETD_INTEROP_PYTHON at a Python that has it"
    fi
    log "creating virtualenv $VENV"
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv --clear "$VENV" || setup_fail "could not create the virtualenv $VENV"
fi
VPY="$VENV/bin/python"
STAMP="$VENV/.walletd-interop-requirements"
WANT="$(cat "$HERE/requirements.txt"; "$VPY" -c 'import sys; print(sys.version)')"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$WANT" ]] || ! "$VPY" -c 'import com.alipay.ams.api' >/dev/null 2>&1; then
    log "installing requirements into $VENV"
    "$VPY" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt" \
        || setup_fail "pip install -r tests/interop/requirements.txt failed"
    printf '%s' "$WANT" >"$STAMP"
fi

# --- keys and registration -------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/walletd-interop.XXXXXX")"
DATA="$WORK/data"
mkdir -p "$DATA"

"$WALLETD_BIN" keys generate --algorithm rsa2048 --out-dir "$WORK/merchant" >&2 \
    || setup_fail "walletd keys generate (merchant) failed"
"$WALLETD_BIN" keys generate --algorithm rsa2048 --out-dir "$WORK/rogue" >&2 \
    || setup_fail "walletd keys generate (rogue) failed"
"$WALLETD_BIN" keys generate --algorithm rsa2048 --out-dir "$WORK/isv" >&2 \
    || setup_fail "walletd keys generate (isv) failed"
for f in merchant/private_key.pem merchant/public_key.pem rogue/private_key.pem isv/private_key.pem isv/public_key.pem; do
    [[ -s "$WORK/$f" ]] || setup_fail "walletd keys generate did not write $f"
done

# The SDK wraps the private-key text it is given in "RSA PRIVATE KEY" (PKCS#1)
# PEM markers itself, so hand it the bare base64 body of the PKCS#1 form.
# (Key formatting only; the SDK's code is untouched.)
pem_body() { sed '/^-----/d' | tr -d ' \r\n'; }
to_pkcs1_b64() {
    if command -v openssl >/dev/null 2>&1; then
        openssl pkey -in "$1" -traditional | pem_body
    else
        "$VPY" -c 'import sys
from cryptography.hazmat.primitives import serialization as s
k = s.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
sys.stdout.write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()).decode())' "$1" | pem_body
    fi
}
to_pkcs1_b64 "$WORK/merchant/private_key.pem" >"$WORK/merchant.sdk-key" \
    || setup_fail "could not convert the merchant private key to PKCS#1"
to_pkcs1_b64 "$WORK/rogue/private_key.pem" >"$WORK/rogue.sdk-key" \
    || setup_fail "could not convert the rogue private key to PKCS#1"
to_pkcs1_b64 "$WORK/isv/private_key.pem" >"$WORK/isv.sdk-key" \
    || setup_fail "could not convert the ISV private key to PKCS#1"

"$WALLETD_BIN" --data-dir "$DATA" admin client add --client-id "$CLIENT_ID" \
    --name "Interop test merchant" --public-key "$WORK/merchant/public_key.pem" >&2 \
    || setup_fail "walletd admin client add failed"

# An ISV (a mini program platform) that acts for the merchant with Agent-Tokens: one live token
# with the default scope, one revoked, one limited to inquiryPayment, one that expires at once.
"$WALLETD_BIN" --data-dir "$DATA" admin client add --client-id "$ISV_ID" \
    --name "Interop test ISV" --public-key "$WORK/isv/public_key.pem" >&2 \
    || setup_fail "walletd admin client add (isv) failed"
issue_agent_token() {
    "$WALLETD_BIN" --data-dir "$DATA" admin agent-token issue --isv "$ISV_ID" --merchant "$CLIENT_ID" "$@"
}
issue_agent_token >"$WORK/agent.token" || setup_fail "walletd admin agent-token issue failed"
issue_agent_token >"$WORK/revoked-agent.token" || setup_fail "walletd admin agent-token issue failed"
"$WALLETD_BIN" --data-dir "$DATA" admin agent-token revoke "$(cat "$WORK/revoked-agent.token")" >&2 \
    || setup_fail "walletd admin agent-token revoke failed"
issue_agent_token --scope inquiryPayment >"$WORK/inquiry-agent.token" \
    || setup_fail "walletd admin agent-token issue --scope failed"
issue_agent_token --ttl-secs 1 >"$WORK/expired-agent.token" \
    || setup_fail "walletd admin agent-token issue --ttl-secs failed"
sleep 1.5 # the one-second token is past its expiry from here on

# The SDK wraps the public-key text in "PUBLIC KEY" (SPKI) markers itself, so it
# wants the bare base64 body (pem_body also copes if PEM lines come back).
"$WALLETD_BIN" --data-dir "$DATA" admin wallet-key show --format base64 | pem_body >"$WORK/wallet.sdk-pub" \
    || setup_fail "walletd admin wallet-key show --format base64 failed"
[[ -s "$WORK/wallet.sdk-pub" ]] || setup_fail "walletd admin wallet-key show printed nothing"

# --- server ----------------------------------------------------------------------
free_port() {
    "$VPY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

healthy() {
    "$VPY" -c 'import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
sys.exit(0 if opener.open(sys.argv[1], timeout=2).status == 200 else 1)' "$1" >/dev/null 2>&1
}

PORT=""
for attempt in 1 2 3; do
    PORT="$(free_port)"
    log "starting walletd serve on 127.0.0.1:$PORT (attempt $attempt)"
    "$WALLETD_BIN" --data-dir "$DATA" serve --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 </dev/null &
    SERVER_PID=$!
    deadline=$((SECONDS + HEALTH_TIMEOUT))
    while ((SECONDS < deadline)); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        healthy "http://127.0.0.1:$PORT/healthz" && break
        sleep 0.2
    done
    if kill -0 "$SERVER_PID" 2>/dev/null && healthy "http://127.0.0.1:$PORT/healthz"; then
        break
    fi
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        show_server_log
        setup_fail "walletd did not answer GET /healthz with 200 within ${HEALTH_TIMEOUT}s"
    fi
    # The server exited: most likely the port was taken in between; try another.
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    if [[ $attempt -eq 3 ]]; then
        show_server_log
        setup_fail "walletd serve exited before becoming healthy"
    fi
done

# --- the SDK ---------------------------------------------------------------------
set +e
"$VPY" "$HERE/sdk_interop.py" \
    --base-url "http://127.0.0.1:$PORT" \
    --client-id "$CLIENT_ID" \
    --merchant-key "$WORK/merchant.sdk-key" \
    --rogue-key "$WORK/rogue.sdk-key" \
    --wallet-public-key "$WORK/wallet.sdk-pub" \
    --isv-client-id "$ISV_ID" \
    --isv-key "$WORK/isv.sdk-key" \
    --agent-token "$WORK/agent.token" \
    --revoked-agent-token "$WORK/revoked-agent.token" \
    --inquiry-agent-token "$WORK/inquiry-agent.token" \
    --expired-agent-token "$WORK/expired-agent.token" | tee "$WORK/interop.out"
rc=${PIPESTATUS[0]}
set -e

stop_server
summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$WORK/interop.out" | tail -n 1 || true)"
if [[ -z "$summary" ]]; then
    show_server_log
    echo "FAIL sdk_interop: sdk_interop.py ended without a summary (exit $rc)"
    echo "0 passed, 1 failed"
    SUMMARY_DONE=1
    exit 1
fi
SUMMARY_DONE=1
if [[ $rc -ne 0 ]]; then
    show_server_log
    echo "$summary"   # repeated so that it stays the last line
    exit 1
fi
exit 0
