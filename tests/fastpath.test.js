// The fast path end to end: a worker registered with an endpoint answers a
// requester directly on a payment channel, each answer with a receipt the
// worker signs; the requester (polkadot.js, tests/lib/fastpath.js) checks each
// receipt before it signs the next voucher; the worker settles the vouched
// receipts on chain by itself. Every refusal is a clear error that changes
// nothing, and when the node goes away answers keep flowing and settlement
// catches up when it returns, with no receipt lost or settled twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode, connect, waitFor, rpc, freePort } from './lib/node.js';
import { sendOk, eventData } from './lib/tx.js';
import { startWorker, contributeDemoData, trainModel, waitServing, workerCommand } from './lib/worker.js';
import { devAccounts } from './lib/chain.js';
import { Channel, answersSignature, fastRpc, requestSignature } from './lib/fastpath.js';
import { u8aToHex } from '@polkadot/util';
import { blake2AsHex, decodeAddress } from '@polkadot/util-crypto';

const TRIB = 1_000_000_000_000n;
const QUESTIONS = [
  'Heavy rain and strong winds tonight',
  'The striker scored twice in the final',
  'Sunny spells with a light breeze tomorrow',
  'The goalkeeper saved a penalty in extra time',
  'Snow is expected on the hills overnight',
  'The team won the league on goal difference',
];

let dir;
let content;
let node;
let nodeBase;
let nodeRpcPort;
let api;
let worker;
let url;
let modelId;
let info;
const k = devAccounts(['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie']);
const channels = {};

const startDevNode = () => startNode('fastpath-node', ['--dev', '--dev-block-time', '500'], { basePath: nodeBase, rpcPort: nodeRpcPort });
const number = async () => (await api.rpc.chain.getHeader()).number.toNumber();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trib-fastpath-'));
  content = join(dir, 'content');
  nodeBase = join(dir, 'node');
  mkdirSync(nodeBase);
  nodeRpcPort = await freePort();
  node = await startDevNode();
  api = await connect(node);
});

