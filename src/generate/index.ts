/** Text generation: sampling, KV cache, streaming, per-request adapters. */
export { generate, generateStream, type FinishReason, type GenerateOptions, type GenerateResult, type GenerationChunk, type GenerationModel, type Prompt } from './generate.js';
export { detectCache, emptyPast, KvCache, type CacheEntry, type CacheLayout } from './kvCache.js';
export {
  applyRepetitionPenalty, applyTemperature, argmax, checkSamplingOptions, isGreedy, nextToken, processLogits, sampleIndex, softmax, topKFilter, topPFilter,
  type SamplingOptions,
} from './sampling.js';
export { IncrementalDecoder, StopStrings, type GenerationTokenizer } from './text.js';
