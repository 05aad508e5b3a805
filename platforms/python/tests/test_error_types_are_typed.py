"""The error types are typed for mypy as they are at run time.

UniFFI declares each error class twice (the second time with `# type: ignore`),
so a type checker saw neither the variants nor their fields and flagged
`except BackendError.BatchRejected`. Each package ships `_errors.pyi`, a typed
view of its error types written by hand; these tests keep it equal to what
the library raises, and run mypy over the README examples and typical code."""

import ast
import inspect
import os
import subprocess
import sys

import pytest

import offline_auth as device
import offline_auth_backend as backend

TESTS = os.path.dirname(os.path.abspath(__file__))


def stub_of(package):
    """{error type: {variant: [field, ...]}} as _errors.pyi declares them."""
    path = os.path.join(os.path.dirname(package.__file__), "_errors.pyi")
    declared = {}
    for node in ast.parse(open(path, encoding="utf-8").read()).body:
        if isinstance(node, ast.ClassDef):
            declared[node.name] = {
                variant.name: [arg.arg for fn in variant.body if isinstance(fn, ast.FunctionDef) and fn.name == "__init__"
                               for arg in fn.args.args[1:]]
                for variant in node.body if isinstance(variant, ast.ClassDef)
            }
    return declared


def runtime_of(package):
    """{error type: {variant: [field, ...]}} of every exported error type with variants."""
    errors = {}
    for name in package.__all__:
        base = getattr(package, name)
        if isinstance(base, type) and issubclass(base, Exception) and base.__subclasses__():
            errors[name] = {v.__name__: list(inspect.signature(v.__init__).parameters)[1:] for v in base.__subclasses__()}
    return errors


@pytest.mark.parametrize("package", [device, backend], ids=["offline_auth", "offline_auth_backend"])
def test_the_typed_view_declares_every_error_variant_and_field_the_library_raises(package):
    assert stub_of(package) == runtime_of(package)


def test_both_packages_install_error_messages_from_the_same_source():
    sources = [open(os.path.join(os.path.dirname(p.__file__), "_error_messages.py"), encoding="utf-8").read()
               for p in (device, backend)]
    assert sources[0] == sources[1]


def test_mypy_accepts_the_readme_examples_and_typed_error_handling():
    # mypy comes with requirements-test.txt: a venv without it fails here rather than skipping.
    # The source tree's packages through MYPYPATH; installed ones (build-wheel.sh) as mypy finds them.
    paths = [os.path.dirname(os.path.dirname(p.__file__)) for p in (device, backend)]
    env = dict(os.environ)
    if not any(os.path.basename(p) == "site-packages" for p in paths):
        env["MYPYPATH"] = os.pathsep.join(paths)
    files = [os.path.join(TESTS, f) for f in ("readme_backend.py", "readme_device.py", "typed_error_handling.py")]
    run = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--follow-imports=silent", *files],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
