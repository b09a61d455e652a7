"""Static checks on a chat template: parsed to a Jinja AST and walked, never rendered.

Templates come from model files. Python renderers (Hugging Face, llama-cpp-python) evaluate them with
Jinja, where attribute access can climb from any object to `__globals__` and the `os` module; the
sandbox stops the known routes, but a scan must say that a template tries one. The checks here look for
those routes, for text that smuggles data or instructions, and for branches that react to what the user
wrote (template_branches.py).
"""

from __future__ import annotations

import re
from dataclasses import replace

import jinja2
from jinja2 import nodes
from jinja2.ext import loopcontrols

from uptake.scan.report import Finding, Location, Severity
from uptake.scan.templates.branches import content_reactive_findings
from uptake.scan.templates.text import check_text, clip

MAX_TEMPLATE_CHARS = 256 * 1024
MAX_PARSED_CHARS = 1 << 20  # beyond this the AST is not built (time and memory); the text checks still run
DUNDER = re.compile(r"__[A-Za-z][A-Za-z0-9_]{0,40}?__")  # bounded: hostile strings must not backtrack
# Globals that template-injection payloads start from; a chat template never needs them.
ENTRY_POINT_NAMES = frozenset(
    {
        "self",
        "config",
        "request",
        "session",
        "g",
        "url_for",
        "get_flashed_messages",
        "os",
        "sys",
        "subprocess",
        "builtins",
        "__builtins__",
        "importlib",
        "open",
        "eval",
        "exec",
        "getattr",
    }
)
# Jinja's own helper objects; harmless to call, but each is a known first step towards `__globals__`.
HELPER_OBJECT_NAMES = frozenset({"lipsum", "cycler", "joiner"})
DANGEROUS_CALLS = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "open",
        "system",
        "popen",
        "spawn",
        "spawnv",
        "fork",
        "execv",
        "execve",
        "import_module",
        "__import__",
        "getattr",
        "setattr",
        "delattr",
        "globals",
        "locals",
        "vars",
        "mro",
        "subclasses",
        "urlopen",
        "check_output",
        "check_call",
        "Popen",
        "unlink",
        "remove",
        "rmtree",
        "kill",
        "load_module",
        "read",
        "write",
        "readlines",
    }
)
KNOWN_CALLS = frozenset(
    {
        "raise_exception",
        "strftime_now",
        "range",
        "namespace",
        "dict",
        "caller",
        "loop",
        "strip",
        "lstrip",
        "rstrip",
        "split",
        "rsplit",
        "splitlines",
        "startswith",
        "endswith",
        "lower",
        "upper",
        "title",
        "capitalize",
        "replace",
        "items",
        "keys",
        "values",
        "get",
        "join",
        "count",
        "find",
        "rfind",
        "index",
        "format",
        "isdigit",
        "isalpha",
        "isspace",
        "isnumeric",
        "zfill",
        "cycle",
    }
)
STRING_BUILDING_FILTERS = frozenset({"join", "format", "replace", "reverse", "string", "lower", "upper", "trim"})
FORMAT_FIELD = re.compile(r"\{([^{}]{0,100}+)\}")  # bounded, for the same reason


def _environment() -> jinja2.Environment:
    # The same syntax settings as the renderer (uptake.engines.chat_template), used only to parse.
    return jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols], autoescape=False)


_ENV = _environment()


def _at(where: Location, node: nodes.Node) -> Location:
    return replace(where, line=getattr(node, "lineno", None))


def _bound_names(tree: nodes.Template) -> set[str]:
    bound = {name.name for name in tree.find_all(nodes.Name) if name.ctx in ("store", "param")}
    bound |= {macro.name for macro in tree.find_all(nodes.Macro)}
    return bound


def _built_names(tree: nodes.Template) -> set[str]:
    """Variables set to a string assembled at render time (`{% set a = '__cla' ~ 'ss__' %}`)."""
    return {
        assign.target.name
        for assign in tree.find_all(nodes.Assign)
        if isinstance(assign.target, nodes.Name) and _builds_string(assign.node)
    }


