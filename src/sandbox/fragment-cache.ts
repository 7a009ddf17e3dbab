// Serialised JSON of single records, kept in large arena buffers with typed-array indexes (no object per record),
// so v2 list pages are assembled from bytes instead of being built and stringified again. Bounded by a byte budget:
// once full it stops adding (a sequential scan would only thrash an evicting cache); writes invalidate their record.

const ARENA_BYTES = 32 << 20;

class Arena {
  readonly chunks: Buffer[] = [];
  private used = ARENA_BYTES;
  /** encodes the text straight into the arena (no intermediate Buffer) */
  put(text: string): { chunk: number; offset: number; length: number } {
    const length = Buffer.byteLength(text);
    if (this.used + length > ARENA_BYTES) {
      this.chunks.push(Buffer.allocUnsafe(Math.max(ARENA_BYTES, length)));
      this.used = 0;
    }
    const chunk = this.chunks.length - 1; const offset = this.used;
    this.chunks[chunk]!.write(text, offset, length, 'utf8');
    this.used += length;
    return { chunk, offset, length };
  }
}

class Variant {
  readonly arena = new Arena();
  chunk: Uint16Array; offset: Uint32Array; length: Uint32Array;
  constructor(size: number) { this.chunk = new Uint16Array(size); this.offset = new Uint32Array(size); this.length = new Uint32Array(size); }
}

export class FragmentCache {
  private readonly variants = new Map<string, Variant>();
  private bytes = 0;
  /** ids above `maxId` (records created by writes) are never cached */
  constructor(private readonly maxId: number, private readonly budgetBytes: number, private readonly maxVariants = 3) {}

  get(variant: string, id: number): Buffer | undefined {
    const v = this.variants.get(variant);
    if (!v || id > this.maxId) return undefined;
    const len = v.length[id]!;
    if (len === 0) return undefined;
    const off = v.offset[id]!;
    return v.arena.chunks[v.chunk[id]!]!.subarray(off, off + len);
  }

  /** stores a record's JSON text; returns its bytes, or undefined when it was not kept */
  set(variant: string, id: number, json: string): Buffer | undefined {
    if (id > this.maxId || json.length === 0 || this.bytes + json.length * 3 > this.budgetBytes) return undefined;
    let v = this.variants.get(variant);
    if (!v) {
      if (this.variants.size >= this.maxVariants) return undefined;
      v = new Variant(this.maxId + 1);
      this.variants.set(variant, v);
    }
    const at = v.arena.put(json);
    v.chunk[id] = at.chunk; v.offset[id] = at.offset; v.length[id] = at.length;
    this.bytes += at.length;
    return v.arena.chunks[at.chunk]!.subarray(at.offset, at.offset + at.length);
  }

  invalidate(id: number): void {
    if (id > this.maxId) return;
    for (const v of this.variants.values()) v.length[id] = 0;
  }

  get sizeBytes(): number { return this.bytes; }
}

/** A JSON body already serialised: the server sends its bytes as they are. */
export class RawJson {
  constructor(readonly bytes: Buffer) {}
}
