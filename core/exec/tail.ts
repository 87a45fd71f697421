/** Keeps the last `limit` bytes of a stream: run records store output tails, never whole logs. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    // Drop whole chunks while they are all excess, then trim the first one: a big chunk followed by a
    // small one must still leave the last `limit` bytes, not just the small chunk.
    while (this.size > this.limit) {
      const first = this.chunks[0]!;
      const excess = this.size - this.limit;
      if (first.length <= excess) this.chunks.shift();
      else this.chunks[0] = Buffer.from(first.subarray(excess));
      this.size -= Math.min(first.length, excess);
      this.dropped = true;
    }
  }

  toString(): string {
    let buf = Buffer.concat(this.chunks);
    if (buf.length > this.limit) {
      buf = buf.subarray(buf.length - this.limit);
      this.dropped = true;
    }
    return (this.dropped ? '…' : '') + buf.toString('utf8');
  }
}

export const outputTailBytes = 8 * 1024;
