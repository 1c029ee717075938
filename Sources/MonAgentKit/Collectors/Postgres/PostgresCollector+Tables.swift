import MonCore

extension PostgresCollector {
    /// Largest tables and indexes snapshot (`pg_table`, `pg_index` events) and database sizes.
    func collectTables(into output: inout Output, at ms: Int64) throws {
        try connector.withConnection { connection in
            let tables = try connection.query(
                """
                SELECT s.schemaname, s.relname, s.n_live_tup, s.n_dead_tup, s.seq_scan, coalesce(s.idx_scan, 0),
                       coalesce(io.heap_blks_hit, 0), coalesce(io.heap_blks_read, 0),
                       pg_total_relation_size(s.relid), pg_relation_size(s.relid), pg_indexes_size(s.relid),
                       (extract(epoch FROM greatest(s.last_vacuum, s.last_autovacuum)) * 1000)::bigint,
                       (extract(epoch FROM greatest(s.last_analyze, s.last_autoanalyze)) * 1000)::bigint
                FROM pg_stat_user_tables s
                JOIN pg_statio_user_tables io ON io.relid = s.relid
                ORDER BY pg_total_relation_size(s.relid) DESC
                LIMIT 200
                """
            )
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
}
