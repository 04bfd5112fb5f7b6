// The indexer on a dev chain with a PostgreSQL of the test's own: it
// follows finalized blocks while transactions stream in, is killed with
// SIGKILL twice mid-stream and restarted, and afterwards the database
// reconciles with the chain block by block (no gap, nothing twice); the
// query API answers an account's history with outcomes and fees and one
// kind of event, paginated and bounded; and the reconciliation finds a row
// removed behind its back. Then a job on a model with a parent settles, a
// worker claims and the contributor harvests: the API names every
// beneficiary of the fee as the chain's JobSettled does, and an account's,
// a contribution's and a model's earnings; the explorer page, rendered by
// Chromium, draws the lineage and where the fee went, beneficiary by
// beneficiary; the history's sums reconcile with the rewards pallet's
// balances, every account's balance (the treasury's among them) and the
// total issuance with the chain's, and a credit, a genesis balance and a
// block's burns deleted behind the indexer's back are found.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { u8aToHex } from '@polkadot/util';
import { startNode, connect, freePort, running, waitFor, finalizedNumber, rpc } from './lib/node.js';
import { startIndexer as start, indexerBinary } from './lib/indexer.js';
import { startPostgres } from './lib/postgres.js';
import { sendOk, send, eventData, settlementCredits } from './lib/tx.js';
import { devAccounts, commitment } from './lib/chain.js';
import { blake2AsHex } from '@polkadot/util-crypto';

const TRIB = 1_000_000_000_000n;

let node;
let api;
let pg;
let dir;
const k = devAccounts(['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie']);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trib-indexer-'));
  pg = await startPostgres('indexer');
  node = await startNode('indexer-node', ['--dev', '--dev-block-time', '500', '--state-pruning', 'archive']);
  api = await connect(node);
});

after(async () => {
  for (const p of [...running]) if (p.reach) await p.kill();
  await api?.disconnect();
  await node?.stop();
  await pg?.stop();
  if (dir && !process.env.TRIBUTARY_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

const hex = (pair) => u8aToHex(pair.publicKey);
const startIndexer = (port) => start(node, pg.url, dir, port);
const get = async (port, path) => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.json() };
};

test('the indexer follows finality through two SIGKILLs: the database reconciles with the chain, and the API answers', async () => {
  const port = await freePort();
  let indexer = await startIndexer(port);

  // Transactions stream in while the indexer is killed twice and restarted.
  let sent = 0;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 4; i++) {
      await sendOk(api, api.tx.balances.transferKeepAlive(k.bob.address, TRIB + BigInt(sent)), k.alice);
      sent += 1;
    }
    if (round < 2) {
      await indexer.kill();
      indexer = await startIndexer(port);
    }
  }
  await sendOk(api, api.tx.registry.createDatanet('indexed', 'Open'), k.charlie);
  // A transaction that fails: its outcome is recorded too.
  const failed = await send(api, api.tx.registry.reviewContribution(999, true), k.alice);
  assert.equal(failed.error, 'registry.UnknownContribution');

  const finalized = await finalizedNumber(node);
  await waitFor(`the indexer at block ${finalized}`, async () => (await get(port, '/api/status')).body.indexed >= finalized, 60_000, 250);
  assert.match(indexer.log(), /schema migrated|following the finalized chain/);

  const reconciled = spawnSync(indexerBinary(), ['reconcile', '--node', node.url, '--database', pg.url, '--to', String(finalized)], { encoding: 'utf8' });
  assert.equal(reconciled.status, 0, reconciled.stdout + reconciled.stderr);
  assert.match(reconciled.stdout, /^0 differences$/m);

  // Alice's history: every transfer with its fee, and the failure.
  const { body: history } = await get(port, `/api/accounts/${hex(k.alice)}/extrinsics?limit=100`);
  const transfers = history.filter((x) => x.pallet === 'Balances' && x.call === 'transfer_keep_alive');
  assert.equal(transfers.length, sent);
  assert.ok(transfers.every((x) => x.success && BigInt(x.fee) > 0n), JSON.stringify(transfers[0]));
  assert.equal(transfers[0].args.dest.Id, hex(k.bob), JSON.stringify(transfers[0].args));
  const review = history.find((x) => x.call === 'review_contribution');
  assert.equal(review.success, false);
  // Pages follow one another without overlap.
  const first = await get(port, `/api/accounts/${hex(k.alice)}/extrinsics?limit=3`);
  const second = await get(port, `/api/accounts/${hex(k.alice)}/extrinsics?limit=3&before=${first.body[2].block}`);
  assert.equal(first.body.length, 3);
  assert.ok(second.body.every((x) => x.block < first.body[2].block));

  const { body: created } = await get(port, '/api/events?pallet=Registry&name=DatanetCreated');
  assert.equal(created.length, 1);
  assert.equal(created[0].fields.owner, hex(k.charlie));
  const { body: blocks } = await get(port, '/api/blocks?limit=5');
  assert.deepEqual(blocks.map((b) => b.number), [0, 1, 2, 3, 4].map((i) => blocks[0].number - i));
  const { body: one } = await get(port, `/api/blocks/${created[0].block}`);
  assert.ok(one.events.some((e) => e.name === 'DatanetCreated'));
  assert.equal(one.hash, (await api.rpc.chain.getBlockHash(created[0].block)).toHex());

  // Bad requests are refused, not scanned.
  assert.equal((await get(port, '/api/blocks?limit=1000')).status, 400);
  assert.equal((await get(port, '/api/accounts/alice/extrinsics')).status, 400);
  assert.equal((await get(port, '/api/blocks/999999')).status, 404);

  // A row removed behind the indexer's back is found.
  await indexer.kill();
  pg.psql(`DELETE FROM events WHERE block_number = ${created[0].block} AND name = 'DatanetCreated'`);
  const broken = spawnSync(indexerBinary(), ['reconcile', '--node', node.url, '--database', pg.url, '--to', String(finalized)], { encoding: 'utf8' });
  assert.equal(broken.status, 1, broken.stdout + broken.stderr);
  assert.match(broken.stdout, new RegExp(`block ${created[0].block}: \\d+ extrinsics and \\d+ events indexed \\(\\d+ and \\d+ rows\\)`));
});

