"""moto's server with DynamoDB writes taken one at a time and a bounded memory of stream
iterators (used by scripts/lib.sh).

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
"""

import copy
import sys
import threading

import moto.server as server
from moto.core.common_models import BaseModel
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
_transact_write_items = DynamoDBBackend.transact_write_items


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


def _run(hostname, port, application, **kwargs):
    return _run_simple(hostname, port, _one_dynamodb_write_at_a_time(application), **kwargs)


server.run_simple = _run
server.main(sys.argv[1:])
