"""The package's exceptions.

Every message says what is wrong, where (file, row or config key) and how to fix it,
on one line. The CLI turns an :class:`InputError` into that line and exit status 2.
"""

from __future__ import annotations

from os import PathLike


class HeatlinkError(Exception):
    """Base class of all heatlink errors."""


class InputError(HeatlinkError):
    """A problem with the user's input: a file, a column, a row or a config key.

    Parameters
    ----------
    what
        What is wrong.
    where
        The file, file and row, or config key.
    fix
        How the user can fix it.
    """

    def __init__(self, what: str, *, where: str | PathLike[str] | None = None, fix: str = ""):
        self.what = what
        self.where = str(where) if where is not None else None
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        parts = [f"{self.where}: {self.what}" if self.where else self.what]
        if self.fix:
            parts.append(self.fix)
        return ". ".join(p.rstrip(".") for p in parts) + "."


class ConfigError(InputError):
    """The region file is invalid: unknown key, wrong type or value out of range."""
