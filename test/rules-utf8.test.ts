// Autobahn-style section 6 (UTF-8 handling), including Markus Kuhn's decoder test groups and the
// fail-fast rule: invalid UTF-8 is refused as soon as it arrives, not when the message completes.

import t from 'tap';
import { close, cont, text } from './support/fake-server.ts';
import { runRuleTable, type RuleCase } from './support/rules.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Sequences from Markus Kuhn's UTF-8 decoder capability and stress test, by group. */
const VALID: [string, string][] = [
  ['kuhn 1 κόσμε', 'cebae1bdb9cf83cebcceb5'],
  ['kuhn 2.1 first sequence of each length', 'c280 e0a080 f0908080'],
  ['kuhn 2.2 last sequence of each length (up to U+10FFFF)', '7f dfbf efbfbf f48fbfbf'],
  ['kuhn 2.3 other boundary conditions', 'ed9fbf ee8080 efbfbd f48fbfbf'],
  ['kuhn 5.3 noncharacters U+FFFE U+FFFF U+FDD0', 'efbfbe efbfbf efb790'],
  ['noncharacter U+10FFFF', 'f48fbfbf'],
];

const INVALID: [string, string][] = [
  ['kuhn 2.2 five-byte U+3FFFFFF', 'fbbfbfbfbf'],
  ['kuhn 2.3 U+110000', 'f4908080'],
  ['kuhn 3.1 unexpected continuation 80', '80'],
  ['kuhn 3.1 unexpected continuation bf', 'bf'],
  ['kuhn 3.1 continuation sequence 80 bf 80', '80bf80'],
  ['kuhn 3.2 lonely start C0 then space', 'c020'],
  ['kuhn 3.2 lonely start E0 then space', 'e020'],
  ['kuhn 3.2 lonely start F0 then space', 'f020'],
  ['kuhn 3.2 lonely start F8 then space', 'f820'],
  ['kuhn 3.2 lonely start FC then space', 'fc20'],
  ['kuhn 3.3 two-byte sequence missing its last byte', 'df20'],
  ['kuhn 3.3 three-byte sequence missing its last byte', 'efbf20'],
  ['kuhn 3.3 four-byte sequence missing its last byte', 'f48fbf20'],
  ['kuhn 3.4 concatenated incomplete sequences', 'c0e080f08080f8808080fc80808080df efbf f7bfbf fbbfbfbf fdbfbfbfbf'],
  ['kuhn 3.5 impossible byte FE', 'fe'],
  ['kuhn 3.5 impossible byte FF', 'ff'],
  ['kuhn 3.5 FE FE FF FF', 'fefeffff'],
  ['kuhn 4.1 overlong / in 2 bytes', 'c0af'],
  ['kuhn 4.1 overlong / in 3 bytes', 'e080af'],
  ['kuhn 4.1 overlong / in 4 bytes', 'f08080af'],
  ['kuhn 4.1 overlong / in 5 bytes', 'f8808080af'],
  ['kuhn 4.1 overlong / in 6 bytes', 'fc80808080af'],
  ['kuhn 4.2 maximum overlong 2 bytes', 'c1bf'],
  ['kuhn 4.2 maximum overlong 3 bytes', 'e09fbf'],
  ['kuhn 4.2 maximum overlong 4 bytes', 'f08fbfbf'],
  ['kuhn 4.3 overlong NUL 2 bytes', 'c080'],
  ['kuhn 4.3 overlong NUL 3 bytes', 'e08080'],
  ['kuhn 4.3 overlong NUL 4 bytes', 'f0808080'],
  ['kuhn 5.1 single surrogate U+D800', 'eda080'],
  ['kuhn 5.1 single surrogate U+DB7F', 'edadbf'],
  ['kuhn 5.1 single surrogate U+DB80', 'edae80'],
  ['kuhn 5.1 single surrogate U+DBFF', 'edafbf'],
  ['kuhn 5.1 single surrogate U+DC00', 'edb080'],
  ['kuhn 5.1 single surrogate U+DF80', 'edbe80'],
  ['kuhn 5.1 single surrogate U+DFFF', 'edbfbf'],
  ['kuhn 5.2 paired surrogates U+D800 U+DC00', 'eda080edb080'],
  ['kuhn 5.2 paired surrogates U+DBFF U+DFFF', 'edafbfedbfbf'],
  ['text ends inside a code point', 'cebae1bdb9cf83cebcceb5ed'],
];

