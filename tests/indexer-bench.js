// The indexer's figures (a benchmark, not a timed test): a dev chain sealing
// a block every 50 ms carries a stream of jobs (three accounts acting as
// workers commit and reveal each; every job settles) and transfers while an
// indexer follows it, sampling how far it lags finality; then a second
// indexer catches up over the whole history into an empty database, timed;
// then the API's main queries are timed at that size. Run by
// scripts/indexer-bench.sh; `--blocks N` (default 10,000).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blake2AsHex } from '@polkadot/util-crypto';
import { startNode, connect, freePort, finalizedNumber, rpc, waitFor } from './lib/node.js';
import { startPostgres } from './lib/postgres.js';
import { startIndexer, indexerBinary } from './lib/indexer.js';
import { u8aToHex } from '@polkadot/util';
import { sendOk, eventData } from './lib/tx.js';
import { devAccounts, commitment } from './lib/chain.js';
import { argValue } from './lib/args.js';

const BLOCKS = Number(argValue('--blocks', 10_000));
const TRIB = 1_000_000_000_000n;
const PERBILL = 1_000_000_000;
const say = (line = '') => console.log(line);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];

const dir = mkdtempSync(join(tmpdir(), 'tributary-indexer-bench-'));
say(`indexer benchmark: ${BLOCKS} blocks at 50 ms (working directory ${dir})`);
const pg = await startPostgres('bench');
mkdirSync(join(dir, 'node'));
const node = await startNode('bench', ['--dev', '--dev-block-time', '50', '--state-pruning', 'archive'], { basePath: join(dir, 'node') });
const api = await connect(node);
const k = devAccounts(['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie']);
const workers = ['bob', 'dave', 'eve'];

// A datanet, a contribution, a model, three workers.
const stake = api.consts.workerStaking.minWorkerStake.toBigInt();
for (const w of workers) {
  await sendOk(api, api.tx.workerStaking.registerWorker(stake, 'http://127.0.0.1:0', 4, 'bench'), k[w]);
  await sendOk(api, api.tx.workerStaking.serveModels([0]), k[w]);
}
const { datanetId } = eventData(api, await sendOk(api, api.tx.registry.createDatanet('bench', 'Open'), k.alice), 'registry', 'DatanetCreated');
const { contributionId } = eventData(api, await sendOk(api, api.tx.registry.contribute(datanetId, blake2AsHex('bench'), 5, ''), k.ferdie), 'registry', 'ContributionSubmitted');
const { modelId } = eventData(api, await sendOk(api, api.tx.registry.registerModel(
  blake2AsHex('m'), blake2AsHex('i'), '', 'bench', [[datanetId, PERBILL / 5]], [], TRIB,
), k.alice), 'registry', 'ModelRegistered');
const fee = TRIB + 3n * api.consts.compute.computeFee.toBigInt();

// The live indexer, lag sampled every second while the load runs.
const live = await startIndexer(node, pg.url, join(dir), await freePort());
const lags = [];
let loading = true;
const sampler = (async () => {
  while (loading) {
    const finalized = await finalizedNumber(node);
    const indexed = (await live.get('/api/status')).body.indexed ?? -1;
    lags.push(Math.max(0, finalized - indexed));
    await sleep(1000);
  }
})();

