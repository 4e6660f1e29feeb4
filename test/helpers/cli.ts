/** Runs the lookout CLI in-process with captured output. */
import { PassThrough, Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';

/** `stdin`: what `test-rule --events -` reads. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}, stdin?: string | Buffer): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough() as unknown as NodeJS.WriteStream;
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  (stderr as unknown as PassThrough).on('data', (c) => (err += c));
  const input = stdin === undefined ? undefined : Readable.from([Buffer.from(stdin)]);
  const code = await main(args, { stdin: input, stdout, stderr, env: { LOOKOUT_LOG_FORMAT: 'json', ...env } });
  return { code, stdout: out, stderr: err };
}

