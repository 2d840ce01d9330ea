import hashlib
import uuid

from django.db import connection as db
from django.db import transaction
from django.utils import timezone

from ..models import RawDump
from ..objectstore import get_store
from .ingest import commit_without_wal_flush

EXTENSIONS = {
    "application/json": "json",
    "application/x-ofx": "ofx",
    "text/csv": "csv",
    "application/qif": "qif",
}


def raw_dump_store(
    *, user, connection=None, source_id: uuid.UUID, payload: bytes, media_type: str
) -> RawDump:
    """Pipeline step 3: the payload goes to the object store unchanged, before any row is
    written from it. The key is ``raw/<user>/<connection or "imports">/<date>/<source>-<n>``;
    a fresh suffix per write means a retry never overwrites an earlier dump."""
    today = timezone.now()
    ext = EXTENSIONS.get(media_type, "bin")
    key = (
        f"raw/{user.id}/{connection.id if connection else 'imports'}/{today:%Y/%m/%d}/"
        f"{source_id}-{uuid.uuid4().hex[:12]}.{ext}"
    )
    get_store().put_new(key, payload, media_type)
    own_transaction = not db.in_atomic_block
    with transaction.atomic():
        if own_transaction:
            # The record of a dump already safe in the object store need not wait for
            # the WAL flush (~0.6 ms): WAL is replayed in order, so whatever later commit
            # points at this row (the rows written from it, an import job) cannot survive
            # a crash that loses it; losing it alone leaves an unreferenced object.
            commit_without_wal_flush()
        return RawDump.objects.create(
            user=user, connection=connection, key=key, media_type=media_type,
            size=len(payload), sha256=hashlib.sha256(payload).hexdigest(),
        )


def raw_dumps_delete_for(*, user_id: int) -> int:
    """Deletes every raw dump of a deleted user from the object store (``raw/<user>/``);
    how many objects. Their RawDump rows went with the user. Idempotent: a repeat finds
    nothing left."""
    return get_store().delete_prefix(f"raw/{int(user_id)}/")


def raw_dumps_sweep(*, after: str = "", limit: int = 1000) -> tuple[list[int], str | None]:
    """Deletes the raw dumps of users that no longer exist (``raw/<id>/`` with no such
    user; ids are never reused): what a deletion's task could not finish (the broker or
    the store was down past its retries, or a refresh already running wrote its dump
    after it). One page of ``limit`` user folders after the folder ``after``, in the
    store's order: returns the user ids swept, and the last folder of the page when
    there may be more (the next page starts after it), else None. A page costs one
    listing (one S3 call for 1,000 folders), one query and a delete per deleted user,
    where 10 M users' folders listed in one task (10,000 S3 calls) could not finish
    within its time limit."""
    from accounts.models import User

    store = get_store()
    names = store.folders("raw/", after=after, limit=limit)
    # Only ASCII digits: "²" is a digit to isdigit(), which int() refuses (a stray folder
    # would end the task, and every page after it, every night).
    ids = [int(name) for name in names if name.isascii() and name.isdigit()]
    alive = set(User.objects.filter(pk__in=ids).values_list("pk", flat=True))
    swept = []
    for user_id in ids:
        if user_id not in alive:
            store.delete_prefix(f"raw/{user_id}/")
            swept.append(user_id)
    return swept, (names[-1] if len(names) == limit else None)
