// The indexer on a dev chain with a PostgreSQL of the test's own: it
// follows finalized blocks while transactions stream in, is killed with
// SIGKILL twice mid-stream and restarted, and afterwards the database
// reconciles with the chain block by block (no gap, nothing twice); the
// query API answers an account's history with outcomes and fees and one
// kind of event, paginated and bounded; and the reconciliation finds a row
// removed behind its back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { u8aToHex } from '@polkadot/util';
import { startNode, connect, freePort, projectBinary, running, waitFor, finalizedNumber } from './lib/node.js';
import { startPostgres } from './lib/postgres.js';
import { sendOk, send } from './lib/tx.js';
import { devAccounts } from './lib/chain.js';

const indexerBinary = () => projectBinary('tributary-indexer', 'TRIBUTARY_INDEXER');
const TRIB = 1_000_000_000_000n;

let node;
let api;
let pg;
let dir;
const k = devAccounts(['Alice', 'Bob', 'Charlie']);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trib-indexer-'));
  pg = await startPostgres('indexer');
  node = await startNode('indexer-node', ['--dev', '--dev-block-time', '500']);
  api = await connect(node);
});

after(async () => {
  for (const p of [...running]) if (p.indexer) await p.kill();
  await api?.disconnect();
  await node?.stop();
  await pg?.stop();
  if (dir && !process.env.TRIBUTARY_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

async function startIndexer(port) {
  const logPath = join(dir, 'indexer.log');
  const fd = openSync(logPath, 'a');
  const proc = spawn(indexerBinary(), ['run', '--node', node.url, '--database', pg.url, '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', fd, fd], env: { ...process.env, RUST_LOG: 'info' },
  });
  closeSync(fd);
  const indexer = {
    indexer: true, proc, exited: false,
    log: () => readFileSync(logPath, 'utf8'),
    async kill() {
      running.delete(indexer);
      if (indexer.exited) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await done;
    },
  };
  proc.on('exit', () => { indexer.exited = true; });
  running.add(indexer);
  await waitFor('the query API', async () => {
    if (indexer.exited) throw new Error(`the indexer exited:\n${indexer.log()}`);
    return (await fetch(`http://127.0.0.1:${port}/api/status`).catch(() => null))?.ok;
  }, 60_000, 100);
  return indexer;
}

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
