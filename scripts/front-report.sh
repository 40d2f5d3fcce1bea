#!/usr/bin/env bash
# front-report.sh FRONT_URL: after a run, the AWS calls the stack's front saw (scripts/aws_front.py,
# `/_keygate/latency`): per back end and call, count, p50, p99 and slowest (ms); fails if any
# DynamoDB or DynamoDB Streams call reached moto rather than DynamoDB Local.
set -euo pipefail
curl -sf "$1/_keygate/latency" | python3 -c '
import json, sys
report = json.load(sys.stdin)
leaked = []
for listener, backends in report.items():
    for backend, calls in backends.items():
        for call, s in calls.items():
            n, p50, p99, top = s["n"], s["p50"], s["p99"], s["max"]
            print(f"  {backend:15} {call:48} n={n:6} p50={p50:7} p99={p99:7} max={top:7} ms")
            if backend != "dynamodb-local" and call.startswith(("DynamoDB_", "DynamoDBStreams_")):
                leaked.append(call)
if leaked:
    sys.exit(f"DynamoDB calls reached moto: {leaked}")
'
