"""Checks HTTP traffic against Neon's OpenAPI v2 spec.

The spec is the one npm `@neondatabase/api-client` ships as
`public-v2-for-users.gen.yaml` (pinned in tests/peers/package.json). Used by
test_neon_double.py to validate every response it receives, and by
neon_double.py (with --spec) to validate every request it is sent and every
response it sends, so the traffic of neonctl and of ds's own client is
checked too.

What is checked:
- the path and method exist in the spec;
- query parameters: required ones present, values of the declared type,
  enum and range (unknown parameters are reported);
- request bodies: against the operation's requestBody schema (OAS 3.0
  write rules);
- responses: the status is declared (else the `default` response applies),
  the body is JSON when the spec says so (empty for 204), and it validates
  against the schema (OAS 3.0 read rules, formats such as date-time and uuid
  included), with every $ref resolved;
- "unknown fields": object keys that no schema in scope declares. The spec
  never forbids extra keys, so a misspelt field would otherwise pass.
"""

import json
import os
import re

SPEC_PACKAGE = "@neondatabase/api-client"
SPEC_FILE = "public-v2-for-users.gen.yaml"
_URN = "urn:neon-api-v2"


def find_spec(peers_dir=None):
    """Path of the spec in <peers>/node_modules, or None.

    peers_dir, else $DS_PEERS_DIR, else tests/peers beside this folder."""
    here = os.path.dirname(os.path.abspath(__file__))
    if peers_dir:
        candidates = [peers_dir]
    elif os.environ.get("DS_PEERS_DIR"):
        candidates = [os.environ["DS_PEERS_DIR"]]
    else:
        candidates = [os.path.join(here, "..", "peers")]
    for d in candidates:
        p = os.path.join(d, "node_modules", SPEC_PACKAGE, SPEC_FILE)
        if os.path.isfile(p):
            return os.path.abspath(p)
    return None


def _str_keys(node):
    if isinstance(node, dict):
        return {str(k): _str_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_str_keys(v) for v in node]
    return node


