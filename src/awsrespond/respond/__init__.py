"""The guided response's library side: the steps and their state for ``--resume`` (state.py), and the
plain-words explanations of a case (explain.py). The conversation itself (prompts, tables, confirmations)
is the CLI's: ``cli/respond_flow.py`` and ``cli/respond_recovery.py``."""
