"""moto's server with DynamoDB writes taken one at a time, a bounded memory of stream
iterators, and fault hooks for the fault tests (used by scripts/lib.sh).

moto undoes a cancelled TransactWriteItems by putting back a copy of the table taken when the
transaction began. On moto's threaded server, every write that other requests made in between is
lost with it (tests saw projects and roles vanish). A lock around DynamoDB's writing calls keeps
any write from landing inside another one; reads, Streams and the other services stay concurrent.

moto also copies the whole table, its stream's every record included, at the start of each
transaction (to put it back if the transaction is cancelled), and keeps every shard iterator it
ever handed out, each holding the stream of the table copy it was taken on. With two stream pumps
polling, a long `make dev` grew the emulator past 20 GiB and every transaction got slower as the
stream grew. Here a table copy shares its stream's record list instead of copying it (a
cancelled transaction's records are cut off that list again), and only the latest shard
iterators are kept (a pump uses each at once). Above all, moto registers every model object it
ever creates (for `/moto-api/data.json`), so each transaction's table copy, item by item, stayed
in memory for good (200 transactions on a 2000-item table: 1 GiB); DynamoDB's objects are not
registered here (the stack reads mail back from the SES-only emulator, which keeps its registry).
Transactions no longer copy tables at all: with writes serialized, all conditions are checked
before any write is applied, and a write that fails while applying is undone item by item (the
copy made each transaction cost the whole table: `make test` slowed down test by test).

Fault hooks, for the fault tests (tests/tests/faults.rs): AWS faults moto cannot produce on
demand. `POST /_keygate/faults` with
    {"match": {"target": "DynamoDB_20120810.TransactWriteItems", "method": "POST",
               "path_prefix": "/v2/email/outbound-emails", "body_contains": "p01j..."},
     "times": 2, "status": 400, "code": "ProvisionedThroughputExceededException",
     "message": "...", "fields": {"CancellationReasons": [...]}, "delay_ms": 0}
makes the next `times` (default 1) requests that match every given `match` key fail as the
service would: awsJson targets (DynamoDB, Secrets Manager) get `{"__type": code, "message": ...}`,
REST-JSON calls (SES v2) `{"message": ...}`, both with `x-amzn-ErrorType: code`; `fields` adds
body members (a transaction's `CancellationReasons`). `delay_ms` holds the request first (a call
that hangs); without a `code` it then goes on to moto unharmed. The answer is the fault with its
`id`; `GET /_keygate/faults[/id]` shows `remaining` and `injected` counts, `DELETE
/_keygate/faults/id` removes one (answering its final counts), `DELETE /_keygate/faults` all.
Tests match narrowly (their own ids in `body_contains`), so tests running beside them are not hit.
"""

import copy
import io
import itertools
import json
import sys
import threading
import time
import uuid

import moto.server as server
from moto.core.common_models import BaseModel
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import StreamShard
from moto.dynamodbstreams import models as streams

_dynamodb = threading.Lock()
_run_simple = server.run_simple


_READS = ("Get", "Query", "Scan", "Describe", "List", "BatchGet", "TransactGet")


def _writes(environ):
    service, _, operation = environ.get("HTTP_X_AMZ_TARGET", "").partition(".")
    return service.startswith("DynamoDB_") and not operation.startswith(_READS)


def _one_dynamodb_write_at_a_time(app):
    def serve(environ, start_response):
        if _writes(environ):
            with _dynamodb:
                # The whole response is produced under the lock.
                return list(app(environ, start_response))
        return app(environ, start_response)

    return serve


_tracked_new = BaseModel.__new__


def _new_untracked_for_dynamodb(cls, *args, **kwargs):
    if cls.__module__.startswith(("moto.dynamodb.", "moto.dynamodbstreams.")):
        return object.__new__(cls)
    return _tracked_new(cls, *args, **kwargs)


BaseModel.__new__ = _new_untracked_for_dynamodb

_MAX_ITERATORS = 8
_get_shard_iterator = streams.DynamoDBStreamsBackend.get_shard_iterator


def _bounded_get_shard_iterator(self, *args, **kwargs):
    iterator = _get_shard_iterator(self, *args, **kwargs)
    kept = self.shard_iterators
    while len(kept) > _MAX_ITERATORS:
        kept.pop(next(iter(kept)))
    return iterator


streams.DynamoDBStreamsBackend.get_shard_iterator = _bounded_get_shard_iterator


