/** The training layer: losses, AdamW, schedules, clipping, accumulation, metrics, the Trainer. */
export { causalLmLoss, sequenceClassificationLoss, mseLoss, IGNORE_INDEX, type LossResult } from './losses.js';
export { AdamW, ADAMW_DEFAULTS, type AdamWConfig, type AdamWParamState, type AdamWState } from './optimizer.js';
export { getSchedule, SCHEDULERS, type Schedule, type ScheduleOptions, type SchedulerName } from './schedule.js';
export { clipGradNorm, gradNorm } from './clip.js';
export { accumulateGradients, type MicroBatch } from './accumulate.js';
export { evaluate, classificationMetrics, type Batch } from './metrics.js';
export {
  Trainer,
  type TrainerOptions,
  type TrainerEvent,
  type StepEvent,
  type EvalEvent,
  type EarlyStoppingOptions,
  type TrainResult,
  type TrainerCheckpoint,
} from './trainer.js';
