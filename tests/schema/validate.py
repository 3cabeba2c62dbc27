#!/usr/bin/env python3
"""Validates the JSON documents vramcalc prints against docs/schema/*.schema.json.

Usage: validate.py VRAMCALC REPO_ROOT

Checks each schema against the draft 2020-12 metaschema, then validates (a) the stdout of
every golden case under tests/cli/cases whose args hold --json and (b) the output of the
commands in FRESH below, run from REPO_ROOT. Prints each failure with its case, JSON path
and schema error. Exit status: 0 all valid, 1 a failure, 77 (skipped) without jsonschema.
"""
import json
import xml.etree.ElementTree
import pathlib
import subprocess
import sys

try:
    import jsonschema
except ImportError:
    print("skipped: python3-jsonschema is not installed")
    sys.exit(77)

BASE = "https://vramcalc.dev/schema/"

# Commands run afresh: (args, expected exit status). One or more per document kind and per
# optional part of the estimate (engines, limits, suggestions, sweeps of engine reports).
FRESH = [
    ("llama3-70b --engine vllm --gpu h100 --json", 0),
    ("qwen3-next-80b-a3b --engine vllm --gpu 2xh100 --ctx 64k --batch 8 --json", 0),
    ("llama3-8b --engine llamacpp -q q4_k_m --gpu 4090 --json", 0),
    ("gemma-3-27b --engine llamacpp -q q8_0 --gpu 2x4090 --ctx 4k,32k --json", 0),
    ("llama3-8b --ctx 4k,8k --json", 0),
    ("mixtral-8x7b -q q4_k_m,fp8 --kv fp16,fp8 --json", 0),
    ("llama3-70b --max-ctx --gpu h100 --json", 0),
    ("deepseek-r1 --gpu 1x4090 --max-ctx --max-batch --fit-quant --json", 0),
    ("deepseek-r1 --ctx 128k --batch 4000 --gpu h100 --json", 0),
    ("jamba-v0.1 --ctx 64k --gpu-mem 2x48GB --json", 0),
    ("llama3.1-8b --ctx 128k --kv-policy streaming:sinks=4,window=4096 --json", 0),
    ("list models --json", 0),
    ("list gpus --json", 0),
    ("list formats --json", 0),
    ("list formats deepseek-v3 --json", 0),
    ("plan qwen2.5-72b --ctx 32k --json", 0),
    ("plan llama3.1-405b --ctx 8k --batch 4 -q fp8,q4_k_m --json", 0),
    ("compare llama3-70b qwen2.5-72b --json", 0),
    ("compare llama3-8b gpt-oss-20b qwen3-30b-a3b --ctx 16k --gpu 4090 --json", 0),
    ("inspect tests/data/files/tiny-q8_0.gguf --json", 0),
    ("inspect tests/data/files/bare.safetensors --json", 0),
    ("llama3-7b --json", 2),
    ("llama3-8b --ctx abc --json", 2),
    ("llama3-8b --gpu nosuchgpu --json", 2),
    ("list nothing --json", 2),
    ("inspect tests/data/files/truncated.gguf --json", 2),
]


def strict_validator_class():
    """Draft 2020-12, except that "integer" means a JSON integer literal: the spec lets 3.0
    pass as an integer, which would hide a byte count turned into a float."""
    base = jsonschema.Draft202012Validator
    is_int = lambda _, v: isinstance(v, int) and not isinstance(v, bool)
    return jsonschema.validators.extend(base, type_checker=base.TYPE_CHECKER.redefine("integer", is_int))


def load_schemas(root, errors):
    """The schemas by kind ("estimate", "list-gpus" ...) that pass the metaschema."""
    schemas = {}
    for path in sorted((root / "docs" / "schema").glob("*.schema.json")):
        kind = path.name[: -len(".schema.json")]
        schema = json.loads(path.read_text(encoding="utf-8"))
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            errors.append(f"schema {path.name}: {e.json_path}: {e.message}")
            continue  # not usable: outputs of this kind then fail with "no schema"
        if schema.get("$id") != f"{BASE}{kind}-1.json":
            errors.append(f"schema {path.name}: $id is {schema.get('$id')!r}, expected {BASE}{kind}-1.json")
        if schema.get("properties", {}).get("schema_version", {}).get("const") != 1:
            errors.append(f"schema {path.name}: schema_version is not const 1")
        schemas[kind] = schema
    return schemas


def make_validators(schemas):
    """One validator per kind; cross-file $refs resolve by $id (jsonschema >= 4.18 uses the
    referencing library, Debian 12's 4.10 a RefResolver)."""
    cls = strict_validator_class()
    try:
        from referencing import Registry, Resource
        registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas.values())
        return {k: cls(s, registry=registry) for k, s in schemas.items()}
    except ImportError:
        store = {s["$id"]: s for s in schemas.values()}
        return {k: cls(s, resolver=jsonschema.RefResolver.from_schema(s, store=store)) for k, s in schemas.items()}


