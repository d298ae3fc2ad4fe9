"""Errors meant for the user: the CLI prints their message (no traceback) and exits non-zero."""


class UserError(Exception):
    """Something the user can fix; the message says what and how."""

    exit_code = 2
