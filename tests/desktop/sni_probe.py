#!/usr/bin/python3
"""Looks at the tray from the outside, over D-Bus, as a tray host would.

Run with Debian's /usr/bin/python3 (python3-dbus). Commands:
  items                  print the registered StatusNotifierItems, one per line
  menu ITEM              print the labels of ITEM's menu, one per line
  click ITEM LABEL       click the menu entry with that label
ITEM is a bus name as printed by `items` (the first one if "first").
Exits non-zero with a message on stderr when something is missing.
"""

import sys
import time

import dbus

WATCHER = "org.kde.StatusNotifierWatcher"


def items(bus):
    watcher = bus.get_object(WATCHER, "/StatusNotifierWatcher")
    props = dbus.Interface(watcher, "org.freedesktop.DBus.Properties")
    return [str(i) for i in props.Get(WATCHER, "RegisteredStatusNotifierItems")]


def resolve(bus, item):
    if item == "first":
        found = items(bus)
        if not found:
            sys.exit("no StatusNotifierItem is registered")
        item = found[0]
    # Items register as "bus-name" or "bus-name/object/path".
    name, _, path = item.partition("/")
    return name, "/" + path if path else "/StatusNotifierItem"


def menu_layout(bus, item):
    name, path = resolve(bus, item)
    sni = bus.get_object(name, path)
    menu_path = dbus.Interface(sni, "org.freedesktop.DBus.Properties").Get("org.kde.StatusNotifierItem", "Menu")
    menu = dbus.Interface(bus.get_object(name, menu_path), "com.canonical.dbusmenu")
    _revision, layout = menu.GetLayout(0, -1, [])
    entries = []

    def walk(node):
        node_id, props, children = node
        label = props.get("label")
        if label is not None:
            entries.append((int(node_id), str(label).replace("_", "")))
        for child in children:
            walk(child)

    walk(layout)
    return menu, entries


def main():
    bus = dbus.SessionBus()
    command = sys.argv[1] if len(sys.argv) > 1 else "items"
    if command == "items":
        for item in items(bus):
            print(item)
    elif command == "menu":
        _menu, entries = menu_layout(bus, sys.argv[2])
        for _id, label in entries:
            print(label)
    elif command == "click":
        menu, entries = menu_layout(bus, sys.argv[2])
        wanted = sys.argv[3]
        matches = [i for i, label in entries if label == wanted]
        if not matches:
            sys.exit(f"no menu entry labelled {wanted!r}; have {[l for _, l in entries]}")
        try:
            menu.Event(matches[0], "clicked", dbus.String("", variant_level=1), dbus.UInt32(int(time.time())))
        except dbus.exceptions.DBusException as error:
            # An entry that ends the app (Quit) may end it before the reply
            # goes out: the click was delivered all the same.
            if error.get_dbus_name() != "org.freedesktop.DBus.Error.NoReply":
                raise
        print(f"clicked {wanted!r}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
