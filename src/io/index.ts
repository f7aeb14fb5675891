/** Adapter files: safetensors, PEFT adapter folders, single-file bundles, browser storage. */
export {
  decodeSafetensors, encodeSafetensors, MAX_HEADER_BYTES, parseSafetensorsHeader, rawToTensor, readSafetensors,
  SafetensorsError, serializeSafetensors, tensorToRaw, writeSafetensors,
  type DecodeOptions, type EncodeOptions, type RawTensor, type Safetensors, type SafetensorsDtype, type SafetensorsHeader, type TensorInfo,
} from './safetensors.js';
export {
  CONFIG_NAME, WEIGHTS_NAME, configJsonBytes, parseConfigJson, readPeftFolder, removeAdapterName, writePeftFolder,
  type FolderSource, type PeftAdapterData, type PeftAdapterFiles, type PeftFolderBytes, type ReadFolderOptions, type WriteFolderOptions,
} from './peftFolder.js';
export {
  BUNDLE_CONFIG_KEY, BUNDLE_FORMAT, BUNDLE_MARKER_KEY, decodeAdapterBundle, encodeAdapterBundle, readAdapterBundle, writeAdapterBundle,
  type BundleOptions,
} from './bundle.js';
export { downloadBytes, loadFromOpfs, saveToOpfs, type OpfsDirectory } from './browser.js';
export type { FileSource } from './source.js';
