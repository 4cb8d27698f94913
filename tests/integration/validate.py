#!/usr/bin/python3
"""validate.py SCHEMA FILE [--lines] - validates FILE (one JSON document, or JSON lines with
--lines) against a draft 2020-12 schema. Prints the first errors and exits 1 on any."""
import json
import sys

from jsonschema import Draft202012Validator

schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
validator = Draft202012Validator(schema)
docs = []
if "--lines" in sys.argv:
    with open(sys.argv[2]) as f:
        docs = [(i + 1, json.loads(line)) for i, line in enumerate(f) if line.strip()]
else:
    docs = [(1, json.load(open(sys.argv[2])))]
bad = 0
for line, doc in docs:
    for err in validator.iter_errors(doc):
        bad += 1
        if bad <= 5:
            print(f"{sys.argv[2]}:{line}: {err.json_path}: {err.message}")
if bad:
    print(f"{bad} schema violation(s) in {len(docs)} document(s)")
    sys.exit(1)
print(f"{len(docs)} document(s) valid")
