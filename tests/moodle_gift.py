"""Where Moodle's GIFT samples are on this machine: they are read at test time, never copied into the repository.

The folder is `MOODLE_GIFT_SAMPLES` when that is set, else `../shared/reference/moodle-gift` beside the
repository, else `/work/shared/reference/moodle-gift` (CI runs from a clone elsewhere, where only that one
exists). Without the samples the test fails and says where it looked: it never skips.
"""

import os
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
BESIDE_THE_REPOSITORY = REPOSITORY.parent / "shared" / "reference" / "moodle-gift"
ON_THIS_MACHINE = Path("/work/shared/reference/moodle-gift")


def moodle_gift_samples() -> Path:
    """The folder of Moodle's GIFT samples, or a test failure naming the places it looked."""
    chosen = os.environ.get("MOODLE_GIFT_SAMPLES")
    if chosen:
        if not Path(chosen).is_dir():
            pytest.fail(f"MOODLE_GIFT_SAMPLES is {chosen!r}, which is not a folder of Moodle's GIFT samples")
        return Path(chosen)
    for folder in (BESIDE_THE_REPOSITORY, ON_THIS_MACHINE):
        if folder.is_dir():
            return folder
    pytest.fail(
        f"Moodle's GIFT samples are not in {BESIDE_THE_REPOSITORY} nor {ON_THIS_MACHINE}: "
        "set MOODLE_GIFT_SAMPLES to the folder holding examples.txt and questions.gift.txt"
    )
