"""`python -m bot` is the same as the `yishi` command."""

from bot.cli import main

raise SystemExit(main())
