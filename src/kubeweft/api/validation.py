"""CEL validation rules on model fields and types (``x-kubernetes-validations``).

A pydantic type states what one value may be; a rule the API server evaluates in CEL
states what several values may be together (``requests`` at most ``limits``) and how a
value may change (``self == oldSelf``: immutable), which no JSON Schema keyword can.
Rules are declared where they apply and land in the CRD unchanged::

    class Resources(ResourceModel):
        model_config = ConfigDict(json_schema_extra=validations(
            Rule("!has(self.requests) || !has(self.limits) || ...",
                 message="requests must not exceed limits", field_path=".requests"),
        ))

    name: str = Field(json_schema_extra=validations(immutable("name is immutable")))

The API server compiles every rule when the CRD is applied (a rule that does not
compile, or whose cost is unbounded, refuses the CRD) and evaluates it on every write,
so a rule is enforced for kubectl, controllers and the REST layer alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic.config import JsonDict

__all__ = ["Rule", "immutable", "validations"]

Reason = Literal[
    "FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate"
]


@dataclass(frozen=True)
class Rule:
    """One ``x-kubernetes-validations`` entry.

    ``rule`` is CEL with ``self`` the value (and ``oldSelf`` the stored value on an
    update: a *transition rule*, evaluated only when there is an old value unless
    ``optional_old_self``). ``message`` is fixed text; ``message_expression`` a CEL
    string expression. ``field_path`` (``.requests.cpu``) names the field the error is
    reported on, relative to where the rule is declared.
    """

    rule: str
    message: str | None = None
    message_expression: str | None = None
    field_path: str | None = None
    reason: Reason | None = None
    optional_old_self: bool | None = None

    def to_schema(self) -> JsonDict:
        entry: JsonDict = {"rule": self.rule}
        for key, value in (
            ("message", self.message),
            ("messageExpression", self.message_expression),
            ("fieldPath", self.field_path),
            ("reason", self.reason),
            ("optionalOldSelf", self.optional_old_self),
        ):
            if value is not None:
                entry[key] = value
        return entry


def validations(*rules: Rule) -> JsonDict:
    """Schema extras carrying ``rules``: ``Field(json_schema_extra=validations(...))`` on a
    field, ``model_config = ConfigDict(json_schema_extra=validations(...))`` on a type.
    Combine with other extras by merging dicts (``{**list_map("name"), **validations(r)}``)."""
    if not rules:
        raise ValueError("validations() needs at least one Rule")
    return {"x-kubernetes-validations": [rule.to_schema() for rule in rules]}


def immutable(message: str) -> Rule:
    """The transition rule that keeps a value as it was first written."""
    return Rule("self == oldSelf", message=message)
