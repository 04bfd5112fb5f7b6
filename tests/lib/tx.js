import { stringCamelCase } from '@polkadot/util';

// Submits extrinsics and waits for their block.

/**
 * Signs and sends `tx` as `signer`; resolves, once it is in a block, with its
 * events and the decoded dispatch error (`null` when it succeeded).
 */
export function send(api, tx, signer) {
  return new Promise((resolve, reject) => {
    let unsubscribe;
    tx.signAndSend(signer, ({ status, events, dispatchError }) => {
      if (!status.isInBlock && !status.isFinalized) return;
      unsubscribe?.();
      let error = null;
      if (dispatchError) {
        error = dispatchError.isModule
          ? (({ section, name }) => `${section}.${name}`)(api.registry.findMetaError(dispatchError.asModule))
          : dispatchError.toString();
      }
      resolve({ events, error });
    }).then((u) => { unsubscribe = u; }, reject);
  });
}

/**
 * The fields of the first event `section.method` among `events`, as a plain
 * object keyed by camelCase field name.
 */
export function eventData(api, events, section, method) {
  const found = events.find(({ event }) => event.section === section && event.method === method);
  if (!found) return undefined;
  const { data } = found.event;
  return Object.fromEntries(data.names.map((name, i) => [stringCamelCase(name), data[i].toJSON()]));
}

/** Like `send`, but fails the test when the extrinsic does. */
export async function sendOk(api, tx, signer) {
  const { events, error } = await send(api, tx, signer);
  if (error) throw new Error(`${tx.method.section}.${tx.method.method} failed: ${error}`);
  return events;
}

/**
 * The credits of the job settlement among `events` (`Rewards.JobSettled`),
 * each as `{kind, account, model, contribution, datanet, snapshot, amount}`
 * with only the fields its kind has: accounts in hex, amounts as decimal
 * strings (as the indexer's API words them).
 */
export function settlementCredits(events) {
  const found = events.find(({ event }) => event.section === 'rewards' && event.method === 'JobSettled');
  if (!found) return undefined;
  return found.event.data.credits.map(([payee, amount]) => {
    const v = payee.value;
    const common = { kind: payee.type };
    const named = {
      Worker: () => ({ account: v.toHex() }),
      Model: () => ({ account: v.owner.toHex(), model: v.model.toNumber() }),
      Contribution: () => ({ account: v.contributor.toHex(), model: v.model.toNumber(), contribution: v.contribution.toNumber() }),
      Pool: () => ({ datanet: v.datanet.toNumber(), snapshot: v.snapshot.toNumber() }),
    }[payee.type]();
    return { ...common, ...named, amount: amount.toBigInt().toString() };
  });
}
