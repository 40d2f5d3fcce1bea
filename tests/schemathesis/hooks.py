"""Schemathesis hooks for keygate (SCHEMATHESIS_HOOKS=tests/schemathesis/hooks.py).

`errors_are_problems`: every 4xx and 5xx answer of the API is an RFC 9457 problem: content type
`application/problem+json`, a JSON object whose `type` is `urn:keygate:problem:<kind>` and whose
`status` is the response's status, with a `title` and a `detail`.

`filter_failure`: drops the failures of one answer that is the local emulator's, not keygate's:
`cargo lambda watch` answers a JSON-typed body that is not UTF-8 (schemathesis's "random bytes")
with a 500 of its own, without invoking the function. Given such a body in an event (base64-
encoded, `isBase64Encoded: true`, as an event carries bytes), the function answers a 400
problem: checked by sending that event to it through `cargo lambda`'s invoke API.
"""

import json

import schemathesis

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE = "urn:keygate:problem:"
# The body of `cargo lambda watch`'s own 500.
EMULATOR_500 = b'{"type":"https://httpstatuses.com/500","status":500,"title":"Internal Server Error"}'


def _not_utf8(body):
    if not isinstance(body, (bytes, bytearray)):
        return False
    try:
        bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    emulator_refused_the_body = (
        response.status_code == 500
        and response.content == EMULATOR_500
        and _not_utf8(response.request.body)
    )
    return not emulator_refused_the_body


@schemathesis.check
def errors_are_problems(ctx, response, case):
    if response.status_code < 400:
        return None
    content_type = ",".join(response.headers.get("content-type", []))
    essence = content_type.split(";")[0].strip().lower()
    if essence != PROBLEM_JSON:
        raise AssertionError(
            f"{response.status_code} answered as {content_type or 'no content type'}, "
            f"not {PROBLEM_JSON}"
        )
    try:
        body = json.loads(response.content)
    except ValueError as e:
        raise AssertionError(f"{response.status_code}: the problem is not JSON: {e}") from None
    if not isinstance(body, dict):
        raise AssertionError(f"{response.status_code}: the problem is not a JSON object")
    kind = body.get("type")
    if not isinstance(kind, str) or not kind.startswith(PROBLEM_TYPE):
        raise AssertionError(f"{response.status_code}: problem type {kind!r} is not {PROBLEM_TYPE}...")
    if body.get("status") != response.status_code:
        raise AssertionError(
            f"{response.status_code}: the problem says status {body.get('status')!r}"
        )
    for field in ("title", "detail"):
        if not isinstance(body.get(field), str):
            raise AssertionError(f"{response.status_code}: the problem has no {field}")
    return None
