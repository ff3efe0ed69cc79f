"""``engine/__init__.py`` is where a newcomer starts: its list names every package and
module of the engine (a new one fails this test until it is listed with its role)."""
import pkgutil

import engine


def test_the_engine_docstring_lists_every_package_and_module():
    listed = engine.__doc__ or ""
    missing = []
    for module in pkgutil.iter_modules(engine.__path__):
        entry = f"``{module.name}/``" if module.ispkg else f"``{module.name}.py``"
        if f"\n{entry}\n" not in listed:
            missing.append(entry)
    assert missing == [], f"engine/__init__.py does not list {missing}"
