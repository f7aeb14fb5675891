/**
 * onnxruntime-web (wasm backend, in this process) as the oracle: runs a model file with
 * the same feeds webpeft gets and returns plain arrays.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';
import { Tensor } from '../../src/tensor/tensor.js';

ort.env.wasm.numThreads = 1;

const ORT_TYPE: Record<string, ort.Tensor.Type> = { float32: 'float32', int64: 'int64', int32: 'int32', float16: 'float16', bool: 'bool' };

/** `model`: a path (external data resolved from its folder) or the model's bytes. */
export async function runOrt(model: string | Uint8Array, feeds: Record<string, Tensor>): Promise<Record<string, { dims: number[]; data: number[] }>> {
  const session =
    typeof model === 'string' ? await ort.InferenceSession.create(readFileSync(model), externalData(model)) : await ort.InferenceSession.create(model);
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) {
    const type = ORT_TYPE[t.dtype];
    if (!type) throw new Error(`runOrt: dtype ${t.dtype} of '${name}' not mapped`);
    ortFeeds[name] = new ort.Tensor(type, t.hostData() as never, [...t.dims]);
  }
  const out = await session.run(ortFeeds);
  const result: Record<string, { dims: number[]; data: number[] }> = {};
  for (const [name, t] of Object.entries(out)) {
    result[name] = { dims: [...t.dims], data: Array.from(t.data as ArrayLike<number | bigint>, Number) };
  }
  await session.release();
  return result;
}

function externalData(modelPath: string): ort.InferenceSession.SessionOptions {
  const dir = modelPath.slice(0, modelPath.lastIndexOf('/') + 1);
  const data = `${modelPath}.data`;
  try {
    return { externalData: [{ path: data.slice(dir.length), data: readFileSync(data) }] };
  } catch {
    return {};
  }
}

/** Max |a − r| over the output, divided by max |r| (the "relative to the output's scale" error). */
export function scaleError(actual: ArrayLike<number>, ref: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return diff / Math.max(scale, 1e-12);
}
