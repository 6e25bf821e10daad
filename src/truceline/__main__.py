"""``python -m truceline``: the command line, as ``truceline`` (how ``serve`` starts its
projector with the interpreter it runs on)."""

from truceline.cli import main

main()
