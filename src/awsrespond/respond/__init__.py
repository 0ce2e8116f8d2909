"""The guided response (``awsrespond respond``, and ``awsrespond demo`` on the emulator): the manual from
start to end, step by step, each step skippable and resumable (``<case>/respond/state.json``)."""
