"""Schemathesis hooks for the contract test: NDJSON request bodies (`POST /v1/transactions/bulk`).

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
