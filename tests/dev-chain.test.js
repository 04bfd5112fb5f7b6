// A `--dev` node driven by polkadot.js: metadata, token, sealing, a transfer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { startNode, connect, waitFor, finalizedNumber, rpc } from './lib/node.js';

let node;
let api;

before(async () => {
  node = await startNode('dev', ['--dev', '--dev-block-time', '500']);
  api = await connect(node);
});

after(async () => {
  await api?.disconnect();
  await node?.stop();
});

test('metadata is V15 or newer and names the runtime pallets', async () => {
  const versions = (await api.call.metadata.metadataVersions()).map((v) => v.toNumber());
  assert.ok(versions.some((v) => v >= 15), `metadata versions ${versions}`);
  const pallets = api.runtimeMetadata.asLatest.pallets.map((p) => p.name.toString());
  for (const p of ['System', 'Timestamp', 'Babe', 'Grandpa', 'Balances', 'TransactionPayment', 'Sudo']) {
    assert.ok(pallets.includes(p), `pallet ${p} missing from ${pallets}`);
  }
  assert.equal(api.runtimeVersion.specName.toString(), 'tributary');
});

test('the chain reports the TRIB token and its own SS58 prefix', async () => {
  const props = await api.rpc.system.properties();
  assert.deepEqual(props.tokenSymbol.unwrap().map(String), ['TRIB']);
  assert.deepEqual(props.tokenDecimals.unwrap().map((d) => d.toNumber()), [12]);
  assert.equal(props.ss58Format.unwrap().toNumber(), 7390);
  assert.equal(api.consts.system.ss58Prefix.toNumber(), 7390);
});

test('the dev node seals blocks on its timer and finalizes each at once', async () => {
  const start = (await api.rpc.chain.getHeader()).number.toNumber();
  await waitFor('three more blocks', async () =>
    (await api.rpc.chain.getHeader()).number.toNumber() >= start + 3, 20_000, 200);
  const best = (await api.rpc.chain.getHeader()).number.toNumber();
  const finalized = await finalizedNumber(node);
  assert.ok(best - finalized <= 1, `best ${best}, finalized ${finalized}`);
});

test('a signed transfer moves the amount, charges a fee and emits Transfer', async () => {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 7390 });
  const alice = keyring.addFromUri('//Alice');
  const bob = keyring.addFromUri('//Bob');
  const amount = 12_345_000_000_000n; // 12.345 TRIB
  const before = {
    alice: (await api.query.system.account(alice.address)).data.free.toBigInt(),
    bob: (await api.query.system.account(bob.address)).data.free.toBigInt(),
  };

  const events = await new Promise((resolve, reject) => {
    api.tx.balances.transferKeepAlive(bob.address, amount)
      .signAndSend(alice, ({ status, events, dispatchError }) => {
        if (dispatchError) reject(new Error(dispatchError.toString()));
        if (status.isInBlock || status.isFinalized) resolve(events);
      })
      .catch(reject);
  });

  const transfer = events.find(({ event }) => api.events.balances.Transfer.is(event));
  assert.ok(transfer, 'no Balances.Transfer event');
  const [from, to, value] = transfer.event.data;
  assert.equal(from.toString(), alice.address);
  assert.equal(to.toString(), bob.address);
  assert.equal(value.toBigInt(), amount);
  const feeEvent = events.find(({ event }) => api.events.transactionPayment.TransactionFeePaid.is(event));
  assert.ok(feeEvent, 'no TransactionFeePaid event');
  const fee = feeEvent.event.data[1].toBigInt();
  assert.ok(fee > 0n);
  assert.ok(events.some(({ event }) => api.events.system.ExtrinsicSuccess.is(event)));

  const after = {
    alice: (await api.query.system.account(alice.address)).data.free.toBigInt(),
    bob: (await api.query.system.account(bob.address)).data.free.toBigInt(),
  };
  assert.equal(after.bob - before.bob, amount);
  assert.equal(before.alice - after.alice, amount + fee);
});

test('a transfer beyond the balance is refused and changes nothing', async () => {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 7390 });
  const eve = keyring.addFromUri('//Eve');
  const ferdie = keyring.addFromUri('//Ferdie');
  const eveBefore = (await api.query.system.account(eve.address)).data.free.toBigInt();
  const ferdieBefore = (await api.query.system.account(ferdie.address)).data.free.toBigInt();
  const error = await new Promise((resolve, reject) => {
    api.tx.balances.transferKeepAlive(ferdie.address, eveBefore * 2n)
      .signAndSend(eve, ({ status, dispatchError }) => {
        if (dispatchError && (status.isInBlock || status.isFinalized)) resolve(dispatchError);
        else if (status.isInBlock) reject(new Error('the overdraft was accepted'));
      })
      .catch(reject);
  });
  // pallet-balances reports an overdraft as the token error FundsUnavailable.
  assert.ok(error.isToken && error.asToken.isFundsUnavailable, error.toString());
  assert.equal((await api.query.system.account(ferdie.address)).data.free.toBigInt(), ferdieBefore);
  const health = await rpc(node, 'system_health');
  assert.equal(health.isSyncing, false);
});
