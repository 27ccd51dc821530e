/* Splits bulk Poseidon calls across pthreads (see poseidon_mt.h). No globals: every job lives on
 * the calling thread's stack and each worker writes only its own slice of `out` and its own
 * result slot. Ranges are multiples of four hashes so every thread keeps the interleaved
 * four-at-once path of the single-threaded code. If a thread cannot be started its range is
 * hashed by the calling thread instead, so a call never fails for lack of threads. */
#include <pthread.h>
#include "cancel.h"
#include "poseidon_mt.h"

typedef struct {
  const ss_poseidon_params *p;
  const uint8_t *in;              /* hash_many: first input of the range */
  const uint8_t *layers[SS_POSEIDON_MAX_ARITY]; /* columns: the range's start in each layer */
  uint8_t *out;                   /* first output of the range */
  size_t count;                   /* hashes in the range */
  size_t first;                   /* index of the range's first hash in the whole call */
  ss_poseidon_mode mode;
  unsigned simd;                  /* the caller's features (cpu.h) */
  const int32_t *cancel;          /* the call's cancel flag (shared by every range) */
  bool columns;
  int64_t bad;                    /* result of the range, in the range's own element indices */
  pthread_t thread;
  bool started;
} mt_job;

unsigned ss_poseidon_mt_threads(size_t count, unsigned threads) {
  if (threads > SS_POSEIDON_MT_MAX_THREADS) threads = SS_POSEIDON_MT_MAX_THREADS;
  size_t fit = count / SS_POSEIDON_MT_MIN_PER_THREAD;
  if (fit < threads) threads = (unsigned)fit;
  return threads < 1 ? 1 : threads;
}

static void run_job(mt_job *j) {
  j->bad = j->columns ? ss_poseidon_columns(j->p, j->layers, j->out, j->count, j->simd, j->cancel)
                      : ss_poseidon_hash_many(j->p, j->in, j->out, j->count, j->mode, j->simd, j->cancel);
}

static void *job_main(void *arg) {
  run_job((mt_job *)arg);
  return NULL;
}

/* Cuts [0, count) into n ranges (multiples of 4 except the last), runs them, and returns the
 * smallest failing element index over all ranges (or -1). Both bulk functions index elements
 * as hash * k + j, so a range's index converts to the call's by adding first * k. jobs[0] holds
 * the call's base pointers on entry. */
static int64_t run_split(mt_job *jobs, unsigned n, size_t count, int k) {
  size_t per = (count / n + 3) & ~(size_t)3;
  size_t at = 0;
  unsigned used = 0;
  for (unsigned t = 0; t < n && at < count; t++, used++) {
    size_t take = count - at < per || t == n - 1 ? count - at : per;
    jobs[t].first = at;
    jobs[t].count = take;
    at += take;
  }
  for (unsigned t = 0; t < used; t++) {
    mt_job *j = &jobs[t];
    if (j->columns) {
      for (int l = 0; l < k; l++) j->layers[l] = jobs[0].layers[l] + 32 * j->first;
    } else {
      j->in = jobs[0].in + 32 * (size_t)k * j->first;
    }
    j->out = jobs[0].out + 32 * j->first;
  }
  /* range 0 keeps the base pointers set by the caller; start 1.., run 0 here, then join */
  for (unsigned t = 1; t < used; t++) jobs[t].started = pthread_create(&jobs[t].thread, NULL, job_main, &jobs[t]) == 0;
  run_job(&jobs[0]);
  for (unsigned t = 1; t < used; t++) {
    if (jobs[t].started)
      pthread_join(jobs[t].thread, NULL);
    else
      run_job(&jobs[t]);
  }
  int64_t bad = -1;
  for (unsigned t = 0; t < used; t++)
    if (jobs[t].bad == SS_CANCELLED) return SS_CANCELLED;
  for (unsigned t = 0; t < used; t++) {
    if (jobs[t].bad < 0) continue;
    int64_t global = jobs[t].bad + (int64_t)(jobs[t].first * (size_t)k);
    if (bad < 0 || global < bad) bad = global;
  }
  return bad;
}

int64_t ss_poseidon_hash_many_mt(const ss_poseidon_params *p, const uint8_t *in, uint8_t *out, size_t count,
                                 ss_poseidon_mode mode, unsigned simd, unsigned threads, const int32_t *cancel) {
  unsigned n = ss_poseidon_mt_threads(count, threads);
  if (n == 1) return ss_poseidon_hash_many(p, in, out, count, mode, simd, cancel);
  mt_job jobs[SS_POSEIDON_MT_MAX_THREADS] = {0};
  for (unsigned t = 0; t < n; t++) {
    jobs[t].p = p;
    jobs[t].mode = mode;
    jobs[t].simd = simd;
    jobs[t].cancel = cancel;
    jobs[t].columns = false;
  }
  jobs[0].in = in;
  jobs[0].out = out;
  return run_split(jobs, n, count, p->arity);
}

int64_t ss_poseidon_columns_mt(const ss_poseidon_params *p, const uint8_t *const *layers, uint8_t *out, size_t nodes,
                               unsigned simd, unsigned threads, const int32_t *cancel) {
  unsigned n = ss_poseidon_mt_threads(nodes, threads);
  if (n == 1) return ss_poseidon_columns(p, layers, out, nodes, simd, cancel);
  mt_job jobs[SS_POSEIDON_MT_MAX_THREADS] = {0};
  for (unsigned t = 0; t < n; t++) {
    jobs[t].p = p;
    jobs[t].simd = simd;
    jobs[t].cancel = cancel;
    jobs[t].columns = true;
  }
  for (int l = 0; l < p->arity; l++) jobs[0].layers[l] = layers[l];
  jobs[0].out = out;
  return run_split(jobs, n, nodes, p->arity);
}
