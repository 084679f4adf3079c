"""`python -m livehost`: the `livehost` command."""
import sys

from livehost.cli import main

sys.exit(main())
