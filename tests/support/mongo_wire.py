"""A MongoDB server for tests: the wire protocol on loopback, mongomock behind it.

No MongoDB server can be installed here, yet a function inside its container
needs one it can reach with pymongo. This speaks just enough of the protocol for
that: the legacy OP_QUERY handshake and OP_MSG, and the commands pymongo issues
for what `audioscore.infra.records` does and the tests clean up (hello, ping,
find, update, findAndModify, aggregate, createIndexes, listIndexes,
dropDatabase), with update operators only. Every other command or form
answers with an error document, never silence. Commands run one at a time, so
an update is atomic as on a real server. Results are whole: cursors come back in one
batch, so no getMore. No sessions are offered, so pymongo sends none.

The test reads what a function wrote straight from `MongoWire.client`.
"""

from __future__ import annotations

import datetime as dt
import socketserver
import struct
import threading
from collections.abc import Callable
from typing import Any, Self

import bson
import mongomock
from bson.codec_options import CodecOptions
from pymongo import ReturnDocument

__all__ = ["MongoWire"]

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013
_HEADER = struct.Struct("<iiii")  # messageLength, requestID, responseTo, opCode
_MORE_TO_COME = 1 << 1  # OP_MSG flag: the client expects no answer
_CHECKSUM = 1 << 0
_CODEC = CodecOptions(tz_aware=True, tzinfo=dt.UTC)
_HELLO = {"helloOk": True, "isWritablePrimary": True, "ismaster": True, "maxBsonObjectSize": 16 * 1024**2,
          "maxMessageSizeBytes": 48 * 1000**2, "maxWriteBatchSize": 100_000, "minWireVersion": 0,
          "maxWireVersion": 17, "readOnly": False}


class MongoWire:
    """A MongoDB wire-protocol server on 127.0.0.1 backed by a mongomock client.

    Use as a context manager; `url` is what pymongo connects to.
    """

    def __init__(self) -> None:
        self.client = mongomock.MongoClient(tz_aware=True)
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Connection)
        self._server.wire = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self._server.server_address[1]}/"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def command(self, body: dict[str, Any]) -> dict[str, Any]:
        """Run one command document (its first key names it); returns the reply document."""
        name = next(iter(body))
        handler = _COMMANDS.get(name.lower())
        if handler is None:
            return {"ok": 0.0, "errmsg": f"no such command: '{name}'", "code": 59, "codeName": "CommandNotFound"}
        database = self.client[body.get("$db", "admin")]
        try:
            with self._lock:
                return {**handler(database, body[name], body), "ok": 1.0}
        except mongomock.DuplicateKeyError as error:
            return {"ok": 0.0, "errmsg": str(error), "code": 11000, "codeName": "DuplicateKey"}
        except mongomock.OperationFailure as error:
            return {"ok": 0.0, "errmsg": str(error), "code": error.code or 2, "codeName": "BadValue"}
        except (KeyError, TypeError, ValueError, NotImplementedError) as error:  # what it does not do, said
            return {"ok": 0.0, "errmsg": f"{type(error).__name__}: {error}", "code": 1, "codeName": "InternalError"}


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    wire: MongoWire


