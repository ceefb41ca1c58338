"""The Python in docs/python.md runs: the app it shows, and its test."""

import os
import re
import sys
import types

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "python.md")


def test_the_guide_s_app_and_test_run():
    blocks = re.findall(r"```python\n(.*?)```", open(DOCS, encoding="utf-8").read(), re.S)
    app_code = next(block for block in blocks if "class Wiener(App)" in block)
    test_code = next(block for block in blocks if "def test_" in block)
    module = types.ModuleType("wiener")
    exec(compile(app_code, "docs/python.md", "exec"), module.__dict__)
    sys.modules["wiener"] = module
    namespace = {}
    exec(compile(test_code, "docs/python.md", "exec"), namespace)
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    assert tests
    for test in tests:
        test()
