"""``python -m icpsync`` runs the command line."""

from icpsync.cli import main

main()