after(async () => {
  await worker?.kill();
  await api?.disconnect();
  await node?.stop();
  if (dir && !process.env.TRIBUTARY_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

/** Opens a channel from Charlie to `to` with `deposit`, expiring `blocks` from now; its id. */
async function open(to, deposit, blocks) {
  const expiry = (await number()) + blocks;
  const events = await sendOk(api, api.tx.channels.openChannel(to.address, deposit, expiry), k.charlie);
  return eventData(api, events, 'channels', 'ChannelOpened').channelId;
}

test('a worker registered with an endpoint offers its models on the fast path', async () => {
  await contributeDemoData(api, content, k.alice, [k.eve, k.ferdie]);
  modelId = trainModel(node, content, 'Alice', ['--datanet', '0', '--datanet', '1', '--price', '1']).id;
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  worker = await startWorker('bob', node, {
    dir, devKey: 'Bob', content,
    extra: ['--register', '200', '--endpoint', url, '--settle-every', '4'],
  });
  await worker.waitLog(/serving the fast path's JSON-RPC/);
  await waitServing(node, k.bob.address, [modelId]);
  // Dave is a worker too, with no process: a channel to it is not Bob's.
  await sendOk(api, api.tx.workerStaking.registerWorker(200n * TRIB, '', 1, 'none'), k.dave);

  info = await waitFor('the fast path to offer the model', async () => {
    const offered = await fastRpc(url, 'tributary_info');
    return offered.models.some((m) => m.model === modelId) ? offered : null;
  }, 30_000, 250);
  const record = (await api.query.workerStaking.workers(k.bob.address)).unwrap();
  assert.equal(info.class, record.class.toHex(), 'the class the chain holds');
  assert.equal(u8aToHex(decodeAddress(info.worker)), u8aToHex(decodeAddress(k.bob.address)));
  const offer = info.models.find((m) => m.model === modelId);
  assert.equal(BigInt(offer.price), TRIB, 'the model\'s registered price');
  assert.equal(offer.warm, false, 'nothing asked yet: the model is not loaded');
  assert.equal(info.maxInput, api.consts.compute.maxInputLen.toNumber());
  assert.equal(info.window, 4);
  assert.equal(record.endpoint.toUtf8(), url, 'the endpoint requesters find on chain');

  channels.main = new Channel(api, url, k.charlie, await open(k.bob, 50n * TRIB, 5_000), k.bob.address);
});

test('answers come at once with receipts the requester checks, the same answers a job gets', async () => {
  const main = channels.main;
  for (const question of QUESTIONS) {
    const answer = await main.infer(modelId, question);
    assert.match(answer.output, /^\{"label":"(weather|sport)","confidence":[0-9.]+\}$/);
    assert.ok(answer.attribution.length > 0, 'a Proof of Attribution');
  }
  assert.equal(main.sequence, QUESTIONS.length);
  assert.equal(main.total, BigInt(QUESTIONS.length) * TRIB);
  const warm = (await fastRpc(url, 'tributary_info')).models.find((m) => m.model === modelId).warm;
  assert.equal(warm, true, 'once asked, the model is loaded: requesters prefer the worker');

  // The same model on the same input answers the same bytes off the fast path.
  const record = (await api.query.registry.models(modelId)).unwrap();
  const direct = JSON.parse(workerCommand([
    'infer', '--content-dir', content, '--device', 'cpu',
    '--artifact', record.artifactHash.toHex(), '--index', record.attributionIndexHash.toHex(),
    QUESTIONS[0],
  ]));
  const first = main.receipts[0];
  assert.equal(first.outputHash.toHex(), blake2AsHex(direct.output));
  assert.deepEqual(first.attribution.map(([c, p]) => [c.toNumber(), p.toNumber()]), direct.attribution);
});

/** Runs `attempt`, which must fail with the fast path's error `code`, and checks nothing changed. */
async function refused(code, channel, attempt) {
  const before = await fastRpc(url, 'tributary_channel', [channel]);
  await assert.rejects(attempt, (e) => {
    assert.equal(e.code, code, e.message);
    return true;
  });
  assert.deepEqual(await fastRpc(url, 'tributary_channel', [channel]), before, 'a refusal changes nothing');
}

test('bad requests are refused with clear errors and change nothing', async () => {
  const main = channels.main;
  const ask = ({ model = modelId, input = 'rain', voucher = null, ...fields } = {}) => fastRpc(url, 'tributary_infer', [
    { ...main.request(model, input, { voucher }), ...fields },
  ]);
  await refused(1001, main.channelId, () => ask({ model: 9_999, voucher: main.voucher }));
  await refused(1002, main.channelId, () => ask({ input: 'x'.repeat(info.maxInput + 1), voucher: main.voucher }));
  await assert.rejects(() => ask({ channel: 9_999 }), (e) => e.code === 1003);
  const daves = await open(k.dave, 5n * TRIB, 1_000);
  await assert.rejects(() => ask({ channel: daves }), (e) => e.code === 1004 && /another worker/.test(e.message));

  // Only the channel's requester may ask on it, and only once per request:
  // anyone else would spend its window on answers it never asked for and
  // break its receipt chain. A request signed by another key, one whose
  // signature covers another input, and a copy of an answered request are
  // refused.
  await refused(1016, main.channelId, () => ask({ voucher: main.voucher, ...main.request(modelId, 'rain', { signer: k.eve }) }));
  const signedForOther = main.request(modelId, 'drizzle', { voucher: main.voucher });
  await refused(1016, main.channelId, () => ask({ ...signedForOther, input: 'rain' }));
  await assert.rejects(() => ask({ voucher: main.voucher, signature: '0x01' }), (e) => e.code === 1016);
  const copied = main.request(modelId, 'Drizzle by the coast', { voucher: main.voucher });
  main.accept(await fastRpc(url, 'tributary_infer', [copied]), modelId, 'Drizzle by the coast');
  await refused(1017, main.channelId, () => fastRpc(url, 'tributary_infer', [copied]));
  const outOfOrder = main.request(modelId, 'rain', { voucher: main.voucher, nonce: copied.nonce - 1 });
  await refused(1017, main.channelId, () => fastRpc(url, 'tributary_infer', [outOfOrder]));

  // A voucher signed by someone else, or for a total the receipts do not add up to.
  const forged = new Channel(api, url, k.eve, main.channelId, k.bob.address);
  Object.assign(forged, { sequence: main.sequence, head: main.head, total: main.total });
  await refused(1006, main.channelId, () => ask({ voucher: forged.sign() }));
  const overstated = new Channel(api, url, k.charlie, main.channelId, k.bob.address);
  Object.assign(overstated, { sequence: main.sequence, head: main.head, total: main.total - 1n });
  await refused(1008, main.channelId, () => ask({ voucher: overstated.sign() }));
  const ahead = { ...main.voucher, sequence: main.sequence + 1 };
  await refused(1008, main.channelId, () => ask({ voucher: ahead }));

  // A voucher behind the one the worker holds is stale.
  const older = main.voucher;
  await main.infer(modelId, 'Thunder and lightning later');
  await main.pay();
  await refused(1007, main.channelId, () => ask({ voucher: older }));

  // At most the window's answers go without a voucher.
  for (let n = 0; n < info.window; n++) await main.infer(modelId, `Fog at dawn ${n}`, { voucher: null });
  await refused(1010, main.channelId, () => ask({}));
  await main.infer(modelId, 'Fog clears by noon');

  // A deposit buys only what it holds: one answer at 1 TRIB.
  const small = new Channel(api, url, k.charlie, await open(k.bob, TRIB, 1_000), k.bob.address);
  channels.small = small;
  await small.infer(modelId, 'Hail in the afternoon');
  await refused(1009, small.channelId, () => small.infer(modelId, 'More hail'));
  await small.pay();

  // Once expired, a channel takes no more requests.
  const brief = new Channel(api, url, k.charlie, await open(k.bob, 5n * TRIB, 4), k.bob.address);
  channels.brief = brief;
  const { expiry } = await fastRpc(url, 'tributary_channel', [brief.channelId]);
  // The worker reads the chain once a block: give it two past the expiry.
  await waitFor('the brief channel to expire', async () => (await number()) >= expiry + 2, 20_000, 250);
  await refused(1005, brief.channelId, () => brief.infer(modelId, 'Too late'));
});

/** Every `ReceiptsSettled` of `channelId` in the chain's history. */
async function settlements(channelId) {
  const found = [];
  const best = await number();
  for (let b = 1; b <= best; b++) {
    const events = await (await api.at(await api.rpc.chain.getBlockHash(b))).query.system.events();
    for (const { event } of events) {
      if (event.section === 'channels' && event.method === 'ReceiptsSettled' && event.data.channelId.toNumber() === channelId) {
        found.push({ count: event.data.count.toNumber(), amount: event.data.amount.toBigInt() });
      }
    }
  }
  return found;
}

/** Waits until the chain has settled `channel` up to the requester's last receipt. */
async function settledUpTo(channel, timeoutMs = 60_000) {
  await waitFor(`channel ${channel.channelId} settled to ${channel.sequence}`, async () => {
    const onChain = (await api.query.channels.channels(channel.channelId)).unwrap();
    return onChain.sequence.toNumber() === channel.sequence;
  }, timeoutMs, 250);
  return (await api.query.channels.channels(channel.channelId)).unwrap();
}

test('the worker settles what was vouched for, by itself, once; each price divided as a job fee is', async () => {
  const main = channels.main;
  const ownerBefore = BigInt(await rpc(node, 'rewards_claimable', [k.alice.address]));
  await main.pay();
  const settled = await settledUpTo(main);
  assert.equal(settled.settled.toBigInt(), main.total);
  assert.equal(settled.receipts.toHex(), main.head);
  const found = await settlements(main.channelId);
  assert.equal(found.reduce((n, s) => n + s.count, 0), main.sequence, 'each receipt settled once');
  assert.equal(found.reduce((n, s) => n + s.amount, 0n), main.total);
  const ownerAfter = BigInt(await rpc(node, 'rewards_claimable', [k.alice.address]));
  assert.ok(ownerAfter > ownerBefore, 'the model\'s owner earned from the receipts');
  // The small channel's one vouched answer settles too; the brief one had none.
  assert.equal((await settledUpTo(channels.small)).settled.toBigInt(), TRIB);
  assert.equal((await api.query.channels.channels(channels.brief.channelId)).unwrap().sequence.toNumber(), 0);
  const metrics = await worker.metrics();
  assert.ok(metrics['tributary_worker_requests_total{outcome="answered"}'] >= QUESTIONS.length);
  assert.ok(metrics['tributary_worker_requests_total{outcome="refused"}'] >= 8);
});

/** `tributary-worker ask` as Ferdie with his book: one answer a line. */
const ferdieAsks = (inputs) => workerCommand([
  'ask', '--node', node.url, '--dev-key', 'Ferdie', '--model', String(modelId), '--book', join(dir, 'ferdie-book.sqlite'),
  '--deposit', '20', ...inputs,
]).trim().split('\n').map((line) => JSON.parse(line));

test('tributary-worker ask finds the worker on chain, opens a channel, checks each receipt and pays', async () => {
  const ask = ferdieAsks;
  const first = ask(QUESTIONS.slice(0, 3));
  assert.deepEqual(first.map((a) => a.sequence), [1, 2, 3]);
  for (const a of first) assert.match(a.output, /^\{"label":"(weather|sport)"/);
  const channelId = first[0].channel;
  channels.ferdie = channelId;
  assert.ok(first.every((a) => a.channel === channelId), 'Bob is the one worker with an endpoint');
  const onChain = (await api.query.channels.channels(channelId)).unwrap();
  assert.equal(onChain.requester.toString(), api.createType('AccountId32', k.ferdie.address).toString());

  const again = ask(QUESTIONS.slice(3, 5));
  assert.deepEqual(again.map((a) => [a.channel, a.sequence]), [[channelId, 4], [channelId, 5]], 'the book carries on where it was');
  await waitFor('the worker to settle what ask vouched for', async () => {
    const c = (await api.query.channels.channels(channelId)).unwrap();
    return c.sequence.toNumber() === 5 && c.settled.toBigInt() === 5n * TRIB;
  }, 60_000, 250);
  // The book as it stands now, for the test of a book that loses its tail.
  copyFileSync(join(dir, 'ferdie-book.sqlite'), join(dir, 'ferdie-book-at-5.sqlite'));
});

test('answers lost on their way back are fetched again by the requester, checked, booked and paid: the channel goes on', async () => {
  const channel = channels.ferdie;
  assert.ok(channel !== undefined, 'the last test opened Ferdie\'s channel');
  let nonce = 0;
  // Requests Ferdie signed whose answers never reached his book, as when a
  // connection drops on the way back (nonces from the clock, as his client's).
  const lose = async (input) => {
    nonce = Math.max(nonce + 1, Date.now() * 1000);
    const signature = requestSignature(k.ferdie, { channel, nonce, model: modelId, input });
    return fastRpc(url, 'tributary_infer', [{ channel, model: modelId, input, nonce, signature }]);
  };
  await lose('Lost: drizzle at dawn');
  // The next answer's receipt is two ahead of the book: the one between is fetched first.
  assert.deepEqual(ferdieAsks([QUESTIONS[5]]).map((a) => [a.channel, a.sequence]), [[channel, 7]]);
  // A window's worth lost: the worker refuses more unvouched answers until
  // the requester fetches, checks and vouches for them.
  for (let n = 0; n < info.window; n++) await lose(`Lost: showers ${n}`);
  assert.deepEqual(ferdieAsks([QUESTIONS[4]]).map((a) => [a.channel, a.sequence]), [[channel, 7 + info.window + 1]]);
  const last = 7 + info.window + 1;
  await waitFor('the worker to settle every answer, the lost ones too', async () => {
    const c = (await api.query.channels.channels(channel)).unwrap();
    return c.sequence.toNumber() === last && c.settled.toBigInt() === BigInt(last) * TRIB;
  }, 60_000, 250);

  // Only the channel's requester may have answers handed back, each time with a fresh nonce.
  const answers = (signer, after, n) => fastRpc(url, 'tributary_answers', [
    channel, after, n, answersSignature(signer, { channel, after, nonce: n }),
  ]);
  await assert.rejects(() => answers(k.eve, 0, Date.now() * 1000), (e) => e.code === 1016);
  await assert.rejects(() => answers(k.ferdie, 0, nonce), (e) => e.code === 1017);
});

test('a requester whose book lost its last entries (its machine crashed) carries on from the chain and the worker', async () => {
  const channel = channels.ferdie;
  const book = join(dir, 'ferdie-book.sqlite');
  const settled = (await api.query.channels.channels(channel)).unwrap().sequence.toNumber();
  assert.ok(settled > 5, 'the earlier tests settled more than the old book holds');
  // The book is not synced on every answer: a crash of the machine may
  // take its last entries. Here it goes back to what it held at receipt 5.
  for (const suffix of ['', '-wal', '-shm']) rmSync(book + suffix, { force: true });
  copyFileSync(join(dir, 'ferdie-book-at-5.sqlite'), book);
  assert.deepEqual(ferdieAsks([QUESTIONS[3]]).map((a) => [a.channel, a.sequence]), [[channel, settled + 1]]);
  await waitFor('the worker to settle the next answer too', async () => {
    const c = (await api.query.channels.channels(channel)).unwrap();
    return c.sequence.toNumber() === settled + 1 && c.settled.toBigInt() === BigInt(settled + 1) * TRIB;
  }, 60_000, 250);
});

test('with the node away, answers keep flowing; settlement catches up when it returns, nothing lost or twice', async () => {
  const main = channels.main;
  const before = main.sequence;
  await api.disconnect();
  await node.stop({ keepBase: true });
  for (let n = 0; n < 6; n++) await main.infer(modelId, `${QUESTIONS[n % QUESTIONS.length]} (offline ${n})`);
  await main.pay();
  assert.equal(main.sequence, before + 6);
  // A channel the worker never saw must wait for the node.
  await assert.rejects(() => fastRpc(url, 'tributary_infer', [{ ...main.request(modelId, 'rain'), channel: 12_345 }]), (e) => e.code === 1013);

  node = await startDevNode();
  api = await connect(node);
  const settled = await settledUpTo(main, 90_000);
  assert.equal(settled.settled.toBigInt(), main.total);
  const found = await settlements(main.channelId);
  assert.equal(found.reduce((n, s) => n + s.count, 0), main.sequence, 'no receipt lost or settled twice');
  assert.equal(found.reduce((n, s) => n + s.amount, 0n), main.total);
  await waitFor('the worker to read the settlement', async () => (await fastRpc(url, 'tributary_channel', [main.channelId])).settled === main.sequence, 10_000, 100);
});

test('channels left idle leave the worker\'s memory, and the next request takes one up where it stood, even with the node away', async () => {
  const held = async () => (await worker.metrics()).tributary_worker_channels_held;
  assert.ok((await held()) > 0, 'the channels of the tests before');
  // 100 blocks (a block every 500 ms) after their last requests, with
  // everything vouched settled: none is read every block any more.
  await waitFor('idle channels to leave memory', async () => (await held()) === 0, 150_000, 1000);
  const main = channels.main;
  const before = main.sequence;
  // Even with the node away: the worker takes it up as it last read it.
  await api.disconnect();
  await node.stop({ keepBase: true });
  await main.infer(modelId, QUESTIONS[2]);
  assert.equal(main.sequence, before + 1, 'the receipt chain goes on from its tip');
  // Its last nonce stayed: a request signed before is still a copy.
  await assert.rejects(() => fastRpc(url, 'tributary_infer', [main.request(modelId, 'rain', { nonce: 1 })]), (e) => e.code === 1017);
  await main.pay();
  node = await startDevNode();
  api = await connect(node);
  await settledUpTo(main, 90_000);
});
