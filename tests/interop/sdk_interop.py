#!/usr/bin/env python3
"""Interoperability test: the official Alipay+/Antom Python SDK against walletd.

The SDK (`global-open-sdk-python`, import path `com.alipay.ams.api`) is used
unmodified: its own client class signs every request and verifies every
response. The only thing replaced is the connection factory of its transport
module, so that it opens plain HTTP to a loopback port instead of TLS to 443.

Normally started by run.sh, which prepares the keys and the server.
Prints one `PASS name` / `FAIL name: reason` line per case and a final
`N passed, M failed` line; exits non-zero if any case failed.
"""

import argparse
import http.client
import http.server
import json
import re
import sys
import threading
import types
import urllib.parse
import uuid

import rsa.pkcs1
from com.alipay.ams.api.default_alipay_client import DefaultAlipayClient
from com.alipay.ams.api.exception.exception import AlipayApiException
from com.alipay.ams.api.net import default_http_rpc
from com.alipay.ams.api.request.alipay_request import AlipayRequest
from com.alipay.ams.api.request.pay.alipay_pay_query_request import (
    AlipayPayQueryRequest,
)

INQUIRY_PATH = "/api/v1/payments/inquiryPayment"
PAY_V2_PATH = "/api/v2/payments/pay"
INQUIRY_V2_PATH = "/api/v2/payments/inquiryPayment"

# Result codes meaning the server did not accept the SDK's credentials.
AUTH_REJECTION_CODES = {"INVALID_SIGNATURE", "INVALID_CLIENT", "CLIENT_INVALID", "KEY_NOT_FOUND"}

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
}


# --------------------------------------------------------------------------
# The replaced connection factory
# --------------------------------------------------------------------------
class Route(object):
    """Where the patched connection factory really connects to."""

    port = None  # set by main(): walletd's port, or a proxy's port


class Wire(object):
    """What the last SDK exchange looked like (diagnostics only)."""

    request_target = None
    response_status = None
    response_headers = None


class PlainHTTPConnection(http.client.HTTPConnection):
    """Stands in for http.client.HTTPSConnection in the SDK's transport.

    The SDK calls HTTPSConnection(host=<url host>, port=443, timeout=..,
    context=<ssl context>). We keep the host, ignore the TLS context and
    connect in clear text to Route.port on that host.
    """

    def __init__(self, host, port=None, timeout=None, context=None, **_ignored):
        if timeout is None:
            super(PlainHTTPConnection, self).__init__(host, Route.port)
        else:
            super(PlainHTTPConnection, self).__init__(host, Route.port, timeout=timeout)

    def putrequest(self, method, url, *args, **kwargs):
        Wire.request_target = url
        return super(PlainHTTPConnection, self).putrequest(method, url, *args, **kwargs)

    def getresponse(self):
        response = super(PlainHTTPConnection, self).getresponse()
        Wire.response_status = response.status
        Wire.response_headers = response.getheaders()
        return response


def install_plain_http_transport():
    """Swap the `http_client` module seen by the SDK's transport module for a
    copy of http.client whose HTTPSConnection is PlainHTTPConnection. Nothing
    else in the SDK (signing, verifying, header handling) is touched."""
    shim = types.ModuleType("http_client_plain_for_interop")
    shim.__dict__.update(http.client.__dict__)
    shim.HTTPSConnection = PlainHTTPConnection
    default_http_rpc.http_client = shim


# --------------------------------------------------------------------------
# A tiny forwarding proxy that can tamper with traffic
# --------------------------------------------------------------------------
def flip_signature_char(header_value):
    """Flip one base64 character inside the `signature=` item of a
    `algorithm=..,keyVersion=..,signature=<urlencoded b64>` header value."""
    head, sep, encoded = header_value.rpartition("signature=")
    if not sep:
        raise ValueError("no signature= in header %r" % header_value)
    b64 = urllib.parse.unquote(encoded)
    stripped = b64.rstrip("=")
    if len(stripped) < 8:
        raise ValueError("signature too short to tamper with: %r" % encoded)
    i = len(stripped) // 2
    replacement = "A" if b64[i] != "A" else "B"
    tampered = b64[:i] + replacement + b64[i + 1:]
    return head + sep + urllib.parse.quote(tampered, safe="")


