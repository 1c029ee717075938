import MonCore

/// Versioned schema migrations, applied in order by `Migrator`. Never edit a shipped
/// migration: add a new one.
public enum Schema {
    public struct Migration: Sendable {
        public var version: Int
        public var name: String
        public var sql: String
    }

    public static let migrations: [Migration] = [
        Migration(
            version: 1,
            name: "series, partitioned metrics, ingest ledger",
            sql: """
                CREATE TABLE metric_series (
                    id          bigserial PRIMARY KEY,
                    host        text NOT NULL,
                    name        text NOT NULL,
                    labels_key  text NOT NULL,
                    labels      jsonb NOT NULL DEFAULT '{}',
                    kind        text NOT NULL,
                    first_seen  timestamptz NOT NULL DEFAULT now(),
                    UNIQUE (host, name, labels_key)
                );
                CREATE INDEX metric_series_name_idx ON metric_series (name, host);

                CREATE TABLE metrics (
                    ts         timestamptz NOT NULL,
                    series_id  bigint NOT NULL,
                    value      double precision NOT NULL
                ) PARTITION BY RANGE (ts);
                CREATE INDEX metrics_series_ts_idx ON metrics (series_id, ts);

                CREATE TABLE ingest_ledger (
                    agent_id     text NOT NULL,
                    boot_id      text NOT NULL,
                    seq          bigint NOT NULL,
                    host         text NOT NULL,
                    samples      integer NOT NULL,
                    batch_ts     timestamptz NOT NULL,
                    received_at  timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (agent_id, boot_id, seq)
                );
                CREATE INDEX ingest_ledger_received_idx ON ingest_ledger (received_at);

                CREATE VIEW metrics_flat AS
                    SELECT m.ts AS "timestamp",
                           split_part(s.name, '_', 2) AS metric_type,
                           s.name AS metric_name,
                           m.value,
                           s.labels || jsonb_build_object('host', s.host, 'kind', s.kind) AS metadata
                    FROM metrics m JOIN metric_series s ON s.id = m.series_id;
                """
        ),
        Migration(
            version: 2,
            name: "events partitioned by day",
            sql: """
                CREATE TABLE events (
                    ts       timestamptz NOT NULL,
                    host     text NOT NULL,
                    kind     text NOT NULL,
                    key      text NOT NULL,
                    payload  jsonb NOT NULL
                ) PARTITION BY RANGE (ts);
                CREATE INDEX events_kind_ts_idx ON events (kind, ts);
                CREATE INDEX events_kind_key_ts_idx ON events (kind, key, ts);
                """
        ),
        Migration(
            version: 3,
            name: "histograms and logs partitioned by day",
            sql: """
                CREATE TABLE histograms (
                    ts          timestamptz NOT NULL,
                    series_id   bigint NOT NULL,
                    count       bigint NOT NULL,
                    sum         double precision NOT NULL,
                    min         double precision,
                    max         double precision,
                    zero_count  bigint NOT NULL DEFAULT 0,
                    idx         integer[] NOT NULL,
                    cnt         bigint[] NOT NULL
                ) PARTITION BY RANGE (ts);
                CREATE INDEX histograms_series_ts_idx ON histograms (series_id, ts);

                CREATE SEQUENCE logs_id_seq;
                CREATE TABLE logs (
                    id        bigint NOT NULL DEFAULT nextval('logs_id_seq'),
                    ts        timestamptz NOT NULL,
                    host      text NOT NULL,
                    service   text NOT NULL,
                    level     smallint NOT NULL,
                    event     text NOT NULL,
                    logger    text,
                    trace_id  text,
                    fields    jsonb NOT NULL DEFAULT '{}',
                    source    text NOT NULL DEFAULT '',
                    "offset"  bigint NOT NULL DEFAULT 0,
                    search    tsvector GENERATED ALWAYS AS (
                        to_tsvector('simple', event)
                        || jsonb_to_tsvector('simple', fields, '["string"]')
                    ) STORED
                ) PARTITION BY RANGE (ts);
                CREATE INDEX logs_ts_idx ON logs (ts, id);
                CREATE INDEX logs_id_idx ON logs (id);
                CREATE INDEX logs_level_ts_idx ON logs (level, ts);
                CREATE INDEX logs_trace_idx ON logs (trace_id) WHERE trace_id IS NOT NULL;
                CREATE INDEX logs_search_idx ON logs USING gin (search);
                CREATE UNIQUE INDEX logs_line_idx ON logs (host, source, "offset", ts) WHERE source <> '';
                """
        ),
        Migration(
            version: 4,
            name: "rollups metrics_1m/1h, histograms_1m/1h, watermark and late-batch queue",
            sql: """
                CREATE TABLE metrics_1m (
                    ts         timestamptz NOT NULL,
                    series_id  bigint NOT NULL,
                    min        double precision NOT NULL,
                    max        double precision NOT NULL,
                    sum        double precision NOT NULL,
                    count      bigint NOT NULL,
                    last       double precision NOT NULL,
                    last_ts    timestamptz NOT NULL,
                    PRIMARY KEY (series_id, ts)
                ) PARTITION BY RANGE (ts);
                CREATE TABLE metrics_1h (
                    ts         timestamptz NOT NULL,
                    series_id  bigint NOT NULL,
                    min        double precision NOT NULL,
                    max        double precision NOT NULL,
                    sum        double precision NOT NULL,
                    count      bigint NOT NULL,
                    last       double precision NOT NULL,
                    last_ts    timestamptz NOT NULL,
                    PRIMARY KEY (series_id, ts)
                ) PARTITION BY RANGE (ts);
                CREATE TABLE histograms_1m (
                    ts          timestamptz NOT NULL,
                    series_id   bigint NOT NULL,
                    count       bigint NOT NULL,
                    sum         double precision NOT NULL,
                    min         double precision,
                    max         double precision,
                    zero_count  bigint NOT NULL DEFAULT 0,
                    idx         integer[] NOT NULL,
                    cnt         bigint[] NOT NULL,
                    PRIMARY KEY (series_id, ts)
                ) PARTITION BY RANGE (ts);
                CREATE TABLE histograms_1h (
                    ts          timestamptz NOT NULL,
                    series_id   bigint NOT NULL,
                    count       bigint NOT NULL,
                    sum         double precision NOT NULL,
                    min         double precision,
                    max         double precision,
                    zero_count  bigint NOT NULL DEFAULT 0,
                    idx         integer[] NOT NULL,
                    cnt         bigint[] NOT NULL,
                    PRIMARY KEY (series_id, ts)
                ) PARTITION BY RANGE (ts);

                -- Raw minutes before the watermark are rolled up; a NULL watermark means
                -- "not started" (the first pass starts at the oldest raw partition).
                CREATE TABLE rollup_state (
                    tier       text PRIMARY KEY,
                    watermark  timestamptz
                );
                INSERT INTO rollup_state (tier, watermark) VALUES ('1m', NULL);

                -- Raw time ranges written behind the watermark (late batches, spool replays):
                -- the rollup recomputes their minutes and hours, then deletes the rows it read.
                CREATE TABLE rollup_pending (
                    id         bigserial PRIMARY KEY,
                    lo         timestamptz NOT NULL,
                    hi         timestamptz NOT NULL,
                    queued_at  timestamptz NOT NULL DEFAULT now()
                );
                """
        ),
        Migration(
            version: 5,
            name: "alert state transitions",
            sql: """
                -- One row per transition of a (rule, host): pending, firing, resolved, inactive.
                -- Few rows (transitions, not evaluations); trimmed with the events retention.
                CREATE TABLE alert_events (
                    id         bigserial PRIMARY KEY,
                    ts         timestamptz NOT NULL,
                    rule       text NOT NULL,
                    host       text NOT NULL,
                    severity   text NOT NULL,
                    state      text NOT NULL,
                    value      double precision,
                    threshold  double precision,
                    summary    text NOT NULL,
                    hint       text NOT NULL
                );
                CREATE INDEX alert_events_ts ON alert_events (ts);
                CREATE INDEX alert_events_rule_host ON alert_events (rule, host, id);
                """
        ),
        Migration(
            version: 6,
            name: "rollup ranges skipped after repeated failures",
            sql: """
                -- A minute (tier 1m) or hour (1h) the rollup passed over after its rows failed
                -- every attempt (RollupFailures): [lo, hi) is missing from that tier, and why.
                CREATE TABLE rollup_skipped (
                    id          bigserial PRIMARY KEY,
                    tier        text NOT NULL,
                    lo          timestamptz NOT NULL,
                    hi          timestamptz NOT NULL,
                    attempts    integer NOT NULL,
                    error       text NOT NULL,
                    skipped_at  timestamptz NOT NULL DEFAULT now()
                );
                """
        ),
        Migration(
            version: 7,
            name: "quarantined batches, agent id bound to its host",
            sql: """
                -- Batches the daemon will never store (malformed, over the frame limit, an
                -- implausible seq, a permanent PostgreSQL error), kept whole with the reason;
                -- acknowledged so the agent moves on. Trimmed with the events retention.
                -- seq is numeric: a quarantined seq may be above what bigint holds.
                CREATE TABLE rejected_batches (
                    id           bigserial PRIMARY KEY,
                    agent_id     text NOT NULL,
                    boot_id      text NOT NULL,
                    seq          numeric(20, 0) NOT NULL,
                    host         text NOT NULL,
                    received_at  timestamptz NOT NULL DEFAULT now(),
                    reason       text NOT NULL,
                    payload      bytea NOT NULL
                );
                CREATE INDEX rejected_batches_received_idx ON rejected_batches (received_at);
                CREATE INDEX rejected_batches_agent_idx ON rejected_batches (agent_id, received_at);

                -- The host each agent id writes: a HELLO naming a known agent id with another
                -- host is refused (unless its credential may write any host), so nobody can
                -- acknowledge another agent's batches. Existing agents keep their last host.
                CREATE TABLE ingest_agents (
                    agent_id    text PRIMARY KEY,
                    host        text NOT NULL,
                    first_seen  timestamptz NOT NULL DEFAULT now(),
                    last_seen   timestamptz NOT NULL DEFAULT now()
                );
                INSERT INTO ingest_agents (agent_id, host, first_seen, last_seen)
                SELECT DISTINCT ON (agent_id) agent_id, host, received_at, received_at
                FROM ingest_ledger ORDER BY agent_id, received_at DESC;
                """
        ),
        Migration(
            version: 8,
            name: "hourly per-statement rollup",
            sql: """
                -- pg_stat_statements deltas (events of kind pg_statement) summed per host,
                -- statement and hour (ts = the hour's start), for /postgres/slow_queries over
                -- long periods. Numbers are already clamped (SQLNumbers); NULL when no event
                -- of the hour carried the field as a number.
                CREATE TABLE statements_1h (
                    ts             timestamptz NOT NULL,
                    host           text NOT NULL,
                    key            text NOT NULL,
                    queryid        text,
                    database       text,
                    calls          double precision,
                    total_ms       double precision,
                    worst_mean_ms  double precision,
                    max_ms         double precision,
                    rows           double precision,
                    hit            double precision,
                    read           double precision,
                    PRIMARY KEY (host, key, ts)
                ) PARTITION BY RANGE (ts);
                CREATE INDEX statements_1h_ts_idx ON statements_1h (ts);
                -- The first hour statements_1h holds whole (NULL until the first rollup pass
                -- after this migration; hours before it are read from events).
                INSERT INTO rollup_state (tier, watermark) VALUES ('statements_1h', NULL);
                """
        ),
        Migration(
            version: 9,
            name: "rollup claims its minutes before computing them",
            sql: """
                -- How far a rollup pass has claimed the raw minutes (>= the '1m' watermark, which
                -- says how far they are computed). Ingest compares a batch with this row, and
                -- locks it FOR SHARE, instead of the '1m' row: the pass locks it only for the
                -- instant it advances it, not for the whole computation (RollupWriter).
                INSERT INTO rollup_state (tier, watermark)
                SELECT '1m_claimed', watermark FROM rollup_state WHERE tier = '1m';
                """
        ),
        Migration(
            version: 10,
            name: "six-hour rollups metrics_6h, histograms_6h, filled from the hour rollups",
            sql: """
                -- 7- and 30-day charts (6- and 12-hour steps) read a sixth of the hour rows
                -- (TierPlan). Rows as in the hour tables; units start at 00, 06, 12, 18 UTC.
                CREATE TABLE metrics_6h (LIKE metrics_1h INCLUDING DEFAULTS, PRIMARY KEY (series_id, ts))
                    PARTITION BY RANGE (ts);
                CREATE TABLE histograms_6h (LIKE histograms_1h INCLUDING DEFAULTS, PRIMARY KEY (series_id, ts))
                    PARTITION BY RANGE (ts);
                -- A day partition for each day of the hour tier, and the day after it (a histogram
                -- unit is stamped with its end: 24:00 is the next day).
                DO $$
                DECLARE
                    day date;
                    tbl text;
                BEGIN
                    FOR day IN
                        SELECT DISTINCT d FROM (
                            SELECT to_date(right(c.relname, 8), 'YYYYMMDD') + k AS d
                            FROM pg_inherits i
                            JOIN pg_class c ON c.oid = i.inhrelid
                            JOIN pg_class p ON p.oid = i.inhparent, generate_series(0, 1) AS k
                            WHERE p.relname = 'metrics_1h' AND p.relnamespace = current_schema()::regnamespace
                              AND c.relname ~ '_p[0-9]{8}$'
                        ) days
                    LOOP
                        FOREACH tbl IN ARRAY ARRAY['metrics_6h', 'histograms_6h'] LOOP
                            EXECUTE format(
                                'CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                                tbl || '_p' || to_char(day, 'YYYYMMDD'), tbl,
                                to_char(day, 'YYYY-MM-DD') || ' 00:00:00+00',
                                to_char(day + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
                        END LOOP;
                    END LOOP;
                END
                $$;
                INSERT INTO metrics_6h (ts, series_id, min, max, sum, count, last, last_ts)
                SELECT \(StorageTier.sixHours.unitStart("ts")), series_id, \(RollupWriter.metricsAggregates(fromRaw: false))
                FROM metrics_1h GROUP BY 1, 2;
                INSERT INTO histograms_6h (ts, series_id, count, sum, min, max, zero_count, idx, cnt)
                \(RollupWriter.mergedHistograms(source: "histograms_1h", tier: .sixHours, filter: "true"));
                """
        ),
        Migration(
            version: 11,
            name: "spans partitioned by day",
            sql: """
                -- Finished spans of distributed traces (OTLP, shipped by the agent), one row each;
                -- ids are lowercase hex (32 digits for a trace, 16 for a span). A span stored
                -- twice (the same trace, span and start: an exporter's retry) is skipped
                -- (spans_id_idx), which also finds a trace's spans.
                CREATE TABLE spans (
                    start           timestamptz NOT NULL,
                    host            text NOT NULL,
                    trace_id        text NOT NULL,
                    span_id         text NOT NULL,
                    parent_span_id  text,
                    service         text NOT NULL,
                    name            text NOT NULL,
                    kind            text NOT NULL,
                    duration_ns     bigint NOT NULL,
                    status          text NOT NULL,
                    status_message  text NOT NULL DEFAULT '',
                    attributes      jsonb NOT NULL DEFAULT '{}',
                    events          jsonb NOT NULL DEFAULT '[]'
                ) PARTITION BY RANGE (start);
                CREATE UNIQUE INDEX spans_id_idx ON spans (trace_id, span_id, start);
                CREATE INDEX spans_service_name_start_idx ON spans (service, name, start);
                CREATE INDEX spans_start_idx ON spans (start);
                -- A day partition for each day the logs have one (the writers create the rest).
                DO $$
                DECLARE
                    day date;
                BEGIN
                    FOR day IN
                        SELECT to_date(right(c.relname, 8), 'YYYYMMDD')
                        FROM pg_inherits i
                        JOIN pg_class c ON c.oid = i.inhrelid
                        JOIN pg_class p ON p.oid = i.inhparent
                        WHERE p.relname = 'logs' AND p.relnamespace = current_schema()::regnamespace
                          AND c.relname ~ '_p[0-9]{8}$'
                    LOOP
                        EXECUTE format(
                            'CREATE TABLE IF NOT EXISTS %I PARTITION OF spans FOR VALUES FROM (%L) TO (%L)',
                            'spans_p' || to_char(day, 'YYYYMMDD'),
                            to_char(day, 'YYYY-MM-DD') || ' 00:00:00+00',
                            to_char(day + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
                    END LOOP;
                END
                $$;
                """
        ),
        Migration(
            version: 12,
            name: "ingest ledger in commit order for remote-write export, per-destination cursors",
            sql: """
                -- Remote-write export (RemoteWriteExporter) follows the ledger: each batch's
                -- transaction id (a batch is one transaction: ids below the oldest running
                -- transaction's never appear later, so a cursor on it skips nothing), the time
                -- range of its samples and histograms, and the series they belong to. Rows
                -- stored before this migration have none and are not exported.
                ALTER TABLE ingest_ledger ADD COLUMN tx xid8, ADD COLUMN lo_ts timestamptz,
                    ADD COLUMN hi_ts timestamptz, ADD COLUMN series bigint[];
                ALTER TABLE ingest_ledger ALTER COLUMN tx SET DEFAULT pg_current_xact_id();
                CREATE INDEX ingest_ledger_tx_idx ON ingest_ledger (tx) WHERE tx IS NOT NULL;

                -- How far each destination (export.remote_write[].name) has sent: every ledger
                -- row with tx <= this one is sent or dropped (counted).
                CREATE TABLE remote_write_cursors (
                    destination  text PRIMARY KEY,
                    tx           xid8 NOT NULL,
                    updated_at   timestamptz NOT NULL DEFAULT now()
                );
                """
        ),
        Migration(
            version: 13,
            name: "reports: scheduled PDF reports and their e-mail delivery",
            sql: """
                -- One row per report made (ReportScheduler, `reports.daily` / `reports.weekly`;
                -- `manual` is kept for reports stored by hand). A period is made once whichever
                -- daemon makes it: the unique index (host NULL is "all hosts") is the fence
                -- behind the lease. Kept `reports.retention_days` (90), deleted by the scheduler.
                CREATE TABLE reports (
                    id             bigserial PRIMARY KEY,
                    kind           text NOT NULL CHECK (kind IN ('daily', 'weekly', 'manual')),
                    period_start   timestamptz NOT NULL,
                    period_end     timestamptz NOT NULL,
                    host           text,
                    created_at     timestamptz NOT NULL DEFAULT now(),
                    bytes          integer NOT NULL,
                    pdf            bytea NOT NULL,
                    -- The digest as mailed (built with the PDF, so a retry sends the same text).
                    mail_subject   text NOT NULL DEFAULT '',
                    mail_text      text NOT NULL DEFAULT '',
                    mail_html      text NOT NULL DEFAULT '',
                    -- pending: to be sent at mail_next_at; sent; failed: given up; off: not mailed.
                    mail_status    text NOT NULL CHECK (mail_status IN ('pending', 'sent', 'failed', 'off')),
                    mail_attempts  integer NOT NULL DEFAULT 0,
                    mail_next_at   timestamptz,
                    mail_sent_at   timestamptz,
                    -- The last delivery failure (libcurl's reason and the server's reply code; no secret).
                    mail_error     text
                );
                CREATE UNIQUE INDEX reports_period_key ON reports (kind, period_end, (coalesce(host, '')));
                CREATE INDEX reports_created_idx ON reports (created_at);
                CREATE INDEX reports_pending_idx ON reports (mail_next_at) WHERE mail_status = 'pending';
                """
        ),
    ]

    /// Tables partitioned by day, maintained together.
    public static let partitionedTables = [
        "metrics", "events", "histograms", "logs", "metrics_1m", "metrics_1h", "histograms_1m", "histograms_1h",
        "statements_1h", "metrics_6h", "histograms_6h", "spans",
    ]

    /// The rollup tables (written by `RollupWriter`).
    public static let rollupTables = [
        "metrics_1m", "metrics_1h", "histograms_1m", "histograms_1h", "statements_1h", "metrics_6h", "histograms_6h",
    ]
}
