"""`python -m gomcu` runs the command-line interface."""

from gomcu.cli import main

raise SystemExit(main())
