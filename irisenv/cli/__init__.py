"""Command line: argparse, one module per verb, errors mapped to exit codes."""
