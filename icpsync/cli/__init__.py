"""The ``icpsync`` command line: :mod:`~icpsync.cli.app` holds the group and the error policy,
the other modules one family of commands each."""

from icpsync.cli.app import cli, main

__all__ = ["cli", "main"]