def flip_body_byte(body):
    """Change exactly one byte of a JSON body (case of an ASCII letter),
    keeping it valid UTF-8 and valid JSON. Prefers a letter inside the
    resultMessage or paymentRequestId value, so that only the text changes."""
    for pattern in (rb'"resultMessage"\s*:\s*"[^"]*?([A-Za-z])',
                    rb'"paymentRequestId"\s*:\s*"[^"]*?([A-Za-z])',
                    rb'"[^"]*?([A-Za-z])'):
        match = re.search(pattern, body)
        if match:
            pos = match.start(1)
            return body[:pos] + bytes([body[pos] ^ 0x20]) + body[pos + 1:]
    raise ValueError("no ASCII letter to flip in body %r" % body[:200])


class TamperingProxy(object):
    """Forwards every request verbatim (absolute-form target included) to
    walletd and optionally corrupts the request body, the response signature
    header or the response body on the way."""

    def __init__(self, upstream_host, upstream_port, mode):
        assert mode in ("none", "response-signature", "response-body", "request-body")
        self.upstream = (upstream_host, upstream_port)
        self.mode = mode
        self.forwarded = 0
        self.tampered = 0
        self.errors = []
        self.upstream_status = None
        self.upstream_headers = None
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                try:
                    proxy._handle(self)
                except Exception as exc:  # reported by the case, not here
                    proxy.errors.append(repr(exc))
                    try:
                        self.send_error(502, "proxy error")
                    except Exception:
                        pass
                self.close_connection = True

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
        return False

    def _handle(self, handler):
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        if self.mode == "request-body":
            body = flip_body_byte(body)
            self.tampered += 1

        upstream = http.client.HTTPConnection(self.upstream[0], self.upstream[1], timeout=15)
        try:
            # handler.path is the request target exactly as the SDK sent it.
            upstream.putrequest(
                handler.command, handler.path, skip_host=True, skip_accept_encoding=True
            )
            for name, value in handler.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    upstream.putheader(name, value)
            upstream.putheader("Content-Length", str(len(body)))
            upstream.putheader("Connection", "close")
            upstream.endheaders(body)
            response = upstream.getresponse()
            rsp_body = response.read()
            rsp_headers = response.getheaders()
            status, reason = response.status, response.reason
        finally:
            upstream.close()
        self.forwarded += 1
        self.upstream_status = status
        self.upstream_headers = rsp_headers

        out_headers = []
        for name, value in rsp_headers:
            if name.lower() in HOP_BY_HOP:
                continue
            if self.mode == "response-signature" and name.lower() == "signature":
                value = flip_signature_char(value)
                self.tampered += 1
            out_headers.append((name, value))
        if self.mode == "response-body":
            rsp_body = flip_body_byte(rsp_body)
            self.tampered += 1

        handler.send_response_only(status, reason)
        for name, value in out_headers:  # names keep walletd's (lower) case
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(rsp_body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(rsp_body)
        handler.wfile.flush()


# --------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------
class MiniProgramRequest(AlipayRequest):
    """The SDK's generic request mechanism: an AlipayRequest with our own
    path and JSON body (the SDK still signs and verifies)."""

    def __init__(self, path, body):
        super(MiniProgramRequest, self).__init__(path)
        self.__body = body

    def to_ams_json(self):
        return json.dumps(self.__body, separators=(",", ":"))


def inquiry_query_request():
    """The SDK's own inquiryPayment request class, pointed at our path."""
    request = AlipayPayQueryRequest()
    request.path = INQUIRY_PATH
    request.payment_request_id = "interop-" + uuid.uuid4().hex
    return request


def inquiry_v1_request(client_id):
    return MiniProgramRequest(
        INQUIRY_PATH,
        {"partnerId": client_id, "paymentRequestId": "interop-" + uuid.uuid4().hex},
    )


def cashier_pay_v2_request(request_id):
    """A v2 cashier payment of 1.00 USD (the merchant registered no appIds, so any is taken)."""
    return MiniProgramRequest(
        PAY_V2_PATH,
        {
            "appId": "interop-app",
            "productCode": "CASHIER_PAYMENT",
            "paymentRequestId": request_id,
            "paymentAmount": {"currency": "USD", "value": "100"},
            "order": {"referenceOrderId": request_id, "orderDescription": "Interop tea"},
            "paymentRedirectUrl": "https://merchant.example/return",
        },
    )


def inquiry_v2_request(request_id):
    return MiniProgramRequest(INQUIRY_V2_PATH, {"paymentRequestId": request_id})


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------
class CaseFailure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CaseFailure(message)


def header(headers, name):
    for key, value in headers or []:
        if key == name:
            return value
    return None


def parse_result(rsp_body):
    try:
        parsed = json.loads(rsp_body)
    except ValueError as exc:
        raise CaseFailure("response body is not JSON (%s): %r" % (exc, rsp_body[:200]))
    check(isinstance(parsed, dict), "response body is not a JSON object: %r" % rsp_body[:200])
    result = parsed.get("result")
    check(isinstance(result, dict), "response has no result object: %r" % rsp_body[:200])
    check("resultStatus" in result and "resultCode" in result,
          "result lacks resultStatus/resultCode: %r" % result)
    return result


def execute_verified(client, request):
    """Run the SDK; any SDK exception (incl. a failed signature check) fails the case."""
    try:
        return client.execute(request)
    except AlipayApiException as exc:
        raise CaseFailure("SDK raised %s: %s%s" % (type(exc).__name__, exc, wire_note()))


def is_signature_mismatch(exc):
    """True if the SDK refused because the RSA check failed (not because of a
    malformed key, header or base64): either its verify() returned False, or
    it wrapped the rsa library's VerificationError."""
    if "signature verify failed" in str(exc):
        return True
    cause = exc.__cause__ or exc.__context__
    return isinstance(cause, rsa.pkcs1.VerificationError)


def expect_sdk_rejects(client, request, proxy):
    try:
        rsp_body = client.execute(request)
    except AlipayApiException as exc:
        message = str(exc)
        check(not proxy.errors, "proxy error: %s" % proxy.errors)
        check(proxy.forwarded == 1 and proxy.tampered == 1,
              "proxy forwarded %d, tampered %d (expected 1/1)" % (proxy.forwarded, proxy.tampered))
        check(is_signature_mismatch(exc),
              "SDK raised, but not for a signature mismatch: %s%s" % (message, wire_note()))
        return message
    raise CaseFailure("SDK accepted a tampered response: %r" % rsp_body[:200])


def wire_note():
    headers = [(k, v if len(v) <= 48 else v[:45] + "...") for k, v in Wire.response_headers or []]
    return " [wire: target=%r status=%r headers=%r]" % (
        Wire.request_target, Wire.response_status, headers)


def check_positive(rsp_body, client_id):
    result = parse_result(rsp_body)
    check(Wire.request_target and Wire.request_target.startswith("http://"),
          "SDK did not use absolute-form request target: %r" % Wire.request_target)
    check(header(Wire.response_headers, "signature"),
          "response had no lower-case signature header%s" % wire_note())
    check(header(Wire.response_headers, "client-id") == client_id,
          "response client-id %r != %r" % (header(Wire.response_headers, "client-id"), client_id))
    check(result["resultCode"] not in AUTH_REJECTION_CODES,
          "server rejected the SDK's credentials: %r" % result)
    return result


def run_cases(args):
    merchant_key = read_key(args.merchant_key)
    rogue_key = read_key(args.rogue_key)
    wallet_key = read_key(args.wallet_public_key)
    base = urllib.parse.urlsplit(args.base_url)
    check(base.scheme == "http" and base.hostname and base.port, "bad --base-url %r" % args.base_url)
    gateway = "%s://%s" % (base.scheme, base.netloc)
    walletd_port = base.port

    client = DefaultAlipayClient(gateway, args.client_id, merchant_key, wallet_key)
    rogue = DefaultAlipayClient(gateway, args.client_id, rogue_key, wallet_key)

    def direct():
        Route.port = walletd_port

    control = {"passed": False}

    def require_control():
        # A refusal only proves something if the same answer, untampered,
        # passes the SDK's check through the same proxy.
        check(control["passed"], "precondition failed: sdk_via_transparent_proxy did not pass")

    def sdk_inquiry_payment_query_request():
        direct()
        rsp = execute_verified(client, inquiry_query_request())
        result = check_positive(rsp, args.client_id)
        return "%s/%s" % (result["resultStatus"], result["resultCode"])

    def sdk_inquiry_payment_generic_request():
        direct()
        rsp = execute_verified(client, inquiry_v1_request(args.client_id))
        result = check_positive(rsp, args.client_id)
        return "%s/%s" % (result["resultStatus"], result["resultCode"])

    def sdk_via_transparent_proxy():
        with TamperingProxy(base.hostname, walletd_port, "none") as proxy:
            Route.port = proxy.port
            rsp = execute_verified(client, inquiry_query_request())
        check(not proxy.errors, "proxy error: %s" % proxy.errors)
        check(proxy.forwarded == 1, "proxy forwarded %d requests" % proxy.forwarded)
        result = check_positive(rsp, args.client_id)
        control["passed"] = True
        return "%s/%s" % (result["resultStatus"], result["resultCode"])

    def sdk_rejects_tampered_response_signature():
        require_control()
        with TamperingProxy(base.hostname, walletd_port, "response-signature") as proxy:
            Route.port = proxy.port
            message = expect_sdk_rejects(client, inquiry_query_request(), proxy)
        return message

    def sdk_rejects_tampered_response_body():
        require_control()
        with TamperingProxy(base.hostname, walletd_port, "response-body") as proxy:
            Route.port = proxy.port
            message = expect_sdk_rejects(client, inquiry_query_request(), proxy)
        return message

    def server_rejects_wrong_private_key():
        direct()
        rsp = execute_verified(rogue, inquiry_query_request())
        result = parse_result(rsp)
        check(result["resultCode"] == "INVALID_SIGNATURE" and result["resultStatus"] == "F",
              "expected F/INVALID_SIGNATURE, got %r" % result)
        return "F/INVALID_SIGNATURE, answer verified by the SDK"

    def server_rejects_tampered_request_body():
        with TamperingProxy(base.hostname, walletd_port, "request-body") as proxy:
            Route.port = proxy.port
            rsp = execute_verified(client, inquiry_v1_request(args.client_id))
        check(not proxy.errors, "proxy error: %s" % proxy.errors)
        check(proxy.tampered == 1, "proxy did not tamper")
        result = parse_result(rsp)
        check(result["resultCode"] == "INVALID_SIGNATURE" and result["resultStatus"] == "F",
              "expected F/INVALID_SIGNATURE, got %r" % result)
        return "F/INVALID_SIGNATURE, answer verified by the SDK"

    # ---- an ISV acting for the merchant with the SDK's agent_token ----
    isv_key = read_key(args.isv_key)

    def isv(token_file):
        # The SDK's own agent_token argument: it adds an `Agent-Token` header to every request
        # (only when non-empty) and verifies answers for the client-id the answer echoes.
        token = read_key(token_file) if token_file else None
        return DefaultAlipayClient(gateway, args.isv_client_id, isv_key, wallet_key, agent_token=token)

    def expect_code(rsp, status, code):
        result = check_positive(rsp, args.isv_client_id)
        check(result["resultStatus"] == status and result["resultCode"] == code,
              "expected %s/%s, got %r" % (status, code, result))
        return "%s/%s, answer verified by the SDK" % (status, code)

    def sdk_agent_token_acts_for_the_merchant():
        direct()
        request_id = "interop-agent-" + uuid.uuid4().hex
        rsp = execute_verified(isv(args.agent_token), cashier_pay_v2_request(request_id))
        result = check_positive(rsp, args.isv_client_id)
        check(result["resultCode"] == "ACCEPT", "ISV pay for the merchant: %r" % result)
        payment_id = json.loads(rsp).get("paymentId")
        check(payment_id, "no paymentId in %r" % rsp[:200])
        # The payment is the merchant's: the merchant finds it by its own paymentRequestId ...
        mine = execute_verified(client, inquiry_v2_request(request_id))
        check(parse_result(mine)["resultCode"] == "SUCCESS" and json.loads(mine).get("paymentId") == payment_id,
              "the merchant does not see the ISV's payment: %r" % mine[:300])
        # ... and the ISV without a token (acting for itself) does not.
        own = execute_verified(isv(None), inquiry_v2_request(request_id))
        check(parse_result(own)["resultCode"] == "ORDER_NOT_EXIST",
              "the ISV without a token reached the merchant's payment: %r" % own[:300])
        return "ACCEPT for the merchant, paymentId %s; answers verified by the SDK" % payment_id

    def sdk_revoked_agent_token_is_invalid():
        direct()
        rsp = execute_verified(isv(args.revoked_agent_token), inquiry_v2_request("interop-" + uuid.uuid4().hex))
        return expect_code(rsp, "F", "INVALID_AGENT_TOKEN")

    def sdk_expired_agent_token_is_expired():
        direct()
        rsp = execute_verified(isv(args.expired_agent_token), inquiry_v2_request("interop-" + uuid.uuid4().hex))
        return expect_code(rsp, "F", "EXPIRED_AGENT_TOKEN")

    def sdk_agent_token_outside_its_scope_is_access_denied():
        direct()
        rsp = execute_verified(isv(args.inquiry_agent_token), cashier_pay_v2_request("interop-" + uuid.uuid4().hex))
        return expect_code(rsp, "F", "ACCESS_DENIED")

    cases = [
        sdk_inquiry_payment_query_request,
        sdk_inquiry_payment_generic_request,
        sdk_via_transparent_proxy,
        sdk_rejects_tampered_response_signature,
        sdk_rejects_tampered_response_body,
        server_rejects_wrong_private_key,
        server_rejects_tampered_request_body,
        sdk_agent_token_acts_for_the_merchant,
        sdk_revoked_agent_token_is_invalid,
        sdk_expired_agent_token_is_expired,
        sdk_agent_token_outside_its_scope_is_access_denied,
    ]
    passed = failed = 0
    for case in cases:
        Wire.request_target = Wire.response_status = Wire.response_headers = None
        try:
            note = case()
        except CaseFailure as exc:
            failed += 1
            print("FAIL %s: %s" % (case.__name__, exc), flush=True)
        except Exception as exc:
            failed += 1
            print("FAIL %s: unexpected %s: %s%s" % (case.__name__, type(exc).__name__, exc,
                                                    wire_note()), flush=True)
        else:
            passed += 1
            print("PASS %s (%s)" % (case.__name__, note), flush=True)
    return passed, failed


def read_key(path):
    with open(path) as handle:
        text = handle.read().strip()
    if not text:
        raise CaseFailure("key file %s is empty" % path)
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="http://127.0.0.1:PORT of walletd")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--merchant-key", required=True,
                        help="file with the registered merchant private key text for the SDK")
    parser.add_argument("--rogue-key", required=True,
                        help="file with an unregistered private key text (negative case)")
    parser.add_argument("--wallet-public-key", required=True,
                        help="file with the wallet public key text for the SDK")
    parser.add_argument("--isv-client-id", required=True, help="the ISV's registered client id")
    parser.add_argument("--isv-key", required=True, help="file with the ISV's private key text for the SDK")
    parser.add_argument("--agent-token", required=True,
                        help="file with a live agent token of the ISV for the merchant (default scope)")
    parser.add_argument("--revoked-agent-token", required=True, help="file with a revoked agent token")
    parser.add_argument("--inquiry-agent-token", required=True,
                        help="file with an agent token whose scope is inquiryPayment only")
    parser.add_argument("--expired-agent-token", required=True, help="file with an expired agent token")
    args = parser.parse_args()

    install_plain_http_transport()
    try:
        passed, failed = run_cases(args)
    except CaseFailure as exc:
        print("FAIL setup: %s" % exc, flush=True)
        passed, failed = 0, 1
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
