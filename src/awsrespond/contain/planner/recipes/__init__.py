"""Recipe modules; importing this package registers every recipe."""
