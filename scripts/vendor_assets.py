"""Copy the pinned front-end assets from node_modules into the package's static/vendor/.

Run after `npm ci` (the versions are pinned in package.json and package-lock.json):

    npm ci && python scripts/vendor_assets.py

The console and portal work without these files (no charts, no live filtering); nothing is
fetched at run time.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "src" / "kesu" / "web" / "static" / "vendor"
FILES = {
    "htmx.min.js": "node_modules/htmx.org/dist/htmx.min.js",
    "echarts.min.js": "node_modules/echarts/dist/echarts.min.js",
    # the API's interactive documentation (/api/v1/docs), served from here: not from a CDN
    "swagger-ui-bundle.js": "node_modules/swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "node_modules/swagger-ui-dist/swagger-ui.css",
}


def main() -> int:
    missing = [src for src in FILES.values() if not (ROOT / src).is_file()]
    if missing:
        print("missing (run `npm ci` first): " + ", ".join(missing), file=sys.stderr)
        return 1
    VENDOR.mkdir(parents=True, exist_ok=True)
    for name, src in FILES.items():
        shutil.copyfile(ROOT / src, VENDOR / name)
        print(f"{src} -> {(VENDOR / name).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
