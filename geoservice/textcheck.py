"""Control characters in text input: refused once, where input is parsed (query strings in the HTTP middleware,
bodies in the pydantic models of `geoservice.schemas`), so no route has to remember it.

A NUL byte cannot be stored in PostgreSQL text (it was a 500 on many routes), and the other C0/C1 control
characters (escape, backspace, form feed ...) have no place in a zone name, a query or a decision reference.
Free text that legitimately spans lines (reasons, descriptions, report texts) keeps line feed, carriage return
and tab.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from pydantic import BaseModel

# C0 controls, DEL and the C1 controls (U+0080–U+009F).
CONTROL_PATTERN = r"[\x00-\x1f\x7f-\x9f]"
_CONTROL = re.compile(CONTROL_PATTERN)
# The same without tab, line feed and carriage return.
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


# The same rules as JSON Schema patterns (ECMA-262) for the OpenAPI document: any text without control characters;
# multi-line text; and text with at least one character that is not a space (a required field, stripped).
TEXT_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]*$"
MULTILINE_TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
NONBLANK_TEXT_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
NONBLANK_MULTILINE_TEXT_PATTERN = (r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*"
                                   r"[^\s\u0000-\u001f\u007f-\u009f]"
                                   r"[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$")


def text_pattern(multiline: bool = False, nonblank: bool = False) -> str:
    if nonblank:
        return NONBLANK_MULTILINE_TEXT_PATTERN if multiline else NONBLANK_TEXT_PATTERN
    return MULTILINE_TEXT_PATTERN if multiline else TEXT_PATTERN


def document_text(schema: dict[str, Any], multiline: bool = False) -> None:
    """Add the pattern of `control_character` to a JSON schema of text (or of text or null) that has none."""
    for option in schema.get("anyOf", [schema]):
        if option.get("type") == "string" and not {"enum", "const", "pattern", "format"} & option.keys():
            option["pattern"] = text_pattern(multiline, nonblank=option.get("minLength", 0) > 0)


def control_character(value: str, multiline: bool = False) -> str | None:
    """Why `value` is refused (naming the first control character and where it is), or None if it is fine."""
    match = (_CONTROL_MULTILINE if multiline else _CONTROL).search(value)
    if match is None:
        return None
    char = match.group()
    name = unicodedata.name(char, None) or _C0_NAMES.get(ord(char), "control character")
    allowed = "; line breaks and tabs are accepted here" if multiline else ""
    return (f"contains the control character U+{ord(char):04X} ({name}) at position {match.start()}; "
            f"only printable text is accepted{allowed}")


def nested_control_character(value: Any, multiline: bool = False, path: str = "") -> str | None:
    """`control_character` for every string (keys included) inside lists and dicts; models check themselves."""
    if isinstance(value, str):
        reason = control_character(value, multiline)
        return f"{path}: {reason}" if reason and path else reason
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and (reason := control_character(key)):
                return f"a key of {path or 'the object'}: {reason}"
            if not isinstance(item, int | float | bool | None | BaseModel) and (
                    reason := nested_control_character(item, multiline, where)):
                return reason
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            if not isinstance(item, int | float | bool | None | BaseModel) and (
                    reason := nested_control_character(item, multiline, f"{path}[{i}]")):
                return reason
    return None


# unicodedata has no names for most control characters; the common ones by their usual names.
_C0_NAMES = {0: "NUL", 7: "BEL", 8: "BACKSPACE", 9: "TAB", 10: "LINE FEED", 11: "VERTICAL TAB", 12: "FORM FEED",
             13: "CARRIAGE RETURN", 27: "ESCAPE", 127: "DELETE"}
