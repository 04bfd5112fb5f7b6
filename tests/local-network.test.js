// The four-validator `local` chain: Aura authoring, GRANDPA finality, and
// finality that survives one validator stopping.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, waitFor, finalizedNumber, rpc } from './lib/node.js';

const validators = ['alice', 'bob', 'charlie', 'dave'];
const nodes = [];

// A header's Aura pre-runtime digest: 0x06, engine id "aura", then the SCALE
// bytes of the slot (compact length 8, u64 little-endian).
function auraSlot(header) {
  const prefix = '0x06' + Buffer.from('aura').toString('hex') + '20';
  const log = header.digest.logs.find((l) => l.startsWith(prefix));
  assert.ok(log, `block ${header.number} has no Aura pre-digest`);
  return Buffer.from(log.slice(prefix.length, prefix.length + 16), 'hex').readBigUInt64LE();
}

before(async () => {
  const first = await startNode(validators[0], ['--chain', 'local', `--${validators[0]}`, '--validator']);
  nodes.push(first);
  const peerId = await rpc(first, 'system_localPeerId');
  const bootnode = `/ip4/127.0.0.1/tcp/${first.p2pPort}/p2p/${peerId}`;
  for (const v of validators.slice(1)) {
    nodes.push(await startNode(v, ['--chain', 'local', `--${v}`, '--validator', '--bootnodes', bootnode]));
  }
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
});

test('all four validators peer with one another', async () => {
  for (const n of nodes) {
    await waitFor(`${n.name} to see 3 peers`, async () => (await rpc(n, 'system_health')).peers >= 3, 60_000);
  }
});

test('GRANDPA finalizes blocks authored by Aura', async () => {
  const start = await finalizedNumber(nodes[0]);
  const target = start + 2;
  await waitFor(`finality past block ${target}`, async () => (await finalizedNumber(nodes[0])) >= target, 90_000, 1000);
  // Every node agrees on what is final.
  const n = await finalizedNumber(nodes[0]);
  for (const node of nodes.slice(1)) {
    await waitFor(`${node.name} to finalize ${n}`, async () => (await finalizedNumber(node)) >= n, 30_000);
  }
  const hashes = await Promise.all(nodes.map((node) => rpc(node, 'chain_getBlockHash', [n])));
  assert.equal(new Set(hashes).size, 1, `finalized block ${n} differs: ${hashes}`);
  // Blocks come from several validators: Aura's author of slot s is s mod 4.
  const authors = new Set();
  const best = parseInt((await rpc(nodes[0], 'chain_getHeader')).number, 16);
  for (let b = 1; b <= best; b++) {
    const header = await rpc(nodes[0], 'chain_getHeader', [await rpc(nodes[0], 'chain_getBlockHash', [b])]);
    authors.add(auraSlot(header) % BigInt(validators.length));
  }
  assert.ok(authors.size >= 2, `only ${authors.size} author(s) in ${best} blocks`);
});

test('finality continues with one validator stopped', async () => {
  const dave = nodes.pop();
  await dave.stop();
  const after = await finalizedNumber(nodes[0]);
  const target = after + 3;
  await waitFor(`finality past block ${target} with three validators`, async () =>
    (await finalizedNumber(nodes[0])) >= target, 120_000, 1000);
  for (const n of nodes) assert.equal(n.exited, false, `${n.name} exited`);
});
