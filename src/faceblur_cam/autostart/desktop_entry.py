"""Reading and writing freedesktop.org Desktop Entry files (spec 1.5), only what we need.

Two layers of escaping apply to ``Exec`` and the writer/reader here keep them in order:

1. the Exec rules: an argument with a reserved character is put in double quotes, and inside
   quotes ``"`` `````` ``$`` ``\\`` get a backslash; a literal ``%`` is written ``%%`` (else it
   would start a field code such as ``%f``);
2. the string rules for every value: ``\\`` becomes ``\\\\``, newline ``\\n``, tab ``\\t``,
   carriage return ``\\r``, a leading space ``\\s``.

``format_exec`` / ``parse_exec`` do layer 1; ``render`` / ``parse`` do layer 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

GROUP = "Desktop Entry"
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")
_ESCAPED_IN_QUOTES = set('"`$\\')
_STRING_ESCAPES = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}


def format_exec(argv: Sequence[str]) -> str:
    """The Exec value (before string escaping) that runs exactly ``argv``."""
    return " ".join(_quote(arg) for arg in argv)


def _quote(arg: str) -> str:
    arg = arg.replace("%", "%%")
    if arg and not any(ch in _RESERVED for ch in arg):
        return arg
    inner = "".join("\\" + ch if ch in _ESCAPED_IN_QUOTES else ch for ch in arg)
    return f'"{inner}"'


def parse_exec(value: str) -> list[str]:
    """Split an Exec value (after string unescaping) into argv, per the spec's quoting rules.

    ``%%`` becomes ``%``; other field codes (``%f``, ``%u``...) are kept as written, so a
    command that uses them simply differs from ours. Raises ValueError on an unclosed quote.
    """
    args: list[str] = []
    current: list[str] = []
    in_arg = in_quotes = False
    i = 0
    while i < len(value):
        ch = value[i]
        nxt = value[i + 1] if i + 1 < len(value) else ""
        if in_quotes and ch == "\\" and nxt in _ESCAPED_IN_QUOTES and nxt:
            current.append(nxt)
            i += 2
            continue
        if ch == "%" and nxt == "%":
            current.append("%")
            in_arg = True
            i += 2
            continue
        if ch == '"':
            in_quotes = not in_quotes
            in_arg = True
        elif ch in " \t\n" and not in_quotes:
            if in_arg:
                args.append("".join(current))
            current, in_arg = [], False
        else:
            current.append(ch)
            in_arg = True
        i += 1
    if in_quotes:
        raise ValueError(f"unclosed quote in Exec value {value!r}")
    if in_arg:
        args.append("".join(current))
    return args


def escape_string(value: str) -> str:
    """Apply the spec's string escapes so ``value`` fits on one ``key=value`` line."""
    out = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
    out = out.replace("\r", "\\r")
    return "\\s" + out[1:] if out.startswith(" ") else out


def unescape_string(value: str) -> str:
    """Undo :func:`escape_string`; unknown escapes (e.g. ``\\;`` in lists) are kept as written."""
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value) and value[i + 1] in _STRING_ESCAPES:
            out.append(_STRING_ESCAPES[value[i + 1]])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def render(entries: Iterable[tuple[str, str]]) -> str:
    """A ``[Desktop Entry]`` file with ``entries`` (key, unescaped value) in order."""
    lines = [f"[{GROUP}]"]
    lines += [f"{key}={escape_string(value)}" for key, value in entries]
    return "\n".join(lines) + "\n"


def parse(text: str) -> dict[str, str]:
    """The unescaped keys of the ``[Desktop Entry]`` group. Raises ValueError if it is absent."""
    group: str | None = None
    found = False
    entries: dict[str, str] = {}
    for raw in text.split("\n"):  # not splitlines(): \x0c, \x85... are not line ends here
        line = raw.strip(" \t\r")
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1]
            found = found or group == GROUP
            continue
        if group == GROUP and "=" in line:
            key, _, value = line.partition("=")
            entries.setdefault(key.strip(" \t"), unescape_string(value.strip(" \t")))
    if not found:
        raise ValueError(f"no [{GROUP}] group")
    return entries
