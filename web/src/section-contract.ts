/** The parts of the API contract the section editor uses, in one place. */
export { MODELS as MODELS_LIST } from '../../src/core/types';
export {
  SCHEDULE_CHOICES,
  type ColumnView,
  type PreviewResponse,
  type SectionInput,
  type SectionView,
  type TableDetail,
  type TableList,
} from '../../src/core/api';
