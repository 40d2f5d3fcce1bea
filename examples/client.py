#!/usr/bin/env python3
"""Call the platform API with an imported keygate API key.

A holder imports a key into their client project under a prefix; the nodes granted access then
hold the secrets `<prefix>_token` (the API key), `<prefix>_project`, `<prefix>_input_node` and
`<prefix>_output_node` (the template's info fields). This script makes the platform calls a
client makes, in order — the client script of the platform manual's page on API keys
("Использование ключа"), with the platform SDK's calls spelled out:

  GET  /projects/{p}/data_layers/last                          -> the latest layer's `id`
  POST /projects/{p}/nodes/{input}/packages                    -> the workload package's `id`
  POST /projects/{p}/nodes/{output}/packages/search?page_size=1   (`master_id`: that id), polled
       every --poll seconds until the graph's result package appears or --timeout passes
  GET  /projects/{p}/nodes/{output}/packages/{result}/files
  GET  /projects/{p}/nodes/{output}/packages/{result}/files/{f}   (each file; --out DIR saves them)

It prints one line per call (method, path, status). Exit codes: 0 done, 1 the API answered an
error or could not be reached, 2 usage or a missing secret. Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT_SECONDS = 10
PREFIX_RE = re.compile(r"[a-z][a-z0-9_]{0,47}")
USER_AGENT = "keygate-client-example/1"


class Failure(Exception):
    """Ends the script with a message on stderr and an exit code (no traceback)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def secret(name: str) -> str:
    """The one place that reads a secret.

    On a platform node this is `job.secret(name)`. Locally it reads the environment variable of
    the same name (`wx_token`), or its upper-case form (`WX_TOKEN`).
    """
    value = os.environ.get(name) or os.environ.get(name.upper())
    if value is None or not value.strip():
        raise Failure(
            f"missing secret {name} (set the environment variable {name} or {name.upper()})",
            code=2,
        )
    return value.strip()


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are answers like any other: never resend the token to another location."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102
        return None


OPENER = urllib.request.build_opener(NoRedirects)


def seg(value: object) -> str:
    """One URL path segment, percent-encoded (`/` included)."""
    return urllib.parse.quote(str(value), safe="")


