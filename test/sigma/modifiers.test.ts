/** Sigma value modifiers and condition forms, as tables: (detection, event data, match?). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alertsOf, sigmaRule, sigmaRules, wlb } from '../helpers/sigma.js';

function ruleWith(detection: string): string {
  return `title: t\nlogsource:\n  product: windows\n  service: security\ndetection:\n${detection.replace(/^/gm, '  ')}\n`;
}

async function matches(detection: string, data: Record<string, unknown>): Promise<boolean> {
  const rule = sigmaRule(ruleWith(detection));
  const alerts = await alertsOf(rule, [wlb(1000, { channel: 'Security', event_id: 4688, event_data: data })]);
  return alerts.length === 1;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const b64wide = (s: string) => Buffer.from(s, 'utf16le').toString('base64');

const cases: [string, string, Record<string, unknown>, boolean][] = [
  ['plain value is case-insensitive', 'sel:\n  Image: C:\\Windows\\cmd.exe\ncondition: sel', { Image: 'c:\\windows\\CMD.EXE' }, true],
  ['plain value with a wildcard (\\\\ before *)', 'sel:\n  Image: C:\\Windows\\\\*.exe\ncondition: sel', { Image: 'C:\\Windows\\x.exe' }, true],
  ['escaped wildcard is literal', 'sel:\n  Image: a\\*b\ncondition: sel', { Image: 'axxb' }, false],
  ['escaped wildcard matches the star', 'sel:\n  Image: a\\*b\ncondition: sel', { Image: 'A*B' }, true],
  ['list is OR', 'sel:\n  Image:\n    - a.exe\n    - b.exe\ncondition: sel', { Image: 'B.exe' }, true],
  ['map is AND', 'sel:\n  Image: a.exe\n  User: bob\ncondition: sel', { Image: 'a.exe', User: 'alice' }, false],
  ['list of maps is OR', 'sel:\n  - Image: a.exe\n  - User: bob\ncondition: sel', { Image: 'x', User: 'BOB' }, true],
  ['contains', 'sel:\n  CommandLine|contains: -enc\ncondition: sel', { CommandLine: 'powershell -ENC abc' }, true],
  ['startswith', 'sel:\n  CommandLine|startswith: power\ncondition: sel', { CommandLine: 'POWERshell' }, true],
  ['endswith', 'sel:\n  Image|endswith: \\wsmprovhost.exe\ncondition: sel', { Image: 'C:\\WINDOWS\\system32\\WSMPROVHOST.EXE' }, true],
  ['endswith near-miss', 'sel:\n  Image|endswith: \\wsmprovhost.exe\ncondition: sel', { Image: 'C:\\x\\wsmprovhost.exe.bak' }, false],
  ['contains|all needs every value', 'sel:\n  CommandLine|contains|all:\n    - a\n    - b\ncondition: sel', { CommandLine: 'xax' }, false],
  ['contains|all', 'sel:\n  CommandLine|contains|all:\n    - a\n    - b\ncondition: sel', { CommandLine: 'xaxbx' }, true],
  ['cased is case-sensitive', 'sel:\n  Image|cased: Cmd.exe\ncondition: sel', { Image: 'cmd.exe' }, false],
  ['cased matches exactly', 'sel:\n  Image|contains|cased: Cmd\ncondition: sel', { Image: 'xCmd.exe' }, true],
  ['re is a search, case-sensitive', 'sel:\n  CommandLine|re: \'-e(nc|ncodedcommand)\\s\'\ncondition: sel', { CommandLine: 'powershell -enc AAA' }, true],
  ['re near-miss by case', 'sel:\n  CommandLine|re: \'-ENC\'\ncondition: sel', { CommandLine: 'powershell -enc AAA' }, false],
  ['re|i', 'sel:\n  CommandLine|re|i: \'-ENC\'\ncondition: sel', { CommandLine: 'powershell -enc AAA' }, true],
  ['re|m anchors per line', 'sel:\n  CommandLine|re|m: \'^two$\'\ncondition: sel', { CommandLine: 'one\ntwo' }, true],
  ['re|s dot matches newline', 'sel:\n  CommandLine|re|s: \'one.two\'\ncondition: sel', { CommandLine: 'one\ntwo' }, true],
  ['cidr', 'sel:\n  IpAddress|cidr: 10.0.0.0/8\ncondition: sel', { IpAddress: '10.2.3.4' }, true],
  ['cidr v6 near-miss', 'sel:\n  IpAddress|cidr: fe80::/10\ncondition: sel', { IpAddress: '10.2.3.4' }, false],
  ['base64', `sel:\n  CommandLine|base64: secret\ncondition: sel`, { CommandLine: b64('secret') }, true],
  ['base64offset|contains', `sel:\n  CommandLine|base64offset|contains: /bin/bash\ncondition: sel`, { CommandLine: `echo ${b64('xx/bin/bash -i')} | base64 -d` }, true],
  ['wide|base64offset|contains', `sel:\n  CommandLine|wide|base64offset|contains: ping\ncondition: sel`, { CommandLine: `powershell -enc ${b64wide('a ping b')}` }, true],
  ['utf16le|base64', `sel:\n  CommandLine|utf16le|base64: hi\ncondition: sel`, { CommandLine: b64wide('hi') }, true],
  ['windash matches a slash', 'sel:\n  CommandLine|windash|contains: -encodedcommand\ncondition: sel', { CommandLine: 'powershell /EncodedCommand x' }, true],
  ['windash matches an en dash', 'sel:\n  CommandLine|windash|contains: -enc\ncondition: sel', { CommandLine: 'powershell \u2013enc x' }, true],
  ['exists: true', 'sel:\n  ParentImage|exists: true\ncondition: sel', { ParentImage: 'x' }, true],
  ['exists: false', 'sel:\n  ParentImage|exists: false\ncondition: sel', { Image: 'x' }, true],
  ['null matches a missing field', 'sel:\n  ParentImage: null\ncondition: sel', { Image: 'x' }, true],
  ['null near-miss', 'sel:\n  ParentImage: null\ncondition: sel', { ParentImage: 'x' }, false],
  ['empty string', "sel:\n  ParentImage: ''\ncondition: sel", { ParentImage: '' }, true],
  ['fieldref', 'sel:\n  TargetUserName|fieldref: SubjectUserName\ncondition: sel', { TargetUserName: 'bob', SubjectUserName: 'bob' }, true],
  ['fieldref near-miss', 'sel:\n  TargetUserName|fieldref: SubjectUserName\ncondition: sel', { TargetUserName: 'bob', SubjectUserName: 'eve' }, false],
  ['gt', 'sel:\n  LogonType|gt: 3\ncondition: sel', { LogonType: '10' }, true],
  ['gte/lte', 'sel:\n  LogonType|gte: 3\n  Count|lte: 5\ncondition: sel', { LogonType: 3, Count: 6 }, false],
  ['lt', 'sel:\n  LogonType|lt: 3\ncondition: sel', { LogonType: 2 }, true],
  ['number equals a string number', 'sel:\n  LogonType: 10\ncondition: sel', { LogonType: '10' }, true],
  ['expand from placeholders.json', 'sel:\n  Workstation|expand: \'%Admins_Workstations%\'\ncondition: sel', { Workstation: 'admin-ws02' }, true],
  ['keywords search every string value', 'keywords:\n  - mimikatz\ncondition: keywords', { CommandLine: 'C:\\tools\\MIMIKATZ.exe' }, true],
  ['keywords near-miss', 'keywords:\n  - mimikatz\ncondition: keywords', { CommandLine: 'calc.exe' }, false],
  // conditions
  ['and not', 'sel:\n  Image|endswith: .exe\nfilter:\n  User|endswith: $\ncondition: sel and not filter', { Image: 'a.exe', User: 'HOST$' }, false],
  ['or with parentheses', 'a:\n  Image: a\nb:\n  Image: b\nc:\n  User: u\ncondition: (a or b) and c', { Image: 'b', User: 'u' }, true],
  ['1 of pattern', 'sel_a:\n  Image: a\nsel_b:\n  Image: b\ncondition: 1 of sel_*', { Image: 'b' }, true],
  ['all of pattern', 'sel_a:\n  Image: a\nsel_b:\n  User: u\ncondition: all of sel_*', { Image: 'a' }, false],
  ['1 of them', 'a:\n  Image: a\nb:\n  Image: b\ncondition: 1 of them', { Image: 'a' }, true],
  ['all of them', 'a:\n  Image: a\nb:\n  User: u\ncondition: all of them', { Image: 'a', User: 'u' }, true],
  ['not 1 of', 'sel:\n  Image: a\nfilter_1:\n  User: x\nfilter_2:\n  User: y\ncondition: sel and not 1 of filter_*', { Image: 'a', User: 'y' }, false],
  ['a list of conditions is OR', 'a:\n  Image: a\nb:\n  Image: b\ncondition:\n  - a\n  - b', { Image: 'b' }, true],
];

describe('Sigma modifiers and conditions', () => {
  for (const [name, detection, data, expected] of cases) {
    test(`${name}: ${expected}`, async () => assert.equal(await matches(detection, data), expected));
  }

  test('errors name the place: unknown modifier, unknown identifier, bad condition, bad regex', () => {
    const check = (detection: string, pattern: RegExp) => {
      const { errors } = sigmaRules(ruleWith(detection));
      assert.equal(errors.length, 1, detection);
      assert.match(errors[0], pattern);
    };
    check('sel:\n  Image|sideways: a\ncondition: sel', /^test\.yml:7:5: detection\.sel\.Image\|sideways: unknown modifier 'sideways'$/);
    check('sel:\n  Image: a\ncondition: sel and nope', /^test\.yml:8:\d+: detection\.condition: condition names 'nope', which is not a search identifier \(column 9\)$/);
    check('sel:\n  Image: a\ncondition: sel and', /^test\.yml:8:\d+: detection\.condition: expected a search identifier, not, 1 of, all of or \( \(column 8\)$/);
    check('sel:\n  Image|re: "(ab"\ncondition: sel', /detection\.sel\.Image\|re: invalid regular expression "\(ab"/);
    check('sel:\n  Image: a\ncondition: sel | count() by X >', /detection\.condition: expected an aggregation like/);
    const yamlError = sigmaRules('title: t\ndetection: [unclosed\n');
    assert.match(yamlError.errors[0], /^test\.yml:3:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented/);
  });

  test('a rule no pipeline fits is listed as skipped, with each reason', () => {
    const { skipped } = sigmaRules('title: t\nlogsource:\n  product: linux\n  category: process_creation\ndetection:\n  sel:\n    Image: a\n  condition: sel\n');
    assert.match(skipped[0], /no field mapping pipeline fits: windows-ecs: product linux is not windows; windows-winlogbeat: product linux is not windows/);
  });
});
