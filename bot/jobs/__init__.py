"""Jobs: taking a request in, moving it along the state machine, and the words members see
about it."""
