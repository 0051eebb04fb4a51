"""The DuckDB workspace: one embedded database file holding every stage's tables.

The schema is versioned: :data:`MIGRATIONS` lists the SQL that takes the schema from version
``i`` to ``i + 1``, applied in one transaction each when a workspace is opened. Ingest writes in
transactions, so a killed run leaves the workspace as it was before the uncommitted part.

Example
-------
>>> from gripkit import Workspace
>>> with Workspace(":memory:") as ws:
...     ws.schema_version == SCHEMA_VERSION
True
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from gripkit import columns as C
from gripkit import locking
from gripkit.errors import InputError, WorkspaceError
from gripkit.results import StageResult, StoredResult, check_kind, decode_json, to_jsonable

log = logging.getLogger("gripkit")

DEFAULT_PATH = "gripkit.duckdb"
ENV_VAR = "GRIPKIT_WORKSPACE"

_CRIMES_DDL = """
CREATE TABLE crimes (
    crime_id VARCHAR, month DATE, occurred_at TIMESTAMP, crime_type VARCHAR, force VARCHAR,
    lon DOUBLE, lat DOUBLE, x DOUBLE, y DOUBLE, lsoa_code VARCHAR, lsoa_name VARCHAR,
    location VARCHAR, outcome VARCHAR, source_id INTEGER, source_row INTEGER
)"""

MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: the foundation tables.
    f"""
    CREATE TABLE sources (
        source_id INTEGER, path VARCHAR, name VARCHAR, sha256 VARCHAR, kind VARCHAR,
        format VARCHAR, source_key VARCHAR, force VARCHAR, month DATE, encoding VARCHAR,
        rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, status VARCHAR,
        ingested_at TIMESTAMP, replaced_at TIMESTAMP, note VARCHAR
    );
    {_CRIMES_DDL};
    CREATE TABLE quarantine (
        source_id INTEGER, source_row INTEGER, raw VARCHAR, reason VARCHAR, detail VARCHAR
    );
    CREATE TABLE outcomes (
        crime_id VARCHAR, month DATE, force VARCHAR, lon DOUBLE, lat DOUBLE, x DOUBLE, y DOUBLE,
        lsoa_code VARCHAR, outcome_type VARCHAR, source_id INTEGER, source_row INTEGER
    );
    CREATE TABLE stop_search (
        search_type VARCHAR, occurred_at VARCHAR, lon DOUBLE, lat DOUBLE, x DOUBLE, y DOUBLE,
        gender VARCHAR, age_range VARCHAR, ethnicity VARCHAR, legislation VARCHAR,
        object_of_search VARCHAR, outcome VARCHAR, source_id INTEGER, source_row INTEGER
    );
    CREATE TABLE results (
        result_id INTEGER, kind VARCHAR, created_at TIMESTAMP, harm_table VARCHAR,
        harm_sha256 VARCHAR, params VARCHAR, payload VARCHAR
    );
    """,
    # patrol plans and GPS dosage: plans with their seed and parameters, the areas and
    # the full area-day assignment; GPS sources, pings (UTC), quarantined pings, visits.
    """
    CREATE TABLE plans (
        plan_id INTEGER, kind VARCHAR, created_at TIMESTAMP, seed BIGINT, params VARCHAR,
        summary VARCHAR
    );
    CREATE TABLE plan_areas (
        plan_id INTEGER, area_id VARCHAR, harm DOUBLE, area_m2 DOUBLE, geometry_wkb BLOB
    );
    CREATE TABLE plan_assignments (
        plan_id INTEGER, date DATE, area_id VARCHAR, treated SMALLINT, block INTEGER,
        visits INTEGER
    );
    CREATE TABLE plan_visits (
        plan_id INTEGER, date DATE, area_id VARCHAR, visit INTEGER, start_utc TIMESTAMP,
        end_utc TIMESTAMP, officers INTEGER
    );
    CREATE TABLE gps_sources (
        gps_source_id INTEGER, path VARCHAR, sha256 VARCHAR, format VARCHAR, rows_read BIGINT,
        rows_loaded BIGINT, rows_quarantined BIGINT, ingested_at TIMESTAMP, params VARCHAR
    );
    CREATE TABLE gps_pings (
        gps_source_id INTEGER, source_row BIGINT, officer_id VARCHAR, ts_utc TIMESTAMP,
        lon DOUBLE, lat DOUBLE, x DOUBLE, y DOUBLE
    );
    CREATE TABLE gps_quarantine (
        gps_source_id INTEGER, source_row BIGINT, officer_id VARCHAR, raw VARCHAR,
        reason VARCHAR, detail VARCHAR
    );
    CREATE TABLE visits (
        plan_id INTEGER, area_id VARCHAR, officer_id VARCHAR, start_utc TIMESTAMP,
        end_utc TIMESTAMP, dwell_minutes DOUBLE, pings BIGINT
    );
    """,
    # dashboard: users (argon2 hashes), login sessions (sha256 of the cookie token),
    # patrols assigned to officers and the visits they record (start/stop) on the phone page.
    """
    CREATE TABLE users (
        username VARCHAR PRIMARY KEY, role VARCHAR NOT NULL, password_hash VARCHAR NOT NULL,
        created_at TIMESTAMP, disabled BOOLEAN DEFAULT false
    );
    CREATE TABLE sessions (
        token_sha256 VARCHAR PRIMARY KEY, username VARCHAR NOT NULL, csrf_token VARCHAR NOT NULL,
        created_at TIMESTAMP, expires_at TIMESTAMP
    );
    CREATE TABLE officer_patrols (
        patrol_id INTEGER PRIMARY KEY, officer VARCHAR NOT NULL, area_id VARCHAR NOT NULL,
        date DATE NOT NULL, start_time VARCHAR, minutes INTEGER, plan_id INTEGER, note VARCHAR,
        created_by VARCHAR, created_at TIMESTAMP
    );
    CREATE TABLE officer_visits (
        visit_id INTEGER PRIMARY KEY, patrol_id INTEGER NOT NULL, officer VARCHAR NOT NULL,
        area_id VARCHAR, started_at TIMESTAMP NOT NULL, stopped_at TIMESTAMP
    );
    """,
    # national runs: a file's stamp (size and modification time, or a zip member's size
    # and CRC-32) so a monthly update skips unchanged files without reading and hashing them.
    "ALTER TABLE sources ADD COLUMN stamp VARCHAR;",
    # one result protocol: every stored result keeps its plain-English summary, and the frames
    # behind it (e.g. the hotspot layer) as Parquet, so the report renders what was run.
    """
    ALTER TABLE results ADD COLUMN summary VARCHAR;
    CREATE TABLE result_tables (result_id INTEGER, name VARCHAR, data BLOB);
    """,
    # file versions (gripkit.ingestion.versions): the rows of superseded and held-back versions
    # are kept in *_inactive tables, so restoring one is a move in one transaction; versions
    # replaced before this migration had their rows deleted (rows_kept false: restore re-reads).
    """
    CREATE TABLE crimes_inactive AS SELECT * FROM crimes WHERE false;
    CREATE TABLE quarantine_inactive AS SELECT * FROM quarantine WHERE false;
    CREATE TABLE outcomes_inactive AS SELECT * FROM outcomes WHERE false;
    CREATE TABLE stop_search_inactive AS SELECT * FROM stop_search WHERE false;
    ALTER TABLE sources ADD COLUMN rows_kept BOOLEAN DEFAULT true;
    UPDATE sources SET status = 'superseded', rows_kept = false WHERE status = 'replaced';
    """,
    # the Home Office offence code of a force's own CSV (nullable; police.uk files have none), so
    # gripkit.harm weighs such crimes per offence
    """
    ALTER TABLE crimes ADD COLUMN IF NOT EXISTS offence_code VARCHAR;
    ALTER TABLE IF EXISTS crimes_inactive ADD COLUMN IF NOT EXISTS offence_code VARCHAR;
    """,
    # a source on every record (police, health, or another partner); rows ingested before this
    # migration all came from police files (police.uk or a force's own CSV), so they are set to
    # 'police'. Hospital ED records (gripkit.ingestion.ed) keep their own fields: arrival time,
    # weapon, location type, age band, sex, and how the row was placed.
    """
    ALTER TABLE crimes ADD COLUMN source VARCHAR DEFAULT 'police';
    ALTER TABLE crimes_inactive ADD COLUMN source VARCHAR DEFAULT 'police';
    UPDATE crimes SET source = 'police';
    UPDATE crimes_inactive SET source = 'police';
    ALTER TABLE crimes ADD COLUMN arrival_at TIMESTAMP;
    ALTER TABLE crimes ADD COLUMN weapon VARCHAR;
    ALTER TABLE crimes ADD COLUMN location_type VARCHAR;
    ALTER TABLE crimes ADD COLUMN age_band VARCHAR;
    ALTER TABLE crimes ADD COLUMN sex VARCHAR;
    ALTER TABLE crimes ADD COLUMN placed_by VARCHAR;
    ALTER TABLE crimes_inactive ADD COLUMN arrival_at TIMESTAMP;
    ALTER TABLE crimes_inactive ADD COLUMN weapon VARCHAR;
    ALTER TABLE crimes_inactive ADD COLUMN location_type VARCHAR;
    ALTER TABLE crimes_inactive ADD COLUMN age_band VARCHAR;
    ALTER TABLE crimes_inactive ADD COLUMN sex VARCHAR;
    ALTER TABLE crimes_inactive ADD COLUMN placed_by VARCHAR;
    """,
    # publishing plans to officers (gripkit.patrol.publish): a planned visit keeps its team and an
    # area its label; an officer's patrol keeps its team, the plan visit it was published from
    # (null: typed in on the dashboard) and its start in UTC.
    """
    ALTER TABLE plan_visits ADD COLUMN team INTEGER;
    ALTER TABLE plan_areas ADD COLUMN label VARCHAR;
    ALTER TABLE officer_patrols ADD COLUMN team INTEGER;
    ALTER TABLE officer_patrols ADD COLUMN visit INTEGER;
    ALTER TABLE officer_patrols ADD COLUMN start_utc TIMESTAMP;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def default_path() -> Path:
    """The workspace path used when none is given: ``$GRIPKIT_WORKSPACE`` or ``./gripkit.duckdb``."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH)


class Workspace:
    """An embedded DuckDB workspace file, migrated to the current schema on open.

    Parameters
    ----------
    path
        Database file (created if missing), ``":memory:"``, or None for :func:`default_path`.
    read_only
        Open without write access (the file must exist and be at the current schema).
    wait
        Seconds to wait while another process holds the file (default ``$GRIPKIT_LOCK_WAIT`` or
        300; see :mod:`gripkit.locking`).
    """

    def __init__(
        self, path: str | Path | None = None, *, read_only: bool = False, wait: float | None = None
    ) -> None:
        self.path = str(default_path() if path is None else path)
        self.read_only = read_only
        self.wait = locking.default_wait() if wait is None else wait
        if read_only and self.path != ":memory:" and not Path(self.path).exists():
            raise WorkspaceError(
                f"no workspace at {self.path}; received read_only=True for a missing file. "
                "Run `gripkit ingest PATH` first or pass --workspace to an existing file."
            )
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._con = self._connect()
        if not read_only:
            self._migrate()
        elif self.schema_version != SCHEMA_VERSION:
            raise WorkspaceError(
                f"workspace {self.path} is at schema version {self.schema_version}, this gripkit "
                f"expects {SCHEMA_VERSION}. Open it once without read_only to migrate it."
            )

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            return locking.connect(self.path, read_only=self.read_only, wait=self.wait)
        except duckdb.IOException as exc:
            raise WorkspaceError(
                f"cannot open workspace {self.path}: {exc}. Another gripkit process held it for more "
                f"than {self.wait:.0f} s; wait for it to finish or raise ${locking.WAIT_ENV}."
            ) from exc

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection, reopened (waiting for the file if need be) after a yield."""
        if self._con is None:
            self._con = self._connect()
        return self._con

    @con.setter
    def con(self, value: duckdb.DuckDBPyConnection) -> None:
        self._con = value

    def yield_to_waiting(self) -> bool:
        """Between transactions: if another process waits for this file, close the connection,
        let it in, and reconnect on next use (see :mod:`gripkit.locking`). True if it yielded."""
        if self.path == ":memory:" or self._con is None or not locking.waiting(self.path):
            return False
        log.info("workspace %s: letting a waiting process in", self.path)
        self._con.close()
        self._con = None
        locking.hand_over(self.path)
        return True

    def checkpoint(self) -> None:
        """Move committed changes from the write-ahead log into the database file now.

        DuckDB does this by itself when a commit leaves more than 16 MiB of log, at the next
        commit, and on close; calling it lets a caller choose the moment (e.g. before forking
        worker processes, see :func:`gripkit.national.compute.compute_rows`). Skipped (left to
        DuckDB) if a transaction is open.
        """
        if self.path == ":memory:":
            return
        try:
            self.con.execute("CHECKPOINT")
        except duckdb.TransactionException as exc:
            log.debug("checkpoint of %s left to DuckDB: %s", self.path, exc)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._con is not None:
            self._con.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run a block atomically: committed when it ends, rolled back if it raises."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # -- schema ----------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        """The schema version recorded in the file (0 for a new, empty file)."""
        exists = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
        ).fetchone()
        if not exists or not exists[0]:
            return 0
        row = self.con.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def _migrate(self) -> None:
        self.con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER, applied_at TIMESTAMP)")
        current = self.schema_version
        if current > SCHEMA_VERSION:
            raise WorkspaceError(
                f"workspace {self.path} is at schema version {current}, newer than this gripkit "
                f"({SCHEMA_VERSION}). Upgrade gripkit to open it."
            )
        for version in range(current, SCHEMA_VERSION):
            with self.transaction() as con:
                con.execute(MIGRATIONS[version])
                con.execute("INSERT INTO schema_version VALUES (?, now())", [version + 1])

    # -- reading ---------------------------------------------------------------------------
    def table(self, name: str) -> pd.DataFrame:
        """Return a whole table as a DataFrame (``sources``, ``quarantine``, ...)."""
        return self.con.execute(f'SELECT * FROM "{name}"').df()

    def crimes(
        self,
        *,
        crime_types: Sequence[str] | None = None,
        months: tuple[date | str | None, date | str | None] | None = None,
        force: str | None = None,
        sources: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Return the canonical crime frame (see :mod:`gripkit.columns`), optionally filtered.

        Parameters
        ----------
        crime_types
            Keep only these police.uk categories.
        months
            ``(first, last)`` inclusive, as dates or ``"YYYY-MM"`` strings; either end may be None.
        force
            Keep only this force.
        sources
            Keep only records of these sources (``police``, ``health``, a partner's name; None:
            all). A source no record has is an :class:`InputError` naming those present.
        """
        where: list[str] = []
        params: list[Any] = []
        if crime_types is not None:
            types = list(crime_types)
            unknown = sorted(set(types) - set(C.CRIME_TYPES))
            if unknown:
                raise InputError(f"unknown crime type(s) {unknown}; choose from: {', '.join(C.CRIME_TYPES)}.")
            where.append(f"crime_type IN ({', '.join('?' for _ in types)})")
            params += types
        if months is not None:
            first, last = (parse_month(m) if m is not None else None for m in months)
            if first is not None:
                where.append("month >= ?")
                params.append(first)
            if last is not None:
                where.append("month <= ?")
                params.append(last)
        if force is not None:
            where.append("force = ?")
            params.append(force)
        if sources is not None:
            wanted = list(dict.fromkeys(str(s) for s in sources))
            present = self.record_sources()
            unknown = [s for s in wanted if s not in present]
            if unknown or not wanted:
                raise InputError(
                    f"'sources' must name sources of records in workspace {self.path}; received "
                    f"{wanted}, and it holds records of: {', '.join(present) or 'none'}. "
                    "Pass one or several of those, or all."
                )
            where.append(f"{C.SOURCE} IN ({', '.join('?' for _ in wanted)})")
            params += wanted
        # offence code (nullable) and the record's source follow the canonical columns
        sql = f"SELECT {', '.join((*C.CRIME_COLUMNS, C.OFFENCE_CODE, C.SOURCE))} FROM crimes"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY source_id, source_row"
        return self.con.execute(sql, params).df()

    def record_sources(self) -> list[str]:
        """The sources of the active crime records (``police``, ``health``, ...), sorted."""
        rows = self.con.execute(
            f"SELECT DISTINCT {C.SOURCE} FROM crimes WHERE {C.SOURCE} IS NOT NULL ORDER BY 1"
        ).fetchall()
        return [str(r[0]) for r in rows]

    # -- results ---------------------------------------------------------------------------
    def save_result(self, result: StageResult) -> int:
        """Store a stage result (its ``meta``, ``to_dict()``, ``summary()`` and ``tables()``).

        Returns the new ``result_id``, also set as ``result.meta["result_id"]``. Every pipeline
        job calls this when it is given a workspace, so the report and the dashboard see work
        done from Python exactly as work done from the CLI.
        """
        check_kind(result.kind)
        meta = {k: v for k, v in result.meta.items() if k != "result_id"}
        with self.transaction():
            result_id = self.record_result(
                result.kind,
                params=meta,
                payload=result.to_dict(),
                harm_table=meta.get("harm_table"),
                harm_sha256=meta.get("harm_sha256"),
                summary=result.summary(),
            )
            for name, frame in result.tables().items():
                self.con.execute(
                    "INSERT INTO result_tables VALUES (?, ?, ?)", [result_id, name, _parquet(frame)]
                )
        result.meta["result_id"] = result_id
        return result_id

    def record_result(
        self,
        kind: str,
        *,
        params: dict[str, Any],
        payload: Any,
        harm_table: str | None = None,
        harm_sha256: str | None = None,
        summary: str | None = None,
    ) -> int:
        """Store one ``results`` row of a registered kind (JSON params and payload); return its id.

        Prefer :meth:`save_result`, which takes a result object; this is for jobs' own caches
        (e.g. the national run's per-force rows).
        """
        check_kind(kind)
        row = self.con.execute("SELECT coalesce(max(result_id), 0) + 1 FROM results").fetchone()
        result_id = int(row[0]) if row else 1
        self.con.execute(
            "INSERT INTO results (result_id, kind, created_at, harm_table, harm_sha256, params, payload, "
            "summary) VALUES (?, ?, now(), ?, ?, ?, ?, ?)",
            [
                result_id,
                kind,
                harm_table,
                harm_sha256,
                json.dumps(to_jsonable(params)),
                json.dumps(to_jsonable(payload)),
                summary,
            ],
        )
        return result_id

    def latest_result(self, kind: str) -> StoredResult | None:
        """The newest stored result of ``kind`` (a key of :data:`gripkit.results.KINDS`), or None."""
        check_kind(kind)
        rows = self._result_rows("WHERE kind = ? ORDER BY created_at DESC, result_id DESC LIMIT 1", [kind])
        return rows[0] if rows else None

    def stored_result(self, result_id: int) -> StoredResult:
        """The stored result with this id; an :class:`InputError` if there is none."""
        rows = self._result_rows("WHERE result_id = ?", [int(result_id)])
        if not rows:
            raise InputError(
                f"'result_id' must name a stored result; received {result_id!r}, and workspace "
                f"{self.path} has no such result. List them with `gripkit info`."
            )
        return rows[0]

    def result_table(self, result_id: int, name: str) -> pd.DataFrame:
        """A frame stored with a result (a GeoDataFrame if it was one); InputError if missing."""
        row = self.con.execute(
            "SELECT data FROM result_tables WHERE result_id = ? AND name = ?", [int(result_id), name]
        ).fetchone()
        if row is None:
            raise InputError(
                f"result {result_id} has no table {name!r} in workspace {self.path}; "
                "it was stored without one."
            )
        return _read_parquet(bytes(row[0]))

    def results_log(self) -> pd.DataFrame:
        """Every stored result's id, kind, time, harm table and summary, oldest first."""
        return self.con.execute(
            "SELECT result_id, kind, created_at, harm_table, summary FROM results ORDER BY result_id"
        ).df()

    def _result_rows(self, tail: str, params: list[Any]) -> list[StoredResult]:
        rows = self.con.execute(
            f"SELECT result_id, kind, created_at, params, payload, summary FROM results {tail}", params
        ).fetchall()
        out = []
        for rid, kind, created, meta, payload, summary in rows:
            names = self.con.execute(
                "SELECT name FROM result_tables WHERE result_id = ? ORDER BY name", [rid]
            ).fetchall()
            decoded = decode_json(meta)
            out.append(
                StoredResult(
                    int(rid),
                    str(kind),
                    created,
                    decoded if isinstance(decoded, dict) else {},
                    decode_json(payload),
                    summary,
                    tuple(n[0] for n in names),
                )
            )
        return out

    def counts(self) -> dict[str, int]:
        """Row counts of the main tables."""
        out: dict[str, int] = {}
        for name in ("sources", "crimes", "quarantine", "outcomes", "stop_search"):
            row = self.con.execute(f"SELECT count(*) FROM {name}").fetchone()
            out[name] = int(row[0]) if row else 0
        return out


def _parquet(frame: pd.DataFrame) -> bytes:
    """A frame as Parquet bytes (GeoParquet for a GeoDataFrame, which QGIS and pandas open)."""
    import io

    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _read_parquet(data: bytes) -> pd.DataFrame:
    import io

    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(data))
    if b"geo" in (table.schema.metadata or {}):
        import geopandas as gpd

        return gpd.read_parquet(io.BytesIO(data))
    return table.to_pandas()


def parse_month(value: date | str, name: str | None = None) -> date:
    """Parse ``"YYYY-MM"`` (or a date) into the first day of that month; errors name ``name``."""
    if isinstance(value, date):
        return value.replace(day=1)
    text = str(value).strip()
    try:
        year, month = text.split("-")[:2]
        return date(int(year), int(month), 1)
    except (ValueError, TypeError) as exc:
        what = "month" if name is None else repr(name)
        raise InputError(f"{what} must look like YYYY-MM; received {value!r}. Pass e.g. 2023-05.") from exc
