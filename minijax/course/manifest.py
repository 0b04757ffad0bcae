"""The course's assignments and tasks: regions, points, dependencies, forbidden names, tests.

Each task is one or more regions of the library's source between the comment lines
`# >>> TASK A1.1` and `# <<< TASK A1.1`; a `.P` task has no region: the student
writes property tests, graded by mutation (`minijax.course.mutation`). The tests of
a task are the functions named `test_a1_1_...` (task A1.1) in the course's test
files `suite/a1_public.py` (shipped to students) and `suite/a1_hidden.py` (run only
when grading).

>>> [a.id for a in ASSIGNMENTS][:3]
['A0', 'A1', 'A1.P']
>>> task("A4.1").files
('minijax/nn/scope.py',)
>>> sorted(dependencies("A4.3"))
['A0.3', 'A4.1', 'A4.2']
"""

import re
from dataclasses import dataclass

__all__ = [
    "ASSIGNMENTS",
    "GLOBAL_FORBIDDEN",
    "Assignment",
    "Task",
    "assignment",
    "assignment_of",
    "dependencies",
    "task",
    "test_task",
]

#: Names no region may use: they would import the work from elsewhere, or hide what
#: a region calls from the check below.
GLOBAL_FORBIDDEN = (
    "flax", "optax", "equinox", "haiku", "torch", "tensorflow", "__import__",
    "importlib", "eval", "exec", "compile", "globals", "vars", "builtins", "__builtins__",
    # what could reach the tests instead of the work: the test tools, the process, files
    "numpy.testing", "pytest", "hypothesis", "unittest", "os", "sys", "subprocess",
    "signal", "ctypes", "inspect", "setattr", "delattr", "open",
)


@dataclass(frozen=True)
class Task:
    """One exercise: its regions' files, its points and what it may not use."""

    id: str
    title: str
    files: tuple[str, ...]
    points: float
    hint: str
    depends: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()

    @property
    def is_property_task(self) -> bool:
        """A `.P` task: the student writes tests, graded by mutation."""
        return self.id.endswith(".P")

    @property
    def test_prefix(self) -> str:
        """`test_a1_1_` for A1.1, `test_a1p_` for A1.P."""
        return "test_" + self.id.lower().replace(".p", "p").replace(".", "_") + "_"


@dataclass(frozen=True)
class Assignment:
    """An assignment: its tasks, in order, and the handout page's name."""

    id: str
    title: str
    tasks: tuple[Task, ...]
    handout: str
    student_tests: str | None = None  # for a `.P` assignment: the file students write
    examples: tuple[str, ...] = ()  # example scripts shipped with the release

    @property
    def points(self) -> float:
        """The sum of its tasks' points."""
        return sum(t.points for t in self.tasks)

    @property
    def suite_stem(self) -> str:
        """`a1` for A1 and A1.P: the stem of the assignment's test files."""
        return self.id.lower().replace(".p", "p")


def _t(id: str, title: str, files: str, points: float, hint: str, depends: str = "",
       forbidden: str = "") -> Task:
    return Task(id, title, tuple(files.split()), points, hint, tuple(depends.split()),
                tuple(forbidden.split()))


_NN = "jax.nn jax.scipy.special"
_GRAD = ("jax.grad jax.vjp jax.jacobian jax.jacrev jax.jacfwd jax.value_and_grad "
         "jax.linear_transpose")

