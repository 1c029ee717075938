import MonCore

extension PostgresCollector {
    /// Most query texts kept in memory (see `StatementTextCache`).
    static let maxTexts = 5000
    /// Longest query text shipped.
    static let maxTextBytes = 8192
    /// Most bytes of query texts kept in memory.
    static let maxTextCacheBytes = 4 << 20

    /// `pg_stat_statements` deltas as `pg_stat_statement` events, plus plans of the slowest.
    func collectStatements(into output: inout Output, at ms: Int64) throws {
        try connector.withConnection { connection in
            // The session resolves names in pg_catalog only, and the extension's objects are
            // named with their schema: a schema named after the agent's role ("$user", first in
            // the default search_path) cannot shadow them with code of its own.
            let installed = try connection.query(
                """
                SELECT set_config('search_path', 'pg_catalog, pg_temp', false),
                       (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                        WHERE e.extname = 'pg_stat_statements')
                """)
            let schema = installed.string(0, 1)
            let available = schema != nil
            output.samples.append(
                Sample("mon_postgres_statements_available", value: available ? 1 : 0, timestampMs: ms)
            )
            if statementsAvailable != available {
                statementsAvailable = available
                let message =
                    available
                    ? "pg_stat_statements is available"
                    : "pg_stat_statements is not installed in this database: add it to shared_preload_libraries and run CREATE EXTENSION pg_stat_statements; other PostgreSQL metrics are still collected"
                if !available { logger.warning("\(message)", metadata: ["url": "\(redactedURL)"]) }
                output.events.append(
                    Event(
                        kind: "pg_status",
                        key: "pg_stat_statements",
                        timestampMs: ms,
                        payload: .object([("available", .bool(available)), ("message", .string(message))])
                    )
                )
            }
            guard let schema else { return }
            let statements = ExplainableStatement.quoteIdentifier(schema) + ".pg_stat_statements"

            let resetMarker = try readNames(statements, connection)
            // Counters only (no text, no join): each row is parsed from libpq's buffer into
            // the previous reading's entry in place, without a String or an allocation.
            let rows = try connection.query(
                """
                SELECT dbid, userid, queryid, calls, total_exec_time, max_exec_time, rows,
                       shared_blks_hit, shared_blks_read
                FROM \(statements)(false)
                WHERE queryid IS NOT NULL
                """
            )
            deltas.begin(resetMarker: resetMarker)
            for row in 0..<rows.rowCount {
                guard let dbid = rows.int(row, 0), let userid = rows.int(row, 1), let queryid = rows.int(row, 2) else {
                    statementRowsSkipped += 1
                    continue
                }
                deltas.observe(
                    StatementKey(dbid: dbid, userid: userid, queryid: queryid),
                    StatementCounters(
                        calls: rows.double(row, 3) ?? 0,
                        totalMs: rows.double(row, 4) ?? 0,
                        maxMs: rows.double(row, 5) ?? 0,
                        rows: rows.double(row, 6) ?? 0,
                        sharedHit: rows.double(row, 7) ?? 0,
                        sharedRead: rows.double(row, 8) ?? 0
                    ))
            }
            let changes = deltas.finish()
            if deltas.removedLastReading > 0 { texts.retain { deltas.isKnown($0) } }
            let unkept = try fetchTexts(for: changes, from: statements, connection)
            window.record(changes, at: ms)
            for delta in changes {
                statementTotals.calls += delta.calls
                statementTotals.seconds += delta.totalMs / 1000
                if delta.meanMs >= config.slowThresholdMs { statementTotals.slowCalls += delta.calls }
                eventWriter.add(
                    delta, database: databaseNames[delta.key.dbid] ?? "", user: userNames[delta.key.userid] ?? "",
                    query: texts[delta.key] ?? unkept[delta.key], timestampMs: ms)
            }
            // A few `pg_statements` bundles, not an event per statement (the daemon expands them).
            output.events += eventWriter.finish(timestampMs: ms)
            output.samples.append(
                Sample(
                    "mon_postgres_statements_calls_total", value: statementTotals.calls, kind: .counter, timestampMs: ms
                )
            )
            output.samples.append(
                Sample(
                    "mon_postgres_statements_exec_seconds_total",
                    value: statementTotals.seconds,
                    kind: .counter,
                    timestampMs: ms
                )
            )
            output.samples.append(
                Sample(
                    "mon_postgres_statements_slow_total",
                    value: statementTotals.slowCalls,
                    kind: .counter,
                    timestampMs: ms
                )
            )
            try explainSlowest(connection, into: &output, at: ms)
        }
    }

