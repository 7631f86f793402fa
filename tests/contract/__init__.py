"""The contract suite: the same tests over every connector (see ``harness``)."""
