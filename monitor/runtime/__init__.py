"""Process runtime glue: systemd notify protocol, signals, health."""
