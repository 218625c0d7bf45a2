-- Lifecycle: a zone has at most one draft version at a time (the next decision being prepared), and the
-- audit log records every lifecycle step through the triggers of 0004.
CREATE UNIQUE INDEX zone_version_one_draft_idx ON zone_version (zone_id) WHERE state = 'draft';

-- Zones whose publication was withdrawn after they expired (or were revoked).
CREATE INDEX zone_archived_idx ON zone (archived_at) WHERE archived_at IS NULL;
CREATE INDEX zone_version_published_idx ON zone_version (zone_id, lower(valid)) WHERE state = 'published';
