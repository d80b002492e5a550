#!/usr/bin/python3
# cinder-swift-backup.py: cinder's own Swift backup driver
# (cinder.backup.drivers.swift.SwiftBackupDriver, Debian's python3-cinder),
# driven directly as cinder-backup drives it, without the cinder services:
# a fake request context, backup records kept as JSON files in a state
# directory (what cinder's database would hold: id, parent_id, container,
# service_metadata, object_count...), the volume a file object, as
# cinder-backup passes an attached volume to ChunkedBackupDriver.backup()
# (read(chunk_size_bytes) and tell()) and restore() (seek, write, flush,
# fileno). Progress notifications are not sent (no message bus). The
# driver's options are cinder's defaults (backup_swift_object_size 50 MiB,
# backup_swift_block_size 32 KiB) except the auth settings and, as the
# issue's measurement, zstd compression (--compression).
#
#   cinder-swift-backup.py backup  --state DIR --image FILE [--incremental] [common]
#   cinder-swift-backup.py restore --state DIR --image FILE --backup ID [common]
#   common: --auth-url URL --user USER --key KEY --container NAME [--compression ALG]
#
# Prints one JSON object: {"id", "parent_id", "object_count", "seconds"}.
# Used by scripts/bench-targets (target cinder-swift).
import argparse
import contextlib
import json
import os
import sys
import time
import uuid


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("op", choices=("backup", "restore"))
    p.add_argument("--state", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--incremental", action="store_true")
    p.add_argument("--backup")
    p.add_argument("--auth-url", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--container", default="volumebackups")
    p.add_argument("--compression", default="zstd")
    return p.parse_args()


args = parse()

from oslo_config import cfg  # noqa: E402

from cinder import context as cinder_context  # noqa: E402
from cinder import objects  # noqa: E402

objects.register_all()
from cinder.backup import chunkeddriver  # noqa: E402
from cinder.backup.drivers import swift as swift_driver  # noqa: E402
from cinder.objects import fields  # noqa: E402

CONF = cfg.CONF
CONF([], project="cinder", default_config_files=[])
# base.Base opens the database engine: an in-memory one, never used.
CONF.set_override("connection", "sqlite://", group="database")
CONF.set_override("backup_swift_auth", "single_user")
CONF.set_override("backup_swift_auth_url", args.auth_url)
CONF.set_override("backup_swift_auth_version", "1")
CONF.set_override("backup_swift_user", args.user)
CONF.set_override("backup_swift_key", args.key)
CONF.set_override("backup_swift_container", args.container)
CONF.set_override("backup_swift_enable_progress_timer", False)
CONF.set_override("backup_compression_algorithm", args.compression)

GiB = 1 << 30


class FakeBackup:
    """The fields of cinder's Backup object the chunked driver uses, kept in a JSON file."""

    FIELDS = ("id", "volume_id", "container", "parent_id", "size", "status",
              "service_metadata", "object_count", "availability_zone", "display_name",
              "display_description", "created_at")

    def __init__(self, state, **kw):
        self._state = state
        for f in self.FIELDS:
            setattr(self, f, kw.get(f))

    @property
    def parent(self):
        return load(self._state, self.parent_id) if self.parent_id else None

    def __getitem__(self, k):
        return getattr(self, k)

    def get(self, k, default=None):
        return getattr(self, k, default)

    def save(self):
        path = os.path.join(self._state, self.id + ".json")
        with open(path + ".tmp", "w") as f:
            json.dump({k: getattr(self, k) for k in self.FIELDS}, f)
        os.rename(path + ".tmp", path)

    def refresh(self):
        pass

    @contextlib.contextmanager
    def as_read_deleted(self):
        yield self


def load(state, backup_id):
    with open(os.path.join(state, backup_id + ".json")) as f:
        return FakeBackup(state, **json.load(f))


def latest(state):
    """The newest backup of the volume (the parent of an incremental), as cinder chooses."""
    best = None
    for name in os.listdir(state):
        if name.endswith(".json"):
            m = os.path.getmtime(os.path.join(state, name))
            if best is None or m > best[0]:
                best = (m, name[:-5])
    return load(state, best[1]) if best else None


class FakeDB:
    def __init__(self, size_gib):
        self.size_gib = size_gib

    def volume_get(self, ctx, volume_id):
        return {"id": volume_id, "size": self.size_gib}


def driver(state, size_gib):
    ctx = cinder_context.RequestContext(user_id="bench", project_id="bench", is_admin=True)
    d = swift_driver.SwiftBackupDriver(ctx)  # user_id set: initialize() connects
    d.db = FakeDB(size_gib)
    # No message bus: progress notifications are not sent.
    d._send_progress_notification = lambda *a, **k: None
    d._send_progress_end = lambda *a, **k: None
    chunkeddriver.objects.Backup.get_by_id = staticmethod(lambda c, i: load(state, i))
    return d


def main():
    os.makedirs(args.state, exist_ok=True)
    size = os.path.getsize(args.image)
    size_gib = max(1, (size + GiB - 1) // GiB)
    d = driver(args.state, size_gib)
    t0 = time.monotonic()
    if args.op == "backup":
        parent = latest(args.state) if args.incremental else None
        b = FakeBackup(args.state, id=str(uuid.uuid4()), volume_id="bench-volume",
                       container=args.container, parent_id=parent.id if parent else None,
                       size=size_gib, status=fields.BackupStatus.CREATING,
                       availability_zone="nova", display_name="bench",
                       display_description="bench-targets",
                       created_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
        b.save()
        with open(args.image, "rb") as f:
            d.backup(b, f, backup_metadata=False)
        b.status = fields.BackupStatus.AVAILABLE
        b.save()
    else:
        b = load(args.state, args.backup)
        b.status = fields.BackupStatus.RESTORING
        with open(args.image, "r+b") as f:
            d.restore(b, "bench-volume", f)
    json.dump({"id": b.id, "parent_id": b.parent_id, "object_count": b.object_count,
               "seconds": time.monotonic() - t0}, sys.stdout)
    print()


main()
