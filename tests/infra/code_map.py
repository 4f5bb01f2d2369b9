"""What each deployed function's code can reach, read from the source, so the IAM tests can
hold every role to what its function uses (and no more).

From the handler a function runs (serverless.yml's `handler`), every module-level function,
class and variable its code names is followed, across modules through their imports,
function-local imports included. A class reached counts whole (all its methods), and so does
a module used as a value, unless it is passed where a Protocol is expected (the store passed
to the rules as their `Repo`): then only what the Protocol lists. Chalice's
app object is the one exception: a route or `lambda_function` handler naming `app` does not
reach the other routes; only the API function, whose handler *is* the app or names it from
another module (the webhook's entry, which hands it the requests it does not answer itself),
reaches every `@app.route` view (and the app's class). Module-level code runs at import and is not
followed: the things looked for here (secrets, personal-data sealing, WeChat's API) are
read when called, never at import.

The map over-approximates (a whole class, every branch of a function), never misses a
name written in the code; a secret named by anything but a literal fails the map loudly.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "functions"

Node = tuple[str, str]  # (module, top-level name)
SECRET_READER: Node = ("functions.common.config", "secret")
PII_SEAL: Node = ("functions.common.pii", "seal")
PII_UNSEAL: Node = ("functions.common.pii", "unseal")
WECHAT_API = {("functions.common.wechat.client", "get_client")}


@dataclass
class Module:
    name: str
    tree: ast.Module
    bindings: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # name -> (module, symbol|None)
    definitions: dict[str, ast.AST] = field(default_factory=dict)
    apps: set[str] = field(default_factory=set)  # module-level names used as `@<name>.route(...)`


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _import_bindings(statements: list[ast.stmt] | ast.AST, modules: set[str]) -> dict[str, tuple[str, str | None]]:
    out: dict[str, tuple[str, str | None]] = {}
    nodes = ast.walk(statements) if isinstance(statements, ast.AST) else statements
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    if alias.asname:
                        out[alias.asname] = (alias.name, None)
                    else:
                        out[PACKAGE] = (PACKAGE, None)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == PACKAGE:
            for alias in node.names:
                qualified = f"{node.module}.{alias.name}"
                bound = (qualified, None) if qualified in modules else (node.module, alias.name)
                out[alias.asname or alias.name] = bound
    return out


def _decorator_base(decorator: ast.expr) -> str | None:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
        return target.value.id
    return None


def _route_of(decorator: ast.expr) -> str | None:
    """`app` for `@app.route(...)`."""
    if isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute) and decorator.func.attr == "route":
        return _decorator_base(decorator)
    return None


def _type_checking_imports(tree: ast.Module) -> list[ast.stmt]:
    """The statements of `if TYPE_CHECKING:` blocks: what a name stands for where the module
    binds it otherwise at run time (a module on first use, functions.common.once)."""
    return [s for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
            for s in node.body]


@cache
def modules() -> dict[str, Module]:
    paths = sorted((ROOT / PACKAGE).rglob("*.py"))
    names = {_module_name(p) for p in paths}
    out = {}
    for path in paths:
        module = Module(_module_name(path), ast.parse(path.read_text(encoding="utf-8")))
        module.bindings = _import_bindings([*module.tree.body, *_type_checking_imports(module.tree)], names)
        for statement in module.tree.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                module.definitions[statement.name] = statement
                if not isinstance(statement, ast.ClassDef):
                    module.apps |= {app for d in statement.decorator_list if (app := _route_of(d))}
            elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        module.definitions[target.id] = statement
        out[module.name] = module
    return out


def _resolve(module: Module, local: dict[str, tuple[str, str | None]], name: str) -> tuple[str, str | None] | None:
    if name in local:
        return local[name]
    if name in module.bindings:
        return module.bindings[name]
    if name in module.definitions:
        return (module.name, name)
    return None


def _target(binding: tuple[str, str | None]) -> Node | None:
    """The definition a binding names, following re-exports."""
    known = modules()
    module_name, symbol = binding
    seen = set()
    while symbol is not None and (module_name, symbol) not in seen:
        seen.add((module_name, symbol))
        module = known.get(module_name)
        if module is None:
            return None
        if symbol in module.definitions:
            return (module_name, symbol)
        if symbol not in module.bindings:
            return None
        module_name, symbol = module.bindings[symbol]
    return None


def _protocol_members(module: Module, callee: ast.AST, argument: int | str) -> set[str] | None:
    """The members a parameter's Protocol type lists (`repo: Repo`), or None."""
    if not isinstance(callee, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    params = [*callee.args.posonlyargs, *callee.args.args]
    if isinstance(argument, int):
        param = params[argument] if argument < len(params) else None
    else:
        param = next((a for a in [*params, *callee.args.kwonlyargs] if a.arg == argument), None)
    annotation = param.annotation if param is not None else None
    if not isinstance(annotation, ast.Name):
        return None
    binding = _resolve(module, {}, annotation.id)
    target = _target(binding) if binding else None
    if target is None:
        return None
    cls = modules()[target[0]].definitions[target[1]]
    if not (isinstance(cls, ast.ClassDef) and any(isinstance(b, ast.Name) and b.id == "Protocol" for b in cls.bases)):
        return None
    return {f.name for f in cls.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _module_values(module: Module, body: ast.AST, local: dict) -> dict[int, set[str] | None]:
    """Modules passed as arguments where the parameter is a Protocol: {id(name node): members}."""
    out: dict[int, set[str] | None] = {}
    for call in (n for n in ast.walk(body) if isinstance(n, ast.Call)):
        callee = next(_references(module, call.func, set(), local), None) if _is_name_chain(call.func) else None
        where = modules()[callee[0]] if callee else None
        definition = where.definitions.get(callee[1]) if where and callee else None
        for position, argument in [*enumerate(call.args), *((k.arg, k.value) for k in call.keywords if k.arg)]:
            if isinstance(argument, ast.Name) and definition is not None and where is not None:
                out[id(argument)] = _protocol_members(where, definition, position)
    return out


def _references(module: Module, body: ast.AST, skip: set[str], local: dict | None = None) -> Iterator[Node]:
    """Every definition named in `body`: `name`, `module.name`, `package.module.name`. A
    module used as a value counts whole, unless it is passed where a Protocol is expected
    (`service.nearby(store, ...)` with `repo: Repo`): then only the Protocol's members."""
    local = _import_bindings(body, set(modules())) if local is None else local
    inner = {id(node.value) for node in ast.walk(body) if isinstance(node, ast.Attribute)}
    narrowed: dict[int, set[str] | None] | None = None
    for node in ast.walk(body):
        if id(node) in inner:
            continue  # part of a longer name, resolved from its outermost attribute
        chain: list[str] = []
        current = node
        while isinstance(current, ast.Attribute):
            chain.insert(0, current.attr)
            current = current.value
        if not isinstance(current, ast.Name) or current.id in skip:
            continue
        binding = _resolve(module, local, current.id)
        if binding is None:
            continue
        # walk attributes down through modules: config.secret, functions.common.pii.seal
        for attr in chain:
            if binding[1] is not None:
                break
            deeper = f"{binding[0]}.{attr}"
            binding = (deeper, None) if deeper in modules() else (binding[0], attr)
        if binding[1] is None:
            used = modules().get(binding[0])
            if used is None:
                continue
            if narrowed is None:
                narrowed = _module_values(module, body, local)
            members = narrowed.get(id(node))
            yield from ((used.name, name) for name in used.definitions if members is None or name in members)
            continue
        target = _target(binding)
        if target is not None:
            yield target


@dataclass
class Reach:
    nodes: set[Node]
    secrets: set[str]

    @property
    def seals(self) -> bool:
        """Encrypts personal data (pii.seal)."""
        return PII_SEAL in self.nodes

    @property
    def opens(self) -> bool:
        """Decrypts personal data (pii.unseal)."""
        return PII_UNSEAL in self.nodes

    @property
    def calls_wechat_api(self) -> bool:
        return bool(self.nodes & WECHAT_API)


def _is_name_chain(expr: ast.expr) -> bool:
    while isinstance(expr, ast.Attribute):
        expr = expr.value
    return isinstance(expr, ast.Name)


def _secret_names(module: Module, body: ast.AST) -> set[str]:
    """Literal names given to `config.secret(...)` in `body`."""
    out = set()
    for node in ast.walk(body):
        if isinstance(node, ast.Call) and _is_name_chain(node.func) and SECRET_READER in set(
                _references(module, node.func, set())):
            argument = node.args[0] if node.args else None
            if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
                raise AssertionError(f"{module.name}: a secret read by a computed name: {ast.unparse(node)}")
            out.add(argument.value)
    return out


@cache
def reach(handler: str) -> Reach:
    """What a function whose serverless.yml handler is `handler` can run."""
    path, attribute = handler.rsplit(".", 1)
    known = modules()
    root_module = known[path.replace("/", ".")]
    todo: list[tuple[Module, ast.AST, set[str]]] = []
    if attribute in root_module.apps:
        todo += _app_and_views(root_module, attribute)
    else:
        todo.append((root_module, root_module.definitions[attribute], set(root_module.apps)))
    seen: set[Node] = set()
    secrets: set[str] = set()
    while todo:
        module, body, skip = todo.pop()
        secrets |= _secret_names(module, body)
        for target in _references(module, body, skip):
            if target in seen:
                continue
            seen.add(target)
            owner = known[target[0]]
            if target[1] in owner.apps:  # an app named from another module: a handler that hands requests to it
                todo += _app_and_views(owner, target[1])
            else:
                todo.append((owner, owner.definitions[target[1]], set(owner.apps)))
    return Reach(seen, secrets)


def _app_and_views(module: Module, app: str) -> list[tuple[Module, ast.AST, set[str]]]:
    """The API function's app, and every view routed on it."""
    out: list[tuple[Module, ast.AST, set[str]]] = [(module, module.definitions[app], set())]
    for definition in module.definitions.values():
        if any(_route_of(d) == app for d in getattr(definition, "decorator_list", [])):
            out.append((module, definition, set(module.apps)))
    return out
