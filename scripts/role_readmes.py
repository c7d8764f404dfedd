"""Write the variables part of each role's README.md from the role's meta/argument_specs.yml.

The part lies between the two marker lines below; what a README holds around them (an introduction, an example, how
the role is tested) is written by hand and left alone. A role without a README gets one with a title and that part.
Ansible's documentation markup (C(), O(), M(), ...) becomes Markdown.

Usage: python scripts/role_readmes.py [--check] [ROLES_DIR]
  --check   write nothing; list the READMEs that differ from what their argument specs give, exit 1 if any does.
"""

import argparse
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN = "<!-- BEGIN variables: generated from meta/argument_specs.yml by scripts/role_readmes.py -->"
END = "<!-- END variables -->"

_MARKUP = re.compile(r"\b(C|O|V|E|RV|M|I|B|U|L|R)\(([^()]*)\)")


def markdown(text):
    """One documentation string with Ansible's markup turned into Markdown."""

    def convert(match):
        kind, body = match.groups()
        if kind in ("C", "O", "V", "E", "RV", "M"):
            return "`%s`" % body
        if kind == "I":
            return "*%s*" % body
        if kind == "B":
            return "**%s**" % body
        if kind == "U":
            return "<%s>" % body
        text, _sep, target = body.rpartition(",")
        return "[%s](%s)" % (text.strip(), target.strip()) if kind == "L" else text.strip()

    return _MARKUP.sub(convert, str(text).strip())


def _paragraphs(description):
    if description is None:
        return []
    items = description if isinstance(description, list) else [description]
    return [markdown(item) for item in items]


def _cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def _default(spec):
    if "default" not in spec:
        return "*required*" if spec.get("required") else ""
    value = spec["default"]
    if value is None:
        return "`null`"
    return "`%s`" % (yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix("\n...")
                     if not isinstance(value, str) else ('""' if value == "" else value))


def _type(spec):
    kind = spec.get("type", "str")
    if kind == "list" and spec.get("elements"):
        return "list of %s" % spec["elements"]
    return kind


def _rows(options, prefix=""):
    for name, spec in options.items():
        spec = spec or {}
        text = " ".join(_paragraphs(spec.get("description")))
        if spec.get("choices"):
            text += " Choices: %s." % ", ".join("`%s`" % choice for choice in spec["choices"])
        yield "| `%s%s` | %s | %s | %s |" % (prefix, name, _type(spec), _cell(_default(spec)), _cell(text))
        sub = spec.get("options") or spec.get("suboptions")
        if sub:
            yield from _rows(sub, "%s%s%s." % (prefix, name, "[]" if spec.get("type") == "list" else ""))


def generated_part(specs):
    """The README part for a role's ``argument_specs`` mapping: each entry point, then each set of variables once."""
    lines = [BEGIN, "", "## Entry points", ""]
    for entry, spec in specs.items():
        lines.append("- `%s`: %s" % (entry, markdown(spec.get("short_description", ""))))
    groups = []
    for entry, spec in specs.items():
        options = spec.get("options") or {}
        for group in groups:
            if group[1] == options:
                group[0].append(entry)
                break
        else:
            groups.append(([entry], options))
    for entry, spec in specs.items():
        paragraphs = _paragraphs(spec.get("description"))
        if paragraphs:
            lines += ["", "### `%s`" % entry, ""] + ["%s\n" % p for p in paragraphs[:-1]] + [paragraphs[-1]]
    for entries, options in groups:
        names = ", ".join("`%s`" % entry for entry in entries)
        lines += ["", "## Variables of %s" % names, ""]
        if not options:
            lines.append("None.")
            continue
        lines += ["Checked against `meta/argument_specs.yml` before the role's first task runs.", "",
                  "| Variable | Type | Default | Description |", "|---|---|---|---|"]
        lines += list(_rows(options))
    lines += ["", END]
    return "\n".join(lines)


def render(role_dir, current):
    """The README of ``role_dir`` given its ``current`` text (None when it has none)."""
    with open(os.path.join(role_dir, "meta", "argument_specs.yml")) as handle:
        specs = yaml.safe_load(handle)["argument_specs"]
    part = generated_part(specs)
    if current is None:
        name = os.path.basename(os.path.normpath(role_dir))
        main = specs.get("main") or next(iter(specs.values()))
        return "# baton.docker.%s\n\n%s\n\n%s\n" % (name, markdown(main.get("short_description", "")), part)
    if BEGIN in current and END in current:
        head, _sep, rest = current.partition(BEGIN)
        _old, _sep, tail = rest.partition(END)
        return head + part + tail
    return current.rstrip("\n") + "\n\n" + part + "\n"


def role_dirs(roles_dir):
    return sorted(os.path.join(roles_dir, name) for name in os.listdir(roles_dir)
                  if os.path.isfile(os.path.join(roles_dir, name, "meta", "argument_specs.yml")))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("roles_dir", nargs="?", default=os.path.join(ROOT, "roles"))
    args = parser.parse_args(argv)
    stale = []
    for role_dir in role_dirs(args.roles_dir):
        path = os.path.join(role_dir, "README.md")
        current = open(path).read() if os.path.exists(path) else None
        wanted = render(role_dir, current)
        if wanted == current:
            continue
        stale.append(path)
        if not args.check:
            with open(path, "w") as handle:
                handle.write(wanted)
    for path in stale:
        print("%s %s" % ("out of date:" if args.check else "written:", os.path.relpath(path, ROOT)))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