const cases: RuleCase[] = [];
let n = 0;
for (const [name, sequence] of VALID) {
  const payload = Buffer.concat([Buffer.from('<'), hex(sequence), Buffer.from('>')]);
  const expected = payload.toString('utf8') + '\n';
  cases.push({ id: `6.${++n}`, name: `valid: ${name}, one frame`, send: [text(payload), close(1000)], expect: { stdout: expected, close: 1000, status: 0 } });
  // One byte per fragment: every code point is split across frames.
  const fragments = [...payload].map((byte, i) => (i === 0 ? text(Buffer.from([byte]), { fin: false }) : cont(Buffer.from([byte]), { fin: i === payload.length - 1 })));
  cases.push({ id: `6.${n}f`, name: `valid: ${name}, one byte per fragment`, send: [...fragments, close(1000)], deliveries: ['whole'], expect: { stdout: expected, close: 1000, status: 0 } });
}
cases.push({ id: '6.split', name: 'valid text split inside code points, delivered byte by byte', send: [text(hex(VALID[0]![1])), close(1000)], deliveries: ['bytewise'], expect: { stdout: hex(VALID[0]![1]).toString('utf8') + '\n', close: 1000, status: 0 } });
for (const [name, sequence] of INVALID) {
  const payload = Buffer.concat([Buffer.from('ok'), hex(sequence)]);
  cases.push({ id: `6.${++n}`, name: `invalid: ${name}`, send: [text('before'), text(payload), text('after')], deliveries: ['whole'], expect: { stdout: 'before\n', close: 1007, status: 1, stderr: /invalid UTF-8|ends inside a UTF-8 sequence/ } });
  const fragments = [...payload].map((byte, i) => (i === 0 ? text(Buffer.from([byte]), { fin: false }) : cont(Buffer.from([byte]), { fin: i === payload.length - 1 })));
  cases.push({ id: `6.${n}f`, name: `invalid: ${name}, one byte per fragment`, send: [...fragments, text('after')], deliveries: ['whole'], expect: { stdout: '', close: 1007, status: 1 } });
}

/** The server sends `first`, then waits for the client's CLOSE without sending the rest of the message. */
function failFast(id: string, name: string, first: Buffer[], delivery: 'whole' | 'bytewise' = 'whole'): RuleCase {
  return {
    id,
    name,
    deliveries: [delivery],
    script: async (session) => {
      await session.send(first, delivery);
      // The rest of the message is never sent: only a client that validates as bytes arrive answers.
      await session.waitForClose(3000);
      session.end();
    },
    expect: { stdout: '', close: 1007, status: 1, stderr: /invalid UTF-8/ },
  };
}

cases.push(failFast('6.ff.1', 'fail fast inside a single frame whose payload is still arriving', [text(Buffer.concat([Buffer.from('hello '), hex('ff')]), { announce: 1000 })]));
cases.push(failFast('6.ff.2', 'fail fast inside a frame: surrogate split across TCP writes', [text(Buffer.concat([Buffer.from('κόσμε '), hex('eda080')]), { announce: 5000 })], 'bytewise'));
cases.push(failFast('6.ff.3', 'fail fast in the first fragment of a message', [text(Buffer.concat([Buffer.from('hello'), hex('c0af')]), { fin: false })]));
cases.push(failFast('6.ff.4', 'fail fast in a middle fragment', [text('hello ', { fin: false }), cont(hex('cebae1bd'), { fin: false }), cont(hex('f4 90'), { fin: false })]));
cases.push(failFast('6.ff.5', 'fail fast on a code point split across fragments', [text(hex('f0'), { fin: false }), cont(hex('8f'), { fin: false })]));
cases.push(failFast('6.ff.6', 'fail fast deep inside a large frame', [text(Buffer.concat([Buffer.alloc(100_000, 0x61), hex('ed a0 80')]), { announce: 1_000_000 })]));

t.test('section 6: UTF-8 handling', async (t) => {
  await runRuleTable(t, cases);
});
