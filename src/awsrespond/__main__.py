"""``python -m awsrespond`` is the ``awsrespond`` command."""

from awsrespond.cli import main

main()
