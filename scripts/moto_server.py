"""moto's server with DynamoDB writes taken one at a time (used by scripts/lib.sh).

moto undoes a cancelled TransactWriteItems by putting back a copy of the table taken when the
transaction began. On moto's threaded server, every write that other requests made in between is
lost with it (tests saw projects and roles vanish). A lock around DynamoDB's writing calls keeps
any write from landing inside another one; reads, Streams and the other services stay concurrent.
"""

import sys
import threading

import moto.server as server

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


def _run(hostname, port, application, **kwargs):
    return _run_simple(hostname, port, _one_dynamodb_write_at_a_time(application), **kwargs)


server.run_simple = _run
server.main(sys.argv[1:])
