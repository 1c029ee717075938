-- Role for monagent's PostgreSQL source (run as a superuser in the monitored cluster).
-- pg_monitor grants read access to every statistics view, pg_stat_statements included,
-- and to the query texts of other users' statements. Nothing else is needed: the agent
-- never writes and never holds locks beyond reading statistics.
CREATE ROLE monagent LOGIN;
GRANT pg_monitor TO monagent;
-- Set its password with \password monagent, and give it to monagent through
-- postgres.password_file (never in a URL on a command line).
--
-- pg_stat_statements must be preloaded (postgresql.conf):
--   shared_preload_libraries = 'pg_stat_statements'
-- and created in the database monagent connects to:
--   CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