ASSIGNMENTS: tuple[Assignment, ...] = (
    Assignment("A0", "Pytrees, struct and PRNG keys", (
        _t("A0.1", "struct: flatten and unflatten", "minijax/struct.py", 4,
           "data fields are the children (with their GetAttrKey), static fields the aux "
           "data; unflatten builds the object with object.__new__, not __init__"),
        _t("A0.2", "struct: replace", "minijax/struct.py", 2,
           "a copy with some fields changed; dataclasses has a function for it", "A0.1"),
        _t("A0.3", "random.derive", "minijax/random.py", 2,
           "fold the static hash of the parts into the key, as a uint32; no parts: the key"),
        _t("A0.4", "KeyManager.next", "minijax/random.py", 2,
           "fold the stream's count into derive(root, stream); return the key and a "
           "manager whose count for the stream is one more", "A0.1 A0.2 A0.3"),
    ), "a0.md"),
    Assignment("A1", "Activations and losses", (
        _t("A1.1", "softmax and log_softmax", "minijax/nn/activation.py", 4,
           "subtract the max along axis (keepdims, under stop_gradient) before exp",
           forbidden=_NN),
        _t("A1.2", "gelu", "minijax/nn/activation.py", 2,
           "approximate: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); exact: "
           "x/2 erfc(-x/sqrt(2))", forbidden=_NN),
        _t("A1.3", "cross-entropy losses", "minijax/optim/losses/_classification.py", 2,
           "minus the sum of labels times log-probabilities over the last axis; for "
           "integer labels take the label's logit with take_along_axis"),
        _t("A1.4", "huber_loss", "minijax/optim/losses/_regression.py", 2,
           "e = |error|; 0.5 min(e, delta)^2 + delta (e - min(e, delta))"),
    ), "a1.md"),
    Assignment("A1.P", "Property tests for activations and losses", (
        _t("A1.P", "property tests that catch bugs in A1", "", 10,
           "write Hypothesis tests in student_tests/", "A1.1 A1.2 A1.3 A1.4"),
    ), "a1p.md", student_tests="student_tests/test_a1_properties.py"),
    Assignment("A2", "Hand-written backward passes", (
        _t("A2.1", "softplus backward", "minijax/nn/backward.py", 3,
           "the derivative of log(1 + e^x) is the sigmoid of x", forbidden=_GRAD),
        _t("A2.2", "logsumexp backward", "minijax/nn/backward.py", 3,
           "the residual is softmax(x); broadcast the cotangent over the last axis",
           forbidden=_GRAD),
        _t("A2.3", "linear backward", "minijax/nn/backward.py", 4,
           "x_bar = g W^T, W_bar = x^T g summed over every batch axis, b_bar = sum of g",
           forbidden=_GRAD),
    ), "a2.md"),
    Assignment("A3", "Optimizers with explicit state", (
        _t("A3.1", "apply_updates", "minijax/optim/base.py", 3,
           "p + u leaf by leaf with jax.tree.map, cast to p's dtype; None stays None"),
        _t("A3.2", "trace (momentum)", "minijax/optim/transform.py", 3,
           "new trace = g + decay * old trace; nesterov returns g + decay * new trace"),
        _t("A3.3", "scale_by_adam", "minijax/optim/transform.py", 3,
           "update both moments, increment the count, debias with the new count, then "
           "m_hat / (sqrt(v_hat + eps_root) + eps)"),
        _t("A3.4", "chain", "minijax/optim/combine.py", 3,
           "feed each transformation's updates to the next, collect the inner states "
           "in a tuple"),
        _t("A3.5", "exponential_decay", "minijax/optim/schedules.py", 3,
           "p = (count - transition_begin) / transition_steps, floored with staircase; "
           "init_value * decay_rate**p after the start, clipped at end_value"),
    ), "a3.md"),
    Assignment("A4", "The module system and Dense", (
        _t("A4.1", "Scope.param", "minijax/nn/scope.py", 5,
           "reserve the name; read and shape-check a stored param, or create it with a "
           "params key when the collection is mutable, else raise the missing error",
           "A4.2"),
        _t("A4.2", "Scope.make_rng", "minijax/nn/scope.py", 5,
           "fall back to the params stream; count this scope's draws per stream in "
           "store.counters and derive the key from the stream's LazyRng and the count",
           "A0.3"),
        _t("A4.3", "Dense.__call__", "minijax/nn/linear.py", 5,
           "kernel (in, features) and bias (features,) params, promote_dtype, then "
           "lax.dot_general over the last axis of the inputs", "A4.1 A4.2"),
    ), "a4.md"),
    Assignment("A5", "Layers", (
        _t("A5.1", "Conv: kernel and bias", "minijax/nn/conv.py", 3,
           "kernel param of kernel_shape (times the mask), bias of (features,) when "
           "use_bias, then promote_dtype with the inputs", "A4.1 A4.2"),
        _t("A5.2", "compute_stats and normalize", "minijax/nn/normalization.py", 3,
           "mean over the axes; var = max(0, E[x^2] - E[x]^2); normalize broadcasts "
           "them back with expand_dims, then scale and bias params", "A4.1 A4.2"),
        _t("A5.3", "BatchNorm statistics", "minijax/nn/batch_norm.py", 3,
           "running averages at use_running_average, else batch stats; update the "
           "averages with momentum unless initializing", "A5.2"),
        _t("A5.4", "Dropout", "minijax/nn/stochastic.py", 2,
           "a bernoulli keep mask (broadcast_dims of size 1), kept entries / keep",
           "A4.2"),
        _t("A5.5", "pool", "minijax/nn/pooling.py", 2,
           "window and strides of 1 on the batch and feature axes, then "
           "lax.reduce_window"),
        _t("A5.6", "Embed.__call__", "minijax/nn/linear.py", 2,
           "promote the table, then take its rows with the ids", "A4.1 A4.2"),
    ), "a5.md"),
    Assignment("A5.P", "Property tests for layers", (
        _t("A5.P", "property tests that catch bugs in A5", "", 10,
           "write Hypothesis tests in student_tests/", "A5.1 A5.2 A5.3 A5.4 A5.5 A5.6"),
    ), "a5p.md", student_tests="student_tests/test_a5_properties.py"),
    Assignment("A6", "Training: TrainState, the step and the loop", (
        _t("A6.1", "TrainState.apply_gradients", "minijax/train/state.py", 5,
           "tx.update, then apply_updates, then replace step, params and opt_state "
           "(and the extra kwargs)", "A0.1 A0.2 A3.1"),
        _t("A6.2", "train_step_fn", "minijax/train/step.py", 5,
           "value_and_grad of the loss in params (has_aux: split the aux), then "
           "apply_gradients; metrics get the loss", "A6.1"),
        _t("A6.3", "scan_steps", "minijax/train/loop.py", 5,
           "lax.scan the step over the batches with the state as the carry", "A6.2"),
    ), "a6.md", examples=("_common.py", "cnn_classifier.py")),
    Assignment("A7", "Attention and recurrent cells", (
        _t("A7.1", "dot_product_attention_weights", "minijax/nn/attention.py", 5,
           "scale the query by 1/sqrt(depth), einsum '...qhd,...khd->...hqk', add the "
           "bias, mask with finfo.min, softmax over the keys", forbidden="flax"),
        _t("A7.2", "make_causal_mask", "minijax/nn/attention.py", 2,
           "positions broadcast to x's shape, paired with greater_equal by "
           "make_attention_mask"),
        _t("A7.3", "lstm_gates", "minijax/nn/recurrent.py", 4,
           "i, f, o through gate_fn, g through activation_fn; c' = f c + i g and "
           "h' = o activation_fn(c')"),
        _t("A7.4", "gru_gates", "minijax/nn/recurrent.py", 4,
           "r and z from the sums of the projections; n = act(x_n + r h_n); "
           "h' = (1 - z) n + z h"),
    ), "a7.md", examples=("_common.py", "tiny_transformer.py")),
)

