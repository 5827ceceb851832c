"""The `python -m trainer` command line: `main` builds the parser, `datasets` and `jobs` register their commands."""
