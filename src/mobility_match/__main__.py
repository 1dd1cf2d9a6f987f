"""`python -m mobility_match` runs the command line."""

from mobility_match.cli import main

main()
