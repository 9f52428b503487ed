#!/usr/bin/python3
"""The subset of JSON Schema (draft 2020-12) that docs/report.schema.json uses, as a small
validator with no dependencies: type (a name or a list of names), properties, required,
additionalProperties (a boolean or a schema), propertyNames, items, minItems, maxItems, enum,
const, minimum, maximum, pattern, $ref to "#/..." (with sibling keywords applied too, as
2020-12 does), oneOf, anyOf, and the boolean schemas true and false. Annotations
(description, $comment, title, $schema, $id, $defs) are ignored.

A keyword outside this subset is refused (SchemaError), so the schema cannot grow a rule this
validator would silently skip. Stricter than the standard on one point: "integer" is a JSON
number written without a fraction or exponent (a count written as 3.0 is not an integer), and
non-finite numbers (NaN, Infinity) are no JSON numbers at all.

usage as a module: errors = Validator(schema).errors(instance); each error is
(path, kind, message), the path a JSON pointer (of the missing key for "required"); kinds: type, required, additional, false, enum, const, minimum,
maximum, items, pattern, oneOf, anyOf.
usage as a script: json_schema_subset.py --self-test [SCHEMA]  (checks the validator itself; with
SCHEMA, that the file is a schema of this subset whose objects with properties are all closed)."""
import json
import math
import re
import sys

ANNOTATIONS = {"description", "$comment", "title", "$schema", "$id", "$defs"}
KEYWORDS = {"type", "properties", "required", "additionalProperties", "propertyNames", "items", "minItems",
            "maxItems", "enum", "const", "minimum", "maximum", "pattern", "$ref", "oneOf", "anyOf"}
TYPE_NAMES = {"object", "array", "string", "boolean", "null", "integer", "number"}


class SchemaError(Exception):
    """The schema uses something this validator does not implement."""


