"""The object store that keeps raw dumps: S3-compatible in production, a folder under
``var/`` in embedded mode, one interface. Objects are written once and never
overwritten (``put_new`` fails if the key exists); they are deleted only with their
user (``delete_prefix``)."""

from __future__ import annotations

import os
import shutil
from functools import lru_cache
from pathlib import Path

from django.conf import settings


class StorageUnavailable(Exception):
    """The object store cannot be reached now; worth retrying."""


class ObjectExists(Exception):
    pass


class FolderStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"bad object key {key!r}")
        return path

    def put_new(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        tmp = path.with_name(path.name + ".part")
        made_folders = False
        try:
            handle = open(tmp, "wb")  # noqa: SIM115 - closed by the with below
        except FileNotFoundError:  # the day's first dump: make its folders (not each time)
            path.parent.mkdir(parents=True, exist_ok=True)
            made_folders = True
            handle = open(tmp, "wb")  # noqa: SIM115
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # atomic, and fails if the key exists
        except FileExistsError:
            raise ObjectExists(key) from None
        finally:
            tmp.unlink(missing_ok=True)
        # The new name is durable only once its folder is (and new folders once theirs
        # are): the rows written from this dump must never outlive it in a crash.
        folders = [path.parent]
        if made_folders:
            root = self.root.resolve()
            folders += [p for p in path.parent.parents if p == root or root in p.parents]
        for folder in folders:
            fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete_prefix(self, prefix: str) -> int:
        """Deletes every object under ``prefix`` (a folder: ends with "/"); how many."""
        if not prefix.endswith("/"):
            raise ValueError("a prefix to delete ends with /")
        folder = self._path(prefix)
        if not folder.is_dir():
            return 0
        count = sum(1 for p in folder.rglob("*") if p.is_file())
        shutil.rmtree(folder)
        return count

    def folders(self, prefix: str, *, after: str = "", limit: int | None = None) -> list[str]:
        """The names of the folders right under ``prefix`` ("raw/" → ["12", "7"]), in the
        order S3 lists them ("12/" before "7/"), those after the folder ``after`` only,
        ``limit`` at most."""
        folder = self._path(prefix)
        if not folder.is_dir():
            return []
        names = sorted((p.name for p in folder.iterdir() if p.is_dir()),
                       key=lambda name: name + "/")
        if after:
            names = [name for name in names if name + "/" > after + "/"]
        return names if limit is None else names[:limit]

    def check(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        return f"folder {self.root}"


class S3Store:
    def __init__(self, *, bucket: str, endpoint_url: str | None, region: str):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=settings.AWS_ACCESS_KEY_ID or None,
            aws_secret_access_key=settings.AWS_SECRET_ACCESS_KEY or None,
            config=Config(
                connect_timeout=5, read_timeout=30, retries={"max_attempts": 2, "mode": "standard"}
            ),
        )

    def _call(self, method: str, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in ("PreconditionFailed", "ConditionalRequestConflict") or status == 412:
                raise ObjectExists(kwargs.get("Key", "")) from None
            # A missing bucket is a store not ready yet (being created, or recreated
            # after a reset): an operator fixes it, so the work waits and retries.
            if status >= 500 or code in ("SlowDown", "RequestTimeout", "NoSuchBucket"):
                raise StorageUnavailable(f"object store answered {code or status}") from exc
            raise
        except BotoCoreError as exc:
            raise StorageUnavailable(f"object store unreachable: {exc}") from exc

    def put_new(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self._call(
                "put_object", Bucket=self.bucket, Key=key, Body=data,
                ContentType=content_type, IfNoneMatch="*",
            )
        except ObjectExists:
            # botocore sends a write again when its answer is lost (a read timeout, a 503
            # from a proxy): if the first one landed, the retry is refused as "exists".
            # Keys are new (a random suffix), so an object that holds these very bytes is
            # this write's own.
            if self.get(key) != data:
                raise

    def get(self, key: str) -> bytes:
        return self._call("get_object", Bucket=self.bucket, Key=key)["Body"].read()

    def delete_prefix(self, prefix: str) -> int:
        """Deletes every object under ``prefix`` (ends with "/"), a listed page of up to
        1,000 keys at a time; how many."""
        if not prefix.endswith("/"):
            raise ValueError("a prefix to delete ends with /")
        count, token = 0, None
        while True:
            page = self._call("list_objects_v2", Bucket=self.bucket, Prefix=prefix,
                              **({"ContinuationToken": token} if token else {}))
            keys = [{"Key": item["Key"]} for item in page.get("Contents", ())]
            if keys:
                answer = self._call("delete_objects", Bucket=self.bucket,
                                    Delete={"Objects": keys, "Quiet": True})
                if errors := answer.get("Errors"):  # a 200 that lists what it kept
                    first = errors[0]
                    raise StorageUnavailable(
                        f"object store kept {len(errors)} of {len(keys)} objects under "
                        f"{prefix} ({first.get('Code')}: {first.get('Message')})")
                count += len(keys)
            if not page.get("IsTruncated"):
                return count
            token = page["NextContinuationToken"]

    def folders(self, prefix: str, *, after: str = "", limit: int | None = None) -> list[str]:
        """The names of the "folders" right under ``prefix`` (common prefixes up to the
        next "/": "raw/" → ["12", "7"]), in S3's order, those after the folder ``after``
        only, ``limit`` at most (a page of 1,000 per call)."""
        names: list[str] = []
        # Every key under "raw/12/" sorts before "raw/120" ("/" comes right before "0"),
        # and so does "raw/12/" itself: listing after "raw/120" skips that folder whole.
        start = {"StartAfter": f"{prefix}{after}0"} if after else {}
        token = None
        while limit is None or len(names) < limit:
            wanted = 1000 if limit is None else min(1000, limit - len(names))
            page = self._call("list_objects_v2", Bucket=self.bucket, Prefix=prefix,
                              Delimiter="/", MaxKeys=wanted,
                              **({"ContinuationToken": token} if token else start))
            names += [p["Prefix"][len(prefix):].rstrip("/") for p in page.get("CommonPrefixes", ())]
            if not page.get("IsTruncated"):
                break
            token = page["NextContinuationToken"]
        names.sort(key=lambda name: name + "/")
        return names if limit is None else names[:limit]

    def check(self) -> str:
        self._call("head_bucket", Bucket=self.bucket)
        return f"s3 bucket {self.bucket}"


@lru_cache(maxsize=1)
def _store(bucket: str, endpoint: str | None, folder: str):
    if bucket:
        return S3Store(bucket=bucket, endpoint_url=endpoint, region=settings.AWS_REGION)
    return FolderStore(Path(folder))


def get_store():
    return _store(settings.S3_BUCKET, settings.S3_ENDPOINT_URL, str(settings.OBJECT_STORE_DIR))
