#!/usr/bin/env python3
"""Verify a notification walletd sent, with the official Python SDK's own webhook verifier.

The notifier tests (cargo test -p walletd-server --test notifier) leave one delivered
notification in target/artifacts/notification/:

    headers.json            {"method": "POST", "target": "/path?query", "headers": {lower-case: value}}
    body.json               the raw body bytes exactly as sent
    wallet_public_key.pem   the wallet's public key (SPKI PEM)

Usage (with the interop venv that tests/interop/run.sh makes):

    ${WALLETD_INTEROP_VENV:-$HOME/.cache/walletd/interop-venv}/bin/python \
        tests/interop/notify_verify.py target/artifacts/notification

It checks that `com.alipay.ams.api.tools.webhook_tool.check_signature` accepts the notification,
and that it rejects the same notification with a changed body, time or path (so a verifier that
accepts anything cannot pass). Prints PASS/FAIL lines and "N passed, N failed"; exits 1 on failure.
"""

import json
import os
import sys


def load(directory):
    with open(os.path.join(directory, "headers.json"), encoding="utf-8") as f:
        meta = json.load(f)
    with open(os.path.join(directory, "body.json"), "rb") as f:
        body = f.read().decode("utf-8")
    with open(os.path.join(directory, "wallet_public_key.pem"), encoding="ascii") as f:
        pem = f.read()
    # The SDK wants the bare base64 of the SubjectPublicKeyInfo (it adds the PEM lines itself).
    key = "".join(line.strip() for line in pem.splitlines() if line and not line.startswith("-----"))
    headers = {k.lower(): v for k, v in meta["headers"].items()}
    return meta.get("method", "POST"), meta["target"], headers, body, key


def sdk_accepts(method, target, client_id, request_time, body, signature, key):
    """True if the SDK's webhook verifier accepts; any exception counts as a rejection."""
    from com.alipay.ams.api.tools.webhook_tool import check_signature

    try:
        return bool(check_signature(method, target, client_id, request_time, body, signature, key))
    except Exception as e:  # rsa.VerificationError, AlipayApiException, ...
        print(f"  (rejected: {type(e).__name__}: {e})")
        return False


def main(argv):
    if len(argv) != 2:
        print(__doc__)
        return 2
    try:
        import com.alipay.ams.api.tools.webhook_tool  # noqa: F401
    except ImportError as e:
        print(f"FAIL setup: the official SDK is not importable ({e}); pip install global-open-sdk-python")
        print("0 passed, 1 failed")
        return 1
    method, target, h, body, key = load(argv[1])
    missing = [n for n in ("client-id", "request-time", "signature") if n not in h]
    if missing:
        print(f"FAIL setup: headers missing: {missing}")
        print("0 passed, 1 failed")
        return 1
    cid, rtime, sig = h["client-id"], h["request-time"], h["signature"]
    cases = [
        ("the notification verifies with the official SDK", True, (method, target, cid, rtime, body, sig, key)),
        ("a changed body is rejected", False, (method, target, cid, rtime, body.replace('"', "'", 1), sig, key)),
        ("a changed request-time is rejected", False, (method, target, cid, rtime + "0", body, sig, key)),
        ("another path is rejected", False, (method, target + "x", cid, rtime, body, sig, key)),
    ]
    passed = failed = 0
    for name, expected, args in cases:
        if sdk_accepts(*args) == expected:
            passed += 1
            print(f"PASS {name}")
        else:
            failed += 1
            print(f"FAIL {name}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
