"""The screens extend Textual's Screen without replacing its own methods: a screen method
that takes the name of one of Textual's (``run_action``, ``_add_children``) breaks Textual
wherever it calls that method on the screen."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

from textual.screen import Screen

import tui.screens

HOOKS = {"compose", "check_action"}
"""Screen methods Textual means to be overridden."""


def screen_classes() -> list[type[Screen]]:
    for module in pkgutil.walk_packages(tui.screens.__path__, "tui.screens."):
        importlib.import_module(module.name)
    found, todo = [], list(Screen.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("tui."):
            found.append(cls)
    return found


def test_no_screen_replaces_a_method_of_textual():
    classes = screen_classes()
    assert len(classes) > 10
    shadowing = [f"{cls.__name__}.{name}" for cls in classes for name, value in vars(cls).items()
                 if (inspect.isfunction(value) or isinstance(value, property))
                 and hasattr(Screen, name) and name not in HOOKS and not name.startswith("__")]
    assert shadowing == []


async def test_the_dashboard_runs_an_action_by_name_as_textual_does(folder_settings):
    """Textual's ``run_action`` (a link in markup, a command) works on the dashboard: it was
    replaced by the handler of the action list, which took an OptionSelected event."""
    from tuihelpers import settle

    from tui.app import OdbackupApp
    from tui.screens.logs import LogsScreen

    app = OdbackupApp(folder_settings)
    async with app.run_test() as pilot:
        await settle(pilot)
        await app.screen.run_action("logs")
        await settle(pilot)
        assert isinstance(app.screen, LogsScreen)
