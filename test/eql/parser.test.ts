import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EqlSyntaxError } from '../../src/errors.js';
import { parseEql } from '../../src/eql/parser.js';
import { showQuery } from '../helpers/sexpr.js';

const WINRM = `sequence by host.id with maxspan=30s
   [network where host.os.type == "windows" and process.pid == 4 and network.direction : ("incoming", "ingress") and
    destination.port in (5985, 5986) and source.ip != "127.0.0.1" and source.ip != "::1"]
   [process where host.os.type == "windows" and
    event.type == "start" and process.parent.name : "winrshost.exe" and not process.executable : "?:\\\\Windows\\\\System32\\\\conhost.exe"]`;

const valid: [string, string][] = [
  ['process where process.pid == 4', '(== process.pid 4)'],
  ['process where process.name != "cmd.exe"', '(!= process.name "cmd.exe")'],
  ['process where 4 == process.pid', '(== 4 process.pid)'],
  ['process where process.name : "CMD.exe"', '(: process.name "CMD.exe")'],
  ['network where network.direction : ("incoming", "ingress")', '(: network.direction "incoming" "ingress")'],
  ['process where process.executable : "?:\\\\Windows\\\\*.exe"', '(: process.executable "?:\\\\Windows\\\\*.exe")'],
  ['network where destination.port in (5985, 5986)', '(in destination.port 5985 5986)'],
  ['process where process.name not in ("a", "b")', '(not-in process.name "a" "b")'],
  ['process where process.name in~ ("A")', '(in~ process.name "A")'],
  ['process where process.name like~ "c*"', '(like~ process.name "c*")'],
  ['process where process.name regex ".*"', '(regex process.name ".*")'],
  ['process where a == 1 and b == 2 or c == 3', '(or (and (== a 1) (== b 2)) (== c 3))'],
  ['process where a == 1 and (b == 2 or c == 3)', '(and (== a 1) (or (== b 2) (== c 3)))'],
  ['process where not a == 1 and b == 2', '(and (not (== a 1)) (== b 2))'],
  ['process where not not a == 1', '(not (not (== a 1)))'],
  ['process where a == -1.5', '(== a -1.5)'],
  ['process where a == 1e3', '(== a 1000)'],
  ['process where a == true and b == false and c == null', '(and (== a true) (== b false) (== c null))'],
  ['process where a == "tab\\there \\"q\\" \\\\ \\u{41}"', '(== a "tab\\there \\"q\\" \\\\ A")'],
  ['process where a == """raw \\n "quoted" """', '(== a "raw \\\\n \\"quoted\\" ")'],
  ['process where ?user.name == "x"', '(== ?user.name "x")'],
  ['process where `weird field`.x == 1', '(== weird field.x 1)'],
  ['process where @timestamp > 5', '(> @timestamp 5)'],
  ['any where true', 'true'],
  ['PROCESS WHERE a == 1', '(== a 1)'],
  ['process where a + 2 * 3 > 4', '(> (+ a (* 2 3)) 4)'],
  ['process where startsWith~(process.name, "cmd")', '(startsWith~ process.name "cmd")'],
  ['process where a == 1 // comment\n and /* block */ b == 2', '(and (== a 1) (== b 2))'],
];

