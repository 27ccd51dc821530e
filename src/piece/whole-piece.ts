/**
 * Which reads can be verified. A verified read guarantees that the bytes returned, followed by the
 * zeros that fill the piece to its size, are the piece whose CID was recorded when it was added.
 * The commitment covers the whole piece, so only a read of a whole piece can be checked: one that
 * starts at the piece's offset and is at least its payload and at most its capacity long (the
 * bytes past the payload are the zero fill). A range that starts elsewhere or stops inside the
 * payload has nothing to be checked against: it returns the bytes as stored, and a corruption
 * inside it goes unnoticed. (No native code here: the CLI decides this before reading.)
 */

/** The fields of a recorded piece a verified read needs. */
export interface RecordedPiece {
  /** Piece CID (v1 or v2: both carry the commitment). */
  pieceCid: string;
  paddedOffset: number;
  paddedSize: number;
  /** Payload bytes (0 for a filler). */
  payloadSize: number;
}

/**
 * The recorded piece that the unpadded range `[unpaddedOffset, unpaddedOffset + size)` reads whole
 * (see the module comment), if any.
 */
export function findWholePiece<P extends RecordedPiece>(pieces: readonly P[], unpaddedOffset: number, size: number): P | undefined {
  return pieces.find((p) => {
    const capacity = p.paddedSize - p.paddedSize / 128;
    return p.paddedOffset - p.paddedOffset / 128 === unpaddedOffset && size >= p.payloadSize && size <= capacity;
  });
}