def _attribute_findings(tree: nodes.Template, where: Location) -> list[Finding]:
    findings = []
    built = _built_names(tree)
    for node in tree.find_all(nodes.Getattr):
        if node.attr.startswith("_"):
            findings.append(
                Finding(
                    "TPL002",
                    Severity.DANGEROUS,
                    f"chat template reads the private attribute '{node.attr}', a route to Python internals",
                    _at(where, node),
                    node.attr,
                )
            )
    for item in tree.find_all(nodes.Getitem):
        key = item.arg
        if isinstance(key, nodes.Const) and isinstance(key.value, str) and key.value.startswith("_"):
            findings.append(
                Finding(
                    "TPL002",
                    Severity.DANGEROUS,
                    f"chat template looks up the private key '{key.value}', a route to Python internals",
                    _at(where, item),
                    key.value,
                )
            )
        elif _builds_string(key) or (isinstance(key, nodes.Name) and key.name in built):
            findings.append(
                Finding(
                    "TPL004",
                    Severity.DANGEROUS,
                    "chat template looks something up by a name it builds at render time (hides what it reads)",
                    _at(where, item),
                )
            )
    for flt in tree.find_all(nodes.Filter):
        if flt.name == "attr":
            findings.extend(_attr_filter_findings(flt, where))
    return findings


def _attr_filter_findings(flt: nodes.Filter, where: Location) -> list[Finding]:
    name = flt.args[0] if flt.args else None
    if isinstance(name, nodes.Const) and isinstance(name.value, str):
        if name.value.startswith("_"):
            return [
                Finding(
                    "TPL002",
                    Severity.DANGEROUS,
                    f"chat template reads the private attribute '{name.value}' through the attr filter",
                    _at(where, flt),
                    name.value,
                )
            ]
        return []
    return [
        Finding(
            "TPL004",
            Severity.DANGEROUS,
            "chat template reads an attribute whose name is computed at render time (attr filter)",
            _at(where, flt),
        )
    ]


def _builds_string(node: nodes.Node) -> bool:
    """Whether an expression assembles a string (concatenation, join, format...) rather than naming one."""
    if isinstance(node, nodes.Concat):
        return True
    if isinstance(node, nodes.Add | nodes.Mul):
        return any(
            isinstance(side, nodes.Const) and isinstance(side.value, str) for side in (node.left, node.right)
        ) or (_builds_string(node.left) or _builds_string(node.right))
    if isinstance(node, nodes.Filter):
        return node.name in STRING_BUILDING_FILTERS
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
        return node.node.attr in ("format", "join", "replace")
    return False


def _dunder_constant_findings(tree: nodes.Template, where: Location) -> list[Finding]:
    return [
        Finding(
            "TPL003",
            Severity.DANGEROUS,
            "chat template holds a Python special name in a string, the usual way to reach internals indirectly",
            _at(where, const),
            clip(const.value),
        )
        for const in tree.find_all(nodes.Const)
        if isinstance(const.value, str) and DUNDER.search(const.value)
    ]


def _name_findings(tree: nodes.Template, where: Location) -> list[Finding]:
    bound = _bound_names(tree)
    findings = []
    seen: set[str] = set()
    for name in tree.find_all(nodes.Name):
        if name.ctx != "load" or name.name in bound or name.name in seen:
            continue
        if name.name in ENTRY_POINT_NAMES:
            seen.add(name.name)
            findings.append(
                Finding(
                    "TPL005",
                    Severity.DANGEROUS,
                    f"chat template uses the global '{name.name}', an entry point of template-injection payloads",
                    _at(where, name),
                    name.name,
                )
            )
        elif name.name in HELPER_OBJECT_NAMES:
            seen.add(name.name)
            findings.append(
                Finding(
                    "TPL005",
                    Severity.WARNING,
                    f"chat template uses Jinja's '{name.name}' helper, which chat templates never need",
                    _at(where, name),
                    name.name,
                )
            )
    return findings


def _callee_name(call: nodes.Call) -> str | None:
    if isinstance(call.node, nodes.Name):
        return call.node.name
    if isinstance(call.node, nodes.Getattr):
        return call.node.attr
    return None


