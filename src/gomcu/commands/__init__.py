"""One module per CLI subcommand.

Each module defines `COMMAND`, an instance of a `Command` subclass. The CLI discovers them, so
adding a subcommand means adding a module here and nothing else.
"""
