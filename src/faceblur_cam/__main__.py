"""``python -m faceblur_cam``: same as the ``faceblur-cam`` command."""

import sys

from faceblur_cam.cli import main

sys.exit(main())
