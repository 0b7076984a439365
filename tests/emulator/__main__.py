import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import pydeps  # noqa: E402

pydeps.check()   # one line naming a missing package, not an ImportError from deep inside

from .server import main  # noqa: E402

sys.exit(main())
