/**
 * PEFT adapter folders in and out of a PeftModel: `adapter_config.json` +
 * `adapter_model.safetensors` with PEFT's tensor names, read and written by src/io.
 */
import { readPeftFolder, writePeftFolder, type FolderSource, type PeftFolderBytes } from '../io/peftFolder.js';
import { toPeftJson } from './config.js';
import type { LoraAdapter, PeftModel } from './model.js';

/**
 * Adds the adapter in `source` under `name`. Its config must select modules of this
 * model and its tensors must be exactly the adapter's, with the shapes the model needs;
 * otherwise nothing is added and the error names the tensor.
 */
export async function loadAdapter(peft: PeftModel, source: FolderSource, name: string, opts: { fetch?: typeof fetch } = {}): Promise<LoraAdapter> {
  const files = await readPeftFolder(source, { toFloat32: true, fetch: opts.fetch });
  const adapter = peft.addAdapter(name, files.config);
  try {
    const want = Object.keys(peft.adapterTensors(name));
    const missing = want.filter((k) => !(k in files.tensors));
    if (missing.length) {
      throw new Error(`adapter '${name}': the file has no ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''} (the config selects ${adapter.modules.size} modules)`);
    }
    peft.setAdapterTensors(files.tensors, name);
  } catch (err) {
    peft.deleteAdapter(name);
    throw err;
  }
  return adapter;
}

/** Writes the adapter as PEFT does (to `dir` in Node, atomically) and returns the two files' bytes. */
export async function saveAdapter(peft: PeftModel, dir?: string, name = peft.activeAdapter): Promise<PeftFolderBytes> {
  const adapter = peft.adapter(name);
  const tensors = peft.adapterTensors(name);
  try {
    return await writePeftFolder({ config: toPeftJson(adapter.config), tensors }, dir);
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}
