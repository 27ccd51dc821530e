import { blake2b } from '@noble/hashes/blake2b';
import test from 'ava';
import {
  DomainSeparationTag,
  drawRandomness,
  epochRandomnessBase,
  idAddressBytes,
  minerAddressCbor,
  sealSeed,
  sealTicket,
} from '../../../src/chain/randomness.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const b256 = (data: Uint8Array): Uint8Array => blake2b(data, { dkLen: 32 });

/** Lotus's DrawRandomness written out byte by byte with an independent BLAKE2b-256. */
function referenceDraw(rbase: Uint8Array, tag: number, epoch: number, entropy: Uint8Array): Uint8Array {
  const data = Buffer.concat([
    Buffer.from(tag.toString(16).padStart(16, '0'), 'hex'),
    b256(rbase),
    Buffer.from(BigInt.asUintN(64, BigInt(epoch)).toString(16).padStart(16, '0'), 'hex'),
    entropy,
  ]);
  return b256(data);
}

test('the domain separation tags are go-state-types values: SealRandomness 5, InteractiveSealChallengeSeed 6', (t) => {
  t.is(DomainSeparationTag.SealRandomness, 5);
  t.is(DomainSeparationTag.InteractiveSealChallengeSeed, 6);
});

test('an ID address is protocol byte 0 then the id as a LEB128 varint, and its CBOR is a byte string', (t) => {
  t.is(hex(idAddressBytes(0)), '0000');
  t.is(hex(idAddressBytes(1000)), '00e807');
  t.is(hex(idAddressBytes(127)), '007f');
  t.is(hex(idAddressBytes(128)), '008001');
  t.is(hex(idAddressBytes(2 ** 40)), '00808080808020');
  t.is(hex(minerAddressCbor(1000)), '4300e807');
  t.is(hex(minerAddressCbor(0)), '420000');
  t.throws(() => idAddressBytes(-1), { code: 'INVALID_ARGUMENT', message: /miner id -1/ });
  t.throws(() => idAddressBytes(1.5), { code: 'INVALID_ARGUMENT' });
});

test('drawRandomness equals DrawRandomness computed independently, for positive, zero and negative epochs', (t) => {
  const rbase = new Uint8Array(96).map((_, i) => i * 7);
  const entropy = Uint8Array.from([0x43, 0x00, 0xe8, 0x07]);
  for (const epoch of [0, 1, 1234, 2 ** 40, -5]) {
    for (const tag of [5, 6] as const) {
      t.is(hex(drawRandomness(rbase, tag, epoch, entropy)), hex(referenceDraw(rbase, tag, epoch, entropy)), `tag ${tag} epoch ${epoch}`);
    }
  }
});

test('tickets and seeds are DrawRandomness over the nonce and epoch, with the miner address CBOR as entropy', (t) => {
  const nonce = new Uint8Array(32).fill(0x5a);
  const rbase = Buffer.concat([nonce, Buffer.from('0000000000000011', 'hex')]);
  t.deepEqual(new Uint8Array(epochRandomnessBase(nonce, 17)), new Uint8Array(rbase));
  const addr = Uint8Array.from([0x43, 0x00, 0xe8, 0x07]);
  t.is(hex(sealTicket(nonce, 1000, 17)), hex(referenceDraw(rbase, 5, 17, addr)));
  t.is(hex(sealSeed(nonce, 1000, 17)), hex(referenceDraw(rbase, 6, 17, addr)));
});

test('randomness differs per miner, per epoch, per purpose and per nonce', (t) => {
  const nonce = new Uint8Array(32).fill(1);
  const values = [
    sealTicket(nonce, 1000, 5),
    sealTicket(nonce, 1001, 5),
    sealTicket(nonce, 1000, 6),
    sealSeed(nonce, 1000, 5),
    sealTicket(new Uint8Array(32).fill(2), 1000, 5),
  ].map(hex);
  t.is(new Set(values).size, values.length);
});

test('a nonce that is not 32 bytes is refused', (t) => {
  t.throws(() => epochRandomnessBase(new Uint8Array(31), 0), { code: 'INVALID_ARGUMENT', message: /32 bytes/ });
});
