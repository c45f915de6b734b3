// Finds where a chunked body ends without decoding it: the bytes are forwarded verbatim, this only
// tracks the framing (chunk sizes, extensions, the last chunk and the trailer section).

/** scan() result: more bytes are needed (everything given belongs to the body) */
export const CHUNK_MORE = -1;
/** scan() result: the framing is invalid */
export const CHUNK_BAD = -2;

const MAX_SIZE = 2 ** 53;
/** extensions and trailers together, per message */
const MAX_META = 64 * 1024;

const enum S {
  SizeStart,
  Size,
  SizeWs,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  TrailerLine,
  TrailerLf,
  FinalLf,
}

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

export class ChunkedScanner {
  private s = S.SizeStart;
  private size = 0;
  private meta = 0;

  reset(): void {
    this.s = S.SizeStart;
    this.size = 0;
    this.meta = 0;
  }

  /** Scans buf[start, end): the index just past the end of the message, CHUNK_MORE or CHUNK_BAD. */
  scan(buf: Buffer, start: number, end: number): number {
    let i = start;
    while (i < end) {
      if (this.s === S.Data) {
        const n = Math.min(this.size, end - i);
        i += n;
        this.size -= n;
        if (this.size === 0) this.s = S.DataCr;
        continue;
      }
      const c = buf[i]!;
      switch (this.s) {
        case S.SizeStart: {
          const d = hex(c);
          if (d === -1) return CHUNK_BAD;
          this.size = d;
          this.s = S.Size;
          break;
        }
        case S.Size: {
          const d = hex(c);
          if (d !== -1) {
            this.size = this.size * 16 + d;
            if (this.size > MAX_SIZE) return CHUNK_BAD;
          } else if (c === 13) this.s = S.SizeLf;
          else if (c === 59 /* ; */) this.s = S.Ext;
          else if (c === 32 || c === 9) this.s = S.SizeWs;
          else return CHUNK_BAD;
          break;
        }
        case S.SizeWs:
          if (c === 59) this.s = S.Ext;
          else if (c === 13) this.s = S.SizeLf;
          else if (c !== 32 && c !== 9) return CHUNK_BAD;
          break;
        case S.Ext:
          if (++this.meta > MAX_META) return CHUNK_BAD;
          if (c === 13) this.s = S.SizeLf;
          else if (c === 10 || c === 0) return CHUNK_BAD;
          break;
        case S.SizeLf:
          if (c !== 10) return CHUNK_BAD;
          this.s = this.size === 0 ? S.TrailerStart : S.Data;
          break;
        case S.DataCr:
          if (c !== 13) return CHUNK_BAD;
          this.s = S.DataLf;
          break;
        case S.DataLf:
          if (c !== 10) return CHUNK_BAD;
          this.s = S.SizeStart;
          break;
        case S.TrailerStart:
          if (c === 13) this.s = S.FinalLf;
          else if (c === 10 || c === 32 || c === 9 || c === 0) return CHUNK_BAD;
          else this.s = S.TrailerLine;
          if (++this.meta > MAX_META) return CHUNK_BAD;
          break;
        case S.TrailerLine:
          if (++this.meta > MAX_META) return CHUNK_BAD;
          if (c === 13) this.s = S.TrailerLf;
          else if (c === 10 || c === 0) return CHUNK_BAD;
          break;
        case S.TrailerLf:
          if (c !== 10) return CHUNK_BAD;
          this.s = S.TrailerStart;
          break;
        case S.FinalLf:
          if (c !== 10) return CHUNK_BAD;
          this.reset();
          return i + 1;
      }
      i++;
    }
    return CHUNK_MORE;
  }
}
