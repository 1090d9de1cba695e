"""Sources: each module registers one kind with `registry.source`. See base.py for the contract."""
