"""Small pieces: no module over 300 lines and no function over 40 lines outside the tests."""

import ast

from tests.support.paths import REPO

MAX_MODULE_LINES, MAX_FUNCTION_LINES = 300, 40
CHECKED = ("tlcore", "components", "app_pages", "bench")


def _sources():
    yield REPO / "app.py"
    for top in CHECKED:
        yield from sorted((REPO / top).rglob("*.py"))


def test_modules_and_functions_stay_small():
    too_long = []
    for path in _sources():
        text = path.read_text()
        name = path.relative_to(REPO)
        if text.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}:{node.lineno} {node.name}() is {length} lines")
    assert too_long == []
