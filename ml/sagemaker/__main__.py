"""``python -m ml.sagemaker train|serve``: the image's ENTRYPOINT."""

import sys

from ml.sagemaker.container import main

sys.exit(main())
