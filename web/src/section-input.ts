import type { SectionInput, SectionView } from '../../src/core/api';

/** The config of a stored section as the body of an update (everything but its status). */
export function sectionInputOf(s: SectionView): SectionInput {
  return {
    name: s.name,
    dataType: s.dataType,
    direction: s.direction,
    table: s.table,
    key: s.key,
    batchSize: s.batchSize,
    schedule: s.schedule,
    ...(s.model !== undefined ? { model: s.model } : {}),
    mapping: s.mapping,
    info: s.info,
    ...(s.lookback !== undefined ? { lookback: s.lookback } : {}),
    ...(s.alerts !== undefined ? { alerts: s.alerts } : {}),
  };
}
