"""Each role's README holds the variables its meta/argument_specs.yml declares (scripts/role_readmes.py writes them)."""

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("role_readmes", os.path.join(ROOT, "scripts", "role_readmes.py"))
role_readmes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(role_readmes)

ROLES = role_readmes.role_dirs(os.path.join(ROOT, "roles"))


def test_every_role_is_covered():
    assert {os.path.basename(path) for path in ROLES} == set(os.listdir(os.path.join(ROOT, "roles")))


@pytest.mark.parametrize("role_dir", ROLES, ids=os.path.basename)
def test_readme_is_up_to_date(role_dir):
    with open(os.path.join(role_dir, "README.md")) as handle:
        current = handle.read()
    assert current == role_readmes.render(role_dir, current), (
        "%s/README.md is out of date: run .venv/bin/python scripts/role_readmes.py" % os.path.relpath(role_dir, ROOT))


@pytest.mark.parametrize("text, expected", [
    ("C(a) O(b=1) V(x) E(HOME) M(baton.docker.rollout) RV(image.id)", "`a` `b=1` `x` `HOME` `baton.docker.rollout` `image.id`"),
    ("I(never) B(always)", "*never* **always**"),
    ("U(https://example.com) L(the guide,https://example.com/g)", "<https://example.com> [the guide](https://example.com/g)"),
    ("R(rollback,ansible_collections.baton.docker.docsite.rollback)", "rollback"),
    ("plain (parenthesised) text", "plain (parenthesised) text"),
])
def test_markup_becomes_markdown(text, expected):
    assert role_readmes.markdown(text) == expected


def test_a_stale_part_is_replaced_and_the_hand_written_text_kept(tmp_path):
    role = tmp_path / "demo"
    (role / "meta").mkdir(parents=True)
    (role / "meta" / "argument_specs.yml").write_text(
        "argument_specs:\n  main:\n    short_description: Demo\n    options:\n"
        "      demo_port: {type: int, default: 80, description: 'Port, C(80) by default | or not.'}\n"
        "      demo_items: {type: list, elements: dict, required: true, description: Items.,\n"
        "                   options: {name: {type: str, required: true, description: Name.}}}\n")
    text = "# demo\n\nIntro.\n\n%s\nold table\n%s\n\n## Example\n" % (role_readmes.BEGIN, role_readmes.END)
    rendered = role_readmes.render(str(role), text)
    assert rendered.startswith("# demo\n\nIntro.\n\n" + role_readmes.BEGIN)
    assert rendered.endswith(role_readmes.END + "\n\n## Example\n")
    assert "old table" not in rendered
    assert "| `demo_port` | int | `80` | Port, `80` by default \\| or not. |" in rendered
    assert "| `demo_items` | list of dict | *required* | Items. |" in rendered
    assert "| `demo_items[].name` | str | *required* | Name. |" in rendered
    assert role_readmes.render(str(role), None).startswith("# baton.docker.demo\n\nDemo\n\n" + role_readmes.BEGIN)
