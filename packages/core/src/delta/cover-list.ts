/**
 * A cover says: new bytes `[newPos, newPos + len)` are old bytes `[oldPos, oldPos + len)` plus a
 * byte-wise difference (mostly zero). Covers of one list are sorted by `newPos` and never overlap
 * in the new data; they may overlap, repeat or go backwards in the old data.
 */
export class CoverList {
  newPos: Int32Array;
  oldPos: Int32Array;
  len: Int32Array;
  count = 0;

  constructor(capacity = 64) {
    const cap = Math.max(4, capacity);
    this.newPos = new Int32Array(cap);
    this.oldPos = new Int32Array(cap);
    this.len = new Int32Array(cap);
  }

  push(newPos: number, oldPos: number, len: number): void {
    if (this.count === this.newPos.length) {
      const cap = this.count * 2;
      const grow = (a: Int32Array): Int32Array => {
        const b = new Int32Array(cap);
        b.set(a);
        return b;
      };
      this.newPos = grow(this.newPos);
      this.oldPos = grow(this.oldPos);
      this.len = grow(this.len);
    }
    this.newPos[this.count] = newPos;
    this.oldPos[this.count] = oldPos;
    this.len[this.count] = len;
    this.count++;
  }
}
