// JSON shown readably and exactly (rewriteJson, layoutJson) and read from a stream of values (JsonValueReader):
// pure functions, bytes in and bytes out. The client's use of them is in output.test.ts and input.test.ts.

import t from 'tap';
import { JSON_COLORS, JsonError, JsonValueReader, layoutJson, rewriteJson } from '../client.ts';

const plain = { colors: null, neutralise: false };
const laidOut = (text: string) => layoutJson(Buffer.from(text), plain)?.toString('utf8') ?? null;
const compact = (text: string) => rewriteJson(Buffer.from(text), 0, Buffer.byteLength(text), { ...plain, compact: true }).toString('utf8');

t.test('only white space changes: every token as it came, key order and duplicate keys kept', async (t) => {
  const exact = '{"big":12345678901234567890,"huge":1e400,"neg":-0,"e":"\\u00e9","k":1,"k":2,"f":1.50E+3,"s":"a\\"b\\\\c\\/"}';
  t.equal(laidOut(exact), [
    '{',
    '  "big": 12345678901234567890,',
    '  "huge": 1e400,',
    '  "neg": -0,',
    '  "e": "\\u00e9",',
    '  "k": 1,',
    '  "k": 2,',
    '  "f": 1.50E+3,',
    '  "s": "a\\"b\\\\c\\/"',
    '}',
  ].join('\n'));
  t.not(JSON.stringify(JSON.parse(exact)), exact, 'JSON.parse and JSON.stringify would have changed it');
  t.equal(laidOut('[]'), '[]', 'an empty array on one line');
  t.equal(laidOut(' { } '), '{}', 'an empty object, the white space around it gone');
  t.equal(laidOut('[1,[2,{"a":[]}],{}]'), '[\n  1,\n  [\n    2,\n    {\n      "a": []\n    }\n  ],\n  {}\n]', 'nested, two spaces a level');
  t.equal(laidOut('{\n\t"a" :\r\n 1 }'), '{\n  "a": 1\n}', 'any JSON white space in, the layout out');
  t.equal(compact('{ "a" : [ 1 , 2 ] ,\n "b" : "x y" }'), '{"a":[1,2],"b":"x y"}', 'compact: no white space outside strings');
  t.equal(laidOut('{"emoji":"😀","cjk":"漢字"}'), '{\n  "emoji": "😀",\n  "cjk": "漢字"\n}', 'UTF-8 as it came');
});

t.test('what is not a JSON object or array is not laid out (null: printed as it came)', async (t) => {
  for (const text of ['hello', '"a string"', '42', 'true', '', '   ', '{"a":1', '{"a":1}}', '{"a":1} x', '[1,]', '{"a" 1}', '{a:1}', "{'a':1}",
    '[01]', '[1.]', '[.5]', '[-]', '[1e]', '[+1]', '[NaN]', '[tru]', '["\\x"]', '["\\u12"]', '["a\nb"]', '["\x1b[2J"]', '{"a":1,}', '[1 2]']) {
    t.equal(laidOut(text), null, JSON.stringify(text));
  }
});

t.test('errors say what was found and where it was, for --json-input', async (t) => {
  const error = (text: string) => {
    try {
      rewriteJson(Buffer.from(text), 0, Buffer.byteLength(text), { ...plain, compact: true });
    } catch (caught) {
      if (caught instanceof JsonError) return [caught.message, caught.offset];
      throw caught;
    }
    return null;
  };
  t.same(error('{"id": 7,}'), ["'}' where a key belongs", 9]);
  t.same(error('[1 2]'), ["'2' where ',' or ']' belongs", 3]);
  t.same(error('{"a" 1}'), ["'1' where ':' belongs, after a key", 5]);
  t.same(error('[1,'), ['the end where a value belongs', 3]);
  t.same(error('"abc'), ['a string that does not end', 0]);
  t.same(error('["\\q"]'), ['the escape \\q (JSON has \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)', 2]);
  t.same(error('["a\tb"]'), ['a control character inside a string (it must be escaped)', 3]);
  t.same(error('{} {}'), ["'{' after the end of the value", 3]);
  t.same(error('[\x1b]'), ["'^[' where a value belongs", 1], 'a control character is named, not written');
});

