import MonCore

extension PostgresCollector {
    /// Largest tables and indexes snapshot (`pg_table`, `pg_index` events) and database sizes.
    ///
    /// A partitioned table is one entry: its leaf partitions' figures summed into the root of
    /// their tree (`partitioned`, `partitions` = how many leaves), so 30 daily partitions are
    /// "events (partitioned, 30 partitions)" rather than 30 rows, and the 200 entries stay
    /// 200 whatever the partitioning. Intermediate partitioned tables have no storage and are
    /// not counted; a partitioned table without partitions is listed with 0.
    func collectTables(into output: inout Output, at ms: Int64) throws {
        try connector.withConnection { connection in
            let tables = try connection.query(Self.tablesQuery)
            for row in 0..<tables.rowCount {
                let name = "\(tables.string(row, 0) ?? "").\(tables.string(row, 1) ?? "")"
                let hit = tables.double(row, 6) ?? 0
                let read = tables.double(row, 7) ?? 0
                output.events.append(
                    Event(
                        kind: "pg_table",
                        key: name,
                        timestampMs: ms,
                        payload: .object([
                            ("table", .string(name)),
                            ("partitioned", .bool(tables.string(row, 13) == "t")),
                            ("partitions", .number(tables.double(row, 14) ?? 0)),
                            ("live_rows", .number(tables.double(row, 2))),
                            ("dead_rows", .number(tables.double(row, 3))),
                            ("seq_scans", .number(tables.double(row, 4))),
                            ("index_scans", .number(tables.double(row, 5))),
                            ("heap_hit_ratio", hit + read > 0 ? .number(hit / (hit + read)) : .null),
                            ("total_bytes", .number(tables.double(row, 8))),
                            ("table_bytes", .number(tables.double(row, 9))),
                            ("index_bytes", .number(tables.double(row, 10))),
                            ("last_vacuum_ms", .number(tables.double(row, 11))),
                            ("last_analyze_ms", .number(tables.double(row, 12))),
                        ])
                    )
                )
            }
            let indexes = try connection.query(
                """
                SELECT s.schemaname, s.relname, s.indexrelname, s.idx_scan, pg_relation_size(s.indexrelid),
                       i.indisunique, i.indisprimary
                FROM pg_stat_user_indexes s
                JOIN pg_index i ON i.indexrelid = s.indexrelid
                ORDER BY pg_relation_size(s.indexrelid) DESC
                LIMIT 500
                """
            )
            for row in 0..<indexes.rowCount {
                let schema = indexes.string(row, 0) ?? ""
                let name = "\(schema).\(indexes.string(row, 2) ?? "")"
                output.events.append(
                    Event(
                        kind: "pg_index",
                        key: name,
                        timestampMs: ms,
                        payload: .object([
                            ("index", .string(name)),
                            ("table", .string("\(schema).\(indexes.string(row, 1) ?? "")")),
                            ("scans", .number(indexes.double(row, 3))),
                            ("size_bytes", .number(indexes.double(row, 4))),
                            ("unique", .bool(indexes.string(row, 5) == "t")),
                            ("primary", .bool(indexes.string(row, 6) == "t")),
                        ])
                    )
                )
            }
            let sizes = try connection.query(
                """
                SELECT datname, pg_database_size(oid) FROM pg_database
                WHERE datallowconn AND NOT datistemplate
                """
            )
            for row in 0..<sizes.rowCount {
                output.samples.append(
                    Sample(
                        "mon_postgres_database_size_bytes",
                        ["database": sizes.string(row, 0) ?? ""],
                        value: sizes.double(row, 1) ?? 0,
                        timestampMs: ms
                    )
                )
            }
        }
    }

    /// One row per table or partition tree (leaves summed into their root), biggest first;
    /// columns as the `pg_table` payload reads them, then `partitioned` and `partitions`.
    /// `pg_statio_user_tables` has no row for a partitioned parent: hence the left join.
    static let tablesQuery = """
        WITH t AS (
            SELECT s.relid, coalesce(pg_partition_root(s.relid), s.relid) AS root, c.relkind,
                   s.n_live_tup, s.n_dead_tup, s.seq_scan, coalesce(s.idx_scan, 0) AS idx_scan,
                   coalesce(io.heap_blks_hit, 0) AS hit, coalesce(io.heap_blks_read, 0) AS read,
                   pg_total_relation_size(s.relid) AS total, pg_relation_size(s.relid) AS heap,
                   pg_indexes_size(s.relid) AS idx,
                   greatest(s.last_vacuum, s.last_autovacuum) AS vacuumed,
                   greatest(s.last_analyze, s.last_autoanalyze) AS analyzed
            FROM pg_stat_user_tables s
            JOIN pg_class c ON c.oid = s.relid
            LEFT JOIN pg_statio_user_tables io ON io.relid = s.relid
        )
        SELECT n.nspname, r.relname, sum(t.n_live_tup), sum(t.n_dead_tup), sum(t.seq_scan), sum(t.idx_scan),
               sum(t.hit), sum(t.read), sum(t.total), sum(t.heap), sum(t.idx),
               (extract(epoch FROM max(t.vacuumed)) * 1000)::bigint,
               (extract(epoch FROM max(t.analyzed)) * 1000)::bigint,
               r.relkind = 'p', count(*) FILTER (WHERE t.relkind <> 'p' AND t.relid <> t.root)
        FROM t
        JOIN pg_class r ON r.oid = t.root
        JOIN pg_namespace n ON n.oid = r.relnamespace
        GROUP BY n.nspname, r.relname, r.relkind
        ORDER BY sum(t.total) DESC, n.nspname, r.relname
        LIMIT 200
        """
}
