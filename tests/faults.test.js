// The fault script, short, in the suite: the four-validator local chain with
// forks, workers killed at random, their node restarted and a validator
// stopped, and still every job completes with nobody slashed and nothing
// sent twice. scripts/faults.sh runs the long one whose figures the README
// gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The script's own limit (the suite's per-file limit in package.json is
// longer): on a loaded machine it runs long, and being cut off says nothing
// about faults.
test('jobs stream through workers killed at random on a forking chain: all complete, nobody slashed, nothing sent twice', { timeout: 1_260_000 }, () => {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'faults.js');
  const run = spawnSync(process.execPath, [script, '--kills', '12'], { encoding: 'utf8', timeout: 1_200_000 });
  console.log(run.stdout.split('\n').filter((l) => l.startsWith('  ')).map((l) => `# ${l.trim()}`).join('\n'));
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /lost salts \(NoReveal slashes\)\s+0\n/);
  assert.match(run.stdout, /double submissions\s+0\n/);
  assert.match(run.stdout, /wrongful slashes \(all workers honest\)\s+0 /);
});
