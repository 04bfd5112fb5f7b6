// Audits of fast-path receipts end to end: the block after a settlement
// samples its receipts (at a price of half a slash every receipt is), the
// worker opens each sampled receipt with its input, and other workers of its
// determinism class rerun it as an ordinary compute job. An honest worker's
// receipts pass; a planted wrong answer (a worker played by polkadot.js that
// signs receipts for answers it never computed) is caught: its worker is
// slashed and the requester refunded. A requester's challenge puts up a bond
// that goes to the worker when the receipt was right.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringCamelCase } from '@polkadot/util';
import { blake2AsHex } from '@polkadot/util-crypto';
import { startNode, connect, waitFor, freePort } from './lib/node.js';
import { send, sendOk, eventData } from './lib/tx.js';
import { startWorker, contributeDemoData, trainModel, waitServing } from './lib/worker.js';
import { chainReceipts, devAccounts, receipt, signedVoucher } from './lib/chain.js';
import { Channel } from './lib/fastpath.js';

const TRIB = 1_000_000_000_000n;
const ZERO = `0x${'00'.repeat(32)}`;
// 10 TRIB an answer against a slash of 20 TRIB (10% of 200 staked): the
// chance of an audit, twice the price over the slash, is certainty.
const PRICE = 10n * TRIB;

let dir;
let node;
let api;
let modelId;
let bob;
const workers = [];
const k = devAccounts(['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie']);
/** Every channels and staking event of the best chain, as `{ method, data }`. */
const seen = [];
let unsubscribe;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trib-audits-'));
  node = await startNode('audits-node', ['--dev', '--dev-block-time', '500']);
  api = await connect(node);
  unsubscribe = await api.query.system.events((records) => {
    for (const { event } of records) {
      if (event.section === 'channels' || (event.section === 'workerStaking' && event.method === 'Slashed')) {
        const { data } = event;
        seen.push({
          method: event.method,
          data: Object.fromEntries(data.names.map((name, i) => [stringCamelCase(name), data[i].toJSON()])),
        });
      }
    }
  });
});

