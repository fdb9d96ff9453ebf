"""What the tests stand on, not tests themselves: the fake Discord, the provider simulators,
test doubles, sample images and a small video server."""
