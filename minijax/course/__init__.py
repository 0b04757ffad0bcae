"""minijax's course kit: assignments cut from the library itself, graded by its tests.

The library is the solution: each exercise is a region of the real source between
`# >>> TASK A4.1` and `# <<< TASK A4.1`. `python -m minijax.course` lists the
assignments, releases student repositories with those regions stubbed, builds
Gradescope bundles, grades submissions by splicing only their regions into a clean
tree, and grades students' property tests by mutation. The instructors' page of the
docs, `docs/course/index.md`, describes the whole.

>>> from minijax.course import manifest
>>> [a.id for a in manifest.ASSIGNMENTS]
['A0', 'A1', 'A1.P', 'A2', 'A3', 'A4', 'A5', 'A5.P', 'A6', 'A7']
"""

__all__: list[str] = []
