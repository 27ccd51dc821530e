/**
 * The command registry. Each command file exports an array of commands (made with
 * `defineCommand`); add one spread line here for a new file.
 */
import type { AnyCommand } from '../command.js';
import { actorsCommands } from './actors.js';
import { dagstoreCommands } from './dagstore.js';
import { authCommands } from './auth.js';
import { driftCommands } from './drift.js';
import { piecesCommands } from './pieces.js';
import { runCommands } from './run.js';
import { sealingCommands } from './sealing.js';
import { sealingWorkersCommands } from './sealing-workers.js';
import { sectorsCommands } from './sectors.js';
import { sealCommands } from './seal.js';
import { storageCommands } from './storage.js';
import { workerCommands } from './worker.js';

export const commands: readonly AnyCommand[] = [
  ...runCommands,
  ...piecesCommands,
  ...sectorsCommands,
  ...driftCommands,
  ...sealingCommands,
  ...sealingWorkersCommands,
  ...sealCommands,
  ...storageCommands,
  ...workerCommands,
  ...dagstoreCommands,
  ...actorsCommands,
  ...authCommands,
];