def kind_of(args, doc, exit_code):
    """Which schema a command's output follows."""
    if exit_code == 2:
        return "error"
    first = args[0] if args else ""
    if first == "list" and len(args) > 1 and args[1] in ("models", "gpus", "formats"):
        return "list-" + args[1]
    if first in ("plan", "compare", "inspect", "check"):
        return first
    return "sweep" if isinstance(doc, dict) and "results" in doc else "estimate"


def reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def check_output(case, args, stdout, exit_code, validators, errors, used):
    """Parses one command's stdout and validates it; appends the failures to errors."""
    if stdout.count("\n") != 1 or not stdout.endswith("\n"):
        errors.append(f"{case}: stdout is not one JSON document on one line")
        return
    try:
        doc = json.loads(stdout, parse_constant=reject_constant)
    except ValueError as e:
        errors.append(f"{case}: not JSON: {e}")
        return
    kind = kind_of(args, doc, exit_code)
    if kind not in validators:
        errors.append(f"{case}: no schema docs/schema/{kind}.schema.json")
        return
    used.add(kind)
    for e in sorted(validators[kind].iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        message = e.message if len(e.message) <= 200 else e.message[:200] + "..."
        if e.context:  # anyOf: name the likeliest branch's error, not "is not of type 'null'"
            leaf = jsonschema.exceptions.best_match([c for c in e.context if c.validator != "type"] or e.context)
            message = f"matches none of the allowed shapes; {leaf.json_path}: {leaf.message}"
        errors.append(f"{case} [{kind}]: {e.json_path}: {message}")


def check_junit(case, stdout, errors):
    """JUnit XML: well-formed, <testsuites> of <testsuite> of <testcase>, counts that add up."""
    try:
        root = xml.etree.ElementTree.fromstring(stdout)
    except xml.etree.ElementTree.ParseError as e:
        errors.append(f"{case}: not well-formed XML: {e}")
        return
    cases = root.findall("./testsuite/testcase")
    failures = root.findall("./testsuite/testcase/failure")
    if root.tag != "testsuites" or not cases:
        errors.append(f"{case}: expected <testsuites><testsuite><testcase>")
    elif root.get("tests") != str(len(cases)) or root.get("failures") != str(len(failures)):
        errors.append(f"{case}: tests/failures attributes disagree with the test cases")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    binary, root = sys.argv[1], pathlib.Path(sys.argv[2])
    errors, used = [], set()
    validators = make_validators(load_schemas(root, errors))

    golden = 0
    for case in sorted((root / "tests" / "cli" / "cases").iterdir()):
        args = (case / "args").read_text(encoding="utf-8").splitlines() if (case / "args").exists() else []
        fmt = args[args.index("--format") + 1] if "--format" in args[:-1] else None
        if "--json" not in args and fmt not in ("json", "ndjson", "junit"):
            continue
        code_file = case / "exit_code"
        code = int(code_file.read_text().split()[0]) if code_file.exists() else 0
        stdout = (case / "stdout").read_text(encoding="utf-8") if (case / "stdout").exists() else ""
        if code == 2 and "--json" not in args and fmt != "json":
            continue  # the error went to stderr as text
        golden += 1
        if fmt == "junit":
            check_junit(f"golden {case.name}", stdout, errors)
        elif fmt == "ndjson" and args[0] in ("list", "plan", "inspect"):
            continue  # lines are list items; their fields are those of the list document's items
        elif fmt == "ndjson":
            # One document per line: an estimate each, or one check deployment each (validated
            # as a one-deployment check document).
            for i, line in enumerate(stdout.splitlines()):
                if args[0] == "check":
                    item = json.loads(line)
                    item.pop("schema_version", None)
                    line = json.dumps({"schema_version": 1, "ok": item.get("status") == "fits", "files": [],
                                       "deployments": [item], "skipped": []})
                check_output(f"golden {case.name} line {i + 1}", args, line + "\n", code, validators, errors, used)
        else:
            check_output(f"golden {case.name}", args, stdout, code, validators, errors, used)

    for line, expected in FRESH:
        args = line.split()
        run = subprocess.run([binary, *args], cwd=root, capture_output=True, encoding="utf-8")
        case = f"fresh 'vramcalc {line}'"
        if run.returncode != expected:
            errors.append(f"{case}: exit status {run.returncode}, expected {expected}: {run.stderr.strip()}")
            continue
        check_output(case, args, run.stdout, run.returncode, validators, errors, used)

    # Every schema must have been exercised.
    for kind in sorted(set(validators) - used):
        errors.append(f"schema {kind}.schema.json: no output validated against it")

    for e in errors:
        print(e)
    print(f"{golden} golden cases and {len(FRESH)} fresh commands against {len(validators)} schemas: "
          f"{'FAILED, ' + str(len(errors)) + ' error(s)' if errors else 'all valid'}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
