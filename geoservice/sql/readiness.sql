-- One round trip for the readiness check: whether this server is a standby, and the migrations applied.
SELECT pg_is_in_recovery() AS standby,
       array(SELECT migration_id FROM _yoyo_migration ORDER BY migration_id) AS applied
