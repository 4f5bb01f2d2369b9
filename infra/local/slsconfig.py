"""Read serverless.yml the way the deploy tool does, so the local stack and the tests
never repeat what it says.

Resolves the variable sources this project uses (`file()`, `self:`, `sls:`, `opt:`,
`param:`, `env:`) and keeps CloudFormation intrinsics (`!Ref`, `!GetAtt`, `!Sub`...) as
`{"Ref": ...}` / `{"Fn::GetAtt": ...}` dictionaries, as they would appear in the template.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVERLESS_YML = ROOT / "serverless.yml"

_VAR = re.compile(r"\$\{((?:file|self|sls|opt|param|env|strToBool)[:(][^{}]*)\}")


class _CfnLoader(yaml.CSafeLoader):
    """YAML loader that understands CloudFormation's short-form tags (on libyaml: the
    pure-Python parser took a third of a second for serverless.yml and its files)."""


def _cfn_constructor(loader: yaml.Loader, tag_suffix: str, node: yaml.Node) -> dict:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_constructor)


def _load_yaml(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - CSafeLoader subclass


@dataclass
class Function:
    """One function of serverless.yml: its handler and what triggers it."""

    key: str
    handler: str
    events: list[dict] = field(default_factory=list)
    timeout: int = 6
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0].replace("/", ".")

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    @property
    def feature(self) -> str:
        """The folder under functions/ the handler lives in."""
        return self.handler.split("/")[1]

    def http_events(self) -> list[tuple[str, str]]:
        out = []
        for event in self.events:
            http = event.get("http")
            if http:
                out.append((http["method"].upper(), "/" + http["path"].lstrip("/")))
        return out


@dataclass
class ServerlessConfig:
    raw: dict
    stage: str

    @property
    def service(self) -> str:
        return self.raw["service"]

    @property
    def environment(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.raw["provider"].get("environment", {}).items()}

    @property
    def functions(self) -> dict[str, Function]:
        default_timeout = self.raw["provider"].get("timeout", 6)
        out = {}
        for key, spec in self.raw["functions"].items():
            out[key] = Function(
                key=key,
                handler=spec["handler"],
                events=spec.get("events") or [],
                timeout=spec.get("timeout", default_timeout),
                environment={k: str(v) for k, v in (spec.get("environment") or {}).items()},
            )
        return out

    def function_name(self, key: str) -> str:
        return f"{self.service}-{self.stage}-{key}"

    @property
    def resources(self) -> dict[str, dict]:
        return self.raw.get("resources", {}).get("Resources", {}) or {}

    def resources_of_type(self, cfn_type: str) -> dict[str, dict]:
        return {k: v for k, v in self.resources.items() if v.get("Type") == cfn_type}


class _Resolver:
    def __init__(self, stage: str, options: dict[str, str]):
        self.stage = stage
        self.options = {"stage": stage, **options}
        self.root: dict = {}
        self.params: dict = {}

    def lookup(self, expr: str, base: Path) -> Any:
        expr = expr.strip()
        # ${opt:stage, 'dev'} style fallbacks
        parts = _split_top(expr)
        for part in parts:
            if part.strip() == "null":  # `${param:x, null}`: no value is a value
                return None
            value = self._lookup_one(part.strip(), base)
            if value is not None:
                return value
        raise KeyError(f"unresolved variable ${{{expr}}}")

    def _lookup_one(self, expr: str, base: Path) -> Any:
        if expr[:1] in "'\"":
            return expr[1:-1]
        if expr.startswith("file("):
            path = (base / expr[5 : expr.index(")")]).resolve()
            loaded = self.resolve(_load_yaml(path), path.parent)
            key = expr[expr.index(")") + 1:].lstrip(":")  # `${file(x.yml):key}`: one top-level key
            return loaded[key] if key else loaded
        source, _, path = expr.partition(":")
        if source == "self":
            node: Any = self.root
            for part in path.split("."):
                node = node[part]
            return self.resolve(node, ROOT)
        if source == "sls":
            return {"stage": self.stage}.get(path)
        if source == "opt":
            return self.options.get(path)
        if source == "param":
            return self.params.get(path)
        if source == "env":
            return os.environ.get(path)
        return None

    def resolve(self, node: Any, base: Path) -> Any:
        if isinstance(node, dict):
            return {k: self.resolve(v, base) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve(v, base) for v in node]
        if isinstance(node, str):
            whole = _VAR.fullmatch(node)
            if whole:
                return self.lookup(whole.group(1), base)
            resolved = _VAR.sub(lambda m: str(self.lookup(m.group(1), base)), node)
            # `${file(x.yml):${param:key}}`: the inner variable first, then the outer
            return self.resolve(resolved, base) if resolved != node and _VAR.search(resolved) else resolved
        return node


def _split_top(expr: str) -> list[str]:
    """Split `a, 'b'` on commas that are not inside parentheses or quotes."""
    out, depth, quote, cur = [], 0, "", ""
    for ch in expr:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        cur += ch
    out.append(cur)
    return out


def _merge(items: Any) -> dict:
    """serverless.yml allows `functions` and `resources` as a list of maps to merge."""
    if isinstance(items, dict):
        return items
    merged: dict = {}
    for item in items or []:
        for key, value in (item or {}).items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    return merged


@lru_cache(maxsize=8)
def load(stage: str = "local", path: str | None = None) -> ServerlessConfig:
    """Load serverless.yml for a stage with every variable resolved."""
    source = Path(path) if path else SERVERLESS_YML
    resolver = _Resolver(stage, {})
    raw = _load_yaml(source)
    resolver.root = raw
    params = resolver.resolve(raw.get("params", {}), source.parent)
    resolver.params = {**params.get("default", {}), **params.get(stage, {})}
    resolved = resolver.resolve(raw, source.parent)
    resolved["functions"] = _merge(resolved.get("functions"))
    resources = resolved.get("resources") or {}
    resolved["resources"] = _merge(resources) if isinstance(resources, list) else resources
    return ServerlessConfig(raw=resolved, stage=stage)
