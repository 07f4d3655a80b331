"""Copy the end-to-end tests' screenshots into docs/screenshots/ for docs/screenshots.md, small enough
to commit: each cut after its first 2,700 pixels (three screens) and reduced to 64 colours, which
keeps text sharp at a third of the size (JPEG at quality 70 saves less on these pages of text).

    python -m tests.e2e.docs_screenshots artifacts/screenshots docs/screenshots

`make screenshots` runs the tests and then this.
"""

import sys
from pathlib import Path

from PIL import Image

MAX_HEIGHT = 2700
COLOURS = 64


def docs_copy(source: Path, target: Path) -> None:
    with Image.open(source) as shot:
        top = shot.convert("RGB").crop((0, 0, shot.width, min(shot.height, MAX_HEIGHT)))
    top.quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(target, optimize=True)


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit(__doc__)
    source_dir, target_dir = map(Path, argv)
    shots = sorted(source_dir.glob("*.png"))
    if not shots:
        raise SystemExit(
            f"No screenshots in {source_dir}: run the end-to-end tests first (they need apt-get install chromium)."
        )
    target_dir.mkdir(parents=True, exist_ok=True)
    for old in target_dir.glob("*.png"):
        old.unlink()
    for shot in shots:
        docs_copy(shot, target_dir / shot.name)
    total = sum(path.stat().st_size for path in target_dir.glob("*.png"))
    print(f"{len(shots)} screenshots copied to {target_dir}: {total / 1_000_000:.1f} MB")


if __name__ == "__main__":
    main(sys.argv[1:])
