import test from 'ava';
import { commRToCid } from '../../../src/seal/commitment-cid.js';
import { sealFixture } from './seal-fixture.js';

test('the V-E2E-8MiB CC sector with ticket 00×32 seals to its CommR', async (t) => {
  const f = await sealFixture({ sectorSize: 8 << 20, ticket: new Uint8Array(32) });
  try {
    t.is(f.pc1.replicaId, '9f3a758d7d995e0fddb8e896e1b3d2fbdf2d5056d5a03e852e595cd500251a36');
    t.is(Buffer.from(f.pc2.raw.commC).toString('hex'), '5fc2a3d8a533ec0cabdff7af692ad176f2e4fbf61a5dfec4f3f19a955679eb56');
    t.is(f.pc2.commR.toString(), 'bagboea4b5abcabrlimggmqchbgxslod56emou4rijcixq54fvlbxmde3rojkmtj6');
    t.deepEqual(commRToCid(f.pc2.raw.commR), f.pc2.commR);
  } finally {
    await f.cleanup();
  }
});

