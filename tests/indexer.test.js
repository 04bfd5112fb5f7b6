// The indexer on a dev chain with a PostgreSQL of the test's own: it
// follows finalized blocks while transactions stream in, is killed with
// SIGKILL twice mid-stream and restarted, and afterwards the database
// reconciles with the chain block by block (no gap, nothing twice); the
// query API answers an account's history with outcomes and fees and one
// kind of event, paginated and bounded; and the reconciliation finds a row
// removed behind its back. Then a job on a model with a parent settles, and
// the explorer page, rendered by Chromium, draws the lineage and where the
// fee went, amount by amount as the chain's JobSettled gives them.
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
import { sendOk, send, eventData } from './lib/tx.js';
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
  node = await startNode('indexer-node', ['--dev', '--dev-block-time', '500']);
  api = await connect(node);
});

after(async () => {
  for (const p of [...running]) if (p.reach) await p.kill();
  await api?.disconnect();
  await node?.stop();
  await pg?.stop();
  if (dir && !process.env.TRIBUTARY_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

const startIndexer = (port) => start(node, pg.url, dir, port);
const get = async (port, path) => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.json() };
};

test('the indexer follows finality through two SIGKILLs: the database reconciles with the chain, and the API answers', async () => {
  const port = await freePort();
  let indexer = await startIndexer(port);
  const hex = (pair) => u8aToHex(pair.publicKey);

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
  for (const w of workers) {
    const events = await sendOk(api, api.tx.compute.revealResult(jobId, 'yes', attribution, salt(w)), k[w]);
    settled ??= eventData(api, events, 'rewards', 'JobSettled');
  }
  assert.ok(settled, 'the job settled');

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
    assert.match(dom, new RegExp(`data-recipient="${key}" data-amount="${amount}"`), `the picture shows ${key} receiving ${amount}`);
  }
  assert.match(dom, new RegExp(`data-fee="${fee}"`));
  if (process.env.TRIBUTARY_EXPLORER_SCREENSHOT) {
    spawnSync('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--window-size=1100,760',
      '--virtual-time-budget=15000', `--screenshot=${process.env.TRIBUTARY_EXPLORER_SCREENSHOT}`, `http://127.0.0.1:${port}/?job=${jobId}`]);
  }
  await indexer.kill();
});
