"""awx/playbooks/awx_templates.yml: every survey passes AWX's rules (tests/support/awx_survey.py, itself tested here
with surveys AWX refuses), every template keeps one job at a time and no slicing, and ansible-playbook accepts the
playbook with the awx.awx collection (scripts/bundled_collections.sh) installed."""

import os
import subprocess
import sys

import pytest
import yaml

from tests.support.awx_survey import survey_errors

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, "awx", "playbooks", "awx_templates.yml")


def _unsafe(loader, node):
    return loader.construct_scalar(node)


class Loader(yaml.SafeLoader):
    pass


Loader.add_constructor("!unsafe", _unsafe)


def templates():
    """The job_template tasks' arguments, in order."""
    with open(PLAYBOOK) as handle:
        play = yaml.load(handle, Loader=Loader)[0]
    return [t["awx.awx.job_template"] for t in play["tasks"] if "awx.awx.job_template" in t]


def question(**extra):
    item = dict(type="text", question_name="Tag", variable="version", required=True)
    item.update(extra)
    return item


def survey(*items):
    return dict(name="s", description="d", spec=list(items))


GOOD = [
    survey(question(), question(type="integer", question_name="n", variable="batch_size", default=1, min=1, max=5)),
    survey(question(type="multiselect", variable="x", choices="a\nb", default="a")),
    survey(question(type="multiplechoice", variable="x", choices=["a", "b"], default="b"),
           question(type="float", variable="ratio", min=0.5, max=2, default=1.5)),
    survey(question(type="password", variable="secret", min=8, max="")),
]

BAD = [
    ([], "survey_spec: a mapping"),
    (dict(name="s", description="d", spec=[]), "survey_spec.spec: a non-empty list"),
    (dict(description="d", spec=[question()]), "survey_spec.name: required"),
    (survey(question(type="list")), "spec[0] (Tag).type: 'list' is not one of"),
    (survey(question(question_name="")), "spec[0].question_name: required"),
    (survey(question(variable="1st")), "spec[0] (Tag).variable: '1st' is not a variable name"),
    (survey(question(), question(question_name="again")), "spec[1] (again).variable: version is asked twice"),
    (survey(question(required="yes")), "spec[0] (Tag).required: must be true or false"),
    (survey(question(colour="red")), "spec[0] (Tag): unknown key colour"),
    (survey(question(type="integer", default="1")), "spec[0] (Tag).default: '1' is not an integer"),
    (survey(question(type="integer", default=True)), "spec[0] (Tag).default: True is not an integer"),
    (survey(question(type="integer", min=1, max=5, default=9)), "spec[0] (Tag).default: 9 is outside min 1 .. max 5"),
    (survey(question(min=5, max=2)), "spec[0] (Tag): min 5 is above max 2"),
    (survey(question(type="float", min="low")), "spec[0] (Tag).min: 'low' is not a number"),
    (survey(question(max=3, default="toolong")), "spec[0] (Tag).default: longer than max 3"),
    (survey(question(default=7)), "spec[0] (Tag).default: 7 is not a string"),
    (survey(question(type="multiplechoice")), "spec[0] (Tag).choices: a multiplechoice question needs a list"),
    (survey(question(type="multiplechoice", choices=["a", "a"])), "spec[0] (Tag).choices: a choice is listed twice"),
    (survey(question(type="multiplechoice", choices=["a"], default="b")), "spec[0] (Tag).default: 'b' is not one of"),
    (survey(question(type="multiselect", choices=["a"], default=["a", "c"])), "is not a list of the choices"),
    (survey(question(choices=["a"])), "spec[0] (Tag).choices: only multiplechoice and multiselect"),
    (survey("text"), "spec[0]: a question is a mapping"),
]


@pytest.mark.parametrize("spec", GOOD)
def test_surveys_awx_accepts(spec):
    assert survey_errors(spec) == []


@pytest.mark.parametrize("spec,message", BAD, ids=[b[1][:40] for b in BAD])
def test_surveys_awx_refuses(spec, message):
    errors = survey_errors(spec)
    assert any(message in error for error in errors), errors


def test_every_template_survey_follows_awx_rules():
    found = templates()
    assert [t["name"] for t in found] == ["baton.docker deploy", "baton.docker rollback", "baton.docker release canary",
                                          "baton.docker release fleet", "baton.docker stack deploy",
                                          "baton.docker eb deploy"]
    for template in found:
        assert survey_errors(template["survey_spec"]) == [], template["name"]
        assert template["survey_enabled"] is True
        assert os.path.isfile(os.path.join(ROOT, template["playbook"])), template["playbook"]
    assert [q["variable"] for q in found[0]["survey_spec"]["spec"]] == ["version", "batch_size"]


