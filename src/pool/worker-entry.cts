/**
 * The pool threads' entry, in CommonJS on purpose. Piscina loads a task module with `require()`
 * first and falls back to `import()` only when that throws. Where Node loads ES modules with
 * `require()` (20.19+), a thread terminated while `require()` instantiates an ES module graph can
 * abort the whole process ("v8::Module::IsGraphAsync must be used on an instantiated module":
 * Node's `ModuleJob.runSync` does not handle a module below the instantiated state); seen once in
 * CI as a `seal` that finished every phase and died of SIGABRT while its pool closed. Requiring
 * this file loads no ES module: the task module (worker.js) comes in through `import()`, as on
 * older Node. (Turning require(esm) off with a thread flag instead means handing the threads an
 * explicit execArgv, which Node refuses when the process runs with V8 or per-process options such
 * as `--expose-gc` or `--max-old-space-size`.)
 */
import type { TaskMessage, TaskResult } from './worker.js' with { 'resolution-mode': 'import' };

let loaded: Promise<(msg: TaskMessage) => Promise<TaskResult>> | undefined;

function runTask(msg: TaskMessage): Promise<TaskResult> {
  loaded ??= import('./worker.js').then((m) => m.default);
  return loaded.then((run) => run(msg));
}

export = runTask;
