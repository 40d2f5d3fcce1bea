"""The local stack's AWS front: a mitmproxy addon (run by `mitmdump` in reverse-proxy mode, see
scripts/lib.sh) that every local AWS call goes through. It does two things:

Routing. DynamoDB and DynamoDB Streams calls (an `X-Amz-Target` of `DynamoDB_…` or
`DynamoDBStreams_…`, or a SigV4 credential scope for `dynamodb`) go to DynamoDB Local
(`--set keygate_dynamodb=PORT`); everything else goes where the listener's reverse mode points:
moto, which serves only what AWS has no local emulator of (SES v2, Secrets Manager, EventBridge).

Fault hooks, for the fault tests (tests/tests/faults.rs): AWS faults the services cannot produce
on demand, the same for every service behind the front. `POST /_keygate/faults` with
    {"match": {"target": "DynamoDB_20120810.TransactWriteItems", "method": "POST",
               "path_prefix": "/v2/email/outbound-emails", "body_contains": "p01j..."},
     "times": 2, "status": 400, "code": "ProvisionedThroughputExceededException",
     "message": "...", "fields": {"CancellationReasons": [...]}, "delay_ms": 0}
makes the next `times` (default 1) requests on that listener that match every given `match` key
fail as the service would: awsJson targets (DynamoDB, Secrets Manager) get
`{"__type": code, "message": ...}`, REST-JSON calls (SES v2) `{"message": ...}`, both with
`x-amzn-ErrorType: code`; `fields` adds body members (a transaction's `CancellationReasons`).
`delay_ms` holds the request first (a call that hangs); without a `code` it then goes on to the
service unharmed. `"after": true` (with a `code`) lets the request reach the service and then
replaces the service's answer with the fault: the write landed, its answer was lost (what a
retry must not count twice). The answer is the fault with its `id`; `GET /_keygate/faults[/id]` shows
`remaining` and `injected` counts, `DELETE /_keygate/faults/id` removes one (answering its final
counts), `DELETE /_keygate/faults` all (of that listener). Tests match narrowly (their own ids in `body_contains`),
so tests running beside them are not hit.

Latency: `GET /_keygate/latency` answers, per listener, back end (`dynamodb-local` or `moto`) and
call (`X-Amz-Target`, else method and first path segment), how many calls the back end answered
and their p50, p99 and slowest time in ms, as seen by the front (faults excluded): what the local
call deadlines are set from, and the proof that no DynamoDB call reached moto.
"""

import asyncio
import collections
import itertools
import json
import re
import time
import uuid

from mitmproxy import http

FAULTS = "/_keygate/faults"
LATENCY = "/_keygate/latency"
MATCH_KEYS = {"target", "method", "path_prefix", "body_contains"}
DYNAMODB_TARGETS = ("DynamoDB_", "DynamoDBStreams_")
SCOPE = re.compile(r"Credential=[^/,]*/[^/,]*/[^/,]*/([^/,]*)/")


def _listener(flow):
    return flow.client_conn.sockname[1]


def _is_dynamodb(request):
    if request.headers.get("x-amz-target", "").startswith(DYNAMODB_TARGETS):
        return True
    scope = SCOPE.search(request.headers.get("authorization", ""))
    return scope is not None and scope.group(1) in ("dynamodb", "streams.dynamodb")


def _json(status, value):
    return http.Response.make(
        status, json.dumps(value).encode(), {"Content-Type": "application/json"}
    )


def _new_fault(spec, ids, listener):
    if not isinstance(spec, dict) or not isinstance(spec.get("match"), dict):
        raise ValueError("a fault needs a `match` object")
    match = spec["match"]
    unknown = set(match) - MATCH_KEYS
    if unknown or not match or not all(isinstance(v, str) for v in match.values()):
        raise ValueError(f"`match` takes strings for some of {sorted(MATCH_KEYS)}")
    times = spec.get("times", 1)
    status = spec.get("status", 400)
    delay = spec.get("delay_ms", 0)
    fields = spec.get("fields", {})
    code = spec.get("code")
    after = spec.get("after", False)
    if not isinstance(after, bool) or (after and code is None):
        raise ValueError("`after` is true or false, and an `after` fault needs a `code`")
    if not (isinstance(times, int) and times >= 1 and isinstance(status, int)):
        raise ValueError("`times` is a whole number >= 1, `status` a number")
    if not (isinstance(delay, int) and delay >= 0 and isinstance(fields, dict)):
        raise ValueError("`delay_ms` is a whole number >= 0, `fields` an object")
    if code is None and not delay:
        raise ValueError("a fault needs a `code` (an error) or a `delay_ms` (a hang), or both")
    return {
        "id": str(next(ids)),
        "match": match,
        "remaining": times,
        "injected": 0,
        "status": status,
        "code": code,
        "message": spec.get("message", f"injected fault: {code}"),
        "fields": fields,
        "delay_ms": delay,
        "after": after,
        "listener": listener,
    }


