#!/usr/bin/python3
"""Looks at the window through the accessibility bus (AT-SPI), as a screen
reader would: the names AccessKit publishes, and the actions it offers.

  atspi_probe.py names PID          every "role<TAB>name" in the app's tree
  atspi_probe.py click PID NAME [ROLE]  the default action of the node named
                                        NAME (and with that role)
  atspi_probe.py focus PID NAME [ROLE]  moves the keyboard focus to it

Exits 1 with a message when the app or the node is not there (yet).
"""
import sys

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi  # noqa: E402


def app_of(pid):
    desktop = Atspi.get_desktop(0)
    for index in range(desktop.get_child_count()):
        app = desktop.get_child_at_index(index)
        if app is not None and app.get_process_id() == pid:
            return app
    return None


def walk(node, depth=0):
    if node is None or depth > 64:
        return
    yield node
    for index in range(node.get_child_count()):
        yield from walk(node.get_child_at_index(index), depth + 1)


def find(app, name, role=None):
    for node in walk(app):
        if node.get_name() == name and role in (None, node.get_role_name()):
            return node
    return None


def main():
    command, pid = sys.argv[1], int(sys.argv[2])
    app = app_of(pid)
    if app is None:
        sys.exit(f"no accessible app with pid {pid}")
    if command == "names":
        lines = [
            f"{node.get_role_name()}\t{node.get_name()}"
            for node in walk(app)
            if node.get_name()
        ]
        print("\n".join(lines))
        return
    name = sys.argv[3]
    role = sys.argv[4] if len(sys.argv) > 4 else None
    node = find(app, name, role)
    if node is None:
        sys.exit(f"no node named {name!r}")
    if command == "click":
        if Atspi.Action.get_n_actions(node) == 0:
            sys.exit(f"{name!r} has no action")
        Atspi.Action.do_action(node, 0)
    elif command == "focus":
        if not Atspi.Component.grab_focus(node):
            sys.exit(f"cannot focus {name!r}")
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
