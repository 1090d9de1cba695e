"""Notifiers: each module registers one kind with `registry.notifier`. See base.py for the contract."""
