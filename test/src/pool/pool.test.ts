import test from 'ava';
import { SealerPool } from '../../../src/pool/pool.js';

test('every pool thread loads its own instance of the native addon', async (t) => {
  const pool = new SealerPool({ threads: 2 });
  try {
    const results = await Promise.all(Array.from({ length: 8 }, () => pool.run('nativeInfo', {})));
    for (const r of results) t.regex(r.shaBackend, /^(sha-ni|portable)$/);
    t.true(results.every((r) => r.threadId > 0), 'tasks ran off the main thread');
  } finally {
    await pool.close();
  }
});

test('an unknown task kind is a typed error, not a crash', async (t) => {
  const pool = new SealerPool({ threads: 1 });
  try {
    // @ts-expect-error deliberately not a task kind
    await t.throwsAsync(pool.run('noSuchTask', {}), { message: /unknown task kind "noSuchTask"/ });
  } finally {
    await pool.close();
  }
});
