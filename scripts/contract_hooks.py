"""Schemathesis hooks for the contract test: NDJSON request bodies (`POST /v1/transactions/bulk`), and coupon code generation held to small counts.

The contract declares the body as a string of NDJSON text. Text goes on the wire as UTF-8. A
generated value that is not text (a negative case: a number, an array, an object…) has no NDJSON
form, so it is sent as an empty body, which the server refuses (400 `validation_failed`).
"""
import schemathesis


@schemathesis.serializer("application/x-ndjson", "application/jsonl")
def ndjson(ctx, value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return b""


# Generating a unique campaign's codes is a bulk job: a drawn `count` near the maximum (1,000,000)
# takes ~20 s in a debug build, past the fuzzer's 10 s read timeout. The contract is what is under
# test here, not the job's speed (`omnia bench --scenario coupons.generate` measures that), so a
# valid count is held to 1,000; invalid values are sent as drawn.
CODES_PATH = "/v1/coupon_campaigns/{id}/codes"
CODES_CAP = 1_000


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if case.operation.path != CODES_PATH or case.method.upper() != "POST":
        return
    body = case.body
    # An integral float (1000000.0) is a count too: JSON decoders read it as the integer.
    count = body.get("count") if isinstance(body, dict) else None
    if isinstance(count, (int, float)) and not isinstance(count, bool) and float(count).is_integer() and count > CODES_CAP:
        body["count"] = CODES_CAP