/** The page as Chromium renders it, scripts run: its DOM. */
function renderedPage(url) {
  const run = spawnSync('chromium', [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--virtual-time-budget=15000', '--dump-dom', url,
  ], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, `chromium: ${run.stderr}`);
  return run.stdout;
}

test('the explorer page, in a real browser, draws the lineage and where a job\'s fee went', async () => {
  // A datanet, a base model and a child of it, three workers, and a job on
  // the child that its workers commit, reveal and so settle.
  const PERBILL = 1_000_000_000;
  // The first test broke a block of its own on purpose; this one checks from here.
  const from = (await finalizedNumber(node)) + 1;
  const workers = ['bob', 'dave', 'eve'];
  const stake = api.consts.workerStaking.minWorkerStake.toBigInt();
  for (const w of workers) {
    await sendOk(api, api.tx.workerStaking.registerWorker(stake, 'http://127.0.0.1:0', 1, 'test'), k[w]);
    await sendOk(api, api.tx.workerStaking.serveModels([0, 1]), k[w]);
  }
  const { datanetId } = eventData(api, await sendOk(api, api.tx.registry.createDatanet('reviews', 'Open'), k.alice), 'registry', 'DatanetCreated');
  const contributed = await sendOk(api, api.tx.registry.contribute(datanetId, blake2AsHex('loved it'), 8, ''), k.ferdie);
  const { contributionId } = eventData(api, contributed, 'registry', 'ContributionSubmitted');
  const base = eventData(api, await sendOk(api, api.tx.registry.registerModel(
    blake2AsHex('base'), blake2AsHex('base index'), '', 'base', [[datanetId, PERBILL / 5]], [], TRIB,
  ), k.alice), 'registry', 'ModelRegistered').modelId;
  const child = eventData(api, await sendOk(api, api.tx.registry.registerModel(
    blake2AsHex('child'), blake2AsHex('child index'), '', 'child', [[datanetId, PERBILL / 10]], [[base, PERBILL / 2]], TRIB,
  ), k.ferdie), 'registry', 'ModelRegistered').modelId;
  const fee = TRIB + 3n * api.consts.compute.computeFee.toBigInt();
  const { jobId } = eventData(api, await sendOk(api, api.tx.compute.submitJob(child, 'was it good?', fee, null), k.charlie), 'compute', 'JobSubmitted');
  await waitFor('the job to be assigned', async () => (await rpc(node, 'compute_job', [jobId]))?.status === 'committing', 30_000, 250);
  const attribution = [[contributionId, PERBILL / 2]];
  const salt = (w) => blake2AsHex(`salt of ${w}`);
  for (const w of workers) {
    await sendOk(api, api.tx.compute.commitResult(jobId, commitment(api, jobId, k[w].address, 'yes', attribution, salt(w))), k[w]);
  }
  let settled;
  let credits;
  for (const w of workers) {
    const events = await sendOk(api, api.tx.compute.revealResult(jobId, 'yes', attribution, salt(w)), k[w]);
    settled ??= eventData(api, events, 'rewards', 'JobSettled');
    credits ??= settlementCredits(events);
  }
  assert.ok(settled, 'the job settled');
  // The base's owner is paid through the child, and the named contribution.
  assert.ok(credits.some((c) => c.kind === 'Model' && c.model === base && c.account === hex(k.alice)), JSON.stringify(credits));
  assert.ok(credits.some((c) => c.kind === 'Contribution' && c.contribution === contributionId && c.model === child));
  // Money moves on: a worker claims, the contributor harvests its pool.
  const claimed = eventData(api, await sendOk(api, api.tx.rewards.claim(), k.bob), 'rewards', 'RewardsClaimed');
  const harvest = await sendOk(api, api.tx.rewards.claimContributions([contributionId]), k.ferdie);
  const harvested = eventData(api, harvest, 'rewards', 'PoolRewardsHarvested');
  assert.ok(BigInt(harvested.amount) > 0n, 'the pool paid the contribution');
  // A worker bonds more and starts unbonding part: held all the same.
  await sendOk(api, api.tx.workerStaking.bondExtra(TRIB), k.eve);
  await sendOk(api, api.tx.workerStaking.unbond(TRIB / 2n), k.eve);

  const port = await freePort();
  const indexer = await startIndexer(port);
  const finalized = await finalizedNumber(node);
  await waitFor(`the indexer at block ${finalized}`, async () => (await get(port, '/api/status')).body.indexed >= finalized, 60_000, 250);

  // The answers the page draws.
  const { body: models } = await get(port, '/api/models');
  const childModel = models.find((m) => m.id === child);
  assert.deepEqual(childModel.parents, [{ model: base, share: PERBILL / 2 }]);
  assert.deepEqual(childModel.training, [{ datanet: datanetId, share: PERBILL / 10 }]);
  const { body: job } = await get(port, `/api/jobs/${jobId}`);
  assert.equal(job.status, 'completed');
  assert.equal(job.model, child);
  assert.equal(job.fee, fee.toString());
  const split = {
    workers: settled.workerShare, modelOwner: settled.modelShare, upstream: settled.upstreamShare,
    data: settled.dataShare, treasury: settled.treasuryShare,
  };
  assert.deepEqual(job.split, Object.fromEntries(Object.entries(split).map(([key, v]) => [key, BigInt(v).toString()])));
  // Every beneficiary, as the chain's event names it.
  const apiCredits = job.credits.map(({ kind, account, model, contribution, datanet, snapshot, amount }) =>
    Object.fromEntries(Object.entries({ kind, account, model, contribution, datanet, snapshot, amount }).filter(([, v]) => v !== null)));
  assert.deepEqual(apiCredits, credits);
  const { body: bob } = await get(port, `/api/accounts/${hex(k.bob)}/earnings`);
  const bobsCredit = credits.find((c) => c.kind === 'Worker' && c.account === hex(k.bob)).amount;
  assert.equal(bob.totals.Worker, bobsCredit);
  assert.equal(bob.totals.Claimed, BigInt(claimed.amount).toString());
  assert.deepEqual(bob.credits.map((c) => [c.job, c.amount]), [[jobId, bobsCredit]]);
  const { body: earned } = await get(port, `/api/contributions/${contributionId}/earnings`);
  assert.deepEqual(earned.byModel, [{ model: child, amount: credits.find((c) => c.kind === 'Contribution').amount }]);
  assert.equal(earned.harvested, BigInt(harvested.amount).toString());
  const { body: baseEarned } = await get(port, `/api/models/${base}/earnings`);
  assert.deepEqual(baseEarned.owners, [{ account: hex(k.alice), amount: credits.find((c) => c.kind === 'Model' && c.model === base).amount }]);
  assert.equal((await get(port, '/api/accounts/bob/earnings')).status, 400);
  // The market over time: one job submitted and finished, at its fee.
  const { status: marketStatus, body: market } = await get(port, '/api/market?span=100000&buckets=100');
  assert.equal(marketStatus, 200, JSON.stringify(market));
  assert.deepEqual([market.reduce((n, b) => n + b.submitted, 0), market.reduce((n, b) => n + b.finished, 0), market.at(-1).open], [1, 1, 0]);
  const { body: [submittedBlock] } = await get(port, `/api/market?to=${job.block}&span=1&buckets=1`);
  assert.deepEqual([submittedBlock.submitted, submittedBlock.open, submittedBlock.averageFee], [1, 1, fee.toString()]);
  assert.equal((await get(port, '/api/market?buckets=1000')).status, 400);
  assert.ok(job.events.some((e) => e.name === 'ResultRevealed'));
  assert.equal((await get(port, '/api/jobs/99999')).status, 404);
  const { body: datanets } = await get(port, '/api/datanets');
  assert.equal(datanets.find((d) => d.id === datanetId).contributions, 1);

  // The page, as Chromium runs it.
  const dom = renderedPage(`http://127.0.0.1:${port}/?job=${jobId}`);
  assert.match(dom, /data-ready="true"/, dom.slice(0, 2000));
  assert.match(dom, new RegExp(`data-edge="datanet:${datanetId}-&gt;model:${base}"`));
  assert.match(dom, new RegExp(`data-edge="model:${base}-&gt;model:${child}"`));
  assert.match(dom, new RegExp(`<tr data-job="${jobId}" data-status="completed">`));
  for (const [key, amount] of Object.entries(job.split)) {
    assert.match(dom, new RegExp(`data-part="${key}" data-amount="${amount}"`), `the split shows ${key} receiving ${amount}`);
  }
  for (const credit of [...credits, { kind: 'Treasury', amount: job.split.treasury }]) {
    const payee = credit.kind === 'Pool' ? `Pool:${credit.datanet}/${credit.snapshot}` : credit.account ? `${credit.kind}:${credit.account}` : credit.kind;
    assert.match(dom, new RegExp(`data-payee="${payee}" data-amount="${credit.amount}"`), `the picture shows ${payee} receiving ${credit.amount}`);
  }
  assert.match(dom, new RegExp(`data-fee="${fee}"`));
  assert.match(dom, /id="market-chart" data-buckets="\d+"/);
  assert.match(dom, new RegExp(`data-open="\\d+" data-fee="${fee}"`), 'the chart shows the fee offered');
  // An account's flow of funds: Bob earned as a worker and claimed it.
  const bobsPage = renderedPage(`http://127.0.0.1:${port}/?account=${hex(k.bob)}`);
  assert.match(bobsPage, /data-ready="true"/, bobsPage.slice(0, 2000));
  assert.match(bobsPage, new RegExp(`data-source="Worker" data-amount="${bob.totals.Worker}"`));
  assert.match(bobsPage, new RegExp(`data-claimed="${bob.totals.Claimed}"`));
  if (process.env.TRIBUTARY_EXPLORER_SCREENSHOT) {
    spawnSync('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--window-size=1100,1080',
      '--virtual-time-budget=15000', `--screenshot=${process.env.TRIBUTARY_EXPLORER_SCREENSHOT}`, `http://127.0.0.1:${port}/?job=${jobId}`]);
  }
  await indexer.kill();

  // The money adds up: what each account may claim, each contribution and
  // each model earned, and each worker's stake held, summed from the
  // history, is the chain's; and a credit lost behind the indexer's back is
  // found.
  const reconcile = () => spawnSync(indexerBinary(), ['reconcile', '--node', node.url, '--database', pg.url, '--from', String(from)], { encoding: 'utf8' });
  const whole = reconcile();
  assert.equal(whole.status, 0, whole.stdout + whole.stderr);
  assert.match(whole.stdout, /^0 differences$/m);
  pg.psql(`DELETE FROM credits WHERE job_id = ${jobId} AND kind = 'Worker' AND account = '${hex(k.dave)}'`);
  const lost = reconcile();
  assert.equal(lost.status, 1, lost.stdout + lost.stderr);
  assert.match(lost.stdout, new RegExp(`claimable ${hex(k.dave)} at block \\d+: the chain holds ${bigOf(credits, 'Worker', hex(k.dave))}, the history sums to 0`));
  pg.psql(`DELETE FROM events WHERE pallet = 'WorkerStaking' AND name = 'Bonded' AND fields->>'worker' = '${hex(k.eve)}'`);
  const unbonded = reconcile();
  const eveHeld = stake + TRIB;
  assert.match(unbonded.stdout, new RegExp(`stake held by worker ${hex(k.eve)} at block \\d+: the chain holds ${eveHeld}, the history sums to ${stake}`), unbonded.stdout);

  // The treasury's balance and the currency issued are their genesis values
  // plus every change since: a lost genesis balance and a block's lost
  // burns are found.
  const treasury = u8aToHex(new Uint8Array([...new TextEncoder().encode('modlpy/trsry'), ...new Uint8Array(20)]));
  const treasuryHolds = (await api.query.system.account(treasury)).data.free.toBigInt();
  const genesisTreasury = api.consts.balances.existentialDeposit.toBigInt();
  pg.psql(`DELETE FROM balance_changes WHERE account = '${treasury}' AND event_index IS NULL`);
  pg.psql(`DELETE FROM issuance_changes WHERE block_number = (SELECT MAX(block_number) FROM issuance_changes WHERE event_index IS NOT NULL)`);
  const unbalanced = reconcile();
  assert.equal(unbalanced.status, 1, unbalanced.stdout + unbalanced.stderr);
  assert.match(unbalanced.stdout, new RegExp(`balance of ${treasury} at block \\d+: the chain holds ${treasuryHolds}, the history sums to ${treasuryHolds - genesisTreasury}`), unbalanced.stdout);
  assert.match(unbalanced.stdout, /currency issued at block \d+: the chain holds (\d+), the history sums to (?!\1\b)\d+/, unbalanced.stdout);
});

/** The amount credited to `account` as a `kind`. */
const bigOf = (credits, kind, account) => credits.find((c) => c.kind === kind && c.account === account).amount;
