/**
 * The API method registry. Each area exports `xxxMethods` from `methods/<area>.ts` (a record of
 * `defineMethod`/`defineStreamMethod`/`defineChannelMethod` results keyed by the Lotus name without `Filecoin.`);
 * add one spread line here for a new area.
 */
import { actorsMethods } from './actors.js';
import { commonMethods } from './common.js';
import { dagstoreMethods } from './dagstore.js';
import { driftMethods } from './drift.js';
import { notifyMethods } from './notify.js';
import { piecesMethods } from './pieces.js';
import { sealingMethods } from './sealing.js';
import { sectorsMethods } from './sectors.js';
import { storageMethods } from './storage.js';
import { workersMethods } from './workers.js';

export const apiMethods = {
  ...commonMethods,
  ...sectorsMethods,
  ...driftMethods,
  ...piecesMethods,
  ...sealingMethods,
  ...notifyMethods,
  ...storageMethods,
  ...workersMethods,
  ...dagstoreMethods,
  ...actorsMethods,
};

/** The type of every method, from which the typed client derives names, params and results. */
export type ApiMethods = typeof apiMethods;
