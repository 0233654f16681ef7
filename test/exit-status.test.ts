// The exit status never hides a loss: input read but not sent makes it 1, even after a normal closure,
// and a server CLOSE that crosses the client's own is named, not just "connection closed".

import t from 'tap';
import { OP, close, startFakeServer, text, validResponse } from './support/fake-server.ts';
import { runInProcess } from './support/helpers.ts';

const REFUSAL = 'path must be /producer, /consumer or /both';

t.test('the server closes normally (1000) while input lines are still unsent: exit 1, and how many', async (t) => {
  const server = await startFakeServer({
    script: async (session) => {
      await session.waitForFrame((f) => f.opcode === OP.TEXT);
      await session.send(close(1000, 'one is enough'));
      await session.waitForClose();
      session.end();
    },
  });
  t.teardown(() => server.close());
  const client = runInProcess(['127.0.0.1', String(server.port), 'producer']);
  await client.waitFor('stderr', 'connected');
  client.stdin!.write('first\n');
  await server.sessions[0]!.waitForFrame((f) => f.opcode === OP.TEXT);
  client.stdin!.write('second\nthird\nhalf a li'); // read by the client, after the server's CLOSE
  t.equal(await client.exit, 1, 'a normal closure, but input was lost');
  t.match(client.stderr(), 'closed by server: 1000 one is enough');
  t.match(client.stderr(), /wsc: [1-3] input lines? (was|were) not sent\n/, 'says how many');
});

t.test('all typed lines went out and the server ends the session normally: exit 0', async (t) => {
  const server = await startFakeServer({
    script: async (session) => {
      await session.waitForFrame((f) => f.opcode === OP.TEXT && f.payload.toString() === 'last');
      await session.send(close(1000, 'bye'));
      await session.waitForClose();
      session.end();
    },
  });
  t.teardown(() => server.close());
  const client = runInProcess(['127.0.0.1', String(server.port), 'producer']);
  await client.waitFor('stderr', 'connected');
  client.stdin!.write('one\nlast\n');
  t.equal(await client.exit, 0);
  t.notMatch(client.stderr(), /not sent/);
});

t.test('a server CLOSE that crosses the client\'s own (sent at EOF) is named with its code and reason', async (t) => {
  const server = await startFakeServer({
    script: async (session) => {
      await session.waitForClose();
      await session.send(close(1008, REFUSAL)); // its own CLOSE, not an echo of 1000
      session.end();
    },
  });
  t.teardown(() => server.close());
  const client = runInProcess(['127.0.0.1', String(server.port), 'producer'], { input: '' });
  t.equal(await client.exit, 1);
  t.match(client.stderr(), `wsc: connection closed; the server closed it too: 1008 ${REFUSAL}\n`);
});

t.test('a CLOSE in the same write as the 101, with a line queued: the code and reason, the line not sent, exit 1', async (t) => {
  const server = await startFakeServer({
    respond: (key) => Buffer.concat([Buffer.from(validResponse(key)), close(1008, REFUSAL)]),
    script: async (session) => {
      await session.waitForEnd(3000);
    },
  });
  t.teardown(() => server.close());
  const client = runInProcess(['127.0.0.1', String(server.port), 'producer'], { input: 'hello\n' });
  t.equal(await client.exit, 1);
  t.match(client.stderr(), `wsc: closed by server: 1008 ${REFUSAL}\n`);
  t.match(client.stderr(), 'wsc: 1 input line was not sent\n');
  t.same(server.sessions[0]!.frames.map((f) => f.opcode), [OP.CLOSE], 'only the echo');
});

t.test('a greeting in the same write as the 101 does not overtake what waited for OPEN: -x goes before -1 closes', async (t) => {
  const server = await startFakeServer({
    respond: (key) => Buffer.concat([Buffer.from(validResponse(key)), text('welcome')]),
    script: async (session) => {
      await session.waitForClose();
      await session.send(close(1000));
      session.end();
    },
  });
  t.teardown(() => server.close());
  const client = runInProcess(['-x', 'subscribe', '-1', `ws://127.0.0.1:${server.port}/`], { stdin: 'ignore' });
  t.equal(await client.exit, 0, client.stderr());
  t.equal(client.stdout(), 'welcome\n');
  t.same(server.sessions[0]!.frames.map((f) => [f.opcode, f.payload.toString('latin1')]), [[OP.TEXT, 'subscribe'], [OP.CLOSE, '\x03\xe8']], 'the -x message, then the CLOSE');
});
