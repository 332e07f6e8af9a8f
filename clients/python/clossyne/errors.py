"""Exceptions raised by the Clossyne clients."""


class ClossyneError(Exception):
    """The cluster answered with an error (`{"ok": false, "error": "ERR ..."}`, or an `ERR ...` line
    in the seed dialect), or a reply could not be understood. `str(e)` is the error text."""


class ClossyneTimeout(ClossyneError, TimeoutError):
    """No reply arrived within the client's timeout. Also a builtin `TimeoutError`."""
