/** The registry of training methods: adding a method is one file and one line here. */
import { findMethod, type MethodFactory } from './method.js';
import { ROLES, type Role } from './roles.js';
import { joint } from './joint.js';
import { unimodal } from './unimodal.js';
import { unimodalEnsemble } from './unimodal-ensemble.js';
import { ogmGe } from './ogm-ge.js';
import { pmr } from './pmr.js';
import { mmpareto } from './mmpareto.js';
import { sampleValuation } from './sample-valuation.js';
import { mla } from './mla.js';
import { reconboost } from './reconboost.js';
import { agm } from './agm.js';
import { diagnosingRelearning } from './diagnosing-relearning.js';
import { gmmAdaptive } from './gmm-adaptive.js';
import { gBlending } from './g-blending.js';
import { opm } from './opm.js';
import { mmcosine } from './mmcosine.js';
import { linearProbe } from './linear-probe.js';
import { cml } from './cml.js';
import { mbsd } from './mbsd.js';
import { amco } from './amco.js';
import { gapLoss } from './gap-loss.js';
import { inforeg } from './inforeg.js';
import { lfm } from './lfm.js';
import { umt } from './umt.js';
import { greedy } from './greedy.js';

export const METHODS: readonly MethodFactory[] = [
  joint, unimodal, unimodalEnsemble, ogmGe, pmr, mmpareto, sampleValuation, mla, reconboost, agm, diagnosingRelearning, gmmAdaptive, gapLoss,
  gBlending, inforeg, lfm, umt,
  opm, mmcosine, linearProbe, cml, mbsd, amco, greedy,
];

export function getMethod(name: string): MethodFactory {
  return findMethod(name, METHODS);
}

/** The method that plays `role` (src/methods/roles.ts). */
export function methodFor(role: Role): MethodFactory {
  return getMethod(ROLES[role]);
}
