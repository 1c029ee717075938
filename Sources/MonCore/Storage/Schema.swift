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
    ]

    /// Tables partitioned by day, maintained together.
    public static let partitionedTables = ["metrics", "events"]
}
