-- Where every unit of the currency is: each account's balance (free and
-- reserved, holds included) as the sum of its changes, and the total
-- issuance as the sum of its own. The genesis state is the first change of
-- each (block 0, no event), read from the node once; every later change is
-- a Balances event of the block, spread here in the block's transaction
-- (`index_balances`). `reconcile` checks both sums against the chain, so the
-- treasury's balance, the fees burnt and every transfer are accounted for.
--
-- An account's balance moves with Transfer, Deposit, Withdraw, Minted,
-- Burned, Slashed, Suspended, Restored, DustLost, BurnedHeld,
-- ReserveRepatriated, TransferOnHold and TransferAndHold (Reserved,
-- Unreserved, Held and Released move it between free and reserved; Endowed
-- only announces the account a Transfer or Deposit created). The total
-- issuance moves with Issued, Minted, MintedCredit and Restored (up),
-- Rescinded, Burned, BurnedHeld, BurnedDebt and Suspended (down) and
-- TotalIssuanceForced. Root's force_set_balance (BalanceSet) states a free
-- balance instead of a change, and reconciling reports the account it set.

CREATE TABLE balance_changes (
    block_number  BIGINT NOT NULL,
    -- The event; NULL for the genesis state.
    event_index   INTEGER,
    -- The account (hex).
    account       TEXT NOT NULL,
    delta         NUMERIC(40, 0) NOT NULL
);
CREATE INDEX balance_changes_account ON balance_changes (account, block_number DESC);
CREATE INDEX balance_changes_block ON balance_changes (block_number);

CREATE TABLE issuance_changes (
    block_number  BIGINT NOT NULL,
    -- The event; NULL for the genesis state.
    event_index   INTEGER,
    delta         NUMERIC(40, 0) NOT NULL
);
CREATE INDEX issuance_changes_block ON issuance_changes (block_number);

-- Spreads block $1's Balances events into `balance_changes` and
-- `issuance_changes`.
CREATE FUNCTION index_balances(BIGINT) RETURNS VOID LANGUAGE SQL AS $$
    INSERT INTO balance_changes (block_number, event_index, account, delta)
    SELECT $1, e.index, m.account, m.sign * (m.amount)::NUMERIC
      FROM events e
     CROSS JOIN LATERAL (VALUES
           (e.fields->>'who', 1, e.fields->>'amount',
            e.name IN ('Deposit', 'Minted', 'Restored')),
           (e.fields->>'who', -1, e.fields->>'amount',
            e.name IN ('Withdraw', 'Burned', 'Slashed', 'Suspended', 'BurnedHeld')),
           (e.fields->>'account', -1, e.fields->>'amount', e.name = 'DustLost'),
           (e.fields->>'from', -1, e.fields->>'amount', e.name IN ('Transfer', 'ReserveRepatriated')),
           (e.fields->>'to', 1, e.fields->>'amount', e.name IN ('Transfer', 'ReserveRepatriated')),
           (e.fields->>'source', -1, COALESCE(e.fields->>'amount', e.fields->>'transferred'),
            e.name IN ('TransferOnHold', 'TransferAndHold')),
           (e.fields->>'dest', 1, COALESCE(e.fields->>'amount', e.fields->>'transferred'),
            e.name IN ('TransferOnHold', 'TransferAndHold'))
           ) AS m(account, sign, amount, applies)
     WHERE e.block_number = $1 AND e.pallet = 'Balances' AND m.applies;

    INSERT INTO issuance_changes (block_number, event_index, delta)
    SELECT $1, index,
           CASE WHEN name = 'TotalIssuanceForced'
                THEN (fields->>'new')::NUMERIC - (fields->>'old')::NUMERIC
                WHEN name IN ('Issued', 'Minted', 'MintedCredit', 'Restored')
                THEN (fields->>'amount')::NUMERIC
                ELSE -(fields->>'amount')::NUMERIC END
      FROM events
     WHERE block_number = $1 AND pallet = 'Balances'
       AND name IN ('Issued', 'Minted', 'MintedCredit', 'Restored', 'Rescinded', 'Burned',
                    'BurnedHeld', 'BurnedDebt', 'Suspended', 'TotalIssuanceForced');
$$;

-- Blocks indexed before these tables existed (their genesis state is read
-- from the node when the indexer next starts).
DO $$
DECLARE
    n BIGINT;
BEGIN
    FOR n IN SELECT number FROM blocks ORDER BY number LOOP
        PERFORM index_balances(n);
    END LOOP;
END
$$;
