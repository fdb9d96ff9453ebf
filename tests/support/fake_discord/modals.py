"""Forms (modals) as the Discord client fills them in: what the bot showed, what the user typed.

The bot's type-9 callback holds the form: text boxes (type 4) in action rows (type 1) or in
labels (type 18). The user's answer keeps that layout, with a `value` per box, checked like
the client does (required boxes filled, lengths within min_length/max_length).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from . import errors
from .options import InvocationError
from .payloads import JSON

ACTION_ROW, TEXT_INPUT, LABEL = 1, 4, 18
MAX_TEXT_INPUT = 4000  # Discord's limit for one text box


def text_inputs(modal: JSON) -> Iterator[JSON]:
    """Every text box of a form, in order."""
    for component in modal.get("components") or []:
        if component.get("type") == ACTION_ROW:
            yield from (c for c in component.get("components") or [] if c["type"] == TEXT_INPUT)
        elif component.get("type") == LABEL and component["component"]["type"] == TEXT_INPUT:
            yield component["component"]


def filled_components(modal: JSON, values: Mapping[str, str]) -> list[JSON]:
    """The submission's `components`: each box's typed value, or its prefilled one."""
    boxes = {box["custom_id"]: box for box in text_inputs(modal)}
    unknown = set(values) - set(boxes)
    if unknown:
        raise InvocationError(f"the form has no text box {sorted(unknown)}; it has {list(boxes)}")
    answers = {
        custom_id: values.get(custom_id, box.get("value") or "") for custom_id, box in boxes.items()
    }
    for custom_id, box in boxes.items():
        _check(box, answers[custom_id])
    result: list[JSON] = []
    for component in modal.get("components") or []:
        if component.get("type") == ACTION_ROW:
            result.append(
                {
                    "type": ACTION_ROW,
                    "components": [
                        _answer(c, answers[c["custom_id"]])
                        for c in component.get("components") or []
                        if c["type"] == TEXT_INPUT
                    ],
                }
            )
        elif component.get("type") == LABEL:
            inner = component["component"]
            result.append({"type": LABEL, "component": _answer(inner, answers[inner["custom_id"]])})
    return result


def _answer(box: JSON, value: str) -> JSON:
    return {"type": TEXT_INPUT, "custom_id": box["custom_id"], "value": value}


def _check(box: JSON, value: str) -> None:
    name = box["custom_id"]
    if box.get("required", True) and not value:
        raise InvocationError(f"text box {name!r} is required")
    if value and len(value) < int(box.get("min_length") or 0):
        raise InvocationError(f"text box {name!r} needs at least {box['min_length']} characters")
    if len(value) > int(box.get("max_length") or MAX_TEXT_INPUT):
        raise InvocationError(f"text box {name!r} takes at most {box.get('max_length')} characters")


def validate_modal(modal: JSON) -> None:
    """Refuse a form Discord would refuse (400 / 50035), naming the field."""

    def bad(field: str, message: str) -> errors.ApiError:
        return errors.invalid_form_body(f"data.{field}", "BASE_TYPE_BAD_LENGTH", message)

    if not 1 <= len(str(modal.get("title") or "")) <= 45:
        raise bad("title", "Must be between 1 and 45 in length.")
    if not 1 <= len(str(modal.get("custom_id") or "")) <= 100:
        raise bad("custom_id", "Must be between 1 and 100 in length.")
    if not 1 <= len(modal.get("components") or []) <= 5:
        raise bad("components", "Must be between 1 and 5 in length.")
    for index, box in enumerate(text_inputs(modal)):
        where = f"components.{index}"
        label = box.get("label")
        if label is not None and not 1 <= len(label) <= 45:
            raise bad(f"{where}.label", "Must be between 1 and 45 in length.")
        if len(box.get("placeholder") or "") > 100:
            raise bad(f"{where}.placeholder", "Must be 100 or fewer in length.")
        limit = int(box.get("max_length") or MAX_TEXT_INPUT)
        if limit > MAX_TEXT_INPUT:
            raise bad(f"{where}.max_length", f"int value should be <= {MAX_TEXT_INPUT}.")
        if len(box.get("value") or "") > limit:
            raise bad(f"{where}.value", f"Must be {limit} or fewer in length.")