class Client:
    def __init__(self, api: str, token: str) -> None:
        self.api = api.rstrip("/")
        self.token = token

    def redact(self, text: str) -> str:
        return text.replace(self.token, "***") if self.token else text

    def call(self, method: str, path: str, body: object = None) -> bytes:
        """Sends one call; prints `METHOD path status`; returns the body of a 2xx answer."""
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json, */*;q=0.5",
            "User-Agent": USER_AGENT,
        }
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(
            self.api + path, data=data, headers=headers, method=method
        )
        try:
            with OPENER.open(req, timeout=TIMEOUT_SECONDS) as resp:
                status = resp.status
                payload = resp.read()
        except urllib.error.HTTPError as err:
            status = err.code
            try:
                payload = err.read()
            except (OSError, http.client.HTTPException):
                payload = b""
            finally:
                err.close()
        except (OSError, http.client.HTTPException, ValueError) as err:
            reason = getattr(err, "reason", err)
            raise Failure(self.redact(f"{method} {path}: request failed: {reason}")) from None
        print(f"{method} {path} {status}", flush=True)
        if not 200 <= status < 300:
            raise Failure(self.redact(f"{method} {path}: {status} {problem(payload)}".rstrip()))
        return payload

    def json(self, method: str, path: str, body: object = None) -> object:
        payload = self.call(method, path, body)
        if not payload.strip():
            return None
        try:
            return json.loads(payload)
        except ValueError:
            raise Failure(f"{method} {path}: the answer is not JSON") from None


def problem(payload: bytes) -> str:
    """The `detail` (or `title`) of a problem+json body, if it has one."""
    try:
        doc = json.loads(payload)
    except ValueError:
        return ""
    if not isinstance(doc, dict):
        return ""
    for key in ("detail", "title", "message"):
        value = doc.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def first_id(doc: object, what: str) -> str | None:
    """`items[0].id` of `{"items": [...]}`, or `[0].id` of a plain list; None when empty."""
    items = doc.get("items") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise Failure(f"{what}: expected a list or {{\"items\": [...]}}")
    if not items:
        return None
    first = items[0]
    if not isinstance(first, dict) or first.get("id") in (None, ""):
        raise Failure(f"{what}: the first item has no id")
    return str(first["id"])


def run(args: argparse.Namespace) -> None:
    prefix = args.prefix
    if not PREFIX_RE.fullmatch(prefix):
        raise Failure(f"invalid prefix {prefix!r}: expected [a-z][a-z0-9_]{{0,47}}", code=2)
    token = secret(f"{prefix}_token")
    project = secret(f"{prefix}_project")
    input_node = secret(f"{prefix}_input_node")
    output_node = secret(f"{prefix}_output_node")
    if any(c.isspace() or not c.isprintable() for c in token):
        raise Failure(f"secret {prefix}_token is not a token (contains blanks)", code=2)
    if args.timeout <= 0 or args.poll <= 0:
        raise Failure("--timeout and --poll must be positive numbers of seconds", code=2)

    api = args.api or os.environ.get("PLATFORM_API_URL", "")
    if not api:
        raise Failure("the platform API URL is required: --api or PLATFORM_API_URL", code=2)
    if urllib.parse.urlsplit(api).scheme not in ("http", "https"):
        raise Failure(f"--api must be an http(s) URL, got {api!r}", code=2)

    client = Client(api, token)
    p = f"/projects/{seg(project)}"
    inp = f"{p}/nodes/{seg(input_node)}"
    out = f"{p}/nodes/{seg(output_node)}"

    # The latest data layer of the server project.
    layer = client.json("GET", f"{p}/data_layers/last")
    if not isinstance(layer, dict) or layer.get("id") in (None, ""):
        raise Failure(f"GET {p}/data_layers/last: the answer has no layer id")

    # A new package on the input node: the workload.
    posted = client.json(
        "POST",
        f"{inp}/packages",
        {
            "data_layer_id": layer["id"],
            "label": args.label,
            "fields": {"size": args.size, "span": args.span},
        },
    )
    if not isinstance(posted, dict) or posted.get("id") in (None, ""):
        raise Failure(f"POST {inp}/packages: the answer has no package id")
    print("Sent workload to the server", file=sys.stderr)

    # Poll the output node for the package the graph made from it (its `master_id`).
    print("Waiting for the results...", file=sys.stderr)
    deadline = time.monotonic() + args.timeout
    result = None
    while True:
        page = client.json(
            "POST",
            f"{out}/packages/search?page_size=1",
            {"data_layer_id": layer["id"], "master_id": posted["id"]},
        )
        items = page.get("items") if isinstance(page, dict) else None
        if not isinstance(items, list):
            raise Failure(f"POST {out}/packages/search: expected {{\"items\": [...]}}")
        if items:
            result = items[0]
            break
        if time.monotonic() + args.poll > deadline:
            raise Failure(f"no result for package {posted['id']} within {args.timeout:g} s")
        time.sleep(args.poll)
    if not isinstance(result, dict) or result.get("id") in (None, ""):
        raise Failure(f"POST {out}/packages/search: the result has no id")
    print("Done", file=sys.stderr)

    # The result's files, each downloaded.
    package = f"{out}/packages/{seg(result['id'])}"
    files = client.json("GET", f"{package}/files")
    if isinstance(files, dict):
        files = files.get("items")
    if not isinstance(files, list):
        raise Failure(f"GET {package}/files: expected a list of files")
    for f in files:
        if not isinstance(f, dict) or f.get("id") in (None, ""):
            raise Failure(f"GET {package}/files: a file has no id")
        content = client.call("GET", f"{package}/files/{seg(f['id'])}")
        if args.out:
            save(args.out, str(f.get("name") or f["id"]), content)


def save(directory: str, name: str, content: bytes) -> None:
    """Writes one downloaded file into `directory` under its own name (never outside it)."""
    base = os.path.basename(name.replace("\\", "/")) or "file"
    if base in (".", ".."):
        base = "file"
    try:
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, base), "wb") as out:
            out.write(content)
    except OSError as err:
        raise Failure(f"cannot write {directory}/{base}: {err.strerror or err}") from None


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        description="Call the platform API with an imported keygate API key. Secrets are read "
        "from env vars named like the imported secrets (<prefix>_token, <prefix>_project, "
        "<prefix>_input_node, <prefix>_output_node, or their upper-case forms); on a platform "
        "node with job.secret(name).",
    )
    ap.add_argument(
        "--prefix",
        default=os.environ.get("KEYGATE_PREFIX") or "weather",
        help="the import prefix (default: $KEYGATE_PREFIX or 'weather')",
    )
    ap.add_argument(
        "--api",
        default=None,
        help="platform API base URL (default: $PLATFORM_API_URL; required)",
    )
    ap.add_argument("--label", default="from_client", help="the posted package's label")
    ap.add_argument("--size", type=int, default=10, help="the workload's `size` field (default 10)")
    ap.add_argument("--span", type=int, default=60, help="the workload's `span` field (default 60)")
    ap.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds to wait for the result package (default 300, the manual's 5 minutes)",
    )
    ap.add_argument(
        "--poll", type=float, default=5.0, help="seconds between searches (default 5)"
    )
    ap.add_argument("--out", default=None, help="save the result's files into this directory")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        run(args)
    except Failure as err:
        print(f"error: {err}", file=sys.stderr)
        return err.code
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
