// The table runner for the protocol-rule cases (in the spirit of Autobahn|Testsuite's client sections):
// each case is an exact byte script played by the raw-TCP fake server to the real client, and what the
// client did in return: the frames it sent, stdout, stderr, exit status. The client runs in this process
// (main() with stand-in streams): these tables test the protocol over a real socket, not the process
// boundary, which the integration tests cover.

import type { Test } from 'tap';
import { inBatches } from './helpers.ts';
import { OP, runAgainstFakeServer, type CaseResult, type Delivery, type FakeServerOptions, type FakeSession } from './fake-server.ts';

export interface RuleCase {
  id: string;
  name: string;
  /** Bytes the server sends after the handshake. */
  send?: Buffer[];
  /** Ways to cut `send` into TCP writes; each runs the client once. Default: whole, and 7-byte chops. */
  deliveries?: Delivery[];
  /** Replaces the default script (send, wait for the client's CLOSE, close TCP). */
  script?: (session: FakeSession, delivery: Delivery) => Promise<void>;
  respond?: FakeServerOptions['respond'];
  args?: string[];
  expect: {
    /** Exactly what the client prints on stdout. */
    stdout: string;
    /** Payloads of the client's PONG frames, in order. */
    pongs?: (Buffer | string)[];
    /** The status code of the client's one CLOSE frame (null: empty payload; 'none': no CLOSE at all). */
    close: number | null | 'none';
    status: number;
    stderr?: RegExp;
    /** Other checks, e.g. timing. */
    also?: (result: CaseResult, t: Test) => void;
  };
}

const DEFAULT_DELIVERIES: Delivery[] = ['whole', { chop: 7, pauseMs: 1 }];

export const defaultScript = (bytes: Buffer[]) => async (session: FakeSession, delivery: Delivery) => {
  await session.send(bytes, delivery);
  await session.waitForClose(6000).catch(() => {});
  session.end();
};

function describeDelivery(delivery: Delivery): string {
  return typeof delivery === 'string' ? delivery : `${delivery.chop}-byte writes`;
}

/** Run every case (several clients at a time), then check each in its own subtest. */
export async function runRuleTable(t: Test, cases: RuleCase[], concurrency = 8): Promise<void> {
  const runs: { rule: RuleCase; delivery: Delivery; result?: CaseResult; error?: Error }[] = [];
  for (const rule of cases) {
    const total = (rule.send ?? []).reduce((n, b) => n + b.length, 0);
    const deliveries = rule.deliveries ?? (total > 4096 ? ['whole' as const] : DEFAULT_DELIVERIES);
    for (const delivery of deliveries) runs.push({ rule, delivery });
  }
  await inBatches(runs, concurrency, async (run) => {
    const script = run.rule.script ?? defaultScript(run.rule.send ?? []);
    try {
      run.result = await runAgainstFakeServer((session) => script(session, run.delivery), ['consumer', ...(run.rule.args ?? [])], {
        respond: run.rule.respond,
      });
    } catch (error) {
      run.error = error as Error;
    }
  });
  for (const { rule, delivery, result, error } of runs) {
    t.test(`${rule.id} ${rule.name} (${describeDelivery(delivery)})`, async (t) => {
      if (error || !result) return t.fail(`case did not run: ${error?.message}`);
      const { expect } = rule;
      t.equal(result.stdout, expect.stdout, 'stdout');
      t.equal(result.status, expect.status, 'exit status');
      const pongs = result.frames.filter((f) => f.opcode === OP.PONG).map((f) => f.payload.toString('hex'));
      t.same(pongs, (expect.pongs ?? []).map((p) => Buffer.from(p).toString('hex')), 'PONG payloads');
      const closes = result.frames.filter((f) => f.opcode === OP.CLOSE);
      if (expect.close === 'none') {
        t.equal(closes.length, 0, 'no CLOSE frame');
      } else {
        t.equal(closes.length, 1, 'exactly one CLOSE frame');
        const payload = closes[0]?.payload ?? Buffer.alloc(0);
        t.equal(payload.length === 0 ? null : payload.readUInt16BE(0), expect.close, 'CLOSE status code');
      }
      const others = result.frames.filter((f) => f.opcode !== OP.PONG && f.opcode !== OP.CLOSE);
      t.equal(others.length, 0, 'a consumer sends no other frames');
      t.ok(result.frames.every((f) => f.masked), 'every client frame is masked');
      if (expect.stderr) t.match(result.stderr, expect.stderr, 'stderr');
      t.notMatch(result.stderr, /\n\s+at .*:\d+:\d+/, 'no stack trace');
      expect.also?.(result, t);
    });
  }
}
