"""``python -m awsrespond`` is the ``awsrespond`` command."""

from awsrespond.cli import main

# The guard matters: hunt's reader starts worker processes with "spawn", which import this module.
if __name__ == "__main__":
    main()
