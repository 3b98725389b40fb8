import sys

from tlcore.cli import interrupt_on_sigterm, main

interrupt_on_sigterm()
sys.exit(main())
