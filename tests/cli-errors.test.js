// The node refuses bad start-up input with an error that says what is wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeBinary, freePort } from './lib/node.js';

function run(args) {
  const r = spawnSync(nodeBinary(), args, { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.error, undefined, `the node did not exit: ${r.error}`);
  return r;
}

test('an unknown chain is refused with the choices', () => {
  const r = run(['--chain', '/no/such/spec.json', '--tmp']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unknown chain `\/no\/such\/spec.json`: expected `dev`, `local`, `testnet`/);
});

test('a malformed chain spec is refused with its path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-spec-'));
  try {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{ "name": ');
    const r = run(['--chain', path, '--tmp']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /broken\.json is not a valid chain spec/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [flag, name] of [['--rpc-port', 'RPC'], ['--prometheus-port', 'Prometheus']]) {
  test(`a busy ${name} port is refused, naming the port and ${flag}`, async () => {
    const busy = createServer();
    await new Promise((r) => busy.listen(0, '127.0.0.1', r));
    const { port } = busy.address();
    try {
      const other = flag === '--rpc-port' ? '--prometheus-port' : '--rpc-port';
      const r = run(['--dev', '--tmp', flag, String(port), other, String(await freePort())]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*${flag}`));
    } finally {
      busy.close();
    }
  });
}

test('a validator without a BABE key stops and says how to add one', async () => {
  const r = run([
    '--chain', 'local', '--validator', '--tmp',
    '--node-key', '11'.repeat(32),
    '--rpc-port', String(await freePort()), '--prometheus-port', String(await freePort()),
    '--listen-addr', `/ip4/127.0.0.1/tcp/${await freePort()}`,
  ]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /keystore holds no BABE key/);
  assert.match(r.stderr, /key insert --key-type babe/);
});
