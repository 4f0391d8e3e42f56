"""``python -m typicality`` (and ``torchrun -m typicality``): the command line."""

from typicality.entry import main

raise SystemExit(main())