def _shard_copy_sharing_records(self, memo):
    shard = copy.copy(self)
    memo[id(self)] = shard
    shard.table = copy.deepcopy(self.table, memo)
    return shard


StreamShard.__deepcopy__ = _shard_copy_sharing_records
def _transact_write_items_without_table_copies(self, transact_items):
    """moto's TransactWriteItems, minus its deep copy of every table a transaction touches (kept
    to roll back), which made each transaction cost the size of the table: a `make test` table
    grows to thousands of items and every test got slower than the last. Writes are serialized
    here (`_one_dynamodb_write_at_a_time`), so the conditions of all items are checked first
    against the state before the transaction, and only when all hold are the writes applied;
    an item's own earlier state is kept to undo the writes if applying one of them fails."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen = set()
    errors = []
    plan = []
    for index, item in enumerate(transact_items):
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        original_item = None
        try:
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            table = self.get_table(table_name)
            if op_type == "Put":
                attrs = op["Item"]
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            unique = (str(table_name), str(dict(sorted(key.items()))))
            if unique in seen:
                raise MultipleTransactionsException()
            seen.add(unique)
            current = self.get_item(table_name, key)
            condition = op.get("ConditionExpression")
            if condition is not None:
                holds = get_filter_expression(
                    condition,
                    op.get("ExpressionAttributeNames"),
                    op.get("ExpressionAttributeValues"),
                ).expr(current)
                if not holds:
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            before = None if current is None else copy.deepcopy(current.to_json()["Attributes"])
            plan.append((index, op_type, op, table_name, key, before))
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:  # noqa: BLE001 - moto reports any other failure as a reason too
            errors.append((type(e).__name__, str(e), original_item))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)

    applied = []
    try:
        for index, op_type, op, table_name, key, before in plan:
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            if op_type == "Put":
                self.put_item(table_name, op["Item"], expression_attribute_names=names,
                              expression_attribute_values=values)
            elif op_type == "Delete":
                self.delete_item(table_name, key)
            elif op_type == "Update":
                self.update_item(table_name, key, update_expression=op["UpdateExpression"],
                                 expression_attribute_names=names,
                                 expression_attribute_values=values)
            else:
                continue
            applied.append((table_name, key, before))
    except Exception as e:
        for table_name, key, before in reversed(applied):
            if before is None:
                self.delete_item(table_name, key)
            else:
                self.put_item(table_name, before)
        if isinstance(e, (MultipleTransactionsException, MockValidationException)):
            raise
        errors[index] = (type(e).__name__, str(e), None)
        raise TransactionCanceledException(errors)


_transact_write_items = _transact_write_items_without_table_copies


def _transact_write_items_keeping_the_stream(self, transact_items):
    lengths = {
        name: len(table.stream_shard.items)
        for name, table in self.tables.items()
        if table.stream_shard is not None
    }
    try:
        return _transact_write_items(self, transact_items)
    except Exception:
        # Cancelled: the records its writes added before the rollback never happened.
        for name, length in lengths.items():
            table = self.tables.get(name)
            if table is not None and table.stream_shard is not None:
                del table.stream_shard.items[length:]
        raise


DynamoDBBackend.transact_write_items = _transact_write_items_keeping_the_stream


_FAULTS = "/_keygate/faults"
_MATCH_KEYS = {"target", "method", "path_prefix", "body_contains"}
_faults = {}  # id -> fault, in the order they were added
_faults_lock = threading.Lock()
_fault_ids = itertools.count(1)


def _json(start_response, status, value, headers=()):
    body = json.dumps(value).encode()
    start_response(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers],
    )
    return [body]


def _read_body(environ):
    """The request's body, put back so that moto still reads it."""
    length = environ.get("CONTENT_LENGTH") or ""
    stream = environ["wsgi.input"]
    if length.isdigit():
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _new_fault(spec):
    if not isinstance(spec, dict) or not isinstance(spec.get("match"), dict):
        raise ValueError("a fault needs a `match` object")
    match = spec["match"]
    unknown = set(match) - _MATCH_KEYS
    if unknown or not match or not all(isinstance(v, str) for v in match.values()):
        raise ValueError(f"`match` takes strings for some of {sorted(_MATCH_KEYS)}")
    times = spec.get("times", 1)
    status = spec.get("status", 400)
    delay = spec.get("delay_ms", 0)
    fields = spec.get("fields", {})
    code = spec.get("code")
    if not (isinstance(times, int) and times >= 1 and isinstance(status, int)):
        raise ValueError("`times` is a whole number >= 1, `status` a number")
    if not (isinstance(delay, int) and delay >= 0 and isinstance(fields, dict)):
        raise ValueError("`delay_ms` is a whole number >= 0, `fields` an object")
    if code is None and not delay:
        raise ValueError("a fault needs a `code` (an error) or a `delay_ms` (a hang), or both")
    return {
        "id": str(next(_fault_ids)),
        "match": match,
        "remaining": times,
        "injected": 0,
        "status": status,
        "code": code,
        "message": spec.get("message", f"injected fault: {code}"),
        "fields": fields,
        "delay_ms": delay,
    }


