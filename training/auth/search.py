"""Finding people by what HR types into a search box, and keeping the words they are found by.

A person matches when each word typed starts one of their words (`auth/words.py`): the people list, its exports
and the API, the staff pages, the reminders and the audit log all search this way. Each word typed is a range
of `person_word`'s primary key, so a search reads the people it finds, not every name.

The words follow the people: triggers on `user` note whose name, email or employee id changed
(`person_word_pending`), and just before a transaction that wrote people commits, their words are rewritten in
it. A transaction that wrote no one reads nothing more.
"""

from collections.abc import Iterable

from sqlalchemy import String, and_, bindparam, delete, event, false, insert, inspect, select
from sqlalchemy.orm import Session

from training.auth.models import PersonWord, PersonWordPending, User
from training.auth.words import prefix_end, query_words, words_of
from training.extensions import db

WROTE_PEOPLE = "auth.search.wrote_people"  # session.info: this transaction may have noted people to rewrite
SEARCHED_COLUMNS = frozenset({"name", "email", "employee_id"})
BATCH = 1000


def person_matches(text: str):
    """A condition on `User`: every word of `text` starts a word of the person's name, email or employee id,
    ignoring case and accents. Text without a word (only punctuation) matches nobody."""
    words = query_words(text)
    if not words:
        return false()
    return and_(*(_has_word_between(low, prefix_end(low)) for low in words))


def search_condition(word_count: int, per_person: bool = False):
    """`person_matches` for `word_count` words given later as parameters (`search_values`): a statement built
    once per number of words. No words: nobody.

    `per_person` asks each person in turn (their few words, by the index on `user_id`) instead of reading the
    people each word finds: cheaper when a search finds many people and the statement stops at a page of them."""
    if word_count == 0:
        return false()
    has_word = _person_has_word_between if per_person else _has_word_between
    return and_(
        *(
            has_word(bindparam(f"word_{n}", type_=String), bindparam(f"word_{n}_end", type_=String))
            for n in range(word_count)
        )
    )


def search_values(words: list[str]) -> dict[str, str]:
    """The parameters of `search_condition(len(words))`."""
    values = {}
    for n, word in enumerate(words):
        values |= {f"word_{n}": word, f"word_{n}_end": prefix_end(word)}
    return values


def _has_word_between(low, high):
    return User.id.in_(select(PersonWord.user_id).where(PersonWord.word >= low, PersonWord.word < high))


def _person_has_word_between(low, high):
    words = select(PersonWord.user_id).where(PersonWord.user_id == User.id, PersonWord.word >= low)
    return words.where(PersonWord.word < high).exists()


# --- keeping the words --------------------------------------------------------------------------------------


def rewrite_pending_words() -> int:
    """Rewrite the words of the people noted in `person_word_pending` (by the triggers on `user`) and clear them;
    returns how many people."""
    noted = db.session.execute(
        select(PersonWordPending.user_id, User.name, User.email, User.employee_id).outerjoin(
            User, User.id == PersonWordPending.user_id
        )
    ).all()
    for start in range(0, len(noted), BATCH):
        batch = noted[start : start + BATCH]
        ids = [row.user_id for row in batch]
        _replace_words(ids, [row for row in batch if row.name is not None])
        db.session.execute(delete(PersonWordPending).where(PersonWordPending.user_id.in_(ids)))
    return len(noted)


def rewrite_words(user_ids: Iterable[int]) -> None:
    """Rewrite these people's words from their records, and take them off the pending list (reconcile's fix)."""
    ids = sorted(set(user_ids))
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        people = db.session.execute(
            select(User.id.label("user_id"), User.name, User.email, User.employee_id).where(User.id.in_(batch))
        ).all()
        _replace_words(batch, people)
        db.session.execute(delete(PersonWordPending).where(PersonWordPending.user_id.in_(batch)))


def _replace_words(user_ids: list[int], people) -> None:
    db.session.execute(delete(PersonWord).where(PersonWord.user_id.in_(user_ids)))
    rows = [
        {"word": word, "user_id": person.user_id}
        for person in people
        for word in sorted(words_of(person.name, person.email, person.employee_id))
    ]
    if rows:
        db.session.execute(insert(PersonWord), rows)


def words_drift() -> dict[int, tuple[set[str], set[str]]]:
    """The people whose stored words differ from their records' (or who are still noted as pending):
    {user id: (stored, recomputed)}. Reads every person and word: for `flask compliance reconcile`."""
    stored: dict[int, set[str]] = {}
    for word, user_id in db.session.execute(select(PersonWord.word, PersonWord.user_id)):
        stored.setdefault(user_id, set()).add(word)
    pending = set(db.session.scalars(select(PersonWordPending.user_id)))
    drift = {}
    people = db.session.execute(select(User.id, User.name, User.email, User.employee_id))
    for user_id, name, email, employee_id in people:
        recomputed = words_of(name, email, employee_id)
        kept = stored.pop(user_id, set())
        if kept != recomputed or user_id in pending:
            drift[user_id] = (kept, recomputed)
    for user_id, kept in stored.items():  # words of people who are gone
        drift[user_id] = (kept, set())
    return drift


# --- noticing a transaction that wrote people -------------------------------------------------------------------


def _note_flushed_people(session: Session, _context, _instances) -> None:
    """Before a flush: a new person, or a change to a searched column, makes the commit rewrite words."""
    for instance in session.new:
        if isinstance(instance, User):
            session.info[WROTE_PEOPLE] = True
            return
    for instance in session.dirty:
        if isinstance(instance, User) and _searched_column_changed(instance):
            session.info[WROTE_PEOPLE] = True
            return


def _searched_column_changed(person: User) -> bool:
    state = inspect(person)
    return any(state.attrs[column].history.has_changes() for column in SEARCHED_COLUMNS)


def _note_bulk_writes(execute_state) -> None:
    """A bulk INSERT of people, or an UPDATE that may set a searched column, run through the session."""
    if not (execute_state.is_insert or execute_state.is_update):
        return
    table = getattr(execute_state.statement, "table", None)  # an annotated copy of the table for ORM statements
    if getattr(table, "name", None) != User.__table__.name:
        return
    if execute_state.is_insert or _sets_searched_column(execute_state):
        execute_state.session.info[WROTE_PEOPLE] = True


def _sets_searched_column(execute_state) -> bool:
    values = getattr(execute_state.statement, "_values", None) or {}
    columns = {getattr(key, "key", key) for key in values}
    parameters = execute_state.parameters
    for row in parameters if isinstance(parameters, list) else [parameters or {}]:
        columns.update(row)
    return not columns or bool(columns & SEARCHED_COLUMNS)


def _rewrite_before_commit(session: Session) -> None:
    if any(isinstance(instance, User) for instance in (*session.new, *session.dirty)):
        session.flush()  # its before_flush decides whether searched columns changed
    if session.info.pop(WROTE_PEOPLE, False):
        rewrite_pending_words()


def _forget_after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(WROTE_PEOPLE, None)


event.listen(db.session, "before_flush", _note_flushed_people)
event.listen(db.session, "do_orm_execute", _note_bulk_writes)
event.listen(db.session, "before_commit", _rewrite_before_commit)
event.listen(db.session, "after_soft_rollback", _forget_after_rollback)