_TASKS = {t.id: t for a in ASSIGNMENTS for t in a.tasks}
_OF = {t.id: a for a in ASSIGNMENTS for t in a.tasks}


def _unknown(kind: str, name: str, known: list[str]) -> KeyError:
    return KeyError(f"unknown {kind} {name!r}; the {kind}s are: {', '.join(known)}")


def assignment(id: str) -> Assignment:
    """The assignment `id` (`A0`...`A7`, `A1.P`, `A5.P`; case-insensitive)."""
    for a in ASSIGNMENTS:
        if a.id.lower() == id.lower():
            return a
    raise _unknown("assignment", id, [a.id for a in ASSIGNMENTS])


def task(id: str) -> Task:
    """The task `id` (`A4.1`, `A1.P`...; case-insensitive)."""
    for t in _TASKS.values():
        if t.id.lower() == id.lower():
            return t
    raise _unknown("task", id, list(_TASKS))


def assignment_of(task_id: str) -> Assignment:
    """The assignment that holds the task `task_id`."""
    return _OF[task(task_id).id]


def dependencies(task_id: str) -> set[str]:
    """Every task that `task_id` depends on, directly or not."""
    seen: set[str] = set()
    todo = list(task(task_id).depends)
    while todo:
        d = todo.pop()
        if d not in seen:
            seen.add(d)
            todo.extend(_TASKS[d].depends)
    return seen


def order(id: str) -> int:
    """The position of assignment `id` in the course."""
    return [a.id for a in ASSIGNMENTS].index(assignment(id).id)


def test_task(test_name: str) -> str | None:
    """The task a course test belongs to, from its name: `test_a1_1_sums_to_one` is A1.1."""
    m = re.match(r"test_a(\d+)(p|_(\d+))_", test_name)
    if m is None:
        return None
    if m.group(2) == "p":
        return f"A{m.group(1)}.P"
    return f"A{m.group(1)}.{m.group(3)}"


test_task.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
