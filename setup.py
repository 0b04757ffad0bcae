"""The package list, which pyproject.toml cannot express: every `minijax*` package,
plus the example scripts of `examples/`, installed as `minijax.examples`."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["minijax*"]), "minijax.examples"],
    package_dir={"minijax.examples": "examples"},
)
