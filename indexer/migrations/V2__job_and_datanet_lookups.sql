-- Lookups the explorer's questions need, so that none scans the events:
-- a job's events, and a datanet's contributions.
CREATE INDEX events_job ON events ((fields->>'job_id'), block_number, index)
    WHERE fields ? 'job_id';
CREATE INDEX events_datanet ON events (pallet, name, (fields->>'datanet_id'))
    WHERE fields ? 'datanet_id';
