"""Copy KaTeX from an unpacked npm package into `docs/assets/katex/` for offline math.

    npm pack katex && tar xzf katex-*.tgz     # unpacks into ./package
    python tools/vendor_katex.py package

Copies the minified script and stylesheet, the auto-render extension, the licence
and the `woff2` fonts, and trims the stylesheet's `@font-face` rules to `woff2`
(every current browser reads it) so that no rule points at a file not shipped.
"""

import re
import shutil
import sys
from pathlib import Path

DEST = Path(__file__).resolve().parents[1] / "docs" / "assets" / "katex"


def vendor(package: Path) -> None:
    dist = package / "dist"
    (DEST / "fonts").mkdir(parents=True, exist_ok=True)
    (DEST / "contrib").mkdir(exist_ok=True)
    shutil.copy(dist / "katex.min.js", DEST)
    shutil.copy(dist / "contrib" / "auto-render.min.js", DEST / "contrib")
    shutil.copy(package / "LICENSE", DEST)
    for font in (dist / "fonts").glob("*.woff2"):
        shutil.copy(font, DEST / "fonts")
    css = (dist / "katex.min.css").read_text()
    css = re.sub(r',url\(fonts/[^)]*\.(woff|ttf)\) format\("(woff|truetype)"\)', "", css)
    (DEST / "katex.min.css").write_text(css)
    print(f"KaTeX copied to {DEST}")


if __name__ == "__main__":
    vendor(Path(sys.argv[1] if len(sys.argv) > 1 else "package"))