// The load: one job at a time through commit and reveal, a transfer beside it.
// At 20 blocks a second polkadot.js now and then sends a step twice (after
// its connection is reset it resubmits, and the node answers "Transaction
// Already Imported"): the step is in the pool and lands once, so the load
// waits for its effect on chain instead of its events. Job ids count up
// from 0, one a round.
let jobs = 0;
let hiccups = 0;
const landed = async (tx, signer) => {
  try {
    await sendOk(api, tx, signer);
  } catch (e) {
    if (!/Already Imported/.test(e.message)) throw e;
    hiccups += 1;
  }
};
const status = (jobId, wanted) => waitFor(`job ${jobId} ${wanted}`, async () => (await rpc(node, 'compute_job', [jobId]))?.status === wanted, 60_000, 50);
const loadStarted = Date.now();
while (await finalizedNumber(node) < BLOCKS) {
  const jobId = jobs;
  await Promise.all([
    landed(api.tx.compute.submitJob(modelId, `question ${jobId}`, fee, null), k.charlie),
    landed(api.tx.balances.transferKeepAlive(k.ferdie.address, TRIB + BigInt(jobId)), k.alice),
  ]);
  await status(jobId, 'committing');
  const attribution = [[contributionId, PERBILL / 2]];
  const salt = (w) => blake2AsHex(`salt ${w} ${jobId}`);
  await Promise.all(workers.map((w) => landed(api.tx.compute.commitResult(jobId, commitment(api, jobId, k[w].address, 'yes', attribution, salt(w))), k[w])));
  await status(jobId, 'revealing');
  await Promise.all(workers.map((w) => landed(api.tx.compute.revealResult(jobId, 'yes', attribution, salt(w)), k[w])));
  await status(jobId, 'completed');
  jobs += 1;
  if (jobs % 100 === 0) say(`  ${jobs} jobs, block ${await finalizedNumber(node)}`);
}
loading = false;
await sampler;
const head = await finalizedNumber(node);
await live.reach(head, 600_000);
await live.stop();
say(`load: ${jobs} jobs settled and ${jobs} transfers in ${head} blocks, ${((Date.now() - loadStarted) / 1000).toFixed(0)} s (${hiccups} steps sent twice by polkadot.js, each landed once)`);

// Catching up: a second indexer into an empty database, from block 0.
pg.psql('CREATE DATABASE catchup');
const catchupUrl = pg.url.replace(/\/postgres$/, '/catchup');
const catchupStarted = Date.now();
const catching = await startIndexer(node, catchupUrl, mkdtempSync(join(dir, 'catchup-')), await freePort());
await catching.reach(head, 3_600_000);
const catchupSeconds = (Date.now() - catchupStarted) / 1000;
await catching.stop();
const reconciled = spawnSync(
  indexerBinary(),
  ['reconcile', '--node', node.url, '--database', catchupUrl, '--to', String(head)],
  { encoding: 'utf8' },
);

// Query latency at this size, against the live indexer's database.
const served = await startIndexer(node, pg.url, join(dir), await freePort());
const aliceHex = u8aToHex(k.alice.publicKey);
const alice = (await served.get(`/api/accounts/${aliceHex}/extrinsics?limit=1`)).body;
const queries = {
  'jobs, newest 20 with their splits': '/api/jobs?limit=20',
  'one job and its events': `/api/jobs/${Math.floor(jobs / 2)}`,
  "an account's extrinsics, 20": `/api/accounts/${aliceHex}/extrinsics?limit=20&before=${alice[0]?.block ?? head}`,
  'one kind of event, 20': '/api/events?pallet=Compute&name=JobCompleted&limit=20',
  'models with lineage': '/api/models?limit=20',
  'a block with its extrinsics and events': `/api/blocks/${Math.floor(head / 2)}`,
};
const latencies = {};
for (const [label, path] of Object.entries(queries)) {
  const times = [];
  for (let i = 0; i < 200; i++) {
    const t = process.hrtime.bigint();
    const { status } = await served.get(path);
    if (status !== 200) throw new Error(`${path}: ${status}`);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  latencies[label] = times.sort((a, b) => a - b);
}
await served.stop();

const rows = pg.psql("SELECT (SELECT COUNT(*) FROM blocks) || ' blocks, ' || (SELECT COUNT(*) FROM extrinsics) || ' extrinsics, ' || (SELECT COUNT(*) FROM events) || ' events, ' || pg_size_pretty(pg_database_size('postgres'))").trim();
lags.sort((a, b) => a - b);
say('\nfigures');
say(`  history                                 ${rows}`);
say(`  catching up from block 0                ${(head / catchupSeconds).toFixed(0)} blocks/s (${head} blocks in ${catchupSeconds.toFixed(1)} s; reconcile: ${reconciled.stdout.trim().split('\n').pop()})`);
say(`  lag behind finality under load          p50 ${percentile(lags, 50)} blocks, p99 ${percentile(lags, 99)}, max ${lags[lags.length - 1]} (${lags.length} samples, 1 s apart, blocks every 50 ms)`);
say('  query latency over HTTP, 200 each       p50 / p99 ms');
for (const [label, times] of Object.entries(latencies)) {
  say(`    ${label.padEnd(38)} ${percentile(times, 50).toFixed(2)} / ${percentile(times, 99).toFixed(2)}`);
}

await api.disconnect();
await node.stop({ keepBase: true });
await pg.stop();
if (!process.env.TRIBUTARY_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
process.exit(0);