describe('EQL parser: valid queries', () => {
  for (const [source, expected] of valid) {
    test(source, () => {
      const q = parseEql(source);
      assert.equal(q.kind, 'query');
      assert.equal(showQuery(q).replace(/^\w+ where /, ''), expected);
    });
  }

  test('the WinRM sequence', () => {
    assert.equal(
      showQuery(parseEql(WINRM)),
      'sequence by host.id maxspan=30000ms ' +
        '[network (and (== host.os.type "windows") (== process.pid 4) (: network.direction "incoming" "ingress") (in destination.port 5985 5986) (!= source.ip "127.0.0.1") (!= source.ip "::1"))] ' +
        '[process (and (== host.os.type "windows") (== event.type "start") (: process.parent.name "winrshost.exe") (not (: process.executable "?:\\\\Windows\\\\System32\\\\conhost.exe")))]',
    );
  });

  test('sequence forms: with before by, stage keys, runs, until, durations', () => {
    assert.equal(showQuery(parseEql('sequence with maxspan=5m by user.name [a where true] [b where true]')), 'sequence by user.name maxspan=300000ms [a true] [b true]');
    assert.equal(showQuery(parseEql('sequence [a where true] by x [b where true] by y')), 'sequence [a true] by x [b true] by y');
    assert.equal(showQuery(parseEql('sequence by h [a where true] with runs=3')), 'sequence by h [a true] runs=3');
    assert.equal(showQuery(parseEql('sequence by h [a where true] [b where true] until [c where true]')), 'sequence by h [a true] [b true] until [c true]');
    assert.equal(parseEql('sequence with maxspan=500ms [a where true] [b where true]').kind, 'sequence');
    const q = parseEql('sequence with maxspan=2h [a where true] [b where true]');
    assert.equal(q.kind === 'sequence' && q.maxspanMs, 7_200_000);
  });

  test('missing events, sample and pipes', () => {
    assert.equal(showQuery(parseEql('sequence by h with maxspan=1m [a where true] ![b where x == 1] [c where true]')), 'sequence by h maxspan=60000ms [a true] ![b (== x 1)] [c true]');
    assert.equal(showQuery(parseEql('sample by h [a where true] [b where true]')), 'sample by h [a true] [b true]');
    const q = parseEql('process where true | head 5 | tail 2');
    assert.deepEqual(q.pipes.map((p) => [p.name, p.args.length]), [['head', 1], ['tail', 1]]);
    assert.equal(showQuery(parseEql('any where ?"C:\\raw" == a')), 'any where (== "C:\\\\raw" a)');
  });

  test('every node has its span', () => {
    const q = parseEql('process where a == "x" and b : "y"');
    assert.equal(q.kind, 'query');
    if (q.kind !== 'query') return;
    const cond = q.query.condition;
    assert.equal(cond.kind, 'and');
    if (cond.kind !== 'and') return;
    const [first, second] = cond.operands;
    assert.deepEqual([first.start, first.end], [14, 22]);
    assert.deepEqual([second.start, second.end], [27, 34]);
    assert.equal(first.kind === 'compare' && first.left.kind === 'field' && first.left.path, 'a');
  });
});

const invalid: [string, string][] = [
  ['process where a = 1', "Unexpected '='; use '==' to compare (1:17)"],
  ["process where a == 'x'", 'Single-quoted strings are not supported; use double quotes (1:20)'],
  ['process where a == "x', 'Unterminated string (1:20)'],
  ['process where 1 < a < 3', 'Chained comparisons are not supported; combine them with and (1:21)'],
  ['process a == 1', "Expected 'where' but found 'a' (1:9)"],
  ['process where', 'Expected a field, a value or ( but found end of query (1:14)'],
  ['process where a == 1 )', "Expected end of query but found ')' (1:22)"],
  ['sequence [a where true]', "Expected '[' (a sequence needs at least two stages) but found end of query (1:24)"],
  ['sequence with maxspan=30 [a where true] [b where true]', "Expected a time unit (ms, s, m, h, d) after 30 but found '[' (1:26)"],
  ['sequence with maxspan=30y [a where true] [b where true]', "Unknown time unit 'y'; expected ms, s, m, h or d (1:25)"],
  ['sequence by h\n  [a where true]\n  [b where x ==]', "Expected a field, a value or ( but found ']' (3:16)"],
  ['process where a == "\\q"', "Invalid escape sequence '\\q' in string (1:21)"],
  ['process where a in ()', "Expected a value in the list but found ')' (1:21)"],
  ['process where a in (1, 2', "Expected ',' or ')' in the list but found end of query (1:25)"],
  ['process where a == #', "Unexpected character '#' (1:20)"],
  ['sequence [a where true] with runs=0', 'runs must be an integer from 1 to 100, found 0 (1:35)'],
  ['sample by h ![a where true]', "Expected '[' to start a sample filter but found '!' (1:13)"],
  ['process where true | ', 'Expected a pipe name but found end of query (1:22)'],
];

describe('EQL parser: errors say what was expected and where', () => {
  for (const [source, message] of invalid) {
    test(JSON.stringify(source), () => {
      assert.throws(() => parseEql(source), (err: unknown) => {
        assert.ok(err instanceof EqlSyntaxError, `expected EqlSyntaxError, got ${String(err)}`);
        assert.equal(err.message, message);
        return true;
      });
    });
  }
});