def test_templates_run_one_job_at_a_time_unsliced():
    for template in templates():
        assert template["allow_simultaneous"] is False, template["name"]
        assert template["job_slice_count"] == 1, template["name"]
        assert template["ask_limit_on_launch"] is True, template["name"]


def test_the_playbook_passes_a_syntax_check_with_awx_awx():
    collections = os.path.join(ROOT, "build", "collections")
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "bundled_collections.sh"), "--dest", collections, "awx/awx"],
                   check=True, env=dict(os.environ, VENV=os.path.dirname(os.path.dirname(sys.executable))))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "--syntax-check",
                           PLAYBOOK], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


class _SpecSeen(Exception):
    pass


def awx_argument_spec(module_name):
    """The argument_spec an awx.awx module's main() declares (its ControllerAPIModule is stood in for)."""
    import importlib
    module = importlib.import_module("ansible_collections.awx.awx.plugins.modules." + module_name)
    seen = {}

    def record(argument_spec=None, **kwargs):
        seen.update(argument_spec)
        raise _SpecSeen()
    original = module.ControllerAPIModule
    module.ControllerAPIModule = record
    try:
        module.main()
    except _SpecSeen:
        pass
    finally:
        module.ControllerAPIModule = original
    return seen


def test_every_awx_task_uses_options_its_module_has():
    """What ansible-lint's args rule would check, for tasks whose templated values make it skip them."""
    bundled = os.path.join(ROOT, "build", "collections")
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "bundled_collections.sh"), "--dest", bundled, "awx/awx"],
                   check=True, env=dict(os.environ, VENV=os.path.dirname(os.path.dirname(sys.executable))))
    with open(PLAYBOOK) as handle:
        play = yaml.load(handle, Loader=Loader)[0]
    checked = 0
    for task in play["tasks"]:
        action = next(key for key in task if key.startswith("awx.awx."))
        spec = awx_argument_spec(action.split(".")[-1])
        assert spec, action
        for key, value in task[action].items():
            assert key in spec, "%s: %s has no option %s" % (task["name"], action, key)
            choices = spec[key].get("choices")
            if choices and not (isinstance(value, str) and "{{" in value):
                assert value in choices, "%s: %s=%r is not one of %s" % (task["name"], key, value, choices)
            if spec[key].get("type") == "bool":
                assert isinstance(value, bool) or "{{" in str(value), (task["name"], key, value)
        checked += 1
    assert checked == 13


def test_the_release_workflow_is_canary_then_approval_then_fleet():
    with open(PLAYBOOK) as handle:
        play = yaml.load(handle, Loader=Loader)[0]
    workflow = next(t["awx.awx.workflow_job_template"] for t in play["tasks"] if "awx.awx.workflow_job_template" in t)
    assert survey_errors(workflow["survey_spec"]) == [] and workflow["allow_simultaneous"] is False
    nodes = dict((n["identifier"], n) for n in workflow["workflow_nodes"])
    chain, node = [], nodes["canary"]
    while node:
        chain.append((node["unified_job_template"]["type"], node["unified_job_template"]["name"]))
        following = (node.get("related") or {}).get("success_nodes") or []
        node = nodes[following[0]["identifier"]] if following else None
    assert chain == [("job_template", "baton.docker release canary"),
                     ("workflow_approval", "Promote the canary to the fleet"),
                     ("job_template", "baton.docker release fleet")]
    phases = dict((t["name"], t["extra_vars"]["release_phase"]) for t in templates() if "extra_vars" in t)
    assert phases == {"baton.docker release canary": "canary", "baton.docker release fleet": "rest"}
    # What the canary job hands on (set_stats) is what the fleet job reads: the same release, lock and digest.
    with open(os.path.join(ROOT, "roles", "release", "tasks", "finish.yml")) as handle:
        finish = yaml.safe_load(handle)
    handed = [task["ansible.builtin.set_stats"]["data"] for task in _all_tasks(finish)
              if "ansible.builtin.set_stats" in task]
    assert handed and {"release_id", "release_image", "version"} <= set(handed[0])


def _all_tasks(tasks):
    for task in tasks:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _all_tasks(task.get(key) or [])
