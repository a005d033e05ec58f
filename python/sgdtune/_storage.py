"""SQLite storage of a search's trials: survives a killed process, resumes, and
lets several processes share one search.

A search is deterministic for a given seed: its strategy asks the same trials
when told the same results, and a trial's results do not depend on when or
where it ran. So storage is a record of finished trials, keyed by the trial's
number in the search and checked against its parameters. A resumed search
replays its strategy, takes every finished trial's results from the file
instead of training it again, and so ends exactly where an uninterrupted run
would. Each trial is committed in its own transaction (WAL mode), so a process
killed at any moment loses only the trials it was training.

Processes sharing a file split each batch: a process claims a trial (an
atomic insert) before training it, and waits for the trials others claimed. A
claim whose owner died on this host is taken over; one from another host is
taken over after ``lease`` seconds without its result.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import time
import uuid

import numpy as np
import scipy.sparse as sp

_BUSY_TIMEOUT = 60.0  # seconds a process waits for another's lock on the file

_SCHEMA = """
CREATE TABLE IF NOT EXISTS searches (
    id INTEGER PRIMARY KEY,
    definition TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    search_id INTEGER NOT NULL,
    number INTEGER NOT NULL,
    params_key TEXT NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL,          -- 'running' or 'done'
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started REAL NOT NULL,
    finished REAL,
    status TEXT,
    result TEXT,
    PRIMARY KEY (search_id, number)
);
"""


def storage_path(storage):
    """The file of a ``storage=`` argument: a path or 'sqlite:///path'."""
    if isinstance(storage, os.PathLike):
        return os.fspath(storage)
    if not isinstance(storage, str) or not storage:
        raise TypeError(f"storage must be a path or 'sqlite:///path', got {storage!r}")
    if storage.startswith("sqlite:///"):
        return storage[len("sqlite:///"):]
    if "://" in storage:
        raise ValueError(f"storage supports only 'sqlite:///path' URLs, got {storage!r}")
    return storage


def _digest(h, a):
    """Feed an array-like's values into a hash (pandas objects by their values
    and column names, object arrays by their repr)."""
    if hasattr(a, "iloc"):  # pandas
        import pandas as pd

        h.update(pd.util.hash_pandas_object(a, index=False).to_numpy().tobytes())
        h.update(repr(list(getattr(a, "columns", [getattr(a, "name", None)]))).encode())
        return
    if sp.issparse(a):
        a = a.tocsr()
        for part in (a.data, a.indices, a.indptr):
            h.update(np.ascontiguousarray(part).tobytes())
        return
    arr = np.asarray(a)
    h.update(repr(arr.tolist()).encode() if arr.dtype == object
             else np.ascontiguousarray(arr).tobytes())


def data_fingerprint(X, y, sample_weight=None):
    """Shape, dtype and a SHA-256 of X, y (and the sample weights)."""
    h = hashlib.sha256()
    for part in (X, y) + ((np.asarray(sample_weight, dtype=np.float64),)
                          if sample_weight is not None else ()):
        _digest(h, part)
    kind = "csr" if sp.issparse(X) else "frame" if hasattr(X, "iloc") else "dense"
    dtype = str(getattr(X, "dtype", "mixed")) if not hasattr(X, "dtypes") else "frame"
    return json.dumps({"kind": kind, "shape": list(np.shape(X)), "dtype": dtype,
                       "sha256": h.hexdigest()})


def params_key(params):
    """A stable text identity of a trial's parameters."""
    return repr(sorted((str(k), _plain(v)) for k, v in params.items()))


