#!/usr/bin/env python3
"""Cuts GitHub's published REST description down to what ds calls, so that
the GitHub double (tests/external/github_double.py) can validate every
answer it sends without a 400 MB npm package in the test peers.

Source: npm @octokit/openapi (pinned below), generated/api.github.com.json.
Regenerate (network to the npm registry, once, by hand):

    cd "$(mktemp -d)" && npm pack @octokit/openapi@23.0.2 &&
    tar xzf octokit-openapi-23.0.2.tgz package/generated/api.github.com.json &&
    python3 <repo>/tests/external/github_spec/extract.py \
        package/generated/api.github.com.json > <repo>/tests/external/github_spec/actions.json

Kept: the operations in OPERATIONS, the shared error responses and
rate-limit headers in SHARED, and every component they reference
(transitively), GitHub's examples included: the double builds its answers
from them. Dropped: inline `example` values, external docs links.
"""

import json
import sys

SOURCE = "@octokit/openapi@23.0.2 generated/api.github.com.json"

# (path, method): what daemon/external/github.cc calls.
OPERATIONS = [
    ("/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", "post"),
    ("/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs", "get"),
    ("/repos/{owner}/{repo}/actions/runs/{run_id}", "get"),
    ("/repos/{owner}/{repo}/actions/runs/{run_id}/jobs", "get"),
    # `ds db audit`'s CLOSED-PR check: the open pull requests.
    ("/repos/{owner}/{repo}/pulls", "get"),
]
# Not attached to these operations in the description, but what GitHub
# answers them with on error (basic-error, validation-error) and the
# rate-limit headers every answer carries.
SHARED = [
    "#/components/responses/not_found",
    "#/components/responses/forbidden",
    "#/components/responses/requires_authentication",
    "#/components/responses/validation_failed_simple",
    "#/components/headers/x-rate-limit-limit",
    "#/components/headers/x-rate-limit-remaining",
    "#/components/headers/x-rate-limit-reset",
]
DROP = {"example", "externalDocs", "x-github"}


def strip(node, in_properties=False):
    """Drops DROP keys, except where they are names of schema properties."""
    if isinstance(node, dict):
        return {k: strip(v, k == "properties" and not in_properties) for k, v in node.items()
                if in_properties or k not in DROP}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def refs_in(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from refs_in(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs_in(v)


def lookup(spec, ref):
    node = spec
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def extract(spec):
    out = {"openapi": spec["openapi"],
           "info": {"title": spec["info"]["title"], "version": spec["info"]["version"],
                    "x-ds-source": SOURCE,
                    "x-ds-regenerate": "tests/external/github_spec/extract.py (see its docstring)"},
           "paths": {}, "components": {}}
    for path, method in OPERATIONS:
        item = spec["paths"][path]
        kept = {method: strip(item[method])}
        if "parameters" in item:
            kept["parameters"] = strip(item["parameters"])
        out["paths"].setdefault(path, {}).update(kept)
    todo = list(refs_in(out["paths"])) + SHARED
    seen = set()
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        node = strip(lookup(spec, ref))
        out["components"].setdefault(kind, {})[name] = node
        todo.extend(refs_in(node))
    for kind in out["components"]:
        out["components"][kind] = dict(sorted(out["components"][kind].items()))
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: extract.py api.github.com.json > actions.json")
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    json.dump(extract(spec), sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
