// The compute network under failure and overload, with real worker processes:
// a worker that dies for good is slashed and replaced, and a flood of jobs past
// the queue's bound is refused at the door while every accepted job completes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode, connect, waitFor, rpc } from './lib/node.js';
import { sendOk, eventData } from './lib/tx.js';
import { devAccounts } from './lib/chain.js';
import { startWorker, contributeDemoData, trainModel, completedJob, waitServing } from './lib/worker.js';

const WORKERS = { bob: 'Bob', charlie: 'Charlie', dave: 'Dave', eve: 'Eve' };

let node;
let api;
let dir;
let content;
let modelId;
const k = {};
const workers = {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trib-network-'));
  content = join(dir, 'content');
  node = await startNode('network-node', ['--dev', '--dev-block-time', '1000']);
  api = await connect(node);
  Object.assign(k, devAccounts(['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie']));
  const { datanets } = await contributeDemoData(api, content, k.alice, [k.alice, k.ferdie]);
  modelId = trainModel(node, content, 'Alice', datanets.flatMap((d) => ['--datanet', String(d)])).id;
  for (const [name, key] of Object.entries(WORKERS)) {
    workers[name] = await startWorker(name, node, {
      dir, devKey: key, content, extra: ['--register', '200', '--capacity', '64'],
    });
  }
  await Promise.all(Object.values(workers).map((w) => w.waitLog(/following the chain/, 120_000)));
  await Promise.all(Object.keys(WORKERS).map((w) => waitServing(node, k[w].address, [modelId])));
});

after(async () => {
  for (const w of Object.values(workers)) await w.kill();
  await api?.disconnect();
  await node?.stop();
  if (dir && !process.env.TRIBUTARY_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

const quote = async () => (await api.call.computeApi.quote(modelId, null)).unwrap().toBigInt();
const stakeOf = async (name) => BigInt((await rpc(node, 'compute_worker', [k[name].address])).stake);

test('a worker that stays dead is slashed and replaced, and the job completes', async () => {
  // Eve dies first; jobs are drawn until one names her.
  await workers.eve.kill('SIGKILL');
  const eveStake = await stakeOf('eve');
  let jobId;
  for (let tries = 0; tries < 20 && jobId === undefined; tries++) {
    const events = await sendOk(api, api.tx.compute.submitJob(modelId, 'Frost and icy roads by morning', await quote(), null), k.ferdie);
    const id = eventData(api, events, 'compute', 'JobSubmitted').jobId;
    const job = await waitFor(`job ${id} assigned`, async () => {
      const j = await rpc(node, 'compute_job', [id]);
      return j?.status === 'committing' || j?.status === 'revealing' || j?.status === 'completed' ? j : null;
    }, 30_000, 100);
    if (job.workers.some(([who]) => who === k.eve.address)) jobId = id;
    else await completedJob(node, id);
  }
  assert.notEqual(jobId, undefined, 'Eve was drawn for a job');
  const job = await completedJob(node, jobId, 120_000);
  const eve = job.workers.find(([who]) => who === k.eve.address);
  assert.equal(eve[1], 'dropped', 'the dead worker lost its slot');
  assert.equal(job.workers.filter(([, r]) => r.revealed).length, 3, 'a replacement took it and revealed');
  assert.equal(await stakeOf('eve'), eveStake - eveStake / 10n, 'the dead worker lost 10% of its stake');
  // Her operator takes her out of the draw: no open job is left to her.
  await sendOk(api, api.tx.workerStaking.deregister(), k.eve);
});

test('a flood past the queue bound is refused with QueueFull; the price rises; every accepted job completes', async () => {
  const capacity = (await api.call.computeApi.queue()).capacity.toNumber();
  const priceBefore = await quote();
  const maxFee = priceBefore * 20n;
  // Accounts no worker signs with: a worker's nonces are its own.
  const senders = [k.alice, k.ferdie];
  const nonces = await Promise.all(senders.map(async (s) => (await api.rpc.system.accountNextIndex(s.address)).toNumber()));
  const total = capacity + 40;
  // Outcomes are read from the blocks' events: each submission either
  // opens a job (JobSubmitted) or fails at dispatch (ExtrinsicFailed).
  const accepted = [];
  const refused = [];
  const unsubscribe = await api.rpc.chain.subscribeNewHeads(async (header) => {
    const events = await (await api.at(header.hash)).query.system.events();
    for (const { event } of events) {
      if (event.section === 'compute' && event.method === 'JobSubmitted') accepted.push(event.data.jobId.toNumber());
      if (event.section === 'system' && event.method === 'ExtrinsicFailed') {
        const e = event.data.dispatchError;
        refused.push(e.isModule ? (({ section, name }) => `${section}.${name}`)(api.registry.findMetaError(e.asModule)) : e.toString());
      }
    }
  });
  // All at once, signed with explicit nonces, so they land in the same few blocks.
  await Promise.all(Array.from({ length: total }, async (_, i) => {
    const s = i % senders.length;
    const tx = api.tx.compute.submitJob(modelId, `Flood question ${i}: rain, goals, stocks or bread?`, maxFee, null);
    await tx.signAsync(senders[s], { nonce: nonces[s] + Math.floor(i / senders.length) });
    await api.rpc.author.submitExtrinsic(tx);
  }));
  await waitFor('every submission to be decided', () => accepted.length + refused.length >= total, 60_000, 250);
  unsubscribe();
  assert.ok(refused.length > 0, 'some submissions were refused');
  const other = refused.filter((e) => e !== 'compute.QueueFull');
  assert.deepEqual(other, [], `${other.length} submissions failed otherwise`);
  assert.equal(accepted.length + refused.length, total);
  const queue = await api.call.computeApi.queue();
  assert.ok(queue.depth.toNumber() <= capacity);
  // Congestion moves at the next block's start.
  await waitFor('congestion to raise the price', async () => (await quote()) > priceBefore, 10_000, 250);

  const started = Date.now();
  for (const jobId of accepted) await completedJob(node, jobId, 600_000);
  console.log(`# flood: ${accepted.length} accepted, ${refused.length} refused with QueueFull, all accepted completed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  for (const [name, w] of Object.entries(workers)) {
    if (name !== 'eve') assert.equal(w.exited, false, `${name} is still running`);
  }
  assert.equal(node.exited, false, 'the node is still running');
  const health = await rpc(node, 'system_health');
  assert.equal(health.isSyncing, false);
});