after(async () => {
  unsubscribe?.();
  for (const w of workers) await w.kill();
  await api?.disconnect();
  await node?.stop();
  if (dir && !process.env.TRIBUTARY_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

/** Waits for an event `method` whose data `matches`; returns its data. */
const waitEvent = (method, matches, timeoutMs = 90_000) => waitFor(`channels.${method}`,
  () => seen.find((e) => e.method === method && matches(e.data))?.data, timeoutMs, 250);

const number = async () => (await api.rpc.chain.getHeader()).number.toNumber();
const free = async (who) => (await api.query.system.account(who.address)).data.free.toBigInt();

async function open(to, deposit) {
  const events = await sendOk(api, api.tx.channels.openChannel(to.address, deposit, (await number()) + 2_000), k.charlie);
  return eventData(api, events, 'channels', 'ChannelOpened').channelId;
}

test('four workers of one class, one of them on the fast path', async () => {
  const content = join(dir, 'content');
  await contributeDemoData(api, content, k.alice, [k.eve, k.ferdie]);
  modelId = trainModel(node, content, 'Alice', ['--datanet', '0', '--datanet', '1', '--price', '10']).id;
  const url = `http://127.0.0.1:${await freePort()}`;
  bob = await startWorker('bob', node, {
    dir, devKey: 'Bob', content, extra: ['--register', '200', '--endpoint', url, '--settle-every', '2'],
  });
  bob.url = url;
  workers.push(bob);
  for (const [name, key] of [['alice', 'Alice'], ['eve', 'Eve'], ['ferdie', 'Ferdie']]) {
    workers.push(await startWorker(name, node, { dir, devKey: key, content, extra: ['--register', '200'] }));
  }
  for (const who of [k.alice, k.bob, k.eve, k.ferdie]) await waitServing(node, who.address, [modelId]);
  await bob.waitLog(/serving the fast path's JSON-RPC/);
});

test('an honest worker opens its sampled receipts and the audits pass', async () => {
  const channel = new Channel(api, bob.url, k.charlie, await open(k.bob, 50n * TRIB), k.bob.address);
  await waitFor('the fast path to know the channel', async () => {
    try { await channel.infer(modelId, 'Heavy rain and strong winds tonight'); return true; } catch { return false; }
  }, 30_000, 500);
  await channel.infer(modelId, 'The striker scored twice in the final');
  await channel.pay();
  const mine = (e) => e.channelId === channel.channelId;
  // The worker may settle them in one batch or two: every one is sampled.
  await waitFor('both receipts sampled', () => {
    const sampled = seen.filter((e) => e.method === 'AuditSampled' && mine(e.data)).flatMap((e) => e.data.sequences);
    return sampled.includes(1) && sampled.includes(2);
  }, 90_000, 250);
  for (const sequence of [1, 2]) {
    const started = await waitEvent('AuditStarted', (e) => mine(e) && e.sequence === sequence);
    assert.equal(started.challenger, null, 'sampled, opened by the worker');
    await waitEvent('AuditPassed', (e) => mine(e) && e.sequence === sequence);
  }
  assert.ok(!seen.some((e) => e.method === 'Slashed'), 'nobody was slashed');

  // A requester may challenge a receipt it paid for, with a bond: the
  // receipt was right, so the bond goes to the worker.
  const settled = seen.find((e) => e.method === 'ReceiptsSettled' && mine(e.data)).data;
  const first = channel.receipts[0];
  const input = 'Heavy rain and strong winds tonight';
  const maxFee = 100n * TRIB;
  const byEve = await send(api, api.tx.channels.challenge(settled.batchId, 1, first, input, maxFee), k.eve);
  assert.equal(byEve.error, 'channels.NotRequester');
  const wrongInput = await send(api, api.tx.channels.challenge(settled.batchId, 1, first, 'something else', maxFee), k.charlie);
  assert.equal(wrongInput.error, 'channels.WrongInput');
  const bobBefore = await free(k.bob);
  const passes = () => seen.filter((e) => e.method === 'AuditPassed' && mine(e.data) && e.data.sequence === 1).length;
  const passedBefore = passes();
  const challenged = await sendOk(api, api.tx.channels.challenge(settled.batchId, 1, first, input, maxFee), k.charlie);
  assert.equal(eventData(api, challenged, 'channels', 'AuditStarted').challenger, k.charlie.address);
  await waitFor('the challenge to be decided', () => passes() > passedBefore, 90_000, 250);
  const bond = api.consts.channels.challengeBond.toBigInt();
  await waitFor('the bond to reach the worker', async () => (await free(k.bob)) >= bobBefore + bond - TRIB / 10n, 10_000, 250);
});

test('a planted wrong answer is caught by its audit: its worker is slashed and the requester refunded', async () => {
  // Dave signs receipts as a worker of the same class but computes nothing.
  const engine = (await api.query.workerStaking.workers(k.bob.address)).unwrap().engine.toUtf8();
  await sendOk(api, api.tx.workerStaking.registerWorker(200n * TRIB, '', 1, engine), k.dave);
  const record = (await api.query.workerStaking.workers(k.dave.address)).unwrap();
  const model = (await api.query.registry.models(modelId)).unwrap();
  const channelId = await open(k.dave, 30n * TRIB);
  const questions = ['Snow is expected on the hills overnight', 'The team won the league on goal difference'];
  const receipts = questions.map((question, i) => receipt(api, {
    channel: channelId,
    sequence: i + 1,
    model: modelId,
    artifact: model.artifactHash.toHex(),
    inputHash: blake2AsHex(question),
    outputHash: blake2AsHex('{"label":"weather","confidence":1.0}'),
    attribution: [],
    class: record.class.toHex(),
    price: PRICE,
    worker: k.dave.address,
  }));
  const { voucher, signature } = signedVoucher(api, k.charlie, {
    channel: channelId, sequence: 2, total: 2n * PRICE, receipts: chainReceipts(ZERO, receipts),
  });
  const settledEvents = await sendOk(api, api.tx.channels.settle(channelId, voucher, signature, receipts), k.dave);
  const { batchId } = eventData(api, settledEvents, 'channels', 'ReceiptsSettled');
  const mine = (e) => e.channelId === channelId;
  await waitEvent('AuditSampled', mine);

  // Dave opens the first (an opening with the wrong input is refused) and
  // leaves the second unopened.
  const wrong = await send(api, api.tx.channels.openAudit(batchId, 1, receipts[0], 'not the question'), k.dave);
  assert.equal(wrong.error, 'channels.WrongInput');
  const charlieBefore = await free(k.charlie);
  await sendOk(api, api.tx.channels.openAudit(batchId, 1, receipts[0], questions[0]), k.dave);
  const failed = await waitEvent('AuditFailed', (e) => mine(e) && e.sequence === 1);
  assert.ok(failed.jobId !== null, 'decided by the audit job');
  assert.equal(BigInt(failed.refunded), PRICE);
  const slash = seen.find((e) => e.method === 'Slashed' && e.data.worker === k.dave.address);
  assert.equal(slash.data.reason, 'AuditFailed');
  assert.equal(BigInt(slash.data.amount), 20n * TRIB);
  assert.equal(await free(k.charlie) - charlieBefore, PRICE, 'the requester got its price back');

  // The unopened one fails when the challenge window closes.
  const window = api.consts.channels.challengeWindow.toNumber();
  const unopened = await waitEvent('AuditFailed', (e) => mine(e) && e.sequence === 2, (window + 20) * 1_000);
  assert.equal(unopened.jobId, null);
  assert.ok(!seen.some((e) => e.method === 'Slashed' && e.data.worker !== k.dave.address), 'no honest worker slashed');
  const after = await send(api, api.tx.channels.challenge(batchId, 2, receipts[1], questions[1], 100n * TRIB), k.charlie);
  assert.equal(after.error, 'channels.UnknownBatch', 'the window is over');
});
