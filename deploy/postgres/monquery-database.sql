-- Database and role for monquery (run as a superuser, e.g. `sudo -u postgres psql -f ...`).
-- monquery owns its tables: it creates them (`monquery migrate`) and creates/drops partitions.
-- Set the password afterwards with \password monquery, and give it to monquery
-- through database.password_file, never in the URL on a command line.
CREATE ROLE monquery LOGIN;
CREATE DATABASE mon OWNER monquery;
-- Read-only access for ad-hoc SQL and Grafana on the metrics_flat view:
CREATE ROLE mon_reader NOLOGIN;
\connect mon
ALTER DEFAULT PRIVILEGES FOR ROLE monquery IN SCHEMA public GRANT SELECT ON TABLES TO mon_reader;