t.test('on a terminal: keys, strings, numbers and literals coloured; controls in strings and keys shown, never obeyed', async (t) => {
  const shown = layoutJson(Buffer.from('{"k":"v","n":-1.5e3,"t":true,"f":false,"z":null}'), { colors: JSON_COLORS, neutralise: true })!.toString();
  const [key, string, number, literal, reset] = [JSON_COLORS.key, JSON_COLORS.string, JSON_COLORS.number, JSON_COLORS.literal, '\x1b[0m'];
  t.equal(shown, [
    '{',
    `  ${key}"k"${reset}: ${string}"v"${reset},`,
    `  ${key}"n"${reset}: ${number}-1.5e3${reset},`,
    `  ${key}"t"${reset}: ${literal}true${reset},`,
    `  ${key}"f"${reset}: ${literal}false${reset},`,
    `  ${key}"z"${reset}: ${literal}null${reset}`,
    '}',
  ].join('\n'));
  // JSON allows DEL and the C1 controls raw in strings (CSI, U+009B, starts a terminal escape like ESC [).
  const hostile = layoutJson(Buffer.from('{"\u009b2J":"\u009b31m\u007f","escaped":"\\u001b[2J"}'), { colors: null, neutralise: true })!.toString();
  t.notMatch(hostile, /[\u007f-\u009f]/, 'no raw DEL or C1 control reaches the terminal');
  t.match(hostile, '"\\x9b2J": "\\x9b31m^?"', 'shown as the rest of the client shows controls (\\x9b, ^?), in the key and in the value');
  t.match(hostile, '"escaped": "\\u001b[2J"', 'an escaped ESC stays the six characters it was');
  t.equal(layoutJson(Buffer.from('["\u009b"]'), plain)!.toString(), '[\n  "\u009b"\n]', 'without neutralise (a pipe with --pretty), exact');
});

t.test('any depth without recursion; past 40 levels, the rest on one line', async (t) => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  t.equal(compact(deep), deep, '100,000 levels deep, compacted');
  const shown = laidOut(deep)!;
  t.ok(shown.length < 100_000 * 2 + 41 * 41 * 2 + 200, `laid out in ${shown.length} bytes: the indentation stops growing`);
  t.equal(shown.replace(/\s/g, ''), deep, 'the same tokens');
  const lines = shown.split('\n');
  t.equal(Math.max(...lines.map((line) => line.length - line.trimStart().length)), 80, 'at most 40 levels of indentation');
  t.equal(laidOut('['.repeat(50) + ']'.repeat(49)), null, 'one bracket short: not JSON');
});

t.test('JsonValueReader: values in any layout, each as soon as it is complete, across reads of any size', async (t) => {
  const stream = '{"a": 1}\n[1,\n 2]  "s" 3 true\n{\n  "nested": {"x": [null]}\n}{"run":"together"}-0.5e1 ';
  const expected = ['{"a":1}', '[1,2]', '"s"', '3', 'true', '{"nested":{"x":[null]}}', '{"run":"together"}', '-0.5e1'];
  for (const size of [1, 2, 3, 7, 1000]) {
    const reader = new JsonValueReader();
    const values: string[] = [];
    for (let at = 0; at < stream.length; at += size) {
      const step = reader.push(Buffer.from(stream.slice(at, at + size)));
      t.equal(step.error, null);
      values.push(...step.values.map(String));
    }
    const end = reader.end();
    values.push(...end.values.map(String));
    t.same(values, expected, `reads of ${size} byte${size === 1 ? '' : 's'}`);
  }
  const reader = new JsonValueReader();
  t.same(reader.push(Buffer.from('{"first":1} {"second":')).values.map(String), ['{"first":1}'], 'the first value as soon as its brace closes');
  t.same(reader.push(Buffer.from('2}')).values.map(String), ['{"second":2}'], 'the second when it completes');
  const bare = new JsonValueReader();
  t.same(bare.push(Buffer.from('12')).values, [], 'a number at the end of a read may go on');
  t.same(bare.push(Buffer.from('34 ')).values.map(String), ['1234']);
  const multibyte = new JsonValueReader();
  const bytes = Buffer.from('["漢字😀"]');
  const got = [...bytes].flatMap((byte) => multibyte.push(Buffer.from([byte])).values.map(String));
  t.same(got, ['["漢字😀"]'], 'a character cut between reads');
});

t.test('JsonValueReader: where a value is not JSON, line:column (columns count characters); what came before it given', async (t) => {
  const reader = new JsonValueReader();
  const step = reader.push(Buffer.from('{"ok": true}\n{\n  "é": [1,\n   2 x]\n}\n{"never": "sent"}'));
  t.same(step.values.map(String), ['{"ok":true}']);
  t.equal(step.error, "stdin:4:6: 'x' where ',' or ']' belongs");
  t.same(reader.push(Buffer.from('{"after": 1}')), { values: [], error: null }, 'nothing after the error');
  const wide = new JsonValueReader();
  t.equal(wide.push(Buffer.from('"é😀" [1 x]')).error, "stdin:1:9: 'x' where ',' or ']' belongs", 'a column counts characters, in earlier values too');
  const open = new JsonValueReader();
  open.push(Buffer.from('[1, 2]\n  {"never": "ends"'));
  t.equal(open.end().error, 'stdin:2:3: the value that begins here does not end', 'input that ends inside a value');
  const stringOpen = new JsonValueReader();
  stringOpen.push(Buffer.from('"a \\" quote and } brace'));
  t.equal(stringOpen.end().error, 'stdin:1:1: the value that begins here does not end', 'inside a string, quotes escaped and braces are text');
});
