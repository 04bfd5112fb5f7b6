// How many fast-path receipts a 6-second block settles (issue 15's figure;
// not a timed test): a dev chain sealing every 6 s, one worker, one model
// trained on 48 contributions, and `--settlements S` channels (default 16),
// each with a full settlement of the chain's `MaxReceipts` receipts naming 3
// of the 48 contributions each (the demo classifier's shape). All are sent
// at once; the script prints the receipts each block settled, its weight
// against the block's budget, and the benchmarked weight of one settlement.
// Run by scripts/settle-capacity.sh.
import { blake2AsHex } from '@polkadot/util-crypto';
import { startNode, connect } from './lib/node.js';
import { sendOk, eventData } from './lib/tx.js';
import { chainReceipts, devAccounts, receipt, signedVoucher } from './lib/chain.js';
import { argValue } from './lib/args.js';

const settlements = Number(argValue('--settlements', 16));
const TRIB = 1_000_000_000_000n;
const PERBILL = 1_000_000_000;
const ZERO = `0x${'00'.repeat(32)}`;
const CONTRIBUTIONS = 48;
const k = devAccounts(['Alice', 'Bob', 'Charlie', 'Eve']);

/** Sends `txs` from `signer` with consecutive nonces; resolves with each one's events once all are in blocks. */
async function sendAll(api, txs, signer) {
  const { nonce } = await api.query.system.account(signer.address);
  return Promise.all(txs.map((tx, i) => new Promise((resolve, reject) => {
    let unsubscribe;
    tx.signAndSend(signer, { nonce: nonce.toNumber() + i }, ({ status, events, dispatchError }) => {
      if (!status.isInBlock && !status.isFinalized) return;
      unsubscribe?.();
      if (dispatchError) reject(new Error(`${tx.method.section}.${tx.method.method}: ${dispatchError}`));
      else resolve(events);
    }).then((u) => { unsubscribe = u; }, reject);
  })));
}

const node = await startNode('capacity', ['--dev', '--dev-block-time', '6000']);
const api = await connect(node);
try {
  const most = api.consts.channels.maxReceipts.toNumber();
  const stake = api.consts.workerStaking.minWorkerStake.toBigInt();
  await sendOk(api, api.tx.workerStaking.registerWorker(stake, 'http://127.0.0.1:0', 1, 'bench'), k.bob);
  const workerClass = (await api.query.workerStaking.workers(k.bob.address)).unwrap().class.toHex();
  const created = await sendOk(api, api.tx.registry.createDatanet('capacity', 'Open'), k.alice);
  const datanet = eventData(api, created, 'registry', 'DatanetCreated').datanetId;
  const added = await sendAll(api, Array.from({ length: CONTRIBUTIONS },
    (_, i) => api.tx.registry.contribute(datanet, blake2AsHex(`contribution ${i}`), 10, '')), k.eve);
  const contributions = added.map((events) => eventData(api, events, 'registry', 'ContributionSubmitted').contributionId);
  const registered = await sendOk(api, api.tx.registry.registerModel(
    blake2AsHex('model'), blake2AsHex('index'), '', 'capacity', [[datanet, 20 * (PERBILL / 100)]], [], TRIB / 1000n,
  ), k.alice);
  const model = eventData(api, registered, 'registry', 'ModelRegistered').modelId;

  // One channel per settlement, from Charlie, each deep enough for its receipts.
  const price = TRIB / 1000n;
  const expiry = (await api.rpc.chain.getHeader()).number.toNumber() + 1000;
  const opened = await sendAll(api, Array.from({ length: settlements },
    () => api.tx.channels.openChannel(k.bob.address, price * BigInt(most) + TRIB, expiry)), k.charlie);
  const channels = opened.map((events) => eventData(api, events, 'channels', 'ChannelOpened').channelId);

  console.log(`building ${settlements} settlements of ${most} receipts (3 of ${CONTRIBUTIONS} contributions named each)`);
  const share = Math.floor(PERBILL / 4);
  const calls = channels.map((channel) => {
    const receipts = Array.from({ length: most }, (_, i) => receipt(api, {
      channel,
      sequence: i + 1,
      model,
      artifact: blake2AsHex('model'),
      inputHash: blake2AsHex(`question ${channel} ${i}`),
      outputHash: blake2AsHex(`answer ${channel} ${i}`),
      attribution: [0, 1, 2].map((j) => [contributions[(i + j * 7) % CONTRIBUTIONS], share]),
      class: workerClass,
      price,
      worker: k.bob.address,
    }));
    const { voucher, signature } = signedVoucher(api, k.charlie, {
      channel, sequence: most, total: price * BigInt(most), receipts: chainReceipts(ZERO, receipts),
    });
    return api.tx.channels.settle(channel, voucher, signature, receipts);
  });
  const info = await calls[0].paymentInfo(k.bob);
  const blockWeights = api.consts.system.blockWeights;
  const normal = blockWeights.perClass.normal.maxTotal.unwrap().refTime.toBigInt();
  const weight = info.weight.refTime.toBigInt();
  console.log(`one settlement: ${calls[0].encodedLength} bytes, weight ${(Number(weight) / 1e9).toFixed(1)} ms`
    + ` (${(Number(weight) / most / 1e6).toFixed(1)} µs a receipt) of the ${(Number(normal) / 1e9).toFixed(0)} ms ordinary budget`);
  console.log(`  by weight, ${Number(normal / weight) * most} receipts fit a block; `
    + `by length, ${Math.floor(api.consts.system.blockLength.max.normal.toNumber() / calls[0].encodedLength) * most}`);

  const from = (await api.rpc.chain.getHeader()).number.toNumber();
  await sendAll(api, calls, k.bob);
  const to = (await api.rpc.chain.getHeader()).number.toNumber();
  let best = 0;
  for (let b = from; b <= to; b++) {
    const at = await api.at(await api.rpc.chain.getBlockHash(b));
    const events = await at.query.system.events();
    const settled = events.filter(({ event }) => event.section === 'channels' && event.method === 'ReceiptsSettled')
      .reduce((sum, { event }) => sum + event.data.count.toNumber(), 0);
    if (settled === 0) continue;
    const used = (await at.query.system.blockWeight()).normal.refTime.toBigInt();
    console.log(`  block ${b}: ${settled} receipts settled, ordinary weight ${(Number(used) / 1e9).toFixed(0)} ms of ${(Number(normal) / 1e9).toFixed(0)}`);
    best = Math.max(best, settled);
  }
  console.log(`receipts settled in one 6-second block: ${best} (goal: 10000)`);
} finally {
  await api.disconnect();
  await node.stop();
}