def type_of(value):
    """The JSON type name of a value as json.load gives it ('integer' for ints)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number" if math.isfinite(value) else "non-finite number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def has_type(value, name):
    actual = type_of(value)
    return actual == name or (name == "number" and actual == "integer")


def json_equal(a, b):
    """Equality without Python's 1 == True == 1.0."""
    if type_of(a) != type_of(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return a == b


class Validator:
    def __init__(self, root):
        self.root = root
        self.resolved = {}
        self.check_schema(root, "#")

    # ------------------------------------------------------------ the schema itself
    def resolve(self, reference):
        if reference not in self.resolved:
            self.resolved[reference] = self.resolve_pointer(reference)
        return self.resolved[reference]

    def resolve_pointer(self, reference):
        if not reference.startswith("#"):
            raise SchemaError(f"only local references are supported, not {reference}")
        node = self.root
        for part in reference[1:].split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise SchemaError(f"unresolvable reference {reference}")
            node = node[part]
        return node

    def check_schema(self, schema, where):
        """Every keyword known, every type name valid, every $ref resolvable."""
        if isinstance(schema, bool):
            return
        if not isinstance(schema, dict):
            raise SchemaError(f"{where}: a schema must be an object or a boolean")
        unknown = set(schema) - KEYWORDS - ANNOTATIONS
        if unknown:
            raise SchemaError(f"{where}: keywords this validator does not implement: {sorted(unknown)}")
        types = schema.get("type", [])
        for name in types if isinstance(types, list) else [types]:
            if name not in TYPE_NAMES:
                raise SchemaError(f"{where}: unknown type {name!r}")
        if "$ref" in schema:
            self.resolve(schema["$ref"])
        for key in ("properties", "$defs"):
            for name, sub in schema.get(key, {}).items():
                self.check_schema(sub, f"{where}/{key}/{name}")
        for key in ("additionalProperties", "propertyNames", "items"):
            if key in schema:
                self.check_schema(schema[key], f"{where}/{key}")
        for key in ("oneOf", "anyOf"):
            for i, sub in enumerate(schema.get(key, [])):
                self.check_schema(sub, f"{where}/{key}/{i}")

    # ------------------------------------------------------------ instances
    def errors(self, instance, schema=None, path=""):
        """Every way `instance` breaks `schema` (the root by default), as (path, kind, message)."""
        schema = self.root if schema is None else schema
        if schema is True:
            return []
        if schema is False:
            return [(path, "false", "not allowed here")]
        found = []
        if "$ref" in schema:
            found += self.errors(instance, self.resolve(schema["$ref"]), path)
        found += self.type_errors(instance, schema, path)
        if found and any(kind == "type" for _, kind, _ in found):
            return found  # the rest would only repeat the wrong type
        found += self.value_errors(instance, schema, path)
        if isinstance(instance, dict):
            found += self.object_errors(instance, schema, path)
        if isinstance(instance, list):
            found += self.array_errors(instance, schema, path)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                found += self.branch_errors(instance, schema[key], key, path)
        return found

    def type_errors(self, instance, schema, path):
        if "type" not in schema:
            return []
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if any(has_type(instance, name) for name in names):
            return []
        return [(path, "type", f"expected {' or '.join(names)}, found {type_of(instance)} {json.dumps(instance)[:60]}")]

    def value_errors(self, instance, schema, path):
        found = []
        if "enum" in schema and not any(json_equal(instance, v) for v in schema["enum"]):
            found.append((path, "enum", f"{json.dumps(instance)} is not one of {json.dumps(schema['enum'])}"))
        if "const" in schema and not json_equal(instance, schema["const"]):
            found.append((path, "const", f"{json.dumps(instance)} is not {json.dumps(schema['const'])}"))
        numeric = type_of(instance) in ("integer", "number")
        if numeric and "minimum" in schema and instance < schema["minimum"]:
            found.append((path, "minimum", f"{instance} < {schema['minimum']}"))
        if numeric and "maximum" in schema and instance > schema["maximum"]:
            found.append((path, "maximum", f"{instance} > {schema['maximum']}"))
        if isinstance(instance, str) and "pattern" in schema and not re.search(schema["pattern"], instance):
            found.append((path, "pattern", f"{instance!r} does not match {schema['pattern']}"))
        return found

    def object_errors(self, instance, schema, path):
        found = []
        properties = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in instance:
                found.append((f"{path}/{key}", "required", f"missing required key {key!r}"))
        for key, value in instance.items():
            where = f"{path}/{key}"
            if "propertyNames" in schema:
                found += [(where, kind, f"the key: {message}")
                          for _, kind, message in self.errors(key, schema["propertyNames"], where)]
            if key in properties:
                found += self.errors(value, properties[key], where)
            elif schema.get("additionalProperties", True) is False:
                found.append((where, "additional", f"unexpected key {key!r} (renamed? not in the schema)"))
            elif "additionalProperties" in schema:
                found += self.errors(value, schema["additionalProperties"], where)
        return found

    def array_errors(self, instance, schema, path):
        found = []
        if "minItems" in schema and len(instance) < schema["minItems"]:
            found.append((path, "items", f"{len(instance)} items, fewer than {schema['minItems']}"))
        if "maxItems" in schema and len(instance) > schema["maxItems"]:
            found.append((path, "items", f"{len(instance)} items, more than {schema['maxItems']}"))
        if "items" in schema:
            for i, value in enumerate(instance):
                found += self.errors(value, schema["items"], f"{path}/{i}")
        return found

    def branch_errors(self, instance, branches, key, path):
        results = [self.errors(instance, branch, path) for branch in branches]
        matching = sum(1 for r in results if not r)
        if matching == 1 or (key == "anyOf" and matching > 1):
            return []
        if matching > 1:
            return [(path, key, f"matches {matching} branches of {key}, not exactly one")]
        # None matches: report the closest branch's errors, preferring one whose constants
        # (a report's "schema") match.
        closest = min(results, key=lambda r: (any(kind == "const" for _, kind, _ in r), len(r)))
        return [(path, key, f"matches no branch of {key}; the closest fails:")] + closest


def format_errors(errors, limit=20):
    lines = [f"  {path or '/'}: {message}" for path, _, message in errors[:limit]]
    if len(errors) > limit:
        lines.append(f"  ... and {len(errors) - limit} more")
    return "\n".join(lines)


# ---------------------------------------------------------------- self-test
def self_test():
    """Each keyword accepts what it should and rejects what it should; a validator that accepted
    everything, or refused nothing in the schema, fails here."""
    schema = {
        "$defs": {"count": {"type": "integer", "minimum": 0},
                  "section": {"type": "object", "additionalProperties": False, "required": ["n"],
                              "properties": {"n": {"$ref": "#/$defs/count"},
                                             "live": {"$ref": "#/$defs/section", "properties": {"live": False}}}}},
        "type": "object", "additionalProperties": False, "required": ["schema", "a", "s", "kind"],
        "properties": {
            "schema": {"const": "x/1"},
            "a": {"type": "array", "items": {"type": ["number", "null"], "maximum": 10}, "minItems": 1,
                  "maxItems": 3},
            "s": {"$ref": "#/$defs/section", "required": ["live"]},
            "kind": {"type": "string", "enum": ["one", "two"], "pattern": "^[a-z]+$"},
            "open": {"type": "object", "propertyNames": {"pattern": "^[0-9]+$"},
                     "additionalProperties": {"$ref": "#/$defs/count"}},
            "either": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
            "any": {"anyOf": [{"type": "integer"}, {"type": "number", "minimum": 0}]},
            "flag": {"type": "boolean"},
        }}
    good = {"schema": "x/1", "a": [1, 2.5, None], "s": {"n": 0, "live": {"n": 3}}, "kind": "two",
            "open": {"12": 1}, "either": "z", "any": -3, "flag": False}
    v = Validator(schema)
    cases = []  # (what, mutate, expected kind); None: must pass

    def case(what, kind, change):
        instance = json.loads(json.dumps(good))
        change(instance)
        cases.append((what, kind, instance))

    case("the good instance", None, lambda d: None)
    case("a renamed key", "additional", lambda d: d.update(kinds=d.pop("kind")))
    case("a renamed nested key", "additional", lambda d: d["s"]["live"].update(m=d["s"]["live"].pop("n")))
    case("a missing required key", "required", lambda d: d.pop("a"))
    case("a missing key required only at the use site", "required", lambda d: d["s"].pop("live"))
    case("a key forbidden by a false schema", "false", lambda d: d["s"]["live"].update(live={"n": 1}))
    case("a count as a string", "type", lambda d: d["s"].update(n="0"))
    case("a count written as 0.0", "type", lambda d: d["s"].update(n=0.0))
    case("a count as a boolean", "type", lambda d: d["s"].update(n=True))
    case("a negative count", "minimum", lambda d: d["s"].update(n=-1))
    case("a NaN", "type", lambda d: d["a"].__setitem__(0, float("nan")))
    case("an array item over the maximum", "maximum", lambda d: d["a"].__setitem__(1, 11))
    case("too many items", "items", lambda d: d["a"].append(1))
    case("too few items", "items", lambda d: d.update(a=[]))
    case("a value outside the enum", "enum", lambda d: d.update(kind="three"))
    case("a wrong const", "const", lambda d: d.update(schema="x/2"))
    case("a key against propertyNames", "pattern", lambda d: d["open"].update(x=1))
    case("a value against additionalProperties", "type", lambda d: d["open"].update({"3": "1"}))
    case("no branch of oneOf", "oneOf", lambda d: d.update(either=1.5))
    case("no branch of anyOf", "anyOf", lambda d: d.update(any="x"))
    case("a boolean as 0", "type", lambda d: d.update(flag=0))
    case("an array for an object", "type", lambda d: d.update(s=[]))
    failures = 0
    for what, kind, instance in cases:
        errors = v.errors(instance)
        kinds = {k for _, k, _ in errors}
        ok = not errors if kind is None else kind in kinds
        if not ok:
            failures += 1
            print(f"FAIL: {what}: expected {kind or 'no error'}, got {sorted(kinds) or 'no error'}")
    for bad in ({"type": "decimal"}, {"minLength": 1}, {"$ref": "#/$defs/missing"},
                {"properties": {"a": {"patternProperties": {}}}}):
        try:
            Validator(bad)
            failures += 1
            print(f"FAIL: the schema {json.dumps(bad)} was not refused")
        except SchemaError:
            pass
    print(f"json_schema_subset self-test: {len(cases) + 4} cases, {failures} failures")
    return failures == 0


def open_objects(schema, where="#"):
    """Where a schema lists properties but lets other keys through (a rename would pass there)."""
    found = []
    if isinstance(schema, dict):
        if "properties" in schema and schema.get("additionalProperties", True) is not False:
            found.append(where)
        for key, value in schema.items():
            if key in ("properties", "$defs"):
                for name, sub in value.items():
                    found += open_objects(sub, f"{where}/{key}/{name}")
            elif key in ("additionalProperties", "propertyNames", "items"):
                found += open_objects(value, f"{where}/{key}")
            elif key in ("oneOf", "anyOf"):
                for i, sub in enumerate(value):
                    found += open_objects(sub, f"{where}/{key}/{i}")
    return found


def check_schema_file(path):
    """The file loads as a schema of this subset (every keyword known, every $ref resolved), and
    every object it lists properties of is closed."""
    with open(path) as f:
        schema = json.load(f)
    try:
        Validator(schema)
    except SchemaError as e:
        print(f"FAIL: {path}: {e}")
        return False
    # The population sections' nested `live`/`dead` refs list only the keys they forbid.
    open_ones = [w for w in open_objects(schema) if not w.endswith(("/properties/live", "/properties/dead"))]
    for where in open_ones:
        print(f"FAIL: {path}: {where} lists properties but is not closed (additionalProperties false)")
    print(f"{path}: {len(schema.get('$defs', {}))} definitions, {len(open_ones)} open objects")
    return not open_ones


if __name__ == "__main__":
    if sys.argv[1:2] != ["--self-test"] or len(sys.argv) > 3:
        sys.exit(__doc__)
    ok = self_test()
    if len(sys.argv) == 3:
        ok = check_schema_file(sys.argv[2]) and ok
    sys.exit(0 if ok else 1)
