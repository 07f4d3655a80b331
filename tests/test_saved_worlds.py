"""The test helper that restores a saved world (tests/saved_worlds.py) gives back exactly what was built."""

from pathlib import Path

from sqlalchemy import func, select

from tests.saved_worlds import built_once, save
from training.auth.models import User
from training.extensions import db


def build_two_people_and_a_file(app, make_user):
    store = Path(app.config["CERTIFICATE_STORAGE_DIR"])
    store.mkdir(parents=True, exist_ok=True)
    (store / "kept.pdf").write_bytes(b"%PDF-1.7 kept")
    return [make_user(), make_user(role="hr")]


def test_a_restored_world_has_the_same_rows_files_and_next_ids(app, make_user):
    saved = {}
    built = built_once(saved, "two people", app, lambda: build_two_people_and_a_file(app, make_user))
    kept = save(app, built)
    store = Path(app.config["CERTIFICATE_STORAGE_DIR"])
    make_user(email="later@example.org")  # what a test changes after the world was built
    (store / "kept.pdf").unlink()
    (store / "stray.pdf").write_bytes(b"%PDF-1.7 stray")

    again = built_once(saved, "two people", app, lambda: [make_user()])

    assert again == built, "the saved world is restored, not built a second time"
    assert save(app, again).rows == kept.rows
    assert sorted(path.name for path in store.iterdir()) == ["kept.pdf"]
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 2
    newcomer = make_user(email="newcomer@example.org")
    assert newcomer.id == max(person.id for person in built) + 1, "ids go on after the restored ones"
