"""``python -m typicality`` (and ``torchrun -m typicality``): the command line."""

from typicality.cli import main

raise SystemExit(main())
