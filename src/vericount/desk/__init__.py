"""The review desk: a web app over the same library the CLI uses (`vericount serve`)."""