    /// `stats_reset` of `pg_stat_statements_info` (nil when unreadable or before PostgreSQL 14),
    /// and the names of databases and roles by oid, in one round trip.
    private func readNames(_ statements: String, _ connection: PostgresConnection) throws -> String? {
        let names = """
            SELECT 1, oid, datname::text FROM pg_database
            UNION ALL SELECT 2, oid, rolname::text FROM pg_roles
            """
        var rows: PostgresResult
        do {
            rows = try connection.query(
                "SELECT 0, NULL::oid, stats_reset::text FROM \(statements)_info UNION ALL " + names)
        } catch {
            if error.isConnectionFailure { throw error }
            rows = try connection.query(names)
        }
        var marker: String?
        var databases: [Int64: String] = [:]
        var users: [Int64: String] = [:]
        for row in 0..<rows.rowCount {
            switch rows.int(row, 0) {
            case 0: marker = rows.string(row, 2)
            case 1: if let oid = rows.int(row, 1) { databases[oid] = rows.string(row, 2) }
            default: if let oid = rows.int(row, 1) { users[oid] = rows.string(row, 2) }
            }
        }
        databaseNames = databases
        userNames = users
        roleNames.merge(users) { $1 }
        return marker
    }

    /// Reads the texts of the statements that ran and whose text is not held (`StatementTextCache`);
    /// returns the texts read but not kept (a full cache), for this poll's events.
    private func fetchTexts(for changes: [StatementDelta], from statements: String, _ connection: PostgresConnection)
        throws -> [StatementKey: String]
    {
        let missing = texts.keysToFetch(for: changes)
        guard !missing.isEmpty else { return [:] }
        let wanted = Set(missing)
        let rows = try connection.query(
            """
            SELECT dbid, userid, queryid, query FROM \(statements)(true)
            WHERE queryid = ANY($1::bigint[])
            """,
            [PostgresArray.integers(missing.map(\.queryid))]
        )
        var unkept: [StatementKey: String] = [:]
        let nullsBefore = texts.nullTexts
        for row in 0..<rows.rowCount {
            guard let dbid = rows.int(row, 0), let userid = rows.int(row, 1), let queryid = rows.int(row, 2) else {
                statementRowsSkipped += 1
                continue
            }
            let key = StatementKey(dbid: dbid, userid: userid, queryid: queryid)
            guard wanted.contains(key) else { continue }
            if let text = texts.store(rows.string(row, 3), for: key), texts[key] == nil { unkept[key] = text }
        }
        if texts.nullTexts > nullsBefore, !warnedNullTexts {
            warnedNullTexts = true
            logger.warning(
                "pg_stat_statements has no text for some statements (its query text file was unreadable or garbage-collected); their events carry no query",
                metadata: ["url": "\(redactedURL)", "statements": "\(texts.nullTexts - nullsBefore)"])
        }
        return unkept
    }

    /// Plans for the top statements by mean time over the last hour, at most one per hour each.
    private func explainSlowest(_ connection: PostgresConnection, into output: inout Output, at ms: Int64) throws {
        for (key, mean) in window.top(config.plansTop, thresholdMs: config.slowThresholdMs) {
            if let last = plannedAt[key], ms - last < 3_600_000 { continue }
            plannedAt[key] = ms
            var payload: [(String, JSONValue)] = [
                ("queryid", .string(String(key.queryid))), ("dbid", .number(Double(key.dbid))),
                ("mean_exec_ms", .number(mean)),
            ]
            switch try plan(for: key, connection) {
            case .success(let plan):
                let suggestions = PlanAdvisor.suggestions(planJSON: plan, minTableBytes: config.suggestMinTableBytes) {
                    table in
                    try? connection.query("SELECT pg_total_relation_size(to_regclass($1))", [table]).double(0, 0)
                }
                payload.append(("plan", .string(plan)))
                payload.append(("suggestions", .array(suggestions.map(\.json))))
            case .failure(let reason):
                payload.append(("plan", .null))
                payload.append(("error", .string(reason.message)))
            }
            output.events.append(
                Event(kind: "pg_plan", key: "\(key.dbid):\(key.queryid)", timestampMs: ms, payload: .object(payload))
            )
        }
    }