def _plain(value):
    """A value as JSON would keep it (NumPy scalars to Python ones)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _json(obj):
    return json.dumps(obj, default=lambda o: _plain(o) if isinstance(o, np.generic) else repr(o))


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _connect(path):
    return sqlite3.connect(path, timeout=_BUSY_TIMEOUT, isolation_level=None)


class TrialStorage:
    """One search's trials in a SQLite file (see the module docstring)."""

    def __init__(self, storage, definition, fingerprint, resume, lease=3600.0):
        self.path = storage_path(storage)
        self.owner, self.host, self.pid = uuid.uuid4().hex, socket.gethostname(), os.getpid()
        self.lease = lease
        if os.path.isdir(self.path):
            raise ValueError(f"storage {self.path!r} is a directory: give a file path")
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise ValueError(f"storage {self.path!r}: the directory {folder!r} does not exist")
        try:
            self._db = _connect(self.path)
        except sqlite3.OperationalError as exc:
            raise PermissionError(f"storage {self.path!r} cannot be opened: {exc}") from None
        try:
            self._open(definition, fingerprint, resume)
        except sqlite3.OperationalError as exc:
            self._db.close()
            if "readonly" in str(exc) or "unable to open" in str(exc):
                raise PermissionError(
                    f"storage {self.path!r} is not writable ({exc}): a search records "
                    "every trial, so it needs write access to the file and its directory"
                ) from None
            raise
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise ValueError(f"{self.path!r} is not an sgdtune storage file: {exc}") from None
        except BaseException:
            self._db.close()
            raise

    def _open(self, definition, fingerprint, resume):
        # another program's database is left as it is (not even its journal
        # mode); a file another process is creating may hold some of ours
        tables = {name for (name,) in self._db.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        foreign = {t for t in tables if not t.startswith("sqlite_")} - {"searches", "trials"}
        if foreign:
            raise ValueError(
                f"{self.path!r} is not an sgdtune storage file: it is a SQLite database "
                f"with other tables ({', '.join(sorted(foreign))}); use another file"
            )
        # WAL: a committed trial survives a killed process; readers do not block.
        # Switching a new file to WAL takes an exclusive lock that SQLite does not
        # wait for, so processes opening the file together retry here.
        deadline = time.monotonic() + _BUSY_TIMEOUT
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        with self._transaction():
            row = self._db.execute(
                "SELECT id, definition, fingerprint FROM searches ORDER BY id LIMIT 1"
            ).fetchone()
            if row is None:
                cur = self._db.execute(
                    "INSERT INTO searches (definition, fingerprint, created) VALUES (?, ?, ?)",
                    (definition, fingerprint, time.time()))
                self.search_id = cur.lastrowid
                return
        self.search_id, stored_definition, stored_fingerprint = row
        if not resume:
            raise ValueError(
                f"storage {self.path!r} already holds a search: pass resume=True to continue "
                "it, or use another file"
            )
        if stored_fingerprint != fingerprint:
            raise ValueError(
                f"storage {self.path!r} holds a search on different data "
                f"({_describe(stored_fingerprint)}; now {_describe(fingerprint)}): refusing "
                "to resume it"
            )
        if stored_definition != definition:
            raise ValueError(
                f"storage {self.path!r} holds a different search (estimator, space, strategy, "
                f"seed, folds or scoring changed): refusing to resume it. "
                f"{_first_difference(stored_definition, definition)}"
            )

    def _transaction(self):
        db = self._db

        class _Tx:
            def __enter__(self):
                db.execute("BEGIN IMMEDIATE")

            def __exit__(self, kind, value, tb):
                db.execute("COMMIT" if kind is None else "ROLLBACK")

        return _Tx()

    def close(self):
        self._db.close()

    # -- trials -------------------------------------------------------------

    def finished(self, numbers, keys):
        """Stored results of the given trials that are done: {number: result}."""
        out = {}
        for number, key in zip(numbers, keys, strict=True):
            row = self._db.execute(
                "SELECT params_key, state, result FROM trials WHERE search_id=? AND number=?",
                (self.search_id, number)).fetchone()
            if row is None or row[1] != "done":
                continue
            if row[0] != key:
                raise ValueError(
                    f"trial {number} in storage {self.path!r} has other parameters "
                    f"({row[0]}) than this search asks ({key}): the search changed"
                )
            out[number] = json.loads(row[2])
        return out

    def claim(self, number, key, params):
        """Take trial `number` to run; False when another live process has it."""
        now = time.time()
        with self._transaction():
            row = self._db.execute(
                "SELECT state, owner, host, pid, started FROM trials "
                "WHERE search_id=? AND number=?", (self.search_id, number)).fetchone()
            if row is not None:
                state, owner, host, pid, started = row
                if state == "done" or (owner != self.owner and not self._stale(host, pid,
                                                                               started)):
                    return False
                self._db.execute("DELETE FROM trials WHERE search_id=? AND number=?",
                                 (self.search_id, number))
            self._db.execute(
                "INSERT INTO trials (search_id, number, params_key, params, state, owner, "
                "host, pid, started) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)",
                (self.search_id, number, key, _json(params), self.owner, self.host, self.pid,
                 now))
        return True

    def _stale(self, host, pid, started):
        if host == self.host:
            return not _pid_alive(pid) or pid == self.pid
        return time.time() - started > self.lease

    def save(self, number, status, result):
        """Commit a finished trial's result (its own transaction)."""
        with self._transaction():
            self._db.execute(
                "UPDATE trials SET state='done', finished=?, status=?, result=? "
                "WHERE search_id=? AND number=? AND owner=?",
                (time.time(), status, _json(result), self.search_id, number, self.owner))

    def wait_for(self, numbers, keys, poll=0.2):
        """Results of trials other processes run, once done (taking over dead ones).

        Returns ({number: result}, [numbers this process must now run]).
        """
        pending = dict(zip(numbers, keys, strict=True))
        done = {}
        while pending:
            got = self.finished(list(pending), list(pending.values()))
            done.update(got)
            for n in got:
                del pending[n]
            takeover = []
            for n in list(pending):
                row = self._db.execute(
                    "SELECT host, pid, started FROM trials WHERE search_id=? AND number=?",
                    (self.search_id, n)).fetchone()
                if row is None or self._stale(*row):
                    takeover.append(n)
            if takeover:
                return done, takeover
            if pending:
                time.sleep(poll)
        return done, []

def open_trials(path):
    """The stored trials of the search in a storage file (read only)."""
    path = storage_path(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no storage file {path!r}")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        search = db.execute("SELECT id, definition, fingerprint FROM searches ORDER BY id "
                            "LIMIT 1").fetchone()
        if search is None:
            raise ValueError(f"storage {path!r} holds no search")
        rows = db.execute(
            "SELECT number, params, state, status, started, finished, result FROM trials "
            "WHERE search_id=? ORDER BY number", (search[0],)).fetchall()
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"{path!r} is not an sgdtune storage file: {exc}") from None
    finally:
        db.close()
    trials = [{"number": n, "params": json.loads(p), "state": st, "status": status,
               "started": t0, "finished": t1, "result": json.loads(r) if r else None}
              for n, p, st, status, t0, t1, r in rows]
    return json.loads(search[1]), trials


def _describe(fingerprint):
    f = json.loads(fingerprint)
    return f"{f['kind']} {tuple(f['shape'])} {f['dtype']}, sha256 {f['sha256'][:12]}"


def _first_difference(a, b):
    try:
        da, db = json.loads(a), json.loads(b)
    except ValueError:
        return ""
    for key in sorted(set(da) | set(db)):
        if da.get(key) != db.get(key):
            return f"First difference: {key!r} was {da.get(key)!r}, now {db.get(key)!r}."
    return ""
