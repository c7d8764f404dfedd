"""Every module's EXAMPLES name only options (and suboptions) its argument spec has: a task of any baton.docker module
in any module's EXAMPLES is checked against that module's spec, as AnsibleModule builds it (its own options, those of
its backends, and their aliases)."""

import importlib
import os

import pytest
import yaml

from ansible_collections.baton.docker.plugins.module_utils import _module
from tests.support.module_harness import full_argument_spec

MODULES_DIR = os.path.join(os.path.dirname(os.path.abspath(_module.__file__)), "..", "modules")
MODULES = sorted(name[:-3] for name in os.listdir(MODULES_DIR) if name.endswith(".py") and name != "__init__.py")


def plugin(name):
    return importlib.import_module("ansible_collections.baton.docker.plugins.modules." + name)


def unknown_options(args, spec, path):
    """The paths of the keys of ``args`` that ``spec`` has no option (or alias) for, its suboptions included."""
    names = {}
    for option, entry in spec.items():
        for name in [option] + list(entry.get("aliases") or []):
            names[name] = entry
    found = []
    for key, value in args.items():
        entry = names.get(key)
        if entry is None:
            found.append("%s%s" % (path, key))
            continue
        sub = entry.get("options")
        if not sub:
            continue
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            if isinstance(item, dict):
                where = "%s%s%s." % (path, key, "[%d]" % index if isinstance(value, list) else "")
                found += unknown_options(item, sub, where)
    return found


def tasks_of(node):
    """Every task of a list of tasks or plays, blocks and plays' task lists included."""
    if isinstance(node, list):
        for item in node:
            yield from tasks_of(item)
    elif isinstance(node, dict):
        nested = [node[key] for key in ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always")
                  if isinstance(node.get(key), list)]
        if nested:
            for part in nested:
                yield from tasks_of(part)
        else:
            yield node


def module_tasks(name):
    """(module called, its arguments) for every task of module ``name``'s EXAMPLES that calls a baton.docker module."""
    examples = yaml.safe_load(plugin(name).EXAMPLES)
    for task in tasks_of(examples):
        for key, args in task.items():
            if key.startswith("baton.docker.") and isinstance(args, dict):
                yield key.split(".")[-1], args


@pytest.mark.parametrize("name", MODULES)
def test_examples_name_only_options_the_module_has(name, monkeypatch):
    calls = list(module_tasks(name))
    assert calls, "the EXAMPLES of %s call no baton.docker module" % name
    assert name in [called for called, _args in calls], "the EXAMPLES of %s never call it" % name
    specs = {}
    for called, args in calls:
        if called not in specs:
            specs[called] = full_argument_spec(plugin(called), monkeypatch)
        assert unknown_options(args, specs[called], "") == [], "%s EXAMPLES: baton.docker.%s" % (name, called)


def test_an_unknown_option_or_suboption_is_found():
    spec = {"name": {"type": "str", "aliases": ["n"]},
            "units": {"type": "list", "elements": "dict", "options": {"name": {"type": "str"}}},
            "auth": {"type": "dict", "options": {"user": {"type": "str"}}}}
    args = {"n": "x", "colour": 1, "units": [{"name": "a"}, {"nme": "b"}], "auth": {"user": "u", "pass": "p"}}
    assert unknown_options(args, spec, "") == ["colour", "units[1].nme", "auth.pass"]
    assert unknown_options({"units": "{{ units }}", "auth": "{{ auth }}"}, spec, "") == []
