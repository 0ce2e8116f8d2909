"""``awsrespond harden``: account security checks with stable ids, and fixes applied as a plan."""