def _call_findings(tree: nodes.Template, where: Location) -> list[Finding]:
    findings = []
    for call in tree.find_all(nodes.Call):
        name = _callee_name(call)
        if name is None:
            findings.append(
                Finding(
                    "TPL006",
                    Severity.WARNING,
                    "chat template calls something it looked up indirectly",
                    _at(where, call),
                )
            )
        elif name.startswith("_"):
            continue  # reported as private access (TPL002)
        elif name in DANGEROUS_CALLS:
            findings.append(
                Finding(
                    "TPL006",
                    Severity.DANGEROUS,
                    f"chat template calls '{name}', which runs code or touches files",
                    _at(where, call),
                    name,
                )
            )
        elif name == "format":
            findings.extend(_format_findings(call, where))
        elif name not in KNOWN_CALLS:
            findings.append(
                Finding(
                    "TPL006",
                    Severity.WARNING,
                    f"chat template calls '{name}', which no known chat template needs",
                    _at(where, call),
                    name,
                )
            )
    for flt in tree.find_all(nodes.Filter):
        if flt.name == "format" and isinstance(flt.node, nodes.Const):
            findings.extend(_format_string_findings(flt.node, where))
    return findings


def _format_findings(call: nodes.Call, where: Location) -> list[Finding]:
    receiver = call.node.node if isinstance(call.node, nodes.Getattr) else None
    if isinstance(receiver, nodes.Const):
        return _format_string_findings(receiver, where)
    return []


def _format_string_findings(const: nodes.Const, where: Location) -> list[Finding]:
    fields = FORMAT_FIELD.findall(const.value) if isinstance(const.value, str) else []
    if any("." in field or "[" in field for field in fields):
        return [
            Finding(
                "TPL008",
                Severity.DANGEROUS,
                "chat template formats a string whose fields reach into attributes or items of its arguments",
                _at(where, const),
                clip(const.value),
            )
        ]
    return []


def _loading_findings(tree: nodes.Template, where: Location) -> list[Finding]:
    loaders = (nodes.Import, nodes.FromImport, nodes.Include, nodes.Extends)
    return [
        Finding(
            "TPL007",
            Severity.DANGEROUS,
            f"chat template loads another template ({type(node).__name__.lower()}), which reads files",
            _at(where, node),
        )
        for node in tree.find_all(loaders)
    ]


def _text_findings(tree: nodes.Template, where: Location) -> list[Finding]:
    findings: list[Finding] = []
    for data in tree.find_all(nodes.TemplateData):
        findings += check_text(data.data, where, data.lineno)
    for const in tree.find_all(nodes.Const):
        if isinstance(const.value, str):
            findings += check_text(const.value, where, const.lineno)
    return findings


def parse_template(source: str) -> nodes.Template:
    """The template's AST. Raises jinja2.TemplateSyntaxError."""
    return _ENV.parse(source)


def check_template(source: str, where: Location) -> list[Finding]:
    """Every static check on one chat template; `where` names the key or file it came from."""
    findings: list[Finding] = []
    if len(source) > MAX_TEMPLATE_CHARS:
        findings.append(
            Finding(
                "TPL014",
                Severity.WARNING,
                f"chat template is {len(source)} characters, far beyond what any chat format needs",
                where,
            )
        )
    if len(source) > MAX_PARSED_CHARS:
        findings.append(
            Finding("TPL001", Severity.ERROR, "chat template is too large to parse; its logic was not checked", where)
        )
        return findings + check_text(source, where, 1)
    try:
        tree = parse_template(source)
    except jinja2.TemplateSyntaxError as error:
        findings.append(
            Finding(
                "TPL001",
                Severity.ERROR,
                f"chat template does not parse ({error.message}); it could not be checked",
                replace(where, line=error.lineno),
            )
        )
        return findings + check_text(source, where, 1)
    except RecursionError:
        findings.append(Finding("TPL001", Severity.ERROR, "chat template nests too deeply to parse", where))
        return findings + check_text(source, where, 1)
    for check in (
        _loading_findings,
        _attribute_findings,
        _dunder_constant_findings,
        _name_findings,
        _call_findings,
        _text_findings,
        content_reactive_findings,
    ):
        findings += check(tree, where)
    return findings