def _pointer(*parts):
    return "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class NeonSpec:
    def __init__(self, path):
        import yaml
        from openapi_schema_validator import (OAS30ReadValidator, OAS30WriteValidator,
                                              oas30_format_checker)
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT4

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        with open(path) as f:
            # YAML reads `200:` as an int; JSON pointers and the spec mean strings.
            self.doc = _str_keys(yaml.load(f, Loader=loader))
        self.path = path
        self.version = self.doc.get("info", {}).get("version")
        resource = Resource.from_contents(self.doc, default_specification=DRAFT4)
        self._registry = Registry().with_resource(_URN, resource)
        self._read = OAS30ReadValidator
        self._write = OAS30WriteValidator
        self._formats = oas30_format_checker
        self._validators = {}
        # Literal segments before templated ones: /projects/shared must win
        # over /projects/{project_id}, /branches/count over /branches/{id}.
        routes = []
        for tmpl in self.doc["paths"]:
            segs = tmpl.strip("/").split("/")
            rx = "^/" + "/".join("([^/]+)" if s.startswith("{") else re.escape(s) for s in segs) + "$"
            names = [s[1:-1] for s in segs if s.startswith("{")]
            key = tuple(1 if s.startswith("{") else 0 for s in segs)
            routes.append((key, tmpl, re.compile(rx), names))
        routes.sort(key=lambda r: r[0])
        self._routes = routes

    # -- lookup ------------------------------------------------------------

    def find(self, method, path):
        """(template, operation dict, path params) or None. path excludes /api/v2."""
        method = method.lower()
        for _, tmpl, rx, names in self._routes:
            m = rx.match(path)
            if m and method in self.doc["paths"][tmpl]:
                return tmpl, self.doc["paths"][tmpl][method], dict(zip(names, m.groups()))
        return None

    def resolve(self, node):
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"external $ref {ref}")
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            seen += 1
            if seen > 50:
                raise ValueError("$ref loop")
        return node

    def _validator(self, pointer, write):
        key = (pointer, write)
        v = self._validators.get(key)
        if v is None:
            cls = self._write if write else self._read
            v = cls({"$ref": f"{_URN}#/{pointer}"}, registry=self._registry,
                    format_checker=self._formats)
            self._validators[key] = v
        return v

    def _errors(self, pointer, instance, write, where):
        out = []
        for e in self._validator(pointer, write).iter_errors(instance):
            loc = "/".join(str(p) for p in e.absolute_path)
            out.append(f"{where}{'/' + loc if loc else ''}: {e.message[:300]}")
        return out

    # -- parameters --------------------------------------------------------

    def _parameters(self, tmpl, method):
        item = self.doc["paths"][tmpl]
        params = {}
        for p in item.get("parameters", []) + item[method].get("parameters", []):
            p = self.resolve(p)
            params[(p["in"], p["name"])] = p
        return params

    @staticmethod
    def _coerce(value, schema):
        t = schema.get("type")
        if t == "integer":
            if re.fullmatch(r"-?\d+", value):
                return int(value)
            return value
        if t == "number":
            try:
                return float(value)
            except ValueError:
                return value
        if t == "boolean":
            return {"true": True, "false": False}.get(value, value)
        return value

    # -- requests ----------------------------------------------------------

    def check_request(self, method, path, query, body, strict=True):
        """Problems with a request. query: {name: [values]}; body: bytes or None."""
        found = self.find(method, path)
        if not found:
            return [f"{method} {path}: no such operation in the spec"]
        tmpl, op, _ = found
        m = method.lower()
        errs = []
        params = self._parameters(tmpl, m)
        for (where, name), p in params.items():
            if where != "query":
                continue
            schema = self.resolve(p.get("schema", {}))
            if name not in query:
                if p.get("required"):
                    errs.append(f"{method} {tmpl}: query parameter {name} is required")
                continue
            for raw in query[name]:
                errs += self._check_value(self._coerce(raw, schema), p.get("schema", {}),
                                          f"{method} {tmpl} ?{name}")
        if strict:
            known = {n for (w, n) in params if w == "query"}
            for name in query:
                if name not in known:
                    errs.append(f"{method} {tmpl}: unknown query parameter {name}")
        rb = op.get("requestBody")
        if rb is not None:
            rb = self.resolve(rb)
        if body is None or body == b"":
            if rb is not None and rb.get("required"):
                errs.append(f"{method} {tmpl}: request body is required")
            return errs
        if rb is None:
            errs.append(f"{method} {tmpl}: the spec declares no request body")
            return errs
        try:
            instance = json.loads(body)
        except ValueError as e:
            return errs + [f"{method} {tmpl}: request body is not JSON: {e}"]
        ptr = _pointer("paths", tmpl, m, "requestBody", "content", "application/json", "schema")
        if "$ref" in op["requestBody"]:
            ref = op["requestBody"]["$ref"][2:]
            ptr = ref + "/" + _pointer("content", "application/json", "schema")
        errs += self._errors(ptr, instance, True, f"{method} {tmpl} request")
        if strict:
            schema = rb["content"]["application/json"]["schema"]
            errs += [f"{method} {tmpl} request: {u}" for u in self.unknown_fields(instance, schema)]
        return errs

    def _check_value(self, value, schema, where):
        from openapi_schema_validator import OAS30WriteValidator
        v = OAS30WriteValidator(schema, registry=self._registry, format_checker=self._formats)
        return [f"{where}: {e.message[:200]}" for e in v.iter_errors(value)]

    # -- responses ---------------------------------------------------------

    def check_response(self, method, path, status, body, content_type=None, strict=True):
        """Problems with a response. body: bytes (or an already parsed object)."""
        found = self.find(method, path)
        if not found:
            return [f"{method} {path}: no such operation in the spec"]
        tmpl, op, _ = found
        m = method.lower()
        responses = op.get("responses", {})
        code = str(status)
        if code in responses:
            resp_ptr = _pointer("paths", tmpl, m, "responses", code)
            resp = responses[code]
        elif "default" in responses:
            resp_ptr = _pointer("paths", tmpl, m, "responses", "default")
            resp = responses["default"]
        else:
            return [f"{method} {tmpl}: status {status} is not declared"]
        if "$ref" in resp:
            resp_ptr = resp["$ref"][2:]
        resp = self.resolve(resp)
        where = f"{method} {tmpl} {status}"
        content = resp.get("content")
        if not content:
            if body not in (None, b"", ""):
                return [f"{where}: the spec declares no body but one was sent"]
            return []
        if "application/json" not in content:
            return [f"{where}: the spec declares no application/json body"]
        if content_type is not None and not content_type.split(";")[0].strip() == "application/json":
            return [f"{where}: Content-Type is {content_type!r}, not application/json"]
        if isinstance(body, (bytes, bytearray, str)):
            try:
                instance = json.loads(body)
            except ValueError as e:
                return [f"{where}: body is not JSON: {e}"]
        else:
            instance = body
        schema = content["application/json"].get("schema")
        if schema is None:
            return []
        ptr = resp_ptr + "/" + _pointer("content", "application/json", "schema")
        errs = self._errors(ptr, instance, False, where)
        if strict:
            errs += [f"{where}: {u}" for u in self.unknown_fields(instance, schema)]
        return errs

    # -- unknown fields ----------------------------------------------------

    def _collect(self, schema, props, addl, depth=0):
        """Merges properties over allOf/anyOf/oneOf; addl[0] tracks additionalProperties."""
        schema = self.resolve(schema)
        if not isinstance(schema, dict) or depth > 20:
            return
        for k, v in schema.get("properties", {}).items():
            props.setdefault(k, []).append(v)
        ap = schema.get("additionalProperties")
        if isinstance(ap, dict):
            addl.append(ap)
        elif ap is True:
            addl.append({})
        for comb in ("allOf", "anyOf", "oneOf"):
            for sub in schema.get(comb, []):
                self._collect(sub, props, addl, depth + 1)

    def unknown_fields(self, instance, schema, where="", depth=0):
        out = []
        if depth > 30:
            return out
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return out
        if isinstance(instance, dict):
            props, addl = {}, []
            self._collect(schema, props, addl)
            free = not props and not addl
            for k, v in instance.items():
                if k in props:
                    for s in props[k]:
                        out += self.unknown_fields(v, s, f"{where}/{k}", depth + 1)
                elif addl:
                    for s in addl:
                        out += self.unknown_fields(v, s, f"{where}/{k}", depth + 1)
                elif not free:
                    out.append(f"unknown field {where}/{k}")
        elif isinstance(instance, list):
            items = []
            self._collect_items(schema, items)
            for i, v in enumerate(instance):
                for s in items:
                    out += self.unknown_fields(v, s, f"{where}/{i}", depth + 1)
        return out

    def _collect_items(self, schema, items, depth=0):
        schema = self.resolve(schema)
        if not isinstance(schema, dict) or depth > 20:
            return
        if "items" in schema:
            items.append(schema["items"])
        for comb in ("allOf", "anyOf", "oneOf"):
            for sub in schema.get(comb, []):
                self._collect_items(sub, items, depth + 1)
