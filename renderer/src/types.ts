/** Shapes the pages share, taken from the contract. */
import type { ResponseOf } from '../../shared/ipc/contract.js';

export type LocalCheck = ResponseOf<'local.check'>;
export type NatReport = ResponseOf<'nat.run'>;
export type Settings = ResponseOf<'settings.get'>;
