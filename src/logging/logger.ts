/** winston, JSON lines for machines; a short readable line when writing to a terminal. */
import winston from 'winston';

export type Logger = winston.Logger;

export function createLogger(options: { level: string; format: 'auto' | 'json' | 'pretty'; stream?: NodeJS.WritableStream }): Logger {
  const stream = options.stream ?? process.stderr;
  const pretty = options.format === 'pretty' || (options.format === 'auto' && (stream as NodeJS.WriteStream).isTTY === true);
  const format = pretty
    ? winston.format.combine(
        winston.format.timestamp({ format: 'HH:mm:ss' }),
        winston.format.printf(({ level, message, timestamp, ...rest }) => {
          const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
          return `${timestamp} ${level.padEnd(5)} ${message}${extra}`;
        }),
      )
    : winston.format.combine(winston.format.timestamp(), winston.format.json());
  return winston.createLogger({
    level: options.level,
    format,
    transports: [new winston.transports.Stream({ stream })],
  });
}

/** A logger that drops everything, for offline commands that print results on stdout. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
