// Finds where a chunked body ends without decoding it: the bytes are forwarded verbatim, this only
// tracks the framing (chunk sizes, extensions, the last chunk and the trailer section). Strict
// (RFC 9112 §7.1): hex digits only (16 at most), whitespace only before a `;`, no control
// characters in extensions or trailers, lines that end in CRLF, and no trailer field that frames
// or routes a request (a target that merges trailers into the head must not see one).

/** scan() result: more bytes are needed (everything given belongs to the body) */
export const CHUNK_MORE = -1;
/** scan() result: the framing is invalid */
export const CHUNK_BAD = -2;

const MAX_SIZE = 2 ** 53;
/** digits of a chunk size, leading zeros included */
const MAX_DIGITS = 16;
/** trailer fields refused: framing, routing, hop-by-hop */
const NOT_TRAILERS = new Set(['content-length', 'transfer-encoding', 'host', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-connection']);

// token characters (RFC 9110 §5.6.2)
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1;

/** a control character not allowed in an extension or a field value (HTAB is) */
function ctl(c: number): boolean {
  return (c < 32 && c !== 9) || c === 127;
}
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
  TrailerName,
  TrailerValue,
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
  private digits = 0;
  private meta = 0;
  /** the trailer field name being read (trailers are rare: a string is fine) */
  private name = '';

  reset(): void {
    this.s = S.SizeStart;
    this.size = 0;
    this.digits = 0;
    this.meta = 0;
    this.name = '';
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
          this.digits = 1;
          this.s = S.Size;
          break;
        }
        case S.Size: {
          const d = hex(c);
          if (d !== -1) {
            this.size = this.size * 16 + d;
            if (this.size > MAX_SIZE || ++this.digits > MAX_DIGITS) return CHUNK_BAD;
          } else if (c === 13) this.s = S.SizeLf;
          else if (c === 59 /* ; */) this.s = S.Ext;
          else if (c === 32 || c === 9) this.s = S.SizeWs;
          else return CHUNK_BAD;
          break;
        }
        case S.SizeWs:
          // BWS only before an extension
          if (c === 59) this.s = S.Ext;
          else if (c !== 32 && c !== 9) return CHUNK_BAD;
          break;
        case S.Ext:
          if (++this.meta > MAX_META) return CHUNK_BAD;
          if (c === 13) this.s = S.SizeLf;
          else if (ctl(c)) return CHUNK_BAD;
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
          if (++this.meta > MAX_META) return CHUNK_BAD;
          if (c === 13) this.s = S.FinalLf;
          else if (TOKEN[c] !== 1) return CHUNK_BAD;
          else {
            this.name = String.fromCharCode(c | (c >= 65 && c <= 90 ? 0x20 : 0));
            this.s = S.TrailerName;
          }
          break;
        case S.TrailerName:
          if (++this.meta > MAX_META) return CHUNK_BAD;
          if (c === 58 /* : */) {
            if (NOT_TRAILERS.has(this.name)) return CHUNK_BAD;
            this.s = S.TrailerValue;
          } else if (TOKEN[c] !== 1) return CHUNK_BAD;
          else this.name += String.fromCharCode(c | (c >= 65 && c <= 90 ? 0x20 : 0));
          break;
        case S.TrailerValue:
          if (++this.meta > MAX_META) return CHUNK_BAD;
          if (c === 13) this.s = S.TrailerLf;
          else if (ctl(c)) return CHUNK_BAD;
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