class _Connection(socketserver.BaseRequestHandler):
    """One client connection: read a message, answer it, until the client hangs up."""

    server: _Server

    def handle(self) -> None:
        while header := self._read(_HEADER.size):
            length, request_id, _, opcode = _HEADER.unpack(header)
            payload = self._read(length - _HEADER.size)
            if payload is None:
                return
            if opcode == OP_MSG:
                flags, body = _parse_msg(payload)
                reply = self.server.wire.command(body)
                if not flags & _MORE_TO_COME:
                    self._send(request_id, OP_MSG, struct.pack("<IB", 0, 0) + bson.encode(reply))
            elif opcode == OP_QUERY:  # pymongo's first hello on a connection, before it knows OP_MSG works
                reply = self.server.wire.command(_parse_query(payload))
                self._send(request_id, OP_REPLY, struct.pack("<iqii", 0, 0, 0, 1) + bson.encode(reply))
            else:
                return  # nothing pymongo sends here: hang up rather than guess

    def _read(self, size: int) -> bytes | None:
        data = b""
        while len(data) < size:
            chunk = self.request.recv(size - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def _send(self, response_to: int, opcode: int, payload: bytes) -> None:
        self.request.sendall(_HEADER.pack(_HEADER.size + len(payload), 0, response_to, opcode) + payload)


def _parse_msg(payload: bytes) -> tuple[int, dict[str, Any]]:
    """An OP_MSG's flags and its command: the body section, with document sequences as lists."""
    (flags,) = struct.unpack_from("<I", payload)
    end = len(payload) - (4 if flags & _CHECKSUM else 0)
    position, body, sequences = 4, {}, {}
    while position < end:
        kind = payload[position]
        position += 1
        if kind == 0:
            size = struct.unpack_from("<i", payload, position)[0]
            body = bson.decode(payload[position:position + size], _CODEC)
        else:
            size = struct.unpack_from("<i", payload, position)[0]
            name_end = payload.index(b"\0", position + 4)
            name = payload[position + 4:name_end].decode()
            sequences[name] = bson.decode_all(payload[name_end + 1:position + size], _CODEC)
        position += size
    return flags, {**body, **sequences}


def _parse_query(payload: bytes) -> dict[str, Any]:
    """The command document of an OP_QUERY on ``<db>.$cmd``."""
    name_end = payload.index(b"\0", 4)
    position = name_end + 1 + 8  # numberToSkip, numberToReturn
    size = struct.unpack_from("<i", payload, position)[0]
    body = bson.decode(payload[position:position + size], _CODEC)
    return {**body, "$db": payload[4:name_end].decode().split(".", 1)[0]}


def _cursor(database: Any, collection: str, documents: list[dict[str, Any]]) -> dict[str, Any]:
    return {"cursor": {"id": 0, "ns": f"{database.name}.{collection}", "firstBatch": documents}}


def _find(database: Any, collection: str, body: dict[str, Any]) -> dict[str, Any]:
    cursor = database[collection].find(body.get("filter", {}), body.get("projection"))
    if body.get("sort"):
        cursor = cursor.sort(list(body["sort"].items()))
    cursor = cursor.skip(body.get("skip", 0)).limit(abs(body.get("limit", 0)))
    return _cursor(database, collection, list(cursor))


def _update(database: Any, collection: str, body: dict[str, Any]) -> dict[str, Any]:
    matched = modified = 0
    upserted, errors = [], []
    for index, update in enumerate(body["updates"]):
        target = database[collection]
        write = target.update_many if update.get("multi") else target.update_one
        try:
            result = write(update["q"], update["u"], upsert=update.get("upsert", False))
        except mongomock.DuplicateKeyError as error:
            errors.append({"index": index, "code": 11000, "errmsg": str(error)})
            if body.get("ordered", True):
                break
            continue
        matched += result.matched_count
        modified += result.modified_count
        if result.upserted_id is not None:
            upserted.append({"index": index, "_id": result.upserted_id})
    reply = {"n": matched + len(upserted), "nModified": modified}
    return reply | ({"upserted": upserted} if upserted else {}) | ({"writeErrors": errors} if errors else {})


def _find_and_modify(database: Any, collection: str, body: dict[str, Any]) -> dict[str, Any]:
    target = database[collection]
    query, sort = body.get("query", {}), list((body.get("sort") or {}).items()) or None
    returned = ReturnDocument.AFTER if body.get("new") else ReturnDocument.BEFORE
    return {"value": target.find_one_and_update(query, body["update"], projection=body.get("fields"), sort=sort,
                                                upsert=body.get("upsert", False), return_document=returned)}


def _aggregate(database: Any, collection: str, body: dict[str, Any]) -> dict[str, Any]:
    return _cursor(database, collection, list(database[collection].aggregate(body["pipeline"])))


def _create_indexes(database: Any, collection: str, body: dict[str, Any]) -> dict[str, Any]:
    for spec in body["indexes"]:
        options = {k: v for k, v in spec.items() if k != "key"}
        database[collection].create_index(list(spec["key"].items()), **options)
    return {}


def _list_indexes(database: Any, collection: str, body: dict[str, Any]) -> dict[str, Any]:
    indexes = [{"v": 2, **info, "key": dict(info["key"]), "name": name}
               for name, info in database[collection].index_information().items()]
    return _cursor(database, collection, indexes)


def _drop_database(database: Any, _: Any, body: dict[str, Any]) -> dict[str, Any]:
    database.client.drop_database(database.name)
    return {"dropped": database.name}


_COMMANDS: dict[str, Callable[[Any, Any, dict[str, Any]], dict[str, Any]]] = {
    "hello": lambda *_: dict(_HELLO),
    "ismaster": lambda *_: dict(_HELLO),
    "ping": lambda *_: {},
    "find": _find,
    "update": _update,
    "findandmodify": _find_and_modify,
    "aggregate": _aggregate,
    "createindexes": _create_indexes,
    "listindexes": _list_indexes,
    "dropdatabase": _drop_database,
}