def _failing(fault, request):
    code = fault["code"]
    target = request.headers.get("x-amz-target", "")
    if target:
        # awsJson 1.0 (DynamoDB) / 1.1 (Secrets Manager): the code is the body's `__type`.
        version = "1.0" if target.startswith(DYNAMODB_TARGETS) else "1.1"
        content_type = f"application/x-amz-json-{version}"
        body = {"__type": code, "message": fault["message"], **fault["fields"]}
    else:
        # restJson1 (SES v2): the code travels in the header.
        content_type = "application/json"
        body = {"message": fault["message"], **fault["fields"]}
    return http.Response.make(
        fault["status"],
        json.dumps(body).encode(),
        {
            "Content-Type": content_type,
            "x-amzn-ErrorType": code,
            "x-amzn-RequestId": str(uuid.uuid4()),
        },
    )


class Front:
    def __init__(self):
        self.faults = {}  # id -> fault, in the order they were added
        self.ids = itertools.count(1)
        self.latency = collections.defaultdict(list)  # (listener, back end, call) -> [ms]

    def load(self, loader):
        loader.add_option("keygate_dynamodb", int, 0, "DynamoDB Local's port on 127.0.0.1")

    def control(self, flow):
        """`/_keygate/faults[/id]`: add (POST), read (GET) and remove (DELETE) faults."""
        method = flow.request.method
        rest = flow.request.path.split("?")[0][len(FAULTS):].strip("/")
        if method == "POST" and not rest:
            try:
                spec = json.loads(flow.request.get_text(strict=False) or "null")
                fault = _new_fault(spec, self.ids, _listener(flow))
            except ValueError as e:  # json.JSONDecodeError is one
                return _json(400, {"error": str(e)})
            self.faults[fault["id"]] = fault
            return _json(201, fault)
        here = _listener(flow)
        if not rest and method in ("GET", "DELETE"):
            listed = [f for f in self.faults.values() if f["listener"] == here]
            if method == "DELETE":
                for f in listed:
                    del self.faults[f["id"]]
            return _json(200, {"faults": listed, "injected": sum(f["injected"] for f in listed)})
        if rest in self.faults and method in ("GET", "DELETE"):
            fault = self.faults.pop(rest) if method == "DELETE" else self.faults[rest]
            return _json(200, fault)
        return _json(404, {"error": f"no fault {rest!r}"})

    def take(self, flow):
        """The first fault with injections left that this request matches (counted), else None."""
        live = [f for f in self.faults.values() if f["remaining"] > 0]
        if not live:
            return None
        request = flow.request
        body = request.get_text(strict=False) or ""
        target = request.headers.get("x-amz-target", "")
        listener = _listener(flow)
        for fault in live:
            m = fault["match"]
            if (
                fault["listener"] == listener
                and m.get("target", target) == target
                and m.get("method", request.method) == request.method
                and request.path.startswith(m.get("path_prefix", ""))
                and m.get("body_contains", "") in body
            ):
                fault["remaining"] -= 1
                fault["injected"] += 1
                return dict(fault)
        return None

    def latencies(self):
        out = {}
        for (listener, backend, call), ms in sorted(self.latency.items()):
            ms = sorted(ms)
            at = lambda q: round(ms[min(len(ms) - 1, int(q * len(ms)))], 1)  # noqa: E731
            out.setdefault(str(listener), {}).setdefault(backend, {})[call] = {
                "n": len(ms), "p50": at(0.5), "p99": at(0.99), "max": round(ms[-1], 1)
            }
        return out

    def response(self, flow):
        after = flow.metadata.pop("keygate_after", None)
        if after is not None:
            # The service has answered (and done what was asked): the caller gets the fault.
            flow.response = _failing(after, flow.request)
        started = flow.metadata.get("keygate_started")
        if started is not None:
            request = flow.request
            call = request.headers.get("x-amz-target") or (
                request.method + " /" + request.path.split("?")[0].strip("/").split("/")[0]
            )
            ms = (time.monotonic() - started) * 1000
            backend = flow.metadata.get("keygate_backend", "moto")
            self.latency[(_listener(flow), backend, call)].append(ms)

    async def request(self, flow):
        path = flow.request.path
        if path.split("?")[0] == LATENCY:
            flow.response = _json(200, self.latencies())
            return
        if path == FAULTS or path.startswith(FAULTS + "/") or path.startswith(FAULTS + "?"):
            flow.response = self.control(flow)
            return
        from mitmproxy import ctx

        if ctx.options.keygate_dynamodb and _is_dynamodb(flow.request):
            flow.request.host = "127.0.0.1"
            flow.request.port = ctx.options.keygate_dynamodb
            flow.metadata["keygate_backend"] = "dynamodb-local"
        fault = self.take(flow)
        if fault is None:
            flow.metadata["keygate_started"] = time.monotonic()
            return
        if fault["delay_ms"]:
            await asyncio.sleep(fault["delay_ms"] / 1000)
        if fault["after"]:
            flow.metadata["keygate_after"] = fault
            flow.metadata["keygate_started"] = time.monotonic()
        elif fault["code"] is not None:
            flow.response = _failing(fault, flow.request)


addons = [Front()]
