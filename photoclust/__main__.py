import sys

from photoclust.cli import main

sys.exit(main())
