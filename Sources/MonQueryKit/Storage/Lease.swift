import Logging
import MonCore
import Synchronization

/// Which daemon of several sharing one database runs each singleton job: a PostgreSQL
/// session-level advisory lock per job, held on a session of its own.
///
/// Every instance calls `claim(_:)` at the start of each run of a job; the run goes on only
/// when the answer is `.acquired` or `.kept`. A claim, in one round trip on the lease session:
/// - if this session already holds the job's lock (`pg_locks` of `pg_backend_pid()`), `.kept`;
/// - otherwise `pg_try_advisory_lock`: `.acquired` (a takeover: the job reloads what the last
///   holder left in the database before acting), or `.elsewhere` with the holder's name.
///
/// An instance that dies (kill -9, a crash, its host gone) loses its session, and PostgreSQL
/// releases the locks as soon as it notices: at once on a Unix socket or loopback, after the
/// TCP keepalive otherwise (the lease session sets it to ~25 s). The next claim of another instance takes the job over, so a job
/// moves within one of its intervals. A lease session that broke (the server restarted,
/// `pg_terminate_backend`) has lost its locks: the claim sees the connection failure, says
/// `.lost`, and the next claim reconnects and competes again like any other instance. The
/// holder's name travels in the session's `application_name` (`monquery-lease:<instance>`),
/// which is how other instances name the holder.
///
/// The fence is per run, not per statement: a holder whose session breaks in the middle of a
/// run finishes that run, and another instance may start the same job meanwhile. Rollups
/// tolerate that (a pass locks the watermark row and recomputes whole minutes); alerts
/// re-check the lease before notifying.
public actor Lease {
    /// The singleton jobs, each with its own lock.
    public enum Job: Int32, CaseIterable, Sendable, CustomStringConvertible {
        /// Partitions created ahead, retention (partition drops, ledger trimming).
        case partitions = 1
        /// `metrics_1m`/`metrics_1h` and the histogram rollups.
        case rollups = 2
        /// Alert evaluation, transitions and webhook notifications, old transitions trimmed.
        case alerts = 3
        /// Remote-write export (`export.remote_write`): every destination's sends and cursor.
        case remoteWrite = 4
        /// Scheduled reports (`reports.daily`/`weekly`): making them, mailing them, retention.
        case reports = 5

        public var description: String {
            switch self {
            case .partitions: "partitions"
            case .rollups: "rollups"
            case .alerts: "alerts"
            case .remoteWrite: "remote_write"
            case .reports: "reports"
            }
        }
    }

    /// What a claim found.
    public enum Claim: Sendable, Equatable {
        /// This instance took the job now (it was free): reload shared state, then act.
        case acquired
        /// This instance held the job already and still does: act.
        case kept
        /// Another instance holds it (its name when known): skip this run.
        case elsewhere(holder: String?)
        /// The lease session failed (the database away?): skip this run, try again next time.
        case lost(reason: String)

        /// True when the job may run now.
        public var mayRun: Bool { self == .acquired || self == .kept }
    }

    /// One job's lease as `/health/detailed` shows it.
    public struct State: Sendable, Equatable {
        public var held: Bool
        public var holder: String?
        public var sinceMs: Int64?
        public var checkedMs: Int64?
        /// Takeovers by this instance since start.
        public var acquisitions: Int
    }

    /// The first half of every lock key (`pg_try_advisory_lock(int, int)`): "mon\0" as a
    /// big-endian integer, so monquery's locks are told apart from an application's own.
    static let keySpace: Int32 = 0x6D6F_6E00
    static let applicationPrefix = "monquery-lease:"

    private let executor: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    let connector: PostgresConnector
    /// This instance's name (config `instance_name`).
    public nonisolated let instance: String
    let logger: Logger
    private let states = Mutex([Job: State]())
    /// The backend pid of the lease session at the last claim: a different one means the
    /// session (and every lock it held) was lost in between.
    private var sessionPid: Int64?

    public init(databaseURL: String, password: String? = nil, instance: String, logger: Logger) {
        executor = ThreadExecutor(name: "pg-lease")
        self.instance = instance
        self.logger = logger
        // Short statements only: a lease round trip that takes long is a lost round trip.
        connector = PostgresConnector(
            url: databaseURL, applicationName: Self.applicationPrefix + instance, password: password,
            statementTimeoutMs: 5_000)
        states.withLock { states in
            for job in Job.allCases { states[job] = State(held: false, acquisitions: 0) }
        }
    }

    /// Every job's lease as this instance last saw it; readable from any thread.
    public nonisolated var snapshot: [Job: State] { states.withLock { $0 } }

    /// Claims `job` for one run (see the type's documentation). Never throws: a failure is `.lost`.
    public func claim(_ job: Job, nowMs: Int64 = WallClock.nowMs()) -> Claim {
        let claim: Claim
        do {
            let pid: Int64
            (claim, pid) = try connector.withConnection { try Self.claim(job, $0) }
            if let sessionPid, sessionPid != pid { sessionChanged() }
            sessionPid = pid
        } catch {
            // A broken session has lost its locks; the next claim reconnects and competes.
            connector.close()
            if sessionPid != nil { sessionChanged() }
            sessionPid = nil
            claim = .lost(reason: "\(error)")
        }
        record(job, claim, nowMs: nowMs)
        return claim
    }

    /// The session that held the locks is gone, with every lock: no job is held any more, and
    /// who holds the others is unknown until their next claim.
    private func sessionChanged() {
        states.withLock { states in
            for job in Job.allCases where states[job]?.held == true {
                logger.warning("lease lost with its session", metadata: ["job": "\(job)"])
                states[job]?.held = false
                states[job]?.holder = nil
                states[job]?.sinceMs = nil
                states[job]?.checkedMs = nil
            }
        }
    }

    /// The claim and the lease session's backend pid.
    static func claim(_ job: Job, _ connection: PostgresConnection) throws -> (Claim, Int64) {
        // Held already when this session's lock is in pg_locks (a new session after a reconnect
        // holds nothing); otherwise try to take it; either way, name the holder.
        let result = try connection.query(
            """
            WITH keepalive AS (
                -- Over TCP, the server notices a dead holder in ~25 s instead of the system's
                -- 2 h default keepalive (no effect on a Unix socket, where it notices at once).
                SELECT set_config('tcp_keepalives_idle', '10', false),
                       set_config('tcp_keepalives_interval', '5', false),
                       set_config('tcp_keepalives_count', '3', false)
            ), mine AS (
                SELECT EXISTS (
                    SELECT 1 FROM pg_locks
                    WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
                      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                      AND classid = $1::text::bigint::oid AND objid = $2::text::bigint::oid AND objsubid = 2
                ) AS held
            ), taken AS (
                SELECT held, CASE WHEN held THEN true ELSE pg_try_advisory_lock($1::text::int, $2::text::int) END AS now_held
                FROM mine, keepalive
            )
            SELECT held, now_held, pg_backend_pid(), (
                SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND l.classid = $1::text::bigint::oid AND l.objid = $2::text::bigint::oid AND l.objsubid = 2
                LIMIT 1
            ) FROM taken
            """,
            [String(keySpace), String(job.rawValue)])
        guard result.rowCount == 1, let pid = result.int(0, 2) else {
            throw PostgresError(.statement, "lease claim returned no row")
        }
        let before = result.string(0, 0) == "t"
        let now = result.string(0, 1) == "t"
        if now { return (before ? .kept : .acquired, pid) }
        return (.elsewhere(holder: result.string(0, 3).map(Self.instanceName)), pid)
    }

    /// The instance name in a lease session's `application_name`.
    static func instanceName(_ applicationName: String) -> String {
        applicationName.hasPrefix(applicationPrefix)
            ? String(applicationName.dropFirst(applicationPrefix.count)) : applicationName
    }

    private func record(_ job: Job, _ claim: Claim, nowMs: Int64) {
        let previous = states.withLock { states in
            let previous = states[job] ?? State(held: false, acquisitions: 0)
            var state = previous
            state.checkedMs = nowMs
            switch claim {
            case .acquired:
                state.held = true
                state.holder = instance
                state.sinceMs = nowMs
                state.acquisitions += 1
            case .kept:
                state.held = true
                state.holder = instance
            case .elsewhere(let holder):
                if state.held || state.holder != holder { state.sinceMs = nil }
                state.held = false
                state.holder = holder
            case .lost:
                state.held = false
                state.holder = nil
                state.sinceMs = nil
            }
            states[job] = state
            return previous
        }
        switch claim {
        case .acquired:
            logger.notice("lease taken", metadata: ["job": "\(job)", "instance": "\(instance)"])
        case .elsewhere(let holder) where previous.held:
            logger.warning(
                "lease lost to another instance", metadata: ["job": "\(job)", "holder": "\(holder ?? "unknown")"])
        case .lost(let reason) where previous.held:
            logger.warning("lease lost: its session failed", metadata: ["job": "\(job)", "error": "\(reason)"])
        default:
            break
        }
    }
}
