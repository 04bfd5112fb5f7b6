// The four-validator `local` chain: BABE authoring, GRANDPA finality, and
// finality that survives one validator stopping.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, waitFor, finalizedNumber, rpc } from './lib/node.js';

const validators = ['alice', 'bob', 'charlie', 'dave'];
const nodes = [];

// A header's BABE pre-runtime digest: 0x06, engine id "BABE", the compact
// length of the SCALE-encoded pre-digest, then the pre-digest: its kind
// (1 primary, 2 secondary plain, 3 secondary with VRF) and the author's
// authority index (u32 little-endian), slot, VRF output and proof.
function babePreDigest(header) {
  const prefix = '0x06' + Buffer.from('BABE').toString('hex');
  const log = header.digest.logs.find((l) => l.startsWith(prefix));
  assert.ok(log, `block ${header.number} has no BABE pre-digest`);
  const bytes = Buffer.from(log.slice(prefix.length), 'hex');
  const lengthBytes = [1, 2, 4][bytes[0] & 3];
  return { kind: bytes[lengthBytes], author: bytes.readUInt32LE(lengthBytes + 1) };
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

test('GRANDPA finalizes blocks authored by BABE, each with a VRF output', async () => {
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
  // Blocks come from several validators, and every block carries a VRF
  // output (primary or secondary-VRF slots): the compute draw needs one.
  const authors = new Set();
  const best = parseInt((await rpc(nodes[0], 'chain_getHeader')).number, 16);
  for (let b = 1; b <= best; b++) {
    const header = await rpc(nodes[0], 'chain_getHeader', [await rpc(nodes[0], 'chain_getBlockHash', [b])]);
    const { kind, author } = babePreDigest(header);
    assert.ok(kind === 1 || kind === 3, `block ${b} has a pre-digest of kind ${kind}, without VRF`);
    authors.add(author);
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
