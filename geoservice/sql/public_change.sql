-- The public data's change counter (migration 0130), and with `with_transitions` the moments at which the
-- public answers change by time alone, read in the same snapshot as the counter.
SELECT database_id::text AS database_id, counter,
       CASE WHEN %(with_transitions)s THEN public_transitions() END AS transitions
FROM public_change