def _control(environ, start_response):
    """`/_keygate/faults[/id]`: add (POST), read (GET) and remove (DELETE) faults."""
    method = environ["REQUEST_METHOD"]
    rest = environ.get("PATH_INFO", "")[len(_FAULTS):].strip("/")
    with _faults_lock:
        if method == "POST" and not rest:
            try:
                fault = _new_fault(json.loads(_read_body(environ) or b"null"))
            except ValueError as e:  # json.JSONDecodeError is one
                return _json(start_response, "400 Bad Request", {"error": str(e)})
            _faults[fault["id"]] = fault
            return _json(start_response, "201 Created", fault)
        if not rest and method in ("GET", "DELETE"):
            listed = list(_faults.values())
            if method == "DELETE":
                _faults.clear()
            injected = sum(f["injected"] for f in listed)
            return _json(start_response, "200 OK", {"faults": listed, "injected": injected})
        if rest in _faults and method in ("GET", "DELETE"):
            fault = _faults.pop(rest) if method == "DELETE" else _faults[rest]
            return _json(start_response, "200 OK", fault)
    return _json(start_response, "404 Not Found", {"error": f"no fault {rest!r}"})


def _take_fault(environ):
    """The first fault with injections left that this request matches (counted), else None."""
    with _faults_lock:
        if not any(f["remaining"] > 0 for f in _faults.values()):
            return None
    # Read outside the lock: a slow upload must not hold up every other request.
    body = _read_body(environ).decode("utf-8", "replace")
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    method = environ.get("REQUEST_METHOD", "")
    path = environ.get("PATH_INFO", "")
    with _faults_lock:
        for fault in _faults.values():
            m = fault["match"]
            if fault["remaining"] <= 0:
                continue
            if (
                m.get("target", target) == target
                and m.get("method", method) == method
                and path.startswith(m.get("path_prefix", ""))
                and m.get("body_contains", "") in body
            ):
                fault["remaining"] -= 1
                fault["injected"] += 1
                return dict(fault)
    return None


def _failing(fault, environ, start_response):
    code = fault["code"]
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        # awsJson 1.0 (DynamoDB) / 1.1 (Secrets Manager): the code is the body's `__type`.
        version = "1.0" if target.startswith("DynamoDB_") else "1.1"
        content_type = f"application/x-amz-json-{version}"
        body = {"__type": code, "message": fault["message"], **fault["fields"]}
    else:
        # restJson1 (SES v2): the code travels in the header.
        content_type = "application/json"
        body = {"message": fault["message"], **fault["fields"]}
    data = json.dumps(body).encode()
    reason = {400: "Bad Request", 429: "Too Many Requests", 500: "Internal Server Error",
              503: "Service Unavailable"}.get(fault["status"], "Error")
    start_response(
        f"{fault['status']} {reason}",
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(data))),
            ("x-amzn-ErrorType", code),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ],
    )
    return [data]


def _with_faults(app):
    def serve(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == _FAULTS or path.startswith(_FAULTS + "/"):
            return _control(environ, start_response)
        fault = _take_fault(environ)
        if fault is None:
            return app(environ, start_response)
        if fault["delay_ms"]:
            time.sleep(fault["delay_ms"] / 1000)
        if fault["code"] is None:
            return app(environ, start_response)
        return _failing(fault, environ, start_response)

    return serve


def _run(hostname, port, application, **kwargs):
    # Faults outermost: a held request must not hold the DynamoDB write lock.
    app = _with_faults(_one_dynamodb_write_at_a_time(application))
    return _run_simple(hostname, port, app, **kwargs)


server.run_simple = _run
server.main(sys.argv[1:])
