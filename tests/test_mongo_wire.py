"""The test MongoDB server (tests/mongo_wire.py) through a real pymongo client:
the whole RecordStore contract over the wire, what a function writes is in the
backing store, unknown commands fail with an answer, the legacy handshake."""

from __future__ import annotations

import socket
import struct
import uuid
from collections.abc import Iterator
from typing import Any

import bson
import pymongo
import pytest
import test_records
from mongo_wire import OP_QUERY, OP_REPLY, MongoWire
from pymongo.errors import OperationFailure
from test_records import RID, UPLOAD, Behaviour

from audioscore.infra.records import connect


@pytest.fixture(scope="module")
def wire() -> Iterator[MongoWire]:
    with MongoWire() as server:
        yield server


class TestThroughTheWire(Behaviour):
    @pytest.fixture
    def collection(self, wire: MongoWire) -> Iterator[Any]:
        store = connect(wire.url, f"audioscore_test_{uuid.uuid4().hex[:12]}", timeout_ms=3000)
        try:
            yield store.collection
        finally:
            store.collection.database.client.drop_database(store.collection.database.name)
            store.close()

    # Commands run one at a time, so a claim is atomic here as on a real server.
    test_concurrent_claims_have_one_winner = test_records.TestRealMongo.test_concurrent_claims_have_one_winner


def test_what_goes_over_the_wire_is_in_the_backing_store(wire: MongoWire) -> None:
    store = connect(wire.url, "audioscore")
    try:
        store.upsert_source(RID, UPLOAD)
        assert store.begin_stage(RID, "features", etag="e1")
        backing = wire.client["audioscore"]["recordings"].find_one({"_id": RID})
        assert backing["source"] == UPLOAD and backing["stages"]["features"]["status"] == "running"
    finally:
        store.close()


def test_what_it_does_not_do_is_an_error_not_a_hang(wire: MongoWire) -> None:
    with pymongo.MongoClient(wire.url, serverSelectionTimeoutMS=3000, socketTimeoutMS=3000) as client:
        with pytest.raises(OperationFailure, match="no such command: 'replSetGetStatus'") as info:
            client.admin.command("replSetGetStatus")
        assert info.value.code == 59
        with pytest.raises(OperationFailure, match="ValueError"):
            client.db.recordings.replace_one({"_id": 1}, {"whole": "document"})


def test_the_legacy_handshake(wire: MongoWire) -> None:
    """Older pymongo versions open with isMaster in an OP_QUERY and expect an OP_REPLY."""
    port = int(wire.url.rsplit(":", 1)[1].strip("/"))
    query = struct.pack("<i", 0) + b"admin.$cmd\0" + struct.pack("<ii", 0, -1) + bson.encode({"isMaster": 1})
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        sock.sendall(struct.pack("<iiii", 16 + len(query), 7, 0, OP_QUERY) + query)
        length, _, response_to, opcode = struct.unpack("<iiii", sock.recv(16))
        payload = b""
        while len(payload) < length - 16:
            payload += sock.recv(length - 16 - len(payload))
    count = struct.unpack_from("<i", payload, 16)[0]  # after responseFlags, cursorID, startingFrom
    reply = bson.decode(payload[20:])
    assert (response_to, opcode, count) == (7, OP_REPLY, 1)
    assert reply["ok"] == 1.0 and reply["ismaster"] is True and reply["maxWireVersion"] >= 9
