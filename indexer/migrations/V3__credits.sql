-- Where every fee went: one row per beneficiary of each settlement, taken
-- from the `credits` of the rewards pallet's JobSettled and ReceiptsSettled
-- events in the same transaction as the block (`index_credits`). Pool harvests and claims,
-- which move credits on, stay events (Rewards/PoolRewardsHarvested,
-- Rewards/RewardsClaimed).

CREATE TABLE credits (
    block_number     BIGINT NOT NULL REFERENCES blocks (number),
    -- The settlement's event, and the credit's place in it.
    event_index      INTEGER NOT NULL,
    position         INTEGER NOT NULL,
    -- The job settled, or the channel whose receipts were.
    job_id           BIGINT,
    channel_id       BIGINT,
    -- Worker, Model, Contribution or Pool (the runtime's `Payee`).
    kind             TEXT NOT NULL,
    -- The account credited (hex); NULL for a pool, whose members harvest.
    account          TEXT,
    -- The model earned through (Model), or whose answer named the
    -- contribution (Contribution).
    model_id         BIGINT,
    contribution_id  BIGINT,
    datanet_id       BIGINT,
    snapshot_id      BIGINT,
    amount           NUMERIC(39, 0) NOT NULL,
    PRIMARY KEY (block_number, event_index, position)
);
CREATE INDEX credits_account ON credits (account, block_number DESC) WHERE account IS NOT NULL;
CREATE INDEX credits_job ON credits (job_id) WHERE job_id IS NOT NULL;
CREATE INDEX credits_contribution ON credits (contribution_id, model_id)
    WHERE contribution_id IS NOT NULL;
CREATE INDEX credits_model ON credits (model_id, kind) WHERE model_id IS NOT NULL;
CREATE INDEX events_contributor ON events ((fields->>'contributor'))
    WHERE pallet = 'Rewards' AND name = 'PoolRewardsHarvested';
CREATE INDEX events_harvested ON events ((fields->>'contribution_id'))
    WHERE pallet = 'Rewards' AND name = 'PoolRewardsHarvested';
CREATE INDEX events_claimer ON events ((fields->>'who'))
    WHERE pallet = 'Rewards' AND name = 'RewardsClaimed';

-- The market block by block, for the explorer's queue and price over time:
-- jobs submitted and finished (completed, failed or cancelled) in the
-- block, jobs open after it, the fees the submitted jobs offered, and the
-- fast-path receipts settled and what they paid. Written with each block
-- (`index_market`).
CREATE TABLE market (
    block_number     BIGINT PRIMARY KEY REFERENCES blocks (number),
    submitted        INTEGER NOT NULL,
    finished         INTEGER NOT NULL,
    open_jobs        BIGINT NOT NULL,
    fees             NUMERIC(39, 0) NOT NULL,
    receipts         BIGINT NOT NULL,
    receipts_amount  NUMERIC(39, 0) NOT NULL
);

-- Spreads the credits of block $1's settlement events (`credits`: a list
-- of `[payee, amount]`, each payee `{"Worker": account}`, `{"Model":
-- {model, owner}}`, `{"Contribution": {contribution, model, contributor}}`
-- or `{"Pool": {datanet, snapshot}}`) into `credits`. A block of a runtime
-- whose events carried no credits adds none.
CREATE FUNCTION index_credits(BIGINT) RETURNS VOID LANGUAGE SQL AS $$
    INSERT INTO credits (block_number, event_index, position, job_id, channel_id, kind, account,
                         model_id, contribution_id, datanet_id, snapshot_id, amount)
    SELECT e.block_number, e.index, c.position - 1,
           (e.fields->>'job_id')::BIGINT, (e.fields->>'channel_id')::BIGINT,
           p.key,
           CASE p.key WHEN 'Worker' THEN p.value #>> '{}'
                      WHEN 'Model' THEN p.value->>'owner'
                      WHEN 'Contribution' THEN p.value->>'contributor' END,
           (p.value->>'model')::BIGINT, (p.value->>'contribution')::BIGINT,
           (p.value->>'datanet')::BIGINT, (p.value->>'snapshot')::BIGINT,
           (c.credit->>1)::NUMERIC
      FROM events e
     CROSS JOIN LATERAL jsonb_array_elements(
           CASE jsonb_typeof(e.fields->'credits') WHEN 'array' THEN e.fields->'credits'
                ELSE '[]'::JSONB END) WITH ORDINALITY AS c(credit, position)
     CROSS JOIN LATERAL jsonb_each(c.credit->0) AS p(key, value)
     WHERE e.block_number = $1 AND e.pallet = 'Rewards'
       AND e.name IN ('JobSettled', 'ReceiptsSettled');
$$;

-- Block $1's row of `market`: the jobs open after it are the previous
-- block's, plus and minus its own.
CREATE FUNCTION index_market(BIGINT) RETURNS VOID LANGUAGE SQL AS $$
    WITH counts AS (
        SELECT COUNT(*) FILTER (WHERE pallet = 'Compute' AND name = 'JobSubmitted') AS submitted,
               COUNT(*) FILTER (WHERE pallet = 'Compute'
                                  AND name IN ('JobCompleted', 'JobFailed', 'JobCancelled')) AS finished,
               COALESCE(SUM((fields->>'fee')::NUMERIC)
                        FILTER (WHERE pallet = 'Compute' AND name = 'JobSubmitted'), 0) AS fees,
               COALESCE(SUM((fields->>'count')::BIGINT)
                        FILTER (WHERE pallet = 'Channels' AND name = 'ReceiptsSettled'), 0) AS receipts,
               COALESCE(SUM((fields->>'amount')::NUMERIC)
                        FILTER (WHERE pallet = 'Channels' AND name = 'ReceiptsSettled'), 0) AS receipts_amount
          FROM events WHERE block_number = $1)
    INSERT INTO market
    SELECT $1, submitted, finished,
           COALESCE((SELECT open_jobs FROM market WHERE block_number = $1 - 1), 0) + submitted - finished,
           fees, receipts, receipts_amount
      FROM counts;
$$;

-- Blocks indexed before these tables existed, in order.
DO $$
DECLARE
    n BIGINT;
BEGIN
    FOR n IN SELECT number FROM blocks ORDER BY number LOOP
        PERFORM index_credits(n);
        PERFORM index_market(n);
    END LOOP;
END
$$;
