/** A one-line progress bar on a terminal; nothing when stderr is not a TTY. */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): { update(done: number, total: number, label: string): void; end(): void } {
  if (!stream.isTTY) return { update: () => undefined, end: () => undefined };
  return {
    update(done, total, label) {
      const width = 30;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${label}`.slice(0, (stream.columns ?? 100) - 1));
    },
    end() {
      stream.write('\n');
    },
  };
}
