"""Size budgets: the module-system core stays short enough to read in one sitting.

`minijax/nn/module.py` and `minijax/nn/scope.py` together hold at most 500 lines of
code. Docstrings, comments and blank lines do not count; a statement spread over
several lines counts each line. The rest of the Module API lives in small files of
its own concept (`functional.py`, `intermediates.py`, `summary.py`, ...).
"""

import ast
import io
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ("minijax/nn/module.py", "minijax/nn/scope.py")
BUDGET = 500

_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
         tokenize.ENDMARKER}


def code_lines(source: str) -> int:
    """The number of lines that hold code: not blank, not only a comment or a docstring."""
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                docstrings.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in _SKIP:
            lines.update(n for n in range(tok.start[0], tok.end[0] + 1) if n not in docstrings)
    return len(lines)


def test_the_counter_skips_docstrings_comments_and_blank_lines() -> None:
    source = '''"""Module docstring,
    two lines."""

    # a comment
    def f(x):
        """Docstring."""
        y = (x +
             1)  # a trailing comment
        return y
    '''
    assert code_lines(source.replace("\n    ", "\n")) == 4  # def, two lines of y, return


def test_the_budget_catches_a_planted_violation() -> None:
    within = "x = 1\n" * BUDGET
    assert code_lines(within) == BUDGET
    assert code_lines(within + "y = 2\n") > BUDGET  # one line more is over the budget


def test_the_module_system_core_is_within_budget() -> None:
    used = sum(code_lines((ROOT / f).read_text()) for f in CORE)
    assert used <= BUDGET, f"{CORE} hold {used} lines of code; the budget is {BUDGET}"


OPTIM_BUDGET = 400
OPTIM_ESSENTIALS = {
    "minijax/optim/transform.py": (
        "scale", "ScaleByScheduleState", "scale_by_schedule", "scale_by_learning_rate",
        "TraceState", "trace", "ScaleByAdamState", "scale_by_adam",
    ),
    "minijax/optim/combine.py": ("call_update", "chain"),
}


def definitions_code_lines(source: str, names: tuple[str, ...]) -> int:
    """The lines of code of the top-level definitions called `names` in `source`."""
    tree = ast.parse(source)
    found = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.ClassDef | ast.FunctionDef) and node.name in names
    }
    missing = set(names) - set(found)
    assert not missing, f"no top-level definitions {sorted(missing)}"
    lines = source.splitlines()
    total = 0
    for node in found.values():
        start = min([node.lineno] + [d.lineno for d in node.decorator_list])
        total += code_lines("\n".join(lines[start - 1 : node.end_lineno]) + "\n")
    return total


def test_the_definitions_counter_counts_only_the_named_ones() -> None:
    source = "def a():\n    return 1\n\n\ndef b():\n    x = 1\n    return x\n"
    assert definitions_code_lines(source, ("b",)) == 3


def test_the_optimizer_core_is_within_budget() -> None:
    """base.py and the essentials a learner reads first (scale, trace, Adam, the
    learning rate, chain) stay short; every other family lives in its own file."""
    used = code_lines((ROOT / "minijax/optim/base.py").read_text())
    for path, names in OPTIM_ESSENTIALS.items():
        used += definitions_code_lines((ROOT / path).read_text(), names)
    assert used <= OPTIM_BUDGET, f"the optimizer core holds {used} lines; budget {OPTIM_BUDGET}"
