"""`make models`: write the functions' AWS service descriptions (functions/common/models)
from the installed botocore's: for each service in functions.common.aws.OPERATIONS, only
those operations and the shapes they reach, without documentation; and botocore's endpoint
table (endpoints.json) with only these services in each partition. A client made from them
is a fraction of the cold start a client of the whole descriptions costs (the full endpoint
table alone, ~1 MB of JSON, takes 18 ms to parse before a function's first client); a test
checks that they match the pinned botocore and that the code calls no operation they
lack."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from functions.common import aws

MODEL = "service-2"


def trimmed(service: str, operations: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """(API version, the description of `operations` alone) from botocore's own."""
    from botocore.loaders import Loader

    loader = Loader()
    version = loader.determine_latest_version(service, MODEL)
    full = loader.load_service_model(service, MODEL, version)
    shapes: dict[str, Any] = {}
    out: dict[str, Any] = {}
    wanted: list[str] = []
    for name in operations:
        operation = {k: v for k, v in full["operations"][name].items() if k != "documentation"}
        out[name] = operation
        wanted += [operation[k]["shape"] for k in ("input", "output") if k in operation]
        wanted += [error["shape"] for error in operation.get("errors", [])]
    while wanted:
        name = wanted.pop()
        if name in shapes:
            continue
        shape = {k: v for k, v in full["shapes"][name].items() if k != "documentation"}
        if "members" in shape:
            shape["members"] = {member: {k: v for k, v in spec.items() if k != "documentation"}
                                for member, spec in shape["members"].items()}
            wanted += [spec["shape"] for spec in shape["members"].values()]
        wanted += [shape[k]["shape"] for k in ("member", "key", "value") if k in shape]
        shapes[name] = shape
    description = {k: v for k, v in full.items() if k not in ("operations", "shapes", "documentation")}
    return version, {**description, "operations": out, "shapes": dict(sorted(shapes.items()))}


def endpoints() -> dict[str, Any]:
    """botocore's endpoint table, each partition listing the functions' services alone."""
    from botocore.loaders import Loader

    table = Loader().load_data("endpoints")
    return {**table, "partitions": [
        {**partition, "services": {name: spec for name, spec in partition["services"].items() if name in aws.OPERATIONS}}
        for partition in table["partitions"]]}


def _text(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"


def expected() -> dict[str, str]:
    """{path under models/: text} for every service the functions call, and the endpoints."""
    return {"endpoints.json": _text(endpoints()),
            **{f"{service}/{version}/{MODEL}.json": _text(model)
               for service, operations in aws.OPERATIONS.items()
               for version, model in [trimmed(service, operations)]}}


def main() -> int:
    root = Path(aws.MODELS)
    shutil.rmtree(root, ignore_errors=True)
    for path, text in expected().items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
        print(f"{root / path}: {len(text):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