    struct PlanFailure: Error {
        var message: String
    }

    /// A generic plan obtained without executing the statement, or why there is none.
    private func plan(for key: StatementKey, _ connection: PostgresConnection) throws -> Result<String, PlanFailure> {
        guard let text = texts[key] else { return .failure(PlanFailure(message: "query text is not available")) }
        guard key.dbid == databaseOID else {
            return .failure(
                PlanFailure(message: "statement runs in another database than the one monagent connects to"))
        }
        let role = roleNames[key.userid] ?? ""
        guard config.explains(role: role, databaseOwner: databaseOwner) else {
            let allowed =
                config.explainRoles.isEmpty
                ? "the database owner '\(databaseOwner)'" : config.explainRoles.joined(separator: ", ")
            return .failure(
                PlanFailure(
                    message: "statements of role '\(role)' are not planned (postgres.explain_roles: \(allowed))"))
        }
        let statement: String
        switch ExplainableStatement.check(text) {
        case .success(let checked): statement = checked
        case .failure(let refusal): return .failure(PlanFailure(message: refusal.message))
        }
        do {
            let plan = try explain(statement, connection)
            return plan.map { .success($0) } ?? .failure(PlanFailure(message: "empty plan"))
        } catch {
            if error.isConnectionFailure { throw error }
            return .failure(PlanFailure(message: error.message))
        }
    }

    /// Plans in a read-only transaction that is always rolled back, with `search_path`,
    /// `statement_timeout` and `lock_timeout` pinned for it (bound parameters, `PQexecParams`).
    /// The statement text cannot be a parameter; it goes through `PQexecParams` too, which
    /// takes exactly one statement.
    private func explain(_ text: String, _ connection: PostgresConnection) throws(PostgresError) -> String? {
        try connection.execute(rawSQL: "BEGIN READ ONLY")
        let plan: String?
        var prepared = false
        do {
            try connection.query(
                """
                SELECT set_config('search_path', $1, true), set_config('statement_timeout', $2, true),
                       set_config('lock_timeout', $3, true), set_config('plan_cache_mode', 'force_generic_plan', true)
                """,
                [
                    ExplainableStatement.searchPath(config.explainSearchPath), "\(config.explainTimeoutMs)ms",
                    "\(config.explainLockTimeoutMs)ms",
                ])
            if serverVersion >= 160_000 {
                // The text comes from pg_stat_statements of this server; EXPLAIN never executes it.
                plan = try connection.query("EXPLAIN (GENERIC_PLAN, VERBOSE, FORMAT JSON) " + text).string(0, 0)
            } else {
                // PREPARE takes no bind parameters: the text is the server's own normalized statement.
                prepared = true
                try connection.query("PREPARE mon_plan AS " + text)
                let count =
                    try connection.query(
                        "SELECT cardinality(parameter_types) FROM pg_prepared_statements WHERE name = 'mon_plan'"
                    ).int(0, 0) ?? 0
                let arguments =
                    count > 0 ? "(" + Array(repeating: "NULL", count: Int(count)).joined(separator: ", ") + ")" : ""
                plan = try connection.query("EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE mon_plan" + arguments).string(0, 0)
            }
        } catch {
            if connection.isOK {
                try? connection.execute(rawSQL: "ROLLBACK")
                if prepared { try? connection.execute(rawSQL: "DEALLOCATE mon_plan") }
            }
            throw error
        }
        try connection.execute(rawSQL: "ROLLBACK")
        if prepared { try connection.execute(rawSQL: "DEALLOCATE mon_plan") }
        return plan
    }

    /// True for statements a plan can be obtained for (after leading comments and spaces).
    static func isExplainable(_ text: String) -> Bool {
        (try? ExplainableStatement.check(text).get()) != nil
    }
}
