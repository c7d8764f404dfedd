"""The rules AWX applies to a job template's survey_spec, as its documentation states them, for checking our
templates without an AWX API: errors are returned as strings naming the question."""

import re

TYPES = ("text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect")
ITEM_KEYS = ("type", "question_name", "question_description", "variable", "required", "default", "choices", "min",
             "max", "new_question")
VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _number(value, integer):
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if integer else isinstance(value, (int, float))


def _choices(item):
    choices = item.get("choices")
    if isinstance(choices, str):
        choices = [c for c in choices.split("\n") if c]
    return choices


def _item_errors(index, item, seen):
    where = "spec[%d]" % index
    if not isinstance(item, dict):
        return ["%s: a question is a mapping" % where]
    name = item.get("question_name")
    if isinstance(name, str) and name:
        where += " (%s)" % name
    errors = ["%s: unknown key %s" % (where, key) for key in sorted(set(item) - set(ITEM_KEYS))]
    kind = item.get("type")
    if kind not in TYPES:
        errors.append("%s.type: %r is not one of %s" % (where, kind, ", ".join(TYPES)))
    if not isinstance(name, str) or not name.strip():
        errors.append("%s.question_name: required, a non-empty string" % where)
    variable = item.get("variable")
    if not isinstance(variable, str) or not VARIABLE.match(variable):
        errors.append("%s.variable: %r is not a variable name" % (where, variable))
    elif variable in seen:
        errors.append("%s.variable: %s is asked twice" % (where, variable))
    else:
        seen.add(variable)
    if not isinstance(item.get("required"), bool):
        errors.append("%s.required: must be true or false" % where)
    if kind not in TYPES:
        return errors

    low, high = item.get("min"), item.get("max")
    integer = kind != "float"
    for key, value in (("min", low), ("max", high)):
        if value not in (None, "") and not _number(value, integer):
            errors.append("%s.%s: %r is not %s" % (where, key, value, "an integer" if integer else "a number"))
    bounded = [v if _number(v, integer) else None for v in (low, high)]
    if None not in bounded and bounded[0] > bounded[1]:
        errors.append("%s: min %s is above max %s" % (where, low, high))

    choices = _choices(item)
    if kind in ("multiplechoice", "multiselect"):
        if not isinstance(choices, list) or not choices or not all(isinstance(c, str) and c for c in choices):
            errors.append("%s.choices: a %s question needs a list of non-empty strings" % (where, kind))
            choices = []
        elif len(set(choices)) != len(choices):
            errors.append("%s.choices: a choice is listed twice" % where)
    elif choices not in (None, "", []):
        errors.append("%s.choices: only multiplechoice and multiselect questions have choices" % where)

    if "default" not in item or item["default"] in (None, ""):
        return errors
    default = item["default"]
    if kind in ("text", "textarea", "password"):
        if not isinstance(default, str):
            errors.append("%s.default: %r is not a string" % (where, default))
        else:
            if bounded[0] is not None and len(default) < bounded[0]:
                errors.append("%s.default: shorter than min %s" % (where, low))
            if bounded[1] is not None and len(default) > bounded[1]:
                errors.append("%s.default: longer than max %s" % (where, high))
    elif kind in ("integer", "float"):
        if not _number(default, integer):
            errors.append("%s.default: %r is not %s" % (where, default, "an integer" if integer else "a number"))
        elif (bounded[0] is not None and default < bounded[0]) or (bounded[1] is not None and default > bounded[1]):
            errors.append("%s.default: %s is outside min %s .. max %s" % (where, default, low, high))
    elif kind == "multiplechoice":
        if default not in choices:
            errors.append("%s.default: %r is not one of the choices" % (where, default))
    else:
        values = [v for v in default.split("\n") if v] if isinstance(default, str) else default
        if not isinstance(values, list) or any(v not in choices for v in values):
            errors.append("%s.default: %r is not a list of the choices" % (where, default))
    return errors


def survey_errors(survey):
    """Every way ``survey`` (a survey_spec) breaks AWX's rules; empty when AWX accepts it."""
    if not isinstance(survey, dict):
        return ["survey_spec: a mapping with name, description and spec"]
    errors = []
    for key in ("name", "description"):
        if not isinstance(survey.get(key), str):
            errors.append("survey_spec.%s: required, a string" % key)
    spec = survey.get("spec")
    if not isinstance(spec, list) or not spec:
        return errors + ["survey_spec.spec: a non-empty list of questions"]
    seen = set()
    for index, item in enumerate(spec):
        errors.extend(_item_errors(index, item, seen))
    return errors
