/**
 * Reuses GPU buffers by size bucket. Buckets are powers of two up to 1 MiB, then
 * multiples of 1 MiB, so a freed activation is picked up again by the next
 * same-sized op without an unbounded number of distinct sizes.
 */
export const STORAGE_USAGE =
  0x0080 /* STORAGE */ | 0x0004 /* COPY_SRC */ | 0x0008; /* COPY_DST */

const MIB = 1 << 20;

export function bucketSize(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 4) * 4);
  if (b <= MIB) return 2 ** Math.ceil(Math.log2(b));
  return Math.ceil(b / MIB) * MIB;
}

export interface PoolStats {
  /** Bytes in buffers handed out and not yet released. */
  liveBytes: number;
  /** Highest `liveBytes` seen since the last `resetPeak()`. */
  peakBytes: number;
  /** Bytes held idle in the free lists. */
  idleBytes: number;
  created: number;
  reused: number;
}

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly stats: PoolStats = { liveBytes: 0, peakBytes: 0, idleBytes: 0, created: 0, reused: 0 };

  constructor(private readonly device: GPUDevice) {}

  /** A storage buffer of at least `bytes` bytes; contents are undefined. */
  acquire(bytes: number, usage: number = STORAGE_USAGE): GPUBuffer {
    const size = bucketSize(bytes);
    const list = this.free.get(key(size, usage));
    let buf = list?.pop();
    if (buf) {
      this.stats.reused++;
      this.stats.idleBytes -= size;
    } else {
      buf = this.device.createBuffer({ size, usage });
      this.stats.created++;
    }
    this.stats.liveBytes += size;
    this.stats.peakBytes = Math.max(this.stats.peakBytes, this.stats.liveBytes);
    return buf;
  }

  /** Returns a buffer obtained from `acquire`; it may be handed out again at once. */
  release(buf: GPUBuffer): void {
    const k = key(buf.size, buf.usage);
    let list = this.free.get(k);
    if (!list) this.free.set(k, (list = []));
    list.push(buf);
    this.stats.liveBytes -= buf.size;
    this.stats.idleBytes += buf.size;
  }

  snapshot(): PoolStats {
    return { ...this.stats };
  }

  resetPeak(): void {
    this.stats.peakBytes = this.stats.liveBytes;
  }

  /** Destroys every idle buffer. */
  clear(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.stats.idleBytes = 0;
  }
}

function key(size: number, usage: number): string {
  return `${size}:${usage}`;
}
