/** The PEFT layer: configs with PEFT's field names, target matching, LoRA injection. */
export { getPeftModel, PeftModel, peftName, type LoraAdapter, type AdaptedModule, type Gradients, type GradientsOptions, type PeftModelOptions } from './model.js';
export { parseLoraConfig, toPeftJson, LoraConfigError, type LoraConfig, type ParsedLoraConfig, type TaskType } from './config.js';
export { matchTargets, LoraTargetError, type LoraMatch, type MatchResult } from './match.js';
export { fullFineTune, FullFineTuneModel, type FullFineTuneOptions } from './fullFineTune.js';
export type { TrainableModel } from './step.js';
export { mergedAdapters, mergeAndUnload, mergedInitializers, type MergeOptions } from './merge.js';
export { addWeightedAdapter, type CombinationType } from './weighted.js';
export { exportMerged, exportWithLoraInputs, type MergedExportOptions, type LoraInputsExportOptions, type LoraInputsExport } from './export.js';
