/** src/data: tokenizers, chat templates, dataset formats, packing, collation, chat-export import. */
export { Tokenizer, type TokenizerSources, type TokenizeOptions, type DetokenizeOptions, type SpecialToken, type SpecialRole, type AddedTokensReport } from './tokenizer.js';
export { pickChatTemplate, renderChatTemplate, type ChatMessage, type RenderOptions } from './chatTemplate.js';
export { buildDataset, Dataset, permutation, type DataFormat, type DataSummary, type DatasetOptions, type Task } from './dataset.js';
export { DataRowError, readDataFiles, type BadRowPolicy, type DataSource, type SkippedRow, type SourceType } from './rows.js';
export { parseCsv, type CsvRecord } from './csv.js';
export { collate, type CollateOptions, type Example } from './collate.js';
export { pack, type PackResult } from './packing.js';
export type { LabelReport } from './formats/classification.js';
export {
  parseChatExport,
  chatExportToPersona,
  chatExportToText,
  REMOVAL_REASONS,
  type ChatExportReport,
  type ExportMessage,
  type PersonaOptions,
  type PersonaResult,
  type RemovalReason,
} from './chatExport.js';
