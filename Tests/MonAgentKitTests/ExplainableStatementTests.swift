import Testing

@testable import MonAgentKit
@testable import MonCore

/// Which `pg_stat_statements` texts the agent plans, as whom, and with what `search_path`
/// (issue 18: least-privilege EXPLAIN).
@Suite struct ExplainableStatementTests {
    @Test(
        "one plain statement is planned, without its trailing ';'",
        arguments: [
            ("SELECT 1", "SELECT 1"), ("SELECT 1;", "SELECT 1"),
            ("select * from big where id = $1 ;\n ", "select * from big where id = $1"),
            (
                "WITH x AS (DELETE FROM big RETURNING id) SELECT * FROM x",
                "WITH x AS (DELETE FROM big RETURNING id) SELECT * FROM x"
            ),
            ("/* app */ UPDATE big SET a = $1", "/* app */ UPDATE big SET a = $1"),
        ])
    func planned(_ text: String, _ planned: String) throws {
        #expect(try ExplainableStatement.check(text).get() == planned)
    }

    @Test(
        "more than one statement, or any other kind, is never planned",
        arguments: [
            "SELECT 1; DROP TABLE big", "SELECT 1;DROP TABLE big;", "SELECT $1 /* ; */", "SELECT ';'",
            "select 1 -- ; x\n", "DO $$ BEGIN PERFORM 1; END $$", "CALL refresh()", "EXPLAIN ANALYZE SELECT 1",
            "COPY big TO PROGRAM 'id'", "PREPARE p AS SELECT 1", "EXECUTE p", "SET ROLE postgres",
            "SELECT 1\u{0}; DROP TABLE big", "",
        ])
    func refused(_ text: String) {
        #expect(throws: ExplainableStatement.Refusal.self) { try ExplainableStatement.check(text).get() }
        #expect(!PostgresCollector.isExplainable(text))
    }

    @Test("search_path: pg_catalog first, the configured schemas quoted, pg_temp last, never \"$user\"")
    func searchPath() {
        #expect(ExplainableStatement.searchPath(["public"]) == #"pg_catalog, "public", pg_temp"#)
        #expect(ExplainableStatement.searchPath(["app", "My Schema"]) == #"pg_catalog, "app", "My Schema", pg_temp"#)
        #expect(ExplainableStatement.quoteIdentifier(#"a"b"#) == #""a""b""#)
        #expect(ExplainableStatement.quoteIdentifier(#"x", pg_temp, "evil"#) == #""x"", pg_temp, ""evil""#)
    }

    @Test("by default only statements of the monitored database's owner are planned; explain_roles widens it")
    func roles() throws {
        var config = PostgresSourceConfig(url: "postgresql:///app")
        #expect(config.explains(role: "app", databaseOwner: "app"))
        #expect(!config.explains(role: "postgres", databaseOwner: "app"))
        #expect(!config.explains(role: "", databaseOwner: ""))
        config.explainRoles = ["reporting", "app"]
        #expect(config.explains(role: "reporting", databaseOwner: "app"))
        #expect(!config.explains(role: "postgres", databaseOwner: "app"))
        config.explainRoles = ["*"]
        #expect(config.explains(role: "postgres", databaseOwner: "app"))
    }

    @Test("postgres.explain_* keys: defaults, and a search_path entry that is not an application schema is refused")
    func config() throws {
        let base = ["MONAGENT_POSTGRES_URL": "postgresql:///app"]
        let defaults = try #require(try AgentConfig.load(path: nil, environment: base).postgres)
        #expect(defaults.explainRoles.isEmpty)
        #expect(defaults.explainSearchPath == ["public"])
        #expect(defaults.explainTimeoutMs == 1000)
        #expect(defaults.explainLockTimeoutMs == 100)
        let set = try #require(
            try AgentConfig.load(
                path: nil,
                environment: base.merging([
                    "MONAGENT_POSTGRES_EXPLAIN_ROLES": "app,reporting",
                    "MONAGENT_POSTGRES_EXPLAIN_SEARCH_PATH": "app,public",
                    "MONAGENT_POSTGRES_EXPLAIN_TIMEOUT_MS": "250", "MONAGENT_POSTGRES_EXPLAIN_LOCK_TIMEOUT_MS": "20",
                ]) { $1 }
            ).postgres)
        #expect(set.explainRoles == ["app", "reporting"])
        #expect(set.explainSearchPath == ["app", "public"])
        #expect(set.explainTimeoutMs == 250 && set.explainLockTimeoutMs == 20)
        for bad in ["$user", "pg_temp", "pg_catalog,public"] {
            let error = #expect(throws: ConfigError.self) {
                try AgentConfig.load(
                    path: nil, environment: base.merging(["MONAGENT_POSTGRES_EXPLAIN_SEARCH_PATH": bad + ",x"]) { $1 })
            }
            #expect(error?.key == "postgres.explain_search_path", "\(bad)")
        }
    }
}
